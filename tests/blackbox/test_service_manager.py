"""systemd's notification protocol: what `flint serve` tells a `Type=notify` service manager.

The manager's side is played by a datagram socket named in NOTIFY_SOCKET, as systemd does.
"""

from __future__ import annotations

import signal
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from flint_blackbox import FlintServer, execute_body, script_package


class Manager:
    """The service manager's end: a datagram socket bound to a path or an abstract name."""

    def __init__(self, abstract: bool = False):
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"flint-bb-{uuid.uuid4().hex}"
            self.socket.bind("\0" + name)
            self.address = "@" + name
        else:
            # Short: a socket path must fit in 108 bytes, pytest's tmp_path may not.
            self.dir = tempfile.TemporaryDirectory(prefix="flint-bb-")
            self.address = str(Path(self.dir.name) / "notify")
            self.socket.bind(self.address)

    def close(self) -> None:
        self.socket.close()

    def receive(self, timeout: float = 10.0) -> dict[str, str]:
        self.socket.settimeout(timeout)
        message = self.socket.recv(4096).decode()
        return dict(line.split("=", 1) for line in message.split("\n"))

    def next_other_than_watchdog(self, timeout: float = 10.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if "WATCHDOG" not in message:
                return message

    def count_watchdog(self, seconds: float) -> int:
        count = 0
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                count += "WATCHDOG" in self.receive(left)
            except TimeoutError:
                break
        return count


@pytest.fixture
def manager():
    instance = Manager()
    yield instance
    instance.close()


STARTED: list[FlintServer] = []


@pytest.fixture(autouse=True)
def kill_leftovers():
    """A test that fails half-way leaves no server running."""
    yield
    while STARTED:
        STARTED.pop().kill()


def notified_server(tmp_path: Path, manager: Manager, overrides: dict | None = None, **env) -> FlintServer:
    server = FlintServer(tmp_path / "flint", overrides, env={"NOTIFY_SOCKET": manager.address, **env})
    STARTED.append(server)
    return server


def stop(server: FlintServer) -> None:
    assert server.stop() == 0, server.stderr()[-4000:]


def test_ready_comes_once_the_listener_answers(tmp_path, manager):
    server = notified_server(tmp_path, manager)
    starting = threading.Thread(target=server.start)
    starting.start()
    try:
        ready = manager.receive(timeout=30)
        assert ready["READY"] == "1", ready
        # The status names where it listens; that address answers at once.
        assert ready["STATUS"].startswith("listening on http://127.0.0.1:"), ready
        port = int(ready["STATUS"].split(":")[2].split(" ")[0])
        r = requests.get(f"http://127.0.0.1:{port}/management/health", timeout=5)
        assert r.status_code == 200, r.text
    finally:
        starting.join()
        stop(server)
    assert port == server.port


def test_sighup_is_a_reload_bracketed_by_reloading_and_ready(tmp_path, manager):
    server = notified_server(tmp_path, manager).start()
    try:
        assert manager.next_other_than_watchdog()["READY"] == "1"
        before = time.clock_gettime(time.CLOCK_MONOTONIC)
        server.signal(signal.SIGHUP)
        reloading = manager.next_other_than_watchdog()
        assert reloading["RELOADING"] == "1", reloading
        # The request's time on the same clock as systemd's (CLOCK_MONOTONIC, microseconds).
        stamped = int(reloading["MONOTONIC_USEC"]) / 1e6
        assert before - 0.001 <= stamped <= time.clock_gettime(time.CLOCK_MONOTONIC), reloading
        ready = manager.next_other_than_watchdog()
        assert ready["READY"] == "1" and ready["STATUS"].startswith("listening on"), ready
        assert server.health()["vitals"]["app"]["status"] == "OK"
    finally:
        stop(server)


def test_a_failed_reload_says_so_in_the_status_until_one_succeeds(tmp_path, manager):
    # The protocol has no "reload failed": READY ends every reload, and `systemctl reload`
    # reported success while the old files stayed in use.
    tokens = tmp_path / "tokens"
    tokens.write_text("a-token-long-enough-for-flint-0123456789\n")
    tokens.chmod(0o600)
    server = notified_server(tmp_path, manager, {"http": {"auth": {"tokens_file": str(tokens)}}})
    server.start()
    try:
        assert manager.next_other_than_watchdog()["READY"] == "1"
        tokens.chmod(0o644)  # refused: others may read it
        server.signal(signal.SIGHUP)
        assert manager.next_other_than_watchdog()["RELOADING"] == "1"
        ready = manager.next_other_than_watchdog()
        assert ready["READY"] == "1", ready
        assert ready["STATUS"].startswith("listening on"), ready
        assert "; the last reload failed (" in ready["STATUS"], ready
        assert str(tokens) in ready["STATUS"], ready
        tokens.chmod(0o600)
        server.signal(signal.SIGHUP)
        assert manager.next_other_than_watchdog()["RELOADING"] == "1"
        ready = manager.next_other_than_watchdog()
        assert "failed" not in ready["STATUS"], ready
    finally:
        stop(server)


def test_sigterm_says_stopping_before_the_exit(tmp_path, manager):
    server = notified_server(tmp_path, manager).start()
    assert manager.next_other_than_watchdog()["READY"] == "1"
    server.signal(signal.SIGTERM)
    assert manager.next_other_than_watchdog() == {"STOPPING": "1"}
    assert server.process.wait(timeout=30) == 0


def test_watchdog_is_fed_twice_per_period(tmp_path, manager):
    # WatchdogSec=0.4s: a ping every 0.2 s at the latest.
    server = notified_server(tmp_path, manager, WATCHDOG_USEC="400000").start()
    try:
        assert manager.count_watchdog(2.0) >= 6
    finally:
        stop(server)


def test_a_watchdog_meant_for_another_process_is_not_fed(tmp_path, manager):
    # systemd names the watched process; a child that inherited the variables is not it.
    server = notified_server(tmp_path, manager, WATCHDOG_USEC="100000", WATCHDOG_PID="1").start()
    try:
        assert manager.next_other_than_watchdog()["READY"] == "1"
        assert manager.count_watchdog(0.5) == 0
    finally:
        stop(server)


def test_a_manager_that_stops_reading_does_not_stop_the_service(tmp_path, manager):
    # Its queue fills (a watchdog pinged every millisecond, a small receive buffer):
    # a blocking send on the loop that serves would freeze every request, and the stop.
    manager.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    server = notified_server(tmp_path, manager, WATCHDOG_USEC="2000").start()
    time.sleep(1.0)  # the queue is long full
    started = time.monotonic()
    assert server.get("/management/health").status_code == 200
    assert time.monotonic() - started < 2
    lost = [l for l in server.log_lines() if "cannot notify the service manager" in l["message"]]
    assert len(lost) == 1, lost  # said once, not every millisecond
    server.signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0


def test_an_abstract_socket_name_is_reached(tmp_path):
    manager = Manager(abstract=True)
    try:
        server = notified_server(tmp_path, manager).start()
        assert manager.receive()["READY"] == "1"
        stop(server)
    finally:
        manager.close()


def test_a_notify_socket_that_is_not_a_path_is_named_in_a_warning_and_flint_serves(tmp_path):
    server = FlintServer(tmp_path / "flint", env={"NOTIFY_SOCKET": "relative/notify"})
    STARTED.append(server)
    server.start()
    try:
        lines = [line for line in server.log_lines() if "NOTIFY_SOCKET" in line.get("message", "")]
        assert lines and lines[0]["level"] == "WARNING", lines
        assert "relative/notify" in lines[0]["message"]
    finally:
        stop(server)


def test_driver_scripts_do_not_inherit_the_managers_variables(tmp_path, manager):
    # A script that could write to the socket could say READY or STOPPING for Flint.
    script = (
        'printf \'{"outputs": {"notify": "%s", "watchdog": "%s"}}\' '
        '"${NOTIFY_SOCKET:-unset}" "${WATCHDOG_USEC:-unset}" > "$FLINT_RESULT_FILE"\n'
    )
    server = notified_server(
        tmp_path,
        manager,
        {"resource_driver": {"driver": "script"}, "monitoring": {"min_interval": "50ms"}},
        WATCHDOG_USEC="60000000",
    ).start()
    try:
        r = server.execute(execute_body(driver_files=script_package({"Create": script})))
        assert r.status_code == 202, r.text
        outcome = server.wait_terminal(r.json()["requestId"])
        assert outcome["status"] == "COMPLETE", outcome
        assert outcome["outputs"] == {"notify": "unset", "watchdog": "unset"}
    finally:
        stop(server)

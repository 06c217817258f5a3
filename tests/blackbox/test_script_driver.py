"""The script driver end to end: the package's lifecycle scripts, run by the real binary."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests

from flint_blackbox import (
    EVENT_KEYS_COMPLETE,
    EVENT_KEYS_FAILED,
    FlintServer,
    assert_error,
    execute_body,
    find_body,
    process_gone,
    props,
    script_package,
    wait_until,
)

FAILURE_CODES = [
    "RESOURCE_NOT_FOUND",
    "INFRASTRUCTURE_ERROR",
    "INSUFFICIENT_CAPACITY",
    "INTERNAL_ERROR",
]


def script_config(**script_options) -> dict:
    return {
        "resource_driver": {"driver": "script"},
        "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
        "drivers": {"script": script_options},
    }


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    instance = FlintServer(tmp_path_factory.mktemp("script"), script_config()).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


def accept(server: FlintServer, package: str, tenant: str | None = None, **kwargs) -> str:
    headers = {"tenantId": tenant} if tenant else {}
    r = server.execute(execute_body(driver_files=package, **kwargs), headers=headers)
    assert r.status_code == 202, r.text
    return r.json()["requestId"]


def only_event(server: FlintServer, request_id: str, timeout: float = 30.0) -> dict:
    events = server.wait_events_for([request_id], timeout=timeout)[request_id]
    assert len(events) == 1, events
    return events[0]


def pid_file() -> Path:
    return Path("/tmp") / f"flint-bb-{uuid.uuid4().hex}.pids"


def read_pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


# The request document is one line of JSON; sed reads one property's value out of it
# (never eval'd: the value only goes into the result file).
COMPLETE_SCRIPT = r"""
flavor=$(sed -n 's/.*"flavor":{"type":"string","value":"\([^"]*\)".*/\1/p' "$FLINT_REQUEST_FILE")
cat > "$FLINT_RESULT_FILE" <<EOF
{"outputs": {"flavor": "$flavor", "lifecycle": "$FLINT_LIFECYCLE", "requestId": "$FLINT_REQUEST_ID"},
 "associatedTopology": {"vm": {"id": "vm-$flavor", "type": "Openstack"}, "old": null}}
EOF
echo "stdout is captured, not used"
exit 0
"""


def test_exit_zero_completes_with_outputs_and_topology_from_the_result_file(script):
    package = script_package({"Create": COMPLETE_SCRIPT})
    request_id = accept(
        script, package, tenant="tenant-s", resource_properties=props({"flavor": "m1.small"})
    )
    event = only_event(script, request_id)
    assert event["tenantId"] == "tenant-s"
    assert event["key"] == request_id
    payload = event["payload"]
    assert list(payload) == EVENT_KEYS_COMPLETE, payload
    assert payload == {
        "requestId": request_id,
        "status": "COMPLETE",
        "outputs": {"flavor": "m1.small", "lifecycle": "Create", "requestId": request_id},
        # A null entry means "remove it" and is passed on as such.
        "associatedTopology": {"vm": {"id": "vm-m1.small", "type": "Openstack"}, "old": None},
        "version": "1.0.0",
    }
    record = script.wait_terminal(request_id)
    assert record["driver"] == "script"
    assert record["status"] == "COMPLETE"
    assert record["outputs"] == payload["outputs"]
    assert [t["status"] for t in record["transitions"]] == ["IN_PROGRESS", "COMPLETE"]
    assert record["acceptedAt"] <= record["completedAt"] <= record["deliveredAt"]


@pytest.mark.parametrize("code", FAILURE_CODES)
def test_nonzero_exit_fails_with_the_failure_code_of_the_result_file(script, code):
    package = script_package(
        {
            "Create": (
                f'echo \'{{"failureCode": "{code}", "failureDescription": "vim said {code}",'
                f' "outputs": {{"step": 2}}}}\' > "$FLINT_RESULT_FILE"\n'
                "exit 1\n"
            )
        }
    )
    request_id = accept(script, package, tenant="tenant-f")
    event = only_event(script, request_id)
    assert event["tenantId"] == "tenant-f"
    payload = event["payload"]
    assert list(payload) == EVENT_KEYS_FAILED, payload
    assert payload["status"] == "FAILED"
    assert payload["failureDetails"] == {"failureCode": code, "description": f"vim said {code}"}
    assert payload["outputs"] == {"step": 2}
    record = script.wait_terminal(request_id)
    assert record["status"] == "FAILED"
    assert record["failureDetails"] == payload["failureDetails"]
    assert [t["status"] for t in record["transitions"]] == ["IN_PROGRESS", "FAILED"]


def test_nonzero_exit_without_result_is_internal_error_with_the_stderr_tail(script):
    package = script_package(
        {"Create": "echo 'first line' >&2\necho 'the real cause' >&2\nexit 7\n"}
    )
    request_id = accept(script, package)
    details = only_event(script, request_id)["payload"]["failureDetails"]
    assert details["failureCode"] == "INTERNAL_ERROR"
    assert "exit code 7" in details["description"], details
    assert "the real cause" in details["description"], details


def test_unknown_failure_code_becomes_internal_error_and_is_mentioned(script):
    package = script_package(
        {"Create": 'echo \'{"failureCode": "NO_SUCH_CODE"}\' > "$FLINT_RESULT_FILE"\nexit 2\n'}
    )
    request_id = accept(script, package)
    details = only_event(script, request_id)["payload"]["failureDetails"]
    assert details["failureCode"] == "INTERNAL_ERROR"
    assert "NO_SUCH_CODE" in details["description"], details


def test_malformed_result_file_fails_naming_the_problem(script):
    package = script_package({"Create": 'echo \'{"outputs": [1, 2]}\' > "$FLINT_RESULT_FILE"\n'})
    request_id = accept(script, package)
    details = only_event(script, request_id)["payload"]["failureDetails"]
    assert details["failureCode"] == "INTERNAL_ERROR"
    assert "outputs" in details["description"], details


def test_outputs_nested_too_deep_fail_the_execution_and_keep_it_readable(script):
    # 70 levels: past what Flint stores and serves (64), so the outcome is dropped, as an
    # oversized one is, rather than stored where no reader could parse it back.
    deep = '{"a":' * 70 + "1" + "}" * 70
    package = script_package({"Create": f"echo '{{\"outputs\": {{\"deep\": {deep}}}}}' "
                                        '> "$FLINT_RESULT_FILE"\n'})
    request_id = accept(script, package)
    details = only_event(script, request_id)["payload"]["failureDetails"]
    assert details["failureCode"] == "INTERNAL_ERROR"
    assert "the driver reported COMPLETE with an outcome nested deeper than 64 levels" in (
        details["description"]), details
    record = script.wait_terminal(request_id)
    assert record["status"] == "FAILED" and record["outputs"] == {}, record


@pytest.mark.parametrize("make", ["mkfifo", "mkdir", "ln -s /etc/hostname"])
def test_result_file_that_is_not_a_regular_file_fails_without_wedging_the_driver(script, make):
    # A FIFO nobody writes to used to block the driver's reader for good.
    package = script_package({"Create": f'{make} "$FLINT_RESULT_FILE"\nexit 0\n'})
    request_id = accept(script, package)
    details = only_event(script, request_id)["payload"]["failureDetails"]
    assert details == {
        "failureCode": "INTERNAL_ERROR",
        "description": "lifecycle Create (exit code 0): malformed result file: not a regular file",
    }
    later = accept(script, script_package({"Create": "exit 0\n"}))
    assert only_event(script, later)["payload"]["status"] == "COMPLETE"


def test_private_key_on_stderr_is_masked_before_the_tail_is_cut(script):
    # Longer than the 2048-byte tail: the tail starts in the middle of the key.
    body = [f"KEYBODY{i:02d}" + "q" * 55 for i in range(50)]
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END RSA PRIVATE KEY-----\n"
    package = script_package(
        {"Find": 'cat "$FLINT_DRIVER_FILES/key.pem" >&2\nexit 2\n'}, extra={"key.pem": pem}
    )
    r = script.find(find_body(driver_files=package))
    error = assert_error(r, 500, "Find failed with exit code 2")
    assert "KEYBODY" not in error["localizedMessage"], error
    assert "****" in error["localizedMessage"], error
    assert "KEYBODY" not in script.stderr()


def test_find_script_is_killed_and_its_directory_removed_when_flint_dies(start_server):
    server = start_server(script_config())
    pids = pid_file()
    package = script_package({"Find": f'sleep 600 &\necho $! > "{pids}"\nwait\n'})
    find_dir = server.data_dir / "script-executions" / ".find"
    try:
        pool = concurrent.futures.ThreadPoolExecutor(1)
        call = pool.submit(
            server.find,
            find_body(location_properties={"password": "FINDSECRET"}, driver_files=package),
            timeout=60,
        )
        wait_until(pids.exists, 15, what="the Find script to start")
        (sleeper,) = read_pids(pids)
        assert any("FINDSECRET" in p.read_text() for p in find_dir.glob("*/request.json"))
        server.kill()  # kill -9: nothing runs in flint any more
        with pytest.raises(requests.RequestException):
            call.result(timeout=30)
        pool.shutdown()
        wait_until(lambda: process_gone(sleeper), 10, what="the Find script to be killed")
        # Its directory (the password in request.json) goes with it.
        wait_until(lambda: not any(find_dir.iterdir()), 10, what="the Find directory to go")
        server.start()  # and it starts again cleanly
    finally:
        if pids.exists():
            for pid in read_pids(pids):
                if not process_gone(pid):
                    os.kill(pid, signal.SIGKILL)
            pids.unlink(missing_ok=True)


def test_unknown_lifecycle_is_400_at_execute(script):
    package = script_package({"Create": "exit 0\n", "Delete": "exit 0\n"})
    last = script.last_seq()
    r = script.execute(execute_body(lifecycle="Reboot", driver_files=package))
    body = assert_error(r, 400, "Reboot")
    assert "Create" in body["localizedMessage"] and "Delete" in body["localizedMessage"], body
    # Nothing was accepted: the next event is the sentinel's.
    sentinel = accept(script, package)
    script.wait_events_for([sentinel])
    assert [e["key"] for e in script.all_events(after=last)] == [sentinel]


# A script that leaves a child behind and hangs; both pids go to a file so that the test can
# check the timeout killed the whole process group. With `ignore_term`, both ignore SIGTERM,
# so only the SIGKILL that follows the grace period can end them.
def hanging_script(pids: Path, ignore_term: bool) -> str:
    trap = "trap '' TERM\n" if ignore_term else ""
    return (
        trap
        + "sleep 1000 &\n"
        + f'echo $$ > "{pids}.tmp"\n'
        + f'echo $! >> "{pids}.tmp"\n'
        + f'mv "{pids}.tmp" "{pids}"\n'
        + "while :; do wait; done\n"
    )


@pytest.mark.parametrize("ignore_term", [False, True], ids=["polite", "ignores-sigterm"])
def test_hanging_script_is_killed_with_its_children_at_the_timeout(start_server, ignore_term):
    server = start_server(script_config(default_timeout="2s"))
    pids = pid_file()
    try:
        request_id = accept(server, script_package({"Create": hanging_script(pids, ignore_term)}))
        wait_until(pids.exists, 15, what="the script to write its pids")
        script_pid, child_pid = read_pids(pids)
        assert not process_gone(script_pid) and not process_gone(child_pid)
        # 2 s timeout, then SIGTERM, then SIGKILL after the driver's 5 s grace.
        details = only_event(server, request_id, timeout=40)["payload"]["failureDetails"]
        assert details["failureCode"] == "INTERNAL_ERROR"
        assert "timed out" in details["description"], details
        wait_until(
            lambda: process_gone(script_pid) and process_gone(child_pid),
            10,
            what=f"script {script_pid} and its child {child_pid} to be gone",
        )
    finally:
        for pid in read_pids(pids) if pids.exists() else []:
            if not process_gone(pid):
                os.kill(pid, signal.SIGKILL)
        pids.unlink(missing_ok=True)


def test_total_deadline_fails_a_script_that_runs_too_long(start_server):
    server = start_server(
        {
            **script_config(),
            "monitoring": {"min_interval": "50ms", "max_interval": "200ms", "total_timeout": "2s"},
        }
    )
    pids = pid_file()
    try:
        started = time.monotonic()
        request_id = accept(
            server,
            script_package({"Create": f'echo $$ > "{pids}"\nsleep 60 &\nwait\n'}),
        )
        details = only_event(server, request_id, timeout=40)["payload"]["failureDetails"]
        assert time.monotonic() - started >= 1.5
        assert details["failureCode"] == "INTERNAL_ERROR"
        assert "monitoring.total_timeout" in details["description"], details
        record = server.wait_terminal(request_id)
        assert record["status"] == "FAILED"
        # The orchestrator was told it failed: the script must not go on. The
        # after-delivery hook times it out (SIGTERM, SIGKILL after the grace).
        script_pids = read_pids(pids)
        wait_until(lambda: all(process_gone(pid) for pid in script_pids), 20,
                   what="the abandoned script to be stopped")
    finally:
        if pids.exists():
            for pid in read_pids(pids):
                if not process_gone(pid):
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
            pids.unlink(missing_ok=True)


def test_request_unknown_to_the_driver_after_a_restart_stops_without_an_event(start_server):
    """The driver's state is its working directory: wiped while flint was down, the
    restarted driver does not know the request, and monitoring stops silently."""
    server = start_server(script_config())
    request_id = accept(server, script_package({"Create": "sleep 600\n"}))
    work_dir = server.data_dir / "script-executions" / request_id
    process_file = work_dir / "process.json"
    process = wait_until(
        lambda: process_file.exists() and json.loads(process_file.read_text()),
        15,
        what="the script to start",
    )
    assert server.stop() == 0
    os.killpg(process["pgid"], signal.SIGKILL)
    wait_until(lambda: process_gone(process["pgid"]), 10, what="the script group to die")
    shutil.rmtree(work_dir)

    server.start()
    record = server.wait_terminal(request_id)
    assert record["monitoring"] == "stopped: request not found", record
    assert record["status"] == "IN_PROGRESS"
    assert record["completedAt"] is None
    sentinel = accept(server, script_package({"Create": "exit 0\n"}))
    by_request = server.wait_events_for([sentinel])
    assert request_id not in by_request
    assert request_id not in [e["key"] for e in server.all_events()]


def test_running_script_survives_a_graceful_restart_and_completes(start_server):
    server = start_server(script_config())
    gate = pid_file()
    # It reads a file of its package after the restart: the new host keeps what the
    # old one unpacked in this boot.
    package = script_package(
        {
            "Create": (
                f'while [ ! -e "{gate}" ]; do sleep 0.1; done\n'
                'survived=$(cat "$FLINT_DRIVER_FILES/data/answer.txt") || exit 7\n'
                'echo "{\\"outputs\\": {\\"survived\\": $survived}}" > "$FLINT_RESULT_FILE"\n'
            )
        },
        {"data/answer.txt": "true"},
    )
    try:
        request_id = accept(server, package)
        work_dir = server.data_dir / "script-executions" / request_id
        wait_until((work_dir / "process.json").exists, 15, what="the script to start")
        assert server.stop() == 0
        server.start()
        assert server.execution(request_id).json()["monitoring"] == "active"
        gate.touch()
        payload = only_event(server, request_id)["payload"]
        assert payload["status"] == "COMPLETE", payload
        assert payload["outputs"] == {"survived": True}
    finally:
        gate.unlink(missing_ok=True)


def test_the_start_warning_on_descriptors_counts_the_running_scripts(tmp_path):
    """Each running script holds a descriptor in Flint, so the margin above http.max_connections
    grows with drivers.script.max_concurrent: 180 + 64 fits 256 descriptors, 32 scripts more do
    not, and the start says so."""
    config = script_config(max_concurrent=32)
    config["http"] = {"max_connections": 180}
    flint = FlintServer(tmp_path / "flint", config, open_file_limit=256).start()
    try:
        assert (
            "http.max_connections (180) plus 64 descriptors kept for the host's own files plus 32 "
            "for running scripts (drivers.script.max_concurrent) exceeds the limit on open files "
            "(256)"
        ) in flint.stderr()
    finally:
        code = flint.stop()
    assert code == 0, flint.stderr()[-4000:]

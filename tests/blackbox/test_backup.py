"""`flint backup`: a copy of the data directory taken while Flint serves, and a Flint
started on it."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from flint_blackbox import (
    EXECUTE_PATH,
    child_environment,
    deployment_location,
    execute_body,
    fill_disk,
    flint_binary,
    wait_until,
)


def backup(config: Path, to: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [flint_binary(), "backup", "--config", str(config), "--to", str(to)],
        capture_output=True, text=True, timeout=120, env=child_environment(), cwd=cwd,
    )


def start_a_long_backup(server, to: Path) -> subprocess.Popen:
    """`flint backup` of the stopped `server`'s data directory, grown first by a table Flint does
    not know (96 MiB), so that the copy lasts long enough to be caught in the middle."""
    with sqlite3.connect(server.data_dir / "flint.db") as db:
        db.execute("CREATE TABLE filler (b BLOB)")
        db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96) "
                   "INSERT INTO filler SELECT randomblob(1048576) FROM n")
    db.close()
    return subprocess.Popen(
        [flint_binary(), "backup", "--config", str(server.config_path), "--to", str(to)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_environment(),
        cwd=server.workdir)


class Submitter(threading.Thread):
    """Sends executes back to back until stopped; keeps the request id of every 202."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.stopped = threading.Event()

    def run(self):
        session = requests.Session()
        index = 0
        while not self.stopped.is_set():
            index += 1
            body = execute_body(
                request_properties={"noop.pollsInProgress": index % 4},
                # Sealed in flint.db: the copy is of no use without its key.
                location=deployment_location({"password": f"s3cret-{index}"}),
            )
            r = session.post(self.server.url(EXECUTE_PATH), json=body, timeout=30)
            if r.status_code == 202:
                self.accepted.append(r.json()["requestId"])
            else:
                self.refused.append(f"{r.status_code} {r.text[:200]}")
        session.close()


def test_a_backup_under_load_restores_every_execution_accepted_before_it(start_server, tmp_path):
    # The noop driver's record of each execution in a directory of its own: the
    # target that a restored Flint finds again, as a real one would be.
    target = tmp_path / "target"
    config = {
        "drivers": {"noop": {"state_dir": str(target)}},
        "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
        "logging": {"level": "info"},
    }
    original = start_server(config, name="original")
    submitter = Submitter(original)
    submitter.start()
    wait_until(lambda: len(submitter.accepted) >= 200, 60, what="200 accepted executions")

    accepted_before = list(submitter.accepted)
    copy = tmp_path / "backups" / "monday"
    copy.parent.mkdir()
    done = backup(original.config_path, copy, original.workdir)
    assert done.returncode == 0, done.stderr
    wait_until(lambda: len(submitter.accepted) >= len(accepted_before) + 50, 60,
               what="executions accepted after the backup")
    submitter.stopped.set()
    submitter.join(30)
    assert not submitter.refused, submitter.refused[:5]

    lines = done.stdout.splitlines()
    assert lines[0].startswith("flint.db ") and lines[0].endswith("schema 4, checked"), lines
    assert lines[1].startswith("events.db ") and lines[1].endswith("schema 2, checked"), lines
    assert lines[2] == "credentials.key", lines
    assert f"backed up {original.data_dir} to {copy}" in done.stdout
    assert sorted(p.name for p in copy.iterdir()) == [
        "credentials.key", "events.db", "flint.db", "netns"]
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700
    for name in ("credentials.key", "events.db", "flint.db"):
        assert stat.S_IMODE((copy / name).stat().st_mode) == 0o600, name
    assert not list(copy.parent.glob("*.partial-*"))
    original_events = original.wait_events_for(accepted_before, timeout=60)
    assert original.stop() == 0

    # Started on the copy, Flint knows every execution accepted before the backup
    # and polls again those still running then (their credentials unsealed with the
    # copied key). The noop target forgets an execution once its event is delivered,
    # so those that the original ended after the backup are unknown to it now:
    # monitoring stops, as it would against a real system that forgot them.
    restored = start_server({**config, "store": {"data_dir": str(copy)}}, name="restored")
    completed, forgotten = [], []
    for request_id in accepted_before:
        record = restored.wait_terminal(request_id)
        if record["monitoring"] == "complete":
            assert record["status"] == "COMPLETE", record
            completed.append(request_id)
        else:
            assert record["monitoring"] == "stopped: request not found", record
            forgotten.append(request_id)
    # Each completed one has its event in the copy (none lost between the two
    # databases' snapshots), once.
    by_request = restored.wait_events_for(completed)
    for request_id in completed:
        assert len({event["id"] for event in by_request[request_id]}) == 1, request_id
        assert {event["id"] for event in by_request[request_id]} == {
            event["id"] for event in original_events[request_id]}
    # Only executions still running at the backup can have been forgotten since.
    assert len(forgotten) < len(accepted_before) / 2, (len(forgotten), len(accepted_before))
    assert "failed authentication" not in restored.stderr()


def test_flint_starts_beside_a_backup_that_is_reading(start_server, tmp_path):
    server = start_server(name="restarting")
    accepted = [server.execute(execute_body()).json()["requestId"] for _ in range(5)]
    for request_id in accepted:
        server.wait_terminal(request_id)
    assert server.stop() == 0
    copy = tmp_path / "copy"
    reader = start_a_long_backup(server, copy)
    try:
        # Caught in the middle of its copy of flint.db: holding a read transaction on the
        # original, and no lock taken for a moment only (opening the database, starting the
        # transaction), which a stopped process would hold forever.
        def copying():
            return any(part.stat().st_size > 4 << 20
                       for part in tmp_path.glob("copy.partial-*/flint.db"))
        wait_until(copying, 30, interval=0.001, what="the backup to be copying flint.db")
        reader.send_signal(signal.SIGSTOP)
        assert reader.poll() is None
        server.start()  # would stop at start if it took the backup for an old Flint
        server.wait_for_log(lambda line: f"is being copied by flint backup (pid {reader.pid})"
                            in line.get("message", ""))
        assert server.execute(execute_body()).status_code == 202
    finally:
        reader.send_signal(signal.SIGCONT)
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    with sqlite3.connect(f"file:{copy / 'flint.db'}?mode=ro", uri=True) as db:
        copied = {row[0] for row in db.execute("SELECT request_id FROM executions")}
    db.close()
    assert set(accepted) <= copied


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM])
def test_a_backup_interrupted_by_a_signal_leaves_nothing(start_server, tmp_path, signo):
    server = start_server(name="source")
    assert server.stop() == 0
    copy = tmp_path / "copy"
    reader = start_a_long_backup(server, copy)
    wait_until(lambda: list(tmp_path.glob("copy.partial-*/flint.db")), 30, interval=0.001,
               what="the backup to be copying flint.db")
    reader.send_signal(signo)
    _, err = reader.communicate(timeout=60)
    assert reader.returncode == 128 + signo, err
    name = "SIGINT" if signo == signal.SIGINT else "SIGTERM"
    assert f"flint: backup interrupted by {name}; nothing was left at {copy}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source-0"]


def test_a_backup_refuses_what_it_cannot_do_and_leaves_nothing(start_server, tmp_path):
    server = start_server(name="source")
    taken = tmp_path / "taken"
    taken.mkdir()
    done = backup(server.config_path, taken, server.workdir)
    assert done.returncode == 2  # a usage error, as every bad value of an option
    assert f"--to: {taken} exists; name a directory that does not" in done.stderr
    assert list(taken.iterdir()) == []

    done = backup(server.config_path, server.data_dir / "inside", server.workdir)
    assert done.returncode == 2
    assert "is inside the data directory" in done.stderr
    done = backup(server.config_path, tmp_path / "no-such-dir" / "copy", server.workdir)
    assert done.returncode == 2
    assert f"--to: {tmp_path / 'no-such-dir'} does not exist" in done.stderr

    missing = subprocess.run(
        [flint_binary(), "backup", "--config", str(server.config_path)],
        capture_output=True, text=True, timeout=60, env=child_environment(),
    )
    assert missing.returncode == 2
    assert "--to is required" in missing.stderr

    empty = tmp_path / "empty-data"
    empty.mkdir()
    config = tmp_path / "empty.yaml"
    config.write_text(f"store:\n  data_dir: {empty}\n")
    done = backup(config, tmp_path / "copy", tmp_path)
    assert done.returncode == 1
    assert f"store.data_dir: {empty} holds no flint.db" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["taken", "empty-data", "empty.yaml", "source-0"])


def test_a_backup_onto_a_full_disk_fails_and_leaves_nothing(start_server, small_disk):
    server = start_server(name="source")
    for _ in range(20):
        assert server.execute(execute_body()).status_code == 202
    filler = fill_disk(small_disk)
    done = backup(server.config_path, small_disk / "copy", server.workdir)
    assert done.returncode == 1, done.stdout
    assert (f"cannot copy {server.data_dir}/flint.db to {small_disk}/copy: database or disk is "
            "full") in done.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == [filler.name]
    # Once there is room, the same command succeeds.
    filler.unlink()
    done = backup(server.config_path, small_disk / "copy", server.workdir)
    assert done.returncode == 0, done.stderr


def test_a_key_kept_outside_the_data_directory_is_named_not_copied(start_server, tmp_path):
    key = tmp_path / "secret.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    server = start_server({"store": {"key_file": str(key)}}, name="external-key")
    copy = tmp_path / "copy"
    done = backup(server.config_path, copy, server.workdir)
    assert done.returncode == 0, done.stderr
    assert (f"credentials key not copied: store.key_file is {key}; keep that file with this "
            "copy") in done.stdout
    assert not (copy / "credentials.key").exists()

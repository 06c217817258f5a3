"""Flint run as an ordinary user, as the packaged service runs it.

Every other suite runs Flint as root, which no file mode stops: these start it as `nobody`.
They need root to switch user, and are skipped otherwise.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from flint_blackbox import (
    FlintServer,
    assert_error,
    execute_body,
    flint_binary,
    prop,
    script_package,
    wait_until,
)

NETNS_TEMPLATE = (
    Path(__file__).resolve().parents[2] / "drivers/netns/examples/two-hosts.yaml"
).read_text()


@pytest.fixture(scope="module")
def nobody() -> tuple[int, int]:
    if os.geteuid() != 0:
        pytest.skip("needs root to start Flint as another user")
    entry = pwd.getpwnam("nobody")
    try:
        probe = subprocess.run(
            [flint_binary(), "--version"],
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=[],
            capture_output=True,
        )
    except OSError as e:  # a binary under a private folder, a user namespace mapping only root
        pytest.skip(f"cannot run {flint_binary()} as nobody: {e}")
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run {flint_binary()}: {probe.stderr.decode()[-200:]}")
    return entry.pw_uid, entry.pw_gid


@pytest.fixture
def home(nobody):
    """A directory of nobody's, under a folder only root may change (pytest's own is 0700)."""
    base = Path(tempfile.mkdtemp(prefix="flint-unprivileged-", dir="/tmp"))
    base.chmod(0o755)
    directory = base / "flint"
    directory.mkdir(mode=0o755)
    os.chown(directory, *nobody)
    yield directory
    shutil.rmtree(base, ignore_errors=True)


def start_as(nobody, workdir: Path, overrides: dict) -> FlintServer:
    server = FlintServer(workdir, overrides, user=nobody)
    os.chown(server.workdir, *nobody)
    return server.start()


def test_a_script_that_leaves_its_directory_read_only_completes_and_is_cleaned_up(nobody, home):
    server = start_as(
        nobody,
        home,
        {
            "resource_driver": {"driver": "script"},
            "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
        },
    )
    try:
        # As an unpacked archive leaves it, and a script that locks its own directory.
        package = script_package(
            {
                "Create": "mkdir -p unpacked/bin && chmod 555 unpacked/bin unpacked\n"
                'echo \'{"outputs": {"ok": true}}\' > "$FLINT_RESULT_FILE"\n'
                'chmod 000 "$FLINT_WORK_DIR"\n'
            }
        )
        response = server.execute(execute_body(driver_files=package))
        assert response.status_code == 202, response.text
        request_id = response.json()["requestId"]
        events = server.wait_events_for([request_id], timeout=15)[request_id]
        assert [e["payload"]["status"] for e in events] == ["COMPLETE"], events
        assert events[0]["payload"]["outputs"] == {"ok": True}
        # Delivered: the directory, with the request's credentials, goes.
        working = server.data_dir / "script-executions" / request_id
        wait_until(lambda: not working.exists(), 10, what=f"{working} removed")
        assert not [line for line in server.log_lines() if "cannot remove" in line.get("message", "")]
    finally:
        assert server.stop() == 0, server.stderr()[-4000:]


def test_netns_without_its_capabilities_refuses_creates_and_says_why(nobody, home):
    server = start_as(nobody, home, {"infrastructure_driver": {"driver": "netns"}})
    try:
        server.wait_for_log(
            lambda line: "every create will be refused" in line.get("message", "")
            and "CAP_SYS_ADMIN and CAP_NET_ADMIN" in line["message"]
        )
        # Health says so before the first refused request, not only the log.
        drivers = server.health()["vitals"]["drivers"]
        assert drivers["status"] == "DEGRADED", drivers
        assert "lacks CAP_SYS_ADMIN and CAP_NET_ADMIN" in drivers["unavailable"]["netns"], drivers
        body = {
            "template": NETNS_TEMPLATE,
            "templateType": "TOSCA",
            "systemProperties": {
                "resourceId": prop(str(uuid.uuid4())),
                "resourceName": prop("web"),
            },
            "properties": {},
            "deploymentLocation": {"name": "local", "type": "netns", "properties": {}},
        }
        assert_error(
            server.post_json("/api/infrastructure/create", body),
            500,
            "netns driver: cannot create here",
            "lacks CAP_SYS_ADMIN and CAP_NET_ADMIN",
        )
    finally:
        assert server.stop() == 0, server.stderr()[-4000:]


def test_a_workspace_flint_user_cannot_write_to_stops_the_start(nobody, home):
    workspace = home / "root-owned-ws"
    workspace.mkdir(mode=0o755)  # root's, as a start as root leaves it
    server = FlintServer(
        home / "flint", {"resource_driver": {"scripts_workspace": str(workspace)}}, user=nobody
    )
    os.chown(server.workdir, *nobody)
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert (
        f"resource_driver.scripts_workspace: Flint's user ({nobody[0]}) cannot write to "
        f"{workspace}: Permission denied; chown it to that user"
    ) in str(failure.value)


@pytest.mark.parametrize("name", ["events.db-wal", "flint.db"])
def test_a_database_file_flint_user_cannot_write_to_stops_the_start_naming_it(
    nobody, home, name
):
    server = start_as(nobody, home / name, {})
    assert server.stop() == 0, server.stderr()[-4000:]
    file = server.data_dir / name  # as a restore run as root leaves it
    file.touch(mode=0o600)
    os.chown(file, 0, 0)
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert (
        f"cannot open {file} for writing: Permission denied; check its mode and owner"
        in str(failure.value)
    )

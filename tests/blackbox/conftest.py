"""Fixtures for the black-box suite: the binary from FLINT_BIN, and `flint serve` processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from flint_blackbox import FlintServer, flint_binary


def pytest_configure(config):
    # One clear message instead of every test failing the same way.
    try:
        flint_binary()
    except RuntimeError as e:
        raise pytest.UsageError(str(e))


@pytest.fixture(scope="session")
def flint_bin() -> str:
    return flint_binary()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The default server, shared by the tests of one module (start-up costs time)."""
    instance = FlintServer(tmp_path_factory.mktemp("flint")).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MiB tmpfs to fill up. Mounting needs root: the test skips without it (CI runs as
    root)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill up needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def start_server(tmp_path):
    """Factory for a server with its own config overrides; stopped (exit 0 asserted) at the end."""
    started: list[FlintServer] = []

    def start(overrides: dict | None = None, name: str = "flint", **options) -> FlintServer:
        instance = FlintServer(tmp_path / f"{name}-{len(started)}", overrides, **options)
        started.append(instance)
        return instance.start()

    yield start
    failures = []
    for instance in started:
        code = instance.stop()
        if code != 0:
            failures.append(f"exit {code}; stderr tail:\n{instance.stderr()[-4000:]}")
    assert not failures, "\n".join(failures)

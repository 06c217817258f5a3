"""A full disk: execute answers 503 and records nothing, never accept-and-lose (issue 3, §1).

The data directory is a small tmpfs filled up by the test. Mounting needs root; the test says
so and skips without it (CI runs as root)."""

from __future__ import annotations

import pytest

from flint_blackbox import (
    assert_error,
    driver_package,
    execute_body,
    fill_disk,
    script_package,
    wait_until,
)


def test_full_disk_answers_503_and_records_nothing(start_server, small_disk):
    server = start_server({"store": {"data_dir": str(small_disk / "data"), "synchronous": "full"}})
    accepted = server.execute(execute_body())
    assert accepted.status_code == 202, accepted.text

    filler = fill_disk(small_disk)
    refusals = 0
    for _ in range(20):
        r = server.execute(execute_body())
        if r.status_code == 503:
            assert_error(r, 503, "disk is full")
            refusals += 1
        else:
            # A commit can still fit in pages SQLite already owns; what is accepted is kept.
            assert r.status_code == 202, r.text
            assert server.execution(r.json()["requestId"]).status_code == 200
    assert refusals > 0, "no execute was refused although the disk was full"
    # Health tells why, without turning the node UNHEALTHY (a DEGRADED vital keeps it 200).
    health = server.get("/management/health")
    assert health.status_code == 200, health.text
    store = health.json()["vitals"]["store"]
    assert store["status"] == "DEGRADED", store
    assert "database or disk is full" in store["last_error"], store
    assert "flint.db" in store["last_error"], store
    assert store["since"].endswith("Z"), store
    assert server.metrics().value("flint_store_writes_total", outcome="failed") > 0

    # Room again: accepting works again and nothing accepted earlier was lost.
    filler.unlink()
    r = server.execute(execute_body())
    assert r.status_code == 202, r.text
    first = accepted.json()["requestId"]
    record = wait_until(
        lambda: (x := server.execution(first).json()).get("status") in ("COMPLETE", "FAILED") and x,
        30,
        what="the execution accepted before the disk filled to finish",
    )
    assert record["status"] == "COMPLETE"
    health = server.get("/management/health")
    assert health.status_code == 200
    assert "last_error" not in health.json()["vitals"]["store"], health.text
    # Free space is read again at most once a second.
    wait_until(lambda: server.health()["vitals"]["store"]["status"] == "OK", 5,
               what="the store vital to read OK")


def test_the_store_vital_warns_before_the_disk_is_full(start_server, small_disk):
    """Less than a tenth of this 4 MiB disk free (or 100 MiB of a larger one): DEGRADED while
    writes still succeed, so that an operator hears of it before executes are refused."""
    server = start_server({"store": {"data_dir": str(small_disk / "data")}})
    vital = server.health()["vitals"]["store"]
    assert vital["status"] == "OK" and vital["disk_free_bytes"] > 2**20, vital
    filler = fill_disk(small_disk)
    with open(filler, "r+b") as out:  # leave about 256 KiB
        out.truncate(max(0, filler.stat().st_size - 256 * 1024))
    vital = wait_until(
        lambda: (v := server.health()["vitals"]["store"])["status"] == "DEGRADED" and v, 5,
        what="the store vital to warn of low space",
    )
    assert vital["disk_free_bytes"] < 400 * 1024, vital
    assert "last_error" not in vital, vital
    r = server.execute(execute_body())
    assert r.status_code == 202, r.text
    filler.unlink()
    wait_until(lambda: server.health()["vitals"]["store"]["status"] == "OK", 5,
               what="the store vital to read OK with room again")


def test_script_driver_on_a_full_disk_answers_503_without_opening_the_breaker(
    start_server, small_disk
):
    """The script driver's working directories live in the data directory: a full disk there is
    the host's trouble, not the deployment location's. Retry later (503), and once space is back
    the location is served at once (its circuit breaker never counted these)."""
    server = start_server({
        "store": {"data_dir": str(small_disk / "data")},
        "resource_driver": {"driver": "script"},
        "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
        "drivers": {"breaker": {"failure_threshold": 2, "open_duration": "10m"}},
    })
    package = script_package({"Create": "exit 0\n"})
    warm = server.execute(execute_body(driver_files=package))  # unpacks the package first
    assert warm.status_code == 202, warm.text
    # Once delivered, its working directory goes: had that freed blocks after the disk filled,
    # the next working directory could fit and the refusal would come from the store instead.
    executions = small_disk / "data" / "script-executions"
    wait_until(
        lambda: server.execution(warm.json()["requestId"]).json().get("status") == "COMPLETE"
        and not any(executions.iterdir()),
        30,
        what="the warm-up execution to end and its working directory to go",
    )

    filler = fill_disk(small_disk)
    for _ in range(4):
        r = server.execute(execute_body(driver_files=package))
        assert_error(r, 503, "script driver: cannot prepare the working directory: ")
        assert "/script-executions/" in r.json()["localizedMessage"], r.text
        assert "No space left on device" in r.json()["localizedMessage"], r.text

    filler.unlink()
    r = server.execute(execute_body(driver_files=package))
    assert r.status_code == 202, r.text
    assert server.health()["vitals"]["drivers"]["open_breakers"] == 0


def test_a_workspace_without_space_for_a_new_package_answers_503(start_server, small_disk):
    """Unpacking wants disk space the host will have again: 503, retry later, not the 500 an
    orchestrator takes as final; and not the deployment location's failure either."""
    workspace = small_disk / "ws"
    server = start_server({
        "resource_driver": {"scripts_workspace": str(workspace)},
        "drivers": {"breaker": {"failure_threshold": 2, "open_duration": "10m"}},
    })
    filler = fill_disk(small_disk)
    for index in range(4):
        package = driver_package({"scripts/Create.sh": f"exit {index}\n" + "#" * 8192})
        r = server.execute(execute_body(driver_files=package))
        assert_error(r, 503, f"cannot unpack the driver files into {workspace}: ")
        assert "No space left on device; retry later" in r.json()["localizedMessage"], r.text
    filler.unlink()
    assert server.execute(execute_body(driver_files=package)).status_code == 202
    assert server.health()["vitals"]["drivers"]["open_breakers"] == 0


def test_a_start_on_a_full_disk_says_the_disk_is_full(start_server, small_disk):
    """After a clean stop (no -wal or -shm file left), opening the databases on a full disk fails
    while SQLite sizes the -shm file, which it reports as "disk I/O error". The start must say the
    disk is full, not send the operator looking for a hardware fault."""
    server = start_server({"store": {"data_dir": str(small_disk / "data")}})
    assert server.stop() == 0
    assert not list(server.data_dir.glob("*-shm")), list(server.data_dir.iterdir())
    filler = fill_disk(small_disk)
    with pytest.raises(RuntimeError, match="while starting"):
        server.start()
    text = server.stderr()
    assert "flint.db" in text, text  # the first database opened (to check the key)
    assert "No space left on device: the disk is full" in text, text

    filler.unlink()
    server.start()  # space again: it starts (and the fixture stops it)
    server.health()

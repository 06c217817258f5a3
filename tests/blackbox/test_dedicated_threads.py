"""driver_calls.dedicated_threads: a driver with threads of its own, as a bulkhead.

One shared driver thread and a queue of one call; the noop resource driver's slow calls fill
whatever pool they run in, and a call of the noop-infrastructure driver shows whether the
other drivers are still served.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from flint_blackbox import FlintServer, assert_error, execute_body, prop, wait_until

SLOW_MS = 2000


def config(dedicated: dict | None) -> dict:
    calls = {"threads": 1, "queue_size": 1, "timeout": "10s"}
    if dedicated is not None:
        calls["dedicated_threads"] = dedicated
    return {
        "infrastructure_driver": {"driver": "noop-infrastructure"},
        "driver_calls": calls,
        "drivers": {"breaker": {"failure_threshold": 0}},
    }


def fill_the_noop_drivers_pool(server: FlintServer, vital) -> list[threading.Thread]:
    """Two slow executes: one running, one queued behind it."""
    answers = []

    def slow():
        body = execute_body(request_properties={"noop.latencyMs": SLOW_MS})
        answers.append(server.execute(body, timeout=30).status_code)

    callers = []
    for queued in (0, 1):
        caller = threading.Thread(target=slow)
        caller.start()
        callers.append(caller)
        wait_until(lambda: vital()["running"] == 1 and vital()["queued"] == queued, timeout=10,
                   what="the slow execute to hold the pool")
    return callers


def create_infrastructure(server: FlintServer):
    body = {
        "template": "tosca_definitions_version: tosca_simple_yaml_1_0\n",
        "templateType": "TOSCA",
        "systemProperties": {"resourceId": prop(str(uuid.uuid4())),
                             "resourceName": prop("web"),
                             "requestId": prop(str(uuid.uuid4()))},
        "properties": {},
        "deploymentLocation": {"name": "dc-1", "type": "noop", "properties": {}},
    }
    return server.post_json("/api/infrastructure/create", body, timeout=30)


def driver_calls(server: FlintServer) -> dict:
    return server.health()["vitals"]["driver_calls"]


def test_a_driver_with_threads_of_its_own_leaves_the_shared_ones_to_the_others(start_server):
    server = start_server(config({"noop": 1, "nosuch": 2}))
    server.wait_for_log(lambda l: l["message"] == (
        "driver_calls.dedicated_threads.nosuch: no driver of that name is loaded; its 2 threads "
        "stay idle"))
    threads = [p.read_text().strip()
               for p in Path(f"/proc/{server.process.pid}/task").glob("*/comm")]
    assert "drv.noop-0" in threads and "drv.nosuch-0" in threads, threads

    callers = fill_the_noop_drivers_pool(server,
                                         lambda: driver_calls(server)["dedicated"]["noop"])
    vital = driver_calls(server)
    assert vital["status"] == "DEGRADED", vital  # the noop driver's queue is full
    assert vital["dedicated"]["noop"] == {"threads": 1, "running": 1, "queued": 1,
                                          "queue_size": 1}, vital
    assert (vital["threads"], vital["running"], vital["queued"]) == (1, 0, 0), vital

    # The noop driver is refused at once; the infrastructure driver is served meanwhile.
    assert_error(server.execute(execute_body()), 503, "driver calls are saturated")
    started = time.monotonic()
    r = create_infrastructure(server)
    assert r.status_code == 202, r.text
    assert time.monotonic() - started < SLOW_MS / 1000, "it waited for the noop driver's calls"

    for caller in callers:
        caller.join(timeout=30)
    wait_until(lambda: driver_calls(server)["status"] == "OK", timeout=10,
               what="the noop driver's pool to drain")


def test_without_them_a_slow_driver_holds_every_other_drivers_calls(start_server):
    # The same load on the shared pool: this is what dedicated threads prevent.
    server = start_server(config(None))
    assert "dedicated" not in driver_calls(server)
    callers = fill_the_noop_drivers_pool(server, lambda: driver_calls(server))
    assert_error(create_infrastructure(server), 503, "driver calls are saturated")
    for caller in callers:
        caller.join(timeout=30)

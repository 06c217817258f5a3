"""Monitoring through the noop driver: every outcome path, its event and its durable record."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time

import pytest

from flint_blackbox import (
    EVENT_KEYS_COMPLETE,
    EXECUTIONS_PATH,
    EVENT_KEYS_FAILED,
    LIFECYCLE_TOPIC,
    FlintServer,
    assert_error,
    child_environment,
    damage_pages,
    deployment_location,
    execute_body,
    produce_large_events,
    wait_until,
)

FAST_POLLING = {"monitoring": {"min_interval": "50ms", "max_interval": "200ms"}}
FAILURE_CODES = [
    "RESOURCE_NOT_FOUND",
    "INFRASTRUCTURE_ERROR",
    "INSUFFICIENT_CAPACITY",
    "INTERNAL_ERROR",
]


@pytest.fixture(scope="module")
def noop(tmp_path_factory):
    instance = FlintServer(tmp_path_factory.mktemp("monitoring"), FAST_POLLING).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


def accept(server: FlintServer, tenant: str | None = None, **kwargs) -> str:
    headers = {"tenantId": tenant} if tenant else {}
    r = server.execute(execute_body(**kwargs), headers=headers)
    assert r.status_code == 202, r.text
    return r.json()["requestId"]


def only_event(server: FlintServer, request_id: str) -> dict:
    events = server.wait_events_for([request_id])[request_id]
    assert len(events) == 1, events
    return events[0]


def assert_record_shape(record: dict, request_id: str, status: str) -> None:
    """Terminal record: status, transitions IN_PROGRESS -> status, timestamps in order."""
    assert record["requestId"] == request_id
    assert record["driver"] == "noop"
    assert record["status"] == status
    assert record["monitoring"] == "complete"
    transitions = record["transitions"]
    assert [t["status"] for t in transitions] == ["IN_PROGRESS", status], transitions
    assert transitions[0]["at"] == record["acceptedAt"]
    assert transitions[-1]["at"] == record["completedAt"]
    # ISO 8601 UTC with milliseconds: string order is time order.
    assert record["acceptedAt"] <= record["completedAt"] <= record["deliveredAt"], record


def assert_no_event_for(server: FlintServer, request_id: str) -> None:
    """No event names `request_id`, checked after a later execution's event arrived: the
    outbox is delivered in order, so anything committed before it is in the log by then."""
    sentinel = accept(server)
    server.wait_events_for([sentinel])
    keys = [e["key"] for e in server.all_events()]
    payload_ids = [e["payload"]["requestId"] for e in server.all_events()]
    assert request_id not in keys and request_id not in payload_ids


def test_complete_with_outputs_and_topology(noop):
    outputs = {"ip": "10.0.0.5", "port": 8080, "nested": {"a": [1, 2]}}
    topology = {"vm": {"id": "i-123", "type": "Openstack"}}
    request_id = accept(
        noop,
        tenant="tenant-a",
        lifecycle="Install",
        request_properties={
            "noop.outputs": outputs,
            "noop.topology": topology,
            "noop.pollsInProgress": 3,
        },
    )
    event = only_event(noop, request_id)
    assert event["topic"] == LIFECYCLE_TOPIC
    assert event["key"] == request_id
    assert event["tenantId"] == "tenant-a"
    assert event["createdAt"].endswith("Z")
    payload = event["payload"]
    assert list(payload) == EVENT_KEYS_COMPLETE, payload
    assert payload == {
        "requestId": request_id,
        "status": "COMPLETE",
        "outputs": outputs,
        "associatedTopology": topology,
        "version": "1.0.0",
    }

    record = noop.wait_terminal(request_id)
    assert_record_shape(record, request_id, "COMPLETE")
    assert record["lifecycleName"] == "Install"
    assert record["tenantId"] == "tenant-a"
    assert record["outputs"] == outputs
    assert record["associatedTopology"] == topology
    assert "failureDetails" not in record
    # The event's creation is the commit of the outcome.
    assert event["createdAt"] == record["completedAt"]


def nested(levels: int) -> dict:
    """`levels` objects, each holding the next under "a"."""
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def test_outputs_as_deep_as_a_request_may_nest_are_recorded_and_delivered(noop):
    # The body nests 64 levels, the most it may: its outputs are 61 deep. Records and events
    # were read back with Boost.JSON's default limit (32): past it the record answered 500 for
    # good, and the event log served the payload as a string.
    outputs = nested(61)
    request_id = accept(noop, request_properties={"noop.outputs": outputs})
    assert only_event(noop, request_id)["payload"]["outputs"] == outputs
    assert noop.wait_terminal(request_id)["outputs"] == outputs
    r = noop.execute(execute_body(request_properties={"noop.outputs": nested(62)}))
    assert_error(r, 400, "nested deeper than 64 levels")


def test_an_execution_with_a_deep_location_is_monitored_again_after_a_restart(start_server,
                                                                              tmp_path):
    # The sealed job holds the deployment location. Read back after a restart with Boost.JSON's
    # default limit (32), a location nested deeper ended the execution FAILED ("too deep").
    server = start_server({**FAST_POLLING, "drivers": {"noop": {"state_dir": str(tmp_path)}}})
    request_id = accept(server, location=deployment_location({"deep": nested(60)}),
                        request_properties={"noop.pollsInProgress": 40})
    assert server.stop() == 0
    server.start()
    record = server.wait_terminal(request_id)
    assert record["status"] == "COMPLETE", record


def test_no_tenant_means_null_tenant_in_the_envelope(noop):
    request_id = accept(noop)
    event = only_event(noop, request_id)
    assert event["tenantId"] is None
    assert noop.wait_terminal(request_id)["tenantId"] is None


@pytest.mark.parametrize("code", FAILURE_CODES)
def test_failed_with_each_failure_code(noop, code):
    description = f"the VIM said no ({code})"
    request_id = accept(
        noop,
        tenant="tenant-f",
        request_properties={
            "noop.outcome": "FAILED",
            "noop.failureCode": code,
            "noop.failureDescription": description,
            "noop.outputs": {"partial": True},
            "noop.pollsInProgress": 1,
        },
    )
    event = only_event(noop, request_id)
    assert event["tenantId"] == "tenant-f"
    payload = event["payload"]
    assert list(payload) == EVENT_KEYS_FAILED, payload
    assert list(payload["failureDetails"]) == ["failureCode", "description"]
    assert payload["status"] == "FAILED"
    assert payload["failureDetails"] == {"failureCode": code, "description": description}
    assert payload["outputs"] == {"partial": True}
    assert payload["associatedTopology"] == {}
    assert payload["version"] == "1.0.0"

    record = noop.wait_terminal(request_id)
    assert_record_shape(record, request_id, "FAILED")
    assert record["failureDetails"] == {"failureCode": code, "description": description}


def test_temporary_errors_are_retried_then_the_execution_completes(noop):
    before = noop.metrics().value(
        "flint_job_runs_total", kind="lifecycle_execution", step="retry_later"
    )
    request_id = accept(
        noop,
        request_properties={
            "noop.raiseOnPoll": "temporary",
            "noop.raiseOnPollTimes": 2,
            "noop.outputs": {"after": "retries"},
        },
    )
    payload = only_event(noop, request_id)["payload"]
    assert payload["status"] == "COMPLETE"
    assert payload["outputs"] == {"after": "retries"}
    record = noop.wait_terminal(request_id)
    assert_record_shape(record, request_id, "COMPLETE")
    after = noop.metrics().value(
        "flint_job_runs_total", kind="lifecycle_execution", step="retry_later"
    )
    assert after - before >= 2, (before, after)


def test_request_not_found_stops_monitoring_without_an_event(noop):
    ended = {"outcome": "request_not_found"}
    before = noop.metrics().value("flint_lifecycle_executions_ended_total", **ended)
    request_id = accept(noop, request_properties={"noop.raiseOnPoll": "request_not_found"})
    record = noop.wait_terminal(request_id)
    assert noop.metrics().value("flint_lifecycle_executions_ended_total", **ended) == before + 1
    assert record["monitoring"] == "stopped: request not found", record
    assert record["status"] == "IN_PROGRESS"
    assert record["completedAt"] is None and record["deliveredAt"] is None
    assert [t["status"] for t in record["transitions"]] == ["IN_PROGRESS"]
    assert "failureDetails" not in record
    assert_no_event_for(noop, request_id)
    # Monitoring stopped for good: the record does not change afterwards.
    time.sleep(0.5)
    assert noop.execution(request_id).json() == record


def test_other_driver_error_fails_with_internal_error_and_the_message(noop):
    request_id = accept(noop, tenant="tenant-d", request_properties={"noop.raiseOnPoll": "driver"})
    payload = only_event(noop, request_id)["payload"]
    assert list(payload) == EVENT_KEYS_FAILED
    assert payload["status"] == "FAILED"
    assert payload["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    assert "noop.raiseOnPoll" in payload["failureDetails"]["description"], payload
    record = noop.wait_terminal(request_id)
    assert_record_shape(record, request_id, "FAILED")
    assert record["failureDetails"] == payload["failureDetails"]
    # The driver's detail for the operator is logged, never sent to the orchestrator.
    assert "operator detail" not in str(payload)
    logged = noop.wait_for_log(lambda line: line["message"].startswith(
        f"execution {request_id}: the status poll failed, and with it the execution: "))
    assert logged and logged[0]["message"].endswith("(operator detail of noop.raiseOnPoll)"), logged
    assert logged[0]["level"] == "WARNING"


def test_unknown_lifecycle_is_refused_at_execute_and_leaves_nothing(noop):
    r = noop.execute(execute_body(request_properties={"noop.raise": "invalid_lifecycle_name"}))
    assert_error(r, 400, "invalid_lifecycle_name")
    # Nothing was accepted, so the next event in the log is the sentinel's.
    last = noop.last_seq()
    sentinel = accept(noop)
    noop.wait_events_for([sentinel])
    assert [e["payload"]["requestId"] for e in noop.all_events(after=last)] == [sentinel]


def test_total_deadline_fails_the_execution(start_server):
    server = start_server(
        {"monitoring": {"min_interval": "100ms", "max_interval": "300ms", "total_timeout": "2s"}}
    )
    started = time.monotonic()
    request_id = accept(server, request_properties={"noop.pollsInProgress": 1_000_000})
    payload = only_event(server, request_id)["payload"]
    elapsed = time.monotonic() - started
    assert payload["status"] == "FAILED"
    assert payload["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    assert "monitoring.total_timeout" in payload["failureDetails"]["description"], payload
    assert elapsed >= 1.5, f"failed after {elapsed:.2f}s, before the 2 s deadline"
    record = server.wait_terminal(request_id)
    assert record["status"] == "FAILED"
    assert record["failureDetails"] == payload["failureDetails"]


def test_total_deadline_is_kept_while_the_breaker_is_open(start_server):
    # Polls raising temporary errors open the location's breaker (5 failures); while it is
    # open polls are refused before reaching a driver thread, and the deadline must hold anyway.
    server = start_server({
        "monitoring": {"min_interval": "100ms", "max_interval": "300ms", "total_timeout": "3s"},
        "drivers": {"breaker": {"open_duration": "60s"}},
    })
    started = time.monotonic()
    request_id = accept(server, request_properties={"noop.raiseOnPoll": "temporary"})

    def breaker_open():
        drivers = server.get("/api/drivers").json()["drivers"]
        return any(b["state"] == "open" for d in drivers for b in d["breakers"])

    wait_until(breaker_open, timeout=5, interval=0.05, what="the location's breaker to open")
    # Its refusals quote the last failure, as the orchestrator may read it: not the driver's
    # detail for the operator.
    answer = server.execute(execute_body())
    refused = assert_error(answer, 503, "circuit breaker open", "noop.raiseOnPoll")
    assert "operator detail" not in refused["localizedMessage"], refused
    # The open breaker knows when it lets a call through again: generic clients back off.
    assert 50 <= int(answer.headers["Retry-After"]) <= 60, answer.headers
    payload = only_event(server, request_id)["payload"]
    elapsed = time.monotonic() - started
    assert "monitoring.total_timeout" in payload["failureDetails"]["description"], payload
    assert 2.5 <= elapsed < 10, f"failed after {elapsed:.2f}s, with a 3 s deadline"


def test_a_failure_code_of_infrastructure_tasks_only_is_internal_error(noop):
    request_id = accept(noop, request_properties={
        "noop.outcome": "FAILED", "noop.failureCode": "RESOURCE_ALREADY_EXISTS",
        "noop.failureDescription": "web-1 exists"})
    details = only_event(noop, request_id)["payload"]["failureDetails"]
    assert details == {"failureCode": "INTERNAL_ERROR",
                       "description": "RESOURCE_ALREADY_EXISTS (not a failure code of lifecycle "
                                      "executions): web-1 exists"}
    assert noop.wait_terminal(request_id)["failureDetails"] == details


def test_an_outcome_over_max_outcome_size_fails_without_its_outputs(start_server):
    # Stored and sent whole, it would swell the store and make an event Kafka refuses.
    server = start_server({**FAST_POLLING, "monitoring": {**FAST_POLLING["monitoring"],
                                                         "max_outcome_size": "2KiB"}})
    large = accept(server, request_properties={"noop.outputs": {"blob": "x" * 3000}})
    fits = accept(server, request_properties={"noop.outputs": {"blob": "x" * 1500}})
    events = server.wait_events_for([large, fits])
    failed = events[large][0]["payload"]
    assert failed["status"] == "FAILED"
    assert failed["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    description = failed["failureDetails"]["description"]
    assert "monitoring.max_outcome_size (2048 bytes)" in description, description
    assert "outputs" not in failed or failed["outputs"] == {}, failed
    record = server.wait_terminal(large)
    assert record["status"] == "FAILED" and record["outputs"] == {}, record
    assert "the driver reported COMPLETE with an outcome of" in description, description
    assert "what it built or changed on the target is in place" in description, description
    assert f"execution {large}: the driver reported COMPLETE with an outcome of" in server.stderr()
    assert events[fits][0]["payload"]["outputs"] == {"blob": "x" * 1500}


def test_an_acceptance_topology_over_max_outcome_size_is_a_driver_error(start_server):
    # The 202's topology is stored, replicated and sent back whole, like an outcome.
    server = start_server({**FAST_POLLING, "monitoring": {**FAST_POLLING["monitoring"],
                                                         "max_outcome_size": "2KiB"}})
    huge = {"vm": {"id": "i-" + "x" * 3000, "type": "Openstack"}}
    r = server.execute(execute_body(request_properties={"noop.acceptTopology": huge}))
    body = assert_error(r, 500, "associatedTopology of", "monitoring.max_outcome_size (2048 bytes)")
    assert "not recorded" in body["localizedMessage"], body
    assert "accepted the request with an associatedTopology" in server.stderr()
    fits = {"vm": {"id": "i-" + "x" * 1000, "type": "Openstack"}}
    request_id = accept(server, request_properties={"noop.acceptTopology": fits})
    assert server.wait_terminal(request_id)["status"] == "COMPLETE"
    # Only the execution that fits was recorded and reported.
    assert [e["payload"]["requestId"] for e in server.all_events()] == [request_id]


def test_polls_that_overrun_their_deadline_count_each_execution_once(start_server):
    # Each call takes 600 ms against a 300 ms deadline: the execute is answered 503 yet recorded,
    # and a retried poll may come back after the driver forgot the ended execution.
    server = start_server({"driver_calls": {"timeout": "300ms"},
                           "monitoring": {"min_interval": "50ms", "max_interval": "100ms"},
                           "drivers": {"breaker": {"failure_threshold": 0}}})
    for _ in range(3):
        r = server.execute(execute_body(request_properties={"noop.latencyMs": 600}))
        assert r.status_code == 503, r.text
    wait_until(lambda: len(server.all_events()) == 3, 20, what="three events")
    ids = [e["payload"]["requestId"] for e in server.all_events()]
    for request_id in ids:
        assert server.wait_terminal(request_id)["status"] == "COMPLETE"
    time.sleep(2)  # the late polls come back
    ended = dict((labels["outcome"], value) for labels, value in
                 server.metrics().find("flint_lifecycle_executions_ended_total"))
    assert ended.get("complete") == 3 and ended.get("request_not_found", 0) == 0, ended
    assert "the driver does not know it" not in server.stderr()
    # The ids answered by no 202 are tied to their request in the log.
    for request_id in ids:
        assert f"as request {request_id} after the call's deadline (answered 503)" in \
            server.stderr(), server.stderr()[-3000:]


# -- the status endpoint -------------------------------------------------------------------


def test_status_of_an_execution_in_progress(noop):
    request_id = accept(
        noop,
        tenant="tenant-p",
        lifecycle="Configure",
        request_properties={"noop.pollsInProgress": 1_000_000},
    )
    r = noop.execution(request_id)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    record = r.json()
    assert record["requestId"] == request_id
    assert record["lifecycleName"] == "Configure"
    assert record["tenantId"] == "tenant-p"
    assert record["status"] == "IN_PROGRESS"
    assert record["monitoring"] == "active"
    assert record["completedAt"] is None and record["deliveredAt"] is None
    assert record["outputs"] == {} and record["associatedTopology"] == {}
    assert [t["status"] for t in record["transitions"]] == ["IN_PROGRESS"]
    # Polls are not transitions: after several IN_PROGRESS polls nothing was added.
    time.sleep(1.0)
    again = noop.execution(request_id).json()
    assert again["transitions"] == record["transitions"]
    assert again["monitoring"] == "active"


def test_status_carries_the_accept_topology(noop):
    accept_topology = {"net": {"id": "n-1", "type": "Network"}}
    request_id = accept(
        noop,
        request_properties={
            "noop.acceptTopology": accept_topology,
            "noop.pollsInProgress": 1_000_000,
        },
    )
    assert noop.execution(request_id).json()["associatedTopology"] == accept_topology


def test_delivered_at_is_set_once_the_event_was_delivered(noop):
    request_id = accept(noop, request_properties={"noop.pollsInProgress": 2})
    noop.wait_events_for([request_id])
    def delivered():
        record = noop.execution(request_id).json()
        return record if record["deliveredAt"] else None

    record = wait_until(delivered, 30, interval=0.1, what="deliveredAt")
    assert record["completedAt"] <= record["deliveredAt"]


def test_status_of_an_unknown_request_is_400(noop):
    assert_error(noop.execution("00000000-0000-4000-8000-000000000000"), 400, "requestId")
    assert_error(noop.execution("not-a-request"), 400, "not-a-request")


def test_status_path_with_more_segments_is_404(noop):
    request_id = accept(noop)
    assert_error(noop.execution(f"{request_id}/extra"), 404)


def test_records_of_ended_executions_are_removed_after_the_retention(start_server):
    server = start_server({**FAST_POLLING, "store": {"execution_retention": "2s"}})
    ended = accept(server)
    running = accept(server, request_properties={"noop.pollsInProgress": 1_000_000})
    server.wait_events_for([ended])
    record = server.wait_terminal(ended)
    assert record["status"] == "COMPLETE"
    started = time.monotonic()

    def removed():
        return server.execution(ended).status_code == 400

    wait_until(removed, 30, interval=0.2, what="the ended record removed")
    assert time.monotonic() - started >= 1.0, "removed before it was 2 s old"
    assert_error(server.execution(ended), 400, ended)
    # Still monitored: kept whatever its age.
    assert server.execution(running).json()["status"] == "IN_PROGRESS"
    assert server.metrics().value("flint_execution_records_pruned_total") >= 1
    # Its event stays in the event log, which has its own retention.
    assert [e["key"] for e in server.all_events()].count(ended) == 1


def test_an_execute_returning_after_its_deadline_is_still_recorded_and_monitored(start_server):
    """The client hears 503 at the deadline, but the driver did start the work when it returns:
    Flint records that execution and monitors it to its end, so its outcome is not lost."""
    flint = start_server({**FAST_POLLING, "driver_calls": {"timeout": "300ms"}})
    late = flint.execute(execute_body(request_properties={"noop.latencyMs": 900}))
    assert_error(late, 503, "deadline")
    events = wait_until(lambda: flint.all_events(), timeout=15, what="the late execution's event")
    assert len(events) == 1, events
    request_id = events[0]["key"]
    assert events[0]["payload"]["status"] == "COMPLETE", events
    record = flint.execution(request_id).json()
    assert record["status"] == "COMPLETE", record
    # The driver's slowness counts against it; the commit that followed did not.
    assert flint.metrics().value(
        "flint_driver_calls_total", driver="noop", operation="execute_lifecycle", outcome="timeout"
    ) == 1


def test_a_damaged_store_is_a_500_that_says_so_and_degrades_health(start_server):
    server = start_server(FAST_POLLING)
    ids = produce_large_events(server, 200)
    assert server.stop() == 0
    # The middle half of the file, where most records lie.
    damage_pages(server.data_dir / "flint.db", 1 / 4, 3 / 4, 16384)
    server.start()
    answers = [server.get(f"/api/driver/lifecycle/executions/{i}") for i in ids]
    # A damaged page may also read as no row at all (400): SQLite cannot tell garbage
    # that parses from data. Where it can, the answer says so.
    damaged = [r for r in answers if r.status_code == 500]
    assert damaged, [r.status_code for r in answers]
    for r in damaged:
        assert_error(r, 500, "the execution record cannot be read; see the server log")
    vital = server.health()["vitals"]["store"]
    assert vital["status"] == "DEGRADED", vital
    assert vital["damaged"].endswith("flint.db: database disk image is malformed"), vital
    assert "its record cannot be read: " in server.stderr()


def test_a_damaged_outbox_the_relay_finds_degrades_health(start_server):
    # The relay reads the outbox through a connection of its own: what it found damaged was
    # only logged, and the store's vital said OK while no event could be delivered.
    server = start_server(FAST_POLLING)
    server.wait_terminal(accept(server))
    assert server.stop() == 0
    database = server.data_dir / "flint.db"
    with sqlite3.connect(database) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    db.close()
    with open(database, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)
    server.start()

    def store_vital() -> dict:
        return server.health()["vitals"]["store"]
    wait_until(lambda: store_vital()["status"] == "DEGRADED", timeout=15,
               what="the store vital to say the outbox is damaged")
    assert store_vital()["damaged"].endswith("flint.db: database disk image is malformed")


def test_the_executions_in_flight_are_listed_oldest_first_page_by_page(start_server, tmp_path):
    # The noop target on disk, so that the executions are still running after a restart.
    server = start_server({**FAST_POLLING, "drivers": {"noop": {"state_dir": str(tmp_path)}}})
    running = {accept(server, lifecycle=f"Step{i}",
                      request_properties={"noop.pollsInProgress": 1_000_000}) for i in range(5)}
    ended = accept(server)
    server.wait_terminal(ended)

    def listing(limit: int) -> list[list[dict]]:
        pages, after = [], None
        while True:
            r = server.get(EXECUTIONS_PATH.rstrip("/"),
                           params={"limit": limit, **({"after": after} if after else {})})
            assert r.status_code == 200, r.text
            body = r.json()
            assert set(body) == {"executions", "next"}
            pages.append(body["executions"])
            after = body["next"]
            if after is None:
                return pages

    pages = listing(2)
    assert [len(page) for page in pages] == [2, 2, 1]
    records = [record for page in pages for record in page]
    assert {record["requestId"] for record in records} == running  # not the ended one
    order = [(record["acceptedAt"], record["requestId"]) for record in records]
    assert order == sorted(order)
    for record in records:
        assert record == server.execution(record["requestId"]).json()
        assert record["monitoring"] == "active" and record["status"] == "IN_PROGRESS"
    assert listing(100) == [records]

    # What a restart resumes is listed again, in the same order.
    assert server.stop() == 0
    server.start()
    resumed = listing(3)
    assert [r["requestId"] for page in resumed for r in page] == [
        r["requestId"] for r in records]

    for query, message in [
        ("limit=0", "limit: expected an integer from 1 to 500"),
        ("limit=501", "limit: expected an integer from 1 to 500"),
        ("limit=1&limit=2", "limit: given more than once"),
        ("after=abc", "after: expected the `next` of an earlier page"),
        ("after=12.", "after: expected the `next` of an earlier page"),
        ("after=x.01a2", "after: expected the `next` of an earlier page"),
    ]:
        assert_error(server.get(f"{EXECUTIONS_PATH.rstrip('/')}?{query}"), 400, message)


def test_flint_executions_prints_what_is_in_flight_and_any_record(start_server):
    server = start_server(FAST_POLLING)

    def executions(*args):
        return subprocess.run([os.environ["FLINT_BIN"], "executions", "--url", server.url(""), *args],
                              capture_output=True, text=True, timeout=30, env=child_environment())

    result = executions()
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert result.stderr == f"flint: no execution is in progress on {server.url('')}\n"

    running = [accept(server, tenant="t1" if i == 0 else None, lifecycle=f"Step{i}",
                      request_properties={"noop.pollsInProgress": 1_000_000}) for i in range(3)]
    ended = accept(server, request_properties={"noop.outcome": "FAILED",
                                               "noop.failureCode": "INFRASTRUCTURE_ERROR",
                                               "noop.failureDescription": "refused"})
    record = server.wait_terminal(ended)

    result = executions()
    assert result.returncode == 0 and result.stderr == "", result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["REQUEST", "ID", "LIFECYCLE", "DRIVER", "TENANT", "ACCEPTED", "AGE"]
    assert [row.split()[:4] for row in rows] == [
        [running[0], "Step0", "noop", "t1"], [running[1], "Step1", "noop", "-"],
        [running[2], "Step2", "noop", "-"]], result.stdout
    assert rows[0].split()[4] == server.execution(running[0]).json()["acceptedAt"]

    result = executions("--limit", "2", "--json")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        server.execution(request_id).json() for request_id in running[:2]]
    assert result.stderr == "flint: more executions are in progress than --limit 2 shows\n"

    result = executions(ended)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[:12])
    assert lines["status:"] == "FAILED" and lines["failureCode:"] == "INFRASTRUCTURE_ERROR"
    assert lines["completedAt:"] == record["completedAt"] and lines["monitoring:"] == "complete"
    assert json.loads(executions(ended, "--json").stdout) == record

    result = executions("no-such-request")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("flint: no execution with id no-such-request on "), result.stderr
    result = executions(ended, "--limit", "3")
    assert result.returncode == 2 and "excludes" in result.stderr, result.stderr

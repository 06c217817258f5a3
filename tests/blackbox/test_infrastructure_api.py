"""The Infrastructure API (contract section 2) through the noop-infrastructure driver: every
route, reply and error row, task monitoring to its event, and monitoring across a kill -9."""

from __future__ import annotations

import re
import signal
import uuid

import pytest

from flint_blackbox import FlintServer, assert_error, prop, wait_until

INFRA_TOPIC = "infrastructure_task_events"
NOOP = {
    "infrastructure_driver": {"driver": "noop-infrastructure"},
    "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
}
TEMPLATE = "tosca_definitions_version: tosca_simple_yaml_1_0\n"


def location(**properties) -> dict:
    return {"name": "dc-1", "type": "noop", "properties": properties}


def create_body(name: str = "web", properties: dict | None = None, **location_properties) -> dict:
    return {
        "template": TEMPLATE,
        "templateType": "TOSCA",
        "systemProperties": {
            "resourceId": prop(str(uuid.uuid4())),
            "resourceName": prop(name),
            "requestId": prop(str(uuid.uuid4())),
        },
        "properties": {k: prop(v) for k, v in (properties or {}).items()},
        "deploymentLocation": location(**location_properties),
    }


def post(server: FlintServer, operation: str, body, **kwargs):
    return server.post_json(f"/api/infrastructure/{operation}", body, **kwargs)


def task_events(server: FlintServer, request_id: str, timeout: float = 30.0) -> list[dict]:
    def found():
        events = [e for e in server.all_events() if e["key"] == request_id]
        return events or None

    return wait_until(found, timeout, interval=0.1, what=f"the event of task {request_id}")


@pytest.fixture(scope="module")
def noop(tmp_path_factory):
    instance = FlintServer(tmp_path_factory.mktemp("infrastructure"), NOOP).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


def test_create_query_event_find_delete(noop):
    r = post(noop, "create", create_body(properties={"noop.outputs": {"ip": "10.0.0.2"}}),
             headers={"tenantId": "t1"})
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert list(accepted) == ["infrastructureId", "requestId"]
    assert r.headers.get("tenantId") == "t1"
    infrastructure_id, request_id = accepted["infrastructureId"], accepted["requestId"]

    [event] = task_events(noop, request_id)
    assert event["topic"] == INFRA_TOPIC
    assert event["tenantId"] == "t1"
    assert event["payload"] == {
        "requestId": request_id,
        "infrastructureId": infrastructure_id,
        "status": "COMPLETE",
        "outputs": {"ip": "10.0.0.2"},
    }
    assert list(event["payload"]) == ["requestId", "infrastructureId", "status", "outputs"]

    r = post(noop, "query", {"infrastructureId": infrastructure_id, "requestId": request_id,
                              "deploymentLocation": location()})
    assert r.status_code == 200, r.text
    assert r.json() == event["payload"]

    find = {"template": TEMPLATE, "templateType": "TOSCA", "instanceName": "web",
            "deploymentLocation": location()}
    r = post(noop, "find", find)
    assert r.status_code == 200, r.text
    assert r.json() == {"result": {"infrastructureId": infrastructure_id,
                                   "outputs": {"ip": "10.0.0.2"}}}

    r = post(noop, "delete", {"infrastructureId": infrastructure_id,
                               "deploymentLocation": location()})
    assert r.status_code == 202, r.text
    deleting = r.json()
    assert deleting["infrastructureId"] == infrastructure_id
    [event] = task_events(noop, deleting["requestId"])
    assert event["payload"]["status"] == "COMPLETE"
    assert post(noop, "find", find).json() == {"result": None}


def test_failed_task_event_carries_its_failure(noop):
    r = post(noop, "create", create_body(properties={
        "noop.outcome": "FAILED", "noop.failureCode": "RESOURCE_ALREADY_EXISTS",
        "noop.failureDescription": "web exists", "noop.pollsInProgress": 2}))
    assert r.status_code == 202, r.text
    [event] = task_events(noop, r.json()["requestId"])
    payload = event["payload"]
    assert payload["status"] == "FAILED"
    assert payload["failureDetails"] == {"failureCode": "RESOURCE_ALREADY_EXISTS",
                                         "description": "web exists"}
    assert list(payload) == ["requestId", "infrastructureId", "status", "failureDetails",
                             "outputs"]


def test_a_failure_code_outside_the_contracts_list_is_internal_error(noop):
    # The contract's infrastructure codes have no RESOURCE_NOT_FOUND: an LM, or a client
    # generated from the enum, may not read it. The driver's code heads the description.
    r = post(noop, "create", create_body(properties={
        "noop.outcome": "FAILED", "noop.failureCode": "RESOURCE_NOT_FOUND",
        "noop.failureDescription": "no such network", "noop.pollsInProgress": 1}))
    assert r.status_code == 202, r.text
    expected = {"failureCode": "INTERNAL_ERROR",
                "description": "RESOURCE_NOT_FOUND (not a failure code of infrastructure tasks): "
                               "no such network"}
    [event] = task_events(noop, r.json()["requestId"])
    assert event["payload"]["failureDetails"] == expected
    query = post(noop, "query", {"infrastructureId": r.json()["infrastructureId"],
                                 "requestId": r.json()["requestId"],
                                 "deploymentLocation": location()})
    assert query.status_code == 200, query.text
    assert query.json()["failureDetails"] == expected


@pytest.mark.parametrize(
    "kind, status",
    [("invalid_template", 400), ("unreachable_location", 400), ("invalid_request", 400),
     ("temporary", 503), ("driver", 500)],
)
def test_driver_errors_map_to_the_contract_status(noop, kind, status):
    assert_error(post(noop, "create", create_body(properties={"noop.raise": kind})), status,
                 f"noop driver: {kind} raised")


def test_not_found_rows_are_400(noop):
    assert_error(post(noop, "delete", {"infrastructureId": "nope", "deploymentLocation": location()}),
                 400, "no infrastructure \"nope\"")
    assert_error(post(noop, "query", {"infrastructureId": "x", "requestId": "unknown",
                                      "deploymentLocation": location()}),
                 400, "request \"unknown\" not found")


@pytest.mark.parametrize(
    "operation, body, fragment",
    [
        ("create", {"templateType": "TOSCA", "systemProperties": {},
                    "deploymentLocation": location()}, "template"),
        ("create", {"template": TEMPLATE, "systemProperties": {},
                    "deploymentLocation": location()}, "templateType"),
        ("create", {"template": TEMPLATE, "templateType": "TOSCA",
                    "deploymentLocation": location()}, "systemProperties"),
        ("create", {"template": TEMPLATE, "templateType": "TOSCA", "systemProperties": {}},
         "deploymentLocation"),
        ("delete", {"deploymentLocation": location()}, "infrastructureId"),
        ("query", {"infrastructureId": "x", "deploymentLocation": location()}, "requestId"),
        ("find", {"template": TEMPLATE, "templateType": "TOSCA",
                  "deploymentLocation": location()}, "instanceName"),
    ],
)
def test_missing_fields_are_named(noop, operation, body, fragment):
    assert_error(post(noop, operation, body), 400, fragment)


def test_wrong_method_and_unknown_path(noop):
    assert_error(noop.get("/api/infrastructure/create"), 405)
    assert_error(post(noop, "rebuild", {}), 404)


def test_openapi_document_is_served(noop):
    r = noop.get("/api/infrastructure/openapi.json")
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    for operation in ("create", "delete", "query", "find"):
        assert "post" in paths[f"/api/infrastructure/{operation}"], operation


def test_temporary_poll_errors_are_retried_and_not_found_stops_silently(noop):
    r = post(noop, "create", create_body(properties={
        "noop.raiseOnPoll": "temporary", "noop.raiseOnPollTimes": 2}))
    [event] = task_events(noop, r.json()["requestId"])
    assert event["payload"]["status"] == "COMPLETE"
    # A task whose driver forgets it: monitoring stops, no event, counted.
    r = post(noop, "create", create_body(properties={"noop.raiseOnPoll": "infrastructure_not_found"}))
    wait_until(lambda: noop.metrics().value("flint_infrastructure_tasks_ended_total",
                                            outcome="not_found") >= 1,
               timeout=10, what="monitoring to stop")
    assert not [e for e in noop.all_events() if e["key"] == r.json()["requestId"]]
    # Any other error: a FAILED event with INTERNAL_ERROR, not silence.
    r = post(noop, "create", create_body(properties={"noop.raiseOnPoll": "driver"}))
    [event] = task_events(noop, r.json()["requestId"])
    assert event["payload"]["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    # The driver's detail for the operator is logged, never sent to the orchestrator.
    assert "operator detail" not in str(event["payload"])
    assert noop.wait_for_log(lambda line: line["message"].endswith(
        "the status poll failed, and with it the task: noop driver: driver raised as requested by "
        "noop.raiseOnPoll (operator detail of noop.raiseOnPoll)"))


def test_monitoring_survives_a_kill(start_server):
    server = start_server({**NOOP, "drivers": {"noop": {}}})
    r = post(server, "create", create_body(properties={"noop.pollsInProgress": 1_000_000}))
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.start()
    # The noop driver's memory is gone with the process: after the restart the driver does not
    # know the task, so monitoring stops without an event, as the contract says for not found.
    wait_until(lambda: server.metrics().value("flint_infrastructure_tasks_ended_total",
                                              outcome="not_found") == 1,
               timeout=15, what="the resumed task to be polled")
    assert "resumed monitoring of 1 unfinished infrastructure tasks" in server.stderr()


def test_a_task_whose_key_is_lost_still_ends_with_its_ids(start_server):
    # Its ids and tenant are kept in clear beside its sealed location: when the credentials key is
    # lost (and the operator accepts a new one), its FAILED event still names them.
    server = start_server(NOOP)
    r = post(server, "create", create_body(properties={"noop.pollsInProgress": 1_000_000}),
             headers={"tenantId": "tk"})
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert server.stop() == 0
    (server.data_dir / "credentials.key").unlink()
    server.overrides = {**server.overrides, "store": {"accept_new_key": True}}
    server.start()
    [event] = task_events(server, accepted["requestId"])
    assert event["tenantId"] == "tk", event
    payload = event["payload"]
    assert payload["infrastructureId"] == accepted["infrastructureId"], payload
    assert payload["status"] == "FAILED", payload
    assert payload["failureDetails"]["failureCode"] == "INTERNAL_ERROR", payload
    assert "monitoring cannot continue" in payload["failureDetails"]["description"], payload


def test_an_outcome_over_max_outcome_size_fails_without_its_outputs(start_server):
    server = start_server({**NOOP, "monitoring": {**NOOP["monitoring"], "max_outcome_size": "1KiB"}})
    r = post(server, "create", create_body(properties={"noop.outputs": {"blob": "x" * 2000}}))
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    [event] = task_events(server, request_id)
    payload = event["payload"]
    assert payload["status"] == "FAILED", payload
    assert payload["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    description = payload["failureDetails"]["description"]
    assert "monitoring.max_outcome_size (1024 bytes)" in description, description
    # FAILED must not read as "nothing was built": the orchestrator deletes it.
    assert description.startswith("the driver reported COMPLETE with an outcome of"), description
    assert "what it built or changed on the target is in place" in description, description
    assert payload["infrastructureId"] == r.json()["infrastructureId"]
    assert not payload.get("outputs"), payload


def test_a_create_or_delete_that_overruns_its_deadline_is_recorded_and_logged(start_server):
    # The driver goes ahead after the 503: the task is recorded and monitored anyway, and
    # the log ties its ids to the request that was answered 503.
    server = start_server({**NOOP, "driver_calls": {"timeout": "300ms"},
                           "drivers": {"breaker": {"failure_threshold": 0}}})
    r = post(server, "create", create_body(name="late", properties={"noop.latencyMs": 600}))
    assert r.status_code == 503, r.text
    line = server.wait_for_log(
        lambda l: re.fullmatch(r"infrastructure (\S+): create task (\S+) accepted after the "
                               r"call's deadline \(answered 503\); it is recorded and monitored",
                               l["message"]))[0]
    infrastructure_id, request_id = re.fullmatch(
        r"infrastructure (\S+): create task (\S+) accepted .*", line["message"]).groups()
    [event] = task_events(server, request_id)
    assert event["payload"]["status"] == "COMPLETE"
    found = post(server, "find", {"template": TEMPLATE, "templateType": "TOSCA",
                                  "instanceName": "late", "deploymentLocation": location()})
    assert found.json()["result"]["infrastructureId"] == infrastructure_id, found.text

    r = post(server, "delete", {"infrastructureId": infrastructure_id,
                                "deploymentLocation": location(**{"noop.latencyMs": 600})})
    assert r.status_code == 503, r.text
    server.wait_for_log(
        lambda l: re.fullmatch(rf"infrastructure {infrastructure_id}: delete task \S+ accepted "
                               r"after the call's deadline \(answered 503\); it is recorded and "
                               r"monitored", l["message"]))

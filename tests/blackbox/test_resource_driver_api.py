"""The Resource Driver API (contract sections 1 and 4) served by the built-in noop driver."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from flint_blackbox import (
    EXECUTE_PATH,
    FIND_PATH,
    assert_error,
    deployment_location,
    execute_body,
    find_body,
    prop,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


# -- execute -------------------------------------------------------------------------------


def test_execute_accepts_with_202_and_the_ignition_reply(server):
    r = server.execute(execute_body("Install"))
    assert r.status_code == 202, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"requestId", "associatedTopology", "version"}, body
    assert UUID.match(body["requestId"]), body
    assert body["associatedTopology"] == {}
    assert body["version"] == "1.0.0"


def test_execute_gives_each_request_its_own_id(server):
    ids = {server.execute(execute_body()).json()["requestId"] for _ in range(5)}
    assert len(ids) == 5


def test_execute_accepts_custom_operation_and_every_property_type(server):
    body = execute_body(
        "customScaleOut",
        resource_properties={
            "s": prop("text"),
            "i": prop(3),
            "f": prop(1.5),
            "b": prop(True),
            "t": prop("2024-01-01T00:00:00Z", "timestamp"),
            "l": prop([1, 2]),
            "m": prop({"a": {"b": 1}}),
            "custom": prop({"anything": True}, "my-own-type"),
            "nothing": {"type": "string"},  # a missing value means null
            "k": {"type": "key", "keyName": "k1", "privateKey": "x", "publicKey": "y"},
        },
        topology={"vm": {"id": "i-1", "type": "Openstack"}},
    )
    r = server.execute(body)
    assert r.status_code == 202, r.text


def test_execute_returns_the_topology_the_driver_accepts(server):
    r = server.execute(
        execute_body(request_properties={"noop.acceptTopology": {"net": {"id": "n-1", "type": "Network"}}})
    )
    assert r.status_code == 202, r.text
    assert r.json()["associatedTopology"] == {"net": {"id": "n-1", "type": "Network"}}


def test_optional_maps_may_be_absent_or_null(server):
    body = execute_body()
    for field in ("resourceProperties", "requestProperties", "associatedTopology"):
        del body[field]
    assert server.execute(body).status_code == 202
    body = execute_body()
    for field in ("resourceProperties", "requestProperties", "associatedTopology"):
        body[field] = None
    r = server.execute(body)
    assert r.status_code == 202, r.text
    assert r.json()["associatedTopology"] == {}


@pytest.mark.parametrize(
    "kind, status",
    [
        ("invalid_request", 400),
        ("invalid_lifecycle_name", 400),
        ("invalid_driver_files", 400),
        ("request_not_found", 400),
        ("unreachable_location", 400),
        ("temporary", 503),
        ("driver", 500),
        # The generic kinds the later contracts share: Ignition's table has no 404, 401 or 501.
        ("not_found", 400),
        ("already_exists", 400),
        ("conflict", 400),
        ("unauthorized", 400),
        ("not_implemented", 400),
    ],
)
def test_execute_maps_driver_errors_to_statuses(server, kind, status):
    r = server.execute(execute_body(request_properties={"noop.raise": kind}))
    assert_error(r, status, kind, "noop.raise")


def test_answers_the_target_gave_never_open_its_breaker(start_server):
    # Octavia's NotFound, Unauthorized and NotImplemented say nothing of the target's health.
    flint = start_server({"drivers": {"breaker": {"failure_threshold": 2, "open_duration": "60s"}}})
    answers = {"name": "dl-answers", "type": "noop", "properties": {}}
    for kind in ("unauthorized", "not_implemented", "not_found", "conflict", "already_exists"):
        for _ in range(3):
            body = execute_body(request_properties={"noop.raise": kind}, location=answers)
            assert_error(flint.execute(body), 400, f"noop driver: {kind} raised")
    assert flint.execute(execute_body(location=answers)).status_code == 202
    assert flint.health()["vitals"]["drivers"]["open_breakers"] == 0
    # Whereas the target's own failures do.
    failing = {"name": "dl-failing", "type": "noop", "properties": {}}
    for _ in range(2):
        body = execute_body(request_properties={"noop.raise": "driver"}, location=failing)
        assert_error(flint.execute(body), 500, "noop driver: driver raised")
    assert_error(flint.execute(execute_body(location=failing)), 503, "circuit breaker open")
    assert flint.health()["vitals"]["drivers"]["open_breakers"] == 1


def test_execute_names_a_bad_noop_setting(server):
    r = server.execute(execute_body(request_properties={"noop.raise": "meltdown"}))
    assert_error(r, 400, "requestProperties.noop.raise", "meltdown")
    r = server.execute(execute_body(request_properties={"noop.latencyMs": -5}))
    assert_error(r, 400, "requestProperties.noop.latencyMs", "non-negative")
    r = server.execute(execute_body(request_properties={"noop.outcome": "MAYBE"}))
    assert_error(r, 400, "requestProperties.noop.outcome", "MAYBE")
    r = server.execute(execute_body(request_properties={"noop.failureCode": "OOPS"}))
    assert_error(r, 400, "requestProperties.noop.failureCode", "OOPS")
    r = server.execute(execute_body(request_properties={"noop.pollsInProgress": "many"}))
    assert_error(r, 400, "requestProperties.noop.pollsInProgress")
    r = server.execute(execute_body(request_properties={"noop.acceptTopology": {"vm": {"id": "x"}}}))
    assert_error(r, 400, "requestProperties.noop.acceptTopology.vm.type")


def test_execute_accepts_valid_outcome_settings(server):
    settings = {
        "noop.outcome": "FAILED",
        "noop.failureCode": "INSUFFICIENT_CAPACITY",
        "noop.failureDescription": "no room",
        "noop.pollsInProgress": 2,
        "noop.outputs": {"ip": "10.0.0.2"},
    }
    r = server.execute(execute_body(request_properties=settings))
    assert r.status_code == 202, r.text


def test_noop_settings_fall_back_to_resource_properties(server):
    body = execute_body(resource_properties={"noop.raise": prop("temporary")})
    assert_error(server.execute(body), 503, "temporary")
    body = execute_body(resource_properties={"noop.raise": prop("nonsense")})
    assert_error(server.execute(body), 400, "resourceProperties.noop.raise")
    # Request properties win over resource properties.
    body = execute_body(
        request_properties={"noop.raise": "driver"},
        resource_properties={"noop.raise": prop("temporary")},
    )
    assert_error(server.execute(body), 500, "driver")


def test_noop_defaults_come_from_the_host_configuration(start_server):
    flint = start_server({"drivers": {"noop": {"find_found": False, "latency": "2s"}}})
    started = time.monotonic()
    r = flint.find(find_body("anything"))
    assert time.monotonic() - started >= 2.0
    assert r.status_code == 200, r.text
    assert r.json() == {"result": None}
    # A request property still overrides the configured latency.
    started = time.monotonic()
    assert flint.execute(execute_body(request_properties={"noop.latencyMs": 0})).status_code == 202
    assert time.monotonic() - started < 1.5


def test_execute_latency_delays_the_reply(server):
    started = time.monotonic()
    r = server.execute(execute_body(request_properties={"noop.latencyMs": 400}))
    elapsed = time.monotonic() - started
    assert r.status_code == 202, r.text
    assert elapsed >= 0.4, elapsed


# -- validation ----------------------------------------------------------------------------


def _mutated(mutate):
    body = execute_body()
    mutate(body)
    return body


@pytest.mark.parametrize(
    "mutate, fragments",
    [
        (lambda b: b.pop("lifecycleName"), ["lifecycleName: required"]),
        (lambda b: b.update(lifecycleName=5), ["lifecycleName: expected a string"]),
        (lambda b: b.update(lifecycleName=""), ["lifecycleName: must not be empty"]),
        (lambda b: b.pop("driverFiles"), ["driverFiles: required"]),
        (lambda b: b.pop("systemProperties"), ["systemProperties: required"]),
        (
            lambda b: b["systemProperties"].update(resourceId="r1"),
            ['systemProperties.resourceId: expected an object with "type"'],
        ),
        (
            lambda b: b["resourceProperties"].update(size={"value": 3}),
            ['resourceProperties.size: expected an object with "type"'],
        ),
        (
            lambda b: b["resourceProperties"].update(k={"type": "key", "keyName": "k"}),
            ["resourceProperties.k.privateKey: required"],
        ),
        (lambda b: b.update(requestProperties=[1]), ["requestProperties"]),
        (
            lambda b: b.update(associatedTopology={"vm": {"type": "Openstack"}}),
            ["associatedTopology.vm.id: required"],
        ),
        (lambda b: b.pop("deploymentLocation"), ["deploymentLocation: required"]),
        (lambda b: b["deploymentLocation"].pop("name"), ["deploymentLocation.name: required"]),
    ],
    ids=[
        "no-lifecycleName",
        "lifecycleName-number",
        "lifecycleName-empty",
        "no-driverFiles",
        "no-systemProperties",
        "property-not-object",
        "property-without-type",
        "key-without-privateKey",
        "map-not-object",
        "topology-without-id",
        "no-deploymentLocation",
        "location-without-name",
    ],
)
def test_execute_validation_errors_name_the_field(server, mutate, fragments):
    r = server.execute(_mutated(mutate))
    assert_error(r, 400, *fragments)


def test_body_must_be_a_json_object(server):
    assert_error(server.execute([1, 2]), 400)
    assert_error(server.find("text"), 400)


def test_malformed_json_is_400(server):
    r = server.session.post(
        server.url(EXECUTE_PATH),
        data='{"lifecycleName": tru',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert_error(r, 400, "malformed JSON")
    r = server.session.post(
        server.url(EXECUTE_PATH), data="", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert_error(r, 400)


def test_a_number_beyond_a_doubles_range_is_400_naming_it(server):
    # Read as an infinity, it could be stored and sent on only as `Infinity`,
    # which no JSON parser reads back.
    text = json.dumps(execute_body(resource_properties={"size": prop(7)}))
    assert text.count('"value": 7') == 1
    r = server.session.post(
        server.url(EXECUTE_PATH),
        data=text.replace('"value": 7', '"value": 1e400'),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert_error(r, 400, "resourceProperties.size.value: number out of range")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_wrong_or_missing_content_type_is_415(server, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = server.session.post(
        server.url(EXECUTE_PATH), data=json.dumps(execute_body()), headers=headers, timeout=30
    )
    body = assert_error(r, 415, "Content-Type")
    if content_type:
        assert content_type in body["localizedMessage"]


def test_json_with_charset_is_accepted(server):
    r = server.session.post(
        server.url(EXECUTE_PATH),
        data=json.dumps(execute_body()),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=30,
    )
    assert r.status_code == 202, r.text


def test_unknown_path_is_404(server):
    assert_error(server.get("/api/driver/nothing-here"), 404, "/api/driver/nothing-here")
    assert_error(server.post_json("/api/driver/lifecycle/executeX", {}), 404)


@pytest.mark.parametrize("path", [EXECUTE_PATH, FIND_PATH])
def test_wrong_method_is_405_with_allow(server, path):
    for method in ("GET", "PUT", "DELETE"):
        r = server.session.request(method, server.url(path), timeout=30)
        assert_error(r, 405, method)
        assert "POST" in [m.strip() for m in r.headers["Allow"].split(",")], r.headers


def test_get_only_routes_refuse_post_with_allow(server):
    r = server.post_json("/management/health", {})
    assert_error(r, 405)
    assert r.headers["Allow"].strip() == "GET, HEAD"


# -- tenantId ------------------------------------------------------------------------------


def test_tenant_id_is_echoed_on_success_and_error(server):
    tenant = f"tenant-{uuid.uuid4()}"
    r = server.execute(execute_body(), headers={"tenantId": tenant})
    assert r.status_code == 202
    assert r.headers.get("tenantId") == tenant
    r = server.execute(execute_body(request_properties={"noop.raise": "driver"}), headers={"tenantId": tenant})
    assert r.status_code == 500
    assert r.headers.get("tenantId") == tenant
    r = server.execute({"lifecycleName": "x"}, headers={"tenantId": tenant})
    assert r.status_code == 400
    assert r.headers.get("tenantId") == tenant
    r = server.find(find_body(), headers={"tenantId": tenant})
    assert r.status_code == 200
    assert r.headers.get("tenantId") == tenant


def test_no_tenant_id_header_without_one_in_the_request(server):
    r = server.execute(execute_body())
    assert r.status_code == 202
    assert "tenantId" not in r.headers


# -- find ----------------------------------------------------------------------------------


def test_find_by_default_finds_a_reference(server):
    r = server.find(find_body("vm-7"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"result"}
    assert body["result"] == {"resourceId": "noop-vm-7", "associatedTopology": {}, "outputs": {}}


def test_find_returns_what_the_location_describes(server):
    found = {
        "resourceId": "r-42",
        "outputs": {"ip": "10.0.0.1", "ports": [22, 80]},
        "associatedTopology": {"vm": {"id": "i-9", "type": "Openstack"}},
    }
    r = server.find(find_body("x", {"noop.find": found}))
    assert r.status_code == 200, r.text
    assert r.json() == {"result": found}


def test_find_nothing_is_a_null_result_not_an_error(server):
    r = server.find(find_body("missing", {"noop.find": None}))
    assert r.status_code == 200, r.text
    assert r.json() == {"result": None}


@pytest.mark.parametrize(
    "kind, status",
    [("unreachable_location", 400), ("temporary", 503), ("driver", 500), ("invalid_request", 400)],
)
def test_find_maps_driver_errors_to_statuses(server, kind, status):
    r = server.find(find_body("x", {"noop.raise": kind}))
    assert_error(r, status, kind)


@pytest.mark.parametrize(
    "mutate, fragment",
    [
        (lambda b: b.pop("instanceName"), "instanceName: required"),
        (lambda b: b.pop("driverFiles"), "driverFiles: required"),
        (lambda b: b.pop("deploymentLocation"), "deploymentLocation: required"),
        (lambda b: b.update(deploymentLocation={"properties": {}}), "deploymentLocation.name"),
        (
            lambda b: b.update(deploymentLocation=deployment_location({"noop.find": {"outputs": {}}})),
            "noop.find.resourceId",
        ),
    ],
    ids=["no-instanceName", "no-driverFiles", "no-location", "location-without-name", "bad-find"],
)
def test_find_validation_errors_name_the_field(server, mutate, fragment):
    body = find_body()
    mutate(body)
    assert_error(server.find(body), 400, fragment)

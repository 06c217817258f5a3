"""The netns infrastructure driver through the real host: create -> query -> event -> find ->
delete -> event, checked against the kernel with `ip`; a restart in the middle of a create;
invalid templates. Needs root and network namespaces (CI runs as root): skipped otherwise."""

from __future__ import annotations

import os
import random
import shutil
import signal
import string
import subprocess
import uuid
from pathlib import Path

import pytest

from flint_blackbox import FlintServer, assert_error, prop, wait_until

TEMPLATE = (Path(__file__).resolve().parents[2] / "drivers/netns/examples/two-hosts.yaml").read_text()


def netns_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the netns driver needs root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    probe = f"flprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "ip netns add is not permitted here"
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


REASON = netns_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()}


def links() -> set[str]:
    return {line.split(":")[1].strip().split("@")[0]
            for line in ip("-o", "link").splitlines()}


@pytest.fixture
def prefix():
    value = "t" + "".join(random.choices(string.ascii_lowercase, k=4))
    yield value
    # Whatever a failed test left behind.
    for name in namespaces():
        if name.startswith(value):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    for name in links():
        if name.startswith(value):
            subprocess.run(["ip", "link", "delete", name], capture_output=True)


def config(prefix: str) -> dict:
    return {
        "infrastructure_driver": {"driver": "netns"},
        "drivers": {"netns": {"prefix": prefix}},
        "monitoring": {"min_interval": "100ms", "max_interval": "500ms"},
    }


def location() -> dict:
    return {"name": "local", "type": "netns", "properties": {}}


def create_body(name: str, template: str = TEMPLATE, properties: dict | None = None) -> dict:
    return {
        "template": template,
        "templateType": "TOSCA",
        "systemProperties": {"resourceId": prop(str(uuid.uuid4())), "resourceName": prop(name)},
        "properties": {k: prop(v) for k, v in (properties or {}).items()},
        "deploymentLocation": location(),
    }


def post(server: FlintServer, operation: str, body: dict):
    return server.post_json(f"/api/infrastructure/{operation}", body)


def task_event(server: FlintServer, request_id: str, timeout: float = 60.0) -> dict:
    def found():
        events = [e for e in server.all_events() if e["key"] == request_id]
        return events[0] if events else None

    return wait_until(found, timeout, interval=0.2, what=f"the event of task {request_id}")


def test_create_query_find_delete_against_the_kernel(start_server, prefix):
    server = start_server(config(prefix))
    r = post(server, "create", create_body("pair"))
    assert r.status_code == 202, r.text
    infrastructure_id, request_id = r.json()["infrastructureId"], r.json()["requestId"]

    event = task_event(server, request_id)["payload"]
    assert event["status"] == "COMPLETE", event
    # The driver's log line carries the ids as named values (SDK log fields).
    accepted = server.wait_for_log(
        lambda line: line.get("message", "").startswith("netns: accepted create of 'pair'"))
    assert accepted, "the driver logs its accept"
    assert (accepted[0].get("field.infrastructureId"), accepted[0].get("field.requestId")) == (
        infrastructure_id, request_id), accepted[0]
    outputs = event["outputs"]
    assert (outputs["address_a"], outputs["address_b"]) == ("10.10.0.11", "10.10.0.12")
    ns_a, ns_b, bridge = outputs["namespace_a"], outputs["namespace_b"], outputs["bridge"]
    assert {ns_a, ns_b} <= namespaces()
    assert bridge in links()
    assert "10.10.0.11/24" in ip("-n", ns_a, "-o", "addr")
    # The two hosts really share the network.
    ping = subprocess.run(["ip", "netns", "exec", ns_a, "ping", "-c1", "-W2", "10.10.0.12"],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr

    r = post(server, "query", {"infrastructureId": infrastructure_id, "requestId": request_id,
                               "deploymentLocation": location()})
    assert r.status_code == 200 and r.json() == event, r.text
    r = post(server, "find", {"template": TEMPLATE, "templateType": "TOSCA",
                              "instanceName": "pair", "deploymentLocation": location()})
    assert r.json()["result"]["infrastructureId"] == infrastructure_id, r.text

    # The same instance name again: accepted, then RESOURCE_ALREADY_EXISTS.
    r = post(server, "create", create_body("pair"))
    assert r.status_code == 202, r.text
    failed = task_event(server, r.json()["requestId"])["payload"]
    assert failed["failureDetails"]["failureCode"] == "RESOURCE_ALREADY_EXISTS", failed

    r = post(server, "delete", {"infrastructureId": infrastructure_id,
                                "deploymentLocation": location()})
    assert r.status_code == 202, r.text
    assert task_event(server, r.json()["requestId"])["payload"]["status"] == "COMPLETE"
    assert not ({ns_a, ns_b} & namespaces())
    assert bridge not in links()
    assert not [name for name in links() if name.startswith(prefix)]
    r = post(server, "find", {"template": TEMPLATE, "templateType": "TOSCA",
                              "instanceName": "pair", "deploymentLocation": location()})
    assert r.json() == {"result": None}


@pytest.mark.parametrize(
    "template, fragment",
    [
        ("not: [valid", "template"),
        (TEMPLATE.replace("tosca.nodes.Compute", "tosca.nodes.Database", 1),
         "unsupported type 'tosca.nodes.Database'"),
        (TEMPLATE.replace("default: 10.10.0.11", "default: 10.20.0.11"), "outside network"),
    ],
)
def test_invalid_templates_are_400_naming_the_problem(start_server, prefix, template, fragment):
    server = start_server(config(prefix))
    assert_error(post(server, "create", create_body("bad", template)), 400, fragment)
    assert not [name for name in namespaces() if name.startswith(prefix)]


def test_a_restart_in_the_middle_of_a_create_ends_the_task_and_leaves_nothing_half_built(
        start_server, prefix):
    server = start_server(config(prefix))
    r = post(server, "create", create_body("crash"))
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.start()
    event = task_event(server, request_id)["payload"]
    assert event["status"] in ("COMPLETE", "FAILED"), event
    mine = [name for name in namespaces() if name.startswith(prefix)]
    if event["status"] == "COMPLETE":
        assert len(mine) == 2, mine
    else:
        assert mine == [], f"a failed create left {mine}"

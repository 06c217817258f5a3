"""Cluster mode: several `flint serve` nodes sharing the monitoring through Kafka.

The brokers are librdkafka's mock cluster (`flint_mock_kafka`); the consumer checking the topics
is confluent-kafka, independent of flint. The nodes drive the noop driver with a shared state
directory: one simulated target system that every node's driver instance sees, as a real target
would be.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from flint_blackbox import (
    FlintServer,
    MockKafka,
    assert_error,
    b64,
    deep_merge,
    deployment_location,
    execute_body,
    fill_disk,
    make_zip,
    script_package,
    wait_until,
)

STATE_TOPIC = "flint_execution_state"
EVENTS_TOPIC = "lm_vnfc_lifecycle_execution_events"
PARTITIONS = 6
SECRET = "pa55-" + secrets.token_hex(8)


@pytest.fixture
def kafka():
    # One cluster per test: consumer groups and offsets start fresh.
    cluster = MockKafka([f"{STATE_TOPIC}:{PARTITIONS}", f"{EVENTS_TOPIC}:3"])
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_key(tmp_path) -> Path:
    path = tmp_path / "cluster.key"
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


class Cluster:
    """Nodes of one cluster, each a FlintServer with its own data directory."""

    def __init__(self, tmp_path: Path, kafka: MockKafka, key: Path):
        self.tmp_path = tmp_path
        self.kafka = kafka
        self.key = key
        self.target = tmp_path / "target"  # the noop driver's shared "remote system"
        self.nodes: list[FlintServer] = []
        self.config_overrides: dict = {}

    def config(self, name: str, **cluster) -> dict:
        return deep_merge({
            "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
            "messaging": {"connection_address": self.kafka.bootstrap},
            "cluster": {"enabled": True, "node_id": name, "key_file": str(self.key),
                        "session_timeout": "3s", "commit_interval": "200ms", **cluster},
            "drivers": {"noop": {"state_dir": str(self.target)}},
        }, self.config_overrides)

    def start(self, count: int) -> list[FlintServer]:
        for _ in range(count):
            name = f"node-{len(self.nodes)}"
            self.nodes.append(FlintServer(self.tmp_path / name, self.config(name)).start())
        wait_until(lambda: self.owned() == {n.port: True for n in self.live()}, timeout=30,
                   what="every partition owned, each node owning some")
        return self.nodes[-count:]

    def live(self) -> list[FlintServer]:
        return [n for n in self.nodes if n.process.poll() is None]

    def vital(self, node: FlintServer) -> dict:
        return node.health()["vitals"]["cluster"]

    def owned(self) -> dict[int, bool]:
        vitals = {n.port: self.vital(n)["partitions_owned"] for n in self.live()}
        if sum(vitals.values()) != PARTITIONS:
            return {}
        return {port: owned > 0 for port, owned in vitals.items()}

    def stop(self) -> list[str]:
        failures = []
        for node in self.nodes:
            was_killed = node.process is not None and node.process.returncode == -signal.SIGKILL
            code = node.stop()
            if code != 0 and not was_killed:
                failures.append(f"{node.workdir.name}: exit {code}\n{node.stderr()[-3000:]}")
        return failures


@pytest.fixture
def cluster(tmp_path, kafka, cluster_key):
    instance = Cluster(tmp_path, kafka, cluster_key)
    yield instance
    failures = instance.stop()
    assert not failures, "\n".join(failures)


def accept(node: FlintServer, polls: int = 0, latency_ms: int = 0) -> str:
    body = execute_body(request_properties={"noop.pollsInProgress": polls,
                                            "noop.latencyMs": latency_ms},
                        location=deployment_location({"password": SECRET}))
    r = node.execute(body)
    assert r.status_code == 202, r.text
    return r.json()["requestId"]


def terminal_everywhere(nodes: list[FlintServer], request_ids: list[str]) -> bool:
    for node in nodes:
        for request_id in request_ids:
            r = node.execution(request_id)
            if r.status_code != 200 or r.json()["status"] == "IN_PROGRESS":
                return False
    return True


def test_every_delivery_is_stamped_whichever_node_ends_the_execution(cluster):
    # The node that ends an execution stamps deliveredAt on its own copy of the record once the
    # event went out. Its copy came from its view of the state topic, which could bring it after
    # the ending: the stamp found no row, and about one execution in a hundred ended by a node
    # that had not accepted it was never marked delivered anywhere.
    nodes = cluster.start(2)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: accept(nodes[i % 2]), range(400)))

    def undelivered(candidates: list[str]) -> list[str]:
        return [i for i in candidates
                if not any(n.execution(i).json().get("deliveredAt") for n in nodes)]
    left, deadline = ids, time.monotonic() + 60
    while (left := undelivered(left)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"{len(left)} executions marked delivered on no node: {left[:5]}"


def read_topic(kafka: MockKafka, topic: str, until, timeout: float = 30.0) -> list[dict]:
    """Every record of `topic` from the start, read until `until(records)` holds (or timeout)."""
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": f"bb-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(records) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            records.append({
                "key": message.key().decode(errors="backslashreplace") if message.key() else None,
                "value": message.value(),
                "partition": message.partition(),
                "headers": {k: v.decode() for k, v in (message.headers() or [])},
            })
    finally:
        consumer.close()
    return records


def events_by_request(kafka: MockKafka, request_ids: list[str]) -> dict[str, list[dict]]:
    wanted = set(request_ids)

    def by_request(records):
        found: dict[str, list[dict]] = {}
        for record in records:
            payload = json.loads(record["value"])
            if payload["requestId"] in wanted:
                found.setdefault(payload["requestId"], []).append(
                    {"payload": payload, "event_id": record["headers"]["eventId"]})
        return found

    records = read_topic(kafka, EVENTS_TOPIC, lambda r: set(by_request(r)) == wanted)
    return by_request(records)


def test_any_node_serves_executions_any_node_accepted(cluster):
    first, second = cluster.start(2)
    ids = [accept(node, polls=2) for node in (first, second) for _ in range(10)]
    wait_until(lambda: terminal_everywhere([first, second], ids), timeout=30,
               what="every execution COMPLETE on both nodes")
    for request_id in ids:
        a, b = first.execution(request_id).json(), second.execution(request_id).json()
        assert a["status"] == b["status"] == "COMPLETE"
        assert a["lifecycleName"] == b["lifecycleName"] == "Create"
        assert [t["status"] for t in a["transitions"]] == ["IN_PROGRESS", "COMPLETE"]
    events = events_by_request(cluster.kafka, ids)
    for request_id in ids:
        assert len(events[request_id]) == 1, events[request_id]
        assert events[request_id][0]["payload"]["status"] == "COMPLETE"
    # The work was shared, each execution taken by one node once (as `accepted`, or as `moved`
    # when its partition was still being caught up on after the second node joined).
    adopted = [n.metrics().value("flint_cluster_executions_adopted_total") for n in (first, second)]
    assert sum(adopted) == len(ids) and all(a > 0 for a in adopted), adopted
    # Not a single event in the embedded logs is the cluster's internal state.
    assert all(e["topic"] == "lifecycle_execution_events" for e in first.all_events())
    # Nodes of one key show one key id (a node with another key would show its own), and
    # nothing of the key itself.
    key_ids = {cluster.vital(node)["cluster_key_id"] for node in (first, second)}
    assert len(key_ids) == 1 and len(key_ids.pop()) == 16, key_ids
    key = cluster.key.read_text().strip()
    assert key not in first.get("/management/health").text
    # Nothing is in flight any more: no node lists anything.
    for node in (first, second):
        assert listing(node, 100) == []


def listing(node: FlintServer, limit: int) -> list[dict]:
    """Every record of `GET /api/driver/lifecycle/executions`, page after page."""
    records, after = [], None
    while True:
        r = node.get("/api/driver/lifecycle/executions",
                     params={"limit": limit, **({"after": after} if after else {})})
        assert r.status_code == 200, r.text
        records += r.json()["executions"]
        if (after := r.json()["next"]) is None:
            return records


def test_each_node_lists_the_executions_it_monitors(cluster):
    nodes = cluster.start(2)
    running = {accept(nodes[i % 2], polls=1_000_000) for i in range(12)}

    # A node lists what it holds once its copy of the records has it (milliseconds later).
    wait_until(lambda: sum(len(listing(node, 500)) for node in nodes) == len(running),
               timeout=30, what="every execution listed")
    # Each node's share of the cluster's, oldest first, each record as that node shows it.
    listed = [listing(node, 5) for node in nodes]
    assert [len(records) for records in listed] == [
        cluster.vital(node)["executions_held"] for node in nodes]
    ids = [{record["requestId"] for record in records} for records in listed]
    assert ids[0] | ids[1] == running and not ids[0] & ids[1], ids
    for node, records in zip(nodes, listed):
        order = [(record["acceptedAt"], record["requestId"]) for record in records]
        assert order == sorted(order)
        assert all(r["monitoring"] == "active" and r["status"] == "IN_PROGRESS" for r in records)
        assert records == listing(node, 500)
        assert_error(node.get("/api/driver/lifecycle/executions?limit=0"), 400,
                     "limit: expected an integer from 1 to 500")


def test_state_records_are_sealed_and_bound_to_their_request(cluster):
    [node] = cluster.start(1)
    request_id = accept(node)
    node.wait_terminal(request_id)
    records = read_topic(cluster.kafka, STATE_TOPIC,
                         lambda r: len([x for x in r if x["key"] == request_id]) == 2)
    mine = [r for r in records if r["key"] == request_id]
    assert len(mine) == 2, records  # accepted, then ended; same key, same partition
    assert mine[0]["partition"] == mine[1]["partition"]
    for record in mine:
        sealed = base64.b64decode(record["value"], validate=True)
        assert SECRET.encode() not in sealed and b"dl-1" not in sealed
        assert SECRET.encode() not in record["value"]


def test_a_node_killed_mid_run_loses_no_execution(cluster):
    nodes = cluster.start(3)
    victim = nodes[2]
    ids = [accept(nodes[i % 3], polls=15) for i in range(30)]
    wait_until(lambda: cluster.vital(victim)["executions_held"] > 0, timeout=10,
               what="the victim monitoring executions")
    held = cluster.vital(victim)["executions_held"]
    victim.kill()  # SIGKILL: no goodbye to the group, no outbox flush
    survivors = nodes[:2]
    wait_until(lambda: terminal_everywhere(survivors, ids), timeout=60,
               what="every execution terminal on the surviving nodes")
    moved = sum(n.metrics().value("flint_cluster_executions_adopted_total", reason="moved")
                for n in survivors)
    assert moved >= held, (moved, held)
    events = events_by_request(cluster.kafka, ids)
    assert set(events) == set(ids)
    for request_id in ids:
        # At least once; duplicates (a poll repeated across the move) carry one event id.
        assert {e["event_id"] for e in events[request_id]} == {events[request_id][0]["event_id"]}
        assert {e["payload"]["status"] for e in events[request_id]} == {"COMPLETE"}
    for node in survivors:
        statuses = {node.execution(i).json()["status"] for i in ids}
        assert statuses == {"COMPLETE"}


def test_a_node_that_stops_hands_its_executions_over_at_once(cluster):
    nodes = cluster.start(2)
    leaving, staying = nodes
    ids = [accept(leaving, polls=20) for _ in range(10)]
    wait_until(lambda: cluster.vital(leaving)["executions_held"] > 0, timeout=10,
               what="the leaving node monitoring executions")
    assert leaving.stop() == 0
    # Its partitions move when it leaves the group, well before a session timeout would.
    wait_until(lambda: cluster.vital(staying)["partitions_owned"] == PARTITIONS, timeout=2.5,
               what="the staying node owning every partition")
    wait_until(lambda: terminal_everywhere([staying], ids), timeout=30,
               what="every execution COMPLETE")
    assert any("executions released" in line.get("message", "") for line in leaving.log_lines())


def test_a_rebalance_in_the_middle_of_polls_leaves_no_execution_unmonitored(cluster):
    # Each poll takes 4 s: a node joining revokes every partition while polls run, and most
    # come back to the node that had them before those polls end. A job taken back before its
    # cancelled run ended was dropped with that run: IN_PROGRESS for good, no event.
    first, second = cluster.start(2)
    with ThreadPoolExecutor(10) as pool:  # the latency holds the execute too
        ids = list(pool.map(lambda i: accept((first, second)[i % 2], polls=3, latency_ms=4000),
                            range(20)))
    time.sleep(1.0)
    cluster.start(1)
    wait_until(lambda: terminal_everywhere(cluster.live(), ids), timeout=60,
               what="every execution ended on every node")
    events = events_by_request(cluster.kafka, ids)
    assert sorted(events) == sorted(ids)


def test_a_broker_outage_loses_no_execution_and_acknowledges_nothing_it_cannot_keep(cluster):
    cluster.config_overrides = {"messaging": {"delivery_timeout": "2s"}}
    nodes = cluster.start(2)
    ids = [accept(nodes[i % 2], polls=10) for i in range(10)]
    cluster.kafka.command("down all")
    try:
        # Kafka cannot take the acceptance: the client hears 503, not a 202 Flint could not keep.
        r = nodes[0].execute(execute_body())
        assert r.status_code == 503, r.text
        assert "cannot be recorded in the cluster" in r.json()["localizedMessage"]
        time.sleep(3)  # past the session timeout: the group falls apart meanwhile
    finally:
        cluster.kafka.command("up all")
    wait_until(lambda: terminal_everywhere(nodes, ids), timeout=60,
               what="every execution COMPLETE on both nodes after the outage")
    events = events_by_request(cluster.kafka, ids)
    for request_id in ids:
        assert {e["event_id"] for e in events[request_id]} == {events[request_id][0]["event_id"]}
        assert {e["payload"]["status"] for e in events[request_id]} == {"COMPLETE"}
    accept(nodes[1])  # and acceptance works again


def test_an_ending_the_disk_cannot_take_is_retried_until_it_can(cluster, tmp_path):
    # A full disk failed the commit of an ending; the node then forgot it held the execution,
    # and its retry ended the job unrecorded: IN_PROGRESS for good, with no event.
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill up needs root")
    disk = tmp_path / "small-disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        cluster.config_overrides = {"store": {"data_dir": str(disk / "data")}}
        [node] = cluster.start(1)
        ids = [accept(node, polls=40) for _ in range(3)]  # 40 polls of 50-200 ms: seconds
        filler = fill_disk(disk)
        def endings_refused() -> int:
            return sum("of kind lifecycle_execution failed" in line.get("message", "")
                       and "disk is full" in line.get("message", "") for line in node.log_lines())
        wait_until(lambda: endings_refused() >= len(ids), timeout=60,
                   what="each ending refused by the full disk")
        filler.unlink()
        wait_until(lambda: terminal_everywhere([node], ids), timeout=60,
                   what="every execution ended once the disk had room")
        events = events_by_request(cluster.kafka, ids)
        assert all(len(events[i]) == 1 for i in ids), events
    finally:
        cluster.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_node_leaving_the_cluster_with_its_executions_in_progress_refuses_to_start(cluster):
    first, second = cluster.start(2)
    ids = [accept(first, polls=100_000) for _ in range(4)]
    wait_until(lambda: all(second.execution(i).status_code == 200 for i in ids), timeout=30,
               what="the second node's copy of the executions")
    assert second.stop() == 0
    # Nothing would monitor or end them there: their records would say IN_PROGRESS for good.
    clustered = second.overrides
    second.overrides = deep_merge(clustered, {"cluster": {"enabled": False}})
    with pytest.raises(RuntimeError) as failure:
        second.start()
    assert (
        f"cluster.enabled: {second.data_dir / 'flint.db'} holds 4 executions still in progress "
        "in this node's copy of a cluster's records" in str(failure.value)
    ), str(failure.value)[-2000:]
    # Back in the cluster, it serves them again.
    second.overrides = clustered
    second.start()
    assert all(second.execution(i).json()["status"] == "IN_PROGRESS" for i in ids)


def test_a_node_with_another_key_refuses_executes_it_could_not_share(cluster, tmp_path):
    first, second = cluster.start(2)
    ids = [accept(first), accept(second)]  # records of the cluster's key on the topic
    other_key = tmp_path / "other.key"
    other_key.write_text(secrets.token_hex(32) + "\n")
    other_key.chmod(0o600)
    odd = FlintServer(tmp_path / "odd", cluster.config("odd", key_file=str(other_key))).start()
    cluster.nodes.append(odd)
    # What it accepted no other node could open: never monitored, never ended. Refused from
    # its first request on: an execute waits until its view has read what the topic held.
    r = odd.execute(execute_body(location=deployment_location({"password": SECRET})))
    assert_error(r, 503, "this node's cluster key (cluster_key_id "
                         f"{cluster.vital(odd)['cluster_key_id']}) opens none of the")
    # Its owner or its view names a record it could not open, once the owner's client has had
    # its first answer from Kafka (until then the vital says it has not: a probe, every 2 s).
    wait_until(lambda: re.search("skipped|cannot be read", cluster.vital(odd).get("last_error", "")),
               timeout=10, what="the odd node's vital naming a record it could not open")
    assert cluster.vital(odd)["cluster_key_id"] != cluster.vital(first)["cluster_key_id"]
    # The nodes sharing a key go on.
    assert odd.stop() == 0
    ids.append(accept(first))
    wait_until(lambda: terminal_everywhere([first, second], ids), timeout=30,
               what="every execution ended on both nodes")


def test_a_cluster_node_needs_its_key_and_kafka(tmp_path, kafka, cluster_key):
    cases = [
        ({"cluster": {"enabled": True, "key_file": ""}}, "no cluster key is given"),
        ({"cluster": {"enabled": True, "key_file": str(tmp_path / "missing.key")}},
         "missing.key does not exist"),
        ({"cluster": {"enabled": True, "key_file": str(cluster_key)},
          "messaging": {"connection_address": ""}},
         "cluster.enabled is true but messaging.connection_address is empty"),
    ]
    for index, (overrides, message) in enumerate(cases):
        base = {"messaging": {"connection_address": kafka.bootstrap}}
        node = FlintServer(tmp_path / f"bad-{index}", {**base, **overrides})
        with pytest.raises(RuntimeError) as failure:
            node.start()
        assert message in str(failure.value), str(failure.value)[-2000:]


# -- the request queue ----------------------------------------------------------------------

QUEUE_TOPIC = "flint_lifecycle_request_queue"
FAILED_TOPIC = "flint_lifecycle_request_queue_failed"


@pytest.fixture
def queue_kafka():
    cluster = MockKafka([f"{QUEUE_TOPIC}:4", f"{FAILED_TOPIC}:1", f"{EVENTS_TOPIC}:3",
                         f"{STATE_TOPIC}:{PARTITIONS}"])
    yield cluster
    cluster.stop()


def wait_queued_end(server: FlintServer, request_id: str) -> dict:
    """The record of a queued request once it ended (it exists from when a worker ran it)."""
    wait_until(lambda: server.execution(request_id).status_code == 200, timeout=30,
               what=f"queued request {request_id} to be run")
    return server.wait_terminal(request_id)


def queue_config(kafka: MockKafka, key: Path, **queue) -> dict:
    return {
        "monitoring": {"min_interval": "50ms", "max_interval": "200ms"},
        "messaging": {"connection_address": kafka.bootstrap},
        "cluster": {"key_file": str(key), "commit_interval": "200ms"},
        "resource_driver": {"lifecycle_request_queue": {"enabled": True, **queue}},
    }


def seal(key: Path, request_id: str, record: dict) -> bytes:
    """A request-queue record as flint seals it: version 1, nonce, AES-256-GCM, in base64."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(bytes.fromhex(key.read_text().strip())).encrypt(
        nonce, json.dumps(record).encode(), request_id.encode())
    return base64.b64encode(b"\x01" + nonce + sealed)


def produce(kafka: MockKafka, topic: str, key: str | bytes | None, value: bytes) -> None:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": kafka.bootstrap})
    producer.produce(topic, key=key.encode() if isinstance(key, str) else key, value=value)
    assert producer.flush(10) == 0


def test_queued_requests_are_acknowledged_then_run_under_their_id(queue_kafka, cluster_key,
                                                                   start_server):
    # (queue_kafka first: fixtures stop in reverse, so the brokers outlive the node.)
    server = start_server(queue_config(queue_kafka, cluster_key))
    ids = [accept(server, polls=1) for _ in range(5)]
    failing = server.execute(execute_body(request_properties={"noop.raise": "driver"}))
    assert failing.status_code == 202, failing.text  # the driver runs later
    failing_id = failing.json()["requestId"]
    for request_id in ids:
        record = wait_queued_end(server, request_id)
        assert record["status"] == "COMPLETE", record
    failed = wait_queued_end(server, failing_id)
    assert failed["status"] == "FAILED"
    assert failed["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    assert "noop.raise" in failed["failureDetails"]["description"]
    events = events_by_request(queue_kafka, ids + [failing_id])
    assert {e["payload"]["status"] for i in ids for e in events[i]} == {"COMPLETE"}
    assert events[failing_id][0]["payload"]["status"] == "FAILED"
    # On the queue, under the promised id, with the location's secret sealed.
    records = read_topic(queue_kafka, QUEUE_TOPIC, lambda r: len(r) >= 6)
    assert {r["key"] for r in records} == set(ids + [failing_id])
    assert all(SECRET.encode() not in base64.b64decode(r["value"]) for r in records)
    # A body that does not decode is refused at once, and never queued.
    r = server.execute({**execute_body(), "lifecycleName": ""})
    assert r.status_code == 400, r.text
    assert server.metrics().value("flint_request_queue_records_total", outcome="accepted") == 5


def test_a_queued_request_to_a_driver_that_reports_its_end_ends_when_reported(
        queue_kafka, cluster_key, start_server):
    # The script driver reports each end itself, under its own id of the run; a queued request
    # is monitored under the id promised at acceptance. The report went unmatched, and nothing
    # polls such a driver: the request stayed IN_PROGRESS until monitoring.total_timeout (6 h).
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"resource_driver": {"driver": "script"}}))
    scripts = {"Create": 'echo \'{"outputs": {"ran": "Create"}}\' > "$FLINT_RESULT_FILE"',
               "Install": 'sleep 1\necho \'{"outputs": {"ran": "Install"}}\' > "$FLINT_RESULT_FILE"'}
    body = {**execute_body(), "driverFiles": script_package(scripts)}
    ids = {}
    for lifecycle in ("Create", "Install"):  # ends before, and after, its job is scheduled
        r = server.execute({**body, "lifecycleName": lifecycle})
        assert r.status_code == 202, r.text
        ids[lifecycle] = r.json()["requestId"]
    for lifecycle, request_id in ids.items():
        record = wait_queued_end(server, request_id)
        assert record["status"] == "COMPLETE", record
        assert record["outputs"] == {"ran": lifecycle}
    events = events_by_request(queue_kafka, list(ids.values()))
    assert [e["payload"]["status"] for i in ids.values() for e in events[i]] == ["COMPLETE"] * 2


def test_a_queued_request_whose_record_fails_is_not_run_again(queue_kafka, cluster_key,
                                                              start_server, tmp_path):
    # The driver accepted it, then Kafka could not take its record. Retrying the whole request
    # ran it on the driver again at each try, leaving runs that nothing monitors.
    target = tmp_path / "target"  # the noop driver keeps each run it accepted until delivered
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key), {
        "messaging": {"delivery_timeout": "1s"},
        "cluster": {"enabled": True, "session_timeout": "30s"},
        "drivers": {"noop": {"state_dir": str(target)}}}))
    wait_until(lambda: server.health()["vitals"]["request_queue"]["partitions_owned"] == 4,
               timeout=30, what="the queue's partitions owned")
    request_id = accept(server, latency_ms=1500)
    time.sleep(0.5)  # the worker is inside the driver's execute
    queue_kafka.command("down all")
    time.sleep(4)
    queue_kafka.command("up all")
    record = wait_queued_end(server, request_id)
    assert record["status"] == "COMPLETE", record
    wait_until(lambda: not list(target.glob("*.json")), timeout=10,
               what="every run the driver accepted delivered (none left unmonitored)")
    # The driver's own id of its run is named, for an operator who must find that run.
    assert any(re.search(r"the driver accepted it as its request [0-9A-Za-z_-]+: retrying only "
                         r"its record", line.get("message", ""))
               for line in server.log_lines())


def join_while_queued_requests_run(queue_kafka: MockKafka, cluster_key: Path, start_server,
                                   target: Path, session_timeout: str
                                   ) -> tuple[FlintServer, FlintServer, list[str]]:
    """Four queued requests 6 s inside the driver of one node when a second joins; returns both
    nodes and the request ids once every request ended. The noop driver keeps each run it
    accepted in `target` until it is delivered."""
    config = deep_merge(queue_config(queue_kafka, cluster_key), {
        "cluster": {"enabled": True, "session_timeout": session_timeout},
        "drivers": {"noop": {"state_dir": str(target)}}})
    first = start_server(deep_merge(config, {"cluster": {"node_id": "first"}}))
    wait_until(lambda: first.health()["vitals"]["request_queue"]["partitions_owned"] == 4,
               timeout=30, what="the queue's partitions owned")
    ids = [accept(first, latency_ms=6000) for _ in range(4)]
    wait_until(lambda: first.health()["vitals"]["request_queue"]["running"] == len(ids),
               timeout=10, what="every request inside the driver")
    second = start_server(deep_merge(config, {"cluster": {"node_id": "second"}}))
    # Either node may end each one (its event and deliveredAt are that node's).
    wait_until(lambda: terminal_everywhere([first, second], ids), timeout=90,
               what="every request ended")
    assert {first.execution(i).json()["status"] for i in ids} == {"COMPLETE"}
    return first, second, ids


def test_a_node_joining_while_queued_requests_run_does_not_run_them_again(queue_kafka, cluster_key,
                                                                         start_server, tmp_path):
    # A join revokes every partition. The requests running from them were read again by their
    # next owner, which found them unrecorded (still in the driver) and ran them a second time.
    # The wait is bounded by the session timeout (a member waiting longer may be dropped).
    # Kafka's mock cluster also ends a rebalance at about the session timeout, so with the
    # waiting removed this test may still pass: it guards the waiting path (no run lost, none
    # twice); the audit's own script, with a real overlap, showed the runs twice.
    target = tmp_path / "target"
    first, second, ids = join_while_queued_requests_run(queue_kafka, cluster_key, start_server,
                                                        target, session_timeout="20s")
    wait_until(lambda: not list(target.glob("*.json")), timeout=20,
               what="every run the driver accepted delivered (none left unmonitored)")

    def accepted(node: FlintServer) -> float:
        return node.metrics().value("flint_request_queue_records_total", outcome="accepted") or 0
    assert accepted(first) + accepted(second) == len(ids)


def test_a_run_that_outlasts_the_rebalance_wait_gives_its_record_up_and_names_itself(
        queue_kafka, cluster_key, start_server, tmp_path):
    # Driver calls longer than the session timeout: the rebalance cannot wait for them, and the
    # next owner runs them again (documented). The run that ends on a node that lost the
    # partition used to be recorded first, leaving the next owner's run unmonitored and unnamed.
    # Now the run whose partition moved gives its record up, naming the driver's id of it, so
    # that every run left unmonitored on the target is one an operator can find in the log.
    target = tmp_path / "target"
    first, second, _ = join_while_queued_requests_run(queue_kafka, cluster_key, start_server,
                                                      target, session_timeout="3s")
    given_up = re.compile(r"giving up its record .* as its request (\S+) is not monitored")

    def named() -> set[str]:
        return {m.group(1) for node in (first, second) for line in node.log_lines()
                if (m := given_up.search(line["message"]))}

    def unmonitored() -> set[str]:  # runs the driver accepted and the host never delivered
        return {path.stem for path in target.glob("*.json")}
    wait_until(lambda: unmonitored() == named(), timeout=30,
               what="every run left unmonitored named in the log")


def refused_in_the_driver(queue_kafka: MockKafka, cluster_key: Path, start_server,
                          retries: int) -> tuple[FlintServer, str]:
    """A queue node whose driver is refusing a queued request now (1.5 s into its execute)."""
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key, retries=retries), {
        "messaging": {"delivery_timeout": "1s"},
        "cluster": {"enabled": True, "session_timeout": "60s"}}))
    wait_until(lambda: server.health()["vitals"]["request_queue"]["partitions_owned"] == 4,
               timeout=30, what="the queue's partitions owned")
    r = server.execute(execute_body(request_properties={"noop.raise": "driver",
                                                        "noop.latencyMs": 1500}))
    assert r.status_code == 202, r.text
    time.sleep(0.3)  # the worker is inside the driver's execute
    return server, r.json()["requestId"]


def test_a_refusal_recorded_late_still_lets_the_queue_move_on(queue_kafka, cluster_key,
                                                               start_server):
    # Kafka away while the driver refuses a queued request: recording its FAILED report outlived
    # a deadline of the worker's, went on to succeed unseen, and the worker, taking it as
    # unrecorded, never counted it nor committed the queue past it.
    server, request_id = refused_in_the_driver(queue_kafka, cluster_key, start_server, retries=1)
    queue_kafka.command("down all")
    time.sleep(8)
    queue_kafka.command("up all")

    def status() -> str | None:
        reply = server.execution(request_id)
        return reply.json()["status"] if reply.status_code == 200 else None
    wait_until(lambda: status() == "FAILED", timeout=60, what="the refusal recorded")

    def failed_count() -> float:
        return sum(v for _, v in server.metrics().find("flint_request_queue_records_total",
                                                       outcome="failed"))
    wait_until(lambda: failed_count() == 1, timeout=30, what="the refusal counted as recorded")
    time.sleep(1)
    assert failed_count() == 1  # once, however many tries its record took


def test_a_refusal_during_a_long_outage_frees_its_driver_thread(queue_kafka, cluster_key,
                                                               start_server):
    # Recording the refusal caught up on the state topic first, and librdkafka (before 2.3)
    # ignores the timeout of that query while no broker answers: a driver thread and a queue
    # slot were held for the whole outage, and a stop waited its whole grace.
    server, request_id = refused_in_the_driver(queue_kafka, cluster_key, start_server, retries=0)
    queue_kafka.command("down all")
    try:
        wait_until(lambda: any("cannot record its failure" in line.get("message", "")
                               for line in server.log_lines()),
                   timeout=20, what="the failure's record refused at once")
        wait_until(lambda: server.health()["vitals"]["driver_calls"]["running"] == 0,
                   timeout=10, what="no driver thread held by the outage")
    finally:
        queue_kafka.command("up all")
    wait_until(lambda: server.execution(request_id).status_code == 200
               and server.execution(request_id).json()["status"] == "FAILED",
               timeout=90, what="the refusal recorded once Kafka is back")


def test_a_node_stops_within_its_grace_while_kafka_is_away(queue_kafka, cluster_key,
                                                          start_server):
    # Both consumers' closes waited for commits no coordinator could take: 33 to 48 s.
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key), {
        "cluster": {"enabled": True, "session_timeout": "30s"}}))
    wait_until(lambda: server.health()["vitals"]["request_queue"]["partitions_owned"] == 4,
               timeout=30, what="the queue's partitions owned")
    request_id = accept(server)
    wait_queued_end(server, request_id)  # offsets to commit on both consumers
    queue_kafka.command("down all")
    # Seen by both consumers (each librdkafka client reports it on its own), or a close
    # still waits for its commits.
    wait_until(lambda: all(server.health()["vitals"][name]["status"] != "OK"
                           for name in ("request_queue", "cluster")), timeout=30,
               what="the outage seen")
    started = time.monotonic()
    assert server.stop() == 0
    took = time.monotonic() - started
    grace = 10  # http.shutdown_timeout's default, which docs/operations.md promises
    assert took < grace, f"stopped after {took:.1f} s"
    assert any("without closing" in line.get("message", "") for line in server.log_lines())


def test_a_stop_waits_for_the_queued_requests_running_then_leaves_at_once(queue_kafka, cluster_key,
                                                                          start_server):
    # Their runs were cut with the I/O loop: the queue then waited 5 s for them before leaving
    # the group, and no log line or metric told of their end.
    server = start_server(queue_config(queue_kafka, cluster_key, max_concurrency=2))
    wait_until(lambda: server.health()["vitals"]["request_queue"]["partitions_owned"] == 4,
               timeout=30, what="the queue's partitions owned")
    ids = [accept(server, latency_ms=600) for _ in range(4)]
    wait_until(lambda: server.health()["vitals"]["request_queue"]["running"] > 0, timeout=30,
               what="a queued request running")
    started = time.monotonic()
    assert server.stop() == 0
    took = time.monotonic() - started
    assert took < 4, f"stopped after {took:.1f} s"
    accepted = [line for line in server.log_lines()
                if line.get("message", "").startswith("accepted lifecycle ")]
    assert 0 < len(accepted) <= len(ids), accepted


def test_unreadable_queue_records_go_to_dead_letters(queue_kafka, cluster_key, start_server):
    server = start_server(queue_config(queue_kafka, cluster_key))
    bad_id, unkeyed_id, missing_id = (str(uuid.uuid4()) for _ in range(3))
    produce(queue_kafka, QUEUE_TOPIC, bad_id, b"not base64 at all!")
    produce(queue_kafka, QUEUE_TOPIC, None, b"no key")
    produce(queue_kafka, QUEUE_TOPIC, missing_id,
            seal(cluster_key, missing_id, {"format": 1, "requestId": missing_id, "tenantId": "",
                                           "logFields": [], "request": {"lifecycleName": "Create"}}))
    # Keys no orchestrator can hold (Flint assigns them): dead letters, no execution, no event.
    produce(queue_kafka, QUEUE_TOPIC, b"\xff\xfe\x00bin", b"garbage")
    produce(queue_kafka, QUEUE_TOPIC, "x" * 257, b"garbage")
    letters = read_topic(queue_kafka, FAILED_TOPIC, lambda r: len(r) >= 5)
    reasons = {r["key"]: r["headers"]["reason"] for r in letters}
    assert reasons[bad_id] == "the value is not base64", reasons
    assert reasons[None] == "the record has no key"
    assert reasons[missing_id].startswith("request."), reasons  # names the missing field
    assert reasons["\\xff\\xfe\x00bin"] == (
        "the record key is not a usable request id: it has a character other than printable "
        "ASCII without space, /, ?, #, %, \" or \\"), reasons
    assert reasons["x" * 257] == (
        "the record key is not a usable request id: it is longer than 256 bytes"), reasons
    # The orchestrator holding a keyed id hears it failed.
    for request_id in (bad_id, missing_id):
        record = wait_queued_end(server, request_id)
        assert record["status"] == "FAILED"
        assert "could not be read" in record["failureDetails"]["description"]
    events = events_by_request(queue_kafka, [bad_id, missing_id])
    assert all(e["payload"]["status"] == "FAILED" for v in events.values() for e in v)
    assert unkeyed_id not in {e["payload"]["requestId"] for v in events.values() for e in v}
    metrics = server.metrics()
    assert metrics.value("flint_request_queue_records_total", outcome="dead_letter") == 5
    assert metrics.value("flint_lifecycle_executions_ended_total", outcome="failed") == 2
    assert len(server.all_events()) == 2  # one per keyed id, none for the unusable keys


def test_a_dead_letter_the_failed_topic_refuses_waits_and_is_tried_again(queue_kafka, cluster_key,
                                                                         start_server):
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"messaging": {"delivery_timeout": "1s"}}))
    queue_kafka.command(f"topic-error {FAILED_TOPIC} 3")  # UNKNOWN_TOPIC_OR_PART
    request_id = str(uuid.uuid4())
    produce(queue_kafka, QUEUE_TOPIC, request_id, b"not base64 at all!")

    def vital() -> dict:
        return server.health()["vitals"]["request_queue"]

    waiting = wait_until(
        lambda: (v := vital())["status"] == "DEGRADED" and "dead-letter" in v["last_error"] and v,
        30, what="request_queue DEGRADED by the dead letter")
    assert waiting["last_error"].startswith(f"dead-letter topic {FAILED_TOPIC}: "), waiting
    assert "is kept and tried again" in waiting["last_error"], waiting
    # Nothing counted, nothing reported, and the queue's offset not committed past the record.
    metrics = server.metrics()
    assert metrics.value("flint_request_queue_records_total", outcome="dead_letter") == 0
    assert server.execution(request_id).status_code != 200
    from confluent_kafka import TopicPartition
    consumer = Consumer({"bootstrap.servers": queue_kafka.bootstrap,
                         "group.id": "flint_lifecycle_request_queue"})
    try:
        committed = consumer.committed([TopicPartition(QUEUE_TOPIC, p) for p in range(4)], 10)
    finally:
        consumer.close()
    assert all(tp.offset <= 0 for tp in committed), committed  # nothing read past it
    # The topic back: the letter arrives (once), is counted, reported, and health clears.
    queue_kafka.command(f"topic-error {FAILED_TOPIC} 0")
    letters = read_topic(queue_kafka, FAILED_TOPIC, lambda r: len(r) >= 1)
    assert [r["key"] for r in letters] == [request_id]
    assert wait_queued_end(server, request_id)["status"] == "FAILED"
    wait_until(lambda: vital()["status"] == "OK", 30, what="request_queue OK again")
    assert server.metrics().value("flint_request_queue_records_total", outcome="dead_letter") == 1


def test_a_dead_letter_whose_failure_cannot_be_recorded_is_reported_later(queue_kafka,
                                                                         cluster_key,
                                                                         start_server):
    # Cluster mode: reporting the request FAILED needs the state topic. While that fails, the
    # letter (on the failed topic already, and not sent twice) waits for its report.
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"cluster": {"enabled": True, "session_timeout": "3s"},
                                      "messaging": {"delivery_timeout": "1s"}}))
    wait_until(lambda: server.health()["vitals"]["cluster"]["status"] == "OK", 30,
               what="cluster OK")
    queue_kafka.command(f"topic-error {STATE_TOPIC} 3")  # UNKNOWN_TOPIC_OR_PART
    request_id = str(uuid.uuid4())
    produce(queue_kafka, QUEUE_TOPIC, request_id, b"not base64 at all!")
    assert [r["key"] for r in read_topic(queue_kafka, FAILED_TOPIC, lambda r: len(r) >= 1)] == \
        [request_id]

    def vital() -> dict:
        return server.health()["vitals"]["request_queue"]

    waiting = wait_until(lambda: "cannot record its failure" in vital().get("last_error", "")
                         and vital(), 30, what="request_queue naming the failure it cannot record")
    assert waiting["status"] == "DEGRADED", waiting
    assert server.execution(request_id).status_code != 200
    queue_kafka.command(f"topic-error {STATE_TOPIC} 0")
    # Its event says so. (Not its record: the mock's topic error leaves this node's consumers of
    # the state topic on stale metadata for minutes.)
    events = wait_until(lambda: [e for e in server.all_events() if e["key"] == request_id], 60,
                        what="the FAILED event of the dead-lettered request")
    assert [e["payload"]["status"] for e in events] == ["FAILED"], events
    assert "could not be read" in events[0]["payload"]["failureDetails"]["description"], events
    wait_until(lambda: vital()["status"] == "OK", 60, what="request_queue OK again")
    first_seen: list[float] = []

    def settled(records) -> bool:  # read on for 2 s after the first letter
        if records and not first_seen:
            first_seen.append(time.monotonic())
        return bool(first_seen) and time.monotonic() - first_seen[0] > 2

    letters = read_topic(queue_kafka, FAILED_TOPIC, settled)
    assert [r["key"] for r in letters] == [request_id]  # sent once
    assert server.metrics().value("flint_request_queue_records_total", outcome="dead_letter") == 1


def test_a_duplicated_queue_record_runs_its_request_once(queue_kafka, cluster_key, start_server):
    server = start_server(queue_config(queue_kafka, cluster_key))
    request_id = str(uuid.uuid4())
    record = seal(cluster_key, request_id, {"format": 1, "requestId": request_id, "tenantId": "",
                                            "logFields": [], "request": execute_body()})
    produce(queue_kafka, QUEUE_TOPIC, request_id, record)
    produce(queue_kafka, QUEUE_TOPIC, request_id, record)  # same key: same partition, next offset
    assert wait_queued_end(server, request_id)["status"] == "COMPLETE"
    # The second copy is skipped whether the first still runs (duplicate) or is recorded (skipped).
    counted = lambda outcome: server.metrics().value("flint_request_queue_records_total",
                                                     outcome=outcome)
    wait_until(lambda: counted("duplicate") + counted("skipped") == 1, 10,
               what="the second copy skipped")
    assert counted("accepted") == 1
    assert counted("failed") == 0  # the driver did not run it twice ("accepted before")
    assert [e["payload"]["status"] for e in server.all_events()] == ["COMPLETE"]


def test_a_stray_queue_record_never_ends_an_execution_the_cluster_knows(queue_kafka, cluster_key,
                                                                     start_server):
    # Cluster mode: a record that cannot be read, keyed with the id of an execution still running
    # or already ended, goes to dead letters and changes nothing: no second (contradictory) event
    # under the same event id, and the running one ends as its driver says.
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"cluster": {"enabled": True, "session_timeout": "3s"}}))
    running, ended = accept(server, polls=30), accept(server)
    assert wait_queued_end(server, ended)["status"] == "COMPLETE"
    assert server.execution(running).json()["status"] == "IN_PROGRESS"
    for request_id in (running, ended):
        produce(queue_kafka, QUEUE_TOPIC, request_id, b"not base64 at all!")
    # A key that is no request id writes nothing to the state topic (no node could read it).
    produce(queue_kafka, QUEUE_TOPIC, b"\xff\xfe\x00bin", b"garbage")
    letters = read_topic(queue_kafka, FAILED_TOPIC, lambda r: len(r) >= 3)
    assert {r["key"] for r in letters} == {running, ended, "\\xff\\xfe\x00bin"}
    assert server.wait_terminal(running)["status"] == "COMPLETE"
    # Every event of both, read on for 2 s after the last COMPLETE: a FAILED ending would have
    # been queued at its dead letter, before that COMPLETE.
    def mine(records):
        return [(payload["requestId"], payload["status"])
                for payload in (json.loads(r["value"]) for r in records)
                if payload["requestId"] in (running, ended)]

    seen_both: list[float] = []

    def settled(records) -> bool:
        if not seen_both and {i for i, s in mine(records) if s == "COMPLETE"} == {running, ended}:
            seen_both.append(time.monotonic())
        return bool(seen_both) and time.monotonic() - seen_both[0] > 2

    found = mine(read_topic(queue_kafka, EVENTS_TOPIC, settled))
    assert sorted(found) == sorted([(running, "COMPLETE"), (ended, "COMPLETE")]), found
    logged = [e["payload"]["status"] for e in server.all_events() if e["key"] in (running, ended)]
    assert logged == ["COMPLETE", "COMPLETE"], logged
    metrics = server.metrics()
    assert metrics.value("flint_request_queue_records_total", outcome="dead_letter") == 3
    assert metrics.value("flint_lifecycle_executions_ended_total", outcome="failed") == 0
    assert server.health()["vitals"]["cluster"]["status"] == "OK", server.health()


def test_what_the_request_queue_cannot_take_is_refused_saying_why(queue_kafka, cluster_key,
                                                                  start_server):
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"messaging": {"delivery_timeout": "1s"}}))
    # Larger than Kafka takes: refused for good (400, not a 503 the orchestrator would retry).
    package = make_zip({"Lifecycle/big.bin": secrets.token_bytes(1_500_000)},
                       compression=zipfile.ZIP_STORED)
    big = execute_body(driver_files=b64(package))
    for _ in range(2):
        assert_error(server.execute(big), 400, "too large for the request queue",
                     "messaging.config message.max.bytes (1000000 bytes)")
    # The brokers away: retry later, and the reply says what cannot take it.
    queue_kafka.command("down all")
    assert_error(server.execute(execute_body()), 503, "the request queue (Kafka) cannot take the "
                 f"request now: topic {QUEUE_TOPIC}", "retry later")
    queue_kafka.command("up all")


def test_a_broker_outage_shows_in_the_cluster_and_queue_vitals_until_kafka_answers(
        queue_kafka, cluster_key, start_server):
    server = start_server(deep_merge(queue_config(queue_kafka, cluster_key),
                                     {"cluster": {"enabled": True, "session_timeout": "3s"}}))
    vitals = ("cluster", "request_queue")

    def statuses() -> dict:
        found = server.health()["vitals"]
        return {name: (found[name]["status"], found[name].get("last_error")) for name in vitals}

    wait_until(lambda: all(s == "OK" for s, _ in statuses().values()), 30, what="vitals OK")
    # No read fails while the brokers are away (a consumer just gets nothing): the vitals say so
    # all the same, naming the cause.
    queue_kafka.command("down all")

    def degraded() -> dict | None:
        found = statuses()
        return found if all(s == "DEGRADED" for s, _ in found.values()) else None

    down = wait_until(degraded, 30, what="cluster and request_queue DEGRADED")
    for name, (_, error) in down.items():
        assert error.startswith("Kafka cannot be reached: "), (name, error)
        assert "brokers are down" in error, (name, error)
    queue_kafka.command("up all")
    wait_until(lambda: all(s == "OK" for s, _ in statuses().values()), 30,
               what="vitals OK again once Kafka answers")


def test_the_request_queue_needs_kafka_and_a_key(tmp_path, queue_kafka):
    node = FlintServer(tmp_path / "no-key", {
        "messaging": {"connection_address": queue_kafka.bootstrap},
        "resource_driver": {"lifecycle_request_queue": {"enabled": True}}})
    with pytest.raises(RuntimeError) as failure:
        node.start()
    assert "no cluster key is given" in str(failure.value)
    node = FlintServer(tmp_path / "no-kafka", {
        "resource_driver": {"lifecycle_request_queue": {"enabled": True}}})
    with pytest.raises(RuntimeError) as failure:
        node.start()
    assert "lifecycle_request_queue.enabled is true but messaging.connection_address is empty" in \
        str(failure.value)

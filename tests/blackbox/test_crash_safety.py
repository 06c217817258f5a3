"""Crash safety: 1,000 script executions, `kill -9` of flint with hundreds in flight, restart.

Every accepted request must end with exactly one terminal state and at least one event; a
consumer that dedupes by event id sees exactly one; nothing that was refused gets an event.
The script driver keeps its state on disk (the noop driver keeps it in memory by design), so
its scripts outlive the crash and the restarted host picks their outcomes up.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

import requests

from flint_blackbox import (
    EXECUTE_PATH,
    FlintServer,
    execute_body,
    props,
    script_package,
    wait_until,
)

TOTAL = 1000
KILL_AFTER = 400  # accepted executions before the kill
THREADS = 8
FAILURE_CODES = [
    "RESOURCE_NOT_FOUND",
    "INFRASTRUCTURE_ERROR",
    "INSUFFICIENT_CAPACITY",
    "INTERNAL_ERROR",
]

# One property `bb.spec` = "<client id>|<seconds to sleep>|<failure code or empty>", read with
# sed from the one-line request document. The client id comes back in the outputs, so every
# event can be traced to the submission that caused it, accepted or not.
CREATE_SH = r"""
spec=$(sed -n 's/.*"bb\.spec":{"type":"string","value":"\([^"]*\)".*/\1/p' "$FLINT_REQUEST_FILE")
old_ifs=$IFS
IFS='|'
set -- $spec
IFS=$old_ifs
client=$1
delay=$2
code=$3
sleep "$delay"
if [ -n "$code" ]; then
  printf '{"failureCode":"%s","failureDescription":"asked to fail","outputs":{"client":"%s"}}' \
    "$code" "$client" > "$FLINT_RESULT_FILE"
  exit 1
fi
printf '{"outputs":{"client":"%s"}}' "$client" > "$FLINT_RESULT_FILE"
"""

# What the crash itself may turn an execution into (queued or interrupted when flint died).
CRASH_FAILURES = ("never started", "was interrupted")


class Submitter:
    """Worker threads posting TOTAL executes; paused while flint is down."""

    def __init__(self, server: FlintServer, package: str, seed: int):
        rng = random.Random(seed)
        self.server = server
        self.specs: list[tuple[str, float, str]] = []
        for i in range(TOTAL):
            code = rng.choice(FAILURE_CODES) if rng.random() < 0.2 else ""
            self.specs.append((f"client-{i}", round(rng.uniform(0.05, 0.5), 3), code))
        self.package = package
        self.lock = threading.Lock()
        self.next_index = 0
        self.accepted: dict[int, str] = {}  # index -> request id (202)
        self.refused: dict[int, tuple[int, str]] = {}  # index -> (status, body): not accepted
        self.in_doubt: dict[int, str] = {}  # index -> error: the reply was lost in the crash
        # Bumped by each restart: a worker whose request failed waits for the next one
        # instead of burning submissions on a dead port.
        self.generation = 0
        self.restarted = threading.Condition(self.lock)
        self.threads = [threading.Thread(target=self.work, daemon=True) for _ in range(THREADS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            assert not thread.is_alive(), "submitters did not finish in time"

    def take(self) -> int | None:
        with self.lock:
            if self.next_index >= TOTAL:
                return None
            self.next_index += 1
            return self.next_index - 1

    def body(self, index: int) -> dict:
        client, delay, code = self.specs[index]
        return execute_body(
            driver_files=self.package,
            resource_properties=props({"bb.spec": f"{client}|{delay}|{code}"}),
        )

    def restart_done(self) -> None:
        with self.lock:
            self.generation += 1
            self.restarted.notify_all()

    def work(self) -> None:
        session = requests.Session()
        while (index := self.take()) is not None:
            with self.lock:
                generation = self.generation
            try:
                r = session.post(
                    self.server.url(EXECUTE_PATH), json=self.body(index), timeout=60
                )
            except requests.RequestException as e:
                with self.lock:
                    self.in_doubt[index] = repr(e)
                    self.restarted.wait_for(lambda: self.generation > generation, timeout=60)
                session.close()
                session = requests.Session()
                continue
            with self.lock:
                if r.status_code == 202:
                    self.accepted[index] = r.json()["requestId"]
                else:
                    self.refused[index] = (r.status_code, r.text[:300])
        session.close()


def test_kill_9_with_executions_in_flight_loses_nothing(start_server):
    config = {
        "resource_driver": {"driver": "script"},
        "monitoring": {"min_interval": "100ms", "max_interval": "1s"},
        # Kept working directories let the test trace any request id to its submission
        # through request.json, even when a script never ran to report it.
        "drivers": {"script": {"max_concurrent": 32, "keep_work_dirs": True}},
        "logging": {"level": "info"},
    }
    server = start_server(config, name="crash")
    seed = random.randrange(1 << 30)
    submitter = Submitter(server, script_package({"Create": CREATE_SH}), seed)
    started = time.monotonic()
    submitter.start()

    wait_until(lambda: len(submitter.accepted) >= KILL_AFTER, 90, interval=0.005,
               what=f"{KILL_AFTER} accepted executions")
    server.signal(signal.SIGKILL)
    assert server.process.wait(timeout=15) == -signal.SIGKILL
    # Replies of the first run may still sit unread in client sockets, so the
    # submitter's count is a lower bound; the records' acceptedAt, compared
    # with the restart time, tell which run accepted what.
    with submitter.lock:
        killed_at = len(submitter.accepted)
    restarted_at = datetime.now(timezone.utc)
    server.start()
    resumed = server.wait_for_log(
        lambda line: "resumed monitoring" in line.get("message", ""), timeout=10
    )
    submitter.restart_done()
    submitter.join(120)

    accepted = submitter.accepted
    refused = list(submitter.refused.items())
    assert not refused, f"refused executes (seed {seed}): {refused[:5]}"
    assert len(accepted) + len(submitter.in_doubt) == TOTAL
    # Only the requests on the wire at the kill can have lost their reply.
    assert len(submitter.in_doubt) <= THREADS, submitter.in_doubt

    by_request = server.wait_events_for(accepted.values(), timeout=120)
    events = server.all_events()

    # Every event belongs to a submission that was accepted or whose reply was lost.
    client_of = {request_id: index for index, request_id in accepted.items()}
    index_of_client = {spec[0]: i for i, spec in enumerate(submitter.specs)}
    in_doubt_with_event: dict[int, str] = {}
    executions_dir = server.data_dir / "script-executions"

    def submission_of(request_id: str) -> int | None:
        document = executions_dir / request_id / "request.json"
        if not document.exists():
            return None
        spec = json.loads(document.read_text())["resourceProperties"]["bb.spec"]["value"]
        return index_of_client.get(spec.split("|")[0])

    for event in events:
        payload = event["payload"]
        request_id = payload["requestId"]
        index = submission_of(request_id)
        assert index is not None, f"event for an unknown request: {event}"
        if "client" in payload["outputs"]:
            assert payload["outputs"]["client"] == f"client-{index}", event
        if request_id in client_of:
            assert client_of[request_id] == index, event
        else:
            assert index in submitter.in_doubt, f"event for a request never accepted: {event}"
            in_doubt_with_event[index] = request_id

    # At least one event per accepted request; exactly one after deduping by event id.
    ids_per_request: dict[str, set[str]] = defaultdict(set)
    for event in events:
        ids_per_request[event["payload"]["requestId"]].add(event["id"])
    raw_counts = Counter(event["payload"]["requestId"] for event in events)
    for request_id in list(accepted.values()) + list(in_doubt_with_event.values()):
        assert raw_counts[request_id] >= 1, request_id
        assert len(ids_per_request[request_id]) == 1, (request_id, by_request.get(request_id))
    assert len({event["id"] for event in events}) == len(ids_per_request)

    # Exactly one terminal state per request, and the one its event reports.
    crash_failures: Counter[str] = Counter()
    for index, request_id in list(accepted.items()) + list(in_doubt_with_event.items()):
        r = server.execution(request_id)
        assert r.status_code == 200, r.text
        record = r.json()
        [event] = [e for e in events if e["payload"]["requestId"] == request_id][:1]
        payload = event["payload"]
        assert record["monitoring"] == "complete", record
        assert record["status"] in ("COMPLETE", "FAILED"), record
        assert [t["status"] for t in record["transitions"]] == ["IN_PROGRESS", record["status"]]
        assert record["status"] == payload["status"]
        assert record.get("failureDetails") == payload.get("failureDetails")
        _, _, code = submitter.specs[index]
        details = payload.get("failureDetails") or {}
        reasons = [r for r in CRASH_FAILURES if r in details.get("description", "")]
        if reasons:
            assert details["failureCode"] == "INTERNAL_ERROR", payload
            # Only what was accepted before the kill can have been hit by it.
            accepted_at = datetime.fromisoformat(record["acceptedAt"].replace("Z", "+00:00"))
            assert accepted_at < restarted_at or index in submitter.in_doubt, (record, payload)
            crash_failures[reasons[0]] += 1
            continue
        if code:
            assert payload["status"] == "FAILED", (submitter.specs[index], payload)
            assert details == {"failureCode": code, "description": "asked to fail"}, payload
        else:
            assert payload["status"] == "COMPLETE", (submitter.specs[index], payload)
        assert payload["outputs"] == {"client": f"client-{index}"}, payload

    elapsed = time.monotonic() - started
    print(
        f"seed {seed}: {len(accepted)} accepted ({killed_at} before the kill), "
        f"{len(submitter.in_doubt)} replies lost in the crash ({len(in_doubt_with_event)} of them "
        f"accepted after all), {len(events)} events, failed by the crash: {dict(crash_failures)}, "
        f"resumed: {[line.get('message') for line in resumed]}, {elapsed:.1f}s"
    )
    assert resumed, "the restarted flint did not resume any execution: none was in flight"

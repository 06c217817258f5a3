"""The embedded event log over HTTP: paging, long poll, SSE, retention; vitals and metrics."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import sqlite3
import threading
import time

from pathlib import Path

import pytest

from flint_blackbox import (
    EVENTS_PATH,
    LIFECYCLE_TOPIC,
    FlintServer,
    SseClient,
    assert_error,
    damage_pages,
    execute_body,
    produce_large_events,
    wait_until,
)
from tls_files import Authority

FAST_POLLING = {"monitoring": {"min_interval": "50ms", "max_interval": "200ms"}}


@pytest.fixture(scope="module")
def log_server(tmp_path_factory):
    instance = FlintServer(tmp_path_factory.mktemp("events"), FAST_POLLING).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


def accept_many(server: FlintServer, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = server.execute(execute_body())
        assert r.status_code == 202, r.text
        ids.append(r.json()["requestId"])
    return ids


def produce(server: FlintServer, n: int) -> list[dict]:
    """`n` new events (one per completed execution), in log order."""
    last = server.last_seq()
    ids = accept_many(server, n)
    server.wait_events_for(ids)
    events = server.all_events(after=last)
    assert sorted(e["key"] for e in events) == sorted(ids)
    return events


def test_events_have_increasing_seq_and_the_documented_fields(log_server):
    events = produce(log_server, 4)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + 4)), seqs  # no gaps when written
    ids = [e["id"] for e in events]
    assert len(set(ids)) == 4
    for event in events:
        assert list(event) == ["seq", "id", "topic", "key", "tenantId", "createdAt", "payload"]
        assert event["topic"] == LIFECYCLE_TOPIC
        assert event["key"] == event["payload"]["requestId"]
        # The noop driver's request ids are UUIDv7: the event id (a UUIDv8)
        # keeps their time, so ids sort as the executions were accepted.
        assert event["id"][:13] == event["key"][:13], event
        assert event["id"][14] == "8", event


def test_resume_from_a_sequence_number_and_limit(log_server):
    events = produce(log_server, 6)
    first = events[0]["seq"]
    page = log_server.events(after=first + 2)
    assert [e["seq"] for e in page["events"]] == [e["seq"] for e in events[3:]]
    assert page["lastSeq"] == events[-1]["seq"]
    # The same events, byte for byte, whatever the starting point.
    assert page["events"] == events[3:]
    limited = log_server.events(after=first - 1, limit=2)
    assert limited["events"] == events[:2]
    assert limited["lastSeq"] == events[-1]["seq"]
    assert log_server.events(after=events[-1]["seq"])["events"] == []


def test_bad_parameters_are_400_naming_the_parameter(log_server):
    for query, name in [
        ("after=-1", "after"),
        ("after=x", "after"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("wait=61", "wait"),
        ("wait=1.5", "wait"),
        ("after=1&after=2", "after"),
        ("afterId=abc", "afterId: needs after >= 1"),
        ("after=0&afterId=abc", "afterId: needs after >= 1"),
        ("after=1&afterId=", "afterId"),
    ]:
        assert_error(log_server.get(f"{EVENTS_PATH}?{query}"), 400, name)


def test_after_event_id_confirms_the_readers_position(log_server):
    [first, second] = produce(log_server, 2)
    r = log_server.get(EVENTS_PATH, params={"after": first["seq"], "afterId": first["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["events"][0]["id"] == second["id"]
    # Another event at that number: the log was restored or replaced.
    r = log_server.get(EVENTS_PATH, params={"after": first["seq"], "afterId": "elsewhere"})
    error = assert_error(r, 409, f"does not hold event elsewhere at sequence {first['seq']}")
    assert "read again from after=0" in error["localizedMessage"]
    # A position past the log's end cannot be confirmed either.
    beyond = log_server.last_seq() + 5
    assert_error(log_server.get(EVENTS_PATH, params={"after": beyond, "afterId": "x"}), 409)


def test_long_poll_answers_at_once_when_an_event_exists(log_server):
    events = produce(log_server, 1)
    started = time.monotonic()
    page = log_server.events(after=events[0]["seq"] - 1, wait=30)
    assert time.monotonic() - started < 5
    assert page["events"] == events


def test_long_poll_returns_empty_after_wait(log_server):
    last = log_server.last_seq()
    started = time.monotonic()
    page = log_server.events(after=last, wait=2)
    elapsed = time.monotonic() - started
    assert page == {"events": [], "lastSeq": last}
    assert 1.8 <= elapsed < 15, elapsed


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls-close-notify"])
def test_a_long_poll_whose_client_left_frees_its_connection(start_server, tmp_path, tls):
    # Abandoned long polls held their connections (a file descriptor each, and a place under
    # http.max_connections) until their wait ran out, a minute at most. Over TLS, the client's
    # close_notify, left unread, hid its close from a peek at the socket.
    config, options, context = {}, {}, None
    if tls:
        authority = Authority(tmp_path / "ca")
        certificate, key = authority.issue("server", server=True)
        config = {"http": {"tls": {"cert_file": str(certificate), "key_file": str(key)}}}
        options = {"tls_ca": authority.ca_file}
        context = ssl.create_default_context(cafile=str(authority.ca_file))
    server = start_server(config, **options)
    descriptors = Path(f"/proc/{server.process.pid}/fd")
    before = len(list(descriptors.iterdir()))
    clients = []
    for _ in range(5):
        client = socket.create_connection(("127.0.0.1", server.port))
        if context:
            client = context.wrap_socket(client, server_hostname="localhost")
        client.sendall(f"GET {EVENTS_PATH}?after=0&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        clients.append(client)
    wait_until(lambda: len(list(descriptors.iterdir())) >= before + 5, timeout=10,
               what="the long polls waiting")
    for client in clients:
        if context:
            client.settimeout(0.2)
            try:
                client.unwrap()  # sends close_notify; the server's answer never comes
            except (OSError, ssl.SSLError):
                pass
        client.close()
    wait_until(lambda: len(list(descriptors.iterdir())) <= before, timeout=5,
               what="the connections of the clients that left closed")


def test_long_poll_blocks_until_an_event_arrives(log_server):
    last = log_server.last_seq()
    result: dict = {}

    def poll():
        started = time.monotonic()
        # Own connection: the fixture's session is used by the main thread meanwhile.
        import requests

        r = requests.get(
            log_server.url(EVENTS_PATH), params={"after": last, "wait": 30}, timeout=60
        )
        result["elapsed"] = time.monotonic() - started
        result["response"] = r

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive(), "the long poll returned before any event"
    [request_id] = accept_many(log_server, 1)
    waiter.join(60)
    assert not waiter.is_alive()
    r = result["response"]
    assert r.status_code == 200, r.text
    page = r.json()
    assert [e["key"] for e in page["events"]] == [request_id]
    assert page["events"][0]["seq"] == last + 1
    assert 0.9 <= result["elapsed"] < 25, result["elapsed"]


def test_sse_reads_resumes_with_last_event_id_and_follows_live(log_server):
    events = produce(log_server, 6)
    start = events[0]["seq"] - 1
    with SseClient(log_server.port, f"/api/events/stream?after={start}") as stream:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream"
        assert stream.response.getheader("Cache-Control") == "no-cache"
        got = [stream.next_event() for _ in range(3)]
    assert got == events[:3]

    # More events while disconnected; the reconnect sees exactly what follows seq 3.
    more = produce(log_server, 2)
    expected = events[3:] + more
    with SseClient(log_server.port, f"/api/events/stream?after={start}",
                   headers={"Last-Event-ID": str(got[-1]["seq"])}) as stream:
        resumed = [stream.next_event() for _ in range(len(expected))]
        assert resumed == expected
        # Live: a new execution's event comes down the open stream, nothing before it.
        [request_id] = accept_many(log_server, 1)
        live = stream.next_event()
        assert live["key"] == request_id
        assert live["seq"] == expected[-1]["seq"] + 1


def test_sse_after_event_id_is_checked_until_last_event_id_moves_on(log_server):
    [first, second, third] = produce(log_server, 3)
    path = f"/api/events/stream?after={first['seq']}&afterId={first['id']}"
    with SseClient(log_server.port, path) as stream:
        assert stream.response.status == 200
        assert stream.next_event() == second
    # Another event at that number: 409, as for the long poll.
    r = log_server.get("/api/events/stream",
                       params={"after": first["seq"], "afterId": "elsewhere"})
    assert_error(r, 409, f"does not hold event elsewhere at sequence {first['seq']}")
    # An EventSource reconnects with its first URL and a later Last-Event-ID:
    # afterId names the event at `after`, so it is not checked against another.
    with SseClient(log_server.port, f"/api/events/stream?after={first['seq']}&afterId=elsewhere",
                   headers={"Last-Event-ID": str(second["seq"])}) as stream:
        assert stream.response.status == 200
        assert stream.next_event() == third


def test_sse_bad_last_event_id_is_400(log_server):
    assert_error(log_server.get("/api/events/stream", headers={"Last-Event-ID": "abc"}), 400,
                 "Last-Event-ID")


def test_retention_by_count_keeps_the_newest(start_server):
    server = start_server({**FAST_POLLING, "events": {"retention": {"max_count": 5}}})
    ids = accept_many(server, 10)
    wait_until(lambda: server.last_seq() == 10, 20, what="ten events")
    # The count is kept at every append, not only when retention runs (once a minute).
    page = server.events(after=0)
    assert [e["seq"] for e in page["events"]] == [6, 7, 8, 9, 10]
    assert {e["key"] for e in page["events"]} <= set(ids)
    assert page["lastSeq"] == 10
    # A restart keeps them, and numbers are never reused.
    kept = page["events"]
    assert server.stop() == 0
    server.start()
    assert server.events(after=0)["events"] == kept
    [next_event] = produce(server, 1)
    assert next_event["seq"] == 11
    assert [e["seq"] for e in server.events(after=0)["events"]] == [7, 8, 9, 10, 11]


def test_retention_by_age(start_server):
    server = start_server({**FAST_POLLING, "events": {"retention": {"max_age": "1s"}}})
    produce(server, 3)
    assert server.stop() == 0
    time.sleep(1.2)
    server.start()
    page = server.events(after=0)
    assert page == {"events": [], "lastSeq": 3}
    [next_event] = produce(server, 1)
    assert next_event["seq"] == 4


def test_a_damaged_event_log_is_a_500_that_says_so_and_degrades_health(start_server):
    server = start_server({"monitoring": {"min_interval": "50ms"}})
    produce_large_events(server, 200)
    assert server.stop() == 0
    # Ten pages from a third of the way in.
    events_db = server.data_dir / "events.db"
    damage_pages(events_db, 1 / 3, 1 / 3 + 40960 / events_db.stat().st_size, 4096)
    server.start()
    r = server.get("/api/events?after=0&limit=1000")
    assert_error(r, 500, "the event log cannot be read; see the server log")
    vital = server.health()["vitals"]["events"]
    assert vital["status"] == "DEGRADED", vital
    assert "events.db" in vital["error"], vital
    assert "the event log cannot be read: " in server.stderr()


def test_a_missing_or_empty_flint_db_beside_an_event_log_stops_the_start(start_server):
    server = start_server(FAST_POLLING)
    produce(server, 2)
    assert server.stop() == 0
    records = server.data_dir / "flint.db"
    for lose in ("remove", "truncate"):  # left out of a restore, or a failed copy
        for suffix in ("", "-wal", "-shm"):
            Path(f"{records}{suffix}").unlink(missing_ok=True)
        if lose == "truncate":
            records.write_bytes(b"")
        with pytest.raises(RuntimeError) as failure:
            server.start()
        assert ("store.data_dir: flint.db is missing or empty, but events.db beside it holds 2 "
                "events") in str(failure.value), str(failure.value)[-2000:]
        assert not records.exists() or records.stat().st_size == 0  # nothing made in its place
    # Starting afresh is a choice: the event log moved aside.
    (server.data_dir / "events.db").rename(server.data_dir / "events.db.old")
    server.start()
    assert server.last_seq() == 0


def test_health_lists_store_jobs_and_events(log_server):
    produce(log_server, 1)
    vitals = log_server.health()["vitals"]
    for name in ("store", "jobs", "events"):
        assert vitals[name]["status"] == "OK", vitals
    store = vitals["store"]
    assert store["path"].endswith("flint.db")
    # The store's files and the room left for them (read at most once a second).
    assert store["size_bytes"] >= (log_server.data_dir / "flint.db").stat().st_size > 0, store
    assert 100 * 2**20 < store["disk_free_bytes"] <= shutil.disk_usage(log_server.data_dir).total
    assert vitals["jobs"]["scheduled"] >= 0 and vitals["jobs"]["running"] >= 0
    last = log_server.last_seq()
    assert vitals["events"]["last_seq"] <= last
    assert vitals["events"]["delivered"] >= 1
    assert vitals["events"]["size_bytes"] > 0


def test_metrics_count_job_runs_backlog_and_deliveries(log_server):
    before = log_server.metrics()
    produce(log_server, 3)
    after = log_server.metrics()
    for name in ("flint_job_runs_total", "flint_outbox_backlog", "flint_events_delivered_total"):
        assert after.has(name), name
    finished = after.value("flint_job_runs_total", kind="lifecycle_execution", step="finished")
    assert finished - before.value(
        "flint_job_runs_total", kind="lifecycle_execution", step="finished"
    ) >= 3
    delivered = after.value("flint_events_delivered_total", publisher="event-log")
    assert delivered - before.value("flint_events_delivered_total", publisher="event-log") >= 3
    # Each execution is written when accepted and when it ended, in group commits.
    commits = after.value("flint_store_commits_total", outcome="ok")
    assert commits - before.value("flint_store_commits_total", outcome="ok") >= 1
    writes = after.value("flint_store_writes_total", outcome="ok")
    assert writes - before.value("flint_store_writes_total", outcome="ok") >= 6
    assert after.value("flint_store_commits_total", outcome="failed") == 0
    assert after.value("flint_store_commit_duration_seconds_count") >= commits
    assert after.value("flint_store_queue_wait_seconds_count") >= commits
    # The databases' size and the room left (the store vital's figures).
    assert after.value("flint_database_size_bytes", database="flint.db") > 0
    assert after.value("flint_database_size_bytes", database="events.db") > 0
    assert 0 < after.value("flint_data_dir_free_bytes") <= shutil.disk_usage(
        log_server.data_dir).total
    # The gauge follows the deletion of the delivered rows, a moment after the log append.
    wait_until(lambda: log_server.metrics().value("flint_outbox_backlog") == 0, 10,
               what="an empty outbox backlog")


def test_a_reader_detects_a_restore_that_reassigned_its_numbers(start_server):
    """operations.md's restore: numbers past the backup are assigned again, to other events."""
    server = start_server(FAST_POLLING)
    produce(server, 2)
    assert server.stop() == 0
    backup = server.workdir / "backup"
    shutil.copytree(server.data_dir, backup)
    server.start()
    seen = produce(server, 3)[-1]  # the reader's position, past the backup
    assert server.stop() == 0
    shutil.rmtree(server.data_dir)
    shutil.copytree(backup, server.data_dir)
    server.start()
    produce(server, 4)  # the same numbers again, other events
    assert server.last_seq() >= seen["seq"], "the log grew past the reader's position"
    r = server.get(EVENTS_PATH, params={"after": seen["seq"], "afterId": seen["id"]})
    assert_error(r, 409, "restored from a backup or replaced")


def test_a_tenant_id_stored_in_latin1_by_an_older_build_is_served_as_utf8(start_server):
    # Builds before 9cec0c8 stored a tenantId header's bytes as they came: every reply
    # naming it must still be JSON (UTF-8), with the bad bytes replaced.
    server = start_server()
    r = server.execute(execute_body(), headers={"tenantId": "t-1"})
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    server.wait_events_for([request_id])
    assert server.stop() == 0
    latin1 = "Soci\xe9t\xe9".encode("latin-1")
    for name, table, column in [("flint.db", "executions", "request_id"),
                                ("events.db", "events", "event_key")]:
        # Closed before the start: a Flint refuses a database another process has open.
        with contextlib.closing(sqlite3.connect(server.data_dir / name)) as database, database:
            database.execute(f"UPDATE {table} SET tenant_id = CAST(? AS TEXT) WHERE {column} = ?",
                             (latin1, request_id))
    server.start()

    def strict_json(path: str):  # `requests` would decode bad bytes leniently
        return json.loads(server.get(path).content.decode("utf-8"))

    expected = "Soci\ufffdt\ufffd"
    assert strict_json(f"/api/driver/lifecycle/executions/{request_id}")["tenantId"] == expected
    events = [e for e in strict_json(EVENTS_PATH)["events"] if e["key"] == request_id]
    assert events and {e["tenantId"] for e in events} == {expected}, events

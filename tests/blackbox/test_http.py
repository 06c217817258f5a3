"""HTTP/1.1 behaviour on raw sockets: keep-alive, pipelining, chunked bodies, 100-continue,
size limits, read timeouts and malformed requests."""

from __future__ import annotations

import email.utils
import json
import os
import re
import resource
import select
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from flint_blackbox import (
    EXECUTE_PATH,
    FIND_PATH,
    HEALTH_PATH,
    FlintServer,
    RawConnection,
    assert_error,
    assert_retry_after,
    chunked,
    execute_body,
    find_body,
    raw_request,
)

JSON = {"Content-Type": "application/json"}


def _assert_raw_error(response, status: int, *fragments: str) -> dict:
    assert response.status == status, response
    assert response.headers.get("content-type", "").startswith("application/json"), response
    body = response.json()
    assert set(body) == {"localizedMessage", "status"}, body
    assert body["status"] == status, body
    for fragment in fragments:
        assert fragment in body["localizedMessage"], body
    if status == 503:
        assert_retry_after(response.headers.get("retry-after"))
    return body


# -- keep-alive, pipelining, chunked, 100-continue (default limits) -------------------------


def test_keep_alive_serves_several_requests_on_one_socket(server):
    with RawConnection(server.port) as conn:
        conn.send(raw_request("GET", HEALTH_PATH))
        first = conn.read_response()
        assert first.status == 200, first
        assert first.headers.get("connection", "").lower() != "close", first

        conn.send(raw_request("POST", EXECUTE_PATH, json.dumps(execute_body()), JSON))
        second = conn.read_response()
        assert second.status == 202, second
        assert second.json()["version"] == "1.0.0"

        conn.send(raw_request("POST", FIND_PATH, json.dumps(find_body("k")), JSON))
        third = conn.read_response()
        assert third.status == 200, third

        # An error does not cost the connection either.
        conn.send(raw_request("GET", "/nowhere"))
        _assert_raw_error(conn.read_response(), 404)

        conn.send(raw_request("GET", "/metrics"))
        assert conn.read_response().status == 200


def test_a_connection_over_the_limit_gets_503_and_is_counted(start_server):
    server = start_server({"http": {"max_connections": 3}})
    server.session.close()  # its pooled keep-alive connection would hold a slot
    held = [RawConnection(server.port) for _ in range(3)]
    try:
        for conn in held:  # each one accepted and served before the next opens
            conn.send(raw_request("GET", HEALTH_PATH))
            assert conn.read_response().status == 200
        with RawConnection(server.port) as extra:
            extra.send(raw_request("GET", HEALTH_PATH))
            _assert_raw_error(
                extra.read_response(), 503, "too many connections (http.max_connections is 3)"
            )
            assert extra.at_eof(), "the refused connection was kept open"
    finally:
        for conn in held:
            conn.close()
    # Refused before routing: counted like the other refusals made while reading.
    metrics = wait_for_metrics(server)
    assert metrics.value(
        "flint_http_requests_total", route="unmatched", method="-", status="503"
    ) == 1, metrics.find("flint_http_requests_total", status="503")


def wait_for_metrics(server: FlintServer):
    """The metrics, once the held connections' slots are free again."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return server.metrics()
        except (AssertionError, requests.ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_connection_close_is_honoured(server):
    with RawConnection(server.port) as conn:
        conn.send(raw_request("GET", HEALTH_PATH, headers={"Connection": "close"}))
        r = conn.read_response()
        assert r.status == 200, r
        assert r.headers.get("connection", "").lower() == "close", r
        assert conn.at_eof(), "the server kept the connection open after Connection: close"


def test_pipelined_requests_are_answered_in_order(server):
    with RawConnection(server.port) as conn:
        conn.send(
            raw_request("GET", HEALTH_PATH)
            + raw_request("POST", EXECUTE_PATH, json.dumps(execute_body()), JSON)
            + raw_request("GET", "/nowhere")
        )
        statuses = [conn.read_response().status for _ in range(3)]
        assert statuses == [200, 202, 404]


def test_http_1_0_request_is_answered_and_closed(server):
    with RawConnection(server.port) as conn:
        conn.send(f"GET {HEALTH_PATH} HTTP/1.0\r\nHost: x\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200, r
        assert conn.at_eof()


def test_chunked_request_body(server):
    body = json.dumps(execute_body()).encode()
    with RawConnection(server.port) as conn:
        conn.send(
            raw_request(
                "POST",
                EXECUTE_PATH,
                chunked(body, [1, 7, 100, 3]),
                {**JSON, "Transfer-Encoding": "chunked"},
                content_length=False,
            )
        )
        r = conn.read_response()
        assert r.status == 202, r
        assert set(r.json()) == {"requestId", "associatedTopology", "version"}
        # The connection is still usable after a chunked body.
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200


def test_chunked_body_sent_in_separate_writes(server):
    body = json.dumps(find_body("slowly")).encode()
    with RawConnection(server.port) as conn:
        conn.send(
            raw_request(
                "POST", FIND_PATH, b"", {**JSON, "Transfer-Encoding": "chunked"}, content_length=False
            )
        )
        step = max(1, len(body) // 4)
        for i in range(0, len(body), step):
            piece = body[i : i + step]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            time.sleep(0.05)
        conn.send(b"0\r\n\r\n")
        r = conn.read_response()
        assert r.status == 200, r
        assert r.json()["result"]["resourceId"] == "noop-slowly"


def test_expect_100_continue(server):
    body = json.dumps(execute_body()).encode()
    with RawConnection(server.port, timeout=10) as conn:
        head = raw_request("POST", EXECUTE_PATH, body, {**JSON, "Expect": "100-continue"})
        conn.send(head[: len(head) - len(body)])
        interim = conn.read_response()  # must come before we send the body
        assert interim.status == 100, interim
        conn.send(body)
        r = conn.read_response()
        assert r.status == 202, r


def test_expect_100_continue_with_the_wrong_content_type_is_refused_before_the_body(server):
    body = json.dumps(execute_body()).encode()
    with RawConnection(server.port, timeout=10) as conn:
        head = raw_request("POST", EXECUTE_PATH, body,
                           {"Content-Type": "text/plain", "Expect": "100-continue"})
        conn.send(head[: len(head) - len(body)])
        r = conn.read_response()  # the final answer, not an invitation to send
        _assert_raw_error(r, 415, "Content-Type: expected application/json, got text/plain")
        assert r.headers.get("connection", "").lower() == "close", r
        assert conn.at_eof()
    # Without Expect the body is read first, and the connection stays usable.
    with RawConnection(server.port, timeout=10) as conn:
        conn.send(raw_request("POST", EXECUTE_PATH, body, {"Content-Type": "text/plain"}))
        _assert_raw_error(conn.read_response(), 415)
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200


def test_malformed_request_line_is_400(server):
    with RawConnection(server.port) as conn:
        conn.send(b"THIS IS NOT HTTP\r\n\r\n")
        _assert_raw_error(conn.read_response(), 400, "malformed")
        assert conn.at_eof()


def test_garbage_header_is_400(server):
    with RawConnection(server.port) as conn:
        conn.send(b"GET /management/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        _assert_raw_error(conn.read_response(), 400)


@pytest.mark.parametrize("framing, message", [
    (b"Content-Length: banana\r\n", "Content-Length: expected a decimal number"),
    (b"Content-Length: 2\r\nContent-Length: 3\r\n", "Content-Length: sent with different values"),
    (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
     "and no Transfer-Encoding: chunked with it"),
    (b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
     "Transfer-Encoding: not allowed with Content-Length"),
])
def test_ambiguous_or_bad_body_framing_is_400_naming_the_header(server, framing, message):
    with RawConnection(server.port) as conn:
        conn.send(b"POST /api/driver/lifecycle/execute HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\n" + framing + b"\r\n{}")
        _assert_raw_error(conn.read_response(), 400, message)


def test_every_response_has_a_date(server):
    with RawConnection(server.port) as conn:
        for request in (raw_request("GET", HEALTH_PATH), raw_request("GET", "/nowhere")):
            conn.send(request)
            date = conn.read_response().headers["date"]
            assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", date)
            sent = email.utils.parsedate_to_datetime(date)
            assert abs(sent.timestamp() - time.time()) < 60


def test_head_answers_like_get_without_the_body(server):
    with RawConnection(server.port) as conn:
        conn.send(raw_request("GET", HEALTH_PATH))
        got = conn.read_response()
        conn.send(raw_request("HEAD", HEALTH_PATH))
        head = conn.read_response(to_head=True)
        assert head.status == 200, head
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) > 0
        # No body came: the connection still answers the next request cleanly.
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        conn.send(raw_request("POST", HEALTH_PATH, b"{}", JSON))
        refused = conn.read_response()
        _assert_raw_error(refused, 405, "allowed: GET, HEAD")
        assert refused.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "coding,status,message",
    [
        ("gzip", 400, "must end with the chunked coding"),
        ("chunked, gzip", 400, "must end with the chunked coding"),
        ("identity", 400, "must end with the chunked coding"),
        ("chunked, chunked", 400, "chunked applied more than once"),
        ("gzip, chunked", 501, "gzip is not supported"),
    ],
)
def test_a_body_not_framed_by_chunked_is_refused_and_the_connection_closed(
    server, coding, status, message
):
    # Read as no body, the bytes after the header would be taken for a second
    # request: one a front proxy never saw (request smuggling).
    with RawConnection(server.port) as conn:
        conn.send(
            f"POST {EXECUTE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: {coding}\r\n\r\n"
            "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        refused = conn.read_response()
        _assert_raw_error(refused, status, message)
        assert refused.headers["connection"].lower() == "close"
        assert conn.at_eof()


def test_transfer_encoding_in_http_1_0_is_refused(server):
    with RawConnection(server.port) as conn:
        conn.send(
            f"POST {FIND_PATH} HTTP/1.0\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        )
        _assert_raw_error(conn.read_response(), 400, "not allowed in an HTTP/1.0 request")


def test_an_unknown_method_is_501_and_adds_no_metric_series(server):
    for method in ("FOOBAR", "X" * 50):
        with RawConnection(server.port) as conn:
            conn.send(f"{method} {HEALTH_PATH} HTTP/1.1\r\nHost: x\r\n\r\n")
            _assert_raw_error(conn.read_response(), 501, "is not implemented")
    metrics = server.get("/metrics").text
    assert "FOOBAR" not in metrics and "XXXXX" not in metrics


@pytest.mark.parametrize(
    "headers,message",
    [("", "Host: required in an HTTP/1.1 request"), ("Host: a\r\nHost: b\r\n", "more than once")],
)
def test_http_1_1_needs_exactly_one_host(server, headers, message):
    with RawConnection(server.port) as conn:
        conn.send(f"GET {HEALTH_PATH} HTTP/1.1\r\n{headers}\r\n")
        _assert_raw_error(conn.read_response(), 400, message)


def test_request_targets(server):
    with RawConnection(server.port) as conn:
        # Absolute form (RFC 9112 §3.2.2): served as its path.
        conn.send(f"GET http://flint.example:8080{HEALTH_PATH}?x=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read_response().status == 200
        conn.send(f"GET HTTP://flint.example{HEALTH_PATH} HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.read_response().status == 200
    with RawConnection(server.port) as conn:
        conn.send("GET management/health HTTP/1.1\r\nHost: x\r\n\r\n")
        _assert_raw_error(conn.read_response(), 400, "expected a path starting with '/'")


@pytest.mark.parametrize(
    "target,message",
    [
        ("/management/health\xff", "only printable ASCII is allowed"),
        ("/a\"b", "only printable ASCII is allowed"),
        ("http:///management/health", "an absolute URI needs a host"),
        ("http://user:pw@h/management/health", "an absolute URI needs a host"),
    ],
)
def test_a_target_that_is_not_a_uri_is_400(server, target, message):
    # A 404 naming such a path in its JSON body would not be valid UTF-8 (hence not JSON).
    with RawConnection(server.port) as conn:
        conn.send(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode("latin-1"))
        refused = conn.read_response()
        _assert_raw_error(refused, 400, message)
        assert conn.at_eof()


@pytest.mark.parametrize("host", ["a, b", "a b/c@d", "flint:80x"])
def test_a_host_that_is_not_a_host_and_port_is_400(server, host):
    with RawConnection(server.port) as conn:
        conn.send(f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n")
        _assert_raw_error(conn.read_response(), 400, "Host: expected a host name")


@pytest.mark.parametrize(
    "tenant_lines,message",
    [
        (b"tenantId: Soci\xe9t\xe9\r\n", "tenantId: not valid UTF-8"),
        (b"tenantId: t-1\r\ntenantId: t-2\r\n", "tenantId: sent more than once"),
    ],
)
def test_a_tenant_id_must_be_one_utf8_value(server, tenant_lines, message):
    # A Latin-1 tenant id accepted once made every later page of GET /api/events invalid JSON.
    before = server.last_seq()
    body = json.dumps(execute_body()).encode()
    with RawConnection(server.port) as conn:
        conn.send(
            f"POST {EXECUTE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n".encode() + tenant_lines + b"\r\n" + body
        )
        refused = conn.read_response()
        _assert_raw_error(refused, 400, message)
        assert "tenantid" not in refused.headers
    assert server.last_seq() == before
    assert server.get("/api/events").json()  # still JSON


def test_two_content_types_are_refused(server):
    # Whichever one a reader took, the other could be the one meant.
    body = json.dumps(execute_body()).encode()
    with RawConnection(server.port) as conn:
        conn.send(
            f"POST {EXECUTE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )
        _assert_raw_error(conn.read_response(), 400, "Content-Type: sent more than once")


def test_connection_close_on_a_second_connection_line_is_honoured(server):
    with RawConnection(server.port) as conn:
        conn.send(
            f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n"
            "Connection: close\r\n\r\n"
        )
        assert conn.read_response().headers["connection"].lower() == "close"
        assert conn.at_eof()


def test_http_1_0_expect_is_ignored(server):
    with RawConnection(server.port) as conn:
        body = json.dumps(find_body("k"))
        conn.send(
            f"POST {FIND_PATH} HTTP/1.0\r\nContent-Type: application/json\r\n"
            f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        response = conn.read_response()
        assert response.status == 200, response  # not an interim 100 first


def test_empty_lines_before_a_request_line_are_ignored(server):
    """RFC 9112 §2.2: a CRLF before a request line, as some clients send after a body."""
    with RawConnection(server.port) as conn:
        conn.send(b"\r\n" + raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        conn.send(raw_request("POST", FIND_PATH, json.dumps(find_body("k")), JSON) + b"\r\n")
        assert conn.read_response().status == 200
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        conn.send(b"\r\n\r\n")
        time.sleep(0.2)
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        # A bare LF ends a line too (RFC 9112 §2.2 allows it).
        conn.send(b"\n\r\n\n" + raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200


def test_a_stray_empty_line_does_not_start_a_request(limited):
    # Kept alive past http.read_timeout (1.5 s) after a body and its stray CRLF: the
    # connection is idle, not a request that timed out.
    with RawConnection(limited.port, timeout=15) as conn:
        conn.send(raw_request("POST", FIND_PATH, json.dumps(find_body("k")), JSON))
        assert conn.read_response().status == 200
        conn.send(b"\r\n")
        time.sleep(2.5)
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200


def test_endless_empty_lines_count_toward_the_header_size(limited):
    with RawConnection(limited.port, timeout=15) as conn:
        conn.send(b"\r\n" * 1100)  # 2200 bytes, over http.max_header_size (2 KiB)
        _assert_raw_error(conn.read_response(), 431, "http.max_header_size")
        assert conn.at_eof()


def test_server_survives_abrupt_disconnects(server):
    for partial in (b"POST /api/driver/lifecycle/execute HTTP/1.1\r\nContent-Le", b"GET /"):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(partial)
        s.close()
    assert server.get(HEALTH_PATH).status_code == 200


# -- limits (their own server) -------------------------------------------------------------

LIMITS = {"http": {"max_header_size": "2KiB", "max_body_size": "4KiB", "read_timeout": "1500ms"}}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    instance = FlintServer(tmp_path_factory.mktemp("limited"), LIMITS).start()
    yield instance
    assert instance.stop() == 0, instance.stderr()[-4000:]


def test_body_over_max_body_size_is_413(limited):
    big = json.dumps(execute_body(resource_properties={"pad": {"type": "string", "value": "x" * 8000}}))
    with RawConnection(limited.port) as conn:
        conn.send(raw_request("POST", EXECUTE_PATH, big, JSON))
        _assert_raw_error(conn.read_response(), 413, "http.max_body_size", "4096")


def test_body_over_the_limit_is_413_with_requests_too(limited):
    r = limited.post_json(EXECUTE_PATH, {"pad": "y" * 10000})
    assert r.status_code == 413, r.text
    assert r.json()["status"] == 413


def test_chunked_body_over_max_body_size_is_413(limited):
    big = b'{"pad": "' + b"z" * 6000 + b'"}'
    with RawConnection(limited.port) as conn:
        conn.send(
            raw_request(
                "POST",
                EXECUTE_PATH,
                chunked(big, [1000] * 10),
                {**JSON, "Transfer-Encoding": "chunked"},
                content_length=False,
            )
        )
        _assert_raw_error(conn.read_response(), 413)


def _vm_rss_kib(server) -> int:
    with open(f"/proc/{server.process.pid}/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0])


@pytest.mark.parametrize("part", ["chunk extension", "trailer section"])
def test_an_endless_chunk_extension_or_trailer_is_431_and_bounded(limited, part):
    # Beast's limits count neither: without a bound on the read buffer, a client could make
    # the server hold as much as it sends within http.read_timeout.
    body = json.dumps(find_body("k")).encode()
    head = raw_request("POST", FIND_PATH, b"", {**JSON, "Transfer-Encoding": "chunked"},
                       content_length=False)
    before = _vm_rss_kib(limited)
    with RawConnection(limited.port) as conn:
        if part == "chunk extension":
            conn.send(head + b"%x;e=" % len(body))
        else:
            conn.send(head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n")
        try:
            for _ in range(64):  # up to 8 MiB, far over 2 KiB; the server answers long before
                conn.send((b"a" * 131072) if part == "chunk extension"
                          else b"X-T: " + b"v" * 131065 + b"\r\n")
        except OSError:
            pass  # refused and closed while sending: the answer is waiting
        response = conn.read_response()
    assert response.status == 431, response
    assert "(67584 bytes: http.max_header_size + 64 KiB)" in response.json()["localizedMessage"]
    assert part in response.json()["localizedMessage"], response
    assert _vm_rss_kib(limited) - before < 4096  # KiB
    assert limited.get(HEALTH_PATH).status_code == 200


def test_chunk_extensions_and_trailers_within_the_limit_are_served(limited):
    body = json.dumps(find_body("k")).encode()
    head = raw_request("POST", FIND_PATH, b"", {**JSON, "Transfer-Encoding": "chunked"},
                       content_length=False)
    with RawConnection(limited.port) as conn:
        conn.send(head + b"%x;name=" % len(body) + b"e" * 1000 + b"\r\n" + body
                  + b"\r\n0\r\nX-Trailer: " + b"t" * 1000 + b"\r\n\r\n")
        assert conn.read_response().status == 200


@pytest.mark.parametrize(
    "extension", [b';ext="\naaa"', b';a="\x00\x01\x7f"', b';a="x\ry"']
)
def test_a_chunk_extension_with_a_control_character_is_400_and_closes(server, extension):
    # A front end that ends the chunk line at the bare LF would read a different request
    # from the stream than Flint (the smuggled GET below): refused, and nothing after it read.
    head = raw_request("POST", FIND_PATH, b"", {**JSON, "Transfer-Encoding": "chunked"},
                       content_length=False)
    with RawConnection(server.port) as conn:
        conn.send(head + b"4" + extension + b"\r\n2a\r\n\r\n0\r\n\r\n"
                  b"GET /SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n")
        refused = conn.read_response()
        _assert_raw_error(refused, 400, "malformed HTTP request")
        assert refused.headers["connection"].lower() == "close"
        assert conn.at_eof()


def test_trailer_fields_do_not_change_the_request(server):
    # RFC 9110 §6.5.1: a trailer is not merged into the header. Neither the tenant nor the
    # content type nor the connection's fate can be set from one.
    body = json.dumps(execute_body()).encode()
    head = (
        f"POST {EXECUTE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "tenantId: tenant-A\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    trailer = b"tenantId: tenant-B\r\nConnection: close\r\nX-Tracectx-Spanid: from-trailer\r\n"
    with RawConnection(server.port) as conn:
        conn.send(head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n" + trailer + b"\r\n")
        accepted = conn.read_response()
        assert accepted.status == 202, accepted
        assert accepted.headers["tenantid"] == "tenant-A"
        assert accepted.headers.get("connection", "").lower() != "close"
        request_id = accepted.json()["requestId"]
        conn.send(raw_request("GET", HEALTH_PATH))  # still open
        assert conn.read_response().status == 200
    events = server.wait_events_for([request_id])[request_id]
    assert {event["tenantId"] for event in events} == {"tenant-A"}, events
    # A content type sent only as a trailer does not pass the 415 check.
    head = raw_request("POST", FIND_PATH, b"", {"Transfer-Encoding": "chunked"},
                       content_length=False)
    with RawConnection(server.port) as conn:
        conn.send(head + b"2\r\n{}\r\n0\r\nContent-Type: application/json\r\n\r\n")
        assert conn.read_response().status == 415


def test_a_body_memory_cannot_hold_now_is_503_and_flint_serves_on(start_server):
    # Under an address-space limit (ulimit -v), a body under http.max_body_size that
    # cannot be allocated used to end the process (the exception left the event loop).
    server = start_server()
    vm_size_kib = int(re.search(r"VmSize:\s+(\d+)", Path(f"/proc/{server.process.pid}/status")
                                .read_text()).group(1))
    soft = (vm_size_kib + 40 * 1024) * 1024  # 40 MiB of room: not enough for 60
    resource.prlimit(server.process.pid, resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
    big = execute_body(resource_properties={"big": {"type": "string", "value": "x" * (60 << 20)}})
    r = server.execute(big)
    assert_error(r, 503, "out of memory", "retry later")
    resource.prlimit(server.process.pid, resource.RLIMIT_AS,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert server.process.poll() is None
    assert server.execute(execute_body()).status_code == 202


def test_body_under_the_limit_is_served(limited):
    r = limited.execute(execute_body())
    assert r.status_code == 202, r.text


def test_header_over_max_header_size_is_431(limited):
    with RawConnection(limited.port) as conn:
        conn.send(raw_request("GET", HEALTH_PATH, headers={"X-Filler": "f" * 3000}))
        _assert_raw_error(conn.read_response(), 431, "http.max_header_size")


def test_a_target_over_max_header_size_is_414(limited):
    with RawConnection(limited.port) as conn:
        conn.send(f"GET /{'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = conn.read_response()
        _assert_raw_error(refused, 414, "the target is too long")
        assert conn.at_eof()


def test_many_headers_over_max_header_size_is_431(limited):
    headers = {f"X-H{i}": "v" * 40 for i in range(80)}
    with RawConnection(limited.port) as conn:
        conn.send(raw_request("GET", HEALTH_PATH, headers=headers))
        _assert_raw_error(conn.read_response(), 431)


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"FOO /x HTTP/1.1\r\nHost: a\r\ntenantId: t-7\r\n\r\n", 501),
        (
            b"POST /x HTTP/1.1\r\nHost: a\r\ntenantId: t-7\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
        (b"POST /x HTTP/1.1\r\nHost: a\r\ntenantId: t-7\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nHost: a\r\ntenantId: t-7\r\nContent-Length: 5000\r\n\r\n", 413),
        (
            b"POST /api/driver/lifecycle/execute HTTP/1.1\r\nHost: a\r\ntenantId: t-7\r\n"
            b"Content-Length: 10\r\n\r\n{",
            408,
        ),
    ],
    ids=["unknown-method", "gzip-chunked", "not-chunked", "content-length", "slow-body"],
)
def test_refusals_after_the_header_echo_the_tenant_id(limited, request_bytes, status):
    with RawConnection(limited.port, timeout=15) as conn:
        conn.send(request_bytes)
        r = conn.read_response()
        assert r.status == status, r
        assert r.headers.get("tenantid") == "t-7", r


def test_incomplete_headers_time_out_with_408(limited):
    with RawConnection(limited.port, timeout=15) as conn:
        started = time.monotonic()
        conn.send(b"GET /management/health HTTP/1.1\r\nHost: x\r\n")  # no blank line, ever
        r = conn.read_response()
        elapsed = time.monotonic() - started
        _assert_raw_error(r, 408, "http.read_timeout")
        assert 1.0 <= elapsed < 12, elapsed
        assert conn.at_eof()


def test_incomplete_body_times_out_with_408(limited):
    with RawConnection(limited.port, timeout=15) as conn:
        conn.send(
            b"POST /api/driver/lifecycle/execute HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lifecycle"
        )
        _assert_raw_error(conn.read_response(), 408)


def _dribble(conn: RawConnection, data: bytes, seconds: float, pieces: int = 10) -> None:
    """Sends `data` in `pieces` spread over `seconds`; stops early once the server answers."""
    step = -(-len(data) // pieces)
    for start in range(0, len(data), step):
        conn.send(data[start : start + step])
        readable, _, _ = select.select([conn.sock], [], [], seconds / pieces)
        if readable:
            return


def test_read_timeout_bounds_the_header_and_the_body_together(start_server):
    """http.read_timeout runs from the request's first byte: a header that takes most of it
    leaves the body only the rest, not a timeout of its own."""
    timeout = 3.0
    flint = start_server({"http": {"read_timeout": "3s"}})
    body = json.dumps(find_body("k")).encode()
    header = (
        f"POST {FIND_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with RawConnection(flint.port, timeout=15) as conn:
        started = time.monotonic()
        _dribble(conn, header, 0.7 * timeout)
        _dribble(conn, body, 0.7 * timeout)
        r = conn.read_response()
        elapsed = time.monotonic() - started
        _assert_raw_error(r, 408, "http.read_timeout")
        # One watchdog tick late at most (a tenth of the timeout), plus slack.
        assert elapsed < 1.1 * timeout + 0.5, elapsed


def test_a_slow_client_does_not_block_others(limited):
    with RawConnection(limited.port, timeout=15) as slow:
        slow.send(b"GET /management/health HTTP/1.1\r\n")
        started = time.monotonic()
        assert limited.get(HEALTH_PATH, timeout=5).status_code == 200
        assert time.monotonic() - started < 1.0
        assert slow.read_response().status == 408


def test_idle_keep_alive_connection_is_not_a_read_timeout(limited):
    # Idle time between requests is governed by http.idle_timeout (60 s), not read_timeout.
    with RawConnection(limited.port, timeout=15) as conn:
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        time.sleep(2.5)
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200


def test_idle_timeout_closes_idle_connections(start_server):
    flint = start_server({"http": {"idle_timeout": "500ms"}})
    with RawConnection(flint.port, timeout=15) as conn:
        conn.send(raw_request("GET", HEALTH_PATH))
        assert conn.read_response().status == 200
        assert conn.at_eof(timeout=10), "idle connection was not closed after http.idle_timeout"


# -- event loops: connections spread over the I/O threads ---------------------------------


@pytest.mark.parametrize("io_threads", [1, 4])
def test_concurrent_keep_alive_connections_on_every_io_thread(start_server, io_threads):
    """Each I/O thread runs its own loop and connections are dealt to them in turn: many kept-alive
    connections at once (more than the loops) are all served, interleaved, and the host stops
    cleanly afterwards (the stop is asserted by the fixture)."""
    flint = start_server({"application": {"io_threads": io_threads}})
    connections = [RawConnection(flint.port) for _ in range(12)]
    failures: list[str] = []

    def client(conn: RawConnection, index: int) -> None:
        try:
            for round_ in range(5):
                conn.send(raw_request("POST", EXECUTE_PATH, json.dumps(execute_body()), JSON))
                accepted = conn.read_response()
                if accepted.status != 202:
                    failures.append(f"connection {index} round {round_}: {accepted}")
                conn.send(raw_request("GET", HEALTH_PATH))
                health = conn.read_response()
                if health.status != 200:
                    failures.append(f"connection {index} round {round_}: {health}")
        except Exception as error:  # noqa: BLE001 - reported below with its connection
            failures.append(f"connection {index}: {error!r}")

    clients = [threading.Thread(target=client, args=(c, i)) for i, c in enumerate(connections)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=60)
    for conn in connections:
        conn.close()
    assert not failures, failures
    assert flint.get(HEALTH_PATH).json()["vitals"]["http"]["status"] == "OK"


# -- file descriptors -----------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_running_out_of_file_descriptors_pauses_accepting(tmp_path):
    """At its limit on open files, accepting pauses instead of spinning on EMFILE and logging
    each failure; once the connections close, the server answers again."""
    limit = 64
    flint = FlintServer(tmp_path / "flint", open_file_limit=limit).start()
    held: list[socket.socket] = []
    try:
        assert f"exceeds the limit on open files ({limit})" in flint.stderr()
        # The kernel completes the handshakes of those flint cannot accept: they wait in the
        # backlog.
        for _ in range(limit + 16):
            held.append(socket.create_connection(("127.0.0.1", flint.port), timeout=5))
        time.sleep(0.5)
        pid = flint.process.pid
        cpu_before = _cpu_seconds(pid)
        failed_before = flint.stderr().count("accept failed")
        time.sleep(2)
        cpu = _cpu_seconds(pid) - cpu_before
        failed = flint.stderr().count("accept failed") - failed_before
        assert flint.stderr().count("accept failed") >= 1, "the test did not exhaust descriptors"
        assert failed < 50, f"{failed} 'accept failed' lines in 2 s"
        assert cpu < 0.5, f"flint used {cpu:.2f} s of CPU in 2 s while out of descriptors"
        for s in held:
            s.close()
        held.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                if flint.get(HEALTH_PATH, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "health did not answer after the connections closed"
            time.sleep(0.2)
        assert flint.wait_for_log(lambda line: "accepting again after" in line.get("message", ""))
    finally:
        for s in held:
            s.close()
        code = flint.stop()
    assert code == 0, flint.stderr()[-4000:]

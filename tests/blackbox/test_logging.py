"""Logstash log lines on stderr: shape, trace context from x-tracectx-* headers, no secrets."""

from __future__ import annotations

import re
import uuid

import pytest

from flint_blackbox import (
    FlintServer,
    assert_error,
    driver_package,
    execute_body,
    find_body,
    prop,
    wait_until,
)

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REQUIRED_KEYS = {
    "@timestamp",
    "@version",
    "message",
    "HOSTNAME",
    "path",
    "tags",
    "type",
    "thread_name",
    "level",
    "logger_name",
}


def test_every_stderr_line_is_a_logstash_json_object(server):
    assert server.execute(execute_body()).status_code == 202
    lines = server.log_lines()
    assert lines, "no log lines at all"
    for line in lines:
        missing = REQUIRED_KEYS - set(line)
        assert not missing, (missing, line)
        assert line["@version"] == "1", line
        assert line["type"] == "logstash", line
        assert TIMESTAMP.match(line["@timestamp"]), line
        assert isinstance(line["tags"], list), line
        assert isinstance(line["message"], str), line
    assert any("listening" in line["message"] for line in lines), "no start-up line"


def test_trace_context_headers_reach_every_log_line_of_the_request(server):
    transaction = f"tx-{uuid.uuid4()}"
    process = f"proc-{uuid.uuid4()}"
    r = server.execute(
        execute_body("Configure"),
        headers={"x-tracectx-TransactionId": transaction, "X-TRACECTX-ProcessId": process},
    )
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]

    traced = server.wait_for_log(lambda l: l.get("tracectx.transactionid") == transaction)
    assert traced, "no log line carries tracectx.transactionid"
    for line in traced:
        assert line.get("tracectx.processid") == process, line
        assert not any(k.startswith("tracectx.") and k != k.lower() for k in line), line

    # The line written on the driver thread (it names the driver's request id) has it too.
    accepted = server.wait_for_log(lambda l: request_id in l["message"])
    assert accepted, f"no log line names request {request_id}"
    assert all(l.get("tracectx.transactionid") == transaction for l in accepted), accepted
    # So does the ending, logged by the store writer once it is committed.
    ended = server.wait_for_log(lambda l: l["message"] == f"execution {request_id} COMPLETE")
    assert ended, f"no log line says request {request_id} ended"
    assert all(l.get("tracectx.transactionid") == transaction for l in ended), ended

    # And the context does not leak into the next request's lines.
    other = f"tx-{uuid.uuid4()}"
    assert server.execute(execute_body(), headers={"x-tracectx-TransactionId": other}).status_code == 202
    later = server.wait_for_log(lambda l: l.get("tracectx.transactionid") == other)
    assert later
    assert all(l.get("tracectx.processid") != process for l in later), later


def test_trace_context_on_refused_requests(server):
    transaction = f"tx-{uuid.uuid4()}"
    r = server.execute(
        execute_body(request_properties={"noop.raise": "driver"}),
        headers={"x-tracectx-TransactionId": transaction},
    )
    assert r.status_code == 500
    lines = server.wait_for_log(lambda l: l.get("tracectx.transactionid") == transaction)
    errors = [l for l in lines if l["level"].lower().startswith("err")]
    assert errors, lines
    # Contract section 7: an error line carries the exception's stack_trace.
    assert any(
        re.match(r"flint::sdk::\w+Error: noop driver: driver raised", l.get("stack_trace", ""))
        for l in errors
    ), errors
    assert all("stack_trace" not in l for l in lines if l not in errors), lines


PEM_TEMPLATE = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA{marker}\n"
    "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LW11c3QtbmV2ZXItYmUtbG9nZ2Vk\n"
    "-----END RSA PRIVATE KEY-----\n"
)


def test_private_keys_and_bodies_never_reach_the_logs(server):
    marker = uuid.uuid4().hex
    pem = PEM_TEMPLATE.format(marker=marker)
    key = {"type": "key", "keyName": "ssh", "privateKey": pem, "publicKey": "ssh-rsa AAAA"}
    body_marker = f"body-{uuid.uuid4().hex}"
    files_marker = f"files-{uuid.uuid4().hex}"
    package = driver_package({"secret.txt": files_marker})

    body = execute_body(
        resource_properties={"ssh": key, "note": prop(body_marker)},
        driver_files=package,
    )
    # A value in a key entry is not the contract's: as secret as the key.
    body["requestProperties"]["sshKey"] = {**key, "value": body_marker}
    # The debug line names the request properties and their types, never a value:
    # a name no list of secret-looking names would catch.
    body["requestProperties"]["adminPwd"] = prop(body_marker)
    body["requestProperties"]["vimUrl"] = prop(f"https://admin:{body_marker}@vim.example.net")
    body["systemProperties"]["extra"] = prop(body_marker)
    r = server.execute(body, headers={"tenantId": "t-secret"})
    assert r.status_code == 202, r.text

    # A refused request carrying the same key.
    bad = execute_body(resource_properties={"ssh": key}, request_properties={"noop.raise": "driver"})
    assert server.execute(bad).status_code == 500
    invalid = dict(body)
    invalid.pop("lifecycleName")
    assert_error(server.execute(invalid), 400)
    # find with the key in the deployment location properties.
    found = find_body("k", {"privateKey": pem, "password": body_marker})
    assert server.find(found).status_code == 200

    # The lines for these requests were written (debug level logs every request) ...
    assert server.wait_for_log(lambda l: r.json()["requestId"] in l["message"])
    assert server.wait_for_log(
        lambda l: l["message"].startswith("execute Create at location ")
        and '"adminPwd":"string","vimUrl":"string"' in l["message"]
    )
    text = server.stderr()
    # ... but none of them carries the secrets or the bodies.
    assert marker not in text
    assert "PRIVATE KEY" not in text
    assert body_marker not in text
    assert files_marker not in text
    assert package not in text


def test_keys_in_text_the_host_does_not_parse_are_masked_and_lines_stay_json(server):
    # A key pasted into a lifecycle name or an instance name, and a stray byte
    # in a header: every line is still valid JSON, with the key masked.
    marker = uuid.uuid4().hex
    pem = PEM_TEMPLATE.format(marker=marker)
    assert server.find(find_body(pem)).status_code in (200, 400)  # newlines: not a name
    assert server.execute(execute_body(pem)).status_code in (202, 400)
    # (A tenantId that is not UTF-8 is refused before anything is logged.)
    r = server.post_json(
        "/api/driver/references/find",
        {},
        headers={"x-tracectx-b": b"t\xff1", "x-tracectx-k": " ".join(pem.splitlines())},
    )
    assert r.status_code == 400
    assert server.wait_for_log(lambda l: l.get("tracectx.b") == "t\\xff1")
    assert marker not in server.stderr()
    assert server.log_lines()  # every line parses (log_lines raises otherwise)


def test_flat_log_format_is_plain_text(start_server):
    flint = start_server({"logging": {"type": "flat", "level": "info"}})
    assert flint.execute(execute_body()).status_code == 202
    text = flint.stderr()
    assert "listening" in text
    assert not text.lstrip().startswith("{"), text[:300]


@pytest.mark.parametrize("log_type", ["flat", "logstash"])
def test_under_the_journal_each_line_starts_with_its_priority(tmp_path, log_type):
    # systemd's journal takes a line's priority from a `<N>` prefix (and strips it); without
    # one, every line was stored at info and `journalctl -p err` found no error.
    server = FlintServer(tmp_path / "journal", {"logging": {"type": log_type, "level": "info"}})
    server.stderr_path.touch()  # the file flint's standard error will be, as systemd names it
    stream = server.stderr_path.stat()
    server.env = {"JOURNAL_STREAM": f"{stream.st_dev}:{stream.st_ino}"}
    server.start()
    try:
        assert_error(server.execute(execute_body(request_properties={"noop.raise": "driver"})),
                     500, "noop.raise")
        wait_until(lambda: any(line.startswith("<3>") and "refused with 500" in line
                               for line in server.stderr().splitlines()),
                   timeout=10, what="the refusal's line at priority 3 (error)")
        lines = server.stderr().splitlines()
        assert all(re.match(r"<[2-7]>[{0-9]", line) for line in lines), lines[:5]
        assert any(line.startswith("<6>") and "listening on" in line for line in lines), lines[:5]
    finally:
        assert server.stop() == 0
    # Inherited, but naming another file (a shell a service started): no prefix.
    server.env = {"JOURNAL_STREAM": f"{stream.st_dev}:{stream.st_ino}"}
    server.start()
    try:
        assert not server.stderr().startswith("<"), server.stderr()[:200]
    finally:
        assert server.stop() == 0


def test_trace_context_on_polls_the_breaker_refuses(start_server):
    """Polls failing until the location's breaker opens: the refusals, logged where the poll
    was scheduled (no driver thread), and the breaker's probe carry the request's context."""
    server = start_server({
        "monitoring": {"min_interval": "50ms", "max_interval": "100ms"},
        "drivers": {"breaker": {"failure_threshold": 2, "open_duration": "1s"}},
    })
    transaction = f"tx-{uuid.uuid4()}"
    r = server.execute(
        execute_body(request_properties={"noop.raiseOnPoll": "temporary", "noop.raiseOnPollTimes": 3}),
        headers={"x-tracectx-TransactionId": transaction},
    )
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    assert server.wait_terminal(request_id)["status"] == "COMPLETE"
    lines = server.log_lines()
    refused = [l for l in lines
               if l["message"].startswith(f"execution {request_id}: ") and "circuit breaker" in l["message"]]
    probing = [l for l in lines if "circuit breaker half-open" in l["message"]]
    assert refused and probing, lines
    for line in refused + probing:
        assert line.get("tracectx.transactionid") == transaction, line


def test_a_driver_errors_detail_for_the_operator_is_logged_never_answered(server):
    r = server.execute(execute_body(request_properties={"noop.raise": "driver"}))
    assert_error(r, 500, "noop.raise")
    assert "operator detail" not in r.text
    logged = server.wait_for_log(lambda line: line["message"].startswith(
        "/api/driver/lifecycle/execute from 127.0.0.1 refused with 500 (driver 'noop'): noop driver: driver "
        "raised as requested by noop.raise (operator detail of noop.raise)"))
    assert logged and logged[-1]["level"] == "ERROR", logged


def test_a_refusal_before_any_driver_was_chosen_names_none_and_the_client(server):
    body = execute_body()
    del body["lifecycleName"]
    r = server.execute(body)
    assert r.status_code == 400, r.text
    logged = server.wait_for_log(lambda line: line["message"].startswith(
        "/api/driver/lifecycle/execute from 127.0.0.1 refused with 400: lifecycleName"))
    assert logged and logged[-1]["level"] == "INFO", logged

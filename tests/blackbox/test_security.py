"""Authentication on the HTTP listener: bearer tokens from http.auth.tokens_file."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time

import pytest
import requests
import yaml

from flint_blackbox import (
    FlintServer,
    RawConnection,
    assert_error,
    child_environment,
    execute_body,
    flint_binary,
)

TOKEN = "orchestrator-token-5f0c1d2e3b4a69788796a5b4"
OTHER = "second-client-token-0a1b2c3d4e5f60718293"


def token_file(directory, *lines: str, mode: int = 0o600):
    path = directory / "tokens"
    path.write_text("".join(line + "\n" for line in lines))
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    directory = tmp_path_factory.mktemp("security")
    tokens = token_file(directory, "# the LM", TOKEN, "", OTHER)
    instance = FlintServer(directory, {"http": {"auth": {"tokens_file": str(tokens)}}}).start()
    yield instance
    code = instance.stop()
    assert code == 0, f"flint serve exited with {code}; stderr tail:\n{instance.stderr()[-4000:]}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_request_without_a_token_is_401_with_the_error_shape(secured):
    r = secured.execute(execute_body())
    body = assert_error(r, 401, "Authorization: Bearer")
    assert body["status"] == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="flint"'


def test_a_wrong_token_or_scheme_is_401(secured):
    wrong = secured.execute(execute_body(), headers=bearer(TOKEN + "x"))
    assert_error(wrong, 401, "not accepted")
    assert wrong.headers["WWW-Authenticate"] == 'Bearer realm="flint", error="invalid_token"'
    assert_error(
        secured.execute(execute_body(), headers={"Authorization": f"Basic {TOKEN}"}),
        401,
        "send the header Authorization: Bearer <token>",
    )


def test_two_authorization_headers_are_refused_whatever_their_order(secured):
    for first, second in ((TOKEN, "wrong"), ("wrong", TOKEN)):
        with RawConnection(secured.port) as conn:
            conn.send(
                f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {first}\r\n"
                f"Authorization: Bearer {second}\r\n\r\n"
            )
            response = conn.read_response()
            assert response.status == 401
            assert "sent more than once" in response.json()["localizedMessage"]


def test_an_unauthenticated_body_is_neither_invited_nor_read(secured):
    # A 60 MB announcement, with Expect: 100-continue: the 401 comes at once,
    # with no 100 Continue before it, and the connection is closed.
    with RawConnection(secured.port) as conn:
        conn.send(
            "POST /api/driver/lifecycle/execute HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nExpect: 100-continue\r\n"
            "Content-Length: 60000000\r\n\r\n"
        )
        response = conn.read_response()
        assert response.status == 401
        assert response.headers.get("connection", "").lower() == "close"


@pytest.mark.parametrize(
    "request_line, status, fragment",
    [
        ("POST /management/health", 405, "method POST is not allowed on /management/health"),
        ("GET /management/health", 400, "GET /management/health takes no request body"),
    ],
)
def test_a_public_path_does_not_invite_or_read_a_body_either(secured, request_line, status, fragment):
    # No token is needed there: a body no route reads is refused from its header.
    with RawConnection(secured.port) as conn:
        conn.send(
            f"{request_line} HTTP/1.1\r\nHost: x\r\ntenantId: t-9\r\n"
            "Expect: 100-continue\r\nContent-Length: 60000000\r\n\r\n"
        )
        response = conn.read_response()
        assert response.status == status, response
        assert fragment in response.json()["localizedMessage"]
        assert response.headers.get("connection", "").lower() == "close"
        assert response.headers.get("tenantid") == "t-9"
    # An empty body is no body.
    with RawConnection(secured.port) as conn:
        conn.send("GET /management/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert conn.read_response().status == 200


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 401),  # no token
        (b"HEAD /management/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400),
        (b"HEAD /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 401),
    ],
)
def test_a_refused_head_request_gets_no_body(secured, request_bytes, status):
    # RFC 9110 §9.3.2: the answer to HEAD has no content, refusals included.
    with RawConnection(secured.port) as conn:
        conn.send(request_bytes)
        response = conn.read_response(to_head=True)
        assert response.status == status, response
        assert int(response.headers["content-length"]) > 0  # what GET would have carried
        assert conn.at_eof(), "bytes after the head of a HEAD answer"


def test_every_route_needs_it_and_unknown_paths_do_not_leak(secured):
    for path in ["/metrics", "/api/drivers", "/api/events", "/api/driver/openapi.json", "/nowhere"]:
        assert_error(secured.get(path), 401)
    assert_error(secured.get("/nowhere", headers=bearer(TOKEN)), 404)


def test_each_listed_token_is_accepted(secured):
    for token in (TOKEN, OTHER):
        r = secured.execute(execute_body(), headers=bearer(token))
        assert r.status_code == 202, r.text
        request_id = r.json()["requestId"]
        assert secured.execution(request_id).status_code == 401
        record = secured.get(
            f"/api/driver/lifecycle/executions/{request_id}", headers=bearer(token)
        ).json()
        assert record["requestId"] == request_id


def test_health_stays_public_for_probes(secured):
    assert secured.get("/management/health").status_code == 200


def test_refusals_are_counted_and_no_token_reaches_the_log(secured):
    secured.execute(execute_body(), headers=bearer("wrong-" + TOKEN))
    metrics = requests.get(secured.url("/metrics"), headers=bearer(TOKEN), timeout=10).text
    assert 'status="401"' in metrics
    log = secured.stderr()
    assert TOKEN not in log and OTHER not in log


def test_a_refusal_is_logged_with_its_path_and_peer_at_most_once_per_10_s(tmp_path):
    tokens = token_file(tmp_path, TOKEN)
    server = FlintServer(tmp_path, {"http": {"auth": {"tokens_file": str(tokens)}}}).start()
    try:
        for _ in range(6):  # a client trying tokens must not flood the log
            assert server.execute(execute_body(), headers=bearer("guess-" + TOKEN)).status_code == 401
        refusals = [line["message"] for line in server.log_lines()
                    if line.get("message", "").startswith("authentication refused")]
        assert refusals == ["authentication refused: POST /api/driver/lifecycle/execute from "
                            "127.0.0.1: the bearer token is not accepted"], refusals
        assert TOKEN not in server.stderr()
    finally:
        assert server.stop() == 0


def test_the_cli_sends_the_token_from_its_file(secured, tmp_path):
    client_token = tmp_path / "token"
    client_token.write_text("# mine\n" + TOKEN + "\n")
    common = ["drivers", "--url", f"http://127.0.0.1:{secured.port}", "--json"]
    refused = _run(common)
    assert refused.returncode == 2
    assert "401: authentication required" in refused.stderr, refused.stderr
    assert "--token-file" in refused.stderr, refused.stderr
    accepted = _run(common + ["--token-file", str(client_token)])
    assert accepted.returncode == 0, accepted.stderr
    assert "noop" in accepted.stdout


@pytest.mark.parametrize(
    "lines, mode, fragment",
    [
        ([TOKEN], 0o644, "chmod 600"),
        (["# only a comment"], 0o600, "holds no token"),
        ([TOKEN, "too-short"], 0o600, "line 2"),
    ],
)
def test_an_unusable_token_file_stops_the_start(tmp_path, lines, mode, fragment):
    tokens = token_file(tmp_path, *lines, mode=mode)
    config = tmp_path / "flint.yaml"
    config.write_text(
        f"application: {{port: 0}}\nhttp: {{auth: {{tokens_file: {tokens}}}}}\n"
        f"store: {{data_dir: {tmp_path / 'data'}}}\n"
    )
    result = _run(["serve", "--config", str(config)])
    assert result.returncode == 1, result.stderr
    assert fragment in result.stderr and str(tokens) in result.stderr, result.stderr
    assert "too-short" not in result.stderr


def _run(args: list[str]) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="flint-cli-") as workdir:
        return subprocess.run(
            [flint_binary(), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=child_environment(),
            stdin=subprocess.DEVNULL,
            cwd=workdir,
        )


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    from tls_files import Authority

    return Authority(tmp_path_factory.mktemp("pki"))


def tls_overrides(certificate, key, client_ca=None) -> dict:
    tls = {"cert_file": str(certificate), "key_file": str(key)}
    if client_ca is not None:
        tls["client_ca_file"] = str(client_ca)
    return {"http": {"tls": tls}}


def test_https_serves_the_api_and_refuses_plain_http(start_tls_server, authority):
    server = start_tls_server(tls_overrides(*authority.issue("server", server=True)), authority)
    r = server.execute(execute_body())
    assert r.status_code == 202, r.text
    assert server.execution(r.json()["requestId"]).status_code == 200
    # Plain HTTP on the TLS port gets no HTTP answer.
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{server.port}/management/health", timeout=5)
    # A client that does not trust the CA refuses the server.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url("/management/health"), timeout=5)
    # The server stays healthy after those failed handshakes, and counts them.
    assert server.get("/management/health").status_code == 200
    assert server.metrics().value("flint_http_tls_handshake_failures_total") >= 2
    assert any("listening on https://" in line["message"] for line in server.log_lines())


def test_tls_1_2_offers_only_forward_secret_aead_suites(start_tls_server, authority):
    server = start_tls_server(tls_overrides(*authority.issue("server", server=True)), authority)

    def handshake(cipher: str) -> str:
        context = ssl.create_default_context(cafile=str(authority.ca_file))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(cipher)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.cipher()[0]

    assert handshake("ECDHE-ECDSA-AES128-GCM-SHA256") == "ECDHE-ECDSA-AES128-GCM-SHA256"
    # In OpenSSL's default list, and taken when a client asks for it first.
    with pytest.raises(ssl.SSLError):
        handshake("ECDHE-ECDSA-AES128-SHA")


def test_mutual_tls_requires_a_client_certificate_from_the_ca(
    start_tls_server, authority, tmp_path
):
    from tls_files import Authority

    client = authority.issue("client", server=False)
    server = start_tls_server(
        tls_overrides(*authority.issue("server-m", server=True), client_ca=authority.ca_file),
        authority,
        client_cert=tuple(map(str, client)),
    )
    assert server.execute(execute_body()).status_code == 202
    with pytest.raises(requests.RequestException):
        requests.get(server.url("/management/health"), verify=str(authority.ca_file), timeout=5)
    stranger = Authority(tmp_path / "other", name="other CA").issue("stranger", server=False)
    with pytest.raises(requests.RequestException):
        requests.get(
            server.url("/management/health"),
            verify=str(authority.ca_file),
            cert=tuple(map(str, stranger)),
            timeout=5,
        )
    assert server.get("/management/health").status_code == 200


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_mutual_tls_clients_resume_their_sessions(start_tls_server, authority, version):
    # OpenSSL refuses to resume a session with a client certificate unless the server's
    # context names its sessions; clients that cache sessions then failed every reconnection.
    client = tuple(map(str, authority.issue("client-r", server=False)))
    server = start_tls_server(
        tls_overrides(*authority.issue("server-r", server=True), client_ca=authority.ca_file),
        authority,
        client_cert=client,
    )
    context = ssl.create_default_context(cafile=str(authority.ca_file))
    context.load_cert_chain(*client)
    context.minimum_version = context.maximum_version = version

    def health(session=None):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as tls:
                tls.sendall(b"GET /management/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                response = b""
                while chunk := tls.recv(65536):
                    response += chunk
                return response, tls.session, tls.session_reused

    first, session, _ = health()
    assert first.startswith(b"HTTP/1.1 200 "), first[:200]
    second, _, reused = health(session)
    assert second.startswith(b"HTTP/1.1 200 "), second[:200]
    assert reused


def _strict_tls_client(authority, port: int) -> ssl.SSLSocket:
    """A client that reports a connection closed without close_notify (Python ignores it by
    default)."""
    context = ssl.create_default_context(cafile=str(authority.ca_file))
    context.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)


def _read_to_close_notify(sock: ssl.SSLSocket) -> bytes:
    """Everything up to the server's close_notify; SSLEOFError when the TCP connection ends
    without one."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_tls_connections_end_with_close_notify(start_tls_server, authority):
    """RFC 8446 §6.1: the server sends close_notify before it closes, after a response, a
    refusal, and at a stop."""
    server = start_tls_server(tls_overrides(*authority.issue("server-c", server=True)), authority)
    for request, status in [
        (b"GET /management/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"200"),
        (b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", b"501"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
    ]:
        with _strict_tls_client(authority, server.port) as client:
            client.sendall(request)
            assert _read_to_close_notify(client).startswith(b"HTTP/1.1 " + status + b" ")
    idle = _strict_tls_client(authority, server.port)
    idle.sendall(b"GET /management/health HTTP/1.1\r\nHost: x\r\n\r\n")
    response = b""
    while b"\r\n\r\n" not in response:
        response += idle.recv(65536)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), response
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += idle.recv(65536)
    # Kept alive and idle: the stop closes it.
    server.signal(signal.SIGTERM)
    assert _read_to_close_notify(idle) == b""
    idle.close()


def test_tls_and_tokens_together(start_tls_server, authority, tmp_path):
    overrides = tls_overrides(*authority.issue("server-t", server=True))
    overrides["http"]["auth"] = {"tokens_file": str(token_file(tmp_path, TOKEN))}
    server = start_tls_server(overrides, authority)
    assert server.execute(execute_body()).status_code == 401
    assert server.execute(execute_body(), headers=bearer(TOKEN)).status_code == 202


def test_the_cli_speaks_https_checking_the_server_against_its_cacert(
    start_tls_server, authority, tmp_path
):
    overrides = tls_overrides(*authority.issue("server-c", server=True))
    overrides["http"]["auth"] = {"tokens_file": str(token_file(tmp_path, TOKEN))}
    server = start_tls_server(overrides, authority)
    client_token = tmp_path / "client-token"
    client_token.write_text(TOKEN + "\n")
    common = ["drivers", "--url", f"https://127.0.0.1:{server.port}", "--token-file", str(client_token)]
    untrusted = _run(common)
    assert untrusted.returncode == 2, untrusted.stdout
    assert "TLS handshake" in untrusted.stderr and "certificate verify failed" in untrusted.stderr
    trusted = _run(common + ["--cacert", str(authority.ca_file)])
    assert trusted.returncode == 0, trusted.stderr
    assert "noop" in trusted.stdout


def test_the_cli_presents_a_client_certificate_to_a_mutual_tls_server(
    start_tls_server, authority
):
    client = authority.issue("cli-client", server=False)
    server = start_tls_server(
        tls_overrides(*authority.issue("server-cm", server=True), client_ca=authority.ca_file),
        authority,
        client_cert=tuple(map(str, client)),
    )
    common = ["drivers", "--url", f"https://127.0.0.1:{server.port}",
              "--cacert", str(authority.ca_file)]
    refused = _run(common)
    assert refused.returncode == 2, refused.stdout
    presented = _run(common + ["--cert", str(client[0]), "--key", str(client[1])])
    assert presented.returncode == 0, presented.stderr
    assert "noop" in presented.stdout
    alone = _run(common + ["--cert", str(client[0])])
    assert alone.returncode == 2 and "--key" in alone.stderr, alone.stderr


@pytest.mark.parametrize(
    "problem, fragment",
    [
        ("missing certificate", "does not exist"),
        ("key open to others", "chmod 600"),
        ("key of another certificate", "mismatch"),
        ("key without certificate", "go together"),
        ("key with a passphrase", "is encrypted with a passphrase"),
        ("certificate is a pipe", "is not a regular file"),
        ("client CA file is a pipe", "is not a regular file"),
    ],
)
def test_unusable_tls_settings_stop_the_start(authority, tmp_path, problem, fragment):
    # (A passphrase prompt would also wait forever on a terminal: none is ever shown.)
    certificate, key = authority.issue(
        "server-bad", server=True,
        passphrase=b"secret" if problem == "key with a passphrase" else None)
    _, other_key = authority.issue("server-other", server=True)
    tls = {"cert_file": str(certificate), "key_file": str(key)}
    if problem == "missing certificate":
        tls["cert_file"] = str(tmp_path / "nothing.pem")
    elif problem == "key open to others":
        os.chmod(key, 0o644)
    elif problem == "key of another certificate":
        tls["key_file"] = str(other_key)
    elif problem == "key without certificate":
        del tls["cert_file"]
    elif problem.endswith("is a pipe"):
        # A secret mount gone wrong: OpenSSL would wait for a writer, forever.
        pipe = tmp_path / "pipe.pem"
        os.mkfifo(pipe, 0o600)
        tls["cert_file" if problem.startswith("certificate") else "client_ca_file"] = str(pipe)
    config = tmp_path / "flint.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "application": {"port": 0},
                "http": {"tls": tls},
                "store": {"data_dir": str(tmp_path / "data")},
            }
        )
    )
    result = _run(["serve", "--config", str(config)])
    assert result.returncode in (1, 2), result.stderr
    assert fragment in result.stderr, result.stderr


def test_an_expired_certificate_is_warned_about_at_the_start(authority, tmp_path):
    certificate, key = authority.issue("server-expired", server=True, expired=True)
    config = tmp_path / "flint.yaml"
    config.write_text(yaml.safe_dump({
        "application": {"port": 0},
        "http": {"tls": {"cert_file": str(certificate), "key_file": str(key)}},
        "store": {"data_dir": str(tmp_path / "data")},
    }))
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        process = subprocess.Popen([flint_binary(), "serve", "--config", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   stdin=subprocess.DEVNULL, env=child_environment(),
                                   cwd=tmp_path)
    try:
        deadline = time.monotonic() + 15
        while "listening on" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert f"TLS certificate {certificate} expired on" in text, text
        assert "clients that verify it will refuse the connection" in text
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def start_tls_server(tmp_path):
    started: list[FlintServer] = []

    def start(overrides, authority, client_cert=None) -> FlintServer:
        instance = FlintServer(
            tmp_path / f"tls-{len(started)}",
            overrides,
            tls_ca=authority.ca_file,
            client_cert=client_cert,
        )
        started.append(instance)
        return instance.start()

    yield start
    for instance in started:
        assert instance.stop() == 0, instance.stderr()[-4000:]


def test_serving_other_hosts_without_tls_or_tokens_is_warned_about(start_server):
    flint = start_server({"application": {"host": "0.0.0.0"}})
    warned = flint.wait_for_log(lambda l: "serves other hosts" in l["message"])
    assert warned and warned[0]["level"] == "WARNING", warned
    assert "without TLS" in warned[0]["message"]
    assert "without authentication" in warned[0]["message"]
    loopback = start_server({"application": {"host": "127.0.0.1"}}, name="loopback")
    assert loopback.get("/management/health").status_code == 200
    assert not [l for l in loopback.log_lines() if "serves other hosts" in l["message"]]


def test_a_request_with_many_properties_does_not_hold_a_network_thread(start_server):
    # Decoded on a network thread: a scan of the map per entry once took minutes for a body
    # far under http.max_body_size, and stalled every connection of that thread meanwhile.
    server = start_server()
    # 3 values per property (the entry, its type and value), 3 per topology entry: just
    # under the 100,000 values a body may hold.
    many = {f"p{i}": "v" for i in range(25_000)}
    topology = {f"vm{i}": {"id": f"i-{i}", "type": "Openstack"} for i in range(8_000)}
    started = time.monotonic()
    r = server.execute(execute_body(request_properties=many, topology=topology), timeout=60)
    assert r.status_code == 202, r.text[:500]
    assert time.monotonic() - started < 10


def test_a_body_of_too_many_values_is_refused_before_it_is_parsed(start_server):
    # Parsed, 200,000 small properties took about ten times the body's size in memory.
    server = start_server()
    many = {f"p{i}": "v" for i in range(200_000)}
    r = server.execute(execute_body(request_properties=many), timeout=60)
    assert_error(r, 413, "request body: more than 100000 JSON values")
    assert server.execute(execute_body()).status_code == 202


def test_a_named_store_key_file_that_is_missing_stops_the_start(tmp_path):
    # A typo or a secret volume that did not mount: a new key would make every sealed
    # deployment location unreadable. Only the default key file is Flint's to create.
    missing = tmp_path / "secrets" / "flint.key"
    server = FlintServer(tmp_path / "named", {"store": {"key_file": str(missing)}})
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert f"store.key_file: key file {missing} does not exist" in str(failure.value)
    assert not missing.exists()


def stopped_with_an_execution_in_flight(directory) -> tuple[FlintServer, str]:
    """A server that accepted one execution, still in progress, and stopped."""
    server = FlintServer(directory).start()
    r = server.execute(execute_body(request_properties={"noop.pollsInProgress": 100_000}))
    assert r.status_code == 202, r.text
    request_id = r.json()["requestId"]
    assert server.stop() == 0
    return server, request_id


def assert_refused_for_another_key(server: FlintServer) -> None:
    """The start refuses the key in the data directory: it did not seal the execution."""
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert (
        f"store.data_dir: {server.data_dir / 'credentials.key'} does not open the 1 executions "
        f"and 0 infrastructure tasks in flight in {server.data_dir / 'flint.db'}: they were "
        "sealed with another key"
    ) in str(failure.value), str(failure.value)


def test_a_missing_default_key_with_work_in_flight_stops_the_start(tmp_path):
    # A data directory restored without its key: a new key could not open what is in
    # flight, and every execution would fail, for good.
    server, request_id = stopped_with_an_execution_in_flight(tmp_path / "restored")
    key = server.data_dir / "credentials.key"
    key.unlink()
    with pytest.raises(RuntimeError) as failure:
        server.start()
    assert (
        f"store.data_dir: {key} is missing, but {server.data_dir / 'flint.db'} holds 1 "
        "executions and 0 infrastructure tasks in flight" in str(failure.value)
    ), str(failure.value)
    assert not key.exists()
    # Another key in its place (the wrong secret mounted) opens none of it either.
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    assert_refused_for_another_key(server)
    # Lost for good: the operator says so, and Flint fails what the old key sealed.
    server.overrides = {"store": {"accept_new_key": True}}
    server.start()
    record = server.wait_terminal(request_id)
    assert record["status"] == "FAILED", record
    assert "does not open the 1 executions" in server.stderr()
    assert server.stop() == 0


def run_sql(database, script: str) -> None:
    db = sqlite3.connect(database)  # its `with` commits but does not close
    try:
        db.executescript(script)
    finally:
        db.close()


def schema_version(database) -> int:
    db = sqlite3.connect(database)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_a_start_refused_for_its_key_leaves_older_databases_as_they_were(tmp_path):
    # The refused start had migrated both databases first: out of reach of the binary that
    # wrote them, the one to go back to while the right key is found.
    server, request_id = stopped_with_an_execution_in_flight(tmp_path / "old")
    records, events = server.data_dir / "flint.db", server.data_dir / "events.db"
    # As a build of flint.db schema 2 and events.db schema 1 left them: the job in a row
    # of its own.
    run_sql(records, """
            INSERT INTO jobs (kind, subject, payload, created_at, deadline_at)
          SELECT 'lifecycle_execution', request_id, job, accepted_at, deadline_at
          FROM executions WHERE job IS NOT NULL;
        DROP INDEX executions_monitored;
        ALTER TABLE executions DROP COLUMN job;
        ALTER TABLE executions DROP COLUMN deadline_at;
        ALTER TABLE jobs DROP COLUMN header;
        PRAGMA user_version = 2;
    """)
    run_sql(events, "CREATE INDEX events_appended_at ON events (appended_at);"
                    "PRAGMA user_version = 1;")
    key = server.data_dir / "credentials.key"
    right_key = key.read_bytes()
    key.write_bytes(os.urandom(32))
    assert_refused_for_another_key(server)
    assert (schema_version(records), schema_version(events)) == (2, 1)
    # The right key back: both are migrated, and the execution is resumed.
    key.write_bytes(right_key)
    server.start()
    try:
        assert (schema_version(records), schema_version(events)) == (4, 2)
        assert "flint.db: migrated from schema version 2 to 4" in server.stderr()
        # (The noop driver forgets its requests when it stops: the poll then stops monitoring.)
        assert "resumed monitoring of 1 unfinished executions" in server.stderr()
        assert server.execution(request_id).status_code == 200
    finally:
        assert server.stop() == 0


def test_a_named_store_key_file_is_used_and_the_default_one_created(tmp_path):
    key = tmp_path / "flint.key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    named = FlintServer(tmp_path / "named", {"store": {"key_file": str(key)}}).start()
    assert named.execute(execute_body()).status_code == 202
    assert not (named.data_dir / "credentials.key").exists()
    assert named.stop() == 0
    default = FlintServer(tmp_path / "default").start()
    assert (default.data_dir / "credentials.key").stat().st_mode & 0o777 == 0o600
    assert default.stop() == 0


def test_what_flint_creates_is_private_whatever_the_umask(tmp_path):
    # Under umask 000, the package workspace (where scripts are run from) was 0777: any local
    # user could swap a cached package for their own scripts.
    workspace = tmp_path / "srv" / "flint" / "ws"
    netns_state = tmp_path / "srv" / "netns-state"
    server = FlintServer(tmp_path / "run", {
        "resource_driver": {"scripts_workspace": str(workspace)},
        "drivers": {"netns": {"state_dir": str(netns_state)}},
    })
    before = os.umask(0)
    try:
        server.start()
    finally:
        os.umask(before)
    try:
        assert server.execute(execute_body()).status_code == 202
        for created in [tmp_path / "srv", tmp_path / "srv" / "flint", workspace, netns_state,
                        server.data_dir]:
            assert created.stat().st_mode & 0o777 == 0o700, created
    finally:
        assert server.stop() == 0


def test_directories_others_can_write_to_stop_the_start_all_named_at_once(tmp_path):
    workspace = tmp_path / "shared-ws"
    workspace.mkdir()
    workspace.chmod(0o777)
    server = FlintServer(tmp_path / "run", {"resource_driver": {"scripts_workspace": str(workspace)}})
    server.data_dir.mkdir()
    server.data_dir.chmod(0o775)  # as an older Flint made it under umask 002
    with pytest.raises(RuntimeError) as failure:
        server.start()
    message = str(failure.value)
    assert (f"resource_driver.scripts_workspace: {workspace} lets group or others write to it "
            "(mode 0777)") in message
    assert f"store.data_dir: {server.data_dir} lets group or others write to it (mode 0775)" in message
    assert not any(workspace.iterdir()) and not any(server.data_dir.iterdir())


def test_databases_an_older_flint_left_open_to_others_are_made_private(tmp_path):
    server = FlintServer(tmp_path / "run").start()
    assert server.execute(execute_body()).status_code == 202
    assert server.stop() == 0
    databases = [server.data_dir / name for name in ("flint.db", "events.db")]
    for database in databases:
        database.chmod(0o644)
    server.start()
    try:
        for database in databases:
            assert database.stat().st_mode & 0o777 == 0o600, database
        warned = server.wait_for_log(lambda l: "open to other users: made it 0600" in l["message"])
        assert {l["message"].split(" ")[0] for l in warned} >= {str(d) for d in databases}, warned
    finally:
        assert server.stop() == 0


# -- SIGHUP: renewed certificates and rotated tokens without a restart -----------------------


def _served_certificate_name(authority, port: int) -> str:
    """The common name of the certificate a new TLS connection is served."""
    context = ssl.create_default_context(cafile=str(authority.ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as client:
            subject = dict(item[0] for item in client.getpeercert()["subject"])
            return subject["commonName"]


def _install(source, destination):
    """Replaces `destination`'s content as an operator (or cert-manager) would."""
    destination.write_bytes(source.read_bytes())


def _live_certificate(authority, tmp_path, name: str):
    """A certificate and key at fixed paths (live/server.pem, .key), as a renewal tool keeps."""
    live = tmp_path / "live"
    live.mkdir()
    certificate, key = live / "server.pem", live / "server.key"
    for source, destination in zip(authority.issue(name, server=True), (certificate, key)):
        _install(source, destination)
    os.chmod(key, 0o600)
    return certificate, key


def _hang_up(server, expected_fragment: str) -> dict:
    """Sends SIGHUP and returns the log line that answers it."""
    before = len(server.log_lines())
    server.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answers = [l for l in server.log_lines()[before:] if "received SIGHUP" in l["message"]]
        if answers:
            assert expected_fragment in answers[0]["message"], answers
            return answers[0]
        time.sleep(0.05)
    raise AssertionError("no log line answered SIGHUP")


def test_sighup_serves_new_connections_a_renewed_certificate(start_tls_server, authority, tmp_path):
    certificate, key = _live_certificate(authority, tmp_path, "server-first")
    server = start_tls_server(tls_overrides(certificate, key), authority)
    assert _served_certificate_name(authority, server.port) == "server-first"
    kept = _strict_tls_client(authority, server.port)  # open across the reload

    renewed_certificate, renewed_key = authority.issue("server-renewed", server=True)
    _install(renewed_certificate, certificate)
    _install(renewed_key, key)
    line = _hang_up(server, f"read TLS certificate {certificate}")
    assert line["level"] == "INFO", line

    assert _served_certificate_name(authority, server.port) == "server-renewed"
    kept.sendall(b"GET /management/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert _read_to_close_notify(kept).startswith(b"HTTP/1.1 200 ")
    kept.close()
    assert server.execute(execute_body()).status_code == 202
    assert server.metrics().value("flint_credential_reloads_total", outcome="ok") == 1


def test_a_reload_with_an_unusable_file_keeps_everything_read_before(
    start_tls_server, authority, tmp_path
):
    certificate, key = _live_certificate(authority, tmp_path, "server-kept")
    tokens = token_file(tmp_path, TOKEN)
    overrides = tls_overrides(certificate, key)
    overrides["http"]["auth"] = {"tokens_file": str(tokens)}
    server = start_tls_server(overrides, authority)
    server.session.headers["Authorization"] = f"Bearer {TOKEN}"

    # A new certificate whose key has not been written yet, and a new token.
    _install(authority.issue("server-half", server=True)[0], certificate)
    token_file(tmp_path, OTHER)
    line = _hang_up(server, f"TLS private key {key}: cannot be loaded (key values mismatch")
    assert line["level"] == "ERROR" and "still using the files read before" in line["message"]

    assert _served_certificate_name(authority, server.port) == "server-kept"
    assert server.execute(execute_body()).status_code == 202  # TOKEN still accepted
    assert server.execute(execute_body(), headers=bearer(OTHER)).status_code == 401
    metrics = server.metrics()
    assert metrics.value("flint_credential_reloads_total", outcome="failed") == 1
    assert metrics.value("flint_credential_reloads_total", outcome="ok") == 0

    # Once the key is there too, both take effect; the old token is refused at once.
    new_certificate, new_key = authority.issue("server-whole", server=True)
    _install(new_certificate, certificate)
    _install(new_key, key)
    line = _hang_up(server, "1 bearer token from")
    assert line["message"].endswith("(every request from now on is checked against them, on open "
                                    "connections too)"), line
    assert _served_certificate_name(authority, server.port) == "server-whole"
    assert server.execute(execute_body()).status_code == 401
    assert server.execute(execute_body(), headers=bearer(OTHER)).status_code == 202
    assert TOKEN not in server.stderr() and OTHER not in server.stderr()


def test_sighup_during_a_stop_does_not_end_the_process_before_its_time(start_server):
    # Reload hooks (cert renewals, systemctl reload) race restarts: a SIGHUP must never take
    # its default action, which would end the process with status 129 mid-stop.
    flint = start_server()
    process = flint.process
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGHUP)
        time.sleep(0.002)
    assert process.wait(timeout=5) == 0, flint.stderr()[-2000:]


def test_sighup_without_tls_or_tokens_is_logged_and_changes_nothing(start_server):
    flint = start_server()
    _hang_up(flint, "nothing to read again")
    assert flint.execute(execute_body()).status_code == 202

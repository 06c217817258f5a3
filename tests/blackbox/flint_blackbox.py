"""Helpers for the black-box tests: run `flint serve`, build requests, speak raw HTTP.

Everything here drives the real binary from the outside; nothing imports Flint code.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import re
import resource
import signal
import socket
import subprocess
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import requests
import yaml

START_TIMEOUT = 10.0  # seconds until /management/health must answer
STOP_TIMEOUT = 15.0  # seconds until the process must exit after SIGTERM
HTTP_TIMEOUT = 30.0  # per-request timeout: generous, the machine may be loaded

EXECUTE_PATH = "/api/driver/lifecycle/execute"
FIND_PATH = "/api/driver/references/find"
HEALTH_PATH = "/management/health"
EXECUTIONS_PATH = "/api/driver/lifecycle/executions/"
EVENTS_PATH = "/api/events"
EVENTS_STREAM_PATH = "/api/events/stream"
LIFECYCLE_TOPIC = "lifecycle_execution_events"
# The contract's Kafka lifecycle event, keys in this order (failureDetails only when FAILED).
EVENT_KEYS_COMPLETE = ["requestId", "status", "outputs", "associatedTopology", "version"]
EVENT_KEYS_FAILED = [
    "requestId", "status", "failureDetails", "outputs", "associatedTopology", "version"
]


def flint_binary() -> str:
    """The binary under test, from FLINT_BIN; raises with a clear message otherwise."""
    path = os.environ.get("FLINT_BIN", "")
    if not path:
        raise RuntimeError(
            "FLINT_BIN is not set: point it at the flint binary "
            "(e.g. FLINT_BIN=build/lead/flint), or run the suite through ctest -R blackbox"
        )
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(f"FLINT_BIN={path!r} is not an executable file")
    return os.path.abspath(path)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a flint process: ours minus every variable flint reads.

    FLINT_* variables must name configuration keys (flint refuses unknown ones), and
    FLINT_BIN itself is one of ours, so none may leak into the child.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("FLINT_") and k not in ("LOG_LEVEL", "LOG_TYPE")
    }
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deep_merge(base: dict, override: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class FlintServer:
    """One `flint serve` process on a loopback port with its own config and workspace.

    stderr (the logs) and stdout go to files under `workdir`, readable while it runs.
    """

    def __init__(
        self,
        workdir: Path,
        overrides: dict | None = None,
        tls_ca: Path | None = None,
        client_cert: tuple[str, str] | None = None,
        open_file_limit: int | None = None,
        env: dict[str, str] | None = None,
        user: tuple[int, int] | None = None,
    ):
        """With `tls_ca`, the server is reached over https and its certificate checked
        against that CA file; `client_cert` is the (certificate, key) files to present.
        `open_file_limit` sets the process's RLIMIT_NOFILE, soft and hard. `env` adds
        environment variables. `user` is a (uid, gid) to run as (the caller must be root)."""
        self.binary = flint_binary()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workspace = self.workdir / "ws"
        self.stderr_path = self.workdir / "stderr.log"
        self.stdout_path = self.workdir / "stdout.log"
        self.config_path = self.workdir / "flint.yaml"
        self.overrides = overrides or {}
        self.port = 0
        self.host = "127.0.0.1"
        self.process: subprocess.Popen | None = None
        self.tls_ca = tls_ca
        self.client_cert = client_cert
        self.open_file_limit = open_file_limit
        self.env = env or {}
        self.user = user
        self.session = self._new_session()
        self.runs = 0  # earlier runs on this workdir (see start)

    # -- lifecycle -------------------------------------------------------------------------

    def config(self) -> dict:
        base = {
            "application": {"port": self.port, "io_threads": 2},
            # The suites of the foundation drive the scripted noop driver; the
            # script driver (the embedded default) has suites of its own.
            "resource_driver": {"driver": "noop", "scripts_workspace": str(self.workspace)},
            "store": {"data_dir": str(self.workdir / "data")},
            "logging": {"level": "debug", "type": "logstash"},
        }
        return deep_merge(base, self.overrides)

    def start(self) -> "FlintServer":
        # A restart on the same workdir (same config, same data dir) keeps the
        # logs of the previous run beside the new ones.
        if self.process is not None and self.stderr_path.exists():
            self.runs += 1
            self.stderr_path.rename(self.workdir / f"stderr.run{self.runs}.log")
            self.session.close()
            self.session = self._new_session()
        # A port found free can be taken before flint binds it: retry a few times.
        last_error = ""
        for _ in range(3):
            self.port = free_port()
            config = self.config()
            listen = config.get("application", {}).get("host", "")
            self.host = f"[{listen}]" if ":" in listen else "127.0.0.1"  # an IPv6 literal
            self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
            if self.user:  # readable whatever the umask of the test run
                os.chown(self.config_path, *self.user)
            with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
                self.process = subprocess.Popen(
                    [self.binary, "serve", "--config", str(self.config_path)],
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                    env=child_environment(self.env),
                    cwd=self.workdir,
                    preexec_fn=self._limit_open_files if self.open_file_limit else None,
                    **(
                        {"user": self.user[0], "group": self.user[1], "extra_groups": []}
                        if self.user
                        else {}
                    ),
                )
            try:
                self._wait_healthy()
                return self
            except _BindFailed as e:
                last_error = str(e)
                continue
        raise RuntimeError(f"flint could not bind a free port three times:\n{last_error}")

    def _limit_open_files(self) -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_file_limit, self.open_file_limit))

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        if self.tls_ca is not None:
            # Not REQUESTS_CA_BUNDLE and friends: they would override `verify`.
            session.trust_env = False
            session.verify = str(self.tls_ca)
        if self.client_cert is not None:
            session.cert = self.client_cert
        return session

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                text = self.stderr()
                if "cannot bind" in text:
                    raise _BindFailed(text)
                raise RuntimeError(f"flint serve exited with {code} while starting; stderr:\n{text}")
            try:
                r = self.session.get(self.url(HEALTH_PATH), timeout=1.0)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:500]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"flint serve did not answer {HEALTH_PATH} within {START_TIMEOUT}s "
            f"(last: {last}); stderr:\n{self.stderr()}"
        )

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.process.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code (kills and raises on a hang)."""
        self.session.close()
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"flint serve did not exit within {STOP_TIMEOUT}s of SIGTERM; stderr tail:\n"
                + self.stderr()[-4000:]
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    @property
    def data_dir(self) -> Path:
        return Path(self.config()["store"]["data_dir"])

    # -- requests --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        scheme = "https" if self.tls_ca is not None else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.get(self.url(path), **kwargs)

    def post_json(self, path: str, body: Any, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.session.post(self.url(path), data=json.dumps(body), headers=headers, **kwargs)

    def execute(self, body: dict, **kwargs) -> requests.Response:
        return self.post_json(EXECUTE_PATH, body, **kwargs)

    def find(self, body: dict, **kwargs) -> requests.Response:
        return self.post_json(FIND_PATH, body, **kwargs)

    def execution(self, request_id: str) -> requests.Response:
        """GET the durable record of one execution (the status extension)."""
        return self.get(EXECUTIONS_PATH + request_id)

    def events(self, after: int = 0, limit: int | None = None, wait: int | None = None) -> dict:
        """One GET /api/events page; asserts 200."""
        params: dict[str, int] = {"after": after}
        if limit is not None:
            params["limit"] = limit
        if wait is not None:
            params["wait"] = wait
        r = self.get(EVENTS_PATH, params=params, timeout=HTTP_TIMEOUT + (wait or 0))
        assert r.status_code == 200, r.text
        return r.json()

    def all_events(self, after: int = 0) -> list[dict]:
        """Every event after `after`, page by page."""
        found: list[dict] = []
        while True:
            page = self.events(after=after, limit=1000)["events"]
            if not page:
                return found
            found.extend(page)
            after = page[-1]["seq"]

    def last_seq(self) -> int:
        return self.events(after=0, limit=1)["lastSeq"]

    def wait_terminal(self, request_id: str, timeout: float = 30.0) -> dict:
        """The execution record once monitoring ended (complete or stopped), with its delivery
        recorded when it was complete."""

        def done():
            r = self.execution(request_id)
            assert r.status_code == 200, r.text
            record = r.json()
            if record["monitoring"] == "active":
                return None
            if record["monitoring"] == "complete" and record["deliveredAt"] is None:
                return None
            return record

        return wait_until(done, timeout, interval=0.1, what=f"execution {request_id} to end")

    def wait_events_for(self, request_ids, timeout: float = 30.0) -> dict[str, list[dict]]:
        """Events by request id (payload.requestId), waiting until each id has at least one."""
        wanted = set(request_ids)
        by_request: dict[str, list[dict]] = {}
        after = 0
        deadline = time.monotonic() + timeout
        while True:
            page = self.events(after=after, limit=1000, wait=1)["events"]
            for event in page:
                by_request.setdefault(event["payload"]["requestId"], []).append(event)
            if page:
                after = page[-1]["seq"]
            missing = wanted - by_request.keys()
            if not missing:
                return by_request
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s: no event for {len(missing)} request(s), "
                    f"e.g. {sorted(missing)[:5]}"
                )

    def health(self) -> dict:
        r = self.get(HEALTH_PATH)
        assert r.status_code == 200, r.text
        return r.json()

    def metrics(self) -> "Metrics":
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return Metrics(r.text)

    # -- logs ------------------------------------------------------------------------------

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self) -> list[dict]:
        """Every stderr line parsed as JSON; fails on a line that is not a JSON object."""
        lines = []
        written = self.stderr()
        # A line still being written (read while the server runs) is left for the next read.
        complete = written[: written.rfind("\n") + 1]
        for number, text in enumerate(complete.splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as e:
                raise AssertionError(f"stderr line {number} is not JSON ({e}): {text!r}")
            assert isinstance(line, dict), f"stderr line {number} is not an object: {text!r}"
            lines.append(line)
        return lines

    def wait_for_log(self, predicate, timeout: float = 10.0) -> list[dict]:
        """Log lines matching `predicate`, waiting until at least one exists."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.log_lines() if predicate(line)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)


class _BindFailed(Exception):
    pass


# -- request bodies ------------------------------------------------------------------------


def make_zip(files: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


DEFAULT_FILES = {
    "scripts/install.sh": "#!/bin/sh\necho install\n",
    "scripts/configure.yaml": "settings:\n  retries: 3\n",
    "README.md": "a tiny driver package\n",
}


def driver_package(files: dict[str, bytes | str] | None = None) -> str:
    """A base64 zip of a few files (DEFAULT_FILES unless given)."""
    return b64(make_zip(files if files is not None else DEFAULT_FILES))


def prop(value: Any, type_: str | None = None) -> dict:
    """A property map entry; the type is guessed from the Python value unless given."""
    if type_ is None:
        if isinstance(value, bool):
            type_ = "boolean"
        elif isinstance(value, int):
            type_ = "integer"
        elif isinstance(value, float):
            type_ = "float"
        elif isinstance(value, dict):
            type_ = "map"
        elif isinstance(value, list):
            type_ = "list"
        else:
            type_ = "string"
    return {"type": type_, "value": value}


def props(values: dict[str, Any]) -> dict:
    return {name: prop(value) for name, value in values.items()}


def deployment_location(properties: dict | None = None, name: str = "dl-1") -> dict:
    return {"name": name, "type": "noop", "properties": properties or {}}


def execute_body(
    lifecycle: str = "Create",
    request_properties: dict[str, Any] | None = None,
    resource_properties: dict | None = None,
    system_properties: dict | None = None,
    topology: dict | None = None,
    location: dict | None = None,
    driver_files: str | None = None,
) -> dict:
    """A valid execute request; `request_properties` are plain values turned into entries."""
    resource_id = str(uuid.uuid4())
    body = {
        "lifecycleName": lifecycle,
        "driverFiles": driver_files if driver_files is not None else driver_package(),
        "systemProperties": system_properties
        if system_properties is not None
        else {
            "resourceId": prop(resource_id),
            "resourceName": prop("bb-resource"),
            "requestId": prop(str(uuid.uuid4())),
            "resourceManagerId": prop("brent"),
            "deploymentLocation": prop("dl-1"),
            "resourceType": prop("resource::noop::1.0"),
        },
        "resourceProperties": resource_properties if resource_properties is not None else {},
        "requestProperties": props(request_properties or {}),
        "associatedTopology": topology if topology is not None else {},
        "deploymentLocation": location if location is not None else deployment_location(),
    }
    return body


def find_body(
    instance: str = "bb-instance",
    location_properties: dict | None = None,
    driver_files: str | None = None,
) -> dict:
    return {
        "instanceName": instance,
        "driverFiles": driver_files if driver_files is not None else driver_package(),
        "deploymentLocation": deployment_location(location_properties),
    }


def assert_error(response: requests.Response, status: int, *fragments: str) -> dict:
    """The error shape: JSON {localizedMessage: str, status: int} with the given status."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text[:1000]}"
    )
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip() == "application/json", content_type
    body = response.json()
    assert set(body) == {"localizedMessage", "status"}, body
    assert isinstance(body["localizedMessage"], str) and body["localizedMessage"], body
    assert body["status"] == status, body
    for fragment in fragments:
        assert fragment in body["localizedMessage"], (
            f"{fragment!r} not in message {body['localizedMessage']!r}"
        )
    if status == 503:
        assert_retry_after(response.headers.get("Retry-After"))
    return body


def assert_retry_after(value: str | None) -> int:
    """Every error 503 says when to retry: whole seconds, at least 1."""
    assert value is not None and value.isdigit() and int(value) >= 1, f"Retry-After: {value!r}"
    return int(value)


# -- Prometheus text -----------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """Samples of a Prometheus text exposition, looked up by name and a label subset."""

    def __init__(self, text: str):
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            assert m, f"not a Prometheus sample line: {line!r}"
            labels = dict(_LABEL.findall(m.group(2) or ""))
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def find(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return [
            (l, v)
            for n, l, v in self.samples
            if n == name and all(l.get(k) == want for k, want in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """Sum over the matching samples; 0 when none (a counter not yet touched)."""
        return sum(v for _, v in self.find(name, **labels))

    def has(self, name: str) -> bool:
        return any(n == name for n, _, _ in self.samples)


def damage_pages(database: Path, first: float, last: float, step: int) -> None:
    """Overwrites 2000 bytes inside every `step` bytes of `database` from `first` to `last`
    (fractions of its size), as a failing disk would: the file header is kept."""
    size = database.stat().st_size
    with open(database, "r+b") as f:
        for offset in range(int(size * first), int(size * last), step):
            f.seek(offset + 100)
            f.write(b"\xa5" * 2000)


def produce_large_events(server: "FlintServer", count: int) -> list[str]:
    """`count` executions with 2 KB outputs each, their events delivered; their ids."""
    ids = [server.execute(execute_body(request_properties={"noop.outputs": {"pad": "x" * 2000}}))
           .json()["requestId"] for _ in range(count)]
    server.wait_events_for(ids)
    return ids


def fill_disk(directory: Path) -> Path:
    """Writes until the file system of `directory` is full; returns the filler file."""
    filler = directory / "filler"
    # Unbuffered: a buffered writer would raise again at close, with what it still holds.
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


# -- raw HTTP ------------------------------------------------------------------------------


class RawResponse:
    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-cased names
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"RawResponse({self.status} {self.reason}, {self.headers}, {self.body[:300]!r})"


class RawConnection:
    """A plain socket speaking HTTP/1.1 by hand, for what `requests` cannot express."""

    def __init__(self, port: int, timeout: float = HTTP_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"connection closed before {marker!r}; got {self.buffer!r}")
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise ConnectionError(f"connection closed after {len(self.buffer)}/{n} bytes")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_response(self, to_head: bool = False) -> RawResponse:
        """The next response; `to_head`: the answer to a HEAD request (no body)."""
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        version, status, *reason = status_line.split(" ", 2)
        assert version.startswith("HTTP/1."), status_line
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status_code = int(status)
        if to_head or 100 <= status_code < 200 or status_code in (204, 304):
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self.read_until(b"\r\n")
                    break
                body += self.read_exact(size)
                self.read_exact(2)
        elif "content-length" in headers:
            body = self.read_exact(int(headers["content-length"]))
        else:
            while self._fill():
                pass
            body, self.buffer = self.buffer, b""
        return RawResponse(status_code, reason[0] if reason else "", headers, body)

    def at_eof(self, timeout: float = 5.0) -> bool:
        """True when the peer closes (or resets) the connection within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def raw_request(
    method: str,
    path: str,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    content_length: bool = True,
) -> bytes:
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if content_length and (body or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(data: bytes, sizes: list[int]) -> bytes:
    """`data` as a chunked body, cut into pieces of the given sizes (the rest in one)."""
    out = b""
    position = 0
    for size in sizes:
        piece = data[position : position + size]
        if not piece:
            break
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        position += len(piece)
    if position < len(data):
        piece = data[position:]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- durable execution ----------------------------------------------------------------------


def script_package(scripts: dict[str, str], extra: dict[str, bytes | str] | None = None) -> str:
    """A base64 zip for the script driver: `{"Create": "<sh text>"}` -> scripts/Create.sh."""
    files: dict[str, bytes | str] = {f"scripts/{name}.sh": text for name, text in scripts.items()}
    files.update(extra or {})
    return b64(make_zip(files))


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs: absent, or a zombie (dead, awaiting its reaper)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    # Field 3, after the parenthesised command name (which may hold spaces).
    state = stat.rpartition(")")[2].split()[0]
    return state in ("Z", "X")


class SseClient:
    """A Server-Sent Events reader on http.client (the stream is close-delimited)."""

    def __init__(self, port: int, path: str = EVENTS_STREAM_PATH, headers: dict | None = None,
                 timeout: float = HTTP_TIMEOUT):
        import http.client

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", path, headers=headers or {})
        self.response = self.connection.getresponse()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "SseClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def next_message(self) -> dict[str, str]:
        """The next message's fields (`id`, `event`, `data`); comments are skipped."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise ConnectionError(f"stream ended; message so far: {fields}")
            text = line.decode("utf-8").rstrip("\n").rstrip("\r")
            if text == "":
                if fields:
                    return fields
                continue
            if text.startswith(":"):
                continue
            name, _, value = text.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def next_event(self) -> dict:
        """The next event object, checking that `id` is its seq and `event` its topic."""
        message = self.next_message()
        event = json.loads(message["data"])
        assert message.get("id") == str(event["seq"]), message
        assert message.get("event") == event["topic"], message
        return event


class MockKafka:
    """A `flint_mock_kafka` process: three brokers on loopback, commands on its stdin."""

    def __init__(self, topics: list[str]):
        binary = os.environ.get("FLINT_MOCK_KAFKA")
        if not binary or not Path(binary).is_file():
            raise RuntimeError(
                "FLINT_MOCK_KAFKA must name the flint_mock_kafka binary "
                "(e.g. build/release/tests/kafka/flint_mock_kafka); ctest -R blackbox sets it"
            )
        args = [binary, "--brokers", "3"] + [a for t in topics for a in ("--topic", t)]
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.bootstrap = json.loads(self.process.stdout.readline())["bootstrap"]

    def command(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        assert answer == "ok", f"{line}: {answer}"

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)

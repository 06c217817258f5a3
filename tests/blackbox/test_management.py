"""Health, Prometheus metrics, the OpenAPI document and Swagger UI, and bootstrap switches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from flint_blackbox import (
    EXECUTE_PATH,
    FIND_PATH,
    HEALTH_PATH,
    RawConnection,
    assert_error,
    child_environment,
    execute_body,
    find_body,
    raw_request,
    wait_until,
)


# -- health --------------------------------------------------------------------------------


def test_health_reports_real_vitals(server):
    r = server.get(HEALTH_PATH)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    vitals = r.json()["vitals"]
    assert vitals["app"]["status"] == "OK"
    # Which driver serves each API (the defaults).
    assert vitals["app"]["resource_driver"] == "noop", vitals["app"]
    assert vitals["app"]["infrastructure_driver"] == "netns", vitals["app"]
    for name in ("app", "driver_calls", "driver_files", "http"):
        assert name in vitals, vitals
        assert vitals[name]["status"] in ("OK", "DEGRADED", "UNHEALTHY"), vitals[name]
    assert vitals["driver_files"]["status"] == "OK", vitals["driver_files"]
    assert vitals["driver_files"]["workspace"] == str(server.workspace), vitals["driver_files"]
    calls = vitals["driver_calls"]
    assert calls["threads"] >= 1 and calls["queue_size"] >= 1, calls
    assert vitals["http"]["connections"] >= 1, vitals["http"]  # ours, at least


def test_health_says_unhealthy_when_the_workspace_is_not_a_directory(start_server):
    # Writable and on a file system, so access() and statvfs() alone passed it.
    server = start_server()
    shutil.rmtree(server.workspace)
    server.workspace.write_text("not a directory")

    def files_vital():
        r = server.get(HEALTH_PATH)
        vital = r.json()["vitals"]["driver_files"]
        return vital if r.status_code == 503 and vital["status"] == "UNHEALTHY" else None

    vital = wait_until(files_vital, 5, what="driver_files UNHEALTHY")
    assert vital["error"] == "workspace is not a writable directory", vital


def test_health_degrades_when_fewer_inodes_are_free_than_a_package_may_need(start_server):
    # The workspace's file system has millions of free inodes; a package may have more entries.
    server = start_server({"driver_files": {"max_entries": 2**40}})
    vital = server.get(HEALTH_PATH).json()["vitals"]["driver_files"]
    if "disk_free_inodes" not in vital:
        pytest.skip("the workspace's file system has no fixed inode count")
    assert vital["disk_free_inodes"] < 2**40
    assert vital["status"] == "DEGRADED", vital


def test_the_health_command_exits_by_the_servers_verdict(start_server):
    """`flint health` is what a probe or a script runs where curl is missing (a slim image)."""
    server = start_server({"driver_files": {"max_entries": 2**40}})  # DEGRADED, when counted

    def health(*extra):
        return subprocess.run([os.environ["FLINT_BIN"], "health", "--url", server.url(""), *extra],
                              capture_output=True, text=True, timeout=30,
                              env=child_environment())

    result = health()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["VITAL", "STATUS", "DETAILS"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:]}
    vitals = server.health()["vitals"]
    assert rows == {name: vital["status"] for name, vital in vitals.items()}, result.stdout
    assert json.loads(health("--json").stdout)["vitals"].keys() == vitals.keys()
    if vitals["driver_files"]["status"] == "DEGRADED":  # a fixed inode count
        assert health("--strict").returncode == 1
    # The same verdicts on /metrics, for alerts: 0 OK, 1 DEGRADED, 2 UNHEALTHY.
    metrics = server.metrics()
    for name, vital in vitals.items():
        level = ["OK", "DEGRADED", "UNHEALTHY"].index(vital["status"])
        assert metrics.value("flint_health_status", vital=name) == level, name
    assert server.stop() == 0
    result = health()
    assert result.returncode == 2 and result.stderr.startswith("flint: "), result


def test_health_shows_a_driver_call_running(server):
    done = threading.Event()

    def slow():
        server.execute(execute_body(request_properties={"noop.latencyMs": 1500}))
        done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        # A second session: the shared one is not thread-safe.
        with requests.Session() as other:
            running = wait_until(
                lambda: other.get(server.url(HEALTH_PATH), timeout=10).json()["vitals"]["driver_calls"]["running"],
                timeout=10,
                what="driver_calls.running >= 1",
            )
            assert running >= 1
    finally:
        thread.join(timeout=30)
    assert done.is_set()
    assert server.health()["vitals"]["driver_calls"]["running"] == 0


# -- metrics -------------------------------------------------------------------------------


def test_metrics_are_prometheus_text(server):
    r = server.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    assert "# TYPE flint_http_requests_total counter" in r.text
    assert "# TYPE flint_http_request_duration_seconds histogram" in r.text
    assert "# TYPE flint_http_requests_in_flight gauge" in r.text


def test_metrics_name_the_build_and_describe_the_process(server):
    metrics = server.metrics()
    version = server.health()["vitals"]["app"]["version"]
    assert metrics.value("flint_build_info", version=version) == 1
    # The standard process metrics, read from the server's own /proc entry.
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    rss_kib = int(next(line.split()[1] for line in status.splitlines()
                       if line.startswith("VmRSS:")))
    rss = metrics.value("process_resident_memory_bytes")
    assert 0.5 * rss_kib * 1024 < rss < 2 * rss_kib * 1024, (rss, rss_kib)
    open_fds = len(os.listdir(f"/proc/{server.process.pid}/fd"))
    assert abs(metrics.value("process_open_fds") - open_fds) <= 5, open_fds
    assert metrics.value("process_max_fds") >= open_fds
    assert 0 <= metrics.value("process_cpu_seconds_total") < 600
    assert time.time() - 600 < metrics.value("process_start_time_seconds") <= time.time() + 1
    assert metrics.has("process_virtual_memory_bytes")
    assert metrics.has("process_virtual_memory_max_bytes")


def test_http_metrics_count_requests_by_route_method_and_status(server):
    route = EXECUTE_PATH
    before = server.metrics()
    accepted_before = before.value("flint_http_requests_total", route=route, method="POST", status="202")
    refused_before = before.value("flint_http_requests_total", route=route, method="POST", status="400")
    duration_before = before.value("flint_http_request_duration_seconds_count", route=route)

    for _ in range(3):
        assert server.execute(execute_body()).status_code == 202
    assert server.execute({"lifecycleName": "x"}).status_code == 400

    after = server.metrics()
    assert after.value("flint_http_requests_total", route=route, method="POST", status="202") == accepted_before + 3
    assert after.value("flint_http_requests_total", route=route, method="POST", status="400") == refused_before + 1
    assert after.value("flint_http_request_duration_seconds_count", route=route) >= duration_before + 4
    in_flight = after.find("flint_http_requests_in_flight")
    assert in_flight and all(v >= 0 for _, v in in_flight), in_flight


def test_unmatched_routes_do_not_create_a_series_per_path(server):
    for i in range(3):
        assert server.get(f"/random/path/{i}").status_code == 404
    metrics = server.metrics()
    routes = {labels.get("route") for labels, _ in metrics.find("flint_http_requests_total")}
    assert not any(r and r.startswith("/random/path/") for r in routes), routes


def test_driver_call_metrics_count_outcomes(server):
    before = server.metrics()
    ok_before = before.value(
        "flint_driver_calls_total", driver="noop", operation="execute_lifecycle", outcome="ok"
    )
    temp_before = before.value(
        "flint_driver_calls_total", driver="noop", operation="execute_lifecycle", outcome="temporary"
    )
    find_before = before.value(
        "flint_driver_calls_total", driver="noop", operation="find_reference", outcome="ok"
    )
    hist_before = before.value(
        "flint_driver_call_duration_seconds_count", driver="noop", operation="execute_lifecycle"
    )

    assert server.execute(execute_body()).status_code == 202
    assert server.execute(execute_body()).status_code == 202
    assert server.execute(execute_body(request_properties={"noop.raise": "temporary"})).status_code == 503
    assert server.find(find_body()).status_code == 200

    after = server.metrics()
    assert after.value(
        "flint_driver_calls_total", driver="noop", operation="execute_lifecycle", outcome="ok"
    ) == ok_before + 2
    assert after.value(
        "flint_driver_calls_total", driver="noop", operation="execute_lifecycle", outcome="temporary"
    ) == temp_before + 1
    assert after.value(
        "flint_driver_calls_total", driver="noop", operation="find_reference", outcome="ok"
    ) == find_before + 1
    # A call's duration is observed when the driver's code has returned, on its thread, which
    # may be just after the answer went out.
    wait_until(lambda: server.metrics().value(
        "flint_driver_call_duration_seconds_count", driver="noop", operation="execute_lifecycle"
    ) >= hist_before + 3, timeout=10, what="three execute durations observed")


# -- OpenAPI and Swagger UI ----------------------------------------------------------------


def test_openapi_document(server):
    r = server.get("/api/driver/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert str(doc["openapi"]).startswith("3"), doc.get("openapi")
    assert "title" in doc["info"]
    assert "post" in doc["paths"][EXECUTE_PATH]
    assert "post" in doc["paths"][FIND_PATH]


def test_openapi_error_examples_are_the_messages_flint_sends(server):
    """A client author reads these: each shared example is what the example request gets."""
    for document, requests_by_example in {
        "/api/driver/openapi.json": {
            "NotFound": lambda: server.post_json("/api/driver/lifecycle/exec", {}),
            "MethodNotAllowed": lambda: server.get(EXECUTE_PATH),
            "UnsupportedMediaType": lambda: server.session.post(
                server.url(EXECUTE_PATH), data="{}", headers={"Content-Type": "text/plain"},
                timeout=10),
        },
        "/api/infrastructure/openapi.json": {
            "NotFound": lambda: server.post_json("/api/infrastructure/crate", {}),
            "MethodNotAllowed": lambda: server.get("/api/infrastructure/create"),
        },
    }.items():
        responses = server.get(document).json()["components"]["responses"]
        for name, send in requests_by_example.items():
            example = responses[name]["content"]["application/json"]["example"]
            r = send()
            assert r.json() == example, (document, name, r.text)


def test_swagger_ui_is_served_or_explains_why_not(server):
    r = server.get("/api/driver/ui/")
    if r.status_code == 200:
        assert r.headers["Content-Type"].startswith("text/html"), r.headers
        assert "swagger" in r.text.lower()
    else:
        body = assert_error(r, 404)
        assert "swagger" in body["localizedMessage"].lower(), body


def test_swagger_ui_without_slash_redirects(server):
    r = server.get("/api/driver/ui", allow_redirects=False)
    assert r.status_code in (301, 302, 308), r.status_code
    assert r.headers["Location"].endswith("/api/driver/ui/")


def test_swagger_ui_does_not_serve_files_outside_its_folder(server):
    # Raw requests: an HTTP client library would normalise the dot segments away.
    for path in (
        "/api/driver/ui/../../../../../../etc/passwd",
        "/api/driver/ui/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/api/driver/ui//etc/passwd",
    ):
        with RawConnection(server.port) as conn:
            conn.send(raw_request("GET", path))
            r = conn.read_response()
        assert r.status in (400, 404), (path, r)
        assert b"root:" not in r.body


# -- bootstrap switches --------------------------------------------------------------------


def test_resource_driver_api_can_be_disabled(start_server):
    flint = start_server({"bootstrap": {"resource_driver": {"api_enabled": False}}})
    assert_error(flint.execute(execute_body()), 404)
    assert_error(flint.find(find_body()), 404)
    # So does its OpenAPI document: it would describe routes that 404.
    assert_error(flint.get("/api/driver/openapi.json"), 404)
    # The Infrastructure API still serves, with its document and the event log.
    r = flint.post_json("/api/infrastructure/find", {})
    assert r.status_code == 400, r.text
    assert flint.get("/api/infrastructure/openapi.json").status_code == 200
    assert flint.get("/api/events?after=0").status_code == 200
    # The driver listing shows only the routing of the API that serves.
    listing = flint.get("/api/drivers").json()
    assert "routes" not in listing, listing
    assert listing["infrastructureRoutes"]["default"] == "netns"


def test_both_driver_apis_can_be_disabled(start_server):
    flint = start_server({"bootstrap": {"resource_driver": {"api_enabled": False},
                                        "infrastructure": {"api_enabled": False}}})
    assert_error(flint.execute(execute_body()), 404)
    assert_error(flint.post_json("/api/infrastructure/find", {}), 404)
    health = flint.get(HEALTH_PATH)
    assert health.status_code == 200
    vitals = health.json()["vitals"]
    assert vitals["app"]["status"] == "OK"
    assert "driver_calls" not in vitals, vitals
    assert flint.get("/metrics").status_code == 200


def test_metrics_can_be_disabled(start_server):
    flint = start_server({"bootstrap": {"metrics": {"enabled": False}}})
    assert_error(flint.get("/metrics"), 404)
    assert flint.execute(execute_body()).status_code == 202


def test_openapi_can_be_disabled(start_server):
    flint = start_server({"bootstrap": {"openapi": {"enabled": False}}})
    assert_error(flint.get("/api/driver/openapi.json"), 404)
    assert flint.execute(execute_body()).status_code == 202


def test_an_ipv6_listener_names_its_address_as_a_url(start_server):
    # The start line (and the systemd STATUS) is a URL: an IPv6 literal is bracketed.
    server = start_server({"application": {"host": "::1"}})
    assert server.get(HEALTH_PATH).status_code == 200
    assert any(f"listening on http://[::1]:{server.port} " in line["message"]
               for line in server.log_lines())

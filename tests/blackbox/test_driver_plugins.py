"""Driver libraries loaded by `flint serve`: listing, settings, routing, loading errors,
per-target instances and circuit breakers, with the crafted test libraries of
src/drivers/test_libraries (FLINT_TEST_DRIVERS)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from flint_blackbox import (
    FIND_PATH,
    FlintServer,
    RawConnection,
    assert_error,
    child_environment,
    execute_body,
    find_body,
    raw_request,
    wait_until,
)

LIBRARIES = Path(os.environ.get("FLINT_TEST_DRIVERS", ""))
FAST = {"monitoring": {"min_interval": "50ms", "max_interval": "200ms"}}

pytestmark = pytest.mark.skipif(
    not (LIBRARIES / "flint_test_driver_good.so").exists(),
    reason="FLINT_TEST_DRIVERS does not name the folder of the test driver libraries",
)


def driver_folder(path: Path, *libraries: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in libraries:
        shutil.copy(LIBRARIES / f"{name}.so", path / f"{name}.so")
    return path


def location(name: str = "dc-1", type_: str = "Appliance", **properties) -> dict:
    return {"name": name, "type": type_, "properties": properties}


def accept(server: FlintServer, at: dict) -> str:
    r = server.execute(execute_body(location=at))
    assert r.status_code == 202, r.text
    return r.json()["requestId"]


def start_with_acme(start_server, tmp_path: Path, extra: dict | None = None) -> FlintServer:
    overrides = {
        **FAST,
        "resource_driver": {"driver": "acme"},
        "drivers": {"dirs": [str(driver_folder(tmp_path / "drivers", "flint_test_driver_good"))]},
    }
    for key, value in (extra or {}).items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return start_server(overrides)


def test_lists_builtin_and_loaded_drivers(start_server, tmp_path):
    server = start_with_acme(start_server, tmp_path)
    listing = server.get("/api/drivers").json()
    by_name = {d["name"]: d for d in listing["drivers"]}
    assert list(by_name) == ["noop", "noop-infrastructure", "netns", "script", "acme", "acme-any"]
    assert by_name["netns"]["kind"] == "infrastructure"
    acme = by_name["acme"]
    assert acme["kind"] == "resource"
    assert (acme["vendor"], acme["model"], acme["version"]) == ("Acme", "X1", "1.2.3")
    assert acme["origin"] == str(tmp_path / "drivers" / "flint_test_driver_good.so")
    assert acme["instanceScope"] == "per_target"
    assert [s["name"] for s in acme["settings"]] == ["greeting", "journal", "retries"]
    assert by_name["noop"]["origin"] == "built-in"
    assert listing["loadErrors"] == []
    assert listing["routes"] == {"default": "acme", "locationType": {}, "vendorModel": False}
    assert listing["infrastructureRoutes"] == {
        "default": "netns", "locationType": {}, "vendorModel": False}
    assert "get" in server.get("/api/driver/openapi.json").json()["paths"]["/api/drivers"]
    health = server.health()["vitals"]["drivers"]
    assert health == {"status": "OK", "registered": 6, "open_breakers": 0}
    # The CLI prints the same listing as a table.
    result = subprocess.run(
        [os.environ["FLINT_BIN"], "drivers", "--url", server.url("")],
        capture_output=True, text=True, timeout=30, env=child_environment(),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "KIND", "NAME", "VENDOR/MODEL", "VERSION", "SCOPE", "INSTANCES", "BREAKERS", "ORIGIN"
    ]
    assert lines[5].split() == [
        "resource", "acme", "Acme/X1", "1.2.3", "per_target", "0", "-", acme["origin"]
    ]


def test_executes_through_a_loaded_driver_with_its_settings(start_server, tmp_path):
    server = start_with_acme(
        start_server, tmp_path, {"drivers": {"settings": {"acme.greeting": "bonjour"}}}
    )
    request_id = accept(server, location())
    record = server.wait_terminal(request_id)
    assert record["status"] == "COMPLETE", record
    assert record["driver"] == "acme"
    event = server.wait_events_for([request_id])[request_id][0]
    assert event["payload"]["outputs"] == {
        "driver": "acme",
        "greeting": "bonjour",
        "lifecycle": "Create",
        "instanceLocation": "dc-1",
    }


def test_routes_by_location_type_then_vendor_model_else_refuses(start_server, tmp_path):
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "resource_driver": {
                "driver": "",
                "routes": {"location_type": {"Kubernetes": "noop"}, "vendor_model": True},
            }
        },
    )
    cases = [
        (location(type_="Kubernetes", vendor="Acme", model="X1"), "noop"),
        (location(vendor="acme", model="x1"), "acme"),
        (location(vendor="Acme", model="Z9"), "acme-any"),
    ]
    for at, driver in cases:
        record = server.wait_terminal(accept(server, at))
        assert record["driver"] == driver, (at, record)
    assert_error(
        server.execute(execute_body(location=location(vendor="Initech", model="T1"))),
        400,
        "no resource driver is registered for vendor 'Initech' model 'T1'",
    )
    assert_error(
        server.execute(execute_body(location=location(type_="Openstack"))),
        400,
        "no resource driver serves location 'dc-1' of type 'Openstack'",
        "resource_driver.driver is empty",
    )


def test_a_driver_throwing_a_non_exception_gets_a_prompt_500(start_server, tmp_path):
    server = start_with_acme(start_server, tmp_path)
    started = time.monotonic()
    r = server.execute(execute_body(location=location(fail="int")))
    assert_error(r, 500, "driver 'acme' threw an exception that is not a std::exception")
    assert time.monotonic() - started < 5
    assert server.get("/management/health").status_code == 200


@pytest.mark.parametrize(
    "request_id,problem",
    [("", "it is empty"), ("a/b c", "printable ASCII"), ("x" * 257, "longer than 256 bytes")],
)
def test_a_request_id_that_cannot_name_an_execution_is_refused(
    start_server, tmp_path, request_id, problem
):
    server = start_with_acme(start_server, tmp_path)
    r = server.execute(execute_body(location=location(request_id=request_id)))
    assert_error(r, 500, "driver 'acme' returned an unusable request id", problem)
    good = server.execute(execute_body(location=location(request_id="job-1:retry.2~x")))
    assert good.status_code == 202, good.text
    assert good.json()["requestId"] == "job-1:retry.2~x"


def test_every_request_id_a_driver_may_return_names_its_execution_raw_or_encoded(
    start_server, tmp_path
):
    # What the host accepts, its status route must find: sent as it is (curl) or
    # percent-encoded (Java's URI encoder writes `{` as %7B).
    server = start_with_acme(start_server, tmp_path)
    for request_id in ["{3F2504E0-4F89-11D3-9A0C-0305E82C3301}", "task|42", "vim[7]", "a^b`c"]:
        assert accept(server, location(request_id=request_id)) == request_id
        with RawConnection(server.port) as conn:
            conn.send(raw_request("GET", f"/api/driver/lifecycle/executions/{request_id}"))
            raw = conn.read_response()
            assert raw.status == 200, raw
            assert raw.json()["requestId"] == request_id
        encoded = urllib.parse.quote(request_id, safe="")
        r = server.get(f"/api/driver/lifecycle/executions/{encoded}")
        assert r.status_code == 200, (encoded, r.text)
        assert r.json()["requestId"] == request_id
    # Decoded into what no driver may return: refused without echoing the bytes.
    r = server.get("/api/driver/lifecycle/executions/a%FFb")
    assert_error(r, 400, "requestId: not a request id", "printable ASCII")


def run_flint_serve(tmp_path: Path, config: str) -> subprocess.CompletedProcess:
    (tmp_path / "flint.yaml").write_text(config)
    return subprocess.run(
        [os.environ["FLINT_BIN"], "serve", "--config", str(tmp_path / "flint.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
        env=child_environment(),
        cwd=tmp_path,
    )


BAD_LIBRARIES = ("flint_test_driver_wrong_abi", "flint_test_driver_no_entry")


def test_a_bad_library_fails_the_start_naming_file_and_cause(tmp_path):
    folder = driver_folder(tmp_path / "drivers", *BAD_LIBRARIES)
    (folder / "broken.so").write_text("not a shared object")
    (folder / "acme.so").symlink_to(tmp_path / "acme-1.2.so")  # a link to nothing
    result = run_flint_serve(
        tmp_path, f"application: {{port: 0}}\ndrivers: {{dirs: [{folder}]}}\n"
    )
    assert result.returncode != 0
    err = result.stderr
    assert f"driver library {folder}/broken.so: cannot be loaded" in err, err
    assert (
        f"driver library {folder}/flint_test_driver_wrong_abi.so: was built for driver ABI 999"
        in err
    ), err
    assert f"{folder}/flint_test_driver_no_entry.so: has no entry point 'flint_driver_plugin'" in err
    assert (
        f"driver library {folder}/acme.so: cannot be loaded: a symbolic link to nothing "
        f"('{tmp_path}/acme-1.2.so' does not exist)" in err
    ), err
    assert "drivers.on_load_error: skip" in err


def test_skipped_libraries_are_reported_in_health_and_listing(start_server, tmp_path):
    folder = driver_folder(tmp_path / "drivers", "flint_test_driver_good", *BAD_LIBRARIES)
    server = start_server(
        {"drivers": {"dirs": [str(folder)], "on_load_error": "skip"}, "resource_driver": {"driver": "acme"}}
    )
    health = server.health()["vitals"]["drivers"]
    assert health["status"] == "DEGRADED"
    skipped = {Path(s["file"]).name: s["error"] for s in health["skipped_libraries"]}
    assert set(skipped) == {f"{name}.so" for name in BAD_LIBRARIES}
    listing = server.get("/api/drivers").json()
    assert len(listing["loadErrors"]) == 2
    assert [d["name"] for d in listing["drivers"]][-2:] == ["acme", "acme-any"]
    # The good library still serves.
    assert server.wait_terminal(accept(server, location()))["status"] == "COMPLETE"


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"acme.colour": "red"}, "drivers.settings.acme.colour: driver 'acme' has no setting 'colour'"),
        ({"acme.retries": "many"}, "drivers.settings.acme.retries: expected an integer"),
        ({"nobody.x": "1"}, "drivers.settings.nobody.x: no driver named 'nobody' is registered"),
    ],
)
def test_bad_driver_settings_fail_the_start(tmp_path, settings, message):
    folder = driver_folder(tmp_path / "drivers", "flint_test_driver_good")
    lines = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    result = run_flint_serve(
        tmp_path, f"application: {{port: 0}}\ndrivers:\n  dirs: [{folder}]\n  settings:\n{lines}"
    )
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_an_unknown_default_driver_fails_the_start_and_creates_nothing(tmp_path):
    result = run_flint_serve(tmp_path, "application: {port: 0}\nresource_driver: {driver: ansible}\n"
                                       f"store: {{data_dir: {tmp_path / 'data'}}}\n")
    assert result.returncode == 2  # an invalid configuration
    assert "resource_driver.driver: no resource driver named 'ansible' (registered: noop, script)" in result.stderr
    # Checked before the data directory (and its lock) or the workspace are made.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flint.yaml"]


def journal_lines(path: Path, kind: tuple[str, ...] = ("create ", "close ")) -> list[str]:
    """The journal's lines of `kind` (instances made and closed, by default)."""
    lines = path.read_text().splitlines() if path.exists() else []
    return [line for line in lines if line.startswith(kind)]


def test_instances_per_target_closed_on_new_credentials_when_idle_and_at_shutdown(
    start_server, tmp_path
):
    journal = tmp_path / "journal.txt"
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {
                "settings": {"acme.journal": str(journal)},
                "instances": {"expire_after_access": "1s"},
            }
        },
    )
    server.wait_terminal(accept(server, location("a", password="old")))
    server.wait_terminal(accept(server, location("b", password="x")))
    assert journal_lines(journal) == ["create a", "create b"]
    # New credentials for a: a new instance, and the old one is closed.
    server.wait_terminal(accept(server, location("a", password="new")))
    # (In either order: the old one closes once its last call, maybe a hook, returned.)
    lines = journal_lines(journal)
    assert lines[:2] == ["create a", "create b"] and sorted(lines[2:]) == ["close a", "create a"]
    # Idle instances close after expire_after_access.
    wait_until(lambda: journal_lines(journal).count("close a") == 2 and "close b" in journal_lines(journal),
               timeout=10, what="idle instances to close")
    server.wait_terminal(accept(server, location("c", password="x")))
    assert server.stop() == 0
    assert journal_lines(journal)[-1] == "close c", "shutdown closes the live instances"


def test_after_a_restart_polls_use_the_newest_recorded_properties(start_server, tmp_path):
    """Credentials rotated before a restart: the oldest execution's properties may be revoked
    by now, so each location's instance is made with those of its newest execution."""
    journal = tmp_path / "journal.txt"
    server = start_with_acme(
        start_server, tmp_path, {"drivers": {"settings": {"acme.journal": str(journal)}}}
    )
    # IN_PROGRESS at every poll: both stay monitored across the restart.
    accept(server, location("a", generation="1", status_value=0))
    accept(server, location("a", generation="2", status_value=0))
    assert server.stop() == 0
    journal.unlink()
    server.start()
    wait_until(lambda: journal_lines(journal, ("create ",)), timeout=10,
               what="the resumed polls to make an instance")
    time.sleep(0.5)  # both executions polled at least once more
    assert journal_lines(journal, ("create ",)) == ["create a 2"]


def test_breaker_opens_fails_fast_then_closes_while_health_stays_fast(start_server, tmp_path):
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {"breaker": {"failure_threshold": 3, "open_duration": "1s"}},
            "driver_calls": {"timeout": "300ms"},
        },
    )
    # Three failures of the target: one unreachable, two calls over their deadline.
    assert_error(server.execute(execute_body(location=location(fail="unreachable"))), 400, "no route")
    for _ in range(2):
        assert_error(server.execute(execute_body(location=location(delay_ms=2000))), 503, "deadline")
    started = time.monotonic()
    refused = assert_error(server.execute(execute_body(location=location())), 503)
    assert time.monotonic() - started < 0.2, "an open breaker answers at once"
    assert "deployment location 'dc-1' (driver 'acme'): circuit breaker open after 3" in refused[
        "localizedMessage"
    ]
    # A client that keeps trying gets 503 each time, and the log one line per 10 s, at warn.
    for _ in range(5):
        assert_error(server.execute(execute_body(location=location())), 503, "circuit breaker open")
    lines = [line for line in server.log_lines()
             if "refused with 503" in line["message"] and "circuit breaker open" in line["message"]]
    assert len(lines) == 1 and lines[0]["level"] == "WARNING", lines
    # Other targets are served; health answers fast and counts the open breaker.
    assert server.wait_terminal(accept(server, location("dc-2")))["status"] == "COMPLETE"
    started = time.monotonic()
    vitals = server.health()["vitals"]
    assert time.monotonic() - started < 0.2
    assert vitals["drivers"]["open_breakers"] == 1
    listing = {d["name"]: d for d in server.get("/api/drivers").json()["drivers"]}
    [breaker] = listing["acme"]["breakers"]
    assert (breaker["location"], breaker["state"]) == ("dc-1", "open")
    assert server.metrics().value("flint_driver_breakers_open", driver="acme") == 1
    # After open_duration a probe goes through; its success closes the breaker.
    time.sleep(1.1)
    assert server.wait_terminal(accept(server, location()))["status"] == "COMPLETE"
    assert server.health()["vitals"]["drivers"]["open_breakers"] == 0
    metrics = server.metrics()
    assert metrics.value("flint_driver_breaker_transitions_total", driver="acme", state="open") == 1
    assert metrics.value("flint_driver_breaker_transitions_total", driver="acme", state="closed") == 1
    assert metrics.value("flint_driver_breaker_rejected_total", driver="acme") >= 1


def hold_the_driver_thread(server: FlintServer, seconds: float) -> tuple[threading.Thread, list]:
    """A find at `dc-slow` that keeps the only driver thread busy for `seconds` (it answers 503
    at its deadline, before that); returns the thread sending it and a list for its answer."""
    body = find_body()
    body["deploymentLocation"] = location("dc-slow", delay_ms=int(seconds * 1000))
    answers: list = []

    def send():
        with requests.Session() as other:  # the server's session is not thread-safe
            answers.append(other.post(server.url(FIND_PATH), json=body, timeout=60))

    thread = threading.Thread(target=send)
    thread.start()
    wait_until(lambda: server.health()["vitals"]["driver_calls"]["running"] == 1, timeout=10,
               what="the slow call to take the driver thread")
    return thread, answers


def breakers(server: FlintServer) -> dict[str, dict]:
    listing = {d["name"]: d for d in server.get("/api/drivers").json()["drivers"]}
    return {b["location"]: b for b in listing["acme"]["breakers"]}


def test_calls_that_waited_in_the_queue_past_their_deadline_are_no_failure_of_their_target(
    start_server, tmp_path
):
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {"breaker": {"failure_threshold": 2, "open_duration": "60s"}},
            "driver_calls": {"threads": 1, "timeout": "500ms"},
        },
    )
    holder, answers = hold_the_driver_thread(server, 3)
    # Calls to a healthy target wait behind it, never start, and say so.
    for _ in range(2):
        assert_error(
            server.execute(execute_body(location=location("dc-ok"))),
            503,
            "driver call execute_lifecycle waited for a driver thread past its deadline and never "
            "started: driver calls are saturated; retry later",
        )
    holder.join(timeout=30)
    assert_error(answers[0], 503, "driver call find_reference did not finish within its deadline")
    wait_until(lambda: server.health()["vitals"]["driver_calls"]["running"] == 0, timeout=10,
               what="the slow call to return")
    # The slow target overran: its failure. The healthy one never reached the driver: nothing.
    listed = breakers(server)
    assert "dc-ok" not in listed, listed
    assert (listed["dc-slow"]["state"], listed["dc-slow"]["consecutiveFailures"]) == ("closed", 1)
    assert server.wait_terminal(accept(server, location("dc-ok")))["status"] == "COMPLETE"


def test_polls_that_waited_in_the_queue_past_their_deadline_never_open_their_targets_breaker(
    start_server, tmp_path
):
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {"breaker": {"failure_threshold": 2, "open_duration": "60s"}},
            "driver_calls": {"threads": 1, "timeout": "300ms"},
            "monitoring": {"min_interval": "50ms", "max_interval": "100ms"},
        },
    )
    accept(server, location("dc-ok", status_value=0))  # IN_PROGRESS: polled again and again
    holder, _ = hold_the_driver_thread(server, 3)
    holder.join(timeout=30)
    wait_until(lambda: server.health()["vitals"]["driver_calls"]["running"] == 0, timeout=10,
               what="the slow call to return")
    skipped = server.metrics().value(
        "flint_driver_calls_total", driver="acme", operation="get_lifecycle_execution",
        outcome="expired")
    assert skipped >= 2, "polls of dc-ok waited in the queue past their deadline"
    listed = breakers(server)
    assert "dc-ok" not in listed, listed
    assert server.wait_terminal(accept(server, location("dc-ok")))["status"] == "COMPLETE"


def test_an_execution_ended_by_a_late_poll_is_polled_no_more(start_server, tmp_path):
    # Every call takes 600 ms against a 300 ms deadline, so each poll overruns and is retried
    # while it still runs; the first one's late COMPLETE ends the execution. The polls must stop
    # there: they went on until the total timeout, each one counted against the breaker.
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {"breaker": {"failure_threshold": 0}},
            "driver_calls": {"timeout": "300ms"},
            "monitoring": {"min_interval": "50ms", "max_interval": "100ms"},
        },
    )
    r = server.execute(execute_body(location=location(delay_ms=600)))
    assert r.status_code == 503, r.text  # the execute overran too, yet was recorded
    wait_until(lambda: len(server.all_events()) == 1, 20, what="the event")
    time.sleep(1.5)  # the polls running when it ended come back

    def polls() -> float:
        return server.metrics().value("flint_driver_call_duration_seconds_count",
                                      operation="get_lifecycle_execution")

    settled = polls()
    time.sleep(2)
    assert polls() == settled, "polls went on after the execution ended"
    assert server.metrics().value("flint_jobs") == 0


@pytest.mark.parametrize("log_type", ["logstash", "flat"])
def test_a_driver_that_crashes_the_host_is_named_in_its_last_log_line(start_server, tmp_path,
                                                                       log_type):
    server = start_with_acme(start_server, tmp_path, {"logging": {"type": log_type}})
    with pytest.raises(requests.ConnectionError):
        server.execute(execute_body(location=location("dc-crash", fail="segv")))
    assert server.process.wait(timeout=15) == -signal.SIGSEGV
    last = server.stderr().strip().splitlines()[-1]
    if log_type == "logstash":
        line = json.loads(last)
        assert line["level"] == "CRITICAL" and line["thread_name"].startswith("driver-"), line
        assert line["@timestamp"].endswith("Z") and len(line["@timestamp"]) == 24, line
        message = line["message"]
    else:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z CRITICAL \[driver-\d+\] app: .*",
                            last), last
        message = last
    assert "fatal signal SIGSEGV (invalid memory access) on thread driver-" in message
    assert message.endswith(
        "in a call of driver 'acme' (execute_lifecycle); the process stops"), message
    server.start()  # nothing was accepted: the restart is clean


def test_a_report_under_an_id_the_driver_never_returned_is_logged(start_server, tmp_path):
    # A push driver's slip: it reports under another id. Nothing can route the report; it must
    # not vanish without a word (the execution itself ends at monitoring.total_timeout).
    server = start_with_acme(start_server, tmp_path, {"driver_calls": {"timeout": "1s"}})
    accept(server, location("dc-push", report_as="not-an-id-it-returned"))
    time.sleep(2.5)  # past the grace for acceptances in progress (twice the call deadline)
    accept(server, location())  # the next acceptance looks at what stayed unmatched
    [line] = server.wait_for_log(lambda l: "not-an-id-it-returned" in l["message"])
    assert line["level"] == "WARNING", line
    assert line["message"] == (
        "a driver reported an outcome for request id 'not-an-id-it-returned', and no execution "
        "has that id 2 s later: a report must carry the request id execute_lifecycle returned; "
        "it is ignored"), line


def test_a_probe_refused_for_its_driver_files_lets_the_next_call_probe(start_server, tmp_path):
    server = start_with_acme(
        start_server,
        tmp_path,
        {"drivers": {"breaker": {"failure_threshold": 1, "open_duration": "2s"}}},
    )
    assert_error(server.execute(execute_body(location=location(fail="temporary"))), 503, "busy")
    assert breakers(server)["dc-1"]["state"] == "open"
    time.sleep(2.1)
    # The probe never reaches the target: the host refuses its driver files first.
    not_a_zip = base64.b64encode(b"not a zip").decode()
    assert_error(server.execute(execute_body(location=location(), driver_files=not_a_zip)), 400)
    assert breakers(server)["dc-1"]["state"] == "half_open", "the target was never asked"
    # The next call probes at once (not a whole open_duration later), and closes the breaker.
    assert server.wait_terminal(accept(server, location()))["status"] == "COMPLETE"
    assert "dc-1" not in breakers(server)


def test_failing_after_delivery_hooks_never_open_the_breaker(start_server, tmp_path):
    journal = tmp_path / "journal.txt"
    server = start_with_acme(
        start_server,
        tmp_path,
        {
            "drivers": {
                "breaker": {"failure_threshold": 2, "open_duration": "60s"},
                "settings": {"acme.journal": str(journal)},
            }
        },
    )
    ids = [accept(server, location(hook_fail=True)) for _ in range(4)]
    for request_id in ids:
        assert server.wait_terminal(request_id)["status"] == "COMPLETE"
    wait_until(
        lambda: all(f"delivered {i}" in journal_lines(journal, ("delivered ",)) for i in ids),
        timeout=10,
        what="every after-delivery hook to run",
    )
    # The hook is an optional clean-up: its failures are logged, not held against the target.
    assert server.health()["vitals"]["drivers"]["open_breakers"] == 0
    listing = {d["name"]: d for d in server.get("/api/drivers").json()["drivers"]}
    assert listing["acme"]["breakers"] == [], "no failure is counted"
    assert server.wait_terminal(accept(server, location(hook_fail=True)))["status"] == "COMPLETE"
    assert server.wait_for_log(lambda l: "after-delivery hook failed (ignored)" in l["message"])


def test_driver_text_that_is_not_utf8_is_repaired_everywhere_it_goes(start_server, tmp_path):
    server = start_with_acme(start_server, tmp_path)
    request_id = accept(server, location(latin1=True))
    # The record stays readable, and the outputs keep every key and value.
    record = server.wait_terminal(request_id)
    assert record["status"] == "COMPLETE", record
    assert record["outputs"]["text"] == "caf\ufffd \ufffd"
    assert record["outputs"]["k\ufffdy"] == "value"
    # The event is an object, as the contract says, with the same repair.
    [event] = server.wait_events_for([request_id])[request_id]
    assert event["payload"]["outputs"]["text"] == "caf\ufffd \ufffd"
    assert server.wait_for_log(lambda l: "are not valid UTF-8" in l["message"])
    # The find reply is UTF-8 too (requests would not decode it otherwise).
    r = server.find(find_body() | {"deploymentLocation": location(latin1=True)})
    assert r.status_code == 200, r.text
    r.content.decode("utf-8")  # raises on a stray byte
    assert r.json()["result"]["resourceId"] == "r-\ufffd"


def test_driver_numbers_json_cannot_hold_become_null_everywhere_they_go(start_server, tmp_path):
    server = start_with_acme(start_server, tmp_path)
    request_id = accept(server, location(non_finite=True))
    # Written as Infinity and NaN, the record could not be read back, and no
    # strict parser (an orchestrator's Jackson) would read the event.
    record = server.wait_terminal(request_id)
    assert record["status"] == "COMPLETE", record
    assert record["outputs"]["huge"] is None
    assert record["outputs"]["list"] == [1.5, None]
    [event] = server.wait_events_for([request_id])[request_id]
    assert event["payload"]["outputs"]["huge"] is None
    assert server.wait_for_log(
        lambda l: l["message"]
        == f"execution {request_id}: 2 numbers of driver 'acme''s outcome are infinite or NaN, "
        "which JSON cannot hold; each is replaced with null"
    )
    r = server.find(find_body() | {"deploymentLocation": location(non_finite=True)})
    assert r.status_code == 200, r.text
    assert json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in {r.text}"))
    assert r.json()["result"]["outputs"] == {"huge": None}
    assert server.wait_for_log(lambda l: "numbers of the driver's reply are infinite" in l["message"])


def test_an_unknown_status_fails_with_details_and_complete_drops_them(start_server, tmp_path):
    server = start_with_acme(start_server, tmp_path)
    odd = accept(server, location("dc-odd", status_value=42))
    fine = accept(server, location("dc-fine", complete_with_failure=True))
    bare = accept(server, location("dc-bare", failed_without_details=True))
    record = server.wait_terminal(bare)
    assert record["failureDetails"] == {
        "failureCode": "INTERNAL_ERROR",
        "description": "driver 'acme' reported FAILED without failure details"}, record
    r = server.find(find_body() | {"deploymentLocation": location(failed_without_details=True)})
    assert_error(r, 500, "driver 'acme' found a resource without a resourceId")
    record = server.wait_terminal(odd)
    assert record["status"] == "FAILED", record
    assert record["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    assert "not IN_PROGRESS, COMPLETE or FAILED (value 42)" in record["failureDetails"]["description"]
    events = server.wait_events_for([odd, fine])
    assert events[odd][0]["payload"]["failureDetails"]["failureCode"] == "INTERNAL_ERROR"
    record = server.wait_terminal(fine)
    assert record["status"] == "COMPLETE" and "failureDetails" not in record, record
    assert "failureDetails" not in events[fine][0]["payload"]

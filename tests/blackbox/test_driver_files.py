"""driverFiles: base64 zip packages, unsafe archives refused, one extraction per package."""

from __future__ import annotations

import base64
import io
import re
import warnings
import zipfile

import pytest

from flint_blackbox import (
    assert_error,
    b64,
    driver_package,
    execute_body,
    find_body,
    make_zip,
)

PACKAGE_DIR = re.compile(r"^[0-9a-f]{64}$")


def _zip_with(infos: list[tuple[zipfile.ZipInfo | str, bytes]]) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names: we want them
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for info, data in infos:
                archive.writestr(info, data)
    return b64(buffer.getvalue())


def _symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: external_attr carries the file mode
    info.external_attr = (0o120777 << 16)
    return info


UNSAFE = {
    "not-base64": ("this is *not* base64!", ["base64"]),
    "not-a-zip": (base64.b64encode(b"plain text, not an archive").decode(), ["not a ZIP archive"]),
    "empty": (base64.b64encode(b"").decode() or "AA==", []),
    "dot-dot": (_zip_with([("ok.txt", b"x"), ("../evil.sh", b"boom")]), ["../evil.sh", ".."]),
    "nested-dot-dot": (_zip_with([("a/../../evil.sh", b"boom")]), ["escapes"]),
    "absolute": (_zip_with([("/etc/evil.conf", b"boom")]), ["/etc/evil.conf", "absolute"]),
    "symlink": (_zip_with([(_symlink("link", "/etc/passwd"), b"/etc/passwd")]), ["'link'", "symbolic link"]),
    "duplicate": (_zip_with([("a.txt", b"1"), ("a.txt", b"2")]), ["a.txt", "more than once"]),
    "zip-bomb": (
        b64(make_zip({"zeros.bin": b"\0" * (20 * 1024 * 1024)})),
        ["compression ratio"],
    ),
}


@pytest.mark.parametrize("case", list(UNSAFE), ids=list(UNSAFE))
def test_execute_refuses_bad_driver_files_with_400(server, case):
    files, fragments = UNSAFE[case]
    r = server.execute(execute_body(driver_files=files))
    body = assert_error(r, 400, *fragments)
    assert "driverFiles" in body["localizedMessage"], body


@pytest.mark.parametrize("case", ["not-base64", "dot-dot", "symlink"])
def test_find_refuses_bad_driver_files_with_400(server, case):
    files, fragments = UNSAFE[case]
    assert_error(server.find(find_body(driver_files=files)), 400, *fragments)


def test_nothing_escapes_the_workspace(server):
    server.execute(execute_body(driver_files=UNSAFE["dot-dot"][0]))
    server.execute(execute_body(driver_files=UNSAFE["absolute"][0]))
    assert not (server.workspace.parent / "evil.sh").exists()
    assert not any(server.workdir.rglob("evil.sh"))


def _package_dirs(workspace):
    return sorted(p for p in workspace.iterdir() if p.is_dir())


def test_each_distinct_package_is_extracted_once(start_server):
    flint = start_server()
    package_a = driver_package({"scripts/install.sh": "echo a\n", "lib/util.py": "X = 1\n"})
    package_b = driver_package({"scripts/install.sh": "echo b\n"})

    for _ in range(4):
        assert flint.execute(execute_body(driver_files=package_a)).status_code == 202
    assert flint.find(find_body(driver_files=package_a)).status_code == 200

    dirs = _package_dirs(flint.workspace)
    assert len(dirs) == 1, [d.name for d in flint.workspace.iterdir()]
    package_dir = dirs[0]
    assert PACKAGE_DIR.match(package_dir.name), package_dir.name
    assert (package_dir / "scripts" / "install.sh").read_text() == "echo a\n"
    assert (package_dir / "lib" / "util.py").read_text() == "X = 1\n"
    first_inode = package_dir.stat().st_ino

    vital = flint.health()["vitals"]["driver_files"]
    assert vital["packages"] == 1, vital
    assert vital["hits"] >= 4, vital

    assert flint.execute(execute_body(driver_files=package_b)).status_code == 202
    assert flint.execute(execute_body(driver_files=package_a)).status_code == 202
    dirs = _package_dirs(flint.workspace)
    assert len(dirs) == 2, [d.name for d in flint.workspace.iterdir()]
    assert package_dir.stat().st_ino == first_inode, "package A was extracted again"
    assert flint.health()["vitals"]["driver_files"]["packages"] == 2

    # A refused package leaves nothing behind (no half-extracted temporary directory).
    assert_error(flint.execute(execute_body(driver_files=UNSAFE["duplicate"][0])), 400)
    assert_error(flint.execute(execute_body(driver_files=UNSAFE["dot-dot"][0])), 400)
    names = sorted(p.name for p in flint.workspace.iterdir() if p.name != ".flint-boot-id")
    assert len(names) == 2 and all(PACKAGE_DIR.match(n) for n in names), names
    assert flint.health()["vitals"]["driver_files"]["rejected"] >= 2


def test_package_limits_come_from_the_configuration(start_server):
    flint = start_server({"driver_files": {"max_entries": 2}})
    ok = driver_package({"a": "1", "b": "2"})
    too_many = driver_package({"a": "1", "b": "2", "c": "3"})
    assert flint.execute(execute_body(driver_files=ok)).status_code == 202
    assert_error(flint.execute(execute_body(driver_files=too_many)), 400, "more than 2 entries")

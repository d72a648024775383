"""Hostile input: fuzzed specs, lying servers, names that try to leave the data folder."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fetcher.cli import run
from tests.reliability.figures import tally
from tests.reliability.hostile import Answer, HostileServer
from tests.support.workspace import Run, Workspace

BODY = b"fetcher reliability payload\n" * 100


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def zenodo_record(server: HostileServer, name: str, body: bytes = BODY) -> None:
    """Record 1 lists one file called ``name``, served with its true size and md5."""
    server.routes["/files/payload"] = Answer(200, "application/octet-stream", body)
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    record = {"id": 1, "files": [{"key": name, "size": len(body), "checksum": "md5:" + md5,
                                  "links": {"self": server.url + "/files/payload"}}]}
    server.routes["/api/records/1"] = Answer(200, "application/json", json.dumps(record).encode())


def zenodo_sync(ws: Workspace, server: HostileServer, *args: str, timeout: float = 20) -> Run:
    ws.write_spec("version: 1\ndatasets:\n  rec:\n    source: zenodo\n    record: 1\n" + "".join(
        f"    {a}\n" for a in args))
    ws.env_overrides["FETCHER_ZENODO_URL"] = server.url
    return ws.cli(timeout=timeout)


def zipped(member: str, body: bytes, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        zf.writestr(member, body)
    return buffer.getvalue()


def outside(ws: Workspace) -> list[str]:
    """Files written anywhere under the workspace but outside its data folder."""
    expected = {ws.key.name, "specs"}
    ledger = set(ws.ledger_files())
    return sorted(p.relative_to(ws.root).as_posix() for p in ws.root.rglob("*")
                  if p.is_file() and p.parts[len(ws.root.parts)] not in expected
                  and p not in ledger and not p.is_relative_to(ws.data))


def test_a_listed_file_name_with_dot_dot_cannot_leave_the_data_folder(
        ws: Workspace, hostile: HostileServer) -> None:
    zenodo_record(hostile, "../../escaped.bin")
    zenodo_sync(ws, hostile)
    tally(trials=1)
    assert [] == outside(ws)


def test_a_listed_absolute_file_name_cannot_leave_the_data_folder(
        ws: Workspace, hostile: HostileServer) -> None:
    target = ws.root / "absolute-escape.bin"
    zenodo_record(hostile, str(target))
    zenodo_sync(ws, hostile, timeout=6)  # it downloads again and again: stop it
    tally(trials=1)
    assert [] == outside(ws)


@pytest.mark.parametrize("member", ["../../zip-slip.txt", "/tmp/absolute-member.txt"])
def test_an_archive_member_that_leaves_the_folder_is_refused(
        ws: Workspace, hostile: HostileServer, member: str) -> None:
    zenodo_record(hostile, "evil.zip", zipped(member, b"escaped"))
    result = zenodo_sync(ws, hostile, "extract: true")
    tally(trials=1)
    assert (2, True, [], False) == (result.code, "refusing to extract" in result.stderr,
                                    outside(ws), Path("/tmp/absolute-member.txt").exists())


def test_an_archive_holding_a_symlink_is_refused(ws: Workspace, hostile: HostileServer) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    zenodo_record(hostile, "evil.zip", buffer.getvalue())
    result = zenodo_sync(ws, hostile, "extract: true")
    tally(trials=1)
    assert (2, True, False) == (result.code, "symbolic link" in result.stderr,
                                (ws.data / "rec" / "link").is_symlink())


def test_a_zip_bomb_is_refused(ws: Workspace, hostile: HostileServer) -> None:
    zenodo_record(hostile, "bomb.zip", zipped("zeros.bin", b"\0" * (64 << 20),
                                              zipfile.ZIP_DEFLATED))
    result = zenodo_sync(ws, hostile, "extract: true")
    tally(trials=1)
    assert (2, True, False) == (result.code, "zip bomb" in result.stderr,
                                (ws.data / "rec" / "zeros.bin").exists())


def endless() -> Iterator[bytes]:
    yield b'{"files": ['
    while True:
        yield b'{"key": "x", "size": 1},' * 4096


@pytest.mark.parametrize(("answer", "expected"), [
    (Answer(200, "text/html", b"<html><body>maintenance</body></html>"), "expected JSON"),
    (Answer(200, "application/json", b'{"files": [ {"key": '), "malformed JSON"),
    (Answer(200, "application/json", endless), "larger than"),
])
def test_a_listing_that_is_not_json_gets_a_clear_one_line_error(
        ws: Workspace, hostile: HostileServer, answer: Answer, expected: str) -> None:
    hostile.routes["/api/records/1"] = answer
    result = zenodo_sync(ws, hostile)
    tally(trials=1)
    assert (1, True, False) == (result.code, expected in result.stderr,
                                "Traceback" in result.stderr)


SPEC_KEYS = st.sampled_from(["version", "datasets", "regions", "source", "record", "url",
                             "files", "path", "uid", "bbox", "time", "extract", "format"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.one_of(SPEC_KEYS, st.text(max_size=8)),
                                                 inner, max_size=4)), max_leaves=12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)), st.text(max_size=200),
                     st.binary(max_size=100).map(lambda b: b.decode("latin-1"))))
def test_a_fuzzed_spec_gives_exit_2_and_a_message_never_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: str) -> None:
    spec = tmp_path / "fuzz.yaml"
    spec.write_text(doc, encoding="utf-8", errors="surrogateescape")
    code = run(["plan", str(spec), "--db", str(tmp_path / "l.db"),
                "--data-dir", str(tmp_path / "data")])
    err = capsys.readouterr().err
    tally(trials=1)
    assert (2, True) == (code, err.startswith("error: "))


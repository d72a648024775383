"""The command line: every command has help, `plan` works offline, errors are one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fetcher.cli import run

ROOT = Path(__file__).parent.parent
SPECS = ROOT / "specs"
CORPUS = Path(__file__).parent / "specs_corpus"

HELP = {  # a phrase of each command's help that says what it does (DESIGN.md's table)
    "plan": "Show what `sync` would do",
    "sync": "Reconcile: resolve, submit what is missing",
    "status": "Every item: state",
    "verify": "Re-hash every recorded file",
    "lock": "Write fetcher.lock beside the specs",
    "cancel": "Cancel the server tasks",
    "gc": "Remove orphans",
    "doctor": "Check credentials",
    "demo": "end-to-end sync against the bundled emulator",
    "emulator": "Serve the bundled emulator on 127.0.0.1",
    "db": "Ledger maintenance",
    "db upgrade": "Migrate the ledger to the current schema",
}


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every command in an empty folder, with the ledger and data dir inside it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FETCHER_DB", str(tmp_path / ".fetcher" / "ledger.db"))
    monkeypatch.setenv("FETCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")  # help text on one line per sentence
    return tmp_path


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- help -------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(HELP))
def test_command_help_exits_0(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == run([*command.split(), "--help"])


@pytest.mark.parametrize("command", sorted(HELP))
def test_command_help_says_what_it_does(command: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    run([*command.split(), "--help"])
    assert HELP[command] in one_line(capsys.readouterr().out)


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    run(["--help"])
    out = capsys.readouterr().out
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert {c for c in HELP if " " not in c} == listed


def test_help_works_as_a_real_process() -> None:
    done = subprocess.run([sys.executable, "-m", "fetcher", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (0, "Usage: fetcher") == (done.returncode, done.stdout.split(" [")[0])


# --- plan ---------------------------------------------------------------------------


def test_plan_of_the_example_specs_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert 0 == run(["plan", str(SPECS)])


def test_plan_prints_one_row_per_item(capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(SPECS)])
    rows = capsys.readouterr().out.splitlines()[1:4]
    assert [["builtup-2019/CN", "resolve"], ["gebco-2024", "resolve"],
            ["lc100-discrete-2019", "resolve"]] == [row.split()[:2] for row in rows]


def test_plan_ends_with_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(SPECS)])
    assert "3 item(s): 3 resolve" == capsys.readouterr().out.splitlines()[-1]


def test_plan_reads_specs_by_default(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "specs").mkdir()
    (workdir / "specs" / "z.yaml").write_text(
        "version: 1\ndatasets:\n  lc100:\n    source: zenodo\n    record: 1\n", encoding="utf-8")
    run(["plan", "--json"])
    assert ["lc100"] == [s["item"] for s in json.loads(capsys.readouterr().out)["steps"]]


def test_plan_json_is_one_document_with_version_and_steps(
        capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(SPECS), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert (1, ["builtup-2019/CN", "gebco-2024", "lc100-discrete-2019"]) == (
        document["version"], [s["item"] for s in document["steps"]])


def test_plan_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(SPECS)])
    assert [] == list(workdir.iterdir())


def test_plan_opens_no_socket(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("plan must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert 0 == run(["plan", str(SPECS), "--json"])


# --- errors -------------------------------------------------------------------------


def test_broken_spec_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == run(["plan", str(CORPUS / "several_errors.yaml")])


def test_broken_spec_prints_every_problem_as_an_error_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(CORPUS / "two_files")])
    assert [f"error: {CORPUS}/two_files/a.yaml:5:13: record: expected a positive number, found 0",
            f"error: {CORPUS}/two_files/b.yml:5:11: path: expected an absolute path starting "
            "with '/', found 'bodc/gebco'",
            "hint: fix the spec and run the command again; nothing was requested or written",
            ] == capsys.readouterr().err.splitlines()


def test_broken_spec_prints_nothing_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(CORPUS / "several_errors.yaml"), "--json"])
    assert "" == capsys.readouterr().out


def test_broken_spec_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(CORPUS / "several_errors.yaml")])
    assert [] == list(workdir.iterdir())


def test_broken_spec_in_a_real_process_has_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "fetcher", "plan",
                           str(CORPUS / "unknown_source.yaml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (2, [f"error: {CORPUS}/unknown_source.yaml:4:13: unknown source 'clsm'; did you mean "
                "'clms'? expected one of clms, ceda, zenodo, http",
                "hint: fix the spec and run the command again; nothing was requested or written"]
            ) == (done.returncode, done.stderr.splitlines())


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == run(["plan", "--no-such-option"])


def test_unknown_option_is_one_error_line_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", "--no-such-option"])
    assert ["error: No such option: --no-such-option", "hint: see `fetcher --help`"] == (
        capsys.readouterr().err.splitlines())


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == run(["no-such-command"])


def test_missing_argument_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert 2 == run(["cancel"])


def test_user_errors_have_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    run(["plan", str(CORPUS / "malformed_yaml.yaml")])
    assert "Traceback" not in capsys.readouterr().err

"""Secrets: the private key, the grant and the access tokens never leave the process.

Syncs run as subprocesses through faults (expired tokens included), with ``--json``,
and end in a refused key; then every output is searched: stdout, stderr, the ledger
file and its WAL, and every file in the data folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from fetcher.emulator import FaultRates
from tests.reliability.conftest import every_source
from tests.reliability.figures import tally
from tests.support.workspace import Workspace

JWT_PREFIX = "eyJ"  # base64 of '{"': the start of every JWT header, so of every grant


def secrets(ws: Workspace, tokens: set[str]) -> list[str]:
    """The private key's body lines, every access token issued, and the JWT prefix."""
    pem = json.loads(ws.key.read_text(encoding="utf-8"))["private_key"]
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return [*lines, *sorted(tokens), JWT_PREFIX]


def outputs(ws: Workspace) -> dict[str, bytes]:
    """Every place a secret could land: run outputs, the ledger (its files, or its tables'
    rows on PostgreSQL), the data folder."""
    found = {f"run {n} stdout": r.stdout.encode() for n, r in enumerate(ws.runs)}
    found |= {f"run {n} stderr": r.stderr.encode() for n, r in enumerate(ws.runs)}
    found |= {f"ledger {where}": body for where, body in ws.ledger_contents().items()}
    for path in ws.data.rglob("*"):
        if path.is_file():
            found[str(path.relative_to(ws.root))] = path.read_bytes()
    return found


def leaks(ws: Workspace, tokens: set[str]) -> list[str]:
    """Where a secret was found; three bytes of JWT prefix are only sought in text."""
    return sorted(f"{secret[:12]}… in {where}" for secret in secrets(ws, tokens)
                  for where, body in outputs(ws).items() if secret.encode() in body
                  and not (secret == JWT_PREFIX and where.startswith(ws.data.name)))


def issued(ws: Workspace) -> set[str]:
    return set(ws.emu.authority._tokens)  # the emulator's own record of what it issued


def test_no_secret_appears_in_any_output_through_faults_json_and_a_refused_key(
        ws: Workspace) -> None:
    ws.write_spec(every_source(ws.emu))
    tokens: set[str] = set()
    ws.emu.faults.set("clms", **{k: v for k, v in vars(FaultRates(
        expire_token=0.3, error_503=0.1, truncate=0.1, retry_after=1)).items()})
    ws.cli("--json")
    tokens |= issued(ws)
    ws.emu.faults.clear()
    ws.until_done()
    tokens |= issued(ws)
    ws.cli("--json")
    ws.cli("--json", command="status")
    ws.cli(command="doctor")
    client_id = json.loads(ws.key.read_text(encoding="utf-8"))["client_id"]
    ws.emu.revoke(client_id)
    ws.write_spec(every_source(ws.emu).replace("regions: [ITC11, prd]", "regions: [ITC12]"))
    refused = ws.cli()
    found = leaks(ws, tokens)
    tally(trials=len(ws.runs), leaks_found=len(found))
    assert (2, []) == (refused.code, found)
    assert len(tokens) >= 1


def test_a_broken_key_file_is_reported_without_its_contents(ws: Workspace,
                                                            tmp_path: Path) -> None:
    ws.write_spec(every_source(ws.emu))
    text = ws.key.read_text(encoding="utf-8")
    ws.key.write_text(text[:-40], encoding="utf-8")  # no longer JSON, the key still inside
    run = ws.cli()
    ws.key.write_text(text.replace("BEGIN PRIVATE KEY", "BEGIN PRIVATE KEX"), encoding="utf-8")
    ws.cli()
    found = leaks(ws, set())
    tally(trials=2, leaks_found=len(found))
    assert (2, []) == (run.code, found)

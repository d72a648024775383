"""What a sync is given: reports in pipes, spec mistakes, hostile YAML, redirects, secrets.

Issue 17, points 9, 10, 13, 14 and 15. The CLI runs are children with stdout a pipe
(no terminal); the in-process syncs run against the fake-clock emulator. A secret is
looked for in every output, in ``--json``, in every byte the ledger holds and in every
file name under the data folder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fetcher.emulator import Emulator
from tests.support.consistency import sha256
from tests.support.specs import NUTS_SPEC, spec_text
from tests.support.workspace import Run, Workspace, make_workspace

PASSWORD = "reader-password"  # the emulator's default password of user reader on /private/
COMMANDS = ("plan", "sync", "status")
HOSTILE_SECONDS = 3.0  # a child's start costs a few tenths; the pre-fix code took 30 s and more
LAUGHS = """\
version: 1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
datasets: {x: *i}
"""


def http_spec(url: str, **extra: str) -> str:
    """A spec with one http dataset ``raster`` at ``url``; its url value is at 5:10."""
    lines = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    return f'version: 1\ndatasets:\n  raster:\n    source: http\n    url: "{url}"\n{lines}'


def files_url(ws: Workspace, path: str, userinfo: str = "") -> str:
    """A URL on the emulator's files host, optionally with ``user:password@``."""
    base = ws.emu.urls.files
    return (base.replace("://", f"://{userinfo}@", 1) if userinfo else base) + path


def piped(ws: Workspace, *args: str, **env: str) -> Run:
    """``python -m fetcher ARGS`` with stdout and stderr pipes, ``COLUMNS`` only if given."""
    child_env = {k: v for k, v in ws.env().items() if k != "COLUMNS"} | env
    proc = subprocess.run([sys.executable, "-m", "fetcher", *args], env=child_env,
                          cwd=ws.root, capture_output=True, text=True, timeout=30,
                          check=False)
    run = Run(list(args), proc.returncode, proc.stdout, proc.stderr)
    ws.runs.append(run)
    return run


def command(ws: Workspace, name: str, *args: str, **env: str) -> Run:
    """``fetcher NAME <specs> ARGS`` on the workspace, piped."""
    return piped(ws, name, str(ws.specs), *args, **env)


def file_requests(emu: Emulator) -> list[str]:
    """The paths the files host was asked for, in order."""
    return [r.path for r in emu.requests if r.host == "files"]


def everything_written(ws: Workspace) -> str:
    """Every output of the workspace's CLI runs, the ledger's bytes and the data's names."""
    outputs = "".join(r.stdout + r.stderr for r in ws.runs)
    ledger = b"".join(ws.ledger_contents().values()).decode("latin-1")
    names = "\n".join(str(p) for p in ws.data.rglob("*")) if ws.data.exists() else ""
    return outputs + ledger + names


# --- 9. output in pipes ----------------------------------------------------------------


def test_a_piped_report_prints_the_whole_reason(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/redirect/passwd")))
    run = command(ws, "sync")
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("raster")]
    assert (1, True, False) == (run.code, line.rstrip().endswith("-> file:///etc/passwd"),
                                "…" in run.stdout)


def test_columns_set_still_fits_the_report_to_that_width(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/redirect/passwd")))
    run = command(ws, "sync", COLUMNS="60")
    table = run.stdout.split("\n\n")[0].splitlines()
    assert (True, True) == (all(len(x) <= 60 for x in table), "…" in run.stdout)


# --- 10. mistakes the spec should catch --------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_plain_http_off_loopback_is_a_located_spec_error_that_writes_nothing(
        ws: Workspace, name: str) -> None:
    spec = ws.write_spec(http_spec("http://example.org/raster.tif"))
    before = ws.ledger_contents()
    run = command(ws, name)
    assert (2, f"error: {spec}:5:10: plain http://", before, False, 0) == (
        run.code, run.stderr[:len(f"error: {spec}:5:10: plain http://")],
        ws.ledger_contents(), ws.data.exists(), ws.emu.stats["requests"])


@pytest.mark.parametrize("name", COMMANDS)
def test_plain_http_off_loopback_creates_no_ledger(tmp_path: Path, emu: Emulator,
                                                   name: str) -> None:
    ws = make_workspace(tmp_path, emu, migrated=False)
    spec = ws.write_spec(http_spec("http://example.org/raster.tif"))
    run = command(ws, name)
    assert (2, f"{spec}:5:10:", {}, False) == (run.code, run.stderr.split()[1],
                                               ws.ledger_contents(), ws.data.exists())


@pytest.mark.parametrize("url", ["https://[::1/raster.tif", "https://example.org:99999/raster.tif",
                                 "https://example.org:port/raster.tif", "https://:443/raster.tif"])
def test_an_unreadable_url_is_a_located_spec_error(ws: Workspace, url: str) -> None:
    spec = ws.write_spec(http_spec(url))
    before = ws.ledger_contents()
    run = command(ws, "sync")
    assert (2, f"{spec}:5:10:", "Traceback" in run.stderr, before) == (
        run.code, run.stderr.split()[1], False, ws.ledger_contents())


@pytest.mark.parametrize("url", ["ftp://reader:SpecSecret1@example.org/raster.tif",
                                 "https://reader:SpecSecret1@example.org/",
                                 "http://reader:SpecSecret1@example.org/raster.tif",
                                 "https://reader:SpecSecret1@[::1/raster.tif?token=SpecSecret1"])
def test_a_spec_error_about_a_url_never_shows_its_password(ws: Workspace, url: str) -> None:
    ws.write_spec(http_spec(url))
    run = command(ws, "sync")
    assert (2, True, False) == (run.code, "5:10:" in run.stderr, "SpecSecret1" in run.stderr)


SERVER_MISTAKES = {
    "dataset": ("dataset: copernicus-global-land-service-land-cover-100m-collection-3-epoch-"
                "2019-globe", "dataset: no-such-dataset-anywhere"),
    "layer": ('layer: "Cover Fraction: Built-up "', 'layer: "No such layer"'),
    "format": ("format: Geotiff", "format: Netcdf"),
    "crs": ("crs: EPSG:4326", "crs: EPSG:32620"),  # known to the service, not to this dataset
}


@pytest.mark.parametrize("mistake", sorted(SERVER_MISTAKES))
def test_a_mistake_only_the_server_reveals_names_the_spec_file_and_line(
        ws: Workspace, mistake: str) -> None:
    spec = ws.write_spec(spec_text(NUTS_SPEC.replace(*SERVER_MISTAKES[mistake])))
    report = ws.sync()
    (outcome,) = report.outcomes
    assert (2, "failed", f"{spec}:6:") == (report.exit_code, outcome.outcome,
                                           outcome.message[:len(f"{spec}:6:")])


# --- 13. hostile specs -----------------------------------------------------------------


def deep(ws: Workspace) -> tuple[Path, str]:
    return ws.write_spec("version: 1\ndatasets: " + "[" * 200_000 + "]" * 200_000 + "\n"), ":2:"


def laughs(ws: Workspace) -> tuple[Path, str]:
    return ws.write_spec(LAUGHS), ":"


def huge(ws: Workspace) -> tuple[Path, str]:
    path = ws.specs / "specs.yaml"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("version: 1\ndatasets:\n")
        for i in range(1_100_000):  # about 17 MiB of comments
            handle.write(f"# padding line {i:08d}\n")
    return path, ":1:1:"


HOSTILE: dict[str, Callable[[Workspace], tuple[Path, str]]] = {
    "deep": deep, "laughs": laughs, "huge": huge}


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_a_hostile_spec_is_refused_at_once_located(ws: Workspace, shape: str,
                                                   name: str) -> None:
    spec, where = HOSTILE[shape](ws)
    before = ws.ledger_contents()
    start = time.monotonic()
    run = command(ws, name)
    took = time.monotonic() - start
    assert (2, True, True, before) == (run.code, took < HOSTILE_SECONDS,
                                       run.stderr.startswith(f"error: {spec}{where}"),
                                       ws.ledger_contents())


def test_an_alias_bomb_behind_a_long_spec_is_refused_at_once(ws: Workspace) -> None:
    padding = "".join(f"  - entry {i}\n" for i in range(100_000))
    spec = ws.write_spec(LAUGHS.replace("a: &a", f"padding:\n{padding}a: &a"))
    start = time.monotonic()
    run = command(ws, "plan")
    took = time.monotonic() - start
    assert (2, True, True) == (run.code, took < HOSTILE_SECONDS,
                               f"{spec}:1000" in run.stderr and "aliases" in run.stderr)


# --- 14. redirects ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "said"), [
    ("/redirect/loop", "redirects in a loop"),
    ("/redirect/passwd", "-> file:///etc/passwd"),
    ("/redirect/external", "-> http://example.org/x"),
])
def test_a_refused_redirect_fails_the_item_at_once_with_the_chain(
        ws: Workspace, path: str, said: str) -> None:
    ws.write_spec(http_spec(files_url(ws, path)))
    start = ws.emu.clock.now()
    report = ws.sync()
    (outcome,) = report.outcomes
    assert ("failed", True, [path], start) == (
        outcome.outcome, said in outcome.message and f"{path} -> " in outcome.message,
        file_requests(ws.emu), ws.emu.clock.now())


def test_a_redirect_loop_under_server_faults_is_not_retried_as_a_fault(
        ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/redirect/loop")))
    ws.emu.faults.script("files", "error_503")
    report = ws.sync()
    assert ("failed", [503, 302]) == (report.outcomes[0].outcome,
                                      [r.status for r in ws.emu.requests if r.host == "files"])


@pytest.mark.parametrize("path", ["/redirect/chain/4/random/4096/a.bin",
                                  "/redirect/301/random/4096/a.bin",
                                  "/redirect/307/random/4096/a.bin",
                                  "/redirect/308/random/4096/a.bin"])
def test_a_good_redirect_chain_is_followed(ws: Workspace, path: str) -> None:
    ws.write_spec(http_spec(files_url(ws, path), filename="a.bin"))
    report = ws.sync()
    (landed,) = ws.data.rglob("a.bin")
    direct = make_workspace(ws.root / "direct", ws.emu)
    direct.write_spec(http_spec(files_url(ws, "/random/4096/a.bin")))
    direct.sync()
    (expected,) = direct.data.rglob("a.bin")
    assert ("downloaded", sha256(expected)) == (report.outcomes[0].outcome, sha256(landed))


# --- 15. credentials in URLs -------------------------------------------------------------


def test_userinfo_is_sent_as_basic_auth_and_never_shown_or_stored(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/private/random/2048/a.bin", f"reader:{PASSWORD}")))
    sync = command(ws, "sync")
    command(ws, "sync", "--json")
    command(ws, "status", "--json")
    command(ws, "plan", "--json")
    piped(ws, "lock", str(ws.specs))
    lock = (ws.specs / "fetcher.lock").read_text(encoding="utf-8")
    assert (0, 1, False) == (sync.code, len(list(ws.data.rglob("a.bin"))),
                             PASSWORD in everything_written(ws) + lock)


def test_a_wrong_password_fails_the_item_without_showing_it(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/private/random/2048/a.bin", "reader:WrongPass9")))
    run = command(ws, "sync")
    command(ws, "sync", "--json")
    assert (1, True, False) == (run.code, "401" in run.stdout,
                                "WrongPass9" in everything_written(ws))


def test_a_percent_encoded_password_is_decoded(
        tmp_path: Path, make_emulator: Callable[..., Emulator]) -> None:
    ws = make_workspace(tmp_path, make_emulator(files_password="p@ss:w/rd %"))
    ws.write_spec(http_spec(files_url(ws, "/private/random/2048/a.bin",
                                      "reader:p%40ss%3Aw%2Frd%20%25")))
    report = ws.sync()
    assert "downloaded" == report.outcomes[0].outcome


def test_credentials_do_not_follow_a_redirect_to_another_host(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/redirect/localhost/private/random/2048/a.bin",
                                      f"reader:{PASSWORD}")))
    report = ws.sync()
    (outcome,) = report.outcomes
    assert ("failed", True) == (outcome.outcome, "401" in outcome.message)


def test_secret_query_parameters_are_redacted_everywhere(ws: Workspace) -> None:
    secrets = {"token": "TokSecret1", "access_token": "TokSecret2", "key": "TokSecret3",
               "X-Amz-Signature": "TokSecret4", "sig": "TokSecret5"}
    query = "&".join(f"{k}={v}" for k, v in secrets.items())
    ws.write_spec(http_spec(files_url(ws, f"/random/2048/a.bin?seed=3&{query}")))
    ws.write_spec(http_spec(files_url(ws, f"/redirect/loop?{query}")), "failing.yaml")
    (ws.specs / "failing.yaml").write_text(
        (ws.specs / "failing.yaml").read_text().replace("raster:", "looping:"))
    run = command(ws, "sync")
    command(ws, "sync", "--json")
    command(ws, "status", "--json")
    written = everything_written(ws)
    assert (1, 1, []) == (run.code, len(list(ws.data.rglob("a.bin"))),
                          [s for s in secrets.values() if s in written])


def test_netrc_credentials_are_used_and_never_stored(ws: Workspace) -> None:
    home = ws.root / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login reader password {PASSWORD}\n")
    netrc.chmod(0o600)
    ws.write_spec(http_spec(files_url(ws, "/private/random/2048/a.bin")))
    without = command(ws, "sync", HOME=str(ws.root / "nowhere"))
    run = command(ws, "sync", HOME=str(home))
    assert (1, 0, 1, False) == (without.code, run.code, len(list(ws.data.rglob("a.bin"))),
                                PASSWORD in everything_written(ws))


def test_auth_env_credentials_are_used_and_never_stored(ws: Workspace) -> None:
    ws.write_spec(http_spec(files_url(ws, "/private/random/2048/a.bin"),
                            auth_env="FILES_LOGIN"))
    run = command(ws, "sync", FILES_LOGIN=f"reader:{PASSWORD}")
    command(ws, "status", "--json")
    assert (0, 1, False) == (run.code, len(list(ws.data.rglob("a.bin"))),
                             PASSWORD in everything_written(ws))

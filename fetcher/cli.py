"""The command line: parse, call one library function, render. Typer lives here only.

One handler turns a ``FetcherError`` into ``error: ...`` on stderr and its exit
code; anything else is a bug and keeps its traceback (without local variables,
which may hold keys).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from typer.exceptions import TyperException

from fetcher.errors import FetcherError, UsageError

if TYPE_CHECKING:
    from fetcher.config import Settings
    from fetcher.reconcile.report import Report

app = typer.Typer(
    name="fetcher",
    help="Keep a folder of CLMS, CEDA, Zenodo and HTTP data in the state YAML specs describe.",
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Ledger maintenance.")
app.add_typer(db_app, name="db")


@app.callback(invoke_without_command=True)
@db_app.callback(invoke_without_command=True)
def _help_when_bare(ctx: typer.Context) -> None:
    """`fetcher` or `fetcher db` alone prints its help."""
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit(0)

Paths = Annotated[Optional[list[Path]], typer.Argument(  # noqa: UP045 (typer reads it)
    help="Spec files or folders of *.yaml specs [default: specs/].", show_default=False)]
Db = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--db", help="Ledger path or SQLAlchemy URL [env: FETCHER_DB; default: .fetcher/ledger.db].",
    show_default=False)]
DataDir = Annotated[Optional[Path], typer.Option(  # noqa: UP045
    "--data-dir", help="Data folder [env: FETCHER_DATA_DIR; default: data].", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
Offline = Annotated[bool, typer.Option("--offline", help="Never touch the network.")]


def _settings(db: str | None, data_dir: Path | None) -> Settings:
    from fetcher.config import Settings

    return Settings.from_env(db=db, data_dir=data_dir)


def _paths(paths: list[Path] | None) -> list[Path]:
    return paths or [Path("specs")]


@app.command()
def plan(paths: Paths = None, json: Json = False, db: Db = None, data_dir: DataDir = None,
         offline: Offline = False) -> None:
    """Show what `sync` would do, item by item, without touching the network."""
    from fetcher import render
    from fetcher.errors import SpecError
    from fetcher.ops import status as ops
    from fetcher.ops.common import read_snapshot
    from fetcher.spec import load_specs

    settings = _settings(db, data_dir)
    specs = load_specs(list(_paths(paths)))  # a spec mistake stops here, the ledger unread
    snapshot = read_snapshot(settings)
    result = ops.plan_loaded(specs, snapshot, settings)
    refused = ops.server_rule_problems(specs, snapshot)
    if refused:
        raise SpecError(refused)
    if json:
        render.dump_json(result.to_json(), compact=len(result.steps) > 1000)
        return
    rows = [(s.label, s.action.value, s.task_id or "-",
             s.reason + (f" [held: {s.held}]" if s.held else "")) for s in result.steps]
    render.table(("ITEM", "ACTION", "TASK", "WHY"), rows)
    counts = ", ".join(f"{n} {a}" for a, n in sorted(result.count().items()))
    print(f"\n{len(result.steps)} item(s): {counts}")


@app.command()
def sync(
    paths: Paths = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    no_wait: Annotated[bool, typer.Option(
        "--no-wait", help="Submit and return; a later sync picks up.")] = False,
    timeout: Annotated[Optional[float], typer.Option(  # noqa: UP045
        "--timeout", min=0, help="Stop waiting for tasks after S seconds.",
        show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, max=64,
                                      help="Parallel downloads.")] = 4,
    offline: Offline = False,
    frozen: Annotated[bool, typer.Option("--frozen",
                                         help="Use fetcher.lock's ids; fail on any difference."
                                         )] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Request again items whose retry budget is spent.")] = False,
    refresh_catalogue: Annotated[bool, typer.Option(
        "--refresh-catalogue", help="Forget remembered catalogue entries and file listings; "
                                    "look them up again.")] = False,
    wait_lock: Annotated[float, typer.Option(
        "--wait-lock", min=0, help="Wait up to S seconds for another sync on this ledger."
    )] = 0.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the summary."
                                        )] = False,
    json: Json = False,
    db: Db = None,
    data_dir: DataDir = None,
) -> int:
    """Reconcile: resolve, submit what is missing, poll, download, verify, extract."""
    if dry_run:
        plan(paths, json=json, db=db, data_dir=data_dir, offline=offline)
        return 0
    from fetcher import render
    from fetcher.display import for_terminal
    from fetcher.errors import FetcherError
    from fetcher.ops.sync import sync as run_sync
    from fetcher.reconcile.apply import SyncOptions

    options = SyncOptions(wait=not no_wait, timeout=timeout, jobs=jobs, offline=offline,
                          retry_failed=retry_failed, frozen=frozen, wait_lock=wait_lock,
                          refresh_catalogue=refresh_catalogue)
    display = for_terminal(quiet or json)
    try:
        report = run_sync(_paths(paths), _settings(db, data_dir), options, display=display)
    except FetcherError as exc:
        if json:  # a pipeline reading --json gets a document, whatever stopped the run
            render.dump_json({"exit_code": exc.exit_code,
                              "error": {"message": exc.message, "hint": exc.hint}})
        raise  # and the error line on stderr, as for every command
    finally:
        if display is not None:
            display.close()
    if json:
        render.dump_json(report.to_json())
    else:
        _print_report(report, quiet=quiet)
    return report.exit_code


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _print_report(report: Report, *, quiet: bool = False) -> None:
    from fetcher import render
    from fetcher.text import human_size
    if not quiet:
        rows = [(o.item, o.outcome, o.task_id or "-", human_size(o.bytes) if o.bytes else "-",
                 o.message) for o in report.outcomes]
        render.table(("ITEM", "OUTCOME", "TASK", "MOVED", "DETAIL"), rows)
        print()
    print(report.summary())
    for outcome in report.outcomes:
        if outcome.outcome == "failed" and outcome.hint:
            print(f"hint: {outcome.item}: {outcome.hint}")


@app.command()
def status(paths: Paths = None, json: Json = False,
           check: Annotated[bool, typer.Option("--check", help="Exit 1 unless every item is "
                                               "complete, its files match the ledger and "
                                               "fetcher.lock (if present).")] = False,
           verify: Annotated[bool, typer.Option("--verify", help="Re-hash files instead of "
                                                "trusting size and mtime.")] = False,
           offline: Offline = False, db: Db = None, data_dir: DataDir = None) -> int:
    """Every item: state, task and server status, files, sizes, age. Never uses the network."""
    from fetcher import render
    from fetcher.ops import status as ops
    from fetcher.text import human_size

    report = ops.status(_paths(paths), _settings(db, data_dir), rehash=verify)
    if json:
        render.dump_json(report.to_json())
    else:
        rows = [(i.item, i.state, i.task_id or "-", i.server_status or "-", _age(i.age),
                 str(i.files), human_size(i.size) if i.size else "-",
                 "; ".join(i.problems) or i.reason) for i in report.items]
        render.table(("ITEM", "STATE", "TASK", "SERVER", "AGE", "FILES", "SIZE", "DETAIL"),
                     rows)
        for problem in report.lock_problems:
            print(f"lock: {problem}")
        done = sum(1 for i in report.items if i.state == "complete" and not i.problems)
        print(f"\n{done}/{len(report.items)} complete"
              + ("; fetcher.lock checked" if report.lock_checked else ""))
    return 1 if check and not report.complete else 0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


@app.command()
def verify(paths: Paths = None, json: Json = False, offline: Offline = False, db: Db = None,
           data_dir: DataDir = None) -> int:
    """Re-hash every recorded file; report missing and changed ones (exit 1 if any)."""
    from fetcher import render
    from fetcher.ops import status as ops

    problems = ops.verify(paths, _settings(db, data_dir))
    if json:
        render.dump_json({"ok": not problems, "problems": problems})
    else:
        for item, found in problems.items():
            for problem in found:
                print(f"{item}: {problem}")
        print("all recorded files intact" if not problems
              else f"{sum(map(len, problems.values()))} problem(s)")
    return 1 if problems else 0


@app.command()
def lock(paths: Paths = None, db: Db = None, data_dir: DataDir = None) -> None:
    """Write fetcher.lock beside the specs: per item its ids, files, sizes and sha256."""
    from fetcher.ops import status as ops

    print(f"wrote {ops.write_lock(_paths(paths), _settings(db, data_dir))}")


@app.command()
def cancel(items: Annotated[list[str], typer.Argument(
        help="Item labels (dataset/region) or keys.")], db: Db = None) -> None:
    """Cancel the server tasks of the given items."""
    from fetcher.ops.maintenance import cancel as cancel_items

    for item, task_id in cancel_items(items, _settings(db, None), log=_log):
        print(f"{item}: cancelled task {task_id}")


@app.command()
def gc(paths: Paths = None,
       dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
       db: Db = None, data_dir: DataDir = None) -> None:
    """Remove orphans: items no spec names any more, with their files and server tasks."""
    from fetcher.ops.maintenance import gc as collect

    removals = collect(_paths(paths), _settings(db, data_dir), dry_run=dry_run, log=_log)
    verb = "would remove" if dry_run else "removed"
    for removal in removals:
        extra = f", cancel task {removal.cancelled}" if removal.cancelled else ""
        print(f"{removal.item}: {verb} {len(removal.files)} file(s){extra}")
    print(f"{len(removals)} orphan(s)")


@app.command()
def doctor(db: Db = None) -> int:
    """Check credentials, token exchange, reachability and the ledger, requesting no data."""
    from fetcher.ops.doctor import doctor as run_checks
    from fetcher.transfer.http import Http, RetryPolicy

    http = Http(policy=RetryPolicy(attempts=2, connect_timeout=5.0, read_timeout=20.0))
    checks = run_checks(_settings(db, None), http=http)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


@app.command()
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo's specs, data and "
                                         "ledger go (replaced if present).")] = Path(
        "fetcher-demo"),
) -> None:
    """Run an end-to-end sync against the bundled emulator: no credentials, no network."""
    from fetcher.ops.demo import run_demo

    first, second = run_demo(folder, log=lambda line: print(f"  {line}", flush=True))
    _print_report(first)
    print()
    for name, report in (("first", first), ("second", second)):
        print(f"{name} sync: {report.summary()}")
    print(f"\nfiles are in {folder / 'data'}; try `fetcher status --db {folder / 'ledger.db'}"
          f" --data-dir {folder / 'data'} {folder / 'specs'}`")


EMULATOR_HELP = """Serve the bundled emulator on 127.0.0.1 for manual tests and your own CI.

Prints the URLs of its hosts and the environment to point fetcher at them. The
--config file (YAML or JSON) takes the fields of fetcher.emulator.EmulatorConfig:
seed, fake_clock, token_lifetime, queued_seconds, in_progress_seconds, schedule,
outcomes, failure_rate, rejection_rate, result_ttl, forbid_after_finish, results
(per DatasetID: size, first_byte_delay, chunk_delay, not_ready_seconds,
not_ready_status, ttl), post_faults (before_500/502/503, after_500/502/503,
after_drop, orphan), cdse_children, cdse_parent_delay, timestamp_style,
catalogue_size, fme_fails, zenodo_rate_limit, zenodo_many_files,
zenodo_many_file_size, ceda_file_size, zenodo_file_size, files_password, mirrors,
faults (per host: error_500, error_502, error_503, throttle, retry_after,
retry_after_http_date, drop, truncate, slow, slow_seconds, expire_token,
post_fault_after_create). Control endpoints: /_emulator/stats, /requests,
/requests/by-path, /tasks/by-item, /clock/advance?seconds=N, /faults,
/call/<handle>/<method>, /service-key on the CLMS port.
"""


@app.command(help=EMULATOR_HELP)
def emulator(
    config: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--config", help="YAML or JSON file of emulator options.", show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", help="CLMS port; the other hosts take the "
                                      "next four (0: any free ports).")] = 0,
    key_out: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--key-out", help="Write a ready service key here (mode 600).",
        show_default=False)] = None,
) -> None:
    from fetcher.emulator import EmulatorConfig, config_from_file, serve

    try:
        settings = config_from_file(config) if config else EmulatorConfig()
    except (OSError, ValueError) as exc:
        raise UsageError(f"--config {config}: {exc}",
                         hint="see `fetcher emulator --help` for the options") from exc
    names = ("clms", "fme", "ceda", "zenodo", "files")
    ports = {name: port + i if port else 0 for i, name in enumerate(names)}
    env = {"clms": "FETCHER_CLMS_URL", "ceda": "FETCHER_CEDA_URL",
           "zenodo": "FETCHER_ZENODO_URL", "service key": "FETCHER_CLMS_KEY"}

    def announce(line: str) -> None:
        print(line, flush=True)
        name, _, value = line.partition(": ")
        if name in env:
            print(f"  export {env[name]}={value}", flush=True)

    serve(settings, ports=ports, announce=announce, key_path=key_out)


@db_app.command("upgrade")
def db_upgrade(db: Db = None) -> None:
    """Migrate the ledger to the current schema (also done whenever it is opened)."""
    from fetcher.config import Settings
    from fetcher.ledger import Ledger
    from fetcher.ledger.db import HEAD, current_revision, redact

    settings = Settings.from_env(db=db)
    with Ledger.open(settings.db) as ledger:
        print(f"ledger {redact(ledger.url)} at schema {current_revision(ledger.engine) or HEAD}")


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app, map errors to messages and exit codes."""
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this)."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="fetcher")
    except FetcherError as exc:
        _error(exc.message, exc.hint)
        return exc.exit_code
    except typer.Abort:
        _error("interrupted", None)
        return 130
    except TyperException as exc:
        _error(exc.format_message(), "see `fetcher --help`")
        return 2
    except KeyboardInterrupt:
        _error("interrupted; the ledger keeps what was done, run the command again", None)
        return 130
    return result if isinstance(result, int) else 0


def _error(message: str, hint: str | None) -> None:
    lines = message.splitlines() or [message]
    for line in lines:
        print(f"error: {line}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)

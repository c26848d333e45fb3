"""juggler's command line: a thin face over the engine and the triage pipeline.

Exit codes, in one place (also in ``--help``, see ``_clihelp``): 0 ok, 1 partial (some
input refused), 2 usage or config error, 3 every input refused, 4 a delivery failed,
5 internal error, 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import TYPE_CHECKING, ClassVar

import click

from . import JugglerError, __version__
from ._clihelp import ROOT_EPILOG, triage_epilog
from .triage._config import ENV_VARIABLES

if TYPE_CHECKING:
    from types import FrameType

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_DELIVERY = 4
EXIT_INTERNAL = 5
EXIT_INTERRUPTED = 130


class _Commands(click.Group):
    """The root group; ``kb`` is imported only when it runs or help lists it.

    Its module pulls in the knowledge base (numpy, SQLite, YAML), which ``juggler triage``
    on a small log must not pay for at start-up.
    """

    _lazy: ClassVar[dict[str, str]] = {"kb": "juggler.triage.kb._cli"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy and cmd_name not in self.commands:
            module = importlib.import_module(self._lazy[cmd_name])
            self.add_command(getattr(module, cmd_name))
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]}, epilog=ROOT_EPILOG
)
@click.version_option(__version__, prog_name="juggler")
def app() -> None:
    """Run pipelines across the event loop, threads and processes, and triage failed builds."""


@app.command()
@click.option("--items", default=200, show_default=True, help="Items to push through.")
@click.option("--cpu-ms", default=20, show_default=True, help="CPU work per item (ms).")
@click.option("--io-ms", default=20, show_default=True, help="I/O wait per item (ms).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option(
    "--trace",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the run's trace: .json (Chrome trace, Perfetto) or .html (timeline).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(
    items: int, cpu_ms: int, io_ms: int, as_json: bool, trace: str | None, quiet: bool
) -> None:
    """Run an aio → cpu → io pipeline on generated items and print its report."""
    from ._demo import run_demo

    if trace is not None:
        _check_trace(trace)
    code = run_demo(
        items=items, cpu_ms=cpu_ms, io_ms=io_ms, as_json=as_json, trace=trace, quiet=quiet
    )
    sys.exit(code)


@app.command(epilog=triage_epilog(ENV_VARIABLES))
@click.argument("logs", nargs=-1, required=True)
@click.option(
    "--baseline",
    multiple=True,
    metavar="GOOD",
    help="Log of a passing run of the same job (repeatable); lines new against it rise.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the triage JSON and nothing else.")
@click.option(
    "--trace",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the run's trace: .json (Chrome trace, Perfetto) or .html (timeline).",
)
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: cores).")
@click.option(
    "--cluster",
    envvar="JUGGLER_CLUSTER",
    help="Run the CPU stages on a Dask cluster: a scheduler address, or 'local' "
    "[default: $JUGGLER_CLUSTER; needs juggler[dask]].",
)
@click.option(
    "--kb",
    "kb_path",
    envvar="JUGGLER_KB",
    type=click.Path(dir_okay=False),
    help="Knowledge base file [default: $JUGGLER_KB, else kb_path of the config, else "
    "kb.sqlite3 in the user data folder]. $JUGGLER_EMBEDDER=semantic ranks similar incidents "
    "with WordLlama (juggler[semantic]).",
)
@click.option("--no-kb", is_flag=True, help="No known causes or past incidents.")
@click.option("--project", default="", help="Project of the logs (owner/repo).")
@click.option("--learn", is_flag=True, help="Remember this failure as an incident (needs --cause).")
@click.option("--cause", default=None, help="With --learn: what caused it (required).")
@click.option("--fix", default=None, help="With --learn: how it was fixed.")
@click.option("--link", default=None, help="With --learn: issue, PR or commit URL.")
@click.option(
    "--config",
    "config_file",
    envvar="JUGGLER_CONFIG",
    type=click.Path(dir_okay=False),
    help="Read options from this TOML file instead of the discovered juggler.toml / "
    "pyproject.toml and the user's file.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="Write the memo here (Markdown, HTML, JSON) and send the configured notifications.",
)
@click.option("--llm-url", help="OpenAI-compatible API base URL for an LLM-written summary.")
@click.option("--llm-model", help="Model name for --llm-url.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Findings shown on the terminal (the JSON and the memo keep their own).",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.option(
    "--resume",
    metavar="RUN_ID",
    help="Continue an interrupted run: reuse the chunks it committed, scan the rest.",
)
def triage(
    logs: tuple[str, ...],
    baseline: tuple[str, ...],
    as_json: bool,
    trace: str | None,
    workers: int | None,
    cluster: str | None,
    kb_path: str | None,
    no_kb: bool,
    project: str,
    learn: bool,
    cause: str | None,
    fix: str | None,
    link: str | None,
    config_file: str | None,
    out_dir: str | None,
    llm_url: str | None,
    llm_model: str | None,
    top: int,
    quiet: bool,
    debug: bool,
    resume: str | None,
) -> None:
    """Find the lines that explain why a build failed in LOGS (files, folders, archives, -)."""
    from .triage._cli import run_triage

    _check_learn_options(learn=learn, no_kb=no_kb, cause=cause, fix=fix, link=link)
    code = run_triage(
        list(logs),
        baseline=list(baseline),
        as_json=as_json,
        top=top,
        trace=trace,
        workers=workers,
        cluster=cluster or None,
        kb=None if no_kb else kb_path,
        use_kb=not no_kb,
        project=project,
        learn=(cause or "", fix or "", link or "") if learn else None,
        config_file=config_file,
        options={"out_dir": out_dir, "llm_url": llm_url, "llm_model": llm_model},
        quiet=quiet,
        debug=debug,
        resume=resume,
    )
    sys.exit(code)


def _check_trace(trace: str) -> None:
    """Suffix known, folder present, file writable: before the run, in one line."""
    from .triage._preflight import check_trace

    check_trace(trace)


def _check_learn_options(
    *, learn: bool, no_kb: bool, cause: str | None, fix: str | None, link: str | None
) -> None:
    """Refuse the combinations that would silently do nothing, or store nothing useful."""
    if not learn:
        pairs = (("--cause", cause), ("--fix", fix), ("--link", link))
        given = [name for name, value in pairs if value is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} only make sense with --learn")
        return
    if no_kb:
        raise click.UsageError("--learn stores the incident in the knowledge base: drop --no-kb")
    if cause is None or not cause.strip():
        raise click.UsageError("--learn needs --cause: what caused this failure")


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8321, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--data-dir",
    default="juggler-data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Runs (SQLite + files) and the knowledge base.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="Bearer tokens, 'TOKEN USER [PROJECT ...]' per line (required off loopback).",
)
@click.option("--cluster", help="Dask scheduler address for the cpu work.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: cores).")
@click.option("--max-runs", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--max-queued", default=32, show_default=True, type=click.IntRange(min=1))
@click.option("--run-timeout", default=300.0, show_default=True, help="Wall-time cap of a run (s).")
@click.option("--max-upload-mib", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--grace", default=10.0, show_default=True, help="Seconds runs get on SIGTERM.")
def serve(
    host: str,
    port: int,
    data_dir: str,
    token_file: str | None,
    cluster: str | None,
    workers: int | None,
    max_runs: int,
    max_queued: int,
    run_timeout: float,
    max_upload_mib: int,
    grace: float,
) -> None:
    """Serve the triage web page and HTTP API (loopback unless --host says otherwise)."""
    try:  # lazy: `juggler triage` start-up never pays for the web stack
        from .server._cli import run_serve
    except ImportError as exc:
        raise click.UsageError(f"serve needs: pip install 'juggler[serve]' ({exc.name})") from None
    run_serve(locals())


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt("terminated by SIGTERM")


def main() -> None:
    """The console entry point: maps interruptions and juggler errors to exit codes."""
    # A SIGTERM between runs (while the memo is written, at teardown) ends as Ctrl-C would:
    # exit 130 with the journal marked interrupted, never a bare death by signal.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        _main()
    finally:
        # The exit code is chosen. The interpreter's teardown resets every handler to the
        # default, so a Ctrl-C or SIGTERM landing in it would turn that code into a bare death
        # by signal (-2): hold them pending until the process is gone.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def _main() -> None:
    try:
        app.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        # A command may say 3 (its input refused) or 4; click's own default of 1 would read
        # as "partial", so anything else is a usage error.
        known = (EXIT_USAGE, EXIT_REJECTED, EXIT_DELIVERY)
        sys.exit(exc.exit_code if exc.exit_code in known else EXIT_USAGE)
    except JugglerError as exc:
        click.echo(f"juggler: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        # An unexpected error: one line, and the traceback only when asked for.
        if "--debug" in sys.argv:
            raise
        click.echo(
            f"juggler: internal error: {type(exc).__name__}: {exc} (--debug shows more)", err=True
        )
        sys.exit(EXIT_INTERNAL)

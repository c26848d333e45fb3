"""juggler's command line: a thin face over the engine and the triage pipeline.

Exit codes, in one place: 0 ok, 1 failures found or partial, 2 usage or config error,
3 every input rejected, 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import sys

import click

from . import JugglerError, __version__, check_trace_path

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_INTERRUPTED = 130


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="juggler")
def app() -> None:
    """Run pipelines across the event loop, threads and processes."""


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
        check_trace_path(trace)
    code = run_demo(
        items=items, cpu_ms=cpu_ms, io_ms=io_ms, as_json=as_json, trace=trace, quiet=quiet
    )
    sys.exit(code)


@app.command()
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
    "--kb",
    "kb_path",
    envvar="JUGGLER_KB",
    type=click.Path(dir_okay=False),
    help="Knowledge base file [default: $JUGGLER_KB, else the XDG data directory].",
)
@click.option("--no-kb", is_flag=True, help="No known causes or past incidents.")
@click.option("--project", default="", help="Project of the logs (owner/repo).")
@click.option("--learn", is_flag=True, help="Remember this failure as an incident.")
@click.option("--cause", default="", help="With --learn: what caused it.")
@click.option("--fix", default="", help="With --learn: how it was fixed.")
@click.option("--link", default="", help="With --learn: issue, PR or commit URL.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    help="Write the memo here (Markdown, HTML, JSON) and send the configured notifications.",
)
@click.option("--llm-url", help="OpenAI-compatible API base URL for an LLM-written summary.")
@click.option("--llm-model", help="Model name for --llm-url.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def triage(
    logs: tuple[str, ...],
    baseline: tuple[str, ...],
    as_json: bool,
    trace: str | None,
    workers: int | None,
    kb_path: str | None,
    no_kb: bool,
    project: str,
    learn: bool,
    cause: str,
    fix: str,
    link: str,
    out_dir: str | None,
    llm_url: str | None,
    llm_model: str | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Find the lines that explain why a build failed in LOGS (files, folders, archives, -)."""
    from .triage._cli import run_triage

    if trace is not None:
        check_trace_path(trace)
    code = run_triage(
        list(logs),
        baseline=list(baseline),
        as_json=as_json,
        trace=trace,
        workers=workers,
        kb=None if no_kb else kb_path,
        use_kb=not no_kb,
        project=project,
        learn=(cause, fix, link) if learn else None,
        options={"out_dir": out_dir, "llm_url": llm_url, "llm_model": llm_model},
        quiet=quiet,
        debug=debug,
    )
    sys.exit(code)


def _mount_kb() -> None:
    from .triage.kb._cli import kb

    app.add_command(kb)


_mount_kb()


def main() -> None:
    """The console entry point: maps interruptions and juggler errors to exit codes."""
    try:
        app.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
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
        sys.exit(EXIT_FAILURES)

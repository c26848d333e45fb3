"""``juggler kb``: edit and query the knowledge base from the shell.

Thin: each command parses its arguments, calls the library, prints. Errors are one line
naming the input and the reason (exit 2), never a traceback.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
from typing import TYPE_CHECKING, Any, TypeVar

import click

from juggler import JugglerError

from ._errors import KnowledgeBaseError
from ._io import dump_document, load_document, parse_document
from ._model import Cause, Incident, Indication, Resolution, Signature
from ._signature import signature_of, signature_of_lines
from ._store import open_store

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._store import SqliteStore

__all__ = ["kb"]

T = TypeVar("T")


class _Failure(click.ClickException):
    """A one-line error; exit status 2 (usage or configuration), as the main CLI's table."""

    exit_code = 2


def _run(ctx: click.Context, body: Callable[[SqliteStore], Awaitable[T]]) -> T:
    """Open the KB named by ``--kb``, run ``body`` on the loop, map errors to one line."""
    path = (ctx.obj.get("kb") if ctx.obj else None) or _configured_kb()

    async def main() -> T:
        async with open_store(path) as store:
            return await body(store)

    try:
        return asyncio.run(main())
    except KnowledgeBaseError as exc:
        raise _Failure(str(exc)) from None
    except OSError as exc:
        where = exc.filename or path or "knowledge base"
        raise _Failure(f"{where}: {exc.strerror or exc}") from None
    except Exception as exc:  # sqlite3 errors on a corrupt file, and the like
        raise _Failure(f"{path or 'knowledge base'}: {type(exc).__name__}: {exc}") from None


def _configured_kb() -> str | None:
    """``kb_path`` of the config files (``$JUGGLER_KB_PATH`` too), as ``juggler triage`` uses."""
    from .._config import load_config

    try:
        return load_config().kb_path
    except JugglerError as exc:
        raise _Failure(str(exc)) from None


def _remember_kb(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # ``--kb`` after the subcommand (``juggler kb list --kb X``) overrides one before it.
    if value is not None:
        ctx.ensure_object(dict)["kb"] = value


def _kb_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--kb`` on a subcommand, so it works on either side of the subcommand's name."""
    return click.option(
        "--kb",
        metavar="PATH",
        expose_value=False,
        callback=_remember_kb,
        help="Knowledge base file (as `juggler kb --kb PATH`).",
    )(command)


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError as exc:
        raise _Failure(f"{source}: {exc.strerror or exc}") from None


def _load(source: str) -> Any:
    try:
        return load_document(source, _read_input(source) if source == "-" else None)
    except KnowledgeBaseError as exc:
        raise _Failure(str(exc)) from None


def _when(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M")


@click.group(name="kb")
@click.option(
    "--kb",
    "kb_path",
    metavar="PATH",
    envvar="JUGGLER_KB",
    help="Knowledge base file (default: $JUGGLER_KB, then kb_path of juggler.toml, then "
    "kb.sqlite3 in the user data folder).",
)
@click.pass_context
def kb(ctx: click.Context, kb_path: str | None) -> None:
    """Known failure causes and past incidents.

    \b
    Examples:
      juggler kb list                             # the known causes
      juggler kb list --incidents --kb team.sqlite3
      juggler kb search "connection reset by peer"
      juggler kb import examples/kb.json          # causes and incidents from JSON or YAML
      juggler kb export kb.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj["kb"] = kb_path


@kb.command()
@_kb_option
@click.argument("name")
@click.option("--pattern", "patterns", multiple=True, help="A single-line regex (repeatable).")
@click.option("--multiline", "multiline", multiple=True, help="A multi-line regex (repeatable).")
@click.option("--category", default="", help="A coarse family, e.g. network, tests, build.")
@click.option("--description", default="", help="What happened; {group} placeholders allowed.")
@click.option("--fix", default="", help="What to do about it.")
@click.option("--link", "links", multiple=True, help="Where to read more (repeatable).")
@click.option("--replace", is_flag=True, help="Replace a cause of the same name.")
@click.pass_context
def add(
    ctx: click.Context,
    name: str,
    patterns: tuple[str, ...],
    multiline: tuple[str, ...],
    category: str,
    description: str,
    fix: str,
    links: tuple[str, ...],
    replace: bool,
) -> None:
    """Add a known cause NAME recognised by one or more regexes."""
    if not patterns and not multiline:
        raise _Failure(f"{name}: give at least one --pattern or --multiline regex")
    cause = Cause(
        name=name,
        category=category,
        description=description,
        fix=fix,
        links=links,
        indications=(
            *(Indication(pattern=p) for p in patterns),
            *(Indication(pattern=p, multiline=True) for p in multiline),
        ),
    )

    async def body(store: SqliteStore) -> None:
        await store.add_cause(cause, replace=replace)

    _run(ctx, body)
    click.echo(f"{'replaced' if replace else 'added'} cause {name}")


@kb.command(name="list")
@_kb_option
@click.option("--incidents", is_flag=True, help="List incidents instead of causes.")
@click.option("--project", default=None, help="Only incidents of this project.")
@click.option("--limit", default=50, show_default=True, help="Most incidents listed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_(
    ctx: click.Context, incidents: bool, project: str | None, limit: int, as_json: bool
) -> None:
    """List causes (or, with --incidents, the newest incidents)."""

    async def body(store: SqliteStore) -> list[dict[str, Any]]:
        if incidents or project is not None:
            found = await store.list_incidents(project=project, limit=limit)
            return [i.to_json() for i in found]
        return [c.to_json() for c in await store.list_causes()]

    rows = _run(ctx, body)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif incidents or project is not None:
        for row in rows:
            res = row["resolution"]
            click.echo(
                f"#{row['id']:<6} {_when(row['created_at'])}  {row['project'] or '-':<30} "
                f"{res['cause'] or '-'}"
            )
    else:
        for row in rows:
            click.echo(f"{row['name']:<36} {row['category']:<14} {row['description']}")


def _incident_id(ref: str) -> int | None:
    text = ref.removeprefix("#")
    return int(text) if text.isdigit() else None


@kb.command()
@_kb_option
@click.argument("ref")
@click.pass_context
def show(ctx: click.Context, ref: str) -> None:
    """Show a cause by NAME, or an incident by #ID, as YAML."""
    incident_id = _incident_id(ref)

    async def body(store: SqliteStore) -> dict[str, Any] | None:
        if incident_id is not None:
            incident = await store.get_incident(incident_id)
            return incident.to_json() if incident else None
        cause = await store.get_cause(ref)
        return cause.to_json() if cause else None

    found = _run(ctx, body)
    if found is None:
        raise _Failure(f"{ref}: no such {'incident' if incident_id is not None else 'cause'}")
    click.echo(dump_document(found, fmt="yaml"), nl=False)


@kb.command()
@_kb_option
@click.argument("ref")
@click.pass_context
def remove(ctx: click.Context, ref: str) -> None:
    """Remove a cause by NAME, or an incident by #ID."""
    incident_id = _incident_id(ref)

    async def body(store: SqliteStore) -> bool:
        if incident_id is not None:
            return await store.remove_incident(incident_id)
        return await store.remove_cause(ref)

    if not _run(ctx, body):
        raise _Failure(f"{ref}: no such {'incident' if incident_id is not None else 'cause'}")
    click.echo(f"removed {ref}")


@kb.command()
@_kb_option
@click.argument("query", required=False)
@click.option("--triage", "triage_file", metavar="RUN.json", help="Query with a triage result.")
@click.option("--log", "log_file", metavar="FILE", help="Query with log text ('-': stdin).")
@click.option("--project", default="", help="The querying project (its incidents come first).")
@click.option("-k", "k", default=5, show_default=True, help="Results wanted.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(
    ctx: click.Context,
    query: str | None,
    triage_file: str | None,
    log_file: str | None,
    project: str,
    k: int,
    as_json: bool,
) -> None:
    """Find past incidents like QUERY (words), a triage result, or a log excerpt."""
    if triage_file:
        signature = signature_of(_triage(triage_file))
    elif log_file:
        signature = _log_signature(_read_input(log_file).split("\n"), log_file)
    elif query:
        signature = signature_of_lines(query.split("\n"))
    else:
        raise _Failure("search: give a QUERY, --triage RUN.json or --log FILE")

    async def body(store: SqliteStore) -> list[dict[str, Any]]:
        return [s.to_json() for s in await store.search(signature, project=project, k=k)]

    results = _run(ctx, body)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("no similar incidents")
    for r in results:
        mark = "*" if r["same_project"] else " "
        # The similarity, not the rank-fusion score: an identical incident reads 100%.
        match = f"{round(r['similarity'] * 100)}%"
        when = _when(r["created_at"]) if r["created_at"] else "-"
        click.echo(
            f"{mark}#{r['id']:<6} {match:>4}  {when:<16}  "
            f"{r['project'] or '-':<28} {r['cause'] or '-'}  {r['fix']}  {r['link']}".rstrip()
        )


def _log_signature(lines: list[str], name: str) -> Signature:
    """The signature ``triage --learn`` would store for this log, so the same log matches 100%.

    Lines with no finding in them (a hand-picked excerpt a detector does not recognise) are
    used as they are.
    """
    from .._findings import find_failures  # the triage's own scan, in process: no pool

    document = find_failures(lines, path=name)
    return signature_of(document) if document["findings"] else signature_of_lines(lines)


def _triage(path: str) -> dict[str, Any]:
    text = _read_input(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Failure(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise _Failure(f"{path}: not a triage result (no 'findings' list)")
    return data


@kb.command()
@_kb_option
@click.argument("run_json", metavar="RUN.json")
@click.option("--cause", default="", help="The cause (a catalogue name or free text).")
@click.option("--fix", default="", help="How it was fixed.")
@click.option("--link", default="", help="Issue, PR or commit URL.")
@click.option("--project", default="", help="The project (owner/repo).")
@click.pass_context
def learn(ctx: click.Context, run_json: str, cause: str, fix: str, link: str, project: str) -> None:
    """Remember the failure in RUN.json (from `juggler triage --json`) with its resolution."""
    data = _triage(run_json)
    raw_project = data.get("project")
    incident = Incident(
        signature=signature_of(data),
        project=project or (raw_project if isinstance(raw_project, str) else ""),
        source=run_json,
        resolution=Resolution(cause=cause, fix=fix, link=link),
    )
    if not incident.signature.templates and not incident.signature.failing_tests:
        raise _Failure(f"{run_json}: no findings to learn from")

    async def body(store: SqliteStore) -> int:
        return await store.add_incident(incident)

    click.echo(f"learned incident #{_run(ctx, body)}")


@kb.command(name="import")
@_kb_option
@click.argument("source", metavar="FILE")
@click.option("--replace", is_flag=True, help="Replace causes of the same name.")
@click.pass_context
def import_(ctx: click.Context, source: str, replace: bool) -> None:
    """Import causes and incidents from a JSON or YAML FILE ('-': stdin)."""
    causes, incidents = parse_document_or_fail(source)

    async def body(store: SqliteStore) -> tuple[int, int]:
        written = await store.add_causes(causes, replace=replace)
        ids = await store.add_incidents(incidents) if incidents else []
        return written, len(ids)

    written, learned = _run(ctx, body)
    skipped = len(causes) - written
    note = f" ({skipped} existing kept; --replace to overwrite)" if skipped else ""
    click.echo(f"imported {written} causes{note} and {learned} incidents")


def parse_document_or_fail(source: str) -> tuple[list[Cause], list[Incident]]:
    """Causes and incidents of ``source``, or a one-line failure."""
    try:
        return parse_document(source, _load(source))
    except KnowledgeBaseError as exc:
        raise _Failure(str(exc)) from None


@kb.command()
@_kb_option
@click.argument("target", metavar="FILE", default="-")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default=None)
@click.option("--incidents/--no-incidents", default=True, help="Include incidents.")
@click.pass_context
def export(ctx: click.Context, target: str, fmt: str | None, incidents: bool) -> None:
    """Export causes (and incidents) to FILE ('-': stdout) as JSON or YAML."""
    chosen = fmt or ("yaml" if target.endswith((".yaml", ".yml")) else "json")

    async def body(store: SqliteStore) -> dict[str, Any]:
        data: dict[str, Any] = {"causes": [c.to_json() for c in await store.list_causes()]}
        if incidents:
            found = await store.list_incidents(limit=1 << 62)
            data["incidents"] = [i.to_json() for i in reversed(found)]
        return data

    text = dump_document(_run(ctx, body), fmt=chosen)
    if target == "-":
        click.echo(text, nl=False)
        return
    try:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise _Failure(f"{target}: {exc.strerror or exc}") from None
    click.echo(f"exported to {target}", err=True)

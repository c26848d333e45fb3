"""What ``juggler triage`` does between parsing its arguments and exiting."""

from __future__ import annotations

import json
import os
import sys
import uuid

import juggler

from ._config import TriageConfig, load_config
from ._present import printable, summary
from .kb import Resolution
from .pipeline import triage

EXIT_OK, EXIT_PARTIAL, EXIT_REJECTED = 0, 1, 3


def run_triage(
    logs: list[str],
    *,
    baseline: list[str],
    as_json: bool,
    trace: str | None,
    workers: int | None,
    kb: str | None,
    cluster: str | None = None,
    use_kb: bool,
    project: str,
    learn: tuple[str, str, str] | None,
    options: dict[str, object],
    quiet: bool,
    debug: bool,
) -> int:
    """Run the triage, print it, and return the exit code (0 ok, 1 partial, 3 all refused)."""
    del debug  # unexpected errors are mapped by the caller; --debug keeps their traceback
    config = load_config(options)
    deliver = options.get("out_dir") is not None or config.out_dir != TriageConfig().out_dir
    result = triage(
        logs,
        baseline=baseline,
        kb=kb,
        use_kb=use_kb,
        project=project,
        learn=Resolution(cause=learn[0], fix=learn[1], link=learn[2]) if learn else None,
        config=config,
        deliver=deliver,
        timeline=trace,
        workers=workers,
        cluster=cluster,
        progress=None if not quiet else False,
    )
    document = result.document
    if trace is not None:
        juggler.write_trace(result.report.trace, trace)
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        _print_summary(summary(document))
    for refused in document["rejected_inputs"]:
        sys.stderr.write(printable(f"juggler: {refused['reason']}") + "\n")
    for delivery in result.deliveries:
        sys.stderr.write(printable(f"juggler: {delivery.describe()}") + "\n")
    if not document["inputs"] and document["rejected_inputs"]:
        return EXIT_REJECTED
    if document["rejected_inputs"]:
        return EXIT_PARTIAL
    return EXIT_OK


def _print_summary(text: str) -> None:
    # Inside GitHub Actions, log excerpts on stdout could smuggle workflow commands
    # (``::add-mask::``, ``::set-env::``): pause command processing around them (M11,
    # CVE-2020-15228), with a token the log cannot guess.
    if os.environ.get("GITHUB_ACTIONS") == "true":
        token = uuid.uuid4().hex
        text = f"::stop-commands::{token}\n{text}::{token}::\n"
    sys.stdout.write(text)

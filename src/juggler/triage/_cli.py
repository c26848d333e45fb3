"""What ``juggler triage`` does between parsing its arguments and exiting."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid

import juggler

from ._config import TriageConfig, load_config
from ._preflight import check_kb, check_out_dir, check_trace
from ._present import DEFAULT_TOP, printable, summary
from ._resume import finish_journal, start_journal
from .deliver import DeliveryResult, deliver_github
from .kb import Resolution
from .pipeline import TriageResult, triage

EXIT_OK, EXIT_PARTIAL, EXIT_REJECTED, EXIT_DELIVERY = 0, 1, 3, 4


def run_triage(
    logs: list[str],
    *,
    baseline: list[str],
    as_json: bool,
    top: int = DEFAULT_TOP,
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
    config_file: str | None = None,
    resume: str | None = None,
) -> int:
    """Run the triage, print it, and return the exit code.

    0 ok, 1 partial (some input refused), 3 every input refused, 4 a delivery failed; when
    several apply, 3 wins over 4 and 4 over 1. Every output path is checked before the run
    (one-line ``ConfigError``, exit 2 from the caller). ``resume``: a run id to continue.
    """
    del debug  # unexpected errors are mapped by the caller; --debug keeps their traceback
    config = load_config(options, config_file=config_file)
    deliver = options.get("out_dir") is not None or config.out_dir != TriageConfig().out_dir
    kb = kb or config.kb_path
    if deliver:
        check_out_dir(config.out_dir, label="--out-dir" if options.get("out_dir") else "out_dir")
    if trace is not None:
        check_trace(trace)
    kb_file = check_kb(kb) if use_kb else None
    journal = start_journal(kb, resume)  # prints the run id: a killed run can be resumed
    # With --json, stdout carries the JSON document alone: GitHub workflow commands (the
    # runner reads them from stderr too) and anything else a channel prints go to stderr.
    commands_out = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with commands_out:
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
            journal=journal,
        )
    finish_journal(journal)
    document = result.document
    if trace is not None:
        juggler.write_trace(result.report.trace, trace)
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    else:
        _print_summary(summary(document, top=top))
    # After the summary, so the paused-commands block comes first and the annotations last.
    with commands_out:
        deliveries = result.deliveries or _github_alone(result, config)
    for refused in document["rejected_inputs"]:
        sys.stderr.write(printable(f"juggler: {refused['reason']}") + "\n")
    for delivery in deliveries:
        sys.stderr.write(printable(f"juggler: {delivery.describe()}") + "\n")
    if learn is not None:
        _confirm_learned(result, learn[0], kb_file)
    if not document["inputs"] and document["rejected_inputs"]:
        return EXIT_REJECTED
    if any(not delivery.delivered for delivery in deliveries):
        return EXIT_DELIVERY
    if document["rejected_inputs"]:
        return EXIT_PARTIAL
    return EXIT_OK


def _github_alone(result: TriageResult, config: TriageConfig) -> tuple[DeliveryResult, ...]:
    """Inside GitHub Actions the job summary and annotations need no output folder."""
    if result.memo is None or config.github == "off":
        return ()
    github = deliver_github(
        result.memo,
        redactor=config.redactor(),
        max_annotations=config.max_annotations,
        enabled=True if config.github == "on" else None,
    )
    return () if github.error == "not in GitHub Actions" else (github,)


def _confirm_learned(result: TriageResult, cause: str, kb_file: object) -> None:
    """Say what ``--learn`` stored, and where: a silent success reads as a failure."""
    if result.learned:
        ids = ", ".join(f"#{i}" for i in result.learned)
        noun = "incident" if len(result.learned) == 1 else "incidents"
        line = f"juggler: learned {noun} {ids} (cause: {cause}) in {kb_file}"
    else:
        line = "juggler: nothing learned: no log had a finding to remember"
    sys.stderr.write(printable(line) + "\n")


def _print_summary(text: str) -> None:
    # Inside GitHub Actions, log excerpts on stdout could smuggle workflow commands
    # (``::add-mask::``, ``::set-env::``): pause command processing around them (M11,
    # CVE-2020-15228), with a token the log cannot guess.
    if os.environ.get("GITHUB_ACTIONS") == "true":
        token = uuid.uuid4().hex
        text = f"::stop-commands::{token}\n{text}::{token}::\n"
    sys.stdout.write(text)

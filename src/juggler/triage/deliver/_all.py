"""Every configured delivery of one memo, each independent of the others' failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._http import Backoff
from .files import write_memos
from .github import deliver_github
from .slack import send_slack
from .webhooks import send_webhook, webhook_payload

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

    from .._config import TriageConfig
    from .._redact import Redactor
    from ..synth import Memo
    from ._result import DeliveryResult


def deliver_memo(
    triage: Mapping[str, Any],
    memo: Memo,
    config: TriageConfig,
    *,
    environ: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
    timeline_href: str | None = None,
    stream: TextIO | None = None,
) -> tuple[DeliveryResult, ...]:
    """Write the memo files, then GitHub, Slack and each webhook, as configured.

    Blocking (an ``io`` stage). Never raises for a delivery: each channel's outcome is one
    :class:`DeliveryResult`, in the order above. A failed channel does not stop the next.
    Worst-case duration per HTTP channel: ``webhook_attempts × webhook_timeout_s`` plus the
    backoff waits (:meth:`Backoff.budget_s`), a hard deadline however slowly a receiver
    answers: each attempt's sockets are cut when its time is up.

    Args:
        triage: The triage document (embedded in the JSON memo; its analysis in webhooks).
        memo: The memo.
        config: Formats, out_dir, github mode, Slack and webhook targets, retry settings.
        environ: Environment for secrets and GitHub detection (``os.environ`` by default).
        redactor: The run's redactor (``config.redactor(environ)`` by default).
        timeline_href: Link from the HTML memo to the timeline, relative to ``out_dir``.
        stream: Where GitHub workflow commands go (stdout by default).
    """
    scrub = redactor if redactor is not None else config.redactor(environ)
    results = [
        write_memos(
            config.out_dir,
            triage,
            memo,
            formats=config.formats,
            timeline_href=timeline_href,
            redactor=scrub,
        )
    ]
    if config.github != "off":
        enabled = True if config.github == "on" else None
        github = deliver_github(
            memo,
            environ=environ,
            stream=stream,
            redactor=scrub,
            max_annotations=config.max_annotations,
            enabled=enabled,
        )
        if github.error != "not in GitHub Actions":
            results.append(github)
    backoff = Backoff(
        attempts=max(1, config.webhook_attempts),
        base_s=config.webhook_backoff_s,
        timeout_s=config.webhook_timeout_s,
    )
    if config.slack_webhook_url:
        results.append(send_slack(config.slack_webhook_url, memo, backoff=backoff, redactor=scrub))
    if config.webhook_urls:
        payload = webhook_payload(memo, triage)
        secret = config.webhook_secret(environ)
        results.extend(
            send_webhook(url, payload, secret=secret, backoff=backoff, redactor=scrub)
            for url in config.webhook_urls
        )
    return tuple(results)

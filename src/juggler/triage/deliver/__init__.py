"""Delivery of the memo: files, GitHub Actions, Slack and generic webhooks.

Every function here blocks (the pipeline runs them in ``io`` threads) and none raises for a
delivery failure: each returns a :class:`DeliveryResult`. Secrets pass through the
:class:`~juggler.triage._redact.Redactor` before anything is written or recorded.
"""

import typing

from juggler import _lazy

if typing.TYPE_CHECKING:
    from ._all import deliver_memo as deliver_memo
    from ._http import Backoff as Backoff
    from ._result import Attempt as Attempt
    from ._result import DeliveryResult as DeliveryResult
    from .files import write_atomic as write_atomic
    from .files import write_memos as write_memos
    from .github import deliver_github as deliver_github
    from .github import write_untrusted as write_untrusted
    from .slack import send_slack as send_slack
    from .webhooks import send_webhook as send_webhook
    from .webhooks import verify_signature as verify_signature
    from .webhooks import webhook_payload as webhook_payload

__all__ = [
    "Attempt",
    "Backoff",
    "DeliveryResult",
    "deliver_github",
    "deliver_memo",
    "send_slack",
    "send_webhook",
    "verify_signature",
    "webhook_payload",
    "write_atomic",
    "write_memos",
    "write_untrusted",
]

# Importing the package costs nothing: each name's module (numpy, SQLite, httpx behind them)
# loads when the name is first used.
__getattr__, __dir__ = _lazy.lazy_exports(
    __name__,
    {
        "deliver_memo": "._all",
        "Backoff": "._http",
        "Attempt": "._result",
        "DeliveryResult": "._result",
        "write_atomic": ".files",
        "write_memos": ".files",
        "deliver_github": ".github",
        "write_untrusted": ".github",
        "send_slack": ".slack",
        "send_webhook": ".webhooks",
        "verify_signature": ".webhooks",
        "webhook_payload": ".webhooks",
    },
)

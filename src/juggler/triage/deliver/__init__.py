"""Delivery of the memo: files, GitHub Actions, Slack and generic webhooks.

Every function here blocks (the pipeline runs them in ``io`` threads) and none raises for a
delivery failure: each returns a :class:`DeliveryResult`. Secrets pass through the
:class:`~juggler.triage._redact.Redactor` before anything is written or recorded.
"""

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

"""juggler.server: ``juggler serve``, the triage service (HTTP API + web page).

Layering: a thin face like ``juggler.cli``. It uses ``juggler``'s public names and
``juggler.triage``; the triage logic it shows lives there. Modules: ``_app`` (the ASGI app),
``_api`` and ``_pages`` (routes), ``_auth`` and ``_access`` (who may do what), ``_uploads``
(the body cap and saving files), ``_store`` (runs in SQLite), ``_runner`` (limits and runs on
the shared Runtime), ``_metrics`` (Prometheus).
"""

from ._app import create_app as create_app
from ._serve import serve as serve
from ._settings import ServeSettings as ServeSettings

__all__ = ["ServeSettings", "create_app", "serve"]

"""``juggler serve``'s options into :class:`juggler.server.ServeSettings` (imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_serve(options: dict[str, Any]) -> None:
    """Build the settings from the CLI's options and serve until stopped."""
    from . import ServeSettings, serve

    settings = ServeSettings(
        host=options["host"],
        port=options["port"],
        data_dir=Path(options["data_dir"]),
        token_file=Path(options["token_file"]) if options["token_file"] else None,
        cluster=options["cluster"],
        workers=options["workers"],
        max_runs=options["max_runs"],
        max_queued=options["max_queued"],
        run_timeout_s=options["run_timeout"],
        max_upload_bytes=options["max_upload_mib"] * 1024 * 1024,
        grace_s=options["grace"],
    )
    serve(settings)

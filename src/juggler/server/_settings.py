"""The server's settings: where it listens, where it keeps runs, and its limits."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from juggler import ConfigError

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeSettings:
    """Everything ``juggler serve`` is told on its command line.

    Attributes:
        host: Address to bind; loopback unless told otherwise (S1).
        port: TCP port; 0 picks a free one.
        data_dir: Runs (SQLite rows plus files) and the knowledge base live here.
        token_file: Bearer tokens (``TOKEN USER [PROJECT ...]`` per line); required off loopback.
        cluster: Dask scheduler address for the shared runtime's cpu work.
        workers: Worker processes of the shared runtime (default: one per core).
        max_runs: Triages running at once.
        max_queued: Accepted triages waiting for a slot; past it, 503 + Retry-After (S8).
        run_timeout_s: Wall-time cap of one triage; past it the run is cancelled (S8).
        max_upload_bytes: Cap of one request body (S2).
        max_files: Parts one multipart upload may carry (S2).
        grace_s: On SIGTERM, how long running triages get to finish (R16).
    """

    host: str = "127.0.0.1"
    port: int = 8321
    data_dir: Path = Path("juggler-data")
    token_file: Path | None = None
    cluster: str | None = None
    workers: int | None = None
    max_runs: int = 4
    max_queued: int = 32
    run_timeout_s: float = 300.0
    max_upload_bytes: int = 100 * MiB
    max_files: int = 8
    grace_s: float = 10.0

    @property
    def kb_path(self) -> Path:
        return self.data_dir / "kb.sqlite"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def check(self) -> None:
        """Refuse settings that would expose the service or break its limits."""
        if not is_loopback(self.host) and self.token_file is None:
            raise ConfigError(
                f"--host {self.host} is not loopback: anyone who can reach it could read every "
                "uploaded log; give --token-file (or bind 127.0.0.1)"
            )
        for name in ("max_runs", "max_queued", "max_upload_bytes", "max_files"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1")
        if self.run_timeout_s <= 0 or self.grace_s < 0:
            raise ConfigError("run timeout must be > 0 and grace >= 0")
        if self.token_file is not None and not os.path.isfile(self.token_file):
            raise ConfigError(f"{self.token_file}: token file not found")


def is_loopback(host: str) -> bool:
    """``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

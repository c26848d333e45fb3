"""Dask as a shared ``cpu`` backend (in progress)."""

from __future__ import annotations

from typing import Any

from .._errors import ConfigError


def DaskBackend(cluster: Any, *, workers: int | None) -> Any:
    raise ConfigError(f"cluster={cluster!r}: the Dask backend is not available yet")

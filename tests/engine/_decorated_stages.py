"""Module-level ``@juggler.cpu`` stages, bare and with options, imported by the tests.

The decorator runs before this module binds each name; importing this module used to fail.
"""

from __future__ import annotations

import juggler


@juggler.cpu
def double(x: int) -> int:
    return 2 * x


@juggler.cpu(retries=1, timeout_s=10)
def plus_one(x: int) -> int:
    return x + 1

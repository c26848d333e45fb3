"""Atheris target: the junit reader (RELIABILITY.md F2). Run with `make fuzz`.

    python -m tests.fuzz.fuzz_junit CORPUS_DIR -max_total_time=600 -rss_limit_mb=1024 -timeout=5

A crash is any exception other than ``InputError`` or a broken invariant; minimise it with
``-minimize_crash=1`` and commit it as a test under ``tests/fuzz/regressions/``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["juggler"]):
    from tests.fuzz.targets import check_junit


def main() -> None:
    atheris.Setup(sys.argv, check_junit)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

"""Every atheris target runs over its seeds in the PR tier (the targets cannot rot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import targets
from tests.fuzz.seeds import seeds

REPO = Path(__file__).resolve().parents[2]
_CASES = [(target, name) for target, items in seeds().items() for name in items]


@pytest.mark.parametrize(("target", "name"), _CASES, ids=[f"{t}-{n}" for t, n in _CASES])
def test_target_accepts_its_seed(target: str, name: str) -> None:
    """The seed runs through its target with no exception but InputError."""
    check = getattr(targets, f"check_{target}")
    data = seeds()[target][name]
    check(data)
    check(data[: len(data) // 2])  # and its first half: damage on purpose


def test_targets_leave_no_spill_files() -> None:
    """Spooled members are removed as soon as they are checked."""
    import os

    for target, items in seeds().items():
        for data in items.values():
            getattr(targets, f"check_{target}")(data)
    area = targets._area()
    assert area.path is None or os.listdir(area.path) == []


@pytest.mark.parametrize("target", ["gz", "zip", "junit", "plain", "properties"])
def test_make_fuzz_can_start_each_target(target: str, tmp_path: Path) -> None:
    """``make fuzz`` runs ``python -m tests.fuzz.fuzz_<target>`` from the repository root.

    A short coverage-guided run (a few hundred inputs) must start and end cleanly there, so
    the 10-minute runs the Makefile promises cannot break on an import path.
    """
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", f"tests.fuzz.fuzz_{target}", str(corpus), "-runs=300"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Done 300 runs" in done.stderr

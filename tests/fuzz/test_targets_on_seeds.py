"""Every atheris target runs over its seeds in the PR tier (the targets cannot rot)."""

from __future__ import annotations

import pytest

from tests.fuzz import targets
from tests.fuzz.seeds import seeds

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

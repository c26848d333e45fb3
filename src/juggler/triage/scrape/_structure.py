"""Which token positions of a group of keys are variables, learned from the keys themselves.

Masking (``_templates``) catches the variables that *look* like variables: numbers, hex,
addresses, paths. Host names, user names, program names and states look like words, so the
miner learns them by structure instead: keys of one shape (same number of tokens, same
delimiters) that share their constant words and differ at a position across *many* distinct
values have a variable there; a position that only ever takes a *few* values (``begin`` /
``end``, ``Accepted`` / ``Failed``) names different events, so the keys split on it.

The partition is top-down, in the spirit of IPLoM and Brain's bidirectional tree:

1. Positions holding one value across the group are constant.
2. If a varying position looks like a choice of events (fewer than
   :attr:`Rules.min_variable_values` distinct words, or two different ALL-CAPS states), the
   group splits on the varying position with the fewest values, and each part is partitioned
   again.
3. Otherwise every varying position is a variable, provided enough of the words stay
   constant (:attr:`Rules.min_constant_share`); a group with too few constant words is still
   a mix of events and splits on its position with the fewest values.

Every decision depends only on the *set* of keys, never on their order or counts, which is
what keeps mining idempotent and chunk merges equal to one pass. Each split fixes a
position, so the depth is bounded by the number of words, and each level costs one look at
each word of each key: linear in the distinct keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DEFAULT_RULES", "Rules", "partition"]

WILDCARD: Final = "<*>"
Tokens = tuple[str, ...]

# ALL-CAPS identifiers are states and codes (RUNNING, E_FAIL, TASK_ABORT).
_ENUM_WORD: Final = re.compile(r"[A-Z][A-Z0-9_]*[A-Z][A-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class Rules:
    """The miner's few generic thresholds (chosen by leave-one-system-out, bench/miner_loso.py).

    Attributes:
        min_variable_values: A position taking at least this many distinct words across a
            group is a variable; fewer is a choice between events.
        min_constant_share: A template keeps at least this share of its words constant.
        states_are_events: Two different ALL-CAPS words at a position are two events.
    """

    min_variable_values: int = 3
    min_constant_share: float = 0.6
    states_are_events: bool = True


DEFAULT_RULES: Final = Rules()


def _is_state(word: str) -> bool:
    return word.isupper() and _ENUM_WORD.fullmatch(word) is not None


def _choice_like(values: set[str], rules: Rules) -> bool:
    """True if the words seen at a position look like a choice of events, not a variable."""
    if any(WILDCARD in value for value in values):
        return False  # a masked value there already: the position holds data
    if len(values) < rules.min_variable_values:
        return True
    return rules.states_are_events and sum(map(_is_state, values)) >= 2


def partition(members: list[Tokens], words: list[int], rules: Rules) -> Iterator[list[Tokens]]:
    """Split keys of one shape into groups that each form one template.

    Args:
        members: Token tuples of one shape, in a canonical (sorted) order.
        words: The indices of word tokens (delimiters are equal across a shape).
        rules: The thresholds.

    Yields:
        Lists of members; each list is one template.
    """
    stack: list[tuple[list[Tokens], frozenset[int]]] = [(members, frozenset())]
    min_constant = rules.min_constant_share * len(words)
    while stack:
        group, inherited = stack.pop()
        if len(group) == 1:
            yield group
            continue
        split_at = -1
        split_size = 0
        constant = 0
        fallback = -1
        fallback_size = 0
        variables: list[int] = []
        for i in words:
            values = {tokens[i] for tokens in group}
            size = len(values)
            if size == 1:
                constant += 1
                continue
            if i in inherited:
                continue
            if fallback < 0 or size < fallback_size:
                fallback, fallback_size = i, size
            if _choice_like(values, rules):
                if split_at < 0 or size < split_size:
                    split_at, split_size = i, size
            else:
                variables.append(i)
        if split_at < 0 and constant < min_constant:
            split_at = fallback
        if split_at < 0:
            yield group
            continue
        parts: dict[str, list[Tokens]] = {}
        for tokens in group:
            parts.setdefault(tokens[split_at], []).append(tokens)
        # A variable whose values recur on both sides of the split varies independently of
        # the event chosen there: it stays a variable in every part, however few values a
        # part happens to hold (two programs, each seen opening and closing connections).
        known = set(inherited)
        for i in variables:
            seen_in: dict[str, str] = {}
            for value, part in parts.items():
                for tokens in part:
                    first = seen_in.setdefault(tokens[i], value)
                    if first != value:
                        known.add(i)
                        break
                if i in known:
                    break
        carried = frozenset(known)
        stack.extend((part, carried) for part in reversed(parts.values()))


def template_of(group: list[Tokens], words: list[int]) -> str:
    """The template of one group: constant words kept, varying words ``<*>``."""
    template = list(group[0])
    for i in words:
        first = template[i]
        if any(tokens[i] != first for tokens in group):
            template[i] = WILDCARD
    return "".join(template)

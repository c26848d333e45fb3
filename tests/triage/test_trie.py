"""The trie-shaped regex of many words finds what a plain alternation finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from juggler.triage._trie import lines_matching, words_regex

_WORDS = st.lists(st.text(alphabet="abc-_ .", min_size=1, max_size=5), min_size=1, max_size=12)


@given(words=_WORDS, text=st.text(alphabet="abc-_ .\n", max_size=60))
def test_first_match_is_where_the_earliest_word_starts(words: list[str], text: str) -> None:
    match = re.search(words_regex(words), text)
    starts = [i for i in (text.find(w) for w in words) if i >= 0]
    if not starts:
        assert match is None
    else:
        assert match is not None
        assert match.start() == min(starts)
        # and the longest word that starts there, as the alternation (longest first) gives
        assert match.group() == max(
            (w for w in words if text.startswith(w, match.start())), key=len
        )


def test_special_characters_are_literal() -> None:
    pattern = re.compile(words_regex(["a.b", "(x)", "c*"]))
    assert pattern.search("axb") is None
    assert pattern.search("say (x) now").group() == "(x)"
    assert pattern.search("c*d").group() == "c*"


def test_lines_matching_names_each_matching_line_once_in_order() -> None:
    lines = ["ok", "token token token", "", "no", "a token", "TOKEN"]
    assert list(lines_matching(lines, re.compile("token"))) == [1, 4]
    assert list(lines_matching(lines, re.compile("missing"))) == []
    assert list(lines_matching([], re.compile("x"))) == []


def test_lines_matching_joins_several_patterns_each_line_once() -> None:
    lines = ["a=1", "x\ty\tz", "b", "a x\tq\t"]
    found = lines_matching(lines, re.compile("a"), re.compile(r"\t[^\t\n]*\t"))
    assert list(found) == [0, 1, 3]


def test_a_match_belongs_to_the_line_of_its_last_character() -> None:
    # A pattern may start with the break before the line it looks at; consecutive lines
    # that both start so are both found.
    lines = ["", "#one", "#two", "three", "#four"]
    assert list(lines_matching(lines, re.compile(r"\n#"))) == [1, 2, 4]
    assert list(lines_matching(["#zero", "#one"], re.compile(r"(?:^|\n)#"))) == [0, 1]

"""The template miner: masking, grouping, idempotence, mergeability, speed on repeats."""

from __future__ import annotations

import itertools
import pickle
import random
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage import TemplateMiner, mine_templates
from juggler.triage.scrape import mask_line
from juggler.triage.scrape._templates import KeyCache, _zero_digits
from tests.strategies import log_line, log_lines, split_points

PROPERTY = settings(max_examples=300, derandomize=True, deadline=None)


def test_one_template_per_line_in_order() -> None:
    """mine_templates returns a list as long as its input, in the same order."""
    lines = ["cache hit for key 41", "", "cache hit for key 97", "linking app"]
    templates = mine_templates(lines)
    assert len(templates) == len(lines)
    assert templates[0] == templates[2] == "cache hit for key <*>"
    assert templates[3] == "linking app"
    assert mine_templates([]) == []


def test_common_variables_are_masked() -> None:
    """Numbers, hex, IPs with ports, UUIDs, paths, URLs and booleans become <*>."""
    assert mask_line("took 17 ms") == "took <*> ms"
    assert mask_line("addr 0x7ffd1a2b flags deadbeefcafe") == "addr <*> flags <*>"
    assert mask_line("connect 10.1.2.3:8080 refused") == "connect <*>:<*> refused"
    assert mask_line("job 3f1c9e2a-1b2c-4d5e-8f90-123456789abc done") == "job <*> done"
    assert mask_line("open /srv/app/cfg.yaml failed") == "open <*> failed"
    assert mask_line("GET https://example.test/a/b?x=1 ok") == "GET https://<*> ok"
    assert mask_line("retry=true count=3") == "retry=<*> count=<*>"


def test_names_with_small_numbers_stay() -> None:
    """Identifiers like ssh2, L3 or utf8 are vocabulary, not variables."""
    assert mask_line("protocol ssh2 via eth0 cache L3") == "protocol ssh2 via eth0 cache L3"
    assert mask_line("reading node-1734 and core.29") == "reading node-<*> and core.<*>"


def test_lists_of_ids_of_any_length_share_a_template() -> None:
    """A variable-length list of ids is one variable, so the lines group together."""
    templates = mine_templates(["delete 1 2 3", "delete 7", "delete 4 5"])
    assert len(set(templates)) == 1


def test_words_that_vary_become_variables() -> None:
    """Words varying across many lines of one shape are variables; the event words stay."""
    users = ["alice", "bob", "carol", "dave", "erin"]
    lines = [f"session opened for user {u} by uid {i}" for i, u in enumerate(users)]
    assert set(mine_templates(lines)) == {"session opened for user <*> by uid <*>"}


def test_a_choice_of_two_words_is_two_events() -> None:
    """'stage begin' / 'stage end' are different events, not one template with a variable."""
    lines = ["stage begin id 1", "stage end id 2", "stage begin id 3", "stage end id 4"]
    templates = mine_templates(lines)
    assert templates[0] == templates[2] != templates[1] == templates[3]


def test_different_first_words_are_different_events() -> None:
    """'Accepted ...' and 'Rejected ...' never share a template."""
    lines = [
        "Accepted key for alice from 10.0.0.1",
        "Rejected key for bob from 10.0.0.2",
        "Accepted key for carol from 10.0.0.3",
        "Accepted key for erin from 10.0.0.4",
    ]
    templates = mine_templates(lines)
    assert templates[0] == templates[2] == templates[3] != templates[1]


def test_upper_case_states_are_not_merged() -> None:
    """Two different ALL-CAPS states mean two events (RUNNING vs FAILED)."""
    lines = [f"task {i} moved from QUEUED to {s}" for i, s in enumerate(["RUNNING", "FAILED"] * 3)]
    assert len(set(mine_templates(lines))) == 2


def test_feeding_the_same_lines_again_adds_no_template() -> None:
    """Idempotence: a second pass over the same lines leaves the templates unchanged."""
    rnd = random.Random(5)
    lines = [
        f"{rnd.choice(['fetch', 'store'])} {rnd.choice(['blob', 'tree'])} {rnd.randint(0, 99)}"
        for _ in range(200)
    ]
    miner = TemplateMiner()
    miner.add_lines(lines)
    before = miner.templates()
    miner.add_lines(lines)
    after = miner.templates()
    assert list(after) == list(before)
    assert after == {template: 2 * n for template, n in before.items()}


@PROPERTY
@given(lines=log_lines)
def test_idempotent_for_any_lines(lines: list[str]) -> None:
    """Property: adding the lines a second time creates no new template."""
    miner = TemplateMiner()
    miner.add_lines(lines)
    first = {line: miner.template(line) for line in lines}
    miner.add_lines(lines)
    assert {line: miner.template(line) for line in lines} == first
    assert set(miner.templates()) == set(mine_templates(lines))


@PROPERTY
@given(lines=log_lines, data=st.data())
def test_merged_chunks_equal_one_pass(lines: list[str], data: st.DataObject) -> None:
    """Property: miners over any split of the lines, merged, equal one miner over all."""
    cuts = data.draw(split_points(len(lines)))
    whole = TemplateMiner()
    whole.add_lines(lines)
    merged = TemplateMiner()
    for lo, hi in zip([0, *cuts], [*cuts, len(lines)], strict=True):
        part = TemplateMiner()
        part.add_lines(lines[lo:hi])
        merged.merge(pickle.loads(pickle.dumps(part)))
    assert merged == whole
    assert merged.templates() == whole.templates()
    assert [merged.template(x) for x in lines] == [whole.template(x) for x in lines]


@PROPERTY
@given(lines=log_lines, seed=st.integers(0, 2**32))
def test_order_does_not_matter(lines: list[str], seed: int) -> None:
    """Property: shuffling the lines gives every line the same template."""
    shuffled = lines[:]
    random.Random(seed).shuffle(shuffled)
    expected = dict(zip(lines, mine_templates(lines), strict=True))
    assert dict(zip(shuffled, mine_templates(shuffled), strict=True)) == expected


@PROPERTY
@given(lines=st.lists(st.one_of(log_line, st.text(max_size=40)), max_size=30))
def test_caches_never_change_a_key(lines: list[str]) -> None:
    """Property: keys from warm shared caches equal keys from a fresh cache per line."""
    shared = KeyCache()
    for line in lines + lines[::-1]:
        assert shared.key(line) == KeyCache().make_key(line)


@PROPERTY
@given(lines=st.lists(st.one_of(log_line, st.text(max_size=40)), max_size=30))
def test_keys_in_bulk_equal_keys_one_by_one(lines: list[str]) -> None:
    """Property: a chunk's keys and counts in bulk are the line-by-line ones, in order."""
    one, bulk = TemplateMiner(), TemplateMiner()
    # Twice over the same bulk cache: the second pass reads the shapes the first stored.
    for _ in range(2):
        expected = [one.add(line) if line.strip() else "" for line in lines]
        assert bulk.add_each(lines) == expected
        assert list(bulk.counts().items()) == list(one.counts().items())


def test_keys_in_bulk_of_lines_holding_a_break() -> None:
    lines = ["took 5 ms", "a\nb 7", "", "took 6 ms"]
    one = TemplateMiner()
    assert TemplateMiner().add_each(lines) == [one.add(x) if x.strip() else "" for x in lines]


_DIGIT_WORDS = ["ssh2", "L0", "L3", "0x1f", "v1.0", "R74-M1-NB", "node7", "gige7", "x86_64"]
_DIGIT_WORDS += ["2024-03-01", "10.0.0.1:80", "took", "ms", "id=42", "Jun", "8", "utf8", "0"]


@PROPERTY
@given(
    words=st.lists(st.sampled_from(_DIGIT_WORDS), min_size=1, max_size=8),
    digits=st.lists(st.text("0123456789", min_size=1, max_size=1), min_size=1, max_size=20),
)
def test_lines_that_differ_only_in_digits_get_their_own_keys(
    words: list[str], digits: list[str]
) -> None:
    """Property: the cache by digit shape never gives a line another line's key."""
    shared = KeyCache()
    line = " ".join(words)
    variants = [line]
    for i, digit in enumerate(digits):  # the same line with some digits replaced
        chars = list(variants[-1])
        spots = [n for n, c in enumerate(chars) if c.isdigit()]
        if spots:
            chars[spots[i % len(spots)]] = digit
        variants.append("".join(chars))
    for variant in variants:
        assert shared.key(variant) == KeyCache().make_key(variant)


def test_pickle_keeps_counts_only() -> None:
    """A pickled miner round-trips with its counts and templates."""
    miner = TemplateMiner()
    miner.add_lines(["took 1 ms", "took 2 ms", "done"])
    clone = pickle.loads(pickle.dumps(miner))
    assert clone == miner
    assert clone.templates() == {"took <*> ms": 2, "done": 1}
    assert len(clone) == 3
    assert TemplateMiner.from_counts(miner.counts()) == miner


def test_repeated_input_stays_fast() -> None:
    """No pathological slow-down: 200k repeats of a few lines take well under a second each."""
    lines = [f"worker {i % 7} finished step {i % 13} in {i % 5} s" for i in range(200_000)]
    started = time.perf_counter()
    templates = mine_templates(lines)
    elapsed = time.perf_counter() - started
    assert len(set(templates)) == 1
    assert elapsed < 2.0, f"{elapsed:.2f} s for 200k repeated lines"


def test_many_dissimilar_keys_stay_linear() -> None:
    """Thousands of dissimilar keys of one shape and first word: clustering stays linear."""
    rnd = random.Random(1)
    alphabet = "abcdefghijklmnopqrstuvwxyz"

    def lines(n: int) -> list[str]:
        words = ("".join(rnd.choice(alphabet) for _ in range(6)) for _ in range(8 * n))
        return ["same " + " ".join(next(words) for _ in range(8)) for _ in range(n)]

    timings = []
    for n in (4_000, 16_000):
        batch = lines(n)
        started = time.perf_counter()
        assert len(mine_templates(batch)) == n
        timings.append(time.perf_counter() - started)
    # 4x the lines: about 4x the time; quadratic growth would be 16x.
    assert timings[1] < 8 * timings[0] + 0.5, timings
    assert timings[1] < 10.0


def test_long_tokens_are_bounded() -> None:
    """A megabyte of dotted text in one token is one variable, mined in milliseconds."""
    started = time.perf_counter()
    assert mine_templates(["blob " + "a." * 500_000]) == ["blob <*>"]
    assert time.perf_counter() - started < 1.0


def test_names_that_vary_without_digits_become_variables() -> None:
    """Program and host names hold no digit, yet vary across many values: variables by structure."""
    programs = ["editor", "browser", "mailer", "shell"]
    hosts = ["alpha.example", "beta.example", "gamma.example", "delta.example", "omega.example"]
    lines = []
    for n, (program, host) in enumerate(itertools.product(programs, hosts)):
        lines.append(f"{program} - {host} open through gateway.example https")
        lines.append(f"{program} - {host} close, {n} bytes sent")
    assert set(mine_templates(lines)) == {
        "<*> - <*> open through gateway.example https",
        "<*> - <*> close, <*> bytes sent",
    }


def test_a_variable_stays_one_where_a_choice_splits_its_lines() -> None:
    """A name seen on both sides of an event choice stays a variable in each part.

    Only two programs ever send FAILED, but the programs recur across both states, so they
    are data, not events.
    """
    lines = [f"job {p} finished OK" for p in ["build", "lint", "docs", "test"]]
    lines += [f"job {p} finished FAILED" for p in ["build", "lint"]]
    assert set(mine_templates(lines)) == {"job <*> finished OK", "job <*> finished FAILED"}


def test_unrelated_lines_of_one_shape_stay_apart() -> None:
    """Lines of one shape that share too few words are different events, not one template."""
    lines = ["cache warmed in memory", "backup copied to tape", "index rebuilt on disk"]
    assert len(set(mine_templates(lines))) == 3


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from("0123456789a Zé٣\ud800\t-"), max_size=30))
def test_zero_digits_makes_each_ascii_digit_zero_and_nothing_else(text: str) -> None:
    # Through bytes where it can (fast), by characters where it cannot (a lone surrogate):
    # the same as a per-character table, which leaves other scripts' digits alone.
    assert _zero_digits(text) == text.translate(str.maketrans("123456789", "000000000"))

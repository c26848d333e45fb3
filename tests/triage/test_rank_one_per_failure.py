"""One finding per failure: summaries fold into their blocks, banners and wrappers step aside."""

from __future__ import annotations

from juggler.triage._findings import find_failures
from juggler.triage.rank import failure_key, is_banner


def _gha(body: list[str]) -> list[str]:
    return [
        "##[group]Run python -m pytest -q",
        *body,
        "##[error]Process completed with exit code 1.",
    ]


def _pytest_run() -> list[str]:
    return [
        "collected 9 items",
        "tests/test_cart.py ..F..F...                                   [100%]",
        "",
        "================================= FAILURES =================================",
        "______________________________ test_total ______________________________",
        "    def test_total():",
        ">       assert cart.total() == 30",
        "E       assert 29 == 30",
        "tests/test_cart.py:14: AssertionError",
        "______________________________ test_discount ______________________________",
        "    def test_discount():",
        ">       apply('SPRING')",
        "E       KeyError: 'SPRING'",
        "tests/test_cart.py:22: KeyError",
        "========================= short test summary info ==========================",
        "FAILED tests/test_cart.py::test_total - assert 29 == 30",
        "FAILED tests/test_cart.py::test_discount - KeyError: 'SPRING'",
        "========================= 2 failed, 7 passed in 0.31s =========================",
    ]


def test_each_failing_test_is_one_finding_citing_its_summary_line() -> None:
    log = _gha(_pytest_run())
    findings = find_failures(log, path="ci.log")["findings"]
    tests = [f for f in findings if f["kind"] == "test_failure"]
    assert [f["title"].strip("_ ") for f in tests] == ["test_total", "test_discount"]
    for f in tests:
        assert f["line_end"] > f["line_start"]  # the detailed block, not the summary line
        (cite,) = f["cites"]
        assert log[cite["line"] - 1] == cite["text"]
        assert cite["text"].startswith("FAILED tests/test_cart.py::" + f["title"].strip("_ "))


def test_banners_and_summaries_are_never_findings() -> None:
    log = _gha(_pytest_run())
    for f in find_failures(log, path="ci.log")["findings"]:
        lines = log[f["line_start"] - 1 : f["line_end"]]
        assert not all(is_banner(line) or not line.strip() for line in lines), f
        assert "short test summary info" not in f["title"]
        assert not f["title"].startswith("FAILED ")


def test_adjacent_blocks_of_different_tests_are_two_findings() -> None:
    """A test's report that starts right after another's is its own failure."""
    log = _gha(_pytest_run())
    starts = {f["line_start"] for f in find_failures(log, path="ci.log")["findings"]}
    assert {6, 11} <= starts  # both "____ test ____" headers (1-based, after the group line)


def test_a_report_that_only_says_a_child_failed_ranks_below_the_cause() -> None:
    log = _gha(
        [
            "Building web bundle",
            "Error: Cannot find module 'left-pad'",
            "    at Function.resolve (node:internal/modules:1:1)",
            "    at require (node:internal/modules:2:2)",
            "",
            "Traceback (most recent call last):",
            '  File "ci/build.py", line 9, in <module>',
            "    run(['npm', 'run', 'build'])",
            "subprocess.CalledProcessError: Command '['npm', 'run', 'build']' returned "
            "non-zero exit status 1.",
        ]
    )
    top = find_failures(log, path="ci.log")["findings"][0]
    assert top["title"] == "Error: Cannot find module 'left-pad'"


def test_the_step_tail_skips_the_wrappers_trailer() -> None:
    """After 'Command failed with exit code', a wrapper's advice is not the tool's reason."""
    log = _gha(
        [
            "checking bundle size",
            "",
            "  Package size limit has exceeded by 934 B",
            "  Package size: 103.91 KB",
            "  Size limit:   103 KB",
            "",
            "error Command failed with exit code 3.",
            "info Visit https://example.test/docs/cli/run for documentation about this command.",
        ]
    )
    top = find_failures(log, path="ci.log")["findings"][0]
    assert top["line_start"] <= 4 <= top["line_end"]


def test_test_keys_match_summary_and_block_spellings() -> None:
    assert failure_key("tests/test_api.py::test_x") == failure_key("test_x") == "test_x"
    assert failure_key("1) suite adds numbers:") == "suite adds numbers"
    assert is_banner("=========== short test summary info ===========")
    assert is_banner("----------")
    assert not is_banner("____ looks like a rule but is text")

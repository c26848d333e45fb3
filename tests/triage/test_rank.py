"""Ranking: novelty against passing runs, position, duplicates, blocks."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from juggler.triage import _evalcmd
from juggler.triage._findings import find_failures

if TYPE_CHECKING:
    import pytest


def _travis(body: list[str], command: str = "make test", code: int = 1) -> list[str]:
    return [
        "travis_fold:start:install\r\x1b[0K$ ./configure",
        "checking for gcc... gcc",
        "travis_fold:end:install\r\x1b[0K",
        f"travis_time:start:1a2b\r\x1b[0K$ {command}",
        *body,
        "travis_time:end:1a2b:start=1000000000,finish=13500000000,duration=12500000000\r\x1b[0K"
        f'\x1b[31;1mThe command "{command}" exited with {code}.\x1b[0m',
        "",
        f"Done. Your build exited with {code}.",
    ]


def test_novel_line_outranks_one_seen_in_passing_runs() -> None:
    body = [
        "error: deprecated flag --legacy ignored",
        "compiling module a",
        "error: connection to cache server lost",
        "compiling module b",
    ]
    baseline = [_travis(["error: deprecated flag --legacy ignored", "compiling module a"], code=0)]
    log = _travis(body)
    without = find_failures(log, path="b.log")
    with_base = find_failures(log, path="b.log", baseline=baseline)
    top = with_base["findings"][0]
    assert log[top["line_start"] - 1] == "error: connection to cache server lost"
    # The common line is still a candidate, only lower.
    titles = [f["title"] for f in without["findings"]]
    assert "error: deprecated flag --legacy ignored" in titles


def test_duplicates_collapse_into_one_finding() -> None:
    body = ["warning: retrying download"] * 3 + [
        "src/a.c:3:1: error: expected ';' before '}' token",
        "    3 | }",
        "      | ^",
    ] * 4
    doc = find_failures(_travis(body), path="b.log")
    diagnostics = [f for f in doc["findings"] if "expected ';'" in f["title"]]
    assert len(diagnostics) == 1
    assert diagnostics[0]["repeats"] == 4


def test_a_finding_is_the_block_not_one_line() -> None:
    body = [
        "running tests",
        "Traceback (most recent call last):",
        '  File "/src/app/main.py", line 3, in <module>',
        "    main()",
        '  File "/src/app/main.py", line 2, in main',
        "    raise RuntimeError('config missing')",
        "RuntimeError: config missing",
        "cleaning up",
    ]
    log = _travis(body)
    top = find_failures(log, path="b.log")["findings"][0]
    assert log[top["line_start"] - 1] == "Traceback (most recent call last):"
    assert log[top["line_end"] - 1] == "RuntimeError: config missing"
    assert top["kind"] == "exception"
    assert top["excerpt"].splitlines()[-1] == "RuntimeError: config missing"


def test_long_blocks_are_trimmed_to_a_small_window() -> None:
    body = ["Traceback (most recent call last):"]
    for n in range(40):
        body += [f'  File "/src/m{n}.py", line {n}, in f{n}', f"    f{n + 1}()"]
    body.append("RecursionError: maximum recursion depth exceeded")
    doc = find_failures(_travis(body), path="b.log")
    top = doc["findings"][0]
    assert top["line_end"] - top["line_start"] + 1 <= 10


def test_cause_in_failing_step_outranks_noise_after_exit_status() -> None:
    log = [
        *_travis(["FAIL: test_sum (tests.test_math.MathTests)", "AssertionError: 3 != 4"]),
        "after_failure: uploading logs",
        "error: could not upload artifacts: permission denied",
    ]
    findings = find_failures(log, path="b.log")["findings"]
    assert log[findings[0]["line_start"] - 1].startswith("FAIL: test_sum")


def test_consequence_lines_rank_below_their_cause() -> None:
    body = [
        "src/io.c:10:5: error: 'fd' undeclared (first use in this function)",
        "   10 |     fd = open(path);",
        "      |     ^~",
        "make[1]: *** [Makefile:7: io.o] Error 1",
        "make: *** [Makefile:3: all] Error 2",
    ]
    log = _travis(body)
    top = find_failures(log, path="b.log")["findings"][0]
    assert "'fd' undeclared" in top["title"]


def test_step_tail_explains_a_script_that_exits_without_an_error_word() -> None:
    body = [
        "building docs",
        " M docs/api.md",
        "Generated files differ from the committed ones; run `make docs` and commit.",
    ]
    log = _travis(body, command="./check_generated.sh")
    top3 = find_failures(log, path="b.log")["findings"][:3]
    assert any(f["line_start"] <= 6 <= f["line_end"] for f in top3)


def test_contract_fields_and_line_numbers() -> None:
    log = _travis(["--- FAIL: TestParse (0.00s)", "    parse_test.go:9: bad"])
    doc = find_failures(log, path="build.log")
    finding = doc["findings"][0]
    assert set(finding) >= {
        "rank",
        "path",
        "line_start",
        "line_end",
        "kind",
        "title",
        "excerpt",
        "score",
    }
    assert finding["rank"] == 1
    assert finding["path"] == "build.log"
    assert 1 <= finding["line_start"] <= finding["line_end"] <= len(log)
    assert 0.0 <= finding["score"] <= 1.0
    assert [f["rank"] for f in doc["findings"]] == list(range(1, len(doc["findings"]) + 1))
    scores = [f["score"] for f in doc["findings"]]
    assert scores == sorted(scores, reverse=True)
    assert doc["analysis"]["failing_tests"] == ["TestParse"]


def test_empty_log_has_no_findings() -> None:
    doc = find_failures([""], path="empty.log")
    assert doc["findings"] == []
    assert doc["analysis"]["exit_code"] is None


def test_evalcmd_prints_only_the_json_document(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "fail.log"  # type: ignore[operator]
    good = tmp_path / "pass.log"  # type: ignore[operator]
    log.write_text("\n".join(_travis(["error: disk quota exceeded on /cache"])))
    good.write_text("\n".join(_travis(["all good"], code=0)))
    assert _evalcmd.main([str(log), "--baseline", str(good), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"findings", "analysis", "inputs", "rejected_inputs"}
    assert doc["rejected_inputs"] == []
    assert [i["role"] for i in doc["inputs"]] == ["log", "baseline"]
    assert doc["findings"][0]["title"] == "error: disk quota exceeded on /cache"


def test_evalcmd_reports_an_unreadable_log(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.log"  # type: ignore[operator]
    assert _evalcmd.main([str(missing), "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["rejected_inputs"][0]["path"] == str(missing)


def test_warnings_rank_first_when_the_step_treats_them_as_errors() -> None:
    body = [
        "src/util.c:3:7: warning: unused variable 'x' [-Wunused-variable]",
        "    3 |   int x;",
        "      |       ^",
        "cc1: all warnings being treated as errors",
        "make: *** [Makefile:4: util.o] Error 1",
    ]
    log = _travis(body)
    top = find_failures(log, path="b.log")["findings"][0]
    assert "unused variable" in top["title"]


def test_a_line_its_tool_tags_as_a_warning_ranks_below_the_same_line_as_an_error() -> None:
    # apt's "W:" and a tool's "WARNING:" say "failed" without failing the build.
    def score_of(line: str) -> float:
        body = ["compiling 12 modules", "", "building the docs", "", line, "", "docs built"]
        findings = find_failures(_travis(body, command="make check"), path="b.log")["findings"]
        return next(f["score"] for f in findings if "Failed to" in f["title"])

    for tag, error_tag, message in (
        ("W:", "E:", "Failed to fetch http://apt.example.org/dists/focal/InRelease"),
        ("WARNING:", "ERROR:", "Failed to build optional extension speedups"),
    ):
        assert score_of(f"{tag} {message}") < 0.8 * score_of(f"{error_tag} {message}"), tag


def test_a_warning_whose_block_holds_a_fatal_line_is_no_mere_warning() -> None:
    # git says why a clone failed in two lines, the first tagged "warning:"; the CI's own
    # retry notes after it only echo the failure.
    clone = [
        "$ git clone --depth=50 --branch=feature/gone https://example.org/acme/tool.git acme/tool",
        "Cloning into 'acme/tool'...",
        "warning: Could not find remote branch feature/gone to clone.",
        "fatal: Remote branch feature/gone not found in upstream origin",
        "",
    ]
    log = (
        [f"setting up worker {i}" for i in range(30)]
        + clone
        + [
            'The command "git clone --branch=feature/gone acme/tool" failed. Retrying, 2 of 3.',
            "",
            *clone,
            'The command "git clone --branch=feature/gone acme/tool" failed 3 times.',
            "",
            "Failed to clone from the forge.",
        ]
    )
    top = find_failures(log, path="b.log")["findings"][0]
    assert "Could not find remote branch" in top["title"]


def test_a_block_running_into_the_exit_status_is_no_child_failure() -> None:
    # The loader's message is the step's last line, so its block would take the CI's "The
    # command ... exited with 127" after it, and with it look like a child's status.
    body = [
        "Distributor ID: Ubuntu",
        "Description: Ubuntu 18.04 LTS",
        "Codename: bionic",
        "/opt/editor/bin/editor: error while loading shared libraries: libtls.so.9: "
        "cannot open shared object file: No such file or directory",
    ]
    log = _travis(body, command="lsb_release -a && ./smoke.sh", code=127)
    top = find_failures(log, path="b.log")["findings"][0]
    assert "error while loading shared libraries" in top["title"]
    assert top["line_end"] == top["line_start"]


def test_npm_echo_of_the_script_it_runs_is_no_step_tail() -> None:
    body = [
        "",
        "> widgets@2.4.0 lint /home/ci/build/widgets",
        "> check-style src",
        "",
        "src/a.js failed indent_size: found 2 spaces, should be 4",
        "src/b.js failed indent_size: found 2 spaces, should be 4",
        "npm ERR! code ELIFECYCLE",
        "npm ERR! errno 1",
        "npm ERR! widgets@2.4.0 lint: `check-style src`",
    ]
    log = _travis(body, command="npm run lint")
    findings = find_failures(log, path="b.log")["findings"]
    assert "failed indent_size" in findings[0]["title"]
    echo = {i + 1 for i, line in enumerate(log) if line.startswith("> ")}
    assert not any(f["line_start"] in echo for f in findings)


def test_warnings_are_the_reason_when_the_failing_step_reports_nothing_else() -> None:
    # A linter run strictly fails on warnings and says so only in a closing tally.
    body = [
        "Linting Swift files in current working directory",
        "Linting 'Lexer.swift' (1/3)",
        "Sources/Kit/Lexer.swift:40:1: warning: Trailing Whitespace Violation: Lines should "
        "not have trailing whitespace (trailing_whitespace)",
        "Sources/Kit/Lexer.swift:41:1: warning: Trailing Whitespace Violation: Lines should "
        "not have trailing whitespace (trailing_whitespace)",
        "Linting 'Parser.swift' (2/3)",
        "Sources/Kit/Parser.swift:12:5: warning: Line Length Violation: Line should be "
        "120 characters or less (line_length)",
        "Linting 'Token.swift' (3/3)",
        "Done linting! Found 3 violations, 0 serious in 3 files.",
    ]
    log = _travis(body, command="swiftlint lint --strict", code=2)
    top = find_failures(log, path="b.log")["findings"][0]
    # The first warning, as the first error would be, though a later one is rarer.
    assert "Lexer.swift:40:1: warning" in top["title"]


def test_warnings_stay_low_beside_an_error_of_the_failing_step() -> None:
    body = [
        "src/a.c:3:7: warning: unused variable 'x' [-Wunused-variable]",
        "src/b.c:9:1: error: expected ';' before '}' token",
        "make: *** [Makefile:4: b.o] Error 1",
    ]
    top = find_failures(_travis(body), path="b.log")["findings"][0]
    assert "expected ';'" in top["title"]


def test_an_error_line_without_a_stack_is_no_thrown_exception() -> None:
    # "Error: ..." is how node prints an exception, and also how a package manager or a
    # command-line parser prints any complaint; node's has a stack under it.
    def score_of(frames: list[str]) -> float:
        body = ["installing tools", "", "Error: cmake 3.11.4 is already installed", *frames]
        findings = find_failures(_travis([*body, "", "tools ready"]), path="b.log")["findings"]
        return next(f["score"] for f in findings if "already installed" in f["title"])

    with_stack = score_of(
        ["    at install (/usr/lib/tool/index.js:10:5)", "    at main (x.js:3:1)"]
    )
    assert score_of([]) < 0.8 * with_stack

"""Build analysis: steps and durations, failing step, exit status, first error, tests."""

from __future__ import annotations

from juggler.triage.analyse import Analysis, analyse
from juggler.triage.detect import detect_visible, visible_lines


def _analyse(lines: list[str]) -> Analysis:
    visible = visible_lines(lines)
    return analyse(lines, visible, detect_visible(visible))


def test_travis_steps_durations_and_failing_command() -> None:
    lines = [
        "travis_time:start:0a1\r\x1b[0K$ pip install -r requirements.txt",
        "Successfully installed requests-2.31.0",
        "travis_time:end:0a1:start=1000000000,finish=3500000000,duration=2500000000\r\x1b[0K"
        '\x1b[32;1mThe command "pip install -r requirements.txt" exited with 0.\x1b[0m',
        "travis_time:start:0a2\r\x1b[0K$ pytest -q",
        "FAILED tests/test_api.py::test_get - AssertionError: 404 != 200",
        "FAILED tests/test_api.py::test_post - KeyError: 'id'",
        "========================= 2 failed, 30 passed in 4.12s =========================",
        "travis_time:end:0a2:start=3600000000,finish=8600000000,duration=5000000000\r\x1b[0K"
        '\x1b[31;1mThe command "pytest -q" exited with 1.\x1b[0m',
        "Done. Your build exited with 1.",
    ]
    result = _analyse(lines)
    names = [s.name for s in result.steps]
    assert names[:2] == ["pip install -r requirements.txt", "pytest -q"]
    assert result.steps[0].seconds == 2.5
    assert result.steps[1].seconds == 5.0
    assert result.failed_step is not None
    assert result.failed_step.name == "pytest -q"
    assert result.exit_code == 1
    assert result.exit_line == 8
    assert result.failing_tests == ["tests/test_api.py::test_get", "tests/test_api.py::test_post"]
    assert result.test_counts == {"failed": 2, "passed": 30}
    assert result.first_error is not None
    assert result.first_error.start == 5


def test_github_actions_steps_timestamps_and_exit_code() -> None:
    lines = [
        "2024-03-01T10:00:00.0000000Z ##[group]Run actions/checkout@v4",
        "2024-03-01T10:00:01.0000000Z Syncing repository: acme/app",
        "2024-03-01T10:00:02.5000000Z ##[endgroup]",
        "2024-03-01T10:00:03.0000000Z ##[group]Run go test ./...",
        "2024-03-01T10:00:03.1000000Z go test ./...",
        "2024-03-01T10:00:03.2000000Z ##[endgroup]",
        "2024-03-01T10:00:20.0000000Z --- FAIL: TestStore (0.01s)",
        "2024-03-01T10:00:20.0000001Z     store_test.go:14: got 1 want 2",
        "2024-03-01T10:00:20.5000000Z FAIL\tgithub.com/acme/app/store\t0.02s",
        "2024-03-01T10:00:21.0000000Z ##[error]Process completed with exit code 1.",
        "2024-03-01T10:00:21.5000000Z Post job cleanup.",
    ]
    result = _analyse(lines)
    assert [s.name for s in result.steps] == ["actions/checkout@v4", "go test ./..."]
    assert result.steps[0].seconds is not None
    assert abs(result.steps[0].seconds - 2.5) < 1e-6
    assert result.failed_step is not None
    assert result.failed_step.name == "go test ./..."
    assert result.exit_code == 1
    assert result.exit_line == 10
    assert result.failing_tests == ["TestStore"]


def test_gitlab_sections_give_durations() -> None:
    lines = [
        "section_start:1700000000:prepare_script\r\x1b[0KPreparing environment",
        "Running on runner-abc",
        "section_end:1700000004:prepare_script\r\x1b[0K",
        "section_start:1700000004:step_script\r\x1b[0KExecuting step_script",
        "$ npm test",
        "npm ERR! Test failed.  See above for more details.",
        "section_end:1700000034:step_script\r\x1b[0K",
        "ERROR: Job failed: exit code 1",
    ]
    result = _analyse(lines)
    by_name = {s.name: s for s in result.steps}
    assert by_name["prepare_script"].seconds == 4.0
    assert result.exit_code == 1
    assert result.exit_line == 8


def test_jenkins_marked_failure() -> None:
    lines = [
        "[Pipeline] { (Build)",
        "[INFO] BUILD FAILURE",
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.8.1"
        ":compile (default-compile) on project store: Compilation failure",
        "[Pipeline] }",
        "[Pipeline] { (Test)",
        'Stage "Test" skipped due to earlier failure(s)',
        "Build step 'Invoke top-level Maven targets' marked build as failure",
        "Finished: FAILURE",
    ]
    result = _analyse(lines)
    assert [s.name for s in result.steps] == ["Build", "Test"]
    assert result.exit_code == 1
    assert result.exit_line == 7
    assert result.first_error is not None
    assert result.first_error.family == "maven"


def test_warnings_are_counted_apart_from_errors() -> None:
    lines = [
        "src/a.c:1:1: warning: unused variable 'x' [-Wunused-variable]",
        "src/a.c:2:1: warning: implicit declaration of function 'f'",
        "src/b.c:9:3: error: expected ';' before 'return'",
    ]
    result = _analyse(lines)
    assert result.warnings == 2
    assert result.errors == 1


def test_no_markers_means_no_failing_step() -> None:
    result = _analyse(["building", "Killed"])
    assert result.failed_step is None
    assert result.exit_code is None
    assert result.first_error is not None
    assert result.first_error.family == "oom"


def test_to_json_shape() -> None:
    lines = ["$ make", "make: *** [all] Error 2", 'The command "make" exited with 2.']
    visible = visible_lines(lines)
    doc = analyse(lines, visible, detect_visible(visible)).to_json()
    assert doc["failed_step"] == "make"
    assert doc["exit_code"] == 2
    assert doc["steps"][0]["name"] == "make"
    assert set(doc) >= {"failed_step", "exit_code", "first_error", "failing_tests", "steps"}


def test_github_job_step_layout_names_the_steps() -> None:
    lines = [
        "build\tSet up job\t2024-03-01T10:00:00.0000000Z Current runner version: '2.311.0'",
        "build\tSet up job\t2024-03-01T10:00:02.0000000Z Complete job name: build",
        "build\tRun tests\t2024-03-01T10:00:03.0000000Z ##[group]Run pytest",
        "build\tRun tests\t2024-03-01T10:00:09.0000000Z FAILED tests/test_a.py::test_x - boom",
        "build\tRun tests\t2024-03-01T10:00:10.0000000Z "
        "##[error]Process completed with exit code 1.",
    ]
    result = _analyse(lines)
    assert [s.name for s in result.steps][:1] == ["Set up job"]
    assert result.steps[0].seconds == 2.0
    assert result.failed_step is not None
    assert result.failed_step.name in {"Run tests", "pytest"}
    assert result.exit_code == 1
    assert result.failing_tests == ["tests/test_a.py::test_x"]


def test_test_counts_from_common_summaries() -> None:
    cases = {
        "Tests run: 40, Failures: 1, Errors: 2, Skipped: 0": {"total": 40, "failed": 3},
        "Tests:       1 failed, 216 passed, 217 total": {"failed": 1, "passed": 216, "total": 217},
        "12 examples, 2 failures": {"total": 12, "failed": 2},
        "test result: FAILED. 2 passed; 1 failed; 0 ignored": {"passed": 2, "failed": 1},
    }
    for line, expected in cases.items():
        result = _analyse([line])
        assert result.test_counts == expected, line

"""Native toolchains: gcc, clang, ld, make, CMake, cargo/rustc, go, Swift/Xcode, Haskell."""

from __future__ import annotations

from ._rules import chain, indented, prefixed, rule, single, until_blank, upto

# A compiler diagnostic is the "file:line:col: error:" line, then the quoted source line and
# the caret, then notes; context before it ("In file included from") belongs to it too.
_DIAG_TAIL = indented(10, also=r"^\s*(?:\||\^|~|\d+ \|)")

# rustc's snippet: " --> file:line:col", gutter lines "  |" and "12 |", notes "  = help:".
_RUST_TAIL = indented(40, also=r"^\d+\s+\||^\.\.\.$")

RULES = (
    rule(
        "rustc",
        "compile_error",
        0.9,
        "error[e",
        r"^error\[E\d{4}\]: ",
        _RUST_TAIL,
    ),
    rule(
        "cli",
        "error",
        0.7,
        "error: ",
        r"^error: (?i:(?!test failed)(?!could not compile)(?!aborting due)(?!Recipe))\S.*",
        _RUST_TAIL,
    ),
    rule(
        "cargo",
        "build_error",
        0.55,
        ("could not compile", "aborting due to"),
        r"^error: (?i:could not compile `|aborting due to)",
    ),
    rule(
        "cargo.test",
        "test_failure",
        0.85,
        "panicked at",
        r"^---- (?P<test>\S+) stdout ----$|^thread '(?P<test2>[^']+)' panicked at ",
        upto(r"^\s*$", 20, include=False),
        test_group="test",
    ),
    rule("cargo.test", "test_failure", 0.35, "test result: failed", r"^test result: FAILED\."),
    rule(
        "cargo.test",
        "test_failure",
        0.6,
        " ... failed",
        r"^test (?P<test>\S+) \.\.\. FAILED$",
        test_group="test",
    ),
    # Swift and Xcode.
    # xcpretty's failure mark: "  ✗ testName, Test crashed" / "✗ testName, XCTAssert... failed".
    rule(
        "xctest",
        "test_failure",
        0.85,
        "✗",
        r"^\s*✗\s+(?P<test>test\w*), \S",
        indented(10),
        test_group="test",
    ),
    rule(
        "swift",
        "compile_error",
        0.85,
        (".swift:", ".m:", ".mm:"),
        r"^\s*\S+\.(?:swift|mm?):\d+:\d+: error: ",
        _DIAG_TAIL,
    ),
    rule(
        "xctest",
        "test_failure",
        0.85,
        (" error: -[", "failed ("),
        r"error: -\[(?P<test>[\w.]+ \w+)\] : |Test Case '-\[(?P<test2>[\w.]+ \w+)\]' failed",
        test_group="test",
    ),
    # Haskell (GHC via cabal or stack): "src/X.hs:12:5: error:" then an indented message.
    # gcc / clang diagnostics.
    rule(
        "gcc",
        "compile_error",
        0.85,
        ("error:", "error "),
        r"^(?:[A-Za-z]:)?[^\s:][^:]*:\d+(?::\d+)?: (?:fatal )?error: ",
        _DIAG_TAIL,
        back=6,
        before=r"^(?:In file included from|\s+from |[^\s:][^:]*: In (?:member )?function|"
        r"[^\s:][^:]*: In instantiation of)",
    ),
    rule(
        "gcc",
        "warning",
        0.2,
        "warning:",
        r"^(?:[A-Za-z]:)?[^\s:][^:]*:\d+(?::\d+)?: warning: ",
        _DIAG_TAIL,
        confidence=0.8,
    ),
    rule(
        "ld",
        "compile_error",
        0.8,
        ("undefined reference", "ld returned", "linker command failed", "cannot find -l"),
        r"undefined reference to |ld returned \d+ exit status|linker command failed|"
        r"ld: cannot find -l|Undefined symbols for architecture",
        indented(12),
        back=3,
        before=r"^\S.*(?:\.o|\.a)\b|^/usr/bin/ld",
    ),
    rule(
        "make",
        "build_error",
        0.25,
        "***",
        r"^(?:g?make|mingw32-make)(?:\[\d+\])?: \*\*\* .*(?:Error \d+|Stop\.)",
        prefixed(r"^(?:g?make|mingw32-make)(?:\[\d+\])?: \*\*\* ", 6),
    ),
    rule(
        "make",
        "build_error",
        0.25,
        "recipe for target",
        r"recipe for target .* failed$",
    ),
    rule(
        "cmake",
        "build_error",
        0.8,
        "cmake error",
        r"^CMake Error",
        upto(r"^\S", 30, include=False),
    ),
    # go test and go build.
    rule(
        "go.test",
        "test_failure",
        0.85,
        "--- fail:",
        r"^\s*--- FAIL: (?P<test>\S+) \(",
        chain(single, indented(30, also=r"^\s{4,}\S|^(?:panic:|\[signal|goroutine )")),
        test_group="test",
    ),
    rule(
        "go.panic",
        "exception",
        0.85,
        "panic: ",
        r"^panic: ",
        until_blank(12),
    ),
    rule("go.test", "test_failure", 0.4, "fail\t", r"^FAIL\t\S+\t"),
    rule(
        "go.build",
        "compile_error",
        0.85,
        ".go:",
        r"^(?:\.{0,2}/)?\S+\.go:\d+(?::\d+)?: (?!warning)(?!exit status \d+$)\S",
        prefixed(r"^(?:\.{0,2}/)?\S+\.go:\d+(?::\d+)?: |^\t", 10),
        back=1,
        before=r"^# \S+$",
    ),
    rule(
        "go.mod",
        "dependency",
        0.75,
        ("go: ", "go.mod"),
        r"^(?:go: |go\.mod:\d+: ).*(?:cannot find|not found|missing|unknown revision|"
        r"invalid version|verifying|updates to go\.mod needed|inconsistent vendoring|"
        r"checksum mismatch)",
    ),
    # xcpretty: "  testName, XCTAssertEqual failed: ..." under the test case's class line.
    rule(
        "xctest",
        "test_failure",
        0.85,
        ", ",
        r"^\s+(?P<test>test\w+), .*(?:failed|error|Exceeded|threw)",
        upto(r"^\S", 10, include=False),
        back=2,
        before=r"^[\w.]+$|^$",
        test_group="test",
    ),
    # xcpretty's compiler error: "❌  /path/File.swift:47:19: message". The mark and the
    # "file:line:col:" after it are telling enough to be found after any line prefix (a
    # timestamp, a job's name, or what a log export put there).
    rule(
        "swift",
        "compile_error",
        0.85,
        "❌",
        r"❌\s+\S+:\d+:\d+: ",
        _DIAG_TAIL,
    ),
    rule(
        "xcode",
        "build_error",
        0.55,
        ("** build failed **", "** test failed **", "** archive failed **"),
        r"\*\* (?:BUILD|TEST|ARCHIVE) FAILED \*\*",
    ),
    rule(
        "ghc",
        "compile_error",
        0.85,
        (".hs:", ".lhs:"),
        r"^\S+\.l?hs:\d+:\d+(?:-\d+)?: (?:error|Error)\b",
        indented(25),
    ),
    rule(
        "ghc",
        "warning",
        0.25,
        (".hs:", ".lhs:"),
        r"^\S+\.l?hs:\d+:\d+(?:-\d+)?: [Ww]arning\b",
        indented(12),
    ),
    rule(
        "cabal",
        "dependency",
        0.75,
        ("could not resolve dependencies", "rejecting:", "failed to build"),
        r"^(?:cabal: Could not resolve dependencies|Error: cabal: Failed to build|"
        r"\S+ failed to build|While constructing the build plan)",
        until_blank(15),
    ),
)

"""JVM builds: javac, Maven, Gradle, sbt, JUnit/Surefire and Java stack traces."""

from __future__ import annotations

from ._rules import chain, fixed, indented, prefixed, rule, upto

# A Java stack trace continues with "at ...", "Caused by:", "... 12 more" and wrapped messages.
_STACK = indented(60, also=r"^(?:\s*at |Caused by:|\s*\.\.\. \d+ more|\s*Suppressed:)")

RULES = (
    # Maven's boilerplate after a failure says nothing about it; it only marks the epilogue.
    rule(
        "maven",
        "build_error",
        0.05,
        "[error]",
        r"^\[ERROR\] (?:To see the full stack trace|Re-run Maven using|For more information about"
        r"|\[Help \d+\]|-> \[Help \d+\]|After correcting the problems|\s*$)",
    ),
    # Maven reactor summary and goal failure: the canonical "why" of a Maven build.
    rule(
        "maven",
        "build_error",
        0.8,
        "failed to execute goal",
        r"^\[ERROR\] Failed to execute goal ",
        prefixed(r"^\[ERROR\] (?!\s*$)(?!To see the full)(?!Re-run Maven)", 12),
    ),
    rule(
        "maven",
        "compile_error",
        0.85,
        ("[error]", "[warning]"),
        r"^\[ERROR\] (?:/|[A-Za-z]:\\)\S+\.(?:java|kt|scala|groovy)(?::\[\d+,\d+\]|:\d+)",
        # javac's context follows either re-prefixed by Maven or indented as javac wrote it.
        prefixed(r"^(?:\[ERROR\] (?!/|[A-Za-z]:\\)(?!Failed to execute)(?!-> \[Help)|\s+\S)", 10),
    ),
    rule("maven", "compile_error", 0.75, "compilation failure", r"^\[ERROR\] COMPILATION ERROR"),
    rule(
        "maven",
        "test_failure",
        0.8,
        ("failed tests:", "tests in error:", "[error] failures:", "[error] errors:"),
        r"^(?:\[ERROR\] )?(?:Failed tests:|Tests in error:|Failures:|Errors:)\s*$",
        indented(30, also=r"^\[ERROR\]\s{2,}\S"),
    ),
    rule(
        "maven",
        "test_failure",
        0.85,
        ("<<< failure", "<<< error"),
        r"^(?:\[ERROR\] )?(?P<test>[\w$.\[\]() -]+?)\s+Time elapsed: [\d.,]+ s(?:ec)?\s+"
        r"<<< (?:FAILURE|ERROR)!",
        chain(fixed(1), _STACK),  # the exception line follows unindented, then its stack
        test_group="test",
    ),
    rule(
        "maven",
        "test_failure",
        0.35,
        "tests run:",
        r"^(?:\[ERROR\] )?Tests run: \d+, Failures: \d+, Errors: \d+, Skipped: \d+"
        r".*(?:<<< FAILURE!|FAILURE)",
    ),
    rule("maven", "build_error", 0.2, "build failure", r"^\[(?:INFO|ERROR)\] BUILD FAILURE"),
    rule(
        "maven",
        "dependency",
        0.75,
        ("could not resolve dependencies", "could not find artifact", "non-resolvable"),
        r"(?:Could not resolve dependencies for project|Could not find artifact|"
        r"Non-resolvable (?:parent|import) POM)",
    ),
    # javac without Maven: "Foo.java:12: error: cannot find symbol" then source and caret.
    rule(
        "javac",
        "compile_error",
        0.85,
        ".java:",
        r"^\S+\.java:\d+: error: ",
        upto(r"^\s*\^\s*$", 6),
    ),
    # Gradle: "FAILURE: Build failed with an exception." then "* What went wrong:".
    rule(
        "gradle",
        "build_error",
        0.75,
        "what went wrong",
        r"^\* What went wrong:",
        upto(r"^\* (?:Try|Get more help|Exception is):", 20, include=False),
    ),
    rule(
        "gradle", "build_error", 0.25, "build failed", r"^FAILURE: Build failed with an exception"
    ),
    rule(
        "gradle",
        "test_failure",
        0.85,
        " failed",
        r"^(?P<test>[\w$.]+ > [^>]+?) FAILED$",
        indented(20),
        test_group="test",
    ),
    rule(
        "kotlin",
        "compile_error",
        0.85,
        ("e: ",),
        r"^e: (?:file://)?\S+\.kts?:(?:\d+:\d+|\s*\(\d+, \d+\))",
    ),
    # sbt: "[error] /path/File.scala:12:5: not found: value x" with the source line and caret.
    rule(
        "sbt",
        "compile_error",
        0.85,
        "[error]",
        r"^\[error\] (?:/|[A-Za-z]:\\)\S+\.(?:scala|java):\d+(?::\d+)?: ",
        prefixed(r"^\[error\] (?!(?:/|[A-Za-z]:\\)\S+\.(?:scala|java):\d+)(?!\(|Total time)", 6),
    ),
    rule(
        "sbt",
        "test_failure",
        0.85,
        "*** failed ***",
        r"^(?:\[info\] )?\s*- (?P<test>.+?) \*\*\* FAILED \*\*\*",
        prefixed(r"^(?:\[info\])?\s{3,}\S", 8),
        test_group="test",
    ),
    rule(
        "sbt",
        "build_error",
        0.5,
        ("[error] (", "failed: total time", "unresolved dependency"),
        r"^\[error\] (?:\([^)]*\) .+|Failed: Total .*)|unresolved dependency",
    ),
    rule(
        "java.exception",
        "exception",
        0.75,
        ("exception", "error"),
        r"^(?:Exception in thread \"[^\"]+\" |Caused by: )?"
        r"(?:[a-z]\w*\.)+[A-Z]\w*(?:Exception|Error)\b(?::|$)",
        _STACK,
    ),
    rule("junit", "test_failure", 0.35, "tests run:", r"^Tests run: \d+,\s+Failures: [1-9]"),
    rule(
        "junit",
        "test_failure",
        0.85,
        ") ",
        r"^\d+\) (?P<test>\w+\([\w.$]+\))$",
        _STACK,
        test_group="test",
    ),
)

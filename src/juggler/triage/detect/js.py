"""JavaScript and TypeScript: jest, mocha, npm/yarn, tsc, eslint, node stack traces."""

from __future__ import annotations

from ._rules import indented, prefixed, rule, until_blank, upto

_NODE_STACK = indented(25, also=r"^\s+at ")

RULES = (
    # jest: "FAIL src/x.test.js" then "● suite › test" blocks.
    rule(
        "jest",
        "test_failure",
        0.6,
        "fail ",
        r"^\s*FAIL\s+(?P<test>\S+\.(?:[jt]sx?|mjs|cjs))\b",
        # The file's header ends where its first test's "●" block begins: each failing test
        # is a hit (and a finding) of its own, not lines inside the file's block.
        upto(
            r"^\s*● |^\s*(?:PASS|FAIL)\s+\S+\.(?:[jt]sx?|mjs|cjs)\b|^Test Suites:",
            40,
            include=False,
        ),
        test_group="test",
    ),
    rule(
        "jest",
        "test_failure",
        0.85,
        "●",
        r"^\s*● (?!Console)(?P<test>.+›.+|[^:]+)$",
        upto(r"^\s*● |^\s*(?:PASS|FAIL)\s+\S|^Test Suites:", 40, include=False),
        test_group="test",
    ),
    rule(
        "jest",
        "test_failure",
        0.35,
        "tests:",
        r"^Tests:\s+\d+ failed",
    ),
    # mocha: "  1) suite name" ... "     Error: ..." in the failure list after "N failing".
    rule(
        "mocha",
        "test_failure",
        0.85,
        ") ",
        r"^\s{0,4}(?P<test>\d+\)(?: \S.*?)?):?$",
        indented(40),
        test_group="test",
    ),
    rule("mocha", "test_failure", 0.35, " failing", r"^\s*\d+ failing\b"),
    rule(
        "karma",
        "test_failure",
        0.8,
        "failed",
        r"^(?:[\w ]+? [\d.]+ \([^)]*\) )(?P<test>.+) FAILED$",
        indented(20),
        test_group="test",
    ),
    rule(
        "tap",
        "test_failure",
        0.7,
        "not ok ",
        r"^\s*not ok \d+ (?P<test>.*)",
        indented(20),
        test_group="test",
    ),
    # npm / yarn / pnpm.
    # "npm ERR! Failed at the x script" only says a child failed: the cause is above it.
    rule(
        "npm",
        "build_error",
        0.3,
        "npm err!",
        r"^npm ERR! (?:code ELIFECYCLE|errno \d|Failed at|\S+@\S+ \w+: |Test failed|"
        r"This is probably not a problem|A complete log)",
        prefixed(r"^npm ERR!", 15, stop=r"A complete log of this run"),
    ),
    rule(
        "npm",
        "dependency",
        0.7,
        "npm err!",
        r"^npm ERR! (?:code |Missing script|404 |ERESOLVE|peer dep|Cannot|Could not|notarget|"
        r"network|enoent)",
        prefixed(r"^npm ERR!", 15, stop=r"A complete log of this run"),
    ),
    rule(
        "yarn", "build_error", 0.25, "command failed", r"^error Command failed with exit code \d+"
    ),
    rule(
        "yarn",
        "dependency",
        0.65,
        "error ",
        r"^error (?:An unexpected error|Couldn't find|.*Found incompatible)",
        until_blank(6),
    ),
    rule(
        "node",
        "exception",
        0.8,
        ("error:", "error ["),
        r"^(?:Uncaught )?(?:[A-Z]\w*)?(?:Error|Exception)(?: \[\w+\])?: \S",
        _NODE_STACK,
    ),
    rule(
        "node",
        "exception",
        0.75,
        ("syntaxerror", "typeerror", "referenceerror"),
        r"^\S+\.(?:m?js|ts):\d+$",
        upto(r"^\w*Error: ", 8),
    ),
    # tsc: "src/x.ts(12,5): error TS2322: ..." or the pretty "src/x.ts:12:5 - error TS2322:".
    rule(
        "tsc",
        "compile_error",
        0.85,
        " ts",
        r"^\S+\.tsx?(?:\(\d+,\d+\)|:\d+:\d+)(?::| -) error TS\d+: ",
        indented(8),
    ),
    rule("tsc", "compile_error", 0.8, "error ts", r"^error TS\d+: "),
    # eslint stylish: a file path line, then "  12:5  error  message  rule-name" lines.
    rule(
        "eslint",
        "lint",
        0.7,
        "error",
        r"^\s+\d+:\d+\s+error\s+\S",
        prefixed(r"^\s+\d+:\d+\s+(?:error|warning)\s+\S", 30),
        back=1,
        before=r"^(?:/|[A-Za-z]:\\|\./|\w)\S*\.(?:[jt]sx?|vue|mjs|cjs)$",
    ),
    rule("eslint", "lint", 0.5, "problem", r"^✖ \d+ problems? \(\d+ errors?"),
    rule(
        "prettier",
        "lint",
        0.6,
        ("code style issues", "forgot to run prettier"),
        r"Code style issues (?:found|were found)|Forgot to run Prettier",
        back=10,
        before=r"^(?:\[warn\] )?\S+\.\w+$",
    ),
    rule(
        "webpack",
        "compile_error",
        0.8,
        ("error in ", "module not found"),
        r"^ERROR in |^Module not found: Error: ",
        until_blank(12),
    ),
    rule(
        "gulp",
        "build_error",
        0.6,
        "task never defined",
        r"Task never defined: |'\S+' errored after",
    ),
)

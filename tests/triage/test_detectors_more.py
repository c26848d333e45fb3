"""The remaining detector families, on excerpts in the style of each tool's output."""

from __future__ import annotations

import textwrap

import pytest

from juggler.triage.detect import detect

# (case id, excerpt, family, first line, last line)
CASES: list[tuple[str, str, str, int, int]] = [
    (
        "python-syntax",
        """
          File "/src/app/cli.py", line 14
            print "hello"
            ^
        SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?
        """,
        "python.syntax",
        1,
        4,
    ),
    (
        "tox",
        """
        py311: commands[0]> pytest -q
        ERROR:   py311: commands failed
        """,
        "python.tox",
        2,
        2,
    ),
    (
        "kotlin",
        """
        > Task :app:compileKotlin FAILED
        e: file:///home/runner/work/app/src/main/kotlin/Main.kt:12:5 Unresolved reference: foo
        """,
        "kotlin",
        2,
        2,
    ),
    (
        "junit-console",
        """
        There was 1 failure:
        1) testAdd(com.acme.MathTest)
        java.lang.AssertionError: expected:<4> but was:<5>
        \tat org.junit.Assert.fail(Assert.java:88)
        \tat com.acme.MathTest.testAdd(MathTest.java:12)

        FAILURES!!!
        """,
        "junit",
        2,
        2,
    ),
    (
        "java-exception",
        """
        Exception in thread "main" java.lang.NullPointerException: name is null
        \tat com.acme.App.greet(App.java:9)
        \tat com.acme.App.main(App.java:4)
        Caused by: java.lang.IllegalStateException: not ready
        \t... 2 more
        done
        """,
        "java.exception",
        1,
        5,
    ),
    (
        "cargo-could-not-compile",
        """
        error: could not compile `parser` (lib) due to 2 previous errors
        """,
        "cargo",
        1,
        1,
    ),
    (
        "go-mod",
        """
        go: github.com/acme/lib@v1.4.0: reading go.mod at revision v1.4.0: unknown revision v1.4.0
        """,
        "go.mod",
        1,
        1,
    ),
    (
        "xctest",
        """
        Test Suite 'CartTests' started at 2024-05-01 10:00:00.000
        /Users/ci/Tests/CartTests.swift:21: error: -[AppTests.CartTests testTotal] : \
XCTAssertEqual failed: ("10.0") is not equal to ("10.7")
        Test Case '-[AppTests.CartTests testTotal]' failed (0.012 seconds).
        """,
        "xctest",
        2,
        2,
    ),
    (
        "xcpretty",
        """
        AppTests.CartTests

          testTotal, XCTAssertEqual failed: ("10.0") is not equal to ("10.7")
          /Users/runner/work/App/Tests/CartTests.swift:21
        Executed 3 tests, with 1 failure (0 unexpected) in 0.05 seconds
        """,
        "xctest",
        1,
        4,
    ),
    (
        "cabal",
        """
        Resolving dependencies...
        cabal: Could not resolve dependencies:
        [__0] trying: app-0.1.0.0 (user goal)
        [__1] rejecting: base-4.19.0.0 (conflict: app => base<4.18)

        Configuring...
        """,
        "cabal",
        2,
        4,
    ),
    (
        "yarn-dependency",
        """
        error An unexpected error occurred: "https://registry.yarnpkg.com/left-pad: Not found".
        info If you think this is a bug, please open a bug report with the information provided.
        """,
        "yarn",
        1,
        2,
    ),
    (
        "node-exception",
        """
        TypeError: Cannot read properties of undefined (reading 'map')
            at render (/app/src/list.js:12:20)
            at main (/app/src/index.js:4:3)
        """,
        "node",
        1,
        3,
    ),
    (
        "karma",
        """
        Chrome Headless 120.0.0 (Linux x86_64) Cart totals includes tax FAILED
        \tExpected 10 to be 10.7.
        \t    at UserContext.<anonymous> (src/cart.spec.js:9:22)
        Chrome Headless 120.0.0 (Linux x86_64): Executed 12 of 12 (1 FAILED) (0.1 secs)
        """,
        "karma",
        1,
        3,
    ),
    (
        "tap",
        """
        ok 1 parses numbers
        not ok 2 parses strings
          ---
          operator: equal
          expected: 'a'
          actual:   'b'
          ...
        """,
        "tap",
        2,
        7,
    ),
    (
        "prettier",
        """
        Checking formatting...
        [warn] src/App.tsx
        [warn] Code style issues found in the above file. Run Prettier with --write to fix.
        """,
        "prettier",
        2,
        3,
    ),
    (
        "webpack",
        """
        ERROR in ./src/index.js 3:0-28
        Module not found: Error: Can't resolve './missing' in '/app/src'

        webpack compiled with 1 error
        """,
        "webpack",
        1,
        2,
    ),
    (
        "gulp",
        """
        [10:01:02] Using gulpfile ~/build/site/gulpfile.js
        [10:01:02] Task never defined: default
        """,
        "gulp",
        2,
        2,
    ),
    (
        "minitest",
        """
          1) Failure:
        CartTest#test_total [/app/test/cart_test.rb:9]:
        Expected: 10.7
          Actual: 10.0

        12 runs, 20 assertions, 1 failures, 0 errors, 0 skips
        """,
        "minitest",
        1,
        4,
    ),
    (
        "bundler",
        """
        Bundler could not find compatible versions for gem "rack":
          In Gemfile:
            rails (~> 7.1) was resolved to 7.1.0, which depends on
              rack (>= 2.2.4)
        """,
        "bundler",
        1,
        4,
    ),
    (
        "powershell",
        """
        Execution of { dotnet build } by build.psm1: line 368 failed with exit code 1
        At /home/runner/work/app/build.psm1:2038 char:17
        +   throw "Execution of {$sb} by ${file}: line $line failed with exit code $LASTEXITCODE"
        """,
        "powershell",
        1,
        3,
    ),
    (
        "composer",
        """
        Your requirements could not be resolved to an installable set of packages.

          Problem 1
            - Root composer.json requires acme/lib ^3.0, found acme/lib[1.0.0, 2.0.0] but it \
does not match the constraint.
        """,
        "composer",
        1,
        1,
    ),
    (
        "elixir-exception",
        """
        ** (Mix) Could not compile dependency :jason, "mix compile" failed.
            (mix 1.15.7) lib/mix/tasks/deps.compile.ex:133: Mix.Tasks.Deps.Compile.do_mix/2
        """,
        "elixir",
        1,
        2,
    ),
    (
        "erlang",
        """
        src/app_server.erl:42: variable 'State' is unbound
        src/app_server.erl:57: function handle_info/2 undefined
        """,
        "erlang",
        1,
        2,
    ),
    (
        "cocoapods",
        """
        [!] CocoaPods could not find compatible versions for pod "Alamofire":
          In Podfile:
            Alamofire (~> 6.0)
        """,
        "cocoapods",
        1,
        3,
    ),
    (
        "git",
        """
        Cloning into 'acme/site'...
        fatal: Remote branch feature/x not found in upstream origin
        """,
        "git",
        1,
        2,
    ),
    (
        "shell",
        """
        ./scripts/deploy.sh: line 12: ./bin/release: No such file or directory
        """,
        "shell",
        1,
        1,
    ),
    (
        "exit-status",
        """
        deploy: subprocess returned with exit code 2
        """,
        "ci",
        1,
        1,
    ),
    (
        "werror",
        """
        src/a.c:3:7: warning: unused variable 'x' [-Wunused-variable]
        cc1: all warnings being treated as errors
        """,
        "werror",
        2,
        2,
    ),
    (
        # xcpretty's compiler error, after a prefix some log exports put on every line.
        "xcpretty-prefixed",
        """
        ▸ Compiling Parser.swift
        12:01:07 ❌  /ci/Sources/Parser.swift:88:14: cannot convert 'Int' to 'String'

                    return count
        """,
        "swift",
        2,
        4,
    ),
    (
        "generic",
        """
        Checking links...
        Broken link: /docs/intro does not exist
        """,
        "generic",
        2,
        2,
    ),
]


@pytest.mark.parametrize(
    ("excerpt", "family", "start", "end"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_family_captures_its_block(excerpt: str, family: str, start: int, end: int) -> None:
    lines = textwrap.dedent(excerpt).strip("\n").split("\n")
    found = detect(lines)
    hits = [h for h in found if h.family == family and h.start == start]
    assert hits, f"no {family} hit at {start} in {[(h.family, h.start) for h in found]}"
    assert hits[0].end == end

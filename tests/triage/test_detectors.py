"""Each detector family on excerpts written in the style of the real tool's output.

Every case names the family that must fire and the block (1-based, inclusive) it must
capture: the whole traceback, diagnostic or failing test, not just its first line.
"""

from __future__ import annotations

import pickle
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juggler.triage.detect import Hit, detect


def _lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").split("\n")


def _hit(text: str, family: str, start: int | None = None) -> Hit:
    found = detect(_lines(text))
    hits = [h for h in found if h.family == family and (start is None or h.start == start)]
    assert hits, f"no {family} hit at {start} in {[(h.family, h.start) for h in found]}"
    return hits[0]


# (case id, excerpt, family, first line, last line)
CASES: list[tuple[str, str, str, int, int]] = [
    (
        "python-traceback",
        """
        collecting ... done
        Traceback (most recent call last):
          File "/home/runner/work/app/app/setup.py", line 12, in <module>
            from app.version import VERSION
          File "/home/runner/work/app/app/app/version.py", line 3, in <module>
            import tomllib
        ModuleNotFoundError: No module named 'tomllib'
        Done.
        """,
        "python.traceback",
        2,
        7,
    ),
    (
        "pytest-failure-section",
        """
        =================================== FAILURES ===================================
        _______________________________ test_parse_date ________________________________

            def test_parse_date():
        >       assert parse_date("2020-02-30") is None
        E       ValueError: day is out of range for month

        tests/test_dates.py:14: ValueError
        =========================== short test summary info ============================
        FAILED tests/test_dates.py::test_parse_date - ValueError: day is out of range
        """,
        "pytest",
        2,
        8,
    ),
    (
        "unittest-fail",
        """
        ======================================================================
        FAIL: test_roundtrip (tests.test_codec.CodecTests)
        ----------------------------------------------------------------------
        Traceback (most recent call last):
          File "/build/tests/test_codec.py", line 41, in test_roundtrip
            self.assertEqual(decode(encode(b"x")), b"y")
        AssertionError: b'x' != b'y'

        ----------------------------------------------------------------------
        Ran 12 tests in 0.031s

        FAILED (failures=1)
        """,
        "unittest",
        2,
        9,
    ),
    (
        "go-test-fail",
        """
        === RUN   TestParseConfig
            config_test.go:48: expected port 8080, got 0
            config_test.go:52: expected host "localhost", got ""
        --- FAIL: TestParseConfig (0.00s)
        === RUN   TestOther
        --- PASS: TestOther (0.00s)
        FAIL
        FAIL\tgithub.com/acme/svc/internal/config\t0.012s
        """,
        "go.test",
        4,
        4,
    ),
    (
        "go-panic",
        """
        panic: runtime error: index out of range [3] with length 3

        goroutine 7 [running]:
        """,
        "go.panic",
        1,
        1,
    ),
    (
        "go-build",
        """
        # github.com/acme/svc/internal/api
        internal/api/server.go:27:2: undefined: NewRouter
        internal/api/server.go:31:9: cannot use h (variable of type *Handler) as http.Handler value
        ok  \tgithub.com/acme/svc/internal/config\t0.010s
        """,
        "go.build",
        1,
        3,
    ),
    (
        "jest",
        """
        PASS src/utils/format.test.ts
        FAIL src/components/Button.test.tsx
          ● Button › renders the label

            expect(received).toBe(expected) // Object.is equality

            Expected: "Save"
            Received: "Submit"

              12 |   render(<Button label="Save" />);
            > 13 |   expect(screen.getByRole("button").textContent).toBe("Save");
                 |                                                  ^

        Test Suites: 1 failed, 1 passed, 2 total
        """,
        "jest",
        3,  # the failing test's own block; the "FAIL file" header (line 2) is a hit apart
        12,
    ),
    (
        "mocha",
        """
          14 passing (220ms)
          1 failing

          1) Parser
               parses nested arrays:
             AssertionError [ERR_ASSERTION]: Expected values to be strictly deep-equal:
              at Context.<anonymous> (test/parser.spec.js:33:12)

        npm ERR! Test failed.  See above for more details.
        """,
        "mocha",
        4,
        7,
    ),
    (
        "npm-err",
        """
        npm ERR! code ERESOLVE
        npm ERR! ERESOLVE unable to resolve dependency tree
        npm ERR!
        npm ERR! While resolving: web-app@1.0.0
        npm ERR! Found: react@18.2.0
        """,
        "npm",
        1,
        5,
    ),
    (
        "rustc",
        """
           Compiling parser v0.3.1 (/home/runner/work/parser/parser)
        error[E0308]: mismatched types
          --> src/lexer.rs:42:20
           |
        42 |         let count: u32 = tokens.len();
           |                    ---   ^^^^^^^^^^^^ expected `u32`, found `usize`
           |                    |
           |                    expected due to this

        error: could not compile `parser` due to previous error
        """,
        "rustc",
        2,
        8,
    ),
    (
        "cargo-test-panic",
        """
        running 3 tests
        test tests::roundtrip ... FAILED

        failures:

        ---- tests::roundtrip stdout ----
        thread 'tests::roundtrip' panicked at 'assertion failed: `(left == right)`
          left: `1`,
         right: `2`', src/lib.rs:20:9

        test result: FAILED. 2 passed; 1 failed; 0 ignored
        """,
        "cargo.test",
        2,
        2,
    ),
    (
        "gcc",
        """
        In file included from src/main.c:3:
        src/util.h:10:5: error: unknown type name 'size_type'
           10 |     size_type len;
              |     ^~~~~~~~~
        make[1]: *** [Makefile:24: src/main.o] Error 1
        """,
        "gcc",
        1,
        4,
    ),
    (
        "ld",
        """
        /usr/bin/ld: build/net.o: in function `connect_peer':
        net.c:(.text+0x4c): undefined reference to `ssl_handshake'
        collect2: error: ld returned 1 exit status
        """,
        "ld",
        1,
        2,
    ),
    (
        "make",
        """
        cc -O2 -c foo.c
        make: *** [Makefile:12: foo.o] Error 1
        """,
        "make",
        2,
        2,
    ),
    (
        "cmake",
        """
        -- Looking for pthread.h - found
        CMake Error at CMakeLists.txt:31 (find_package):
          Could not find a package configuration file provided by "Protobuf" with any
          of the following names:

            ProtobufConfig.cmake
        -- Configuring incomplete, errors occurred!
        """,
        "cmake",
        2,
        6,
    ),
    (
        "javac",
        """
        src/main/App.java:17: error: cannot find symbol
                Strings.join(",", parts);
                ^
          symbol:   variable Strings
        1 error
        """,
        "javac",
        1,
        3,
    ),
    (
        "maven-compile",
        """
        [INFO] -------------------------------------------------------------
        [ERROR] COMPILATION ERROR :
        [INFO] -------------------------------------------------------------
        [ERROR] /home/ci/project/src/main/java/org/acme/Store.java:[44,17] cannot find symbol
          symbol:   method orElseThrow()
          location: class java.util.Optional<org.acme.Item>
        [INFO] 1 error
        """,
        "maven",
        4,
        6,
    ),
    (
        "maven-goal",
        """
        [INFO] BUILD FAILURE
        [INFO] ------------------------------------------------------------------------
        [ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:2.22.2:test \
(default-test) on project store: There are test failures.
        [ERROR]
        [ERROR] Please refer to /ci/target/surefire-reports for the individual test results.
        """,
        "maven",
        1,
        1,
    ),
    (
        "surefire-test",
        """
        [INFO] Running org.acme.StoreTest
        [ERROR] Tests run: 4, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.05 s \
<<< FAILURE! - in org.acme.StoreTest
        [ERROR] addsItem(org.acme.StoreTest)  Time elapsed: 0.011 s  <<< FAILURE!
        java.lang.AssertionError: expected:<2> but was:<1>
        \tat org.junit.Assert.fail(Assert.java:89)
        \tat org.acme.StoreTest.addsItem(StoreTest.java:31)

        [INFO] Results:
        """,
        "maven",
        2,
        2,
    ),
    (
        "surefire-test-with-stack",
        """
        [INFO] Running org.acme.StoreTest
        [ERROR] addsItem(org.acme.StoreTest)  Time elapsed: 0.011 s  <<< FAILURE!
        java.lang.AssertionError: expected:<2> but was:<1>
        \tat org.junit.Assert.fail(Assert.java:89)
        \tat org.acme.StoreTest.addsItem(StoreTest.java:31)

        [INFO] Results:
        """,
        "maven",
        2,
        5,
    ),
    (
        "gradle",
        """
        FAILURE: Build failed with an exception.

        * What went wrong:
        Execution failed for task ':app:compileJava'.
        > Compilation failed; see the compiler error output for details.

        * Try:
        Run with --stacktrace option to get the stack trace.
        """,
        "gradle",
        1,
        1,
    ),
    (
        "gradle-test",
        """
        com.acme.CartTest > totalIncludesTax FAILED
            org.opentest4j.AssertionFailedError: expected: <10.7> but was: <10.0>
                at app//com.acme.CartTest.totalIncludesTax(CartTest.java:22)

        12 tests completed, 1 failed
        """,
        "gradle",
        1,
        3,
    ),
    (
        "sbt",
        """
        [info] compiling 12 Scala sources to /build/core/target/scala-2.13/classes ...
        [error] /build/core/src/main/scala/acme/Codec.scala:18:11: not found: value decodeAll
        [error]     val x = decodeAll(bytes)
        [error]             ^
        [error] one error found
        [error] (core / Compile / compileIncremental) Compilation failed
        """,
        "sbt",
        2,
        5,
    ),
    (
        "sbt-test",
        """
        [info] CodecSpec:
        [info] - should decode empty input *** FAILED ***
        [info]   List(1) was not empty (CodecSpec.scala:14)
        [info] - should decode one byte
        """,
        "sbt",
        2,
        3,
    ),
    (
        "tsc",
        """
        src/api/client.ts(88,7): error TS2322: Type 'string' is not assignable to type 'number'.
        Found 1 error.
        """,
        "tsc",
        1,
        1,
    ),
    (
        "eslint",
        """
        /home/runner/work/web/web/src/App.jsx
          12:7   error  'unused' is assigned a value but never used  no-unused-vars
          30:15  error  Missing semicolon                             semi

        ✖ 2 problems (2 errors, 0 warnings)
        """,
        "eslint",
        1,
        3,
    ),
    (
        "rspec",
        """
        Failures:

          1) Cart#total includes tax
             Failure/Error: expect(cart.total).to eq(10.7)

               expected: 10.7
                    got: 10.0
             # ./spec/cart_spec.rb:12:in `block (3 levels) in <top (required)>'

        Finished in 0.04 seconds (files took 0.3 seconds to load)
        """,
        "rspec",
        3,
        8,
    ),
    (
        "rake",
        """
        rake aborted!
        LoadError: cannot load such file -- bundler/setup
        /home/travis/build/acme/site/Rakefile:1:in `<top (required)>'

        Tasks: TOP => default
        """,
        "rake",
        1,
        3,
    ),
    (
        "msbuild",
        """
        Build FAILED.
        Services/Cache.cs(41,17): error CS0246: The type or namespace name 'IMemoryCache' \
could not be found [/src/App/App.csproj]
            0 Warning(s)
            1 Error(s)
        """,
        "msbuild",
        2,
        2,
    ),
    (
        "dotnet-test",
        """
        [xUnit.net 00:00:01.21]     App.Tests.CacheTests.EvictsOldest [FAIL]
          Failed App.Tests.CacheTests.EvictsOldest [12 ms]
          Error Message:
           Assert.Equal() Failure
        Expected: 2
        Actual:   3
        """,
        "dotnet.test",
        1,
        4,
    ),
    (
        "phpunit",
        """
        There was 1 failure:

        1) Tests\\Unit\\CartTest::testTotal
        Failed asserting that 10.0 matches expected 10.7.

        /home/runner/work/shop/shop/tests/Unit/CartTest.php:21

        FAILURES!
        Tests: 14, Assertions: 30, Failures: 1.
        """,
        "phpunit",
        3,
        6,
    ),
    (
        "swift",
        """
        Compiling Networking Client.swift
        /Users/runner/work/App/Sources/Client.swift:57:23: error: cannot find 'URLSesion' in scope
                let session = URLSesion.shared
                              ^~~~~~~~~
        ** BUILD FAILED **
        """,
        "swift",
        2,
        4,
    ),
    (
        "xcode",
        """
        Testing failed:
        \tBuild input file cannot be found
        ** TEST FAILED **
        """,
        "xcode",
        3,
        3,
    ),
    (
        "ghc",
        """
        src/Data/Parser.hs:42:15: error:
            • Couldn't match expected type ‘Int’ with actual type ‘Text’
            • In the first argument of ‘show’, namely ‘name’
           |
        42 |   putStrLn (show name)
           |               ^^^^
        """,
        "ghc",
        1,
        4,
    ),
    (
        "r-check",
        """
        * checking tests ...
          Running ‘testthat.R’
         ERROR
        Running the tests in ‘tests/testthat.R’ failed.
        Last 13 lines of output:
          ── 1. Failure: parse handles NA (@test-parse.R#12)
        * DONE
        """,
        "r.check",
        2,
        6,
    ),
    (
        "latex",
        """
        (./chapters/intro.tex
        ! Undefined control sequence.
        l.42 \\citep
                   {knuth1984}
        """,
        "latex",
        2,
        3,
    ),
    (
        "docker",
        """
        Step 6/9 : RUN pip install -r requirements.txt
         ---> Running in 4b1f0c2d9e7a
        ERROR: Could not find a version that satisfies the requirement torch==9.9
        The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1
        """,
        "docker",
        3,
        4,
    ),
    (
        "oom",
        """
        [ 5/7] Linking CXX executable server
        Killed
        make[2]: *** [CMakeFiles/server.dir/build.make:98: server] Error 137
        """,
        "oom",
        2,
        3,
    ),
    (
        "segfault",
        """
        Running benchmark suite...
        ./run_bench.sh: line 12:  4512 Segmentation fault      (core dumped) ./bench --all
        """,
        "crash",
        2,
        2,
    ),
    (
        "timeout-travis",
        """
        Still running (22 of 30): make check

        No output has been received in the last 10m0s, this potentially indicates a stalled \
build or something wrong with the build itself.
        """,
        "timeout",
        3,
        3,
    ),
    (
        "network",
        """
        Cloning into 'vendor/lib'...
        fatal: unable to access 'https://github.com/acme/lib/': Could not resolve host: github.com
        """,
        "network",
        2,
        2,
    ),
    (
        "missing-deps",
        """
        Collecting numpy==3.0.0
        ERROR: Could not find a version that satisfies the requirement numpy==3.0.0 \
(from versions: 1.26.4, 2.0.0)
        ERROR: No matching distribution found for numpy==3.0.0
        """,
        "deps",
        2,
        3,
    ),
    (
        "permissions",
        """
        mkdir: cannot create directory '/usr/local/share/app': Permission denied
        """,
        "permissions",
        1,
        1,
    ),
    (
        "disk-full",
        """
        tar: ./node_modules/.cache/babel: Wrote only 4096 of 10240 bytes
        write /var/lib/docker/tmp/GetImageBlob123: no space left on device
        """,
        "disk",
        2,
        2,
    ),
    (
        "github-error",
        """
        ##[group]Run make lint
        make lint
        ##[endgroup]
        ##[error]src/app.py:3:1: F401 'os' imported but unused
        ##[error]Process completed with exit code 2.
        """,
        "github",
        4,
        4,
    ),
    (
        "travis-exit",
        """
        $ bundle exec rake
        rake aborted!
        The command "bundle exec rake" exited with 1.
        """,
        "travis",
        3,
        3,
    ),
    (
        "gitlab-exit",
        """
        section_end:1700000100:step_script
        ERROR: Job failed: exit code 1
        """,
        "gitlab",
        2,
        2,
    ),
    (
        "jenkins-marked",
        """
        [Pipeline] }
        Build step 'Invoke top-level Maven targets' marked build as failure
        Finished: FAILURE
        """,
        "jenkins",
        2,
        2,
    ),
    (
        "elixir-exunit",
        """
          1) test parses empty list (ParserTest)
             test/parser_test.exs:12
             Assertion with == failed
             code:  assert Parser.parse("[]") == {:ok, []}
             left:  {:error, :eof}
             right: {:ok, []}

        Finished in 0.1 seconds
        """,
        "exunit",
        1,
        6,
    ),
    (
        "perl-tap",
        """
        t/01-basic.t .. ok
        t/02-net.t .... Dubious, test returned 2 (wstat 512, 0x200)
        Failed 2/9 subtests
        """,
        "perl.tap",
        2,
        3,
    ),
    (
        "pester",
        """
        Describing Get-Config
          [-] reads the default file 41ms
            Expected 'default', but got $null.
            at <ScriptBlock>, /home/runner/work/mod/tests/Config.Tests.ps1: line 12
          [+] reads an override 9ms
        """,
        "pester",
        2,
        4,
    ),
]


@pytest.mark.parametrize(
    ("excerpt", "family", "start", "end"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_family_captures_its_block(excerpt: str, family: str, start: int, end: int) -> None:
    hit = _hit(excerpt, family, start)
    assert hit.end == end
    assert 0.0 < hit.severity <= 1.0
    assert 0.0 < hit.confidence <= 1.0
    assert hit.title


def test_failing_test_names_are_recorded() -> None:
    text = """
    --- FAIL: TestParseConfig (0.00s)
        config_test.go:48: expected port 8080, got 0
    FAILED tests/test_dates.py::test_parse_date - ValueError: day is out of range
    """
    tests = {h.test for h in detect(_lines(text)) if h.test}
    assert tests == {"TestParseConfig", "tests/test_dates.py::test_parse_date"}


def test_ansi_colours_and_timestamps_do_not_hide_a_hit() -> None:
    raw = [
        "2024-05-01T10:00:00.1234567Z \x1b[31merror[E0425]\x1b[0m: cannot find value `x`",
        "2024-05-01T10:00:00.1234568Z   --> src/main.rs:2:5",
    ]
    hit = _hit("\n".join(raw), "rustc")
    assert (hit.start, hit.end) == (1, 2)


def test_carriage_return_redraws_keep_the_last_segment() -> None:
    raw = [
        "Downloading 10%\rDownloading 100%\rfatal: unable to access 'https://x/': "
        "Connection refused"
    ]
    hit = _hit(raw[0], "network")
    assert hit.start == 1


def test_good_news_is_not_an_error() -> None:
    text = """
    Tests run: 40, Failures: 0, Errors: 0, Skipped: 0
    ✔ 0 errors, 0 warnings
    Build finished with 0 errors
    """
    assert [h for h in detect(_lines(text)) if h.kind != "warning"] == []


def test_detection_is_deterministic_and_hits_pickle() -> None:
    text = "\n".join(c[1] for c in CASES)
    first = detect(_lines(text))
    assert detect(_lines(text)) == first
    assert pickle.loads(pickle.dumps(first)) == first
    # Every field, none at its default (hits pickle by their fields, in order).
    thinned = Hit(3, 9, "pytest", "test_failure", 0.8, 0.7, "FAILED t", "t", 4, 5)
    assert pickle.loads(pickle.dumps(thinned)) == thinned


def test_offset_shifts_line_numbers_for_a_chunk() -> None:
    lines = ["ok", "make: *** [all] Error 2"]
    (hit,) = [h for h in detect(lines, offset=100) if h.family == "make"]
    assert (hit.start, hit.end) == (102, 102)


_WORDS = st.sampled_from(
    [
        "error:",
        "FAIL",
        "--- FAIL: TestX (0.1s)",
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "    at foo.Bar(Bar.java:1)",
        "[ERROR]",
        "npm ERR!",
        "\x1b[31m",
        "\r",
        "\t",
        "make: *** [all] Error 2",
        "____ test_x ____",
        "ok",
        "",
        "src/a.c:1:2: error: x",
        'The command "x" exited with 1.',
        "●",
        "1)",
    ]
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.lists(_WORDS, max_size=4).map(" ".join), max_size=40))
def test_hits_are_valid_ranges_on_arbitrary_text(lines: list[str]) -> None:
    hits = detect(lines)
    assert hits == detect(lines)
    for hit in hits:
        assert 1 <= hit.start <= hit.end <= max(1, len(lines))
    assert [h.start for h in hits] == sorted(h.start for h in hits)

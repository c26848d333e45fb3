"""Other ecosystems: Ruby, .NET, PHP, R, LaTeX, Elixir, Perl, PowerShell, CocoaPods."""

from __future__ import annotations

from ._rules import indented, prefixed, rule, until_blank, upto

RULES = (
    # Ruby: rspec failure list "  1) Foo does x" + "Failure/Error:", rake and minitest.
    rule(
        "rspec",
        "test_failure",
        0.85,
        "failure/error:",
        r"^\s*Failure/Error: ",
        indented(25, also=r"^\s+# "),
        back=1,
        before=r"^\s*\d+\) \S",
    ),
    rule("rspec", "test_failure", 0.35, "failure", r"^\d+ examples?, [1-9]\d* failures?"),
    rule(
        "rspec",
        "test_failure",
        0.55,
        "rspec ./",
        r"^rspec \./\S+:\d+ # (?P<test>.+)$",
        test_group="test",
    ),
    rule(
        "rake",
        "build_error",
        0.65,
        "rake aborted!",
        r"^rake aborted!",
        until_blank(8),
    ),
    rule("rake", "build_error", 0.7, "no rakefile found", r"^No Rakefile found"),
    rule(
        "minitest",
        "test_failure",
        0.85,
        ("failure:", "error:"),
        r"^\s*(?:\d+\) )?(?:Failure|Error):\s*$|^\s*\d+\) (?:Failure|Error):\s*\S",
        until_blank(15),
    ),
    rule(
        "bundler",
        "dependency",
        0.7,
        ("could not find", "bundler could not", "gem::", "an error occurred while installing"),
        r"Bundler could not find compatible versions|Could not find gem |"
        r"An error occurred while installing |Gem::(?:MissingSpec|LoadError|Ext::BuildError)",
        until_blank(8),
    ),
    # .NET: MSBuild "File.cs(12,5): error CS0103: ..." and dotnet test / xunit "[FAIL]".
    rule(
        "msbuild",
        "compile_error",
        0.85,
        ("error cs", "error msb", "error nu", "error fs", "error bc"),
        r"\(\d+,\d+\): error (?:CS|FS|BC)\d+: |: error (?:MSB|NU|CS)\d+: ",
        prefixed(r".*\(\d+,\d+\): error (?:CS|FS|BC)\d+: |.*: error (?:MSB|NU)\d+: ", 10),
    ),
    rule(
        "dotnet.test",
        "test_failure",
        0.85,
        "[fail]",
        r"^\s*(?:\[xUnit\.net [\d:.]+\]\s+)?(?P<test>\S.*?) \[FAIL\]$",
        indented(25, also=r"^\s+(?:Assert|Expected|Actual|Stack Trace|at |---)"),
        test_group="test",
    ),
    rule(
        "dotnet.test",
        "test_failure",
        0.85,
        "failed ",
        r"^\s*(?:X|Failed) (?P<test>[\w.]+(?:\(.*\))?) \[[\d.]+ ?m?s\]$",
        indented(25),
        test_group="test",
    ),
    rule(
        "dotnet.test",
        "test_failure",
        0.35,
        ("failed!", "total tests"),
        r"^\s*Failed!\s+- Failed:\s+[1-9]|^Total tests: \d+\. Passed: \d+\. Failed: [1-9]",
    ),
    rule(
        "powershell",
        "build_error",
        0.7,
        "failed with exit code",
        r"^Execution of \{.*\} .*failed with exit code \d+",
        until_blank(8),
    ),
    rule(
        "pester",
        "test_failure",
        0.85,
        "[-] ",
        r"^\s*\[-\] (?P<test>.+?)(?: \d+(?:\.\d+)?m?s)?(?: -> |$)",
        indented(15),
        test_group="test",
    ),
    # PHPUnit: "There was 1 failure:" then "1) Class::test" blocks.
    rule(
        "phpunit",
        "test_failure",
        0.85,
        "::",
        r"^\d+\) (?P<test>[\w\\]+::\w+)",
        upto(r"^\d+\) [\w\\]+::\w+|^(?:FAILURES!|ERRORS!|--$)", 30, include=False),
        test_group="test",
    ),
    rule("phpunit", "test_failure", 0.3, ("failures!", "errors!"), r"^(?:FAILURES|ERRORS)!$"),
    rule(
        "composer",
        "dependency",
        0.75,
        ("your requirements could not be resolved", "the requested package"),
        r"Your requirements could not be resolved|"
        r"The requested package \S+ .*(?:could not be found|exists as)",
        until_blank(15),
    ),
    # R CMD check.
    rule(
        "r.check",
        "test_failure",
        0.8,
        ("error", "failed", "running ‘", "execution halted"),
        r"^\* checking .* \.\.\. ERROR$|^Running .* failed$|^\s*Running ‘[^’]+’\s*$|"
        r"^Error in |^Execution halted$|^ERROR: (?:installation of package|dependenc)",
        upto(r"^\* (?:checking|DONE)|^Status: ", 25, include=False),
    ),
    rule("r.check", "build_error", 0.55, "installation failed", r"^Installation failed\."),
    # LaTeX: "! Undefined control sequence." then "l.12 \foo".
    rule(
        "latex",
        "compile_error",
        0.85,
        "! ",
        r"^! (?:LaTeX Error|Undefined control|Missing|Emergency stop|Package \w+ Error|"
        r"Extra|Too many|File `[^']+' not found|I can't find file)",
        upto(r"^l\.\d+ ", 8),
    ),
    rule("latex", "warning", 0.2, ("overfull", "underfull"), r"^(?:Over|Under)full \\[hv]box"),
    # Elixir (ExUnit, mix) and Erlang.
    rule(
        "exunit",
        "test_failure",
        0.85,
        "test ",
        r"^\s*\d+\) test (?P<test>.+) \([\w.]+\)$",
        indented(30),
        test_group="test",
    ),
    rule(
        "elixir",
        "exception",
        0.8,
        "** (",
        r"^\s*\*\* \((?:\w+\.)*\w+\) ",
        indented(20),
    ),
    rule(
        "erlang",
        "compile_error",
        0.8,
        ".erl:",
        r"^\S+\.[eh]rl:\d+(?::\d+)?: (?!Warning)",
        prefixed(r"^\S+\.[eh]rl:\d+(?::\d+)?: (?!Warning)", 15),
    ),
    # Perl TAP harness.
    rule(
        "perl.tap",
        "test_failure",
        0.75,
        ("dubious", "failed test", "looks like"),
        r"^\S+\.t \.+ .*(?:Dubious|Failed|error|timeout).*|^Dubious, test returned|"
        r"^#\s+Failed test |^# Looks like .* failed|"
        r"^# Looks like your test exited",
        until_blank(6),
        confidence=0.7,
    ),
    rule(
        "cocoapods",
        "dependency",
        0.7,
        ("[!] ", "- error |"),
        r"^\[!\] |^\s*- ERROR \| ",
        until_blank(8),
    ),
)

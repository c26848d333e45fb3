"""Infrastructure: OOM and kills, crashes, timeouts, network, dependencies, permissions, disk,
and docker build failures."""

from __future__ import annotations

import re

from ._rules import fixed, indented, rule, single, until_blank

_I = re.IGNORECASE

RULES = (
    rule(
        "oom",
        "infrastructure",
        0.9,
        ("killed", "out of memory", "oom", "cannot allocate memory", "heap space", "exit code 137"),
        r"^Killed\b|\bOut of memory\b|\bOOM[- ]?kill|Cannot allocate memory|"
        r"java\.lang\.OutOfMemoryError|JavaScript heap out of memory|exit code 137\b|"
        r"\bSIGKILL\b",
        fixed(2),
        flags=_I,
    ),
    rule(
        "crash",
        "infrastructure",
        0.85,
        ("segmentation fault", "sigsegv", "core dumped", "bus error", "sigabrt", "abort trap"),
        r"Segmentation fault|\bSIGSEGV\b|core dumped|^Bus error|\bSIGABRT\b|Abort trap|"
        r"Illegal instruction",
        fixed(3),
    ),
    rule(
        "timeout",
        "infrastructure",
        0.85,
        ("no output has been received", "timed out", "timeout", "time limit", "took too long"),
        r"No output has been received in the last|"
        r"\b(?:timed out|timeout (?:of \d+ ?m?s )?exceeded)\b|"
        r"exceeded the (?:maximum )?(?:time|execution) limit|has exceeded the maximum|"
        r"job .*timed out|Terminated due to timeout|panic: test timed out",
        fixed(2),
        flags=_I,
        confidence=0.8,
    ),
    rule(
        "network",
        "infrastructure",
        0.65,
        (
            "could not resolve host",
            "temporary failure in name resolution",
            "name or service not known",
            "connection refused",
            "connection reset",
            "connection timed out",
            "network is unreachable",
            "econnrefused",
            "econnreset",
            "etimedout",
            "enotfound",
            "eai_again",
            "tls handshake",
            "ssl",
            "unable to access",
            "empty reply from server",
            "could not connect",
            "failed to connect",
            "503 service",
            "502 bad gateway",
            "connect timeout",
            "connection error",
        ),
        r"Could not resolve host|Temporary failure in name resolution|Name or service not known|"
        r"Connection (?:refused|reset|timed out)|Network is unreachable|"
        r"\bE(?:CONNREFUSED|CONNRESET|TIMEDOUT|NOTFOUND|AI_AGAIN)\b|TLS handshake timeout|"
        r"SSL(?:Error| certificate problem)|"
        r"unable to access '|Empty reply from server|(?:Could not|Failed to) connect to|"
        r"503 Service Unavailable|502 Bad Gateway|Connect timeout|Connection error",
        fixed(1),
        flags=_I,
        confidence=0.75,
    ),
    rule(
        "deps",
        "dependency",
        0.75,
        (
            "no matching distribution",
            "could not find a version",
            "modulenotfounderror",
            "cannot find module",
            "no module named",
            "unable to locate package",
            "package not found",
            "conflict",
            "unsatisfiable",
            "version solving failed",
            "error while loading shared libraries",
            "command not found",
            "resolutionimpossible",
        ),
        r"No matching distribution found|Could not find a version that satisfies|"
        r"ModuleNotFoundError|Cannot find module '|No module named |Unable to locate package|"
        r"version conflict|dependency conflict|conflicting dependencies|ResolutionImpossible|"
        r"unsatisfiable|version solving failed|error while loading shared libraries|"
        r": command not found$",
        until_blank(6),
        flags=_I,
        confidence=0.8,
    ),
    rule(
        "permissions",
        "infrastructure",
        0.7,
        ("permission denied", "eacces", "operation not permitted", "access denied", "eperm"),
        r"Permission denied|\bEACCES\b|\bEPERM\b|Operation not permitted|Access (?:is )?denied",
        single,
        flags=_I,
        confidence=0.75,
    ),
    rule(
        "disk",
        "infrastructure",
        0.85,
        ("no space left", "disk full", "enospc", "disk quota"),
        r"No space left on device|\bENOSPC\b|[Dd]isk (?:is )?full|Disk quota exceeded",
        fixed(2),
        flags=_I,
    ),
    rule(
        "docker",
        "build_error",
        0.7,
        (
            "returned a non-zero code",
            "failed to solve",
            "error response from daemon",
            "executor failed",
        ),
        r"returned a non-zero code: \d+|failed to solve:|Error response from daemon:|"
        r"executor failed running",
        indented(6),
        back=2,
        before=r"^(?:#\d+ |Step \d+/\d+ : |ERROR: )",
    ),
    rule(
        "git",
        "infrastructure",
        0.6,
        ("fatal: ", "could not find remote branch"),
        r"^fatal: |Could not find remote branch",
        fixed(1),
        back=2,
        before=r"^(?:warning: |error: |Cloning into)",
    ),
    rule(
        "shell",
        "build_error",
        0.65,
        ("no such file or directory", "not found"),
        r"^(?:\S+: )?(?:line \d+: )?\S+: (?:No such file or directory|not found)$",
        single,
        confidence=0.7,
    ),
)

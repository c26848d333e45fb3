"""Test runners' summary lines ("3 failed, 10 passed in 1.2s", "Tests run: 5, Failures: 1").

Here, not in :mod:`..analyse` which reads them, so that the scan's compiled pass
(:mod:`._bulk`) can look for them in the same pass as the detectors' rules.
"""

from __future__ import annotations

import re
from typing import Final

SUMMARY: Final = re.compile(
    r"^=+ .* in [\d.]+m?s|Tests run: \d+, Failures:|^Tests:\s+\d|^\d+ examples?, \d+ failures?|"
    r"^\s*\d+ (?:passing|failing)\b|^Tests: \d+, Assertions:|Failed:\s+\d+, Passed:|"
    r"^test result: |^Total tests: \d+|^(?:FAILED|OK) \((?:failures|errors)?"
)

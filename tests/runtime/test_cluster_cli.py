"""``juggler triage --cluster`` / ``JUGGLER_CLUSTER``: the same findings through Dask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOG = """\
step 1 ok
compiling module a
Traceback (most recent call last):
  File "/srv/build/run.py", line 12, in <module>
    main()
KeyError: 'target'
make: *** [Makefile:7: all] Error 1
"""

pytestmark = pytest.mark.timeout(120)


def _triage(
    log: Path, *extra: str, cluster_env: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("JUGGLER_CLUSTER", None)
    if cluster_env is not None:
        env["JUGGLER_CLUSTER"] = cluster_env
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "juggler",
            "triage",
            str(log),
            "--no-kb",
            "--json",
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=110,
        check=False,
    )


def test_findings_through_a_local_dask_cluster_equal_the_local_pool(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    local = _triage(log)
    dask_flag = _triage(log, "--cluster", "local")
    dask_env = _triage(log, cluster_env="local")
    assert (local.returncode, dask_flag.returncode, dask_env.returncode) == (0, 0, 0)
    findings = json.loads(local.stdout)["findings"]
    assert findings  # the traceback is found
    assert json.loads(dask_flag.stdout)["findings"] == findings
    assert json.loads(dask_env.stdout)["findings"] == findings


def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(LOG)
    done = _triage(log, "--cluster", "tcp://127.0.0.1:9")
    assert done.returncode == 2
    # Every run first names its id (for --resume); the error itself is one line.
    lines = [ln for ln in done.stderr.strip().splitlines() if not ln.startswith("juggler run ")]
    assert len(lines) == 1
    assert "tcp://127.0.0.1:9" in lines[0]
    assert "cannot reach the Dask scheduler" in lines[0]

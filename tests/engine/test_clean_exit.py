"""R17: when ``juggler triage`` or ``Pipeline.run`` returns, no process of its group is left.

Seen from outside, as a user's CI sees it: each run gets its own process group, and the
moment the command has exited, /proc must hold no live process of that group (no worker,
no forkserver, no resource tracker), not even for a second.
"""

from __future__ import annotations

import multiprocessing.forkserver
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import juggler

ROOT = Path(__file__).resolve().parents[2]
#: Pipeline runs are cheap (one interpreter, one pool), so R17's full 20 run on every PR.
PIPELINE_RUNS = 20
#: A triage through the CLI costs ~1 s of start-up each on a 2-core box shared with the
#: rest of the suite; 5 runs keep the test near 10 s. bench/triage_speed.py --exit-runs 20
#: runs the full 20.
TRIAGE_RUNS = 5

_PIPELINE_SCRIPT = textwrap.dedent(
    """
    import juggler

    def square(x: int) -> int:
        return x * x

    if __name__ == "__main__":
        report = juggler.Pipeline(juggler.cpu(square), workers=2).run(range(50))
        assert sorted(report.results) == [x * x for x in range(50)]
    """
)


def _group_alive(pgid: int) -> list[tuple[int, str]]:
    """Live (not zombie) processes whose process group is ``pgid``."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited while we looked
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            alive.append((int(entry), state))
    return alive


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _run_in_own_group(cmd: list[str], cwd: Path) -> tuple[int, list[tuple[int, str]], str]:
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=_env(),
        start_new_session=True,  # its own process group, whose id is its pid
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = proc.communicate(timeout=60)
    return proc.returncode, _group_alive(proc.pid), err.decode(errors="replace")


@pytest.mark.timeout(300)
def test_pipeline_run_leaves_no_process_of_its_group(tmp_path: Path) -> None:
    script = tmp_path / "square.py"
    script.write_text(_PIPELINE_SCRIPT)
    for run in range(PIPELINE_RUNS):
        code, left, err = _run_in_own_group([sys.executable, str(script)], tmp_path)
        assert code == 0, err
        assert left == [], f"run {run}: processes of the group still alive: {left}"
        assert err == "", f"run {run}: stderr {err!r}"


@pytest.mark.timeout(300)
def test_triage_with_workers_leaves_no_process_of_its_group(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(
        "collecting ...\n"
        "FAILED tests/test_app.py::test_login - AssertionError: assert 1 == 2\n"
        "Error: Process completed with exit code 1.\n"
    )
    cmd = [sys.executable, "-m", "juggler", "triage", str(log), "--no-kb", "--json"]
    for run in range(TRIAGE_RUNS):
        # --workers asks for the pool even for a small log; without it the scan runs inline.
        code, left, err = _run_in_own_group([*cmd, "--workers", "2"], tmp_path)
        assert code in (0, 1), err
        assert left == [], f"run {run}: processes of the group still alive: {left}"


_KEEPER_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import multiprocessing.forkserver as fs

    from juggler.engine._backends._procpool._supervisor import ProcessPool

    def double(x: int) -> int:
        return 2 * x

    async def main() -> None:
        async with ProcessPool(workers=1) as keeper:
            async with ProcessPool(workers=1) as passing:
                await passing.run_many(double, [1], item_ids=["a"], timeout_s=None)
            print("after-passing", fs._forkserver._forkserver_pid is not None)
            await keeper.run_many(double, [3], item_ids=["c"], timeout_s=None)
        print("after-keeper", fs._forkserver._forkserver_pid is not None)

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


def test_helpers_stay_while_another_pool_lives(tmp_path: Path) -> None:
    """A long-lived pool (a shared runtime's) keeps the forkserver through others' closes."""
    script = tmp_path / "keeper.py"
    script.write_text(_KEEPER_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["after-passing", "True", "after-keeper", "False"]


def _square(x: int) -> int:
    return x * x


def test_helpers_started_by_someone_else_are_left_running() -> None:
    """The test session started the forkserver and tracker before any pool: they stay."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None  # tests/conftest.py starts them for the session
    report = juggler.Pipeline(juggler.cpu(_square), workers=1).run(range(5))
    assert sorted(report.results) == [0, 1, 4, 9, 16]
    assert multiprocessing.forkserver._forkserver._forkserver_pid == server  # type: ignore[attr-defined]

"""Triage of a large log as a plain file, as ``.gz`` and on stdin: wall time and peak memory.

    .venv/bin/python bench/triage_big.py [--gib 0.88] [--inputs plain,gz,stdin] [--json]

Builds a log of about ``--gib`` GiB from the shared loghub samples (at run time, in a temp
folder), with a Python traceback and a failing make step near the end, gzips it, then runs
``juggler triage --json --no-kb`` on each form in a subprocess and polls the RSS of it and
all its workers (the whole process tree). The table compares each form with the plain file:
the issue's targets are a tree RSS ≤ 512 MiB for every form and a ``.gz`` throughput of at
least 0.8× the plain file's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import IO, Any

import psutil

FAILURE = """\
Traceback (most recent call last):
  File "/srv/app/jobs/rollup.py", line 88, in <module>
    main()
  File "/srv/app/jobs/rollup.py", line 80, in main
    totals = merge(parts)
KeyError: 'region'
make: *** [Makefile:42: rollup] Error 1
"""
MiB = 1024**2


def shared_loghub() -> Path:
    """The loghub samples: ``$JUGGLER_SHARED/data/loghub`` or a ``shared/`` beside a parent."""
    env = os.environ.get("JUGGLER_SHARED")
    candidates = [Path(env) / "data" / "loghub"] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" / "loghub" for p in here.parents]
    for candidate in candidates:
        if any(candidate.glob("*/*_2k.log")):
            return candidate
    raise SystemExit("bench/triage_big.py: no shared/data/loghub samples found")


def build(path: Path, gib: float) -> int:
    # Each sample ends its last line, so the failure starts on a line of its own.
    sample = b"".join(
        p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(shared_loghub().glob("*/*_2k.log"))
    )
    target = int(gib * 1024**3)
    written = 0
    with path.open("wb") as out:
        while written + len(sample) < target:
            out.write(sample)
            written += len(sample)
        out.write(FAILURE.encode())
        written += len(FAILURE)
    return written


def gzip_file(src: Path, dst: Path) -> None:
    """Compress at gzip's default level (the ``gzip`` tool if present: it is faster)."""
    if shutil.which("gzip"):
        with dst.open("wb") as out:
            subprocess.run(["gzip", "-6", "-c", str(src)], stdout=out, check=True)
        return
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    with src.open("rb") as fh, dst.open("wb") as out:
        while block := fh.read(MiB):
            out.write(comp.compress(block))
        out.write(comp.flush())


def zip_bomb(path: Path) -> None:
    """One member of 10 GiB of zeros, about 10 MB zipped (the deflate of 1 MiB of zeros,
    full-flushed, repeated: the test suite's builder, ``tests/triage/big_inputs.py``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.triage.big_inputs import zip_of_repeats

    zip_of_repeats(path, "zeros.log", bytes(MiB), 10 * 1024)


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run(arg: str, stdin: IO[bytes] | None) -> dict[str, Any]:
    """One triage in a subprocess; peak RSS of the parent and of the whole tree."""
    cmd = [sys.executable, "-m", "juggler", "triage", arg, "--json", "--quiet", "--no-kb"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, text=True)
    watched = psutil.Process(proc.pid)
    peak_parent = peak_tree = 0
    while proc.poll() is None:
        try:
            peak_parent = max(peak_parent, watched.memory_info().rss)
            peak_tree = max(peak_tree, tree_rss(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    document = json.loads(out)
    top = document["findings"][0] if document["findings"] else {}
    refused = [r["reason"] for r in document["rejected_inputs"]]
    return {
        "wall_s": round(wall, 2),
        "rss_parent_mib": round(peak_parent / MiB),
        "rss_tree_mib": round(peak_tree / MiB),
        "lines": document["inputs"][0]["lines"] if document["inputs"] else 0,
        "top": f"{top.get('title')!r} at {top.get('line_start')}-{top.get('line_end')}",
        "refused": refused,
        "exit": proc.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=0.88, help="log size (0.88 GiB ≈ 900 MB)")
    parser.add_argument(
        "--inputs",
        default="plain,gz,stdin,bomb,zero",
        help="forms: plain, gz, stdin, bomb (zip of 10 GiB zeros), zero (/dev/zero on stdin)",
    )
    parser.add_argument("--keep", type=Path, help="folder for the logs instead of a temp dir")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    forms = [f.strip() for f in args.inputs.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "big.log"
        size = build(log, args.gib) if not log.exists() else log.stat().st_size
        gz = folder / "big.log.gz"
        if "gz" in forms and not gz.exists():
            gzip_file(log, gz)
        rows: dict[str, dict[str, Any]] = {}
        for form in forms:
            if form == "plain":
                rows[form] = run(str(log), None)
            elif form == "gz":
                rows[form] = run(str(gz), None)
            elif form == "stdin":
                with log.open("rb") as fh:
                    rows[form] = run("-", fh)
            elif form == "bomb":
                bomb = folder / "bomb.zip"
                zip_bomb(bomb)
                rows[form] = run(str(bomb), None)
            elif form == "zero":
                with subprocess.Popen(["cat", "/dev/zero"], stdout=subprocess.PIPE) as cat:
                    rows[form] = run("-", cat.stdout)
                    cat.kill()
            else:
                raise SystemExit(f"unknown input form {form!r}")
    base = rows.get("plain")
    for form, row in rows.items():
        if form in ("bomb", "zero"):  # refusals: only their time and memory matter
            continue
        row["throughput_mib_s"] = round(size / MiB / row["wall_s"], 1)
        if base is not None:
            row["vs_plain"] = round(base["wall_s"] / row["wall_s"], 2)
    if args.json:
        print(json.dumps({"log_bytes": size, "rows": rows}, indent=2))
        return
    print(f"log: {size / MiB:,.0f} MiB ({size:,} bytes)")
    print(
        f"{'input':<7} {'tree RSS':>9} {'parent RSS':>11} {'wall':>8} {'MiB/s':>7} {'vs plain':>9}"
    )
    for form, row in rows.items():
        ratio = f"{row['vs_plain']:.2f}x" if "vs_plain" in row else "-"
        speed = row.get("throughput_mib_s", "-")
        print(
            f"{form:<7} {row['rss_tree_mib']:>5} MiB {row['rss_parent_mib']:>7} MiB "
            f"{row['wall_s']:>6.1f} s {speed:>7} {ratio:>9}"
        )
    for form, row in rows.items():
        if row["refused"]:
            print(f"{form}: exit {row['exit']}, refused: {'; '.join(row['refused'])}")
        else:
            print(f"{form}: {row['lines']:,} lines, exit {row['exit']}, top finding {row['top']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""`mid check` speed: a 500-line script that imports the whole stdlib, checked N times; prints
the best and median wall time of the whole process (start-up included).

    python3 bench/check_speed.py --mid target/release/mid [--runs 30]
"""
import argparse
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
ap = argparse.ArgumentParser()
ap.add_argument("--mid", default=str(ROOT.parent / "target" / "release" / "mid"))
ap.add_argument("--runs", type=int, default=30)
args = ap.parse_args()
script = ROOT / "scripts" / "check_500_lines.mid"
lines = len(script.read_text().splitlines())
stdlib = sum(len(p.read_text().splitlines()) for p in (ROOT.parent / "stdlib").glob("*.mid"))
times = []
for _ in range(args.runs):
    start = time.perf_counter()
    r = subprocess.run([args.mid, "check", str(script)], capture_output=True, text=True)
    times.append(time.perf_counter() - start)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
print(f"mid check: {lines}-line script + {stdlib}-line stdlib, {args.runs} runs: "
      f"best {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms")

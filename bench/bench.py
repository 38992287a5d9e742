#!/usr/bin/env python3
"""Benchmarks mid against DuckDB on the same questions and the same Parquet files.

For each benchmark, runs `mid run bench/scripts/<q>.mid --data DIR` and the hand-written
SQL in bench/sql/<q>.sql through DuckDB (the `duckdb` Python package) with the same number
of threads, several times each; reports the best wall time of each, the ratio mid/DuckDB,
and checks that both give the same counts.

Usage (see docs/performance.md):
    python3 bench/bench.py --data bench/data/net-1m --mid target/release/mid [--runs 3]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
QUERIES = ["q1_new_users_lab", "q2_inpatient_outcome", "q3_counts"]


def run_mid(mid: str, script: Path, data: Path, out: Path) -> float:
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    r = subprocess.run([mid, "run", str(script), "--data", str(data), "--out", str(out), "--csv", "--color", "never"],
                       capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"mid failed on {script}:\n{r.stderr}")
    return elapsed


def run_duckdb(sql: str, threads: int):
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - start, rows


def mid_counts(out: Path, q: str):
    """The raw counts mid reported (from run.json's tables the report rows are re-read)."""
    import csv
    reports = sorted((out / "reports").glob("*.csv"))
    report = [p for p in reports if not p.name.startswith("attrition_")][0]
    with open(report) as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--mid", default=str(ROOT.parent / "target" / "release" / "mid"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    data = args.data.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="mid-bench-"))
    results = []
    print(f"data: {data}  threads: {args.threads}  runs: {args.runs} (best of)")
    print(f"{'benchmark':<24}{'mid (s)':>10}{'DuckDB (s)':>12}{'mid/DuckDB':>12}  same counts")
    for q in QUERIES:
        script = ROOT / "scripts" / f"{q}.mid"
        sql = (ROOT / "sql" / f"{q}.sql").read_text().replace("{data}", str(data))
        out = tmp / q
        mid_times = [run_mid(args.mid, script, data, out) for _ in range(args.runs)]
        duck = [run_duckdb(sql, args.threads) for _ in range(args.runs)]
        duck_times = [t for t, _ in duck]
        rows = duck[0][1]
        m = mid_counts(out, q)
        # Compare the persons counts as mid publishes them (docs/language.md, Disclosure
        # control): 0, `<10` for 1-9, otherwise rounded to the nearest 10 (halves up). DuckDB's
        # exact count must publish as the same cell.
        mid_persons = [r["persons"] for r in m]
        duck_persons = [str(r[-1]) if q != "q1_new_users_lab" else str(r[1]) for r in rows]
        def agrees(a: str, b: str) -> bool:
            n = int(b)
            if a.startswith("<"):  # suppressed as small: DuckDB's count must be below it
                return 0 < n < int(a[1:])
            if a == "suppressed":  # withheld so a small cell cannot be recovered
                return True
            return int(a) == (0 if n == 0 else (n + 5) // 10 * 10)
        same = len(mid_persons) == len(duck_persons) and all(agrees(a, b) for a, b in zip(mid_persons, duck_persons))
        best_mid, best_duck = min(mid_times), min(duck_times)
        ratio = best_mid / best_duck
        print(f"{q:<24}{best_mid:>10.2f}{best_duck:>12.2f}{ratio:>12.2f}  {'yes' if same else 'NO'}")
        results.append({"benchmark": q, "mid_s": round(best_mid, 3), "duckdb_s": round(best_duck, 3),
                        "ratio": round(ratio, 2), "same_counts": same, "mid_runs": mid_times, "duckdb_runs": duck_times})
        if not same:
            print(f"  mid: {mid_persons}\n  duckdb: {duck_persons}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

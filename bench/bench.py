#!/usr/bin/env python3
"""Benchmarks mid against DuckDB on the same questions and the same Parquet files.

For each benchmark, runs `mid run bench/scripts/<q>.mid --data DIR` and the hand-written
SQL in bench/sql/<q>.sql through DuckDB (the `duckdb` Python package) with the same number
of threads, several times each, both as whole processes (a Python process that imports
duckdb, runs the SQL and writes its rows to Parquet: DuckDB's start-up is timed, as mid's
is); reports the best wall time of each, the ratio mid/DuckDB, and checks that both give the
same counts.

`feasibility_standard` is the standard feasibility request (`mid feasibility` without
`--items`: 83 drug classes, conditions and lab items) against bench/sql/feasibility_standard.sql.
Both sides run as whole processes: `mid feasibility --data DIR --out OUT`, and a Python
process that imports duckdb, sets the threads, runs the query and writes its rows to a
Parquet file (so DuckDB's start-up is timed too). Every row of mid's feasibility.parquet
must have a DuckDB row with the same keys and vice versa, and every count mid shows must be
DuckDB's exact count published by the rule (0, 1-9 hidden, otherwise rounded to the nearest
10, halves up); a count mid hides must be 1-9 (suppressed as small) or 10 or more
(complementary suppression); a count that does not apply (new users of a non-drug, persons
with a value of a non-lab) must be null on both sides.

The five example studies (`EXAMPLES`: examples/<name>/study.mid) against bench/sql/<name>.sql,
an oracle written by hand from the script and the stdlib. Both run as whole processes:
`mid run examples/<name>/study.mid --data DIR --out OUT`, and the same Python process as the
feasibility benchmark. The SQL gives one row per exact count (output, stratum, count, n): the
attrition of every cohort, the counts of the reports it covers, and `run-site` rows, the exact
row counts mid keeps in site-only/run-site.json (entries, members and outcomes of each cohort).
Every count mid publishes in those reports must be DuckDB's exact count published by the rule
(person-days rounded to the nearest 100, hidden with the row's persons); a count mid hides must
be 1-9; a null mid does not flag (another cohort's outcome) must have no DuckDB row; every
stratum must be on both sides; a report mid withheld must be too fine by DuckDB's counts; and
every `run-site` count must equal mid's exact one. Reports the SQL leaves out (Table 1) are
listed, not compared.

Usage (see docs/performance.md):
    python3 bench/bench.py --data bench/data/net-1m --mid target/release/mid [--runs 3]
    python3 bench/bench.py --data DIR --mid target/release/mid --only feasibility_standard
    python3 bench/bench.py --data DIR --only feasibility_standard --duckdb-only --runs 1
    python3 bench/bench.py --data DIR --mid target/debug/mid --only thiamazole_granulocytopenia --runs 1
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
FEASIBILITY = ["feasibility_standard"]
# The example studies, each examples/<name>/study.mid against bench/sql/<name>.sql.
EXAMPLES = ["antidepressants_platelets", "pah_liver_injury", "statins_liver", "thiamazole_granulocytopenia",
            "vegf_dissection"]
BENCHMARKS = QUERIES + FEASIBILITY + EXAMPLES
# The strata of a feasibility row and its counts (compiler/src/codegen/feasibility.rs).
FEASIBILITY_KEYS = ["item", "hospital", "quarter", "age_band", "sex"]
FEASIBILITY_COUNTS = ["persons", "records", "new_users", "persons_with_value"]
# Which kind of item each count applies to (None: every kind).
APPLIES = {"persons": None, "records": None, "new_users": "drug", "persons_with_value": "lab"}


# The data checks' counts are reused while the data's files are unchanged (docs/reliability.md):
# by default each mid command runs once untimed first, as at a hospital that runs its scripts
# on data already checked; `--cold-checks` turns the reuse off (MID_CHECK_CACHE=off).
COLD_CHECKS = False
WARMED = set()


def timed_mid(cmd: list, out: Path, what: str) -> float:
    """Wall time of one `mid` process; exits with its stderr if it fails."""
    env = dict(os.environ)
    if COLD_CHECKS:
        env["MID_CHECK_CACHE"] = "off"
    elif what not in WARMED:
        WARMED.add(what)
        if out.exists():
            shutil.rmtree(out)
        subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"mid failed ({what}):\n{r.stderr}")
    return elapsed


def run_mid(mid: str, script: Path, data: Path, out: Path) -> float:
    return timed_mid([mid, "run", str(script), "--data", str(data), "--out", str(out), "--csv", "--color", "never"],
                     out, str(script))


def run_mid_feasibility(mid: str, data: Path, out: Path) -> float:
    """`mid feasibility` on the standard request, as a whole process."""
    return timed_mid([mid, "feasibility", "--data", str(data), "--out", str(out), "--color", "never"],
                     out, "mid feasibility")


# The DuckDB side as a whole process: start Python, import duckdb, run the query, write rows.
DUCKDB_PROCESS = r"""
import sys
import duckdb
sql_file, data, threads, out = sys.argv[1:5]
sql = open(sql_file).read().replace("{data}", data).strip().rstrip(";")
con = duckdb.connect()
con.execute(f"SET threads = {int(threads)}")
con.execute("COPY (\n" + sql + "\n) TO '" + out.replace("'", "''") + "' (FORMAT parquet)")
"""


def run_duckdb_process(sql_file: Path, data: Path, threads: int, out: Path) -> float:
    if out.exists():
        out.unlink()
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", DUCKDB_PROCESS, str(sql_file), str(data), str(threads), str(out)],
                       capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"DuckDB failed on {sql_file}:\n{r.stderr}")
    return elapsed


def published(n):
    """A count as the rule publishes it: 0, None (hidden, 1-9), or rounded to the nearest 10."""
    if n == 0:
        return 0
    if n < 10:
        return None
    return (n + 5) // 10 * 10


def compare_feasibility(mid_file: Path, duck_file: Path) -> dict:
    """Compares mid's published cube with DuckDB's exact one, key by key and count by count."""
    con = duckdb.connect()
    cols = ", ".join(["kind"] + FEASIBILITY_COUNTS)
    keys = ", ".join(FEASIBILITY_KEYS)
    mid_rows = con.execute(f"SELECT {keys}, {cols}, suppressed FROM read_parquet(?)", [str(mid_file)]).fetchall()
    duck_rows = con.execute(f"SELECT {keys}, {cols} FROM read_parquet(?)", [str(duck_file)]).fetchall()
    k = len(FEASIBILITY_KEYS)
    mid = {tuple(r[:k]): r[k:] for r in mid_rows}
    duck = {tuple(r[:k]): r[k:] for r in duck_rows}
    st = {
        "mid_rows": len(mid_rows), "duckdb_rows": len(duck_rows),
        "duplicate_keys": (len(mid_rows) - len(mid)) + (len(duck_rows) - len(duck)),
        "only_mid": len(mid.keys() - duck.keys()), "only_duckdb": len(duck.keys() - mid.keys()),
        "kind_differs": 0,
        "shown_agree": 0, "shown_differ": 0,
        "hidden_small": 0, "hidden_complementary": 0, "hidden_zero": 0, "hidden_bad": 0,
        "not_applying_agree": 0, "not_applying_differ": 0,
        "examples": [],
    }
    by_count = {c: {"shown": 0, "small": 0, "complementary": 0} for c in FEASIBILITY_COUNTS}

    def bad(what, key, count, m, d):
        if len(st["examples"]) < 10:
            st["examples"].append(f"{what}: {'/'.join(map(str, key))} {count}: mid {m}, DuckDB {d}")

    for key in sorted(mid.keys() & duck.keys()):
        m, d = mid[key], duck[key]
        kind, suppressed = m[0], m[-1]
        if kind != d[0]:
            st["kind_differs"] += 1
            bad("kind", key, "kind", kind, d[0])
        for i, count in enumerate(FEASIBILITY_COUNTS, 1):
            mv, dv = m[i], d[i]
            applies = APPLIES[count] in (None, kind)
            if not applies:
                if mv is None and dv is None:
                    st["not_applying_agree"] += 1
                else:
                    st["not_applying_differ"] += 1
                    bad("not applying", key, count, mv, dv)
            elif mv is not None:
                if dv is not None and published(dv) == mv:
                    st["shown_agree"] += 1
                    by_count[count]["shown"] += 1
                else:
                    st["shown_differ"] += 1
                    bad("shown", key, count, mv, dv)
            elif not suppressed or dv is None:
                st["hidden_bad"] += 1
                bad("null", key, count, f"null (suppressed {suppressed})", dv)
            elif 1 <= dv <= 9:
                st["hidden_small"] += 1
                by_count[count]["small"] += 1
            elif dv >= 10:
                st["hidden_complementary"] += 1
                by_count[count]["complementary"] += 1
            else:
                st["hidden_zero"] += 1
                bad("hidden zero", key, count, "null (suppressed)", dv)
    for key in sorted(mid.keys() - duck.keys())[:5]:
        bad("only in mid", key, "row", mid[key], None)
    for key in sorted(duck.keys() - mid.keys())[:5]:
        bad("only in DuckDB", key, "row", None, duck[key])
    st["by_count"] = by_count
    st["same"] = all(st[x] == 0 for x in ("duplicate_keys", "only_mid", "only_duckdb", "kind_differs",
                                          "shown_differ", "hidden_bad", "hidden_zero", "not_applying_differ"))
    return st


def mid_exact_feasibility(mid: str, data: Path, tmp: Path) -> str:
    """mid's exact (unpublished) feasibility counts of each hospital, through the network
    flow (docs/network.md): the standard request as a package, run at each hospital of the
    data set (a per-hospital view of its files: symlinks and a manifest of that hospital's
    files), each hospital's `counts/feasibility.parquet`. Returns a glob of those files."""
    manifest = json.loads((data / "manifest.json").read_text())
    work = tmp / "exact"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()

    def run(cmd):
        r = subprocess.run([mid] + cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"mid {' '.join(cmd)} failed:\n{r.stderr}")

    pkg = work / "request.midpkg"
    run(["feasibility", "--package", str(pkg), "--audit", str(work / "center.jsonl")])
    for site in manifest["sites"]:
        own = json.loads(json.dumps(manifest))
        own["sites"] = [site]
        for table, t in own["tables"].items():
            keep = [i for i, f in enumerate(t["files"]) if Path(f).stem == site]
            for key in ("files", "bytes"):
                if key in t:
                    t[key] = [t[key][i] for i in keep]
            for i in keep:
                f = t["files"][keep.index(i)]
                (work / site / Path(f).parent).mkdir(parents=True, exist_ok=True)
                (work / site / f).symlink_to(data / f)
        (work / site / "manifest.json").write_text(json.dumps(own, indent=2))
        key = work / f"{site}.key"
        run(["site", "key", "--out", str(key)])
        run(["site", "run", str(pkg), "--data", str(work / site), "--key", str(key),
             "--audit", str(work / f"{site}.jsonl"), "--out", str(work / f"extract-{site}")])
    return str(work / "extract-*" / "counts" / "feasibility.parquet")


def compare_exact(mid_glob: str, duck_file: Path) -> dict:
    """Every hospital row of DuckDB's cube against mid's exact counts, count for count."""
    con = duckdb.connect()
    differs = " OR ".join(f"m.{c} IS DISTINCT FROM d.{c}" for c in ["kind"] + FEASIBILITY_COUNTS)
    only_mid, only_duck, both, differ = con.execute(f"""
        WITH m AS (SELECT * FROM read_parquet(?)),
             d AS (SELECT * FROM read_parquet(?) WHERE hospital <> 'network')
        SELECT count(*) FILTER (WHERE d.item IS NULL), count(*) FILTER (WHERE m.item IS NULL),
               count(*) FILTER (WHERE m.item IS NOT NULL AND d.item IS NOT NULL),
               count(*) FILTER (WHERE m.item IS NOT NULL AND d.item IS NOT NULL AND ({differs}))
        FROM m FULL JOIN d USING ({', '.join(FEASIBILITY_KEYS)})""", [mid_glob, str(duck_file)]).fetchone()
    return {"only_mid": only_mid, "only_duckdb": only_duck, "rows": both, "differ": differ,
            "same": only_mid == 0 and only_duck == 0 and differ == 0}


def feasibility_benchmark(args, data: Path, tmp: Path, q: str) -> dict:
    sql_file = ROOT / "sql" / f"{q}.sql"
    out = tmp / q
    duck_out = tmp / f"{q}.duckdb.parquet"
    mid_times, duck_times = [], []
    for _ in range(args.runs):
        if not args.duckdb_only:
            mid_times.append(run_mid_feasibility(args.mid, data, out))
        duck_times.append(run_duckdb_process(sql_file, data, args.threads, duck_out))
    if args.duckdb_only:
        return {"mid_times": [], "duck_times": duck_times, "same": None, "detail": None}
    st = compare_feasibility(out / "feasibility.parquet", duck_out)
    summary = json.loads((out / "feasibility.json").read_text())
    st["mid_suppressed_small"] = summary.get("suppressed_small")
    st["mid_suppressed_complementary"] = summary.get("suppressed_complementary")
    if args.exact:
        st["exact"] = compare_exact(mid_exact_feasibility(args.mid, data, tmp), duck_out)
        st["same"] = st["same"] and st["exact"]["same"]
    return {"mid_times": mid_times, "duck_times": duck_times, "same": st["same"], "detail": st}


def print_feasibility_detail(st: dict):
    print(f"  rows: mid {st['mid_rows']}, DuckDB {st['duckdb_rows']}; keys only in mid {st['only_mid']}, "
          f"only in DuckDB {st['only_duckdb']}, duplicated {st['duplicate_keys']}, kind differs {st['kind_differs']}")
    print(f"  counts shown by mid: {st['shown_agree']} agree, {st['shown_differ']} differ; "
          f"not applying (null on both): {st['not_applying_agree']} agree, {st['not_applying_differ']} differ")
    print(f"  counts hidden by mid: {st['hidden_small']} are 1-9 (mid says {st['mid_suppressed_small']}), "
          f"{st['hidden_complementary']} are 10 or more (complementary; mid says {st['mid_suppressed_complementary']}), "
          f"{st['hidden_zero']} are 0, {st['hidden_bad']} null in DuckDB or not flagged")
    for c, n in st["by_count"].items():
        print(f"    {c:<20} shown {n['shown']:>7}  hidden 1-9 {n['small']:>7}  hidden >=10 {n['complementary']:>7}")
    if "exact" in st:
        x = st["exact"]
        print(f"  exact counts (mid's per hospital, through mid site run): {x['rows']} hospital rows, "
              f"{x['differ']} differ; rows only in mid {x['only_mid']}, only in DuckDB {x['only_duckdb']}")
    for e in st["examples"]:
        print(f"  {e}")


def feasibility_row(args, data: Path, tmp: Path, q: str, results: list):
    r = feasibility_benchmark(args, data, tmp, q)
    if r["detail"] is None:
        best_duck = min(r["duck_times"])
        print(f"{q:<28}{'-':>10}{best_duck:>12.2f}{'-':>12}  - (DuckDB only)")
        results.append({"benchmark": q, "duckdb_s": round(best_duck, 3), "duckdb_runs": r["duck_times"],
                        "duckdb_whole_process": True})
        return
    best_mid, best_duck = min(r["mid_times"]), min(r["duck_times"])
    ratio = best_mid / best_duck
    print(f"{q:<28}{best_mid:>10.2f}{best_duck:>12.2f}{ratio:>12.2f}  {'yes' if r['same'] else 'NO'}")
    print_feasibility_detail(r["detail"])
    detail = {k: v for k, v in r["detail"].items() if k != "examples"}
    results.append({"benchmark": q, "mid_s": round(best_mid, 3), "duckdb_s": round(best_duck, 3),
                    "ratio": round(ratio, 2), "same_counts": r["same"], "mid_runs": r["mid_times"],
                    "duckdb_runs": r["duck_times"], "duckdb_whole_process": True, "agreement": detail})


def run_mid_example(mid: str, ex: str, data: Path, out: Path) -> float:
    """`mid run examples/<ex>/study.mid`, as a whole process, its outputs in Parquet."""
    return timed_mid([mid, "run", str(ROOT.parent / "examples" / ex / "study.mid"), "--data", str(data),
                      "--out", str(out), "--color", "never"], out, f"examples/{ex}/study.mid")


def published_days(days, persons_hidden: bool):
    """Person-days as the rule publishes them: hidden with their row's persons, else 0 or
    rounded to the nearest 100 (halves up)."""
    if persons_hidden:
        return None
    return 0 if days == 0 else (days + 50) // 100 * 100


def mid_threshold(path: Path) -> int:
    """The threshold a table hides below (`mid.threshold` in its Parquet metadata), 10 when
    it cannot be read."""
    try:
        import pyarrow.parquet as pq
        return int(pq.read_schema(path).metadata[b"mid.threshold"])
    except Exception:
        return 10


def too_fine(persons: list, threshold: int) -> bool:
    """mid's rule for withholding a report (runtime/src/disclosure.rs): more than half of its
    non-empty cells below the threshold."""
    non_empty = [n for n in persons if n > 0]
    return len(non_empty) > 1 and 2 * sum(1 for n in non_empty if n < threshold) > len(non_empty)


def compare_example(out: Path, duck_file: Path) -> dict:
    """Compares mid's published tables (and its exact site-only row counts) with DuckDB's exact
    counts, count by count."""
    con = duckdb.connect()
    duck = {}
    for output, stratum, count, n in con.execute(
            "SELECT output, stratum, count, n FROM read_parquet(?)", [str(duck_file)]).fetchall():
        duck.setdefault(output, {}).setdefault(stratum, {})[count] = n
    run = json.loads((out / "run.json").read_text())
    withheld = {w["report"] for w in run.get("withheld", [])}
    st = {
        "tables": 0, "rows": 0,
        "shown_agree": 0, "shown_differ": 0, "hidden_small": 0, "hidden_bad": 0,
        "not_applying_agree": 0, "not_applying_differ": 0,
        "only_mid": 0, "only_duckdb": 0, "withheld_agree": 0, "withheld_differ": 0,
        "exact_agree": 0, "exact_differ": 0, "not_compared": [],
        "examples": [],
    }

    def bad(what, table, key, count, m, d):
        if len(st["examples"]) < 12:
            st["examples"].append(f"{what}: {table} [{key}] {count}: mid {m}, DuckDB {d}")

    for output in sorted(o for o in duck if o != "run-site"):
        path = out / "reports" / f"{output}.parquet"
        if not path.exists():
            rows = duck[output]
            persons = [r.get("persons", 0) for r in rows.values()]
            if output in withheld and too_fine(persons, 10):
                st["withheld_agree"] += 1
            else:
                st["withheld_differ"] += 1
                bad("missing", output, "", "file", "withheld" if output in withheld else "absent", f"{len(rows)} rows")
            continue
        st["tables"] += 1
        threshold = mid_threshold(path)
        cur = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        cols = [c[0] for c in cur.description]
        rows = cur.fetchall()
        attrition = output.startswith("attrition_")
        keys = ["step"] if attrition else cols[:cols.index("persons")]
        counts = [c for c in cols if f"{c}_suppressed" in cols]
        seen = set()
        for row in rows:
            r = dict(zip(cols, row))
            key = "|".join("" if r[k] is None else str(r[k]) for k in keys)
            seen.add(key)
            d = duck[output].get(key)
            st["rows"] += 1
            if d is None:
                st["only_mid"] += 1
                bad("only in mid", output, key, "row", {c: r[c] for c in counts}, None)
                continue
            for c in counts:
                mv, hidden, dv = r[c], r[f"{c}_suppressed"], d.get(c)
                if mv is None and not hidden:  # does not apply
                    if dv is None:
                        st["not_applying_agree"] += 1
                    else:
                        st["not_applying_differ"] += 1
                        bad("not applying", output, key, c, None, dv)
                    continue
                if dv is None:
                    st["shown_differ"] += 1
                    bad("no DuckDB count", output, key, c, "hidden" if hidden else mv, None)
                    continue
                if c.endswith("_person_days"):
                    want = published_days(dv, bool(r.get("persons_suppressed")))
                    ok = (want is None) == bool(hidden) and (hidden or mv == want)
                    if ok and hidden:
                        st["hidden_small"] += 1
                    elif ok:
                        st["shown_agree"] += 1
                    else:
                        st["shown_differ"] += 1
                        bad("person-days", output, key, c, "hidden" if hidden else mv, dv)
                elif hidden:
                    if 1 <= dv < threshold:
                        st["hidden_small"] += 1
                    else:
                        st["hidden_bad"] += 1
                        bad("hidden", output, key, c, "hidden", dv)
                elif published(dv) == mv and (dv == 0 or dv >= threshold):
                    st["shown_agree"] += 1
                else:
                    st["shown_differ"] += 1
                    bad("shown", output, key, c, mv, dv)
            extra = set(d) - set(counts)
            if extra:
                st["shown_differ"] += len(extra)
                bad("count not in mid", output, key, ",".join(sorted(extra)), None, [d[c] for c in sorted(extra)])
        for key in sorted(set(duck[output]) - seen):
            st["only_duckdb"] += 1
            bad("only in DuckDB", output, key, "row", None, duck[output][key])
    for path in sorted((out / "reports").glob("*.parquet")):
        if path.stem not in duck:
            st["not_compared"].append(path.stem)
    # The exact counts mid keeps at the site: rows of its entries, cohort and outcome plans.
    site = json.loads((out / "site-only" / "run-site.json").read_text())["tables"]
    for count, n in sorted(duck.get("run-site", {}).get("", {}).items()):
        if site.get(count) == n:
            st["exact_agree"] += 1
        else:
            st["exact_differ"] += 1
            bad("exact", "run-site", "", count, site.get(count), n)
    st["same"] = all(st[x] == 0 for x in ("shown_differ", "hidden_bad", "not_applying_differ", "only_mid",
                                          "only_duckdb", "withheld_differ", "exact_differ"))
    return st


def example_row(args, data: Path, tmp: Path, ex: str, results: list):
    sql_file = ROOT / "sql" / f"{ex}.sql"
    out = tmp / ex
    duck_out = tmp / f"{ex}.duckdb.parquet"
    mid_times, duck_times = [], []
    for _ in range(args.runs):
        mid_times.append(run_mid_example(args.mid, ex, data, out))
        duck_times.append(run_duckdb_process(sql_file, data, args.threads, duck_out))
    st = compare_example(out, duck_out)
    best_mid, best_duck = min(mid_times), min(duck_times)
    ratio = best_mid / best_duck
    print(f"{ex:<28}{best_mid:>10.2f}{best_duck:>12.2f}{ratio:>12.2f}  {'yes' if st['same'] else 'NO'}")
    print(f"  {st['tables']} tables, {st['rows']} rows; counts shown by mid: {st['shown_agree']} agree, "
          f"{st['shown_differ']} differ; hidden by mid: {st['hidden_small']} are 1-9 (or go with hidden persons), "
          f"{st['hidden_bad']} are not; not applying: {st['not_applying_agree']} agree, {st['not_applying_differ']} differ")
    print(f"  rows only in mid {st['only_mid']}, only in DuckDB {st['only_duckdb']}; withheld reports "
          f"{st['withheld_agree']} agree, {st['withheld_differ']} differ; exact counts (site-only run-site.json) "
          f"{st['exact_agree']} agree, {st['exact_differ']} differ")
    if st["not_compared"]:
        print(f"  not compared (not in the SQL): {', '.join(st['not_compared'])}")
    for e in st["examples"]:
        print(f"  {e}")
    detail = {k: v for k, v in st.items() if k != "examples"}
    results.append({"benchmark": ex, "mid_s": round(best_mid, 3), "duckdb_s": round(best_duck, 3),
                    "ratio": round(ratio, 2), "same_counts": st["same"], "mid_runs": mid_times,
                    "duckdb_runs": duck_times, "duckdb_whole_process": True, "agreement": detail})


def mid_counts(out: Path, q: str):
    """The raw counts mid reported (from run.json's tables the report rows are re-read)."""
    import csv
    reports = sorted((out / "reports").glob("*.csv"))
    report = [p for p in reports
              if not p.name.startswith("attrition_") and not p.name.endswith(".codebook.csv")]
    if not report:  # withheld: its cells would describe individuals (a small data set)
        return None
    with open(report[0]) as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--mid", default=str(ROOT.parent / "target" / "release" / "mid"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--only", action="append", metavar="NAME[,NAME]",
                    help=f"run only these benchmarks (of {', '.join(BENCHMARKS)}); all when absent")
    ap.add_argument("--keep", action="store_true", help="keep the outputs (mid's and DuckDB's) and print where")
    ap.add_argument("--cold-checks", action="store_true",
                    help="mid checks the data's rows in every run (MID_CHECK_CACHE=off); by default each mid "
                         "command runs once untimed first, so the timed runs reuse the checks' counts")
    ap.add_argument("--exact", action="store_true",
                    help="feasibility: also compare DuckDB's counts with mid's exact ones, which mid gives "
                         "only per hospital through the network flow (package, site run; not timed)")
    ap.add_argument("--duckdb-only", action="store_true",
                    help="time DuckDB alone (feasibility benchmarks only): no mid run, no comparison")
    args = ap.parse_args()
    global COLD_CHECKS
    COLD_CHECKS = args.cold_checks
    chosen = BENCHMARKS
    if args.only:
        chosen = [n for o in args.only for n in o.split(",") if n]
        unknown = [n for n in chosen if n not in BENCHMARKS]
        if unknown:
            sys.exit(f"no benchmark {', '.join(unknown)} (there are: {', '.join(BENCHMARKS)})")
    if args.duckdb_only and any(q not in FEASIBILITY for q in chosen):
        sys.exit(f"--duckdb-only is for {', '.join(FEASIBILITY)}: add --only")
    data = args.data.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="mid-bench-"))
    results = []
    print(f"data: {data}  threads: {args.threads}  runs: {args.runs} (best of)  data checks: {'cold' if COLD_CHECKS else 'reused (one untimed run first)'}")
    print(f"{'benchmark':<28}{'mid (s)':>10}{'DuckDB (s)':>12}{'mid/DuckDB':>12}  same counts")
    for q in chosen:
        if q in FEASIBILITY:
            feasibility_row(args, data, tmp, q, results)
            continue
        if q in EXAMPLES:
            example_row(args, data, tmp, q, results)
            continue
        script = ROOT / "scripts" / f"{q}.mid"
        out = tmp / q
        duck_out = tmp / f"{q}.duckdb.parquet"
        mid_times = [run_mid(args.mid, script, data, out) for _ in range(args.runs)]
        # Whole process against whole process: DuckDB's start-up and writing its rows count.
        duck_times = [run_duckdb_process(ROOT / "sql" / f"{q}.sql", data, args.threads, duck_out)
                      for _ in range(args.runs)]
        rows = duckdb.connect().execute(
            "SELECT * FROM read_parquet('" + str(duck_out).replace("'", "''") + "')").fetchall()
        m = mid_counts(out, q)
        if m is None:
            best_mid, best_duck = min(mid_times), min(duck_times)
            print(f"{q:<28}{best_mid:>10.2f}{best_duck:>12.2f}{best_mid / best_duck:>12.2f}  - (mid withheld the report)")
            results.append({"benchmark": q, "mid_s": round(best_mid, 3), "duckdb_s": round(best_duck, 3),
                            "ratio": round(best_mid / best_duck, 2), "same_counts": None,
                            "mid_runs": mid_times, "duckdb_runs": duck_times})
            continue
        # Compare the persons counts as mid publishes them (docs/language.md, Disclosure
        # control): 0, hidden (empty, `persons_suppressed` true) for 1-9, otherwise rounded
        # to the nearest 10 (halves up). DuckDB's exact count must publish as the same cell.
        mid_persons = ["<10" if r.get("persons_suppressed") == "true" else r["persons"] for r in m]
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
        print(f"{q:<28}{best_mid:>10.2f}{best_duck:>12.2f}{ratio:>12.2f}  {'yes' if same else 'NO'}")
        results.append({"benchmark": q, "mid_s": round(best_mid, 3), "duckdb_s": round(best_duck, 3),
                        "ratio": round(ratio, 2), "same_counts": same, "mid_runs": mid_times, "duckdb_runs": duck_times})
        if not same:
            print(f"  mid: {mid_persons}\n  duckdb: {duck_persons}")
    if args.json:
        for r in results:
            r["data_checks"] = "cold" if COLD_CHECKS else "reused"
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.keep:
        print(f"outputs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

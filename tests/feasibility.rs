//! `mid feasibility` end to end (集計情報): the cube against the same counts written by hand in
//! SQL over the same Parquet, disclosure control audited by a linear program that plays the
//! attacker, byte-identical reruns, the chart page in a real browser, and bad items named
//! with their line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Array, BooleanArray, Int64Array, RecordBatch};
use arrow::compute::concat_batches;
use mid_compiler::codegen::feasibility::Calendar;
use mid_runtime::output::feasibility::{Cell, Cube};

use crate::common::{browser_console, browser_dom, fails, generate, mid, ok, read_batches};
use crate::differential::sql;

const ITEMS: &str = "# thiamazole by its YJ prefix, a stdlib class, a condition, a lab item and one
# whose results are text only (persons with a numeric value: none)
drug \"2432001\"
drug statins
condition \"I50\"
lab alt
lab urine_protein_qual
";

/// A 4-hospital network large enough for cells both above and below 10.
fn net() -> &'static Path {
    static NET: OnceLock<PathBuf> = OnceLock::new();
    NET.get_or_init(|| generate(6_000, 4, 21))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn items(dir: &Path, text: &str) -> PathBuf {
    let f = dir.join("items.txt");
    std::fs::write(&f, text).expect("items");
    f
}

fn cube_table(out: &Path) -> RecordBatch {
    let batches = read_batches(&out.join("feasibility.parquet"));
    concat_batches(&batches[0].schema(), &batches).expect("concat")
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a Int64Array {
    b.column_by_name(name)
        .expect(name)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("a count")
}

/// (hospital, quarter, sex) → exact (persons, records), by hand in SQL.
fn by_hand(data: &Path, table: &str, test: &str) -> BTreeMap<(String, String, String), (u64, u64)> {
    let b = sql(
        data,
        &format!(
            "SELECT t.hospital_id, \
               CAST(CAST(date_part('year', t.date) AS BIGINT) AS VARCHAR) || 'Q' || \
               CAST(CAST(floor((date_part('month', t.date) - 1) / 3) AS BIGINT) + 1 AS VARCHAR) AS q, \
               p.sex, COUNT(DISTINCT t.patient_id) AS persons, COUNT(*) AS records \
             FROM {table} t JOIN patient p ON p.hospital_id = t.hospital_id AND p.patient_id = t.patient_id \
             WHERE {test} GROUP BY 1, 2, 3"
        ),
    );
    let h = crate::common::text(b.column(0));
    let q = crate::common::text(b.column(1));
    let x = crate::common::text(b.column(2));
    let n = |i: usize| -> Vec<u64> {
        let a = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Int64).expect("int");
        let a = a
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int")
            .clone();
        (0..a.len()).map(|k| a.value(k) as u64).collect()
    };
    let (p, r) = (n(3), n(4));
    (0..b.num_rows())
        .map(|i| {
            (
                (
                    h.value(i).to_string(),
                    q.value(i).to_string(),
                    x.value(i).to_string(),
                ),
                (p[i], r[i]),
            )
        })
        .collect()
}

/// What the rule shows for an exact count.
fn rule(n: u64) -> Option<i64> {
    match n {
        0 => Some(0),
        1..=9 => None,
        n => Some((((n + 5) / 10) * 10) as i64),
    }
}

#[test]
fn the_cube_counts_what_sql_counts_and_hides_what_it_must() {
    let t = tempfile::tempdir().expect("tmp");
    let f = items(t.path(), ITEMS);
    let out = t.path().join("out");
    let stdout = ok(&mid(&[
        "feasibility",
        "--items",
        s(&f),
        "--data",
        s(net()),
        "--out",
        s(&out),
    ]));
    assert!(
        stdout.contains("feasibility: 5 items at 4 hospitals, by quarter"),
        "{stdout}"
    );
    assert!(
        stdout.lines().count() < 12,
        "a short summary, not the cube: {stdout}"
    );
    let b = cube_table(&out);
    let text = |n: &str| crate::common::text(b.column_by_name(n).expect(n));
    let (item, hospital, quarter, age, sex) = (
        text("item"),
        text("hospital"),
        text("quarter"),
        text("age_band"),
        text("sex"),
    );
    let suppressed = b
        .column_by_name("suppressed")
        .expect("flag")
        .as_any()
        .downcast_ref::<BooleanArray>()
        .expect("bool")
        .clone();
    let counts = ["persons", "records", "new_users", "persons_with_value"];
    // No count of 1-9 leaves; every count is 0 or a multiple of 10; the flag says where a
    // count is hidden.
    let mut hidden_rows = 0;
    for i in 0..b.num_rows() {
        let kind = text("kind").value(i).to_string();
        let applies = |c: &str| match c {
            "new_users" => kind == "drug",
            "persons_with_value" => kind == "lab",
            _ => true,
        };
        let mut any_hidden = false;
        for c in counts {
            let a = col(&b, c);
            if a.is_null(i) {
                any_hidden |= applies(c);
            } else {
                assert!(applies(c), "row {i}: {c} shown for a {kind}");
                let v = a.value(i);
                assert!(v == 0 || (v >= 10 && v % 10 == 0), "row {i}: {c} = {v}");
            }
        }
        assert_eq!(suppressed.value(i), any_hidden, "row {i}");
        hidden_rows += usize::from(any_hidden);
    }
    assert!(
        hidden_rows > 0 && hidden_rows < b.num_rows(),
        "{hidden_rows} of {}",
        b.num_rows()
    );

    // A lab item whose results are text only: persons, but no person with a numeric value.
    let total = (0..b.num_rows())
        .find(|&i| {
            item.value(i) == "urine_protein_qual"
                && hospital.value(i) == "network"
                && [quarter.value(i), age.value(i), sex.value(i)] == ["all"; 3]
        })
        .expect("the text-only item's network total");
    let (persons, valued) = (col(&b, "persons"), col(&b, "persons_with_value"));
    assert!(
        !persons.is_null(total) && persons.value(total) >= 10,
        "persons shown"
    );
    assert!(!valued.is_null(total) && valued.value(total) == 0);

    // Each hospital's and the network's persons and records by quarter and sex, against SQL.
    for (name, table, test) in [
        ("yj 2432001", "drug", "t.yj_code LIKE '2432001%'"),
        (
            "icd10 I50",
            "diagnosis",
            "t.icd10 LIKE 'I50%' AND NOT t.suspected",
        ),
    ] {
        let exact = by_hand(net(), table, test);
        let mut network: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for ((_, q, x), (p, r)) in &exact {
            let e = network.entry((q.clone(), x.clone())).or_default();
            e.0 += p;
            e.1 += r;
        }
        let mut seen = 0;
        for i in 0..b.num_rows() {
            if item.value(i) != name
                || age.value(i) != "all"
                || quarter.value(i) == "all"
                || sex.value(i) == "all"
            {
                continue;
            }
            let key = (quarter.value(i).to_string(), sex.value(i).to_string());
            let (p, r) = if hospital.value(i) == "network" {
                network[&key]
            } else {
                exact[&(hospital.value(i).to_string(), key.0.clone(), key.1.clone())]
            };
            for (c, n) in [("persons", p), ("records", r)] {
                let shown = col(&b, c);
                match rule(n) {
                    None => assert!(shown.is_null(i), "{name} {key:?} {c}: {n} is small"),
                    Some(v) if !shown.is_null(i) => {
                        assert_eq!(shown.value(i), v, "{name} {key:?} {c}")
                    }
                    // Hidden to protect another count.
                    Some(_) => {}
                }
            }
            seen += 1;
        }
        assert_eq!(
            seen,
            exact.len() + network.len(),
            "{name}: every cell of SQL is in the cube"
        );
    }

    // The same request, run in process: its published cells are those written, and the
    // attacker's linear program recovers no small count.
    let request =
        match mid_compiler::feasibility::compile("items.txt", ITEMS, Calendar::Quarter, 10) {
            Ok(r) => r,
            Err(_) => panic!("the request compiles"),
        };
    let rt = mid_runtime::runtime().expect("rt");
    let results = rt.block_on(async {
        let e = mid_runtime::engine::Engine::open(net())
            .await
            .expect("opens");
        mid_runtime::engine::run_all(&e, &request.plans, false, |_, _| {})
            .await
            .expect("runs")
    });
    let cube = Cube::protect(Calendar::Quarter, &results["feasibility"].1).expect("protects");
    assert_eq!(cube.table().expect("table").columns(), b.columns());
    let (small, complementary) = cube.hidden();
    assert!(
        small > 0 && complementary > 0,
        "{small} small, {complementary} complementary"
    );
    let problems = cube.audit();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The attacker who has only the published table, with every relation its counts keep.
    let tried = attack_table(&b, "quarter");
    assert_eq!(tried, small + complementary, "every hidden count is tried");
    // New users are at most the persons, and a new user's first record is in one quarter.
    for r in &cube.rows {
        if let (Some(n), Some(p)) = (r.exact[2], r.exact[0]) {
            assert!(n <= p, "{r:?}");
        }
    }

    // Byte-identical on a second run.
    let again = t.path().join("again");
    ok(&mid(&[
        "feasibility",
        "--items",
        s(&f),
        "--data",
        s(net()),
        "--out",
        s(&again),
    ]));
    for file in [
        "feasibility.parquet",
        "feasibility.csv",
        "feasibility.html",
        "feasibility.json",
    ] {
        let a = std::fs::read(out.join(file)).expect("first");
        let z = std::fs::read(again.join(file)).expect("again");
        assert_eq!(a, z, "{file}");
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("feasibility.json")).expect("json"))
            .expect("json");
    assert_eq!(record["format"], "mid-feasibility/1");
    assert_eq!(record["suppressed_small"], small);

    chart_page(&out.join("feasibility.html"), &cube);
    through_the_network(t.path(), &f, &out);
}

/// The same request through the network: packaged, run at each hospital of the same network
/// split by hospital, approved, pooled and released. What the data center releases is byte
/// for byte what the request gives on the pooled data; what leaves a hospital is its own
/// exact counts and nothing at the patient level.
fn through_the_network(t: &Path, items: &Path, direct: &Path) {
    let split = t.join("split");
    ok(&mid(&[
        "synth",
        "--patients",
        "6000",
        "--hospitals",
        "4",
        "--seed",
        "21",
        "--out",
        s(&split),
        "--split",
    ]));
    let pkg = t.join("request.midpkg");
    let center_log = t.join("center.jsonl");
    let made = ok(&mid(&[
        "feasibility",
        "--items",
        s(items),
        "--package",
        s(&pkg),
        "--audit",
        s(&center_log),
    ]));
    assert!(made.contains("feasibility request"), "{made}");
    let shown = ok(&mid(&["package", "--show", s(&pkg)]));
    assert!(
        shown.contains("Exact counts, for the data center only"),
        "{shown}"
    );
    assert!(
        !shown.contains("Patient-level analysis data set"),
        "{shown}"
    );
    let mut extractions = Vec::new();
    for h in ["H01", "H02", "H03", "H04"] {
        let key = t.join(format!("{h}.key"));
        let log = t.join(format!("{h}.jsonl"));
        let ex = t.join(format!("extract-{h}"));
        ok(&mid(&["site", "key", "--out", s(&key)]));
        let ran = ok(&mid(&[
            "site",
            "run",
            s(&pkg),
            "--data",
            s(&split.join(h)),
            "--key",
            s(&key),
            "--audit",
            s(&log),
            "--out",
            s(&ex),
        ]));
        assert!(ran.contains("1 table of exact counts"), "{ran}");
        // The officer reads what the request matched: its counts, not an empty list.
        let summary = std::fs::read_to_string(ex.join("summary.txt")).expect("summary");
        assert!(
            summary.contains("its counts, below (a feasibility request)"),
            "{summary}"
        );
        assert!(
            !ex.join("analysis").exists(),
            "{h}: nothing at the patient level leaves"
        );
        let counts = read_batches(&ex.join("counts/feasibility.parquet"));
        for b in &counts {
            let hospital = crate::common::text(b.column_by_name("hospital").expect("hospital"));
            assert!(
                (0..hospital.len()).all(|i| hospital.value(i) == h),
                "{h} returns only its own rows"
            );
        }
        ok(&mid(&[
            "site",
            "approve",
            s(&ex),
            "--officer",
            "Sato",
            "--audit",
            s(&log),
        ]));
        extractions.push(ex);
    }
    let pooled = t.join("pooled");
    let mut args = vec!["center", "combine"];
    args.extend(extractions.iter().map(|e| s(e)));
    args.extend([
        "--package",
        s(&pkg),
        "--audit",
        s(&center_log),
        "--out",
        s(&pooled),
    ]);
    let combined = ok(&mid(&args));
    assert!(
        combined.contains("exact counts of the network in"),
        "{combined}"
    );
    let release = t.join("release");
    ok(&mid(&[
        "center",
        "release",
        s(&pooled),
        "--out",
        s(&release),
        "--audit",
        s(&center_log),
    ]));
    for file in [
        "feasibility.parquet",
        "feasibility.csv",
        "feasibility.html",
        "items.txt",
        "request.mid",
    ] {
        let a = std::fs::read(direct.join(file)).expect("direct");
        let z = std::fs::read(release.join(file)).expect("released");
        assert!(
            a == z,
            "{file}: the release differs from the request run on the pooled data"
        );
    }
    ok(&mid(&["audit", "verify", s(&center_log)]));
    // A released counts file changed after pooling is refused.
    let counts = pooled.join("feasibility/counts.parquet");
    let mut bytes = std::fs::read(&counts).expect("counts");
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(&counts, bytes).expect("tamper");
    let e = fails(&mid(&[
        "center",
        "release",
        s(&pooled),
        "--out",
        s(&t.join("release2")),
        "--audit",
        s(&center_log),
    ]));
    assert!(e.contains("feasibility/counts.parquet was changed"), "{e}");
}

/// The chart page as a browser reads it: self-contained, one chart per item, no console
/// message, and no hidden count drawn as a number.
fn chart_page(page: &Path, cube: &Cube) {
    let source = std::fs::read_to_string(page).expect("page");
    for external in ["http:", "https:", "src=", "<link", "@import", "<script"] {
        assert!(
            !source.contains(external),
            "the page loads something: {external}"
        );
    }
    let dom = browser_dom(page);
    for item in ["yj 2432001", "statins", "icd10 I50", "alt"] {
        assert!(dom.contains(&format!("<h2>{item}</h2>")), "{item}");
    }
    let small_title = regex_lite_small(&dom);
    assert!(
        small_title.is_empty(),
        "hidden counts drawn as numbers: {small_title:?}"
    );
    let hidden = cube
        .rows
        .iter()
        .filter(|r| {
            r.hospital == "network" && r.age_band == "all" && r.period != "all" && r.sex != "all"
        })
        .filter(|r| matches!(r.shown[0], Cell::Small | Cell::Complementary))
        .count();
    assert_eq!(dom.matches(": suppressed</title>").count(), hidden);
    assert!(
        browser_console(page).is_empty(),
        "{:?}",
        browser_console(page)
    );
    // The console check sees what a page logs.
    let control = page.with_file_name("control.html");
    std::fs::write(
        &control,
        "<html><body><script>console.error('seen')</script></body></html>",
    )
    .expect("control");
    assert!(
        !browser_console(&control).is_empty(),
        "chromium's console log is read"
    );
}

/// Chart titles that show a count of 1-9.
fn regex_lite_small(dom: &str) -> Vec<String> {
    dom.match_indices("</title>")
        .filter_map(|(i, _)| {
            let before = &dom[..i];
            let n = before.rsplit(": ").next()?;
            (n.len() == 1 && n.chars().all(|c| ('1'..='9').contains(&c))).then(|| n.to_string())
        })
        .collect()
}

#[test]
fn fiscal_years_five_year_bands_and_what_matched_nothing() {
    let t = tempfile::tempdir().expect("tmp");
    let f = items(t.path(), "drug \"2432001\"\ncondition \"Z998\"\n");
    let out = t.path().join("out");
    let stdout = ok(&mid(&[
        "feasibility",
        "--items",
        s(&f),
        "--data",
        s(net()),
        "--out",
        s(&out),
        "--fiscal-year",
        "--age-band",
        "5",
    ]));
    assert!(stdout.contains("by fiscal year"), "{stdout}");
    assert!(
        stdout.contains("icd10 Z998 matched nothing at any hospital"),
        "{stdout}"
    );
    let b = cube_table(&out);
    let fy = crate::common::text(b.column_by_name("fiscal_year").expect("fiscal_year"));
    assert!((0..fy.len()).all(|i| fy.value(i) == "all" || fy.value(i).parse::<i32>().is_ok()));
    let age = crate::common::text(b.column_by_name("age_band").expect("age_band"));
    assert!((0..age.len()).any(|i| age.value(i).ends_with('4') || age.value(i).ends_with('9')));
    assert!((0..age.len()).all(|i| {
        let a = age.value(i);
        a == "all"
            || a.split_once('-').is_some_and(|(lo, hi)| {
                hi.parse::<i64>().ok() == lo.parse::<i64>().ok().map(|l| l + 4)
            })
    }));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("feasibility.json")).expect("json"))
            .expect("json");
    assert_eq!(record["matched_nothing"]["icd10 Z998"][0], "network");
}

#[test]
fn bad_items_are_named_with_their_line() {
    let t = tempfile::tempdir().expect("tmp");
    let f = items(
        t.path(),
        "drug statins\ndrug statinz\npill aspirin\nlab neutrophil_count\n",
    );
    let out = t.path().join("out");
    let e = fails(&mid(&[
        "feasibility",
        "--items",
        s(&f),
        "--data",
        s(net()),
        "--out",
        s(&out),
    ]));
    assert!(e.contains("F0002"), "{e}");
    assert!(e.contains("did you mean `drug statins`?"), "{e}");
    assert!(e.contains("items.txt:2:1"), "{e}");
    assert!(e.contains("F0001") && e.contains("items.txt:3:1"), "{e}");
    assert!(!out.exists(), "nothing written");
    // A derived lab item cannot be counted on its own.
    let f = items(t.path(), "lab neutrophil_count\n");
    let e = fails(&mid(&[
        "feasibility",
        "--items",
        s(&f),
        "--data",
        s(net()),
        "--out",
        s(&out),
    ]));
    assert!(e.contains("F0004") && e.contains("derived"), "{e}");
    let o = mid(&[
        "feasibility",
        "--age-band",
        "7",
        "--data",
        s(net()),
        "--out",
        s(&out),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The standard request lists its items.
    let list = ok(&mid(&["feasibility", "--list"]));
    assert_eq!(list.lines().filter(|l| l.starts_with("lab ")).count(), 28);
}

/// The attacker, written from the published table alone: every relation its counts keep
/// (the network is the hospitals added; the sexes add up to all; records and new users add
/// up over periods and age bands; persons by period or age band are at most their sum and at
/// least each; persons at most records; new users and persons with a value at most persons;
/// a row is there only if someone has a record), and for every hidden count the largest
/// value a linear program allows. A hidden count it keeps below 10 is one the release would
/// give away. Returns how many hidden counts it tried.
fn attack_table(b: &RecordBatch, period: &str) -> usize {
    use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};
    const MEASURES: [&str; 4] = ["persons", "records", "new_users", "persons_with_value"];
    let text = |n: &str| crate::common::text(b.column_by_name(n).expect(n));
    let (item, kind, hospital, per, age, sex) = (
        text("item"),
        text("kind"),
        text("hospital"),
        text(period),
        text("age_band"),
        text("sex"),
    );
    type Key = (String, String, String, String, String);
    // Per measure: not applying, hidden, or shown.
    type Cells = [Option<Option<i64>>; 4];
    let mut rows: BTreeMap<String, BTreeMap<Key, Cells>> = BTreeMap::new();
    for i in 0..b.num_rows() {
        let k = kind.value(i);
        let cells = std::array::from_fn(|m| {
            let applies = match MEASURES[m] {
                "new_users" => k == "drug",
                "persons_with_value" => k == "lab",
                _ => true,
            };
            let a = col(b, MEASURES[m]);
            applies.then(|| (!a.is_null(i)).then(|| a.value(i)))
        });
        let key = (
            hospital.value(i).to_string(),
            per.value(i).to_string(),
            age.value(i).to_string(),
            sex.value(i).to_string(),
            String::new(),
        );
        rows.entry(item.value(i).to_string())
            .or_default()
            .insert(key, cells);
    }
    let mut tried = 0;
    for (name, cube) in rows {
        let mut p = Problem::new(OptimizationDirection::Maximize);
        let mut var: BTreeMap<(&Key, usize), Variable> = BTreeMap::new();
        let mut hidden = Vec::new();
        for (key, cells) in &cube {
            for (m, c) in cells.iter().enumerate() {
                let range = match c {
                    None => continue,
                    Some(Some(0)) => (0.0, 0.0),
                    Some(Some(v)) => ((*v as f64 - 5.0).max(10.0), *v as f64 + 4.0),
                    Some(None) => (if m < 2 { 1.0 } else { 0.0 }, f64::INFINITY),
                };
                let v = p.add_var(0.0, range);
                if c == &Some(None) {
                    hidden.push((format!("{} of {key:?}", MEASURES[m]), v));
                }
                var.insert((key, m), v);
            }
        }
        // An absent row is a zero.
        let get =
            |var: &BTreeMap<(&Key, usize), Variable>, k: &Key, m: usize| var.get(&(k, m)).copied();
        let mut sums: BTreeMap<(Key, usize, usize), Vec<Variable>> = BTreeMap::new();
        for key in cube.keys() {
            let (h, q, a, x, _) = key;
            let mut parents = Vec::new();
            if h != "network" {
                parents.push((
                    0,
                    (
                        "network".to_string(),
                        q.clone(),
                        a.clone(),
                        x.clone(),
                        String::new(),
                    ),
                ));
            }
            if x != "all" {
                parents.push((
                    3,
                    (
                        h.clone(),
                        q.clone(),
                        a.clone(),
                        "all".to_string(),
                        String::new(),
                    ),
                ));
            }
            if q != "all" {
                parents.push((
                    1,
                    (
                        h.clone(),
                        "all".to_string(),
                        a.clone(),
                        x.clone(),
                        String::new(),
                    ),
                ));
            }
            if a != "all" {
                parents.push((
                    2,
                    (
                        h.clone(),
                        q.clone(),
                        "all".to_string(),
                        x.clone(),
                        String::new(),
                    ),
                ));
            }
            for (d, parent) in parents {
                for m in 0..4 {
                    if let Some(v) = get(&var, key, m) {
                        sums.entry((parent.clone(), m, d)).or_default().push(v);
                    }
                }
            }
        }
        for ((parent, m, d), children) in &sums {
            let pv = get(&var, parent, *m).expect("a published margin");
            let mut terms = vec![(pv, 1.0)];
            terms.extend(children.iter().map(|c| (*c, -1.0)));
            let overlapping = (*d == 1 || *d == 2) && (*m == 0 || *m == 3);
            if overlapping {
                p.add_constraint(terms.as_slice(), ComparisonOp::Le, 0.0);
                for c in children {
                    p.add_constraint([(pv, 1.0), (*c, -1.0)], ComparisonOp::Ge, 0.0);
                }
            } else {
                p.add_constraint(terms.as_slice(), ComparisonOp::Eq, 0.0);
            }
        }
        for key in cube.keys() {
            for (small, big) in [(0, 1), (2, 0), (3, 0)] {
                if let (Some(s), Some(b)) = (get(&var, key, small), get(&var, key, big)) {
                    p.add_constraint([(s, 1.0), (b, -1.0)], ComparisonOp::Le, 0.0);
                }
            }
        }
        // One problem for all hidden counts: t <= x_k + z_k, and z_k fixed at 0 in turn.
        let t = p.add_var(1.0, (0.0, 10.0));
        let z: Vec<Variable> = hidden
            .iter()
            .map(|(_, x)| {
                let z = p.add_var(0.0, (0.0, 10.0));
                p.add_constraint([(t, 1.0), (*x, -1.0), (z, -1.0)], ComparisonOp::Le, 0.0);
                z
            })
            .collect();
        let mut s = p
            .solve()
            .expect("consistent counts")
            .into_solution()
            .expect("solved");
        for ((what, _), zk) in hidden.iter().zip(&z) {
            let fixed = s
                .fix_var(*zk, 0.0)
                .expect("solves")
                .into_solution()
                .expect("solved");
            let at_most = fixed.var_value(t);
            assert!(at_most > 10.0 - 1e-6, "{name}: {what} is at most {at_most}");
            tried += 1;
            s = fixed
                .unfix_var(*zk)
                .expect("solves")
                .0
                .into_solution()
                .expect("solved");
        }
    }
    tried
}

/// The benchmark's hand-written SQL carries the standard request's items and codes as data;
/// when the stdlib changes, the comparison with DuckDB would count different items (it went
/// stale once, unnoticed, when a definition gained a code).
#[test]
fn the_benchmarks_feasibility_sql_has_the_stdlibs_items() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("python3")
        .arg(root.join("bench/feasibility_items.py"))
        .args(["--check", "--mid", env!("CARGO_BIN_EXE_mid")])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

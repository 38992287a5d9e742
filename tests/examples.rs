//! Every example in `examples/` compiles and runs on the demo network, and its numbers are
//! plausible against the rates the generator planted (docs/synthetic-data.md).

use std::path::Path;

use arrow::array::{Array, RecordBatch};

use crate::e2e::run;

fn example(name: &str) -> std::collections::BTreeMap<String, RecordBatch> {
    let src = source(name);
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    run(&src, &data)
}

/// Share of a cohort's members with the outcome: (with, members).
fn share(
    r: &std::collections::BTreeMap<String, RecordBatch>,
    cohort: &str,
    outcome: &str,
) -> (usize, usize) {
    let members = r[&format!("cohort_{cohort}")].num_rows();
    let with = r[&format!("outcome_{outcome}")].num_rows();
    (with, members)
}

fn assert_between(what: &str, (with, of): (usize, usize), lo: f64, hi: f64) {
    assert!(of > 0, "{what}: empty cohort");
    let p = with as f64 / of as f64;
    assert!(
        (lo..=hi).contains(&p),
        "{what}: {with}/{of} = {:.1} %, expected {:.0}–{:.0} %",
        p * 100.0,
        lo * 100.0,
        hi * 100.0
    );
}

#[test]
fn thiamazole_granulocytopenia() {
    let r = example("thiamazole_granulocytopenia");
    // Planted: ANC ≤ 1,500/uL in days 14–90 for 8 % of thiamazole starters.
    assert_between(
        "thiamazole",
        share(
            &r,
            "thiamazole_users",
            "granulocytopenia_in_thiamazole_users",
        ),
        0.04,
        0.15,
    );
    assert_between(
        "propylthiouracil",
        share(&r, "ptu_users", "granulocytopenia_in_ptu_users"),
        0.0,
        0.15,
    );
    assert!(r["cohort_thiamazole_users"].num_rows() > 200);
    // The published five periods: days 1–14, 15–28, 29–42, 43–56, then 57–140.
    let c = crate::e2e::compile(&source("thiamazole_granulocytopenia"));
    for cohort in ["thiamazole_users", "ptu_users"] {
        let p = c.cir.cohort(cohort).and_then(|c| c.periods.as_ref());
        let p = p.unwrap_or_else(|| panic!("{cohort} has periods"));
        assert_eq!((p.length, p.count, p.days), (14, 4, 56), "{cohort}");
        assert_eq!(
            p.last_until
                .as_ref()
                .map(mid_compiler::cir::date)
                .as_deref(),
            Some("index + 140")
        );
    }
    // Each period with its testing history: five periods, the first with none before it.
    let by_period = &r["report_by_period"];
    let periods: std::collections::BTreeSet<i64> =
        int_column(by_period, "period").into_iter().collect();
    assert_eq!(periods, (1..=5).collect(), "periods reported");
    // One outcome of both cohorts: each cohort's rows count it.
    let cohorts = crate::common::text(by_period.column_by_name("cohort").expect("cohort"));
    let events = int_column(by_period, "granulocytopenia_persons");
    for c in ["thiamazole_users", "ptu_users"] {
        assert!(
            cohorts.iter().any(|x| x == Some(c)),
            "{c} has rows by period"
        );
    }
    assert_eq!(
        events.len(),
        by_period.num_rows(),
        "every row counts the outcome"
    );
    // The per-period analysis data set adds up to the report by period: per period and
    // testing history, its rows are the persons, its at-risk rows the persons at risk, its
    // outcomes in the period the cases and its days at risk the person-days.
    let rows = &r["export_thiamazole_periods"];
    let key = |b: &RecordBatch, history: &str, i: usize| {
        (
            int_column(b, "period")[i],
            crate::common::text(b.column_by_name(history).expect("history"))
                .value(i)
                .to_string(),
        )
    };
    let flag = |name: &str| -> Vec<bool> {
        let a = rows
            .column_by_name(name)
            .unwrap_or_else(|| panic!("{name}"));
        let a = a
            .as_any()
            .downcast_ref::<arrow::array::BooleanArray>()
            .expect("yes/no");
        (0..a.len()).map(|i| a.value(i)).collect()
    };
    let (at_risk, in_period) = (
        flag("granulocytopenia_at_risk"),
        flag("granulocytopenia_in_period"),
    );
    let days = int_column(rows, "granulocytopenia_days_at_risk");
    type Sums = std::collections::BTreeMap<(i64, String), [i64; 4]>;
    let mut from_rows = Sums::new();
    for i in 0..rows.num_rows() {
        let t = from_rows
            .entry(key(
                rows,
                "tested_lab_neutrophil_count_or_lab_wbc_before",
                i,
            ))
            .or_default();
        t[0] += 1;
        t[1] += i64::from(at_risk[i]);
        t[2] += i64::from(in_period[i]);
        t[3] += days[i];
    }
    let mut from_report = Sums::new();
    let persons = int_column(by_period, "persons");
    let at_risk_r = int_column(by_period, "granulocytopenia_at_risk");
    let days_r = int_column(by_period, "granulocytopenia_person_days");
    for i in 0..by_period.num_rows() {
        if cohorts.value(i) == "thiamazole_users" {
            from_report.insert(
                key(by_period, "tested_before", i),
                [persons[i], at_risk_r[i], events[i], days_r[i]],
            );
        }
    }
    assert_eq!(
        from_rows, from_report,
        "per-period rows against the report by period"
    );
    // Every entry says what ended its follow-up: a term of its end, as the cohort IR
    // writes it (the horizon, the switch, end of observation or death).
    let exported = &r["export_thiamazole_users"];
    let reasons = crate::common::text(exported.column_by_name("censoring").expect("censoring"));
    let end = mid_compiler::cir::date(&c.cir.cohort("thiamazole_users").expect("cohort").end);
    assert!(reasons.len() > 200);
    for i in 0..reasons.len() {
        assert!(
            !reasons.is_null(i) && end.contains(reasons.value(i)),
            "row {i}: {:?} is no term of {end}",
            reasons.is_valid(i).then(|| reasons.value(i))
        );
    }
    assert!(
        from_rows.values().map(|t| t[2]).sum::<i64>() >= 10,
        "the rows have outcomes"
    );
}

/// An example's script.
fn source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("study.mid");
    std::fs::read_to_string(&path).expect("the example exists")
}

/// A whole-number column of a result, as i64 (nulls left out).
fn int_column(b: &RecordBatch, name: &str) -> Vec<i64> {
    numbers::<arrow::datatypes::Int64Type>(b, name)
        .into_iter()
        .flatten()
        .collect()
}

/// A column of a result as numbers of type `T`, nulls kept (None where there is no value).
fn numbers<T: arrow::datatypes::ArrowPrimitiveType>(
    b: &RecordBatch,
    name: &str,
) -> Vec<Option<T::Native>> {
    use arrow::array::AsArray;
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    let col = arrow::compute::cast(col, &T::DATA_TYPE).expect("numbers");
    col.as_primitive::<T>().iter().collect()
}

/// Every member's index date lies in [from, to] (ISO dates).
fn assert_index_between(
    r: &std::collections::BTreeMap<String, RecordBatch>,
    cohort: &str,
    from: &str,
    to: &str,
) {
    let day = |s: &str| i64::from(mid_compiler::dates::parse(s).expect("a date"));
    let days = int_column(&r[&format!("cohort_{cohort}")], "index_day");
    assert!(!days.is_empty(), "{cohort} has members");
    for d in days {
        assert!(
            (day(from)..=day(to)).contains(&d),
            "{cohort}: index day {d} outside {from} … {to}"
        );
    }
}

#[test]
fn antidepressants_platelets() {
    let r = example("antidepressants_platelets");
    // Planted: platelets 40,000–95,000/uL within 90 days for 2 % of new users.
    let main = share(&r, "new_users_all", "thrombocytopenia_in_new_users_all");
    assert_between("platelets < 100,000", main, 0.005, 0.06);
    let strict = share(&r, "new_users_all", "thrombocytopenia_50_in_new_users_all");
    assert!(strict.0 <= main.0, "a stricter threshold finds no more");
    let capped = share(&r, "new_users_all", "thrombocytopenia_14d_in_new_users_all");
    assert!(capped.0 <= main.0, "a shorter follow-up finds no more");
    let or_dx = share(
        &r,
        "new_users_all",
        "thrombocytopenia_or_dx_in_new_users_all",
    );
    assert!(or_dx.0 >= main.0, "a diagnosis as well finds no fewer");
    // A longer gap and grace follows longer: the 90-day era's outcomes are no fewer.
    let longer = share(&r, "new_users_90d", "thrombocytopenia_90d");
    assert_eq!(longer.1, main.1, "the same new users");
    assert!(longer.0 >= main.0, "{longer:?} against {main:?}");
    // Per drug: the reference (paroxetine) and the others are new users of their own drug.
    let per_drug: usize = [
        "paroxetine",
        "sertraline",
        "escitalopram",
        "duloxetine",
        "milnacipran",
    ]
    .iter()
    .map(|d| {
        share(
            &r,
            &format!("{d}_users"),
            &format!("thrombocytopenia_in_{d}_users"),
        )
        .1
    })
    .sum();
    assert!(
        per_drug >= main.1,
        "{per_drug} per-drug new users against {} in all",
        main.1
    );
    // Per-drug exports for the Cox model: one row per member, each saying which term of its
    // end (the era's end, a switch, end of observation, death) ended follow-up.
    let c = crate::e2e::compile(&source("antidepressants_platelets"));
    for d in ["paroxetine", "sertraline", "duloxetine"] {
        let cohort = format!("{d}_users");
        let exported = &r[&format!("export_{cohort}")];
        assert_eq!(
            exported.num_rows(),
            r[&format!("cohort_{cohort}")].num_rows(),
            "{cohort}"
        );
        let end = mid_compiler::cir::date(&c.cir.cohort(&cohort).expect("cohort").end);
        let reasons = crate::common::text(exported.column_by_name("censoring").expect("censoring"));
        assert!(reasons.len() > 0, "{cohort} has members");
        for i in 0..reasons.len() {
            assert!(
                !reasons.is_null(i) && end.contains(reasons.value(i)),
                "{cohort} row {i}: {:?} is no term of {end}",
                reasons.is_valid(i).then(|| reasons.value(i))
            );
        }
    }
    assert_index_between(&r, "new_users_all", "2009-01-01", "2021-03-31");
    // `index_drug`: an entry of all study drugs that started one drug alone is a new user of
    // that drug too (its washout and steps are implied), on the same day.
    let exported = &r["export_new_users_all"];
    let drugs = text_column(exported, "index_drug");
    let days = int_column(exported, "index_date");
    let patients = int_column(exported, "patient_id");
    let hospitals = text_column(exported, "hospital_id");
    assert_eq!(drugs.len(), exported.num_rows(), "every entry has its drug");
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..drugs.len() {
        let d = &drugs[i];
        if d.contains(" + ") {
            continue;
        }
        seen.insert(d.clone());
        let cohort = &r[&format!("cohort_{d}_users")];
        let (ch, cp, cd) = (
            text_column(cohort, "hospital_id"),
            int_column(cohort, "patient_id"),
            int_column(cohort, "index_day"),
        );
        assert!(
            (0..cohort.num_rows())
                .any(|j| ch[j] == hospitals[i] && cp[j] == patients[i] && cd[j] == days[i]),
            "{}/{} started {d} on day {}: not in {d}_users",
            hospitals[i],
            patients[i],
            days[i]
        );
    }
    assert!(seen.len() >= 5, "index drugs {seen:?}");
}

/// A text column of a result (nulls left out).
fn text_column(b: &RecordBatch, name: &str) -> Vec<String> {
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("column {name}"));
    let col = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8).expect("text");
    let col = col
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("Utf8");
    col.iter().flatten().map(str::to_string).collect()
}

#[test]
fn statins_liver() {
    let r = example("statins_liver");
    // Planted: ALT 3.2–8.2 × ULN within 6 months for 3 % of statin starters.
    let brand = share(&r, "brand_users", "liver_g2_in_brand_users");
    let generic = share(&r, "generic_users", "liver_g2_in_generic_users");
    assert_between(
        "brand and generic, grade ≥ 2",
        (brand.0 + generic.0, brand.1 + generic.1),
        0.01,
        0.08,
    );
    let g3 = share(&r, "brand_users", "liver_g3_in_brand_users");
    assert!(g3.0 <= brand.0);
    // The planted rise is in ALT: each test's outcome is no more than the composite.
    let alt = share(&r, "brand_users", "alt_g2_in_brand_users");
    assert!(alt.0 >= 1 && alt.0 <= brand.0, "{alt:?} against {brand:?}");
    // The export's peak ALT in follow-up: where ALT reached grade 2 (above 3 x ULN, at
    // least 3 x 23 U/L), the peak is at least that, and a test was counted after index.
    let export = &r["export_brand_users"];
    let dates = export.column_by_name("alt_g2").expect("alt_g2");
    let peak = numbers::<arrow::datatypes::Float64Type>(
        export,
        "max_of_lab_alt_between_index_1_day_and_end",
    );
    let after = int_column(export, "count_of_lab_alt_between_index_1_day_and_end");
    assert_eq!(after.len(), export.num_rows(), "a count on every row");
    let mut graded = 0;
    for (i, tests) in after.iter().enumerate() {
        if dates.is_valid(i) {
            graded += 1;
            assert!(
                peak[i].is_some_and(|v| v >= 69.0) && *tests >= 1,
                "row {i}: peak {:?}, {tests} tests after",
                peak[i],
            );
        }
    }
    assert_eq!(graded, alt.0, "the export's ALT outcomes");
    assert_index_between(&r, "brand_users", "2014-01-01", "2022-03-31");
    assert_index_between(&r, "generic_users", "2014-01-01", "2022-03-31");
    // Each cohort entered with its own kind of product (the data's category, checked by SQL
    // on the same rows), and the index ingredients are statins.
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    for kind in ["brand", "generic"] {
        let export = &r[&format!("export_{kind}_users")];
        let drugs = text_column(export, "index_drug");
        assert_eq!(drugs.len(), export.num_rows());
        let distinct: std::collections::BTreeSet<_> = drugs.iter().collect();
        let statins = [
            "atorvastatin",
            "rosuvastatin",
            "pitavastatin",
            "pravastatin",
            "simvastatin",
            "fluvastatin",
        ];
        assert!(
            distinct.len() >= 4
                && distinct
                    .iter()
                    .all(|d| d.split(" + ").all(|m| statins.contains(&m))),
            "{kind}: {distinct:?}"
        );
        let days = crate::e2e::days(&r[&format!("cohort_{kind}_users")], "index_day");
        let rows = crate::differential::rows3(&crate::differential::sql(
            &data,
            &format!(
                "SELECT hospital_id, patient_id, CAST(date AS INT) FROM drug \
                 WHERE left(yj_code, 4) = '2189' AND product_kind = '{kind}'"
            ),
        ));
        assert!(days.len() > 100, "{kind}: {}", days.len());
        for (k, day) in &days {
            assert!(
                rows.contains(&(k.0.clone(), k.1, *day)),
                "{kind}: {k:?} entered on day {day} without a {kind} statin"
            );
        }
    }
}

#[test]
fn pah_liver_injury() {
    let r = example("pah_liver_injury");
    // Planted: ALT/AST 3.2–9.2 × ULN during treatment for 10 %; a third with Hy's law.
    assert_between(
        "grade ≥ 2 (1992 MHLW)",
        share(&r, "pah_users", "liver_grade2"),
        0.04,
        0.25,
    );
    let hy = share(&r, "pah_users", "hys_law_case");
    assert!(
        hy.0 >= 1 && hy.0 <= share(&r, "pah_users", "liver_grade2").0,
        "{hy:?}"
    );
    let era = share(&r, "era_users", "era_liver_grade2");
    assert_between(
        "endothelin receptor antagonists, grade ≥ 2",
        era,
        0.04,
        0.25,
    );
}

#[test]
fn vegf_dissection() {
    let r = example("vegf_dissection");
    // Planted: a dissection stay during exposure for 8 % of VEGF-inhibitor courses.
    // One outcome of all ten cohorts: a plan per cohort.
    let bev = share(&r, "bevacizumab_users", "dissection_in_bevacizumab_users");
    let ram = share(&r, "ramucirumab_users", "dissection_in_ramucirumab_users");
    assert_between(
        "VEGF inhibitors",
        (bev.0 + ram.0, bev.1 + ram.1),
        0.02,
        0.16,
    );
    // The study period, and a sensitivity cohort is a subset of its main cohort.
    assert_index_between(&r, "bevacizumab_users", "2012-04-01", "2020-03-31");
    assert_index_between(&r, "ramucirumab_users", "2012-04-01", "2020-03-31");
    let no_htn = share(
        &r,
        "bevacizumab_no_htn",
        "dissection_no_htn_in_bevacizumab_no_htn",
    );
    assert!(
        no_htn.1 < bev.1 && no_htn.0 <= bev.0,
        "{no_htn:?} against {bev:?}"
    );
}

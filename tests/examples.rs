//! Every example in `examples/` compiles and runs on the demo network, and its numbers are
//! plausible against the rates the generator planted (docs/synthetic-data.md).

use std::path::Path;

use arrow::array::RecordBatch;

use crate::e2e::run;

fn example(name: &str) -> std::collections::BTreeMap<String, RecordBatch> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("study.mid");
    let src = std::fs::read_to_string(&path).expect("the example exists");
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
        share(&r, "thiamazole_users", "granulocytopenia_mmi"),
        0.04,
        0.15,
    );
    assert_between(
        "propylthiouracil",
        share(&r, "ptu_users", "granulocytopenia_ptu"),
        0.0,
        0.15,
    );
    assert!(r["cohort_thiamazole_users"].num_rows() > 200);
    // Ten 2-week periods, each with its testing history.
    let by_period = &r["report_thiamazole_users_with_granulocytopenia_mmi"];
    assert!(by_period.num_rows() >= 20, "{} rows", by_period.num_rows());
}

#[test]
fn antidepressants_platelets() {
    let r = example("antidepressants_platelets");
    // Planted: platelets 40,000–95,000/uL within 90 days for 2 % of new users.
    let main = share(&r, "new_users", "thrombocytopenia");
    assert_between("platelets < 100,000", main, 0.005, 0.06);
    let strict = share(&r, "new_users", "thrombocytopenia_50");
    assert!(strict.0 <= main.0, "a stricter threshold finds no more");
    let capped = share(&r, "new_users", "thrombocytopenia_14d");
    assert!(capped.0 <= main.0, "a shorter follow-up finds no more");
}

#[test]
fn statins_liver() {
    let r = example("statins_liver");
    // Planted: ALT 3.2–8.2 × ULN within 6 months for 3 % of statin starters.
    let brand = share(&r, "brand_users", "liver_g2_brand");
    let generic = share(&r, "generic_users", "liver_g2_generic");
    assert_between(
        "brand and generic, grade ≥ 2",
        (brand.0 + generic.0, brand.1 + generic.1),
        0.01,
        0.08,
    );
    let g3 = share(&r, "brand_users", "liver_g3_brand");
    assert!(g3.0 <= brand.0);
}

#[test]
fn pah_liver_injury() {
    let r = example("pah_liver_injury");
    // Planted: ALT/AST 3.2–9.2 × ULN during treatment for 10 %; a third with Hy's law.
    assert_between(
        "grade ≥ 2 (1992 MHLW)",
        share(&r, "era_users", "liver_grade2"),
        0.04,
        0.25,
    );
    let hy = share(&r, "era_users", "hys_law_case");
    assert!(
        hy.0 >= 1 && hy.0 <= share(&r, "era_users", "liver_grade2").0,
        "{hy:?}"
    );
}

#[test]
fn vegf_dissection() {
    let r = example("vegf_dissection");
    // Planted: a dissection stay during exposure for 8 % of VEGF-inhibitor courses.
    let bev = share(&r, "bevacizumab_users", "dissection_bev");
    let ram = share(&r, "ramucirumab_users", "dissection_ram");
    assert_between(
        "VEGF inhibitors",
        (bev.0 + ram.0, bev.1 + ram.1),
        0.02,
        0.16,
    );
}

//! Local codes and product attributes: a `local` code is matched at its own hospital only,
//! exactly; prescriptions a hospital left unmapped are found through their local codes; brand
//! and generic products are told apart by `drug.product_kind`, checked against hand-written
//! SQL on the shared network and on hand-built rows.

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, Int64Array, RecordBatch};

use crate::differential::{rows3, sql};
use crate::e2e::{days, persons, run};
use crate::fixture::{Cdm, d};

const THIAMAZOLE: &str = "2432001F1033";

/// Two hospitals whose unmapped prescriptions have the same local code text (`RXX`, the
/// fixture's code of a row without a YJ code), and a mapped thiamazole user.
fn two_hospitals() -> Cdm {
    let mut c = Cdm::default();
    for (h, id) in [("H01", 1), ("H01", 2), ("H02", 1), ("H02", 2)] {
        c.patient(h, id, "F", "1960-01-01", "2019-01-01", "2021-12-31");
    }
    let x = d("2020-07-01");
    c.drugs
        .push(("H01", 1, "prescription", "outpatient", x, 28, None));
    c.drugs
        .push(("H02", 1, "prescription", "outpatient", x, 28, None));
    c.drugs.push((
        "H01",
        2,
        "prescription",
        "outpatient",
        x,
        28,
        Some(THIAMAZOLE),
    ));
    c.drugs.push((
        "H02",
        2,
        "prescription",
        "outpatient",
        x,
        28,
        Some(THIAMAZOLE),
    ));
    c
}

/// The cohort of the first prescription of a drug code set.
fn first_of(codes: &str, data: &std::path::Path) -> RecordBatch {
    let src = format!("codes x: drug = {codes}\ncohort c {{ index = first drug x }}\n");
    run(&src, data).remove("cohort_c").expect("the cohort")
}

fn members(codes: &str, data: &std::path::Path) -> BTreeSet<(String, i64)> {
    persons(&first_of(codes, data))
}

fn key(h: &str, p: i64) -> (String, i64) {
    (h.to_string(), p)
}

#[test]
fn a_local_code_matches_at_its_own_hospital_only_and_exactly() {
    let data = two_hospitals().write();
    // The same text at H02 is another hospital's code: not matched.
    assert_eq!(members(r#"local "H01:RXX""#, &data), [key("H01", 1)].into());
    assert_eq!(members(r#"local "H02:RXX""#, &data), [key("H02", 1)].into());
    // Standard and local codes together: the mapped users everywhere, the unmapped at H01.
    assert_eq!(
        members(r#"yj "2432001" or local("H01:RXX")"#, &data),
        [key("H01", 1), key("H01", 2), key("H02", 2)].into()
    );
    // Exactly, not as a prefix: `RX` starts every code of the fixture.
    assert!(members(r#"local "H01:RX""#, &data).is_empty());
    // A range is one hospital's.
    assert_eq!(
        members(r#"local "H02:RXA".."H02:RXZ""#, &data),
        [key("H02", 1)].into()
    );
    // A hospital the data does not have matches nothing.
    assert!(members(r#"local "H09:RXX""#, &data).is_empty());
}

#[test]
fn a_local_code_without_its_hospital_is_refused() {
    let check = |src: &str| match mid_compiler::compile_file(
        "test.mid",
        src.as_bytes(),
        &Default::default(),
    ) {
        Err(mid_compiler::CompileError::Diagnostics(c)) => {
            mid_compiler::diag::render_human(&c.diagnostics, &c.sources, Default::default())
        }
        _ => panic!("compiled: {src}"),
    };
    let text = check("codes x: drug = local \"RXX\"\ncohort c { index = first drug x }\n");
    assert!(text.contains("E0203"), "{text}");
    assert!(text.contains("\"RXX\" cannot be a local code"), "{text}");
    assert!(text.contains("the hospital's id, `:`"), "{text}");
    assert!(text.contains("test.mid:1:"), "{text}");
    let text = check(
        "codes x: diagnosis = local \"H01:A1\"..\"H02:A9\"\ncohort c { index = first diagnosis x }\n",
    );
    assert!(text.contains("E0212"), "{text}");
    assert!(text.contains("one hospital's"), "{text}");
}

#[test]
fn unmapped_prescriptions_are_found_through_their_local_codes() {
    let data = crate::common::network();
    // Each hospital's own codes of its mapped empagliflozin products (a background drug of
    // diabetics, not evidence of a planted outcome, so unmapped as often as any row). The
    // generator gives each product a second code the hospital left unmapped (a `9` after
    // the prefix, as a legacy code would be); a site's officer reads them from `mid inspect`.
    let mapped = sql(
        data,
        "SELECT DISTINCT hospital_id, local_code FROM drug \
         WHERE yj_code LIKE '3969023%' AND NOT generic_name_only ORDER BY 1, 2",
    );
    assert!(mapped.num_rows() >= 4, "empagliflozin's local codes");
    let h = crate::common::text(mapped.column(0));
    let l = crate::common::text(mapped.column(1));
    let mut local = Vec::new();
    for i in 0..mapped.num_rows() {
        let code = l.value(i);
        let at = code
            .find(|c: char| c.is_ascii_digit())
            .expect("a number after the prefix");
        local.push(format!("{}:{}9{}", h.value(i), &code[..at], &code[at..]));
    }
    let list = local
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let unmapped_pairs = local
        .iter()
        .map(|c| {
            let (h, code) = c.split_once(':').expect("hospital:code");
            format!("(d.hospital_id = '{h}' AND d.local_code = '{code}')")
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    // Those codes are on rows without a YJ code only: the mapping leaves them unmapped.
    let rows = sql(
        data,
        &format!(
            "SELECT count(*) AS n, count(yj_code) AS mapped, count(product_kind) AS kind \
             FROM drug d WHERE {unmapped_pairs}"
        ),
    );
    let n = |k: usize| {
        rows.column(k)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("count")
            .value(0)
    };
    assert!(n(0) > 20, "unmapped empagliflozin rows: {}", n(0));
    assert_eq!(n(1), 0, "an unmapped row has no YJ code");
    assert_eq!(n(2), 0, "an unmapped row has no product category");

    // The first prescription of each user, by mid and by SQL, with and without the local
    // codes: a user whose first prescription was left unmapped starts earlier with them.
    let first = |codes: &str| days(&first_of(codes, data), "index_day");
    let sql_first = |pred: &str| {
        let b = sql(
            data,
            &format!(
                "SELECT d.hospital_id, d.patient_id, CAST(min(d.date) AS INT) FROM drug d \
                 JOIN patient p ON d.hospital_id = p.hospital_id AND d.patient_id = p.patient_id \
                 WHERE ({pred}) AND d.date BETWEEN p.first_record_date AND p.last_record_date \
                 GROUP BY 1, 2"
            ),
        );
        rows3(&b)
            .into_iter()
            .map(|(h, p, d)| ((h, p), d))
            .collect::<BTreeMap<_, _>>()
    };
    let standard = first(r#"yj "3969023""#);
    let with_local = first(&format!(r#"yj "3969023" or local({list})"#));
    assert_eq!(standard, sql_first("d.yj_code LIKE '3969023%'"));
    assert_eq!(
        with_local,
        sql_first(&format!("d.yj_code LIKE '3969023%' OR {unmapped_pairs}"))
    );
    let earlier = with_local
        .iter()
        .filter(|(k, day)| standard.get(*k).is_none_or(|s| *day < s))
        .count();
    assert!(
        earlier > 0,
        "the local codes find first prescriptions the YJ codes miss"
    );
}

#[test]
fn brand_and_generic_users_are_told_apart_by_the_product_category() {
    let data = crate::common::network();
    let src = r#"
import drugs.{statins}
cohort brand { index = first drug statins where product_kind = brand }
cohort generic { index = first drug statins where product_kind = generic }
"#;
    let r = run(src, data);
    for (cohort, kind) in [("brand", "brand"), ("generic", "generic")] {
        let want = persons(&sql(
            data,
            &format!(
                "SELECT DISTINCT d.hospital_id, d.patient_id FROM drug d JOIN patient p \
                 ON d.hospital_id = p.hospital_id AND d.patient_id = p.patient_id \
                 WHERE d.yj_code LIKE '2189%' AND d.product_kind = '{kind}' \
                 AND d.date BETWEEN p.first_record_date AND p.last_record_date"
            ),
        ));
        let got = persons(&r[&format!("cohort_{cohort}")]);
        assert!(got.len() > 50, "{cohort}: {}", got.len());
        assert_eq!(got, want, "{cohort}");
    }
    // The category comes with a product: generic-name orders and unmapped rows have none.
    let b = sql(
        data,
        "SELECT count(*) FROM drug WHERE product_kind IS NOT NULL \
         AND (yj_code IS NULL OR generic_name_only)",
    );
    let none = b
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("count");
    assert_eq!(none.value(0), 0);
    assert!(!none.is_null(0));
}

//! Differential tests: the core cohort shapes compiled by mid against the same questions
//! written by hand in SQL and run through DataFusion's SQL front end on the same data (the
//! demo network). The SQL is an independent formulation (EXISTS subqueries, no shared code).

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, Int32Array, Int64Array, RecordBatch};
use arrow::compute::concat_batches;

use crate::e2e::{days, persons, run};

pub fn sql(data: &std::path::Path, query: &str) -> RecordBatch {
    let rt = mid_runtime::runtime().expect("a runtime");
    rt.block_on(async {
        let e = mid_runtime::engine::Engine::open(data)
            .await
            .expect("the data set opens");
        let df = e
            .ctx
            .sql(query)
            .await
            .unwrap_or_else(|err| panic!("{err}\n{query}"));
        let schema = df.schema().inner().clone();
        let batches = df.collect().await.expect("the query runs");
        concat_batches(&schema, &batches).expect("concat")
    })
}

/// (hospital, patient, day) of a result's first three columns.
pub fn rows3(b: &RecordBatch) -> BTreeSet<(String, i64, i32)> {
    let h = crate::common::text(b.column(0));
    let p = b
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("patient");
    let d = b
        .column(2)
        .as_any()
        .downcast_ref::<Int32Array>()
        .expect("day");
    (0..b.num_rows())
        .map(|i| (h.value(i).to_string(), p.value(i), d.value(i)))
        .collect()
}

/// Age in full years at a day number, as SQL.
fn age_sql(day: &str, birth: &str) -> String {
    let at = format!("CAST({day} AS DATE)");
    format!(
        "(date_part('year', {at}) - date_part('year', {birth}) - CASE WHEN date_part('month', {at}) * 100 + date_part('day', {at}) < date_part('month', {birth}) * 100 + date_part('day', {birth}) THEN 1 ELSE 0 END)"
    )
}

const NEW_USER_SCRIPT: &str = r#"
import labs.{alt}
codes thiamazole: drug = yj "2432001"
codes ptu: drug = yj "2432002"
codes graves: diagnosis = icd10 "E05"
cohort c {
  index = first drug thiamazole
  require observed 180 days before index
  exclude drug (thiamazole or ptu) within 180 days before index
  require diagnosis graves where not suspected within 30 days around index
  require age at index >= 15
  exclude lab alt > 3 x ULN within 180 days before index
  end = earliest(index + 140 days, end of observation)
}
outcome rise in c = first lab alt > 2 x ULN between index + 1 day and end
"#;

#[test]
fn new_user_cohort_with_washout_and_lab_outcome_matches_sql() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let r = run(NEW_USER_SCRIPT, &data);
    let alt_uln = "CASE b.sex WHEN 'F' THEN 23.0 WHEN 'M' THEN 42.0 ELSE 42.0 END";
    let alt_value = "(CASE lower(l.unit) WHEN 'u/l' THEN l.value WHEN 'iu/l' THEN l.value END)";
    let query = format!(
        "WITH entry AS (
           SELECT hospital_id, patient_id, min(CAST(date AS INT)) AS idx FROM drug
           WHERE yj_code LIKE '2432001%' GROUP BY hospital_id, patient_id),
         base AS (
           SELECT e.hospital_id, e.patient_id, e.idx, p.sex, p.birth_date,
                  CAST(p.first_record_date AS INT) AS obs_s, CAST(p.last_record_date AS INT) AS obs_e,
                  CAST(p.death_date AS INT) AS death
           FROM entry e JOIN patient p ON e.hospital_id = p.hospital_id AND e.patient_id = p.patient_id
           WHERE e.idx BETWEEN CAST(p.first_record_date AS INT) AND CAST(p.last_record_date AS INT)),
         members AS (
           SELECT b.* FROM base b
           WHERE b.obs_s <= b.idx - 180
             AND NOT EXISTS (SELECT 1 FROM drug d WHERE d.hospital_id = b.hospital_id AND d.patient_id = b.patient_id
                  AND (d.yj_code LIKE '2432001%' OR d.yj_code LIKE '2432002%')
                  AND CAST(d.date AS INT) BETWEEN b.idx - 180 AND b.idx - 1)
             AND EXISTS (SELECT 1 FROM diagnosis g WHERE g.hospital_id = b.hospital_id AND g.patient_id = b.patient_id
                  AND g.icd10 LIKE 'E05%' AND NOT g.suspected AND CAST(g.date AS INT) BETWEEN b.idx - 30 AND b.idx + 30)
             AND {age} >= 15
             AND NOT EXISTS (SELECT 1 FROM lab l WHERE l.hospital_id = b.hospital_id AND l.patient_id = b.patient_id
                  AND l.analyte = '3B045' AND CAST(l.date AS INT) BETWEEN b.idx - 180 AND b.idx - 1
                  AND {alt_value} > 3 * {alt_uln}))
         SELECT m.hospital_id, m.patient_id, m.idx, min(CAST(l.date AS INT)) AS outcome
         FROM members m LEFT JOIN lab l ON l.hospital_id = m.hospital_id AND l.patient_id = m.patient_id
              AND l.analyte = '3B045' AND {alt_value} > 2 * {alt_uln_m}
              AND CAST(l.date AS INT) BETWEEN m.idx + 1 AND least(m.idx + 140, m.obs_e, m.death)
         GROUP BY m.hospital_id, m.patient_id, m.idx ORDER BY 1, 2",
        age = age_sql("b.idx", "b.birth_date"),
        alt_uln_m = alt_uln.replace("b.sex", "m.sex"),
    );
    let expected = sql(&data, &query);
    let mid_members = persons(&r["cohort_c"]);
    let want_members: BTreeSet<(String, i64)> = rows3(&expected)
        .into_iter()
        .map(|(h, p, _)| (h, p))
        .collect();
    assert!(
        want_members.len() > 100,
        "the comparison needs a real cohort ({})",
        want_members.len()
    );
    assert_eq!(mid_members, want_members);

    let h = crate::common::text(expected.column(0));
    let p = expected
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("p");
    let o = expected.column(3);
    let o = arrow::compute::cast(o, &arrow::datatypes::DataType::Int32).expect("int");
    let o = o.as_any().downcast_ref::<Int32Array>().expect("int");
    let want_outcomes: BTreeMap<(String, i64), i32> = (0..expected.num_rows())
        .filter(|i| !o.is_null(*i))
        .map(|i| ((h.value(i).to_string(), p.value(i)), o.value(i)))
        .collect();
    assert_eq!(days(&r["outcome_rise"], "outcome_day"), want_outcomes);
}

#[test]
fn inpatient_outcome_with_same_stay_conditions_matches_sql() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let r = run(
        "import outcomes.heart_failure\ncohort stays { index = every heart_failure }\n",
        &data,
    );
    let mid_rows: BTreeSet<(String, i64, i32)> = {
        let b = &r["entries_stays"];
        let h = crate::common::text(b.column_by_name("hospital_id").expect("h"));
        let p = b
            .column_by_name("patient_id")
            .expect("p")
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("p");
        let d = b
            .column_by_name("index_day")
            .expect("d")
            .as_any()
            .downcast_ref::<Int32Array>()
            .expect("d");
        (0..b.num_rows())
            .map(|i| (h.value(i).to_string(), p.value(i), d.value(i)))
            .collect()
    };
    let during = "AND x.hospital_id = v.hospital_id AND x.patient_id = v.patient_id AND x.date BETWEEN v.start_date AND v.end_date";
    let query = format!(
        "SELECT DISTINCT v.hospital_id, v.patient_id, CAST(v.start_date AS INT) AS adm
         FROM visit v JOIN patient p ON v.hospital_id = p.hospital_id AND v.patient_id = p.patient_id
         WHERE v.kind = 'inpatient'
           AND v.start_date BETWEEN p.first_record_date AND p.last_record_date
           AND EXISTS (SELECT 1 FROM diagnosis x WHERE x.icd10 LIKE 'I50%' AND NOT x.suspected {during})
           AND (EXISTS (SELECT 1 FROM drug x WHERE x.yj_code LIKE '2139401%' AND x.kind = 'injection' {during})
                OR EXISTS (SELECT 1 FROM drug x WHERE x.yj_code LIKE '2179400%' {during})
                OR EXISTS (SELECT 1 FROM procedure x WHERE ((x.code_system = 'kcode' AND (x.code LIKE 'J038%' OR x.code LIKE 'J042%'))
                           OR (x.code_system = 'receipt' AND x.code IN ('140038099', '140038299', '140042099'))) {during}))
           AND (EXISTS (SELECT 1 FROM lab x WHERE x.analyte = '4Z271' AND x.value * (CASE lower(replace(replace(x.unit, 'μ', 'u'), 'µ', 'u')) WHEN 'pg/ml' THEN 1.0 WHEN 'ng/l' THEN 1.0 END) >= 100 {during})
                OR EXISTS (SELECT 1 FROM lab x WHERE x.analyte = '4Z272' AND x.value * (CASE lower(replace(replace(x.unit, 'μ', 'u'), 'µ', 'u')) WHEN 'pg/ml' THEN 1.0 WHEN 'ng/l' THEN 1.0 END) >= 400 {during}))
           AND NOT EXISTS (SELECT 1 FROM procedure x WHERE ((x.code_system = 'kcode' AND (x.code LIKE 'K552%' OR x.code LIKE 'K555%'))
                           OR (x.code_system = 'receipt' AND x.code IN ('150552099', '150552299', '150555099', '150555299'))) {during})
         ORDER BY 1, 2, 3"
    );
    let want = rows3(&sql(&data, &query));
    assert!(
        want.len() >= 40,
        "the comparison needs real stays ({})",
        want.len()
    );
    assert_eq!(mid_rows, want);
}

/// `overlapping` against SQL that tests each supply's days (`date <= hi AND end_date >= lo`),
/// and against the start-date form: on the demo network the two must differ, or the test
/// would pass with `overlapping` read as `within`.
#[test]
fn windows_over_supplies_match_sql() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let script = |how: &str| {
        let prefix = how.strip_prefix("within ").unwrap_or(how);
        format!(
            "codes thiamazole: drug = yj \"2432001\"
codes ptu: drug = yj \"2432002\"
cohort c {{
  index = first drug thiamazole
  exclude drug ptu {how}180 days before index
  require drug thiamazole {prefix}between index + 20 days and index + 30 days
}}
"
        )
    };
    let members = |how: &str| persons(&run(&script(how), &data)["cohort_c"]);
    let overlapping = members("overlapping ");
    let starting = members("within ");
    let query = "WITH entry AS (
           SELECT hospital_id, patient_id, min(CAST(date AS INT)) AS idx FROM drug
           WHERE yj_code LIKE '2432001%' GROUP BY hospital_id, patient_id)
         SELECT e.hospital_id, e.patient_id, e.idx
         FROM entry e JOIN patient p ON e.hospital_id = p.hospital_id AND e.patient_id = p.patient_id
         WHERE e.idx BETWEEN CAST(p.first_record_date AS INT) AND CAST(p.last_record_date AS INT)
           AND NOT EXISTS (SELECT 1 FROM drug d WHERE d.hospital_id = e.hospital_id AND d.patient_id = e.patient_id
                AND d.yj_code LIKE '2432002%'
                AND CAST(d.date AS INT) <= e.idx - 1 AND CAST(d.end_date AS INT) >= e.idx - 180)
           AND EXISTS (SELECT 1 FROM drug d WHERE d.hospital_id = e.hospital_id AND d.patient_id = e.patient_id
                AND d.yj_code LIKE '2432001%'
                AND CAST(d.date AS INT) <= e.idx + 30 AND CAST(d.end_date AS INT) >= e.idx + 20)
         ORDER BY 1, 2";
    let want: BTreeSet<(String, i64)> = rows3(&sql(&data, query))
        .into_iter()
        .map(|(h, p, _)| (h, p))
        .collect();
    assert!(
        want.len() > 100,
        "the comparison needs a real cohort ({})",
        want.len()
    );
    assert_eq!(overlapping, want);
    assert_ne!(
        overlapping, starting,
        "supplies that start before a window and reach into it must count"
    );
}

#[test]
fn counts_by_sex_and_age_band_match_sql() {
    let data = mid_runtime::dataset::resolve_data(None).expect("the demo network");
    let r = run(
        "codes statins: drug = yj \"2189\"\ncohort users { index = first drug statins }\nreport users by sex, age band 10 years\n",
        &data,
    );
    let rep = &r["report_users"];
    let sex = crate::common::text(rep.column_by_name("sex").expect("sex"));
    let band = arrow::compute::cast(
        rep.column_by_name("age_band").expect("band"),
        &arrow::datatypes::DataType::Int64,
    )
    .expect("int");
    let band = band.as_any().downcast_ref::<Int64Array>().expect("b");
    let n = rep
        .column_by_name("persons")
        .expect("persons")
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("n");
    let got: BTreeMap<(String, i64), i64> = (0..rep.num_rows())
        .map(|i| ((sex.value(i).to_string(), band.value(i)), n.value(i)))
        .collect();
    let query = format!(
        "WITH entry AS (SELECT hospital_id, patient_id, min(CAST(date AS INT)) AS idx FROM drug WHERE yj_code LIKE '2189%' GROUP BY 1, 2),
         base AS (SELECT e.*, p.sex, p.birth_date FROM entry e JOIN patient p ON e.hospital_id = p.hospital_id AND e.patient_id = p.patient_id
                  WHERE e.idx BETWEEN CAST(p.first_record_date AS INT) AND CAST(p.last_record_date AS INT))
         SELECT sex, CAST(floor({age} / 10) * 10 AS BIGINT) AS band, count(*) AS n FROM base b GROUP BY 1, 2",
        age = age_sql("b.idx", "b.birth_date")
    );
    let want_b = sql(&data, &query);
    let s = crate::common::text(want_b.column(0));
    let bb = want_b
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("b");
    let nn = want_b
        .column(2)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("n");
    let want: BTreeMap<(String, i64), i64> = (0..want_b.num_rows())
        .map(|i| ((s.value(i).to_string(), bb.value(i)), nn.value(i)))
        .collect();
    assert!(want.values().sum::<i64>() > 500);
    assert_eq!(got, want);
}

/// `max of`, `min of`, `count of` and `count of records of` per entry against SQL
/// aggregates over the same windows: ALT's highest and lowest value in U/L in the year
/// before index (index included), and the days and rows of prescriptions of the YJ codes
/// starting with 2 in the year before and after.
#[test]
fn export_aggregates_match_sql() {
    let data = crate::common::network();
    let script = r#"
import labs.{alt}
codes thiamazole: drug = yj "2432001"
codes class2: drug = yj "2"
cohort c { index = first drug thiamazole }
export c with max of lab alt between index - 365 days and index, min of lab alt between index - 365 days and index, count of drug class2 between index - 365 days and index + 365 days, count of records of drug class2 between index - 365 days and index + 365 days
"#;
    let r = run(script, data);
    // As written: without the helper columns the codebook counts empty values by.
    let raw = &r["export_c"];
    let keep: Vec<usize> = (0..raw.num_columns())
        .filter(|i| !raw.schema().field(*i).name().ends_with("__results"))
        .collect();
    let export = &raw.project(&keep).expect("the written columns");
    let alt_value = "(CASE lower(l.unit) WHEN 'u/l' THEN l.value WHEN 'iu/l' THEN l.value END)";
    let query = format!(
        "WITH e AS (SELECT hospital_id, patient_id, CAST(MIN(date) AS INT) AS d FROM drug WHERE yj_code LIKE '2432001%' GROUP BY hospital_id, patient_id),
         lab_agg AS (SELECT e.hospital_id, e.patient_id, MAX({alt_value}) AS hi, MIN({alt_value}) AS lo
                     FROM e JOIN lab l ON l.hospital_id = e.hospital_id AND l.patient_id = e.patient_id
                     WHERE l.analyte = '3B045' AND CAST(l.date AS INT) BETWEEN e.d - 365 AND e.d
                     GROUP BY e.hospital_id, e.patient_id),
         rx AS (SELECT e.hospital_id, e.patient_id, COUNT(DISTINCT x.date) AS days, COUNT(*) AS records
                FROM e JOIN drug x ON x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                WHERE x.yj_code LIKE '2%' AND CAST(x.date AS INT) BETWEEN e.d - 365 AND e.d + 365
                GROUP BY e.hospital_id, e.patient_id)
         SELECT e.hospital_id, e.patient_id, lab_agg.hi, lab_agg.lo, COALESCE(rx.days, 0), COALESCE(rx.records, 0)
         FROM e LEFT JOIN lab_agg ON lab_agg.hospital_id = e.hospital_id AND lab_agg.patient_id = e.patient_id
                LEFT JOIN rx ON rx.hospital_id = e.hospital_id AND rx.patient_id = e.patient_id"
    );
    let want = sql(data, &query);
    type Row = (Option<String>, Option<String>, i64, i64);
    let rows = |b: &RecordBatch, first: usize| -> BTreeMap<(String, i64), Row> {
        let h = crate::common::text(b.column(0));
        let p = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Int64).expect("p");
        let p = p.as_any().downcast_ref::<Int64Array>().expect("p").clone();
        let num = |i: usize| {
            let a = arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Float64)
                .expect("a number");
            let a = a
                .as_any()
                .downcast_ref::<arrow::array::Float64Array>()
                .expect("f64")
                .clone();
            (0..b.num_rows())
                .map(|r| (!a.is_null(r)).then(|| format!("{:.3}", a.value(r))))
                .collect::<Vec<_>>()
        };
        let (hi, lo, days, recs) = (num(first), num(first + 1), num(first + 2), num(first + 3));
        (0..b.num_rows())
            .map(|i| {
                let n = |v: &Option<String>| {
                    v.as_deref()
                        .map_or(-1, |s| s.parse::<f64>().expect("n") as i64)
                };
                (
                    (h.value(i).to_string(), p.value(i)),
                    (hi[i].clone(), lo[i].clone(), n(&days[i]), n(&recs[i])),
                )
            })
            .collect()
    };
    let got = rows(export, 4);
    let expected = rows(&want, 2);
    assert!(got.len() > 100, "a real cohort ({})", got.len());
    assert_eq!(got, expected);
    // The data tell max from min and records from days.
    assert!(
        got.values().any(|(hi, lo, ..)| hi.is_some() && hi != lo),
        "an entry with several ALT values"
    );
    assert!(
        got.values().any(|(.., d, r)| r > d),
        "an entry with two prescriptions of one day"
    );
}

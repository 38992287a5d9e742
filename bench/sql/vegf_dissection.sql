-- examples/vegf_dissection/study.mid by hand: new users of each of the ten VEGF inhibitors
-- (2012-04-01 to 2020-03-31), and of each without hypertension, the attrition of the 20
-- cohorts and arterial dissection per cohort.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. A count that does
-- not apply (another cohort's outcome) has no row.
--
-- Left out: the exports of the ten cohorts (site-only, patient-level).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- The template new_users(d, without_hypertension) and its cohorts (study.mid): the inhibitor,
-- whether the hypertension step excludes, the cohort's outcome.
drugs(drug, yj7) AS (
  -- bevacizumab_any: the originator and its biosimilars
  VALUES ('bevacizumab', '4291413'), ('bevacizumab', '4291449'), ('bevacizumab', '4291450'),
         ('bevacizumab', '4291461'), ('bevacizumab', '4291463'), ('ramucirumab', '4291429'),
         ('aflibercept', '4291436'), ('sunitinib', '4291018'), ('sorafenib', '4291017'),
         ('lenvatinib', '4291039'), ('axitinib', '4291027'), ('pazopanib', '4291028'),
         ('regorafenib', '4291029'), ('cabozantinib', '4291064')
),
cohorts(cohort, drug, no_hypertension, outcome) AS (
  SELECT d || '_users', d, false, 'dissection' FROM (SELECT DISTINCT drug AS d FROM drugs)
  UNION ALL
  SELECT d || '_no_htn', d, true, 'dissection_no_htn' FROM (SELECT DISTINCT drug AS d FROM drugs)
),
cohort_rx AS (
  SELECT c.cohort, r.hospital_id, r.patient_id, r.date, r.end_date
  FROM cohorts c JOIN drugs d USING (drug)
  JOIN read_parquet('{data}/drug/*.parquet') r ON left(r.yj_code, 7) = d.yj7
),
-- outcomes.arterial_dissection: an inpatient stay with I71.0 or I67.0 (not suspected) and CT
-- or head imaging (procedures.ct, procedures.head_imaging: K-codes E200, E203, E202 or their
-- receipt codes), both between admission and discharge; the event's date is the admission.
dissection_dx AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/diagnosis/*.parquet')
  WHERE left(icd10, 4) IN ('I710', 'I670') AND NOT suspected
),
imaging AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/procedure/*.parquet')
  WHERE (code_system = 'kcode' AND left(code, 4) IN ('E200', 'E203', 'E202'))
     OR (code_system = 'receipt' AND code IN ('170011810', '170011710', '170203099', '170020110'))
),
dissection AS (
  SELECT DISTINCT v.hospital_id, v.patient_id, v.start_date AS date
  FROM read_parquet('{data}/visit/*.parquet') v
  WHERE v.kind = 'inpatient'
    AND EXISTS (SELECT 1 FROM dissection_dx x WHERE x.hospital_id = v.hospital_id AND x.patient_id = v.patient_id
                AND x.date BETWEEN v.start_date AND v.end_date)
    AND EXISTS (SELECT 1 FROM imaging x WHERE x.hospital_id = v.hospital_id AND x.patient_id = v.patient_id
                AND x.date BETWEEN v.start_date AND v.end_date)
),
-- Entry: the first prescription of d in 2012-04-01 .. 2020-03-31, inside observation (study.mid:16).
entries AS (
  SELECT e.*, c.no_hypertension, c.outcome, p.obs_start, p.obs_end, p.death_date
  FROM (SELECT cohort, hospital_id, patient_id, min(date) AS idx FROM cohort_rx
        WHERE date BETWEEN DATE '2012-04-01' AND DATE '2020-03-31' GROUP BY ALL) e
  JOIN cohorts c USING (cohort)
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:17, no supply of d covering a day of 2010-08-01 .. 2012-03-31 (overlapping)
    NOT EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = e.cohort AND r.hospital_id = e.hospital_id
                AND r.patient_id = e.patient_id AND r.date <= DATE '2012-03-31' AND r.end_date >= DATE '2010-08-01') AS s1,
    -- study.mid:18, no dissection stay admitted before index
    NOT EXISTS (SELECT 1 FROM dissection x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                AND x.date <= e.idx - 1) AS s2,
    -- the hypertension step (a sensitivity cohort's only): no hypertension (I10) not suspected on or before index
    NOT EXISTS (SELECT 1 FROM read_parquet('{data}/diagnosis/*.parquet') g
                WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id
                  AND left(g.icd10, 3) = 'I10' AND NOT g.suspected AND g.date <= e.idx) AS s3
  FROM entries e
),
passed AS (
  SELECT *, CASE WHEN NOT s1 THEN 0 WHEN NOT s2 THEN 1 WHEN no_hypertension AND NOT s3 THEN 2 ELSE 3 END AS passed
  FROM steps
),
remaining AS (
  SELECT c.cohort, k.step,
         count(DISTINCT p.hospital_id || '/' || p.patient_id) FILTER (WHERE p.passed >= k.step) AS remaining
  FROM cohorts c CROSS JOIN range(0, 4) k(step)  -- three steps
  LEFT JOIN passed p ON p.cohort = c.cohort
  GROUP BY ALL
),
attrition AS (
  SELECT cohort, step, remaining,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) AS persons_before,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) - remaining AS removed
  FROM remaining
),
-- End of follow-up (study.mid:20): (the last prescription of d on or after index) + 30 days,
-- end of observation, death.
members AS (
  SELECT p.*,
         least((SELECT max(r.date) FROM cohort_rx r WHERE r.cohort = p.cohort AND r.hospital_id = p.hospital_id
                  AND r.patient_id = p.patient_id AND r.date >= p.idx) + 30,
               p.obs_end, p.death_date) AS end_day
  FROM passed p WHERE p.passed = 3
),
-- The outcome of each cohort (study.mid, `dissection` and `dissection_no_htn`): the first dissection stay admitted in index + 1 .. end.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days
  FROM (SELECT m.*, (SELECT min(x.date) FROM dissection x WHERE x.hospital_id = m.hospital_id
                       AND x.patient_id = m.patient_id AND x.date BETWEEN m.idx + 1 AND m.end_day) AS outcome_day
        FROM members m)
),
-- The two reports (study.mid, `by_inhibitor` and `without_hypertension`), by cohort.
report_rows AS (
  SELECT CASE WHEN no_hypertension THEN 'without_hypertension' ELSE 'by_inhibitor' END AS output,
         cohort AS stratum, *
  FROM risk
),
counts AS (
  SELECT 'attrition_' || cohort AS output, CAST(step AS VARCHAR) AS stratum, count, n
  FROM (UNPIVOT attrition ON persons_before, removed, remaining INTO NAME count VALUE n)
  UNION ALL
  SELECT output, stratum, 'persons', count(DISTINCT hospital_id || '/' || patient_id) FROM report_rows GROUP BY ALL
  UNION ALL
  SELECT output, stratum, outcome || '_persons',
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL)
  FROM report_rows GROUP BY ALL
  UNION ALL
  SELECT output, stratum, outcome || '_person_days', sum(days) FROM report_rows GROUP BY ALL
  -- The exact row counts of mid's plans: entries, members, entries with each outcome.
  UNION ALL
  SELECT 'run-site', '', 'entries_' || c.cohort, count(e.idx) FROM cohorts c LEFT JOIN entries e USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '', 'cohort_' || c.cohort, count(m.idx) FROM cohorts c LEFT JOIN members m USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '', 'outcome_' || c.outcome || '_in_' || c.cohort, count(r.outcome_day) FROM cohorts c LEFT JOIN risk r USING (cohort) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

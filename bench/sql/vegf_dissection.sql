-- examples/vegf_dissection/study.mid by hand: new users of each of the ten VEGF inhibitors
-- (2012-04-01 to 2020-03-31), and of bevacizumab and ramucirumab without hypertension, the
-- attrition of the 12 cohorts and arterial dissection per cohort.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. A count that does
-- not apply (another cohort's outcome) has no row.
--
-- Left out: the exports of bevacizumab_users and ramucirumab_users (site-only, patient-level).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- The template new_users(d) and its cohorts (study.mid:14, 21-38): the inhibitor (YJ
-- ingredient), whether the hypertension step is added, the cohort's outcome (study.mid:40-51).
cohorts(cohort, yj7, no_hypertension, outcome) AS (
  VALUES ('bevacizumab_users', '4291413', false, 'dissection_bev'), ('ramucirumab_users', '4291429', false, 'dissection_ram'),
         ('aflibercept_users', '4291436', false, 'dissection_afl'), ('sunitinib_users', '4291018', false, 'dissection_sun'),
         ('sorafenib_users', '4291017', false, 'dissection_sor'), ('lenvatinib_users', '4291039', false, 'dissection_len'),
         ('axitinib_users', '4291027', false, 'dissection_axi'), ('pazopanib_users', '4291028', false, 'dissection_paz'),
         ('regorafenib_users', '4291029', false, 'dissection_reg'), ('cabozantinib_users', '4291064', false, 'dissection_cab'),
         ('bevacizumab_no_hypertension', '4291413', true, 'dissection_bev_no_htn'),
         ('ramucirumab_no_hypertension', '4291429', true, 'dissection_ram_no_htn')
),
cohort_rx AS (
  SELECT c.cohort, r.hospital_id, r.patient_id, r.date, r.end_date
  FROM cohorts c JOIN read_parquet('{data}/drug/*.parquet') r ON left(r.yj_code, 7) = c.yj7
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
-- Entry: the first prescription of d in 2012-04-01 .. 2020-03-31, inside observation (study.mid:15).
entries AS (
  SELECT e.*, c.no_hypertension, CASE WHEN c.no_hypertension THEN 3 ELSE 2 END AS last_step, c.outcome, p.obs_start, p.obs_end, p.death_date
  FROM (SELECT cohort, hospital_id, patient_id, min(date) AS idx FROM cohort_rx
        WHERE date BETWEEN DATE '2012-04-01' AND DATE '2020-03-31' GROUP BY ALL) e
  JOIN cohorts c USING (cohort)
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:16, no supply of d covering a day of 2010-08-01 .. 2012-03-31 (overlapping)
    NOT EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = e.cohort AND r.hospital_id = e.hospital_id
                AND r.patient_id = e.patient_id AND r.date <= DATE '2012-03-31' AND r.end_date >= DATE '2010-08-01') AS s1,
    -- study.mid:17, no dissection stay admitted before index
    NOT EXISTS (SELECT 1 FROM dissection x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                AND x.date <= e.idx - 1) AS s2,
    -- study.mid:34/37, the added step: no hypertension (I10) not suspected on or before index
    NOT EXISTS (SELECT 1 FROM read_parquet('{data}/diagnosis/*.parquet') g
                WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id
                  AND left(g.icd10, 3) = 'I10' AND NOT g.suspected AND g.date <= e.idx) AS s3
  FROM entries e
),
passed AS (
  SELECT *, CASE WHEN NOT s1 THEN 0 WHEN NOT s2 THEN 1 WHEN last_step = 2 OR NOT s3 THEN 2 ELSE 3 END AS passed
  FROM steps
),
remaining AS (
  SELECT c.cohort, k.step,
         count(DISTINCT p.hospital_id || '/' || p.patient_id) FILTER (WHERE p.passed >= k.step) AS remaining
  FROM cohorts c JOIN range(0, 4) k(step) ON k.step <= CASE WHEN c.no_hypertension THEN 3 ELSE 2 END  -- 2 or 3 steps
  LEFT JOIN passed p ON p.cohort = c.cohort
  GROUP BY ALL
),
attrition AS (
  SELECT cohort, step, remaining,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) AS persons_before,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) - remaining AS removed
  FROM remaining
),
-- End of follow-up (study.mid:18): the last prescription of d on or after index + 30 days,
-- end of observation, death.
members AS (
  SELECT p.*,
         least((SELECT max(r.date) FROM cohort_rx r WHERE r.cohort = p.cohort AND r.hospital_id = p.hospital_id
                  AND r.patient_id = p.patient_id AND r.date >= p.idx) + 30,
               p.obs_end, p.death_date) AS end_day
  FROM passed p WHERE p.passed = p.last_step
),
-- The outcome of each cohort (study.mid:40-51): the first dissection stay admitted in index + 1 .. end.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days
  FROM (SELECT m.*, (SELECT min(x.date) FROM dissection x WHERE x.hospital_id = m.hospital_id
                       AND x.patient_id = m.patient_id AND x.date BETWEEN m.idx + 1 AND m.end_day) AS outcome_day
        FROM members m)
),
-- The two reports (study.mid:56-62), by cohort, each cohort with its own outcome.
report_rows AS (
  SELECT CASE WHEN no_hypertension
              THEN 'bevacizumab_no_hypertension_ramucirumab_no_hypertension_with_dissection_bev_no_htn_dissection_ram_no_htn'
              ELSE 'bevacizumab_users_and_9_more_with_dissection_bev_and_9_more' END AS output, cohort AS stratum, *
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
  SELECT 'run-site', '', 'outcome_' || c.outcome, count(r.outcome_day) FROM cohorts c LEFT JOIN risk r USING (cohort) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

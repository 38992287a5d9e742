-- examples/thiamazole_granulocytopenia/study.mid by hand: new users of thiamazole and of
-- propylthiouracil (PTU), the attrition of each cohort, granulocytopenia (neutrophils
-- <= 1,500/uL) per cohort, by sex and 20-year age band, and by follow-up period and testing
-- history.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. A count that does
-- not apply (another cohort's outcome) has no row.
--
-- Left out: the four exports (site-only, patient-level) and Table 1 (`baseline`).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- The template new_users(d, other) and its two cohorts (study.mid:16, 28-29), by YJ ingredient.
cohorts(cohort, d, other) AS (
  VALUES ('thiamazole_users', '2432001', '2432002'), ('ptu_users', '2432002', '2432001')
),
antithyroid AS (
  SELECT hospital_id, patient_id, date, end_date, left(yj_code, 7) AS yj7
  FROM read_parquet('{data}/drug/*.parquet') WHERE left(yj_code, 7) IN ('2432001', '2432002')
),
-- Units as reported, normalised (micro signs, `x10^`, `10*`, case) and their factor to the
-- base unit of their dimension (/uL for counts, % for shares).
units(unit, dimension, factor) AS (
  VALUES ('/ul', 'count', 1.0), ('/mm3', 'count', 1.0), ('10^2/ul', 'count', 1e2), ('10^3/ul', 'count', 1e3),
         ('10^4/ul', 'count', 1e4), ('10^6/ul', 'count', 1e6), ('10^9/l', 'count', 1e3), ('10^12/l', 'count', 1e6),
         ('%', 'percent', 1.0), ('permille', 'percent', 0.1)
),
lab AS (
  SELECT hospital_id, patient_id, date, analyte, jlac10, value,
         replace(replace(replace(replace(replace(replace(lower(trim(unit)), 'μ', 'u'), 'µ', 'u'), '×', ''),
               'x10', '10'), '10*', '10^'), ' ', '') AS unit
  FROM read_parquet('{data}/lab/*.parquet') WHERE analyte IN ('9Z001', '2A010', '2A990', '2A160')
),
-- labs.wbc: 2A010 or the panel result 2A990…52, in 10^3/uL.
wbc AS (
  SELECT l.hospital_id, l.patient_id, l.date, l.value * (u.factor / 1e3) AS v
  FROM lab l LEFT JOIN units u ON u.unit = l.unit AND u.dimension = 'count'
  WHERE l.analyte = '2A010' OR l.jlac10 LIKE '2A990__________52'
),
-- labs.neutrophil_count: reported (9Z001, in /uL), or wbc × neutrophil % (2A160…51) of the
-- same day (10^3/uL × % = 10 × the product in /uL) on a day without a reported count.
nc_reported AS (
  SELECT l.hospital_id, l.patient_id, l.date, l.value * (u.factor / 1.0) AS v
  FROM lab l LEFT JOIN units u ON u.unit = l.unit AND u.dimension = 'count' WHERE l.analyte = '9Z001'
),
neutrophil_pct AS (
  SELECT l.hospital_id, l.patient_id, l.date, l.value * (u.factor / 1.0) AS v
  FROM lab l LEFT JOIN units u ON u.unit = l.unit AND u.dimension = 'percent'
  WHERE l.jlac10 LIKE '2A160__________51'
),
neutrophils AS (
  SELECT hospital_id, patient_id, date, v FROM nc_reported
  UNION ALL
  SELECT w.hospital_id, w.patient_id, w.date, w.v * p.v * 10
  FROM wbc w JOIN neutrophil_pct p USING (hospital_id, patient_id, date)
  WHERE NOT EXISTS (SELECT 1 FROM nc_reported r
                    WHERE r.hospital_id = w.hospital_id AND r.patient_id = w.patient_id AND r.date = w.date)
),
-- Entry: the first prescription of d, inside the patient's observation (study.mid:17).
entries AS (
  SELECT e.*, p.sex, p.birth_date, p.obs_start, p.obs_end, p.death_date,
         date_diff('year', p.birth_date, e.idx)
           - CASE WHEN strftime(e.idx, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END AS age
  FROM (SELECT c.cohort, c.d, c.other, a.hospital_id, a.patient_id, min(a.date) AS idx
        FROM cohorts c JOIN antithyroid a ON a.yj7 = c.d GROUP BY ALL) e
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:18, observed 180 days before index
    coalesce(e.obs_start <= e.idx - 180, false) AS s1,
    -- study.mid:20, no supply of d or other covering a day of idx-180 .. idx-1 (overlapping)
    NOT EXISTS (SELECT 1 FROM antithyroid a WHERE a.hospital_id = e.hospital_id AND a.patient_id = e.patient_id
                AND a.date <= e.idx - 1 AND a.end_date >= e.idx - 180) AS s2,
    -- study.mid:21, E05 not suspected in idx-30 .. idx+30
    EXISTS (SELECT 1 FROM read_parquet('{data}/diagnosis/*.parquet') g
            WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id AND g.icd10 LIKE 'E05%'
              AND NOT g.suspected AND g.date BETWEEN e.idx - 30 AND e.idx + 30) AS s3,
    -- study.mid:22, age at index >= 15 (undecidable without a birth date: not admitted)
    coalesce(e.age >= 15, false) AS s4,
    -- study.mid:23, no neutrophil count <= 1500 /uL in idx-180 .. idx (day 0 included)
    NOT EXISTS (SELECT 1 FROM neutrophils n WHERE n.hospital_id = e.hospital_id AND n.patient_id = e.patient_id
                AND n.date BETWEEN e.idx - 180 AND e.idx AND n.v <= 1500) AS s5
  FROM entries e
),
-- How many steps in a row each entry passed (5: a member).
passed AS (
  SELECT *, CASE WHEN NOT s1 THEN 0 WHEN NOT s2 THEN 1 WHEN NOT s3 THEN 2 WHEN NOT s4 THEN 3
                 WHEN NOT s5 THEN 4 ELSE 5 END AS passed
  FROM steps
),
remaining AS (
  SELECT c.cohort, k.step,
         count(DISTINCT p.hospital_id || '/' || p.patient_id) FILTER (WHERE p.passed >= k.step) AS remaining
  FROM cohorts c CROSS JOIN range(0, 6) k(step) LEFT JOIN passed p ON p.cohort = c.cohort
  GROUP BY ALL
),
attrition AS (
  SELECT cohort, step, remaining,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) AS persons_before,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) - remaining AS removed
  FROM remaining
),
-- End of follow-up (study.mid:24): index + 140, the first prescription of the other drug
-- after index, the end of observation, death (least skips the missing ones).
members AS (
  SELECT p.*,
         least(p.idx + 140,
               (SELECT min(a.date) FROM antithyroid a WHERE a.hospital_id = p.hospital_id
                  AND a.patient_id = p.patient_id AND a.yj7 = p.other AND a.date >= p.idx + 1),
               p.obs_end, p.death_date) AS end_day
  FROM passed p WHERE p.passed = 5
),
-- Outcome granulocytopenia (study.mid:32, outcomes.neutropenia): the first count <= 1500 /uL
-- in index + 1 .. end.
followed AS (
  SELECT 'granulocytopenia' AS outcome, m.*,
         (SELECT min(n.date) FROM neutrophils n WHERE n.hospital_id = m.hospital_id AND n.patient_id = m.patient_id
            AND n.v <= 1500 AND n.date BETWEEN m.idx + 1 AND m.end_day) AS outcome_day
  FROM members m
),
-- Person-time: index + 1 .. the earlier of end and the outcome, both included.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days,
         (age // 20) * 20 AS band
  FROM followed
),
-- Periods (study.mid:25): 14 days from index + 1 to index + 56, then to index + 140; each cut
-- at the end of follow-up, and reached when follow-up reaches its first day.
periods(period, lo, hi) AS (VALUES (1, 1, 14), (2, 15, 28), (3, 29, 42), (4, 43, 56), (5, 57, 140)),
-- tested(lab neutrophil_count or lab wbc): a result of either on a day.
tests AS (
  SELECT DISTINCT hospital_id, patient_id, date FROM neutrophils
  UNION SELECT DISTINCT hospital_id, patient_id, date FROM wbc
),
by_period AS (
  SELECT r.cohort, r.hospital_id, r.patient_id, pe.period, r.outcome_day,
         r.idx + pe.lo AS p_lo, least(r.idx + pe.hi, r.end_day) AS p_hi,
         -- earlier periods with a test (all of them lie inside follow-up)
         (SELECT count(*) FROM periods q WHERE q.period < pe.period AND EXISTS (
            SELECT 1 FROM tests t WHERE t.hospital_id = r.hospital_id AND t.patient_id = r.patient_id
              AND t.date BETWEEN r.idx + q.lo AND r.idx + q.hi)) AS tested_earlier
  FROM risk r JOIN periods pe ON r.end_day >= r.idx + pe.lo
),
-- report crude (study.mid:53): by cohort.
report_crude AS (
  SELECT 'crude' AS output, cohort AS stratum,
         count(DISTINCT hospital_id || '/' || patient_id) AS persons,
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL) AS granulocytopenia_persons,
         sum(days) AS granulocytopenia_person_days
  FROM risk GROUP BY ALL
),
-- report by_sex_and_age (study.mid:54): by cohort, sex and 20-year age band of age at index.
report_by_sex_and_age AS (
  SELECT 'by_sex_and_age' AS output, concat_ws('|', cohort, sex, band || '-' || (band + 19)) AS stratum,
         count(DISTINCT hospital_id || '/' || patient_id) AS persons,
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL) AS granulocytopenia_persons,
         sum(days) AS granulocytopenia_person_days
  FROM risk GROUP BY ALL
),
-- report by_period (study.mid:55): by cohort, period and whether blood was tested in all,
-- some or none of the earlier periods; persons are those whose follow-up reaches the period.
report_by_period AS (
  SELECT 'by_period' AS output,
         concat_ws('|', cohort, period, CASE WHEN period = 1 THEN 'first period' WHEN tested_earlier = period - 1 THEN 'all'
                                             WHEN tested_earlier = 0 THEN 'none' ELSE 'some' END) AS stratum,
         count(DISTINCT hospital_id || '/' || patient_id) AS persons,
         -- at risk: no outcome before the period's first day
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NULL OR outcome_day >= p_lo) AS granulocytopenia_at_risk,
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day BETWEEN p_lo AND p_hi) AS granulocytopenia_persons,
         sum(CASE WHEN outcome_day IS NULL OR outcome_day >= p_lo
                  THEN greatest(least(p_hi, coalesce(outcome_day, p_hi)) - p_lo + 1, 0) ELSE 0 END) AS granulocytopenia_person_days
  FROM by_period GROUP BY ALL
),
counts AS (
  SELECT 'attrition_' || cohort AS output, CAST(step AS VARCHAR) AS stratum, count, n
  FROM (UNPIVOT attrition ON persons_before, removed, remaining INTO NAME count VALUE n)
  UNION ALL
  SELECT output, stratum, count, n
  FROM (UNPIVOT report_crude ON persons, granulocytopenia_persons, granulocytopenia_person_days INTO NAME count VALUE n)
  UNION ALL
  SELECT output, stratum, count, n
  FROM (UNPIVOT report_by_sex_and_age ON persons, granulocytopenia_persons, granulocytopenia_person_days INTO NAME count VALUE n)
  UNION ALL
  SELECT output, stratum, count, n
  FROM (UNPIVOT report_by_period ON persons, granulocytopenia_at_risk, granulocytopenia_persons, granulocytopenia_person_days
        INTO NAME count VALUE n)
  -- The exact row counts of mid's plans: entries, members, entries with the outcome.
  UNION ALL
  SELECT 'run-site', '', 'entries_' || c.cohort, count(e.idx) FROM cohorts c LEFT JOIN entries e USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '', 'cohort_' || c.cohort, count(m.idx) FROM cohorts c LEFT JOIN members m USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '', 'outcome_granulocytopenia_in_' || c.cohort, count(r.outcome_day)
  FROM cohorts c LEFT JOIN risk r USING (cohort) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

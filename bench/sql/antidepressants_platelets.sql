-- examples/antidepressants_platelets/study.mid by hand: new users of each SSRI/SNRI and
-- vortioxetine, and of all of them together (with 30- and 90-day eras, and without the
-- depression requirement), the attrition of the 11 cohorts, thrombocytopenia per drug, by
-- sex and 20-year age band, and by year of index.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. A count that does
-- not apply (another cohort's outcome) has no row.
--
-- Left out: the eleven exports (site-only, patient-level).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- drugs.antidepressants by YJ ingredient: SSRIs, SNRIs, other antidepressants (vortioxetine
-- among them), tricyclics.
antidepressants(yj7) AS (
  VALUES ('1179041'), ('1179046'), ('1179039'), ('1179054'), ('1179052'), ('1179040'), ('1179055'),
         ('1179051'), ('1179037'), ('1179060'), ('1179002'), ('1174006'), ('1174002')
),
-- The cohorts made from the template new_users(d, allowed, depression_required)
-- (study.mid:26, 38-50) and the ingredients of their d; study_drugs (study.mid:20) is the
-- SSRIs, SNRIs and vortioxetine.
cohorts(cohort, allowed, depression_required) AS (
  VALUES ('paroxetine_users', 30, true), ('sertraline_users', 30, true), ('fluvoxamine_users', 30, true),
         ('escitalopram_users', 30, true), ('duloxetine_users', 30, true), ('milnacipran_users', 30, true),
         ('venlafaxine_users', 30, true), ('vortioxetine_users', 30, true),
         ('new_users_all', 30, true), ('new_users_90d', 90, true), ('any_indication', 30, false)
),
study_drugs(yj7) AS (
  VALUES ('1179041'), ('1179046'), ('1179039'), ('1179054'), ('1179052'), ('1179040'), ('1179055'), ('1179060')
),
cohort_drugs(cohort, yj7) AS (
  VALUES ('paroxetine_users', '1179041'), ('sertraline_users', '1179046'), ('fluvoxamine_users', '1179039'),
         ('escitalopram_users', '1179054'), ('duloxetine_users', '1179052'), ('milnacipran_users', '1179040'),
         ('venlafaxine_users', '1179055'), ('vortioxetine_users', '1179060')
  UNION ALL SELECT 'new_users_all', yj7 FROM study_drugs
  UNION ALL SELECT 'new_users_90d', yj7 FROM study_drugs
  UNION ALL SELECT 'any_indication', yj7 FROM study_drugs
),
rx AS (
  SELECT hospital_id, patient_id, date, end_date, left(yj_code, 7) AS yj7
  FROM read_parquet('{data}/drug/*.parquet') WHERE left(yj_code, 7) IN (SELECT yj7 FROM antidepressants)
),
-- Each cohort's prescriptions of d; the other antidepressants are those not in d.
cohort_rx AS (
  SELECT c.cohort, r.*, (cd.yj7 IS NOT NULL) AS of_d
  FROM cohorts c CROSS JOIN rx r LEFT JOIN cohort_drugs cd ON cd.cohort = c.cohort AND cd.yj7 = r.yj7
),
-- labs.platelets: 2A050 or the panel result 2A990…55, in 10^3/uL (units normalised: micro
-- signs, `x10^`, `10*`, case; factor to /uL over the item unit's).
units(unit, factor) AS (
  VALUES ('/ul', 1.0), ('/mm3', 1.0), ('10^2/ul', 1e2), ('10^3/ul', 1e3), ('10^4/ul', 1e4), ('10^6/ul', 1e6),
         ('10^9/l', 1e3), ('10^12/l', 1e6)
),
platelets AS (
  SELECT l.hospital_id, l.patient_id, l.date, l.value * (u.factor / 1e3) AS v
  FROM read_parquet('{data}/lab/*.parquet') l
  LEFT JOIN units u ON u.unit = replace(replace(replace(replace(replace(replace(lower(trim(l.unit)), 'μ', 'u'), 'µ', 'u'),
                                                      '×', ''), 'x10', '10'), '10*', '10^'), ' ', '')
  WHERE l.analyte = '2A050' OR l.jlac10 LIKE '2A990__________55'
),
diagnosis AS (
  SELECT hospital_id, patient_id, date, icd10 FROM read_parquet('{data}/diagnosis/*.parquet')
  WHERE NOT suspected AND (left(icd10, 3) IN ('F32', 'F33') OR left(icd10, 4) IN ('D695', 'D696'))
),
-- Entry: the first prescription of d in 2009-01-01 .. 2021-03-31, inside observation (study.mid:27).
entries AS (
  SELECT e.*, c.allowed, c.depression_required, p.sex, p.birth_date, p.obs_start, p.obs_end, p.death_date,
         date_diff('year', p.birth_date, e.idx)
           - CASE WHEN strftime(e.idx, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END AS age
  FROM (SELECT cohort, hospital_id, patient_id, min(date) AS idx FROM cohort_rx
        WHERE of_d AND date BETWEEN DATE '2009-01-01' AND DATE '2021-03-31' GROUP BY ALL) e
  JOIN cohorts c USING (cohort)
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:28, observed 180 days before index
    coalesce(e.obs_start <= e.idx - 180, false) AS s1,
    -- study.mid:29, no antidepressant supply covering a day of idx-180 .. idx-1 (overlapping)
    NOT EXISTS (SELECT 1 FROM rx r WHERE r.hospital_id = e.hospital_id AND r.patient_id = e.patient_id
                AND r.date <= e.idx - 1 AND r.end_date >= e.idx - 180) AS s2,
    -- study.mid:30, depression (F32, F33) not suspected in the calendar month of index, when required
    NOT e.depression_required OR EXISTS (
      SELECT 1 FROM diagnosis g WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id
        AND left(g.icd10, 3) IN ('F32', 'F33') AND date_trunc('month', g.date) = date_trunc('month', e.idx)) AS s3,
    -- study.mid:31, no prescription of another antidepressant (not d) dated on index
    NOT EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = e.cohort AND r.hospital_id = e.hospital_id
                AND r.patient_id = e.patient_id AND NOT r.of_d AND r.date = e.idx) AS s4,
    -- study.mid:32, no platelets < 100 x10^3/uL in idx-180 .. idx-1
    NOT EXISTS (SELECT 1 FROM platelets l WHERE l.hospital_id = e.hospital_id AND l.patient_id = e.patient_id
                AND l.date BETWEEN e.idx - 180 AND e.idx - 1 AND l.v < 100) AS s5
  FROM entries e
),
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
-- Era (study.mid:33): the prescriptions of d sorted by date; one starting at most `allowed`
-- uncovered days after the latest end so far (date <= latest end + allowed + 1) continues the
-- era, otherwise it starts a new one; an era ends at its last covered day + `allowed`.
era_rx AS (
  SELECT r.cohort, r.hospital_id, r.patient_id, r.date, r.end_date, c.allowed,
         max(r.end_date) OVER (PARTITION BY r.cohort, r.hospital_id, r.patient_id ORDER BY r.date, r.end_date
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest_end
  FROM cohort_rx r JOIN cohorts c USING (cohort) WHERE r.of_d
),
era_numbered AS (
  SELECT *, sum(CASE WHEN latest_end IS NULL OR date > latest_end + allowed + 1 THEN 1 ELSE 0 END)
              OVER (PARTITION BY cohort, hospital_id, patient_id ORDER BY date, end_date ROWS UNBOUNDED PRECEDING) AS era
  FROM era_rx
),
eras AS (
  SELECT cohort, hospital_id, patient_id, era, min(date) AS era_start, max(end_date) + any_value(allowed) AS era_end
  FROM era_numbered GROUP BY ALL
),
-- End of follow-up (study.mid:34): the end of the era containing index (the latest-starting),
-- the first prescription of another antidepressant after index, end of observation, death.
members AS (
  SELECT p.*,
         least((SELECT max_by(x.era_end, x.era_start) FROM eras x WHERE x.cohort = p.cohort AND x.hospital_id = p.hospital_id
                  AND x.patient_id = p.patient_id AND x.era_start <= p.idx AND p.idx <= x.era_end),
               (SELECT min(r.date) FROM cohort_rx r WHERE r.cohort = p.cohort AND r.hospital_id = p.hospital_id
                  AND r.patient_id = p.patient_id AND NOT r.of_d AND r.date >= p.idx + 1),
               p.obs_end, p.death_date) AS end_day
  FROM passed p WHERE p.passed = 5
),
-- The outcomes (study.mid:52-70): platelets below a threshold (10^3/uL), with a diagnosis
-- D69.5/D69.6 not suspected as well (or_dx), in index + 1 .. end (or index + 14 if earlier).
outcomes(outcome, below, with_dx, cap, cohort) AS (
  -- Five outcomes of the pooled cohort and the eight per-drug ones (plans outcome_<o>_in_<cohort>).
  SELECT o.*, c.cohort FROM (VALUES ('thrombocytopenia', 100, false, NULL), ('thrombocytopenia_or_dx', 100, true, NULL),
                                    ('thrombocytopenia_75', 75, false, NULL), ('thrombocytopenia_50', 50, false, NULL),
                                    ('thrombocytopenia_14d', 100, false, 14)) o(outcome, below, with_dx, cap)
  CROSS JOIN (VALUES ('new_users_all'), ('paroxetine_users'), ('sertraline_users'), ('fluvoxamine_users'), ('escitalopram_users'), ('duloxetine_users'), ('milnacipran_users'), ('venlafaxine_users'), ('vortioxetine_users')) c(cohort)
  UNION ALL
  SELECT * FROM (VALUES ('thrombocytopenia_90d', 100, false, NULL, 'new_users_90d'),
                        ('thrombocytopenia_any', 100, false, NULL, 'any_indication'))
),
followed AS (
  SELECT o.outcome, m.*,
         (SELECT min(x.date) FROM (
            SELECT l.date FROM platelets l WHERE l.hospital_id = m.hospital_id AND l.patient_id = m.patient_id AND l.v < o.below
            UNION ALL
            SELECT g.date FROM diagnosis g WHERE o.with_dx AND g.hospital_id = m.hospital_id AND g.patient_id = m.patient_id
              AND left(g.icd10, 4) IN ('D695', 'D696')) x
          WHERE x.date BETWEEN m.idx + 1 AND least(m.end_day, m.idx + o.cap)) AS outcome_day
  FROM outcomes o JOIN members m USING (cohort)
),
-- Person-time: index + 1 .. the earlier of end and the outcome, both included.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days,
         (age // 20) * 20 AS band
  FROM followed
),
-- Report 1 (study.mid, `by_drug`): the eight per-drug cohorts by cohort, with the five outcomes.
report_1 AS (
  SELECT cohort AS stratum, 'persons' AS count, count(DISTINCT hospital_id || '/' || patient_id) AS n
  FROM members WHERE cohort NOT IN ('new_users_all', 'new_users_90d', 'any_indication') GROUP BY ALL
  UNION ALL
  SELECT cohort, outcome || '_persons', count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL)
  FROM risk WHERE cohort NOT IN ('new_users_all', 'new_users_90d', 'any_indication') GROUP BY ALL
  UNION ALL
  SELECT cohort, outcome || '_person_days', sum(days) FROM risk WHERE cohort NOT IN ('new_users_all', 'new_users_90d', 'any_indication') GROUP BY ALL
),
-- Report 2 (study.mid:101): new_users_all by sex and 20-year age band.
report_2 AS (
  SELECT concat_ws('|', sex, band || '-' || (band + 19)) AS stratum, 'persons' AS count,
         count(DISTINCT hospital_id || '/' || patient_id) AS n
  FROM risk WHERE cohort = 'new_users_all' AND outcome = 'thrombocytopenia' GROUP BY ALL
  UNION ALL
  SELECT concat_ws('|', sex, band || '-' || (band + 19)), outcome || '_persons',
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL)
  FROM risk WHERE cohort = 'new_users_all' AND outcome IN ('thrombocytopenia', 'thrombocytopenia_75', 'thrombocytopenia_50') GROUP BY ALL
  UNION ALL
  SELECT concat_ws('|', sex, band || '-' || (band + 19)), outcome || '_person_days', sum(days)
  FROM risk WHERE cohort = 'new_users_all' AND outcome IN ('thrombocytopenia', 'thrombocytopenia_75', 'thrombocytopenia_50') GROUP BY ALL
),
-- Report 3 (study.mid:102): new_users_all by calendar year of index.
report_3 AS (
  SELECT CAST(year(idx) AS VARCHAR) AS stratum, 'persons' AS count, count(DISTINCT hospital_id || '/' || patient_id) AS n
  FROM risk WHERE cohort = 'new_users_all' AND outcome = 'thrombocytopenia' GROUP BY ALL
  UNION ALL
  SELECT CAST(year(idx) AS VARCHAR), 'thrombocytopenia_persons',
         count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL)
  FROM risk WHERE cohort = 'new_users_all' AND outcome = 'thrombocytopenia' GROUP BY ALL
  UNION ALL
  SELECT CAST(year(idx) AS VARCHAR), 'thrombocytopenia_person_days', sum(days)
  FROM risk WHERE cohort = 'new_users_all' AND outcome = 'thrombocytopenia' GROUP BY ALL
),
-- Report 4 (study.mid, `sensitivity_and_secondary`): the 90-day and any-indication cohorts
-- by cohort, each with its own outcome.
report_4 AS (
  SELECT cohort AS stratum, 'persons' AS count, count(DISTINCT hospital_id || '/' || patient_id) AS n
  FROM members WHERE cohort IN ('new_users_90d', 'any_indication') GROUP BY ALL
  UNION ALL
  SELECT cohort, outcome || '_persons', count(DISTINCT hospital_id || '/' || patient_id) FILTER (WHERE outcome_day IS NOT NULL)
  FROM risk WHERE cohort IN ('new_users_90d', 'any_indication') GROUP BY ALL
  UNION ALL
  SELECT cohort, outcome || '_person_days', sum(days) FROM risk WHERE cohort IN ('new_users_90d', 'any_indication') GROUP BY ALL
),
counts AS (
  SELECT 'attrition_' || cohort AS output, CAST(step AS VARCHAR) AS stratum, count, n
  FROM (UNPIVOT attrition ON persons_before, removed, remaining INTO NAME count VALUE n)
  UNION ALL
  SELECT 'by_drug', stratum, count, n FROM report_1
  UNION ALL
  SELECT 'new_users_all_with_thrombocytopenia_thrombocytopenia_75_thrombocytopenia_50', stratum, count, n FROM report_2
  UNION ALL
  SELECT 'new_users_all_with_thrombocytopenia_2', stratum, count, n FROM report_3
  UNION ALL
  SELECT 'sensitivity_and_secondary', stratum, count, n FROM report_4
  -- The exact row counts of mid's plans: entries, members, entries with each outcome (an
  -- outcome of one cohort is the plan outcome_<o>, of several outcome_<o>_in_<cohort>).
  UNION ALL
  SELECT 'run-site', '', 'entries_' || c.cohort, count(e.idx) FROM cohorts c LEFT JOIN entries e USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '', 'cohort_' || c.cohort, count(m.idx) FROM cohorts c LEFT JOIN members m USING (cohort) GROUP BY ALL
  UNION ALL
  SELECT 'run-site', '',
         'outcome_' || o.outcome || CASE WHEN o.outcome IN ('thrombocytopenia_90d', 'thrombocytopenia_any') THEN '' ELSE '_in_' || o.cohort END,
         count(r.outcome_day)
  FROM outcomes o LEFT JOIN risk r USING (outcome, cohort) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

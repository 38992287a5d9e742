-- examples/pah_liver_injury/study.mid by hand: new users of PAH drugs and of endothelin
-- receptor antagonists (ERAs), the attrition of both cohorts, liver injury graded by the 1992
-- MHLW seriousness criteria and Hy's-law cases, by sex and by whether an ERA (bosentan) was
-- prescribed on the first day.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. liver_grade3 is
-- in no report and is compared through its exact count only.
--
-- Left out: the export of pah_users (site-only, patient-level).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- The template new_users(d) and its two cohorts (study.mid:26, 38-39), by YJ ingredient:
-- drugs.pah_drugs, and era_drugs (study.mid:18) = bosentan, ambrisentan, macitentan.
cohorts(cohort) AS (VALUES ('pah_users'), ('era_users')),
cohort_drugs(cohort, yj7) AS (
  VALUES ('pah_users', '2190026'), ('pah_users', '2190031'), ('pah_users', '2190035'), ('pah_users', '2190028'),
         ('pah_users', '2190030'), ('pah_users', '2190034'), ('pah_users', '2190037'), ('pah_users', '2190027'),
         ('pah_users', '2190413'), ('pah_users', '2190416'),
         ('era_users', '2190026'), ('era_users', '2190031'), ('era_users', '2190035')
),
cohort_rx AS (
  SELECT cd.cohort, r.hospital_id, r.patient_id, r.date, r.end_date, left(r.yj_code, 7) AS yj7
  FROM read_parquet('{data}/drug/*.parquet') r JOIN cohort_drugs cd ON cd.yj7 = left(r.yj_code, 7)
),
-- drugs.all_anticancer (anticancer agents and VEGF inhibitors) and drugs.hepatitis_antivirals.
excluded_drugs AS (
  SELECT hospital_id, patient_id, date, end_date FROM read_parquet('{data}/drug/*.parquet')
  WHERE left(yj_code, 7) IN ('4291401', '4291403', '4291410', '4240406', '4240405', '4223401', '4223005', '4229101',
                             '4224403', '4240404', '4211401', '4235402', '4222400', '4291427', '4291435', '4291406',
                             '4291407', '4291045', '4291011', '4291003',
                             '4291413', '4291429', '4291436', '4291018', '4291017', '4291039', '4291027', '4291028',
                             '4291029', '4291064',
                             '6250041', '6250107', '6250113', '6250116', '6250029', '6250024', '6250045', '6250020')
),
-- procedures.radiotherapy: external beam or management fee, by K-code or receipt code.
radiotherapy AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/procedure/*.parquet')
  WHERE (code_system = 'kcode' AND left(code, 4) IN ('M001', 'M000'))
     OR (code_system = 'receipt' AND code IN ('180001099', '180000099'))
),
diagnosis AS (
  SELECT hospital_id, patient_id, date, icd10 FROM read_parquet('{data}/diagnosis/*.parquet')
  WHERE NOT suspected AND (left(icd10, 4) = 'I270' OR left(icd10, 3) BETWEEN 'K70' AND 'K77' OR left(icd10, 3) = 'B18')
),
-- The five liver tests (labs.mid): analyte, the item's unit (its factor in its dimension) and
-- the JCCLS upper limit by sex (the larger for sex U).
items(analyte, item, dimension, item_factor, uln_m, uln_f) AS (
  VALUES ('3B045', 'alt', 'activity', 1.0, 42.0, 23.0), ('3B035', 'ast', 'activity', 1.0, 30.0, 30.0),
         ('3B070', 'alp', 'activity', 1.0, 113.0, 113.0), ('3B090', 'ggt', 'activity', 1.0, 64.0, 32.0),
         ('3J010', 'total_bilirubin', 'mass', 1.0, 1.5, 1.5)
),
-- Units as reported, normalised (micro signs, `x10^`, `10*`, case), with their factor in
-- their dimension; umol/L is total bilirubin's own conversion (0.05847 mg/dL).
units(unit, dimension, factor) AS (
  VALUES ('u/l', 'activity', 1.0), ('iu/l', 'activity', 1.0), ('u/ml', 'activity', 1e3), ('ku/l', 'activity', 1e3),
         ('iu/ml', 'activity', 1e3), ('mu/ml', 'activity', 1.0), ('miu/ml', 'activity', 1.0), ('miu/l', 'activity', 1e-3),
         ('uiu/ml', 'activity', 1e-3), ('uu/ml', 'activity', 1e-3), ('ukat/l', 'activity', 60.0),
         ('mg/dl', 'mass', 1.0), ('g/dl', 'mass', 1e3), ('g/l', 'mass', 1e2), ('mg/l', 'mass', 1e-1), ('mg/ml', 'mass', 1e2),
         ('ug/dl', 'mass', 1e-3), ('ug/ml', 'mass', 1e-1), ('ug/l', 'mass', 1e-4), ('ng/ml', 'mass', 1e-4),
         ('ng/dl', 'mass', 1e-6), ('ng/l', 'mass', 1e-7), ('pg/ml', 'mass', 1e-7), ('umol/l', 'mass', 0.05847)
),
liver AS (
  SELECT l.hospital_id, l.patient_id, l.date, i.item, l.value * (u.factor / i.item_factor) AS v,
         -- labs.alp: the JSCC method's limit (322) for a result whose reported upper limit is
         -- nearer 322 than 113 by ratio (above their geometric mean), or without one, dated
         -- up to 2020-03-31; else the IFCC method's (113).
         CASE WHEN i.item = 'alp' THEN
                CASE WHEN l.ref_high * (u.factor / i.item_factor) IS NULL
                       THEN CASE WHEN l.date <= DATE '2020-03-31' THEN 322.0 ELSE 113.0 END
                     WHEN l.ref_high * (u.factor / i.item_factor) < sqrt(113.0 * 322.0) THEN 113.0 ELSE 322.0 END
              ELSE CASE p.sex WHEN 'M' THEN i.uln_m WHEN 'F' THEN i.uln_f ELSE greatest(i.uln_m, i.uln_f) END
         END AS uln
  FROM read_parquet('{data}/lab/*.parquet') l
  JOIN items i ON i.analyte = l.analyte
    -- blood specimens only (lab.specimen, JLAC10 characters 10-12), as the catalogue's items
    AND l.specimen IN ('019', '020', '022', '023')
  JOIN patient p USING (hospital_id, patient_id)
  LEFT JOIN units u ON u.dimension = i.dimension
    AND u.unit = replace(replace(replace(replace(replace(replace(lower(trim(l.unit)), 'μ', 'u'), 'µ', 'u'), '×', ''),
                                                'x10', '10'), '10*', '10^'), ' ', '')
),
-- grades.mhlw_grade: the highest grade whose rule the result meets (unknown without a value).
graded AS (
  SELECT *,
    CASE WHEN v IS NULL THEN NULL
         WHEN item IN ('alt', 'ast') THEN CASE WHEN v >= 500 THEN 3 WHEN v >= 100 THEN 2 WHEN v >= 50 THEN 1 ELSE 0 END
         WHEN item = 'total_bilirubin' THEN CASE WHEN v >= 10 THEN 3 WHEN v >= 3.0 THEN 2 WHEN v >= 1.6 THEN 1 ELSE 0 END
         WHEN item = 'alp' THEN CASE WHEN v >= 5 * uln THEN 3 WHEN v >= 2.5 * uln THEN 2 WHEN v >= 1.25 * uln THEN 1 ELSE 0 END
         WHEN item = 'ggt' THEN CASE WHEN v >= 1.5 * uln THEN 1 ELSE 0 END
    END AS mhlw
  FROM liver
),
-- grades.hys_law(30 days): ALT or AST >= 3 x ULN with total bilirubin > 2 x ULN and no ALP
-- >= 2 x ULN within 30 days on or after it; the event is the aminotransferase result.
hys_law AS (
  SELECT DISTINCT a.hospital_id, a.patient_id, a.date FROM liver a
  WHERE a.item IN ('alt', 'ast') AND a.v >= 3 * a.uln
    AND EXISTS (SELECT 1 FROM liver b WHERE b.hospital_id = a.hospital_id AND b.patient_id = a.patient_id
                AND b.item = 'total_bilirubin' AND b.v > 2 * b.uln AND b.date BETWEEN a.date AND a.date + 30)
    AND NOT EXISTS (SELECT 1 FROM liver c WHERE c.hospital_id = a.hospital_id AND c.patient_id = a.patient_id
                    AND c.item = 'alp' AND c.v >= 2 * c.uln AND c.date BETWEEN a.date AND a.date + 30)
),
-- Entry: the first prescription of d, inside observation (study.mid:27).
entries AS (
  SELECT e.*, p.sex, p.obs_start, p.obs_end, p.death_date
  FROM (SELECT cohort, hospital_id, patient_id, min(date) AS idx FROM cohort_rx GROUP BY ALL) e
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:28, observed 90 days before index
    coalesce(e.obs_start <= e.idx - 90, false) AS s1,
    -- study.mid:29, I27.0 not suspected in idx-365 .. idx
    EXISTS (SELECT 1 FROM diagnosis g WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id
            AND left(g.icd10, 4) = 'I270' AND g.date BETWEEN e.idx - 365 AND e.idx) AS s2,
    -- study.mid:30, no supply of d covering a day of idx-90 .. idx-1 (overlapping)
    NOT EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = e.cohort AND r.hospital_id = e.hospital_id
                AND r.patient_id = e.patient_id AND r.date <= e.idx - 1 AND r.end_date >= e.idx - 90) AS s3,
    -- study.mid:31, no liver test of MHLW grade >= 1 in idx-90 .. idx
    NOT EXISTS (SELECT 1 FROM graded l WHERE l.hospital_id = e.hospital_id AND l.patient_id = e.patient_id
                AND l.mhlw >= 1 AND l.date BETWEEN e.idx - 90 AND e.idx) AS s4,
    -- study.mid:32, no liver disease (K70-K77) or chronic viral hepatitis (B18), not suspected, in idx-90 .. idx
    NOT EXISTS (SELECT 1 FROM diagnosis g WHERE g.hospital_id = e.hospital_id AND g.patient_id = e.patient_id
                AND (left(g.icd10, 3) BETWEEN 'K70' AND 'K77' OR left(g.icd10, 3) = 'B18')
                AND g.date BETWEEN e.idx - 90 AND e.idx) AS s5,
    -- study.mid:33, no anticancer drug or hepatitis antiviral covering a day of idx-90 .. idx,
    -- nor radiotherapy on one of them
    NOT EXISTS (SELECT 1 FROM excluded_drugs x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                AND x.date <= e.idx AND x.end_date >= e.idx - 90)
      AND NOT EXISTS (SELECT 1 FROM radiotherapy x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                      AND x.date BETWEEN e.idx - 90 AND e.idx) AS s6
  FROM entries e
),
passed AS (
  SELECT *, CASE WHEN NOT s1 THEN 0 WHEN NOT s2 THEN 1 WHEN NOT s3 THEN 2 WHEN NOT s4 THEN 3
                 WHEN NOT s5 THEN 4 WHEN NOT s6 THEN 5 ELSE 6 END AS passed
  FROM steps
),
remaining AS (
  SELECT c.cohort, k.step,
         count(DISTINCT p.hospital_id || '/' || p.patient_id) FILTER (WHERE p.passed >= k.step) AS remaining
  FROM cohorts c CROSS JOIN range(0, 7) k(step) LEFT JOIN passed p ON p.cohort = c.cohort
  GROUP BY ALL
),
attrition AS (
  SELECT cohort, step, remaining,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) AS persons_before,
         lag(remaining) OVER (PARTITION BY cohort ORDER BY step) - remaining AS removed
  FROM remaining
),
-- Era (study.mid:34): prescriptions of d sorted by date; one starting at most 30 uncovered days
-- after the latest end so far continues the era; an era ends at its last covered day + 30.
era_rx AS (
  SELECT cohort, hospital_id, patient_id, date, end_date,
         max(end_date) OVER (PARTITION BY cohort, hospital_id, patient_id ORDER BY date, end_date
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS latest_end
  FROM cohort_rx
),
era_numbered AS (
  SELECT *, sum(CASE WHEN latest_end IS NULL OR date > latest_end + 31 THEN 1 ELSE 0 END)
              OVER (PARTITION BY cohort, hospital_id, patient_id ORDER BY date, end_date ROWS UNBOUNDED PRECEDING) AS era
  FROM era_rx
),
eras AS (
  SELECT cohort, hospital_id, patient_id, era, min(date) AS era_start, max(end_date) + 30 AS era_end
  FROM era_numbered GROUP BY ALL
),
-- End of follow-up (study.mid:35): the end of the era containing index (the latest-starting),
-- index + 365, end of observation, death.
members AS (
  SELECT p.*,
         least((SELECT max_by(x.era_end, x.era_start) FROM eras x WHERE x.cohort = p.cohort AND x.hospital_id = p.hospital_id
                  AND x.patient_id = p.patient_id AND x.era_start <= p.idx AND p.idx <= x.era_end),
               p.idx + 365, p.obs_end, p.death_date) AS end_day,
         -- report strata (study.mid:55-56): an ERA, or bosentan, prescribed on index
         CASE WHEN EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = 'era_users' AND r.hospital_id = p.hospital_id
                           AND r.patient_id = p.patient_id AND r.date = p.idx) THEN 'yes' ELSE 'no' END AS era_on_index,
         CASE WHEN EXISTS (SELECT 1 FROM cohort_rx r WHERE r.cohort = 'era_users' AND r.yj7 = '2190026'
                           AND r.hospital_id = p.hospital_id AND r.patient_id = p.patient_id AND r.date = p.idx)
              THEN 'yes' ELSE 'no' END AS bosentan_on_index
  FROM passed p WHERE p.passed = 6
),
-- The outcomes (study.mid:41-46), each the first event in index + 1 .. end: a liver test of
-- MHLW grade >= g, or a Hy's-law case.
outcomes(outcome, cohort, grade) AS (
  VALUES ('liver_grade1', 'pah_users', 1), ('liver_grade2', 'pah_users', 2), ('liver_grade3', 'pah_users', 3),
         ('hys_law_case', 'pah_users', NULL), ('era_liver_grade2', 'era_users', 2), ('era_hys_law_case', 'era_users', NULL)
),
followed AS (
  SELECT o.outcome, m.*,
         CASE WHEN o.grade IS NOT NULL
              THEN (SELECT min(l.date) FROM graded l WHERE l.hospital_id = m.hospital_id AND l.patient_id = m.patient_id
                      AND l.mhlw >= o.grade AND l.date BETWEEN m.idx + 1 AND m.end_day)
              ELSE (SELECT min(h.date) FROM hys_law h WHERE h.hospital_id = m.hospital_id AND h.patient_id = m.patient_id
                      AND h.date BETWEEN m.idx + 1 AND m.end_day) END AS outcome_day
  FROM outcomes o JOIN members m USING (cohort)
),
-- Person-time: index + 1 .. the earlier of end and the outcome, both included.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days FROM followed
),
-- The three reports (study.mid:54-56), each a stratum column and its outcomes.
report_defs(output, outcome, stratum_of) AS (
  VALUES ('pah_users_with_liver_grade1_liver_grade2_hys_law_case', 'liver_grade1', 'sex'),
         ('pah_users_with_liver_grade1_liver_grade2_hys_law_case', 'liver_grade2', 'sex'),
         ('pah_users_with_liver_grade1_liver_grade2_hys_law_case', 'hys_law_case', 'sex'),
         ('pah_users_with_liver_grade2', 'liver_grade2', 'era_on_index'),
         ('era_users_with_era_liver_grade2_era_hys_law_case', 'era_liver_grade2', 'bosentan_on_index'),
         ('era_users_with_era_liver_grade2_era_hys_law_case', 'era_hys_law_case', 'bosentan_on_index')
),
report_rows AS (
  SELECT d.output, d.outcome, r.hospital_id, r.patient_id, r.outcome_day, r.days,
         CASE d.stratum_of WHEN 'sex' THEN r.sex WHEN 'era_on_index' THEN r.era_on_index ELSE r.bosentan_on_index END AS stratum
  FROM report_defs d JOIN risk r USING (outcome)
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
  SELECT 'run-site', '', 'outcome_' || o.outcome, count(r.outcome_day) FROM outcomes o LEFT JOIN risk r USING (outcome) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

-- examples/statins_liver/study.mid by hand: new users of brand and of generic statin products
-- (2014-01-01 to 2022-03-31), the attrition of both cohorts, CTCAE-graded liver tests (all
-- five together and each test, grade 2 and 3), by cohort and sex, by cohort, and by the
-- product each new user started.
--
-- One row per count: `output` (mid's file under reports/, or `run-site` for the exact row
-- counts mid keeps in site-only/run-site.json), `stratum` (the report's stratum values joined
-- by '|', the step for attrition tables), `count` (mid's column, or the plan's name) and `n`,
-- the exact count. bench/bench.py publishes `n` by mid's rule and compares. A count that does
-- not apply (another cohort's outcome) has no row. The outcomes of each test alone are in the
-- report each_test (by cohort).
--
-- Left out: the exports of brand_users and generic_users (site-only, patient-level).
WITH
patient AS (
  SELECT hospital_id, patient_id, sex, birth_date, first_record_date AS obs_start,
         last_record_date AS obs_end, death_date
  FROM read_parquet('{data}/patient/*.parquet')
),
-- The template new_users(kind, other) and its two cohorts (study.mid:29, 41-44).
cohorts(cohort, kind, other) AS (VALUES ('brand_users', 'brand', 'generic'), ('generic_users', 'generic', 'brand')),
-- drugs.statins: every product of the six ingredients (YJ prefixes), under the member code
-- set index_drug names; brand or generic by the product's category (drug.product_kind).
statins AS (
  SELECT d.hospital_id, d.patient_id, d.date, d.end_date, d.product_kind AS kind,
         CASE left(d.yj_code, 7) WHEN '2189015' THEN 'atorvastatin' WHEN '2189017' THEN 'rosuvastatin'
           WHEN '2189016' THEN 'pitavastatin' WHEN '2189010' THEN 'pravastatin'
           WHEN '2189011' THEN 'simvastatin' WHEN '2189012' THEN 'fluvastatin' END AS member
  FROM read_parquet('{data}/drug/*.parquet') d
  WHERE left(d.yj_code, 7) IN ('2189015', '2189017', '2189016', '2189010', '2189011', '2189012')
),
-- drugs.all_anticancer (anticancer agents and VEGF inhibitors) and drugs.hepatitis_antivirals.
excluded_drugs AS (
  SELECT hospital_id, patient_id, date, end_date FROM read_parquet('{data}/drug/*.parquet')
  WHERE left(yj_code, 7) IN ('4291401', '4291403', '4291410', '4240406', '4240405', '4223401', '4223005', '4229101',
                             '4224403', '4240404', '4211401', '4235402', '4222400', '4291427', '4291435', '4291406',
                             '4291407', '4291045', '4291011', '4291003',
                             '4291413', '4291429', '4291436', '4291018', '4291017', '4291039', '4291027', '4291028',
                             '4291029', '4291064', '4291449', '4291450', '4291461', '4291463',
                             '6250041', '6250107', '6250113', '6250116', '6250029', '6250024', '6250045', '6250020')
),
-- procedures.radiotherapy: external beam or management fee, by K-code or receipt code.
radiotherapy AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/procedure/*.parquet')
  WHERE (code_system = 'kcode' AND left(code, 4) IN ('M001', 'M000'))
     OR (code_system = 'receipt' AND code IN ('180001099', '180000099'))
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
-- grades.ctcae_grade of each result (normal-baseline criteria: multiples of ULN above which
-- grades 1-4 start); unknown without a value.
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
grade_limits(item, g1, g2, g3, g4) AS (
  VALUES ('alt', 1.0, 3.0, 5.0, 20.0), ('ast', 1.0, 3.0, 5.0, 20.0), ('alp', 1.0, 2.5, 5.0, 20.0),
         ('ggt', 1.0, 2.5, 5.0, 20.0), ('total_bilirubin', 1.0, 1.5, 3.0, 10.0)
),
graded AS (
  SELECT l.*,
    CASE WHEN l.v IS NULL THEN NULL WHEN l.v > g.g4 * l.uln THEN 4 WHEN l.v > g.g3 * l.uln THEN 3
         WHEN l.v > g.g2 * l.uln THEN 2 WHEN l.v > g.g1 * l.uln THEN 1 ELSE 0 END AS ctcae
  FROM liver l JOIN grade_limits g USING (item)
),
-- Entry: the first prescription of the kind in 2014-01-01 .. 2022-03-31, inside observation (study.mid:30).
entries AS (
  SELECT e.*, p.sex, p.obs_start, p.obs_end, p.death_date
  FROM (SELECT c.cohort, c.kind, c.other, s.hospital_id, s.patient_id, min(s.date) AS idx
        FROM cohorts c JOIN statins s ON s.kind = c.kind
        WHERE s.date BETWEEN DATE '2014-01-01' AND DATE '2022-03-31' GROUP BY ALL) e
  JOIN patient p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.obs_start AND p.obs_end
),
steps AS (
  SELECT e.*,
    -- study.mid:31, observed 180 days before index
    coalesce(e.obs_start <= e.idx - 180, false) AS s1,
    -- study.mid:32, no statin supply covering a day of idx-180 .. idx-1 (overlapping)
    NOT EXISTS (SELECT 1 FROM statins s WHERE s.hospital_id = e.hospital_id AND s.patient_id = e.patient_id
                AND s.date <= e.idx - 1 AND s.end_date >= e.idx - 180) AS s2,
    -- study.mid:33, no product of the other kind dated on index
    NOT EXISTS (SELECT 1 FROM statins s WHERE s.hospital_id = e.hospital_id AND s.patient_id = e.patient_id
                AND s.kind = e.other AND s.date = e.idx) AS s3,
    -- study.mid:34, no anticancer drug or hepatitis antiviral covering a day of idx-180 .. idx,
    -- nor radiotherapy on one of them
    NOT EXISTS (SELECT 1 FROM excluded_drugs x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                AND x.date <= e.idx AND x.end_date >= e.idx - 180)
      AND NOT EXISTS (SELECT 1 FROM radiotherapy x WHERE x.hospital_id = e.hospital_id AND x.patient_id = e.patient_id
                      AND x.date BETWEEN e.idx - 180 AND e.idx) AS s4,
    -- study.mid:35 (16-21), for no test is a result of grade >= 2 on the last day with a result
    -- of that test in idx-180 .. idx
    NOT EXISTS (SELECT 1 FROM graded l WHERE l.hospital_id = e.hospital_id AND l.patient_id = e.patient_id
                AND l.ctcae >= 2 AND l.date = (SELECT max(x.date) FROM liver x WHERE x.hospital_id = e.hospital_id
                                                 AND x.patient_id = e.patient_id AND x.item = l.item
                                                 AND x.date BETWEEN e.idx - 180 AND e.idx)) AS s5,
    -- study.mid:36, observed 1 day after index
    coalesce(e.obs_end >= e.idx + 1, false) AS s6
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
-- End of follow-up (study.mid:37): index + 180, the first product of the other kind after
-- index, end of observation, death. index_drug: the members of the kind prescribed on index
-- (joined with ' + ' in alphabetical order).
members AS (
  SELECT p.*,
         least(p.idx + 180,
               (SELECT min(s.date) FROM statins s WHERE s.hospital_id = p.hospital_id AND s.patient_id = p.patient_id
                  AND s.kind = p.other AND s.date >= p.idx + 1),
               p.obs_end, p.death_date) AS end_day,
         (SELECT string_agg(DISTINCT s.member, ' + ' ORDER BY s.member) FROM statins s
          WHERE s.hospital_id = p.hospital_id AND s.patient_id = p.patient_id AND s.kind = p.kind AND s.date = p.idx) AS index_drug
  FROM passed p WHERE p.passed = 6
),
-- The outcomes (study.mid:46-59), each the first result in index + 1 .. end of CTCAE grade
-- >= g of any of the five tests, or of one.
outcomes(outcome, cohort, grade, item) AS (
  SELECT 'liver_g' || g, k || '_users', g, NULL FROM (VALUES (2), (3)) a(g), (VALUES ('brand'), ('generic')) b(k)
  UNION ALL
  SELECT t || '_g' || g, k || '_users', g, item
  FROM (VALUES ('alt', 'alt'), ('ast', 'ast'), ('alp', 'alp'), ('ggt', 'ggt'), ('tbil', 'total_bilirubin')) a(t, item),
       (VALUES (2), (3)) c(g), (VALUES ('brand'), ('generic')) b(k)
),
followed AS (
  SELECT o.outcome, m.*,
         (SELECT min(l.date) FROM graded l WHERE l.hospital_id = m.hospital_id AND l.patient_id = m.patient_id
            AND (o.item IS NULL OR l.item = o.item) AND l.ctcae >= o.grade AND l.date BETWEEN m.idx + 1 AND m.end_day) AS outcome_day
  FROM outcomes o JOIN members m USING (cohort)
),
-- Person-time: index + 1 .. the earlier of end and the outcome, both included.
risk AS (
  SELECT *, greatest(least(end_day, coalesce(outcome_day, end_day)) - idx, 0) AS days FROM followed
),
-- The three reports (study.mid: by_sex, each_test, by_product).
report_rows AS (
  SELECT 'by_sex' AS output, concat_ws('|', cohort, sex) AS stratum, *
  FROM risk WHERE outcome IN ('liver_g2', 'liver_g3')
  UNION ALL
  SELECT 'each_test', cohort, * FROM risk WHERE outcome NOT IN ('liver_g2', 'liver_g3')
  UNION ALL
  SELECT 'by_product', concat_ws('|', cohort, index_drug), *
  FROM risk WHERE outcome = 'liver_g2'
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
  SELECT 'run-site', '', 'outcome_' || o.outcome || '_in_' || o.cohort, count(r.outcome_day)
  FROM outcomes o LEFT JOIN risk r USING (outcome, cohort) GROUP BY ALL
)
SELECT output, stratum, count, CAST(n AS BIGINT) AS n FROM counts ORDER BY ALL

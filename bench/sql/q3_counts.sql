-- Benchmark 3 by hand: persons starting each drug class, by class, age band and sex.
WITH d AS (
  SELECT hospital_id, patient_id, date, substr(yj_code, 1, 7) AS ingredient FROM read_parquet('{data}/drug/*.parquet')
  WHERE yj_code IS NOT NULL
),
classes AS (
  SELECT * FROM (VALUES
    ('statin_users', ['2189015', '2189017', '2189016', '2189010', '2189011', '2189012']),
    ('ssri_users', ['1179041', '1179046', '1179039', '1179054']),
    ('antiplatelet_users', ['3399007', '3399008', '3399009', '3399002', '3399011', '3399001', '3999411']),
    ('anticoagulant_users', ['3332001', '3334401', '3339004', '3339003', '3339002', '3339001', '2190408']),
    ('corticosteroid_users', ['2456001', '2456405', '2456003', '2456400', '2454002', '2454405', '2452002', '2452400']),
    ('insulin_users', ['2492416', '2492419', '2492417', '2492415', '2492414', '2492418', '2492403'])
  ) AS t(cohort, ingredients)
),
firsts AS (
  SELECT c.cohort, d.hospital_id, d.patient_id, min(d.date) AS idx
  FROM d JOIN (SELECT cohort, unnest(ingredients) AS ingredient FROM classes) c USING (ingredient)
  GROUP BY ALL
)
SELECT f.cohort,
       (date_diff('year', p.birth_date, f.idx) - CASE WHEN strftime(f.idx, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END) // 10 * 10 AS age_band,
       p.sex, count(DISTINCT (f.hospital_id, f.patient_id)) AS persons
FROM firsts f JOIN read_parquet('{data}/patient/*.parquet') p USING (hospital_id, patient_id)
WHERE f.idx BETWEEN p.first_record_date AND p.last_record_date
GROUP BY ALL ORDER BY ALL

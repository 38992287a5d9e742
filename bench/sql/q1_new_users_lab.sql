-- Benchmark 1 by hand: statin new users, washout, dyslipidaemia, age, ALT exclusion, ALT outcome.
WITH statin AS (
  SELECT hospital_id, patient_id, CAST(date AS DATE) AS date FROM read_parquet('{data}/drug/*.parquet')
  WHERE substr(yj_code, 1, 7) IN ('2189015', '2189017', '2189016', '2189010', '2189011', '2189012')
),
entry AS (SELECT hospital_id, patient_id, min(date) AS idx FROM statin GROUP BY ALL),
alt AS (
  SELECT hospital_id, patient_id, date,
         value * CASE lower(unit) WHEN 'u/l' THEN 1.0 WHEN 'iu/l' THEN 1.0 END AS v
  FROM read_parquet('{data}/lab/*.parquet') WHERE analyte = '3B045'
    -- labs.alt is measured on blood specimens only (lab.specimen, JLAC10 characters 10-12)
    AND specimen IN ('019', '020', '022', '023')
),
base AS (
  SELECT e.*, p.sex, p.birth_date, p.first_record_date, least(p.last_record_date, coalesce(p.death_date, p.last_record_date)) AS last_day,
         CASE p.sex WHEN 'F' THEN 23.0 ELSE 42.0 END AS uln
  FROM entry e JOIN read_parquet('{data}/patient/*.parquet') p USING (hospital_id, patient_id)
  WHERE e.idx BETWEEN p.first_record_date AND p.last_record_date
),
members AS (
  SELECT b.* FROM base b
  WHERE b.first_record_date <= b.idx - INTERVAL 180 DAY
    AND NOT EXISTS (SELECT 1 FROM statin s WHERE s.hospital_id = b.hospital_id AND s.patient_id = b.patient_id
                    AND s.date BETWEEN b.idx - INTERVAL 180 DAY AND b.idx - INTERVAL 1 DAY)
    AND EXISTS (SELECT 1 FROM read_parquet('{data}/diagnosis/*.parquet') g
                WHERE g.hospital_id = b.hospital_id AND g.patient_id = b.patient_id AND g.icd10 LIKE 'E78%'
                  AND NOT g.suspected AND g.date BETWEEN b.idx - INTERVAL 365 DAY AND b.idx)
    AND date_diff('year', b.birth_date, b.idx) - CASE WHEN strftime(b.idx, '%m%d') < strftime(b.birth_date, '%m%d') THEN 1 ELSE 0 END >= 18
    AND NOT EXISTS (SELECT 1 FROM alt a WHERE a.hospital_id = b.hospital_id AND a.patient_id = b.patient_id
                    AND a.date BETWEEN b.idx - INTERVAL 180 DAY AND b.idx - INTERVAL 1 DAY AND a.v > 3 * b.uln)
),
outcomes AS (
  SELECT m.hospital_id, m.patient_id, min(a.date) AS outcome
  FROM members m JOIN alt a ON a.hospital_id = m.hospital_id AND a.patient_id = m.patient_id
  WHERE a.date BETWEEN m.idx + INTERVAL 1 DAY AND least(m.idx + INTERVAL 180 DAY, m.last_day) AND a.v > 3 * m.uln
  GROUP BY ALL
)
SELECT m.sex, count(*) AS persons, count(o.outcome) AS outcome_persons
FROM members m LEFT JOIN outcomes o USING (hospital_id, patient_id)
GROUP BY m.sex ORDER BY m.sex

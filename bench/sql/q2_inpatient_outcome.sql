-- Benchmark 2 by hand: heart-failure stays (diagnosis, IV treatment, natriuretic peptide, no
-- elective cardiac surgery, all within the stay).
WITH stays AS (
  SELECT v.hospital_id, v.patient_id, v.visit_id, v.start_date, v.end_date, p.sex
  FROM read_parquet('{data}/visit/*.parquet') v JOIN read_parquet('{data}/patient/*.parquet') p USING (hospital_id, patient_id)
  WHERE v.kind = 'inpatient' AND v.start_date BETWEEN p.first_record_date AND p.last_record_date
),
dx AS (SELECT hospital_id, patient_id, date FROM read_parquet('{data}/diagnosis/*.parquet') WHERE icd10 LIKE 'I50%' AND NOT suspected),
tx AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/drug/*.parquet')
  WHERE (yj_code LIKE '2139401%' AND kind = 'injection') OR yj_code LIKE '2179400%'
  UNION ALL
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/procedure/*.parquet')
  WHERE (code_system = 'kcode' AND (code LIKE 'J038%' OR code LIKE 'J042%'))
     OR (code_system = 'receipt' AND code IN ('140038099', '140038299', '140042099'))
),
np AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/lab/*.parquet')
  WHERE (analyte = '4Z271' AND value >= 100 OR analyte = '4Z272' AND value >= 400)
    -- labs.bnp and labs.nt_probnp: blood specimens only (lab.specimen, JLAC10 characters 10-12)
    AND specimen IN ('019', '020', '022', '023')
    AND lower(unit) IN ('pg/ml', 'ng/l')
),
surgery AS (
  SELECT hospital_id, patient_id, date FROM read_parquet('{data}/procedure/*.parquet')
  WHERE (code_system = 'kcode' AND (code LIKE 'K552%' OR code LIKE 'K555%'))
     OR (code_system = 'receipt' AND code IN ('150552099', '150552299', '150555099', '150555299'))
),
hf AS (
  SELECT DISTINCT s.hospital_id, s.patient_id, s.start_date, s.sex FROM stays s
  WHERE EXISTS (SELECT 1 FROM dx x WHERE x.hospital_id = s.hospital_id AND x.patient_id = s.patient_id AND x.date BETWEEN s.start_date AND s.end_date)
    AND EXISTS (SELECT 1 FROM tx x WHERE x.hospital_id = s.hospital_id AND x.patient_id = s.patient_id AND x.date BETWEEN s.start_date AND s.end_date)
    AND EXISTS (SELECT 1 FROM np x WHERE x.hospital_id = s.hospital_id AND x.patient_id = s.patient_id AND x.date BETWEEN s.start_date AND s.end_date)
    AND NOT EXISTS (SELECT 1 FROM surgery x WHERE x.hospital_id = s.hospital_id AND x.patient_id = s.patient_id AND x.date BETWEEN s.start_date AND s.end_date)
)
SELECT sex, count(DISTINCT (hospital_id, patient_id)) AS persons FROM hf GROUP BY sex ORDER BY sex

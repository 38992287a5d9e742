//! Small hand-built CDM data sets for end-to-end tests: every row written by hand, around
//! window boundaries, same-day events, duplicates, unmapped codes and other units, so the
//! expected persons can be worked out on paper.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use mid_compiler::cdm::Table;
use mid_compiler::dates;
use parquet::arrow::ArrowWriter;

/// Day number of `YYYY-MM-DD`.
pub fn d(s: &str) -> i32 {
    dates::parse(s).expect("a valid date in a fixture")
}

/// One patient row.
pub struct Patient {
    pub hospital: &'static str,
    pub id: i64,
    pub sex: &'static str,
    pub birth: i32,
    pub first: i32,
    pub last: i32,
    pub death: Option<i32>,
}

/// hospital, patient, visit id, kind, department, start, end
pub type VisitRow = (&'static str, i64, i64, &'static str, &'static str, i32, i32);
/// hospital, patient, source, date, icd10, suspected, main, dpc_category
pub type DiagnosisRow = (
    &'static str,
    i64,
    &'static str,
    i32,
    Option<&'static str>,
    bool,
    bool,
    Option<&'static str>,
);
/// hospital, patient, kind, setting, date, days_supply, yj_code
pub type DrugRow = (
    &'static str,
    i64,
    &'static str,
    &'static str,
    i32,
    i32,
    Option<&'static str>,
);
/// hospital, patient, date, jlac10, value, unit, ref_high
pub type LabRow = (
    &'static str,
    i64,
    i32,
    Option<&'static str>,
    Option<f64>,
    Option<&'static str>,
    Option<f64>,
);

#[derive(Default)]
pub struct Cdm {
    pub patients: Vec<Patient>,
    pub visits: Vec<VisitRow>,
    pub diagnoses: Vec<DiagnosisRow>,
    pub drugs: Vec<DrugRow>,
    pub labs: Vec<LabRow>,
    /// hospital, patient, code_system, code, date
    pub procedures: Vec<(&'static str, i64, &'static str, &'static str, i32)>,
}

fn s(v: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

impl Cdm {
    pub fn patient(
        &mut self,
        hospital: &'static str,
        id: i64,
        sex: &'static str,
        birth: &str,
        first: &str,
        last: &str,
    ) {
        self.patients.push(Patient {
            hospital,
            id,
            sex,
            birth: d(birth),
            first: d(first),
            last: d(last),
            death: None,
        });
    }

    /// Writes the six tables as Parquet under a new temporary directory.
    pub fn write(&self) -> PathBuf {
        let dir = tempfile::tempdir()
            .expect("a temporary directory")
            .keep()
            .join("cdm");
        let put = |t: Table, cols: Vec<ArrayRef>| {
            let schema = t.schema();
            let batch = RecordBatch::try_new(schema.clone(), cols)
                .expect("a fixture batch matches the contract");
            write_parquet(&dir.join(t.name()).join("H.parquet"), &batch);
        };
        let p = &self.patients;
        put(
            Table::Patient,
            vec![
                s(p.iter().map(|x| Some(x.hospital.to_string())).collect()),
                Arc::new(Int64Array::from(p.iter().map(|x| x.id).collect::<Vec<_>>())),
                s(p.iter().map(|x| Some(x.sex.to_string())).collect()),
                Arc::new(Date32Array::from(
                    p.iter().map(|x| x.birth).collect::<Vec<_>>(),
                )),
                Arc::new(Date32Array::from(
                    p.iter().map(|x| x.first).collect::<Vec<_>>(),
                )),
                Arc::new(Date32Array::from(
                    p.iter().map(|x| x.last).collect::<Vec<_>>(),
                )),
                Arc::new(Date32Array::from(
                    p.iter().map(|x| x.death).collect::<Vec<_>>(),
                )),
            ],
        );
        let v = &self.visits;
        put(
            Table::Visit,
            vec![
                s(v.iter().map(|x| Some(x.0.to_string())).collect()),
                Arc::new(Int64Array::from(v.iter().map(|x| x.1).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(v.iter().map(|x| x.2).collect::<Vec<_>>())),
                s(v.iter().map(|x| Some(x.3.to_string())).collect()),
                s(v.iter().map(|x| Some(x.4.to_string())).collect()),
                Arc::new(Date32Array::from(v.iter().map(|x| x.5).collect::<Vec<_>>())),
                Arc::new(Date32Array::from(v.iter().map(|x| x.6).collect::<Vec<_>>())),
                s(v.iter()
                    .map(|x| {
                        if x.3 == "inpatient" {
                            Some("alive".to_string())
                        } else {
                            None
                        }
                    })
                    .collect()),
            ],
        );
        let g = &self.diagnoses;
        put(
            Table::Diagnosis,
            vec![
                s(g.iter().map(|x| Some(x.0.to_string())).collect()),
                Arc::new(Int64Array::from(g.iter().map(|x| x.1).collect::<Vec<_>>())),
                s(g.iter().map(|x| Some(x.2.to_string())).collect()),
                Arc::new(Date32Array::from(g.iter().map(|x| x.3).collect::<Vec<_>>())),
                s(g.iter().map(|x| x.4.map(str::to_string)).collect()),
                s(g.iter().map(|_| None).collect()),
                s(g.iter()
                    .map(|x| Some(format!("L{}", x.4.unwrap_or("X"))))
                    .collect()),
                Arc::new(BooleanArray::from(
                    g.iter().map(|x| x.5).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    g.iter().map(|x| x.6).collect::<Vec<_>>(),
                )),
                s(g.iter().map(|x| x.7.map(str::to_string)).collect()),
                Arc::new(Int64Array::from(
                    g.iter().map(|_| None).collect::<Vec<Option<i64>>>(),
                )),
                Arc::new(Int32Array::from(
                    g.iter().map(|_| None).collect::<Vec<Option<i32>>>(),
                )),
            ],
        );
        let r = &self.drugs;
        put(
            Table::Drug,
            vec![
                s(r.iter().map(|x| Some(x.0.to_string())).collect()),
                Arc::new(Int64Array::from(r.iter().map(|x| x.1).collect::<Vec<_>>())),
                s(r.iter().map(|x| Some(x.2.to_string())).collect()),
                s(r.iter().map(|_| Some("order".to_string())).collect()),
                s(r.iter().map(|x| Some(x.3.to_string())).collect()),
                Arc::new(Date32Array::from(r.iter().map(|x| x.4).collect::<Vec<_>>())),
                Arc::new(Int32Array::from(r.iter().map(|x| x.5).collect::<Vec<_>>())),
                Arc::new(Date32Array::from(
                    r.iter().map(|x| x.4 + x.5 - 1).collect::<Vec<_>>(),
                )),
                s(r.iter().map(|x| x.6.map(str::to_string)).collect()),
                s(r.iter().map(|_| None).collect()),
                s(r.iter().map(|_| None).collect()),
                s(r.iter()
                    .map(|x| Some(format!("RX{}", x.6.unwrap_or("X"))))
                    .collect()),
                Arc::new(BooleanArray::from(
                    r.iter().map(|_| false).collect::<Vec<_>>(),
                )),
                s(r.iter().map(|_| None).collect()),
                Arc::new(Float64Array::from(
                    r.iter().map(|_| None).collect::<Vec<Option<f64>>>(),
                )),
                s(r.iter().map(|_| None).collect()),
                Arc::new(Int64Array::from(
                    r.iter().map(|_| None).collect::<Vec<Option<i64>>>(),
                )),
            ],
        );
        let l = &self.labs;
        put(
            Table::Lab,
            vec![
                s(l.iter().map(|x| Some(x.0.to_string())).collect()),
                Arc::new(Int64Array::from(l.iter().map(|x| x.1).collect::<Vec<_>>())),
                Arc::new(Date32Array::from(l.iter().map(|x| x.2).collect::<Vec<_>>())),
                s(l.iter().map(|x| x.3.map(str::to_string)).collect()),
                s(l.iter().map(|x| x.3.map(|j| j[..5].to_string())).collect()),
                s(l.iter()
                    .map(|x| x.3.map(|j| j[9..12].to_string()))
                    .collect()),
                s(l.iter()
                    .map(|x| Some(format!("LOC{}", x.3.map(|j| &j[..5]).unwrap_or("X"))))
                    .collect()),
                Arc::new(Float64Array::from(
                    l.iter().map(|x| x.4).collect::<Vec<_>>(),
                )),
                s(l.iter().map(|_| None).collect()),
                s(l.iter().map(|x| x.5.map(str::to_string)).collect()),
                Arc::new(Float64Array::from(
                    l.iter().map(|_| None).collect::<Vec<Option<f64>>>(),
                )),
                Arc::new(Float64Array::from(
                    l.iter().map(|x| x.6).collect::<Vec<_>>(),
                )),
                s(l.iter().map(|_| None).collect()),
                s(l.iter().map(|_| Some("outpatient".to_string())).collect()),
            ],
        );
        let q = &self.procedures;
        put(
            Table::Procedure,
            vec![
                s(q.iter().map(|x| Some(x.0.to_string())).collect()),
                Arc::new(Int64Array::from(q.iter().map(|x| x.1).collect::<Vec<_>>())),
                s(q.iter().map(|_| Some("claim".to_string())).collect()),
                s(q.iter().map(|_| Some("radiology".to_string())).collect()),
                s(q.iter().map(|x| Some(x.2.to_string())).collect()),
                s(q.iter().map(|x| Some(x.3.to_string())).collect()),
                Arc::new(Date32Array::from(q.iter().map(|x| x.4).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(
                    q.iter().map(|_| None).collect::<Vec<Option<i64>>>(),
                )),
            ],
        );
        dir
    }
}

pub fn write_parquet(path: &Path, batch: &RecordBatch) {
    std::fs::create_dir_all(path.parent().expect("a table directory"))
        .expect("create the table directory");
    let f = std::fs::File::create(path).expect("create a Parquet file");
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).expect("a Parquet writer");
    w.write(batch).expect("write a batch");
    w.close().expect("close the Parquet file");
}

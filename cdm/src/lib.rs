//! The common data model (CDM) contract as code: the six tables, their Arrow schemas and the
//! closed value sets of their coded columns, and the data set's `manifest.json` with its
//! fingerprints (`manifest`). Defined once here; the generator, the runtime's validator and
//! the type checker all read it, and share nothing else.

pub mod manifest;

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// Version of the data contract written into every data set's `manifest.json`.
pub const CDM_VERSION: &str = "1.1";

/// One of the six CDM tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Patient,
    Visit,
    Diagnosis,
    Drug,
    Lab,
    Procedure,
}

impl Table {
    /// All tables, in contract order.
    pub const ALL: [Table; 6] = [
        Table::Patient,
        Table::Visit,
        Table::Diagnosis,
        Table::Drug,
        Table::Lab,
        Table::Procedure,
    ];

    /// The table's name: its directory in a data set and its name in plans.
    pub fn name(self) -> &'static str {
        match self {
            Table::Patient => "patient",
            Table::Visit => "visit",
            Table::Diagnosis => "diagnosis",
            Table::Drug => "drug",
            Table::Lab => "lab",
            Table::Procedure => "procedure",
        }
    }

    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The contract's columns of this table, in order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Patient => PATIENT,
            Table::Visit => VISIT,
            Table::Diagnosis => DIAGNOSIS,
            Table::Drug => DRUG,
            Table::Lab => LAB,
            Table::Procedure => PROCEDURE,
        }
    }

    pub fn column(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// The Arrow schema of this table.
    pub fn schema(self) -> SchemaRef {
        self.schema_as(ColumnType::arrow)
    }

    /// The schema plans read this table with: the contract's, with text as `Utf8View`.
    /// Parquet strings then decode as views into the page (short codes inline, no copy)
    /// and code tests compare 16-byte views instead of materialised strings
    /// (docs/performance.md); the files themselves stay `Utf8`.
    pub fn scan_schema(self) -> SchemaRef {
        self.schema_as(ColumnType::scan_arrow)
    }

    fn schema_as(self, arrow: fn(ColumnType) -> DataType) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|c| Field::new(c.name, arrow(c.ty), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The logical type of a CDM column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    Text,
    Int64,
    Int32,
    Float64,
    Bool,
    Date,
}

impl ColumnType {
    pub fn arrow(self) -> DataType {
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Date => DataType::Date32,
        }
    }

    /// The type plans read the column as (see [`Table::scan_schema`]).
    pub fn scan_arrow(self) -> DataType {
        match self {
            ColumnType::Text => DataType::Utf8View,
            other => other.arrow(),
        }
    }
}

/// A column of the contract.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// The closed set of values of a coded column; `None` for free columns.
    pub values: Option<&'static [&'static str]>,
    pub doc: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        values: None,
        doc,
    }
}

const fn coded(
    name: &'static str,
    nullable: bool,
    values: &'static [&'static str],
    doc: &'static str,
) -> Column {
    Column {
        name,
        ty: ColumnType::Text,
        nullable,
        values: Some(values),
        doc,
    }
}

use ColumnType::*;

const HOSPITAL_ID: Column = col("hospital_id", Text, false, "hospital, e.g. H01");
const PATIENT_ID: Column = col(
    "patient_id",
    Int64,
    false,
    "patient, unique within the hospital",
);

pub const SEX_VALUES: &[&str] = &["M", "F", "U"];
pub const VISIT_KIND_VALUES: &[&str] = &["outpatient", "inpatient", "emergency"];
pub const DEPARTMENT_VALUES: &[&str] = &[
    "internal",
    "cardiology",
    "gastroenterology",
    "respiratory",
    "endocrinology",
    "neurology",
    "psychiatry",
    "oncology",
    "surgery",
    "cardiac_surgery",
    "orthopaedics",
    "emergency",
    "paediatrics",
    "obstetrics",
    "nephrology",
    "haematology",
    "dermatology",
    "radiology",
];
pub const DISCHARGE_STATUS_VALUES: &[&str] = &["alive", "died", "transfer"];
pub const DIAGNOSIS_SOURCE_VALUES: &[&str] = &["ehr", "discharge_summary", "claim", "dpc"];
pub const DPC_CATEGORY_VALUES: &[&str] = &[
    "01", "02", "11", "21", "31", "41", "42", "43", "44", "51", "52", "53", "54",
];
pub const DRUG_KIND_VALUES: &[&str] = &["prescription", "injection"];
pub const DRUG_RECORD_VALUES: &[&str] = &["order", "administration"];
/// A product's category in the MHLW list of generic drugs (後発医薬品): an originator
/// (先発医薬品, quasi-originators 準先発品 included), a generic (後発医薬品), or neither (e.g.
/// products listed before the categories existed, Kampo).
pub const PRODUCT_KIND_VALUES: &[&str] = &["brand", "generic", "other"];
pub const SETTING_VALUES: &[&str] = &["outpatient", "inpatient"];
pub const LAB_FLAG_VALUES: &[&str] = &["H", "L"];
pub const PROCEDURE_SOURCE_VALUES: &[&str] = &["ehr", "claim", "dpc"];
pub const PROCEDURE_CATEGORY_VALUES: &[&str] = &[
    "radiology",
    "physiology",
    "bacteriology",
    "surgery",
    "treatment",
    "management",
    "material",
];
pub const PROCEDURE_CODE_SYSTEM_VALUES: &[&str] = &["receipt", "kcode", "local"];

const PATIENT: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    coded("sex", false, SEX_VALUES, "M, F or U"),
    col("birth_date", Date, false, "date of birth"),
    col(
        "first_record_date",
        Date,
        false,
        "first date with any record at this hospital (start of observability)",
    ),
    col(
        "last_record_date",
        Date,
        false,
        "last date with any record (end of observability)",
    ),
    col(
        "death_date",
        Date,
        true,
        "in-hospital death; null when not known",
    ),
];

const VISIT: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    col(
        "visit_id",
        Int64,
        false,
        "visit, unique within the hospital",
    ),
    coded(
        "kind",
        false,
        VISIT_KIND_VALUES,
        "outpatient, inpatient or emergency",
    ),
    coded(
        "department",
        false,
        DEPARTMENT_VALUES,
        "clinical department",
    ),
    col("start_date", Date, false, "visit date or admission date"),
    col(
        "end_date",
        Date,
        false,
        "same as start for outpatient; discharge date for inpatient",
    ),
    coded(
        "discharge_status",
        true,
        DISCHARGE_STATUS_VALUES,
        "alive, died or transfer (inpatient only)",
    ),
];

const DIAGNOSIS: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    coded(
        "source",
        false,
        DIAGNOSIS_SOURCE_VALUES,
        "ehr, discharge_summary, claim or dpc",
    ),
    col("date", Date, false, "start-of-care / diagnosis date"),
    col(
        "icd10",
        Text,
        true,
        "ICD-10 without the dot; null where unmapped",
    ),
    col(
        "medis_code",
        Text,
        true,
        "MEDIS standard disease-name code (8 digits)",
    ),
    col("local_code", Text, true, "the hospital's own code"),
    col("suspected", Bool, false, "suspected / rule-out flag"),
    col("main", Bool, false, "main diagnosis"),
    coded(
        "dpc_category",
        true,
        DPC_CATEGORY_VALUES,
        "DPC Form 1 category",
    ),
    col("visit_id", Int64, true, "the visit this record belongs to"),
    col("claim_month", Int32, true, "YYYYMM for claims rows"),
];

const DRUG: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    coded("kind", false, DRUG_KIND_VALUES, "prescription or injection"),
    coded(
        "record",
        false,
        DRUG_RECORD_VALUES,
        "order or administration",
    ),
    coded("setting", false, SETTING_VALUES, "outpatient or inpatient"),
    col("date", Date, false, "start date"),
    col(
        "days_supply",
        Int32,
        false,
        "days covered (1 for a single injection)",
    ),
    col("end_date", Date, false, "date + days_supply - 1"),
    col("yj_code", Text, true, "12-character YJ code"),
    col("hot9", Text, true, "HOT9 product code"),
    col("receipt_code", Text, true, "9-digit receipt drug code"),
    col(
        "local_code",
        Text,
        false,
        "the hospital's own drug code (its order system's product master)",
    ),
    col(
        "generic_name_only",
        Bool,
        false,
        "ordered by generic name only, no product code known",
    ),
    coded(
        "product_kind",
        true,
        PRODUCT_KIND_VALUES,
        "brand, generic or other (MHLW list); null when no product is known",
    ),
    col("dose", Float64, true, "amount per day"),
    col("dose_unit", Text, true, "mg, tablet, mL, unit, ..."),
    col("visit_id", Int64, true, "the visit this record belongs to"),
];

const LAB: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    col("date", Date, false, "sampling date"),
    col(
        "jlac10",
        Text,
        true,
        "17-character JLAC10 code; null where unmapped",
    ),
    col("analyte", Text, true, "first 5 characters of jlac10"),
    col(
        "specimen",
        Text,
        true,
        "characters 10-12 of jlac10, the specimen (023 serum, 022 plasma, 019 whole blood, 001 urine)",
    ),
    col("local_code", Text, false, "the hospital's own test code"),
    col("value", Float64, true, "numeric result"),
    col("value_text", Text, true, "non-numeric result"),
    col("unit", Text, true, "unit as reported by the hospital"),
    col(
        "ref_low",
        Float64,
        true,
        "hospital reference range, low, in the reported unit",
    ),
    col(
        "ref_high",
        Float64,
        true,
        "hospital reference range, high, in the reported unit",
    ),
    coded("flag", true, LAB_FLAG_VALUES, "H, L or null"),
    coded("setting", false, SETTING_VALUES, "outpatient or inpatient"),
];

const PROCEDURE: &[Column] = &[
    HOSPITAL_ID,
    PATIENT_ID,
    coded(
        "source",
        false,
        PROCEDURE_SOURCE_VALUES,
        "ehr, claim or dpc",
    ),
    coded(
        "category",
        false,
        PROCEDURE_CATEGORY_VALUES,
        "radiology, physiology, bacteriology, surgery, treatment, management, material",
    ),
    coded(
        "code_system",
        false,
        PROCEDURE_CODE_SYSTEM_VALUES,
        "receipt, kcode or local",
    ),
    col("code", Text, false, "the procedure code"),
    col("date", Date, false, "date of the act"),
    col("visit_id", Int64, true, "the visit this record belongs to"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract as written in cdm.md, column by column: (name, arrow type, nullable).
    #[test]
    fn schemas_match_the_contract() {
        let text: Vec<String> = Table::ALL
            .iter()
            .map(|t| {
                let cols: Vec<String> = t
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {}{}",
                            f.name(),
                            f.data_type(),
                            if f.is_nullable() { "?" } else { "" }
                        )
                    })
                    .collect();
                format!("{}: {}", t, cols.join(", "))
            })
            .collect();
        insta::assert_snapshot!(text.join("\n"), @r"
        patient: hospital_id Utf8, patient_id Int64, sex Utf8, birth_date Date32, first_record_date Date32, last_record_date Date32, death_date Date32?
        visit: hospital_id Utf8, patient_id Int64, visit_id Int64, kind Utf8, department Utf8, start_date Date32, end_date Date32, discharge_status Utf8?
        diagnosis: hospital_id Utf8, patient_id Int64, source Utf8, date Date32, icd10 Utf8?, medis_code Utf8?, local_code Utf8?, suspected Boolean, main Boolean, dpc_category Utf8?, visit_id Int64?, claim_month Int32?
        drug: hospital_id Utf8, patient_id Int64, kind Utf8, record Utf8, setting Utf8, date Date32, days_supply Int32, end_date Date32, yj_code Utf8?, hot9 Utf8?, receipt_code Utf8?, local_code Utf8, generic_name_only Boolean, product_kind Utf8?, dose Float64?, dose_unit Utf8?, visit_id Int64?
        lab: hospital_id Utf8, patient_id Int64, date Date32, jlac10 Utf8?, analyte Utf8?, specimen Utf8?, local_code Utf8, value Float64?, value_text Utf8?, unit Utf8?, ref_low Float64?, ref_high Float64?, flag Utf8?, setting Utf8
        procedure: hospital_id Utf8, patient_id Int64, source Utf8, category Utf8, code_system Utf8, code Utf8, date Date32, visit_id Int64?
        ");
    }

    #[test]
    fn every_table_has_the_patient_key_first() {
        for t in Table::ALL {
            let cols = t.columns();
            assert_eq!(cols[0].name, "hospital_id", "{t}");
            assert_eq!(cols[1].name, "patient_id", "{t}");
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
    }
}

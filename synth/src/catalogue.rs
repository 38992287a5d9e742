//! The generator's code catalogue: lab items, drugs, diagnoses and procedures, with the
//! codes from `docs/reference/*.tsv`. Static tables, so rows carry `&'static str` and
//! nothing is allocated per row.

/// How a lab value is spread in the patient population (canonical unit).
#[derive(Clone, Copy)]
pub enum Dist {
    /// Normal with (male mean, female mean) and a standard deviation.
    Normal { mean_m: f64, mean_f: f64, sd: f64 },
    /// Lognormal with (male median, female median) and a geometric SD.
    LogNormal { med_m: f64, med_f: f64, gsd: f64 },
    /// Qualitative: reported in `value_text`.
    Qualitative,
}

/// One way of reporting an item: the spelling, the factor from the canonical unit and
/// the number of decimals the hospital's analyser prints.
#[derive(Clone, Copy)]
pub struct UnitOption {
    pub spelling: &'static str,
    pub factor: f64,
    pub decimals: i32,
}

const fn u(spelling: &'static str, factor: f64, decimals: i32) -> UnitOption {
    UnitOption {
        spelling,
        factor,
        decimals,
    }
}

/// A lab item the generator reports.
pub struct LabItem {
    pub key: &'static str,
    /// JLAC10 codes (17 characters, all with the same analyte) hospitals choose from.
    pub jlac10: &'static [&'static str],
    /// Unit families: a hospital picks one family, then one spelling inside it.
    pub families: &'static [&'static [UnitOption]],
    /// Reference interval in the canonical unit: (low M, high M, low F, high F).
    pub reference: (f64, f64, f64, f64),
    pub dist: Dist,
    /// Background values are kept inside these bounds (canonical unit) so that no
    /// background result meets an outcome threshold.
    pub bounds: (f64, f64),
}

macro_rules! lab {
    ($key:expr, [$($j:expr),+], [$($fam:expr),+], ($a:expr, $b:expr, $c:expr, $d:expr), $dist:expr, ($lo:expr, $hi:expr)) => {
        LabItem {
            key: $key,
            jlac10: &[$($j),+],
            families: &[$($fam),+],
            reference: ($a, $b, $c, $d),
            dist: $dist,
            bounds: ($lo, $hi),
        }
    };
}

const fn n(mean_m: f64, mean_f: f64, sd: f64) -> Dist {
    Dist::Normal { mean_m, mean_f, sd }
}
const fn ln(med_m: f64, med_f: f64, gsd: f64) -> Dist {
    Dist::LogNormal { med_m, med_f, gsd }
}

// Unit families shared by several items.
const U_PER_L: &[UnitOption] = &[u("U/L", 1.0, 0), u("IU/L", 1.0, 0), u("U/l", 1.0, 0)];
const MG_DL: &[UnitOption] = &[u("mg/dL", 1.0, 0), u("mg/dl", 1.0, 0)];
const MG_DL_1: &[UnitOption] = &[u("mg/dL", 1.0, 1), u("mg/dl", 1.0, 1)];
const MG_DL_2: &[UnitOption] = &[u("mg/dL", 1.0, 2), u("mg/dl", 1.0, 2)];
const G_DL: &[UnitOption] = &[u("g/dL", 1.0, 1), u("g/dl", 1.0, 1)];
const MMOL_L: &[UnitOption] = &[u("mmol/L", 1.0, 0), u("mEq/L", 1.0, 0)];
const MMOL_L_1: &[UnitOption] = &[u("mmol/L", 1.0, 1), u("mEq/L", 1.0, 1)];
const PERCENT: &[UnitOption] = &[u("%", 1.0, 1)];
const NG_ML_3: &[UnitOption] = &[u("ng/mL", 1.0, 3), u("ng/ml", 1.0, 3)];
const NG_ML_1: &[UnitOption] = &[u("ng/mL", 1.0, 1), u("ng/ml", 1.0, 1)];
const PG_ML: &[UnitOption] = &[u("pg/mL", 1.0, 1), u("pg/ml", 1.0, 1)];
const U_ML: &[UnitOption] = &[u("U/mL", 1.0, 0)];
const QUAL: &[UnitOption] = &[u("", 1.0, 0)];

/// Platelets: 10^4/uL (the Japanese habit) or 10^3/uL.
pub const PLT_10E4: &[UnitOption] = &[
    u("10^4/uL", 0.1, 1),
    u("x10^4/uL", 0.1, 1),
    u("10*4/uL", 0.1, 1),
    u("10^4/μL", 0.1, 1),
];
pub const PLT_10E3: &[UnitOption] = &[
    u("10^3/uL", 1.0, 0),
    u("x10^3/uL", 1.0, 0),
    u("10^3/μL", 1.0, 0),
];
/// White cells and absolute neutrophils: per microlitre or 10^3/uL.
pub const CELLS_PER_UL: &[UnitOption] = &[u("/uL", 1000.0, 0), u("/μL", 1000.0, 0)];
pub const CELLS_10E3: &[UnitOption] = &[
    u("10^3/uL", 1.0, 2),
    u("x10^3/uL", 1.0, 2),
    u("10^3/μL", 1.0, 2),
];
const RBC_10E4: &[UnitOption] = &[
    u("10^4/uL", 100.0, 0),
    u("x10^4/uL", 100.0, 0),
    u("10^4/μL", 100.0, 0),
];
const RBC_10E6: &[UnitOption] = &[u("10^6/uL", 1.0, 2)];

/// Index of each item in [`LABS`]; the generator refers to items by these constants.
pub mod item {
    pub const RBC: usize = 0;
    pub const WBC: usize = 1;
    pub const HB: usize = 2;
    pub const HT: usize = 3;
    pub const PLT: usize = 4;
    pub const NEUT_PCT: usize = 5;
    pub const NEUT_COUNT: usize = 6;
    pub const PT_INR: usize = 7;
    pub const PT_ACT: usize = 8;
    pub const D_DIMER: usize = 9;
    pub const TP: usize = 10;
    pub const ALB: usize = 11;
    pub const CK: usize = 12;
    pub const AST: usize = 13;
    pub const ALT: usize = 14;
    pub const LDH: usize = 15;
    pub const ALP: usize = 16;
    pub const GGT: usize = 17;
    pub const AMY: usize = 18;
    pub const LIPASE: usize = 19;
    pub const CRE: usize = 20;
    pub const BUN: usize = 21;
    pub const GLU: usize = 22;
    pub const HBA1C: usize = 23;
    pub const TG: usize = 24;
    pub const TC: usize = 25;
    pub const HDL: usize = 26;
    pub const LDL: usize = 27;
    pub const NA: usize = 28;
    pub const K: usize = 29;
    pub const CL: usize = 30;
    pub const CA: usize = 31;
    pub const TBIL: usize = 32;
    pub const DBIL: usize = 33;
    pub const CRP: usize = 34;
    pub const TSH: usize = 35;
    pub const FT4: usize = 36;
    pub const BNP: usize = 37;
    pub const NTPROBNP: usize = 38;
    pub const TNT: usize = 39;
    pub const TNI: usize = 40;
    pub const KL6: usize = 41;
    pub const SPD: usize = 42;
    pub const PH: usize = 43;
    pub const HCO3: usize = 44;
    pub const KETONE_3HB: usize = 45;
    pub const U_KETONE: usize = 46;
    pub const U_PROTEIN: usize = 47;
    pub const CEA: usize = 48;
    pub const CA19_9: usize = 49;
    pub const COUNT: usize = 50;
}

/// Every lab item, indexed by [`item`].
pub static LABS: [LabItem; item::COUNT] = [
    lab!(
        "rbc",
        ["2A020000001930101"],
        [RBC_10E4, RBC_10E6],
        (4.35, 5.55, 3.86, 4.92),
        n(4.6, 4.1, 0.5),
        (2.5, 6.5)
    ),
    lab!(
        "wbc",
        ["2A010000001930101"],
        [CELLS_PER_UL, CELLS_10E3],
        (3.3, 8.6, 3.3, 8.6),
        ln(6.0, 5.6, 1.3),
        (3.2, 14.0)
    ),
    lab!(
        "hemoglobin",
        ["2A030000001930101"],
        [G_DL],
        (13.7, 16.8, 11.6, 14.8),
        n(14.0, 12.4, 1.6),
        (7.5, 18.5)
    ),
    lab!(
        "hematocrit",
        ["2A040000001930102"],
        [PERCENT],
        (40.7, 50.1, 35.1, 44.4),
        n(42.0, 37.5, 4.5),
        (24.0, 55.0)
    ),
    lab!(
        "platelets",
        ["2A050000001930101"],
        [PLT_10E4, PLT_10E3],
        (158.0, 348.0, 158.0, 348.0),
        n(235.0, 245.0, 55.0),
        (115.0, 520.0)
    ),
    lab!(
        "neutrophil_pct",
        ["2A160000001930151", "2A160000001931051"],
        [PERCENT],
        (40.0, 75.0, 40.0, 75.0),
        n(60.0, 60.0, 8.0),
        (40.0, 85.0)
    ),
    lab!(
        "neutrophil_count",
        ["9Z001000001930151"],
        [CELLS_PER_UL, CELLS_10E3],
        (1.5, 7.5, 1.5, 7.5),
        Dist::Qualitative,
        (1.75, 11.0)
    ),
    lab!(
        "pt_inr",
        ["2B030000002231157", "2B030000002299957"],
        [&[u("", 1.0, 2), u("INR", 1.0, 2)]],
        (0.85, 1.15, 0.85, 1.15),
        n(1.0, 1.0, 0.08),
        (0.85, 1.4)
    ),
    lab!(
        "pt_activity",
        ["9Z007000002231153"],
        [PERCENT],
        (80.0, 120.0, 80.0, 120.0),
        n(98.0, 98.0, 12.0),
        (60.0, 130.0)
    ),
    lab!(
        "d_dimer",
        ["2B140000002206201", "2B140000002202301"],
        [&[u("ug/mL", 1.0, 2), u("μg/mL", 1.0, 2), u("mg/L", 1.0, 2)]],
        (0.0, 1.0, 0.0, 1.0),
        ln(0.45, 0.5, 1.5),
        (0.1, 0.9)
    ),
    lab!(
        "total_protein",
        ["3A010000002327101"],
        [G_DL],
        (6.6, 8.1, 6.6, 8.1),
        n(7.1, 7.1, 0.5),
        (5.0, 9.0)
    ),
    lab!(
        "albumin",
        ["3A015000002327101", "3A015000002399901"],
        [G_DL],
        (4.1, 5.1, 4.1, 5.1),
        n(4.0, 4.0, 0.45),
        (2.2, 5.3)
    ),
    lab!(
        "ck",
        ["3B010000002327201", "3B010000002327101"],
        [U_PER_L],
        (59.0, 248.0, 41.0, 153.0),
        ln(110.0, 80.0, 1.45),
        (25.0, 600.0)
    ),
    lab!(
        "ast",
        ["3B035000002327201", "3B035000002399901"],
        [U_PER_L],
        (13.0, 30.0, 13.0, 30.0),
        ln(23.0, 21.0, 1.3),
        (9.0, 70.0)
    ),
    lab!(
        "alt",
        ["3B045000002327201", "3B045000002327801"],
        [U_PER_L],
        (10.0, 42.0, 7.0, 23.0),
        ln(22.0, 15.0, 1.4),
        (6.0, 55.0)
    ),
    lab!(
        "ldh",
        ["3B050000002327901", "3B050000002327801"],
        [U_PER_L],
        (124.0, 222.0, 124.0, 222.0),
        n(190.0, 185.0, 32.0),
        (110.0, 380.0)
    ),
    lab!(
        "alp",
        ["3B070000002327501", "3B070000002327701"],
        [U_PER_L],
        (38.0, 113.0, 38.0, 113.0),
        ln(78.0, 74.0, 1.3),
        (30.0, 250.0)
    ),
    lab!(
        "ggt",
        ["3B090000002327101", "3B090000002399901"],
        [U_PER_L],
        (13.0, 64.0, 9.0, 32.0),
        ln(30.0, 19.0, 1.6),
        (7.0, 75.0)
    ),
    lab!(
        "amylase",
        ["3B160000002327101", "3B160000002399801"],
        [U_PER_L],
        (44.0, 132.0, 44.0, 132.0),
        ln(78.0, 78.0, 1.3),
        (30.0, 250.0)
    ),
    lab!(
        "lipase",
        ["3B180000002327101", "3B180000002327201"],
        [U_PER_L],
        (13.0, 55.0, 13.0, 55.0),
        ln(28.0, 28.0, 1.35),
        (8.0, 100.0)
    ),
    lab!(
        "creatinine",
        ["3C015000002327101", "3C015000002399901"],
        [MG_DL_2],
        (0.65, 1.07, 0.46, 0.79),
        ln(0.88, 0.64, 1.25),
        (0.35, 6.0)
    ),
    lab!(
        "bun",
        ["3C025000002327201", "3C025000002327101"],
        [MG_DL_1],
        (8.0, 20.0, 8.0, 20.0),
        ln(15.0, 14.0, 1.3),
        (5.0, 60.0)
    ),
    lab!(
        "glucose",
        ["3D010000002227101", "3D010000002327201"],
        [MG_DL],
        (73.0, 109.0, 73.0, 109.0),
        ln(102.0, 98.0, 1.15),
        (65.0, 350.0)
    ),
    lab!(
        "hba1c",
        ["3D046000001920402", "3D046000001906202"],
        [PERCENT],
        (4.9, 6.0, 4.9, 6.0),
        n(5.7, 5.7, 0.35),
        (4.3, 13.0)
    ),
    lab!(
        "triglycerides",
        ["3F015000002327101"],
        [MG_DL],
        (40.0, 234.0, 30.0, 117.0),
        ln(120.0, 95.0, 1.5),
        (30.0, 700.0)
    ),
    lab!(
        "total_cholesterol",
        ["3F050000002327101"],
        [MG_DL],
        (142.0, 248.0, 142.0, 248.0),
        n(192.0, 205.0, 32.0),
        (100.0, 330.0)
    ),
    lab!(
        "hdl_c",
        ["3F070000002327101"],
        [MG_DL],
        (38.0, 90.0, 48.0, 103.0),
        n(52.0, 63.0, 13.0),
        (22.0, 120.0)
    ),
    lab!(
        "ldl_c",
        ["3F077000002327101", "3F077000002391901"],
        [MG_DL],
        (65.0, 163.0, 65.0, 163.0),
        n(112.0, 120.0, 28.0),
        (40.0, 240.0)
    ),
    lab!(
        "sodium",
        ["3H010000002326101"],
        [MMOL_L],
        (138.0, 145.0, 138.0, 145.0),
        n(140.0, 140.0, 2.5),
        (126.0, 150.0)
    ),
    lab!(
        "potassium",
        ["3H015000002326101"],
        [MMOL_L_1],
        (3.6, 4.8, 3.6, 4.8),
        n(4.2, 4.2, 0.35),
        (3.0, 5.8)
    ),
    lab!(
        "chloride",
        ["3H020000002326101"],
        [MMOL_L],
        (101.0, 108.0, 101.0, 108.0),
        n(104.0, 104.0, 2.5),
        (92.0, 114.0)
    ),
    lab!(
        "calcium",
        ["3H030000002327101"],
        [MG_DL_1],
        (8.8, 10.1, 8.8, 10.1),
        n(9.2, 9.2, 0.35),
        (7.8, 10.8)
    ),
    lab!(
        "total_bilirubin",
        ["3J010000002327101"],
        [MG_DL_1],
        (0.4, 1.5, 0.4, 1.5),
        ln(0.7, 0.6, 1.35),
        (0.2, 1.9)
    ),
    lab!(
        "direct_bilirubin",
        ["3J015000002327101"],
        [MG_DL_1],
        (0.0, 0.3, 0.0, 0.3),
        ln(0.15, 0.13, 1.4),
        (0.0, 0.5)
    ),
    lab!(
        "crp",
        ["5C070000002306201", "5C070000002306301"],
        [MG_DL_2],
        (0.0, 0.14, 0.0, 0.14),
        ln(0.1, 0.1, 3.0),
        (0.01, 12.0)
    ),
    lab!(
        "tsh",
        ["4A055000002305301", "4A055000002305101"],
        [&[u("uIU/mL", 1.0, 2), u("μIU/mL", 1.0, 2), u("mIU/L", 1.0, 2)]],
        (0.5, 5.0, 0.5, 5.0),
        ln(1.6, 1.8, 1.6),
        (0.5, 4.2)
    ),
    lab!(
        "ft4",
        ["4B035000002305301", "4B035000002305101"],
        [&[u("ng/dL", 1.0, 2), u("ng/dl", 1.0, 2)]],
        (0.9, 1.7, 0.9, 1.7),
        n(1.25, 1.25, 0.14),
        (0.92, 1.65)
    ),
    lab!(
        "bnp",
        ["4Z271000002205201", "4Z271000002205101"],
        [PG_ML],
        (0.0, 18.4, 0.0, 18.4),
        ln(22.0, 25.0, 2.0),
        (2.0, 95.0)
    ),
    lab!(
        "nt_probnp",
        ["4Z272000002305301", "4Z272000002305201"],
        [&[u("pg/mL", 1.0, 0), u("pg/ml", 1.0, 0)]],
        (0.0, 125.0, 0.0, 125.0),
        ln(90.0, 100.0, 2.0),
        (10.0, 380.0)
    ),
    lab!(
        "troponin_t",
        ["5C093000002305101"],
        [NG_ML_3],
        (0.0, 0.014, 0.0, 0.014),
        ln(0.008, 0.007, 1.5),
        (0.003, 0.03)
    ),
    lab!(
        "troponin_i",
        ["5C094000002305101"],
        [NG_ML_3],
        (0.0, 0.04, 0.0, 0.04),
        ln(0.01, 0.009, 1.5),
        (0.002, 0.035)
    ),
    lab!(
        "kl_6",
        ["5C210000002305201", "5C210000002306201"],
        [U_ML],
        (0.0, 500.0, 0.0, 500.0),
        ln(250.0, 240.0, 1.35),
        (100.0, 470.0)
    ),
    lab!(
        "sp_d",
        ["3F253000002302301", "3F253000002305201"],
        [NG_ML_1],
        (0.0, 110.0, 0.0, 110.0),
        ln(45.0, 42.0, 1.5),
        (10.0, 100.0)
    ),
    lab!(
        "blood_gas_ph",
        ["3H080000001927051", "3H080000002027051"],
        [&[u("", 1.0, 2), u("pH", 1.0, 2)]],
        (7.35, 7.45, 7.35, 7.45),
        n(7.40, 7.40, 0.025),
        (7.34, 7.48)
    ),
    lab!(
        "bicarbonate",
        ["9Z005000001927054"],
        [MMOL_L_1],
        (22.0, 26.0, 22.0, 26.0),
        n(24.0, 24.0, 1.6),
        (20.0, 30.0)
    ),
    lab!(
        "ketone_3hb",
        ["3E045000002327153"],
        [&[u("umol/L", 1.0, 0), u("μmol/L", 1.0, 0)]],
        (0.0, 85.0, 0.0, 85.0),
        ln(40.0, 40.0, 1.7),
        (5.0, 300.0)
    ),
    lab!(
        "urine_ketone",
        ["1A990000000191158", "1A990000000190158"],
        [QUAL],
        (0.0, 0.0, 0.0, 0.0),
        Dist::Qualitative,
        (0.0, 0.0)
    ),
    lab!(
        "urine_protein_qual",
        ["1A010000000191111"],
        [QUAL],
        (0.0, 0.0, 0.0, 0.0),
        Dist::Qualitative,
        (0.0, 0.0)
    ),
    lab!(
        "cea",
        ["5D010000002305101", "5D010000002305301"],
        [NG_ML_1],
        (0.0, 5.0, 0.0, 5.0),
        ln(2.0, 1.7, 1.5),
        (0.5, 4.8)
    ),
    lab!(
        "ca19_9",
        ["5D130000002305101"],
        [&[u("U/mL", 1.0, 1), u("kU/L", 1.0, 1)]],
        (0.0, 37.0, 0.0, 37.0),
        ln(10.0, 11.0, 1.7),
        (1.0, 35.0)
    ),
];

/// Every unit spelling the generator can emit (documented in docs/synthetic-data.md; the
/// compiler's unit table is built from this list). Empty = no unit.
pub fn unit_spellings() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = LABS
        .iter()
        .flat_map(|l| l.families.iter())
        .flat_map(|f| f.iter())
        .map(|o| o.spelling)
        .filter(|s| !s.is_empty())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// A drug product: the YJ ingredient (7 characters), the product codes to pick from and
/// the typical daily dose.
pub struct Drug {
    pub key: &'static str,
    pub yj: &'static [&'static str],
    pub injection: bool,
    pub dose: f64,
    pub dose_unit: &'static str,
}

impl Drug {
    /// The products' category in the MHLW generic-drug list: the `*_generic` entries list
    /// generic products, every other entry the originator's.
    pub fn kind(&self) -> &'static str {
        if self.key.ends_with("_generic") {
            "generic"
        } else {
            "brand"
        }
    }
}

macro_rules! drug {
    ($key:expr, [$($y:expr),+], $inj:expr, $dose:expr, $unit:expr) => {
        Drug { key: $key, yj: &[$($y),+], injection: $inj, dose: $dose, dose_unit: $unit }
    };
}

pub mod drug {
    pub const THIAMAZOLE: usize = 0;
    pub const PTU: usize = 1;
    pub const ATORVA_BRAND: usize = 2;
    pub const ATORVA_GENERIC: usize = 3;
    pub const ROSUVA_BRAND: usize = 4;
    pub const ROSUVA_GENERIC: usize = 5;
    pub const PITAVA_BRAND: usize = 6;
    pub const PITAVA_GENERIC: usize = 7;
    pub const PRAVA_BRAND: usize = 8;
    pub const PRAVA_GENERIC: usize = 9;
    pub const PAROXETINE: usize = 10;
    pub const SERTRALINE: usize = 11;
    pub const ESCITALOPRAM: usize = 12;
    pub const DULOXETINE: usize = 13;
    pub const MILNACIPRAN: usize = 14;
    pub const ASPIRIN: usize = 15;
    pub const CLOPIDOGREL: usize = 16;
    pub const WARFARIN: usize = 17;
    pub const APIXABAN: usize = 18;
    pub const EDOXABAN: usize = 19;
    pub const HEPARIN: usize = 20;
    pub const FUROSEMIDE_INJ: usize = 21;
    pub const FUROSEMIDE_ORAL: usize = 22;
    pub const CARPERITIDE: usize = 23;
    pub const PREDNISOLONE: usize = 24;
    pub const MPSL_INJ: usize = 25;
    pub const DEXAMETHASONE_INJ: usize = 26;
    pub const CEFAZOLIN: usize = 27;
    pub const CEFMETAZOLE: usize = 28;
    pub const MEROPENEM: usize = 29;
    pub const TAZ_PIPC: usize = 30;
    pub const SBT_ABPC: usize = 31;
    pub const CEFTRIAXONE: usize = 32;
    pub const INSULIN_GLARGINE: usize = 33;
    pub const INSULIN_REGULAR: usize = 34;
    pub const LEVOTHYROXINE: usize = 35;
    pub const CISPLATIN: usize = 36;
    pub const CARBOPLATIN: usize = 37;
    pub const PACLITAXEL: usize = 38;
    pub const OXALIPLATIN: usize = 39;
    pub const FLUOROURACIL: usize = 40;
    pub const BEVACIZUMAB: usize = 41;
    pub const RAMUCIRUMAB: usize = 42;
    pub const ALTEPLASE: usize = 43;
    pub const EDARAVONE: usize = 44;
    pub const OZAGREL: usize = 45;
    pub const GABEXATE: usize = 46;
    pub const BOSENTAN: usize = 47;
    pub const AMBRISENTAN: usize = 48;
    pub const AMLODIPINE: usize = 49;
    pub const METFORMIN: usize = 50;
    pub const LANSOPRAZOLE: usize = 51;
    pub const LOXOPROFEN: usize = 52;
    pub const FILGRASTIM: usize = 53;
    // Prescribed from the second random stream (`Gen::extra`), so that adding them left
    // every earlier row as it was.
    pub const EMPAGLIFLOZIN: usize = 54;
    pub const DAPAGLIFLOZIN: usize = 55;
    pub const LUSEOGLIFLOZIN: usize = 56;
    pub const LEVOFLOXACIN: usize = 57;
    pub const RIVAROXABAN: usize = 58;
    pub const DABIGATRAN: usize = 59;
    pub const COUNT: usize = 60;
}

/// Every drug product, indexed by [`drug`]. Amlodipine, metformin, lansoprazole and
/// loxoprofen are not in drugs.tsv (common background drugs; codes plausible, not verified).
pub static DRUGS: [Drug; drug::COUNT] = [
    drug!(
        "thiamazole",
        ["2432001F1033", "2432001F2021"],
        false,
        15.0,
        "mg"
    ),
    drug!(
        "propylthiouracil",
        ["2432002F1046", "2432002F1054"],
        false,
        300.0,
        "mg"
    ),
    drug!(
        "atorvastatin_brand",
        ["2189015F1023", "2189015F2020"],
        false,
        10.0,
        "mg"
    ),
    drug!(
        "atorvastatin_generic",
        [
            "2189015F1058",
            "2189015F1082",
            "2189015F2054",
            "2189015F2089"
        ],
        false,
        10.0,
        "mg"
    ),
    drug!(
        "rosuvastatin_brand",
        ["2189017F1022", "2189017F2029"],
        false,
        2.5,
        "mg"
    ),
    drug!(
        "rosuvastatin_generic",
        ["2189017F1081", "2189017F1030", "2189017F2037"],
        false,
        2.5,
        "mg"
    ),
    drug!(
        "pitavastatin_brand",
        ["2189016F1028", "2189016F2024"],
        false,
        2.0,
        "mg"
    ),
    drug!(
        "pitavastatin_generic",
        ["2189016F1044", "2189016F2040"],
        false,
        2.0,
        "mg"
    ),
    drug!(
        "pravastatin_brand",
        ["2189010F1039", "2189010F2027"],
        false,
        10.0,
        "mg"
    ),
    drug!(
        "pravastatin_generic",
        ["2189010F2353", "2189010F1330"],
        false,
        10.0,
        "mg"
    ),
    drug!(
        "paroxetine",
        ["1179041F2021", "1179041F1025"],
        false,
        20.0,
        "mg"
    ),
    drug!(
        "sertraline",
        ["1179046F2024", "1179046F1028"],
        false,
        50.0,
        "mg"
    ),
    drug!("escitalopram", ["1179054F1022"], false, 10.0, "mg"),
    drug!(
        "duloxetine",
        ["1179052M1022", "1179052M2029"],
        false,
        40.0,
        "mg"
    ),
    drug!("milnacipran", ["1179040F1136"], false, 100.0, "mg"),
    drug!("aspirin", ["3399007H1021"], false, 100.0, "mg"),
    drug!(
        "clopidogrel",
        ["3399008F2021", "3399008F1025"],
        false,
        75.0,
        "mg"
    ),
    drug!(
        "warfarin",
        ["3332001F1024", "3332001F2020"],
        false,
        3.0,
        "mg"
    ),
    drug!(
        "apixaban",
        ["3339004F2025", "3339004F1029"],
        false,
        10.0,
        "mg"
    ),
    drug!(
        "edoxaban",
        ["3339002F3022", "3339002F2026"],
        false,
        60.0,
        "mg"
    ),
    drug!(
        "heparin",
        ["3334401A6123", "3334401A6018"],
        true,
        10000.0,
        "unit"
    ),
    drug!(
        "furosemide_injection",
        ["2139401A2137", "2139401A1033"],
        true,
        20.0,
        "mg"
    ),
    drug!(
        "furosemide_oral",
        ["2139005F1052", "2139005F2342"],
        false,
        40.0,
        "mg"
    ),
    drug!("carperitide", ["2179400D1022"], true, 3000.0, "ug"),
    drug!(
        "prednisolone",
        ["2456001F1310", "2456001F1400"],
        false,
        30.0,
        "mg"
    ),
    drug!(
        "methylprednisolone_injection",
        ["2456400D4074", "2456400D1067"],
        true,
        1000.0,
        "mg"
    ),
    drug!(
        "dexamethasone_injection",
        ["2454405H3027", "2454405H5020"],
        true,
        6.6,
        "mg"
    ),
    drug!(
        "cefazolin",
        ["6132401D3145", "6132401D3196"],
        true,
        3000.0,
        "mg"
    ),
    drug!(
        "cefmetazole",
        ["6132408F3059", "6132408F3172"],
        true,
        2000.0,
        "mg"
    ),
    drug!(
        "meropenem",
        ["6139400D2030", "6139400D3036"],
        true,
        3000.0,
        "mg"
    ),
    drug!(
        "piperacillin_tazobactam",
        ["6139505F4026", "6139505F4050"],
        true,
        13500.0,
        "mg"
    ),
    drug!(
        "ampicillin_sulbactam",
        ["6139504G1028", "6139504F2053"],
        true,
        12000.0,
        "mg"
    ),
    drug!(
        "ceftriaxone",
        ["6132419F2026", "6132419F2131"],
        true,
        2000.0,
        "mg"
    ),
    drug!("insulin_glargine", ["2492416G2024"], true, 10.0, "unit"),
    drug!(
        "insulin_human_regular",
        ["2492403A4051", "2492403A4043"],
        true,
        50.0,
        "unit"
    ),
    drug!(
        "levothyroxine",
        ["2431004F1056", "2431004F2052"],
        false,
        50.0,
        "ug"
    ),
    drug!(
        "cisplatin",
        ["4291401A3090", "4291401A2093"],
        true,
        120.0,
        "mg"
    ),
    drug!(
        "carboplatin",
        ["4291403A2084", "4291403A3080"],
        true,
        450.0,
        "mg"
    ),
    drug!(
        "paclitaxel",
        ["4240406A2038", "4240406A1031"],
        true,
        300.0,
        "mg"
    ),
    drug!(
        "oxaliplatin",
        ["4291410A2025", "4291410A1029"],
        true,
        150.0,
        "mg"
    ),
    drug!(
        "fluorouracil",
        ["4223401A4029", "4223401A3022"],
        true,
        600.0,
        "mg"
    ),
    drug!(
        "bevacizumab",
        ["4291413A2029", "4291413A1022"],
        true,
        500.0,
        "mg"
    ),
    drug!(
        "ramucirumab",
        ["4291429A2020", "4291429A1023"],
        true,
        600.0,
        "mg"
    ),
    drug!(
        "alteplase",
        ["3959402D1027", "3959402D1035"],
        true,
        36.0,
        "mg"
    ),
    drug!("edaravone", ["1190401A1023"], true, 60.0, "mg"),
    drug!("ozagrel", ["3999411D2028"], true, 160.0, "mg"),
    drug!(
        "gabexate",
        ["3999403D1221", "3999403D2023"],
        true,
        600.0,
        "mg"
    ),
    drug!("bosentan", ["2190026F1022"], false, 250.0, "mg"),
    drug!("ambrisentan", ["2190031F1023"], false, 10.0, "mg"),
    drug!(
        "amlodipine",
        ["2171022F1020", "2171022F2026"],
        false,
        5.0,
        "mg"
    ),
    drug!(
        "metformin",
        ["3962002F1020", "3962002F2027"],
        false,
        750.0,
        "mg"
    ),
    drug!(
        "lansoprazole",
        ["2329023F1020", "2329023F2026"],
        false,
        15.0,
        "mg"
    ),
    drug!(
        "loxoprofen",
        ["1149019F1020", "1149019F1560"],
        false,
        180.0,
        "mg"
    ),
    drug!(
        "filgrastim",
        ["3399405A1027", "3399405G2026"],
        true,
        75.0,
        "ug"
    ),
    drug!("empagliflozin", ["3969023F1023"], false, 10.0, "mg"),
    drug!("dapagliflozin", ["3969019F1027"], false, 5.0, "mg"),
    drug!("luseogliflozin", ["3969020F1020"], false, 2.5, "mg"),
    drug!("levofloxacin", ["6241013F2250"], false, 500.0, "mg"),
    drug!(
        "rivaroxaban",
        ["3339003F2020", "3339003F1024"],
        false,
        15.0,
        "mg"
    ),
    drug!(
        "dabigatran",
        ["3339001M2020", "3339001M1024"],
        false,
        300.0,
        "mg"
    ),
];

/// A procedure as the hospital records it: the fee-schedule code and a 9-digit receipt code.
pub struct Proc {
    pub key: &'static str,
    pub category: &'static str,
    pub kcode: &'static str,
    pub receipt: &'static str,
}

pub mod proc {
    pub const CT: usize = 0;
    pub const MRI: usize = 1;
    pub const XRAY: usize = 2;
    pub const ECG: usize = 3;
    pub const ECHO: usize = 4;
    pub const CAG: usize = 5;
    pub const PCI: usize = 6;
    pub const PCI_STENT: usize = 7;
    pub const CABG: usize = 8;
    pub const VALVE: usize = 9;
    pub const THROMBECTOMY: usize = 10;
    pub const HAEMATOMA: usize = 11;
    pub const DIALYSIS: usize = 12;
    pub const VENTILATION: usize = 13;
    pub const OXYGEN: usize = 14;
    pub const PERITONITIS_OP: usize = 15;
    pub const GASTRIC_SUTURE: usize = 16;
    pub const COLECTOMY: usize = 17;
    pub const COLOSTOMY: usize = 18;
    pub const ENDOSCOPY: usize = 19;
    pub const COLONOSCOPY: usize = 20;
    pub const RADIOTHERAPY: usize = 21;
    pub const GASTRECTOMY: usize = 22;
    pub const ULTRASOUND: usize = 23;
    pub const AORTIC_REPAIR: usize = 24;
    pub const BRONCHOSCOPY: usize = 25;
    pub const COUNT: usize = 26;
}

/// Procedures from procedures.tsv. CT is one fee code (E200) whatever the body region:
/// the receipt code does not encode the region either. Radiotherapy (M001) is filed under
/// `treatment`, the contract having no `radiotherapy` category.
pub static PROCS: [Proc; proc::COUNT] = [
    Proc {
        key: "ct",
        category: "radiology",
        kcode: "E200",
        receipt: "170011810",
    },
    Proc {
        key: "mri",
        category: "radiology",
        kcode: "E202",
        receipt: "170020110",
    },
    Proc {
        key: "xray",
        category: "radiology",
        kcode: "E002",
        receipt: "170000410",
    },
    Proc {
        key: "ecg",
        category: "physiology",
        kcode: "D208",
        receipt: "160068410",
    },
    Proc {
        key: "echo",
        category: "physiology",
        kcode: "D215-3",
        receipt: "160215399",
    },
    Proc {
        key: "coronary_angiography",
        category: "physiology",
        kcode: "D206-2",
        receipt: "160206299",
    },
    Proc {
        key: "pci",
        category: "surgery",
        kcode: "K546",
        receipt: "150546099",
    },
    Proc {
        key: "pci_stent",
        category: "surgery",
        kcode: "K549",
        receipt: "150549099",
    },
    Proc {
        key: "cabg",
        category: "surgery",
        kcode: "K552",
        receipt: "150552099",
    },
    Proc {
        key: "valve_replacement",
        category: "surgery",
        kcode: "K555",
        receipt: "150555099",
    },
    Proc {
        key: "stroke_thrombectomy",
        category: "surgery",
        kcode: "K178-4",
        receipt: "150178499",
    },
    Proc {
        key: "haematoma_evacuation",
        category: "surgery",
        kcode: "K164",
        receipt: "150164099",
    },
    Proc {
        key: "haemodialysis",
        category: "treatment",
        kcode: "J038",
        receipt: "140038099",
    },
    Proc {
        key: "mechanical_ventilation",
        category: "treatment",
        kcode: "J045",
        receipt: "140009310",
    },
    Proc {
        key: "oxygen",
        category: "treatment",
        kcode: "J024",
        receipt: "140005610",
    },
    Proc {
        key: "peritonitis_surgery",
        category: "surgery",
        kcode: "K639",
        receipt: "150639099",
    },
    Proc {
        key: "gastric_suture",
        category: "surgery",
        kcode: "K647",
        receipt: "150647099",
    },
    Proc {
        key: "colectomy",
        category: "surgery",
        kcode: "K719",
        receipt: "150719099",
    },
    Proc {
        key: "colostomy",
        category: "surgery",
        kcode: "K726",
        receipt: "150726099",
    },
    Proc {
        key: "upper_gi_endoscopy",
        category: "physiology",
        kcode: "D308",
        receipt: "160308099",
    },
    Proc {
        key: "colonoscopy",
        category: "physiology",
        kcode: "D313",
        receipt: "160313099",
    },
    Proc {
        key: "radiotherapy",
        category: "treatment",
        kcode: "M001",
        receipt: "180001099",
    },
    Proc {
        key: "gastrectomy",
        category: "surgery",
        kcode: "K655",
        receipt: "150655099",
    },
    Proc {
        key: "ultrasound",
        category: "physiology",
        kcode: "D215-2",
        receipt: "160072210",
    },
    Proc {
        key: "aortic_repair",
        category: "surgery",
        kcode: "K560",
        receipt: "150560099",
    },
    Proc {
        key: "bronchoscopy",
        category: "physiology",
        kcode: "D302",
        receipt: "160302099",
    },
];

/// Chronic background conditions: ICD-10 (never an outcome code), the department that
/// follows them, a prevalence weight by age group (<40, 40–64, ≥65) and the drugs they bring.
pub struct Chronic {
    pub icd10: &'static str,
    pub department: &'static str,
    pub prevalence: [f64; 3],
    pub drugs: &'static [usize],
}

pub static CHRONIC: &[Chronic] = &[
    Chronic {
        icd10: "I10",
        department: "internal",
        prevalence: [0.03, 0.25, 0.45],
        drugs: &[drug::AMLODIPINE],
    },
    Chronic {
        icd10: "E119",
        department: "endocrinology",
        prevalence: [0.01, 0.12, 0.18],
        drugs: &[drug::METFORMIN],
    },
    Chronic {
        icd10: "E785",
        department: "internal",
        prevalence: [0.02, 0.15, 0.2],
        drugs: &[],
    },
    Chronic {
        icd10: "K219",
        department: "gastroenterology",
        prevalence: [0.04, 0.08, 0.1],
        drugs: &[drug::LANSOPRAZOLE],
    },
    Chronic {
        icd10: "M170",
        department: "orthopaedics",
        prevalence: [0.0, 0.05, 0.15],
        drugs: &[drug::LOXOPROFEN],
    },
    Chronic {
        icd10: "N184",
        department: "nephrology",
        prevalence: [0.0, 0.03, 0.08],
        drugs: &[],
    },
    Chronic {
        icd10: "I48",
        department: "cardiology",
        prevalence: [0.0, 0.02, 0.08],
        drugs: &[drug::APIXABAN],
    },
    Chronic {
        icd10: "J449",
        department: "respiratory",
        prevalence: [0.0, 0.02, 0.06],
        drugs: &[],
    },
    Chronic {
        icd10: "I693",
        department: "neurology",
        prevalence: [0.0, 0.01, 0.05],
        drugs: &[drug::CLOPIDOGREL],
    },
    Chronic {
        icd10: "I209",
        department: "cardiology",
        prevalence: [0.0, 0.02, 0.05],
        drugs: &[drug::ASPIRIN],
    },
    Chronic {
        icd10: "F329",
        department: "psychiatry",
        prevalence: [0.03, 0.03, 0.02],
        drugs: &[],
    },
    Chronic {
        icd10: "M810",
        department: "orthopaedics",
        prevalence: [0.0, 0.02, 0.08],
        drugs: &[],
    },
];

/// Reasons for a background visit or stay: ICD-10 (none is an outcome code) and department.
pub static ACUTE_OUTPATIENT: &[(&str, &str)] = &[
    ("J069", "internal"),
    ("J209", "internal"),
    ("A099", "gastroenterology"),
    ("R51", "neurology"),
    ("M545", "orthopaedics"),
    ("L309", "dermatology"),
    ("R05", "respiratory"),
    ("N390", "nephrology"),
    ("R101", "gastroenterology"),
    ("S934", "orthopaedics"),
    ("H109", "internal"),
    ("R42", "neurology"),
];

pub static ACUTE_INPATIENT: &[(&str, &str)] = &[
    ("J189", "respiratory"),
    ("J690", "respiratory"),
    ("N390", "nephrology"),
    ("A419", "internal"),
    ("K800", "gastroenterology"),
    ("K810", "surgery"),
    ("S7200", "orthopaedics"),
    ("K358", "surgery"),
    ("M4806", "orthopaedics"),
    ("K922", "gastroenterology"),
    ("H251", "internal"),
    ("E86", "internal"),
];

/// Emergency-visit reasons for background patients.
pub static ACUTE_EMERGENCY: &[(&str, &str)] = &[
    ("R509", "emergency"),
    ("S0600", "emergency"),
    ("R074", "emergency"),
    ("T784", "emergency"),
    ("R55", "emergency"),
];

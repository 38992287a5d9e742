//! Planted outcomes, look-alikes and drug signals, with the truth table rows that say
//! which patient carries which. Every rate and rule here is in docs/synthetic-data.md.
//!
//! Rule: background data never meets an outcome definition (no outcome ICD-10 codes,
//! lab values bounded away from thresholds), so every qualifying event is planted here.

use super::catalogue::{drug, item, proc};
use super::patients::{Gen, Setting, Stay, length_of_stay};
use super::rng::Rand;
use super::signals;

/// Per-patient rate of each planted case episode (each outcome).
pub const CASE_RATE: f64 = 0.0013;
/// Share of true cases planted with one evidence item missing.
pub const INCOMPLETE_SHARE: f64 = 0.05;

/// A planted episode: one per patient at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Episode {
    HfCase,
    HfChronic,
    HfTestJustification,
    HfElectiveSurgery,
    CiCase,
    CiChronic,
    CiRuleOut,
    ChCase,
    ChChronic,
    ChRuleOut,
    GpCase,
    GpRuleOut,
    GpChronic,
    IldCase,
    IldRadiation,
    IldTestJustification,
    IldChemoSteroids,
    IldChronic,
    AcsCase,
    AcsChronic,
    AcsRuleOut,
    PeCase,
    PeRuleOut,
    PeTestJustification,
    DkaCase,
    DkaClaims,
    DkaRuleOut,
    HypoCase,
    HypoTestJustification,
    HypoChronic,
    NeutChemo,
    NeutBackground,
    NeutTestJustification,
    NeutNearMiss,
    NeutLowPercent,
    PancCase,
    PancRuleOut,
    PancChronic,
    BoCase,
    BoRuleOut,
    BoChronic,
    AdCase,
    AdChronic,
    AdRuleOut,
    MalCase,
    MalRuleOut,
    MalTestJustification,
    Antithyroid,
    Statin,
    Antidepressant,
    Pah,
    Vegf,
}

use Episode::*;

const L: f64 = 0.0007;

/// Every episode with its per-patient rate.
pub static EPISODES: &[(Episode, f64)] = &[
    (HfCase, CASE_RATE),
    (HfChronic, 0.0006),
    (HfTestJustification, 0.0005),
    (HfElectiveSurgery, 0.0005),
    (CiCase, CASE_RATE),
    (CiChronic, L),
    (CiRuleOut, L),
    (ChCase, CASE_RATE),
    (ChChronic, L),
    (ChRuleOut, L),
    (GpCase, CASE_RATE),
    (GpRuleOut, L),
    (GpChronic, L),
    (IldCase, CASE_RATE),
    (IldRadiation, 0.0004),
    (IldTestJustification, 0.0004),
    (IldChemoSteroids, 0.0004),
    (IldChronic, 0.0004),
    (AcsCase, CASE_RATE),
    (AcsChronic, L),
    (AcsRuleOut, L),
    (PeCase, CASE_RATE),
    (PeRuleOut, L),
    (PeTestJustification, L),
    (DkaCase, CASE_RATE),
    (DkaClaims, L),
    (DkaRuleOut, L),
    (HypoCase, CASE_RATE),
    (HypoTestJustification, L),
    (HypoChronic, L),
    (NeutChemo, 0.0010),
    (NeutBackground, 0.0003),
    (NeutTestJustification, 0.0005),
    (NeutNearMiss, 0.0005),
    (NeutLowPercent, 0.0005),
    (PancCase, CASE_RATE),
    (PancRuleOut, L),
    (PancChronic, L),
    (BoCase, CASE_RATE),
    (BoRuleOut, L),
    (BoChronic, L),
    (AdCase, CASE_RATE),
    (AdChronic, L),
    (AdRuleOut, L),
    (MalCase, CASE_RATE),
    (MalRuleOut, L),
    (MalTestJustification, L),
    (Antithyroid, 0.012),
    (Statin, 0.02),
    (Antidepressant, 0.01),
    (Pah, 0.002),
    (Vegf, 0.004),
];

/// What an episode needs of the patient's observability.
#[derive(Default, Clone, Copy)]
pub struct Needs {
    /// Days observed before the episode.
    pub lookback: i32,
    /// Days observed after it.
    pub follow_up: i32,
    pub min_age: i64,
    /// The episode starts at the patient's first record (no clean period before it).
    pub at_start: bool,
}

impl Episode {
    pub fn needs(self) -> Needs {
        let (lookback, follow_up, min_age) = match self {
            IldCase | IldRadiation => (200, 120, 20),
            HypoCase => (200, 220, 20),
            Statin => (200, 400, 30),
            Antidepressant => (200, 200, 18),
            Antithyroid => (30, 400, 18),
            Pah => (30, 400, 20),
            Vegf | NeutChemo | IldChemoSteroids | MalCase => (30, 400, 35),
            HfChronic | CiChronic | ChChronic | GpChronic | AcsChronic | DkaClaims
            | PancChronic | BoChronic | AdChronic => (0, 400, 40),
            IldChronic | HypoChronic => (0, 400, 30),
            _ => (0, 60, 30),
        };
        Needs {
            lookback,
            follow_up,
            min_age,
            at_start: matches!(self, IldChronic | HypoChronic),
        }
    }
}

/// Draws the patient's planted episode, if any (one draw, so episodes never overlap).
pub fn choose(r: &mut Rand) -> Option<Episode> {
    let mut x = r.f64();
    for (e, rate) in EPISODES {
        if x < *rate {
            return Some(*e);
        }
        x -= rate;
    }
    None
}

pub(crate) fn truth(g: &mut Gen, outcome: &str, role: &str, kind: &str, day: i32) {
    let t = &mut g.out.truth;
    t.hospital_id.append_value(&g.h.id);
    t.patient_id.append_value(g.pid);
    t.outcome.append_value(outcome);
    t.role.append_value(role);
    t.kind.append_value(kind);
    t.date.append_value(day);
}

/// A true case: `inpatient_case` (or the given kind), or `incomplete_evidence` for the
/// ~5 % planted with one evidence item missing. Returns whether evidence is complete.
fn case(g: &mut Gen, outcome: &str, kind: &str, day: i32) -> bool {
    let incomplete = g.r.chance(INCOMPLETE_SHARE);
    truth(
        g,
        outcome,
        "case",
        if incomplete {
            "incomplete_evidence"
        } else {
            kind
        },
        day,
    );
    !incomplete
}

pub(crate) fn lookalike(g: &mut Gen, outcome: &str, kind: &str, day: i32) {
    truth(g, outcome, "lookalike", kind, day);
}

/// An acute stay with its DPC/ehr diagnoses and an admission blood count and chemistry.
pub(crate) fn acute_stay(
    g: &mut Gen,
    day: i32,
    dept: &str,
    icd10: &str,
    comorbid: &[&str],
    median_los: f64,
) -> Stay {
    let los = length_of_stay(&mut g.r, median_los);
    let s = g.stay(dept, day, los, false);
    g.stay_diagnoses(s, icd10, comorbid);
    g.cbc(s.start, Setting::Inpatient, None, None, false);
    g.chemistry(s.start, Setting::Inpatient);
    s
}

/// Monthly outpatient follow-up with a claim row of `icd10` every month: a chronic
/// disease recorded again and again (the commonest look-alike). Returns the first day.
#[allow(clippy::too_many_arguments)]
fn claims_monthly(
    g: &mut Gen,
    day: i32,
    months: i32,
    dept: &str,
    icd10: &str,
    suspected: bool,
    rx: Option<usize>,
    evidence_rx: bool,
) -> i32 {
    let mut d = day;
    for k in 0..months {
        if d > g.period.1 {
            break;
        }
        let v = g.outpatient(dept, d);
        if k == 0 {
            g.ehr(d, icd10, suspected, v, true);
        }
        g.claim(d, icd10, suspected, true, v);
        if let Some(x) = rx {
            g.prescribe(x, d, 28, v, evidence_rx && k == 0);
        }
        d += 28 + g.r.range(0, 6) as i32;
    }
    day
}

pub(crate) fn pick(g: &mut Gen, codes: &[&'static str]) -> &'static str {
    let i = g.r.range(0, codes.len() as i64 - 1) as usize;
    codes[i]
}

/// A cancer course: C-code on two days, treatment within 180 days. Writes the
/// malignancy truth row (kind `cancer_course`) and returns the treatment start day.
pub(crate) fn cancer_course(g: &mut Gen, day: i32, icd10: &str) -> i32 {
    truth(g, "malignancy", "case", "cancer_course", day);
    let v = g.outpatient("oncology", day);
    g.ehr(day, icd10, false, v, true);
    g.claim(day, icd10, false, true, v);
    g.lab_bg(item::CEA, day, Setting::Outpatient);
    let d2 = day + g.r.range(7, 21) as i32;
    let v2 = g.outpatient("oncology", d2);
    g.claim(d2, icd10, false, true, v2);
    g.ehr(d2, icd10, false, v2, true);
    d2 + g.r.range(7, 20) as i32
}

/// Chemotherapy cycles every 21 days: a stay day per cycle with the drugs, blood count
/// before each cycle. `nadir` = Some(cycle) plants ANC ≤ 1,500 before that cycle.
fn chemo_cycles(
    g: &mut Gen,
    start: i32,
    cycles: i32,
    drugs: &[usize],
    dex: bool,
    nadir: Option<i32>,
    icd10: &str,
) -> Option<i32> {
    let mut low_day = None;
    for c in 0..cycles {
        let d = start + 21 * c;
        if d > g.period.1 - 2 {
            break;
        }
        let s = g.stay("oncology", d, 1, false);
        g.dx(
            "dpc",
            d,
            icd10,
            false,
            true,
            Some("11"),
            Some(s.visit),
            true,
        );
        let anc = if nadir == Some(c) {
            let a = 0.3 + 1.1 * g.r.f64();
            low_day = Some(d);
            Some(a)
        } else {
            None
        };
        let wbc = anc.map(|a| (a / (0.3 + 0.3 * g.r.f64())).max(a + 0.5));
        g.cbc(d, Setting::Inpatient, anc, wbc, anc.is_some());
        g.chemistry(d, Setting::Inpatient);
        for &x in drugs {
            // The first cycle is always mapped; later ones follow the hospital's mapping.
            g.inject(x, s, d, 1, c == 0);
        }
        if dex {
            g.inject(drug::DEXAMETHASONE_INJ, s, d, 1, true);
        }
        if anc.is_some() {
            g.inject(drug::FILGRASTIM, s, d, 1, true);
        }
    }
    low_day
}

/// Writes the planted episode `e` around `day`.
pub fn plant(g: &mut Gen, e: Episode, day: i32) {
    match e {
        HfCase => {
            let icd = pick(g, &["I500", "I501", "I509"]);
            let s = acute_stay(g, day, "cardiology", icd, &["I10"], 16.0);
            let complete = case(g, "heart_failure", "inpatient_case", day);
            let drop = if complete { 9 } else { g.r.range(0, 1) };
            if drop != 0 {
                match g.r.range(0, 9) {
                    0..=6 => g.inject(drug::FUROSEMIDE_INJ, s, s.start, 5, true),
                    7 | 8 => g.inject(drug::CARPERITIDE, s, s.start, 4, true),
                    _ => {
                        g.procedure(proc::DIALYSIS, s.start + 1, Some(s.visit), true, true);
                        g.inject(drug::FUROSEMIDE_INJ, s, s.start, 2, true);
                    }
                }
            } else {
                g.inject(drug::FUROSEMIDE_ORAL, s, s.start, 5, true);
            }
            if drop != 1 {
                if g.r.chance(0.7) {
                    let v = 150.0 + 1500.0 * g.r.f64();
                    g.lab(item::BNP, s.start, v, Setting::Inpatient, true);
                } else {
                    let v = 800.0 + 8000.0 * g.r.f64();
                    g.lab(item::NTPROBNP, s.start, v, Setting::Inpatient, true);
                }
            }
            g.procedure(proc::XRAY, s.start, Some(s.visit), true, false);
            g.procedure(proc::ECHO, s.start + 1, Some(s.visit), true, false);
            if g.r.chance(0.1) {
                g.procedure(proc::VENTILATION, s.start, Some(s.visit), true, false);
            }
        }
        HfChronic => {
            lookalike(g, "heart_failure", "chronic_rerecorded", day);
            let months = g.r.range(8, 24) as i32;
            claims_monthly(
                g,
                day,
                months,
                "cardiology",
                "I509",
                false,
                Some(drug::FUROSEMIDE_ORAL),
                false,
            );
            let v = 120.0 + 200.0 * g.r.f64();
            g.lab(item::BNP, day, v, Setting::Outpatient, false);
        }
        HfTestJustification => {
            lookalike(g, "heart_failure", "test_justification", day);
            let v = g.outpatient("internal", day);
            g.ehr(day, "I509", false, v, true);
            g.claim(day, "I509", false, false, v);
            let b = 10.0 + 70.0 * g.r.f64();
            g.lab(item::BNP, day, b, Setting::Outpatient, true);
        }
        HfElectiveSurgery => {
            lookalike(g, "heart_failure", "elective_cardiac_surgery", day);
            let main = pick(g, &["I350", "I251"]);
            let s = acute_stay(g, day, "cardiac_surgery", main, &["I509"], 20.0);
            g.ehr(s.start, "I509", false, s.visit, true);
            let op = if main == "I350" {
                proc::VALVE
            } else {
                proc::CABG
            };
            g.procedure(op, s.start + 1, Some(s.visit), true, true);
            g.inject(drug::FUROSEMIDE_INJ, s, s.start + 2, 4, true);
            let b = 150.0 + 400.0 * g.r.f64();
            g.lab(item::BNP, s.start, b, Setting::Inpatient, true);
        }
        CiCase => {
            let icd = pick(g, &["I630", "I633", "I634", "I639"]);
            let s = acute_stay(g, day, "neurology", icd, &["I10"], 18.0);
            let complete = case(g, "cerebral_infarction", "inpatient_case", day);
            let drop = if complete { 9 } else { g.r.range(0, 1) };
            if drop != 0 {
                let img = if g.r.chance(0.7) { proc::MRI } else { proc::CT };
                g.procedure(img, s.start, Some(s.visit), true, true);
            }
            if drop != 1 {
                match g.r.range(0, 9) {
                    0 | 1 => g.inject(drug::ALTEPLASE, s, s.start, 1, true),
                    2 => g.procedure(proc::THROMBECTOMY, s.start, Some(s.visit), true, true),
                    3..=6 => g.inject(drug::EDARAVONE, s, s.start, 7, true),
                    7 => g.inject(drug::OZAGREL, s, s.start, 7, true),
                    _ => g.inject(drug::CLOPIDOGREL, s, s.start, 10, true),
                }
            }
        }
        CiChronic => {
            lookalike(g, "cerebral_infarction", "chronic_rerecorded", day);
            let months = g.r.range(8, 24) as i32;
            claims_monthly(
                g,
                day,
                months,
                "neurology",
                "I639",
                false,
                Some(drug::CLOPIDOGREL),
                false,
            );
        }
        CiRuleOut => {
            lookalike(g, "cerebral_infarction", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "I639", true, v, true);
            g.claim(day, "I639", true, true, v);
            g.procedure(proc::MRI, day, Some(v), false, true);
        }
        ChCase => {
            let icd = pick(g, &["I610", "I611", "I619"]);
            let s = acute_stay(g, day, "neurology", icd, &["I10"], 20.0);
            if case(g, "cerebral_haemorrhage", "inpatient_case", day) {
                g.procedure(proc::CT, s.start, Some(s.visit), true, true);
            } else {
                g.procedure(proc::XRAY, s.start, Some(s.visit), true, false);
            }
            if g.r.chance(0.2) {
                g.procedure(proc::HAEMATOMA, s.start, Some(s.visit), true, true);
            }
        }
        ChChronic => {
            lookalike(g, "cerebral_haemorrhage", "chronic_rerecorded", day);
            let months = g.r.range(8, 24) as i32;
            claims_monthly(g, day, months, "neurology", "I619", false, None, false);
        }
        ChRuleOut => {
            lookalike(g, "cerebral_haemorrhage", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "I619", true, v, true);
            g.claim(day, "I619", true, true, v);
            g.procedure(proc::CT, day, Some(v), false, true);
        }
        GpCase => {
            let icd = pick(g, &["K251", "K265", "K631", "K572"]);
            let s = acute_stay(g, day, "surgery", icd, &["K650"], 20.0);
            let complete = case(g, "gi_perforation", "inpatient_case", day);
            let drop = if complete { 9 } else { g.r.range(0, 2) };
            if drop != 0 {
                g.procedure(proc::CT, s.start, Some(s.visit), true, true);
            }
            if drop != 1 {
                let abx =
                    *g.r.pick(&[drug::CEFMETAZOLE, drug::MEROPENEM, drug::TAZ_PIPC]);
                g.inject(abx, s, s.start, 7, true);
            }
            if drop != 2 {
                let op = match icd {
                    "K251" | "K265" => *g.r.pick(&[proc::GASTRIC_SUTURE, proc::PERITONITIS_OP]),
                    _ => {
                        *g.r.pick(&[proc::COLECTOMY, proc::COLOSTOMY, proc::PERITONITIS_OP])
                    }
                };
                g.procedure(op, s.start, Some(s.visit), true, true);
            }
        }
        GpRuleOut => {
            lookalike(g, "gi_perforation", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "K631", true, v, true);
            g.claim(day, "K631", true, true, v);
            g.procedure(proc::CT, day, Some(v), false, true);
        }
        GpChronic => {
            lookalike(g, "gi_perforation", "chronic_rerecorded", day);
            let months = g.r.range(6, 18) as i32;
            claims_monthly(
                g,
                day,
                months,
                "gastroenterology",
                "K255",
                false,
                Some(drug::LANSOPRAZOLE),
                false,
            );
        }
        IldCase => {
            let icd = pick(g, &["J841", "J849"]);
            let complete = case(g, "interstitial_pneumonia", "first_diagnosis", day);
            let drop = if complete { 9 } else { g.r.range(0, 1) };
            claims_monthly(g, day, 6, "respiratory", icd, false, None, false);
            if drop != 0 {
                let d = day + g.r.range(0, 14) as i32;
                g.outpatient("respiratory", d);
                if g.r.chance(0.7) {
                    let x = 600.0 + 2000.0 * g.r.f64();
                    g.lab(item::KL6, d, x, Setting::Outpatient, true);
                } else {
                    let x = 130.0 + 300.0 * g.r.f64();
                    g.lab(item::SPD, d, x, Setting::Outpatient, true);
                }
            }
            if drop != 1 {
                let d = day + g.r.range(0, 21) as i32;
                let v = g.outpatient("respiratory", d);
                for k in 0..4 {
                    g.prescribe(drug::PREDNISOLONE, d + 28 * k, 28, v, k == 0);
                }
            }
            g.procedure(proc::CT, day, None, false, false);
            if g.r.chance(0.3) {
                g.procedure(proc::BRONCHOSCOPY, day + 7, None, false, false);
            }
        }
        IldRadiation => {
            lookalike(g, "interstitial_pneumonia", "radiation_pneumonitis", day);
            let start = day - 150;
            let t = cancer_course(g, start, "C349");
            for k in 0..20 {
                g.procedure(proc::RADIOTHERAPY, t + k + (k / 5) * 2, None, false, true);
            }
            let v = g.outpatient("respiratory", day);
            g.ehr(day, "J849", false, v, true);
            g.claim(day, "J849", false, true, v);
            g.dx("ehr", day, "J701", false, false, None, Some(v), true);
            let x = 250.0 + 200.0 * g.r.f64();
            g.lab(item::KL6, day, x, Setting::Outpatient, true);
            let y = 30.0 + 60.0 * g.r.f64();
            g.lab(item::SPD, day, y, Setting::Outpatient, true);
            g.prescribe(drug::PREDNISOLONE, day + 1, 28, v, true);
        }
        IldTestJustification => {
            lookalike(g, "interstitial_pneumonia", "test_justification", day);
            let v = g.outpatient("respiratory", day);
            g.ehr(day, "J849", false, v, true);
            g.claim(day, "J849", false, false, v);
            let x = 200.0 + 250.0 * g.r.f64();
            g.lab(item::KL6, day, x, Setting::Outpatient, true);
        }
        IldChemoSteroids => {
            lookalike(g, "interstitial_pneumonia", "chemo_steroids", day + 30);
            let icd = pick(g, &["C349", "C509", "C189"]);
            let t = cancer_course(g, day - 20, icd);
            chemo_cycles(
                g,
                t,
                4,
                &[drug::CARBOPLATIN, drug::PACLITAXEL],
                true,
                None,
                icd,
            );
            let v = g.outpatient("oncology", day + 30);
            g.ehr(day + 30, "J849", true, v, true);
            g.claim(day + 30, "J849", true, false, v);
        }
        IldChronic => {
            // ILD codes from the patient's first record on: no clean period before.
            lookalike(
                g,
                "interstitial_pneumonia",
                "chronic_rerecorded",
                g.period.0.max(day),
            );
            let months = g.r.range(12, 30) as i32;
            claims_monthly(
                g,
                day,
                months,
                "respiratory",
                "J841",
                false,
                Some(drug::PREDNISOLONE),
                true,
            );
            let x = 700.0 + 900.0 * g.r.f64();
            g.lab(item::KL6, day, x, Setting::Outpatient, true);
        }
        AcsCase => {
            let icd = pick(g, &["I210", "I211", "I214", "I219", "I200", "I249"]);
            let s = acute_stay(g, day, "cardiology", icd, &["I10"], 12.0);
            g.procedure(proc::ECG, s.start, Some(s.visit), true, false);
            if case(g, "acute_coronary_syndrome", "inpatient_case", day) {
                let mode = g.r.range(0, 2);
                if mode != 1 {
                    if g.r.chance(0.8) {
                        let t = 0.15 + 3.0 * g.r.f64();
                        g.lab(item::TNT, s.start, t, Setting::Inpatient, true);
                    } else {
                        let t = 0.5 + 20.0 * g.r.f64();
                        g.lab(item::TNI, s.start, t, Setting::Inpatient, true);
                    }
                }
                if mode != 0 {
                    g.procedure(proc::CAG, s.start, Some(s.visit), true, true);
                    let p = *g.r.pick(&[proc::PCI, proc::PCI_STENT]);
                    g.procedure(p, s.start, Some(s.visit), true, true);
                }
            }
            g.inject(drug::HEPARIN, s, s.start, 2, false);
        }
        AcsChronic => {
            lookalike(g, "acute_coronary_syndrome", "chronic_rerecorded", day);
            let months = g.r.range(8, 24) as i32;
            let dept =
                *g.r.pick(&["orthopaedics", "internal", "nephrology", "gastroenterology"]);
            claims_monthly(
                g,
                day,
                months,
                dept,
                "I219",
                false,
                Some(drug::ASPIRIN),
                false,
            );
        }
        AcsRuleOut => {
            lookalike(g, "acute_coronary_syndrome", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "I219", true, v, true);
            g.claim(day, "I219", true, true, v);
            g.procedure(proc::ECG, day, Some(v), false, true);
            let t = 0.003 + 0.008 * g.r.f64();
            g.lab(item::TNT, day, t, Setting::Outpatient, true);
        }
        PeCase => {
            let icd = pick(g, &["I260", "I269"]);
            let s = acute_stay(g, day, "respiratory", icd, &[], 12.0);
            let complete = case(g, "pulmonary_embolism", "inpatient_case", day);
            let drop = if complete { 9 } else { g.r.range(0, 2) };
            if drop != 0 {
                g.procedure(proc::CT, s.start, Some(s.visit), true, true);
            }
            if drop != 1 {
                let dd = 2.0 + 25.0 * g.r.f64();
                g.lab(item::D_DIMER, s.start, dd, Setting::Inpatient, true);
            }
            if drop != 2 {
                g.inject(drug::HEPARIN, s, s.start, 5, true);
                let doac = *g.r.pick(&[drug::APIXABAN, drug::EDOXABAN]);
                g.inject(doac, s, s.start + 5, 3, true);
            }
        }
        PeRuleOut => {
            lookalike(g, "pulmonary_embolism", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "I269", true, v, true);
            g.claim(day, "I269", true, true, v);
            g.procedure(proc::CT, day, Some(v), false, true);
            let dd = 0.5 + 2.0 * g.r.f64();
            g.lab(item::D_DIMER, day, dd, Setting::Outpatient, true);
        }
        PeTestJustification => {
            lookalike(g, "pulmonary_embolism", "test_justification", day);
            let v = g.outpatient("internal", day);
            g.ehr(day, "I269", false, v, true);
            g.claim(day, "I269", false, false, v);
            let dd = 0.2 + 0.6 * g.r.f64();
            g.lab(item::D_DIMER, day, dd, Setting::Outpatient, true);
        }
        DkaCase => {
            let icd = pick(g, &["E101", "E111", "E131", "E141"]);
            let s = acute_stay(g, day, "endocrinology", icd, &[], 10.0);
            let complete = case(g, "ketoacidosis", "inpatient_case", day);
            let drop = if complete { 9 } else { g.r.range(0, 2) };
            if drop != 0 {
                let ph = 6.95 + 0.3 * g.r.f64();
                g.lab(item::PH, s.start, ph, Setting::Inpatient, true);
                let hco3 = 4.0 + 12.0 * g.r.f64();
                g.lab(item::HCO3, s.start, hco3, Setting::Inpatient, true);
            }
            if drop != 1 {
                if g.r.chance(0.7) {
                    let t = *g.r.pick(&["(2+)", "(3+)"]);
                    g.lab_text(item::U_KETONE, s.start, t, Setting::Inpatient, true);
                } else {
                    let k = 3500.0 + 6000.0 * g.r.f64();
                    g.lab(item::KETONE_3HB, s.start, k, Setting::Inpatient, true);
                }
            }
            if drop != 2 {
                g.inject(drug::INSULIN_REGULAR, s, s.start, 3, true);
            }
            let glu = 350.0 + 400.0 * g.r.f64();
            g.lab(item::GLU, s.start, glu, Setting::Inpatient, true);
        }
        DkaClaims => {
            lookalike(g, "ketoacidosis", "chronic_rerecorded", day);
            let months = g.r.range(8, 24) as i32;
            claims_monthly(
                g,
                day,
                months,
                "endocrinology",
                "E111",
                false,
                Some(drug::METFORMIN),
                false,
            );
        }
        DkaRuleOut => {
            lookalike(g, "ketoacidosis", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "E111", true, v, true);
            g.claim(day, "E111", true, true, v);
            let ph = 7.36 + 0.08 * g.r.f64();
            g.lab(item::PH, day, ph, Setting::Outpatient, true);
            let hco3 = 22.0 + 4.0 * g.r.f64();
            g.lab(item::HCO3, day, hco3, Setting::Outpatient, true);
            let t = *g.r.pick(&["(-)", "(+-)"]);
            g.lab_text(item::U_KETONE, day, t, Setting::Outpatient, true);
        }
        HypoCase => {
            let icd = pick(g, &["E039", "E038", "E032"]);
            let complete = case(g, "hypothyroidism", "first_diagnosis", day);
            let drop = if complete { 9 } else { g.r.range(0, 1) };
            let v = g.outpatient("endocrinology", day);
            g.ehr(day, icd, false, v, true);
            g.claim(day, icd, false, true, v);
            if drop != 0 {
                let tsh = 9.0 + 50.0 * g.r.f64();
                g.lab(item::TSH, day, tsh, Setting::Outpatient, true);
                let ft4 = 0.3 + 0.5 * g.r.f64();
                g.lab(item::FT4, day, ft4, Setting::Outpatient, true);
            }
            if drop != 1 {
                let d = day + g.r.range(0, 21) as i32;
                let v2 = g.outpatient("endocrinology", d);
                for k in 0..4 {
                    g.prescribe(drug::LEVOTHYROXINE, d + 56 * k, 56, v2, k == 0);
                }
                claims_monthly(g, d + 28, 3, "endocrinology", icd, false, None, false);
            }
        }
        HypoTestJustification => {
            lookalike(g, "hypothyroidism", "test_justification", day);
            let v = g.outpatient("internal", day);
            g.ehr(day, "E039", true, v, true);
            g.claim(day, "E039", true, false, v);
            let tsh = 0.8 + 3.0 * g.r.f64();
            g.lab(item::TSH, day, tsh, Setting::Outpatient, true);
        }
        HypoChronic => {
            lookalike(g, "hypothyroidism", "chronic_rerecorded", day);
            let months = g.r.range(12, 30) as i32;
            claims_monthly(
                g,
                day,
                months,
                "endocrinology",
                "E039",
                false,
                Some(drug::LEVOTHYROXINE),
                true,
            );
            let tsh = 1.0 + 2.5 * g.r.f64();
            g.lab(item::TSH, day, tsh, Setting::Outpatient, true);
        }
        NeutChemo => {
            let icd = pick(g, &["C349", "C509", "C189", "C169"]);
            let t = cancer_course(g, day - 20, icd);
            let nadir = g.r.range(1, 3) as i32;
            let drugs: &[usize] = if icd == "C189" {
                &[drug::OXALIPLATIN, drug::FLUOROURACIL]
            } else {
                &[drug::CARBOPLATIN, drug::PACLITAXEL]
            };
            if let Some(low) = chemo_cycles(g, t, 4, drugs, false, Some(nadir), icd) {
                truth(g, "neutropenia", "case", "chemotherapy", low);
            }
        }
        NeutBackground => {
            g.outpatient("haematology", day);
            let a = 0.4 + 1.0 * g.r.f64();
            let w = (a / (0.3 + 0.25 * g.r.f64())).max(a + 0.6);
            g.cbc(day, Setting::Outpatient, Some(a), Some(w), true);
            truth(g, "neutropenia", "case", "background", day);
        }
        NeutTestJustification => {
            lookalike(g, "neutropenia", "test_justification", day);
            let v = g.outpatient("haematology", day);
            g.ehr(day, "D70", false, v, true);
            g.claim(day, "D70", false, false, v);
            let a = 2.2 + 2.5 * g.r.f64();
            let w = a / (0.5 + 0.2 * g.r.f64());
            g.cbc(day, Setting::Outpatient, Some(a), Some(w), true);
        }
        NeutNearMiss => {
            lookalike(g, "neutropenia", "near_miss", day);
            g.outpatient("internal", day);
            let w = 2.6 + 0.6 * g.r.f64();
            let a = (1.65 + 0.3 * g.r.f64()).min(w * 0.75);
            g.cbc(day, Setting::Outpatient, Some(a), Some(w), true);
        }
        NeutLowPercent => {
            lookalike(g, "neutropenia", "low_percent_high_wbc", day);
            g.outpatient("internal", day);
            let w = 8.0 + 6.0 * g.r.f64();
            let pct = 0.2 + 0.1 * g.r.f64();
            g.cbc(day, Setting::Outpatient, Some(w * pct), Some(w), true);
        }
        PancCase => {
            let icd = pick(g, &["K850", "K851", "K852", "K859"]);
            let s = acute_stay(g, day, "gastroenterology", icd, &[], 14.0);
            if case(g, "acute_pancreatitis", "inpatient_case", day) {
                if g.r.chance(0.7) {
                    let a = 132.0 * (3.5 + 8.0 * g.r.f64());
                    g.lab(item::AMY, s.start, a, Setting::Inpatient, true);
                } else {
                    let l = 55.0 * (3.5 + 10.0 * g.r.f64());
                    g.lab(item::LIPASE, s.start, l, Setting::Inpatient, true);
                }
            }
            g.inject(drug::GABEXATE, s, s.start, 5, true);
            g.procedure(proc::CT, s.start, Some(s.visit), true, true);
        }
        PancRuleOut => {
            lookalike(g, "acute_pancreatitis", "rule_out", day);
            let v = g.outpatient("gastroenterology", day);
            g.ehr(day, "K859", true, v, true);
            g.claim(day, "K859", true, true, v);
            let a = 60.0 + 150.0 * g.r.f64();
            g.lab(item::AMY, day, a, Setting::Outpatient, true);
        }
        PancChronic => {
            lookalike(g, "acute_pancreatitis", "chronic_rerecorded", day);
            let months = g.r.range(6, 18) as i32;
            claims_monthly(
                g,
                day,
                months,
                "gastroenterology",
                "K859",
                false,
                None,
                false,
            );
            let a = 60.0 + 150.0 * g.r.f64();
            g.lab(item::AMY, day, a, Setting::Outpatient, true);
        }
        BoCase => {
            let icd = pick(g, &["K560", "K565", "K567"]);
            let s = acute_stay(g, day, "surgery", icd, &[], 12.0);
            if case(g, "bowel_obstruction", "inpatient_case", day) {
                let img = if g.r.chance(0.6) {
                    proc::XRAY
                } else {
                    proc::CT
                };
                g.procedure(img, s.start, Some(s.visit), true, true);
            }
        }
        BoRuleOut => {
            lookalike(g, "bowel_obstruction", "rule_out", day);
            let v = g.outpatient("gastroenterology", day);
            g.ehr(day, "K567", true, v, true);
            g.claim(day, "K567", true, true, v);
            g.procedure(proc::XRAY, day, Some(v), false, true);
        }
        BoChronic => {
            lookalike(g, "bowel_obstruction", "chronic_rerecorded", day);
            let months = g.r.range(6, 18) as i32;
            claims_monthly(g, day, months, "surgery", "K567", false, None, false);
        }
        AdCase => {
            let s = acute_stay(g, day, "cardiac_surgery", "I710", &["I10"], 21.0);
            if case(g, "arterial_dissection", "inpatient_case", day) {
                g.procedure(proc::CT, s.start, Some(s.visit), true, true);
            }
            if g.r.chance(0.4) {
                g.procedure(proc::AORTIC_REPAIR, s.start, Some(s.visit), true, true);
            }
        }
        AdChronic => {
            lookalike(g, "arterial_dissection", "chronic_rerecorded", day);
            let months = g.r.range(13, 30) as i32;
            claims_monthly(
                g,
                day,
                months,
                "cardiology",
                "I710",
                false,
                Some(drug::AMLODIPINE),
                false,
            );
            for y in 0..(months / 12) {
                let d = day + 365 * y + 10;
                if d < g.period.1 {
                    let v = g.outpatient("cardiology", d);
                    g.procedure(proc::CT, d, Some(v), false, true);
                }
            }
        }
        AdRuleOut => {
            lookalike(g, "arterial_dissection", "rule_out", day);
            let v = g.emergency(day);
            g.ehr(day, "I710", true, v, true);
            g.claim(day, "I710", true, true, v);
            g.procedure(proc::CT, day, Some(v), false, true);
        }
        MalCase => {
            let icd = pick(g, &["C169", "C189", "C20", "C349", "C509", "C61", "C220"]);
            let t = cancer_course(g, day, icd);
            match g.r.range(0, 2) {
                0 => {
                    let drugs: &[usize] = &[drug::CISPLATIN, drug::FLUOROURACIL];
                    chemo_cycles(g, t, 3, drugs, false, None, icd);
                }
                1 => {
                    for k in 0..15 {
                        g.procedure(proc::RADIOTHERAPY, t + k + (k / 5) * 2, None, false, true);
                    }
                }
                _ => {
                    let s = acute_stay(g, t, "surgery", icd, &[], 14.0);
                    let op = if icd == "C169" {
                        proc::GASTRECTOMY
                    } else {
                        proc::COLECTOMY
                    };
                    g.procedure(op, s.start + 1, Some(s.visit), true, true);
                }
            }
        }
        MalRuleOut => {
            lookalike(g, "malignancy", "rule_out", day);
            let icd = pick(g, &["C169", "C189", "C349"]);
            let v = g.outpatient("gastroenterology", day);
            g.ehr(day, icd, true, v, true);
            g.claim(day, icd, true, true, v);
            g.lab_bg(item::CEA, day, Setting::Outpatient);
            g.lab_bg(item::CA19_9, day, Setting::Outpatient);
            let d = day + g.r.range(7, 30) as i32;
            let v2 = g.outpatient("gastroenterology", d);
            g.claim(d, icd, true, true, v2);
            let p = if icd == "C189" {
                proc::COLONOSCOPY
            } else {
                proc::ENDOSCOPY
            };
            g.procedure(p, d, Some(v2), false, true);
        }
        MalTestJustification => {
            lookalike(g, "malignancy", "test_justification", day);
            let icd = pick(g, &["C169", "C189", "C250"]);
            let v = g.outpatient("internal", day);
            g.ehr(day, icd, false, v, true);
            g.claim(day, icd, false, false, v);
            g.lab_bg(item::CEA, day, Setting::Outpatient);
        }
        Antithyroid => signals::antithyroid(g, day),
        Statin => signals::statin(g, day),
        Antidepressant => signals::antidepressant(g, day),
        Pah => signals::pah(g, day),
        Vegf => signals::vegf(g, day),
    }
}

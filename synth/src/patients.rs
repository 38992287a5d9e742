//! One patient's timeline: demographics, observability, background visits, stays,
//! diagnoses, prescriptions and lab panels, written straight into the chunk's builders.
//! Planted outcomes (outcomes.rs) use the same emitters.

use std::fmt::Write as _;

use super::calendar;
use super::catalogue::{self as cat, Dist, LABS, drug, item, proc};
use super::hospitals::{Hospital, NeutrophilMode};
use super::outcomes;
use super::rng::{Rand, round_to};
use super::writer::ChunkRows;

/// Kinds of observability window (see docs/synthetic-data.md).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Span {
    OneOff,
    Middle,
    Chronic,
}

pub const SPAN_WEIGHTS: [f64; 3] = [0.55, 0.30, 0.15];

/// Where a record was made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Outpatient,
    Inpatient,
}

impl Setting {
    fn name(self) -> &'static str {
        match self {
            Setting::Outpatient => "outpatient",
            Setting::Inpatient => "inpatient",
        }
    }
}

/// An inpatient stay being filled.
#[derive(Clone, Copy)]
pub struct Stay {
    pub visit: i64,
    pub start: i32,
    pub end: i32,
}

/// The generator's state for one patient.
pub struct Gen<'a> {
    pub h: &'a Hospital,
    pub r: Rand,
    /// A second stream, for what was added to the generator later (SGLT2 inhibitors,
    /// levofloxacin): drawing it leaves the first stream, and so every earlier row, as it was.
    pub extra: Rand,
    pub out: &'a mut ChunkRows,
    pub pid: i64,
    pub sex: &'static str,
    pub male: bool,
    pub birth: i32,
    pub period: (i32, i32),
    first: i32,
    last: i32,
    visit_seq: i64,
    /// The patient's own level of each lab item (standard-normal z), so results correlate.
    baseline: [f64; item::COUNT],
    pub diabetic: bool,
}

/// A patient's observability plan, chosen before any record is written.
pub struct Plan {
    pub span: Span,
    pub start: i32,
    pub end: i32,
}

impl<'a> Gen<'a> {
    pub fn age_on(&self, day: i32) -> i32 {
        calendar::years_between(self.birth, day)
    }

    fn touch(&mut self, day: i32) {
        self.first = self.first.min(day);
        self.last = self.last.max(day);
    }

    /// Clamps a date into the data period.
    pub fn clamp(&self, day: i32) -> i32 {
        day.clamp(self.period.0, self.period.1)
    }

    // ---- emitters -------------------------------------------------------------------

    pub fn visit(&mut self, kind: &str, department: &str, start: i32, end: i32, died: bool) -> i64 {
        self.visit_seq += 1;
        let id = self.pid * 1000 + self.visit_seq.min(999);
        let v = &mut self.out.visit;
        v.hospital_id.append_value(&self.h.id);
        v.patient_id.append_value(self.pid);
        v.visit_id.append_value(id);
        v.kind.append_value(kind);
        v.department.append_value(department);
        v.start_date.append_value(start);
        v.end_date.append_value(end);
        if kind == "inpatient" {
            v.discharge_status
                .append_value(if died { "died" } else { "alive" });
        } else {
            v.discharge_status.append_null();
        }
        self.touch(start);
        self.touch(end);
        id
    }

    pub fn outpatient(&mut self, department: &str, day: i32) -> i64 {
        self.visit("outpatient", department, day, day, false)
    }

    pub fn emergency(&mut self, day: i32) -> i64 {
        self.visit("emergency", "emergency", day, day, false)
    }

    /// Visit row of a stay; the caller fills the stay's records.
    pub fn stay(&mut self, department: &str, start: i32, los: i32, died: bool) -> Stay {
        let end = self.clamp(start + los.max(1));
        let visit = self.visit("inpatient", department, start, end, died);
        Stay { visit, start, end }
    }

    /// One diagnosis row. `ehr` rows may lose their ICD-10 (unmapped) unless `evidence`.
    #[allow(clippy::too_many_arguments)]
    pub fn dx(
        &mut self,
        source: &str,
        day: i32,
        icd10: &str,
        suspected: bool,
        main: bool,
        dpc_category: Option<&str>,
        visit: Option<i64>,
        evidence: bool,
    ) {
        let unmapped = source == "ehr" && !evidence && self.r.chance(self.h.unmapped_diagnosis);
        let d = &mut self.out.diagnosis;
        d.hospital_id.append_value(&self.h.id);
        d.patient_id.append_value(self.pid);
        d.source.append_value(source);
        d.date.append_value(day);
        if unmapped {
            d.icd10.append_null();
        } else {
            d.icd10.append_value(icd10);
        }
        if matches!(source, "ehr" | "discharge_summary") && !unmapped {
            // Synthetic 8-digit stand-in for the MEDIS code (no real ones were verified).
            let _ = write!(d.medis_code, "{:08}", medis_number(icd10));
            d.medis_code.append_value("");
        } else {
            d.medis_code.append_null();
        }
        if source == "ehr" || source == "discharge_summary" {
            let _ = write!(d.local_code, "{}{}", self.h.local_dx_prefix, icd10);
            if suspected {
                d.local_code.write_str("S").ok();
            }
            d.local_code.append_value("");
        } else {
            d.local_code.append_null();
        }
        d.suspected.append_value(suspected);
        d.main.append_value(main);
        d.dpc_category.append_option(dpc_category);
        d.visit_id.append_option(visit);
        if source == "claim" {
            d.claim_month.append_value(calendar::year_month(day));
        } else {
            d.claim_month.append_null();
        }
        self.touch(day);
    }

    /// An ehr disease-name row at a visit.
    pub fn ehr(&mut self, day: i32, icd10: &str, suspected: bool, visit: i64, evidence: bool) {
        self.dx(
            "ehr",
            day,
            icd10,
            suspected,
            true,
            None,
            Some(visit),
            evidence,
        );
    }

    /// A claim row (one per claim month) at a visit.
    pub fn claim(&mut self, day: i32, icd10: &str, suspected: bool, main: bool, visit: i64) {
        self.dx(
            "claim",
            day,
            icd10,
            suspected,
            main,
            None,
            Some(visit),
            true,
        );
    }

    /// The DPC and ehr diagnosis rows of a stay whose main diagnosis is `icd10`, plus
    /// comorbidities (category 41) and the discharge summary.
    pub fn stay_diagnoses(&mut self, s: Stay, icd10: &str, comorbid: &[&str]) {
        self.dx(
            "dpc",
            s.start,
            icd10,
            false,
            true,
            Some("11"),
            Some(s.visit),
            true,
        );
        self.dx(
            "dpc",
            s.start,
            icd10,
            false,
            false,
            Some("21"),
            Some(s.visit),
            true,
        );
        self.dx(
            "dpc",
            s.start,
            icd10,
            false,
            false,
            Some("01"),
            Some(s.visit),
            true,
        );
        for (i, c) in comorbid.iter().enumerate() {
            let cat = ["41", "42", "43", "44"][i.min(3)];
            self.dx(
                "dpc",
                s.start,
                c,
                false,
                false,
                Some(cat),
                Some(s.visit),
                true,
            );
        }
        self.ehr(s.start, icd10, false, s.visit, true);
        self.dx(
            "discharge_summary",
            s.end,
            icd10,
            false,
            true,
            None,
            Some(s.visit),
            true,
        );
    }

    /// A drug row. Evidence rows of planted episodes are always mapped.
    #[allow(clippy::too_many_arguments)]
    pub fn drug_row(
        &mut self,
        d: usize,
        record: &str,
        setting: Setting,
        day: i32,
        days_supply: i32,
        visit: Option<i64>,
        evidence: bool,
    ) {
        let product = &cat::DRUGS[d];
        let k = self.r.range(0, product.yj.len() as i64 - 1) as usize;
        let code = product.yj[k];
        let unmapped = !evidence && self.r.chance(self.h.unmapped_drug);
        let generic = !unmapped
            && !product.injection
            && setting == Setting::Outpatient
            && self.r.chance(self.h.generic_name_share);
        let dose_factor = [0.5, 1.0, 1.0, 1.0, 2.0][self.r.range(0, 4) as usize];
        let days = days_supply.max(1);
        let x = &mut self.out.drug;
        x.hospital_id.append_value(&self.h.id);
        x.patient_id.append_value(self.pid);
        x.kind.append_value(if product.injection {
            "injection"
        } else {
            "prescription"
        });
        x.record.append_value(record);
        x.setting.append_value(setting.name());
        x.date.append_value(day);
        x.days_supply.append_value(days);
        x.end_date.append_value(day + days - 1);
        if unmapped {
            x.yj_code.append_null();
            x.hot9.append_null();
            x.receipt_code.append_null();
        } else if generic {
            // 一般名処方: the generic-name YJ code (digits 10–11 = 01), no product codes.
            let _ = write!(x.yj_code, "{}011", &code[..9]);
            x.yj_code.append_value("");
            x.hot9.append_null();
            x.receipt_code.append_null();
        } else {
            x.yj_code.append_value(code);
            let n = medis_number(code);
            let _ = write!(x.hot9, "{:09}", (n * 7 + 1_000_000) % 1_000_000_000);
            x.hot9.append_value("");
            let _ = write!(x.receipt_code, "6{:08}", (n * 13) % 100_000_000);
            x.receipt_code.append_value("");
        }
        x.local_code
            .append_value(self.h.local_drug_code(d, (!generic).then_some(k), unmapped));
        x.generic_name_only.append_value(generic);
        // The product's category comes with its standard code: none without one.
        x.product_kind
            .append_option((!unmapped && !generic).then_some(product.kind()));
        x.dose.append_value(product.dose * dose_factor);
        x.dose_unit.append_value(product.dose_unit);
        x.visit_id.append_option(visit);
        self.touch(day);
    }

    /// As `prescribe`, every draw from the second stream.
    fn prescribe_extra(&mut self, d: usize, day: i32, days_supply: i32, visit: i64) {
        std::mem::swap(&mut self.r, &mut self.extra);
        self.prescribe(d, day, days_supply, visit, false);
        std::mem::swap(&mut self.r, &mut self.extra);
    }

    /// An outpatient prescription (order) with its days' supply.
    pub fn prescribe(&mut self, d: usize, day: i32, days_supply: i32, visit: i64, evidence: bool) {
        self.drug_row(
            d,
            "order",
            Setting::Outpatient,
            day,
            days_supply,
            Some(visit),
            evidence,
        );
    }

    /// Daily inpatient administrations of `d` from `from` for `days` days (inside the stay).
    pub fn inject(&mut self, d: usize, s: Stay, from: i32, days: i32, evidence: bool) {
        let first = from.max(s.start);
        let last = (from + days - 1).min(s.end);
        let product = &cat::DRUGS[d];
        for day in first..=last {
            if product.injection {
                self.drug_row(
                    d,
                    "administration",
                    Setting::Inpatient,
                    day,
                    1,
                    Some(s.visit),
                    evidence,
                );
            } else {
                self.drug_row(
                    d,
                    "order",
                    Setting::Inpatient,
                    day,
                    1,
                    Some(s.visit),
                    evidence,
                );
            }
        }
    }

    /// A procedure row. Evidence rows use a standard code system, never `local`.
    pub fn procedure(
        &mut self,
        p: usize,
        day: i32,
        visit: Option<i64>,
        inpatient: bool,
        evidence: bool,
    ) {
        let pr = &cat::PROCS[p];
        let roll = self.r.f64();
        let (system, code) = if roll < 0.04 && !evidence {
            ("local", None)
        } else if roll < 0.35 {
            ("receipt", Some(pr.receipt))
        } else {
            ("kcode", Some(pr.kcode))
        };
        let source = if inpatient {
            "dpc"
        } else if self.r.chance(0.5) {
            "claim"
        } else {
            "ehr"
        };
        let x = &mut self.out.procedure;
        x.hospital_id.append_value(&self.h.id);
        x.patient_id.append_value(self.pid);
        x.source.append_value(source);
        x.category.append_value(pr.category);
        x.code_system.append_value(system);
        match code {
            Some(c) => x.code.append_value(c),
            None => {
                let _ = write!(x.code, "P{}{:02}", self.h.local_dx_prefix, p);
                x.code.append_value("");
            }
        }
        x.date.append_value(day);
        x.visit_id.append_option(visit);
        self.touch(day);
    }

    /// A numeric lab result given in the item's canonical unit; converted to the
    /// hospital's unit, rounded, flagged against the hospital's range.
    pub fn lab(&mut self, i: usize, day: i32, canonical: f64, setting: Setting, evidence: bool) {
        let rep = &self.h.labs[i];
        // ALP by the JSCC method before the hospital's change to IFCC: about 1/0.35 of the
        // IFCC value (JSCC's conversion), against the hospital's JSCC range (JCCLS 106–322
        // U/L, shifted as its IFCC range is from 38–113).
        let jscc = i == item::ALP && day < self.h.alp_ifcc_from;
        let canonical = if jscc { canonical / 0.35 } else { canonical };
        let value = round_to(canonical * rep.factor, rep.decimals);
        let (lo, hi) = if self.male {
            (rep.reference.0, rep.reference.1)
        } else {
            (rep.reference.2, rep.reference.3)
        };
        let (lo, hi) = if jscc {
            (
                round_to(lo * 106.0 / 38.0, rep.decimals),
                round_to(hi * 322.0 / 113.0, rep.decimals),
            )
        } else {
            (lo, hi)
        };
        let flag = if value > hi {
            Some("H")
        } else if value < lo && lo > 0.0 {
            Some("L")
        } else {
            None
        };
        let censored = i == item::CRP && self.h.crp_censored && value < 0.1;
        self.lab_row(
            i,
            day,
            (!censored).then_some(value),
            censored.then_some("<0.1"),
            Some((lo, hi)),
            flag,
            setting,
            evidence,
        );
    }

    /// A qualitative lab result (`(-)`, `(+)`, `(2+)` …).
    pub fn lab_text(&mut self, i: usize, day: i32, text: &str, setting: Setting, evidence: bool) {
        let flag = (text != "(-)" && text != "(+-)").then_some("H");
        self.lab_row(i, day, None, Some(text), None, flag, setting, evidence);
    }

    #[allow(clippy::too_many_arguments)]
    fn lab_row(
        &mut self,
        i: usize,
        day: i32,
        value: Option<f64>,
        text: Option<&str>,
        range: Option<(f64, f64)>,
        flag: Option<&str>,
        setting: Setting,
        evidence: bool,
    ) {
        let unmapped = !evidence && self.r.chance(self.h.unmapped_lab);
        let rep = &self.h.labs[i];
        let l = &mut self.out.lab;
        l.hospital_id.append_value(&self.h.id);
        l.patient_id.append_value(self.pid);
        l.date.append_value(day);
        if unmapped {
            l.jlac10.append_null();
            l.analyte.append_null();
            l.specimen.append_null();
            l.local_code.append_value(&rep.local_code_unmapped);
        } else {
            l.jlac10.append_value(rep.jlac10);
            l.analyte.append_value(&rep.jlac10[..5]);
            l.specimen.append_value(&rep.jlac10[9..12]);
            l.local_code.append_value(&rep.local_code);
        }
        l.value.append_option(value);
        l.value_text.append_option(text);
        if rep.unit.is_empty() {
            l.unit.append_null();
        } else {
            l.unit.append_value(rep.unit);
        }
        l.ref_low.append_option(range.map(|r| r.0));
        l.ref_high.append_option(range.map(|r| r.1));
        l.flag.append_option(flag);
        l.setting.append_value(setting.name());
        self.touch(day);
    }

    // ---- background values -------------------------------------------------------------

    /// A background value of item `i` (canonical unit): the patient's own level plus
    /// visit-to-visit noise, kept inside the item's background bounds.
    pub fn value(&mut self, i: usize) -> f64 {
        let l = &LABS[i];
        let z = 0.8 * self.baseline[i] + 0.6 * self.r.normal();
        let x = match l.dist {
            Dist::Normal { mean_m, mean_f, sd } => {
                let mut mean = if self.male { mean_m } else { mean_f };
                if self.diabetic && i == item::HBA1C {
                    mean = 7.2;
                }
                mean + sd * z
            }
            Dist::LogNormal { med_m, med_f, gsd } => {
                let mut med = if self.male { med_m } else { med_f };
                if self.diabetic && i == item::GLU {
                    med = 140.0;
                }
                med * libm::exp(libm::log(gsd) * z)
            }
            Dist::Qualitative => 0.0,
        };
        x.clamp(l.bounds.0, l.bounds.1)
    }

    /// Background value, in canonical unit, with the given bounds instead.
    pub fn lab_bg(&mut self, i: usize, day: i32, setting: Setting) {
        let v = self.value(i);
        self.lab(i, day, v, setting, false);
    }

    /// A complete blood count; `anc` overrides the absolute neutrophil count (10^3/uL)
    /// and `wbc` the white cells, for planted results. Returns nothing: the hospital's
    /// neutrophil mode decides which rows appear.
    pub fn cbc(
        &mut self,
        day: i32,
        setting: Setting,
        anc: Option<f64>,
        wbc: Option<f64>,
        evidence: bool,
    ) {
        self.lab_bg(item::RBC, day, setting);
        let hb = self.value(item::HB);
        self.lab(item::HB, day, hb, setting, false);
        let ht = (hb * 3.0 + 0.8 * self.r.normal()).clamp(22.0, 56.0);
        self.lab(item::HT, day, ht, setting, false);
        self.lab_bg(item::PLT, day, setting);
        let mut w = wbc.unwrap_or_else(|| self.value(item::WBC));
        let a = match anc {
            Some(a) => a,
            None => {
                // Background neutrophils stay above 1,750/uL, also when derived from
                // the reported WBC and percentage, so no background row looks neutropenic.
                let f = (0.6 + 0.07 * self.r.normal()).clamp(0.45, 0.8);
                if w * f < 1.8 {
                    w = w.max(1.8 / 0.55);
                    w * f.max(0.55)
                } else {
                    w * f
                }
            }
        };
        let pct = round_to((a / w * 100.0).clamp(0.5, 98.0), 1);
        self.lab(item::WBC, day, w, setting, evidence);
        self.lab(item::NEUT_PCT, day, pct, setting, evidence);
        if self.h.neutrophils != NeutrophilMode::PercentOnly {
            self.lab(item::NEUT_COUNT, day, a, setting, evidence);
        }
    }

    /// A chemistry panel: the core items always, the others sometimes.
    pub fn chemistry(&mut self, day: i32, setting: Setting) {
        const CORE: &[usize] = &[
            item::AST,
            item::ALT,
            item::CRE,
            item::NA,
            item::K,
            item::CRP,
        ];
        const OPTIONAL: &[usize] = &[
            item::TP,
            item::ALB,
            item::CK,
            item::LDH,
            item::ALP,
            item::GGT,
            item::BUN,
            item::GLU,
            item::CL,
            item::CA,
            item::TBIL,
            item::DBIL,
            item::AMY,
            item::PT_INR,
            item::PT_ACT,
        ];
        for &i in CORE {
            self.lab_bg(i, day, setting);
        }
        for &i in OPTIONAL {
            if self.r.chance(0.25) {
                self.lab_bg(i, day, setting);
            }
        }
    }

    /// A lab day at a visit: blood count and chemistry, plus disease-specific tests.
    pub fn lab_day(&mut self, day: i32, setting: Setting) {
        self.cbc(day, setting, None, None, false);
        self.chemistry(day, setting);
        if self.diabetic {
            self.lab_bg(item::HBA1C, day, setting);
            self.lab_bg(item::GLU, day, setting);
        }
        if self.r.chance(0.15) {
            for i in [item::TG, item::TC, item::HDL, item::LDL] {
                self.lab_bg(i, day, setting);
            }
        }
        if self.r.chance(0.03) {
            self.lab_bg(item::TSH, day, setting);
            self.lab_bg(item::FT4, day, setting);
        }
        if self.r.chance(0.03) {
            self.lab_bg(item::BNP, day, setting);
        }
        if self.r.chance(0.02) {
            let k = if self.r.chance(0.95) { "(-)" } else { "(+-)" };
            self.lab_text(item::U_KETONE, day, k, setting, false);
            let p = ["(-)", "(-)", "(-)", "(+-)", "(+)"][self.r.range(0, 4) as usize];
            self.lab_text(item::U_PROTEIN, day, p, setting, false);
        }
        if self.r.chance(0.02) {
            self.lab_bg(item::CEA, day, setting);
        }
    }
}

/// A stable number from a code, for synthetic MEDIS, HOT9 and receipt codes.
fn medis_number(code: &str) -> u64 {
    let mut h: u64 = 1469598103934665603;
    for b in code.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(1099511628211);
    }
    h % 100_000_000
}

/// What tells the second stream's seed from the first's.
const EXTRA_STREAM: u64 = 0x5347_4C54_325F_4651;

/// Generates patient number `index` (0-based) of hospital `h`.
pub fn generate(seed: u64, h: &Hospital, index: u64, period: (i32, i32), out: &mut ChunkRows) {
    let mut r = Rand::for_patient(seed, h.index, index);
    let episode = outcomes::choose(&mut r);
    let sex_roll = r.f64();
    let sex = if sex_roll < 0.47 {
        "M"
    } else if sex_roll < 0.997 {
        "F"
    } else {
        "U"
    };
    // Hospital patients are old: many 60–89 (docs/synthetic-data.md has the bands).
    let band = r.weighted(&[0.04, 0.05, 0.07, 0.08, 0.10, 0.13, 0.19, 0.20, 0.11, 0.03]);
    let mut age = band as i64 * 10 + r.range(0, 9);
    let needs = episode.map(|e| e.needs()).unwrap_or_default();
    age = age.max(needs.min_age);
    let span_kind = match r.weighted(&SPAN_WEIGHTS) {
        _ if needs.lookback + needs.follow_up > 400 => Span::Chronic,
        _ if needs.lookback + needs.follow_up > 30 => Span::Middle,
        0 => Span::OneOff,
        1 => Span::Middle,
        _ => Span::Chronic,
    };
    let period_len = period.1 - period.0;
    let mut len = match span_kind {
        Span::OneOff => r.geometric(0.15).min(30) as i32,
        Span::Middle => r.range(60, 1095) as i32,
        Span::Chronic => r.range(1095, 2920) as i32,
    };
    len = len
        .max(needs.lookback + needs.follow_up + 30)
        .min(period_len);
    let start = period.0 + r.range(0, i64::from(period_len - len)) as i32;
    let end = start + len;
    let birth = start - (age * 365) as i32 - r.range(0, 364) as i32;
    let mut baseline = [0.0; item::COUNT];
    for z in baseline.iter_mut() {
        *z = r.normal();
    }
    let age_group = if age < 40 {
        0
    } else if age < 65 {
        1
    } else {
        2
    };
    let mut g = Gen {
        h,
        r,
        extra: Rand::for_patient(seed ^ EXTRA_STREAM, h.index, index),
        out,
        pid: 1_000_001 + index as i64,
        sex,
        male: sex != "F",
        birth,
        period,
        first: i32::MAX,
        last: i32::MIN,
        visit_seq: 0,
        baseline,
        diabetic: false,
    };
    let plan = Plan {
        span: span_kind,
        start,
        end,
    };
    // Chronic conditions, only for patients who keep coming back.
    let mut conditions: Vec<usize> = Vec::new();
    if span_kind != Span::OneOff {
        let k = if span_kind == Span::Chronic { 1.0 } else { 0.5 };
        for (ci, c) in cat::CHRONIC.iter().enumerate() {
            if g.r.chance(c.prevalence[age_group] * k) {
                conditions.push(ci);
            }
        }
    }
    g.diabetic = conditions.iter().any(|&c| cat::CHRONIC[c].icd10 == "E119");
    background(&mut g, &plan, &conditions);
    if let Some(e) = episode {
        let lo = start + needs.lookback;
        let hi = (end - needs.follow_up).max(lo);
        let day = if needs.at_start {
            start
        } else {
            let offset = g.r.range(0, i64::from(hi - lo)) as i32;
            g.clamp(lo + offset)
        };
        outcomes::plant(&mut g, e, day);
    }
    // In-hospital death: a last stay after every other record, for some old patients.
    let mut death = None;
    if age >= 70 && span_kind != Span::OneOff && g.r.chance(0.05) && g.last < period.1 - 40 {
        let day = g.last + g.r.range(7, 30) as i32;
        let reason = *g.r.pick(cat::ACUTE_INPATIENT);
        let los = g.r.range(3, 30) as i32;
        let s = g.stay(reason.1, day, los, true);
        g.stay_diagnoses(s, reason.0, &[]);
        g.lab_day(s.start, Setting::Inpatient);
        death = Some(s.end);
    }
    if g.first == i32::MAX {
        // Every patient has at least one visit; this only guards the invariant.
        let v = g.outpatient("internal", start);
        g.ehr(start, "Z000", false, v, false);
    }
    let p = &mut g.out.patient;
    p.hospital_id.append_value(&h.id);
    p.patient_id.append_value(g.pid);
    p.sex.append_value(sex);
    p.birth_date.append_value(birth);
    p.first_record_date.append_value(g.first);
    p.last_record_date.append_value(g.last);
    p.death_date.append_option(death);
}

/// Background care: visits for chronic conditions or one-off problems, occasional stays.
fn background(g: &mut Gen, plan: &Plan, conditions: &[usize]) {
    let main_department = conditions
        .first()
        .map(|&c| cat::CHRONIC[c].department)
        .unwrap_or("internal");
    // Visit days.
    let (mean_gap, lab_p) = match plan.span {
        Span::OneOff => (7, 0.5),
        Span::Middle => (75, 0.3),
        Span::Chronic => (60, 0.2),
    };
    let mut days: Vec<i32> = Vec::new();
    let mut day = plan.start;
    loop {
        days.push(day);
        let gap = if plan.span == Span::OneOff {
            g.r.range(1, 14) as i32
        } else {
            (mean_gap / 2 + g.r.range(0, i64::from(mean_gap)) as i32).max(7)
        };
        day += gap;
        if day > plan.end || (plan.span == Span::OneOff && days.len() >= 3) {
            break;
        }
    }
    if plan.span != Span::OneOff && days.len() > 1 && *days.last().unwrap_or(&plan.end) < plan.end {
        days.push(plan.end);
    }
    let mut last_claim_month = 0;
    let reason = *g.r.pick(cat::ACUTE_OUTPATIENT);
    // A third of diabetics add an SGLT2 inhibitor to metformin from a later visit on, so
    // each has a year or more of history before the first prescription.
    let sglt2 = (g.diabetic && days.len() > 3 && g.extra.chance(1.0 / 3.0)).then(|| {
        let from = g.extra.range(2, days.len() as i64 - 1) as usize;
        let d = *g.extra.pick(&[
            drug::EMPAGLIFLOZIN,
            drug::DAPAGLIFLOZIN,
            drug::LUSEOGLIFLOZIN,
        ]);
        (from, d)
    });
    // A week of levofloxacin for some bronchitis and urinary infections.
    let levofloxacin =
        conditions.is_empty() && matches!(reason.0, "J209" | "N390") && g.extra.chance(0.3);
    // The anticoagulant of a patient with atrial fibrillation (drawn from the second stream,
    // so every other row is as it was): roughly the Japanese shares of the 2020s.
    let anticoagulant = if conditions.iter().any(|&c| cat::CHRONIC[c].icd10 == "I48") {
        [
            drug::EDOXABAN,
            drug::APIXABAN,
            drug::RIVAROXABAN,
            drug::WARFARIN,
            drug::DABIGATRAN,
        ][g.extra.weighted(&[0.35, 0.3, 0.2, 0.1, 0.05])]
    } else {
        drug::APIXABAN
    };
    for (k, &d) in days.iter().enumerate() {
        let next = days.get(k + 1).copied().unwrap_or(d + 28);
        let v = if conditions.is_empty() {
            if k == 0 && g.r.chance(0.25) {
                g.emergency(d)
            } else {
                g.outpatient(reason.1, d)
            }
        } else {
            g.outpatient(main_department, d)
        };
        if conditions.is_empty() {
            if k == 0 {
                g.ehr(d, reason.0, false, v, false);
            }
        } else if k == 0 {
            for &c in conditions {
                g.ehr(d, cat::CHRONIC[c].icd10, false, v, false);
            }
        }
        let month = calendar::year_month(d);
        if month != last_claim_month {
            last_claim_month = month;
            if conditions.is_empty() {
                g.claim(d, reason.0, false, true, v);
            }
            for (n, &c) in conditions.iter().enumerate() {
                g.claim(d, cat::CHRONIC[c].icd10, false, n == 0, v);
            }
        }
        for &c in conditions {
            for &dr in cat::CHRONIC[c].drugs {
                let dr = if dr == drug::APIXABAN {
                    anticoagulant
                } else {
                    dr
                };
                let supply = (next - d).clamp(14, 90);
                g.prescribe(dr, d, supply, v, false);
            }
        }
        match sglt2 {
            Some((from, dr)) if k >= from => g.prescribe_extra(dr, d, (next - d).clamp(14, 90), v),
            _ => {}
        }
        if levofloxacin && k == 0 {
            g.prescribe_extra(drug::LEVOFLOXACIN, d, 7, v);
        }
        if g.r.chance(lab_p) {
            g.lab_day(d, Setting::Outpatient);
        }
        if k == 0 && g.r.chance(0.1) {
            g.procedure(proc::XRAY, d, Some(v), false, false);
        }
        if !conditions.is_empty() && g.r.chance(0.03) {
            g.procedure(proc::ECG, d, Some(v), false, false);
        }
    }
    // Background stays.
    let p_stay = match plan.span {
        Span::OneOff => 0.06,
        Span::Middle => 0.15,
        Span::Chronic => 0.3,
    };
    if g.r.chance(p_stay) {
        let d = plan.start + g.r.range(0, i64::from(plan.end - plan.start)) as i32;
        background_stay(g, d);
    }
}

/// Length of stay: lognormal around `median` (GSD 1.9), long tail, 2–120 days.
pub fn length_of_stay(r: &mut Rand, median: f64) -> i32 {
    (r.lognormal(median, 1.9).round() as i32).clamp(2, 120)
}

/// A background stay for a common non-outcome reason.
pub fn background_stay(g: &mut Gen, d: i32) {
    let (icd, dept) = *g.r.pick(cat::ACUTE_INPATIENT);
    let los = length_of_stay(&mut g.r, 12.0);
    let s = g.stay(dept, d, los, false);
    g.stay_diagnoses(s, icd, &[]);
    let infection = matches!(icd, "J189" | "J690" | "N390" | "A419" | "K810");
    if infection {
        let abx =
            *g.r.pick(&[drug::CEFTRIAXONE, drug::SBT_ABPC, drug::CEFAZOLIN]);
        g.inject(abx, s, s.start, 7, false);
    }
    let mut day = s.start;
    while day <= s.end {
        g.lab_day(day, Setting::Inpatient);
        day += g.r.range(4, 8) as i32;
    }
    if g.r.chance(0.5) {
        g.procedure(proc::XRAY, s.start, Some(s.visit), true, false);
    }
    if matches!(icd, "J189" | "J690" | "A419") {
        g.procedure(proc::OXYGEN, s.start, Some(s.visit), true, false);
        if g.r.chance(0.15) {
            g.procedure(proc::VENTILATION, s.start + 1, Some(s.visit), true, false);
        }
    }
    if matches!(icd, "K800" | "K810" | "K358") && g.r.chance(0.6) {
        g.procedure(proc::ULTRASOUND, s.start, Some(s.visit), true, false);
    }
    if g.r.chance(0.3) {
        g.procedure(proc::CT, s.start, Some(s.visit), true, false);
    }
}

//! Hospital profiles: size, units, neutrophil reporting, reference ranges, local codes and
//! unmapped shares. Each is drawn from the seed, so a hospital is the same in every run.

pub use mid_cdm::manifest::HospitalSummary;

use super::catalogue::{LABS, PLT_10E3, PLT_10E4, item};
use super::rng::{Rand, round_to};

/// How a hospital reports neutrophils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeutrophilMode {
    /// Absolute count in /uL, plus the percentage.
    AbsolutePerUl,
    /// Absolute count in 10^3/uL, plus the percentage.
    Absolute10e3,
    /// Only the percentage of white cells (2A160); the count is WBC × % / 100.
    PercentOnly,
}

impl NeutrophilMode {
    pub fn name(self) -> &'static str {
        match self {
            NeutrophilMode::AbsolutePerUl => "absolute_per_uL",
            NeutrophilMode::Absolute10e3 => "absolute_10e3_per_uL",
            NeutrophilMode::PercentOnly => "percent_only",
        }
    }
}

/// How one hospital reports one lab item.
#[derive(Clone)]
pub struct LabReporting {
    pub jlac10: &'static str,
    pub unit: &'static str,
    pub factor: f64,
    pub decimals: i32,
    /// The hospital's reference range in the reported unit: (low M, high M, low F, high F).
    pub reference: (f64, f64, f64, f64),
    /// The hospital's own test code (mapped), and the legacy code left unmapped.
    pub local_code: String,
    pub local_code_unmapped: String,
}

pub struct Hospital {
    pub index: u32,
    pub id: String,
    pub patients: u64,
    pub neutrophils: NeutrophilMode,
    pub unmapped_lab: f64,
    pub unmapped_drug: f64,
    /// Share of ehr diagnosis rows with no ICD-10 (local code only).
    pub unmapped_diagnosis: f64,
    /// Share of outpatient prescriptions ordered by generic name only.
    pub generic_name_share: f64,
    /// Reports CRP below 0.1 mg/dL as the text `<0.1`.
    pub crp_censored: bool,
    pub labs: Vec<LabReporting>,
    /// Prefix of local diagnosis codes.
    pub local_dx_prefix: &'static str,
    /// Prefix and first number of the hospital's own drug codes.
    pub local_drug_prefix: &'static str,
    pub local_drug_base: i64,
    /// The first day ALP is measured by the IFCC method (JSCC before): a day from
    /// 2020-04-01 to 2021-03-31, when Japanese laboratories changed.
    pub alp_ifcc_from: i32,
}

const LOCAL_LAB_PREFIXES: &[&str] = &["L", "K", "T", "LAB", "E", "S", "X", "M"];
const LOCAL_DX_PREFIXES: &[&str] = &["D", "B", "ICD", "SB", "N", "Z"];
const LOCAL_DRUG_PREFIXES: &[&str] = &["Y", "DR", "P", "MED", "R", "F"];

impl Hospital {
    /// The hospital's own code of a drug product: `product` is the drug's index in the
    /// catalogue and `code` the index of its YJ code, or `None` for the hospital's
    /// generic-name order of the drug. A product the hospital left unmapped has a code of
    /// its own (`9` after the prefix), as a new or in-house product would.
    pub fn local_drug_code(&self, product: usize, code: Option<usize>, unmapped: bool) -> String {
        let n = self.local_drug_base + 10 * product as i64 + code.map_or(9, |k| k as i64);
        let legacy = if unmapped { "9" } else { "" };
        format!("{}{legacy}{n}", self.local_drug_prefix)
    }

    /// The profile of hospital `index` (1-based) with `patients` patients.
    pub fn new(seed: u64, index: u32, patients: u64) -> Hospital {
        let mut r = Rand::for_patient(seed, index, u64::MAX);
        // The first hospitals are fixed so that even a 2-hospital network shows both
        // platelet units and both neutrophil modes; later ones are drawn.
        let plt_10e4 = match index {
            1 => true,
            2 => false,
            _ => r.chance(0.7),
        };
        let neutrophils = match index {
            1 => NeutrophilMode::AbsolutePerUl,
            2 => NeutrophilMode::PercentOnly,
            3 => NeutrophilMode::Absolute10e3,
            _ => [
                NeutrophilMode::AbsolutePerUl,
                NeutrophilMode::Absolute10e3,
                NeutrophilMode::PercentOnly,
            ][r.weighted(&[0.4, 0.25, 0.35])],
        };
        let wbc_per_ul = match index {
            1 => true,
            2 => false,
            _ => r.chance(0.5),
        };
        let unmapped_lab = round_to(0.06 + 0.32 * r.f64(), 3);
        let unmapped_drug = round_to(0.06 + 0.32 * r.f64(), 3);
        let unmapped_diagnosis = round_to(0.01 + 0.04 * r.f64(), 3);
        let generic_name_share = round_to(0.05 + 0.3 * r.f64(), 3);
        let crp_censored = r.chance(0.3);
        let lab_prefix = *r.pick(LOCAL_LAB_PREFIXES);
        let local_dx_prefix = *r.pick(LOCAL_DX_PREFIXES);
        let code_base = r.range(100, 899);
        let mut labs = Vec::with_capacity(LABS.len());
        for (i, l) in LABS.iter().enumerate() {
            let jlac10 = *r.pick(l.jlac10);
            let family = match i {
                item::PLT => {
                    if plt_10e4 {
                        PLT_10E4
                    } else {
                        PLT_10E3
                    }
                }
                item::WBC => l.families[usize::from(!wbc_per_ul)],
                item::NEUT_COUNT => {
                    l.families[usize::from(neutrophils == NeutrophilMode::Absolute10e3)]
                }
                _ => *r.pick(l.families),
            };
            let option = *r.pick(family);
            // Hospital ranges sit close to JCCLS but differ (analyser, population).
            let shift_lo = 1.0 + 0.04 * (r.f64() - 0.5);
            let shift_hi = 1.0 + 0.06 * (r.f64() - 0.5);
            let (a, b, c, d) = l.reference;
            let dec = option.decimals;
            let f = option.factor;
            let reference = (
                round_to(a * f * shift_lo, dec),
                round_to(b * f * shift_hi, dec),
                round_to(c * f * shift_lo, dec),
                round_to(d * f * shift_hi, dec),
            );
            labs.push(LabReporting {
                jlac10,
                unit: option.spelling,
                factor: f,
                decimals: dec,
                reference,
                local_code: format!("{lab_prefix}{}", code_base * 100 + i as i64),
                local_code_unmapped: format!("{lab_prefix}9{:04}", code_base * 7 + i as i64),
            });
        }
        // Drawn after every earlier draw, so the rest of the profile is as it was.
        let local_drug_prefix = *r.pick(LOCAL_DRUG_PREFIXES);
        let local_drug_base = r.range(10, 89) * 1000;
        let alp_ifcc_from = crate::calendar::days_from_civil(2020, 4, 1) + r.range(0, 364) as i32;
        Hospital {
            index,
            id: format!("H{index:02}"),
            patients,
            neutrophils,
            unmapped_lab,
            unmapped_drug,
            unmapped_diagnosis,
            generic_name_share,
            crp_censored,
            labs,
            local_dx_prefix,
            local_drug_prefix,
            local_drug_base,
            alp_ifcc_from,
        }
    }

    pub fn summary(&self) -> HospitalSummary {
        HospitalSummary {
            id: self.id.clone(),
            patients: self.patients,
            platelet_unit: self.labs[item::PLT].unit.to_string(),
            wbc_unit: self.labs[item::WBC].unit.to_string(),
            neutrophil_reporting: self.neutrophils.name().to_string(),
            neutrophil_unit: (self.neutrophils != NeutrophilMode::PercentOnly)
                .then(|| self.labs[item::NEUT_COUNT].unit.to_string()),
            unmapped_lab_share: self.unmapped_lab,
            unmapped_drug_share: self.unmapped_drug,
            unmapped_diagnosis_share: self.unmapped_diagnosis,
            generic_name_share: self.generic_name_share,
            crp_below_0_1_as_text: self.crp_censored,
        }
    }
}

/// Splits `patients` over `hospitals` by drawn size weights (largest remainder, so the
/// counts add up exactly): a few large university hospitals, many smaller ones.
pub fn allocate(seed: u64, patients: u64, hospitals: u32) -> Vec<u64> {
    let mut r = Rand::for_patient(seed, 0, u64::MAX - 1);
    let weights: Vec<f64> = (0..hospitals).map(|_| r.lognormal(1.0, 1.8)).collect();
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights
        .iter()
        .map(|w| w / total * patients as f64)
        .collect();
    let mut counts: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let mut left = patients - counts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for i in order {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_adds_up_and_profiles_are_stable() {
        let c = allocate(1, 50_000, 8);
        assert_eq!(c.iter().sum::<u64>(), 50_000);
        let a = Hospital::new(1, 4, 10);
        let b = Hospital::new(1, 4, 10);
        assert_eq!(a.summary(), b.summary());
        assert!((0.05..=0.40).contains(&a.unmapped_lab));
        assert_eq!(Hospital::new(1, 1, 1).labs[item::PLT].factor, 0.1);
        assert_eq!(
            Hospital::new(1, 2, 1).neutrophils,
            NeutrophilMode::PercentOnly
        );
    }
}

//! Planted drug signals (the synthetic network): the five example studies' exposures and
//! their outcomes — thiamazole/PTU and neutropenia, statins and liver tests, antidepressants
//! and platelets, PAH drugs and liver injury, VEGF inhibitors and arterial dissection — with
//! the truth rows that say which patient carries which. Rates are in docs/synthetic-data.md.

use super::catalogue::{drug, item, proc};
use super::outcomes::{acute_stay, cancer_course, lookalike, pick, truth};
use super::patients::{Gen, Setting};

/// Graves' disease starting thiamazole (88 %) or PTU (12 %). Neutropenia (ANC ≤ 1,500)
/// in days 14–90 at 8 % (thiamazole) / 5 % (PTU), and 0.5 % in days 91–365.
pub(crate) fn antithyroid(g: &mut Gen, day: i32) {
    let thiamazole = g.r.chance(0.88);
    let d = if thiamazole {
        drug::THIAMAZOLE
    } else {
        drug::PTU
    };
    let v = g.outpatient("endocrinology", day);
    g.ehr(day, "E050", false, v, true);
    g.claim(day, "E050", false, true, v);
    g.lab_bg(item::TSH, day, Setting::Outpatient);
    g.cbc(day, Setting::Outpatient, None, None, false);
    let early = g.r.chance(if thiamazole { 0.08 } else { 0.05 });
    let late = !early && g.r.chance(0.005);
    let low_day = if early {
        Some(day + g.r.range(14, 90) as i32)
    } else if late {
        Some(day + g.r.range(91, 365) as i32)
    } else {
        None
    };
    let monitored = g.r.chance(0.8);
    let mut test_days: Vec<i32> = Vec::new();
    if monitored {
        let mut t = day + 14;
        while t <= day + 60 {
            test_days.push(t + g.r.range(-2, 2) as i32);
            t += 14;
        }
    } else if g.r.chance(0.5) {
        test_days.push(day + g.r.range(20, 80) as i32);
    }
    let mut t = day + 90;
    while t <= day + 365 {
        test_days.push(t);
        t += 60 + g.r.range(0, 30) as i32;
    }
    if let Some(l) = low_day {
        test_days.retain(|&x| x != l);
        test_days.push(l);
        test_days.sort_unstable();
    }
    let stop = low_day.unwrap_or(day + 400);
    let mut rx = day;
    while rx < stop.min(day + 365) && rx < g.period.1 {
        let supply = if rx < day + 60 { 14 } else { 56 };
        let vv = g.outpatient("endocrinology", rx);
        g.prescribe(d, rx, supply, vv, rx == day);
        rx += supply;
    }
    for &t in &test_days {
        if t > g.period.1 {
            continue;
        }
        if Some(t) == low_day {
            let a = 0.2 + 1.2 * g.r.f64();
            let w = (a / (0.25 + 0.3 * g.r.f64())).max(a + 0.6);
            g.cbc(t, Setting::Outpatient, Some(a), Some(w), true);
            truth(g, "neutropenia", "case", "drug_signal", t);
        } else {
            g.cbc(t, Setting::Outpatient, None, None, false);
        }
    }
}

/// Statin new user (brand or generic) with dyslipidaemia. ALT > 3×ULN within 6 months
/// at 3 %; 5 % have a grade ≥ 2 liver test in the 180-day look-back (look-alike).
pub(crate) fn statin(g: &mut Gen, day: i32) {
    let products = [
        drug::ATORVA_BRAND,
        drug::ATORVA_GENERIC,
        drug::ROSUVA_BRAND,
        drug::ROSUVA_GENERIC,
        drug::PITAVA_BRAND,
        drug::PITAVA_GENERIC,
        drug::PRAVA_BRAND,
        drug::PRAVA_GENERIC,
    ];
    let d = *g.r.pick(&products);
    let uln = if g.male { 42.0 } else { 23.0 };
    if g.r.chance(0.05) {
        let t = day - g.r.range(20, 150) as i32;
        g.outpatient("internal", t);
        let x = uln * (3.3 + 2.0 * g.r.f64());
        g.lab(item::ALT, t, x, Setting::Outpatient, true);
        lookalike(g, "statin_alt_rise", "baseline_liver_abnormal", t);
    }
    let v = g.outpatient("internal", day);
    g.ehr(day, "E785", false, v, true);
    g.claim(day, "E785", false, true, v);
    g.lab_bg(item::ALT, day, Setting::Outpatient);
    g.lab_bg(item::AST, day, Setting::Outpatient);
    g.lab_bg(item::LDL, day, Setting::Outpatient);
    let rise = g.r.chance(0.03).then(|| day + g.r.range(30, 180) as i32);
    let months = g.r.range(6, 24) as i32;
    let mut rx = day;
    for _ in 0..(months / 2) {
        if rx > g.period.1 {
            break;
        }
        let vv = if rx == day {
            v
        } else {
            g.outpatient("internal", rx)
        };
        g.prescribe(d, rx, 56, vv, rx == day);
        if rx != day && rx < day + 200 {
            g.lab_bg(item::ALT, rx, Setting::Outpatient);
            g.lab_bg(item::AST, rx, Setting::Outpatient);
        }
        rx += 56;
    }
    if let Some(t) = rise
        && t <= g.period.1
    {
        {
            let x = uln * (3.2 + 5.0 * g.r.f64());
            g.lab(item::ALT, t, x, Setting::Outpatient, true);
            g.lab_bg(item::AST, t, Setting::Outpatient);
            truth(g, "statin_alt_rise", "case", "drug_signal", t);
        }
    }
}

/// SSRI/SNRI new user with depression diagnosed the same month; platelets < 100,000/uL
/// within 90 days at 2 %.
pub(crate) fn antidepressant(g: &mut Gen, day: i32) {
    let products = [
        drug::PAROXETINE,
        drug::SERTRALINE,
        drug::ESCITALOPRAM,
        drug::DULOXETINE,
        drug::MILNACIPRAN,
    ];
    let d = *g.r.pick(&products);
    let v = g.outpatient("psychiatry", day);
    g.ehr(day, "F329", false, v, true);
    g.claim(day, "F329", false, true, v);
    g.cbc(day, Setting::Outpatient, None, None, false);
    let low = g.r.chance(0.02).then(|| day + g.r.range(7, 90) as i32);
    let mut rx = day;
    let months = g.r.range(3, 12) as i32;
    for k in 0..months {
        if rx > g.period.1 {
            break;
        }
        let vv = if k == 0 {
            v
        } else {
            g.outpatient("psychiatry", rx)
        };
        g.prescribe(d, rx, 28, vv, rx == day);
        if k % 2 == 1 {
            g.cbc(rx, Setting::Outpatient, None, None, false);
        }
        rx += 28;
    }
    if let Some(t) = low
        && t <= g.period.1
    {
        {
            let p = 40.0 + 55.0 * g.r.f64();
            g.lab(item::PLT, t, p, Setting::Outpatient, true);
            truth(
                g,
                "antidepressant_thrombocytopenia",
                "case",
                "drug_signal",
                t,
            );
        }
    }
}

/// PAH (I270) on bosentan (70 %) or ambrisentan, monthly liver tests; ALT/AST ≥ 3×ULN at
/// 10 % (outcome `pah_liver_injury`), a third of those with bilirubin ≥ 2×ULN (`hys_law`).
pub(crate) fn pah(g: &mut Gen, day: i32) {
    let d = if g.r.chance(0.7) {
        drug::BOSENTAN
    } else {
        drug::AMBRISENTAN
    };
    let v = g.outpatient("cardiology", day);
    g.ehr(day, "I270", false, v, true);
    g.claim(day, "I270", false, true, v);
    let injury = g.r.chance(0.10).then(|| g.r.range(1, 11) as i32);
    let hys = injury.is_some() && g.r.chance(0.33);
    let uln = if g.male { 42.0 } else { 23.0 };
    for m in 0..12 {
        let t = day + 28 * m;
        if t > g.period.1 {
            break;
        }
        let vv = if m == 0 {
            v
        } else {
            g.outpatient("cardiology", t)
        };
        g.prescribe(d, t, 28, vv, true);
        if Some(m) == injury {
            let x = uln * (3.2 + 6.0 * g.r.f64());
            g.lab(item::ALT, t, x, Setting::Outpatient, true);
            let y = 30.0 * (3.2 + 4.0 * g.r.f64());
            g.lab(item::AST, t, y, Setting::Outpatient, true);
            truth(g, "pah_liver_injury", "case", "drug_signal", t);
            if hys {
                let b = 1.5 * (2.2 + 2.0 * g.r.f64());
                g.lab(item::TBIL, t, b, Setting::Outpatient, true);
                truth(g, "hys_law", "case", "drug_signal", t);
            } else {
                g.lab_bg(item::TBIL, t, Setting::Outpatient);
            }
            break;
        }
        g.lab_bg(item::ALT, t, Setting::Outpatient);
        g.lab_bg(item::AST, t, Setting::Outpatient);
        g.lab_bg(item::TBIL, t, Setting::Outpatient);
    }
}

/// Cancer patients on a VEGF inhibitor every 14 days; arterial dissection (I710 stay with
/// CT) during exposure at 8 %.
pub(crate) fn vegf(g: &mut Gen, day: i32) {
    let icd = pick(g, &["C189", "C20", "C169", "C349"]);
    let t = cancer_course(g, day - 20, icd);
    let d = if g.r.chance(0.7) {
        drug::BEVACIZUMAB
    } else {
        drug::RAMUCIRUMAB
    };
    let cycles = g.r.range(6, 20) as i32;
    let dissection =
        g.r.chance(0.08)
            .then(|| g.r.range(2, cycles as i64 - 1) as i32);
    for c in 0..cycles {
        let dd = t + 14 * c;
        if dd > g.period.1 - 30 {
            break;
        }
        if Some(c) == dissection {
            let s = acute_stay(g, dd + 3, "cardiac_surgery", "I710", &[icd], 21.0);
            g.procedure(proc::CT, s.start, Some(s.visit), true, true);
            truth(g, "arterial_dissection", "case", "drug_signal", s.start);
            break;
        }
        let s = g.stay("oncology", dd, 1, false);
        g.dx("dpc", dd, icd, false, true, Some("11"), Some(s.visit), true);
        g.inject(d, s, dd, 1, c == 0);
        g.inject(drug::OXALIPLATIN, s, dd, 1, c == 0);
        if c % 2 == 0 {
            g.cbc(dd, Setting::Inpatient, None, None, false);
        }
    }
}

//! Rates and crude comparisons from published counts (runtime): incidence per 1,000
//! person-years with exact (Poisson) 95 % intervals, and rate and odds ratios between cohorts.
//!
//! Everything here is computed from the counts as they leave the site (rounded, or hidden),
//! never from the exact ones: a rate of exact counts next to rounded ones would give the
//! exact counts back. The point estimate is the published events over the published
//! person-time; the interval is the exact one widened to hold for every true count and
//! person-time the rounding allows, so it contains the interval of the exact counts.

use statrs::distribution::{Beta, ContinuousCDF, Gamma};

use crate::disclosure::{COUNT_BASE, DAYS_BASE, Shown};

/// Days per year in person-years.
pub const DAYS_PER_YEAR: f64 = 365.25;
/// Two-sided confidence level of every interval.
pub const LEVEL: f64 = 0.95;

/// What a published count says about the true one: its smallest and largest value.
pub fn count_range(s: Shown, threshold: u32) -> Option<(u64, u64)> {
    let half = COUNT_BASE / 2;
    match s {
        Shown::Zero => Some((0, 0)),
        Shown::Rounded(r) => Some((
            (r.saturating_sub(half)).max(u64::from(threshold)),
            r + half - 1,
        )),
        Shown::Suppressed => None,
    }
}

/// What published person-days say about the true ones (at least one day when rounded: a
/// count of zero days is shown as zero).
pub fn days_range(s: Shown) -> Option<(u64, u64)> {
    let half = DAYS_BASE / 2;
    match s {
        Shown::Zero => Some((0, 0)),
        Shown::Rounded(d) => Some((d.saturating_sub(half).max(1), d + half - 1)),
        Shown::Suppressed => None,
    }
}

/// The exact (Garwood) interval of a Poisson mean for `k` observed events.
pub fn poisson_interval(k: u64) -> (f64, f64) {
    let a = (1.0 - LEVEL) / 2.0;
    let lower = if k == 0 {
        0.0
    } else {
        gamma_quantile(k as f64, a)
    };
    (lower, gamma_quantile(k as f64 + 1.0, 1.0 - a))
}

fn gamma_quantile(shape: f64, p: f64) -> f64 {
    Gamma::new(shape, 1.0).map_or(f64::NAN, |g| g.inverse_cdf(p))
}

fn beta_quantile(a: f64, b: f64, p: f64) -> f64 {
    Beta::new(a, b).map_or(f64::NAN, |d| d.inverse_cdf(p))
}

/// Four significant digits: the precision a rate from rounded counts can carry.
pub fn significant(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// An estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub point: f64,
    pub lower: f64,
    pub upper: f64,
}

impl Estimate {
    /// An estimate to the precision it is published with.
    fn published(point: f64, lower: f64, upper: f64) -> Option<Estimate> {
        Some(Estimate {
            point: significant(point),
            lower: significant(lower),
            upper: significant(upper),
        })
    }
}

/// Incidence per 1,000 person-years from published events and person-days; none when
/// either is hidden or there is no person-time.
pub fn rate(events: Shown, days: Shown, threshold: u32) -> Option<Estimate> {
    let (e_lo, e_hi) = count_range(events, threshold)?;
    let (d_lo, d_hi) = days_range(days)?;
    let (e, d) = (events.value()?, days.value()?);
    if d == 0 || d_lo == 0 {
        return None;
    }
    let per = |events: f64, days: f64| events / days * DAYS_PER_YEAR * 1000.0;
    Estimate::published(
        per(e as f64, d as f64),
        per(poisson_interval(e_lo).0, d_hi as f64),
        per(poisson_interval(e_hi).1, d_lo as f64),
    )
}

/// One cohort's published counts in a stratum, for a comparison.
#[derive(Debug, Clone, Copy)]
pub struct Arm {
    pub persons: Shown,
    pub events: Shown,
    pub days: Shown,
}

/// The rate ratio of `a` against the reference `b`, with the exact interval conditional on
/// the total events (Clopper–Pearson on the share of events in `a`), widened over the
/// rounding. None when a count is hidden or a rate is not defined.
pub fn rate_ratio(a: Arm, b: Arm, threshold: u32) -> Option<Estimate> {
    let (ea_lo, ea_hi) = count_range(a.events, threshold)?;
    let (eb_lo, eb_hi) = count_range(b.events, threshold)?;
    let (da_lo, da_hi) = days_range(a.days)?;
    let (db_lo, db_hi) = days_range(b.days)?;
    let (ea, eb, da, db) = (
        a.events.value()?,
        b.events.value()?,
        a.days.value()?,
        b.days.value()?,
    );
    if ea == 0 || eb == 0 || da == 0 || db == 0 || da_lo == 0 || db_lo == 0 {
        return None;
    }
    let alpha = (1.0 - LEVEL) / 2.0;
    // The share p of events in `a`: RR = p / (1 − p) · (days b / days a). Its Clopper–Pearson
    // bounds grow with a's events and fall with b's, so the widest interval is at the range's
    // corners. Both arms have events (published, so at least the threshold each).
    let lower_p = beta_quantile(ea_lo as f64, eb_hi as f64 + 1.0, alpha);
    let upper_p = beta_quantile(ea_hi as f64 + 1.0, eb_lo as f64, 1.0 - alpha);
    let odds = |p: f64| p / (1.0 - p);
    Estimate::published(
        (ea as f64 / da as f64) / (eb as f64 / db as f64),
        odds(lower_p) * db_lo as f64 / da_hi as f64,
        odds(upper_p) * db_hi as f64 / da_lo as f64,
    )
}

/// The odds ratio of the outcome in `a` against the reference `b` (persons with and without
/// it), with Woolf's interval; over the rounding, the widest interval of every combination of
/// true counts the published ones allow. None when a count is hidden or a cell is empty.
pub fn odds_ratio(a: Arm, b: Arm, threshold: u32) -> Option<Estimate> {
    let (na, ea, nb, eb) = (
        a.persons.value()?,
        a.events.value()?,
        b.persons.value()?,
        b.events.value()?,
    );
    if ea == 0 || eb == 0 || ea >= na || eb >= nb {
        return None;
    }
    let point = (ea as f64 / (na - ea) as f64) / (eb as f64 / (nb - eb) as f64);
    let z = statrs::distribution::Normal::standard().inverse_cdf(1.0 - (1.0 - LEVEL) / 2.0);
    let (na_r, ea_r) = (
        count_range(a.persons, threshold)?,
        count_range(a.events, threshold)?,
    );
    let (nb_r, eb_r) = (
        count_range(b.persons, threshold)?,
        count_range(b.events, threshold)?,
    );
    let (mut lower, mut upper) = (f64::INFINITY, 0.0_f64);
    for ea in ea_r.0..=ea_r.1 {
        for na in na_r.0.max(ea + 1)..=na_r.1 {
            for eb in eb_r.0..=eb_r.1 {
                for nb in nb_r.0.max(eb + 1)..=nb_r.1 {
                    let (a1, a0, b1, b0) =
                        (ea as f64, (na - ea) as f64, eb as f64, (nb - eb) as f64);
                    let log_or = (a1 * b0 / (a0 * b1)).ln();
                    let se = (1.0 / a1 + 1.0 / a0 + 1.0 / b1 + 1.0 / b0).sqrt();
                    lower = lower.min((log_or - z * se).exp());
                    upper = upper.max((log_or + z * se).exp());
                }
            }
        }
    }
    if !lower.is_finite() || upper == 0.0 {
        return None;
    }
    Estimate::published(point, lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn poisson_intervals_match_the_published_tables() {
        // Garwood's exact limits (e.g. Ulm 1990; Sahai & Khurshid 1993).
        let (l, u) = poisson_interval(0);
        assert_eq!(l, 0.0);
        assert!(close(u, 3.6889, 1e-4), "{u}");
        let (l, u) = poisson_interval(1);
        assert!(close(l, 0.0253, 1e-2) && close(u, 5.5716, 1e-4), "{l} {u}");
        let (l, u) = poisson_interval(10);
        assert!(close(l, 4.7954, 1e-4) && close(u, 18.3904, 1e-4), "{l} {u}");
    }

    #[test]
    fn a_rate_from_rounded_counts_covers_every_true_count() {
        // 20 events shown (15–24 true) in 36,500 person-days shown (36,450–36,549).
        let r = rate(Shown::Rounded(20), Shown::Rounded(36_500), 10).expect("a rate");
        assert!(close(r.point, 20.0 / 100.0 * 1000.0, 1e-3), "{r:?}");
        // Every true combination's exact interval lies inside the published one.
        for e in 15..=24 {
            for d in [36_450_u64, 36_549] {
                let (l, u) = poisson_interval(e);
                let per = |x: f64| x / d as f64 * DAYS_PER_YEAR * 1000.0;
                assert!(
                    r.lower <= per(l) * 1.0005 && r.upper >= per(u) * 0.9995,
                    "{e} {d}"
                );
            }
        }
        // Hidden events or no person-time: no rate.
        assert_eq!(rate(Shown::Suppressed, Shown::Rounded(36_500), 10), None);
        assert_eq!(rate(Shown::Zero, Shown::Zero, 10), None);
        // No events: the rate is 0 with an upper limit.
        let z = rate(Shown::Zero, Shown::Rounded(36_500), 10).expect("zero");
        assert!(z.point == 0.0 && z.lower == 0.0 && z.upper > 0.0);
    }

    #[test]
    fn a_raised_threshold_narrows_what_a_rounded_count_can_be() {
        assert_eq!(count_range(Shown::Rounded(20), 20), Some((20, 24)));
        assert_eq!(count_range(Shown::Rounded(10), 10), Some((10, 14)));
        assert_eq!(count_range(Shown::Rounded(120), 10), Some((115, 124)));
        assert_eq!(days_range(Shown::Rounded(0)), Some((1, 49)));
    }

    #[test]
    fn ratios_of_equal_arms_are_one_and_their_intervals_hold_it() {
        let arm = Arm {
            persons: Shown::Rounded(500),
            events: Shown::Rounded(40),
            days: Shown::Rounded(73_000),
        };
        let rr = rate_ratio(arm, arm, 10).expect("rr");
        assert!(
            close(rr.point, 1.0, 1e-9) && rr.lower < 1.0 && rr.upper > 1.0,
            "{rr:?}"
        );
        let or = odds_ratio(arm, arm, 10).expect("or");
        assert!(
            close(or.point, 1.0, 1e-9) && or.lower < 1.0 && or.upper > 1.0,
            "{or:?}"
        );
        // A doubled rate: the point is 2 and the interval is above the unrounded one's
        // lower limit of the same counts.
        let double = Arm {
            events: Shown::Rounded(80),
            ..arm
        };
        let rr = rate_ratio(double, arm, 10).expect("rr");
        assert!(close(rr.point, 2.0, 1e-9) && rr.lower > 1.0, "{rr:?}");
        // A hidden arm gives nothing.
        let hidden = Arm {
            events: Shown::Suppressed,
            ..arm
        };
        assert_eq!(rate_ratio(hidden, arm, 10), None);
        assert_eq!(odds_ratio(arm, hidden, 10), None);
    }
}

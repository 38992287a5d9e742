//! Disclosure control (runtime): the one rule every count that may leave a site passes
//! through, whatever the table (attrition, report, the console). A count of persons is shown
//! as 0 when it is 0, as `<10` when it is 1–9 (below the threshold), and otherwise rounded to
//! the nearest 10; person-days are rounded to the nearest 100 and hidden with the persons they
//! belong to.
//!
//! Why rounding rather than suppressing the neighbours of a hidden cell: the tables of one
//! run are linked (a report's cells add up to the attrition table's last row, two reports of
//! one cohort share their cells, two cohorts one exclusion apart differ by the excluded), so
//! a hidden count can be recovered by subtracting published ones across tables, and choosing
//! neighbours to hide across all of them is a hard problem that is easy to get wrong. A
//! rounded count is known only to ±5, so every difference of published counts is known only
//! to ±9 at best and never pins a hidden count to one value (the tests play the attacks with
//! a linear program). The same exact count is rounded the same way in every table, so the
//! tables of a run agree with each other. Exact counts stay in the site-only record.

/// Counts of persons below this are never shown (the network's rule); a report may raise it.
pub const THRESHOLD: u32 = 10;

/// Counts are rounded to a multiple of this.
pub const COUNT_BASE: u64 = 10;

/// Person-days are rounded to a multiple of this: a difference of two published person-days
/// cannot tell one person's time at risk within ±99 days.
pub const DAYS_BASE: u64 = 100;

/// A count as it may leave the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Nobody: zero is shown as zero.
    Zero,
    /// Rounded to the nearest multiple of `COUNT_BASE` (or `DAYS_BASE` for person-days).
    Rounded(u64),
    /// Below the threshold (shown as `<10`).
    Suppressed,
}

impl Shown {
    /// Text for CSV and the console: `0`, `1230`, `<10`.
    pub fn text(self, threshold: u32) -> String {
        match self {
            Shown::Zero => "0".into(),
            Shown::Rounded(n) => n.to_string(),
            Shown::Suppressed => format!("<{threshold}"),
        }
    }

    /// The number as it may be published (none when suppressed).
    pub fn value(self) -> Option<u64> {
        match self {
            Shown::Zero => Some(0),
            Shown::Rounded(n) => Some(n),
            Shown::Suppressed => None,
        }
    }

    pub fn is_hidden(self) -> bool {
        self == Shown::Suppressed
    }
}

/// `n` rounded to the nearest multiple of `base`, halves up.
pub fn round(n: u64, base: u64) -> u64 {
    (n + base / 2) / base * base
}

/// A count of persons as it may leave: 0, `<threshold`, or rounded to the nearest 10.
pub fn persons(n: u64, threshold: u32) -> Shown {
    if n == 0 {
        Shown::Zero
    } else if n < u64::from(threshold.max(THRESHOLD)) {
        Shown::Suppressed
    } else {
        Shown::Rounded(round(n, COUNT_BASE))
    }
}

/// Person-days as they may leave: hidden when the persons they belong to are, else rounded to
/// the nearest 100 (0 stays 0).
pub fn person_days(days: u64, persons: Shown) -> Shown {
    match persons {
        Shown::Suppressed => Shown::Suppressed,
        _ if days == 0 => Shown::Zero,
        _ => Shown::Rounded(round(days, DAYS_BASE)),
    }
}

/// A report whose cells are so fine that they describe individuals: more than half of its
/// non-empty cells are below the threshold (a report by sex, one-year age band and month
/// lists one row per person, all `<10`). Such a report is withheld whole: even its rows
/// would say who is in the cohort.
pub fn too_fine(persons: &[u64], threshold: u32) -> bool {
    let non_empty = persons.iter().filter(|&&n| n > 0).count();
    let small = persons
        .iter()
        .filter(|&&n| n > 0 && n < u64::from(threshold.max(THRESHOLD)))
        .count();
    non_empty > 1 && small * 2 > non_empty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_small_and_rounded() {
        assert_eq!(persons(0, 10), Shown::Zero);
        assert_eq!(persons(1, 10), Shown::Suppressed);
        assert_eq!(persons(9, 10), Shown::Suppressed);
        assert_eq!(persons(10, 10), Shown::Rounded(10));
        assert_eq!(persons(14, 10), Shown::Rounded(10));
        assert_eq!(persons(15, 10), Shown::Rounded(20));
        assert_eq!(persons(4371, 10), Shown::Rounded(4370));
        // A raised threshold hides more; it never lowers the network's 10.
        assert_eq!(persons(15, 20), Shown::Suppressed);
        assert_eq!(persons(5, 5), Shown::Suppressed);
        assert_eq!(Shown::Suppressed.text(10), "<10");
        assert_eq!(Shown::Rounded(50).text(10), "50");
    }

    #[test]
    fn person_days_go_with_their_persons() {
        assert_eq!(person_days(146, Shown::Suppressed), Shown::Suppressed);
        assert_eq!(
            person_days(65_834, Shown::Rounded(500)),
            Shown::Rounded(65_800)
        );
        assert_eq!(person_days(0, Shown::Rounded(20)), Shown::Zero);
        assert_eq!(person_days(49, Shown::Rounded(20)), Shown::Rounded(0));
    }

    #[test]
    fn a_report_of_individuals_is_too_fine() {
        assert!(too_fine(&[1, 1, 2, 1, 1, 30], 10));
        assert!(!too_fine(&[120, 7, 45, 300], 10));
        assert!(!too_fine(&[3], 10));
        assert!(!too_fine(&[0, 0, 40, 3], 10));
    }
}

//! Disclosure control for aggregate outputs: no count below the threshold (10) is shown, and
//! cells that would let a hidden count be recovered by subtraction are hidden or coarsened too.

/// A count as it may leave the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Exact(u64),
    /// Rounded to the nearest multiple of 10 because an exact value would reveal a small count.
    Rounded(u64),
    /// Below the threshold (shown as `<10`).
    Suppressed,
    /// Not small itself, but withheld so a suppressed count cannot be recovered by
    /// subtraction from a known total; shown as `suppressed`, never as `<10`, which would
    /// mislead the reader about its size.
    Withheld,
}

impl Shown {
    /// Text for CSV and the console: `1234`, `~1230`, `<10`, `suppressed`.
    pub fn text(self, threshold: u32) -> String {
        match self {
            Shown::Exact(n) => n.to_string(),
            Shown::Rounded(n) => format!("~{n}"),
            Shown::Suppressed => format!("<{threshold}"),
            Shown::Withheld => "suppressed".to_string(),
        }
    }

    /// The number written to Parquet (null when suppressed).
    pub fn value(self) -> Option<u64> {
        match self {
            Shown::Exact(n) | Shown::Rounded(n) => Some(n),
            Shown::Suppressed | Shown::Withheld => None,
        }
    }

    /// Whether the count is not shown (either way).
    pub fn is_hidden(self) -> bool {
        matches!(self, Shown::Suppressed | Shown::Withheld)
    }
}

/// One count column of a report: primary suppression of cells below the threshold, then, when
/// exactly one cell is hidden, the smallest other non-zero cell is withheld too (the column
/// total is known from the attrition table, so a single hidden cell could be recovered by
/// subtraction).
pub fn suppress_column(counts: &[u64], threshold: u32) -> Vec<Shown> {
    let t = u64::from(threshold);
    let mut out: Vec<Shown> = counts
        .iter()
        .map(|&n| {
            if n > 0 && n < t {
                Shown::Suppressed
            } else {
                Shown::Exact(n)
            }
        })
        .collect();
    let hidden_nonzero = counts
        .iter()
        .zip(&out)
        .filter(|(n, s)| **s == Shown::Suppressed && **n > 0)
        .count();
    let hidden = out.iter().filter(|s| **s == Shown::Suppressed).count();
    if hidden_nonzero >= 1 && hidden == 1 && counts.len() > 1 {
        let smallest = counts
            .iter()
            .enumerate()
            .filter(|(i, n)| out[*i] != Shown::Suppressed && **n > 0)
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        if let Some(i) = smallest {
            out[i] = Shown::Withheld;
        }
    }
    out
}

/// An attrition table: persons before the first step and after each. Every count is the
/// difference of two neighbours, so a hidden small count (1 to 9 remaining, or removed by a
/// step) could be recovered by subtraction; then every count of the table is rounded to a
/// multiple of 10 (and counts under the threshold are suppressed).
pub fn attrition(remaining: &[u64], threshold: u32) -> (Vec<Shown>, Vec<Shown>, bool) {
    let t = u64::from(threshold);
    let removed: Vec<u64> = remaining
        .windows(2)
        .map(|w| w[0].saturating_sub(w[1]))
        .collect();
    let small_difference = removed.iter().chain(remaining).any(|&r| r > 0 && r < t);
    let show = |n: u64| {
        if n == 0 {
            Shown::Exact(0)
        } else if n < t {
            Shown::Suppressed
        } else if small_difference {
            Shown::Rounded((n + 5) / 10 * 10)
        } else {
            Shown::Exact(n)
        }
    };
    (
        remaining.iter().map(|&n| show(n)).collect(),
        removed.iter().map(|&n| show(n)).collect(),
        small_difference,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cells_are_hidden_and_a_lone_hidden_cell_gets_a_partner() {
        let s = suppress_column(&[120, 7, 45, 300], 10);
        assert_eq!(
            s,
            vec![
                Shown::Exact(120),
                Shown::Suppressed,
                Shown::Withheld,
                Shown::Exact(300)
            ]
        );
        let s = suppress_column(&[120, 7, 3, 300], 10);
        assert_eq!(
            s,
            vec![
                Shown::Exact(120),
                Shown::Suppressed,
                Shown::Suppressed,
                Shown::Exact(300)
            ]
        );
        let s = suppress_column(&[120, 45], 10);
        assert_eq!(s, vec![Shown::Exact(120), Shown::Exact(45)]);
        assert_eq!(Shown::Suppressed.text(10), "<10");
        // A withheld cell is not small and must not read as if it were.
        assert_eq!(Shown::Withheld.text(10), "suppressed");
        assert_eq!(
            suppress_column(&[0, 50, 60], 10),
            vec![Shown::Exact(0), Shown::Exact(50), Shown::Exact(60)]
        );
    }

    #[test]
    fn attrition_rounds_when_a_step_removes_a_few() {
        let (rem, rm, rounded) = attrition(&[1000, 700, 695, 400], 10);
        assert!(rounded);
        assert_eq!(
            rem,
            vec![
                Shown::Rounded(1000),
                Shown::Rounded(700),
                Shown::Rounded(700),
                Shown::Rounded(400)
            ]
        );
        assert_eq!(
            rm,
            vec![Shown::Rounded(300), Shown::Suppressed, Shown::Rounded(300)]
        );
        let (rem, rm, rounded) = attrition(&[1000, 700, 7], 10);
        assert!(rounded);
        assert_eq!(
            rem,
            vec![Shown::Rounded(1000), Shown::Rounded(700), Shown::Suppressed]
        );
        assert_eq!(rm, vec![Shown::Rounded(300), Shown::Rounded(690)]);
        let (rem, rm, rounded) = attrition(&[1000, 700, 700, 0], 10);
        assert!(!rounded);
        assert_eq!(
            rem,
            vec![
                Shown::Exact(1000),
                Shown::Exact(700),
                Shown::Exact(700),
                Shown::Exact(0)
            ]
        );
        assert_eq!(
            rm,
            vec![Shown::Exact(300), Shown::Exact(0), Shown::Exact(700)]
        );
    }
}

//! Complementary suppression by witnesses: for each small count, a whole table that the
//! published counts allow and in which that count is 10 or more, checked exactly.
//!
//! The attacker's tightest upper bound on a hidden count is the largest value it takes over
//! every table consistent with what is published. One such table in which the count is 10
//! or more proves the bound is at least 10, so the count cannot be pinned inside 1–9. The
//! witness is the true table plus a move: `δ = 10 − n` added to the count and to or from a few
//! others so that every relation still holds.
//!
//! An item's cube has three strata: the hospital (whose total is the network), the sex, and
//! the time-or-age stratum: a row is by period, or by age band, or neither (the total of
//! both). A move is a product of one small step per stratum:
//!
//! - *up*: the count's stratum and its total both gain (for a period or an age band, one
//!   stratum of the other kind gains too, since the total is also their sum);
//! - *pair*: the count's stratum gains and another stratum of the same total loses;
//! - *lift* (for a total): the total and one of its parts gain (a period and an age band);
//! - *stay*: only the count's stratum changes, where the relation along it is an inequality
//!   (a person can be counted in several periods and age bands);
//! - *spread*: a pair, up or lift whose δ is shared among several partners (and the total),
//!   each within what keeps its published count true; for persons in a period, the total
//!   (and one stratum of the other kind) gains only what the count's new value needs.
//!
//! A spread's amounts are whole numbers, so at most one step of a move spreads. Before a
//! move would hide an item's network total, two more kinds are tried: the difference of two
//! moves that only add (the count and its totals gain, another count of the same hospital
//! and its totals lose, each through its own age band, and the totals they share stay), and
//! a split move whose measures that add up through time (records, new users) take one step
//! along it and the others (persons) another.
//!
//! Sums hold by construction (each step adds up along its stratum); every bound and
//! inequality the move touches (a shown count stays within its rounding, else it is hidden; a
//! hidden count stays at or above what the attacker knows it is; persons at most records,
//! new users and persons with a value at most persons; persons by period and by age band at
//! most their sum and at least each) is checked on the moved table. Of the moves tried, the
//! one hiding the least is taken. Hiding more never spoils an earlier witness (it only widens
//! what the attacker must allow), so one pass over the small counts protects the whole item.
//! The move of *up* and *lift* steps only adds, so it always passes.

use super::{ALL, Cell, NEW_USERS, PERSONS, RECORDS, Row, WITH_VALUE, interval, least};
use crate::disclosure::THRESHOLD;

/// Candidate partners tried per stratum for a *pair*, an *up* or a *lift*.
const PARTNERS: usize = 2;

/// How widely a search for moves looks: partners per stratum, and whether steps spread.
#[derive(Clone, Copy)]
struct Search {
    partners: usize,
    spreads: bool,
}

/// The likeliest partners, no spreads: enough for most small counts, and quick.
const LIKELIEST: Search = Search {
    partners: PARTNERS,
    spreads: false,
};

/// Every partner: where the likeliest leave no move (a row one needs is not in the cube).
const EVERY: Search = Search {
    partners: usize::MAX,
    spreads: false,
};

/// With spreads: in split moves, tried before hiding a whole item's total.
const SPREADS: Search = Search {
    partners: PARTNERS,
    spreads: true,
};

/// The strata: hospital (its total is the network), time or age, sex.
const DIMS: usize = 3;
const TIME: usize = 1;

/// One item's rows placed in the grid of its strata.
struct Grid {
    /// Levels per stratum; the total's level is `sizes[d]`. Along time or age, the periods
    /// come first (`0..periods`), then the age bands.
    sizes: [usize; DIMS],
    periods: usize,
    coords: Vec<[usize; DIMS]>,
    /// The row at each point of the grid, `usize::MAX` where none.
    at: Vec<usize>,
    /// For a row that is a total in time or age: the sum and the largest of its periods'
    /// (`[0]`) and age bands' (`[1]`) persons (`[..][0]`) and persons with a value (`[..][1]`).
    lines: Vec<[[(u64, u64); 2]; 2]>,
}

impl Grid {
    fn of(rows: &[Row]) -> Result<Grid, String> {
        let mut levels: [Vec<&str>; 4] = Default::default();
        for r in rows {
            if r.period != ALL && r.age_band != ALL {
                return Err(format!(
                    "internal error: a row of {} is by period and by age band",
                    r.item
                ));
            }
            for (d, v, total) in [
                (0, &r.hospital, "network"),
                (1, &r.period, ALL),
                (2, &r.age_band, ALL),
                (3, &r.sex, ALL),
            ] {
                if v != total {
                    levels[d].push(v);
                }
            }
        }
        for l in &mut levels {
            l.sort_unstable();
            l.dedup();
        }
        let periods = levels[1].len();
        let sizes = [levels[0].len(), periods + levels[2].len(), levels[3].len()];
        let find = |d: usize, v: &str| levels[d].binary_search(&v).ok();
        let coords: Vec<[usize; DIMS]> = rows
            .iter()
            .map(|r| {
                let time = find(1, &r.period)
                    .or_else(|| find(2, &r.age_band).map(|a| periods + a))
                    .unwrap_or(sizes[TIME]);
                [
                    find(0, &r.hospital).unwrap_or(sizes[0]),
                    time,
                    find(3, &r.sex).unwrap_or(sizes[2]),
                ]
            })
            .collect();
        let points: usize = sizes.iter().map(|s| s + 1).product();
        let mut grid = Grid {
            sizes,
            periods,
            coords,
            at: vec![usize::MAX; points],
            lines: vec![[[(0, 0); 2]; 2]; rows.len()],
        };
        for (i, c) in grid.coords.iter().enumerate() {
            let p = grid.point(c);
            grid.at[p] = i;
        }
        for (i, r) in rows.iter().enumerate() {
            let c = grid.coords[i];
            let Some(branch) = grid.branch(c[TIME]) else {
                continue;
            };
            let Some(parent) = grid.row(&grid.total_of(c)) else {
                continue;
            };
            for (k, m) in [PERSONS, WITH_VALUE].into_iter().enumerate() {
                let n = r.exact[m].unwrap_or(0);
                let line = &mut grid.lines[parent][branch][k];
                line.0 += n;
                line.1 = line.1.max(n);
            }
        }
        Ok(grid)
    }

    fn point(&self, c: &[usize; DIMS]) -> usize {
        c.iter()
            .zip(self.sizes)
            .fold(0, |p, (&x, s)| p * (s + 1) + x)
    }

    fn row(&self, c: &[usize; DIMS]) -> Option<usize> {
        let i = self.at[self.point(c)];
        (i != usize::MAX).then_some(i)
    }

    /// Along time or age: 0 for a period, 1 for an age band, `None` for the total.
    fn branch(&self, t: usize) -> Option<usize> {
        if t < self.periods {
            Some(0)
        } else if t < self.sizes[TIME] {
            Some(1)
        } else {
            None
        }
    }

    /// The levels of a branch along time or age.
    fn branch_levels(&self, b: usize) -> std::ops::Range<usize> {
        if b == 0 {
            0..self.periods
        } else {
            self.periods..self.sizes[TIME]
        }
    }

    fn total_of(&self, mut c: [usize; DIMS]) -> [usize; DIMS] {
        c[TIME] = self.sizes[TIME];
        c
    }
}

/// A row's counts without the names of its strata: the search reads only these, and an
/// item's counts side by side stay in the processor's cache where its whole rows (about 270
/// bytes each, most of them the strata's text) did not.
#[derive(Clone, Copy)]
pub(super) struct Counts {
    exact: [Option<u64>; 4],
    shown: [Cell; 4],
}

impl Counts {
    fn of(rows: &[Row]) -> Vec<Counts> {
        rows.iter()
            .map(|r| Counts {
                exact: r.exact,
                shown: r.shown,
            })
            .collect()
    }
}

/// The measures of a row bounded by another: (at most, bound).
const ROW_ORDER: [(usize, usize); 3] = [
    (PERSONS, RECORDS),
    (NEW_USERS, PERSONS),
    (WITH_VALUE, PERSONS),
];

/// Whether a measure's counts add up along a stratum (a person is at one hospital and of one
/// sex; a record, and a new user's first record, are in one period and one age band too).
fn additive(m: usize, d: usize) -> bool {
    matches!(m, RECORDS | NEW_USERS) || d != TIME
}

/// Most levels a step changes (the count's and, for a spread, up to eleven partners' or its
/// total's).
const STEP_LEVELS: usize = 12;

/// A step along one stratum: the levels that change and by how many δ each, or, for a
/// spread, by how much each (δ shared among partners, each within its own rounding).
#[derive(Clone, Copy)]
struct Step {
    levels: [(usize, i64); STEP_LEVELS],
    len: usize,
    spread: bool,
}

impl Step {
    fn of(levels: &[(usize, i64)]) -> Step {
        let mut s = Step {
            levels: [(0, 0); STEP_LEVELS],
            len: levels.len(),
            spread: false,
        };
        s.levels[..levels.len()].copy_from_slice(levels);
        s
    }

    fn spread(levels: &[(usize, i64)]) -> Step {
        Step {
            spread: true,
            ..Step::of(levels)
        }
    }
}

/// What a move costs: the counts it must hide by how much of the cube they sum up (hiding
/// a network total, then a total over two strata, weighs more than any number of counts
/// below them: a researcher reads the totals first), then their sum, then how many.
type Cost = ([usize; DIMS + 1], u64, usize);

/// What a row gains in each measure.
pub(super) type Gains = [i64; 4];

/// The rows a move changes, with what each gains.
type Corners = Vec<(usize, Gains)>;

/// Counts a move hides: row and measure.
type Hidden = Vec<(usize, usize)>;

/// A move checked against the cube: what it costs and what it changes.
struct Checked {
    cost: Cost,
    corners: Corners,
    hide: Hidden,
}

/// A witness: the true table with each corner's gains added (the count's own corner gains
/// what puts it at 10).
#[cfg_attr(not(test), allow(dead_code, reason = "the tests check each witness"))]
pub(super) struct Witness {
    pub target: (usize, usize),
    pub corners: Corners,
}

/// Two moves made one: `b` times `sign` added to `a`; rows left unchanged are dropped.
fn merge(mut a: Corners, b: Corners, sign: i64) -> Corners {
    for (j, g) in b {
        match a.iter_mut().find(|(c, _)| *c == j) {
            Some((_, h)) => {
                for m in 0..4 {
                    h[m] += sign * g[m];
                }
            }
            None => a.push((j, g.map(|x| sign * x))),
        }
    }
    a.retain(|(_, g)| g.iter().any(|&x| x != 0));
    a
}

/// Protects one item's rows (small counts already marked `Small`): hides counts until each
/// small count has a witness, and returns the witnesses (the tests check each against the
/// attacker's relations).
pub(super) fn protect(named: &mut [Row]) -> Result<Vec<Witness>, String> {
    let grid = Grid::of(named)?;
    let mut rows = Counts::of(named);
    let mut covered = vec![[false; 4]; rows.len()];
    let mut witnesses = Vec::new();
    for i in 0..rows.len() {
        for m in 0..4 {
            if rows[i].shown[m] != Cell::Small || covered[i][m] {
                continue;
            }
            let n = rows[i].exact[m].unwrap_or(0) as i64;
            let delta = i64::from(THRESHOLD) - n;
            let best = best_move(&rows, &grid, i, m, delta).ok_or_else(|| {
                let r = &named[i];
                format!(
                    "internal error: no witness for {} {} at {} {} {} {}",
                    r.item,
                    super::COUNTS[m],
                    r.hospital,
                    r.period,
                    r.age_band,
                    r.sex
                )
            })?;
            for &(j, m2) in &best.hide {
                rows[j].shown[m2] = Cell::Complementary;
            }
            // The witness covers every small count it puts at 10 or more.
            for &(j, gain) in &best.corners {
                for m2 in (0..4).filter(|&m2| gain[m2] != 0) {
                    let x = rows[j].exact[m2].unwrap_or(0) as i64 + gain[m2];
                    if rows[j].shown[m2] == Cell::Small && x >= i64::from(THRESHOLD) {
                        covered[j][m2] = true;
                    }
                }
            }
            covered[i][m] = true;
            witnesses.push(Witness {
                target: (i, m),
                corners: best.corners,
            });
        }
    }
    for (r, c) in named.iter_mut().zip(&rows) {
        r.shown = c.shown;
    }
    Ok(witnesses)
}

/// The measure sets tried for a count of measure `m`: itself, then with the measures that
/// bound it from above, then every measure of the row.
fn measure_sets(row: &Counts, m: usize) -> Vec<Vec<usize>> {
    let applies = |m2: &usize| row.exact[*m2].is_some();
    let up: Vec<usize> = match m {
        PERSONS => vec![PERSONS, RECORDS],
        NEW_USERS => vec![NEW_USERS, PERSONS, RECORDS],
        WITH_VALUE => vec![WITH_VALUE, PERSONS, RECORDS],
        _ => vec![m],
    };
    let mut sets = vec![vec![m], up.into_iter().filter(applies).collect()];
    sets.push((0..4).filter(applies).collect());
    sets.dedup();
    sets
}

/// The cheapest move that puts count (i, m) at 10 or more, of those tried.
fn best_move(rows: &[Counts], grid: &Grid, i: usize, m: usize, delta: i64) -> Option<Checked> {
    // The likeliest partners first; where none of their moves exists (a row they need is
    // not in the cube: no person of the count's sex in that age band), every partner.
    let mut best = products(rows, grid, (i, m), delta, LIKELIEST)
        .or_else(|| products(rows, grid, (i, m), delta, EVERY));
    // A whole item's total is the count a researcher reads first: before hiding one, a
    // move that leaves the totals shared by two counts where they are, and moves whose
    // measures go their own ways through time (their steps may spread). Spreads in every
    // search spared no more totals on the 1 M-patient network and took 2 s more.
    if best.as_ref().is_some_and(|b| b.cost.0[0] > 0) {
        let partners = difference_partners(rows, grid, (i, m), delta);
        for ms in measure_sets(&rows[i], m) {
            keep_cheaper(&mut best, difference(rows, grid, i, delta, &ms, &partners));
            keep_cheaper(&mut best, split(rows, grid, (i, m), delta, &ms));
        }
    }
    best
}

/// The cheapest move of one step per stratum, searched as `search` says.
fn products(
    rows: &[Counts],
    grid: &Grid,
    (i, m): (usize, usize),
    delta: i64,
    search: Search,
) -> Option<Checked> {
    let mut best: Option<Checked> = None;
    for ms in measure_sets(&rows[i], m) {
        let steps: Vec<Vec<Step>> = (0..DIMS)
            .map(|d| steps(rows, grid, (i, m, d), delta, &ms, search))
            .collect();
        if steps.iter().any(|s| s.is_empty()) {
            continue;
        }
        let mut pick = [0usize; DIMS];
        // Each combination's rows are made in one vector, copied only into a move kept.
        let mut corners: Corners = Vec::with_capacity(12);
        'combos: loop {
            let chosen = [0, 1, 2].map(|d| &steps[d][pick[d]]);
            let c = product_into(grid, chosen, delta, &ms, &mut corners)
                .then(|| check(rows, grid, &corners, bound(&best)))
                .flatten();
            if keep_cheaper(&mut best, c)
                && best.as_ref().is_some_and(|b| b.cost == Cost::default())
            {
                return best;
            }
            // The next combination.
            let mut d = 0;
            loop {
                if d == DIMS {
                    break 'combos;
                }
                pick[d] += 1;
                if pick[d] < steps[d].len() {
                    break;
                }
                pick[d] = 0;
                d += 1;
            }
        }
    }
    best
}

/// The kinds of move [`candidates`] names.
#[cfg(test)]
pub(super) const KINDS: [&str; 5] = [
    "product",
    "product with every partner",
    "difference",
    "split",
    "product with spreads",
];

/// Every kind of move's cheapest for count (i, m), each with the counts it hides: the
/// tests check each against the attacker's relations, not only the one taken (the steps
/// that spread, which split moves take, also in moves of their own: the random cubes are
/// too small for a split to need them often).
#[cfg(test)]
pub(super) fn candidates(
    named: &[Row],
    i: usize,
    m: usize,
) -> Vec<(&'static str, Witness, Hidden)> {
    let grid = Grid::of(named).expect("a grid");
    let rows = &Counts::of(named)[..];
    let delta = i64::from(THRESHOLD) - rows[i].exact[m].unwrap_or(0) as i64;
    let mut found = vec![
        (KINDS[0], products(rows, &grid, (i, m), delta, LIKELIEST)),
        (KINDS[1], products(rows, &grid, (i, m), delta, EVERY)),
    ];
    let partners = difference_partners(rows, &grid, (i, m), delta);
    for ms in measure_sets(&rows[i], m) {
        found.push((KINDS[2], difference(rows, &grid, i, delta, &ms, &partners)));
        found.push((KINDS[3], split(rows, &grid, (i, m), delta, &ms)));
    }
    found.push((KINDS[4], products(rows, &grid, (i, m), delta, SPREADS)));
    found
        .into_iter()
        .filter_map(|(kind, c)| {
            let c = c?;
            let w = Witness {
                target: (i, m),
                corners: c.corners,
            };
            Some((kind, w, c.hide))
        })
        .collect()
}

/// A move whose measures that add up through time (records, new users) take one step along
/// it and those that do not (persons, persons with a value) another, the same steps along
/// hospital and sex: persons may stay while their records pair with another period's.
fn split(
    rows: &[Counts],
    grid: &Grid,
    (i, m): (usize, usize),
    delta: i64,
    ms: &[usize],
) -> Option<Checked> {
    let (adding, not): (Vec<usize>, Vec<usize>) = ms.iter().partition(|&&m2| additive(m2, TIME));
    if adding.is_empty() || not.is_empty() {
        return None;
    }
    let lead = |group: &[usize]| if group.contains(&m) { m } else { group[0] };
    let along = |d: usize| steps(rows, grid, (i, m, d), delta, ms, SPREADS);
    let (hospital, sex) = (along(0), along(2));
    let time_not = steps(rows, grid, (i, lead(&not), TIME), delta, &not, SPREADS);
    let time_adding = steps(
        rows,
        grid,
        (i, lead(&adding), TIME),
        delta,
        &adding,
        SPREADS,
    );
    let mut best: Option<Checked> = None;
    for h in &hospital {
        for s in &sex {
            // The second step's moves once, not once per first step.
            let seconds: Vec<Corners> = time_adding
                .iter()
                .filter_map(|b| product(grid, [h, b, s], delta, &adding))
                .collect();
            for a in &time_not {
                let Some(first) = product(grid, [h, a, s], delta, &not) else {
                    continue;
                };
                for second in &seconds {
                    let corners = merge(first.clone(), second.clone(), 1);
                    let c = check(rows, grid, &corners, bound(&best));
                    keep_cheaper(&mut best, c);
                }
            }
        }
    }
    best
}

/// The cost a move must be under to be kept over `best` (none before the first).
fn bound(best: &Option<Checked>) -> Option<Cost> {
    best.as_ref().map(|b| b.cost)
}

/// Keeps `candidate` if it costs less than the best so far; whether it did.
fn keep_cheaper(best: &mut Option<Checked>, candidate: Option<Checked>) -> bool {
    match candidate {
        Some(c) if best.as_ref().is_none_or(|b| c.cost < b.cost) => {
            *best = Some(c);
            true
        }
        _ => false,
    }
}

/// The likeliest partners of count (i, m) along stratum `d` among `levels`: those that
/// need no hiding after gaining (`sign` 1) or losing (-1) δ first, then the largest (to
/// lose) or smallest (to gain, cheaper to hide).
fn partners(
    rows: &[Counts],
    grid: &Grid,
    (i, m, d): (usize, usize, usize),
    levels: std::ops::Range<usize>,
    (sign, delta): (i64, i64),
    limit: usize,
) -> Vec<usize> {
    let x = grid.coords[i][d];
    let mut found: Vec<((u8, i64), usize)> = levels
        .filter(|&k| k != x)
        .filter_map(|k| {
            let mut c = grid.coords[i];
            c[d] = k;
            let j = grid.row(&c)?;
            let n = rows[j].exact[m]? as i64;
            let after = n + sign * delta;
            if after < least(m) {
                return None;
            }
            let free = match rows[j].shown[m] {
                Cell::Small | Cell::Complementary => true,
                Cell::Shown(s) if s > 0 => {
                    let (lo, hi) = interval(s);
                    (lo..=hi).contains(&after)
                }
                _ => return None,
            };
            Some(((u8::from(!free), -sign * n), k))
        })
        .collect();
    found.sort_unstable();
    found.into_iter().take(limit).map(|(_, k)| k).collect()
}

/// The steps tried along stratum `d` for count (i, m): up, pairs and lifts with the
/// likeliest partners (as many as `search` says), a stay where the stratum's relation is an
/// inequality for every measure moved, and spreads if `search` says so.
fn steps(
    rows: &[Counts],
    grid: &Grid,
    (i, m, d): (usize, usize, usize),
    delta: i64,
    ms: &[usize],
    search: Search,
) -> Vec<Step> {
    let size = grid.sizes[d];
    let x = grid.coords[i][d];
    let with = |levels, sign| {
        partners(
            rows,
            grid,
            (i, m, d),
            levels,
            (sign, delta),
            search.partners,
        )
    };
    let mut out = Vec::new();
    if d != TIME {
        if x < size {
            out.push(Step::of(&[(x, 1), (size, 1)]));
            for k in with(0..size, -1) {
                out.push(Step::of(&[(x, 1), (k, -1)]));
            }
            if search.spreads {
                // Partners lose, the total may gain some.
                let shares: Vec<(usize, i64)> = (0..=size)
                    .map(|k| (k, if k == size { 1 } else { -1 }))
                    .collect();
                out.extend(spread(rows, grid, (i, d), delta, ms, &shares));
            }
        } else if size == 0 {
            out.push(Step::of(&[(x, 1)]));
        } else {
            for k in with(0..size, 1) {
                out.push(Step::of(&[(x, 1), (k, 1)]));
            }
            if search.spreads {
                let shares: Vec<(usize, i64)> = (0..size).map(|k| (k, 1)).collect();
                out.extend(spread(rows, grid, (i, d), delta, ms, &shares));
            }
        }
    } else {
        let branches: Vec<_> = (0..2)
            .map(|b| grid.branch_levels(b))
            .filter(|l| !l.is_empty())
            .collect();
        match grid.branch(x) {
            Some(b) => {
                let (own, other) = (grid.branch_levels(b), grid.branch_levels(1 - b));
                for k in with(own.clone(), -1) {
                    out.push(Step::of(&[(x, 1), (k, -1)]));
                }
                // Where every measure moved adds up through time, the other periods (or
                // age bands) may share the loss.
                if search.spreads && ms.iter().all(|&m2| additive(m2, TIME)) {
                    let shares: Vec<(usize, i64)> = own.map(|k| (k, -1)).collect();
                    out.extend(spread(rows, grid, (i, d), delta, ms, &shares));
                }
                // Up: the total is also the other branch's sum.
                if other.is_empty() {
                    out.push(Step::of(&[(x, 1), (size, 1)]));
                }
                for k in with(other.clone(), 1) {
                    out.push(Step::of(&[(x, 1), (size, 1), (k, 1)]));
                }
                // Persons (with a value) in a period are at most the total: it gains only
                // what the count's new value needs, and so does one stratum of the other
                // kind (the total is at most their sum).
                if search.spreads
                    && ms.iter().all(|&m2| !additive(m2, TIME))
                    && let Some(total) = grid.row(&grid.total_of(grid.coords[i]))
                {
                    let need = ms
                        .iter()
                        .map(|&m2| {
                            let at = |j: usize| rows[j].exact[m2].unwrap_or(0) as i64;
                            at(i) + delta - at(total)
                        })
                        .max()
                        .unwrap_or(0);
                    if 0 < need && need < delta {
                        for k in with(other, 1) {
                            out.push(Step::spread(&[(x, delta), (size, need), (k, need)]));
                        }
                    }
                }
            }
            None => {
                // Lift: one stratum of each branch.
                let picks: Vec<Vec<usize>> = branches.into_iter().map(|l| with(l, 1)).collect();
                match picks.as_slice() {
                    [] => out.push(Step::of(&[(x, 1)])),
                    [one] => out.extend(one.iter().map(|&k| Step::of(&[(x, 1), (k, 1)]))),
                    [p, a] => {
                        for &k in p {
                            for &l in a {
                                out.push(Step::of(&[(x, 1), (k, 1), (l, 1)]));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if ms.iter().all(|&m2| !additive(m2, d)) {
            out.push(Step::of(&[(x, 1)]));
        }
    }
    out
}

/// Pairs, ups and lifts whose δ is shared along stratum `d`: the count gains δ, and its
/// total (when it has one) gains and partners lose, or (for a total) its parts gain, each
/// by no more than keeps its published count true, largest room first. The room is that of
/// the row beside the count, and, in a second step, the least of the rows beside the count
/// and beside its totals along the other strata (where the other steps may move it too).
/// A hidden row may lose down to what the attacker knows it is. Steps that one level alone
/// could take (a plain pair, up or lift) are left out.
fn spread(
    rows: &[Counts],
    grid: &Grid,
    (i, d): (usize, usize),
    delta: i64,
    ms: &[usize],
    candidates: &[(usize, i64)],
) -> Vec<Step> {
    let x = grid.coords[i][d];
    let [e, f] = match d {
        0 => [1, 2],
        1 => [0, 2],
        _ => [0, 1],
    };
    // The room of row j to move by `sign`, in every measure moved, and against the measures
    // of its row that stay (persons at most records, ...).
    let room_of = |j: usize, sign: i64| -> Option<i64> {
        let within = ROW_ORDER.iter().filter_map(|&(small, big)| {
            let (a, b) = (rows[j].exact[small]?, rows[j].exact[big]?);
            match (ms.contains(&small), ms.contains(&big)) {
                (true, false) if sign > 0 => Some((b - a) as i64),
                (false, true) if sign < 0 => Some((b - a) as i64),
                _ => None,
            }
        });
        ms.iter()
            .map(|&m| {
                let n = rows[j].exact[m]? as i64;
                match rows[j].shown[m] {
                    Cell::Small | Cell::Complementary if sign < 0 => Some(n - least(m)),
                    Cell::Small | Cell::Complementary => Some(delta),
                    Cell::Shown(s) if s > 0 => {
                        let (lo, hi) = interval(s);
                        Some(if sign < 0 { n - lo } else { hi - n })
                    }
                    _ => None,
                }
            })
            .chain(within.map(Some))
            .try_fold(delta, |r, x| x.map(|x| r.min(x)))
    };
    let mut out = Vec::new();
    for wide in [false, true] {
        let mut room: Vec<(i64, usize, i64)> = candidates
            .iter()
            .filter(|&&(k, _)| k != x)
            .filter_map(|&(k, sign)| {
                let mut c = grid.coords[i];
                c[d] = k;
                let mut r = room_of(grid.row(&c)?, sign)?;
                if wide {
                    for (te, tf) in [(true, false), (false, true), (true, true)] {
                        let mut t = c;
                        if te {
                            t[e] = grid.sizes[e];
                        }
                        if tf {
                            t[f] = grid.sizes[f];
                        }
                        if let Some(j) = grid.row(&t) {
                            r = r.min(room_of(j, sign)?);
                        }
                    }
                }
                (r > 0).then_some((-r.min(delta), k, sign))
            })
            .collect();
        room.sort_unstable();
        if room.first().is_none_or(|&(r, _, _)| -r >= delta) {
            continue;
        }
        let mut levels = vec![(x, delta)];
        let mut left = delta;
        for (r, k, sign) in room.into_iter().take(STEP_LEVELS - 1) {
            let take = (-r).min(left);
            levels.push((k, sign * take));
            left -= take;
            if left == 0 {
                out.push(Step::spread(&levels));
                break;
            }
        }
    }
    out
}

/// The rows a move of one step per stratum changes, each gaining its amount in the measures
/// `ms`; `None` where one of them does not exist, or where two steps spread (their product
/// would split a person).
fn product(grid: &Grid, steps: [&Step; DIMS], delta: i64, ms: &[usize]) -> Option<Corners> {
    let mut corners: Corners = Vec::with_capacity(12);
    product_into(grid, steps, delta, ms, &mut corners).then_some(corners)
}

/// [`product`] into `corners` (cleared first); whether the move exists.
fn product_into(
    grid: &Grid,
    steps: [&Step; DIMS],
    delta: i64,
    ms: &[usize],
    corners: &mut Corners,
) -> bool {
    corners.clear();
    let scale = match steps.iter().filter(|s| s.spread).count() {
        0 => delta,
        1 => 1,
        _ => return false,
    };
    for a in &steps[0].levels[..steps[0].len] {
        for b in &steps[1].levels[..steps[1].len] {
            for c in &steps[2].levels[..steps[2].len] {
                let amount = scale * a.1 * b.1 * c.1;
                let mut gains = [0; 4];
                for &m in ms {
                    gains[m] = amount;
                }
                let Some(j) = grid.row(&[a.0, b.0, c.0]) else {
                    return false;
                };
                corners.push((j, gains));
            }
        }
    }
    true
}

/// A count and everything it adds up into (its hospital's and the network's totals, by
/// time or age and over it, by sex and over it), the time stratum's total reached also
/// through age band `k`: the move that only adds. For a count by hospital, period or age
/// band, and sex.
fn up(grid: &Grid, x: [usize; DIMS], k: Option<usize>) -> Option<[Step; DIMS]> {
    let [h, t, s] = x;
    let sizes = grid.sizes;
    if h == sizes[0] || t == sizes[TIME] || s == sizes[2] {
        return None;
    }
    let time = match k {
        Some(k) => Step::of(&[(t, 1), (sizes[TIME], 1), (k, 1)]),
        None => Step::of(&[(t, 1), (sizes[TIME], 1)]),
    };
    Some([
        Step::of(&[(h, 1), (sizes[0], 1)]),
        time,
        Step::of(&[(s, 1), (sizes[2], 1)]),
    ])
}

/// Two moves that only add, one of them taken away: the count and its totals gain, another
/// count of the same hospital and its totals lose, and the totals they share (the
/// hospital's, the network's) stay as they are. Tried when every single move would hide a
/// total of the whole item.
fn difference(
    rows: &[Counts],
    grid: &Grid,
    i: usize,
    delta: i64,
    ms: &[usize],
    partners: &[usize],
) -> Option<Checked> {
    let x = grid.coords[i];
    let b = grid.branch(x[TIME])?;
    let other: Vec<usize> = grid.branch_levels(1 - b).collect();
    let ks: Vec<Option<usize>> = if other.is_empty() {
        vec![None]
    } else {
        other.into_iter().map(Some).collect()
    };
    // Each side's move through each stratum of the other kind, made once (not once per
    // pairing with the other side's).
    let through = |at: [usize; DIMS]| -> Vec<Option<Corners>> {
        ks.iter()
            .map(|&k| up(grid, at, k).and_then(|steps| product(grid, steps.each_ref(), delta, ms)))
            .collect()
    };
    let plus = through(x);
    let mut best: Option<Checked> = None;
    // Each through its own stratum of the other kind: the count's sex may be in one age band
    // only, the other's too small there to lose δ.
    for &j in partners {
        let minus = through(grid.coords[j]);
        for p in &plus {
            for q in &minus {
                let (Some(p), Some(q)) = (p, q) else {
                    continue;
                };
                // Rows in both cancel: the shared totals.
                let corners = merge(p.clone(), q.clone(), -1);
                let c = check(rows, grid, &corners, bound(&best));
                keep_cheaper(&mut best, c);
            }
        }
    }
    best
}

/// The partners a [`difference`] for count (i, m) tries: counts of the same hospital and of
/// another sex, in the count's branch of time or age, that can lose δ, largest first.
fn difference_partners(
    rows: &[Counts],
    grid: &Grid,
    (i, m): (usize, usize),
    delta: i64,
) -> Vec<usize> {
    let x = grid.coords[i];
    let Some(b) = grid.branch(x[TIME]) else {
        return Vec::new();
    };
    let mut partners: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .filter_map(|(j, r)| {
            let y = grid.coords[j];
            let n = r.exact[m]? as i64;
            (y[0] == x[0]
                && y[2] != x[2]
                && y[2] < grid.sizes[2]
                && grid.branch(y[TIME]) == Some(b)
                && n - delta >= least(m))
            .then_some((-n, j))
        })
        .collect();
    partners.sort_unstable();
    partners
        .into_iter()
        .take(PARTNERS * 2)
        .map(|(_, j)| j)
        .collect()
}

/// The move that changes `corners` (rows and what each gains), checked against every bound
/// and relation it touches; `None` where it breaks one that hiding cannot mend, or costs at
/// least `bound` (the best move so far's cost: it would not be taken).
fn check(
    rows: &[Counts],
    grid: &Grid,
    corners: &[(usize, Gains)],
    bound: Option<Cost>,
) -> Option<Checked> {
    let moved = |m: usize| corners.iter().any(|(_, g)| g[m] != 0);
    let value = |j: usize, m: usize, gain: &Gains| -> i64 {
        rows[j].exact[m].unwrap_or(0) as i64 + gain[m]
    };
    let mut cost = Cost::default();
    let mut hide = Vec::new();
    for (j, gain) in corners {
        let j = *j;
        for m in (0..4).filter(|&m| gain[m] != 0) {
            let x = value(j, m, gain);
            match rows[j].shown[m] {
                Cell::None | Cell::Shown(0) => return None,
                Cell::Small | Cell::Complementary => {
                    if x < least(m) {
                        return None;
                    }
                }
                Cell::Shown(n) => {
                    let (lo, hi) = interval(n);
                    if !(lo..=hi).contains(&x) {
                        if x < least(m) {
                            return None;
                        }
                        // Totals first: the level is how many strata the count is a total over.
                        let level = (0..DIMS)
                            .filter(|&d| grid.coords[j][d] == grid.sizes[d])
                            .count();
                        cost.0[DIMS - level] += 1;
                        cost.1 += rows[j].exact[m].unwrap_or(0);
                        cost.2 += 1;
                        // Costs only grow: a move that already costs what the best one
                        // does would not be taken, so the rest of it is not checked.
                        if bound.is_some_and(|b| cost >= b) {
                            return None;
                        }
                        hide.push((j, m));
                    }
                }
            }
        }
        // Within the row.
        for (small, big) in ROW_ORDER {
            if rows[j].exact[small].is_some()
                && rows[j].exact[big].is_some()
                && value(j, small, gain) > value(j, big, gain)
            {
                return None;
            }
        }
    }
    // Persons (and persons with a value) by period and by age band: the total is at most
    // the parts' sum and at least each part.
    let gain_of = |j: usize| {
        corners
            .iter()
            .find(|(c, _)| *c == j)
            .map_or([0; 4], |(_, g)| *g)
    };
    if !moved(PERSONS) && !moved(WITH_VALUE) {
        return Some(Checked {
            cost,
            corners: corners.to_vec(),
            hide,
        });
    }
    let mut totals: Vec<usize> = corners
        .iter()
        .filter_map(|&(j, _)| grid.row(&grid.total_of(grid.coords[j])))
        .collect();
    totals.sort_unstable();
    totals.dedup();
    for (k, m) in [PERSONS, WITH_VALUE].into_iter().enumerate() {
        if !moved(m) {
            continue;
        }
        for &p in &totals {
            let total = value(p, m, &gain_of(p));
            let cp = grid.coords[p];
            for b in 0..2 {
                let levels = grid.branch_levels(b);
                if levels.is_empty() {
                    continue;
                }
                let (sum, largest) = grid.lines[p][b][k];
                let mut parts = sum as i64;
                for (j, g) in corners {
                    let cj = grid.coords[*j];
                    if levels.contains(&cj[TIME]) && cj[0] == cp[0] && cj[2] == cp[2] {
                        parts += g[m];
                        if value(*j, m, g) > total {
                            return None;
                        }
                    }
                }
                if total > parts {
                    return None;
                }
                // A total that loses must stay at least each unmoved part.
                if total < largest as i64 {
                    for l in levels {
                        let mut c = cp;
                        c[TIME] = l;
                        if let Some(j) = grid.row(&c)
                            && gain_of(j)[m] == 0
                            && rows[j].exact[m].unwrap_or(0) as i64 > total
                        {
                            return None;
                        }
                    }
                }
            }
        }
    }
    Some(Checked {
        cost,
        corners: corners.to_vec(),
        hide,
    })
}

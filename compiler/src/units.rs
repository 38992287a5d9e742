//! Units of measurement (used by the type checker and code generation): dimensions, the units
//! hospitals report, their spellings and conversion factors within a dimension.

use std::fmt;

/// What a unit measures. Two quantities compare only within one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// cells per volume: `/uL`, `10^3/uL`, `10^4/uL`, `10^9/L`
    CountPerVolume,
    /// mass per volume: `mg/dL`, `g/dL`, `ng/mL`, `pg/mL`
    MassPerVolume,
    /// amount of substance per volume: `mmol/L`, `umol/L`, `mEq/L`
    SubstancePerVolume,
    /// enzyme or hormone activity per volume: `U/L`, `IU/L`, `U/mL`, `uIU/mL`
    ActivityPerVolume,
    /// a share: `%`
    Percent,
    /// a pure number: `ratio` (INR), `pH`, `COI`
    Ratio,
    /// `sec`
    Time,
    /// `fL`
    Volume,
    /// `pg`
    Mass,
    /// `mL/min/1.73m2`
    FlowRate,
    /// Arbitrary units specific to one assay: `mAU/mL`.
    Arbitrary,
}

impl Dimension {
    /// How the dimension is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Dimension::CountPerVolume => "count per volume",
            Dimension::MassPerVolume => "mass per volume",
            Dimension::SubstancePerVolume => "substance per volume",
            Dimension::ActivityPerVolume => "activity per volume",
            Dimension::Percent => "percent",
            Dimension::Ratio => "ratio",
            Dimension::Time => "time",
            Dimension::Volume => "volume",
            Dimension::Mass => "mass",
            Dimension::FlowRate => "flow rate",
            Dimension::Arbitrary => "assay units",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A unit: its canonical spelling, dimension and factor to the dimension's base unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitDef {
    pub name: &'static str,
    pub dimension: Dimension,
    /// value in this unit × factor = value in the dimension's base unit.
    pub factor: f64,
}

const fn u(name: &'static str, dimension: Dimension, factor: f64) -> UnitDef {
    UnitDef {
        name,
        dimension,
        factor,
    }
}

use Dimension::*;

/// Every unit mid knows. Base units: `/uL`, `mg/dL`, `mmol/L`, `U/L`, `%`, `ratio`, `sec`,
/// `fL`, `pg`, `mL/min/1.73m2`.
pub const UNITS: &[UnitDef] = &[
    u("/uL", CountPerVolume, 1.0),
    u("/mm3", CountPerVolume, 1.0),
    u("10^2/uL", CountPerVolume, 1e2),
    u("10^3/uL", CountPerVolume, 1e3),
    u("10^4/uL", CountPerVolume, 1e4),
    u("10^6/uL", CountPerVolume, 1e6),
    u("10^9/L", CountPerVolume, 1e3),
    u("10^12/L", CountPerVolume, 1e6),
    u("mg/dL", MassPerVolume, 1.0),
    u("g/dL", MassPerVolume, 1e3),
    u("g/L", MassPerVolume, 1e2),
    u("mg/L", MassPerVolume, 1e-1),
    u("mg/mL", MassPerVolume, 1e2),
    u("ug/dL", MassPerVolume, 1e-3),
    u("ug/mL", MassPerVolume, 1e-1),
    u("ug/L", MassPerVolume, 1e-4),
    u("ng/mL", MassPerVolume, 1e-4),
    u("ng/dL", MassPerVolume, 1e-6),
    u("ng/L", MassPerVolume, 1e-7),
    u("pg/mL", MassPerVolume, 1e-7),
    u("mmol/L", SubstancePerVolume, 1.0),
    u("mEq/L", SubstancePerVolume, 1.0),
    u("umol/L", SubstancePerVolume, 1e-3),
    u("nmol/L", SubstancePerVolume, 1e-6),
    u("pmol/L", SubstancePerVolume, 1e-9),
    u("mmol/mol", Ratio, 1e-3),
    u("U/L", ActivityPerVolume, 1.0),
    u("IU/L", ActivityPerVolume, 1.0),
    u("U/mL", ActivityPerVolume, 1e3),
    u("kU/L", ActivityPerVolume, 1e3),
    u("IU/mL", ActivityPerVolume, 1e3),
    u("mU/mL", ActivityPerVolume, 1.0),
    u("mIU/mL", ActivityPerVolume, 1.0),
    u("mIU/L", ActivityPerVolume, 1e-3),
    u("uIU/mL", ActivityPerVolume, 1e-3),
    u("uU/mL", ActivityPerVolume, 1e-3),
    u("ukat/L", ActivityPerVolume, 60.0),
    u("%", Percent, 1.0),
    u("permille", Percent, 0.1),
    u("ratio", Ratio, 1.0),
    u("INR", Ratio, 1.0),
    u("pH", Ratio, 1.0),
    u("COI", Ratio, 1.0),
    u("L/L", Ratio, 1.0),
    u("sec", Time, 1.0),
    u("fL", Volume, 1.0),
    u("pg", Mass, 1.0),
    u("mL/min/1.73m2", FlowRate, 1.0),
    u("mAU/mL", Arbitrary, 1.0),
];

/// The spelling hospitals' unit strings are reduced to before matching: Greek mu and micro
/// sign become `u`, `×`/`x` before a power of ten and `*` for `^` go, and case is ignored.
/// The runtime applies the same normalisation (see `normalise_sql_steps`).
pub fn normalise(text: &str) -> String {
    let (from, to) = NORMALISE_CHARS;
    let mut s: String = text
        .trim()
        .chars()
        .map(|ch| match from.chars().position(|f| f == ch) {
            Some(i) => to.chars().nth(i).unwrap_or(ch),
            None => ch,
        })
        .collect::<String>()
        // Case first: the steps are written in lower case (`X10^3/uL` is `x10^3/ul`).
        .to_lowercase();
    for (from, to) in NORMALISE_STEPS {
        s = s.replace(from, to);
    }
    s
}

/// Characters of Unicode's compatibility forms that hospital systems write in units, and the
/// characters they stand for: full-width ASCII (`ｍｇ／ｄＬ`, common in Japanese systems) and the
/// ideographic space. `normalise` maps them first, one character for one (as SQL's
/// `translate`), so code generation can emit the same mapping.
pub const NORMALISE_CHARS: (&str, &str) = (
    "！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　",
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~ ",
);

/// The replacements of `normalise` after `NORMALISE_CHARS`, in order, so code generation can
/// emit the same chain: squared unit symbols (`㎎/㎗`), micro signs, `x10^`/`×10^` → `10^`.
pub const NORMALISE_STEPS: &[(&str, &str)] = &[
    ("㎎", "mg"),
    ("㎗", "dl"),
    ("㎖", "ml"),
    ("㎕", "ul"),
    ("㎍", "ug"),
    ("ℓ", "l"),
    ("μ", "u"),
    ("µ", "u"),
    ("×", ""),
    ("x10", "10"),
    ("10*", "10^"),
    (" ", ""),
];

/// How a reported unit converts into an item's unit: `value × factor + offset`. The offset is
/// zero for units of one dimension; HbA1c reported in IFCC units (mmol/mol) converts into
/// NGSP % by the IFCC–NGSP master equation, % = 0.09148 × mmol/mol + 2.152.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The reported unit's spelling (canonical in the HIR, normalised in the CIR).
    pub unit: String,
    pub factor: f64,
    pub offset: f64,
}

/// The reference interval of an earlier measurement method of an item (ALP by the JSCC
/// method before the change to IFCC in 2020–21), in the item's unit. A result is graded
/// against the interval of the method that measured it: the method whose upper limit is
/// nearest (by ratio) the upper limit the hospital reported with the result, or, for a
/// result reported without one, this method when it is dated on or before `last_day`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodInterval {
    pub method: String,
    pub range: (f64, f64),
    /// Day number of the last day every hospital measured by this method.
    pub last_day: i32,
}

impl Conversion {
    /// A value in the reported unit, in the item's unit.
    pub fn apply(&self, v: f64) -> f64 {
        v * self.factor + self.offset
    }
}

/// Finds a unit by any of its spellings.
pub fn lookup(text: &str) -> Option<&'static UnitDef> {
    // Each unit's normalised spelling, once per process: the checker and the code generator
    // look units up for every lab item they touch (6% of `mid compile` went to normalising
    // the table again on each lookup).
    static BY_SPELLING: std::sync::OnceLock<Vec<(String, &'static UnitDef)>> =
        std::sync::OnceLock::new();
    let n = normalise(text);
    BY_SPELLING
        .get_or_init(|| UNITS.iter().map(|u| (normalise(u.name), u)).collect())
        .iter()
        .find(|(spelling, _)| *spelling == n)
        .map(|(_, u)| *u)
}

/// Units of a dimension, in table order.
pub fn of_dimension(d: Dimension) -> impl Iterator<Item = &'static UnitDef> {
    UNITS.iter().filter(move |u| u.dimension == d)
}

/// The factor that turns a value in `from` into a value in `to` (same dimension).
pub fn factor(from: &UnitDef, to: &UnitDef) -> Option<f64> {
    (from.dimension == to.dimension).then(|| from.factor / to.factor)
}

/// Durations in days. Months and years are fixed lengths (30 and 365 days) so that windows
/// mean the same number of days for every patient.
pub fn duration_days(unit: &str) -> Option<i64> {
    match unit {
        "day" | "days" => Some(1),
        "week" | "weeks" => Some(7),
        "month" | "months" => Some(30),
        "year" | "years" => Some(365),
        _ => None,
    }
}

/// A reference a lab value can be compared against as a multiple: `3 x ULN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relative {
    /// The upper limit of the standard (JCCLS common) reference interval, by sex.
    Uln,
    /// The lower limit of the standard reference interval, by sex.
    Lln,
    /// The upper limit reported by the hospital with the result.
    SiteUln,
    /// The lower limit reported by the hospital with the result.
    SiteLln,
    /// The patient's own last value before index.
    Baseline,
}

impl Relative {
    pub fn parse(word: &str) -> Option<Relative> {
        match word {
            "ULN" => Some(Relative::Uln),
            "LLN" => Some(Relative::Lln),
            "site_ULN" => Some(Relative::SiteUln),
            "site_LLN" => Some(Relative::SiteLln),
            "baseline" => Some(Relative::Baseline),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Relative::Uln => "ULN",
            Relative::Lln => "LLN",
            Relative::SiteUln => "site_ULN",
            Relative::SiteLln => "site_LLN",
            Relative::Baseline => "baseline",
        }
    }

    pub const WORDS: &'static [&'static str] = &["ULN", "LLN", "site_ULN", "site_LLN", "baseline"];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_hospitals_use_resolve() {
        for (text, name) in [
            ("10^4/uL", "10^4/uL"),
            ("x10^4/uL", "10^4/uL"),
            ("X10^4/uL", "10^4/uL"),
            ("X10*4/µL", "10^4/uL"),
            ("×10^4/μL", "10^4/uL"),
            ("10*4/uL", "10^4/uL"),
            ("/μL", "/uL"),
            ("mg/dl", "mg/dL"),
            ("IU/L", "IU/L"),
            ("10^3/µL", "10^3/uL"),
            // Full-width forms (Japanese systems) and squared unit symbols.
            ("ｍｇ／ｄＬ", "mg/dL"),
            ("mg／dL", "mg/dL"),
            ("㎎/㎗", "mg/dL"),
            ("Ｕ／Ｌ", "U/L"),
            ("×１０^４／μＬ", "10^4/uL"),
        ] {
            assert_eq!(lookup(text).map(|u| u.name), Some(name), "{text}");
        }
        assert!(lookup("furlongs").is_none());
    }

    #[test]
    fn factors_convert_within_a_dimension_only() {
        let per_ul = lookup("/uL").unwrap();
        let e4 = lookup("10^4/uL").unwrap();
        let e9l = lookup("10^9/L").unwrap();
        assert_eq!(factor(e4, per_ul), Some(10_000.0));
        assert_eq!(factor(e9l, lookup("10^3/uL").unwrap()), Some(1.0));
        assert_eq!(factor(per_ul, lookup("mg/dL").unwrap()), None);
        assert!(
            (factor(lookup("g/L").unwrap(), lookup("g/dL").unwrap()).unwrap() - 0.1).abs() < 1e-12
        );
    }

    #[test]
    fn every_unit_name_is_unique_after_normalising() {
        let mut names: Vec<String> = UNITS.iter().map(|u| normalise(u.name)).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}

//! Code systems (used by the type checker and code generation): which systems each domain
//! has, which CDM column holds them, and the shape a code of each system must have.

use std::sync::OnceLock;

use crate::cdm::Table;

/// The domain of a code set: what kind of record its codes identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeDomain {
    Diagnosis,
    Drug,
    Lab,
    Procedure,
}

impl CodeDomain {
    pub fn name(self) -> &'static str {
        match self {
            CodeDomain::Diagnosis => "diagnosis",
            CodeDomain::Drug => "drug",
            CodeDomain::Lab => "lab",
            CodeDomain::Procedure => "procedure",
        }
    }

    pub fn parse(s: &str) -> Option<CodeDomain> {
        match s {
            "diagnosis" => Some(CodeDomain::Diagnosis),
            "drug" => Some(CodeDomain::Drug),
            "lab" => Some(CodeDomain::Lab),
            "procedure" => Some(CodeDomain::Procedure),
            _ => None,
        }
    }

    pub fn table(self) -> Table {
        match self {
            CodeDomain::Diagnosis => Table::Diagnosis,
            CodeDomain::Drug => Table::Drug,
            CodeDomain::Lab => Table::Lab,
            CodeDomain::Procedure => Table::Procedure,
        }
    }

    pub const ALL: [CodeDomain; 4] = [
        CodeDomain::Diagnosis,
        CodeDomain::Drug,
        CodeDomain::Lab,
        CodeDomain::Procedure,
    ];
}

/// A code system as written in scripts (`icd10 "I63"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    Icd10,
    Medis,
    Yj,
    Hot9,
    Receipt,
    Jlac10,
    Analyte,
    Kcode,
    Local,
}

impl System {
    pub const ALL: [System; 9] = [
        System::Icd10,
        System::Medis,
        System::Yj,
        System::Hot9,
        System::Receipt,
        System::Jlac10,
        System::Analyte,
        System::Kcode,
        System::Local,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Icd10 => "icd10",
            System::Medis => "medis",
            System::Yj => "yj",
            System::Hot9 => "hot9",
            System::Receipt => "receipt",
            System::Jlac10 => "jlac10",
            System::Analyte => "analyte",
            System::Kcode => "kcode",
            System::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<System> {
        System::ALL.into_iter().find(|x| x.name() == s)
    }

    /// The domains whose records carry codes of this system.
    pub fn domains(self) -> &'static [CodeDomain] {
        use CodeDomain::*;
        match self {
            System::Icd10 | System::Medis => &[Diagnosis],
            System::Yj | System::Hot9 => &[Drug],
            System::Receipt => &[Drug, Procedure],
            System::Jlac10 | System::Analyte => &[Lab],
            System::Kcode => &[Procedure],
            System::Local => &[Diagnosis, Drug, Lab, Procedure],
        }
    }

    /// The CDM column holding this system's codes in a domain's table, and for the procedure
    /// table the `code_system` value that marks them.
    pub fn column(self, domain: CodeDomain) -> Option<(&'static str, Option<&'static str>)> {
        use CodeDomain::*;
        match (self, domain) {
            (System::Icd10, Diagnosis) => Some(("icd10", None)),
            (System::Medis, Diagnosis) => Some(("medis_code", None)),
            (System::Local, Diagnosis) => Some(("local_code", None)),
            (System::Yj, Drug) => Some(("yj_code", None)),
            (System::Hot9, Drug) => Some(("hot9", None)),
            (System::Receipt, Drug) => Some(("receipt_code", None)),
            (System::Local, Drug) => Some(("local_code", None)),
            (System::Jlac10, Lab) => Some(("jlac10", None)),
            (System::Analyte, Lab) => Some(("analyte", None)),
            (System::Local, Lab) => Some(("local_code", None)),
            (System::Receipt, Procedure) => Some(("code", Some("receipt"))),
            (System::Kcode, Procedure) => Some(("code", Some("kcode"))),
            (System::Local, Procedure) => Some(("code", Some("local"))),
            _ => None,
        }
    }

    /// What a code of this system looks like, for messages.
    pub fn shape(self) -> &'static str {
        match self {
            System::Icd10 => {
                "a letter, two digits and up to two more characters (`I63`, `I639`, `E1010`); a dot after the third character is allowed"
            }
            System::Medis => "up to 8 digits",
            System::Yj => {
                "up to 12 characters: 7 digits (therapeutic category and ingredient), a dosage-form letter, 4 more characters"
            }
            System::Hot9 => "up to 9 digits",
            System::Receipt => "up to 9 digits",
            System::Jlac10 => {
                "exactly 17 characters: analyte (5: digit, letter, 3 digits), identification (4), specimen (3), method (3), result (2); `_` matches any one character"
            }
            System::Analyte => "exactly 5 characters: a digit, a letter and 3 digits (`3B045`)",
            System::Kcode => {
                "a fee-schedule letter and 3 digits, optionally `-` and a number (`K546`, `K178-4`)"
            }
            System::Local => {
                "the hospital's id, `:` and the hospital's own code (`H03:Y10123`): a local code means something only at its hospital"
            }
        }
    }

    /// Normalises a code as written (`I63.9` → `I639`) or says why it cannot exist.
    pub fn normalise(self, code: &str) -> Result<String, CodeError> {
        let c = code.trim();
        if c.is_empty() {
            return Err(CodeError::Empty);
        }
        let digits = |s: &str| s.chars().all(|ch| ch.is_ascii_digit());
        let alnum = |s: &str| s.chars().all(|ch| ch.is_ascii_alphanumeric());
        match self {
            System::Icd10 => {
                let upper = c.to_ascii_uppercase();
                let chars: Vec<char> = upper.chars().collect();
                // The dot may only follow the three-character category.
                let no_dot: String = if chars.len() > 3 && chars[3] == '.' {
                    chars
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != 3)
                        .map(|(_, ch)| *ch)
                        .collect()
                } else {
                    upper.clone()
                };
                let b = no_dot.as_bytes();
                let ok = (1..=5).contains(&b.len())
                    && b[0].is_ascii_uppercase()
                    && b[1..b.len().min(3)].iter().all(u8::is_ascii_digit)
                    && b.iter().skip(3).all(u8::is_ascii_alphanumeric);
                if ok {
                    Ok(no_dot)
                } else {
                    Err(CodeError::Shape)
                }
            }
            System::Medis => (c.len() <= 8 && digits(c))
                .then(|| c.to_string())
                .ok_or(CodeError::Shape),
            System::Hot9 | System::Receipt => (c.len() <= 9 && digits(c))
                .then(|| c.to_string())
                .ok_or(CodeError::Shape),
            System::Yj => {
                let b = c.as_bytes();
                let ok = b.len() <= 12
                    && b.iter().take(7).all(u8::is_ascii_digit)
                    && b.get(7).is_none_or(|ch| ch.is_ascii_uppercase())
                    && b.iter().skip(8).all(u8::is_ascii_alphanumeric);
                if ok {
                    Ok(c.to_string())
                } else {
                    Err(CodeError::Shape)
                }
            }
            System::Analyte => {
                if analyte_shape(c) {
                    Ok(c.to_string())
                } else {
                    Err(CodeError::Shape)
                }
            }
            System::Jlac10 => {
                // `_` stands for any one character, so a panel result can be named by its
                // analyte and result identifier: "2A990__________55".
                let wild = |s: &str| s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
                let ok =
                    c.len() == 17 && wild(c) && (c[..5].contains('_') || analyte_shape(&c[..5]));
                if ok {
                    Ok(c.to_string())
                } else {
                    Err(CodeError::Shape)
                }
            }
            System::Kcode => {
                let upper = c.to_ascii_uppercase();
                let mut parts = upper.split('-');
                let head = parts.next().unwrap_or("");
                let b = head.as_bytes();
                // `K546`, `K178-4`, `B001-2-12`: a letter, 3 digits, then `-` sub-numbers.
                let ok = b.len() >= 4
                    && b[0].is_ascii_uppercase()
                    && b[1..4].iter().all(u8::is_ascii_digit)
                    && b[4..].iter().all(u8::is_ascii_alphanumeric)
                    && parts.all(|t| !t.is_empty() && alnum(t));
                if ok { Ok(upper) } else { Err(CodeError::Shape) }
            }
            System::Local => match split_local(c) {
                Some((h, code)) => Ok(format!("{h}:{code}")),
                None => Err(CodeError::Shape),
            },
        }
    }
}

/// A local code's hospital and the hospital's own code (`H03:Y10123`), trimmed; none when
/// either is missing or the hospital id has a space.
pub fn split_local(code: &str) -> Option<(&str, &str)> {
    let (h, c) = code.split_once(':')?;
    let (h, c) = (h.trim(), c.trim());
    (!h.is_empty() && !c.is_empty() && !h.contains(char::is_whitespace)).then_some((h, c))
}

fn analyte_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[0].is_ascii_digit()
        && b[1].is_ascii_uppercase()
        && b[2..].iter().all(u8::is_ascii_digit)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    Empty,
    Shape,
}

/// The reference lists of codes that exist (stdlib/reference/, with their sources): ICD-10
/// three-character categories (WHO 2019 and the Japanese 2013 edition), YJ therapeutic
/// classes (4 digits) of drugs listed in the NHI price list 2014–2025, and K-codes (surgery)
/// of the 2022 and 2024 fee schedules. Other systems have no list here.
const ICD10_CATEGORIES: &str = include_str!("../../stdlib/reference/icd10_categories.txt");
const YJ_CLASSES: &str = include_str!("../../stdlib/reference/yj_classes.txt");
const KCODES: &str = include_str!("../../stdlib/reference/kcodes.txt");

/// Whether a code (or range) of `system` matches any code the reference lists know; `None`
/// when the system has no reference list (or this code lies outside what it covers).
pub fn in_reference(system: System, code: &str, to: Option<&str>) -> Option<bool> {
    let known = match system {
        System::Icd10 => reference(&ICD10, ICD10_CATEGORIES),
        System::Yj => reference(&YJ, YJ_CLASSES),
        // The list covers surgery (K); other fee-schedule letters are not in it.
        System::Kcode if code.starts_with('K') => reference(&KCODE, KCODES),
        _ => return None,
    };
    // Compared at the shorter length: `I5` covers I50…I59, `I500` lies in I50.
    fn cut(s: &str, m: usize) -> &str {
        s.get(..m.min(s.len())).unwrap_or(s)
    }
    let within = |known: &str, lo: &str, hi: &str| {
        let m = known.len().min(lo.len());
        let k = cut(known, m);
        cut(lo, m) <= k && k <= cut(hi, m)
    };
    Some(match to {
        // One code: a known code is a prefix of it or it is a prefix of a known code, found
        // by binary search (a linear pass per code was most of checking a large script).
        None => {
            let prefix = (1..=code.len())
                .filter(|n| code.is_char_boundary(*n))
                .any(|n| known.binary_search(&&code[..n]).is_ok());
            let after = known.partition_point(|k| *k < code);
            prefix || known.get(after).is_some_and(|k| k.starts_with(code))
        }
        Some(hi) => known.iter().any(|k| within(k, code, hi)),
    })
}

static ICD10: OnceLock<Vec<&'static str>> = OnceLock::new();
static YJ: OnceLock<Vec<&'static str>> = OnceLock::new();
static KCODE: OnceLock<Vec<&'static str>> = OnceLock::new();

/// A reference list's codes, sorted, read once per process.
fn reference(
    cell: &'static OnceLock<Vec<&'static str>>,
    text: &'static str,
) -> &'static [&'static str] {
    cell.get_or_init(|| {
        let mut codes: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        codes.sort_unstable();
        codes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_accepts_real_shapes_and_drops_the_dot() {
        assert_eq!(System::Icd10.normalise("I63.9"), Ok("I639".into()));
        assert_eq!(System::Icd10.normalise("i639"), Ok("I639".into()));
        assert_eq!(System::Icd10.normalise("C00"), Ok("C00".into()));
        assert_eq!(System::Icd10.normalise("E1010"), Ok("E1010".into()));
        assert_eq!(System::Icd10.normalise("Z9Q"), Err(CodeError::Shape));
        assert_eq!(System::Icd10.normalise("I6.39"), Err(CodeError::Shape));
        assert_eq!(System::Icd10.normalise("163"), Err(CodeError::Shape));
        assert_eq!(System::Icd10.normalise(""), Err(CodeError::Empty));
    }

    #[test]
    fn a_local_code_names_its_hospital() {
        assert_eq!(
            System::Local.normalise(" H03 : Y910019 "),
            Ok("H03:Y910019".into())
        );
        // Only the first `:` separates: the hospital's own code may have one.
        assert_eq!(System::Local.normalise("H03:A:1"), Ok("H03:A:1".into()));
        assert_eq!(System::Local.normalise("Y910019"), Err(CodeError::Shape));
        assert_eq!(System::Local.normalise(":Y910019"), Err(CodeError::Shape));
        assert_eq!(System::Local.normalise("H03:"), Err(CodeError::Shape));
        assert_eq!(System::Local.normalise("H 03:Y1"), Err(CodeError::Shape));
        assert_eq!(split_local("H03:A:1"), Some(("H03", "A:1")));
    }

    #[test]
    fn jlac10_must_be_17_characters_and_analyte_5() {
        assert!(System::Jlac10.normalise("3C015000002327101").is_ok());
        assert_eq!(System::Jlac10.normalise("3C0150"), Err(CodeError::Shape));
        assert!(System::Jlac10.normalise("2A990__________55").is_ok());
        assert_eq!(
            System::Jlac10.normalise("2A990__________5%"),
            Err(CodeError::Shape)
        );
        assert!(System::Analyte.normalise("3B045").is_ok());
        assert!(System::Analyte.normalise("2A990").is_ok());
        assert_eq!(System::Analyte.normalise("3B04"), Err(CodeError::Shape));
        assert_eq!(System::Analyte.normalise("B3045"), Err(CodeError::Shape));
    }

    #[test]
    fn yj_prefixes_and_full_codes() {
        assert!(System::Yj.normalise("2432001").is_ok());
        assert!(System::Yj.normalise("2189017F1081").is_ok());
        assert_eq!(System::Yj.normalise("2189017F10811"), Err(CodeError::Shape));
        assert_eq!(System::Yj.normalise("21890A7"), Err(CodeError::Shape));
        assert_eq!(System::Yj.normalise("2189017f"), Err(CodeError::Shape));
    }

    #[test]
    fn the_sorted_lookup_agrees_with_a_pass_over_the_list() {
        // The definition: some listed code equals the code at the shorter length.
        let naive = |text: &str, code: &str| {
            text.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .any(|k| {
                    let m = k.len().min(code.len());
                    k.get(..m) == code.get(..m)
                })
        };
        let lists = [
            (System::Icd10, ICD10_CATEGORIES, "ABCDEIKMXZ"),
            (System::Yj, YJ_CLASSES, "0123456789"),
            (System::Kcode, KCODES, "0123456789-K"),
        ];
        let mut tried = 0;
        for (system, text, alphabet) in lists {
            for known in text
                .lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                for n in 1..=known.len() {
                    for c in alphabet.chars() {
                        // Every prefix of a listed code, with one more character or one
                        // changed: inside, beside and outside the list.
                        let longer = format!("{}{c}", &known[..n]);
                        let changed = format!("{}{c}", &known[..n - 1]);
                        for code in [&known[..n], longer.as_str(), changed.as_str()] {
                            if system == System::Kcode && !code.starts_with('K') {
                                continue;
                            }
                            assert_eq!(
                                in_reference(system, code, None),
                                Some(naive(text, code)),
                                "{system:?} {code}"
                            );
                            tried += 1;
                        }
                    }
                }
            }
        }
        assert!(tried > 10_000, "{tried}");
    }

    #[test]
    fn codes_are_checked_against_the_reference_lists() {
        assert_eq!(in_reference(System::Icd10, "I50", None), Some(true));
        assert_eq!(in_reference(System::Icd10, "I500", None), Some(true));
        assert_eq!(in_reference(System::Icd10, "I5", None), Some(true));
        assert_eq!(in_reference(System::Icd10, "I53", None), Some(false));
        assert_eq!(in_reference(System::Icd10, "D90", None), Some(false));
        assert_eq!(in_reference(System::Icd10, "I52", Some("I54")), Some(true));
        assert_eq!(in_reference(System::Yj, "2432001", None), Some(true));
        assert_eq!(in_reference(System::Yj, "9999001", None), Some(false));
        assert_eq!(in_reference(System::Kcode, "K546", None), Some(true));
        assert_eq!(in_reference(System::Kcode, "K178-4", None), Some(true));
        assert_eq!(in_reference(System::Kcode, "J038", None), None);
        assert_eq!(in_reference(System::Medis, "12345", None), None);
    }

    #[test]
    fn kcodes() {
        assert_eq!(System::Kcode.normalise("K546"), Ok("K546".into()));
        assert_eq!(System::Kcode.normalise("k178-4"), Ok("K178-4".into()));
        assert_eq!(System::Kcode.normalise("J038"), Ok("J038".into()));
        assert_eq!(System::Kcode.normalise("K5"), Err(CodeError::Shape));
        assert_eq!(System::Kcode.normalise("K546-"), Err(CodeError::Shape));
        assert_eq!(System::Kcode.normalise("B001-2-12"), Ok("B001-2-12".into()));
    }

    #[test]
    fn every_system_has_a_column_in_each_of_its_domains() {
        for s in System::ALL {
            for d in s.domains() {
                assert!(s.column(*d).is_some(), "{} in {}", s.name(), d.name());
                let (col, _) = s.column(*d).unwrap();
                assert!(d.table().column(col).is_some(), "{col}");
            }
        }
    }
}

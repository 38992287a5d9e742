//! Mutations of an input (bytes): splice in a word of the language, delete a stretch, set a
//! byte, duplicate a stretch elsewhere, truncate; and light mutations that keep a script
//! mostly valid (a number, a keyword or an operator changed), so the deeper stages see it.

use crate::grammar::Rng;

/// Words the mutations splice in: keywords, punctuation, literals of every kind.
pub const WORDS: &[&str] = &[
    "cohort",
    "index",
    "=",
    "first",
    "drug",
    "lab",
    "diagnosis",
    "visit",
    "inpatient",
    "having",
    "during",
    "it",
    "where",
    "within",
    "180",
    "days",
    "before",
    "after",
    "around",
    "overlapping",
    "between",
    "and",
    "or",
    "not",
    "no",
    "at least 2",
    "(",
    ")",
    "{",
    "}",
    ",",
    "x",
    "ULN",
    "1500 /uL",
    "3 x ULN",
    "\"I50\"",
    "icd10",
    "yj \"2432001\"",
    "end",
    "earliest(",
    "report",
    "export",
    "with",
    "by",
    "sex",
    "age band 10 years",
    "periods of 14 days",
    "era e =",
    "gap",
    "grace",
    "define f(a: Number) =",
    "import labs.*",
    "ctcae_grade(",
    ">=",
    "..",
    "-",
    "+",
    "*",
    "/",
    "2014-01-01",
    "%",
    "validated {",
    "\n",
    "です",
];

/// One to six mutations of any kind, or random bytes one time in eight.
pub fn mutate(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    if rng.below(8) == 0 {
        return (0..rng.below(300))
            .map(|_| (rng.next_u64() & 0xff) as u8)
            .collect();
    }
    let mut bytes = src.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => {
                let w = WORDS[rng.below(WORDS.len())];
                bytes.splice(at..at, format!(" {w} ").into_bytes());
            }
            1 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 => {
                let b = (rng.next_u64() & 0xff) as u8;
                if at < bytes.len() {
                    bytes[at] = b;
                }
            }
            3 => {
                let end = (at + rng.below(60)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, piece);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

/// Numbers worth trying where a number stands.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "9",
    "10",
    "99",
    "1000",
    "73050",
    "73051",
    "2147483647",
    "4294967296",
    "9223372036854775808",
    "0.5",
    "1.5",
];

/// Words that can stand in for each other.
const SWAPS: &[&[&str]] = &[
    &["before", "after", "around"],
    &["first", "last", "every", "nth(2)"],
    &["require", "exclude"],
    &["<", "<=", ">", ">=", "="],
    &["and", "or"],
    &["days", "weeks", "months", "years", "day"],
    &[
        "index",
        "end",
        "start of observation",
        "end of observation",
        "death",
    ],
    &["drug", "diagnosis", "lab", "procedure", "visit"],
];

/// One or two small changes: a number replaced, or a word swapped for one of its kind.
pub fn light(rng: &mut Rng, src: &[u8]) -> Vec<u8> {
    let mut text = String::from_utf8_lossy(src).into_owned();
    for _ in 0..1 + rng.below(2) {
        let words: Vec<(usize, usize)> = word_spans(&text);
        if words.is_empty() {
            break;
        }
        let (s, e) = words[rng.below(words.len())];
        let w = text[s..e].to_string();
        let new = if w.chars().all(|c| c.is_ascii_digit() || c == '.') {
            NUMBERS[rng.below(NUMBERS.len())].to_string()
        } else if let Some(group) = SWAPS.iter().find(|g| g.contains(&w.as_str())) {
            group[rng.below(group.len())].to_string()
        } else {
            continue;
        };
        text.replace_range(s..e, &new);
    }
    text.into_bytes()
}

/// The byte spans of the words and numbers of a text.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let part = c.is_ascii_alphanumeric() || c == '_' || c == '.' || "<>=".contains(c);
        match (part, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

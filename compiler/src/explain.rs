//! Long explanations of diagnostic codes (`mid explain E0201`). Every code the compiler can
//! emit has one; a test keeps the two in step.

/// (code, title, explanation) for every diagnostic code.
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "E0001",
        "unexpected token",
        "The parser met a word or symbol where the grammar does not allow it.\n\nThe note lists what could come there instead. A common cause is a compound `where` filter\nwithout parentheses:\n\n    diagnosis hf where not suspected and main        // `and main` joins conditions\n    diagnosis hf where (not suspected and main)      // one filter\n\nEvery statement and declaration starts with its keyword (`codes`, `cohort`, `require`, …),\nso one bad statement does not hide the rest of the file.",
    ),
    (
        "E0002",
        "the file ends too early",
        "The file ended in the middle of a declaration: a missing `}` closing a cohort, a\nmissing right-hand side after `=`, or an unfinished window.\n\n    cohort c {\n      index = first drug x\n                                   // <- missing }",
    ),
    (
        "E0003",
        "unexpected character",
        "A character that starts no word of the language, such as `$`, `?` or `!` on its own.\nText in quotes and comments may contain any character, including Japanese.",
    ),
    (
        "E0004",
        "text without its closing quote",
        "A text literal must close on the line it opens:\n\n    require \"prior use drug (thiamazole or ptu) within 180 days before index   // missing \"",
    ),
    (
        "E0005",
        "unknown escape in text",
        "Inside quotes a backslash starts an escape. The known escapes are \\\" (a quote),\n\\\\ (a backslash), \\n (a new line) and \\t (a tab).",
    ),
    (
        "E0006",
        "nested too deeply",
        "Parentheses, brackets and braces may be nested at most 128 levels deep. Name the parts\nwith `define` instead:\n\n    define liver_rise = lab alt > 3 x ULN or lab ast > 3 x ULN",
    ),
    (
        "E0007",
        "the file is not UTF-8",
        "Scripts are UTF-8 text. The label points at the first byte that is not UTF-8; save the\nfile as UTF-8 (editors call it \"UTF-8\" or \"Unicode\").",
    ),
    (
        "E0101",
        "unknown name",
        "The name is neither defined in this file nor imported. Stdlib names must be imported:\n\n    import labs.{alt, ast}\n    import outcomes.neutropenia\n\nThe help suggests the closest name in scope when one is near.",
    ),
    (
        "E0102",
        "no such module",
        "`import` names a stdlib module. The note lists them: labs, grades, drugs, conditions,\nprocedures, outcomes.",
    ),
    (
        "E0103",
        "not defined in the module",
        "The module exists but defines no such name. `mid check --list labs` style lookups are\nnot needed: the help suggests the closest name of that module.",
    ),
    (
        "E0104",
        "defined twice",
        "Two declarations (or an import and a declaration) use one name in the same file. Rename\none, or import under another name: `import labs.{alt as gpt}`.",
    ),
    (
        "E0105",
        "defined in terms of itself",
        "A definition refers to itself, directly or through others. Definitions are values, not\nrecursive functions:\n\n    define a = drug x or b\n    define b = a                      // E0105",
    ),
    (
        "E0106",
        "unknown column",
        "A `where` filter names a column its table does not have. Each domain queries one CDM\ntable (see docs/cdm.md): `diagnosis` has source, suspected, main, dpc_category, …;\n`drug` has kind, record, setting, days_supply, …; `lab` has setting, flag, unit, …;\n`procedure` has source, category, code_system, code; `visit` has kind and department.",
    ),
    (
        "E0107",
        "unknown value of a coded column",
        "Coded columns have a closed set of values, listed in the note:\n\n    drug x where setting = inpatient        // outpatient | inpatient\n    diagnosis y where source in (claim, dpc)",
    ),
    (
        "E0201",
        "type mismatch",
        "A construct received a value of another type. Types are named in the language's words:\nDate, Duration, Number, Quantity<…>, Text, Bool, Codes<domain>, Events<domain>, Lab,\nCohort, Outcome.\n\n    require drug x within 180 before index    // 180 is a Number: write 180 days\n    end = earliest(index + 140 days, drug y)  // events: take one date, `first drug y after index`",
    ),
    (
        "E0202",
        "code set of the wrong domain",
        "Code sets are typed by domain: a `Codes<drug>` cannot stand for diagnoses.\n\n    codes statins: drug = yj \"2189\"\n    require diagnosis statins          // E0202: needs Codes<diagnosis>",
    ),
    (
        "E0203",
        "a code that cannot exist",
        "Each code system has a shape, checked when compiling:\n\n    icd10  letter, 2 digits, up to 2 more (I63, I639; I63.9 is read as I639)\n    yj     up to 12 characters: 7 digits, a form letter, 4 more\n    jlac10 exactly 17 characters (`_` matches any character); analyte: exactly 5\n    kcode  letter + 3 digits, optional -n (K546, K178-4)\n    medis  up to 8 digits; hot9 and receipt: up to 9 digits\n\nA shorter code is a prefix: `yj \"2432001\"` is every thiamazole product.",
    ),
    (
        "E0204",
        "unknown code system, or one of another domain",
        "Code systems by domain: diagnosis: icd10, medis, local; drug: yj, hot9, receipt;\nlab: jlac10, analyte, local; procedure: receipt, kcode, local.",
    ),
    (
        "E0205",
        "incompatible units",
        "A lab value is compared with a quantity of another dimension, e.g. a count per volume\nwith a mass per volume:\n\n    lab platelets < 100 mg/dL          // E0205: platelets are counted per volume\n    lab platelets < 100 x10^3/uL       // fine; hospitals' 10^4/uL is converted\n\nWithin one dimension mid converts: /uL, 10^3/uL, 10^4/uL, 10^9/L; mg/dL, g/dL, g/L,\nmg/L, ng/mL, pg/mL; mmol/L, umol/L, mEq/L; U/L, IU/L, U/mL, uIU/mL; %. A lab item may\ndeclare conversions across dimensions (`convert mmol/L = 18.016 mg/dL` for glucose).",
    ),
    (
        "E0206",
        "unknown unit",
        "The unit after a number is not one mid knows. Units: /uL, 10^2/uL, 10^3/uL, 10^4/uL,\n10^6/uL, 10^9/L, 10^12/L, mg/dL, g/dL, g/L, mg/L, mg/mL, ug/dL, ug/mL, ug/L, ng/mL,\nng/dL, ng/L, pg/mL, mmol/L, mEq/L, umol/L, nmol/L, pmol/L, U/L, IU/L, U/mL, kU/L,\nIU/mL, mU/mL, mIU/mL, mIU/L, uIU/mL, uU/mL, ukat/L, %, ratio, INR, pH, COI, sec, fL, pg,\nmL/min/1.73m2; durations day(s), week(s), month(s) (30 days), year(s) (365 days); and\nmultiples of a reference: x ULN, x LLN (the standard JCCLS interval), x site_ULN,\nx site_LLN (the hospital's reported range), x baseline.",
    ),
    (
        "E0207",
        "wrong number of arguments",
        "A parameterised definition was called with too many or too few arguments. The secondary\nlabel shows its definition; parameters with a default may be left out.",
    ),
    (
        "E0208",
        "a lab value compared with a bare number",
        "Lab values have units, and hospitals report them in different ones. Write the unit so mid\ncan convert:\n\n    lab neutrophil_count <= 1500          // E0208\n    lab neutrophil_count <= 1500 /uL",
    ),
    (
        "E0209",
        "a code system of several domains",
        "`receipt` and `local` codes exist for more than one domain. Say which with a declared\ndomain, or use the codes inside the query:\n\n    codes dialysis: procedure = receipt \"140038099\"\n    procedure local \"XR-001\"",
    ),
    (
        "E0301",
        "cohort without an index",
        "A cohort needs one entry event that sets `index`:\n\n    cohort users {\n      index = first drug statins\n    }",
    ),
    (
        "E0302",
        "a statement given twice",
        "A cohort has one `index`, one `end` and one `periods` statement; the secondary label shows\nthe first.",
    ),
    (
        "E0303",
        "invalid construct",
        "The message says what is wrong and the help what to write. Examples: a `where` filter\nover events of several domains, `during` with something other than `it`, grades out of\norder, a reference interval running from high to low.",
    ),
    (
        "E0304",
        "an anchor with no meaning here",
        "`index` and `end` exist inside a cohort (and its outcomes, exports and reports); `it`\nexists inside `having`. The index statement cannot use `index`, and the end statement\ncannot use `end`.",
    ),
    (
        "E0305",
        "several events where one date is needed",
        "Where a date is expected, events must be narrowed to one per patient:\n\n    end = earliest(first drug other after index, end of observation)\n    index = first drug x                 // not `index = drug x`",
    ),
    (
        "E0306",
        "periods without a fixed length",
        "Follow-up periods are a fixed number of days from a start:\n\n    periods of 14 days from index + 1 day until index + 140 days\n    periods of 14 days from index until index + 56 days then until end",
    ),
    (
        "E0308",
        "suppression below 10",
        "The network never shows counts below 10. `suppress below N` may raise the threshold,\nnever lower it.",
    ),
    (
        "E0309",
        "no such era",
        "`start of X` and `end of X` name an exposure era declared in the same cohort:\n\n    era exposure = drug ssris gap 30 days grace 30 days\n    end = earliest(end of exposure, end of observation)",
    ),
    (
        "E0310",
        "grading without a table for this item",
        "A grading scale grades only the lab items it lists (`for alt { … }`); the note lists them.",
    ),
    (
        "E0311",
        "a filter after choosing one event",
        "`where` filters apply to the records before one is chosen:\n\n    (first diagnosis x) where main       // E0311\n    first diagnosis x where main",
    ),
];

/// The explanation of a code, with its title.
pub fn explain(code: &str) -> Option<(&'static str, &'static str)> {
    let code = code.trim().to_ascii_uppercase();
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, t, e)| (*t, *e))
}

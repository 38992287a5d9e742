//! Diagnostic codes (stage: every phase): one variant per rule, each with its stable code,
//! a title and the explanation `mid explain` prints. A test keeps every code in step with
//! its case file.

use serde::Serialize;

use super::Severity;

macro_rules! codes {
    ($($name:ident = $code:literal, $title:literal, $text:literal;)*) => {
        /// A stable diagnostic code: `E` for errors in a script, `D` for data that cannot
        /// serve it, `F` for a feasibility request's items, `W` for warnings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($name),* }

        impl Code {
            /// Every code, in code order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $code),* }
            }

            /// A short title.
            pub fn title(self) -> &'static str {
                match self { $(Code::$name => $title),* }
            }

            /// The long explanation `mid explain` prints.
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$name => $text),* }
            }
        }
    };
}

codes! {
    MissingTable = "D0001", "a CDM table the script needs is missing",
        "The data set has no directory for a table the script reads. A CDM data set holds one\ndirectory per table (patient, visit, diagnosis, drug, lab, procedure) with Parquet files;\nthe label shows the part of the script that needs the table. `mid inspect --data DIR`\nsummarises what a data set holds.";
    NoParquetFiles = "D0002", "a CDM table directory without Parquet files",
        "The table's directory exists but holds no `.parquet` file.";
    MissingColumn = "D0003", "a column the script needs is missing",
        "A Parquet file of the table lacks a column of the CDM contract that the script reads; the\nlabel shows where the script needs it. See the data contract (docs/cdm.md) for the\ncolumns of each table.";
    ColumnType = "D0004", "a column of another type than the contract says",
        "A column's type in the Parquet file differs from the CDM contract (e.g. dates stored as\ntext). Text may be stored as Utf8, LargeUtf8, Utf8View or dictionary-encoded strings; dates\nmust be Date32.";
    UnreadableFile = "D0005", "a Parquet file that cannot be read",
        "A file of the table is not a readable Parquet file (truncated, damaged or of another\nformat).";
    UnexpectedToken = "E0001", "unexpected token",
        "The parser met a word or symbol where the grammar does not allow it.\n\nThe note lists what could come there instead. A common cause is a compound `where` filter\nwithout parentheses:\n\n    diagnosis hf where not suspected and main        // `and main` joins conditions\n    diagnosis hf where (not suspected and main)      // one filter\n\nEvery statement and declaration starts with its keyword (`codes`, `cohort`, `require`, …),\nso one bad statement does not hide the rest of the file.";
    UnexpectedEnd = "E0002", "the file ends too early",
        "The file ended in the middle of a declaration: a missing `}` closing a cohort, a\nmissing right-hand side after `=`, or an unfinished window.\n\n    cohort c {\n      index = first drug x\n                                   // <- missing }";
    InvalidCharacter = "E0003", "unexpected character",
        "A character that starts no word of the language, such as `$`, `?` or `!` on its own.\nText in quotes and comments may contain any character, including Japanese.";
    UnterminatedText = "E0004", "text without its closing quote",
        "A text literal must close on the line it opens:\n\n    require \"prior use drug (thiamazole or ptu) within 180 days before index   // missing \"";
    InvalidEscape = "E0005", "unknown escape in text",
        "Inside quotes a backslash starts an escape. The known escapes are \\\" (a quote),\n\\\\ (a backslash), \\n (a new line) and \\t (a tab).";
    TooDeep = "E0006", "nested too deeply",
        "Parentheses, brackets and braces may be nested at most 128 levels deep, an expression at\nmost 1,000 levels, and one expression may chain at most 20,000 terms (`a or b or c …`).\nName the parts with `define` instead:\n\n    define liver_rise = lab alt > 3 x ULN or lab ast > 3 x ULN";
    NotUtf8 = "E0007", "the file is not UTF-8",
        "Scripts are UTF-8 text. The label points at the first byte that is not UTF-8; save the\nfile as UTF-8 (editors call it \"UTF-8\" or \"Unicode\").";
    TooManyDiagnostics = "E0008", "too many diagnostics",
        "A file has more than 100 diagnostics; the first 100 are shown and this one counts the\nrest. Later diagnostics often follow from earlier ones: fix those first and check again.";
    SlashDate = "E0009", "a date written with slashes",
        "Dates are written year-month-day with hyphens, two digits for the month and the day:\n\n    drug x between 2019/01/01 and index      // E0009\n    drug x between 2019-01-01 and index";
    UnknownName = "E0101", "unknown name",
        "The name is neither defined in this file nor imported. Stdlib names must be imported:\n\n    import labs.{alt, ast}\n    import outcomes.neutropenia\n\nThe help suggests the closest name in scope when one is near.";
    UnknownModule = "E0102", "no such module",
        "`import` names a stdlib module. The note lists them: labs, grades, drugs, conditions,\nprocedures, outcomes.";
    NotInModule = "E0103", "not defined in the module",
        "The module exists but defines no such name. `mid check --list labs` style lookups are\nnot needed: the help suggests the closest name of that module.";
    Duplicate = "E0104", "defined twice",
        "Two declarations (or an import and a declaration) use one name in the same file. Rename\none, or import under another name: `import labs.{alt as gpt}`.";
    Cycle = "E0105", "defined in terms of itself",
        "A definition refers to itself, directly or through others. Definitions are values, not\nrecursive functions:\n\n    define a = drug x or b\n    define b = a                      // E0105";
    UnknownColumn = "E0106", "unknown column",
        "A `where` filter names a column its table does not have. Each domain queries one CDM\ntable (see docs/cdm.md): `diagnosis` has source, suspected, main, dpc_category, …;\n`drug` has kind, record, setting, days_supply, …; `lab` has setting, flag, unit, …;\n`procedure` has source, category, code_system, code; `visit` has kind and department.";
    UnknownValue = "E0107", "unknown value of a coded column",
        "Coded columns have a closed set of values, listed in the note:\n\n    drug x where setting = inpatient        // outpatient | inpatient\n    diagnosis y where source in (claim, dpc)";
    ModuleAsValue = "E0108", "a module used as a value",
        "`import conditions` brings the module itself; its definitions are written with the module's\nname in front:\n\n    import conditions\n    require diagnosis conditions            // E0108: a module, not a code set\n    require diagnosis conditions.hyperthyroidism";
    LongPath = "E0109", "a path of more than two parts",
        "A path names a stdlib module and one of its definitions, `module.name`; modules do not\nnest:\n\n    labs.alt                  // fine\n    labs.liver.alt            // E0109";
    FunctionAsValue = "E0110", "a function used without arguments",
        "`earliest` and `latest` take the dates to choose from:\n\n    end = earliest                                   // E0110\n    end = earliest(index + 140 days, end of exposure)";
    Mismatch = "E0201", "type mismatch",
        "A construct received a value of another type. Types are named in the language's words:\nDate, Duration, Number, Quantity<…>, Text, Bool, Codes<domain>, Events<domain>, Lab,\nCohort, Outcome.\n\n    require drug x within 180 before index    // 180 is a Number: write 180 days\n    end = earliest(index + 140 days, drug y)  // events: take one date, `first drug y after index`";
    WrongDomain = "E0202", "code set of the wrong domain",
        "Code sets are typed by domain: a `Codes<drug>` cannot stand for diagnoses.\n\n    codes statins: drug = yj \"2189\"\n    require diagnosis statins          // E0202: needs Codes<diagnosis>";
    BadCode = "E0203", "a code that cannot exist",
        "Each code system has a shape, checked when compiling:\n\n    icd10  letter, 2 digits, up to 2 more (I63, I639; I63.9 is read as I639)\n    yj     up to 12 characters: 7 digits, a form letter, 4 more\n    jlac10 exactly 17 characters (`_` matches any character); analyte: exactly 5\n    kcode  letter + 3 digits, optional -n (K546, K178-4)\n    medis  up to 8 digits; hot9 and receipt: up to 9 digits\n    local  the hospital's id, `:` and its own code (H03:Y910123), matched exactly\n\nA shorter code is a prefix: `yj \"2432001\"` is every thiamazole product.";
    UnknownSystem = "E0204", "unknown code system, or one of another domain",
        "Code systems by domain: diagnosis: icd10, medis, local; drug: yj, hot9, receipt, local;\nlab: jlac10, analyte, local; procedure: receipt, kcode, local.";
    Units = "E0205", "incompatible units",
        "A lab value is compared with a quantity of another dimension, e.g. a count per volume\nwith a mass per volume:\n\n    lab platelets < 100 mg/dL          // E0205: platelets are counted per volume\n    lab platelets < 100 x10^3/uL       // fine; hospitals' 10^4/uL is converted\n\nWithin one dimension mid converts: /uL, 10^3/uL, 10^4/uL, 10^9/L; mg/dL, g/dL, g/L,\nmg/L, ng/mL, pg/mL; mmol/L, umol/L, mEq/L; U/L, IU/L, U/mL, uIU/mL; %. A lab item may\ndeclare conversions across dimensions (`convert mmol/L = 18.016 mg/dL` for glucose).";
    UnknownUnit = "E0206", "unknown unit",
        "The unit after a number is not one mid knows. Units: /uL, 10^2/uL, 10^3/uL, 10^4/uL,\n10^6/uL, 10^9/L, 10^12/L, mg/dL, g/dL, g/L, mg/L, mg/mL, ug/dL, ug/mL, ug/L, ng/mL,\nng/dL, ng/L, pg/mL, mmol/L, mEq/L, umol/L, nmol/L, pmol/L, U/L, IU/L, U/mL, kU/L,\nIU/mL, mU/mL, mIU/mL, mIU/L, uIU/mL, uU/mL, ukat/L, %, ratio, INR, pH, COI, sec, fL, pg,\nmL/min/1.73m2; durations day(s), week(s), month(s) (30 days), year(s) (365 days); and\nmultiples of a reference: x ULN, x LLN (the standard JCCLS interval), x site_ULN,\nx site_LLN (the hospital's reported range), x baseline.";
    Arity = "E0207", "wrong number of arguments",
        "A parameterised definition was called with too many or too few arguments. The secondary\nlabel shows its definition; parameters with a default may be left out.";
    MissingUnit = "E0208", "a lab value compared with a bare number",
        "Lab values have units, and hospitals report them in different ones. Write the unit so mid\ncan convert:\n\n    lab neutrophil_count <= 1500          // E0208\n    lab neutrophil_count <= 1500 /uL";
    AmbiguousSystem = "E0209", "a code system of several domains",
        "`receipt` and `local` codes exist for more than one domain. Say which with a declared\ndomain, or use the codes inside the query:\n\n    codes dialysis: procedure = receipt \"140038099\"\n    procedure local \"XR-001\"";
    BadDate = "E0210", "no such calendar day",
        "Dates are written YYYY-MM-DD and must be real calendar days:\n\n    require index between 2014-01-01 and 2022-02-30    // E0210: February has no 30th\n    require index between 2014-01-01 and 2022-02-28";
    MixedFilter = "E0211", "a `where` filter over several kinds of event",
        "A filter names columns of one CDM table, so it applies to events of one domain. Filter\neach kind on its own and combine the results:\n\n    (diagnosis hf or drug loop_diuretics) where main              // E0211\n    diagnosis hf where main or drug loop_diuretics";
    BadCodeRange = "E0212", "a code range written high to low, with bounds of different lengths, or of local codes of two hospitals",
        "A range `\"A\"..\"B\"` matches every code whose first characters lie between the bounds, so\nboth bounds have the same length and the first is not above the second:\n\n    icd10 \"C97\"..\"C00\"        // E0212\n    icd10 \"C00\"..\"C97\"";
    CodeListItem = "E0213", "a list of codes with something other than codes",
        "`system(…)` lists codes of that system, each in quotes:\n\n    icd10(E101, \"E111\")          // E0213: E101 is not in quotes\n    icd10(\"E101\", \"E111\")";
    EmptyCodeList = "E0214", "an empty list of codes",
        "`icd10()` lists no code and would match nothing. Give at least one code, or leave the\nset out.";
    NotCallable = "E0215", "a call of something that takes no arguments",
        "Only definitions with parameters, gradings, `earliest`, `latest`, `tested` and the code\nsystems (`icd10(\"…\", …)`) take arguments in parentheses. Write other names without them:\n\n    define t = thiamazole()      // E0215: a code set takes no arguments\n    define t = thiamazole";
    CodesAnd = "E0216", "`and` between code sets",
        "A record has one code, so no record is in two code sets at once. Code sets combine with `or`\n(union) and `-` (difference); to require records of both kinds, query each:\n\n    require diagnosis (hf and ckd)               // E0216\n    require diagnosis hf and diagnosis ckd";
    TextOrder = "E0217", "text compared by order",
        "Text values (sex, hospital, coded columns) are compared with `=`, `!=` or `in (…)`, not\nwith `<` or `>`:\n\n    require sex < F              // E0217\n    require sex = F";
    RawLabValue = "E0218", "a value comparison on lab codes, not a catalogue item",
        "Only an item of the lab catalogue has a unit, a conversion table for the units hospitals\nreport and reference limits. Compare an item's values, not raw codes:\n\n    lab analyte \"3B045\" > 100 U/L       // E0218\n    lab alt > 100 U/L                   // import labs.{alt}";
    Qualitative = "E0219", "a qualitative lab item used as a number",
        "Some catalogue items report text (`(+)`, `(2+)`) and have no unit: they cannot be compared\nwith a quantity, multiplied in a derived item or graded by value. Filter their text\nresults instead:\n\n    lab urine_ketone >= 2 mg/dL                                // E0219\n    lab urine_ketone where value_text in (\"(2+)\", \"(3+)\")";
    LiteralKind = "E0220", "a value of the wrong kind for a column",
        "Each CDM column holds one kind of value (text, whole numbers, numbers, yes/no, dates),\nand what is compared with it must be of that kind:\n\n    drug x where days_supply = \"14\"       // E0220: days_supply holds whole numbers\n    drug x where days_supply >= 14";
    VisitKind = "E0221", "`visit` without a kind of visit",
        "`visit` takes the kind of visit: `visit inpatient`, `visit outpatient`,\n`visit emergency`, or `visit any`.";
    NthFromOne = "E0222", "`nth` with a number that is not a whole number from 1",
        "`nth(n)` chooses the n-th distinct day of events, counting from 1: `nth(2) diagnosis x`.";
    LabVisits = "E0223", "lab results counted by visit",
        "Lab results are not tied to visits in the CDM, so they cannot be counted `visits of`;\ncount the days with results instead:\n\n    at least 2 visits of lab alt within 30 days before index     // E0223\n    at least 2 days of lab alt within 30 days before index";
    DuringNotIt = "E0224", "`during` with something other than `it`",
        "`during it` means inside the event a `having` condition is about (a stay's admission to\ndischarge). For the stay that contains another date write `same stay as`:\n\n    drug x during index                 // E0224\n    drug x same stay as index";
    NotYesNo = "E0225", "a column that is not yes/no used as a filter on its own",
        "Only yes/no columns (`main`, `suspected`, `generic_name_only`) can stand alone in a\n`where`; other columns are compared with a value:\n\n    diagnosis hf where source              // E0225\n    diagnosis hf where source = dpc";
    NegativeDuration = "E0226", "a negative duration",
        "Windows and periods count days forward from their anchor; the direction is said with\n`before`, `after` or `around`:\n\n    within -30 days before index        // E0226\n    within 30 days before index";
    NotFixedDuration = "E0227", "a duration not known when compiling",
        "Windows, observation, gaps, graces and periods need a number of days known when the\nscript is compiled, so every patient gets the same window: write days, weeks, months (30\ndays) or years (365 days), or a definition of one.";
    NumberTooLarge = "E0228", "a number too large for its place",
        "Every number a script gives has a meaning that bounds it: a duration is at most 200 years\n(73,050 days, longer than any follow-up), and `nth`, `at least`, `at most` and `exactly`\ncount at most 1,000,000 events. A larger number is a typo, and mid refuses it rather than\nwrapping it around:\n\n    within 4294967306 days before index      // E0228\n    within 10 days before index";
    WindowBindsRight = "E0229", "a window after `or`/`and` that binds only its right side",
        "A window binds tighter than `or` and `and`, so\n\n    require drug a or drug b within 30 days before index\n\nreads as `drug a or (drug b within 30 days before index)`: `drug a` at any time, before\nor after index. Say which is meant with parentheses:\n\n    require (drug a or drug b) within 30 days before index      // both in the window\n    require drug a or (drug b within 30 days before index)      // only b";
    NotWhole = "E0230", "a number of days or a count that is not whole",
        "Windows, gaps, graces, observation and periods are whole days, and `at least`, `at most`\nand `exactly` count whole events. A fraction would be rounded one way or the other without a\nword, so mid refuses it:\n\n    within 1.5 days before index        // E0230\n    within 2 days before index\n    at least 1.5 drug x                  // E0230\n    at least 2 drug x";
    EmptyPeriod = "E0231", "a follow-up period of no day",
        "`periods of N days` splits follow-up into periods of N days each; a period of 0 days\nholds no day:\n\n    periods of 0 days from index + 1 day until index + 140 days     // E0231\n    periods of 14 days from index + 1 day until index + 140 days";
    OverlapDate = "E0232", "`overlapping` on a date",
        "`overlapping` keeps events whose days meet a window: a prescription's supply (its date to\nits date + days' supply − 1) or a stay (admission to discharge). A date is a single day, so\nit is in a window or not:\n\n    require (first drug x after index) overlapping 30 days after index     // E0232\n    require (first drug x after index) within 30 days after index";
    OverlapCalendar = "E0233", "`overlapping` with a calendar or stay window",
        "`overlapping` takes a window of days (`within`, `between`, `before`, `after`, `on`, `same\nday as`, or days and a relation without `within`). A calendar month or year, or a stay,\nhas no such days:\n\n    exclude drug x overlapping same month as index       // E0233\n    exclude drug x overlapping 30 days before index";
    NoIndex = "E0301", "cohort without an index",
        "A cohort needs one entry event that sets `index`:\n\n    cohort users {\n      index = first drug statins\n    }";
    DuplicateStatement = "E0302", "a statement given twice",
        "A cohort has one `index`, one `end` and one `periods` statement; the secondary label shows\nthe first.";
    NoContext = "E0304", "an anchor with no meaning here",
        "`index` and `end` exist inside a cohort (and its outcomes, exports and reports); `it`\nexists inside `having`. The index statement cannot use `index`, and the end statement\ncannot use `end`.";
    NeedsSelector = "E0305", "several events where one date is needed",
        "Where a date is expected, events must be narrowed to one per patient:\n\n    end = earliest(first drug other after index, end of observation)\n    index = first drug x                 // not `index = drug x`";
    PeriodsNotFixed = "E0306", "periods without a fixed length",
        "Follow-up periods are a fixed number of days from a start:\n\n    periods of 14 days from index + 1 day until index + 140 days\n    periods of 14 days from index until index + 56 days then until end";
    SuppressTooLow = "E0308", "suppression below 10",
        "The network never shows counts below 10. `suppress below N` may raise the threshold,\nnever lower it.";
    NoEra = "E0309", "no such era",
        "`start of X` and `end of X` name an exposure era declared in the same cohort:\n\n    era exposure = drug ssris gap 30 days grace 30 days\n    end = earliest(end of exposure, end of observation)";
    NotGraded = "E0310", "grading without a table for this item",
        "A grading scale grades only the lab items it lists (`for alt { … }`); the note lists them.";
    FilterAfterPick = "E0311", "a filter after choosing one event",
        "`where` filters apply to the records before one is chosen:\n\n    (first diagnosis x) where main       // E0311\n    first diagnosis x where main";
    OutcomeNotFirst = "E0312", "an outcome that is not the first event",
        "An outcome is the first qualifying event after index (`first` may be written or left out);\n`last`, `nth` or `every` cannot be an outcome:\n\n    outcome o in c = last lab alt > 3 x ULN      // E0312\n    outcome o in c = first lab alt > 3 x ULN";
    OtherCohortsOutcome = "E0313", "an outcome of another cohort",
        "An outcome is defined for the cohorts it names (`outcome o in c = …`, or `outcome o in a, b\n= …` for several). An export of another cohort cannot show it, and a report shows it only\nwhen it also counts one of those cohorts:\n\n    report other with o                 // E0313 when o is an outcome of c\n    report c, other with o\n    outcome o in c, other = …           // or define it for both";
    DuplicateColumn = "E0314", "two export columns of one name",
        "Each export column gets a name from its expression (`age at index` → `age_at_index`); two\ncolumns may not end up with the same name. Remove the repeated one.";
    AgeBandYears = "E0315", "age bands that are not whole years",
        "Age bands are whole years wide: `age band 10 years`, `age band 5 years`.";
    NeedsPeriods = "E0316", "`by period` or `tested(…)` for a cohort without periods",
        "Counting by period, or by testing in earlier periods, needs the cohort's follow-up split\ninto periods:\n\n    cohort c {\n      …\n      periods of 14 days from index + 1 day until index + 140 days\n    }\n    report c with o by period, tested(lab neutrophil_count)";
    DuplicateStratum = "E0317", "a report by the same stratum twice",
        "Each stratum of a report is one column; giving it twice (`by sex, sex`) would make two\ncolumns of one name. Remove one.";
    TooManyPeriods = "E0318", "too many follow-up periods",
        "A cohort has at most 1,000 follow-up periods: each is a row per entry in every report by\nperiod. Use longer periods, or end the periods earlier and add one last period with\n`then until end`:\n\n    periods of 1 day from index + 1 day until index + 100000 days     // E0318\n    periods of 14 days from index + 1 day until index + 140 days then until end";
    CohortTwice = "E0319", "a cohort listed twice",
        "An outcome's cohorts, and a report's, are each listed once:\n\n    outcome hf in a, a = heart_failure          // E0319\n    outcome hf in a, b = heart_failure";
    ExportBy = "E0320", "an export by something other than `period`",
        "An export has one row per cohort entry, or with `by period` one row per entry and\nfollow-up period (the cohort needs `periods`). `tested(…)` columns, testing in the period\nand before it, exist only by period:\n\n    export c by sex with age at index                         // E0320\n    export c with tested(lab alt)                             // E0320\n    export c by period with hf, tested(lab alt), age at index";
    ValueOf = "E0321", "a `value of`, `max of`, `min of`, `grade of` or `count of` that is not an export column over events",
        "`value of` gives a lab result's value, in its item's catalogue unit, `max of` and `min of`\nthe highest and lowest value of a lab item's results in a window, `count of` the number of\ndays with events and `count of records of` their records, as export columns and Table 1\nrows. `value of` takes one result per entry of one lab item (`first`, `last` or `nth(n)`);\n`max of` and `min of` all the results of a window; `count of` any events:\n\n    export c with value of last lab alt within 180 days before index      // U/L\n    export c with max of lab alt between index + 1 day and end             // U/L\n    export c with grade of ctcae_grade(last lab alt before index)          // 0-4\n    export c with value of lab alt                                          // E0321: which result?\n    require value of last lab alt before index > 50                         // E0321: compare the\n    require last lab alt before index > 50 U/L                              // lab query instead";
    Table1Row = "E0322", "a Table 1 row that is not a characteristic at baseline",
        "Table 1 describes each cohort at index: a row is a value per entry known by then —\n`age` (at index), `sex`, `hospital`, a condition or events before index (yes/no: n and %),\na number (`age at index`, `value of last lab alt …`, `count of drug x …`: mean and SD,\nmedian and quartiles). An outcome, `censoring`, a date or a constant is not:\n\n    table1 a, b with age, sex, diagnosis diabetes before index       // fine\n    table1 a, b with hf                                                // E0322: an outcome\n    table1 a, b with index                                             // E0322: a date";
    IndexNotDrug = "E0323", "`index_drug` of a cohort whose index is not a drug",
        "`index_drug` is an export column and a Table 1 row: which code sets the prescriptions\nthat set the index belong to — for a class, its members (`atorvastatin`, `rosuvastatin`…),\nseveral joined with ` + ` when they start the same day. It needs a cohort whose index is\nset by drug events:\n\n    cohort s { index = first drug statins }\n    export s with index_drug                     // atorvastatin, pitavastatin + rosuvastatin…\n    cohort d { index = first diagnosis diabetes }\n    export d with index_drug                     // E0323: the index is a diagnosis";
    UnknownType = "E0401", "an unknown type",
        "Parameter and definition types are: Number, Quantity, Duration, Date, Text, Bool,\nCodes<diagnosis|drug|lab|procedure> and Events<diagnosis|drug|lab|procedure|visit>.";
    DefinitionKind = "E0402", "a definition of a declaration",
        "`define` names a value (codes, events, a condition, a date, a number). Lab items,\ngradings, cohorts and outcomes are declared with their own keyword and used by their\nname; a definition cannot stand for one:\n\n    define my_alt = alt          // E0402: use `alt` directly";
    ValidationNotEvents = "E0403", "validation metadata on something that is not an outcome definition",
        "`validated { … }` and `provisional { … }` describe how well a definition of events finds the\nreal outcome (PPV, sensitivity). They belong to definitions of events only.";
    ValidatedWithoutSource = "E0404", "a validated definition without its source",
        "A definition marked `validated` names the study that validated it, so every report can cite\nit: `validated { ppv = 95.7 %, source = \"Nishimura 2021\" }`. Without a source, mark it\n`provisional`.";
    NotProportion = "E0405", "a PPV or sensitivity that is not a proportion",
        "`ppv`, `sensitivity`, `relative_sensitivity` and `specificity` are proportions between\n0 and 100 %: `ppv = 95.7 %` or `ppv = 0.957`.";
    NotText = "E0406", "a property that needs text in quotes",
        "`source`, `citation`, `doi`, `adapted`, `population`, `sites` and `note` are text in\nquotes: `citation = \"Tanigawa M, et al. Pharmacoepidemiol Drug Saf 2022\"`.";
    LabPropertyForm = "E0407", "a lab item property written in the wrong form",
        "Each property of a lab item has its form:\n\n    unit = U/L\n    convert mmol/L = 18.016 mg/dL\n    reference = 10 .. 42 U/L            (or `reference male = …`, `reference female = …`)\n    reference jscc = 106 .. 322 U/L     (an earlier method's interval, with its last day:)\n    last_day jscc = 2020-03-31\n    derived = wbc * neutrophil_pct";
    ReferenceWithoutUnit = "E0408", "a reference interval on an item without a unit",
        "A qualitative item (no `unit`) has no values, so it has no reference interval. Declare the\nitem's unit, or remove the interval.";
    LabMatchesNothing = "E0409", "a lab item that matches no records",
        "A lab item says which records it is: `codes = analyte \"3B045\"`, or, for an item computed\nfrom others, `derived = wbc * neutrophil_pct`.";
    ReferenceBackwards = "E0410", "a reference interval running from high to low",
        "A reference interval is written low to high: `reference = 10 .. 42 U/L`.";
    DerivedShape = "E0411", "a derived item that is not a product of lab items",
        "`derived` multiplies lab items measured on the same day: `derived = wbc * neutrophil_pct`.\nIt needs two or more factors, each the name of a lab item.";
    DerivedUnits = "E0412", "a derived item whose units do not work out",
        "A derived item is one item of its own dimension times percentages, e.g. a neutrophil\ncount (per volume) = white cells (per volume) × neutrophils (%). Any other product would\nhave a unit mid cannot convert.";
    GradeNumber = "E0413", "a grade that is not a whole number from 1 to 5",
        "Grades are whole numbers from 1 to 5 (CTCAE and the MHLW criteria use 1 to 4 or 5).";
    GradeOrder = "E0414", "grades out of order or repeated",
        "A grading table lists each grade once, lowest first, so the highest grade a result meets is\nits grade:\n\n    for alt { 1 if > 1 x ULN  2 if > 3 x ULN  3 if > 5 x ULN }";
    GradeBaseline = "E0415", "a grade threshold relative to a baseline",
        "Grades compare a result with reference limits (`x ULN`, `x LLN`, `x site_ULN`) or with\nvalues; a patient's baseline is not a property of the grading scale. Compare with a\nbaseline in the script instead: `lab creatinine >= 1.5 x baseline`.";
    ValidatedOutsideStdlib = "E0416", "a script that marks its own definition validated",
        "Only the network's outcome definitions, in the stdlib, are `validated`: each carries the\nPPV and sensitivity of a published chart review and its citation. A study's own definition\nis study-specific, and every report, run.json and the console say \"study-specific, not\nvalidated\" beside it. Describe it with `provisional { note = \"…\" }`, or use a stdlib\noutcome (`import outcomes.heart_failure`).";
    ItemLine = "F0001", "an items line mid cannot read",
        "A feasibility request's items file names one item per line: its kind, then a stdlib\nname or a code prefix in quotes. `#` starts a comment.\n\n    drug statins            # a stdlib drug class or ingredient\n    drug \"2189015\"         # a YJ code prefix\n    condition hypertension  # a stdlib condition\n    condition \"I21\"        # an ICD-10 prefix, without the dot\n    lab alt                 # a stdlib lab item";
    UnknownItem = "F0002", "an item the stdlib does not have",
        "A feasibility item names a stdlib code set or lab item that does not exist: drugs come\nfrom module drugs, conditions from module conditions, lab items from module labs.\n`mid feasibility --list` prints the standard request, and the help names the closest\nname when one is close.";
    DuplicateItem = "F0003", "an item asked for twice",
        "Each item is counted once; a second line asking for the same item is an error rather\nthan a second copy of its counts.";
    ItemNotCountable = "F0004", "an item that cannot be counted on its own",
        "A feasibility item must be one code set of one table. A derived lab item (the absolute\nneutrophil count computed from white cells and the neutrophil percentage) has no codes of\nits own: ask for the items it is computed from.";
    StepAllTime = "W0001", "a step that looks at all time",
        "A `require` or `exclude` whose event query has no window looks at every record of the\npatient, after index too: `exclude diagnosis cancer` excludes a patient diagnosed years\nafter index. Say when: `within 365 days before index`, `on or before index`, or\n`between start of observation and index`.";
    EmptyWindow = "W0002", "a window that holds no day",
        "The window's first day is after its last (`between index and index - 30 days`), so no\nevent is ever in it. Write the earlier bound first.";
    CalendarUnit = "W0003", "months or years as fixed days",
        "Durations are days: a month is 30 days and a year 365, so a window is the same length\nfor every patient. `6 months` is 180 days, not six calendar months. Write the days to make\nit plain, or use `same month as …` / `same year as …` for calendar time.";
    Impossible = "W0004", "a condition that cannot hold as meant",
        "The condition can never be met (`age at index >= 200`, an end of follow-up before index,\nobservation longer than the data), or is met by everyone; the step or end is then\nprobably a typo.";
    ImplausibleThreshold = "W0005", "a lab threshold far outside the item's range",
        "The threshold is more than 100 times above or below the item's reference interval, which\nusually means a unit mistaken: `lab platelets < 10 /uL` is ten cells per microlitre; ten\nthousand is `10 x10^3/uL`.";
    UnusedImport = "W0006", "an import not used",
        "A name is imported but the script never uses it. Remove it from the import.";
    UnusedDefinition = "W0007", "a definition not used",
        "A code set or definition of the script is used by no cohort, outcome, export, report or\nother definition. Remove it, or use it. A file without a cohort is a library, whose\ndefinitions are there to be imported: it gets no such warning.";
    UnknownCode = "W0008", "a code no reference list knows",
        "A code (or prefix or range) of ICD-10, YJ or K-codes that matches no code in mid's\nreference lists, so a code set with it probably matches nothing: a typo (`I2l` for `I21`),\nor a code that does not exist (`I53`). The lists (stdlib/reference/) hold the ICD-10\nthree-character categories of WHO 2019 and the Japanese 2013 edition, the 4-digit YJ\ntherapeutic classes of the drugs in the NHI price lists 2014-2025, and the K-codes\n(surgery) of the 2022 and 2024 fee schedules. Other systems (MEDIS, HOT9, receipt,\nJLAC10, analyte, local) are not checked.";
}

impl Code {
    /// A code from its text (`e0201` works too).
    pub fn parse(text: &str) -> Option<Code> {
        let text = text.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// Errors stop compilation or a run; warnings do not.
    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Codes that no longer exist and the codes that replaced them, so `mid explain` of an old
/// code still helps.
pub const RETIRED: &[(&str, &str)] = &[(
    "E0303",
    "E0303 (\"invalid construct\") was split into one code per rule: E0108-E0110, E0210-E0227, E0312-E0316 and E0401-E0415. `mid check` reports the new codes.",
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(Code::parse(&c.as_str().to_lowercase()), Some(*c));
            assert!(!c.title().is_empty() && !c.explanation().is_empty());
        }
        let strs: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = strs.clone();
        sorted.sort();
        assert_eq!(strs, sorted);
        assert_eq!(Code::parse("E9999"), None);
    }
}

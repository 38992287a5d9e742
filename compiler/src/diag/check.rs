//! The wording of the checker's errors (stage: AST → HIR).

use super::{Code, Diagnostic, Label};
use crate::check::errors::{At, CheckError, LabProperty, MAX_PERIODS, QualitativeUse};

fn did_you_mean(d: Diagnostic, suggestion: &Option<String>) -> Diagnostic {
    match suggestion {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d,
    }
}

/// The nearest name as a help and as a fix a tool may apply (the name in its place).
fn did_you_mean_fix(d: Diagnostic, suggestion: &Option<String>) -> Diagnostic {
    match suggestion {
        Some(s) => d
            .with_help(format!("did you mean `{s}`?"))
            .with_fix(s.clone()),
        None => d,
    }
}

impl CheckError {
    /// The diagnostic for people and tools.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let label = |at: &At, msg: &str| Label::new(at.0, at.1, msg);
        match self {
            CheckError::UnknownName {
                at,
                name,
                suggestion,
            } => {
                let d = Diagnostic::new(
                    Code::UnknownName,
                    format!("unknown name `{name}`"),
                    label(at, "not defined or imported"),
                );
                // A stdlib name not imported: which import brings it. Else a synonym the
                // language spells otherwise, else the nearest name in scope.
                let import = |n: &str| {
                    crate::source::stdlib_home(n)
                        .map(|m| format!("`{n}` is in `{m}`: add `import {m}.{{{n}}}`"))
                };
                if let Some(h) = import(name) {
                    d.with_help(h)
                } else if let Some(s) = crate::source::synonym(name) {
                    d.with_help(match import(s) {
                        Some(h) => format!("did you mean `{s}`? {h}"),
                        None => format!("did you mean `{s}`?"),
                    })
                    .with_fix(s)
                } else {
                    did_you_mean_fix(d, suggestion)
                }
            }
            CheckError::UnknownModule {
                at,
                name,
                suggestion,
                available,
            } => {
                let d = Diagnostic::new(
                    Code::UnknownModule,
                    format!("no module `{name}`"),
                    label(at, "not a stdlib module"),
                )
                .with_note(format!("the stdlib has: {}", available.join(", ")));
                did_you_mean(d, suggestion)
            }
            CheckError::NotInModule {
                at,
                module,
                name,
                suggestion,
            } => did_you_mean(
                Diagnostic::new(
                    Code::NotInModule,
                    format!("`{name}` is not defined in module `{module}`"),
                    label(at, &format!("not in `{module}`")),
                ),
                suggestion,
            ),
            CheckError::Duplicate { at, name, first } => Diagnostic::new(
                Code::Duplicate,
                format!("`{name}` is defined twice"),
                label(at, "defined again here"),
            )
            .with_label(label(first, "first defined here"))
            .with_help("give one of them another name"),
            CheckError::Cycle { at, name } => Diagnostic::new(
                Code::Cycle,
                format!("`{name}` is defined in terms of itself"),
                label(at, "used inside its own definition"),
            )
            .with_help("definitions cannot refer to themselves, directly or through others"),
            CheckError::UnknownField {
                at,
                table,
                name,
                suggestion,
                fields,
            } => did_you_mean(
                Diagnostic::new(
                    Code::UnknownColumn,
                    format!("the {table} table has no column `{name}`"),
                    label(at, "unknown column"),
                )
                .with_note(format!("{table} columns: {}", fields.join(", "))),
                suggestion,
            ),
            CheckError::UnknownValue {
                at,
                column,
                value,
                suggestion,
                values,
            } => did_you_mean(
                Diagnostic::new(
                    Code::UnknownValue,
                    format!("`{value}` is not a value of `{column}`"),
                    label(at, "unknown value"),
                )
                .with_note(format!("`{column}` is one of: {}", values.join(", "))),
                suggestion,
            ),
            CheckError::Mismatch {
                at,
                expected,
                found,
                context,
                help,
            } => {
                let d = Diagnostic::new(
                    Code::Mismatch,
                    format!("{context} needs {expected}, found {found}"),
                    label(at, &format!("this is {found}")),
                );
                match help {
                    Some(h) => d.with_help(h.clone()),
                    None => d,
                }
            }
            CheckError::WrongDomain {
                at,
                expected,
                found,
                context,
            } => Diagnostic::new(
                Code::WrongDomain,
                format!("{context} needs {expected}, found {found}"),
                label(at, &format!("this is {found}")),
            )
            .with_help("code sets are typed by domain: a drug code set cannot stand for diagnoses"),
            CheckError::BadCode {
                at,
                system,
                code,
                shape,
            } => Diagnostic::new(
                Code::BadCode,
                format!("\"{code}\" cannot be a {system} code"),
                label(at, &format!("not a {system} code")),
            )
            .with_note(format!("a {system} code is {shape}")),
            CheckError::UnknownSystem {
                at,
                name,
                suggestion,
            } => did_you_mean(
                Diagnostic::new(
                    Code::UnknownSystem,
                    format!("unknown code system `{name}`"),
                    label(at, "not a code system"),
                )
                .with_note(
                    "code systems: icd10, medis, local (diagnosis); yj, hot9, receipt, local (drug); jlac10, analyte, local (lab); receipt, kcode, local (procedure)",
                ),
                suggestion,
            ),
            CheckError::SystemNotInDomain {
                at,
                system,
                domain,
                allowed,
            } => Diagnostic::new(
                Code::UnknownSystem,
                format!("`{system}` codes are not {domain} codes"),
                label(at, &format!("{system} is not a {domain} code system")),
            )
            .with_note(format!("{domain} codes are: {}", allowed.join(", "))),
            CheckError::AmbiguousSystem { at, system } => Diagnostic::new(
                Code::AmbiguousSystem,
                format!("`{system}` codes exist in several domains"),
                label(at, "which domain?"),
            )
            .with_help(format!(
                "declare the domain: `codes name: procedure = {system} \"…\"`, or use the codes directly in `drug …`/`procedure …`"
            )),
            CheckError::Units {
                at,
                expected,
                found,
                context,
            } => Diagnostic::new(
                Code::Units,
                format!("{context}: cannot compare {found} with {expected}"),
                label(at, &format!("this is {found}")),
            )
            .with_help(format!("write the value in a unit of {expected}")),
            CheckError::UnknownUnit {
                at,
                unit,
                suggestion,
            } => did_you_mean(
                Diagnostic::new(
                    Code::UnknownUnit,
                    format!("unknown unit `{unit}`"),
                    label(at, "not a unit mid knows"),
                )
                .with_note("`mid explain E0206` lists the units"),
                suggestion,
            ),
            CheckError::MissingUnit {
                at,
                dimension,
                example,
            } => Diagnostic::new(
                Code::MissingUnit,
                "a lab value is compared with a number without a unit",
                label(at, "no unit"),
            )
            .with_note(format!("the lab item is measured as {dimension}"))
            .with_help(format!("write the unit, e.g. `{example}`")),
            CheckError::Arity {
                at,
                name,
                expected,
                found,
                def,
            } => {
                let d = Diagnostic::new(
                    Code::Arity,
                    format!("`{name}` takes {expected}, given {found}"),
                    label(at, "wrong number of arguments"),
                );
                match def {
                    Some(def) => d.with_label(label(def, "defined here")),
                    None => d,
                }
            }
            CheckError::MissingStatement {
                at,
                cohort,
                what,
                help,
            } => Diagnostic::new(
                Code::NoIndex,
                format!("cohort `{cohort}` has no {what}"),
                label(at, &format!("no {what}")),
            )
            .with_help(*help),
            CheckError::DuplicateStatement { at, what, first } => Diagnostic::new(
                Code::DuplicateStatement,
                format!("a cohort has one {what}"),
                label(at, "second one here"),
            )
            .with_label(label(first, "first one here")),
            CheckError::NoContext { at, anchor, help } => Diagnostic::new(
                Code::NoContext,
                format!("`{anchor}` has no meaning here"),
                label(at, &format!("no `{anchor}` here")),
            )
            .with_help(*help),
            CheckError::SuppressTooLow { at, value } => Diagnostic::new(
                Code::SuppressTooLow,
                format!("counts below {value} would be shown"),
                label(at, "must be 10 or more"),
            )
            .with_note("the network never shows a count below 10")
            .with_help("remove the clause (10 is the default) or raise it"),
            CheckError::NeedsSelector { at, what } => Diagnostic::new(
                Code::NeedsSelector,
                format!("{what} needs one event per patient"),
                label(at, "which of the events?"),
            )
            .with_help("say which: `first …`, `last …`, `nth(2) …` or `every …`"),
            CheckError::NotGraded {
                at,
                grading,
                lab,
                graded,
            } => Diagnostic::new(
                Code::NotGraded,
                format!("`{grading}` has no grades for `{lab}`"),
                label(at, "not graded by this scale"),
            )
            .with_note(format!("`{grading}` grades: {}", graded.join(", "))),
            CheckError::ModuleAsValue { at, name } => Diagnostic::new(
                Code::ModuleAsValue,
                format!("`{name}` is a module"),
                label(at, "a module, not a value"),
            )
            .with_help(format!("name one of its definitions: `{name}.…`")),
            CheckError::LongPath { at } => Diagnostic::new(
                Code::LongPath,
                "a path names a module and one of its definitions",
                label(at, "too many parts"),
            ),
            CheckError::FunctionAsValue { at, name } => Diagnostic::new(
                Code::FunctionAsValue,
                format!("`{name}` is a function"),
                label(at, "needs arguments"),
            )
            .with_help(format!("write `{name}(a, b, …)`")),
            CheckError::BadDate { at, text } => Diagnostic::new(
                Code::BadDate,
                format!("{text} is not a date"),
                label(at, "no such day"),
            )
            .with_help("dates are written YYYY-MM-DD"),
            CheckError::MixedFilter { at, domains } => Diagnostic::new(
                Code::MixedFilter,
                "`where` filters one kind of event",
                label(at, &format!("this has {domains} events")),
            )
            .with_help("filter each kind separately, then combine them with `or`"),
            CheckError::BadCodeRange { at, from, to } => Diagnostic::new(
                Code::BadCodeRange,
                "a code range runs from a lower to a higher code of the same length",
                label(at, &format!("\"{from}\"..\"{to}\"")),
            )
            .with_help("write it low to high, e.g. icd10 \"C00\"..\"C97\"; a range of local codes is one hospital's: local \"H03:Y100\"..\"H03:Y199\""),
            CheckError::CodeListItem { at, system } => Diagnostic::new(
                Code::CodeListItem,
                format!("`{system}(…)` lists codes in quotes"),
                label(at, "not a code"),
            )
            .with_help(format!("write {system}(\"…\", \"…\")")),
            CheckError::EmptyCodeList { at } => Diagnostic::new(
                Code::EmptyCodeList,
                "an empty list of codes matches nothing",
                label(at, "no codes"),
            ),
            CheckError::NotCallable { at, name, ty } => match name {
                Some(name) => Diagnostic::new(
                    Code::NotCallable,
                    format!("`{name}` takes no arguments"),
                    label(at, &format!("this is {ty}")),
                )
                .with_help(format!("write `{name}` without parentheses")),
                None => Diagnostic::new(
                    Code::NotCallable,
                    "only definitions with parameters and gradings can be called",
                    label(at, &format!("this is {ty}")),
                ),
            },
            CheckError::CodesAnd { at } => Diagnostic::new(
                Code::CodesAnd,
                "code sets combine with `or` (union) and `-` (difference)",
                label(at, "`and` of code sets"),
            )
            .with_help(
                "to require two kinds of records, query each: `diagnosis a and diagnosis b`",
            ),
            CheckError::TextOrder { at } => Diagnostic::new(
                Code::TextOrder,
                "text compares with `=` or `!=`",
                label(at, "not an order"),
            ),
            CheckError::RawLabValue { at } => Diagnostic::new(
                Code::RawLabValue,
                "only a lab catalogue item has values in known units",
                label(at, "these are lab codes, not an item"),
            )
            .with_help(
                "query an item of the catalogue, e.g. `lab alt > 3 x ULN` (import labs.{alt})",
            ),
            CheckError::Qualitative { at, item, used } => match used {
                QualitativeUse::Compared => Diagnostic::new(
                    Code::Qualitative,
                    format!("`{item}` has qualitative results, not values"),
                    label(at, "no values to compare"),
                )
                .with_help(format!(
                    "filter its text results: `lab {item} where value_text in (\"(2+)\", \"(3+)\")`"
                )),
                QualitativeUse::Multiplied => Diagnostic::new(
                    Code::Qualitative,
                    "a qualitative item has no value to multiply",
                    label(at, "qualitative"),
                ),
                QualitativeUse::Graded => Diagnostic::new(
                    Code::Qualitative,
                    "a qualitative item cannot be graded by value",
                    label(at, "qualitative"),
                ),
            },
            CheckError::LiteralKind { at, column, kind } => Diagnostic::new(
                Code::LiteralKind,
                format!("`{column}` holds {kind}"),
                label(at, "a value of another kind"),
            ),
            CheckError::VisitKind { at } => Diagnostic::new(
                Code::VisitKind,
                "`visit` takes a kind of visit",
                label(at, "not a kind of visit"),
            )
            .with_help(
                "write `visit inpatient`, `visit outpatient`, `visit emergency` or `visit any`",
            ),
            CheckError::NthFromOne { at } => Diagnostic::new(
                Code::NthFromOne,
                "`nth` counts from 1",
                label(at, "not a whole number from 1"),
            ),
            CheckError::LabVisits { at } => Diagnostic::new(
                Code::LabVisits,
                "lab results are not tied to visits",
                label(at, "counted by visit"),
            )
            .with_help("count `days of` lab results instead"),
            CheckError::DuringNotIt { at } => Diagnostic::new(
                Code::DuringNotIt,
                "`during` takes `it`, the event a `having` is about",
                label(at, "not `it`"),
            )
            .with_help("for the stay of another date write `same stay as …`"),
            CheckError::OverlapDate { at } => Diagnostic::new(
                Code::OverlapDate,
                "`overlapping` needs events with days of their own, not a date",
                label(at, "a date"),
            )
            .with_help("for a date write the window without `overlapping`: `… within 30 days before index`"),
            CheckError::OverlapCalendar { at } => Diagnostic::new(
                Code::OverlapCalendar,
                "`overlapping` takes a window of days",
                label(at, "a calendar or stay window"),
            )
            .with_help("write the days: `overlapping between A and B`, `overlapping 30 days before index`"),
            CheckError::NotYesNo { at, column } => Diagnostic::new(
                Code::NotYesNo,
                format!("`{column}` is not a yes/no column"),
                label(at, "needs a comparison"),
            )
            .with_help(format!("compare it: `{column} = …`")),
            CheckError::NegativeDuration { at } => Diagnostic::new(
                Code::NegativeDuration,
                "a duration cannot be negative",
                label(at, "negative"),
            ),
            CheckError::NotFixedDuration { at, context } => Diagnostic::new(
                Code::NotFixedDuration,
                format!("{context} needs a fixed duration"),
                label(at, "not known when compiling"),
            )
            .with_help("write a number of days, weeks, months or years"),
            CheckError::PeriodsNotFixed { at, used } => used_at(
                Diagnostic::new(
                    Code::PeriodsNotFixed,
                    "periods need a fixed length of follow-up",
                    label(at, "not a fixed number of days after the start"),
                )
                .with_help("write e.g. `periods of 14 days from index + 1 day until index + 140 days`; add `then until end` for the rest"),
                used,
            ),
            CheckError::NoEra {
                at,
                cohort,
                era,
                used,
            } => used_at(
                Diagnostic::new(
                    Code::NoEra,
                    format!("cohort `{cohort}` has no era `{era}`"),
                    label(at, "no such era here"),
                )
                .with_help(format!(
                    "declare it in the cohort: `era {era} = drug … gap 30 days`"
                )),
                used,
            ),
            CheckError::FilterAfterPick { at, used } => used_at(
                Diagnostic::new(
                    Code::FilterAfterPick,
                    "a `where` filter after choosing one event",
                    label(at, "filters the chosen event"),
                )
                .with_help("filter before choosing: `first diagnosis x where not suspected`"),
                used,
            ),
            CheckError::OutcomeNotFirst { at } => Diagnostic::new(
                Code::OutcomeNotFirst,
                "an outcome is the first qualifying event",
                label(at, "not `first`"),
            )
            .with_help("write `first …` or leave the selector out"),
            CheckError::OtherCohortsOutcome {
                at,
                outcome,
                cohort,
                export_of,
            } => match export_of {
                Some(of) => Diagnostic::new(
                    Code::OtherCohortsOutcome,
                    format!("outcome `{outcome}` is defined in cohort `{cohort}`"),
                    label(at, &format!("not an outcome of `{of}`")),
                ),
                None => Diagnostic::new(
                    Code::OtherCohortsOutcome,
                    format!("outcome `{outcome}` is defined in cohort `{cohort}`, which the report does not count"),
                    label(at, "another cohort's outcome"),
                )
                .with_help(format!("add `{cohort}` to the report's cohorts")),
            },
            CheckError::DuplicateColumn { at, name } => Diagnostic::new(
                Code::DuplicateColumn,
                format!("the export has two columns named `{name}`"),
                label(at, "again"),
            ),
            CheckError::AgeBandYears { at } => Diagnostic::new(
                Code::AgeBandYears,
                "age bands are whole years",
                label(at, "not whole years"),
            )
            .with_help("e.g. `age band 10 years`"),
            CheckError::ExportBy { at, found } => match found {
                Some(f) => Diagnostic::new(
                    Code::ExportBy,
                    format!("an export is by `period` or by nothing, not by `{f}`"),
                    label(at, "not `period`"),
                )
                .with_help("one row per entry: `export c with …`; one per entry and period: `export c by period with …`"),
                None => Diagnostic::new(
                    Code::ExportBy,
                    "`tested(…)` is a column of an export by period",
                    label(at, "the export has one row per entry"),
                )
                .with_help("write `export c by period with tested(…)`"),
            },
            CheckError::NeedsPeriods { at, tested } => {
                if *tested {
                    Diagnostic::new(
                        Code::NeedsPeriods,
                        "`tested(…)` describes testing in earlier follow-up periods",
                        label(at, "the cohort has no `periods`"),
                    )
                    .with_help("add `periods of …` to the cohort")
                } else {
                    Diagnostic::new(
                        Code::NeedsPeriods,
                        "`by period` needs follow-up periods",
                        label(at, "the cohort has no `periods`"),
                    )
                    .with_help(
                        "add e.g. `periods of 14 days until index + 140 days` to the cohort",
                    )
                }
            }
            CheckError::UnknownType { at, text } => Diagnostic::new(
                Code::UnknownType,
                format!("unknown type `{text}`"),
                label(at, "not a type"),
            )
            .with_help("types: Number, Quantity, Duration, Date, Text, Bool, Codes<diagnosis|drug|lab|procedure>, Events<diagnosis|drug|lab|procedure|visit>"),
            CheckError::DefinitionKind { at, ty } => Diagnostic::new(
                Code::DefinitionKind,
                format!("a definition cannot stand for a {ty}"),
                label(at, "use the name directly"),
            ),
            CheckError::ValidationNotEvents { at, ty } => Diagnostic::new(
                Code::ValidationNotEvents,
                "validation metadata belongs to outcome definitions (events)",
                label(at, &format!("this is {ty}")),
            ),
            CheckError::ValidatedWithoutSource { at } => Diagnostic::new(
                Code::ValidatedWithoutSource,
                "a validated definition names its source",
                label(at, "no `source`"),
            )
            .with_help("add `source = \"…\"` (the validation study), or mark it `provisional`"),
            CheckError::ValidatedOutsideStdlib { at } => Diagnostic::new(
                Code::ValidatedOutsideStdlib,
                "only the stdlib's outcome definitions are validated",
                label(at, "a study's own definition"),
            )
            .with_help("write `provisional { note = \"…\" }`: it is recorded as study-specific, not validated"),
            CheckError::NotProportion { at, key } => Diagnostic::new(
                Code::NotProportion,
                format!("`{key}` is a proportion"),
                label(at, "not between 0 and 100 %"),
            )
            .with_help(format!("write e.g. `{key} = 95.7 %`")),
            CheckError::NotText { at, key } => Diagnostic::new(
                Code::NotText,
                format!("`{key}` is text"),
                label(at, "not text in quotes"),
            ),
            CheckError::LabPropertyForm { at, property } => {
                let (message, here, help) = match property {
                    LabProperty::Unit => ("`unit` names a unit", "not a unit", Some("e.g. `unit = U/L`")),
                    LabProperty::Convert => (
                        "`convert` gives one unit in terms of another",
                        "not `convert <unit> = <quantity>`",
                        Some("e.g. `convert mmol/L = 18.016 mg/dL`"),
                    ),
                    LabProperty::Derived => (
                        "`derived` multiplies other lab items",
                        "not a product",
                        Some("e.g. `derived = wbc * neutrophil_pct`"),
                    ),
                    LabProperty::Reference => (
                        "a reference interval is written `low .. high unit`",
                        "not an interval",
                        None,
                    ),
                    LabProperty::LastDay => (
                        "`last_day` gives the last day of a measurement method that has its own reference interval",
                        "not `last_day <method> = <date>` of a method with `reference <method> = …`",
                        Some("e.g. `reference jscc = 106 .. 322 U/L` and `last_day jscc = 2020-03-31`"),
                    ),
                    LabProperty::MethodWithoutLastDay => (
                        "a measurement method's reference interval needs the method's last day",
                        "no `last_day` for this method",
                        Some("add e.g. `last_day jscc = 2020-03-31`; `reference male = …` and `reference female = …` are by sex"),
                    ),
                };
                Diagnostic::new(Code::LabPropertyForm, message, label(at, here)).with_help_opt(help)
            }
            CheckError::ReferenceWithoutUnit { at } => Diagnostic::new(
                Code::ReferenceWithoutUnit,
                "a reference interval needs the item's `unit`",
                label(at, "no unit declared"),
            ),
            CheckError::LabMatchesNothing {
                at,
                item,
                derived_allowed,
            } => Diagnostic::new(
                Code::LabMatchesNothing,
                format!("lab item `{item}` matches no records"),
                label(
                    at,
                    if *derived_allowed {
                        "needs `codes = …` or `derived = …`"
                    } else {
                        "needs `codes = …`"
                    },
                ),
            ),
            CheckError::ReferenceBackwards { at } => Diagnostic::new(
                Code::ReferenceBackwards,
                "a reference interval runs from low to high",
                label(at, "low is above high"),
            ),
            CheckError::DerivedShape { at } => Diagnostic::new(
                Code::DerivedShape,
                "`derived` multiplies lab items",
                label(at, "not a product of lab items"),
            )
            .with_help("e.g. `derived = wbc * neutrophil_pct`"),
            CheckError::DerivedUnits { at, dimension } => Diagnostic::new(
                Code::DerivedUnits,
                format!("a derived {dimension} is one {dimension} times percentages"),
                label(at, "the units do not work out"),
            ),
            CheckError::GradeNumber { at } => Diagnostic::new(
                Code::GradeNumber,
                "grades are whole numbers from 1 to 5",
                label(at, "not a grade"),
            ),
            CheckError::GradeOrder { at } => Diagnostic::new(
                Code::GradeOrder,
                "grades are listed once each, lowest first",
                label(at, "out of order"),
            ),
            CheckError::GradeBaseline { at } => Diagnostic::new(
                Code::GradeBaseline,
                "grades compare with reference limits, not baselines",
                label(at, "baseline"),
            ),
            CheckError::NumberTooLarge { at, what, max } => Diagnostic::new(
                Code::NumberTooLarge,
                format!("{what} cannot be more than {max}"),
                label(at, "too large"),
            ),
            CheckError::DuplicateStratum { at, name, first } => Diagnostic::new(
                Code::DuplicateStratum,
                format!("the report is by `{name}` twice"),
                label(at, "again"),
            )
            .with_label(label(first, "first here"))
            .with_help("remove one of them"),
            CheckError::ValueOf { at, what, problem } => Diagnostic::new(
                Code::ValueOf,
                format!("`{what} …`: {problem}"),
                label(at, "here"),
            )
            .with_help("an export column: `export c with value of last lab alt within 180 days before index`"),
            CheckError::IndexNotDrug { at, cohort, entry } => Diagnostic::new(
                Code::IndexNotDrug,
                format!("`index_drug`: the index of cohort `{cohort}` is not a drug"),
                label(at, "the drug that entered the patient"),
            )
            .with_label(label(entry, "the index is set by these events"))
            .with_help("`index_drug` names the code sets of the prescriptions that set the index (`index = first drug statins`); for another index, export the events themselves (`drug statins within 30 days before index`)"),
            CheckError::Table1Row { at, problem } => Diagnostic::new(
                Code::Table1Row,
                format!("not a Table 1 row: {problem}"),
                label(at, "here"),
            )
            .with_help("a row is a characteristic at index: `age`, `sex`, a condition, events before index, `value of last lab alt within 180 days before index`"),
            CheckError::CohortTwice { at, name, first } => Diagnostic::new(
                Code::CohortTwice,
                format!("cohort `{name}` is listed twice"),
                label(at, "again"),
            )
            .with_label(label(first, "first here"))
            .with_help("list each cohort once"),
            CheckError::TooManyPeriods { at, count } => Diagnostic::new(
                Code::TooManyPeriods,
                format!("{count} follow-up periods are more than {MAX_PERIODS}"),
                label(at, "too many periods"),
            )
            .with_help("use longer periods, or end them earlier and add `then until end`"),
            CheckError::NotWhole { at, what } => Diagnostic::new(
                Code::NotWhole,
                format!("{what} must be whole"),
                label(at, "a fraction"),
            )
            .with_help("mid does not round it one way or the other: write a whole number"),
            CheckError::EmptyPeriod { at } => Diagnostic::new(
                Code::EmptyPeriod,
                "a follow-up period must be at least 1 day long",
                label(at, "no day"),
            ),
            CheckError::WindowBindsRight { at, left, op, both } => Diagnostic::new(
                Code::WindowBindsRight,
                format!("this window applies only to the query after `{op}`"),
                label(at, "binds to the right-hand query only"),
            )
            .with_label(label(left, "this query has no window: it looks at all time"))
            .with_help(format!(
                "to window both, parenthesise: `{both}`; to window only the right one, write the parentheses: `… {op} (…)`"
            )),
            CheckError::StepAllTime { at, used } => used_at(
                Diagnostic::new(
                    Code::StepAllTime,
                    "this step looks at all time, after index too",
                    label(at, "no window"),
                )
                .with_help("say when: `within 365 days before index`, `on or before index`, or `between start of observation and index`"),
                used,
            ),
            CheckError::EmptyWindow { at, used } => used_at(
                Diagnostic::new(
                    Code::EmptyWindow,
                    "this window holds no day: it starts after it ends",
                    label(at, "empty window"),
                )
                .with_help("write the earlier bound first: `between index - 30 days and index`"),
                used,
            ),
            CheckError::CalendarUnit { at, text, days } => Diagnostic::new(
                Code::CalendarUnit,
                format!("`{text}` is {days} days, not calendar time"),
                label(at, &format!("{days} days")),
            )
            .with_help(format!(
                "write `{days} days` to say so; for calendar months or years use `same month as …` / `same year as …`"
            )),
            CheckError::Impossible { at, what } => Diagnostic::new(
                Code::Impossible,
                what.to_string(),
                label(at, "cannot hold as meant"),
            ),
            CheckError::ImplausibleThreshold {
                at,
                item,
                threshold,
                reference,
            } => Diagnostic::new(
                Code::ImplausibleThreshold,
                format!("{threshold} is far outside the reference interval of `{item}` ({reference})"),
                label(at, "implausible for this item"),
            )
            .with_help("check the unit: e.g. platelets are counted in 10^3/uL or 10^4/uL, not /uL"),
            CheckError::UnusedImport { at, name } => Diagnostic::new(
                Code::UnusedImport,
                format!("`{name}` is imported but not used"),
                label(at, "unused"),
            )
            .with_help("remove it from the import"),
            CheckError::UnusedDefinition { at, name } => Diagnostic::new(
                Code::UnusedDefinition,
                format!("`{name}` is defined but not used"),
                label(at, "unused"),
            )
            .with_help("remove it, or use it in a cohort, outcome, export or report"),
            CheckError::UnknownCode { at, system, code } => Diagnostic::new(
                Code::UnknownCode,
                format!("{system} `{code}` matches no code in the reference list"),
                label(at, "no such code known"),
            )
            .with_help("check the code for a typo; `mid explain W0008` says what the lists cover"),
        }
    }
}

/// Adds where a definition with the problem is used, when it is used elsewhere.
fn used_at(d: Diagnostic, used: &Option<At>) -> Diagnostic {
    match used {
        Some(at) => d.with_label(Label::new(at.0, at.1, "used here")),
        None => d,
    }
}

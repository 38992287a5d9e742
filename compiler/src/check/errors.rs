//! The checker's errors (stage: AST → HIR): one variant per rule, data only. Their wording is
//! in `diag::check`.

use mid_grammar::ast::Span;

use crate::source::FileId;
use crate::types::Type;

/// Where something is: a file and a byte span.
pub type At = (FileId, Span);

/// The most days a duration may have (200 years): longer than any follow-up, and far inside
/// the range of a day number, so no window can wrap around.
pub const MAX_DAYS: i64 = 73_050;

/// The most follow-up periods a cohort may have.
pub const MAX_PERIODS: i64 = 1_000;

/// The largest count `nth`, `at least`, `at most` and `exactly` take.
pub const MAX_COUNT: f64 = 1_000_000.0;

#[derive(Debug, Clone)]
pub enum CheckError {
    UnknownName {
        at: At,
        name: String,
        suggestion: Option<String>,
    },
    UnknownModule {
        at: At,
        name: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    NotInModule {
        at: At,
        module: String,
        name: String,
        suggestion: Option<String>,
    },
    Duplicate {
        at: At,
        name: String,
        first: At,
    },
    Cycle {
        at: At,
        name: String,
    },
    UnknownField {
        at: At,
        table: &'static str,
        name: String,
        suggestion: Option<String>,
        fields: Vec<&'static str>,
    },
    UnknownValue {
        at: At,
        column: String,
        value: String,
        suggestion: Option<String>,
        values: Vec<&'static str>,
    },
    Mismatch {
        at: At,
        expected: String,
        found: Type,
        context: String,
        help: Option<String>,
    },
    WrongDomain {
        at: At,
        expected: String,
        found: String,
        context: String,
    },
    BadCode {
        at: At,
        system: &'static str,
        code: String,
        shape: &'static str,
    },
    UnknownSystem {
        at: At,
        name: String,
        suggestion: Option<String>,
    },
    SystemNotInDomain {
        at: At,
        system: &'static str,
        domain: &'static str,
        allowed: Vec<&'static str>,
    },
    AmbiguousSystem {
        at: At,
        system: &'static str,
    },
    Units {
        at: At,
        expected: String,
        found: String,
        context: String,
    },
    UnknownUnit {
        at: At,
        unit: String,
        suggestion: Option<String>,
    },
    MissingUnit {
        at: At,
        dimension: String,
        example: String,
    },
    Arity {
        at: At,
        name: String,
        expected: String,
        found: usize,
        def: Option<At>,
    },
    MissingStatement {
        at: At,
        cohort: String,
        what: &'static str,
        help: &'static str,
    },
    DuplicateStatement {
        at: At,
        what: &'static str,
        first: At,
    },
    NoContext {
        at: At,
        anchor: String,
        help: &'static str,
    },
    SuppressTooLow {
        at: At,
        value: u32,
    },
    NeedsSelector {
        at: At,
        what: &'static str,
    },
    NotGraded {
        at: At,
        grading: String,
        lab: String,
        graded: Vec<String>,
    },
    /// `import conditions` then `conditions` used as a value.
    ModuleAsValue {
        at: At,
        name: String,
    },
    /// `labs.liver.alt`.
    LongPath {
        at: At,
    },
    /// `earliest` without its arguments.
    FunctionAsValue {
        at: At,
        name: String,
    },
    BadDate {
        at: At,
        text: String,
    },
    /// `where` over events of several domains.
    MixedFilter {
        at: At,
        domains: String,
    },
    BadCodeRange {
        at: At,
        from: String,
        to: String,
    },
    /// `icd10(E101)`: an item of a code list that is not a code in quotes.
    CodeListItem {
        at: At,
        system: &'static str,
    },
    EmptyCodeList {
        at: At,
    },
    /// A call of something that takes no arguments; `name` when it is a definition.
    NotCallable {
        at: At,
        name: Option<String>,
        ty: Type,
    },
    /// `and` between code sets.
    CodesAnd {
        at: At,
    },
    /// Text compared with `<`, `>`.
    TextOrder {
        at: At,
    },
    /// A value comparison on lab codes that are not a catalogue item.
    RawLabValue {
        at: At,
    },
    Qualitative {
        at: At,
        item: String,
        used: QualitativeUse,
    },
    /// A value of the wrong kind for a column: `kind` says what the column holds.
    LiteralKind {
        at: At,
        column: &'static str,
        kind: &'static str,
    },
    VisitKind {
        at: At,
    },
    NthFromOne {
        at: At,
    },
    /// Lab results counted `visits of`.
    LabVisits {
        at: At,
    },
    DuringNotIt {
        at: At,
    },
    /// `overlapping` on a date, which has no days of its own.
    OverlapDate {
        at: At,
    },
    /// `overlapping same month as …`: only windows of days can be overlapped.
    OverlapCalendar {
        at: At,
    },
    NotYesNo {
        at: At,
        column: &'static str,
    },
    NegativeDuration {
        at: At,
    },
    NotFixedDuration {
        at: At,
        context: String,
    },
    /// `periods … until` not a fixed number of days after `from`.
    PeriodsNotFixed {
        at: At,
        used: Option<At>,
    },
    /// `start of X`/`end of X` (through a definition) in a cohort without era `X`.
    NoEra {
        at: At,
        cohort: String,
        era: String,
        used: Option<At>,
    },
    /// `(first diagnosis x) where main`, directly or through definitions.
    FilterAfterPick {
        at: At,
        used: Option<At>,
    },
    OutcomeNotFirst {
        at: At,
    },
    /// An outcome of `cohort` in an export of `export_of` (or a report that does not count
    /// `cohort`, when `export_of` is `None`).
    OtherCohortsOutcome {
        at: At,
        outcome: String,
        cohort: String,
        export_of: Option<String>,
    },
    DuplicateColumn {
        at: At,
        name: String,
    },
    AgeBandYears {
        at: At,
    },
    NeedsPeriods {
        at: At,
        tested: bool,
    },
    /// `export c by x` with anything but `period` (`found`), or `tested(…)` in an export
    /// that is not by period (none).
    ExportBy {
        at: At,
        found: Option<String>,
    },
    UnknownType {
        at: At,
        text: String,
    },
    /// `define x = alt`: a definition of a lab item, grading, cohort or outcome.
    DefinitionKind {
        at: At,
        ty: Type,
    },
    ValidationNotEvents {
        at: At,
        ty: Type,
    },
    ValidatedWithoutSource {
        at: At,
    },
    ValidatedOutsideStdlib {
        at: At,
    },
    NotProportion {
        at: At,
        key: String,
    },
    NotText {
        at: At,
        key: String,
    },
    LabPropertyForm {
        at: At,
        property: LabProperty,
    },
    ReferenceWithoutUnit {
        at: At,
    },
    LabMatchesNothing {
        at: At,
        item: String,
        derived_allowed: bool,
    },
    ReferenceBackwards {
        at: At,
    },
    DerivedShape {
        at: At,
    },
    DerivedUnits {
        at: At,
        dimension: String,
    },
    GradeNumber {
        at: At,
    },
    GradeOrder {
        at: At,
    },
    GradeBaseline {
        at: At,
    },
    /// A number beyond what its place can mean: `what` names the place, `max` the limit.
    NumberTooLarge {
        at: At,
        what: &'static str,
        max: String,
    },
    DuplicateStratum {
        at: At,
        name: String,
        first: At,
    },
    /// `value of …` where it cannot be (`place`), or of something that is not one result of
    /// one lab item (`place` none, `found` what it is), or another word than `value`.
    ValueOf {
        at: At,
        /// What was written: `value of`, `grade of`, `days from … to`.
        what: String,
        problem: String,
    },
    /// `index_drug` of a cohort whose index is not a drug (`entry`: the index's events).
    IndexNotDrug {
        at: At,
        cohort: String,
        entry: At,
    },
    /// A Table 1 row that is not a characteristic at baseline.
    Table1Row {
        at: At,
        problem: String,
    },
    /// `outcome o in a, a` or `report a, a`.
    CohortTwice {
        at: At,
        name: String,
        first: At,
    },
    TooManyPeriods {
        at: At,
        count: i64,
    },
    /// `a or b within W`: the window applies to `b` only.
    /// A fraction where whole days or a whole count are meant; `what` names the place.
    NotWhole {
        at: At,
        what: &'static str,
    },
    /// `periods of 0 days`.
    EmptyPeriod {
        at: At,
    },
    WindowBindsRight {
        at: At,
        left: At,
        op: &'static str,
        both: String,
    },
    // ---- warnings
    /// A step with an event query that has no window: it looks at all time, after index too.
    StepAllTime {
        at: At,
        used: Option<At>,
    },
    /// A window whose first day is after its last: it holds no day.
    EmptyWindow {
        at: At,
        used: Option<At>,
    },
    /// `6 months` is 180 days, not six calendar months.
    CalendarUnit {
        at: At,
        text: String,
        days: i64,
    },
    /// A condition no entry can meet (or every entry meets).
    Impossible {
        at: At,
        what: String,
    },
    /// A lab threshold far outside the item's reference interval: a unit mistaken, probably.
    ImplausibleThreshold {
        at: At,
        item: String,
        threshold: String,
        reference: String,
    },
    UnusedImport {
        at: At,
        name: String,
    },
    UnusedDefinition {
        at: At,
        name: String,
    },
    UnknownCode {
        at: At,
        system: &'static str,
        code: String,
    },
}

/// Where a qualitative lab item was used as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualitativeUse {
    Compared,
    Multiplied,
    Graded,
}

/// A property of a lab item written in the wrong form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabProperty {
    Unit,
    Convert,
    Derived,
    Reference,
    /// `last_day jscc = 2020-03-31` that is not a date, or names no method's interval.
    LastDay,
    /// `reference jscc = …` with no `last_day jscc = …`.
    MethodWithoutLastDay,
}

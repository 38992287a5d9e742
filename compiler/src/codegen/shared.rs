//! Shared scans (stage: CIR → plans): a CDM table that the entries of several cohorts test
//! is read once, with the rows any of them selects (a first pass finds them); the rows that
//! steps, outcomes and outputs test are read once per table, for the patients the cohorts
//! entered.

use datafusion_common::JoinType;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, lit};

use super::expr::*;
use super::*;
use crate::cdm::Table;

impl Gen {
    /// The rows of `table` that any of the script's code-set scans selects, with the
    /// columns those scans read (in contract order).
    pub(super) fn shared_scan(&self, table: Table, seen: &Seen) -> Result<LogicalPlan> {
        let any = selecting_any(&seen.preds);
        let keep: Vec<Expr> = table
            .columns()
            .iter()
            .filter(|col| seen.columns.contains(col.name))
            .map(|col| c(col.name))
            .collect();
        Ok(self
            .scan_cdm(table)?
            .filtered(any)?
            .projected(keep)?
            .build()?)
    }

    /// A scan of `table` for a code-set test. For a cohort's entry events: records what it
    /// tests and reads (for the shared scans), and reads the shared plan when there is one.
    pub(super) fn code_scan(
        &mut self,
        table: Table,
        codes: Expr,
        preds: &[Expr],
        columns: &[Expr],
    ) -> Result<LogicalPlanBuilder> {
        let columns = preds
            .iter()
            .chain(columns)
            .flat_map(|e| e.column_refs().into_iter().map(|c| c.name.clone()))
            .collect();
        self.note_scan(Note {
            in_entry: self.in_entry,
            table,
            codes,
            columns,
        });
        match self.shared_read(table).cloned() {
            Some(name) => self.scan(&name),
            None => self.scan_cdm(table),
        }
    }

    /// The shared read a code-set scan of `table` reads here (in a cohort's entries or
    /// after them), if there is one.
    pub(super) fn shared_read(&self, table: Table) -> Option<&String> {
        match self.in_entry {
            true => self.shared.get(&table).map(|(name, _)| name),
            false => self.later_shared.get(&table),
        }
    }

    /// Records a code-set scan in what the shared reads must select.
    pub(super) fn note_scan(&mut self, note: Note) {
        if let Some(notes) = &mut self.noting {
            notes.push(note.clone());
        }
        let seen = match note.in_entry {
            true => self.seen.entry(note.table).or_default(),
            false => self.later_seen.entry(note.table).or_default(),
        };
        seen.preds.push(note.codes);
        seen.columns.extend(note.columns);
    }

    /// The patients some cohort entered, once each.
    pub(super) fn entered(&self, p: &cir::Program) -> Result<LogicalPlan> {
        let mut entered: Option<LogicalPlanBuilder> = None;
        for coh in &p.cohorts {
            let patients = self
                .scan(&format!("entries_{}", coh.name))?
                .projected(KEYS.map(c).to_vec())?
                .build()?;
            entered = Some(match entered {
                None => LogicalPlanBuilder::from(patients),
                Some(b) => b.union(patients)?,
            });
        }
        Ok(entered
            .ok_or_else(|| internal("a shared read without cohorts"))?
            .distinct()?
            .alias("entered")?
            .build()?)
    }

    /// The patients of the entries' shared reads (of `tables`), with their attributes: the
    /// only patients who can enter a cohort when every entry reads its events from those.
    pub(super) fn candidate_patients(&self, tables: &[Table]) -> Result<LogicalPlan> {
        let mut candidates: Option<LogicalPlanBuilder> = None;
        for t in tables {
            let keys = self
                .scan(&format!("tmp_shared_{t}"))?
                .projected(KEYS.map(c).to_vec())?
                .build()?;
            candidates = Some(match candidates {
                None => LogicalPlanBuilder::from(keys),
                Some(b) => b.union(keys)?,
            });
        }
        let candidates = candidates
            .ok_or_else(|| internal("candidate patients without a shared read"))?
            .alias("candidates")?
            .build()?;
        Ok(self
            .scan_cdm(Table::Patient)?
            .alias("patient")?
            .joined(
                candidates,
                JoinType::LeftSemi,
                (keys_of("patient", &KEYS), keys_of("candidates", &KEYS)),
                None,
            )?
            .build()?)
    }

    /// `rows` (named `alias`) of the patients some cohort entered: a semi-join with every
    /// cohort's entries, which run first.
    pub(super) fn of_entered(&self, rows: LogicalPlan, alias: &str) -> Result<LogicalPlan> {
        let entered = self
            .entered_patients
            .clone()
            .ok_or_else(|| internal("a read of the entered patients before the entries"))?;
        Ok(LogicalPlanBuilder::from(rows)
            .alias(alias)?
            .joined(
                entered,
                JoinType::LeftSemi,
                (keys_of(alias, &KEYS), keys_of("entered", &KEYS)),
                None,
            )?
            .build()?)
    }

    /// The rows of `table` every scan outside the entries selects, of the entered
    /// patients: the steps, outcomes and outputs read these instead of the table.
    pub(super) fn entered_scan(&self, table: Table) -> Result<LogicalPlan> {
        let seen = self
            .later_seen
            .get(&table)
            .ok_or_else(|| internal(format!("no scans of {table} to share")))?;
        let rows = self.of_entered(self.shared_scan(table, seen)?, table.name())?;
        if table != Table::Lab || !rows.schema().has_column_with_unqualified_name("unit") {
            return Ok(rows);
        }
        // The unit's normalised spelling, once per row here: a plan that reads these rows
        // and tests a converted value would otherwise get the dozen string functions back
        // inside its filter (the optimiser inlines a projection below a filter), once per
        // conversion (statins: 0.66 s per outcome on 0.4 M rows).
        let mut cols: Vec<Expr> = rows.schema().fields().iter().map(|f| c(f.name())).collect();
        cols.push(super::labs::unit_key().alias("unit_key"));
        Ok(LogicalPlanBuilder::from(rows).projected(cols)?.build()?)
    }
}

/// A test of every row some of `preds` selects, cheap to run on every row of a table: each
/// test split at its ORs, IN lists over the same expression merged into one list, and the
/// prefixes of one length of one code column tested together (`prefix_test`: a LIKE each
/// for a few, one `left … IN` list for more). It need only hold every row a test selects
/// (each reader tests its own codes again on the rows): a code set with exceptions reads as
/// its codes, so that `drug X` and `antidepressants except X` for eight drugs test each
/// prefix once a row, not sixteen times.
pub(super) fn selecting_any(preds: &[Expr]) -> Expr {
    let relaxed: Vec<Expr> = preds
        .iter()
        .flat_map(|p| disjuncts(p).into_iter().map(without_exceptions))
        .flat_map(disjuncts)
        .cloned()
        .collect();
    let (merged, mut tests) = grouped_terms(&relaxed);
    tests.extend(merged);
    analyte_guarded(
        tests
            .into_iter()
            .reduce(Expr::or)
            .unwrap_or_else(|| lit(false)),
    )
}

const KEYS: [&str; 2] = ["hospital_id", "patient_id"];

/// A code test with its exceptions left out (`codes AND NOT coalesce(except, false)` is
/// `codes`): a test of at least the rows it selects.
fn without_exceptions(e: &Expr) -> &Expr {
    use datafusion_expr::{BinaryExpr, Operator};
    match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) if matches!(right.as_ref(), Expr::Not(inner)
            if matches!(inner.as_ref(), Expr::ScalarFunction(f) if f.name() == "coalesce")) =>
        {
            without_exceptions(left)
        }
        other => other,
    }
}

/// The tables whose scans outside the entries are read once, shared: those scanned so two
/// or more times, when every cohort's entries can run before the first steps (none reads
/// another plan's result, as `in cohort x` in an entry's condition does). `plans` are the
/// first pass's.
pub(super) fn shared_later(probe: &Gen, plans: &[NamedPlan]) -> Vec<Table> {
    let reads_results = plans
        .iter()
        .any(|np| super::of_entries(np) && reads_a_result(&np.plan));
    if reads_results {
        return Vec::new();
    }
    probe
        .later_seen
        .iter()
        .filter(|(_, seen)| seen.preds.len() >= 2)
        .map(|(t, _)| *t)
        .collect()
}

/// Whether a plan scans another plan's result (not a CDM table, not an intermediate).
fn reads_a_result(plan: &LogicalPlan) -> bool {
    super::scanned(plan)
        .iter()
        .any(|name| !name.starts_with("tmp_") && Table::from_name(name).is_none())
}

/// One code-set scan: whether of a cohort's entries, its table, its code test and the columns
/// it reads.
#[derive(Debug, Clone)]
pub(super) struct Note {
    in_entry: bool,
    table: Table,
    codes: Expr,
    columns: Vec<String>,
}

/// The code-set scans of one CDM table: their code tests (one per scan) and every column
/// the scans read.
#[derive(Default, Clone)]
pub(super) struct Seen {
    pub(super) preds: Vec<Expr>,
    columns: std::collections::BTreeSet<String>,
}

impl Seen {
    /// Whether a read of these scans' rows holds every row a test `pred` selects, whose code
    /// part `codes` is one of the scans' code tests, and every column it reads.
    pub(super) fn holds(&self, codes: &Expr, pred: &Expr) -> bool {
        self.preds.contains(codes)
            && pred
                .column_refs()
                .iter()
                .all(|col| self.columns.contains(&col.name))
    }
}

/// Whether the entry scans of `table` are read once, shared: two or more, and not the lab
/// table (one item's results are millions of rows: sharing the ALT scans of the lab
/// benchmark took it from 1.7 s to 3.1 s).
pub(super) fn shares(table: Table, seen: &Seen) -> bool {
    seen.preds.len() >= 2 && table != Table::Lab
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn entries_of_two_cohorts_share_one_drug_scan() {
        insta::assert_snapshot!(plan(
            r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a { index = first drug x }
cohort b { index = first drug y }"#,
            "tmp_shared_drug"
        ), @r#"
        Projection: drug.hospital_id, drug.patient_id, drug.date, drug.end_date, drug.yj_code, drug.visit_id
          Filter: drug.yj_code LIKE Utf8("2432001%") OR drug.yj_code LIKE Utf8("2432002%")
            TableScan: drug
        "#);
    }

    #[test]
    fn labs_outside_the_entries_are_read_once_for_the_entered_patients() {
        let src = r#"import labs.{alt, ast}
codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a {
  index = first drug x
  exclude lab alt > 100 U/L within 30 days before index
}
cohort b {
  index = first drug y
  exclude lab ast > 100 U/L within 30 days before index
}
outcome hurt in a, b = first lab alt > 300 U/L within 90 days after index"#;
        insta::assert_snapshot!(plan(src, "tmp_entered_lab"), @r##"
            Projection: lab.hospital_id, lab.patient_id, lab.date, lab.analyte, lab.specimen, lab.value, lab.unit, lab.ref_low, lab.ref_high, coalesce(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(translate(lab.unit, Utf8("！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　"), Utf8("!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ "))), Utf8("㎎"), Utf8("mg")), Utf8("㎗"), Utf8("dl")), Utf8("㎖"), Utf8("ml")), Utf8("㎕"), Utf8("ul")), Utf8("㎍"), Utf8("ug")), Utf8("ℓ"), Utf8("l")), Utf8("μ"), Utf8("u")), Utf8("µ"), Utf8("u")), Utf8("×"), Utf8("")), Utf8("x10"), Utf8("10")), Utf8("10*"), Utf8("10^")), Utf8(" "), Utf8("")), Utf8("")) AS unit_key
              LeftSemi Join: lab.hospital_id = entered.hospital_id, lab.patient_id = entered.patient_id
                SubqueryAlias: lab
                  Projection: lab.hospital_id, lab.patient_id, lab.date, lab.analyte, lab.specimen, lab.value, lab.unit, lab.ref_low, lab.ref_high
                    Filter: lab.analyte IN ([Utf8("3B035"), Utf8("3B045")]) AND (lab.analyte = Utf8("3B045") AND lab.specimen IN ([Utf8("019"), Utf8("020"), Utf8("022"), Utf8("023")]) OR lab.analyte = Utf8("3B035") AND lab.specimen IN ([Utf8("019"), Utf8("020"), Utf8("022"), Utf8("023")]))
                      TableScan: lab
                SubqueryAlias: entered
                  Distinct:
                    Union
                      Projection: entries_a.hospital_id, entries_a.patient_id
                        TableScan: entries_a
                      Projection: entries_b.hospital_id, entries_b.patient_id
                        TableScan: entries_b
        "##);
        // Every cohort's entries run before it, and no later plan reads the lab table.
        let all = crate::testing::plans(src);
        let shared_at = all.find("-- tmp_entered_lab").expect("a shared lab read");
        assert!(all[..shared_at].contains("-- entries_b"));
        // (The coverage plans after them count every lab row by hospital.)
        let after = shared_at + all[shared_at..].find("\n-- ").expect("plans after it");
        let coverage = all.find("-- coverage_").unwrap_or(all.len());
        assert!(!all[after..coverage].contains("TableScan: lab"), "{all}");
        // The shared rows carry the unit's normalised spelling: the plans that read them test
        // `unit_key`, not the string functions (which the optimiser would put in their filters).
        assert!(!all[after..coverage].contains("translate("), "{all}");
    }

    /// The patient table is read once, for the patients of the entries' shared reads, only
    /// when every entry reads its events from those: a cohort entered from the lab table
    /// (never shared) could hold any patient, so each join then reads the table.
    #[test]
    fn the_patients_are_read_once_only_for_entries_of_shared_reads() {
        let shared = r#"codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a { index = first drug x }
cohort b { index = first drug y }"#;
        let all = crate::testing::plans(shared);
        assert!(all.contains("-- tmp_shared_patient"), "{all}");
        let entries = &all[all.find("-- entries_a").expect("entries")..];
        assert!(!entries.contains("TableScan: patient\n"), "{all}");
        let with_lab = r#"import labs.{alt}
codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a { index = first drug x }
cohort b { index = first drug y }
cohort c { index = first lab alt > 100 U/L }"#;
        let all = crate::testing::plans(with_lab);
        assert!(all.contains("-- tmp_shared_drug"), "{all}");
        assert!(!all.contains("tmp_shared_patient"), "{all}");
        assert_eq!(all.matches("TableScan: patient\n").count(), 3, "{all}");
    }

    /// An entry whose condition reads another cohort cannot run before that cohort's steps:
    /// such a script keeps the cohort-by-cohort order and reads unshared.
    #[test]
    fn entries_that_read_a_cohort_keep_their_order() {
        let src = r#"import labs.{alt, ast}
codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
cohort a {
  index = first drug x
  exclude lab alt > 100 U/L within 30 days before index
}
cohort b {
  index = first drug y having in cohort a
  exclude lab ast > 100 U/L within 30 days before index
}
outcome hurt in a, b = first lab alt > 300 U/L within 90 days after index"#;
        let all = crate::testing::plans(src);
        assert!(!all.contains("tmp_entered_lab"), "{all}");
        assert!(all.find("-- cohort_a").expect("a") < all.find("-- entries_b").expect("b"));
    }
}

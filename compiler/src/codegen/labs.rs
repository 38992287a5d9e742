//! Lab results (stage: CIR → plans): values and reference limits converted into the item's
//! unit, derived items, one scan for an `or` of items, thresholds by sex, baselines.

use datafusion_common::JoinType;
use datafusion_expr::{Expr, LogicalPlan, LogicalPlanBuilder, case, in_list, lit, when};
use datafusion_functions::expr_fn::{coalesce, lower, replace, translate};
use datafusion_functions_aggregate::expr_fn::max;

use super::expr::*;
use super::names::*;
use super::*;
use crate::cdm::Table;
use crate::cir::{self, Cmp, Date, Events, Pick, Threshold, Window};
use crate::units::{self, Relative};

impl Gen {
    /// Lab results of one item, values and reference limits converted into the item's unit;
    /// a derived item adds results computed from its factors measured the same day.
    pub(super) fn lab_source(
        &mut self,
        lab: &cir::LabSpec,
        extra: Vec<Expr>,
        alias: &str,
    ) -> Result<LogicalPlan> {
        let direct = self.lab_rows(lab, extra.clone())?;
        let Some((factors, scale)) = &lab.derived else {
            return Ok(LogicalPlanBuilder::from(direct).alias(alias)?.build()?);
        };
        // Derived: factors joined on patient and day, values multiplied.
        let mut joined: Option<(LogicalPlanBuilder, Vec<String>)> = None;
        for (i, f) in factors.iter().enumerate() {
            let fa = format!("{}_{}", ident(&f.item), i + 1);
            let rows = LogicalPlanBuilder::from(self.lab_rows(f, vec![])?)
                .alias(&fa)?
                .build()?;
            joined = Some(match joined {
                None => (LogicalPlanBuilder::from(rows), vec![fa]),
                Some((b, mut names)) => {
                    let first = names[0].clone();
                    let day_keys = ["hospital_id", "patient_id", "ev_day"];
                    let keys_l = keys_of(&first, &day_keys);
                    let keys_r = keys_of(&fa, &day_keys);
                    names.push(fa);
                    (
                        b.joined(rows, JoinType::Inner, (keys_l, keys_r), None)?,
                        names,
                    )
                }
            });
        }
        let (b, names) = joined.ok_or_else(|| internal("a derived item without factors"))?;
        let first = names[0].clone();
        let product = names
            .iter()
            .map(|n| qc(n, "ev_value"))
            .reduce(|a, b| a * b)
            .expect("two or more factors")
            * lit(*scale);
        let derived = b
            .projected(vec![
                qc(&first, "hospital_id").alias("hospital_id"),
                qc(&first, "patient_id").alias("patient_id"),
                qc(&first, "ev_day").alias("ev_day"),
                qc(&first, "ev_day").alias("ev_end_day"),
                product.alias("ev_value"),
                null_f64().alias("ev_ref_low"),
                null_f64().alias("ev_ref_high"),
                null_i64().alias("ev_visit"),
            ])?
            .alias("derived")?
            .build()?;
        // A day with a reported count keeps the reported count only.
        let reported = LogicalPlanBuilder::from(direct.clone())
            .alias("reported")?
            .build()?;
        let keys = ["hospital_id", "patient_id", "ev_day"];
        let derived_only = LogicalPlanBuilder::from(derived)
            .joined(
                reported,
                JoinType::LeftAnti,
                (keys_of("derived", &keys), keys_of("reported", &keys)),
                None,
            )?
            .build()?;
        let derived_only = LogicalPlanBuilder::from(derived_only)
            .projected(
                std::iter::once("hospital_id")
                    .chain(["patient_id"])
                    .chain(EV_COLUMNS)
                    .map(c)
                    .collect::<Vec<_>>(),
            )?
            .build()?;
        let mut b = LogicalPlanBuilder::from(direct);
        if !extra.is_empty() {
            // Filters on lab columns apply to reported rows; derived rows have no such columns.
        }
        b = b.union(derived_only)?;
        Ok(b.alias(alias)?.build()?)
    }

    /// `lab a >= x or lab b >= y` as one scan of the lab table instead of a union of two:
    /// each scan decodes the analyte column of every lab row (BNP or NT-proBNP, q2 of
    /// docs/performance.md). Only when every member is one lab item's value compared within
    /// its row (a value, or a multiple of a limit that needs no join) and the members' codes
    /// are complete codes of one column, pairwise disjoint: a row then belongs to one member
    /// at most, so the rows are exactly the union's.
    pub(super) fn lab_union(&mut self, es: &[Events]) -> Result<Option<LogicalPlan>> {
        struct Member<'a> {
            lab: &'a cir::LabSpec,
            codes: Vec<String>,
            op: Cmp,
            threshold: &'a Threshold,
            text: &'a str,
        }
        if es.len() < 2 {
            return Ok(None);
        }
        let mut members = Vec::new();
        let mut column = None;
        for e in es {
            let Events::Value {
                input,
                op,
                threshold,
            } = e
            else {
                return Ok(None);
            };
            let Events::Source(s) = input.as_ref() else {
                return Ok(None);
            };
            let Some(lab) = &s.lab else {
                return Ok(None);
            };
            if s.codes.is_some()
                || !s.filters.is_empty()
                || s.visit_kind.is_some()
                || lab.derived.is_some()
                || !row_local(threshold, lab)
            {
                return Ok(None);
            }
            let Some((col, codes)) = lab.codes.as_ref().and_then(complete_codes) else {
                return Ok(None);
            };
            if *column.get_or_insert(col) != col {
                return Ok(None);
            }
            members.push(Member {
                lab,
                codes,
                op: *op,
                threshold,
                text: &s.text,
            });
        }
        let mut all = std::collections::BTreeSet::new();
        for m in &members {
            for code in &m.codes {
                if !all.insert(code.as_str()) {
                    return Ok(None);
                }
            }
        }
        let column = column.expect("two or more members");
        let is = |col: &str, codes: &[String]| -> Expr {
            match codes {
                [one] => c(col).eq(lit(one.clone())),
                many => in_list(c(col), many.iter().map(|x| lit(x.clone())).collect(), false),
            }
        };
        // Each row in its own item's unit: the member its code belongs to.
        let converted = |name: &str, of: &str| -> Result<Expr> {
            let arms = members
                .iter()
                .map(|m| (is(column, &m.codes), converted(c(of), m.lab)));
            Ok(case_when(arms, null_f64())?.alias(name))
        };
        let every: Vec<String> = members.iter().flat_map(|m| m.codes.clone()).collect();
        let columns = vec![
            c("hospital_id"),
            c("patient_id"),
            day(c("date")).alias("ev_day"),
            day(c("date")).alias("ev_end_day"),
            converted("ev_value", "value")?,
            converted("ev_ref_low", "ref_low")?,
            converted("ev_ref_high", "ref_high")?,
            null_i64().alias("ev_visit"),
            c(column).alias("lab_code"),
        ];
        let test = is(column, &every);
        // A shared read selects these rows behind their analytes' guard, as `codes_pred` would.
        let codes = cir::Codes::Any(members.iter().filter_map(|m| m.lab.codes.clone()).collect());
        let raw = raw_lab_columns(&[column]);
        let scan = self.code_scan(Table::Lab, guarded(&codes, test.clone()), &[], &raw)?;
        let raw = read_unit_key(&scan, raw);
        let scan = scan
            .filtered(test)?
            .projected(raw)?
            .projected(columns)?
            .build()?;
        let mut rel = Rel {
            plan: scan,
            ctx_level: false,
        };
        let mut tests = Vec::new();
        for m in &members {
            let (next, t) = self.threshold(rel, m.threshold, Some(m.lab), None)?;
            rel = next;
            tests.push(is("lab_code", &m.codes).and(cmp(c("ev_value"), m.op, t)));
        }
        let alias = ident(
            &members
                .iter()
                .map(|m| format!("lab {}", m.text))
                .collect::<Vec<_>>()
                .join(" or "),
        );
        let plan = LogicalPlanBuilder::from(rel.plan)
            .filter(
                tests
                    .into_iter()
                    .reduce(Expr::or)
                    .expect("two or more members"),
            )?
            .projected(
                ["hospital_id", "patient_id"]
                    .into_iter()
                    .chain(EV_COLUMNS)
                    .map(c)
                    .collect::<Vec<_>>(),
            )?
            .alias(&alias)?
            .build()?;
        Ok(Some(plan))
    }

    pub(super) fn lab_rows(&mut self, lab: &cir::LabSpec, extra: Vec<Expr>) -> Result<LogicalPlan> {
        let mut preds = extra;
        match &lab.codes {
            Some(codes) => preds.push(codes_pred(codes)),
            None => preds.push(lit(false)),
        }
        let raw = raw_lab_columns(&[]);
        let columns = vec![
            c("hospital_id"),
            c("patient_id"),
            day(c("date")).alias("ev_day"),
            day(c("date")).alias("ev_end_day"),
            converted(c("value"), lab).alias("ev_value"),
            converted(c("ref_low"), lab).alias("ev_ref_low"),
            converted(c("ref_high"), lab).alias("ev_ref_high"),
            null_i64().alias("ev_visit"),
        ];
        let scan = match &lab.codes {
            Some(codes) => self.code_scan(Table::Lab, codes_pred(codes), &preds, &raw)?,
            None => self.scan_cdm(Table::Lab)?,
        };
        let raw = read_unit_key(&scan, raw);
        Ok(scan
            .filtered(and_all(preds))?
            .projected(raw)?
            .projected(columns)?
            .build()?)
    }

    /// The expression of a lab threshold, and the rows with what it needs (sex, baseline).
    pub(super) fn threshold(
        &mut self,
        rel: Rel,
        t: &Threshold,
        spec: Option<&cir::LabSpec>,
        ctx: Option<&Ctx>,
    ) -> Result<(Rel, Expr)> {
        match t {
            Threshold::Value(v) => Ok((rel, lit(*v))),
            Threshold::Times(r, k) => {
                let reference = spec.map(|s| s.reference.clone()).unwrap_or_default();
                let std_limit = |upper: bool| standard_limit(&reference, upper);
                let needs_sex = reference.male.is_some()
                    && reference.female.is_some()
                    && reference.male != reference.female;
                let rel = if needs_sex
                    && matches!(
                        r,
                        Relative::Uln | Relative::Lln | Relative::SiteUln | Relative::SiteLln
                    ) {
                    self.with_sex(rel)?
                } else {
                    rel
                };
                let k = lit(*k);
                match r {
                    Relative::Uln => Ok((rel, k * std_limit(true).unwrap_or_else(null_f64))),
                    Relative::Lln => Ok((rel, k * std_limit(false).unwrap_or_else(null_f64))),
                    Relative::SiteUln => Ok((
                        rel,
                        k * coalesce(vec![
                            c("ev_ref_high"),
                            std_limit(true).unwrap_or_else(null_f64),
                        ]),
                    )),
                    Relative::SiteLln => Ok((
                        rel,
                        k * coalesce(vec![
                            c("ev_ref_low"),
                            std_limit(false).unwrap_or_else(null_f64),
                        ]),
                    )),
                    Relative::Baseline => {
                        let cx = ctx.ok_or_else(|| internal("a baseline outside a cohort"))?;
                        let spec = spec.ok_or_else(|| {
                            internal("a baseline of something that is not a lab item")
                        })?;
                        let rel = self.lift(rel, cx)?;
                        let (rel, b) = self.baseline(rel, spec, cx)?;
                        Ok((rel, k * b))
                    }
                }
            }
        }
    }

    /// Adds `ev_sex` to rows (from the context, or the patient table).
    pub(super) fn with_sex(&mut self, rel: Rel) -> Result<Rel> {
        if rel
            .plan
            .schema()
            .fields()
            .iter()
            .any(|f| f.name() == "ev_sex")
        {
            return Ok(rel);
        }
        if rel.plan.schema().fields().iter().any(|f| f.name() == "sex") {
            let mut cols: Vec<Expr> = rel
                .plan
                .schema()
                .fields()
                .iter()
                .map(|f| c(f.name()))
                .collect();
            cols.push(c("sex").alias("ev_sex"));
            let plan = LogicalPlanBuilder::from(rel.plan)
                .projected(cols)?
                .build()?;
            return Ok(Rel { plan, ..rel });
        }
        let rows_alias = self.fresh("rows");
        let left = LogicalPlanBuilder::from(rel.plan)
            .alias(&rows_alias)?
            .build()?;
        let pat = self
            .scan_patient()?
            .projected(vec![c("hospital_id"), c("patient_id"), c("sex")])?
            .alias("sex_of")?
            .build()?;
        let mut cols: Vec<Expr> = left
            .schema()
            .fields()
            .iter()
            .map(|f| qc(&rows_alias, f.name()).alias(f.name()))
            .collect();
        cols.push(qc("sex_of", "sex").alias("ev_sex"));
        let keys_l = keys_of(&rows_alias, &PERSON);
        let keys_r = keys_of("sex_of", &PERSON);
        let plan = LogicalPlanBuilder::from(left)
            .joined(pat, JoinType::Left, (keys_l, keys_r), None)?
            .projected(cols)?
            .build()?;
        Ok(Rel { plan, ..rel })
    }

    /// The item's last value in the 180 days up to index (the highest on that day).
    pub(super) fn baseline(
        &mut self,
        rel: Rel,
        spec: &cir::LabSpec,
        ctx: &Ctx,
    ) -> Result<(Rel, Expr)> {
        let rows = Rel {
            plan: self.lab_source(spec, vec![], &ident(&format!("lab {} baseline", spec.item)))?,
            ctx_level: false,
        };
        let w = Window {
            lo: Some(Date::Index.offset(-180)),
            hi: Some(Date::Index),
            calendar: None,
            overlap: false,
        };
        let rows = self.window(rows, &w, Some(ctx))?;
        // The last day with a usable value: a text result or a unit mid cannot convert has
        // no value and is no baseline.
        let rows = Rel {
            plan: LogicalPlanBuilder::from(rows.plan)
                .filtered(c("ev_value").is_not_null())?
                .build()?,
            ..rows
        };
        let rows = self.pick(rows, Pick::Last, Some(ctx))?;
        let b_alias = self.fresh("baseline");
        let per_ctx = LogicalPlanBuilder::from(rows.plan)
            .aggregated(
                ctx.keys.iter().map(|k| c(k)).collect::<Vec<_>>(),
                vec![max(c("ev_value")).alias("baseline_value")],
            )?
            .alias(&b_alias)?
            .build()?;
        let rows_alias = self.fresh("rows");
        let left = LogicalPlanBuilder::from(rel.plan)
            .alias(&rows_alias)?
            .build()?;
        let keys_l = keys_of(&rows_alias, &ctx.keys);
        let keys_r = keys_of(&b_alias, &ctx.keys);
        let name = self.fresh("value_baseline");
        let mut cols: Vec<Expr> = left
            .schema()
            .fields()
            .iter()
            .map(|f| qc(&rows_alias, f.name()).alias(f.name()))
            .collect();
        cols.push(qc(&b_alias, "baseline_value").alias(&name));
        let plan = LogicalPlanBuilder::from(left)
            .joined(per_ctx, JoinType::Left, (keys_l, keys_r), None)?
            .projected(cols)?
            .build()?;
        Ok((
            Rel {
                plan,
                ctx_level: true,
            },
            c(&name),
        ))
    }
}

pub(super) fn lab_spec(e: &Events) -> Option<&cir::LabSpec> {
    match e {
        Events::Source(s) => s.lab.as_ref(),
        Events::Value { input, .. }
        | Events::Grade { input, .. }
        | Events::Window { input, .. }
        | Events::Having { input, .. }
        | Events::Pick { input, .. } => lab_spec(input),
        Events::Union(_) => None,
    }
}

/// The reported unit's normalised spelling (`''` for none), which the unit `CASE`s test.
pub(super) fn unit_key() -> Expr {
    let (from, to) = units::NORMALISE_CHARS;
    let mut u = lower(translate(c("unit"), lit(from), lit(to)));
    for (from, to) in units::NORMALISE_STEPS {
        u = replace(u, lit(*from), lit(*to));
    }
    coalesce(vec![u, lit("")])
}

/// The raw lab columns a conversion reads, with the unit's normalised spelling as `unit_key`
/// computed once: the value and both limits test it, and writing the dozen string functions
/// into each of the three made every lab read's plan three times their size (most of `mid
/// compile`'s time went to DataFusion checking those trees).
pub(super) fn raw_lab_columns(extra: &[&str]) -> Vec<Expr> {
    [
        "hospital_id",
        "patient_id",
        "date",
        "value",
        "ref_low",
        "ref_high",
    ]
    .iter()
    .chain(extra)
    .map(|name| c(name))
    .chain([unit_key().alias("unit_key")])
    .collect()
}

/// `raw` (`raw_lab_columns`, whose last column computes `unit_key`) reading `unit_key` from
/// `scan` instead when it has one (the shared lab rows compute it once).
fn read_unit_key(scan: &LogicalPlanBuilder, mut raw: Vec<Expr>) -> Vec<Expr> {
    if scan.schema().has_column_with_unqualified_name("unit_key") {
        raw.pop();
        raw.push(c("unit_key"));
    }
    raw
}

/// The factor from each reported unit to the item's unit, by the normalised spelling in
/// `subject`; unknown units give no value (null), never a wrong one.
pub(super) fn unit_factor(lab: &cir::LabSpec, subject: Expr) -> Expr {
    unit_case(lab, subject, |c| c.factor)
}

/// A value (or limit) column in the item's unit: `col × factor`, plus the offset of units that
/// have one (HbA1c in mmol/mol). The rows carry `unit_key` (`raw_lab_columns`).
pub(super) fn converted(col: Expr, lab: &cir::LabSpec) -> Expr {
    let scaled = col * unit_factor(lab, c("unit_key"));
    if lab.units.iter().all(|c| c.offset == 0.0) {
        scaled
    } else {
        scaled + unit_case(lab, c("unit_key"), |c| c.offset)
    }
}

/// A `CASE` over the reported unit's normalised spelling (`subject`) giving one number per
/// known unit; unknown units give no value (null), never a wrong one.
fn unit_case(lab: &cir::LabSpec, subject: Expr, of: impl Fn(&units::Conversion) -> f64) -> Expr {
    let mut b: Option<datafusion_expr::conditional_expressions::CaseBuilder> = None;
    let dimensionless = lab
        .unit
        .as_deref()
        .and_then(units::lookup)
        .is_some_and(|u| u.dimension == units::Dimension::Ratio);
    let mut arms: Vec<(String, f64)> = lab.units.iter().map(|c| (c.unit.clone(), of(c))).collect();
    if dimensionless {
        // A ratio reported without a unit is in the item's own terms.
        arms.push((
            String::new(),
            of(&units::Conversion {
                unit: String::new(),
                factor: 1.0,
                offset: 0.0,
            }),
        ));
    }
    if lab.unit.is_none() {
        return null_f64();
    }
    for (name, f) in arms {
        b = Some(match b {
            None => case(subject.clone()).when(lit(name), lit(f)),
            Some(mut b) => b.when(lit(name), lit(f)),
        });
    }
    match b {
        Some(mut b) => b.otherwise(null_f64()).unwrap_or_else(|_| null_f64()),
        None => null_f64(),
    }
}

/// The standard limit (upper or lower) a lab row is compared with: the item's interval, by
/// sex where it differs (the larger limit for sex `U`); for an item measured by several
/// methods over time (ALP: JSCC, then IFCC), the interval of the method that measured the
/// row: the one whose upper limit is nearest, by ratio, the hospital's reported upper limit
/// (`ev_ref_high`, in the item's unit), or for a row reported without one, an earlier
/// method up to its last day (`last_day`), else the current one.
fn standard_limit(reference: &cir::Reference, upper: bool) -> Option<Expr> {
    let pick = |x: Option<(f64, f64)>| x.map(|(lo, hi)| if upper { hi } else { lo });
    let (m, f) = (pick(reference.male), pick(reference.female));
    let current = match (m, f) {
        (Some(m), Some(f)) if m == f => lit(m),
        (Some(m), Some(f)) => when(c("ev_sex").eq(lit("F")), lit(f))
            .when(c("ev_sex").eq(lit("M")), lit(m))
            .otherwise(lit(m.max(f)))
            .ok()?,
        (Some(x), None) | (None, Some(x)) => lit(x),
        (None, None) => return None,
    };
    if reference.methods.is_empty() {
        return Some(current);
    }
    let current_high = [reference.male, reference.female]
        .into_iter()
        .flatten()
        .map(|r| r.1)
        .fold(f64::MIN, f64::max);
    let mut by_last_day: Vec<&crate::units::MethodInterval> = reference.methods.iter().collect();
    by_last_day.sort_by_key(|m| m.last_day);
    let limit = |m: &crate::units::MethodInterval| lit(if upper { m.range.1 } else { m.range.0 });
    // Without a reported range: an earlier method up to its last day, then the current one.
    let no_range = c("ev_ref_high").is_null();
    let mut arms: Vec<(Expr, Expr)> = by_last_day
        .iter()
        .map(|m| {
            let day = c("ev_day").lt_eq(lit(m.last_day));
            (no_range.clone().and(day), limit(m))
        })
        .collect();
    arms.push((no_range, current.clone()));
    // Nearest upper limit by ratio: the boundaries are the geometric means of neighbours.
    let mut by_high: Vec<(f64, Expr)> = reference
        .methods
        .iter()
        .map(|m| (m.range.1, limit(m)))
        .chain([(current_high, current)])
        .collect();
    by_high.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in by_high.windows(2) {
        let boundary = (w[0].0 * w[1].0).sqrt();
        arms.push((c("ev_ref_high").lt(lit(boundary)), w[0].1.clone()));
    }
    let mut arms = arms.into_iter();
    let (cond, value) = arms.next()?;
    let mut case = when(cond, value);
    for (cond, value) in arms {
        case = case.when(cond, value);
    }
    let last = by_high.last().map(|x| x.1.clone())?;
    case.otherwise(last).ok()
}

/// A threshold compared within a lab row: a value, or a multiple of a limit that needs
/// neither the patient's sex nor a baseline (`threshold` adds no columns for these).
pub(super) fn row_local(t: &Threshold, lab: &cir::LabSpec) -> bool {
    match t {
        Threshold::Value(_) => true,
        Threshold::Times(Relative::Baseline, _) => false,
        Threshold::Times(_, _) => {
            let r = &lab.reference;
            !(r.male.is_some() && r.female.is_some() && r.male != r.female)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn lab_values_are_converted_into_the_item_unit() {
        insta::assert_snapshot!(plan(
            r#"import labs.{platelets}
cohort c { index = first lab platelets < 100 x10^3/uL }"#,
            "entries_c"
        ), @r##"
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Filter: index_day BETWEEN obs_start_day AND obs_end_day
                  Projection: entry.hospital_id AS hospital_id, entry.patient_id AS patient_id, CAST(entry.index_day AS Date32) AS index_date, entry.index_day AS index_day, patient.sex AS sex, patient.birth_date AS birth_date, CAST(patient.first_record_date AS Int32) AS obs_start_day, CAST(patient.last_record_date AS Int32) AS obs_end_day, CAST(patient.death_date AS Int32) AS death_day
                    Inner Join: entry.hospital_id = patient.hospital_id, entry.patient_id = patient.patient_id
                      SubqueryAlias: entry
                        Projection: lab_platelets.hospital_id, lab_platelets.patient_id, ev_day AS index_day
                          Aggregate: groupBy=[[lab_platelets.hospital_id, lab_platelets.patient_id]], aggr=[[min(lab_platelets.ev_day) AS ev_day]]
                            Filter: lab_platelets.ev_value < Float64(100)
                              SubqueryAlias: lab_platelets
                                Projection: lab.hospital_id, lab.patient_id, CAST(lab.date AS Int32) AS ev_day, CAST(lab.date AS Int32) AS ev_end_day, lab.value * CASE unit_key WHEN Utf8("/ul") THEN Float64(0.001) WHEN Utf8("/mm3") THEN Float64(0.001) WHEN Utf8("10^2/ul") THEN Float64(0.1) WHEN Utf8("10^3/ul") THEN Float64(1) WHEN Utf8("10^4/ul") THEN Float64(10) WHEN Utf8("10^6/ul") THEN Float64(1000) WHEN Utf8("10^9/l") THEN Float64(1) WHEN Utf8("10^12/l") THEN Float64(1000) ELSE Float64(NULL) END AS ev_value, lab.ref_low * CASE unit_key WHEN Utf8("/ul") THEN Float64(0.001) WHEN Utf8("/mm3") THEN Float64(0.001) WHEN Utf8("10^2/ul") THEN Float64(0.1) WHEN Utf8("10^3/ul") THEN Float64(1) WHEN Utf8("10^4/ul") THEN Float64(10) WHEN Utf8("10^6/ul") THEN Float64(1000) WHEN Utf8("10^9/l") THEN Float64(1) WHEN Utf8("10^12/l") THEN Float64(1000) ELSE Float64(NULL) END AS ev_ref_low, lab.ref_high * CASE unit_key WHEN Utf8("/ul") THEN Float64(0.001) WHEN Utf8("/mm3") THEN Float64(0.001) WHEN Utf8("10^2/ul") THEN Float64(0.1) WHEN Utf8("10^3/ul") THEN Float64(1) WHEN Utf8("10^4/ul") THEN Float64(10) WHEN Utf8("10^6/ul") THEN Float64(1000) WHEN Utf8("10^9/l") THEN Float64(1) WHEN Utf8("10^12/l") THEN Float64(1000) ELSE Float64(NULL) END AS ev_ref_high, Int64(NULL) AS ev_visit
                                  Projection: lab.hospital_id, lab.patient_id, lab.date, lab.value, lab.ref_low, lab.ref_high, coalesce(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(translate(lab.unit, Utf8("！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　"), Utf8("!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ "))), Utf8("㎎"), Utf8("mg")), Utf8("㎗"), Utf8("dl")), Utf8("㎖"), Utf8("ml")), Utf8("㎕"), Utf8("ul")), Utf8("㎍"), Utf8("ug")), Utf8("ℓ"), Utf8("l")), Utf8("μ"), Utf8("u")), Utf8("µ"), Utf8("u")), Utf8("×"), Utf8("")), Utf8("x10"), Utf8("10")), Utf8("10*"), Utf8("10^")), Utf8(" "), Utf8("")), Utf8("")) AS unit_key
                                    Filter: lab.analyte IN ([Utf8("2A050"), Utf8("2A990")]) AND (lab.analyte = Utf8("2A050") OR starts_with(lab.jlac10, Utf8("2A990")) AND ends_with(lab.jlac10, Utf8("55")) AND character_length(lab.jlac10) = Int64(17))
                                      TableScan: lab
                      SubqueryAlias: patient
                        TableScan: patient
        "##);
    }

    #[test]
    fn a_limit_by_sex_joins_the_patient() {
        insta::assert_snapshot!(plan(
            r#"import labs.{alt}
cohort c { index = first lab alt > 3 x ULN }"#,
            "entries_c"
        ), @r##"
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Filter: index_day BETWEEN obs_start_day AND obs_end_day
                  Projection: entry.hospital_id AS hospital_id, entry.patient_id AS patient_id, CAST(entry.index_day AS Date32) AS index_date, entry.index_day AS index_day, patient.sex AS sex, patient.birth_date AS birth_date, CAST(patient.first_record_date AS Int32) AS obs_start_day, CAST(patient.last_record_date AS Int32) AS obs_end_day, CAST(patient.death_date AS Int32) AS death_day
                    Inner Join: entry.hospital_id = patient.hospital_id, entry.patient_id = patient.patient_id
                      SubqueryAlias: entry
                        Projection: hospital_id, patient_id, ev_day AS index_day
                          Aggregate: groupBy=[[hospital_id, patient_id]], aggr=[[min(ev_day) AS ev_day]]
                            Projection: hospital_id, patient_id, ev_day, ev_end_day, ev_value, ev_ref_low, ev_ref_high, ev_visit
                              Filter: ev_value > Float64(3) * CASE WHEN ev_sex = Utf8("F") THEN Float64(23) WHEN ev_sex = Utf8("M") THEN Float64(42) ELSE Float64(42) END
                                Projection: rows_1.hospital_id AS hospital_id, rows_1.patient_id AS patient_id, rows_1.ev_day AS ev_day, rows_1.ev_end_day AS ev_end_day, rows_1.ev_value AS ev_value, rows_1.ev_ref_low AS ev_ref_low, rows_1.ev_ref_high AS ev_ref_high, rows_1.ev_visit AS ev_visit, sex_of.sex AS ev_sex
                                  Left Join: rows_1.hospital_id = sex_of.hospital_id, rows_1.patient_id = sex_of.patient_id
                                    SubqueryAlias: rows_1
                                      SubqueryAlias: lab_alt
                                        Projection: lab.hospital_id, lab.patient_id, CAST(lab.date AS Int32) AS ev_day, CAST(lab.date AS Int32) AS ev_end_day, lab.value * CASE unit_key WHEN Utf8("u/l") THEN Float64(1) WHEN Utf8("iu/l") THEN Float64(1) WHEN Utf8("u/ml") THEN Float64(1000) WHEN Utf8("ku/l") THEN Float64(1000) WHEN Utf8("iu/ml") THEN Float64(1000) WHEN Utf8("mu/ml") THEN Float64(1) WHEN Utf8("miu/ml") THEN Float64(1) WHEN Utf8("miu/l") THEN Float64(0.001) WHEN Utf8("uiu/ml") THEN Float64(0.001) WHEN Utf8("uu/ml") THEN Float64(0.001) WHEN Utf8("ukat/l") THEN Float64(60) ELSE Float64(NULL) END AS ev_value, lab.ref_low * CASE unit_key WHEN Utf8("u/l") THEN Float64(1) WHEN Utf8("iu/l") THEN Float64(1) WHEN Utf8("u/ml") THEN Float64(1000) WHEN Utf8("ku/l") THEN Float64(1000) WHEN Utf8("iu/ml") THEN Float64(1000) WHEN Utf8("mu/ml") THEN Float64(1) WHEN Utf8("miu/ml") THEN Float64(1) WHEN Utf8("miu/l") THEN Float64(0.001) WHEN Utf8("uiu/ml") THEN Float64(0.001) WHEN Utf8("uu/ml") THEN Float64(0.001) WHEN Utf8("ukat/l") THEN Float64(60) ELSE Float64(NULL) END AS ev_ref_low, lab.ref_high * CASE unit_key WHEN Utf8("u/l") THEN Float64(1) WHEN Utf8("iu/l") THEN Float64(1) WHEN Utf8("u/ml") THEN Float64(1000) WHEN Utf8("ku/l") THEN Float64(1000) WHEN Utf8("iu/ml") THEN Float64(1000) WHEN Utf8("mu/ml") THEN Float64(1) WHEN Utf8("miu/ml") THEN Float64(1) WHEN Utf8("miu/l") THEN Float64(0.001) WHEN Utf8("uiu/ml") THEN Float64(0.001) WHEN Utf8("uu/ml") THEN Float64(0.001) WHEN Utf8("ukat/l") THEN Float64(60) ELSE Float64(NULL) END AS ev_ref_high, Int64(NULL) AS ev_visit
                                          Projection: lab.hospital_id, lab.patient_id, lab.date, lab.value, lab.ref_low, lab.ref_high, coalesce(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(lower(translate(lab.unit, Utf8("！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　"), Utf8("!"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ "))), Utf8("㎎"), Utf8("mg")), Utf8("㎗"), Utf8("dl")), Utf8("㎖"), Utf8("ml")), Utf8("㎕"), Utf8("ul")), Utf8("㎍"), Utf8("ug")), Utf8("ℓ"), Utf8("l")), Utf8("μ"), Utf8("u")), Utf8("µ"), Utf8("u")), Utf8("×"), Utf8("")), Utf8("x10"), Utf8("10")), Utf8("10*"), Utf8("10^")), Utf8(" "), Utf8("")), Utf8("")) AS unit_key
                                            Filter: lab.analyte = Utf8("3B045") AND lab.specimen IN ([Utf8("019"), Utf8("020"), Utf8("022"), Utf8("023")])
                                              TableScan: lab
                                    SubqueryAlias: sex_of
                                      Projection: patient.hospital_id, patient.patient_id, patient.sex
                                        TableScan: patient
                      SubqueryAlias: patient
                        TableScan: patient
        "##);
    }
}

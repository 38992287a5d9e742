//! Conditions, dates and values (stage: CIR → plans): a yes/no column per condition over a
//! context, event dates joined in as columns, and the analyses of what a condition reads.

use arrow_schema::DataType;
use datafusion_common::JoinType;
use datafusion_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, lit, not};
use datafusion_functions::expr_fn::{date_part, greatest, least};
use datafusion_functions_aggregate::expr_fn::{count, count_distinct, min};

use super::expr::*;
use super::*;
use crate::cir::visit::{self, Visitor};
use crate::cir::{self, Calendar, Cmp, Cond, Count, Date, Events, Threshold, Value, Window};
use crate::units::Relative;

impl Gen {
    // ------------------------------------------------------------------ conditions and dates

    /// A yes/no column over the context (null where it cannot be decided).
    pub(super) fn cond(&mut self, cond: &Cond, ctx: Ctx) -> Result<(Ctx, Expr)> {
        match cond {
            Cond::Const(b) => Ok((ctx, lit(*b))),
            Cond::InCohort(name) => self.in_cohort(name, ctx),
            Cond::Not(x) => {
                let (ctx, e) = self.cond(x, ctx)?;
                Ok((ctx, not(e)))
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                let (ctx, x) = self.cond(a, ctx)?;
                let (ctx, y) = self.cond(b, ctx)?;
                Ok((
                    ctx,
                    if matches!(cond, Cond::And(..)) {
                        x.and(y)
                    } else {
                        x.or(y)
                    },
                ))
            }
            Cond::Observed {
                days,
                before,
                anchor,
            } => {
                let (ctx, a) = self.date(anchor, ctx)?;
                let d = *days as i32;
                Ok((
                    ctx,
                    if *before {
                        c("obs_start_day").lt_eq(a - lit(d))
                    } else {
                        c("obs_end_day").gt_eq(a + lit(d))
                    },
                ))
            }
            Cond::DateIn { date, window } => {
                if window.overlap {
                    return Err(internal("`overlapping` on a date"));
                }
                let (mut ctx, d) = self.date(date, ctx)?;
                let mut preds = Vec::new();
                for (b, lower) in [(&window.lo, true), (&window.hi, false)] {
                    if let Some(b) = b {
                        let (next, e) = self.date(b, ctx)?;
                        ctx = next;
                        preds.push(if lower {
                            d.clone().gt_eq(e)
                        } else {
                            d.clone().lt_eq(e)
                        });
                    }
                }
                if let Some(cal) = &window.calendar {
                    let (Calendar::SameMonth(x) | Calendar::SameYear(x) | Calendar::SameStay(x)) =
                        cal;
                    let (next, a) = self.date(x, ctx)?;
                    ctx = next;
                    let key = |x: Expr, month: bool| {
                        let y = cast(date_part(lit("year"), as_date(x.clone())), DataType::Int64);
                        if month {
                            y * lit(12_i64)
                                + cast(date_part(lit("month"), as_date(x)), DataType::Int64)
                        } else {
                            y
                        }
                    };
                    match cal {
                        Calendar::SameMonth(_) => preds.push(key(d.clone(), true).eq(key(a, true))),
                        Calendar::SameYear(_) => {
                            preds.push(key(d.clone(), false).eq(key(a, false)))
                        }
                        Calendar::SameStay(_) => {
                            return Err(internal("`same stay as` compares events, not dates"));
                        }
                    }
                }
                Ok((ctx, and_all(preds)))
            }
            Cond::Compare { lhs, op, rhs } => {
                let (ctx, l) = self.value(lhs, ctx)?;
                let (ctx, r) = self.value(rhs, ctx)?;
                Ok((ctx, cmp(l, *op, r)))
            }
            Cond::Exists { events, count } => self.exists(events, *count, ctx),
        }
    }

    /// Marks the context rows that have (at least / at most …) the events.
    pub(super) fn exists(
        &mut self,
        events: &Events,
        count_: Count,
        ctx: Ctx,
    ) -> Result<(Ctx, Expr)> {
        // Anchors of windows that are event dates become context columns first.
        let ctx = self.prepare_anchors(events, ctx)?;
        let rel = self.events(events, Some(&ctx))?;
        let rel = self.lift(rel, &ctx)?;
        let keys = ctx.keys.clone();
        let matched_alias = self.fresh("cond");
        let flag_name = matched_alias.clone();
        let counted = |unit: cir::CountUnit| -> Expr {
            match unit {
                cir::CountUnit::Days => count_distinct(c("ev_day")),
                cir::CountUnit::Visits => count_distinct(c("ev_visit")),
                cir::CountUnit::Records => count(lit(1)),
            }
        };
        let (matched, negate) = match count_ {
            Count::Any | Count::None => {
                let m = LogicalPlanBuilder::from(rel.plan)
                    .projected(keys.iter().map(|k| c(k)).collect::<Vec<_>>())?
                    .distinct()?
                    .build()?;
                (m, count_ == Count::None)
            }
            Count::AtLeast(n, u) | Count::Exactly(n, u) | Count::AtMost(n, u) => {
                let (threshold_op, negate): (Cmp, bool) = match count_ {
                    Count::AtLeast(..) => (Cmp::Ge, false),
                    Count::Exactly(..) => (Cmp::Eq, false),
                    Count::AtMost(..) | Count::Any | Count::None => (Cmp::Gt, true),
                };
                if matches!(count_, Count::Exactly(0, _)) {
                    let m = LogicalPlanBuilder::from(rel.plan)
                        .projected(keys.iter().map(|k| c(k)).collect::<Vec<_>>())?
                        .distinct()?
                        .build()?;
                    (m, true)
                } else {
                    let m = LogicalPlanBuilder::from(rel.plan)
                        .aggregated(
                            keys.iter().map(|k| c(k)).collect::<Vec<_>>(),
                            vec![counted(u).alias("n")],
                        )?
                        .filtered(cmp(c("n"), threshold_op, lit(i64::from(n))))?
                        .projected(keys.iter().map(|k| c(k)).collect::<Vec<_>>())?
                        .build()?;
                    (m, negate)
                }
            }
        };
        let matched = LogicalPlanBuilder::from(matched)
            .alias(&matched_alias)?
            .build()?;
        let keys_l = keys_of(&ctx.alias, &keys);
        let keys_r = keys_of(&matched_alias, &keys);
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .joined(matched, JoinType::LeftMark, (keys_l, keys_r), None)?
            .projected(Self::keep_all(
                &ctx.plan,
                &ctx.alias,
                vec![c("mark").alias(&flag_name)],
                &[],
            ))?
            .alias(&ctx.alias)?
            .build()?;
        let flag = if negate {
            not(c(&flag_name))
        } else {
            c(&flag_name)
        };
        Ok((Ctx { plan, ..ctx }, flag))
    }

    /// Marks the context rows whose patient is a member of a cohort computed earlier.
    fn in_cohort(&mut self, cohort: &str, ctx: Ctx) -> Result<(Ctx, Expr)> {
        let alias = self.fresh("member");
        let keys = ["hospital_id", "patient_id"];
        let members = self
            .scan(&format!("cohort_{cohort}"))?
            .projected(keys.iter().map(|k| c(k)).collect::<Vec<_>>())?
            .distinct()?
            .alias(&alias)?
            .build()?;
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .joined(
                members,
                JoinType::LeftMark,
                (keys_of(&ctx.alias, &keys), keys_of(&alias, &keys)),
                None,
            )?
            .projected(Self::keep_all(
                &ctx.plan,
                &ctx.alias,
                vec![c("mark").alias(&alias)],
                &[],
            ))?
            .alias(&ctx.alias)?
            .build()?;
        Ok((Ctx { plan, ..ctx }, c(&alias)))
    }

    /// Computes, as context columns, the event-date anchors the windows of `events` use.
    pub(super) fn prepare_anchors(&mut self, events: &Events, mut ctx: Ctx) -> Result<Ctx> {
        let mut dates = Vec::new();
        collect_window_dates(events, &mut dates);
        for d in dates {
            let (next, _) = self.date(&d, ctx)?;
            ctx = next;
        }
        Ok(ctx)
    }

    /// One aggregate of `ev`'s events per context row, joined in as the column `name` (found
    /// again by it when the context has it already): an event's date (`what` = `day`, also
    /// joined into the base, since windows of later events may be anchored on it), a lab
    /// value or a count. The subquery is `<what-prefix>_N` with the aggregate `the_<what>`.
    fn per_entry(
        &mut self,
        ev: &cir::Events,
        ctx: Ctx,
        name: String,
        (alias, what): (&str, &str),
        agg: Expr,
    ) -> Result<(Ctx, Expr)> {
        if ctx.has(&name) {
            return Ok((ctx, c(&name)));
        }
        let ctx = self.prepare_anchors(ev, ctx)?;
        let rel = self.events(ev, Some(&ctx))?;
        let rel = self.lift(rel, &ctx)?;
        let (ctx, mut cols) = self.per_entry_aggs(rel, ctx, (alias, what), vec![(name, agg)])?;
        Ok((ctx, cols.remove(0)))
    }

    /// A lab value per entry (`value of`, `max of`, `min of`, `grade of`) and, with
    /// `results`, in the same aggregation the number of results behind it (an export's
    /// codebook tells an empty value's reasons apart by it).
    pub(super) fn lab_column(
        &mut self,
        v: &Value,
        ctx: Ctx,
        results: bool,
    ) -> Result<(Ctx, Expr, Option<Expr>)> {
        use datafusion_functions_aggregate::expr_fn::{max, min};
        let (ev, prefix) = match v {
            Value::LabValue(ev) => (ev, "value"),
            Value::LabMax(ev) => (ev, "max"),
            Value::LabMin(ev) => (ev, "min"),
            Value::LabGrade { events, .. } => (events, "grade"),
            _ => return Err(internal("a lab column of a value that is none")),
        };
        let name = match v {
            Value::LabGrade { .. } => format!("grade_{}", key_ident(&cir::value(v))),
            _ => format!("{prefix}_{}", key_ident(&cir::events(ev))),
        };
        let count_name = format!("{name}_results");
        if ctx.has(&name) && (!results || ctx.has(&count_name)) {
            return Ok((ctx, c(&name), results.then(|| c(&count_name))));
        }
        let ctx = self.prepare_anchors(ev, ctx)?;
        let rel = self.events(ev, Some(&ctx))?;
        let rel = self.lift(rel, &ctx)?;
        let (rel, agg) = match v {
            // Several results on the picked day give their highest value (grade).
            Value::LabValue(_) | Value::LabMax(_) => (rel, max(c("ev_value"))),
            Value::LabMin(_) => (rel, min(c("ev_value"))),
            Value::LabGrade { rules, .. } => {
                // Each result's grade, unknown kept unknown.
                let spec = super::labs::lab_spec(ev).cloned();
                let (rel, grade) = self.grade_of(rel, rules, spec.as_ref(), Some(&ctx), true)?;
                (rel, max(grade))
            }
            _ => return Err(internal("a lab column of a value that is none")),
        };
        let mut aggs = vec![(name.clone(), agg)];
        if results {
            aggs.push((count_name.clone(), count(lit(1_i64))));
        }
        let (ctx, mut cols) = self.per_entry_aggs(rel, ctx, (prefix, "value"), aggs)?;
        let n = results
            .then(|| datafusion_functions::expr_fn::coalesce(vec![cols.remove(1), lit(0_i64)]));
        Ok((ctx, cols.remove(0), n))
    }

    /// Aggregates over rows already at the context's level, each joined in as its column; a
    /// date (`what` = `day`) into the base too, since windows of later events may be anchored
    /// on it. The first is `the_<what>` in the subquery, the others `the_<what>_2` ….
    fn per_entry_aggs(
        &mut self,
        rel: Rel,
        ctx: Ctx,
        (alias, what): (&str, &str),
        aggs: Vec<(String, Expr)>,
    ) -> Result<(Ctx, Vec<Expr>)> {
        let alias = self.fresh(alias);
        let inner = |i: usize| match i {
            0 => format!("the_{what}"),
            i => format!("the_{what}_{}", i + 1),
        };
        let per = LogicalPlanBuilder::from(rel.plan)
            .aggregated(
                ctx.keys.iter().map(|k| c(k)).collect::<Vec<_>>(),
                aggs.iter()
                    .enumerate()
                    .map(|(i, (_, a))| a.clone().alias(inner(i)))
                    .collect::<Vec<_>>(),
            )?
            .alias(&alias)?
            .build()?;
        let keys_l = keys_of(&ctx.alias, &ctx.keys);
        let keys_r = keys_of(&alias, &ctx.keys);
        let add = |on: &LogicalPlan, per: LogicalPlan| -> Result<LogicalPlan> {
            Ok(LogicalPlanBuilder::from(on.clone())
                .joined(per, JoinType::Left, (keys_l.clone(), keys_r.clone()), None)?
                .projected(Self::keep_all(
                    on,
                    &ctx.alias,
                    aggs.iter()
                        .enumerate()
                        .map(|(i, (n, _))| qc(&alias, &inner(i)).alias(n))
                        .collect(),
                    &[],
                ))?
                .alias(&ctx.alias)?
                .build()?)
        };
        let plan = add(&ctx.plan, per.clone())?;
        let base = if what == "day" {
            add(&ctx.base, per)?
        } else {
            ctx.base.clone()
        };
        let cols = aggs.iter().map(|(n, _)| c(n)).collect();
        Ok((Ctx { plan, base, ..ctx }, cols))
    }

    /// A day number per context row. Event dates are joined in as columns (`date_N`).
    pub(super) fn date(&mut self, d: &Date, ctx: Ctx) -> Result<(Ctx, Expr)> {
        match d {
            Date::Event(ev) => {
                let name = format!("date_{}", key_ident(&cir::events(ev)));
                self.per_entry(ev, ctx, name, ("date", "day"), min(c("ev_day")))
            }
            Date::Offset(inner, n) => {
                let (ctx, e) = self.date(inner, ctx)?;
                Ok((ctx, e + lit(*n as i32)))
            }
            Date::Earliest(ds) | Date::Latest(ds) => {
                let mut ctx = ctx;
                let mut es = Vec::new();
                for x in ds {
                    let (next, e) = self.date(x, ctx)?;
                    ctx = next;
                    es.push(e);
                }
                Ok((
                    ctx,
                    if matches!(d, Date::Earliest(_)) {
                        least(es)
                    } else {
                        greatest(es)
                    },
                ))
            }
            other => {
                let e = self.date_expr(other)?;
                Ok((ctx, e))
            }
        }
    }

    /// A date that is a column (or constant) of the context already.
    pub(super) fn date_expr(&mut self, d: &Date) -> Result<Expr> {
        Ok(match d {
            Date::Index => c("index_day"),
            Date::End => c("end_day"),
            Date::It => c("it_day"),
            Date::ItEnd => c("it_end_day"),
            Date::StartOfObservation => c("obs_start_day"),
            Date::EndOfObservation => c("obs_end_day"),
            Date::Death => c("death_day"),
            Date::EraStart(n) => c(&format!("{n}_start_day")),
            Date::EraEnd(n) => c(&format!("{n}_end_day")),
            Date::Literal(x) => lit(*x),
            Date::Offset(inner, n) => self.date_expr(inner)? + lit(*n as i32),
            Date::Event(ev) => c(&format!("date_{}", key_ident(&cir::events(ev)))),
            Date::Earliest(ds) => least(
                ds.iter()
                    .map(|x| self.date_expr(x))
                    .collect::<Result<_>>()?,
            ),
            Date::Latest(ds) => greatest(
                ds.iter()
                    .map(|x| self.date_expr(x))
                    .collect::<Result<_>>()?,
            ),
        })
    }

    pub(super) fn value(&mut self, v: &Value, ctx: Ctx) -> Result<(Ctx, Expr)> {
        Ok(match v {
            Value::Number(n) => (ctx, lit(*n)),
            Value::Text(t) => (ctx, lit(t.clone())),
            Value::Bool(b) => (ctx, lit(*b)),
            Value::Sex => (ctx, c("sex")),
            Value::Hospital => (ctx, c("hospital_id")),
            Value::LabValue(_) | Value::LabGrade { .. } | Value::LabMax(_) | Value::LabMin(_) => {
                let (ctx, value, _) = self.lab_column(v, ctx, false)?;
                (ctx, value)
            }
            Value::Count(ev) | Value::Records(ev) => {
                let (prefix, agg) = match v {
                    Value::Records(_) => (
                        "records",
                        datafusion_functions_aggregate::expr_fn::count(lit(1_i64)),
                    ),
                    _ => (
                        "count",
                        datafusion_functions_aggregate::expr_fn::count_distinct(c("ev_day")),
                    ),
                };
                let name = format!("{prefix}_{}", key_ident(&cir::events(ev)));
                let (ctx, e) = self.per_entry(ev, ctx, name, (prefix, "count"), agg)?;
                // No events: a count of 0 (the left join leaves it null).
                (
                    ctx,
                    datafusion_functions::expr_fn::coalesce(vec![e, lit(0_i64)]),
                )
            }
            Value::IndexDrug => {
                let entry = self
                    .entries
                    .get(&self.cohort)
                    .cloned()
                    .ok_or_else(|| internal(format!("no entry of {}", self.cohort)))?;
                // The entry's own events on the index day: the prescriptions that set it.
                let on_index = Events::Window {
                    input: Box::new(entry),
                    window: Window {
                        lo: Some(Date::Index),
                        hi: Some(Date::Index),
                        calendar: None,
                        overlap: false,
                    },
                };
                let names = datafusion_functions_aggregate::string_agg::string_agg_udaf()
                    .call(vec![c("ev_member"), lit(" + ")])
                    .distinct()
                    .order_by(vec![c("ev_member").sort(true, false)])
                    .build()?;
                self.members = true;
                let out = self.per_entry(
                    &on_index,
                    ctx,
                    "index_drug".into(),
                    ("index_drug", "drug"),
                    names,
                );
                self.members = false;
                out?
            }
            Value::Censoring => {
                let end = self
                    .ends
                    .get(&self.cohort)
                    .cloned()
                    .ok_or_else(|| internal(format!("no end of {}", self.cohort)))?;
                // The first term, in the order written, whose date is the end.
                fn terms(d: &Date, out: &mut Vec<Date>) {
                    match d {
                        Date::Earliest(ds) => ds.iter().for_each(|x| terms(x, out)),
                        other => out.push(other.clone()),
                    }
                }
                let mut all = Vec::new();
                terms(&end, &mut all);
                let mut ctx = ctx;
                let mut arms = Vec::new();
                for t in &all {
                    let (next, e) = self.date(t, ctx)?;
                    ctx = next;
                    arms.push((e.eq(c("end_day")), lit(cir::date(t))));
                }
                let none = lit(datafusion_common::ScalarValue::Utf8(None));
                (ctx, case_when(arms, none)?)
            }
            Value::Age(d) => {
                let (ctx, day_e) = self.date(d, ctx)?;
                let age = self.age(c("birth_date"), day_e);
                (ctx, cast(age, DataType::Float64))
            }
            Value::Date(d) => self.date(d, ctx)?,
            Value::DaysBetween(a, b) => {
                let (ctx, a) = self.date(a, ctx)?;
                let (ctx, b) = self.date(b, ctx)?;
                (ctx, cast(b - a, DataType::Int64))
            }
            Value::Cond(cnd) => self.cond(cnd, ctx)?,
            Value::Outcome(o) => {
                let ctx = self.join_outcome(ctx, o)?;
                (ctx, c(&format!("{o}_day")))
            }
        })
    }
}

/// How many times evaluating `cond` reads its context's rows: once per event test or event
/// date (not what those events read in turn).
pub(super) fn uses_of_context(cond: &Cond) -> usize {
    struct Uses(usize);
    impl Visitor for Uses {
        fn cond(&mut self, c: &Cond) {
            match c {
                Cond::Exists { .. } => self.0 += 1,
                _ => visit::walk_cond(self, c),
            }
        }
        fn date(&mut self, d: &Date) {
            match d {
                Date::Event(_) => self.0 += 1,
                _ => visit::walk_date(self, d),
            }
        }
        fn events(&mut self, _: &Events) {}
    }
    let mut u = Uses(0);
    u.cond(cond);
    u.0
}

/// The event dates the windows of `e` use as bounds (and calendar anchors), each once: they
/// are computed as context columns before the events are read. Conditions of a `having` have
/// their own context and are not looked into.
pub(super) fn collect_window_dates(e: &Events, out: &mut Vec<Date>) {
    struct Dates<'a>(&'a mut Vec<Date>);
    impl Visitor for Dates<'_> {
        fn cond(&mut self, _: &Cond) {}
        fn date(&mut self, d: &Date) {
            match d {
                Date::Event(_) => {
                    if !self.0.contains(d) {
                        self.0.push(d.clone());
                    }
                }
                _ => visit::walk_date(self, d),
            }
        }
    }
    Dates(out).events(e);
}

/// Whether a window's bounds refer to the context (index, end, it, eras, event dates), not
/// only to literal dates.
pub(super) fn window_uses_ctx(w: &Window) -> bool {
    struct Uses(bool);
    impl Visitor for Uses {
        fn date(&mut self, d: &Date) {
            match d {
                Date::Literal(_) => {}
                Date::Offset(..) | Date::Earliest(_) | Date::Latest(_) => visit::walk_date(self, d),
                Date::Index
                | Date::End
                | Date::It
                | Date::ItEnd
                | Date::StartOfObservation
                | Date::EndOfObservation
                | Date::Death
                | Date::EraStart(_)
                | Date::EraEnd(_)
                | Date::Event(_) => self.0 = true,
            }
        }
    }
    let mut u = Uses(false);
    visit::walk_window(&mut u, w);
    u.0
}

/// Whether a condition reads its context's own columns (index, end, eras, a baseline up to
/// index) rather than only the event it is about and the patient.
pub(super) fn needs_context(cond: &Cond) -> bool {
    struct Needs(bool);
    impl Visitor for Needs {
        fn date(&mut self, d: &Date) {
            match d {
                Date::Index | Date::End | Date::EraStart(_) | Date::EraEnd(_) => self.0 = true,
                _ => visit::walk_date(self, d),
            }
        }
        fn events(&mut self, e: &Events) {
            match e {
                Events::Value {
                    threshold: Threshold::Times(Relative::Baseline, _),
                    ..
                } => self.0 = true,
                Events::Grade { rules, .. }
                    if rules
                        .iter()
                        .any(|(_, _, t)| matches!(t, Threshold::Times(Relative::Baseline, _))) =>
                {
                    self.0 = true
                }
                _ => {}
            }
            visit::walk_events(self, e)
        }
    }
    let mut n = Needs(false);
    n.cond(cond);
    n.0
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn a_step_is_a_mark_join_over_its_window() {
        insta::assert_snapshot!(plan(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  require at least 2 drug x within 365 days before index
}"#,
            "steps_c"
        ), @r#"
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Projection: c.hospital_id AS hospital_id, c.patient_id AS patient_id, c.index_date AS index_date, c.index_day AS index_day, c.sex AS sex, c.birth_date AS birth_date, c.obs_start_day AS obs_start_day, c.obs_end_day AS obs_end_day, c.death_day AS death_day, c.end_day AS end_day, coalesce(steps.step_require_at_least_2_drug_x_within_365_days_before, Boolean(false)) AS step_require_at_least_2_drug_x_within_365_days_before
                  Left Join: c.hospital_id = steps.hospital_id, c.patient_id = steps.patient_id, c.index_day = steps.index_day
                    SubqueryAlias: c
                      TableScan: tmp_steps_c_entries
                    SubqueryAlias: steps
                      Aggregate: groupBy=[[tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.hospital_id, tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.patient_id, tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.index_day]], aggr=[[bool_or(tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.passed) FILTER (WHERE step = Utf8("step_require_at_least_2_drug_x_within_365_days_before")) AS step_require_at_least_2_drug_x_within_365_days_before]]
                        Projection: tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.hospital_id, tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.patient_id, tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.index_day, Utf8("step_require_at_least_2_drug_x_within_365_days_before") AS step, tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before.passed
                          TableScan: tmp_steps_c_step_require_at_least_2_drug_x_within_365_days_before
            "#);
    }
}

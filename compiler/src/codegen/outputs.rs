//! Outcomes, exports and reports (stage: CIR → plans): the first outcome event per entry,
//! patient-level export rows, and counts by strata (periods, testing history, age bands …).

use arrow_schema::DataType;
use datafusion_common::{JoinType, ScalarValue};
use datafusion_expr::expr::Sort;
use datafusion_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, lit, when};
use datafusion_functions::expr_fn::{coalesce, date_part, greatest, least};
use datafusion_functions_aggregate::expr_fn::{count, count_distinct, max, min};

use super::expr::*;
use super::names::*;
use super::*;
use crate::cir::{self, Value};

impl Gen {
    pub(super) fn outcome(&mut self, o: &cir::Outcome, cohort: &str) -> Result<LogicalPlan> {
        self.counter = 0;
        let ctx = self.cohort_ctx(cohort)?;
        let ctx = self.prepare_anchors(&o.events, ctx)?;
        let rel = self.events(&o.events, Some(&ctx))?;
        let rel = self.lift(rel, &ctx)?;
        // Follow-up ends at `end`: later events are not outcomes.
        let plan = LogicalPlanBuilder::from(rel.plan)
            .filtered(c("ev_day").lt_eq(c("end_day")))?
            .aggregated(
                ctx.keys.iter().map(|k| c(k)).collect::<Vec<_>>(),
                vec![min(c("ev_day")).alias("outcome_day")],
            )?
            .sort(
                ctx.keys
                    .iter()
                    .map(|k| c(k).sort(true, false))
                    .collect::<Vec<_>>(),
            )?
            .build()?;
        Ok(plan)
    }

    /// An export's rows; with `helpers`, also the results behind each lab value column
    /// (`<column>__results`), which the runtime counts empty values by and drops.
    pub(super) fn export(
        &mut self,
        e: &cir::Export,
        coh: &cir::Cohort,
        helpers: bool,
    ) -> Result<LogicalPlan> {
        self.counter = 0;
        self.cohort = e.cohort.clone();
        let mut ctx = self.cohort_ctx(&e.cohort)?;
        let mut cols = vec![
            c("hospital_id"),
            c("patient_id"),
            as_date(c("index_day")).alias("index_date"),
            as_date(c("end_day")).alias("end_date"),
        ];
        // Each column's value per entry (joined once), then, by period, the entry's rows.
        // A lab value with, from the same read, the number of results behind it: an empty
        // value with results behind it had none in a unit mid can convert.
        let mut values = Vec::new();
        for (name, v) in &e.columns {
            let lab = matches!(
                v,
                Value::LabValue(_) | Value::LabMax(_) | Value::LabMin(_) | Value::LabGrade { .. }
            );
            let (next, expr, results) = if helpers && lab {
                self.lab_column(v, ctx, true)?
            } else {
                let (next, expr) = self.value(v, ctx)?;
                (next, expr, None)
            };
            ctx = next;
            values.push((name, v, expr, results));
        }
        if e.by_period {
            ctx = self.periods_reached(ctx, coh)?;
            cols.push(c("period"));
            cols.push(as_date(c("period_start_day")).alias("period_start"));
            cols.push(as_date(least(vec![c("period_end_day"), c("end_day")])).alias("period_end"));
        }
        let start = c("period_start_day");
        let stop = least(vec![c("period_end_day"), c("end_day")]);
        for (name, v, expr, results) in values {
            let shown = match v {
                Value::Date(_) | Value::Outcome(_) => as_date(expr.clone()),
                Value::Number(_)
                | Value::Text(_)
                | Value::Bool(_)
                | Value::Age(_)
                | Value::Sex
                | Value::Hospital
                | Value::Censoring
                | Value::IndexDrug
                | Value::LabValue(_)
                | Value::LabGrade { .. }
                | Value::LabMax(_)
                | Value::LabMin(_)
                | Value::Records(_)
                | Value::DaysBetween(..)
                | Value::Count(_)
                | Value::Cond(_) => expr.clone(),
            };
            cols.push(shown.alias(name));
            if let Some(n) = results {
                cols.push(n.alias(results_helper(name)));
            }
            if e.by_period && matches!(v, Value::Outcome(_)) {
                // The person-time definition of reports, per period (docs/language.md).
                let t = person_time(expr, start.clone(), stop.clone())?;
                cols.push(datafusion_expr::not(t.before).alias(format!("{name}_at_risk")));
                cols.push(coalesce(vec![t.happens, lit(false)]).alias(format!("{name}_in_period")));
                cols.push(t.days.alias(format!("{name}_days_at_risk")));
            }
        }
        for (name, ev) in &e.tested {
            let (next, history, tested) = self.testing(ev, ctx, true)?;
            ctx = next;
            let tested = tested.ok_or_else(|| internal("tested in the period"))?;
            cols.push(coalesce(vec![tested, lit(false)]).alias(name));
            cols.push(history.alias(format!("{name}_before")));
        }
        // Sorted last, by the columns written: a sort below the projection only orders the
        // rows as far as the projection keeps its keys as they are (`index_day` becomes a
        // date), and an engine that parallelises the projection merges by what is left, so
        // a patient's periods came out in an order that depended on batch boundaries.
        let keys: Vec<Sort> = ctx
            .keys
            .iter()
            .map(|k| match k.as_str() {
                "index_day" => c("index_date"),
                _ => c(k),
            })
            .map(|k| k.sort(true, false))
            .collect();
        Ok(LogicalPlanBuilder::from(ctx.plan)
            .projected(cols)?
            .sort(keys)?
            .build()?)
    }

    /// Counts persons (and per outcome: persons with it and person-days) by strata.
    pub(super) fn report(
        &mut self,
        r: &cir::Report,
        p: &cir::Program,
    ) -> Result<(LogicalPlan, Vec<String>, Vec<String>)> {
        self.counter = 0;
        let by_period = r
            .strata
            .iter()
            .any(|s| matches!(s, cir::Stratum::Period | cir::Stratum::TestingHistory(_)));
        let mut parts = Vec::new();
        let mut strata_cols = Vec::new();
        let mut counts = Vec::new();
        for cname in &r.cohorts {
            let coh = p
                .cohort(cname)
                .ok_or_else(|| internal(format!("no cohort {cname}")))?;
            self.cohort = cname.clone();
            let mut ctx = self.cohort_ctx(cname)?;
            // Outcome days per entry, then (when by period) one row per entry and period.
            for o in &r.outcomes {
                if p.outcome_of(o, cname) {
                    ctx = self.join_outcome(ctx, o)?;
                }
            }
            // The stretch a row counts over: the whole follow-up, or one period of it.
            let mut start = c("index_day");
            let mut stop = c("end_day");
            if by_period {
                // At risk in a period only if follow-up reaches it.
                ctx = self.periods_reached(ctx, coh)?;
                start = c("period_start_day");
                stop = least(vec![c("period_end_day"), c("end_day")]);
            }
            // Strata and the person are projected under names of their own, so a stratum
            // that is a key column (`by hospital`) cannot collide with the person's columns.
            let mut pre = Vec::new();
            let mut names = Vec::new();
            for (i, s) in r.strata.iter().enumerate() {
                let (next, e) = self.stratum(s, ctx, cname)?;
                ctx = next;
                pre.push(e.alias(format!("stratum_{}", i + 1)));
                names.push(stratum_column(s));
            }
            pre.push(c("hospital_id").alias("person_hospital"));
            pre.push(c("patient_id").alias("person_patient"));
            for o in &r.outcomes {
                let od = c(&format!("{o}_day"));
                let in_cohort = p.outcome_of(o, cname);
                if in_cohort {
                    let t = person_time(od, start.clone(), stop.clone())?;
                    pre.push(
                        when(t.happens, lit(1_i64))
                            .otherwise(lit(0_i64))?
                            .alias(format!("{o}_event")),
                    );
                    pre.push(
                        when(t.before, lit(0_i64))
                            .otherwise(lit(1_i64))?
                            .alias(format!("{o}_risk")),
                    );
                    pre.push(t.days.alias(format!("{o}_days")));
                } else {
                    pre.push(lit(ScalarValue::Int64(None)).alias(format!("{o}_event")));
                    pre.push(lit(ScalarValue::Int64(None)).alias(format!("{o}_risk")));
                    pre.push(lit(ScalarValue::Int64(None)).alias(format!("{o}_days")));
                }
            }
            let plan = LogicalPlanBuilder::from(ctx.plan).projected(pre)?.build()?;
            parts.push(plan);
            strata_cols = names;
        }
        let mut union = LogicalPlanBuilder::from(parts.remove(0));
        for part in parts {
            union = union.union(part)?;
        }
        let person = datafusion_functions::expr_fn::concat(vec![
            c("person_hospital"),
            lit("/"),
            cast(c("person_patient"), DataType::Utf8),
        ]);
        let mut aggs = vec![count_distinct(person.clone()).alias("persons")];
        counts.push("persons".to_string());
        for o in &r.outcomes {
            let ev = c(&format!("{o}_event"));
            if by_period {
                aggs.push(
                    count(person.clone())
                        .distinct()
                        .filter(c(&format!("{o}_risk")).eq(lit(1_i64)))
                        .build()?
                        .alias(format!("{o}_at_risk")),
                );
                counts.push(format!("{o}_at_risk"));
            }
            aggs.push(
                count(person.clone())
                    .distinct()
                    .filter(ev.clone().eq(lit(1_i64)))
                    .build()?
                    .alias(format!("{o}_persons")),
            );
            aggs.push(max(ev.clone()).alias(format!("{o}_applies")));
            aggs.push(
                datafusion_functions_aggregate::expr_fn::sum(c(&format!("{o}_days")))
                    .alias(format!("{o}_person_days")),
            );
            counts.push(format!("{o}_persons"));
        }
        let stratum = |i: usize| c(&format!("stratum_{}", i + 1));
        let group: Vec<Expr> = (0..strata_cols.len()).map(stratum).collect();
        let sort: Vec<Sort> = strata_cols.iter().map(|s| c(s).sort(true, true)).collect();
        let mut b = union.aggregated(group, aggs)?;
        // Counts of an outcome defined in another cohort of the report do not apply: null.
        let mut cols: Vec<Expr> = strata_cols
            .iter()
            .enumerate()
            .map(|(i, s)| stratum(i).alias(s))
            .collect();
        cols.push(c("persons"));
        for o in &r.outcomes {
            let applies = c(&format!("{o}_applies")).is_not_null();
            let mut names = vec![format!("{o}_persons"), format!("{o}_person_days")];
            if by_period {
                names.insert(0, format!("{o}_at_risk"));
            }
            for n in names {
                cols.push(
                    when(applies.clone(), c(&n))
                        .otherwise(lit(ScalarValue::Int64(None)))?
                        .alias(&n),
                );
            }
        }
        b = b.projected(cols)?;
        if !sort.is_empty() {
            b = b.sort(sort)?;
        }
        let plan = b.build()?;
        Ok((plan, strata_cols, counts))
    }

    pub(super) fn join_outcome(&mut self, ctx: Ctx, outcome: &str) -> Result<Ctx> {
        let alias = self
            .outcome_plans
            .get(&(outcome.to_string(), self.cohort.clone()))
            .cloned()
            .ok_or_else(|| internal(format!("no plan of {outcome} in {}", self.cohort)))?;
        let right = self.scan(&alias)?.alias(&alias)?.build()?;
        let keys_l = keys_of(&ctx.alias, &ctx.keys);
        let keys_r = keys_of(&alias, &ctx.keys);
        let extra = vec![qc(&alias, "outcome_day").alias(format!("{outcome}_day"))];
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .joined(right, JoinType::Left, (keys_l, keys_r), None)?
            .projected(Self::keep_all(&ctx.plan, &ctx.alias, extra, &[]))?
            .alias(&ctx.alias)?
            .build()?;
        Ok(Ctx { plan, ..ctx })
    }

    /// One row per entry and follow-up period that follow-up reaches (`periods`, then only
    /// the periods starting on or before the end of follow-up).
    fn periods_reached(&mut self, ctx: Ctx, coh: &cir::Cohort) -> Result<Ctx> {
        let periods = coh.periods.as_ref().ok_or_else(|| internal("periods"))?;
        let ctx = self.periods(ctx, periods)?;
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .filtered(c("period_start_day").lt_eq(c("end_day")))?
            .alias(&ctx.alias)?
            .build()?;
        Ok(Ctx {
            plan: plan.clone(),
            base: plan,
            ..ctx
        })
    }

    /// One row per entry and follow-up period: `period`, `period_start_day`, `period_end_day`.
    pub(super) fn periods(&mut self, ctx: Ctx, p: &cir::Periods) -> Result<Ctx> {
        let (ctx, from) = self.date(&p.from, ctx)?;
        let mut rows = Vec::new();
        for k in 0..p.count {
            let s = k as i64 * p.length;
            // `until` is the last day of the periods: the last one is cut there.
            let e = (s + p.length).min(p.days) - 1;
            rows.push(vec![lit(k as i64 + 1), lit(s as i32), lit(e as i32)]);
        }
        let mut ctx = ctx;
        let mut last_until = None;
        if let Some(u) = &p.last_until {
            let (next, until) = self.date(u, ctx)?;
            ctx = next;
            rows.push(vec![
                lit(p.count as i64 + 1),
                lit(p.days as i32),
                null_i32(),
            ]);
            last_until = Some(until);
        }
        let values = LogicalPlanBuilder::values(rows)?
            .projected(vec![
                c("column1").alias("period"),
                c("column2").alias("start_offset"),
                c("column3").alias("end_offset"),
            ])?
            .alias("periods")?
            .build()?;
        let start = from.clone() + qc("periods", "start_offset");
        let end = match last_until {
            Some(u) => coalesce(vec![from + qc("periods", "end_offset"), u]),
            None => from + qc("periods", "end_offset"),
        };
        let extra = vec![
            qc("periods", "period").alias("period"),
            start.alias("period_start_day"),
            end.alias("period_end_day"),
        ];
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .cross_join(values)?
            .projected(Self::keep_all(&ctx.plan, &ctx.alias, extra, &[]))?
            .alias(&ctx.alias)?
            .build()?;
        let mut keys = ctx.keys.clone();
        keys.push("period".into());
        Ok(Ctx {
            plan: plan.clone(),
            base: plan,
            keys,
            alias: ctx.alias,
        })
    }

    pub(super) fn stratum(
        &mut self,
        s: &cir::Stratum,
        ctx: Ctx,
        cohort: &str,
    ) -> Result<(Ctx, Expr)> {
        Ok(match s {
            cir::Stratum::Sex => (ctx, c("sex")),
            cir::Stratum::Hospital => (ctx, c("hospital_id")),
            cir::Stratum::Cohort => (ctx, lit(cohort.to_string())),
            cir::Stratum::Year => (
                ctx,
                cast(
                    date_part(lit("year"), as_date(c("index_day"))),
                    DataType::Int64,
                ),
            ),
            cir::Stratum::Month => {
                let d = as_date(c("index_day"));
                (
                    ctx,
                    cast(date_part(lit("year"), d.clone()), DataType::Int64) * lit(100_i64)
                        + cast(date_part(lit("month"), d), DataType::Int64),
                )
            }
            cir::Stratum::Quarter => (ctx, quarter_of(as_date(c("index_day")))),
            cir::Stratum::FiscalYear => (ctx, fiscal_year_of(as_date(c("index_day")))?),
            cir::Stratum::AgeBand(w) => {
                // The band's lower bound; the runtime writes it as `60-69`.
                let age = self.age(c("birth_date"), c("index_day"));
                (ctx, (age / lit(*w)) * lit(*w))
            }
            cir::Stratum::Period => (ctx, c("period")),
            cir::Stratum::IndexDrug => self.value(&cir::Value::IndexDrug, ctx)?,
            cir::Stratum::Grade { value, .. } => self.value(value, ctx)?,
            cir::Stratum::Condition { cond: cnd, .. } => {
                let (next, flag) = self.cond(cnd, ctx)?;
                (
                    next,
                    when(coalesce(vec![flag, lit(false)]), lit("yes")).otherwise(lit("no"))?,
                )
            }
            cir::Stratum::TestingHistory(ev) => {
                let (ctx, history, _) = self.testing(ev, ctx, false)?;
                (ctx, history)
            }
        })
    }

    /// Whether `ev` falls in all, some or none of the earlier periods of each period of the
    /// context (one row per entry and period), and with `in_period` whether it falls in the
    /// period itself: (context, history, tested in the period).
    pub(super) fn testing(
        &mut self,
        ev: &cir::Events,
        ctx: Ctx,
        in_period: bool,
    ) -> Result<(Ctx, Expr, Option<Expr>)> {
        let alias = ctx.alias.clone();
        let rel = self.events(ev, None)?;
        let tested_alias = self.fresh("tested");
        let periods = LogicalPlanBuilder::from(ctx.plan.clone())
            .projected(vec![
                c("hospital_id"),
                c("patient_id"),
                c("index_day"),
                c("period"),
                c("period_start_day"),
                c("period_end_day"),
            ])?
            .alias("p")?
            .build()?;
        let tests = LogicalPlanBuilder::from(rel.plan).alias("t")?.build()?;
        let on = and_all(vec![
            qc("p", "hospital_id").eq(qc("t", "hospital_id")),
            qc("p", "patient_id").eq(qc("t", "patient_id")),
            qc("t", "ev_day").between(qc("p", "period_start_day"), qc("p", "period_end_day")),
        ]);
        let tested = LogicalPlanBuilder::from(periods)
            .join_on(tests, JoinType::LeftMark, vec![on])?
            .projected(vec![
                c("hospital_id"),
                c("patient_id"),
                c("index_day"),
                c("period"),
                c("mark").alias("tested"),
            ])?
            .build()?;
        // Earlier periods tested: sum over the preceding periods of the same entry.
        let before = window_agg(
            datafusion_functions_aggregate::sum::sum_udaf(),
            when(c("tested"), lit(1_i64)).otherwise(lit(0_i64))?,
        )
        .partition_by(vec![c("hospital_id"), c("patient_id"), c("index_day")])
        .order_by(vec![c("period").sort(true, false)])
        .window_frame(datafusion_expr::WindowFrame::new_bounds(
            datafusion_expr::WindowFrameUnits::Rows,
            datafusion_expr::WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
            datafusion_expr::WindowFrameBound::Preceding(ScalarValue::UInt64(Some(1))),
        ))
        .build()?
        .alias("tested_before");
        let mut cols = vec![
            c("hospital_id"),
            c("patient_id"),
            c("index_day"),
            c("period"),
            when(c("period").eq(lit(1_i64)), lit("first period"))
                .when(
                    coalesce(vec![c("tested_before"), lit(0_i64)]).eq(lit(0_i64)),
                    lit("none"),
                )
                .when(c("tested_before").eq(c("period") - lit(1_i64)), lit("all"))
                .otherwise(lit("some"))?
                .alias("history"),
        ];
        if in_period {
            cols.push(c("tested"));
        }
        let history = LogicalPlanBuilder::from(tested)
            .window(vec![before])?
            .projected(cols)?
            .alias(&tested_alias)?
            .build()?;
        let keys = ["hospital_id", "patient_id", "index_day", "period"];
        let keys_l = keys_of(&alias, &keys);
        let keys_r = keys_of(&tested_alias, &keys);
        let name = self.fresh("value");
        let mut extra = vec![qc(&tested_alias, "history").alias(&name)];
        let tested = in_period.then(|| self.fresh("tested"));
        if let Some(t) = &tested {
            extra.push(qc(&tested_alias, "tested").alias(t));
        }
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .joined(history, JoinType::Left, (keys_l, keys_r), None)?
            .projected(Self::keep_all(&ctx.plan, &alias, extra, &[]))?
            .alias(&alias)?
            .build()?;
        Ok((Ctx { plan, ..ctx }, c(&name), tested.map(|t| c(&t))))
    }

    /// Full years between a birth date (Date) and a day number: the difference of the years,
    /// less one before the birthday.
    pub(super) fn age(&self, birth: Expr, at_day: Expr) -> Expr {
        let (year, md) = date_parts(birth);
        age_from_parts(year, md, at_day)
    }
}

/// A date's parts: its year, and its month and day as one number that orders within a year
/// (`age_from_parts` takes a birth date's, worked out once per patient where a patient has
/// many rows to age).
pub(super) fn date_parts(d: Expr) -> (Expr, Expr) {
    let part = |p: &str, d: Expr| cast(date_part(lit(p.to_string()), d), DataType::Int64);
    (
        part("year", d.clone()),
        part("month", d.clone()) * lit(100_i64) + part("day", d),
    )
}

/// Age in whole years on `at_day` of a person born in `birth_year` on `birth_md`
/// (`date_parts`): the years between, one fewer before the birthday.
pub(super) fn age_from_parts(birth_year: Expr, birth_md: Expr, at_day: Expr) -> Expr {
    let (year, md) = date_parts(as_date(at_day));
    let before_birthday = when(md.lt(birth_md), lit(1_i64))
        .otherwise(lit(0_i64))
        .unwrap_or_else(|_| lit(0_i64));
    year - birth_year - before_birthday
}

/// The calendar quarter of a date as text that sorts in time and reads as written: `2019Q1`.
/// An outcome on day `od` against the stretch `start` … `stop` (the follow-up, or one
/// period of it), by the one person-time definition of reports and exports by period: time
/// at risk runs from the later of `start` and the day after index (an outcome's default
/// window, so the index day is in no one's person-time) to the earlier of `stop` and the
/// outcome, both included.
struct PersonTime {
    /// The outcome came before the stretch: not at risk in it.
    before: Expr,
    /// The outcome falls in the stretch's time at risk.
    happens: Expr,
    /// Days at risk in the stretch (0 when not at risk).
    days: Expr,
}

fn person_time(od: Expr, start: Expr, stop: Expr) -> Result<PersonTime> {
    let risk_start = greatest(vec![start.clone(), c("index_day") + lit(1_i32)]);
    let happens = od.clone().between(risk_start.clone(), stop.clone());
    let stop_o = least(vec![stop, od.clone()]);
    let days = cast(stop_o - risk_start + lit(1), DataType::Int64);
    let before = od.clone().is_not_null().and(od.lt(start));
    let days = when(before.clone(), lit(0_i64)).otherwise(greatest(vec![days, lit(0_i64)]))?;
    Ok(PersonTime {
        before,
        happens,
        days,
    })
}

pub(super) fn quarter_of(d: Expr) -> Expr {
    let q = quarter_in_year(d.clone());
    datafusion_functions::expr_fn::concat(vec![
        cast(
            cast(date_part(lit("year"), d), DataType::Int64),
            DataType::Utf8,
        ),
        lit("Q"),
        cast(q, DataType::Utf8),
    ])
}

/// A date's quarter within its calendar year, 1 to 4.
pub(super) fn quarter_in_year(d: Expr) -> Expr {
    (cast(date_part(lit("month"), d), DataType::Int64) + lit(2_i64)) / lit(3_i64)
}

/// The Japanese fiscal year (年度) of a date: April to March, named by the year it starts in.
pub(super) fn fiscal_year_of(d: Expr) -> Result<Expr> {
    let month = cast(date_part(lit("month"), d.clone()), DataType::Int64);
    Ok(cast(date_part(lit("year"), d), DataType::Int64)
        - when(month.lt(lit(4_i64)), lit(1_i64)).otherwise(lit(0_i64))?)
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn a_report_counts_persons_and_person_days() {
        insta::assert_snapshot!(plan(
            r#"import labs.{alt}
codes x: drug = yj "2432001"
cohort c { index = first drug x }
outcome liver in c = lab alt > 3 x ULN
report c with liver by sex"#,
            "report_c_with_liver"
        ), @r#"
        Sort: sex ASC NULLS FIRST
          Projection: stratum_1 AS sex, persons, CASE WHEN liver_applies IS NOT NULL THEN liver_persons ELSE Int64(NULL) END AS liver_persons, CASE WHEN liver_applies IS NOT NULL THEN liver_person_days ELSE Int64(NULL) END AS liver_person_days
            Aggregate: groupBy=[[stratum_1]], aggr=[[count(DISTINCT concat(person_hospital, Utf8("/"), CAST(person_patient AS Utf8))) AS persons, count(DISTINCT concat(person_hospital, Utf8("/"), CAST(person_patient AS Utf8))) FILTER (WHERE liver_event = Int64(1)) AS liver_persons, max(liver_event) AS liver_applies, sum(liver_days) AS liver_person_days]]
              Projection: c.sex AS stratum_1, c.hospital_id AS person_hospital, c.patient_id AS person_patient, CASE WHEN c.liver_day BETWEEN greatest(c.index_day, c.index_day + Int32(1)) AND c.end_day THEN Int64(1) ELSE Int64(0) END AS liver_event, CASE WHEN c.liver_day IS NOT NULL AND c.liver_day < c.index_day THEN Int64(0) ELSE Int64(1) END AS liver_risk, CASE WHEN c.liver_day IS NOT NULL AND c.liver_day < c.index_day THEN Int64(0) ELSE greatest(CAST(least(c.end_day, c.liver_day) - greatest(c.index_day, c.index_day + Int32(1)) + Int32(1) AS Int64), Int64(0)) END AS liver_days
                SubqueryAlias: c
                  Projection: c.hospital_id AS hospital_id, c.patient_id AS patient_id, c.index_date AS index_date, c.index_day AS index_day, c.sex AS sex, c.birth_date AS birth_date, c.obs_start_day AS obs_start_day, c.obs_end_day AS obs_end_day, c.death_day AS death_day, c.end_day AS end_day, outcome_liver.outcome_day AS liver_day
                    Left Join: c.hospital_id = outcome_liver.hospital_id, c.patient_id = outcome_liver.patient_id, c.index_day = outcome_liver.index_day
                      SubqueryAlias: c
                        TableScan: cohort_c
                      SubqueryAlias: outcome_liver
                        TableScan: outcome_liver
        "#);
    }
}

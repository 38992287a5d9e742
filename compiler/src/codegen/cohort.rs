//! Cohorts (stage: CIR → plans): entries inside observation with their eras, one yes/no
//! column per step, the end of follow-up, attrition and the cohort itself.

use arrow_schema::DataType;
use datafusion_common::{JoinType, ScalarValue};
use datafusion_expr::expr::Sort;
use datafusion_expr::{
    Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, lit, not, when,
};
use datafusion_functions::expr_fn::coalesce;
use datafusion_functions_aggregate::expr_fn::{count, count_distinct, max, min};

use super::expr::*;
use super::names::*;
use super::*;
use crate::cir::{self, Pick, Window};

/// The column of each step in `steps_<cohort>`: `step_` and a word made of its label
/// (`step_antithyroid_supply_in_the_180_days_before`), so that adding a step renames no
/// other; a label with no letters or digits is named by its hash, a repeated one numbered.
pub fn step_columns(coh: &cir::Cohort) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(coh.steps.len());
    for s in &coh.steps {
        // A quoted label says what the step is; otherwise its text does.
        let words = match (s.label.find('"'), s.label.rfind('"')) {
            (Some(a), Some(b)) if b > a => &s.label[a + 1..b],
            _ => s.label.as_str(),
        };
        let slug = slug(words, 48);
        let slug = if slug.is_empty() {
            short_hash(&s.label)
        } else {
            slug
        };
        let base = format!("step_{slug}");
        let mut name = base.clone();
        let mut n = 1;
        while out.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        out.push(name);
    }
    out
}

impl Gen {
    // ------------------------------------------------------------------ cohorts

    /// Entries: one row per patient and index day inside observation, with the patient's
    /// attributes and the exposure eras containing index.
    pub(super) fn cohort_entries(&mut self, coh: &cir::Cohort) -> Result<LogicalPlan> {
        self.counter = 0;
        self.in_entry = true;
        let entry = self.events(&coh.entry.events, None);
        self.in_entry = false;
        let entry = entry?;
        // One row per (patient, index day). The first or last day is a min or max per patient
        // (a hash aggregate; ranking the events by day needs a sort).
        let grouped = match coh.entry.pick {
            Pick::First | Pick::Last => {
                let pick = if coh.entry.pick == Pick::First {
                    min(c("ev_day"))
                } else {
                    max(c("ev_day"))
                };
                LogicalPlanBuilder::from(entry.plan).aggregated(
                    vec![c("hospital_id"), c("patient_id")],
                    vec![pick.alias("ev_day")],
                )?
            }
            Pick::Nth(_) | Pick::Every => {
                let picked = self.pick(entry, coh.entry.pick, None)?;
                LogicalPlanBuilder::from(picked.plan).aggregated(
                    vec![c("hospital_id"), c("patient_id"), c("ev_day")],
                    Vec::<Expr>::new(),
                )?
            }
        };
        let entries = grouped
            .projected(vec![
                c("hospital_id"),
                c("patient_id"),
                c("ev_day").alias("index_day"),
            ])?
            .alias("entry")?
            .build()?;
        let patient = self.scan_patient()?.alias("patient")?.build()?;
        let base = LogicalPlanBuilder::from(entries)
            .joined(
                patient,
                JoinType::Inner,
                (keys_of("entry", &PERSON), keys_of("patient", &PERSON)),
                None,
            )?
            .projected(vec![
                qc("entry", "hospital_id").alias("hospital_id"),
                qc("entry", "patient_id").alias("patient_id"),
                as_date(qc("entry", "index_day")).alias("index_date"),
                qc("entry", "index_day").alias("index_day"),
                qc("patient", "sex").alias("sex"),
                qc("patient", "birth_date").alias("birth_date"),
                day(qc("patient", "first_record_date")).alias("obs_start_day"),
                day(qc("patient", "last_record_date")).alias("obs_end_day"),
                day(qc("patient", "death_date")).alias("death_day"),
            ])?
            // Index must fall where the CIR says (inside what this hospital observed).
            .filtered(self.index_within(&coh.entry.index_within)?)?
            .alias(&coh.name)?
            .build()?;
        let ctx = Ctx {
            plan: base.clone(),
            base,
            keys: cohort_keys(),
            alias: coh.name.clone(),
        };
        // The eras are part of the entries: their prescriptions are read with the entry
        // events' (the shared read of the entries), not each from the table.
        self.in_entry = true;
        let with_eras = coh.eras.iter().try_fold(ctx, |ctx, era| self.era(ctx, era));
        self.in_entry = false;
        let ctx = with_eras?;
        let keys: Vec<Sort> = ctx.keys.iter().map(|k| c(k).sort(true, false)).collect();
        Ok(LogicalPlanBuilder::from(ctx.plan).sort(keys)?.build()?)
    }

    /// The entries with a yes/no column per step (`step_<label>`, `step_columns`) and the end
    /// of follow-up.
    pub(super) fn cohort_steps(&mut self, coh: &cir::Cohort) -> Result<LogicalPlan> {
        self.counter = 0;
        let base = self
            .scan(&format!("entries_{}", coh.name))?
            .alias(&coh.name)?
            .build()?;
        let mut ctx = Ctx {
            plan: base.clone(),
            base,
            keys: cohort_keys(),
            alias: coh.name.clone(),
        };
        // End of follow-up, as the CIR has it: the earliest of what the script says, the end
        // of observation and death. It comes first: a step may be about `end`.
        let (next, end) = self.date(&coh.end, ctx)?;
        ctx = next;
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .projected(Self::keep_all(
                &ctx.plan,
                &ctx.alias,
                vec![end.alias("end_day")],
                &[],
            ))?
            .build()?;
        ctx = Ctx { plan, ..ctx };
        ctx = self.trim(ctx, &coh.name)?;
        // The entries with their end of follow-up, computed once for every step: each step
        // joins its events to them (a step may be about `end`).
        if !coh.steps.is_empty() {
            let entries = self.intermediate("entries", ctx.plan.clone())?;
            let entries = LogicalPlanBuilder::from(entries)
                .alias(&coh.name)?
                .build()?;
            ctx = Ctx {
                plan: entries.clone(),
                base: entries,
                ..ctx
            };
        }
        // Each step is decided on its own, from the entries, as an intermediate plan named
        // after its label; the steps plan gathers their flags from one union. Adding a step
        // adds its own plan and a line or two here, and leaves the other steps' plans as
        // they were (names inside a step's plan restart with it).
        let plan_name = format!("steps_{}", coh.name);
        let names = step_columns(coh);
        let mut parts = Vec::with_capacity(coh.steps.len());
        for (step, name) in coh.steps.iter().zip(&names) {
            self.current = format!("{plan_name}_{name}");
            self.counter = 0;
            let (next, flag) = self.cond(&step.cond, ctx.clone())?;
            let flag = if step.exclude { not(flag) } else { flag };
            // `passed` is true or null (never false): nullable alike in the plan and in the
            // table the engine keeps, which a `coalesce` would not be.
            let keys = || ctx.keys.iter().map(|k| c(k));
            let plan = LogicalPlanBuilder::from(next.plan)
                .projected(keys().chain([when(flag, lit(true)).end()?.alias("passed")]))?
                .build()?;
            self.current = plan_name.clone();
            let table = self.intermediate(name, plan)?;
            parts.push(
                LogicalPlanBuilder::from(table)
                    .projected(keys().chain([lit(name.as_str()).alias("step"), c("passed")]))?
                    .build()?,
            );
        }
        self.current = plan_name;
        let mut plan = ctx.plan.clone();
        if !parts.is_empty() {
            // One union of every step (flattened with the program's plans, `flatten_unions`),
            // so each step is one branch of it.
            let mut union = LogicalPlanBuilder::from(parts.remove(0));
            for p in parts {
                union = union.union(p)?;
            }
            let flags: Vec<Expr> = names
                .iter()
                .map(|n| {
                    Ok(
                        datafusion_functions_aggregate::expr_fn::bool_or(c("passed"))
                            .filter(c("step").eq(lit(n.as_str())))
                            .build()?
                            .alias(n),
                    )
                })
                .collect::<Result<_>>()?;
            let steps = union
                .aggregated(ctx.keys.iter().map(|k| c(k)).collect::<Vec<_>>(), flags)?
                .alias("steps")?
                .build()?;
            let mut cols: Vec<Expr> = ctx
                .plan
                .schema()
                .fields()
                .iter()
                .map(|f| qc(&ctx.alias, f.name()).alias(f.name()))
                .collect();
            // A step that cannot be decided (missing data) does not admit the entry.
            cols.extend(names.iter().map(|n| match coh.undecided {
                cir::Undecided::NotAdmitted => coalesce(vec![qc("steps", n), lit(false)]).alias(n),
            }));
            plan = LogicalPlanBuilder::from(plan)
                .joined(
                    steps,
                    JoinType::Left,
                    (keys_of(&ctx.alias, &ctx.keys), keys_of("steps", &ctx.keys)),
                    None,
                )?
                .projected(cols)?
                .alias(&coh.name)?
                .build()?;
        }
        let keys: Vec<Sort> = ctx.keys.iter().map(|k| c(k).sort(true, false)).collect();
        Ok(LogicalPlanBuilder::from(plan).sort(keys)?.build()?)
    }

    /// The test that an entry's index lies in the window the CIR gives (observation).
    fn index_within(&mut self, w: &Window) -> Result<Expr> {
        if w.calendar.is_some() {
            return Err(internal("an index window with a calendar"));
        }
        Ok(match (&w.lo, &w.hi) {
            (Some(lo), Some(hi)) => {
                c("index_day").between(self.date_expr(lo)?, self.date_expr(hi)?)
            }
            (Some(lo), None) => c("index_day").gt_eq(self.date_expr(lo)?),
            (None, Some(hi)) => c("index_day").lt_eq(self.date_expr(hi)?),
            (None, None) => lit(true),
        })
    }

    /// Drops the helper columns conditions added, keeping the cohort's own columns: those of
    /// the entries, the step flags and the end of follow-up.
    pub(super) fn trim(&mut self, ctx: Ctx, alias: &str) -> Result<Ctx> {
        let own = |name: &str| {
            ctx.base
                .schema()
                .fields()
                .iter()
                .any(|f| f.name() == name && !f.name().starts_with("date_"))
                || name == "end_day"
        };
        let keep: Vec<Expr> = ctx
            .plan
            .schema()
            .fields()
            .iter()
            .filter(|f| own(f.name()))
            .map(|f| c(f.name()))
            .collect();
        let plan = LogicalPlanBuilder::from(ctx.plan)
            .projected(keep)?
            .alias(alias)?
            .build()?;
        Ok(Ctx {
            plan,
            base: ctx.base,
            keys: ctx.keys,
            alias: alias.to_string(),
        })
    }

    /// One row: persons and entries before the steps and after each.
    pub(super) fn attrition(&mut self, coh: &cir::Cohort) -> Result<LogicalPlan> {
        self.counter = 0;
        let person = datafusion_functions::expr_fn::concat(vec![
            c("hospital_id"),
            lit("/"),
            cast(c("patient_id"), DataType::Utf8),
        ]);
        let mut aggs = vec![
            count_distinct(person.clone()).alias("persons_0"),
            count(lit(1)).alias("entries_0"),
        ];
        let mut passed = Vec::new();
        for (i, name) in step_columns(coh).iter().enumerate() {
            let i = i + 1;
            passed.push(c(name));
            let all = and_all(passed.clone());
            // `distinct()` on the builder: `count_distinct(..).filtered(..).build()` drops
            // the DISTINCT and would count entries as persons.
            aggs.push(
                count(person.clone())
                    .distinct()
                    .filter(all.clone())
                    .build()?
                    .alias(format!("persons_{i}")),
            );
            aggs.push(
                count(lit(1))
                    .filter(all)
                    .build()?
                    .alias(format!("entries_{i}")),
            );
        }
        Ok(self
            .scan(&format!("steps_{}", coh.name))?
            .aggregated(Vec::<Expr>::new(), aggs)?
            .build()?)
    }

    /// The cohort: entries that pass every step.
    pub(super) fn members(&mut self, coh: &cir::Cohort) -> Result<LogicalPlan> {
        let steps = step_columns(coh);
        let all = and_all(steps.iter().map(|n| c(n)).collect());
        let table = format!("steps_{}", coh.name);
        let schema = self.tables[&table].clone();
        let keep: Vec<Expr> = schema
            .fields()
            .iter()
            .filter(|f| !steps.contains(f.name()))
            .map(|f| c(f.name()))
            .collect();
        Ok(self.scan(&table)?.filtered(all)?.projected(keep)?.build()?)
    }

    /// Adds `<era>_start_day` / `<era>_end_day`: the exposure era containing index.
    pub(super) fn era(&mut self, ctx: Ctx, era: &cir::Era) -> Result<Ctx> {
        let rows = self.events(&era.events, None)?;
        // Over each patient's prescriptions in day order, from the first row to `upto`.
        let running = |udaf, arg, upto| {
            window_agg(udaf, arg)
                .partition_by(vec![c("hospital_id"), c("patient_id")])
                .order_by(vec![
                    c("ev_day").sort(true, false),
                    c("ev_end_day").sort(true, false),
                ])
                .window_frame(datafusion_expr::WindowFrame::new_bounds(
                    datafusion_expr::WindowFrameUnits::Rows,
                    datafusion_expr::WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
                    upto,
                ))
                .build()
        };
        let w_prev = running(
            datafusion_functions_aggregate::min_max::max_udaf(),
            c("ev_end_day"),
            datafusion_expr::WindowFrameBound::Preceding(ScalarValue::UInt64(Some(1))),
        )?
        .alias("prev_end_day");
        let new_era = when(c("prev_end_day").is_null(), lit(1_i64))
            .when(
                c("ev_day").gt(c("prev_end_day") + lit(era.gap as i32 + 1)),
                lit(1_i64),
            )
            .otherwise(lit(0_i64))?;
        let era_no = running(
            datafusion_functions_aggregate::sum::sum_udaf(),
            c("new_era"),
            datafusion_expr::WindowFrameBound::CurrentRow,
        )?
        .alias("era_no");
        let eras_alias = format!("era_{}", ident(&era.name));
        let eras = LogicalPlanBuilder::from(rows.plan)
            .window(vec![w_prev])?
            .projected(vec![
                c("hospital_id"),
                c("patient_id"),
                c("ev_day"),
                c("ev_end_day"),
                new_era.alias("new_era"),
            ])?
            .window(vec![era_no])?
            .aggregated(
                vec![c("hospital_id"), c("patient_id"), c("era_no")],
                vec![
                    min(c("ev_day")).alias("era_start_day"),
                    (max(c("ev_end_day")) + lit(era.grace as i32)).alias("era_end_day"),
                ],
            )?
            .build()?;
        // Computed once for every cohort whose era is the same (the same prescriptions, gap
        // and grace): each cohort of one drug class and its variants.
        let eras = self.intermediate(&eras_alias, eras)?;
        let eras = LogicalPlanBuilder::from(eras).alias(&eras_alias)?.build()?;
        let start = format!("{}_start_day", era.name);
        let end = format!("{}_end_day", era.name);
        let on = and_all(vec![
            qc(&ctx.alias, "hospital_id").eq(qc(&eras_alias, "hospital_id")),
            qc(&ctx.alias, "patient_id").eq(qc(&eras_alias, "patient_id")),
            qc(&eras_alias, "era_start_day").lt_eq(qc(&ctx.alias, "index_day")),
            qc(&eras_alias, "era_end_day").gt_eq(qc(&ctx.alias, "index_day")),
        ]);
        let mut group: Vec<Expr> = ctx
            .plan
            .schema()
            .fields()
            .iter()
            .map(|f| qc(&ctx.alias, f.name()))
            .collect();
        group.truncate(ctx.plan.schema().fields().len());
        let plan = LogicalPlanBuilder::from(ctx.plan.clone())
            .join_on(eras, JoinType::Left, vec![on])?
            // Overlapping eras (grace longer than gap) both contain index: take the latest.
            .aggregated(
                group,
                vec![
                    max(qc(&eras_alias, "era_start_day")).alias(&start),
                    max(qc(&eras_alias, "era_end_day")).alias(&end),
                ],
            )?
            .build()?;
        let plan = LogicalPlanBuilder::from(plan).alias(&ctx.alias)?.build()?;
        Ok(Ctx {
            plan: plan.clone(),
            base: plan,
            keys: ctx.keys,
            alias: ctx.alias,
        })
    }

    // ------------------------------------------------------------------ outcomes, exports, reports

    pub(super) fn cohort_ctx(&self, coh: &str) -> Result<Ctx> {
        let plan = self.scan(&format!("cohort_{coh}"))?.alias(coh)?.build()?;
        Ok(Ctx {
            plan: plan.clone(),
            base: plan,
            keys: cohort_keys(),
            alias: coh.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::plan;

    #[test]
    fn entries_lie_inside_observation_and_end_is_capped() {
        insta::assert_snapshot!(plan(
            r#"codes x: drug = yj "2432001"
cohort c {
  index = first drug x
  end = index + 30 days
}"#,
            "steps_c"
        ), @"
        Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
          SubqueryAlias: c
            Projection: hospital_id, patient_id, index_date, index_day, sex, birth_date, obs_start_day, obs_end_day, death_day, end_day
              Projection: c.hospital_id AS hospital_id, c.patient_id AS patient_id, c.index_date AS index_date, c.index_day AS index_day, c.sex AS sex, c.birth_date AS birth_date, c.obs_start_day AS obs_start_day, c.obs_end_day AS obs_end_day, c.death_day AS death_day, least(c.index_day + Int32(30), c.obs_end_day, c.death_day) AS end_day
                SubqueryAlias: c
                  TableScan: entries_c
        ");
    }
}

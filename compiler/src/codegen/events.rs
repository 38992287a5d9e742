//! Event streams (stage: CIR → plans): CDM sources with their code and column tests,
//! unions, windows, `having`, and choosing one event day per patient or context row.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use datafusion_common::{JoinType, ScalarValue};
use datafusion_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, lit};
use datafusion_functions::expr_fn::{coalesce, date_part};
use datafusion_functions_window::expr_fn::dense_rank;

use super::conditions::*;
use super::expr::*;
use super::labs::*;
use super::names::*;
use super::*;
use crate::cdm::Table;
use crate::cir::{self, Calendar, Cmp, Cond, Events, Pick, Window};
use crate::types::EventDomain;

impl Gen {
    // ------------------------------------------------------------------ events

    /// The rows of an event stream; per context row when it depends on the context.
    pub(super) fn events(&mut self, ev: &Events, ctx: Option<&Ctx>) -> Result<Rel> {
        match ev {
            Events::Source(s) => Ok(Rel {
                plan: self.source(s)?,
                ctx_level: false,
            }),
            Events::Union(es) => {
                if es.is_empty() {
                    return Ok(Rel {
                        plan: self.empty_events()?,
                        ctx_level: false,
                    });
                }
                if let Some(plan) = self.lab_union(es)? {
                    return Ok(Rel {
                        plan,
                        ctx_level: false,
                    });
                }
                // Plain sources of one table are one scan: each row once (a row two code sets
                // match is one record, not two), and one pass over the table.
                let mut rels: Vec<Rel> = Vec::new();
                for m in by_table(es) {
                    rels.push(match m {
                        Member::Other(e) => self.events(e, ctx)?,
                        Member::Table(srcs) if srcs.len() == 1 => Rel {
                            plan: self.source(srcs[0])?,
                            ctx_level: false,
                        },
                        Member::Table(srcs) => Rel {
                            plan: self.merged_sources(&srcs)?,
                            ctx_level: false,
                        },
                    });
                }
                let any_ctx = rels.iter().any(|r| r.ctx_level);
                let mut plans = Vec::new();
                for r in rels {
                    let r = match (any_ctx, ctx) {
                        (true, Some(cx)) => self.lift(r, cx)?,
                        _ => r,
                    };
                    plans.push(r.plan);
                }
                // Same columns in the same order on every side.
                let order: Vec<String> = plans[0]
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                let mut b = LogicalPlanBuilder::from(plans.remove(0));
                for p in plans {
                    let p = LogicalPlanBuilder::from(p)
                        .projected(order.iter().map(|n| c(n)).collect::<Vec<_>>())?
                        .build()?;
                    b = b.union(p)?;
                }
                Ok(Rel {
                    plan: b.build()?,
                    ctx_level: any_ctx,
                })
            }
            Events::Value {
                input,
                op,
                threshold,
            } => {
                let rel = self.events(input, ctx)?;
                let spec = lab_spec(input).cloned();
                let before = column_names(&rel.plan);
                let (rel, t) = self.threshold(rel, threshold, spec.as_ref(), ctx)?;
                let plan = LogicalPlanBuilder::from(rel.plan)
                    .filtered(cmp(c("ev_value"), *op, t))?
                    .build()?;
                self.drop_helpers(Rel { plan, ..rel }, &before)
            }
            Events::Grade {
                input,
                rules,
                op,
                grade,
                ..
            } => {
                let rel = self.events(input, ctx)?;
                let before = column_names(&rel.plan);
                let spec = lab_spec(input).cloned();
                // Grade 0 passes `< 1` or `= 0`: there an unknown grade must not read as 0.
                let zero_passes = match op {
                    Cmp::Lt => 0.0 < *grade,
                    Cmp::Le => 0.0 <= *grade,
                    Cmp::Eq => *grade == 0.0,
                    Cmp::Ne => *grade != 0.0,
                    Cmp::Gt => 0.0 > *grade,
                    Cmp::Ge => 0.0 >= *grade,
                };
                let (rel, grade_expr) =
                    self.grade_of(rel, rules, spec.as_ref(), ctx, zero_passes)?;
                let plan = LogicalPlanBuilder::from(rel.plan)
                    .filtered(cmp(grade_expr, *op, lit(*grade as i64)))?
                    .build()?;
                self.drop_helpers(Rel { plan, ..rel }, &before)
            }
            Events::Window { input, window } => {
                let rel = self.events(input, ctx)?;
                self.window(rel, window, ctx)
            }
            Events::Having { input, cond } => {
                let rel = self.events(input, ctx)?;
                self.having(rel, cond, ctx, stays(input))
            }
            Events::Pick { input, pick } => {
                let rel = self.events(input, ctx)?;
                self.pick(rel, *pick, ctx)
            }
        }
    }

    /// Each lab row's grade by a grading's rules (the highest whose rule holds, 0 when none).
    /// With `known`, a grade that cannot be told is null, not 0: no value in the item's unit,
    /// or a limit (a reference limit, a baseline) missing before a rule that holds.
    pub(super) fn grade_of(
        &mut self,
        mut rel: Rel,
        rules: &[(u8, Cmp, cir::Threshold)],
        spec: Option<&cir::LabSpec>,
        ctx: Option<&Ctx>,
        known: bool,
    ) -> Result<(Rel, Expr)> {
        let none = || lit(ScalarValue::Int64(None));
        let mut cases: Vec<(Expr, Expr)> = Vec::new();
        if known {
            cases.push((c("ev_value").is_null(), none()));
        }
        for (g, rop, t) in rules.iter().rev() {
            let (next, te) = self.threshold(rel, t, spec, ctx)?;
            rel = next;
            if known && !matches!(t, cir::Threshold::Value(_)) {
                cases.push((te.clone().is_null(), none()));
            }
            cases.push((cmp(c("ev_value"), *rop, te), lit(i64::from(*g))));
        }
        Ok((rel, case_when(cases, lit(0_i64))?))
    }

    pub(super) fn empty_events(&self) -> Result<LogicalPlan> {
        let mut fields = vec![
            Field::new("hospital_id", DataType::Utf8View, false),
            Field::new("patient_id", DataType::Int64, false),
            Field::new("ev_day", DataType::Int32, true),
            Field::new("ev_end_day", DataType::Int32, true),
            Field::new("ev_value", DataType::Float64, true),
            Field::new("ev_ref_low", DataType::Float64, true),
            Field::new("ev_ref_high", DataType::Float64, true),
            Field::new("ev_visit", DataType::Int64, true),
        ];
        if self.members {
            fields.push(Field::new(MEMBER, DataType::Utf8, true));
        }
        let schema = Arc::new(Schema::new(fields));
        Ok(LogicalPlanBuilder::empty(false)
            .projected(
                schema
                    .fields()
                    .iter()
                    .map(|f| cast(lit(ScalarValue::Null), f.data_type().clone()).alias(f.name()))
                    .collect::<Vec<_>>(),
            )?
            .build()?)
    }

    /// `ev_member` when `index_drug` asks for it: the first named code set of the sources
    /// (a class's members, in the order written) that a drug row's codes belong to.
    fn member_column(&self, srcs: &[&cir::Source]) -> Result<Option<Expr>> {
        if !self.members {
            return Ok(None);
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut arms = Vec::new();
        for (name, codes) in srcs.iter().flat_map(|s| &s.members) {
            if !seen.contains(&name.as_str()) {
                seen.push(name);
                arms.push((codes_pred(codes), lit(name.clone())));
            }
        }
        let e = case_when(arms, lit(ScalarValue::Utf8(None)))?;
        Ok(Some(e.alias(MEMBER)))
    }

    /// Rows of one table matching codes and filters, projected to the event columns.
    pub(super) fn source(&mut self, s: &cir::Source) -> Result<LogicalPlan> {
        // The same rows asked for again (each of thirty cohorts' outcome, the same lab item
        // in a step and an outcome) are the plan already built, and note the same scans.
        let shared = self.shared_read(s.domain.table());
        let key = format!(
            "{} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?}",
            self.in_entry,
            s.domain,
            s.codes,
            s.filters,
            s.visit_kind,
            s.lab,
            s.members,
            self.members,
            shared,
        ) + &s.text;
        if let Some((plan, notes)) = self.sources.get(&key) {
            let (plan, notes) = (plan.clone(), notes.clone());
            for note in notes {
                self.note_scan(note);
            }
            return Ok(plan);
        }
        let outer = self.noting.replace(Vec::new());
        let plan = self.source_rows(s);
        let notes = std::mem::replace(&mut self.noting, outer).unwrap_or_default();
        if let Some(outer) = &mut self.noting {
            outer.extend(notes.iter().cloned());
        }
        let plan = plan?;
        self.sources.insert(key, (plan.clone(), notes));
        Ok(plan)
    }

    fn source_rows(&mut self, s: &cir::Source) -> Result<LogicalPlan> {
        let table = s.domain.table();
        let alias = ident(&format!("{} {}", s.domain.name(), s.text));
        let preds = source_preds(s);
        if let Some(lab) = &s.lab {
            return self.lab_source(lab, preds, &alias);
        }
        let mut columns = event_columns(s.domain);
        columns.extend(self.member_column(&[s])?);
        let mut b = match &s.codes {
            Some(codes) => self.code_scan(table, codes_pred(codes), &preds, &columns)?,
            None => self.scan_cdm(table)?,
        };
        if !preds.is_empty() {
            b = b.filtered(and_all(preds))?;
        }
        Ok(b.projected(columns)?.alias(&alias)?.build()?)
    }

    /// Plain sources of one table (no lab values) as one scan: the rows any of them takes.
    /// Sources with the same filters pool their codes (one `IN` list); the groups are
    /// alternatives of one filter.
    fn merged_sources(&mut self, srcs: &[&cir::Source]) -> Result<LogicalPlan> {
        let domain = srcs[0].domain;
        let table = domain.table();
        let mut groups: Vec<(String, Vec<&cir::Source>)> = Vec::new();
        for s in srcs {
            let key = format!("{:?} {:?}", s.visit_kind, s.filters);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(s),
                None => groups.push((key, vec![s])),
            }
        }
        let mut alternatives = Vec::new();
        for (_, g) in &groups {
            // One flat list, so complete codes of one column become one `IN` list.
            let codes = g
                .iter()
                .map(|s| s.codes.clone())
                .collect::<Option<Vec<_>>>()
                .map(|cs| {
                    cir::Codes::Any(
                        cs.into_iter()
                            .flat_map(|c| match c {
                                cir::Codes::Any(v) => v,
                                one => vec![one],
                            })
                            .collect(),
                    )
                });
            let pooled = cir::Source {
                codes,
                ..g[0].clone()
            };
            alternatives.push(and_all(source_preds(&pooled)));
        }
        let pred = or_balanced(alternatives);
        let mut columns = event_columns(domain);
        columns.extend(self.member_column(srcs)?);
        let text: Vec<&str> = srcs.iter().map(|s| s.text.as_str()).collect();
        let alias = ident(&format!(
            "{} {}",
            domain.name(),
            short(&text.join(" or "), 60)
        ));
        Ok(self
            .code_scan(table, pred.clone(), std::slice::from_ref(&pred), &columns)?
            .filtered(pred)?
            .projected(columns)?
            .alias(&alias)?
            .build()?)
    }

    /// Drops the sex and baseline columns a threshold added, so every event stream has the
    /// same columns and unions line up.
    pub(super) fn drop_helpers(&mut self, rel: Rel, before: &[String]) -> Result<Rel> {
        // Only the thresholds' helpers go (sex, baseline): columns a baseline's join to the
        // context added stay, as the rows are per context row now.
        let helper = |n: &str| {
            !before.iter().any(|b| b == n) && (n == "ev_sex" || n.contains("value_baseline_"))
        };
        if !rel.plan.schema().fields().iter().any(|f| helper(f.name())) {
            return Ok(rel);
        }
        let keep: Vec<Expr> = rel
            .plan
            .schema()
            .fields()
            .iter()
            .filter(|f| !helper(f.name()))
            .map(|f| c(f.name()))
            .collect();
        let plan = LogicalPlanBuilder::from(rel.plan)
            .projected(keep)?
            .build()?;
        Ok(Rel { plan, ..rel })
    }

    /// Joins patient-level rows to the context (same patient), giving context-level rows.
    pub(super) fn lift(&mut self, rel: Rel, ctx: &Ctx) -> Result<Rel> {
        if rel.ctx_level {
            return Ok(rel);
        }
        self.join_ctx(rel, ctx, None)
    }

    /// Context ⋈ rows on the patient, with an optional condition on both.
    pub(super) fn join_ctx(&mut self, rel: Rel, ctx: &Ctx, on: Option<Expr>) -> Result<Rel> {
        let ev_alias = self.fresh("ev");
        let right = LogicalPlanBuilder::from(rel.plan)
            .alias(&ev_alias)?
            .build()?;
        let mut conds = vec![
            qc(&ctx.alias, "hospital_id").eq(qc(&ev_alias, "hospital_id")),
            qc(&ctx.alias, "patient_id").eq(qc(&ev_alias, "patient_id")),
        ];
        if let Some(on) = on {
            conds.push(on);
        }
        let mut cols: Vec<Expr> = ctx
            .base
            .schema()
            .fields()
            .iter()
            .map(|f| qc(&ctx.alias, f.name()).alias(f.name()))
            .collect();
        cols.extend(EV_COLUMNS.iter().map(|n| qc(&ev_alias, n).alias(*n)));
        if right.schema().has_column_with_unqualified_name(MEMBER) {
            cols.push(qc(&ev_alias, MEMBER).alias(MEMBER));
        }
        let plan = LogicalPlanBuilder::from(ctx.base.clone())
            .join_on(right, JoinType::Inner, vec![and_all(conds)])?
            .projected(cols)?
            .build()?;
        Ok(Rel {
            plan,
            ctx_level: true,
        })
    }

    pub(super) fn pick(&mut self, rel: Rel, pick: Pick, ctx: Option<&Ctx>) -> Result<Rel> {
        if pick == Pick::Every {
            return Ok(rel);
        }
        let mut part: Vec<Expr> = vec![c("hospital_id"), c("patient_id")];
        if rel.ctx_level
            && let Some(cx) = ctx
        {
            part = cx.keys.iter().map(|k| c(k)).collect();
        }
        let (asc, n) = match pick {
            Pick::First => (true, 1),
            Pick::Last => (false, 1),
            Pick::Nth(n) => (true, i64::from(n)),
            Pick::Every => unreachable!("handled above"),
        };
        let rank = dense_rank()
            .partition_by(part)
            .order_by(vec![c("ev_day").sort(asc, false)])
            .build()?
            .alias("day_rank");
        let cols: Vec<Expr> = rel
            .plan
            .schema()
            .fields()
            .iter()
            .map(|f| c(f.name()))
            .collect();
        let plan = LogicalPlanBuilder::from(rel.plan)
            .window(vec![rank])?
            .filtered(c("day_rank").eq(lit(n as u64)))?
            .projected(cols)?
            .build()?;
        Ok(Rel { plan, ..rel })
    }

    /// Keeps rows inside a window; rows are joined to the context when its anchors are used.
    /// Event-date anchors are context columns already (`prepare_anchors`).
    pub(super) fn window(&mut self, rel: Rel, w: &Window, ctx: Option<&Ctx>) -> Result<Rel> {
        let rel = match (window_uses_ctx(w), ctx) {
            (true, Some(cx)) => self.lift(rel, cx)?,
            (true, None) => {
                return Err(internal("a window relative to index outside a cohort"));
            }
            (false, _) => rel,
        };
        let mut preds = Vec::new();
        if let Some(lo) = &w.lo {
            // Overlapping: the event's last day (a supply's or a stay's; its date when it has
            // none) is on or after the window's first.
            let last = if w.overlap {
                coalesce(vec![c("ev_end_day"), c("ev_day")])
            } else {
                c("ev_day")
            };
            preds.push(last.gt_eq(self.date_expr(lo)?));
        }
        if let Some(hi) = &w.hi {
            preds.push(c("ev_day").lt_eq(self.date_expr(hi)?));
        }
        let mut plan = LogicalPlanBuilder::from(rel.plan)
            .filtered(and_all(preds))?
            .build()?;
        match &w.calendar {
            None => {}
            Some(Calendar::SameMonth(d)) | Some(Calendar::SameYear(d)) => {
                let a = self.date_expr(d)?;
                let month = matches!(w.calendar, Some(Calendar::SameMonth(_)));
                let key = |x: Expr| {
                    let y = cast(date_part(lit("year"), as_date(x.clone())), DataType::Int64);
                    if month {
                        y * lit(12_i64) + cast(date_part(lit("month"), as_date(x)), DataType::Int64)
                    } else {
                        y
                    }
                };
                plan = LogicalPlanBuilder::from(plan)
                    .filtered(key(c("ev_day")).eq(key(a)))?
                    .build()?;
            }
            Some(Calendar::SameStay(d)) => {
                let a = self.date_expr(d)?;
                let stays = self
                    .scan_cdm(Table::Visit)?
                    .filtered(c("kind").eq(lit("inpatient")))?
                    .projected(vec![
                        c("hospital_id"),
                        c("patient_id"),
                        day(c("start_date")).alias("stay_start_day"),
                        day(c("end_date")).alias("stay_end_day"),
                    ])?
                    .alias("stay")?
                    .build()?;
                let rows_alias = self.fresh("rows");
                let left = LogicalPlanBuilder::from(plan).alias(&rows_alias)?.build()?;
                let anchor = a.transform_columns(&rows_alias);
                let on = and_all(vec![
                    qc(&rows_alias, "hospital_id").eq(qc("stay", "hospital_id")),
                    qc(&rows_alias, "patient_id").eq(qc("stay", "patient_id")),
                    anchor.between(qc("stay", "stay_start_day"), qc("stay", "stay_end_day")),
                    qc(&rows_alias, "ev_day")
                        .between(qc("stay", "stay_start_day"), qc("stay", "stay_end_day")),
                ]);
                let cols: Vec<Expr> = left
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| qc(&rows_alias, f.name()).alias(f.name()))
                    .collect();
                plan = LogicalPlanBuilder::from(left)
                    .join_on(stays, JoinType::LeftSemi, vec![on])?
                    .projected(cols)?
                    .build()?;
            }
        }
        Ok(Rel {
            plan,
            ctx_level: rel.ctx_level,
        })
    }

    /// Keeps the events for which a condition about them holds (`it` = each event).
    /// `stays`: the events are a kind of stay, read once (`having_rows`).
    pub(super) fn having(
        &mut self,
        rel: Rel,
        cond: &Cond,
        ctx: Option<&Ctx>,
        stays: bool,
    ) -> Result<Rel> {
        // A condition about the event that also reads the outer context (`index during it`,
        // a baseline) needs the events per context row.
        let rel = match (rel.ctx_level, needs_context(cond), ctx) {
            (false, true, Some(cx)) => self.lift(rel, cx)?,
            (false, true, None) => {
                return Err(internal(
                    "a `having` condition about index outside a cohort",
                ));
            }
            _ => rel,
        };
        if !rel.ctx_level {
            // Patient-level events and a condition about them alone: the events that pass
            // are the same whichever cohort, step or outcome asks, so they are computed once,
            // as a plan of their own with names of its own (equal requests, equal plans).
            let outer = std::mem::replace(&mut self.counter, 0);
            let kept = self.having_rows(rel, cond, ctx, stays);
            self.counter = outer;
            let alias = self.fresh("having");
            let plan = self.intermediate(&alias, kept?.plan)?;
            return Ok(Rel {
                plan,
                ctx_level: false,
            });
        }
        self.having_rows(rel, cond, ctx, stays)
    }

    /// The events of `rel` for which `cond` holds. The events are read twice (the `it` of
    /// the condition, then the rows that pass); stays (`stays`: a kind of visit, about 2 %
    /// of the visit table) are computed once for both, as an intermediate: each read
    /// decoded the whole visit table (q2: 0.3 s of 1.8 s). Other events are not: an item's
    /// lab rows over every patient would be millions of rows held in memory.
    fn having_rows(
        &mut self,
        rel: Rel,
        cond: &Cond,
        ctx: Option<&Ctx>,
        stays: bool,
    ) -> Result<Rel> {
        let rel = match stays {
            true => {
                let alias = self.fresh("stays");
                let rows = self.entered_only(rel.plan, rel.ctx_level)?;
                Rel {
                    plan: self.intermediate(&alias, rows)?,
                    ..rel
                }
            }
            false => rel,
        };
        // The events, once each, as a context whose anchors are `it_day` / `it_end_day`.
        let mut keys: Vec<String> = match (rel.ctx_level, ctx) {
            (true, Some(cx)) => cx.keys.clone(),
            _ => vec!["hospital_id".into(), "patient_id".into()],
        };
        let mut base: Vec<Expr> = rel
            .plan
            .schema()
            .fields()
            .iter()
            .filter(|f| !EV_COLUMNS.contains(&f.name().as_str()) && f.name() != MEMBER)
            .map(|f| c(f.name()))
            .collect();
        base.push(c("ev_day").alias("it_day"));
        base.push(c("ev_end_day").alias("it_end_day"));
        // Events other than visits have no id: -1 stands for none, so the keys compare by `=`.
        base.push(coalesce(vec![c("ev_visit"), lit(-1_i64)]).alias("it_visit"));
        keys.extend([
            "it_day".to_string(),
            "it_end_day".to_string(),
            "it_visit".to_string(),
        ]);
        let alias = self.fresh("it");
        let mut it_plan = LogicalPlanBuilder::from(rel.plan.clone())
            .projected(base)?
            .distinct()?
            .build()?;
        if !rel.ctx_level {
            // Patient-level events: conditions about them may need the patient (observation, age).
            it_plan = self.with_patient(it_plan)?;
        }
        if uses_of_context(cond) > 1 {
            // Every condition joins its events to these rows: compute them once.
            it_plan = self.intermediate(&alias, it_plan)?;
        }
        let it_plan = LogicalPlanBuilder::from(it_plan).alias(&alias)?.build()?;
        let it = Ctx {
            plan: it_plan.clone(),
            base: it_plan,
            keys: keys.clone(),
            alias: alias.clone(),
        };
        // The condition's own events are not what entered anyone: no members there.
        let members = std::mem::replace(&mut self.members, false);
        let decided = self.cond(cond, it);
        self.members = members;
        let (it, flag) = decided?;
        let passing = LogicalPlanBuilder::from(it.plan.clone())
            .filtered(coalesce(vec![flag, lit(false)]))?
            .projected(
                keys.iter()
                    .map(|k| qc(&it.alias, k).alias(k))
                    .collect::<Vec<_>>(),
            )?
            .alias("passing")?
            .build()?;
        let rows_alias = self.fresh("rows");
        let left = LogicalPlanBuilder::from(rel.plan)
            .alias(&rows_alias)?
            .build()?;
        let map = |k: &str| -> String {
            match k {
                "it_day" => "ev_day",
                "it_end_day" => "ev_end_day",
                "it_visit" => "ev_visit",
                other => other,
            }
            .to_string()
        };
        let on: Vec<Expr> = keys
            .iter()
            .map(|k| {
                let l = qc(&rows_alias, &map(k));
                let l = if k == "it_visit" {
                    coalesce(vec![l, lit(-1_i64)])
                } else {
                    l
                };
                l.eq(qc("passing", k))
            })
            .collect();
        let cols: Vec<Expr> = left
            .schema()
            .fields()
            .iter()
            .map(|f| qc(&rows_alias, f.name()).alias(f.name()))
            .collect();
        let plan = LogicalPlanBuilder::from(left)
            .join_on(passing, JoinType::LeftSemi, vec![and_all(on)])?
            .projected(cols)?
            .build()?;
        Ok(Rel {
            plan,
            ctx_level: rel.ctx_level,
        })
    }

    /// Patient-level rows read outside the entries, narrowed to the patients some cohort
    /// entered when those are known (every later plan is about them): the stays of a
    /// `having` were every stay of the network (VEGF: 210 K stays, 0.32 s, for 4 K
    /// patients; 38 K stays, 0.27 s, narrowed).
    fn entered_only(&self, rows: LogicalPlan, ctx_level: bool) -> Result<LogicalPlan> {
        if self.entered_patients.is_none() || self.in_entry || ctx_level {
            return Ok(rows);
        }
        // One name whoever asks: equal requests stay equal plans, computed once.
        self.of_entered(rows, "rows")
    }

    /// Adds the patient's attributes (as a cohort context has them) to rows keyed by patient.
    pub(super) fn with_patient(&mut self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let rows_alias = self.fresh("rows");
        let left = LogicalPlanBuilder::from(plan).alias(&rows_alias)?.build()?;
        let pat = self.scan_patient()?.alias("patient")?.build()?;
        let have: Vec<String> = left
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut cols: Vec<Expr> = have.iter().map(|n| qc(&rows_alias, n).alias(n)).collect();
        for (name, e) in [
            ("sex", qc("patient", "sex")),
            ("birth_date", qc("patient", "birth_date")),
            ("obs_start_day", day(qc("patient", "first_record_date"))),
            ("obs_end_day", day(qc("patient", "last_record_date"))),
            ("death_day", day(qc("patient", "death_date"))),
        ] {
            if !have.iter().any(|h| h == name) {
                cols.push(e.alias(name));
            }
        }
        let keys_l = keys_of(&rows_alias, &PERSON);
        let keys_r = keys_of("patient", &PERSON);
        Ok(LogicalPlanBuilder::from(left)
            .joined(pat, JoinType::Inner, (keys_l, keys_r), None)?
            .projected(cols)?
            .build()?)
    }
}

/// A member of a union: another event query, or the plain sources of one table.
enum Member<'a> {
    Other(&'a Events),
    Table(Vec<&'a cir::Source>),
}

/// The members of a union with the plain sources (no lab values) of each table together,
/// in the order each table first appears.
fn by_table(es: &[Events]) -> Vec<Member<'_>> {
    let mut out: Vec<Member> = Vec::new();
    for e in es {
        match e {
            Events::Source(s) if s.lab.is_none() => {
                let same = out.iter_mut().find_map(|m| match m {
                    Member::Table(g) if g[0].domain == s.domain => Some(g),
                    _ => None,
                });
                match same {
                    Some(g) => g.push(s),
                    None => out.push(Member::Table(vec![s])),
                }
            }
            other => out.push(Member::Other(other)),
        }
    }
    out
}

/// The row tests of a source: its codes, visit kind and filters.
fn source_preds(s: &cir::Source) -> Vec<Expr> {
    let mut preds = Vec::new();
    if let Some(codes) = &s.codes {
        preds.push(codes_pred(codes));
    }
    if let Some(kind) = &s.visit_kind {
        preds.push(c("kind").eq(lit(kind.clone())));
    }
    for f in &s.filters {
        preds.push(filter_pred(f));
    }
    preds
}

/// Whether events are a kind of stay (`visit inpatient`).
fn stays(e: &Events) -> bool {
    matches!(e, Events::Source(s) if s.domain == EventDomain::Visit && s.visit_kind.is_some())
}

/// The event columns of a table's rows (no lab values).
fn event_columns(domain: EventDomain) -> Vec<Expr> {
    let (day_col, end_col) = match domain {
        EventDomain::Visit => (c("start_date"), c("end_date")),
        EventDomain::Drug => (c("date"), c("end_date")),
        EventDomain::Diagnosis | EventDomain::Lab | EventDomain::Procedure => {
            (c("date"), c("date"))
        }
    };
    let visit = if domain.table().column("visit_id").is_some() {
        c("visit_id")
    } else {
        null_i64()
    };
    vec![
        c("hospital_id"),
        c("patient_id"),
        day(day_col).alias("ev_day"),
        day(end_col).alias("ev_end_day"),
        null_f64().alias("ev_value"),
        null_f64().alias("ev_ref_low"),
        null_f64().alias("ev_ref_high"),
        visit.alias("ev_visit"),
    ]
}

/// At most `max` characters of `text` (for names built from source text).
fn short(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{} etc", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{plan, plans};

    #[test]
    fn stays_tested_by_a_having_are_read_once_and_other_events_by_each_use() {
        // The entries and their intermediates (the plans before the steps).
        let scans = |src: &str, table: &str| {
            plans(src)
                .split("-- steps_c")
                .next()
                .unwrap_or_default()
                .lines()
                .filter(|l| l.trim() == format!("TableScan: {table}"))
                .count()
        };
        let stays = r#"codes hf: diagnosis = icd10 "I50"
cohort c { index = first visit inpatient having diagnosis hf during it }"#;
        assert_eq!(scans(stays, "visit"), 1);
        let diagnoses = r#"codes hf: diagnosis = icd10 "I50"
codes x: drug = yj "2432001"
cohort c { index = first diagnosis hf having drug x within 30 days before it }"#;
        // Each use reads them: the `it`, its condition's join, the rows that pass.
        assert_eq!(scans(diagnoses, "diagnosis"), 3);
    }

    /// Outside the entries, once every cohort's entries run first, a `having`'s stays are
    /// those of the patients some cohort entered; in an entry they are every stay.
    #[test]
    fn stays_read_after_the_entries_are_the_entered_patients() {
        let src = r#"codes hf: diagnosis = icd10 "I50"
codes x: drug = yj "2432001"
codes y: drug = yj "2432002"
define hf_stay: Events<visit> = visit inpatient having diagnosis hf during it
cohort a {
  index = first drug x
  exclude hf_stay before index
}
cohort b {
  index = first hf_stay
  exclude drug y within 30 days before index
}
outcome again in a, b = first hf_stay after index"#;
        let all = plans(src);
        let stays: Vec<&str> = all
            .split("\n-- ")
            .filter(|p| p.lines().next().is_some_and(|l| l.contains("_stays_")))
            .collect();
        let (entry, later): (Vec<&str>, Vec<&str>) =
            stays.iter().partition(|p| p.starts_with("tmp_entries_"));
        assert_eq!(entry.len(), 1, "{all}");
        assert!(!entry[0].contains("entered"), "{all}");
        assert!(!later.is_empty(), "{all}");
        // Computed once for the step and both outcomes.
        assert_eq!(later.len(), 1, "{all}");
        for p in later {
            assert!(p.contains("LeftSemi Join:"), "{p}");
            assert!(p.contains("SubqueryAlias: entered"), "{p}");
        }
    }

    #[test]
    fn a_source_tests_its_codes_and_columns() {
        insta::assert_snapshot!(plan(
            r#"codes x: drug = yj("2432001000000", "2432002")
cohort c { index = first drug x where setting = outpatient }"#,
            "entries_c"
        ), @r#"E0203 1:20 "2432001000000" cannot be a yj code (not a yj code)"#);
    }

    #[test]
    fn a_having_joins_each_event_to_its_condition() {
        insta::assert_snapshot!(plan(
            r#"codes hf: diagnosis = icd10 "I50"
cohort c { index = first visit inpatient having diagnosis hf during it }"#,
            "entries_c"
        ), @r#"
            Sort: c.hospital_id ASC NULLS LAST, c.patient_id ASC NULLS LAST, c.index_day ASC NULLS LAST
              SubqueryAlias: c
                Filter: index_day BETWEEN obs_start_day AND obs_end_day
                  Projection: entry.hospital_id AS hospital_id, entry.patient_id AS patient_id, CAST(entry.index_day AS Date32) AS index_date, entry.index_day AS index_day, patient.sex AS sex, patient.birth_date AS birth_date, CAST(patient.first_record_date AS Int32) AS obs_start_day, CAST(patient.last_record_date AS Int32) AS obs_end_day, CAST(patient.death_date AS Int32) AS death_day
                    Inner Join: entry.hospital_id = patient.hospital_id, entry.patient_id = patient.patient_id
                      SubqueryAlias: entry
                        Projection: tmp_entries_c_having_1.hospital_id, tmp_entries_c_having_1.patient_id, ev_day AS index_day
                          Aggregate: groupBy=[[tmp_entries_c_having_1.hospital_id, tmp_entries_c_having_1.patient_id]], aggr=[[min(tmp_entries_c_having_1.ev_day) AS ev_day]]
                            TableScan: tmp_entries_c_having_1
                      SubqueryAlias: patient
                        TableScan: patient
        "#);
    }
}

//! Feasibility counts (stage: CIR → plans; 集計情報): for each requested item — a drug code
//! set, a condition, a lab item, each the entry of one generated cohort — the persons and
//! records by calendar period, age band and sex, per hospital and for the network; for drugs
//! also new users, for lab items also persons with a numeric result. Each CDM table an item
//! is in is read once: its matching rows carry one yes/no column per item (or, for lab items
//! that are one analyte each, one item number looked up from the analyte), and each item's
//! rows are taken from that (`tmp_feasibility_<table>`). Counts are exact here; the runtime
//! applies disclosure control to the whole cube before anything is written.

use std::collections::BTreeSet;

use arrow_schema::DataType;
use datafusion_common::JoinType;
use datafusion_expr::{Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, cast, lit, when};
use datafusion_functions::expr_fn::date_part;
use datafusion_functions_aggregate::expr_fn::{count, max, min, sum};

use super::coverage::Sources;
use super::expr::*;
use super::outputs::{age_from_parts, date_parts, fiscal_year_of, quarter_in_year};
use super::*;
use crate::cir::visit;

/// What an item counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Drug,
    Condition,
    Lab,
}

impl ItemKind {
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Drug => "drug",
            ItemKind::Condition => "condition",
            ItemKind::Lab => "lab",
        }
    }
}

/// One requested item: its name in the outputs and the cohort whose entry events it counts.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
    pub cohort: String,
}

/// The calendar periods counts are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    Quarter,
    /// 年度, April to March.
    FiscalYear,
}

impl Calendar {
    /// The period's column.
    pub fn column(self) -> &'static str {
        match self {
            Calendar::Quarter => "quarter",
            Calendar::FiscalYear => "fiscal_year",
        }
    }
}

/// A feasibility request.
#[derive(Debug, Clone)]
pub struct Request {
    pub items: Vec<Item>,
    pub calendar: Calendar,
    /// Years per age band.
    pub age_band: i64,
}

/// A new user has this many days of the hospital's data before their first record.
pub const NEW_USER_DAYS: i32 = 180;

/// What a margin row shows in a column it is not split by.
pub const ALL: &str = "all";

/// The columns of the cube, in order (the period's column is named by the calendar).
pub fn columns(calendar: Calendar) -> Vec<&'static str> {
    vec![
        "item",
        "kind",
        "hospital",
        calendar.column(),
        "age_band",
        "sex",
        "persons",
        "records",
        "new_users",
        "persons_with_value",
    ]
}

/// The count columns of the cube.
pub const COUNTS: [&str; 4] = ["persons", "records", "new_users", "persons_with_value"];

fn table_kind(t: Table) -> Option<ItemKind> {
    match t {
        Table::Drug => Some(ItemKind::Drug),
        Table::Diagnosis => Some(ItemKind::Condition),
        Table::Lab => Some(ItemKind::Lab),
        Table::Patient | Table::Visit | Table::Procedure => None,
    }
}

/// The plans of a feasibility request: one intermediate per CDM table read, one for each
/// hospital's counts, and the cube (`feasibility`). `Err` names an item that cannot be
/// counted (no code set of its own, as a derived lab item) by its place in the request.
pub fn feasibility_plans(
    p: &cir::Program,
    request: &Request,
) -> std::result::Result<Result<Vec<NamedPlan>>, (usize, String)> {
    // Each item's table and test.
    // Each table's items with their places in the request.
    let mut by_table: BTreeMap<Table, Vec<(usize, &Item, Expr)>> = BTreeMap::new();
    for (i, item) in request.items.iter().enumerate() {
        let Some(cohort) = p.cohort(&item.cohort) else {
            return Ok(Err(internal(format!("no cohort {}", item.cohort))));
        };
        let mut sources = Sources::default();
        visit::walk_events(&mut sources, &cohort.entry.events);
        let found: Vec<(Table, Expr)> = sources
            .by_table
            .into_iter()
            .flat_map(|(t, m)| m.into_values().map(move |(e, _)| (t, e)))
            .collect();
        match found.as_slice() {
            [(t, pred)] if table_kind(*t) == Some(item.kind) => {
                by_table
                    .entry(*t)
                    .or_default()
                    .push((i, item, pred.clone()));
            }
            _ => {
                return Err((
                    i,
                    format!(
                        "{} {} cannot be counted: it is not one code set of its own table{}",
                        item.kind.name(),
                        item.name,
                        if item.kind == ItemKind::Lab {
                            " (a derived item is computed from others: count those)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
    Ok(build(request, &by_table).and_then(super::flattened))
}

fn build(
    request: &Request,
    by_table: &BTreeMap<Table, Vec<(usize, &Item, Expr)>>,
) -> Result<Vec<NamedPlan>> {
    let mut g = Gen::default();
    g.begin("feasibility");
    let (mut by_period, mut by_age) = (Vec::new(), Vec::new());
    for (table, items) in by_table {
        let (p, a) = g.feasibility_rows(*table, items, request)?;
        by_period.push(p);
        by_age.push(a);
    }
    let union = |plans: Vec<LogicalPlan>| -> Result<LogicalPlan> {
        let mut plans = plans.into_iter();
        let first = plans
            .next()
            .ok_or_else(|| internal("a feasibility request without items"))?;
        let mut rows = LogicalPlanBuilder::from(first);
        for p in plans {
            rows = rows.union(p)?;
        }
        Ok(rows.build()?)
    };
    let by_period = union(by_period)?;
    // Read twice: by age band, and per patient for the counts by sex alone.
    let by_age = g.intermediate("persons_by_age", union(by_age)?)?;
    let by_sex = g.feasibility_hospitals(&by_period, &by_age)?;
    let by_sex = g.intermediate("hospitals_by_sex", by_sex)?;
    let hospitals = g.intermediate("hospitals", without_sex(&by_sex)?)?;
    let cube = g.feasibility_cube(&hospitals, request)?;
    let mut out = std::mem::take(&mut g.intermediates);
    out.push(NamedPlan {
        name: "feasibility".into(),
        kind: PlanKind::Feasibility,
        plan: cube,
    });
    Ok(out)
}

impl Gen {
    /// The table's items per patient, twice: one row per item, hospital, patient and period,
    /// and one per item, hospital, patient and age band (each with the patient's sex and the
    /// other stratum null): the records, whether one had a value, and whether the patient's
    /// first record of the item is in it after `NEW_USER_DAYS` of the hospital's data. The
    /// table's matching rows are kept narrow (a yes/no column per item, one bit a row); each
    /// item's rows are joined with the patients and counted once, per patient and stratum (a
    /// count per day first would add a pass over as many groups as rows: a lab item has about
    /// one row per patient and day).
    fn feasibility_rows(
        &mut self,
        table: Table,
        items: &[(usize, &Item, Expr)],
        request: &Request,
    ) -> Result<(LogicalPlan, LogicalPlan)> {
        let kind = table_kind(table).ok_or_else(|| internal("an item of no table"))?;
        let marks: Vec<String> = (1..=items.len()).map(|i| format!("item_{i}")).collect();
        // A 0/1 number, not a boolean: the engine's `max` of numbers keeps one slot per group,
        // of booleans one accumulator object per group.
        let valued = if table == Table::Lab {
            cast(c("value").is_not_null(), DataType::Int64)
        } else {
            lit(0_i64)
        };
        let mut cols = vec![
            c("hospital_id"),
            c("patient_id"),
            day(c("date")).alias("day"),
            valued.alias("valued"),
        ];
        // Lab items that are one analyte and the same further test (the blood specimens) are
        // told apart by one lookup of the analyte, not one comparison per item, and their
        // rows taken in one pass: a row is in at most one of them.
        let classes = if table == Table::Lab {
            analyte_classes(items)
        } else {
            Vec::new()
        };
        let in_class: BTreeSet<usize> = classes
            .iter()
            .flat_map(|k| k.members.iter().map(|(_, at)| *at))
            .collect();
        // The columns the read computes, and each branch's rows and item number over them:
        // each class's rows by their item's number, each other item's by its own yes/no
        // column (a row of two items is in each).
        let mut branches: Vec<(Expr, Expr)> = Vec::new();
        for (k, class) in classes.iter().enumerate() {
            let (name, test) = (format!("class_{}", k + 1), format!("class_{}_test", k + 1));
            let mut lookup = datafusion_expr::case(c("analyte"));
            for (analyte, at) in &class.members {
                lookup = lookup.when(lit(analyte.clone()), lit(items[*at].0 as i64));
            }
            cols.push(lookup.otherwise(null_i64())?.alias(&name));
            let mut rows = c(&name).is_not_null();
            if let Some(rest) = &class.rest {
                cols.push(rest.clone().alias(&test));
                rows = rows.and(c(&test));
            }
            branches.push((rows, c(&name)));
        }
        for (at, ((id, _, pred), m)) in items.iter().zip(&marks).enumerate() {
            if !in_class.contains(&at) {
                cols.push(pred.clone().alias(m));
                // Items are numbered by their place in the request until the cube names
                // them: numbers are cheaper to group by than names.
                branches.push((c(m), lit(*id as i64)));
            }
        }
        // Lab items guarded by their analytes read the rows of those analytes, a test the
        // Parquet reader makes cheaply and skips pages by; their yes/no columns then sort the
        // rows out (a row of none is in no item's rows). Testing every item's own test on
        // every row as well cost a quarter of the lab read.
        let guards: Option<BTreeSet<String>> = (table == Table::Lab)
            .then(|| {
                items
                    .iter()
                    .try_fold(BTreeSet::new(), |mut all, (_, _, p)| {
                        all.extend(analytes_passing(p)?);
                        Some(all)
                    })
            })
            .flatten();
        let rows = match guards {
            Some(set) if !set.is_empty() => analyte_in(set),
            _ => merged_or(items.iter().map(|(_, _, p)| p.clone()).collect()),
        };
        let matched = self
            .scan_cdm(table)?
            .filtered(rows)?
            .projected(cols)?
            .build()?;
        let matched = self.intermediate(table.name(), matched)?;
        let mut long: Option<LogicalPlanBuilder> = None;
        for (rows, item) in branches {
            let one = LogicalPlanBuilder::from(matched.clone())
                .filtered(rows)?
                .projected(vec![
                    item.alias("item"),
                    c("hospital_id"),
                    c("patient_id"),
                    c("day"),
                    lit(1_i64).alias("records"),
                    c("valued"),
                ])?
                .build()?;
            long = Some(match long {
                None => LogicalPlanBuilder::from(one),
                Some(b) => b.union(one)?,
            });
        }
        let long = long.ok_or_else(|| internal("a table without items"))?;
        // Each patient's birth date taken apart once, not on each of their records.
        let (birth_year, birth_md) = date_parts(c("birth_date"));
        let patient = self
            .scan_cdm(Table::Patient)?
            .projected(vec![
                c("hospital_id"),
                c("patient_id"),
                c("sex"),
                birth_year.alias("birth_year"),
                birth_md.alias("birth_md"),
                c("first_record_date"),
            ])?
            .alias("p")?
            .build()?;
        let date = as_date(qc("r", "day"));
        let period = match request.calendar {
            Calendar::Quarter => quarter_number(date),
            Calendar::FiscalYear => fiscal_year_of(date)?,
        };
        let w = request.age_band;
        let age = age_from_parts(qc("p", "birth_year"), qc("p", "birth_md"), qc("r", "day"));
        let age_lo = (age / lit(w)) * lit(w);
        let records = long
            .alias("r")?
            .joined(
                patient,
                JoinType::Inner,
                (
                    keys_of("r", &["hospital_id", "patient_id"]),
                    keys_of("p", &["hospital_id", "patient_id"]),
                ),
                None,
            )?
            .projected(vec![
                qc("r", "item").alias("item"),
                qc("r", "hospital_id").alias("hospital_id"),
                qc("r", "patient_id").alias("patient_id"),
                qc("r", "day").alias("day"),
                period.alias("period"),
                age_lo.alias("age_lo"),
                qc("p", "sex").alias("sex"),
                qc("r", "records").alias("records"),
                qc("r", "valued").alias("valued"),
                (day(qc("p", "first_record_date")) + lit(NEW_USER_DAYS)).alias("new_from"),
            ])?
            .build()?;
        let records = self.intermediate(&format!("{}_records", table.name()), records)?;
        let drug = kind == ItemKind::Drug;
        let per_patient = |stratum: &str| -> Result<LogicalPlan> {
            let rows = LogicalPlanBuilder::from(records.clone()).aggregated(
                vec![
                    c("item"),
                    c("hospital_id"),
                    c("patient_id"),
                    c(stratum),
                    c("sex"),
                ],
                vec![
                    sum(c("records")).alias("records"),
                    max(c("valued")).alias("valued"),
                    min(c("day")).alias("first_day"),
                    max(c("new_from")).alias("new_from"),
                ],
            )?;
            let new_user = if drug {
                (c("first_day")
                    .eq(c("item_first_day"))
                    .and(c("item_first_day").gt_eq(c("new_from"))))
                .alias("new_user")
            } else {
                // Only drugs have new users: no window over the patients of other tables.
                lit(false).alias("new_user")
            };
            let rows = if drug {
                let first = window_agg(
                    datafusion_functions_aggregate::min_max::min_udaf(),
                    c("first_day"),
                )
                .partition_by(vec![c("item"), c("hospital_id"), c("patient_id")])
                .build()?
                .alias("item_first_day");
                rows.window(vec![first])?
            } else {
                rows
            };
            Ok(rows
                .projected(vec![
                    c("item"),
                    c("hospital_id"),
                    c("patient_id"),
                    stratum_or_null("period", Some(stratum)),
                    stratum_or_null("age_lo", Some(stratum)),
                    c("sex"),
                    c("records"),
                    c("valued"),
                    new_user,
                ])?
                .build()?)
        };
        Ok((per_patient("period")?, per_patient("age_lo")?))
    }

    /// Each hospital's counts, for every grouping by sex: by period from the rows per patient
    /// and period, by age band from those per patient and age band (each row one person of
    /// its cell), and by sex alone from the latter folded per patient.
    fn feasibility_hospitals(
        &mut self,
        by_period: &LogicalPlan,
        by_age: &LogicalPlan,
    ) -> Result<LogicalPlan> {
        let flag = |e: Expr| cast(e, DataType::Int64);
        let counted = |rows: LogicalPlanBuilder, stratum: Option<&str>| -> Result<LogicalPlan> {
            let mut keys = vec![c("item"), c("hospital_id")];
            keys.extend(stratum.map(c));
            keys.push(c("sex"));
            Ok(rows
                .aggregated(
                    keys,
                    vec![
                        count(lit(1)).alias("persons"),
                        sum(c("records")).alias("records"),
                        sum(flag(c("new_user"))).alias("new_users"),
                        sum(flag(c("valued"))).alias("persons_with_value"),
                    ],
                )?
                .projected(vec![
                    c("item"),
                    c("hospital_id").alias("hospital"),
                    stratum_or_null("period", stratum),
                    stratum_or_null("age_lo", stratum),
                    c("sex"),
                    c("persons"),
                    cast(c("records"), DataType::Int64).alias("records"),
                    cast(c("new_users"), DataType::Int64).alias("new_users"),
                    cast(c("persons_with_value"), DataType::Int64).alias("persons_with_value"),
                ])?
                .build()?)
        };
        let period = counted(LogicalPlanBuilder::from(by_period.clone()), Some("period"))?;
        let age = counted(LogicalPlanBuilder::from(by_age.clone()), Some("age_lo"))?;
        // A patient has rows in several age bands: one row per patient first.
        let patients = LogicalPlanBuilder::from(by_age.clone()).aggregated(
            vec![c("item"), c("hospital_id"), c("patient_id"), c("sex")],
            vec![
                sum(c("records")).alias("records"),
                max(flag(c("new_user"))).alias("new_user"),
                max(flag(c("valued"))).alias("valued"),
            ],
        )?;
        let sex = counted(patients, None)?;
        Ok(LogicalPlanBuilder::from(period)
            .union(age)?
            .union(sex)?
            .build()?)
    }

    /// The hospitals' counts and the network's (their sums: a patient is never linked across
    /// hospitals, so persons add up), margins marked `all`, sorted.
    fn feasibility_cube(
        &mut self,
        hospitals: &LogicalPlan,
        request: &Request,
    ) -> Result<LogicalPlan> {
        let network = summed_over(hospitals, "hospital", lit("network"))?;
        let w = request.age_band;
        let band = datafusion_functions::expr_fn::concat(vec![
            cast(c("age_lo"), DataType::Utf8),
            lit("-"),
            cast(c("age_lo") + lit(w - 1), DataType::Utf8),
        ]);
        let all = |e: Expr| datafusion_functions::expr_fn::coalesce(vec![e, lit(ALL)]);
        // The items' names and kinds, by their numbers.
        let by_item = |f: &dyn Fn(&Item) -> String| -> Result<Expr> {
            let mut e = datafusion_expr::case(c("item"));
            for (i, item) in request.items.iter().enumerate() {
                e = e.when(lit(i as i64), lit(f(item)));
            }
            Ok(e.otherwise(lit(datafusion_common::ScalarValue::Utf8(None)))?)
        };
        let only = |k: ItemKind, e: Expr| -> Result<Expr> {
            Ok(when(c("kind").eq(lit(k.name())), e).otherwise(null_i64())?)
        };
        let period = match request.calendar {
            Calendar::Quarter => datafusion_functions::expr_fn::concat(vec![
                cast(c("period") / lit(10_i64), DataType::Utf8),
                lit("Q"),
                cast(c("period") % lit(10_i64), DataType::Utf8),
            ]),
            Calendar::FiscalYear => cast(c("period"), DataType::Utf8),
        };
        Ok(LogicalPlanBuilder::from(hospitals.clone())
            .union(network)?
            .projected(vec![
                by_item(&|i| i.name.clone())?.alias("item"),
                by_item(&|i| i.kind.name().to_string())?.alias("kind"),
                c("hospital"),
                c("period"),
                c("age_lo"),
                c("sex"),
                c("persons"),
                c("records"),
                c("new_users"),
                c("persons_with_value"),
            ])?
            .sort(vec![
                c("item").sort(true, false),
                c("hospital").sort(true, false),
                c("period").sort(true, false),
                c("age_lo").sort(true, false),
                c("sex").sort(true, false),
            ])?
            .projected(vec![
                c("item"),
                c("kind"),
                c("hospital"),
                when(c("period").is_null(), lit(ALL))
                    .otherwise(period)?
                    .alias(request.calendar.column()),
                when(c("age_lo").is_null(), lit(ALL))
                    .otherwise(band)?
                    .alias("age_band"),
                all(c("sex")).alias("sex"),
                c("persons"),
                c("records"),
                only(ItemKind::Drug, c("new_users"))?.alias("new_users"),
                only(ItemKind::Lab, c("persons_with_value"))?.alias("persons_with_value"),
            ])?
            .build()?)
    }
}

/// Lab items whose tests are one analyte and the same further test (or none), at most one
/// item per analyte: a row is in at most one item of a class.
struct AnalyteClass {
    rest: Option<Expr>,
    /// The analyte and the item's place among the table's items.
    members: Vec<(String, usize)>,
}

/// The classes of two or more of `items` (see [`AnalyteClass`]); an item of an analyte its
/// class already has, and every other item, keeps a yes/no column of its own.
fn analyte_classes(items: &[(usize, &Item, Expr)]) -> Vec<AnalyteClass> {
    use datafusion_expr::{BinaryExpr, Operator};
    let mut classes: Vec<AnalyteClass> = Vec::new();
    for (at, (_, _, pred)) in items.iter().enumerate() {
        let (analyte, rest) = match pred {
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::And,
                right,
            }) => match analyte_alone(left) {
                Some(a) => (a, Some(right.as_ref().clone())),
                None => continue,
            },
            e => match analyte_alone(e) {
                Some(a) => (a, None),
                None => continue,
            },
        };
        match classes.iter_mut().find(|k| k.rest == rest) {
            Some(k) if k.members.iter().any(|(a, _)| *a == analyte) => {}
            Some(k) => k.members.push((analyte, at)),
            None => classes.push(AnalyteClass {
                rest,
                members: vec![(analyte, at)],
            }),
        }
    }
    classes.retain(|k| k.members.len() > 1);
    classes
}

/// The `or` of a table's item tests as one row filter: the tests every item makes taken out
/// once (`NOT suspected`), and the tests of one code column merged (`grouped_terms`), so
/// that `left(yj_code, 7)` is cut once a row and looked up once, not once per drug class
/// (the Parquet row filter evaluates each term as written).
fn merged_or(preds: Vec<Expr>) -> Expr {
    use datafusion_expr::utils::split_conjunction_owned;
    let conjuncts: Vec<Vec<Expr>> = preds.into_iter().map(split_conjunction_owned).collect();
    let common: Vec<Expr> = conjuncts
        .first()
        .map(|first| {
            first
                .iter()
                .filter(|x| conjuncts.iter().all(|cs| cs.contains(x)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut rests: Vec<Expr> = Vec::new();
    let mut always = false;
    for cs in conjuncts {
        match cs
            .into_iter()
            .filter(|x| !common.contains(x))
            .reduce(Expr::and)
        {
            Some(rest) => rests.push(rest),
            // This item tests only what all of them test.
            None => always = true,
        }
    }
    let any = (!always).then(|| {
        let (mut terms, others) = grouped_terms(rests.iter().flat_map(disjuncts));
        terms.extend(others);
        or_balanced(terms)
    });
    common
        .into_iter()
        .chain(any)
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true))
}

/// A date's calendar quarter as a number, `year * 10 + quarter` (20141 for 2014Q1): grouped
/// by as a number, named only in the cube.
fn quarter_number(d: Expr) -> Expr {
    cast(date_part(lit("year"), d.clone()), DataType::Int64) * lit(10_i64) + quarter_in_year(d)
}

/// The strata of a row of counts, in order.
const STRATA: [&str; 5] = ["item", "hospital", "period", "age_lo", "sex"];

/// A stratum's column in a row split by `stratum` only (a typed null otherwise).
fn stratum_or_null(name: &str, stratum: Option<&str>) -> Expr {
    if Some(name) == stratum {
        c(name)
    } else {
        null_i64().alias(name)
    }
}

/// The counts added over stratum `over` (hospitals, or sexes), which then reads `total`.
fn summed_over(rows: &LogicalPlan, over: &str, total: Expr) -> Result<LogicalPlan> {
    let mut columns: Vec<Expr> = STRATA
        .iter()
        .map(|k| {
            if *k == over {
                total.clone().alias(*k)
            } else {
                c(k)
            }
        })
        .collect();
    columns.extend(COUNTS.iter().map(|n| c(n)));
    Ok(LogicalPlanBuilder::from(rows.clone())
        .aggregated(
            STRATA
                .iter()
                .filter(|k| **k != over)
                .map(|k| c(k))
                .collect::<Vec<_>>(),
            COUNTS
                .iter()
                .map(|n| cast(sum(c(n)), DataType::Int64).alias(*n))
                .collect::<Vec<_>>(),
        )?
        .projected(columns)?
        .build()?)
}

/// Each hospital's counts by sex, and the same without sex: the sexes' counts added (a
/// person has one sex, so persons add up too).
fn without_sex(by_sex: &LogicalPlan) -> Result<LogicalPlan> {
    let summed = summed_over(
        by_sex,
        "sex",
        lit(datafusion_common::ScalarValue::Utf8(None)),
    )?;
    Ok(LogicalPlanBuilder::from(by_sex.clone())
        .union(summed)?
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_expr::{in_list, not};
    use datafusion_functions::expr_fn::left;

    /// What every item tests is taken out once, and the prefixes of one column and length
    /// are tested together (a LIKE each, for so few).
    #[test]
    fn item_tests_merge_into_one_filter() {
        let s = || not(c("suspected"));
        let l4 = || left(c("icd10"), lit(4_i64));
        let merged = merged_or(vec![
            c("icd10").like(lit("I50%")).and(s()),
            in_list(l4(), vec![lit("K251"), lit("K252")], false).and(s()),
            (c("icd10")
                .like(lit("J84%"))
                .or(in_list(l4(), vec![lit("J702"), lit("K251")], false)))
            .and(s()),
        ]);
        insta::assert_snapshot!(
            merged.to_string(),
            @r#"
            NOT suspected AND (icd10 LIKE Utf8("I50%") OR icd10 LIKE Utf8("J84%") OR icd10 LIKE Utf8("K251%") OR icd10 LIKE Utf8("K252%") OR icd10 LIKE Utf8("J702%"))
        "#
        );
        // An item that tests only the shared part lets every row of it through.
        assert_eq!(
            merged_or(vec![s(), c("icd10").like(lit("I50%")).and(s())]).to_string(),
            s().to_string()
        );
    }

    /// One analyte and the same further test make a class; a second item of an analyte the
    /// class has, an item alone in its class and any other test keep their own columns.
    #[test]
    fn lab_items_of_one_analyte_each_share_a_lookup() {
        let blood = || in_list(c("specimen"), vec![lit("019"), lit("022")], false);
        let is = |a: &str| c("analyte").eq(lit(a.to_string()));
        let tests = [
            is("3B035").and(blood()),
            is("3B045").and(blood()),
            is("3B035").and(blood()),
            is("3D046"),
            is("2A990").and(c("jlac10").like(lit("2A990%"))),
            is("2A010").or(is("2A990")),
            is("3C015").and(blood()),
        ];
        let item = Item {
            name: "x".into(),
            kind: ItemKind::Lab,
            cohort: "x".into(),
        };
        let items: Vec<(usize, &Item, Expr)> = tests
            .into_iter()
            .enumerate()
            .map(|(i, t)| (i + 10, &item, t))
            .collect();
        let classes = analyte_classes(&items);
        assert_eq!(classes.len(), 1);
        assert_eq!(classes[0].rest, Some(blood()));
        assert_eq!(
            classes[0].members,
            vec![
                ("3B035".to_string(), 0),
                ("3B045".to_string(), 1),
                ("3C015".to_string(), 6)
            ]
        );
    }
}

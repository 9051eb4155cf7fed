"""Hiring reports, computed in SQL from the applications' history.

Every report reads the stays of the applications in scope (a company's, one job's, or every
company's, created within [start, end)): stage_stays, the history with each entry's company,
job, creation time and end (the next entry of the same application, found with LEAD: see
ats.reports.stays). An application enters each stage at most once (no going back, no
staying), so a stage's entries count the applications that reached it and its exits (entries
whose from_stage it is) those that left it. Percentiles are percentile_cont's, computed
portably from ROW_NUMBER and COUNT windows so that PostgreSQL and SQLite give the same figures.
Nothing here reads names, emails, cover letters or files: erasing a candidate changes no figure.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, Integer, case, cast, func, literal, null, select, union_all

from ats import workflow
from ats.common.access import reports_scope_or_404
from ats.extensions import db
from ats.models import StageStay, User
from ats.reports.stays import DAY, seconds_between

HOUR = 3600.0
# as fractions, so that the portable form's ranks are integer arithmetic on both databases
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}
NO_REASON = "none"  # a withdrawal without a reason


@dataclass(frozen=True)
class Scope:
    company_id: int | None  # None: every company
    job_id: int | None
    start: datetime | None  # applications created at or after
    end: datetime | None  # and before


def scope_for(user: User, args: dict) -> Scope:
    company_id, job_id = reports_scope_or_404(user, args.get("company_id"), args.get("job_id"))
    return Scope(company_id, job_id, args.get("start"), args.get("end"))


def _stays(scope: Scope):
    """The stays (history entries) of the applications in scope."""
    stay = StageStay
    conditions = []
    if scope.company_id is not None:
        conditions.append(stay.company_id == scope.company_id)
    if scope.job_id is not None:
        conditions.append(stay.job_id == scope.job_id)
    if scope.start is not None:
        conditions.append(stay.applied_at >= scope.start)
    if scope.end is not None:
        conditions.append(stay.applied_at < scope.end)
    return select(stay).where(*conditions)


def _stage_list(stages):
    """The stages as rows (stage, position): reports list every stage, also those without rows."""
    return union_all(*(select(literal(stage).label("stage"), literal(position).label("position"))
                       for position, stage in enumerate(stages))).subquery("stages")


def _percentiles(values, portable: bool | None = None):
    """values: rows (grp, x) -> per grp: n, and x's median and 90th percentile, interpolated
    between the two nearest ranks as percentile_cont does (at rank 1 + p (n - 1)).

    PostgreSQL's own percentile_cont, or (SQLite, or portable=True) the same from ROW_NUMBER
    and COUNT windows: the suite checks that both give the same figures."""
    if portable is None:
        portable = db.session.get_bind().dialect.name != "postgresql"
    if not portable:
        return (select(values.c.grp, func.count().label("n"),
                       *(func.percentile_cont(numerator / denominator).within_group(values.c.x)
                         .label(name) for name, (numerator, denominator) in PERCENTILES.items()))
                .group_by(values.c.grp).subquery("percentiles"))
    ranked = select(values.c.grp, values.c.x,
                    func.row_number().over(partition_by=values.c.grp, order_by=values.c.x).label("rn"),
                    func.count().over(partition_by=values.c.grp).label("n")).subquery("ranked")

    def percentile(numerator: int, denominator: int):
        steps = numerator * (ranked.c.n - 1)
        lower = 1 + steps // denominator  # integer division on both databases
        low = func.max(case((ranked.c.rn == lower, ranked.c.x)))
        high = func.coalesce(func.max(case((ranked.c.rn == lower + 1, ranked.c.x))), low)
        return low + cast(steps % denominator, Float) / denominator * (high - low)

    return (select(ranked.c.grp, ranked.c.n,
                   *(percentile(*fraction).label(name) for name, fraction in PERCENTILES.items()))
            .group_by(ranked.c.grp, ranked.c.n).subquery("percentiles"))


def _rounded(value, unit: float) -> float | None:
    return None if value is None else round(float(value) / unit, 3)


def funnel(user: User, args: dict) -> dict:
    """How many applications reached each stage, are there now, and went on to the next
    pipeline stage, in pipeline order."""
    stays = _stays(scope_for(user, args)).subquery("scoped")
    # one pass: how many went each way (from, to); a stage's entries minus its exits are there now
    moves = (select(stays.c.from_stage, stays.c.stage, func.count().label("n"))
             .group_by(stays.c.from_stage, stays.c.stage).subquery("moves"))
    # the pipeline in its order (each stage's next one the row after), then the other ends
    ends = (stage for stage in workflow.STAGES if stage not in workflow.PIPELINE)
    stages = _stage_list((*workflow.PIPELINE, *ends))

    def total(condition):  # (PostgreSQL sums bigints as numeric)
        return cast(func.coalesce(func.sum(case((condition, moves.c.n))), 0), Integer)

    entered = total(moves.c.stage == stages.c.stage)
    counts = (select(stages.c.stage, stages.c.position, entered.label("entered"),
                     (entered - total(moves.c.from_stage == stages.c.stage)).label("current"))
              .join_from(stages, moves, (moves.c.stage == stages.c.stage)
                         | (moves.c.from_stage == stages.c.stage), isouter=True)
              .group_by(stages.c.stage, stages.c.position).subquery("counts"))
    reached_next = func.lead(counts.c.entered).over(order_by=counts.c.position)
    leads_on = counts.c.stage.in_([s for s in workflow.PIPELINE if workflow.next_in_pipeline(s)])
    conversion = case((leads_on & (counts.c.entered > 0), cast(reached_next, Float) / counts.c.entered))
    rows = db.session.execute(select(counts.c.stage, counts.c.entered, counts.c.current,
                                     conversion.label("conversion"))
                              .order_by(counts.c.position)).all()
    return {"stages": [row._asdict() for row in rows]}


def time_in_stage(user: User, args: dict) -> dict:
    """How long applications stayed in each open stage before leaving it: the stays that
    ended, their count, median and 90th percentile in hours."""
    stays = _stays(scope_for(user, args)).subquery("scoped")
    ended = (select(stays.c.stage.label("grp"), stays.c.seconds.label("x"))
             .where(stays.c.stage.in_(workflow.OPEN_STAGES), stays.c.seconds.is_not(None))
             .subquery("ended"))
    figures = _percentiles(ended)
    stages = _stage_list(workflow.OPEN_STAGES)
    rows = db.session.execute(
        select(stages.c.stage, func.coalesce(figures.c.n, 0), figures.c.median, figures.c.p90)
        .join_from(stages, figures, figures.c.grp == stages.c.stage, isouter=True)
        .order_by(stages.c.position)).all()
    return {"stages": [{"stage": stage, "count": count, "median_hours": _rounded(median, HOUR),
                        "p90_hours": _rounded(p90, HOUR)} for stage, count, median, p90 in rows]}


def time_to_hire(user: User, args: dict) -> dict:
    """Days from application to hired: the hires' count, median and 90th percentile, in all
    and per job."""
    stays = _stays(scope_for(user, args)).subquery("scoped")
    seconds = seconds_between(stays.c.entered_at, stays.c.applied_at).label("x")
    hired = stays.c.stage == workflow.HIRED
    # each hire twice: under its job, and under null for all of them
    hires = union_all(select(stays.c.job_id.label("grp"), seconds).where(hired),
                      select(null().label("grp"), seconds).where(hired)).subquery("hires")
    figures = _percentiles(hires)
    rows = db.session.execute(select(figures).order_by(figures.c.grp.is_not(None), figures.c.grp)).all()
    overall = rows[0] if rows and rows[0].grp is None else None

    def figures_of(row) -> dict:
        return {"count": row.n, "median_days": _rounded(row.median, DAY),
                "p90_days": _rounded(row.p90, DAY)}

    return {**(figures_of(overall) if overall else {"count": 0, "median_days": None, "p90_days": None}),
            "jobs": [{"job_id": row.grp, **figures_of(row)} for row in rows if row.grp is not None]}


def outcomes(user: User, args: dict) -> dict:
    """How applications ended: rejections by reason and by the stage they were made from,
    withdrawals by reason (`none` when none was given)."""
    stays = _stays(scope_for(user, args)).subquery("scoped")
    reason = func.coalesce(stays.c.reason, NO_REASON)
    ends = (select(stays.c.stage, stays.c.from_stage, reason, func.count())
            .where(stays.c.stage.in_([workflow.REJECTED, workflow.WITHDRAWN]))
            .group_by(stays.c.stage, stays.c.from_stage, reason))
    rejected = {"by_reason": dict.fromkeys(workflow.REASONS[workflow.REJECTED].catalogue, 0),
                "by_stage": dict.fromkeys(workflow.OPEN_STAGES, 0)}
    withdrawn = {"by_reason": dict.fromkeys((*workflow.REASONS[workflow.WITHDRAWN].catalogue,
                                             NO_REASON), 0)}
    for stage, from_stage, reason_given, n in db.session.execute(ends):  # at most 68 sums
        if stage == workflow.REJECTED:
            rejected["by_reason"][reason_given] += n
            rejected["by_stage"][from_stage] += n
        else:
            withdrawn["by_reason"][reason_given] += n
    return {"rejected": rejected, "withdrawn": withdrawn}

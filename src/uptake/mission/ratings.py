"""Innovation ratings (IPPR recommendation 2): outstanding, good, requires improvement or inadequate, per
organisation and rating year, from the rule set (uptake.mission.rule_set) over attainment, SPC assurance and
the comparison with England; with missed opportunities and the decertification watch list.

Each rating keeps its full **trace**: the rule set (id, version, hash), the evidence (the latest result of
each commitment in the year, with its status, interval, trajectory, standard, comparison, assurance and
peers), the facts computed from it, every rule with each comparison and whether it held, the rule that
fired and the rating. `reevaluate_trace` recomputes the facts from the evidence and the rating from the
facts; the tests check that every stored trace reproduces its rating.

Ratings are stored in the workflow database as drafts; a national reviewer moves them to reviewed, then
published. Only published ratings are public (`ratings_table` with the default status).

A rating run is computed inside a publication (uptake.pipeline.publication) with the attainment it rates, and
records the publication's id (``summary["publication"]``). It is committed to the workflow database just
before the publication commits in the analytics store, so a run whose publication never committed (the
compute was killed or failed in between) can exist: such a run is not shown. The functions that choose or show
a run (``latest_run_id``, ``ratings_table``, ``freshness``, review and publish) take ``results`` (the web's
snapshot, or the store) to know which publications were published; without it every run counts.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import Catalogue, load_catalogue
from uptake.errors import UptakeError
from uptake.mission.attainment import compute_attainment
from uptake.mission.framework_repository import published_frameworks
from uptake.mission.permissions import ANYONE, Who, may_manage_ratings, may_see_rating, require
from uptake.mission.results import (
    Published,
    Results,
    latest_pipeline_run,
    published_publications,
    read_inputs,
    write_table,
)
from uptake.mission.rule_set import (
    FACTS,
    RuleSet,
    evaluate,
    facts_frame,
    facts_from_evidence,
    load_rule_set,
    mark_evidence,
    rate_facts,
)
from uptake.mission.schemas import Framework
from uptake.pipeline import publication
from uptake.pipeline.publication import Publication
from uptake.results.schema import MISSION_TABLES
from uptake.store.mission_models import InnovationRating, RatingRun
from uptake.store.models import utcnow
from uptake.store.repository import record_audit

KEYS = ["level", "org_code", "rating_year"]

#: the evidence kept in a trace for each commitment
EVIDENCE_FIELDS = (
    "framework", "framework_version", "commitment", "indicator", "period", "as_of", "value", "ci95_low",
    "ci95_high", "status", "compared_with", "rank", "minimum_standard", "standard_in_force", "trajectory_value",
    "target", "deadline", "deadline_passed", "distance_to_trajectory", "comparison", "assurance",
    "peers_assessed", "peers_met", "missed_opportunity", "periods_below_minimum", "watch_threshold",
    "on_watch_list", "synthetic",
)
LEVEL_NAMES = {"stroke-unit": "stroke unit", "trust": "trust", "practice": "GP practice",
               "sub-icb": "sub-ICB location", "icb": "ICB", "pcn": "PCN", "region": "region"}


@dataclass
class Rated:
    """The ratings of one computation and the tables that go with them."""

    #: one row per organisation, level and rating year: org_code, org_name, level, period, rating,
    #: fired_rule, explanation, synthetic (resting wholly or partly on synthetic data), trace
    ratings: pd.DataFrame
    attainment: pd.DataFrame
    missed_opportunities: pd.DataFrame
    watch_list: pd.DataFrame
    rule_set: RuleSet
    frameworks: list[Framework] = field(default_factory=list)


# --- the computation (pure) ---------------------------------------------------------------------------


def rate(
    attainment: pd.DataFrame,
    rule_set: RuleSet,
    catalogue: Catalogue,
    frameworks: list[Framework] | None = None,
) -> Rated:
    """Ratings, missed opportunities and the watch list from attainment rows (uptake.mission.attainment)."""
    levels = [lv.value for lv in rule_set.levels]
    rows = attainment.loc[attainment["level"].isin(levels)].copy()
    period_types = rows["indicator"].map(lambda i: catalogue.indicator(i).period.value)
    marked = mark_evidence(rows, rule_set, period_types)
    if marked.empty:
        empty = pd.DataFrame(columns=["org_code", "org_name", "level", "period", "rating", "fired_rule",
                                      "explanation", "synthetic", "trace"])
        return Rated(empty, attainment, marked, marked, rule_set, frameworks or [])
    marked = marked.sort_values(["framework", "commitment", "level", "org_code", "period"], kind="stable")
    # the evidence of a rating year: each commitment's latest result in the year
    evidence = marked.groupby(["framework", "commitment"] + KEYS, sort=False).tail(1)
    facts = facts_frame(evidence, KEYS)
    rating, fired = rate_facts(rule_set, facts)
    facts["rating"], facts["fired_rule"] = rating.to_numpy(), fired.to_numpy()

    items = _evidence_records(evidence)
    org_names = evidence["org_name"].astype(object).tolist()
    positions = evidence.assign(_pos=np.arange(len(evidence))).groupby(KEYS, sort=False)["_pos"].agg(list).to_dict()
    rule_set_ref = {"id": rule_set.id, "version": rule_set.version, "sha256": rule_set.sha256}
    context = _Context(rule_set, catalogue, {f.id: f for f in frameworks or []})
    records = []
    for row in facts.to_dict("records"):
        key = (row["level"], row["org_code"], row["rating_year"])
        evidence_items = [items[i] for i in positions[key]]
        fact_values = {name: _plain(row[name]) for name in FACTS}
        body = evaluate(rule_set, fact_values)
        if body["rating"] != row["rating"]:  # two evaluations of the same rules; guard anyway
            raise AssertionError(f"rating mismatch for {key}: {body['rating']} != {row['rating']}")
        name = org_names[positions[key][0]]
        name = None if name is None or name is pd.NA or (isinstance(name, float) and math.isnan(name)) else name
        trace = {
            "rule_set": dict(rule_set_ref),
            "org_code": row["org_code"],
            "level": row["level"],
            "period": _iso(row["rating_year"]),
            "evidence": evidence_items,
            "facts": fact_values,
            **body,
            # rests (wholly or partly) on synthetic data: any of its evidence is synthetic
            "synthetic": any(bool(item.get("synthetic")) for item in evidence_items),
        }
        records.append({
            "org_code": row["org_code"], "org_name": name, "level": row["level"], "period": _date(row["rating_year"]),
            "rating": row["rating"], "fired_rule": row["fired_rule"], "trace": trace,
            "explanation": explain(trace, context, org_name=name), "synthetic": trace["synthetic"],
        })
    ratings = pd.DataFrame.from_records(records)
    missed = marked.loc[marked["missed_opportunity"]].copy()
    latest = marked.groupby(["framework", "commitment", "level", "org_code"], sort=False).tail(1)
    watch = latest.loc[latest["on_watch_list"]].rename(columns={"watch_threshold": "threshold_periods"}).copy()
    return Rated(ratings, attainment, missed, watch, rule_set, frameworks or [])


def reevaluate_trace(trace: dict[str, Any], rule_set: RuleSet) -> dict[str, Any]:
    """Recompute a trace's facts from its evidence and its rating from those facts. Raises if the rule set
    is not the one the trace was made with, or if the stored facts differ from the recomputed ones."""
    if trace["rule_set"]["sha256"] != rule_set.sha256:
        raise UptakeError(
            f"the trace was made with rule set {trace['rule_set']['id']} v{trace['rule_set']['version']} "
            f"({trace['rule_set']['sha256'][:12]}), not this one ({rule_set.sha256[:12]}); use the run's rule set"
        )
    facts = facts_from_evidence(trace["evidence"])
    if facts != trace["facts"]:
        raise UptakeError(f"the trace's facts do not follow from its evidence: {facts} != {trace['facts']}")
    return evaluate(rule_set, facts)


def trace_synthetic(trace: dict[str, Any] | None) -> bool:
    """Whether a rating rests wholly or partly on synthetic data: its trace's ``synthetic`` flag, or (traces
    stored before the flag) any of its evidence."""
    if not trace:
        return False
    if trace.get("synthetic") is not None:
        return bool(trace["synthetic"])
    return any(bool(item.get("synthetic")) for item in trace.get("evidence", []))


def _synthetic_sentence(trace: dict[str, Any]) -> str | None:
    """The sentence saying which commitments of a rating rest on synthetic data (None: none do)."""
    evidence = trace.get("evidence", [])
    generated = [item for item in evidence if item.get("synthetic")]
    if not generated:
        return None
    names = ", ".join(sorted({str(item["indicator"]) for item in generated}))
    how = "wholly" if len(generated) == len(evidence) else "partly"
    return (f"This rating rests {how} on SYNTHETIC data: {len(generated)} of its {len(evidence)} commitments "
            f"are measured by generated series ({names}), not real ones.")


def _plain(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    return value


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else pd.Timestamp(value).date()


def _iso(value: Any) -> str:
    return _date(value).isoformat()


_FLOATS = ("value", "ci95_low", "ci95_high", "minimum_standard", "standard_in_force", "trajectory_value", "target",
           "distance_to_trajectory")
_DATES = ("period", "as_of", "deadline")
_BOOLS = ("deadline_passed", "missed_opportunity", "on_watch_list", "synthetic")
_INTS = ("framework_version", "rank", "peers_assessed", "peers_met", "periods_below_minimum", "watch_threshold")


def _evidence_records(evidence: pd.DataFrame) -> list[dict[str, Any]]:
    """Evidence rows as JSON-ready dicts (dates as ISO strings, NaN as None), converted column by column."""
    columns: dict[str, list[Any]] = {}
    for name in EVIDENCE_FIELDS:
        col = evidence[name]
        if name in _FLOATS:
            arr = col.to_numpy(dtype=float)
            columns[name] = [None if math.isnan(v) else v for v in arr.tolist()]
        elif name in _DATES:
            columns[name] = [_iso(v) for v in col.tolist()]
        elif name in _BOOLS:
            columns[name] = col.astype(bool).tolist()
        elif name in _INTS:
            columns[name] = col.astype("int64").tolist()
        else:
            columns[name] = [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
                             for v in col.astype(object).tolist()]
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


# --- explanations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    rule_set: RuleSet
    catalogue: Catalogue
    frameworks: dict[str, Framework]


def _year_label(period: str) -> str:
    start = dt.date.fromisoformat(period)
    return f"{start.year}/{(start.year + 1) % 100:02d}" if start.month != 1 else str(start.year)


def explain(trace: dict[str, Any], context: _Context | None = None, *, org_name: str | None = None) -> str:
    """A rating's trace in plain English: the rating, why, and the evidence for each commitment."""
    catalogue = context.catalogue if context else load_catalogue()
    frameworks = context.frameworks if context else {}
    who = f"{org_name} ({trace['org_code']})" if org_name else trace["org_code"]
    level = LEVEL_NAMES.get(trace["level"], trace["level"])
    rating = trace["rating"].replace("-", " ")
    rule = f"rule {trace['fired_rule']}" if trace["fired_rule"] else "the default rule"
    lines = [f"{who}, {level}, rating year {_year_label(trace['period'])}: {rating}, by {rule} of rule set "
             f"{trace['rule_set']['id']} v{trace['rule_set']['version']}, because {trace['because']}."]
    synthetic = _synthetic_sentence(trace)
    if synthetic:
        lines.append(synthetic)
    lines.append("Evidence (the latest result of each commitment in the year):")
    for item in trace["evidence"]:
        lines.append("- " + _evidence_line(item, catalogue, frameworks))
    return "\n".join(lines)


def _evidence_line(item: dict[str, Any], catalogue: Catalogue, frameworks: dict[str, Framework]) -> str:
    indicator = catalogue.indicators.get(item["indicator"])
    fmt = indicator.format_value if indicator else (lambda v: f"{v:g}")
    framework = frameworks.get(item["framework"])
    title = item["commitment"]
    if framework is not None:
        try:
            title = framework.commitment(item["commitment"]).title
        except KeyError:
            pass
    synthetic = " (SYNTHETIC data)" if item.get("synthetic") else ""
    interval = ""
    if item.get("ci95_low") is not None and item.get("ci95_high") is not None:
        interval = f" (95% interval {fmt(item['ci95_low'])} to {fmt(item['ci95_high'])})"
    status = item["status"]
    if status == "met":
        judged = f"met: at or above the target of {fmt(item['target'])}"
    elif status == "on-trajectory":
        judged = f"on trajectory: clearly at or above the trajectory of {fmt(item['trajectory_value'])}"
    elif status == "off-trajectory":
        judged = (f"off trajectory: clearly below the trajectory of {fmt(item['trajectory_value'])}, but not below "
                  f"the minimum standard of {fmt(item['standard_in_force'])}")
    elif status == "missed":
        what = "the target (its deadline has passed)" if item.get("deadline_passed") else "the minimum standard"
        judged = f"missed: clearly below {what} of {fmt(item['standard_in_force'])}"
    else:
        against = item.get("compared_with") or "trajectory"
        point = item["standard_in_force"] if against == "minimum standard" else (
            item["target"] if against == "target" else item["trajectory_value"])
        judged = f"not distinguishable from the {against} of {fmt(point)}: the interval includes it"
    parts = [f"{item['framework']} v{item['framework_version']}, {title}{synthetic}: {fmt(item['value'])} for the "
             f"period starting {item['period']}{interval}; {judged}"]
    if item.get("comparison") and item["comparison"] != "not compared":
        parts.append(f"{item['comparison']} compared with England")
    if item.get("assurance"):
        parts.append(f"SPC assurance: {item['assurance'].replace('-', ' ')}")
    if item.get("peers_assessed"):
        parts.append(f"{item['peers_met']} of {item['peers_assessed']} similar peers with a result met it")
    if item.get("missed_opportunity"):
        parts.append("a missed opportunity (most similar peers met it)")
    if item.get("on_watch_list"):
        parts.append(f"below the minimum standard for {item['periods_below_minimum']} consecutive periods: on the "
                     "decertification watch list")
    return "; ".join(parts) + "."


# --- the workflow database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingRunSummary:
    run_id: int
    ratings: int
    by_level: dict[str, dict[str, int]]
    attainment_rows: int
    missed_opportunities: int
    watch_list: int
    pipeline_run: int | None = None
    publication: int | None = None


def compute_ratings(
    session: Session,
    store: AnalyticsStore,
    *,
    who: Who,
    rule_set: RuleSet | None = None,
    catalogue: Catalogue | None = None,
) -> RatingRunSummary:
    """Attainment for every published framework, then ratings, over the results already published: one
    publication of its own (uptake.pipeline.publication) in which attainment, missed opportunities and the
    watch list are written to the analytics store and the ratings to the workflow database as a draft run.
    Commits ``session`` (the run must be stored before its publication is)."""
    require(may_manage_ratings(who), who, "compute ratings")
    frameworks = published_frameworks(session)
    if not frameworks:
        raise UptakeError("there are no published frameworks to rate against; run `uptake nsf load`")
    with store.writing("computing NSF attainment and ratings"), store.connect() as con:
        publication_id = publication.begin(con, "ratings")
        with publication.publishing(con, publication_id, "ratings") as pub:
            summary = rate_in_publication(pub, session, who, rule_set=rule_set, catalogue=catalogue,
                                          frameworks=frameworks)
    assert summary is not None
    return summary


def rate_in_publication(
    pub: Publication,
    session: Session,
    who: Who,
    *,
    rule_set: RuleSet | None = None,
    catalogue: Catalogue | None = None,
    frameworks: list[Framework] | None = None,
) -> RatingRunSummary | None:
    """Inside a publication's open transaction (``pub.con`` sees the results being published): attainment,
    missed opportunities and the watch list written there, and a draft rating run recording the publication
    committed to the workflow database (``session`` is committed). None, writing nothing, when there is no
    published framework to rate against."""
    require(may_manage_ratings(who), who, "compute ratings")
    frameworks = frameworks if frameworks is not None else published_frameworks(session)
    if not frameworks:
        return None
    rule_set = rule_set or load_rule_set()
    catalogue = catalogue or load_catalogue()
    indicators = sorted({c.indicator for f in frameworks for c in f.commitments})
    inputs = read_inputs(pub.con, indicators)
    attainment = compute_attainment(
        frameworks, catalogue, inputs.values, spc=inputs.spc, peers=inputs.peers,
        organisations=inputs.organisations, rating_year_start_month=rule_set.rating_year_start_month,
    )
    rated = rate(attainment, rule_set, catalogue, frameworks)
    write_table(pub.con, "result_attainment", attainment)
    write_table(pub.con, "result_missed_opportunities", rated.missed_opportunities)
    write_table(pub.con, "result_watch_list", rated.watch_list)
    pub.replaced([t.name for t in MISSION_TABLES], inputs.pipeline_run)
    pub.attainment_run = inputs.pipeline_run
    publication.pause("mission-written")
    summary = store_ratings(session, rated, who=who, attainment_rows=len(attainment),
                            pipeline_run=inputs.pipeline_run, publication=pub.id)
    session.commit()
    pub.rating_run = summary.run_id
    publication.pause("ratings-committed")
    return summary


def store_ratings(session: Session, rated: Rated, *, who: Who, attainment_rows: int = 0,
                  pipeline_run: int | None = None, publication: int | None = None) -> RatingRunSummary:
    """A new rating run with every rating as a draft (audited), recording the pipeline run it was computed
    from and the publication it belongs to."""
    require(may_manage_ratings(who), who, "store ratings")
    by_level: dict[str, dict[str, int]] = {}
    for (level, rating), count in rated.ratings.groupby(["level", "rating"]).size().items():
        by_level.setdefault(level, {})[rating] = int(count)
    run = RatingRun(
        rule_set_id=rated.rule_set.id, rule_set_version=rated.rule_set.version,
        rule_set=rated.rule_set.model_dump(mode="json"), rule_set_sha256=rated.rule_set.sha256,
        frameworks=[[f.id, f.version] for f in rated.frameworks],
        summary={"by_level": by_level, "pipeline_run": pipeline_run, "publication": publication},
        computed_at=utcnow(), computed_by=who.actor,
    )
    session.add(run)
    session.flush()
    rows = [
        {"run_id": run.id, "org_code": r.org_code, "org_name": r.org_name, "level": r.level, "period": r.period,
         "rating": r.rating, "status": "draft", "trace": r.trace, "explanation": r.explanation}
        for r in rated.ratings.itertuples(index=False)
    ]
    for start in range(0, len(rows), 2000):
        session.execute(insert(InnovationRating), rows[start:start + 2000])
    summary = RatingRunSummary(
        run_id=run.id, ratings=len(rows), by_level=by_level, attainment_rows=attainment_rows,
        missed_opportunities=len(rated.missed_opportunities), watch_list=len(rated.watch_list),
        pipeline_run=pipeline_run, publication=publication,
    )
    record_audit(session, who.actor, "ratings.compute", "rating-run", str(run.id), {
        "rule_set": [rated.rule_set.id, rated.rule_set.version], "ratings": len(rows), "by_level": by_level,
        "frameworks": run.frameworks, "pipeline_run": pipeline_run, "publication": publication,
    })
    session.flush()
    return summary


@dataclass(frozen=True)
class Freshness:
    """How the ratings stand against the pipeline's newest results, for a notice on the pages.

    ``latest_pipeline_run``: the newest ``uptake compute`` run; ``published_pipeline_run``: the pipeline run the
    newest published ratings were computed from; ``newest_rating_run`` and its ``pipeline_run``; and
    ``waiting``: ratings of newer runs not yet published (drafts or reviewed)."""

    latest_pipeline_run: int | None
    published_rating_run: int | None
    published_pipeline_run: int | None
    newest_rating_run: int | None
    newest_rating_pipeline_run: int | None
    waiting: int

    @property
    def published_behind(self) -> bool:
        """The published ratings were computed from older pipeline results than the newest."""
        return (self.latest_pipeline_run is not None and self.published_pipeline_run is not None
                and self.published_pipeline_run < self.latest_pipeline_run)

    @property
    def attainment_behind(self) -> bool:
        """No rating run (and so no attainment) has been computed from the newest pipeline results."""
        return (self.latest_pipeline_run is not None
                and (self.newest_rating_pipeline_run or 0) < self.latest_pipeline_run)


def freshness(session: Session, results: Results | None) -> Freshness:
    """How the ratings stand against the newest pipeline run found in ``results`` (None: no store yet). Rating
    runs whose publication was never published do not count."""
    try:
        latest = latest_pipeline_run(results) if results is not None else None
        shown = _shown(published_publications(results))
    except Exception:  # no store yet: nothing to compare with
        latest, shown = None, None
    where = [] if shown is None else [shown]
    published = session.scalar(select(func.max(InnovationRating.run_id)).where(InnovationRating.status == "published"))
    newest = session.scalar(select(func.max(RatingRun.id)).where(*where))

    def pipeline_of(run_id: int | None) -> int | None:
        run = session.get(RatingRun, run_id) if run_id else None
        return (run.summary or {}).get("pipeline_run") if run is not None else None

    waiting = session.scalar(
        select(func.count()).select_from(InnovationRating).join(RatingRun).where(
            InnovationRating.run_id > (published or 0), InnovationRating.status != "published", *where)) or 0
    return Freshness(latest, published, pipeline_of(published), newest, pipeline_of(newest), int(waiting))


def _shown(published: Published | None) -> ColumnElement[bool] | None:
    """The condition on rating runs that may be shown: made before publications existed, or with a
    publication that was published (None: every run may be)."""
    if published is None:
        return None
    made_with = RatingRun.summary["publication"].as_integer()
    condition = made_with <= published.newest
    if published.never:
        condition = and_(condition, made_with.not_in(sorted(published.never)))
    return or_(made_with.is_(None), condition)


def _run_shown(session: Session, run_id: int, published: Published | None) -> bool:
    shown = _shown(published)
    where = [RatingRun.id == run_id] + ([] if shown is None else [shown])
    return session.scalar(select(RatingRun.id).where(*where)) is not None


def latest_run_id(session: Session, results: Results | None = None) -> int:
    """The newest rating run (whose publication was published, when ``results`` are given)."""
    return _latest_run(session, published_publications(results))


def _latest_run(session: Session, published: Published | None) -> int:
    shown = _shown(published)
    run_id = session.scalar(select(func.max(RatingRun.id)).where(*([] if shown is None else [shown])))
    if run_id is None:
        raise UptakeError("no ratings have been computed; run `uptake ratings compute`")
    return run_id


def _move(
    session: Session, who: Who, run_id: int | None, source: str, target: str, *,
    level: str | None = None, period: dt.date | None = None, org_codes: list[str] | None = None,
    results: Results | None = None,
) -> int:
    verb = "review" if target == "reviewed" else "publish"
    require(may_manage_ratings(who), who, f"{verb} ratings")
    published = published_publications(results)
    run_id = run_id or _latest_run(session, published)
    run = session.get(RatingRun, run_id)
    if run is None:
        raise UptakeError(f"there is no rating run {run_id}")
    if not _run_shown(session, run_id, published):
        raise UptakeError(
            f"rating run {run_id} belongs to publication {(run.summary or {}).get('publication')}, which was never "
            f"published (its compute did not finish): there is nothing to {verb} in it")
    where = [InnovationRating.run_id == run_id, InnovationRating.status == source]
    if level:
        where.append(InnovationRating.level == level)
    if period:
        where.append(InnovationRating.period == period)
    if org_codes:
        where.append(InnovationRating.org_code.in_(org_codes))
    now = utcnow()
    values = ({"status": target, "reviewed_by": who.actor, "reviewed_at": now} if target == "reviewed"
              else {"status": target, "published_by": who.actor, "published_at": now})
    moved = session.execute(update(InnovationRating).where(*where).values(**values)).rowcount or 0
    if moved == 0:
        waiting = session.scalar(select(func.count()).select_from(InnovationRating).where(
            InnovationRating.run_id == run_id, InnovationRating.status == ("draft" if source == "reviewed" else source)))
        hint = " (review them first: `uptake ratings review`)" if source == "reviewed" and waiting else ""
        raise UptakeError(f"no {source} ratings in run {run_id} match; nothing to {verb}{hint}")
    record_audit(session, who.actor, f"ratings.{verb}", "rating-run", str(run_id), {
        "from": source, "to": target, "ratings": moved, "level": level,
        "period": period.isoformat() if period else None, "org_codes": org_codes,
    })
    session.flush()
    return moved


def review_ratings(session: Session, who: Who, run_id: int | None = None, **selection: Any) -> int:
    """Draft -> reviewed, for a run (the newest by default), optionally one level, period or organisations
    (``results=``: the store or snapshot, to refuse a run whose publication was never published)."""
    return _move(session, who, run_id, "draft", "reviewed", **selection)


def publish_ratings(session: Session, who: Who, run_id: int | None = None, **selection: Any) -> int:
    """Reviewed -> published. Published ratings are public; the newest published one of each organisation
    and year is the one shown."""
    return _move(session, who, run_id, "reviewed", "published", **selection)


RATING_COLUMNS = ("org_code", "org_name", "level", "period", "rating", "status", "synthetic", "rule_set",
                  "rule_set_version", "run_id", "explanation", "trace")


def ratings_table(
    session: Session,
    who: Who = ANYONE,
    *,
    status: str = "published",
    run_id: int | None = None,
    level: str | None = None,
    period: dt.date | None = None,
    org_code: str | None = None,
    with_trace: bool = True,
    results: Results | None = None,
    limit: int | None = None,
    offset: int = 0,
    with_total: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, int]:
    """Ratings as a table with their traces. status "published" (the default, and all the public may see):
    the newest published rating of each organisation, level and year; "draft" or "reviewed": those of a run
    (the newest by default); "all": every rating of a run. ``with_trace=False`` leaves the trace and the
    explanation out (None), which is much faster for lists. ``synthetic`` says whether a rating rests wholly
    or partly on synthetic data (``trace_synthetic``). ``results`` (the web's snapshot or the store) says
    which publications were published: a run whose publication never was has no ratings to show (it is never
    the newest, and asked for by id it is empty). ``limit``/``offset`` cut one page in SQL (in the order of
    level, organisation, period); ``with_total`` also returns how many ratings there are in all (a count in
    SQL), as (frame, total)."""
    if status not in ("published", "reviewed", "draft", "all"):
        raise UptakeError(f"status must be published, reviewed, draft or all, not {status!r}")
    if status != "published" and not may_see_rating(who, status):
        require(False, who, f"see {status} ratings", )
    wanted = [InnovationRating.id, InnovationRating.org_code, InnovationRating.org_name,
              InnovationRating.level, InnovationRating.period, InnovationRating.rating,
              InnovationRating.status, InnovationRating.run_id]
    if with_trace:
        wanted += [InnovationRating.explanation, InnovationRating.trace]
    else:  # the flag alone, read out of the trace by the database
        wanted.append(InnovationRating.trace["synthetic"].as_boolean().label("synthetic_flag"))
    query = select(*wanted, RatingRun.rule_set_id, RatingRun.rule_set_version).join(RatingRun)
    if status == "published":
        newest = (
            select(InnovationRating.org_code, InnovationRating.level, InnovationRating.period,
                   func.max(InnovationRating.run_id).label("run_id"))
            .where(InnovationRating.status == "published")
            .group_by(InnovationRating.org_code, InnovationRating.level, InnovationRating.period)
            .subquery()
        )
        query = query.join(newest, (newest.c.org_code == InnovationRating.org_code)
                           & (newest.c.level == InnovationRating.level) & (newest.c.period == InnovationRating.period)
                           & (newest.c.run_id == InnovationRating.run_id))
        if run_id:
            query = query.where(InnovationRating.run_id == run_id)
    else:
        published = published_publications(results)
        if run_id and not _run_shown(session, run_id, published):
            empty = pd.DataFrame(columns=list(RATING_COLUMNS))
            return (empty, 0) if with_total else empty
        query = query.where(InnovationRating.run_id == (run_id or _latest_run(session, published)))
        if status != "all":
            query = query.where(InnovationRating.status == status)
    if level:
        query = query.where(InnovationRating.level == level)
    if period:
        query = query.where(InnovationRating.period == period)
    if org_code:
        query = query.where(InnovationRating.org_code == org_code)
    total = session.scalar(select(func.count()).select_from(query.subquery())) if with_total else None
    query = query.order_by(InnovationRating.level, InnovationRating.org_code, InnovationRating.period,
                           InnovationRating.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    found = session.execute(query).all()
    if with_trace:
        flags = {r.id: trace_synthetic(r.trace) for r in found}
    else:
        flags = {r.id: r.synthetic_flag for r in found}
        unknown = [i for i, flag in flags.items() if flag is None]  # traces stored before the flag
        for start in range(0, len(unknown), 500):
            chunk = unknown[start:start + 500]
            for rid, trace in session.execute(select(InnovationRating.id, InnovationRating.trace)
                                              .where(InnovationRating.id.in_(chunk))):
                flags[rid] = trace_synthetic(trace)
    records = [
        {"org_code": r.org_code, "org_name": r.org_name, "level": r.level, "period": r.period, "rating": r.rating,
         "status": r.status, "synthetic": bool(flags[r.id]), "rule_set": r.rule_set_id,
         "rule_set_version": r.rule_set_version, "run_id": r.run_id,
         "explanation": r.explanation if with_trace else None, "trace": r.trace if with_trace else None}
        for r in found
    ]
    frame = pd.DataFrame.from_records(records, columns=list(RATING_COLUMNS))
    return (frame, int(total or 0)) if with_total else frame


def run_rule_set(session: Session, run_id: int) -> RuleSet:
    """The exact rule set a run used (stored with the run)."""
    run = session.get(RatingRun, run_id)
    if run is None:
        raise UptakeError(f"there is no rating run {run_id}")
    return RuleSet.model_validate(run.rule_set)

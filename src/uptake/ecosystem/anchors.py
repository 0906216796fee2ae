"""The Health Innovation Challenge (IPPR recommendation 8): anchor institutions designated on their track
record, and partners matched to them within each footprint.

**Designation** is a stated, versioned rule (rules/anchor-designation-v<N>.yaml) over **facts** read from the
round's indicator in Uptake's published results (``FACTS``). Rules are read in order; the first whose
condition holds decides (designate or not); if none holds, the default applies. Every rule is evaluated and
kept in the trace, so a stored designation can be re-evaluated to reproduce its decision
(``evaluate_facts``).

**Matching** is an assignment problem in each footprint: each partner (a member that is not an anchor) goes to
at most one anchor, each anchor takes at most ``capacity`` partners, as many partners are matched as the
capacity allows, and the total cost is least. The cost of a pair is

    cost = weight_distance * distance_km / DISTANCE_SCALE_KM + weight_dissimilarity * dissimilarity

where ``distance_km`` is the great-circle distance between the two sites and ``dissimilarity`` the Euclidean
distance between their standardised context features (``CONTEXT_FEATURES``: size, and deprivation where the
level has it), so anchors mentor providers near them and like them ("school families" of similar schools in
the London Challenge). It is solved exactly with SciPy's ``linear_sum_assignment`` on a matrix that repeats
each anchor ``capacity`` times (a partner assigned to any copy is assigned to the anchor); tests check the
optimum against brute force on small cases. Each pair is explained: its distance, dissimilarity and cost,
and the partner's cheapest anchor if that was not the one it got (the anchor was full).

``partnership_pairs`` returns (anchor, partner) pairs for the policy simulator's anchor lever.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.errors import UptakeError
from uptake.store.ecosystem_network_models import AnchorDesignation, AnchorPartnership, AnchorRound
from uptake.store.models import Indicator, utcnow
from uptake.store.repository import record_audit

ENTITY = "anchor-round"
BUNDLED_RULES = Path(str(resources.files("uptake.ecosystem").joinpath("rules")))
#: kilometres that cost as much as one unit of dissimilarity (at equal weights)
DISTANCE_SCALE_KM = 50.0
#: context features compared for peer dissimilarity: (column, transform) standardised over the level
CONTEXT_FEATURES = (("denominator", "log1p"), ("imd_score", "identity"))

#: fact -> what it is
FACTS: dict[str, str] = {
    "has_track_record": "1 if the organisation has a result both in the latest period and the span before it",
    "attainment_percentile": "where its latest value stands among all organisations of its level in England "
                             "(0 the worst, 1 the best, by the indicator's polarity)",
    "at_threshold": "1 if its latest value is at or beyond the indicator's adoption threshold",
    "improvement": "its change over the span, in percentage points, positive when better (by polarity)",
    "spread_to_peers": "the share of the other members of its footprint with results that improved over the span",
    "latest_value": "its value in the latest period (a proportion)",
    "periods": "periods with a result",
}
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
       "!=": operator.ne}
TEXT_FACTS = ("attainment_percentile_text", "improvement_text", "spread_to_peers_text", "improvement_span")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Strict):
    fact: str
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    value: float

    @model_validator(mode="after")
    def _known(self) -> "Comparison":
        if self.fact not in FACTS:
            raise ValueError(f"unknown fact {self.fact!r}; facts: {', '.join(FACTS)}")
        return self


class AllOf(_Strict):
    all: list["Condition"] = Field(min_length=1)


class AnyOf(_Strict):
    any: list["Condition"] = Field(min_length=1)


Condition = Union[Comparison, AllOf, AnyOf]
AllOf.model_rebuild()
AnyOf.model_rebuild()


def _check_because(text: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = names - set(FACTS) - set(TEXT_FACTS)
    if unknown:
        raise ValueError(f"'because' names unknown facts {sorted(unknown)}")
    return text


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    designate: bool
    when: Condition
    because: str

    @model_validator(mode="after")
    def _because(self) -> "Rule":
        _check_because(self.because)
        return self


class Default(_Strict):
    designate: bool
    because: str

    @model_validator(mode="after")
    def _because(self) -> "Default":
        _check_because(self.because)
        return self


class RuleSet(_Strict):
    id: str
    version: int = Field(ge=1)
    title: str
    status: Literal["draft", "published"]
    rationale: str
    improvement_span: dict[Literal["month", "quarter", "year"], int]
    rules: list[Rule] = Field(min_length=1)
    default: Default

    def span(self, period: str) -> int:
        if period not in self.improvement_span:
            raise UptakeError(f"the rule {self.id} v{self.version} gives no improvement span for {period} periods")
        return self.improvement_span[period]  # type: ignore[index]


def load_rule(version: int | None = None, directory: Path = BUNDLED_RULES) -> RuleSet:
    """The anchor designation rule of ``version`` (default: the newest), checked."""
    found = {}
    for path in directory.glob("anchor-designation-v*.yaml"):
        match = re.fullmatch(r"anchor-designation-v(\d+)\.yaml", path.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise UptakeError(f"no anchor designation rule in {directory}")
    chosen = max(found) if version is None else version
    if chosen not in found:
        raise UptakeError(f"no anchor designation rule version {chosen}; versions: {sorted(found)}")
    try:
        return RuleSet.model_validate(yaml.safe_load(found[chosen].read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise UptakeError(f"{found[chosen].name} is not a valid anchor rule: {exc}") from None


# --- facts ---------------------------------------------------------------------------------------------


def track_record(values: pd.DataFrame, members: pd.DataFrame, *, polarity: str, threshold: float | None,
                 span: int) -> pd.DataFrame:
    """The facts of every member (``members``: footprint_code, org_code) from ``values`` (org_code, period,
    value: every organisation of the level in England, every period). One row per member with a result in the
    latest period. ``attainment_percentile`` ranks among all of England's organisations of the level."""
    sign = -1.0 if polarity == "low-is-good" else 1.0
    v = values.dropna(subset=["value"])
    if v.empty:
        return pd.DataFrame(columns=["footprint_code", "org_code", *FACTS])
    periods = sorted(v["period"].unique())
    latest = periods[-1]
    before = periods[-1 - span] if len(periods) > span else None
    now = v.loc[v["period"] == latest].set_index("org_code")["value"]
    ranks = (sign * now).rank(method="average")
    percentile = (ranks - 1) / (len(now) - 1) if len(now) > 1 else ranks * 0 + 1.0
    then = v.loc[v["period"] == before].set_index("org_code")["value"] if before is not None else pd.Series(dtype=float)
    counts = v.groupby("org_code")["period"].nunique()
    change = sign * (now - then.reindex(now.index)) * 100  # percentage points, positive = better
    m = members.loc[members["org_code"].isin(now.index), ["footprint_code", "org_code"]].copy()
    m["latest_value"] = m["org_code"].map(now)
    m["attainment_percentile"] = m["org_code"].map(percentile)
    m["improvement"] = m["org_code"].map(change)
    m["has_track_record"] = m["improvement"].notna().astype(int)
    m["periods"] = m["org_code"].map(counts).astype(int)
    if threshold is None:
        m["at_threshold"] = 0
    else:
        at = now >= threshold if sign > 0 else now <= threshold
        m["at_threshold"] = m["org_code"].map(at).astype(int)
    improved = m["improvement"] > 0
    known = m["improvement"].notna()
    by_fp = pd.DataFrame({"fp": m["footprint_code"], "up": improved & known, "known": known})
    totals = by_fp.groupby("fp")[["up", "known"]].transform("sum")
    others_known = totals["known"] - by_fp["known"].astype(int)
    others_up = totals["up"] - by_fp["up"].astype(int)
    m["spread_to_peers"] = np.where(others_known > 0, others_up / others_known.where(others_known > 0, 1), np.nan)
    return m.reset_index(drop=True)


# --- the rule --------------------------------------------------------------------------------------------


def _holds(condition: Condition, facts: dict[str, Any]) -> bool:
    if isinstance(condition, AllOf):
        return all(_holds(c, facts) for c in condition.all)
    if isinstance(condition, AnyOf):
        return any(_holds(c, facts) for c in condition.any)
    value = facts.get(condition.fact)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False  # a fact that is not known satisfies no comparison
    return bool(OPS[condition.op](float(value), condition.value))


def _conditions(condition: Condition, facts: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(condition, (AllOf, AnyOf)):
        parts = condition.all if isinstance(condition, AllOf) else condition.any
        return [c for part in parts for c in _conditions(part, facts)]
    return [{"fact": condition.fact, "op": condition.op, "value": condition.value,
             "actual": facts.get(condition.fact), "holds": _holds(condition, facts)}]


def _texts(facts: dict[str, Any], span: int) -> dict[str, str]:
    def known(name):
        value = facts.get(name)
        return value is not None and not (isinstance(value, float) and math.isnan(value))

    return {
        "attainment_percentile_text": (f"percentile {100 * facts['attainment_percentile']:.0f}"
                                       if known("attainment_percentile") else "percentile unknown"),
        "improvement_text": (f"{facts['improvement']:+.1f} percentage points over {span} periods"
                             if known("improvement") else f"no result {span} periods before"),
        "spread_to_peers_text": (f"{100 * facts['spread_to_peers']:.0f}%" if known("spread_to_peers")
                                 else "an unknown share"),
        "improvement_span": str(span),
    }


@dataclass(frozen=True)
class Decision:
    designate: bool
    decided_by: str
    because: str
    trace: list[dict[str, Any]] = field(default_factory=list)


def evaluate_facts(rule: RuleSet, facts: dict[str, Any], span: int) -> Decision:
    """The rule's decision for one organisation's facts, with the trace of every rule."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in facts.items()}
    words = {**{k: ("" if v is None else v) for k, v in clean.items()}, **_texts(clean, span)}
    trace = []
    decided: Decision | None = None
    for r in rule.rules:
        holds = _holds(r.when, clean)
        trace.append({"rule": r.id, "designate": r.designate, "holds": holds, "conditions": _conditions(r.when, clean)})
        if holds and decided is None:
            decided = Decision(r.designate, r.id, " ".join(r.because.format(**words).split()))
    if decided is None:
        decided = Decision(rule.default.designate, "default", " ".join(rule.default.because.format(**words).split()))
    return Decision(decided.designate, decided.decided_by, decided.because, trace)


def designate(facts: pd.DataFrame, rule: RuleSet, span: int) -> pd.DataFrame:
    """``facts`` (from ``track_record``) with designate, decided_by, because and trace per organisation."""
    out = facts.copy()
    decisions = [evaluate_facts(rule, {k: row[k] for k in FACTS}, span) for row in facts.to_dict("records")]
    out["designate"] = [d.designate for d in decisions]
    out["decided_by"] = [d.decided_by for d in decisions]
    out["because"] = [d.because for d in decisions]
    out["trace"] = [d.trace for d in decisions]
    return out


# --- matching ------------------------------------------------------------------------------------------------


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km on a sphere of radius 6371 km (arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def context_scores(frame: pd.DataFrame) -> np.ndarray:
    """Standardised context features (``CONTEXT_FEATURES``) of each row of ``frame``: a feature with no known
    value, or no spread, is left out; a missing value sits at the mean (0)."""
    columns = []
    for name, transform in CONTEXT_FEATURES:
        if name not in frame:
            continue
        x = pd.to_numeric(frame[name], errors="coerce").astype(float)
        if transform == "log1p":
            x = np.log1p(x.clip(lower=0))
        sd = x.std(ddof=0)
        if x.notna().sum() < 2 or not sd or math.isnan(sd):
            continue
        columns.append(((x - x.mean()) / sd).fillna(0.0).to_numpy())
    return np.column_stack(columns) if columns else np.zeros((len(frame), 0))


def pair_costs(anchors: pd.DataFrame, partners: pd.DataFrame, scores_a: np.ndarray, scores_p: np.ndarray, *,
               weight_distance: float, weight_dissimilarity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance_km, dissimilarity, cost), each partners x anchors."""
    distance = great_circle_km(partners["lat"].to_numpy(float)[:, None], partners["lon"].to_numpy(float)[:, None],
                               anchors["lat"].to_numpy(float)[None, :], anchors["lon"].to_numpy(float)[None, :])
    if scores_a.shape[1]:
        dissimilarity = np.sqrt(((scores_p[:, None, :] - scores_a[None, :, :]) ** 2).sum(axis=2))
    else:
        dissimilarity = np.zeros_like(distance)
    cost = weight_distance * distance / DISTANCE_SCALE_KM + weight_dissimilarity * dissimilarity
    return distance, dissimilarity, cost


def assign(cost: np.ndarray, capacity: int) -> list[tuple[int, int]]:
    """The least-cost assignment of partners (rows) to anchors (columns), each anchor taking at most
    ``capacity`` partners, matching min(partners, anchors x capacity) of them: (partner, anchor) index pairs."""
    if capacity < 1:
        raise UptakeError("capacity must be at least 1 partner per anchor")
    n_partners, n_anchors = cost.shape
    if n_partners == 0 or n_anchors == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # deferred: SciPy is heavy

    slots = np.repeat(np.arange(n_anchors), capacity)
    rows, cols = linear_sum_assignment(cost[:, slots])
    return sorted((int(r), int(slots[c])) for r, c in zip(rows, cols, strict=True))


@dataclass(frozen=True)
class Pair:
    footprint_code: str
    anchor_code: str
    partner_code: str
    distance_km: float
    dissimilarity: float
    cost: float
    explanation: str


def _km(x: float) -> str:
    return f"{x:.1f} km"


def match_footprint(footprint: str, anchors: pd.DataFrame, partners: pd.DataFrame, *, capacity: int,
                    weight_distance: float, weight_dissimilarity: float, scores_a: np.ndarray,
                    scores_p: np.ndarray) -> tuple[list[Pair], list[str]]:
    """The partnerships of one footprint (each explained) and the partners left without an anchor."""
    if anchors.empty or partners.empty:
        return [], list(partners["org_code"])
    distance, dissimilarity, cost = pair_costs(anchors, partners, scores_a, scores_p, weight_distance=weight_distance,
                                               weight_dissimilarity=weight_dissimilarity)
    chosen = assign(cost, capacity)
    a_codes, p_codes = list(anchors["org_code"]), list(partners["org_code"])
    pairs = []
    for p, a in chosen:
        best = int(np.argmin(cost[p]))
        text = (f"{p_codes[p]} is {_km(distance[p, a])} from {a_codes[a]}, dissimilarity "
                f"{dissimilarity[p, a]:.2f} (size and deprivation, in standard deviations): cost "
                f"{weight_distance:g} x {distance[p, a]:.1f}/{DISTANCE_SCALE_KM:g} + {weight_dissimilarity:g} x "
                f"{dissimilarity[p, a]:.2f} = {cost[p, a]:.2f}. ")
        if best == a or math.isclose(cost[p, best], cost[p, a]):
            text += "No anchor in the footprint costs less for this partner."
        else:
            text += (f"Its cheapest anchor, {a_codes[best]} (cost {cost[p, best]:.2f}), has room for {capacity} "
                     f"partner(s) and the least total cost gives that room to others.")
        pairs.append(Pair(footprint, a_codes[a], p_codes[p], float(distance[p, a]), float(dissimilarity[p, a]),
                          float(cost[p, a]), text))
    matched = {p for p, _ in chosen}
    return pairs, [p_codes[i] for i in range(len(p_codes)) if i not in matched]


# --- a round ---------------------------------------------------------------------------------------------------


class FieldProblems(UptakeError):
    """Problems with what was asked, each at the field it belongs to: [(field, message)]. Nothing was saved."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(text for _, text in problems))


@dataclass(frozen=True)
class RoundPlan:
    """What a round would record: every member's facts and decision, the partnerships, the unmatched."""

    period: dt.date
    designations: pd.DataFrame
    pairs: list[Pair]
    unmatched: list[tuple[str, str]]


def plan_round(values: pd.DataFrame, members: pd.DataFrame, sites: pd.DataFrame, *, polarity: str,
               threshold: float | None, period_kind: str, rule: RuleSet, capacity: int, weight_distance: float = 1.0,
               weight_dissimilarity: float = 1.0) -> RoundPlan:
    """Designate and match, in memory. ``values``: org_code, period, value, denominator (the indicator at the
    members' level, all of England); ``members``: footprint_code, org_code; ``sites``: org_code, lat, lon,
    imd_score (current organisations)."""
    if capacity < 1:
        raise FieldProblems([("capacity", "Capacity must be at least 1 partner per anchor")])
    span = rule.span(period_kind)
    facts = track_record(values, members, polarity=polarity, threshold=threshold, span=span)
    decided = designate(facts, rule, span)
    latest = values.dropna(subset=["value"])["period"].max() if not values.empty else None
    size = values.loc[values["period"] == latest, ["org_code", "denominator"]] if latest is not None else \
        pd.DataFrame(columns=["org_code", "denominator"])
    context = sites.merge(size, on="org_code", how="left")
    context = context.loc[context["org_code"].isin(values["org_code"])].reset_index(drop=True)
    scores = context_scores(context)
    index = {code: i for i, code in enumerate(context["org_code"])}
    pairs: list[Pair] = []
    unmatched: list[tuple[str, str]] = []
    located = decided.merge(sites[["org_code", "lat", "lon"]], on="org_code", how="left")
    for fp, group in located.groupby("footprint_code", sort=True):
        group = group.loc[group["lat"].notna() & group["lon"].notna() & group["org_code"].isin(index)]
        anchors = group.loc[group["designate"]].reset_index(drop=True)
        partners = group.loc[~group["designate"]].reset_index(drop=True)
        sa = scores[[index[c] for c in anchors["org_code"]]] if len(anchors) else np.zeros((0, scores.shape[1]))
        sp = scores[[index[c] for c in partners["org_code"]]] if len(partners) else np.zeros((0, scores.shape[1]))
        found, left = match_footprint(str(fp), anchors, partners, capacity=capacity, weight_distance=weight_distance,
                                      weight_dissimilarity=weight_dissimilarity, scores_a=sa, scores_p=sp)
        pairs += found
        unmatched += [(str(fp), code) for code in left]
    period = pd.Timestamp(latest).date() if latest is not None else dt.date.today()
    return RoundPlan(period, decided, pairs, unmatched)


def check_round_fields(*, title: str, capacity: Any, funding: Any, weight_distance: Any = 1.0,
                       weight_dissimilarity: Any = 1.0) -> tuple[int, float, float, float]:
    """The round's numbers, checked; FieldProblems (each at its field) if any is wrong."""
    problems: list[tuple[str, str]] = []
    if not str(title or "").strip():
        problems.append(("title", "Enter a title for the round"))
    elif len(str(title)) > 255:
        problems.append(("title", "Title must be 255 characters or fewer"))
    try:
        cap = int(str(capacity).strip())
        if cap < 1:
            problems.append(("capacity", "Capacity must be at least 1 partner per anchor (0 would match nobody)"))
        elif cap > 50:
            problems.append(("capacity", "Capacity must be 50 partners per anchor or fewer"))
    except ValueError:
        cap = 0
        problems.append(("capacity", "Capacity must be a whole number of partners, like 3"))
    try:
        money = float(str(funding).replace(",", "").replace("£", "").strip())
        if money < 0 or math.isnan(money) or money > 1e9:
            problems.append(("funding", "Pilot funding must be between £0 and £1,000,000,000 per partnership"))
    except ValueError:
        money = 0.0
        problems.append(("funding", "Pilot funding must be an amount in pounds, like 25000"))
    weights = []
    for name, value in (("weight_distance", weight_distance), ("weight_dissimilarity", weight_dissimilarity)):
        try:
            w = float(str(value).strip())
            if w < 0 or math.isnan(w) or w > 100:
                raise ValueError
        except ValueError:
            w = 0.0
            problems.append((name, "A weight must be a number from 0 to 100"))
        weights.append(w)
    if not problems and weights[0] == 0 and weights[1] == 0:
        problems.append(("weight_distance", "At least one weight must be more than 0"))
    if problems:
        raise FieldProblems(problems)
    return cap, money, weights[0], weights[1]


def record_round(session: Session, actor: str, plan: RoundPlan, *, title: str, framework_id: str, indicator_id: str,
                 level: str, rule: RuleSet, capacity: int, funding: float, weight_distance: float,
                 weight_dissimilarity: float, synthetic: bool = False) -> AnchorRound:
    """Store a planned round (its designations with their traces and its partnerships with their funding),
    with an audit entry. The caller checks the person may (``may_run_rounds``)."""
    if session.get(Indicator, indicator_id) is None:
        raise FieldProblems([("indicator", f"There is no indicator {indicator_id!r} in the workflow database")])
    row = AnchorRound(title=title.strip(), framework_id=framework_id, indicator_id=indicator_id, level=level,
                      period=plan.period, rule_id=rule.id, rule_version=rule.version, capacity=capacity,
                      funding_per_partnership=funding, weight_distance=weight_distance,
                      weight_dissimilarity=weight_dissimilarity, synthetic=synthetic, created_by=actor,
                      created_at=utcnow())
    session.add(row)
    session.flush()
    for d in plan.designations.to_dict("records"):
        facts = {k: (None if isinstance(d[k], float) and math.isnan(d[k]) else
                     (d[k].item() if hasattr(d[k], "item") else d[k])) for k in FACTS}
        session.add(AnchorDesignation(round_id=row.id, footprint_code=d["footprint_code"], org_code=d["org_code"],
                                      designated=bool(d["designate"]), decided_by=d["decided_by"],
                                      because=d["because"], facts=facts, trace=_jsonable(d["trace"])))
    for p in plan.pairs:
        session.add(AnchorPartnership(round_id=row.id, footprint_code=p.footprint_code, anchor_code=p.anchor_code,
                                      partner_code=p.partner_code, distance_km=p.distance_km,
                                      dissimilarity=p.dissimilarity, cost=p.cost, funding_pounds=funding,
                                      explanation=p.explanation))
    session.flush()
    record_audit(session, actor, "anchor-round.run", ENTITY, str(row.id), {
        "title": row.title, "framework": framework_id, "indicator": indicator_id, "level": level,
        "period": plan.period.isoformat(), "rule": f"{rule.id} v{rule.version}", "capacity": capacity,
        "funding_per_partnership": funding, "weights": [weight_distance, weight_dissimilarity],
        "anchors": int(plan.designations["designate"].sum()) if len(plan.designations) else 0,
        "partnerships": len(plan.pairs), "unmatched": len(plan.unmatched), "synthetic": synthetic,
    })
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def rounds(session: Session) -> list[AnchorRound]:
    return list(session.scalars(select(AnchorRound).order_by(AnchorRound.id.desc())))


def get_round(session: Session, round_id: int) -> AnchorRound:
    row = session.get(AnchorRound, round_id)
    if row is None:
        raise UptakeError(f"there is no Health Innovation Challenge round {round_id}")
    return row


def partnership_pairs(session: Session, round_id: int | None = None, *,
                      indicator: str | None = None) -> list[tuple[str, str]]:
    """(anchor, partner) code pairs of a round (default: the newest, or the newest for ``indicator``), for the
    policy simulator's anchor lever. Empty when there is no such round."""
    if round_id is None:
        query = select(AnchorRound.id).order_by(AnchorRound.id.desc()).limit(1)
        if indicator is not None:
            query = query.where(AnchorRound.indicator_id == indicator)
        round_id = session.scalar(query)
        if round_id is None:
            return []
    found = session.execute(select(AnchorPartnership.anchor_code, AnchorPartnership.partner_code)
                            .where(AnchorPartnership.round_id == round_id).order_by(AnchorPartnership.id))
    return [(a, p) for a, p in found]


def partnerships_frame(session: Session, round_id: int) -> pd.DataFrame:
    """A round's partnerships with their costs, explanations and funding (the download)."""
    r = get_round(session, round_id)
    rows = [{"round": r.id, "footprint": p.footprint_code, "anchor": p.anchor_code, "partner": p.partner_code,
             "distance_km": round(p.distance_km, 1), "dissimilarity": round(p.dissimilarity, 3),
             "cost": round(p.cost, 3), "pilot_funding_pounds": p.funding_pounds, "explanation": p.explanation,
             "demo": r.synthetic} for p in r.partnerships]
    return pd.DataFrame(rows, columns=["round", "footprint", "anchor", "partner", "distance_km", "dissimilarity",
                                       "cost", "pilot_funding_pounds", "explanation", "demo"])


def designations_frame(session: Session, round_id: int) -> pd.DataFrame:
    r = get_round(session, round_id)
    rows = [{"round": r.id, "footprint": d.footprint_code, "org_code": d.org_code, "designated": d.designated,
             "decided_by": d.decided_by, "because": d.because, **{k: d.facts.get(k) for k in FACTS},
             "rule": f"{r.rule_id} v{r.rule_version}", "demo": r.synthetic} for d in r.designations]
    return pd.DataFrame(rows, columns=["round", "footprint", "org_code", "designated", "decided_by", "because",
                                       *FACTS, "rule", "demo"])

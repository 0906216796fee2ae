"""The Innovation Award (M10; IPPR "The innovation lottery", policy recommendation 5): an outcome-based award
in place of the Clinical Excellence Awards, which favoured men and white doctors.

- **Scheme**: versioned YAML (``award_schemes/<id>-v<version>.yaml``): budget, period, award levels (amount and
  minimum score), criteria tied to the NSF commitments (attainment, improvement, reach to patients, spread to
  peers) with weights, and the commitments a nomination may be for. ``load_scheme`` keeps every version.
- **Nominations** of a team or a person by a provider lead (for their own organisation; a national admin for
  any), with evidence, linked to the organisation and a commitment, and the groups the fairness audit needs
  (sex, ethnic group, profession, region, trust type; each with "prefer not to say").
- **Scores** from Uptake's own results (``score_nominations``; the commitment's attainment table and
  result_values, read through uptake.results.read), by the transparent formula::

      score = 100 * sum(weight_c * s_c) / sum(weight_c)          each s_c in [0, 1]

      attainment   1 if the latest status is "met", else clamp((value - minimum) / (target - minimum))
      improvement  clamp((latest value - first value) / (target - minimum))
      reach        share of the other organisations at the level with a smaller numerator in the latest
                   period (ties count half)
      spread       peers_met / peers_assessed in the latest period

  Each criterion carries its source (table, period, the numbers used): the explanation per nomination.
- **Awards by rank within budget** (``allocate``): nominations in order of score (then of nomination, first
  come first ranked); each earns the highest level whose minimum score it reaches that still fits the
  remaining budget. ``decide`` records a round (national admin), audited.
- **Fairness audit** (``fairness_audit``): award rates by group with Wilson 95% intervals, and the four-fifths
  rule: a group whose rate is under four fifths of the highest group's rate is flagged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.ecosystem.frontline_rules import FieldProblems, NotAllowed, org_record_problem, organisation
from uptake.errors import NotFound, UptakeError
from uptake.results import read
from uptake.stats import wilson
from uptake.store.ecosystem_award_models import (
    GROUPS,
    NOMINEE_KINDS,
    PREFER_NOT,
    AwardDecision,
    AwardNomination,
    AwardRound,
    AwardSchemeVersion,
)
from uptake.store.models import utcnow
from uptake.store.repository import record_audit

BUNDLED_SCHEMES = Path(str(resources.files("uptake.ecosystem").joinpath("award_schemes")))
FILE_NAME = re.compile(r"^(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)-v(?P<version>[1-9][0-9]*)\.yaml$")
CRITERIA = ("attainment", "improvement", "reach", "spread")
CRITERION_TITLES = {"attainment": "Attainment", "improvement": "Improvement", "reach": "Reach to patients",
                    "spread": "Spread to peers"}
GROUP_TITLES = {"sex": "Sex", "ethnic_group": "Ethnic group", "profession": "Profession", "region": "Region",
                "trust_type": "Trust type"}
#: The four-fifths rule (US EEOC Uniform Guidelines, 1978): a group's selection rate under 80% of the highest
#: group's rate is evidence of adverse impact.
FOUR_FIFTHS = 0.8
ENTITY = "award-nomination"


# --- who may do what --------------------------------------------------------------------------------------


def nominate_problem(who: Any, org_code: str) -> str | None:
    """Why ``who`` may not nominate for ``org_code``; None if they may (uptake.ecosystem.frontline_rules)."""
    return org_record_problem(who, org_code, "nominate for the Innovation Award")


def may_decide(who: Any) -> bool:
    """Score, rank and decide the awards: the national admin (the award's panel)."""
    return who.role == "national-admin"


def may_see_nomination(who: Any, org_code: str) -> bool:
    """Nominations carry personal data (the groups): the national admin, and the provider lead of the
    organisation, see them; others see only decided awards and the audit's totals."""
    return who.role == "national-admin" or (who.role == "provider-lead" and who.scope_org_code == org_code)


# --- the scheme ---------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Period(_Strict):
    start: dt.date
    end: dt.date


class Level(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    amount_pounds: float = Field(gt=0)
    min_score: float = Field(ge=0, le=100)


class Criterion(_Strict):
    weight: float = Field(ge=0)
    description: str = Field(min_length=1)


class Scheme(_Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    illustrative: bool = False
    period: Period
    budget_pounds: float = Field(gt=0)
    levels: list[Level] = Field(min_length=1)
    criteria: dict[str, Criterion]
    commitments: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Scheme:
        if self.period.end <= self.period.start:
            raise ValueError("period: the end must be after the start")
        if set(self.criteria) != set(CRITERIA):
            raise ValueError(f"criteria: give exactly {', '.join(CRITERIA)} (each with a weight)")
        if sum(c.weight for c in self.criteria.values()) <= 0:
            raise ValueError("criteria: the weights add up to nothing")
        scores = [level.min_score for level in self.levels]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("levels: list them from the highest minimum score down, each minimum once")
        for item in self.commitments:
            if not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", item):
                raise ValueError(f"commitments: {item!r} is not framework/commitment")
        return self

    def level(self, level_id: str | None) -> Level | None:
        return next((lv for lv in self.levels if lv.id == level_id), None)


def read_scheme(path: Path | str) -> Scheme:
    """A scheme file, checked: UptakeError naming the file and every problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UptakeError(f"{path}: cannot read the scheme: {exc}") from None
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise UptakeError(f"{path}: {problems}") from None
    match = FILE_NAME.match(path.name)
    if match is None or match["id"] != scheme.id or int(match["version"]) != scheme.version:
        raise UptakeError(f"{path}: name the file {scheme.id}-v{scheme.version}.yaml (its id and version)")
    return scheme


def bundled_scheme() -> Scheme:
    """The newest bundled scheme version."""
    paths = sorted(BUNDLED_SCHEMES.glob("*.yaml"), key=lambda p: int(FILE_NAME.match(p.name)["version"]))
    return read_scheme(paths[-1])


def _sha(scheme: Scheme) -> str:
    return hashlib.sha256(json.dumps(scheme.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def load_scheme(session: Session, who: Any, scheme: Scheme) -> tuple[AwardSchemeVersion, bool]:
    """Store a scheme version (national admin; audited). The same version again is a no-op (False); a
    different definition under a version already loaded is refused: give it a new version."""
    if not may_decide(who):
        raise NotAllowed("only a national admin loads award schemes")
    sha = _sha(scheme)
    found = session.scalar(select(AwardSchemeVersion).where(
        AwardSchemeVersion.scheme_id == scheme.id, AwardSchemeVersion.version == scheme.version))
    if found is not None:
        if found.content_sha256 == sha:
            return found, False
        raise UptakeError(f"scheme {scheme.id} version {scheme.version} is already loaded with other content; "
                          "give the changed scheme a new version")
    row = AwardSchemeVersion(scheme_id=scheme.id, version=scheme.version, title=scheme.title,
                             definition=scheme.model_dump(mode="json"), content_sha256=sha,
                             loaded_by=who.actor, loaded_at=utcnow())
    session.add(row)
    session.flush()
    record_audit(session, who.actor, "award.scheme-load", "award-scheme", f"{scheme.id}@{scheme.version}",
                 {"sha256": sha, "budget_pounds": scheme.budget_pounds})
    return row, True


def current_scheme(session: Session, scheme_id: str | None = None) -> Scheme | None:
    """The newest loaded version of a scheme (of any scheme when no id is given); None if none is loaded."""
    query = select(AwardSchemeVersion)
    if scheme_id:
        query = query.where(AwardSchemeVersion.scheme_id == scheme_id)
    row = session.scalar(query.order_by(AwardSchemeVersion.loaded_at.desc(), AwardSchemeVersion.version.desc(),
                                        AwardSchemeVersion.id.desc()).limit(1))
    return None if row is None else Scheme.model_validate(row.definition)


def scheme_version(session: Session, scheme_id: str, version: int) -> Scheme:
    row = session.scalar(select(AwardSchemeVersion).where(
        AwardSchemeVersion.scheme_id == scheme_id, AwardSchemeVersion.version == version))
    if row is None:
        raise NotFound(f"no award scheme {scheme_id} version {version}")
    return Scheme.model_validate(row.definition)


# --- nominations ----------------------------------------------------------------------------------------------


#: form fields of a nomination, in the order the form shows them, with their labels
NOMINATION_FIELDS: dict[str, str] = {
    "nominee_name": "Name of the person or team",
    "nominee_kind": "Person or team",
    "org_code": "Organisation code",
    "commitment": "Commitment",
    "evidence": "Evidence",
    **{name: GROUP_TITLES[name] for name in GROUPS},
}
MIN_EVIDENCE = 20


def nominate(session: Session, who: Any, scheme: Scheme, values: dict[str, Any], *,
             synthetic: bool = False) -> AwardNomination:
    """Record a nomination (audited). Every problem is reported at its field (FieldProblems) and nothing is
    saved; a role or scope that may not nominate raises NotAllowed."""
    data = {k: (str(v).strip() if v is not None else "") for k, v in values.items()}
    problems: list[tuple[str, str]] = []
    if not data.get("nominee_name"):
        problems.append(("nominee_name", "Enter the name of the person or team nominated"))
    elif len(data["nominee_name"]) > 255:
        problems.append(("nominee_name", "The name must be 255 characters or fewer"))
    if data.get("nominee_kind") not in NOMINEE_KINDS:
        problems.append(("nominee_kind", "Choose person or team"))
    org_code = data.get("org_code", "").upper()
    if not org_code:
        problems.append(("org_code", "Enter the ODS code of the organisation"))
    elif organisation(session, org_code) is None:
        problems.append(("org_code", f"There is no organisation {org_code}: enter an ODS code Uptake knows"))
    if data.get("commitment") not in scheme.commitments:
        problems.append(("commitment", "Choose one of the scheme's commitments"))
    evidence = data.get("evidence", "")
    if not evidence:
        problems.append(("evidence", "Enter the evidence for the nomination: what they did and what changed"))
    elif len(evidence) < MIN_EVIDENCE:
        problems.append(("evidence", f"The evidence must be at least {MIN_EVIDENCE} characters"))
    for name, allowed in GROUPS.items():
        if data.get(name) not in allowed:
            problems.append((name, f"Choose one of the options for {GROUP_TITLES[name].lower()}, or prefer not to "
                                   "say"))
    if problems:
        raise FieldProblems(problems)
    reason = nominate_problem(who, org_code)
    if reason:
        raise NotAllowed(f"{who.actor} may not nominate for {org_code}: {reason}")
    framework, _, commitment = data["commitment"].partition("/")
    row = AwardNomination(
        scheme_id=scheme.id, scheme_version=scheme.version, nominee_name=data["nominee_name"],
        nominee_kind=data["nominee_kind"], org_code=org_code, framework_id=framework, commitment_key=commitment,
        evidence=evidence, synthetic=synthetic, created_by=who.actor, created_at=utcnow(),
        **{name: data[name] for name in GROUPS},
    )
    session.add(row)
    session.flush()
    record_audit(session, who.actor, "award.nominate", ENTITY, str(row.id), {
        "scheme": f"{scheme.id}@{scheme.version}", "org_code": org_code, "commitment": data["commitment"],
        "nominee_kind": row.nominee_kind, "synthetic": synthetic})
    return row


NOMINATION_COLUMNS = ["id", "scheme_id", "scheme_version", "nominee_name", "nominee_kind", "org_code", "framework",
                      "commitment", "evidence", *GROUPS, "synthetic", "created_by", "created_at"]


def nominations_frame(session: Session, who: Any, scheme: Scheme | None = None) -> pd.DataFrame:
    """The nominations ``who`` may see (of one scheme version, if given), oldest first."""
    query = select(AwardNomination).order_by(AwardNomination.id)
    if scheme is not None:
        query = query.where(AwardNomination.scheme_id == scheme.id,
                            AwardNomination.scheme_version == scheme.version)
    rows = [{"id": n.id, "scheme_id": n.scheme_id, "scheme_version": n.scheme_version,
             "nominee_name": n.nominee_name, "nominee_kind": n.nominee_kind, "org_code": n.org_code,
             "framework": n.framework_id, "commitment": n.commitment_key, "evidence": n.evidence,
             **{g: getattr(n, g) for g in GROUPS}, "synthetic": bool(n.synthetic), "created_by": n.created_by,
             "created_at": n.created_at}
            for n in session.scalars(query) if may_see_nomination(who, n.org_code)]
    return pd.DataFrame(rows, columns=NOMINATION_COLUMNS)


def all_nominations(session: Session, scheme: Scheme) -> pd.DataFrame:
    """Every nomination of a scheme version, for scoring and the audit (callers show only what a person may
    see: the audit's totals are public, the rows are not)."""
    return nominations_frame(session, _PANEL, scheme)


@dataclass(frozen=True)
class _Panel:
    role: str = "national-admin"
    actor: str = "system"
    scope_org_code: str | None = None


_PANEL = _Panel()


# --- scores ----------------------------------------------------------------------------------------------------


def _clamp(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _pct(value: float | None) -> str:
    return "no value" if value is None else f"{value * 100:.1f}%"


@dataclass
class Scored:
    nomination_id: int
    score: float
    #: criterion -> {"score": 0..1, "weight": w, "points": share of the 100, "source": text, "inputs": {...}}
    criteria: dict[str, dict[str, Any]] = field(default_factory=dict)
    synthetic_results: bool = False


def _numerators(cur: Any, indicator: str, level: str, period: dt.date) -> dict[str, float]:
    """Every organisation's numerator of ``indicator`` at ``level`` in ``period`` (those with one)."""
    found, _ = read.values.values(cur, indicator=indicator, level=level, period=period)
    return {r["org_code"]: float(r["numerator"]) for r in found if _num(r.get("numerator")) is not None}


def _records(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Attainment rows by organisation, each organisation's in order of period (then level), as plain dicts
    (pandas' per-row access costs more than the scoring)."""
    out: dict[str, list[dict[str, Any]]] = {}
    if frame.empty:
        return out
    order = frame.assign(_day=pd.to_datetime(frame["period"])).sort_values(["org_code", "_day", "level"]).index
    ordered = frame.loc[order]
    for row in ordered.astype(object).where(ordered.notna(), None).to_dict("records"):
        out.setdefault(row["org_code"], []).append(row)
    return out


def _latest_key(rows: list[dict[str, Any]]) -> tuple[str, str, dt.date] | None:
    """(indicator, level, period) of an organisation's latest attainment row."""
    if not rows:
        return None
    latest = rows[-1]
    return str(latest["indicator"]), str(latest["level"]), pd.Timestamp(latest["period"]).date()


def score_one(cur: Any, scheme: Scheme, framework: str, commitment: str, org_code: str,
              nomination_id: int = 0, units: dict[str, str] | None = None) -> Scored:
    """One nomination's score from the results, with each criterion's score and source: the plain reference
    (three queries a nomination); ``score_nominations`` batches them and must agree
    (tests/test_ecosystem_award.py)."""
    rows = _records(read.attainment.attainment(cur, framework=framework, commitment=commitment,
                                               org_code=org_code)).get(org_code, [])
    key = _latest_key(rows)
    return _score(scheme, framework, commitment, org_code, nomination_id, rows,
                  _numerators(cur, *key) if key else {}, units)


def _score(scheme: Scheme, framework: str, commitment: str, org_code: str, nomination_id: int,
           rows: list[dict[str, Any]], numerators: dict[str, float], units: dict[str, str] | None) -> Scored:
    """The score of one nomination from its organisation's attainment rows on the commitment (in order of
    period) and every
    organisation's numerator at the level and period of its latest row."""
    weights = {c: scheme.criteria[c].weight for c in CRITERIA}
    total_weight = sum(weights.values())
    where = f"result_attainment {framework}/{commitment}, {org_code}"
    parts: dict[str, tuple[float, str, dict[str, Any]]] = {}
    synthetic = False
    if not rows:
        for c in CRITERIA:
            parts[c] = (0.0, f"no result for {org_code} on {framework}/{commitment}: scores 0", {})
    else:
        latest, first = rows[-1], rows[0]
        synthetic = any(bool(r.get("synthetic")) for r in rows)
        value, v0 = _num(latest["value"]), _num(first["value"])
        minimum, target = _num(latest["minimum_standard"]), _num(latest["target"])
        period = pd.Timestamp(latest["period"]).date().isoformat()
        first_period = pd.Timestamp(first["period"]).date().isoformat()
        span = None if minimum is None or target is None or target == minimum else target - minimum
        status = str(latest["status"])
        if status == "met":
            s = 1.0
            text = f"{where}, {period}: status met ({_pct(value)} against a target of {_pct(target)})"
        elif value is None or span is None:
            s = 0.0
            text = f"{where}, {period}: no value to judge (status {status})"
        else:
            s = _clamp((value - minimum) / span)
            text = (f"{where}, {period}: ({_pct(value)} - minimum {_pct(minimum)}) / (target {_pct(target)} - "
                    f"minimum {_pct(minimum)}) = {s:.2f}")
        parts["attainment"] = (s, text, {"period": period, "value": value, "minimum_standard": minimum,
                                         "target": target, "status": status})
        if len({pd.Timestamp(r["period"]) for r in rows}) < 2 or value is None or v0 is None or span is None:
            parts["improvement"] = (0.0, f"{where}: one period only ({period}); no change to measure: scores 0",
                                    {"first_period": first_period, "period": period})
        else:
            s = _clamp((value - v0) / span)
            parts["improvement"] = (s, f"{where}: {_pct(v0)} in {first_period} to {_pct(value)} in {period}, "
                                       f"a change of {(value - v0) * 100:+.1f} points over the "
                                       f"{abs(span) * 100:.1f} from minimum to target = {s:.2f}",
                                    {"first_period": first_period, "first_value": v0, "period": period,
                                     "value": value})
        indicator, level = str(latest["indicator"]), str(latest["level"])
        unit = (units or {}).get(indicator, "counts of the numerator")
        if org_code not in numerators:
            parts["reach"] = (0.0, f"result_values {indicator}, {org_code}, {period}: no numerator: scores 0",
                              {"indicator": indicator})
        else:
            n_mine = numerators[org_code]
            counts = [n for code, n in numerators.items() if code != org_code]
            if not counts:
                s, text = 1.0, "the only organisation at its level with a result"
            else:
                below = sum(1 for c in counts if c < n_mine) + 0.5 * sum(1 for c in counts if c == n_mine)
                s = below / len(counts)
                text = f"more than {s * 100:.0f}% of the other {len(counts)} organisations at level {level}"
            parts["reach"] = (s, f"result_values {indicator}, {org_code}, {period}: {n_mine:,.0f} {unit} "
                                 f"reached, {text}", {"indicator": indicator, "numerator": n_mine, "unit": unit,
                                                     "others": len(counts)})
        assessed, met = _num(latest.get("peers_assessed")), _num(latest.get("peers_met"))
        if not assessed:
            parts["spread"] = (0.0, f"{where}, {period}: no peers assessed: scores 0", {})
        else:
            s = _clamp((met or 0.0) / assessed)
            parts["spread"] = (s, f"{where}, {period}: {met or 0:.0f} of its {assessed:.0f} most similar peers met "
                                  f"the commitment = {s:.2f}", {"peers_met": met, "peers_assessed": assessed})
    criteria = {}
    total = 0.0
    for c in CRITERIA:
        s, text, inputs = parts[c]
        points = 100.0 * weights[c] * s / total_weight
        total += points
        criteria[c] = {"title": CRITERION_TITLES[c], "score": round(s, 6), "weight": weights[c],
                       "points": round(points, 4), "source": text, "inputs": inputs}
    return Scored(nomination_id, round(total, 4), criteria, synthetic)


def score_nominations(cur: Any, scheme: Scheme, nominations: pd.DataFrame,
                      units: dict[str, str] | None = None) -> list[Scored]:
    """Every nomination's score (as ``score_one`` gives it), in nomination order, with one query per
    commitment and one per (indicator, level, period) instead of three per nomination."""
    by_commitment: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    for framework, commitment in {(n.framework, n.commitment) for n in nominations.itertuples(index=False)}:
        rows = read.attainment.attainment(cur, framework=framework, commitment=commitment)
        by_commitment[(framework, commitment)] = _records(rows)
    numerators: dict[tuple[str, str, dt.date], dict[str, float]] = {}
    out = []
    for n in nominations.itertuples(index=False):
        rows = by_commitment[(n.framework, n.commitment)].get(n.org_code, [])
        key = _latest_key(rows)
        if key is not None and key not in numerators:
            numerators[key] = _numerators(cur, *key)
        out.append(_score(scheme, n.framework, n.commitment, n.org_code, int(n.id), rows,
                          numerators[key] if key else {}, units))
    return out


# --- awards by rank within budget ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    nomination_id: int
    rank: int
    score: float
    level: str | None
    amount_pounds: float
    reason: str


def allocate(scheme: Scheme, scores: list[tuple[int, float]]) -> list[Allocation]:
    """Awards by rank within the budget: [(nomination id, score)] -> allocations in rank order. Ties in score
    are ranked by nomination id (the earlier nomination first)."""
    remaining = scheme.budget_pounds
    out: list[Allocation] = []
    ranked = sorted(scores, key=lambda item: (-item[1], item[0]))
    for rank, (nomination_id, score) in enumerate(ranked, start=1):
        qualifying = [lv for lv in scheme.levels if score >= lv.min_score]
        if not qualifying:
            lowest = scheme.levels[-1]
            out.append(Allocation(nomination_id, rank, score, None, 0.0,
                                  f"score {score:.1f} is below the lowest level's minimum ({lowest.min_score:g})"))
            continue
        fitting = [lv for lv in qualifying if lv.amount_pounds <= remaining + 1e-9]
        if not fitting:
            out.append(Allocation(nomination_id, rank, score, None, 0.0,
                                  f"qualifies for {qualifying[0].title}, but the budget left (£{remaining:,.0f}) "
                                  "does not cover any level it qualifies for"))
            continue
        level = fitting[0]
        remaining -= level.amount_pounds
        why = f"score {score:.1f} reaches {level.title} (minimum {level.min_score:g})"
        if level is not qualifying[0]:
            why += f"; {qualifying[0].title} no longer fitted the budget"
        out.append(Allocation(nomination_id, rank, score, level.id, level.amount_pounds, why))
    return out


def decide(session: Session, who: Any, scheme: Scheme, scored: list[Scored], *,
           synthetic: bool = False) -> AwardRound:
    """Record the awards of a scheme version as allocated now (national admin; audited)."""
    if not may_decide(who):
        raise NotAllowed("only a national admin decides the awards")
    if not scored:
        raise UptakeError(f"there are no nominations for {scheme.title} to decide")
    allocations = allocate(scheme, [(s.nomination_id, s.score) for s in scored])
    by_id = {s.nomination_id: s for s in scored}
    awarded = sum(a.amount_pounds for a in allocations)
    round_ = AwardRound(scheme_id=scheme.id, scheme_version=scheme.version, budget_pounds=scheme.budget_pounds,
                        awarded_pounds=awarded, synthetic=synthetic, decided_by=who.actor, decided_at=utcnow())
    session.add(round_)
    session.flush()
    for a in allocations:
        session.add(AwardDecision(round_id=round_.id, nomination_id=a.nomination_id, rank=a.rank, score=a.score,
                                  level=a.level, amount_pounds=a.amount_pounds,
                                  explanation={"criteria": by_id[a.nomination_id].criteria, "reason": a.reason}))
    session.flush()
    record_audit(session, who.actor, "award.decide", "award-round", str(round_.id), {
        "scheme": f"{scheme.id}@{scheme.version}", "nominations": len(allocations),
        "awarded": sum(1 for a in allocations if a.level), "awarded_pounds": awarded})
    return round_


def latest_round(session: Session, scheme: Scheme) -> AwardRound | None:
    return session.scalar(select(AwardRound).where(
        AwardRound.scheme_id == scheme.id, AwardRound.scheme_version == scheme.version)
        .order_by(AwardRound.id.desc()).limit(1))


# --- the fairness audit -----------------------------------------------------------------------------------


AUDIT_COLUMNS = ["attribute", "group", "nominated", "awarded", "rate", "ci95_low", "ci95_high", "reference_group",
                 "reference_rate", "impact_ratio", "four_fifths"]


def fairness_audit(frame: pd.DataFrame) -> pd.DataFrame:
    """Award rates by group: one row per attribute (sex, ethnic group, profession, region, trust type) and
    group of its vocabulary, with the number nominated and awarded, the rate and its Wilson 95% interval, and
    the four-fifths rule against the group with the highest rate ("prefer not to say" is shown but is never
    the reference). ``frame`` has a column per attribute and a boolean ``awarded``.

    four_fifths: "passes" (impact ratio >= 0.8), "below four fifths", "reference" (the highest rate),
    "none nominated", or "no awards" (no group of the attribute has an award: nothing to compare)."""
    out = []
    for attribute, vocabulary in GROUPS.items():
        counts = []
        for group in vocabulary:
            mask = frame[attribute] == group if len(frame) else pd.Series([], dtype=bool)
            n = int(mask.sum())
            x = int(frame.loc[mask, "awarded"].astype(bool).sum()) if n else 0
            counts.append((group, n, x))
        rated = [(g, x / n) for g, n, x in counts if n > 0 and g != PREFER_NOT]
        best = max(rated, key=lambda item: item[1]) if rated else None
        ns = np.array([n for _, n, _ in counts], dtype=float)
        xs = np.array([x for _, _, x in counts], dtype=float)
        safe_n = np.where(ns > 0, ns, 1.0)
        low, high = wilson(xs, safe_n)
        for i, (group, n, x) in enumerate(counts):
            rate = x / n if n else None
            if n == 0:
                verdict, ratio = "none nominated", None
            elif best is None or best[1] == 0:
                verdict, ratio = "no awards", None
            else:
                ratio = rate / best[1]
                if group == best[0]:
                    verdict = "reference"
                else:
                    verdict = "passes" if ratio >= FOUR_FIFTHS - 1e-12 else "below four fifths"
            out.append({"attribute": attribute, "group": group, "nominated": n, "awarded": x, "rate": rate,
                        "ci95_low": float(low[i]) if n else None, "ci95_high": float(high[i]) if n else None,
                        "reference_group": best[0] if best else None, "reference_rate": best[1] if best else None,
                        "impact_ratio": ratio, "four_fifths": verdict})
    return pd.DataFrame(out, columns=AUDIT_COLUMNS)


def awarded_frame(session: Session, scheme: Scheme, proposed: list[Allocation] | None = None) -> tuple[pd.DataFrame, str]:
    """The nominations of a scheme version with ``awarded`` from its latest decided round, or (when none is
    decided yet) from the proposed allocation; and which it is ("decided" or "proposed")."""
    nominations = all_nominations(session, scheme)
    round_ = latest_round(session, scheme)
    if round_ is not None:
        won = {d.nomination_id for d in round_.decisions if d.level}
        basis = "decided"
    else:
        won = {a.nomination_id for a in (proposed or []) if a.level}
        basis = "proposed"
    return nominations.assign(awarded=nominations["id"].isin(won)), basis

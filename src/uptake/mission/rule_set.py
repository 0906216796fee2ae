"""The innovation rating rule set: a versioned YAML file (rules/<id>-v<version>.yaml), its facts, and its
evaluation. The rating rules themselves are data (rules/innovation-ratings-v1.yaml); this file is
everything that reads them.

A rule set lists rules in order. Each has a rating, a condition over the **facts** of an organisation's
rating year, and a ``because`` sentence that may name facts in braces. The first rule whose condition
holds gives the rating; if none does, the default applies. Conditions are a fact compared with a number
(``{fact: missed, op: ">=", value: 1}``) or ``all:`` / ``any:`` lists of conditions.

Facts are computed from the **evidence**: one row per commitment in scope, its latest result in the year
(`FACTS` documents each). The same function computes them for the whole country (vectorised, pandas) and
for one trace (`facts_from_evidence`), so every stored trace can be re-evaluated to reproduce its rating.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import string
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from uptake.catalogue.schemas import SLUG
from uptake.errors import UptakeError
from uptake.levels import Level

BUNDLED_RULES = Path(str(resources.files("uptake.mission").joinpath("rules")))
RATINGS = ("outstanding", "good", "requires-improvement", "inadequate")
Rating = Literal["outstanding", "good", "requires-improvement", "inadequate"]

#: fact -> what it counts, over the commitments in scope with a result in the rating year
FACTS: dict[str, str] = {
    "commitments": "commitments with a result in the year",
    "met": "commitments met (the target reached)",
    "on_trajectory": "commitments clearly at or above their trajectory",
    "not_distinguishable": "commitments whose interval straddles the standard, trajectory or target",
    "off_trajectory": "commitments clearly between the standard in force and the trajectory",
    "missed": "commitments clearly below the standard in force",
    "on_track": "commitments met, on trajectory, or not distinguishable from the trajectory or target",
    "share_met": "met / commitments",
    "share_on_track": "on_track / commitments",
    "share_missed": "missed / commitments",
    "share_off_or_missed": "(off_trajectory + missed) / commitments",
    "missed_opportunities": "commitments not met while most similar peers with a result met them",
    "watch_list": "commitments below the minimum standard for the watch list's consecutive periods",
    "assurance_fail": "commitments whose SPC limits say the process will consistently fail the standard",
    "assurance_pass": "commitments whose SPC limits say the process will consistently pass the standard",
    "better_than_england": "commitments where it is better (or best) compared with England",
    "worse_than_england": "commitments where it is worse (or worst) compared with England",
    "share_better_than_england": "better_than_england / commitments",
}
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
       "!=": operator.ne}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(Strict):
    fact: str
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    value: float

    @model_validator(mode="after")
    def _known_fact(self) -> "Comparison":
        if self.fact not in FACTS:
            raise ValueError(f"unknown fact {self.fact!r}; facts: {', '.join(FACTS)}")
        return self


class AllOf(Strict):
    all: list["Condition"] = Field(min_length=1)


class AnyOf(Strict):
    any: list["Condition"] = Field(min_length=1)


Condition = Union[Comparison, AllOf, AnyOf]
AllOf.model_rebuild()
AnyOf.model_rebuild()


def _check_template(text: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = names - set(FACTS)
    if unknown:
        raise ValueError(f"'because' names unknown facts {sorted(unknown)}; facts: {', '.join(FACTS)}")
    return text


class Rule(Strict):
    id: str = Field(pattern=SLUG)
    rating: Rating
    when: Condition
    because: str

    @model_validator(mode="after")
    def _template(self) -> "Rule":
        _check_template(self.because)
        return self


class Default(Strict):
    rating: Rating
    because: str

    @model_validator(mode="after")
    def _template(self) -> "Default":
        _check_template(self.because)
        return self


class Watch(Strict):
    consecutive_periods: dict[Literal["month", "quarter", "year"], int]

    @model_validator(mode="after")
    def _positive(self) -> "Watch":
        if any(n < 1 for n in self.consecutive_periods.values()):
            raise ValueError("consecutive_periods must be at least 1")
        missing = {"month", "quarter", "year"} - set(self.consecutive_periods)
        if missing:
            raise ValueError(f"consecutive_periods needs a number for {', '.join(sorted(missing))}")
        return self


class MissedOpportunity(Strict):
    peer_share_met_above: float = Field(ge=0, lt=1)
    minimum_peers_assessed: int = Field(ge=1)


class RuleSet(Strict):
    id: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    title: str
    status: Literal["draft", "published"]
    rationale: str
    rating_year_start_month: int = Field(ge=1, le=12)
    levels: list[Level] = Field(min_length=1)
    decertification_watch: Watch
    missed_opportunity: MissedOpportunity
    rules: list[Rule] = Field(min_length=1)
    default: Default

    @model_validator(mode="after")
    def _unique_ids(self) -> "RuleSet":
        ids = [r.id for r in self.rules]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rule ids used twice: {', '.join(twice)}")
        return self

    @property
    def sha256(self) -> str:
        data = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(data.encode()).hexdigest()


def load_rule_set(path: Path | str | None = None) -> RuleSet:
    """The rule set in `path` (default: the newest bundled published one). Errors name the file and field."""
    if path is None:
        candidates = sorted(BUNDLED_RULES.glob("*.yaml"), key=_version_of)
        if not candidates:
            raise UptakeError(f"no rule sets in {BUNDLED_RULES}")
        path = candidates[-1]
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UptakeError(f"{path}: cannot read the rule set ({exc})") from None
    try:
        rule_set = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path.name}: field {'.'.join(str(p) for p in e['loc']) or '(rule set)'}: {e['msg']}"
                    for e in exc.errors()]
        raise UptakeError("the rule set has problems:\n  " + "\n  ".join(problems)) from None
    expected = f"{rule_set.id}-v{rule_set.version}.yaml"
    if path.name != expected:
        raise UptakeError(f"{path.name}: the file holds {rule_set.id} v{rule_set.version}; name it {expected}")
    return rule_set


def _version_of(path: Path) -> tuple[str, int]:
    match = re.match(r"^(.*)-v([0-9]+)\.yaml$", path.name)
    return (match[1], int(match[2])) if match else (path.stem, 0)


# --- facts ----------------------------------------------------------------------------------------------


def mark_evidence(evidence: pd.DataFrame, rule_set: RuleSet, period_types: pd.Series) -> pd.DataFrame:
    """Add the rule set's judgements to evidence rows (attainment rows): watch_threshold, on_watch_list,
    missed_opportunity. `period_types` gives each row's indicator period (month, quarter or year)."""
    out = evidence.copy()
    thresholds = period_types.map(rule_set.decertification_watch.consecutive_periods).astype("int64")
    out["watch_threshold"] = thresholds.to_numpy()
    out["on_watch_list"] = out["periods_below_minimum"].to_numpy() >= out["watch_threshold"].to_numpy()
    mo = rule_set.missed_opportunity
    assessed = out["peers_assessed"].to_numpy(dtype=float)
    share = np.divide(out["peers_met"].to_numpy(dtype=float), assessed, out=np.zeros(len(out)), where=assessed > 0)
    out["missed_opportunity"] = (
        (out["status"].to_numpy() != "met") & (assessed >= mo.minimum_peers_assessed) & (share > mo.peer_share_met_above)
    )
    return out


def facts_frame(evidence: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The facts of every group of evidence rows (vectorised): one row per key."""
    e = evidence
    flags = pd.DataFrame({
        **{k: e[k] for k in keys},
        "commitments": 1,
        "met": (e["status"] == "met").astype(int),
        "on_trajectory": (e["status"] == "on-trajectory").astype(int),
        "not_distinguishable": (e["status"] == "not-distinguishable").astype(int),
        "off_trajectory": (e["status"] == "off-trajectory").astype(int),
        "missed": (e["status"] == "missed").astype(int),
        "on_track": (e["rank"].astype(int) >= 3).astype(int),
        "missed_opportunities": e["missed_opportunity"].astype(bool).astype(int),
        "watch_list": e["on_watch_list"].astype(bool).astype(int),
        "assurance_fail": (e["assurance"] == "consistently-fail").astype(int),
        "assurance_pass": (e["assurance"] == "consistently-pass").astype(int),
        "better_than_england": e["comparison"].isin(["better", "best"]).astype(int),
        "worse_than_england": e["comparison"].isin(["worse", "worst"]).astype(int),
    })
    facts = flags.groupby(keys, as_index=False, sort=True).sum()
    return _add_shares(facts)


def _add_shares(facts: pd.DataFrame) -> pd.DataFrame:
    n = facts["commitments"].astype(float)
    facts["share_met"] = facts["met"] / n
    facts["share_on_track"] = facts["on_track"] / n
    facts["share_missed"] = facts["missed"] / n
    facts["share_off_or_missed"] = (facts["off_trajectory"] + facts["missed"]) / n
    facts["share_better_than_england"] = facts["better_than_england"] / n
    return facts


def facts_from_evidence(evidence: list[dict[str, Any]]) -> dict[str, float]:
    """The facts of one trace's evidence rows, in plain Python: an independent implementation of the
    definitions `facts_frame` vectorises (the tests check that the two agree on every rating)."""
    if not evidence:
        raise ValueError("a rating needs at least one commitment with a result")
    n = len(evidence)

    def count(test) -> int:
        return sum(1 for item in evidence if test(item))

    facts: dict[str, float] = {
        "commitments": n,
        "met": count(lambda e: e["status"] == "met"),
        "on_trajectory": count(lambda e: e["status"] == "on-trajectory"),
        "not_distinguishable": count(lambda e: e["status"] == "not-distinguishable"),
        "off_trajectory": count(lambda e: e["status"] == "off-trajectory"),
        "missed": count(lambda e: e["status"] == "missed"),
        "on_track": count(lambda e: int(e["rank"]) >= 3),
        "missed_opportunities": count(lambda e: bool(e["missed_opportunity"])),
        "watch_list": count(lambda e: bool(e["on_watch_list"])),
        "assurance_fail": count(lambda e: e.get("assurance") == "consistently-fail"),
        "assurance_pass": count(lambda e: e.get("assurance") == "consistently-pass"),
        "better_than_england": count(lambda e: e.get("comparison") in ("better", "best")),
        "worse_than_england": count(lambda e: e.get("comparison") in ("worse", "worst")),
    }
    facts["share_met"] = facts["met"] / n
    facts["share_on_track"] = facts["on_track"] / n
    facts["share_missed"] = facts["missed"] / n
    facts["share_off_or_missed"] = (facts["off_trajectory"] + facts["missed"]) / n
    facts["share_better_than_england"] = facts["better_than_england"] / n
    return {name: _plain(facts[name]) for name in FACTS}


def _plain(value: Any) -> float | int:
    value = value.item() if hasattr(value, "item") else value
    return int(value) if float(value).is_integer() else float(value)


# --- evaluation -----------------------------------------------------------------------------------------


def condition_mask(condition: Condition, facts: pd.DataFrame) -> pd.Series:
    """Where `condition` holds, for every row of a facts frame (vectorised)."""
    if isinstance(condition, Comparison):
        return OPS[condition.op](facts[condition.fact].astype(float), condition.value)
    masks = [condition_mask(c, facts) for c in (condition.all if isinstance(condition, AllOf) else condition.any)]
    combined = masks[0]
    for mask in masks[1:]:
        combined = (combined & mask) if isinstance(condition, AllOf) else (combined | mask)
    return combined


def evaluate_condition(condition: Condition, facts: dict[str, float]) -> tuple[bool, list[dict[str, Any]]]:
    """Whether `condition` holds for one organisation's facts, and each comparison with its actual value."""
    if isinstance(condition, Comparison):
        actual = facts[condition.fact]
        holds = bool(OPS[condition.op](float(actual), condition.value))
        return holds, [{"fact": condition.fact, "op": condition.op, "value": condition.value, "actual": actual,
                        "holds": holds}]
    parts = [evaluate_condition(c, facts) for c in (condition.all if isinstance(condition, AllOf) else condition.any)]
    comparisons = [item for _, items in parts for item in items]
    results = [holds for holds, _ in parts]
    return (all(results) if isinstance(condition, AllOf) else any(results)), comparisons


def rate_facts(rule_set: RuleSet, facts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The rating and the firing rule's id (None: the default) of every row of a facts frame."""
    rating = pd.Series(rule_set.default.rating, index=facts.index, dtype=object)
    fired = pd.Series(None, index=facts.index, dtype=object)
    undecided = pd.Series(True, index=facts.index)
    for rule in rule_set.rules:
        hit = condition_mask(rule.when, facts) & undecided
        rating[hit] = rule.rating
        fired[hit] = rule.id
        undecided &= ~hit
    return rating, fired


def evaluate(rule_set: RuleSet, facts: dict[str, float]) -> dict[str, Any]:
    """Every rule evaluated on one organisation's facts: the rating, the rule that gave it, and each rule's
    comparisons (the body of a trace)."""
    rules = []
    chosen: Rule | None = None
    for rule in rule_set.rules:
        holds, comparisons = evaluate_condition(rule.when, facts)
        fires = holds and chosen is None
        if fires:
            chosen = rule
        rules.append({"id": rule.id, "rating": rule.rating, "holds": holds, "fired": fires,
                      "conditions": comparisons})
    rating = chosen.rating if chosen else rule_set.default.rating
    template = chosen.because if chosen else rule_set.default.because
    return {
        "rating": rating,
        "fired_rule": chosen.id if chosen else None,
        "because": " ".join(template.format_map({k: _show(v) for k, v in facts.items()}).split()),
        "rules": rules,
    }


def _show(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.0%}" if 0 <= value <= 1 else f"{value:g}"

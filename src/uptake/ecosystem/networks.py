"""Clinical networks per NSF priority (IPPR recommendation 8: "clinical networks should be formed, offering
those working on innovation access to peer support and shared learning"), with their members and results.

A priority is a commitment of a published National Service Framework (its indicator and the level it is
measured at); without published frameworks, each catalogue indicator is one. Its networks are footprints:

- stroke (an indicator measured per stroke unit): the 20 Integrated Stroke Delivery Networks, which are real
  and in the reference hierarchy (each stroke unit links to its ISDN);
- an indicator measured per ICB: the NHS England regions;
- anything else (sub-ICB locations, PCNs, practices, trusts): the ICB footprint each member belongs to.

Members are the current organisations of the level linked to the footprint; their results are the
indicator's published values (uptake.results.read). Pure functions of frames; the web and CLI read the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from uptake.catalogue import Catalogue
from uptake.ecosystem.anchors import FieldProblems, check_round_fields, load_rule, plan_round, record_round
from uptake.ecosystem.local_records import Refused, actor_of, may_run_rounds
from uptake.errors import NotFound
from uptake.results import read
from uptake.store.ecosystem_network_models import AnchorRound
from uptake.store.mission_models import NsfCommitment, NsfFramework, NsfFrameworkVersion

VALUE_COLUMNS = ["org_code", "level", "period", "value", "ci95_low", "ci95_high", "numerator", "denominator",
                 "synthetic"]

#: What a footprint is, by the level an indicator is measured at.
FOOTPRINT_LEVEL = {"stroke-unit": "isdn", "icb": "region"}
FOOTPRINT_WORDS = {"isdn": "Integrated Stroke Delivery Network", "region": "NHS England region",
                   "icb": "ICB footprint"}


def footprint_level(level: str) -> str:
    return FOOTPRINT_LEVEL.get(level, "icb")


@dataclass(frozen=True)
class Priority:
    """An NSF priority a network serves: a framework's commitment and the indicator that measures it."""

    framework_id: str
    framework_title: str
    commitment: str
    title: str
    indicator: str
    innovation: str
    level: str
    synthetic: bool

    @property
    def key(self) -> str:
        return f"{self.framework_id}/{self.commitment}"

    @property
    def footprint_level(self) -> str:
        return footprint_level(self.level)


def priorities(session: Session, catalogue: Catalogue) -> list[Priority]:
    """The published frameworks' commitments whose indicator is in the catalogue; without any, one priority
    per catalogue indicator (framework "catalogue")."""
    found: list[Priority] = []
    query = (select(NsfFramework, NsfFrameworkVersion, NsfCommitment)
             .join(NsfFrameworkVersion, NsfFrameworkVersion.framework_id == NsfFramework.id)
             .join(NsfCommitment, NsfCommitment.framework_version_id == NsfFrameworkVersion.id)
             .where(NsfFrameworkVersion.status == "published")
             .order_by(NsfFramework.id, NsfFrameworkVersion.version.desc(), NsfCommitment.position))
    newest: dict[str, int] = {}
    for framework, version, commitment in session.execute(query):
        if newest.setdefault(framework.id, version.version) != version.version:
            continue
        indicator = catalogue.indicators.get(commitment.indicator_id)
        if indicator is None:
            continue
        found.append(Priority(framework.id, framework.title, commitment.key, commitment.title, indicator.id,
                              indicator.innovation, indicator.levels[0].value, bool(indicator.synthetic)))
    if found:
        return found
    return [Priority("catalogue", "Catalogue indicators", ind.id, ind.title, ind.id, ind.innovation,
                     ind.levels[0].value, bool(ind.synthetic)) for ind in sorted(catalogue.indicators.values(),
                                                                                  key=lambda i: i.id)]


def find_priority(found: list[Priority], key: str | None) -> Priority | None:
    for p in found:
        if key in (p.key, p.indicator):
            return p
    return None


def members(organisations: pd.DataFrame, links: pd.DataFrame, level: str) -> pd.DataFrame:
    """Every current organisation of ``level`` with its footprint: footprint_code, footprint_name, org_code,
    org_name, lat, lon, imd_score (``organisations``: code, level, name, lat, lon, imd_score; ``links``:
    child_code, child_level, parent_code, parent_level)."""
    fp_level = footprint_level(level)
    orgs = organisations.loc[organisations["level"] == level]
    link = links.loc[(links["child_level"] == level) & (links["parent_level"] == fp_level),
                     ["child_code", "parent_code"]].drop_duplicates("child_code")
    names = organisations.loc[organisations["level"] == fp_level].set_index("code")["name"]
    out = orgs.merge(link, left_on="code", right_on="child_code", how="inner")
    frame = pd.DataFrame({
        "footprint_code": out["parent_code"], "footprint_name": out["parent_code"].map(names),
        "org_code": out["code"], "org_name": out["name"],
        "lat": out["lat"] if "lat" in out else None, "lon": out["lon"] if "lon" in out else None,
        "imd_score": out["imd_score"] if "imd_score" in out else None,
    })
    return frame.sort_values(["footprint_code", "org_code"]).reset_index(drop=True)


def member_results(member_frame: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Each member with its latest result (period, value, ci95_low, ci95_high, numerator, denominator) and
    its value in the same period a year of results before (``previous``), from ``values`` (org_code, period,
    value, ci95_low, ci95_high, numerator, denominator, synthetic)."""
    cols = ["period", "value", "ci95_low", "ci95_high", "numerator", "denominator", "synthetic"]
    if values.empty:
        return member_frame.assign(**{c: None for c in cols})
    v = values.dropna(subset=["value"]).sort_values("period")
    latest = v.groupby("org_code").tail(1).set_index("org_code")[cols]
    return member_frame.join(latest, on="org_code")


def network_summary(results: pd.DataFrame, *, threshold: float | None, polarity: str) -> pd.DataFrame:
    """One row per footprint: members, members with a result, the median latest value and how many are at or
    beyond the adoption threshold."""
    rows = []
    for (code, name), g in results.groupby(["footprint_code", "footprint_name"], dropna=False, sort=True):
        known = g["value"].dropna().astype(float)
        if threshold is None or known.empty:
            at = None
        else:
            at = int((known >= threshold).sum() if polarity != "low-is-good" else (known <= threshold).sum())
        rows.append({"footprint_code": code, "footprint_name": name, "members": len(g), "with_result": len(known),
                     "median_value": float(known.median()) if len(known) else None,
                     "min_value": float(known.min()) if len(known) else None,
                     "max_value": float(known.max()) if len(known) else None, "at_threshold": at})
    return pd.DataFrame(rows, columns=["footprint_code", "footprint_name", "members", "with_result", "median_value",
                                       "min_value", "max_value", "at_threshold"])


# --- a priority's networks from the results, and a round over them ------------------------------------------


@dataclass
class Network:
    """The networks of one priority: every member with its latest result, one summary row per network, and the
    indicator's values at the members' level (every period, all of England)."""

    priorities: list[Priority]
    priority: Priority
    indicator: Any
    results: pd.DataFrame
    summary: pd.DataFrame
    values: pd.DataFrame


def network(session: Session, cur: Any, catalogue: Catalogue, key: str | None) -> Network:
    """The networks of the priority ``key`` (default: the first), read from the results on ``cur`` (NotFound for
    an unknown priority or a workspace without results)."""
    found = priorities(session, catalogue)
    if not found:
        raise NotFound("there are no NSF priorities or catalogue indicators to form networks for")
    chosen = find_priority(found, key) if key else found[0]
    if chosen is None:
        raise NotFound(f"there is no NSF priority {key!r}; priorities: {', '.join(p.key for p in found)}")
    indicator = catalogue.indicators[chosen.indicator]
    if cur is None or "organisations" not in read.tables(cur):
        raise NotFound("the workspace has no results yet: run `uptake compute`")
    orgs = read.organisations.current_frame(cur, ("code", "level", "name", "lat", "lon", "imd_score"))
    links = read.organisations.current_links_frame(cur)
    m = members(orgs, links, chosen.level)
    values = pd.DataFrame(columns=VALUE_COLUMNS)
    if "result_values" in read.tables(cur):
        values = read.values.values_frame(cur, VALUE_COLUMNS, [chosen.indicator])
        values = values.loc[values["level"] == chosen.level]
    results = member_results(m, values)
    summary = network_summary(results, threshold=indicator.adoption_threshold, polarity=indicator.polarity.value)
    return Network(found, chosen, indicator, results, summary, values)


def run_round(session: Session, cur: Any, catalogue: Catalogue, who: Any, *, title: str, priority_key: str,
              capacity: Any, funding: Any, weight_distance: Any = 1.0, weight_dissimilarity: Any = 1.0,
              synthetic: bool = False) -> AnchorRound:
    """Check the fields (FieldProblems, each at its field, nothing saved), designate anchors with the newest
    rule, match partners in each network and store the round with an audit entry. National admin only
    (Refused otherwise)."""
    if not may_run_rounds(who):
        raise Refused(f"{actor_of(who)} may not run a Health Innovation Challenge round: a national admin runs them")
    problems: list[tuple[str, str]] = []
    cap = money = w_d = w_s = 0
    try:
        cap, money, w_d, w_s = check_round_fields(title=title, capacity=capacity, funding=funding,
                                                  weight_distance=weight_distance,
                                                  weight_dissimilarity=weight_dissimilarity)
    except FieldProblems as exc:
        problems += exc.problems
    chosen = find_priority(priorities(session, catalogue), priority_key)
    if chosen is None:
        problems.append(("priority", f"Choose one of the NSF priorities (there is none {priority_key!r})"))
    if problems:
        raise FieldProblems(problems)
    try:
        net = network(session, cur, catalogue, chosen.key)
    except NotFound as exc:
        raise FieldProblems([("priority", str(exc))]) from None
    if net.values.dropna(subset=["value"]).empty:
        raise FieldProblems([("priority", f"{chosen.title} has no published results to judge a track record by")])
    rule = load_rule()
    plan = plan_round(net.values, net.results[["footprint_code", "org_code"]],
                      net.results[["org_code", "lat", "lon", "imd_score"]], polarity=net.indicator.polarity.value,
                      threshold=net.indicator.adoption_threshold, period_kind=net.indicator.period.value, rule=rule,
                      capacity=cap, weight_distance=w_d, weight_dissimilarity=w_s)
    return record_round(session, actor_of(who), plan, title=title, framework_id=chosen.framework_id,
                        indicator_id=chosen.indicator, level=chosen.level, rule=rule, capacity=cap, funding=money,
                        weight_distance=w_d, weight_dissimilarity=w_s,
                        synthetic=synthetic or bool(net.indicator.synthetic))

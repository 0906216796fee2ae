"""The slow, obviously correct reference for the pipeline, and small workspaces to run both on.

``reference_results(...)`` computes every result table with plain pandas and Python loops: the
roll-up by merging observations with the parent links, and each statistic by calling the per-group or
per-series function of ``uptake.stats`` (which the stats tests check against published examples) on
one group or one series at a time. The pipeline must give the same rows (tests/test_pipeline_reference.py).

``build_workspace(...)`` makes a small analytics store through the real ``AnalyticsStore`` API:
a hierarchy England > regions > ICBs > sub-ICBs > practices (some in PCNs) plus trusts, with
observations that have zero denominators, missing periods and ties.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from uptake import stats
from uptake.analytics.store import AnalyticsStore
from uptake.catalogue.loader import Catalogue
from uptake.catalogue.schemas import Indicator, Innovation
from uptake.levels import ENGLAND_CODE, ROLLUP_PATHS, Level
from uptake.reference.covariates import PRACTICE_COVARIATES, load_practice_covariates
from uptake.stats.spc import LIMIT_FACTOR, MIN_POINTS_FOR_ICONS, ONE_SIGMA_FACTOR, TWO_SIGMA_FACTOR

#: Draws per SII interval, as the pipeline makes them (uptake.pipeline.equity.SIMULATIONS).
EQUITY_SIMULATIONS = 1_000

# --------------------------------------------------------------------------------------------- builders


@dataclass(frozen=True)
class Shape:
    """How big a generated hierarchy is."""

    regions: int = 2
    icbs_per_region: int = 2
    sub_icbs_per_icb: int = 2
    practices_per_sub_icb: int = 4
    pcn_share: float = 0.7
    trusts_per_icb: int = 2
    imd_missing_share: float = 0.1


def make_reference(shape: Shape, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Organisations and flattened current relationships for a generated hierarchy."""
    rng = np.random.default_rng(seed)
    orgs: list[dict] = []
    rels: list[tuple[str, str, str, str]] = []

    def org(code: str, level: Level, **extra) -> None:
        row = {"code": code, "level": level.value, "name": f"{level.value} {code}", "valid_from": "2020-01-01"}
        row.update(extra)
        orgs.append(row)

    org(ENGLAND_CODE, Level.ENGLAND, population=1e6)
    p_count = 0
    for r in range(shape.regions):
        region = f"Y{r:02d}"
        org(region, Level.REGION, population=float(rng.integers(1000, 5000)))
        rels.append((region, "region", ENGLAND_CODE, "england"))
        for i in range(shape.icbs_per_region):
            icb = f"Q{r}{i}"
            org(icb, Level.ICB, imd_score=float(rng.uniform(5, 40)), imd_quintile=int(rng.integers(1, 6)),
                population=float(rng.integers(500, 3000)))
            rels += [(icb, "icb", region, "region"), (icb, "icb", ENGLAND_CODE, "england")]
            for t in range(shape.trusts_per_icb):
                trust = f"R{r}{i}{t}"
                org(trust, Level.TRUST, trust_type=["acute", "mental-health"][t % 2])
                rels += [(trust, "trust", icb, "icb"), (trust, "trust", region, "region"),
                         (trust, "trust", ENGLAND_CODE, "england")]
            for s in range(shape.sub_icbs_per_icb):
                sub = f"{r}{i}{s}"
                org(sub, Level.SUB_ICB, population=float(rng.integers(100, 1000)))
                rels += [(sub, "sub-icb", icb, "icb"), (sub, "sub-icb", region, "region"),
                         (sub, "sub-icb", ENGLAND_CODE, "england")]
                pcn = f"U{r}{i}{s}"
                has_pcn = False
                for _ in range(shape.practices_per_sub_icb):
                    p_count += 1
                    practice = f"P{p_count:05d}"
                    imd_known = rng.random() >= shape.imd_missing_share
                    org(practice, Level.PRACTICE,
                        imd_score=float(rng.uniform(2, 60)) if imd_known else None,
                        imd_quintile=int(rng.integers(1, 6)) if imd_known else None,
                        population=float(rng.integers(1000, 20000)))
                    if rng.random() < shape.pcn_share:
                        has_pcn = True
                        rels.append((practice, "practice", pcn, "pcn"))
                    rels += [(practice, "practice", sub, "sub-icb"), (practice, "practice", icb, "icb"),
                             (practice, "practice", region, "region"),
                             (practice, "practice", ENGLAND_CODE, "england")]
                if has_pcn:
                    org(pcn, Level.PCN)
                    rels += [(pcn, "pcn", sub, "sub-icb"), (pcn, "pcn", icb, "icb"), (pcn, "pcn", region, "region"),
                             (pcn, "pcn", ENGLAND_CODE, "england")]
    organisations = pd.DataFrame(orgs)
    for col in ("ons_code", "postcode", "lat", "lon", "imd_score", "imd_quintile", "population", "trust_type",
                "valid_to"):
        if col not in organisations:
            organisations[col] = None
    relationships = pd.DataFrame(rels, columns=["child_code", "child_level", "parent_code", "parent_level"])
    relationships["valid_from"] = "2020-01-01"
    relationships["valid_to"] = None
    # A closed link: history that the current hierarchy must ignore.
    if len(relationships):
        old = relationships.iloc[[0]].copy()
        old["parent_code"] = "ZZZ"
        old["valid_to"] = "2020-06-01"
        old["valid_from"] = "2019-01-01"
        relationships = pd.concat([relationships, old], ignore_index=True)
    return organisations, relationships


def months(start: dt.date, count: int) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    for _ in range(count):
        out.append(dt.date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def make_observations(
    codes: list[str],
    periods: list[dt.date],
    *,
    seed: int = 0,
    measure: str = "proportion",
    missing_share: float = 0.1,
    zero_share: float = 0.05,
    max_denominator: int = 60,
) -> pd.DataFrame:
    """Counts with missing periods, zero denominators and (small counts) plenty of ties."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, code in enumerate(codes):
        base = rng.uniform(0.1, 0.9)
        drift = rng.uniform(-0.02, 0.03)
        size = int(rng.integers(min(5, max_denominator), max_denominator + 1))
        for t, period in enumerate(periods):
            if rng.random() < missing_share:
                continue
            den = 0 if rng.random() < zero_share else int(rng.integers(max(1, size // 2), size + 1))
            p = min(max(base + drift * t + rng.normal(0, 0.05), 0.0), 1.0)
            if measure == "proportion":
                num = int(rng.binomial(den, p)) if den else 0
            else:
                num = int(rng.poisson(p * den * 1.3)) if den else int(rng.integers(0, 3))
            rows.append((code, period, float(num), float(den)))
    return pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])


def indicator(
    ind_id: str,
    level: Level,
    *,
    measure: str = "proportion",
    polarity: str = "high-is-good",
    adoption_threshold: float | None = 0.5,
    unit_cost: float | None = 40.0,
    first_period: dt.date = dt.date(2021, 1, 1),
    synthetic: bool = True,
    spread_curve: bool = False,
) -> Indicator:
    return Indicator(
        id=ind_id,
        innovation="test-innovation",
        title=f"Test indicator {ind_id}",
        why_it_matters="Tests the pipeline.",
        numerator="events",
        denominator="people",
        measure=measure,
        polarity=polarity,
        levels=[level],
        period="month",
        first_period=first_period,
        adoption_threshold=adoption_threshold,
        unit_cost=unit_cost,
        source={"name": "generated", "publisher": "tests"},
        synthetic=synthetic,
        spread_curve=spread_curve,
        authored_by="author",
        checked_by="checker",
        date_reviewed=dt.date(2024, 1, 1),
        next_review=dt.date(2025, 1, 1),
    )


def catalogue_of(*indicators: Indicator) -> Catalogue:
    innovation = Innovation(
        id="test-innovation", name="Test", kind="care-pathway", conditions=["testing"],
        pathway_stage="spread", description="A test innovation.", owner="tests",
    )
    return Catalogue(innovations={innovation.id: innovation}, indicators={i.id: i for i in indicators})


def build_workspace(
    path: Path,
    organisations: pd.DataFrame,
    relationships: pd.DataFrame,
    observations: dict[str, pd.DataFrame],
) -> AnalyticsStore:
    """An analytics store file with the reference data and one batch per indicator."""
    store = AnalyticsStore(path)
    store.sync_reference(organisations, relationships)
    for ind_id, frame in observations.items():
        if len(frame):
            store.load_observations(
                frame, indicator=ind_id, source="tests", file_name=f"{ind_id}.csv", file_sha256=ind_id,
                loaded_by="tests",
            )
    return store


# --------------------------------------------------------------------------------------------- reference


def _current(organisations: pd.DataFrame) -> pd.DataFrame:
    orgs = organisations.copy()
    orgs["_open"] = orgs["valid_to"].isna()
    orgs["_from"] = orgs["valid_from"].astype(str)
    return orgs.sort_values(["code", "_open", "_from"]).drop_duplicates("code", keep="last").set_index("code")


def reference_rollup(ind: Indicator, obs: pd.DataFrame, organisations: pd.DataFrame,
                     relationships: pd.DataFrame) -> pd.DataFrame:
    """Pooled sums per (level, org_code, period) by merging, level by level."""
    data_level = ind.levels[0].value
    known = organisations.loc[organisations["level"] == data_level, "code"].unique()
    data = obs[obs["org_code"].isin(known)].copy()
    data["level"] = data_level
    parts = [data[["level", "org_code", "period", "numerator", "denominator"]]]
    links = relationships[relationships["valid_to"].isna()]
    for parent in ROLLUP_PATHS[ind.levels[0]][1:]:
        if parent == Level.ENGLAND:
            continue
        mine = links[(links["child_level"] == data_level) & (links["parent_level"] == parent.value)]
        merged = data.merge(mine, left_on="org_code", right_on="child_code")
        merged = merged.assign(level=parent.value, org_code=merged["parent_code"])
        parts.append(merged[["level", "org_code", "period", "numerator", "denominator"]])
    eng = data.assign(level="england", org_code=ENGLAND_CODE)
    parts.append(eng[["level", "org_code", "period", "numerator", "denominator"]])
    allrows = pd.concat(parts, ignore_index=True)
    allrows["members"] = 1
    out = allrows.groupby(["level", "org_code", "period"], as_index=False).agg(
        numerator=("numerator", "sum"), denominator=("denominator", "sum"), members=("members", "sum")
    )
    return out


def _usable(ind: Indicator, num: float, den: float) -> bool:
    if not den > 0 or num < 0:
        return False
    return not (ind.measure == "proportion" and num > den)


def reference_results(
    ind: Indicator,
    obs: pd.DataFrame,
    organisations: pd.DataFrame,
    relationships: pd.DataFrame,
    *,
    rule_length: int = 7,
    baseline: int | None = None,
    rebase_dates: tuple[dt.date, ...] = (),
    target: float | None = None,
    peers: dict[str, pd.DataFrame] | None = None,
    cusum_window: int = 12,
    cusum_sensitivity: float = 5.0,
    best: int = 5,
    spc_basis: str = "auto",
) -> dict[str, pd.DataFrame]:
    """Every per-indicator result table, one group or one series at a time."""
    orgs = _current(organisations)
    agg = reference_rollup(ind, obs, organisations, relationships)
    agg["period"] = pd.to_datetime(agg["period"]).dt.date
    agg = agg.sort_values(["level", "org_code", "period"], ignore_index=True)
    polarity = ind.polarity.value
    is_prop = ind.measure == "proportion"

    # Values and intervals, row by row.
    rows = []
    for r in agg.itertuples(index=False):
        ok = _usable(ind, r.numerator, r.denominator)
        value = r.numerator / r.denominator if r.denominator > 0 else np.nan
        cis = []
        for conf in (0.95, 0.998):
            if not ok:
                cis += [np.nan, np.nan]
            elif is_prop:
                lo, hi = stats.wilson(r.numerator, r.denominator, conf)
                cis += [float(lo), float(hi)]
            else:
                lo, hi = stats.byar(r.numerator, conf)
                cis += [float(lo) / r.denominator, float(hi) / r.denominator]
        rows.append({**r._asdict(), "value": value, "ci95_low": cis[0], "ci95_high": cis[1],
                     "ci998_low": cis[2], "ci998_high": cis[3], "usable": ok})
    values = pd.DataFrame(rows)
    values["org_name"] = values["org_code"].map(orgs["name"])
    ranks: dict[int, float] = {}
    bands: dict[int, int] = {}
    deciles = []
    for (level, period), g in values.groupby(["level", "period"], sort=True):
        if level == "england":
            continue
        g = g.sort_values("org_code")
        ranked = g["value"].where(g["usable"])
        ranks.update(zip(g.index, stats.percent_rank(ranked.to_numpy()), strict=True))
        if ranked.notna().any():
            d = stats.deciles(ranked.to_numpy())
            deciles.append({"level": level, "period": period, "organisations": int(ranked.notna().sum()),
                            **{f"p{k}": d[j] for j, k in enumerate(range(10, 100, 10))}})
            top = ranked.max()
            for i, v in ranked.items():
                if not np.isnan(v):  # at the maximum: the top decile, however many share it
                    bands[i] = 10 if v == top else 1 + int(sum(1 for x in d if x < v))
    values["percent_rank"] = pd.Series(ranks, dtype=float).reindex(values.index)
    values["decile"] = pd.Series(bands, dtype="Int64").reindex(values.index)
    eng = values[values["level"] == "england"].set_index("period")["value"]
    comparison = []
    for r in values.itertuples(index=False):
        if r.level == "england" or polarity == "no-judgement" or not r.usable:
            comparison.append("not compared")
            continue
        comparison.append(str(stats.compare_to_benchmark(
            r.value, r.ci95_low, r.ci95_high, r.ci998_low, r.ci998_high, eng.get(r.period, np.nan), polarity)))
    values["comparison_plain"] = comparison
    values["synthetic"] = ind.synthetic

    # Funnels, one (level, period) at a time.
    measure = "proportion" if is_prop else "rate"
    f_units, f_curves, f_summary = [], [], []
    dispersed: dict[tuple, float] = {}
    for (level, period), g in values.groupby(["level", "period"], sort=True):
        if level == "england":
            continue
        g = g.sort_values("org_code")
        good = g[g["usable"] | ~(g["denominator"] > 0)]
        good = good[good["numerator"] >= 0]
        if is_prop:
            good = good[good["numerator"] <= good["denominator"]]
        res = stats.funnel_limits(good["numerator"].to_numpy(), good["denominator"].to_numpy(),
                                  measure=measure, points=100) if len(good) else None
        position = {i: j for j, i in enumerate(good.index)}
        for i, r in zip(g.index, g.itertuples(index=False), strict=True):
            inside = i in position
            j = position.get(i)
            f_units.append({
                "level": level, "org_code": r.org_code, "period": period, "numerator": r.numerator,
                "denominator": r.denominator,
                "value": res.value[j] if inside else np.nan,
                "benchmark": res.benchmark if res is not None else np.nan,
                "lower95": res.lower95[j] if inside else np.nan, "upper95": res.upper95[j] if inside else np.nan,
                "lower998": res.lower998[j] if inside else np.nan,
                "upper998": res.upper998[j] if inside else np.nan,
                "band": res.band[j] if inside else "not compared", "side": res.side[j] if inside else "",
                "z": res.z[j] if inside else np.nan,
            })
        if res is None:
            continue
        if res.overdispersion_adjusted:  # the comparison with England is the funnel's judgement, around England
            dispersed[(level, period)] = res.tau2
        f_summary.append({"level": level, "period": period, "benchmark": res.benchmark,
                          "units": int((good["denominator"] > 0).sum()), "method": res.method, "phi": res.phi,
                          "tau2": res.tau2, "overdispersion_adjusted": res.overdispersion_adjusted,
                          "warnings": "; ".join(res.warnings) or None})
        for n, a, b, c, d in zip(res.grid, res.grid_lower95, res.grid_upper95, res.grid_lower998,
                                 res.grid_upper998, strict=True):
            f_curves.append({"level": level, "period": period, "denominator": n, "lower95": a, "upper95": b,
                             "lower998": c, "upper998": d})

    # The comparison with England: the over-dispersed funnel's random-effects judgement where the level's funnel
    # in the period is adjusted, else the plain interval's (row by row).
    judged, method = [], []
    for r in values.itertuples(index=False):
        if r.comparison_plain in ("not compared", "not eligible"):
            judged.append(r.comparison_plain)
            method.append(None)
        elif (r.level, r.period) in dispersed:
            judged.append(str(stats.compare_random_effects(
                r.value, r.denominator, eng.get(r.period, np.nan), dispersed[(r.level, r.period)], polarity,
                measure)))
            method.append("random-effects")
        else:
            judged.append(r.comparison_plain)
            method.append("interval")
    values["comparison"] = judged
    values["comparison_method"] = method

    # SPC, one series at a time. Spread-curve indicators chart each organisation below England on its difference
    # from England (value minus England's value), with new limits each 1 April that leaves 12 points on each side.
    improvement = {"high-is-good": "increase", "low-is-good": "decrease", "no-judgement": "neutral"}[polarity]
    spc_points, spc_series = [], []
    all_periods = sorted(values["period"].unique())
    aprils = [dt.date(y, 4, 1) for y in range(all_periods[0].year, all_periods[-1].year + 1)
              if all_periods[0] < dt.date(y, 4, 1) <= all_periods[-1]] if all_periods else []
    for (level, code), g in values[values["usable"]].groupby(["level", "org_code"], sort=True):
        g = g.sort_values("period")
        difference = spc_basis == "auto" and ind.spread_curve and level != "england"
        if difference:
            g = g[g["period"].map(eng).notna()]
        n = len(g)
        if n < 2:
            continue
        rebase_at, last = [], 0
        stated = [(day, 2) for day in rebase_dates] + ([(day, 12) for day in aprils] if difference else [])
        for day, need in sorted(set(stated)):
            p = int((g["period"] < day).sum())
            if p - last >= need and n - p >= need:
                rebase_at.append(p)
                last = p
        england_value = g["period"].map(eng).to_numpy(dtype=float) if difference else np.full(n, np.nan)
        y = g["value"].to_numpy() - england_value if difference else g["value"].to_numpy()
        res = stats.xmr(y, improvement, target, baseline=baseline, rebase_at=rebase_at or None,
                        rule_length=rule_length)
        add = england_value if difference else np.zeros(n)  # the value scale: England's value added back
        assurance = res.assurance_icon
        if difference and assurance is not None:
            centre = add[-1] + res.mean[-1]
            assurance = stats.spc._assurance_icon(target, improvement, centre + LIMIT_FACTOR * res.mean_moving_range[-1],
                                                  centre - LIMIT_FACTOR * res.mean_moving_range[-1])
        for j, period in enumerate(g["period"]):
            centre = add[j] + res.mean[j]
            spc_points.append({
                "level": level, "org_code": code, "period": period, "value": g["value"].iloc[j],
                "basis": "difference from England" if difference else "value",
                "england_value": england_value[j],
                "segment": int(res.segment[j]), "centre": centre, "moving_range": res.moving_range[j],
                "mean_moving_range": res.mean_moving_range[j],
                "upper_limit": centre + LIMIT_FACTOR * res.mean_moving_range[j],
                "lower_limit": centre - LIMIT_FACTOR * res.mean_moving_range[j],
                "upper_two_sigma": centre + TWO_SIGMA_FACTOR * res.mean_moving_range[j],
                "lower_two_sigma": centre - TWO_SIGMA_FACTOR * res.mean_moving_range[j],
                "upper_one_sigma": centre + ONE_SIGMA_FACTOR * res.mean_moving_range[j],
                "lower_one_sigma": centre - ONE_SIGMA_FACTOR * res.mean_moving_range[j],
                "outside_limits": int(res.outside_limits[j]),
                "trend": int(res.trend[j]), "two_of_three": int(res.two_of_three[j]), "shift": int(res.shift[j]),
                "direction": int(res.direction[j]), "rule": str(res.rule[j]),
                "special_cause": str(res.special_cause[j]),
            })
        spc_series.append({
            "level": level, "org_code": code, "points": n, "first_period": g["period"].iloc[0],
            "last_period": g["period"].iloc[-1], "basis": "difference from England" if difference else "value",
            "improvement": improvement, "rule_length": rule_length,
            "variation_icon": res.variation_icon, "assurance_icon": assurance,
            "target": target if target is not None else np.nan, "warnings": "; ".join(res.warnings) or None,
        })
        assert (res.variation_icon is None) == (n < MIN_POINTS_FOR_ICONS)

    # CUSUM on the percentile series, one organisation at a time.
    periods = sorted(values["period"].unique())
    change_rows = []
    for (level, code), g in values.groupby(["level", "org_code"], sort=True):
        if level == "england":
            continue
        series = g.set_index("period")["percent_rank"].reindex(periods).to_numpy() * 100.0
        res = stats.cusum_alerts(series, window=cusum_window, sensitivity=cusum_sensitivity)
        for period in g["period"]:
            j = periods.index(period)
            change_rows.append({
                "level": level, "org_code": code, "period": period, "percentile": series[j],
                "cusum_increase": res.cusum_increase[j], "cusum_decrease": res.cusum_decrease[j],
                "threshold_increase": res.threshold_increase[j], "threshold_decrease": res.threshold_decrease[j],
                "alert": str(res.alert[j]),
            })

    # Opportunity, one organisation and period at a time.
    opp_rows = []
    if polarity != "no-judgement":
        dec = pd.DataFrame(deciles).set_index(["level", "period"]) if deciles else None
        usable_values = {
            key: dict(zip(g["org_code"], g["value"], strict=True))
            for key, g in values[values["usable"]].groupby(["level", "period"])
        }
        peer_lists = {
            level: {code: list(g.sort_values("rank")["peer_code"]) for code, g in frame.groupby("org_code")}
            for level, frame in (peers or {}).items()
        }
        for r in values.itertuples(index=False):
            if r.level == "england" or not r.usable:
                continue
            d = dec.loc[(r.level, r.period)]
            median = d["p50"]
            top = d["p90"] if polarity == "high-is-good" else d["p10"]
            peer_value = np.nan
            mine = peer_lists.get(r.level, {}).get(r.org_code)
            if mine:
                cell = usable_values[(r.level, r.period)]
                pv = np.array([cell.get(c, np.nan) for c in mine])
                ordered = sorted(pv[~np.isnan(pv)], reverse=polarity == "high-is-good")[:best]
                peer_value = float(np.mean(ordered)) if ordered else np.nan
            gap = {k: float(stats.opportunity(r.numerator, r.denominator, b, polarity))
                   for k, b in (("median", median), ("top", top), ("peers", peer_value),
                                ("target", np.nan if target is None else target))}
            fav, unfav = (r.ci95_high, r.ci95_low) if polarity == "high-is-good" else (r.ci95_low, r.ci95_high)
            cost = ind.unit_cost
            opp_rows.append({
                "level": r.level, "org_code": r.org_code, "period": r.period, "numerator": r.numerator,
                "denominator": r.denominator, "value": r.value, "median_value": median,
                "gap_median": gap["median"], "top_decile_value": top, "gap_top_decile": gap["top"],
                "peer_value": peer_value, "gap_peers": gap["peers"],
                "gap_peers_low": float(stats.opportunity(fav * r.denominator, r.denominator, peer_value, polarity)),
                "gap_peers_high": float(stats.opportunity(unfav * r.denominator, r.denominator, peer_value,
                                                          polarity)),
                "target_value": np.nan if target is None else target, "gap_target": gap["target"],
                "unit_cost": np.nan if cost is None else cost,
                "gap_median_pounds": gap["median"] * cost if cost is not None else np.nan,
                "gap_top_decile_pounds": gap["top"] * cost if cost is not None else np.nan,
                "gap_peers_pounds": gap["peers"] * cost if cost is not None else np.nan,
                "gap_target_pounds": gap["target"] * cost if cost is not None else np.nan,
            })

    # Adoption, one level at a time (first crossing found by walking each series).
    adoption_rows = []
    if ind.adoption_threshold is not None:
        first_month = ind.first_period.year * 12 + ind.first_period.month
        for level, lv in values[values["level"] != "england"].groupby("level", sort=True):
            codes, times, firsts = [], [], []
            for code, g in lv.groupby("org_code", sort=True):
                first = None
                for r in g.sort_values("period").itertuples(index=False):
                    if not r.usable:
                        continue
                    crossed = (r.value <= ind.adoption_threshold if polarity == "low-is-good"
                               else r.value >= ind.adoption_threshold)
                    if crossed:
                        first = r.period
                        break
                codes.append(code)
                firsts.append(first)
                times.append(np.nan if first is None else float(first.year * 12 + first.month - first_month))
            normal = stats.adopter_categories(np.array(times), mode="normal").category
            quantile = stats.adopter_categories(np.array(times), mode="quantile").category
            for code, first, t, a, b in zip(codes, firsts, times, normal, quantile, strict=True):
                adoption_rows.append({"level": level, "org_code": code, "threshold": ind.adoption_threshold,
                                      "adopted": first is not None, "first_adopted": first,
                                      "months_from_launch": t, "category_normal": str(a),
                                      "category_quantile": str(b)})

    # Equity, one (level, period) at a time, for levels whose organisations have IMD quintiles.
    equity_rows = []
    quintile = orgs["imd_quintile"]
    open_orgs = orgs[orgs["valid_to"].isna()]
    with_imd = set(open_orgs.loc[open_orgs["imd_quintile"].notna(), "level"])
    for (level, period), g in values.groupby(["level", "period"], sort=True):
        if level == "england" or level not in with_imd:
            continue
        g = g.sort_values("org_code")
        q = g["org_code"].map(quintile).astype(float).to_numpy()
        v = g["value"].where(g["usable"]).to_numpy(dtype=float)
        n = g["denominator"].to_numpy(dtype=float)
        ok = np.isfinite(v) & np.isfinite(n) & (n > 0) & np.isfinite(q)
        if not ok.any():
            continue
        res = stats.slope_index_of_inequality(v[ok], n[ok], q[ok], measure=str(ind.measure),
                                              simulations=EQUITY_SIMULATIONS)
        row = {"level": level, "period": period, "organisations": int(ok.sum()), "quintiles": int(res.groups.size),
               "sii": res.sii, "rii": res.rii, "intercept": res.intercept,
               "sii_ci95_low": res.sii_ci95_low, "sii_ci95_high": res.sii_ci95_high,
               "rii_ci95_low": res.rii_ci95_low, "rii_ci95_high": res.rii_ci95_high}
        for qn in range(1, 6):
            hit = np.flatnonzero(res.groups == qn)
            row[f"value_q{qn}"] = res.group_value[hit[0]] if hit.size else np.nan
        equity_rows.append(row)

    # Opportunity totals: positive gaps added up nationally and by ICB (levels below ICB).
    total_rows = []
    if opp_rows:
        opp = pd.DataFrame(opp_rows)
        links = relationships[relationships["valid_to"].isna() & (relationships["parent_level"] == "icb")]
        icb_of = {(r.child_level, r.child_code): r.parent_code for r in links.itertuples(index=False)}
        cost = ind.unit_cost
        for bench, col in (("median", "gap_median"), ("top-decile", "gap_top_decile"), ("peers", "gap_peers"),
                           ("target", "gap_target")):
            for (level, period), g in opp.groupby(["level", "period"], sort=True):
                g = g[g[col].notna()]
                if g.empty:
                    continue
                areas = [("england", "ENG", g)]
                if level != "icb":
                    icbs = g.apply(lambda r: icb_of.get((r.level, r.org_code)), axis=1)
                    for code in sorted(c for c in set(icbs) if c is not None):
                        areas.append(("icb", code, g[icbs == code]))
                for area_level, area_code, rows_ in areas:
                    total = float(rows_[col].sum())
                    total_rows.append({"level": level, "period": period, "benchmark": bench,
                                       "area_level": area_level, "area_code": area_code,
                                       "organisations": int((rows_[col] > 0).sum()), "gap_patients": total,
                                       "gap_pounds": total * cost if cost is not None else np.nan})

    values = values.drop(columns=["usable"])
    return {
        "result_opportunity_totals": pd.DataFrame(total_rows),
        "result_values": values,
        "result_deciles": pd.DataFrame(deciles),
        "result_funnel": pd.DataFrame(f_units),
        "result_funnel_curve": pd.DataFrame(f_curves),
        "result_funnel_summary": pd.DataFrame(f_summary),
        "result_spc": pd.DataFrame(spc_points),
        "result_spc_series": pd.DataFrame(spc_series),
        "result_changes": pd.DataFrame(change_rows),
        "result_opportunity": pd.DataFrame(opp_rows),
        "result_adoption": pd.DataFrame(adoption_rows),
        "result_equity": pd.DataFrame(equity_rows),
    }


def reference_peers(organisations: pd.DataFrame, relationships: pd.DataFrame, level: str,
                    activity: dict[str, dict[str, float]] | None = None, k: int = 10,
                    covariates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Similar peers of one level, feature by feature as docs/methods.md describes them: IMD score, population,
    share aged 65+ and rurality (own, or from member practices weighted by list size); activity (of the real
    indicators given) only at a level with none of those."""
    orgs = _current(organisations)
    mine = orgs[(orgs["level"] == level) & orgs["valid_to"].isna()].sort_index()
    codes = list(mine.index)
    links = relationships[relationships["valid_to"].isna()]
    practices = orgs[orgs["level"] == "practice"].copy()
    table = load_practice_covariates() if covariates is None else covariates
    own = mine.copy()
    for name in PRACTICE_COVARIATES:
        found = table[name].astype(float) if name in table.columns else pd.Series(dtype=float)
        practices[name] = [float(found.get(c, np.nan)) for c in practices.index]
        own[name] = [float(found.get(c, np.nan)) if level == "practice" else np.nan for c in own.index]
    features: dict[str, list[float]] = {}
    weights: dict[str, float] = {}
    for name in ("imd_score", "population", *PRACTICE_COVARIATES):
        col = own[name].astype(float)
        if col.notna().any():
            features[name] = list(col)
        else:
            col = []
            for code in codes:
                kids = links[(links["parent_code"] == code) & (links["child_level"] == "practice")]["child_code"]
                p = practices.reindex(kids)
                if name == "population":
                    pops = p["population"].astype(float).dropna()
                    col.append(float(pops.sum()) if len(pops) else np.nan)
                else:
                    both = p[p["population"].notna() & p[name].notna()]
                    w = both["population"].astype(float)
                    col.append(float((w * both[name].astype(float)).sum() / w.sum()) if w.sum() > 0
                               else np.nan)
            if not np.all(np.isnan(col)):
                features[name] = col
        if name in features:
            weights[name] = 1.0
    # Activity, only where there is no population characteristic: geometric mean over the real indicators
    # given of (mean denominator / the level's median), per organisation.
    logs: dict[str, list[float]] = {code: [] for code in codes}
    used = []
    for ind, by_org in sorted((activity or {}).items() if not features else []):
        sizes = {c: v for c, v in by_org.items() if c in logs and v > 0}
        if not sizes:
            continue
        used.append(ind)
        median = float(np.median(list(sizes.values())))
        for code, v in sizes.items():
            logs[code].append(np.log(v / median))
    if used:
        features["activity:" + "+".join(used)] = [float(np.exp(np.mean(logs[c]))) if logs[c] else np.nan
                                                  for c in codes]
        weights["activity:" + "+".join(used)] = 1.0
    if len(codes) < 2 or not features:
        return pd.DataFrame(columns=["org_code", "rank", "peer_code", "distance", "features"])
    names = list(features)
    x = np.column_stack([np.array(features[f], dtype=float) for f in names])
    med = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), med, x)
    types = mine["trust_type"].fillna("") if level == "trust" else pd.Series("", index=mine.index)
    rows = []
    for t in sorted(types.unique()):
        sel = np.flatnonzero((types == t).to_numpy())
        if sel.size < 2:
            continue
        res = stats.similar_peers(x[sel], np.array(codes)[sel], k=k, weights=[weights[f] for f in names])
        for i, code in enumerate(res.codes):
            for rank, (peer, dist) in enumerate(zip(res.peer_codes[i], res.distance[i], strict=True), start=1):
                rows.append({"org_code": code, "rank": rank, "peer_code": peer, "distance": dist,
                             "features": ",".join(names)})
    return pd.DataFrame(rows, columns=["org_code", "rank", "peer_code", "distance", "features"])

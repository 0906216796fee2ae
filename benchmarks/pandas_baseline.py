"""Baseline (b) of `uptake bench pipeline`: every result table the pipeline writes, computed in pandas one
indicator at a time and written to Parquet with the pipeline's own tables, columns and Arrow types
(``uptake.results.schema``): result_values (with the comparison with England), result_deciles, result_funnel,
result_funnel_curve, result_funnel_summary, result_spc, result_spc_series, result_changes, result_adoption,
result_equity, result_opportunity, result_opportunity_totals, and result_peers once per level.

The roll-up, intervals, ranks, deciles, comparisons, peer benchmarks, gaps and totals are vectorised pandas;
the funnels and the slope index call ``uptake.stats`` once per (level, period) cell, the similar peers once
per level, and SPC, CUSUM and adoption categories call ``uptake.stats`` once per series: what an experienced
analyst with this statistics library would write. It is a speed baseline, not the product; the product's slow
*correctness* reference is tests/reference_pipeline.py. ``tests/test_pandas_baseline.py`` checks every table
equal to the pipeline's on a small store.

Like the pipeline (issue 17.2), it stores result_spc and result_funnel thin: the SPC points without their
segment's constants (the centre and mR-bar, in ``result_spc_segments-*``, one row per series segment) or the
lines made from them, the funnel points without the side and without the limits of plain (Wilson) cells,
which follow from the cell's benchmark and the point's denominator (``widen_spc`` and ``widen_funnel`` put
them back as the pipeline's views do; the test compares the result with the pipeline's views).

Scope: proportions (the benchmark's indicators are practice-level proportions, high is good); no rates, no
SPC on the difference from England, rebases, baselines or targets, no eligibility rules, and no activity
features for provider levels without a registered population.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from uptake.levels import ROLLUP_PATHS, Level
from uptake.reference.covariates import PRACTICE_COVARIATES, load_practice_covariates
from uptake.results.schema import (
    ADOPTION, CHANGES, DECILES, EQUITY, FUNNEL, FUNNEL_CURVE, FUNNEL_SUMMARY, OPPORTUNITY, OPPORTUNITY_TOTALS,
    PEERS, SPC, SPC_SERIES, VALUES, ResultTable, to_arrow,
)
from uptake.stats import (
    adopter_categories, compare_random_effects, compare_to_benchmark, cusum_alerts, funnel_limits,
    opportunity, similar_peers, slope_index_of_inequality, wilson, xmr, z_value,
)
from uptake.stats.funnel import CONFIDENCE_INNER, CONFIDENCE_OUTER
from uptake.stats.spc import LIMIT_FACTOR, ONE_SIGMA_FACTOR, TWO_SIGMA_FACTOR

#: result_spc as stored: the points without their segment's constants and the lines made from them
SPC_LINES = {"upper_limit": ("+", LIMIT_FACTOR), "lower_limit": ("-", LIMIT_FACTOR),
             "upper_two_sigma": ("+", TWO_SIGMA_FACTOR), "lower_two_sigma": ("-", TWO_SIGMA_FACTOR),
             "upper_one_sigma": ("+", ONE_SIGMA_FACTOR), "lower_one_sigma": ("-", ONE_SIGMA_FACTOR)}
SPC_THIN = ResultTable("result_spc", tuple(c for c in SPC.columns if c.name not in (
    "centre", "mean_moving_range", *SPC_LINES)), ("indicator", "level", "org_code", "period"))
#: one row per series segment: its centre and mR-bar
SPC_SEGMENT_ROWS = ResultTable(
    "result_spc_segments", (*SPC.pick("indicator", "level", "org_code", "segment", "centre",
                                      "mean_moving_range"),), ("indicator", "level", "org_code", "segment"))
#: result_funnel as stored: without the side (limits of plain cells NULL)
FUNNEL_THIN = ResultTable("result_funnel", tuple(c for c in FUNNEL.columns if c.name != "side"),
                          ("indicator", "level", "org_code", "period"))
FUNNEL_LIMITS = {"lower95": (CONFIDENCE_INNER, -1.0), "upper95": (CONFIDENCE_INNER, 1.0),
                 "lower998": (CONFIDENCE_OUTER, -1.0), "upper998": (CONFIDENCE_OUTER, 1.0)}

#: the result_values columns this baseline computes as the pipeline does (tests/test_pandas_baseline.py
#: checks them equal): every column
VALUES_COMPARED = ("numerator", "denominator", "members", "value", "ci95_low", "ci95_high", "ci998_low",
                   "ci998_high", "percent_rank", "decile", "comparison", "comparison_plain", "comparison_method",
                   "synthetic", "org_name")
DECILE_KS = tuple(range(10, 100, 10))


def rollup(obs: pd.DataFrame, links: pd.DataFrame, data_level: str) -> pd.DataFrame:
    """Pooled numerator, denominator and members (data-level organisations) per (level, org_code, period),
    through the current hierarchy along the data level's roll-up path, England included."""
    path = [lv.value for lv in ROLLUP_PATHS[Level(data_level)][1:] if lv != Level.ENGLAND]
    up = links[links["level"].isin(path)]
    pooled = obs.merge(up, left_on="org_code", right_on="child_code", suffixes=("_obs", ""))
    parts = [
        obs.assign(level=data_level)[["level", "org_code", "period", "numerator", "denominator"]],
        pooled[["level", "org_code", "period", "numerator", "denominator"]],
        obs.assign(level="england", org_code="ENG")[["level", "org_code", "period", "numerator", "denominator"]],
    ]
    allrows = pd.concat(parts, ignore_index=True)
    return allrows.groupby(["level", "org_code", "period"], as_index=False, sort=True).agg(
        numerator=("numerator", "sum"), denominator=("denominator", "sum"), members=("numerator", "size"))


IMPROVEMENT = {"high-is-good": "increase", "low-is-good": "decrease"}


def changes(indicator: str, v: pd.DataFrame, window: int = 12, sensitivity: float = 5.0):
    """result_changes: each organisation's percentile series over every period of the indicator (NaN
    where it has no usable value), through ``uptake.stats.cusum_alerts`` one series at a time."""
    below = v[v["level"] != "england"]
    periods = np.sort(v["period"].unique())
    matrix = below.pivot_table(index=["level", "org_code"], columns="period", values="percent_rank",
                               aggfunc="first", dropna=False).reindex(columns=periods)
    present = below.set_index(["level", "org_code", "period"]).index
    out = {k: [] for k in ("level", "org_code", "period", "percentile", "up", "down", "tu", "td", "alert")}
    for (level, org), row in zip(matrix.index, matrix.to_numpy() * 100.0, strict=True):
        res = cusum_alerts(row, window, sensitivity)
        out["level"].append(np.full(len(periods), level, dtype=object))
        out["org_code"].append(np.full(len(periods), org, dtype=object))
        out["period"].append(periods)
        out["percentile"].append(row)
        out["up"].append(res.cusum_increase)
        out["down"].append(res.cusum_decrease)
        out["tu"].append(res.threshold_increase)
        out["td"].append(res.threshold_decrease)
        out["alert"].append(res.alert.astype(object))
    if not out["level"]:
        cols = {k: np.zeros(0) for k in out}
    else:
        cols = {k: np.concatenate(a) for k, a in out.items()}
    frame = pd.DataFrame(cols)
    keep = pd.MultiIndex.from_frame(frame[["level", "org_code", "period"]]).isin(present)
    frame = frame[keep]
    return to_arrow(CHANGES, {
        "indicator": np.full(len(frame), indicator, dtype=object), "level": frame["level"].to_numpy(object),
        "org_code": frame["org_code"].to_numpy(object), "period": frame["period"].to_numpy(),
        "percentile": frame["percentile"].to_numpy(float), "cusum_increase": frame["up"].to_numpy(float),
        "cusum_decrease": frame["down"].to_numpy(float), "threshold_increase": frame["tu"].to_numpy(float),
        "threshold_decrease": frame["td"].to_numpy(float), "alert": frame["alert"].to_numpy(object),
    })


def spc(indicator: str, v: pd.DataFrame, usable: np.ndarray, polarity: str, rule_length: int = 7):
    """result_spc and result_spc_series on the value basis (no rebase, baseline or target: the benchmark's
    settings), through ``uptake.stats.xmr`` one (level, organisation) series at a time."""
    improvement = IMPROVEMENT.get(polarity, "neutral")
    rows = v[usable & v["value"].notna()].sort_values(["level", "org_code", "period"])
    points: dict[str, list] = {k: [] for k in SPC.column_names}
    series: dict[str, list] = {k: [] for k in SPC_SERIES.column_names}
    for (level, org), g in rows.groupby(["level", "org_code"], sort=False):
        if len(g) < 2:
            continue
        r = xmr(g["value"].to_numpy(float), improvement, rule_length=rule_length)
        n = len(g)
        for name, data in (
            ("level", [level] * n), ("org_code", [org] * n), ("period", g["period"].to_numpy()),
            ("value", r.values), ("basis", ["value"] * n), ("england_value", np.full(n, np.nan)),
            ("segment", r.segment), ("centre", r.mean), ("moving_range", r.moving_range),
            ("mean_moving_range", r.mean_moving_range), ("upper_limit", r.upper_limit),
            ("lower_limit", r.lower_limit), ("upper_two_sigma", r.upper_two_sigma),
            ("lower_two_sigma", r.lower_two_sigma), ("upper_one_sigma", r.upper_one_sigma),
            ("lower_one_sigma", r.lower_one_sigma), ("outside_limits", r.outside_limits), ("trend", r.trend),
            ("two_of_three", r.two_of_three), ("shift", r.shift), ("direction", r.direction),
            ("rule", r.rule), ("special_cause", r.special_cause),
        ):
            points[name].append(np.asarray(data))
        for name, value in (
            ("level", level), ("org_code", org), ("points", n), ("first_period", g["period"].iloc[0]),
            ("last_period", g["period"].iloc[-1]), ("basis", "value"), ("improvement", improvement),
            ("rule_length", rule_length), ("variation_icon", r.variation_icon),
            ("assurance_icon", r.assurance_icon), ("target", np.nan),
            ("warnings", "; ".join(r.warnings) if r.warnings else None),
        ):
            series[name].append(value)
    total = sum(len(a) for a in points["level"])
    point_cols = {k: (np.concatenate(a) if a else np.zeros(0)) for k, a in points.items() if k != "indicator"}
    point_cols = {k: (a.astype(object) if a.dtype.kind in "UO" else a) for k, a in point_cols.items()}
    points_table = to_arrow(SPC, {"indicator": np.full(total, indicator, dtype=object), **point_cols})
    series_cols = {k: a for k, a in series.items() if k != "indicator"}
    series_table = to_arrow(SPC_SERIES, {
        "indicator": [indicator] * len(series["level"]),
        **{k: (np.asarray(a, dtype=object) if k in ("level", "org_code", "basis", "improvement", "variation_icon",
                                                        "assurance_icon", "warnings") else np.asarray(a))
           for k, a in series_cols.items()},
    })
    return points_table, series_table


def funnels(indicator: str, v: pd.DataFrame, points: int = 100):
    """result_funnel, result_funnel_curve and result_funnel_summary: ``uptake.stats.funnel_limits`` on each
    (level, period) below England (a few hundred cells per indicator), over the units whose counts are valid;
    and the random-effects variance of each over-dispersed cell, for the comparison with England."""
    units, curves, summary, dispersed = [], [], [], {}
    below = v[v["level"] != "england"].sort_values(["level", "period", "org_code"])
    for (level, period), g in below.groupby(["level", "period"], sort=True):
        x, n = g["numerator"].to_numpy(float), g["denominator"].to_numpy(float)
        good = (g["usable"].to_numpy() | ~(n > 0)) & (x >= 0) & (x <= n)
        unit = pd.DataFrame({"level": level, "org_code": g["org_code"].to_numpy(object), "period": period,
                             "numerator": x, "denominator": n, "value": np.nan, "benchmark": np.nan,
                             "lower95": np.nan, "upper95": np.nan, "lower998": np.nan, "upper998": np.nan,
                             "band": "not compared", "side": "", "z": np.nan})
        if good.any():
            res = funnel_limits(x[good], n[good], measure="proportion", points=points)
            unit["benchmark"] = res.benchmark
            for col in ("value", "lower95", "upper95", "lower998", "upper998", "band", "side", "z"):
                unit.loc[good, col] = getattr(res, col)
            if res.overdispersion_adjusted:
                dispersed[(level, period)] = res.tau2
            summary.append({"level": level, "period": period, "benchmark": res.benchmark,
                            "units": int((n[good] > 0).sum()), "method": res.method, "phi": res.phi,
                            "tau2": res.tau2, "overdispersion_adjusted": res.overdispersion_adjusted,
                            "warnings": "; ".join(res.warnings) or None})
            curves.append(pd.DataFrame({"level": level, "period": period, "denominator": res.grid,
                                        "lower95": res.grid_lower95, "upper95": res.grid_upper95,
                                        "lower998": res.grid_lower998, "upper998": res.grid_upper998}))
        units.append(unit)

    def table(spec, frames: list[pd.DataFrame]):
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=spec.column_names[1:])
        cols = {c: frame[c].to_numpy(object if frame[c].dtype == object else None) for c in spec.column_names[1:]}
        return to_arrow(spec, {"indicator": np.full(len(frame), indicator, dtype=object), **cols})

    return (table(FUNNEL, units), table(FUNNEL_CURVE, curves), table(FUNNEL_SUMMARY, [pd.DataFrame(summary)]),
            dispersed)


def thin_spc(points: pa.Table) -> tuple[pa.Table, pa.Table]:
    """result_spc as stored (``SPC_THIN``) and its segments (``SPC_SEGMENT_ROWS``)."""
    frame = points.select(list(SPC_SEGMENT_ROWS.column_names)).to_pandas()
    first = ~frame.duplicated(["level", "org_code", "segment"])
    segments = frame[first.to_numpy()]
    return (points.select(SPC_THIN.column_names),
            to_arrow(SPC_SEGMENT_ROWS, {c: segments[c].to_numpy(object if segments[c].dtype == object else None)
                                        for c in SPC_SEGMENT_ROWS.column_names}))


def widen_spc(points: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """result_spc from its thin form, as the pipeline's view makes it: the segment's centre (plus England's
    value on the difference basis) and the lines centre +- factor x mR-bar."""
    out = points.merge(segments, on=["indicator", "level", "org_code", "segment"], how="left")
    centre = out["england_value"].fillna(0.0).to_numpy(float) + out["centre"].to_numpy(float)
    out["centre"] = centre
    for name, (sign, factor) in SPC_LINES.items():
        spread = factor * out["mean_moving_range"].to_numpy(float)
        out[name] = centre + spread if sign == "+" else centre - spread
    return out[SPC.column_names]


def thin_funnel(units: pa.Table, summary: pa.Table) -> pa.Table:
    """result_funnel as stored (``FUNNEL_THIN``): no side, and no limits in plain (Wilson) cells."""
    frame = units.to_pandas()
    method = frame.merge(summary.select(["level", "period", "method"]).to_pandas(), on=["level", "period"],
                         how="left")["method"].to_numpy(object)
    plain = method == "wilson"
    for name in FUNNEL_LIMITS:
        frame.loc[plain, name] = np.nan
    return to_arrow(FUNNEL_THIN, {c: frame[c].to_numpy(object if frame[c].dtype == object else None)
                                  for c in FUNNEL_THIN.column_names})


def widen_funnel(units: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """result_funnel from its thin form, as the pipeline's view makes it: the Wilson-touching limits of plain
    cells from the cell's benchmark and the point's denominator, and the side from the 95% limits."""
    out = units.merge(summary[["level", "period", "method"]], on=["level", "period"], how="left")
    compared = (out["band"] != "not compared").to_numpy()
    plain = (out["method"] == "wilson").to_numpy() & compared
    theta, n = out["benchmark"].to_numpy(float), out["denominator"].to_numpy(float)
    for name, (confidence, sign) in FUNNEL_LIMITS.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            half = z_value(confidence) * np.sqrt(theta * (1.0 - theta) / n)
            limit = np.clip(theta + half if sign > 0 else theta - half, 0.0, 1.0)
        out.loc[plain, name] = limit[plain]
        out.loc[~compared, name] = np.nan
    value = out["numerator"].to_numpy(float) / np.where(compared, n, np.nan)
    side = np.where(value > out["upper95"].to_numpy(float), "high",
                    np.where(value < out["lower95"].to_numpy(float), "low", ""))
    out["side"] = np.where(compared, side, "").astype(object)
    return out[FUNNEL.column_names]


def comparisons(v: pd.DataFrame, polarity: str, dispersed: dict) -> pd.DataFrame:
    """comparison_plain (the 95% and 99.8% intervals against England's value), and comparison and its
    method (the random-effects funnel's judgement where the cell is over-dispersed, else the plain one)."""
    england = v[v["level"] == "england"].set_index("period")["value"]
    eng = v["period"].map(england).to_numpy(float)
    compared = (v["level"] != "england").to_numpy() & v["usable"].to_numpy() & (polarity != "no-judgement")
    plain = np.full(len(v), "not compared", dtype=object)
    if compared.any():
        plain[compared] = compare_to_benchmark(
            v["value"].to_numpy(float)[compared], v["ci95_low"].to_numpy(float)[compared],
            v["ci95_high"].to_numpy(float)[compared], v["ci998_low"].to_numpy(float)[compared],
            v["ci998_high"].to_numpy(float)[compared], eng[compared], polarity)
    judged = plain.copy()
    method = np.where(np.isin(plain, ["not compared", "not eligible"]), None, "interval").astype(object)
    tau2 = pd.Series(dispersed, dtype=float)
    cell_tau2 = (pd.MultiIndex.from_frame(v[["level", "period"]]).map(lambda key: tau2.get(key, np.nan))
                 if len(tau2) else pd.Index(np.full(len(v), np.nan)))
    cell_tau2 = np.asarray(cell_tau2, dtype=float)
    random = (method == "interval") & ~np.isnan(cell_tau2)
    if random.any():
        judged[random] = compare_random_effects(
            v["value"].to_numpy(float)[random], v["denominator"].to_numpy(float)[random], eng[random],
            cell_tau2[random], polarity, "proportion")
        method[random] = "random-effects"
    return pd.DataFrame({"comparison": judged, "comparison_plain": plain, "comparison_method": method},
                        index=v.index)


def peers(every: pd.DataFrame, relationships: pd.DataFrame, level: str, k: int = 10) -> pd.DataFrame:
    """result_peers of one level: ``uptake.stats.similar_peers`` on the population characteristics (IMD
    score, population, the practice covariates: the organisation's own, or its member practices' weighted by
    list size). The activity features of provider levels without a registered population are not in this
    baseline (the benchmark's levels all have a population)."""
    orgs = every.drop_duplicates("code", keep="last").set_index("code")
    mine = orgs[(orgs["level"] == level) & orgs["open"]].sort_index()
    codes = mine.index.to_numpy(object)
    practices = orgs[orgs["level"] == "practice"].copy()
    table = load_practice_covariates()
    for name in PRACTICE_COVARIATES:
        found = table[name].astype(float) if name in table.columns else pd.Series(dtype=float)
        practices[name] = practices.index.map(found).astype(float)
    members = relationships[(relationships["child_level"] == "practice")
                            & (relationships["parent_level"] == level)]
    members = members[["parent_code", "child_code"]].merge(practices, left_on="child_code", right_index=True)
    features, names = [], []
    for name in ("imd_score", "population", *PRACTICE_COVARIATES):
        own = mine[name].astype(float) if name in mine.columns else None
        if name in PRACTICE_COVARIATES:
            own = (pd.Series(mine.index.map(practices[name]), index=mine.index).astype(float)
                   if level == "practice" else pd.Series(np.nan, index=mine.index))
        if own is not None and own.notna().any():
            col = own.to_numpy(float)
        else:
            if name == "population":
                col = (members.groupby("parent_code")["population"].sum(min_count=1)
                       .reindex(codes).to_numpy(float))
            else:
                both = members[members["population"].notna() & members[name].notna()]
                w = both["population"].astype(float)
                num = (w * both[name].astype(float)).groupby(both["parent_code"]).sum()
                den = w.groupby(both["parent_code"]).sum()
                col = (num / den.where(den > 0)).reindex(codes).to_numpy(float)
            if np.all(np.isnan(col)):
                continue
        features.append(col)
        names.append(name)
    empty = pd.DataFrame(columns=["level", "org_code", "rank", "peer_code", "distance", "features"])
    if len(codes) < 2 or not names:
        return empty
    x = np.column_stack(features)
    x = np.where(np.isnan(x), np.nanmedian(x, axis=0), x)
    types = (mine["trust_type"].fillna("") if level == "trust"
             else pd.Series("", index=mine.index)).to_numpy(object)
    parts = []
    for t in sorted(set(types)):
        sel = np.flatnonzero(types == t)
        if sel.size < 2:
            continue
        res = similar_peers(x[sel], codes[sel], k=k, weights=[1.0] * len(names))
        count = res.peer_codes.shape[1]
        parts.append(pd.DataFrame({
            "level": level, "org_code": np.repeat(np.asarray(res.codes, dtype=object), count),
            "rank": np.tile(np.arange(1, count + 1), len(res.codes)),
            "peer_code": np.asarray(res.peer_codes, dtype=object).ravel(),
            "distance": np.asarray(res.distance, dtype=float).ravel(), "features": ",".join(names)}))
    return pd.concat(parts, ignore_index=True) if parts else empty


def opportunities(indicator: str, v: pd.DataFrame, peer_table: pd.DataFrame, polarity: str,
                  unit_cost: float | None, icb_of: pd.Series, best: int = 5):
    """result_opportunity (gaps against the median, the top decile, the best ``best`` of the similar peers
    and a target: none here) and result_opportunity_totals (positive gaps added up nationally and by ICB)."""
    rows = v[(v["level"] != "england") & v["usable"]].copy()
    # the peer benchmark: the mean of the best `best` of each organisation's peers' values in the period
    usable_values = rows[["level", "org_code", "period", "value"]]
    pairs = peer_table[["level", "org_code", "peer_code"]].merge(
        usable_values.rename(columns={"org_code": "peer_code"}), on=["level", "peer_code"])
    pairs = pairs.sort_values(["level", "org_code", "period", "value"], ascending=[True, True, True,
                                                                                   polarity != "high-is-good"])
    bench = pairs.groupby(["level", "org_code", "period"], sort=False).head(best).groupby(
        ["level", "org_code", "period"])["value"].mean().rename("peer_value")
    rows = rows.merge(bench.reset_index(), on=["level", "org_code", "period"], how="left")
    median = rows["p50"]
    top = rows["p90"] if polarity == "high-is-good" else rows["p10"]
    x, n = rows["numerator"].to_numpy(float), rows["denominator"].to_numpy(float)
    fav, unfav = ((rows["ci95_high"], rows["ci95_low"]) if polarity == "high-is-good"
                  else (rows["ci95_low"], rows["ci95_high"]))
    cost = np.nan if unit_cost is None or pd.isna(unit_cost) else float(unit_cost)
    gaps = {"median": opportunity(x, n, median.to_numpy(float), polarity),
            "top_decile": opportunity(x, n, top.to_numpy(float), polarity),
            "peers": opportunity(x, n, rows["peer_value"].to_numpy(float), polarity),
            "target": opportunity(x, n, np.full(len(rows), np.nan), polarity)}
    opp = {
        "level": rows["level"].to_numpy(object), "org_code": rows["org_code"].to_numpy(object),
        "period": rows["period"].to_numpy(), "numerator": x, "denominator": n, "value": rows["value"].to_numpy(float),
        "median_value": rows["p50"].to_numpy(float), "gap_median": gaps["median"],
        "top_decile_value": top.to_numpy(float),
        "gap_top_decile": gaps["top_decile"], "peer_value": rows["peer_value"].to_numpy(float),
        "gap_peers": gaps["peers"],
        "gap_peers_low": opportunity(fav.to_numpy(float) * n, n, rows["peer_value"].to_numpy(float), polarity),
        "gap_peers_high": opportunity(unfav.to_numpy(float) * n, n, rows["peer_value"].to_numpy(float), polarity),
        "target_value": np.full(len(rows), np.nan), "gap_target": gaps["target"],
        "unit_cost": np.full(len(rows), cost),
        **{f"gap_{k}_pounds": gaps[k] * cost for k in ("median", "top_decile", "peers", "target")},
        "synthetic": np.full(len(rows), bool(v["_synthetic"].iloc[0]) if len(v) else True),
    }
    opp_table = to_arrow(OPPORTUNITY, {"indicator": np.full(len(rows), indicator, dtype=object), **opp})
    # totals
    frame = pd.DataFrame({"level": opp["level"], "org_code": opp["org_code"], "period": opp["period"],
                          "median": gaps["median"], "top-decile": gaps["top_decile"], "peers": gaps["peers"],
                          "target": gaps["target"]})
    frame["icb"] = [icb_of.get((lv, c)) for lv, c in zip(frame["level"], frame["org_code"], strict=True)]
    totals = []
    for benchmark in ("median", "top-decile", "peers", "target"):
        part = frame[frame[benchmark].notna()]
        if part.empty:
            continue
        national = part.groupby(["level", "period"], sort=True)[benchmark].agg(
            gap_patients="sum", organisations=lambda g: int((g > 0).sum())).reset_index()
        national["area_level"], national["area_code"] = "england", "ENG"
        by_icb = part[(part["level"] != "icb") & part["icb"].notna()].groupby(
            ["level", "period", "icb"], sort=True)[benchmark].agg(
            gap_patients="sum", organisations=lambda g: int((g > 0).sum())).reset_index()
        by_icb = by_icb.rename(columns={"icb": "area_code"}).assign(area_level="icb")
        both = pd.concat([national, by_icb], ignore_index=True).assign(benchmark=benchmark)
        totals.append(both)
    tot = pd.concat(totals, ignore_index=True) if totals else pd.DataFrame(
        columns=["level", "period", "benchmark", "area_level", "area_code", "organisations", "gap_patients"])
    totals_table = to_arrow(OPPORTUNITY_TOTALS, {
        "indicator": np.full(len(tot), indicator, dtype=object), "level": tot["level"].to_numpy(object),
        "period": tot["period"].to_numpy(), "benchmark": tot["benchmark"].to_numpy(object),
        "area_level": tot["area_level"].to_numpy(object), "area_code": tot["area_code"].to_numpy(object),
        "organisations": tot["organisations"].to_numpy(np.int64),
        "gap_patients": tot["gap_patients"].to_numpy(float), "gap_pounds": tot["gap_patients"].to_numpy(float) * cost,
        "synthetic": np.full(len(tot), bool(v["_synthetic"].iloc[0]) if len(v) else True),
    })
    return opp_table, totals_table


#: draws per SII interval, as the pipeline makes them (uptake.pipeline.equity.SIMULATIONS)
EQUITY_SIMULATIONS = 1_000


def equity(indicator: str, v: pd.DataFrame, quintile: pd.Series, with_imd: set[str]):
    """result_equity: ``uptake.stats.slope_index_of_inequality`` on each (level, period) whose level's
    organisations carry an IMD quintile (usable values, positive denominators, a known quintile)."""
    rows = []
    below = v[(v["level"] != "england") & v["level"].isin(with_imd)].sort_values(["level", "period", "org_code"])
    below = below.assign(_q=below["org_code"].map(quintile).astype(float))
    ok_all = (below["value"].where(below["usable"]).notna() & (below["denominator"] > 0) & below["_q"].notna())
    for (level, period), g in below[ok_all].groupby(["level", "period"], sort=True):
        res = slope_index_of_inequality(g["value"].to_numpy(float), g["denominator"].to_numpy(float),
                                        g["_q"].to_numpy(float), measure="proportion",
                                        simulations=EQUITY_SIMULATIONS)
        row = {"level": level, "period": period, "organisations": len(g), "quintiles": int(res.groups.size),
               "sii": res.sii, "rii": res.rii, "intercept": res.intercept, "sii_ci95_low": res.sii_ci95_low,
               "sii_ci95_high": res.sii_ci95_high, "rii_ci95_low": res.rii_ci95_low,
               "rii_ci95_high": res.rii_ci95_high}
        for qn in range(1, 6):
            hit = np.flatnonzero(res.groups == qn)
            row[f"value_q{qn}"] = res.group_value[hit[0]] if hit.size else np.nan
        rows.append(row)
    frame = pd.DataFrame(rows, columns=EQUITY.column_names[1:])
    cols = {c: frame[c].to_numpy() for c in EQUITY.column_names[1:]}
    cols["level"] = frame["level"].to_numpy(object)
    cols["organisations"] = frame["organisations"].to_numpy(np.int64)
    cols["quintiles"] = frame["quintiles"].to_numpy(np.int32)
    cols = {k: (a.astype(float) if k not in ("level", "period", "organisations", "quintiles") else a)
            for k, a in cols.items()}
    return to_arrow(EQUITY, {"indicator": np.full(len(frame), indicator, dtype=object), **cols})


def adoption(indicator: str, v: pd.DataFrame, threshold: float | None, polarity: str, first_period):
    """result_adoption: the first period each organisation's usable value reaches the threshold, months
    from the indicator's first period, and Rogers' categories per level (``uptake.stats.adopter_categories``).
    Every organisation is eligible here (the benchmark's indicators have no eligibility rule)."""
    if threshold is None or pd.isna(threshold):
        return ADOPTION.schema.empty_table()
    below = v[v["level"] != "england"]
    value = below["value"].where(below["usable"])
    crossed = value <= threshold if polarity == "low-is-good" else value >= threshold
    first = below["period"].where(crossed).groupby([below["level"], below["org_code"]], sort=True).min()
    out = first.rename("first_adopted").reset_index()
    first_month = pd.Timestamp(first_period)
    adopted_at = pd.to_datetime(out["first_adopted"])
    out["months_from_launch"] = ((adopted_at.dt.year - first_month.year) * 12
                                 + (adopted_at.dt.month - first_month.month)).astype(float)
    out["category_normal"] = "not yet"
    out["category_quantile"] = "not yet"
    for _, part in out.groupby("level", sort=False):
        months = part["months_from_launch"].to_numpy(float)
        out.loc[part.index, "category_normal"] = adopter_categories(months, mode="normal").category
        out.loc[part.index, "category_quantile"] = adopter_categories(months, mode="quantile").category
    adopted = out["first_adopted"].notna().to_numpy()
    return to_arrow(ADOPTION, {
        "indicator": np.full(len(out), indicator, dtype=object), "level": out["level"].to_numpy(object),
        "org_code": out["org_code"].to_numpy(object), "threshold": np.full(len(out), float(threshold)),
        "adopted": adopted, "first_adopted": pd.to_datetime(out["first_adopted"]).dt.date.to_numpy(object),
        "months_from_launch": out["months_from_launch"].to_numpy(float),
        "category_normal": out["category_normal"].to_numpy(object),
        "category_quantile": out["category_quantile"].to_numpy(object),
    })


def values_and_deciles(indicator: str, agg: pd.DataFrame, names: pd.Series, synthetic: bool,
                       polarity: str = "high-is-good"):
    """result_values and result_deciles as the pipeline writes them (proportions), vectorised."""
    v = agg.copy()
    x, n = v["numerator"].to_numpy(float), v["denominator"].to_numpy(float)
    usable = (n > 0) & (x >= 0) & (x <= n)
    with np.errstate(invalid="ignore", divide="ignore"):
        v["value"] = np.where(n > 0, x / n, np.nan)
    for label, conf in (("95", 0.95), ("998", 0.998)):
        lo = np.full(len(v), np.nan)
        hi = np.full(len(v), np.nan)
        lo[usable], hi[usable] = wilson(x[usable], n[usable], conf)
        v[f"ci{label}_low"], v[f"ci{label}_high"] = lo, hi
    ranked = v["value"].where(usable & (v["level"] != "england"))
    cell = v.groupby(["level", "period"], sort=True)
    rank = ranked.groupby([v["level"], v["period"]]).rank(method="min")
    m = ranked.groupby([v["level"], v["period"]]).transform("count")
    with np.errstate(invalid="ignore", divide="ignore"):
        v["percent_rank"] = np.where(m > 1, (rank - 1) / (m - 1), np.where(ranked.notna(), 0.0, np.nan))
    # deciles: continuous centiles (SQL PERCENTILE_CONT) of each cell's usable values
    ok = v[ranked.notna()].assign(_v=ranked[ranked.notna()]).sort_values(["level", "period", "_v"])
    counts = ok.groupby(["level", "period"], sort=True).size()
    starts = np.concatenate([[0], np.cumsum(counts.to_numpy())[:-1]])
    sorted_values = ok["_v"].to_numpy()
    mm = counts.to_numpy()
    dec = {}
    for k in DECILE_KS:
        h = (mm - 1) * (k / 100.0)
        lo_i = np.floor(h).astype(np.int64)
        hi_i = np.ceil(h).astype(np.int64)
        low_v, high_v = sorted_values[starts + lo_i], sorted_values[starts + hi_i]
        dec[f"p{k}"] = np.where(lo_i == hi_i, low_v, low_v + (h - lo_i) * (high_v - low_v))
    deciles = counts.rename("organisations").reset_index().assign(**dec)
    deciles = deciles[deciles["level"] != "england"]
    merged = v[["level", "period"]].merge(deciles, on=["level", "period"], how="left")
    cuts = merged[[f"p{k}" for k in DECILE_KS]].to_numpy()
    top = ranked.groupby([v["level"], v["period"]]).transform("max")
    band = 1 + (cuts < ranked.to_numpy()[:, None]).sum(axis=1)
    band = np.where(ranked.to_numpy() == top.to_numpy(), 10, band)
    v["decile"] = pd.Series(band, index=v.index, dtype="Int64").where(ranked.notna())
    del cell
    v = v.merge(deciles.drop(columns="organisations"), on=["level", "period"], how="left")
    v["usable"] = usable
    funnel_tables = funnels(indicator, v)
    judged = comparisons(v, polarity, funnel_tables[3])
    rows = len(v)
    values_table = to_arrow(VALUES, {
        "indicator": np.full(rows, indicator, dtype=object), "level": v["level"].to_numpy(object),
        "org_code": v["org_code"].to_numpy(object), "org_name": v["org_code"].map(names).to_numpy(object),
        "period": v["period"].to_numpy(), **{c: v[c] for c in VALUES_COMPARED[:10]},
        "comparison": judged["comparison"].to_numpy(object),
        "comparison_plain": judged["comparison_plain"].to_numpy(object),
        "comparison_method": judged["comparison_method"].to_numpy(object), "synthetic": np.full(rows, synthetic),
    })
    deciles_table = to_arrow(DECILES, {
        "indicator": np.full(len(deciles), indicator, dtype=object), "level": deciles["level"].to_numpy(object),
        "period": deciles["period"].to_numpy(), "organisations": deciles["organisations"].to_numpy(np.int64),
        **{f"p{k}": deciles[f"p{k}"].to_numpy(float) for k in DECILE_KS},
    })
    return v, values_table, deciles_table, funnel_tables[:3]


def _thin_first(spc_tables: tuple[pa.Table, pa.Table]) -> tuple[pa.Table, pa.Table, pa.Table]:
    points, series = spc_tables
    return (*thin_spc(points), series)


def pandas_pipeline(duckdb_path: Path, out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(duckdb_path), read_only=True)
    links = con.execute(
        "SELECT child_code, parent_level AS level, parent_code AS org_code FROM relationships "
        "WHERE valid_to IS NULL AND parent_level <> 'isdn'"
    ).df()
    orgs = con.execute("SELECT code, level, name FROM organisations WHERE valid_to IS NULL").df()
    # IMD quintiles: each organisation's latest record; the levels whose open organisations carry one
    every = con.execute(
        "SELECT code, level, imd_quintile, valid_to IS NULL AS open FROM organisations "
        "ORDER BY code, valid_to IS NULL, CAST(valid_from AS VARCHAR)").df()
    quintile = every.drop_duplicates("code", keep="last").set_index("code")["imd_quintile"]
    with_imd = set(every.loc[every["open"] & every["imd_quintile"].notna(), "level"])
    org_records = con.execute(
        "SELECT *, valid_to IS NULL AS open FROM organisations ORDER BY code, valid_to IS NULL, "
        "CAST(valid_from AS VARCHAR)").df()
    relationships = con.execute("SELECT * FROM relationships WHERE valid_to IS NULL").df()
    icb_links = relationships[relationships["parent_level"] == "icb"]
    icb_of = pd.Series(icb_links["parent_code"].to_numpy(object),
                       index=pd.MultiIndex.from_arrays([icb_links["child_level"], icb_links["child_code"]]))
    icb_of = icb_of[~icb_of.index.duplicated()].to_dict()
    peer_tables: dict[str, pd.DataFrame] = {}
    self_links = pd.DataFrame({"child_code": orgs["code"], "level": orgs["level"], "org_code": orgs["code"]})
    links = pd.concat([links, self_links], ignore_index=True)
    names = orgs.set_index("code")["name"]
    levels = orgs.set_index("code")["level"]
    synthetic_of, polarity_of, threshold_of, cost_of = {}, {}, {}, {}
    try:  # the catalogue's flags as the pipeline stored them (the bench's indicators: synthetic, high is good,
        # adoption at 0.5; their first period is their first observed month, which adoption counts from)
        for ind, synthetic, polarity, threshold, cost in con.execute(
                "SELECT indicator, synthetic, polarity, adoption_threshold, unit_cost FROM result_indicators"
        ).fetchall():
            synthetic_of[ind], polarity_of[ind] = synthetic, polarity
            threshold_of[ind], cost_of[ind] = threshold, cost
    except duckdb.Error:
        pass
    indicators = [row[0] for row in con.execute(
        "SELECT DISTINCT indicator FROM observations_current ORDER BY 1").fetchall()]
    written = 0
    for indicator in indicators:
        synthetic = bool(synthetic_of.get(indicator, True))
        obs = con.execute(
            "SELECT org_code, period, numerator, denominator FROM observations_current WHERE indicator = ?",
            [indicator],
        ).df()
        data_level = str(levels.get(obs["org_code"].iloc[0], "practice")) if len(obs) else "practice"
        obs = obs[obs["org_code"].map(levels) == data_level]
        for level in (lv.value for lv in ROLLUP_PATHS[Level(data_level)] if lv != Level.ENGLAND):
            if level not in peer_tables:  # once per level and run, as the pipeline finds them
                peer_tables[level] = peers(org_records, relationships, level)
                pq.write_table(to_arrow(PEERS, {c: peer_tables[level][c].to_numpy(
                    object if c in ("level", "org_code", "peer_code", "features") else None)
                    for c in PEERS.column_names}), out_dir / f"result_peers-{level}.parquet")
                written += len(peer_tables[level])
        agg = rollup(obs, links, data_level)
        polarity = polarity_of.get(indicator, "high-is-good")
        values, values_table, deciles_table, funnel_tables = values_and_deciles(
            indicator, agg, names, synthetic, polarity)
        funnel_units, funnel_curve, funnel_summary = funnel_tables
        for name, table in zip(("result_values", "result_deciles", "result_funnel", "result_funnel_curve",
                                "result_funnel_summary"), (values_table, deciles_table,
                                                           thin_funnel(funnel_units, funnel_summary), funnel_curve,
                                                           funnel_summary), strict=True):
            pq.write_table(table, out_dir / f"{name}-{indicator}.parquet")
            written += table.num_rows
        adopted = adoption(indicator, values, threshold_of.get(indicator), polarity, obs["period"].min())
        for name, table in (("result_changes", changes(indicator, values)), ("result_adoption", adopted),
                            ("result_equity", equity(indicator, values, quintile, with_imd)),
                            *zip(("result_opportunity", "result_opportunity_totals"), opportunities(
                                indicator, values.assign(_synthetic=synthetic),
                                pd.concat(list(peer_tables.values()), ignore_index=True), polarity,
                                cost_of.get(indicator), icb_of), strict=True),
                            *zip(("result_spc", "result_spc_segments", "result_spc_series"),
                                 _thin_first(spc(indicator, values, values["usable"].to_numpy(), polarity)),
                                 strict=True)):
            pq.write_table(table, out_dir / f"{name}-{indicator}.parquet")
            written += table.num_rows
    con.close()
    return written

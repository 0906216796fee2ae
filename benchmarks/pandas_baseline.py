"""Baseline (b) of `uptake bench pipeline`: the pipeline's core outputs in pandas, written the way an
experienced analyst would (vectorised groupby and transforms, one indicator at a time, no per-organisation
Python loops). It is a speed baseline, not the product: the product's slow *correctness* reference is
tests/reference_pipeline.py.

Outputs, per indicator, written to Parquet: values (roll-ups through the current hierarchy, Wilson 95% and
99.8% intervals, percent rank, decile, comparison with England), deciles, funnel limits with Spiegelhalter
overdispersion and each organisation's band, XmR limits with the outside-limits, trend and shift rules,
and opportunity against the median and the top decile. Peers, CUSUM, adoption and equity are left out, so
this baseline does less work than the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from uptake.levels import ROLLUP_PATHS, Level
from uptake.results.schema import (
    ADOPTION, CHANGES, DECILES, EQUITY, FUNNEL, FUNNEL_CURVE, FUNNEL_SUMMARY, SPC, SPC_SERIES, VALUES, to_arrow,
)
from uptake.stats import (
    adopter_categories, compare_random_effects, compare_to_benchmark, cusum_alerts, funnel_limits,
    slope_index_of_inequality, wilson, xmr,
)

Z95, Z998 = 1.959963984540054, 3.090232306167813
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


def _wilson(x, n, z):
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = 2 * x + z * z
        half = z * np.sqrt(z * z + 4 * x * (1 - p))
        return (centre - half) / (2 * (n + z * z)), (centre + half) / (2 * (n + z * z))


def _run_lengths(same_as_previous: pd.Series, keys: pd.Series) -> pd.Series:
    """Length of the run each row belongs to, where a run continues while `same_as_previous` is True."""
    block = (~same_as_previous).cumsum()
    return block.groupby([keys, block]).transform("size")


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
    self_links = pd.DataFrame({"child_code": orgs["code"], "level": orgs["level"], "org_code": orgs["code"]})
    links = pd.concat([links, self_links], ignore_index=True)
    names = orgs.set_index("code")["name"]
    levels = orgs.set_index("code")["level"]
    synthetic_of, polarity_of, threshold_of = {}, {}, {}
    try:  # the catalogue's flags as the pipeline stored them (the bench's indicators: synthetic, high is good,
        # adoption at 0.5; their first period is their first observed month, which adoption counts from)
        for ind, synthetic, polarity, threshold in con.execute(
                "SELECT indicator, synthetic, polarity, adoption_threshold FROM result_indicators").fetchall():
            synthetic_of[ind], polarity_of[ind], threshold_of[ind] = synthetic, polarity, threshold
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
        agg = rollup(obs, links, data_level)
        polarity = polarity_of.get(indicator, "high-is-good")
        values, values_table, deciles_table, funnel_tables = values_and_deciles(
            indicator, agg, names, synthetic, polarity)
        for name, table in zip(("result_values", "result_deciles", "result_funnel", "result_funnel_curve",
                                "result_funnel_summary"), (values_table, deciles_table, *funnel_tables), strict=True):
            pq.write_table(table, out_dir / f"{name}-{indicator}.parquet")
            written += table.num_rows
        adopted = adoption(indicator, values, threshold_of.get(indicator), polarity, obs["period"].min())
        for name, table in (("result_changes", changes(indicator, values)), ("result_adoption", adopted),
                            ("result_equity", equity(indicator, values, quintile, with_imd)),
                            *zip(("result_spc", "result_spc_series"),
                                 spc(indicator, values, values["usable"].to_numpy(), polarity), strict=True)):
            pq.write_table(table, out_dir / f"{name}-{indicator}.parquet")
            written += table.num_rows
        # funnel with Spiegelhalter (2005) overdispersion, arcsine transform, winsorised at 10%/90%
        g = values.groupby(["level", "period"])
        theta = g["numerator"].transform("sum") / g["denominator"].transform("sum")
        y = np.arcsin(np.sqrt(values["value"].clip(0, 1)))
        s = 1 / (2 * np.sqrt(values["denominator"].where(values["denominator"] > 0)))
        z = (y - np.arcsin(np.sqrt(theta))) / s
        lo = z.groupby([values["level"], values["period"]]).transform(lambda v: v.quantile(0.1))
        hi = z.groupby([values["level"], values["period"]]).transform(lambda v: v.quantile(0.9))
        zw2 = z.clip(lo, hi) ** 2
        k = g["value"].transform("count")
        phi = zw2.groupby([values["level"], values["period"]]).transform("mean")
        w = 1 / s**2
        sw = w.groupby([values["level"], values["period"]]).transform("sum")
        sw2 = (w**2).groupby([values["level"], values["period"]]).transform("sum")
        tau2 = ((k * phi - (k - 1)) / (sw - sw2 / sw)).clip(lower=0).where(phi > 1, 0.0)
        spread = np.sqrt(s**2 + tau2)
        t0 = np.arcsin(np.sqrt(theta))
        for label, zz in (("95", Z95), ("998", Z998)):
            values[f"funnel{label}_low"] = np.sin((t0 - zz * spread).clip(0, np.pi / 2)) ** 2
            values[f"funnel{label}_high"] = np.sin((t0 + zz * spread).clip(0, np.pi / 2)) ** 2
        values["funnel_band"] = np.select(
            [values["value"] > values["funnel998_high"], values["value"] < values["funnel998_low"],
             values["value"] > values["funnel95_high"], values["value"] < values["funnel95_low"]],
            ["above 99.8%", "below 99.8%", "above 95%", "below 95%"], default="within 95%")
        # XmR per organisation series
        values = values.sort_values(["level", "org_code", "period"], ignore_index=True)
        series = values["level"] + "|" + values["org_code"]
        sg = values.groupby(series)["value"]
        mr = sg.diff().abs()
        mean = sg.transform("mean")
        mrbar = mr.groupby(series).transform("mean")
        values["spc_centre"] = mean
        values["spc_upper"] = mean + 2.66 * mrbar
        values["spc_lower"] = mean - 2.66 * mrbar
        values["spc_outside"] = (values["value"] > values["spc_upper"]) | (values["value"] < values["spc_lower"])
        side = np.sign(values["value"] - mean)
        same_side = (side == side.groupby(series).shift()) & (side != 0)
        values["spc_shift"] = (_run_lengths(same_side, series) >= 7) & (side != 0)
        step = np.sign(sg.diff())
        same_step = (step == step.groupby(series).shift()) & (step != 0)
        values["spc_trend"] = (_run_lengths(same_step, series) >= 6) & (step != 0)
        # opportunity against the median and the top decile (high is good)
        for name, col in (("median", "p50"), ("top_decile", "p90")):
            values[f"gap_{name}"] = (values[col] * values["denominator"] - values["numerator"]).clip(lower=0)
        # the families not yet in the pipeline's tables, in this baseline's own columns
        other = values.drop(columns=[c for c in values.columns if c.startswith("p") and c[1:].isdigit()])
        other.assign(indicator=indicator).to_parquet(out_dir / f"other-{indicator}.parquet", index=False)
        written += len(other)
    con.close()
    return written

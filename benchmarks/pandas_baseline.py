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

Z95, Z998 = 1.959963984540054, 3.090232306167813


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
    self_links = pd.DataFrame({"child_code": orgs["code"], "level": orgs["level"], "org_code": orgs["code"]})
    links = pd.concat([links, self_links], ignore_index=True)
    names = orgs.set_index("code")["name"]
    indicators = [row[0] for row in con.execute(
        "SELECT DISTINCT indicator FROM observations_current ORDER BY 1").fetchall()]
    written = 0
    for indicator in indicators:
        obs = con.execute(
            "SELECT org_code, period, numerator, denominator FROM observations_current WHERE indicator = ?",
            [indicator],
        ).df()
        # roll-up: every observation counts at its own level and at every ancestor level
        pooled = obs.merge(links, left_on="org_code", right_on="child_code", suffixes=("_obs", ""))
        values = pooled.groupby(["level", "org_code", "period"], as_index=False)[
            ["numerator", "denominator"]].sum()
        england = obs.groupby("period", as_index=False)[["numerator", "denominator"]].sum()
        england["level"], england["org_code"] = "england", "ENG"
        values = pd.concat([values[values["level"] != "england"], england], ignore_index=True)
        values["org_name"] = values["org_code"].map(names)
        x, n = values["numerator"].to_numpy(), values["denominator"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            values["value"] = np.where(n > 0, x / n, np.nan)
        values["ci95_low"], values["ci95_high"] = _wilson(x, n, Z95)
        values["ci998_low"], values["ci998_high"] = _wilson(x, n, Z998)
        grp = values.groupby(["level", "period"])["value"]
        rank = grp.rank(method="min")
        size = grp.transform("count")
        values["percent_rank"] = np.where(size > 1, (rank - 1) / (size - 1), 0.0)
        deciles = grp.quantile([k / 10 for k in range(1, 10)]).unstack()
        deciles.columns = [f"p{int(round(c * 100))}" for c in deciles.columns]
        deciles = deciles.reset_index()
        values = values.merge(deciles, on=["level", "period"], how="left")
        cuts = values[[f"p{k}0" for k in range(1, 10)]].to_numpy()
        values["decile"] = 1 + (values["value"].to_numpy()[:, None] > cuts).sum(axis=1)
        eng_value = england.set_index("period").eval("numerator / denominator")
        bench = values["period"].map(eng_value)
        better = values["ci95_low"] > bench
        worse = values["ci95_high"] < bench
        best = values["ci998_low"] > bench
        worst = values["ci998_high"] < bench
        values["comparison"] = np.select(
            [best, better, worst, worse], ["best", "better", "worst", "worse"], default="similar")
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
        values["indicator"] = indicator
        values.to_parquet(out_dir / f"values-{indicator}.parquet", index=False)
        deciles.assign(indicator=indicator).to_parquet(out_dir / f"deciles-{indicator}.parquet", index=False)
        written += len(values) + len(deciles)
    con.close()
    return written

"""A small, self-contained workspace for the web tests: a made-up hierarchy (2 regions, 4 ICBs, 12 sub-ICB
locations, 36 practices, 6 trusts), three indicators (one synthetic), observations loaded through the
analytics store (so batches carry provenance), and result tables in the pipeline's shape.

The result values here are computed with plain pandas and textbook formulas, only so the pages have
realistic numbers to show; the pipeline's own correctness is tested in its own tests. CUSUM changes and
the slope index of inequality with its interval use `uptake.stats` (`cusum_alerts`,
`slope_index_of_inequality`): with a 12-period reference window only doac-share (24 months) has changes;
regions have no deprivation quintile (no equity rows) and every trust is in quintile 2 (equity rows
without a slope). When the real
pipeline is importable (`uptake.pipeline.run`), `build()` runs it instead for the result tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from uptake.catalogue import Catalogue
from uptake.catalogue.schemas import Indicator, Innovation
from uptake.workspace import Workspace

REGIONS = {"Y56": ("London", 51.5, -0.1), "Y58": ("South West", 51.0, -3.0)}
ICBS = {
    "QMJ": ("NHS North Central London ICB", "Y56", 51.58, -0.15),
    "QKK": ("NHS South East London ICB", "Y56", 51.44, -0.05),
    "QSL": ("NHS Somerset ICB", "Y58", 51.1, -2.9),
    "QUY": ("NHS Bristol, North Somerset and South Gloucestershire ICB", "Y58", 51.45, -2.6),
}
TRUSTS = {
    "RAL": ("Royal Free London NHS Foundation Trust", "QMJ"),
    "RRV": ("University College London Hospitals NHS Foundation Trust", "QMJ"),
    "RJ1": ("Guy's and St Thomas' NHS Foundation Trust", "QKK"),
    "RH5": ("Somerset NHS Foundation Trust", "QSL"),
    "RA7": ("University Hospitals Bristol and Weston NHS Foundation Trust", "QUY"),
    "RVJ": ("North Bristol NHS Trust", "QUY"),
}
#: the trusts' postcodes (find by postcode); each ICB's practices share the district of its first trust
TRUST_POSTCODES = {"RAL": "NW3 2QG", "RRV": "NW1 2BU", "RJ1": "SE1 7EH", "RH5": "TA1 5DA", "RA7": "BS2 8HW",
                   "RVJ": "BS10 5NB"}
ICB_TRUST = {"QMJ": "RAL", "QKK": "RJ1", "QSL": "RH5", "QUY": "RA7"}

INNOVATIONS = [
    Innovation(id="doacs", name="DOACs for atrial fibrillation", kind="treatment-therapy", conditions=["stroke", "cvd"],
               pathway_stage="spread", description="Direct oral anticoagulants replacing warfarin.", owner="Test"),
    Innovation(id="dementia-diagnosis", name="Timely dementia diagnosis", kind="care-pathway",
               conditions=["dementia"], pathway_stage="adoption", description="Diagnosing dementia early.",
               owner="Test"),
    Innovation(id="narcolepsy-medicines", name="Newer narcolepsy medicines", kind="treatment-therapy",
               conditions=["narcolepsy"], pathway_stage="adoption", description="Newer medicines in hospitals.",
               owner="Test"),
]


def _indicator(**fields) -> Indicator:
    base = dict(
        why_it_matters="Because it matters.", measure="proportion", polarity="high-is-good", period="month",
        first_period=dt.date(2021, 1, 1), adoption_threshold=0.5,
        source={"name": "Test source", "publisher": "Test publisher"}, authored_by="Author A", checked_by="Checker B",
        date_reviewed=dt.date(2026, 1, 1), next_review=dt.date(2027, 1, 1),
    )
    base.update(fields)
    return Indicator(**base)


INDICATORS = [
    _indicator(id="doac-share", innovation="doacs", title="DOAC share of anticoagulant items",
               numerator="DOAC items", denominator="DOAC and warfarin items", levels=["sub-icb"], unit_cost=250.0,
               counts={"unit": "prescription item", "plural": "prescription items"}, pounds_meaning="extra-cost",
               pounds_label="extra drug cost"),
    _indicator(id="dementia-diagnosis-rate", innovation="dementia-diagnosis", title="Dementia diagnosis rate",
               numerator="people diagnosed", denominator="people estimated to have dementia", levels=["practice"],
               synthetic=True, adoption_threshold=0.667,
               counts={"unit": "person with a dementia diagnosis", "plural": "people with a dementia diagnosis",
                       "denominator": {"unit": "person estimated to have dementia",
                                       "plural": "people estimated to have dementia"}}),
    _indicator(id="narcolepsy-newer-share", innovation="narcolepsy-medicines",
               title="Share of narcolepsy medicines that are older", numerator="older medicine quantity",
               denominator="all narcolepsy medicine quantity", levels=["trust"], polarity="low-is-good",
               adoption_threshold=0.3, counts={"unit": "defined daily dose", "plural": "defined daily doses"}),
]
CATALOGUE = Catalogue(innovations={i.id: i for i in INNOVATIONS}, indicators={i.id: i for i in INDICATORS})
PERIODS = {"doac-share": 24, "dementia-diagnosis-rate": 12, "narcolepsy-newer-share": 12}
CUSUM_WINDOW = 12  # so only doac-share (24 months) can have changes detected


@dataclass
class Built:
    workspace: Workspace
    catalogue: Catalogue
    organisations: pd.DataFrame
    relationships: pd.DataFrame


def reference() -> tuple[pd.DataFrame, pd.DataFrame]:
    orgs, rels = [], []
    valid = "2020-01-01"

    def org(code, level, name, lat, lon, imd=None, pop=None, trust_type=None, postcode=None):
        orgs.append(dict(code=code, level=level, name=name, ons_code=None, postcode=postcode, lat=lat, lon=lon,
                         imd_score=None if imd is None else imd * 8.0, imd_quintile=imd, population=pop,
                         trust_type=trust_type, valid_from=valid, valid_to=None))

    def link(child, child_level, parent, parent_level):
        rels.append(dict(child_code=child, child_level=child_level, parent_code=parent, parent_level=parent_level,
                         valid_from=valid, valid_to=None))

    org("ENG", "england", "England", 52.5, -1.5)
    for code, (name, lat, lon) in REGIONS.items():
        org(code, "region", f"{name} region", lat, lon)
        link(code, "region", "ENG", "england")
    k = 0
    for icb, (name, region, lat, lon) in ICBS.items():
        org(icb, "icb", name, lat, lon, imd=(k % 5) + 1, pop=1_000_000 + 100_000 * k)
        link(icb, "icb", region, "region")
        link(icb, "icb", "ENG", "england")
        for s in range(3):
            sub = f"{icb[1:]}{s}"  # e.g. MJ0
            slat, slon = lat + 0.08 * (s - 1), lon + 0.1 * (s - 1)
            org(sub, "sub-icb", f"{name.replace(' ICB', '')} sub-ICB {s + 1}", slat, slon, imd=((k + s) % 5) + 1,
                pop=300_000 + 20_000 * s)
            for parent, level in ((icb, "icb"), (region, "region"), ("ENG", "england")):
                link(sub, "sub-icb", parent, level)
            for p in range(3):
                practice = f"P{icb[1:]}{s}{p}"
                org(practice, "practice", f"Practice {practice}", slat + 0.01 * p, slon + 0.01 * p,
                    imd=((k + s + p) % 5) + 1, pop=5_000 + 1_500 * p,
                    postcode=f"{TRUST_POSTCODES[ICB_TRUST[icb]].split()[0]} {s}P{chr(65 + p)}")
                for parent, level in ((sub, "sub-icb"), (icb, "icb"), (region, "region"), ("ENG", "england")):
                    link(practice, "practice", parent, level)
        k += 1
    for code, (name, icb) in TRUSTS.items():
        _, region, lat, lon = ICBS[icb]
        org(code, "trust", name, lat + 0.02, lon - 0.02, imd=2, pop=500_000, trust_type="acute",
            postcode=TRUST_POSTCODES[code])
        for parent, level in ((icb, "icb"), (region, "region"), ("ENG", "england")):
            link(code, "trust", parent, level)
    return pd.DataFrame(orgs), pd.DataFrame(rels)


def boundaries(level: str) -> dict | None:
    """Square boundaries around each ICB / sub-ICB centre (test geometry, WGS84)."""
    orgs, _ = reference()
    rows = orgs[orgs["level"] == level]
    if rows.empty:
        return None
    size = 0.12 if level == "icb" else 0.04
    features = []
    for row in rows.itertuples():
        x, y = row.lon, row.lat
        ring = [[x - size, y - size], [x + size, y - size], [x + size, y + size], [x - size, y + size], [x - size, y - size]]
        features.append({"type": "Feature", "properties": {"code": row.code, "ons_code": None, "name": row.name},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def observations(orgs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(20261122)
    out = {}
    for ind in INDICATORS:
        level = ind.levels[0].value
        units = orgs[orgs["level"] == level]["code"].tolist()
        months = PERIODS[ind.id]
        rows = []
        for i, code in enumerate(units):
            start = rng.uniform(0.2, 0.6)
            speed = rng.uniform(0.01, 0.03)
            for m in range(months):
                period = dt.date(2021 + m // 12, m % 12 + 1, 1)
                share = min(0.95, start + speed * m + rng.normal(0, 0.02))
                if ind.polarity.value == "low-is-good":
                    share = max(0.05, 0.8 - speed * m - rng.uniform(0, 0.3))
                denominator = float(rng.integers(200, 2000))
                rows.append(dict(org_code=code, period=period, numerator=float(round(share * denominator)),
                                 denominator=denominator))
        out[ind.id] = pd.DataFrame(rows)
    return out


# ---------------------------------------------------------------------- results (plain pandas)
def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def results(orgs: pd.DataFrame, rels: pd.DataFrame, obs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Result tables in the pipeline's schemas (uptake.results.schema), from plain pandas."""
    from uptake.stats import cusum_alerts, slope_index_of_inequality

    names = dict(zip(orgs["code"], orgs["name"], strict=True))
    quintiles = dict(zip(orgs["code"], orgs["imd_quintile"], strict=True))
    out: dict[str, list] = {name: [] for name in (
        "result_values", "result_deciles", "result_funnel", "result_funnel_curve", "result_funnel_summary",
        "result_spc", "result_spc_series", "result_changes", "result_peers", "result_opportunity",
        "result_opportunity_totals", "result_adoption", "result_equity")}
    for ind in INDICATORS:
        frame = obs[ind.id]
        level = ind.levels[0].value
        high = ind.polarity.value == "high-is-good"
        parts = [frame.assign(level=level, members=1)]
        for parent_level in ("icb", "region", "england"):
            links = rels[(rels["child_level"] == level) & (rels["parent_level"] == parent_level)]
            rolled = frame.merge(links, left_on="org_code", right_on="child_code")
            rolled = rolled.groupby(["parent_code", "period"], as_index=False).agg(
                numerator=("numerator", "sum"), denominator=("denominator", "sum"), members=("org_code", "count"))
            parts.append(rolled.rename(columns={"parent_code": "org_code"}).assign(level=parent_level))
        v = pd.concat(parts, ignore_index=True)
        v["indicator"] = ind.id
        v["org_name"] = v["org_code"].map(names)
        v["value"] = v["numerator"] / v["denominator"]
        v["ci95_low"], v["ci95_high"] = _wilson(v["numerator"].to_numpy(), v["denominator"].to_numpy(), 1.959964)
        v["ci998_low"], v["ci998_high"] = _wilson(v["numerator"].to_numpy(), v["denominator"].to_numpy(), 3.090232)
        v["percent_rank"] = v.groupby(["level", "period"])["value"].rank(pct=True, method="average")
        v["decile"] = np.minimum(10, np.ceil(v["percent_rank"] * 10)).astype(int)
        eng = v[v["level"] == "england"].set_index("period")["value"]
        e = v["period"].map(eng)
        better = np.where(high, v["ci95_low"] > e, v["ci95_high"] < e)
        worse = np.where(high, v["ci95_high"] < e, v["ci95_low"] > e)
        v["comparison"] = np.where(better, "better", np.where(worse, "worse", "similar"))
        v.loc[v["level"] == "england", "comparison"] = "not compared"
        v["synthetic"] = ind.synthetic
        out["result_values"].append(v)
        for (lv, period), g in v[v["level"] != "england"].groupby(["level", "period"]):
            qs = g["value"].quantile([i / 10 for i in range(1, 10)]).to_list()
            out["result_deciles"].append(pd.DataFrame([dict(indicator=ind.id, level=lv, period=period,
                                                            organisations=len(g),
                                                            **{f"p{(i + 1) * 10}": qs[i] for i in range(9)})]))
            p0 = eng[period]
            n = g["denominator"].to_numpy()
            se = np.sqrt(p0 * (1 - p0) / n)
            z = (g["value"].to_numpy() - p0) / se
            band = np.select([np.abs(z) > 3.09, np.abs(z) > 1.96], ["beyond 99.8%", "between 95% and 99.8%"],
                             "within 95%")
            side = np.where(band == "within 95%", "", np.where(z > 0, "high", "low"))
            out["result_funnel"].append(pd.DataFrame(dict(
                indicator=ind.id, level=lv, org_code=g["org_code"].to_numpy(), period=period,
                numerator=g["numerator"].to_numpy(), denominator=n, value=g["value"].to_numpy(), benchmark=p0,
                lower95=p0 - 1.96 * se, upper95=p0 + 1.96 * se, lower998=p0 - 3.09 * se, upper998=p0 + 3.09 * se,
                band=band, side=side, z=z)))
            d = np.linspace(max(1, n.min() * 0.8), n.max() * 1.2, 40)
            sd = np.sqrt(p0 * (1 - p0) / d)
            out["result_funnel_curve"].append(pd.DataFrame(dict(
                indicator=ind.id, level=lv, period=period, denominator=d, lower95=p0 - 1.96 * sd,
                upper95=p0 + 1.96 * sd, lower998=p0 - 3.09 * sd, upper998=p0 + 3.09 * sd)))
            out["result_funnel_summary"].append(pd.DataFrame([dict(
                indicator=ind.id, level=lv, period=period, benchmark=p0, units=len(g), method="wilson", phi=1.0,
                tau2=0.0, overdispersion_adjusted=False, warnings=None)]))
        for (lv, code), g in v.groupby(["level", "org_code"]):
            g = g.sort_values("period")
            x = g["value"].to_numpy()
            mean = x.mean()
            mr = np.abs(np.diff(x, prepend=np.nan))
            mrbar = np.nanmean(mr) if len(x) > 1 else 0.0
            lo, hi = mean - 2.66 * mrbar, mean + 2.66 * mrbar
            direction = np.where(x > hi, 1, np.where(x < lo, -1, 0))
            good = 1 if high else -1
            special = np.where(direction == 0, "common-cause", np.where(direction == good, "improvement", "concern"))
            out["result_spc"].append(pd.DataFrame(dict(
                indicator=ind.id, level=lv, org_code=code, period=g["period"].to_numpy(), value=x, segment=1,
                centre=mean, moving_range=mr, mean_moving_range=mrbar, upper_limit=hi, lower_limit=lo,
                upper_two_sigma=mean + 1.77 * mrbar, lower_two_sigma=mean - 1.77 * mrbar,
                upper_one_sigma=mean + 0.89 * mrbar, lower_one_sigma=mean - 0.89 * mrbar,
                outside_limits=np.abs(direction), trend=0, two_of_three=0, shift=0, direction=direction,
                rule=np.where(direction == 0, None, "outside-limits"), special_cause=special)))
            last = special[-1]
            icon = None if len(x) < 13 else ("common-cause" if last == "common-cause"
                                               else f"{last}-{'high' if direction[-1] > 0 else 'low'}")
            out["result_spc_series"].append(pd.DataFrame([dict(
                indicator=ind.id, level=lv, org_code=code, points=len(x), first_period=g["period"].iloc[0],
                last_period=g["period"].iloc[-1], improvement="increase" if high else "decrease", rule_length=7,
                variation_icon=icon, assurance_icon=None, target=None,
                warnings=None if len(x) >= 13 else "fewer than 13 points: no icons")]))
            if lv != "england":  # CUSUM on the percentile series (uptake.stats), as the pipeline does
                cusum = cusum_alerts(g["percent_rank"].to_numpy() * 100, window=CUSUM_WINDOW)
                out["result_changes"].append(pd.DataFrame(dict(
                    indicator=ind.id, level=lv, org_code=code, period=g["period"].to_numpy(),
                    percentile=g["percent_rank"].to_numpy() * 100, cusum_increase=cusum.cusum_increase,
                    cusum_decrease=cusum.cusum_decrease, threshold_increase=cusum.threshold_increase,
                    threshold_decrease=-cusum.threshold_decrease, alert=cusum.alert.astype(object))))
        for (lv, period), g in v[v["level"] != "england"].groupby(["level", "period"]):
            quintile = g["org_code"].map(quintiles).astype(float).to_numpy()
            if np.isnan(quintile).all():  # regions have no deprivation quintile: no equity rows
                continue
            sii = slope_index_of_inequality(g["value"].to_numpy(), g["denominator"].to_numpy(), quintile,
                                            measure=str(ind.measure), simulations=1_000)  # as the pipeline
            by_group = dict(zip(sii.groups.tolist(), sii.group_value.tolist(), strict=True))
            out["result_equity"].append(pd.DataFrame([dict(
                indicator=ind.id, level=lv, period=period, organisations=int((~np.isnan(quintile)).sum()),
                quintiles=len(sii.groups), sii=sii.sii, rii=sii.rii, intercept=sii.intercept,
                sii_ci95_low=sii.sii_ci95_low, sii_ci95_high=sii.sii_ci95_high, rii_ci95_low=sii.rii_ci95_low,
                rii_ci95_high=sii.rii_ci95_high,
                **{f"value_q{k}": by_group.get(k, np.nan) for k in range(1, 6)})]))
        latest = v[v["period"] == v["period"].max()]
        for lv, g in latest[latest["level"].isin([level, "icb"])].groupby("level"):
            median = g["value"].median()
            top = g["value"].quantile(0.9 if high else 0.1)
            sign = 1 if high else -1
            gap_m = sign * (median - g["value"]) * g["denominator"]
            gap_t = sign * (top - g["value"]) * g["denominator"]
            cost = ind.unit_cost
            out["result_opportunity"].append(pd.DataFrame(dict(
                indicator=ind.id, level=lv, org_code=g["org_code"].to_numpy(), period=g["period"].to_numpy(),
                numerator=g["numerator"].to_numpy(), denominator=g["denominator"].to_numpy(),
                value=g["value"].to_numpy(), median_value=median, gap_median=gap_m.to_numpy(), top_decile_value=top,
                gap_top_decile=gap_t.to_numpy(), peer_value=np.nan, gap_peers=np.nan, gap_peers_low=np.nan,
                gap_peers_high=np.nan, target_value=np.nan, gap_target=np.nan, unit_cost=cost if cost else np.nan,
                gap_median_pounds=(gap_m * cost).to_numpy() if cost else np.nan,
                gap_top_decile_pounds=(gap_t * cost).to_numpy() if cost else np.nan,
                gap_peers_pounds=np.nan, gap_target_pounds=np.nan)))
            for bench, gap in (("median", gap_m), ("top-decile", gap_t)):
                positive = float(np.maximum(gap, 0).sum())
                out["result_opportunity_totals"].append(pd.DataFrame([dict(
                    indicator=ind.id, level=lv, period=g["period"].iloc[0], benchmark=bench, area_level="england",
                    area_code="ENG", organisations=int((gap > 0).sum()), gap_patients=positive,
                    gap_pounds=positive * cost if cost else None)]))
        base = v[v["level"] == level]
        crossed = base[base["value"] >= ind.adoption_threshold] if high else base[
            base["value"] <= ind.adoption_threshold]
        first = crossed.groupby("org_code")["period"].min()
        order = first.sort_values().index.tolist()
        cats = ["innovators", "early adopters", "early majority", "late majority", "laggards"]
        cut = [0.025, 0.16, 0.5, 0.84, 1.0]
        units = base["org_code"].unique()
        rows = []
        for code in units:
            adopted = code in first.index
            cat = "not yet"
            if adopted:
                rank = (order.index(code) + 1) / len(units)
                cat = next(c for c, limit in zip(cats, cut, strict=True) if rank <= limit)
            rows.append(dict(indicator=ind.id, level=level, org_code=code, threshold=ind.adoption_threshold,
                             adopted=adopted, first_adopted=first[code] if adopted else None,
                             months_from_launch=float(order.index(code)) if adopted else None,
                             category_normal=cat, category_quantile=cat))
        out["result_adoption"].append(pd.DataFrame(rows))
    for level in ("sub-icb", "practice", "trust", "icb"):
        g = orgs[orgs["level"] == level].reset_index(drop=True)
        feats = g[["imd_quintile", "population"]].astype(float).to_numpy()
        feats = (feats - feats.mean(0)) / np.where(feats.std(0) == 0, 1, feats.std(0))
        rows = []
        for i, row in g.iterrows():
            d = np.sqrt(((feats - feats[i]) ** 2).sum(1))
            d[i] = np.inf
            for rank, j in enumerate(np.argsort(d)[: min(10, len(g) - 1)], start=1):
                rows.append(dict(level=level, org_code=row["code"], rank=rank, peer_code=g.loc[j, "code"],
                                 distance=float(d[j]), features="imd_quintile,population"))
        out["result_peers"].append(pd.DataFrame(rows))
    tables = {name: pd.concat(parts, ignore_index=True) for name, parts in out.items() if parts}
    tables["result_values"] = tables["result_values"][
        ["indicator", "level", "org_code", "org_name", "period", "numerator", "denominator", "members", "value",
         "ci95_low", "ci95_high", "ci998_low", "ci998_high", "percent_rank", "decile", "comparison", "synthetic"]]
    tables["pipeline_runs"] = pd.DataFrame([dict(
        run_id=1, engine="duckdb", started_at=dt.datetime(2026, 11, 1, 9, 0), finished_at=dt.datetime(2026, 11, 1, 9, 1),
        input_batch_ids=[1, 2, 3], input_rows=sum(len(f) for f in obs.values()),
        indicators=[i.id for i in INDICATORS], row_counts="{}",
        settings=f'{{"cusum_window": {CUSUM_WINDOW}, "cusum_sensitivity": 5.0}}', warnings=[],
        uptake_version="test")])
    return tables


def write_results(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Create each table with the pipeline's own DDL and insert the frame's columns by name."""
    from uptake.results.schema import BY_NAME, PIPELINE_RUNS

    schemas = {**BY_NAME, PIPELINE_RUNS.name: PIPELINE_RUNS}
    con = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            table = schemas[name]
            # Columns the pipeline has dropped are left out and new ones stay empty; test_queries checks that
            # every column the web reads is still in the pipeline's schema.
            frame = frame[[c for c in frame.columns if c in table.column_names]]
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
            con.execute(table.ddl())
            con.register("incoming", frame)
            con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM incoming')
            con.unregister("incoming")
    finally:
        con.close()


def build(root: Path) -> Built:
    """Create the workspace at ``root``: workflow database, analytics store with batches, result tables."""
    from uptake.analytics.store import AnalyticsStore
    from uptake.store.db import make_engine, session_scope
    from uptake.store.migrate import upgrade
    from uptake.store.repository import sync_catalogue, sync_reference

    ws = Workspace(root=root).ensure()
    orgs, rels = reference()
    upgrade(ws.database_url)
    engine = make_engine(ws.database_url)
    try:
        with session_scope(engine) as db:
            sync_reference(db, orgs, rels, actor="test")
            sync_catalogue(db, CATALOGUE, actor="test")
    finally:
        engine.dispose()
    store = AnalyticsStore(ws.analytics_path)
    store.sync_reference(orgs, rels)
    obs = observations(orgs)
    for indicator_id, frame in obs.items():
        store.load_observations(frame, indicator=indicator_id, source="test source", file_name=f"{indicator_id}.csv",
                                file_sha256=f"{abs(hash(indicator_id)):064x}"[:64], loaded_by="tester")
    write_results(ws.analytics_path, results(orgs, rels, obs))
    write_pathway_results(ws.analytics_path)
    write_models(ws.analytics_path)
    write_forecasts(ws.analytics_path)
    return Built(ws, CATALOGUE, orgs, rels)


#: Simulated years of the pathway model in the test workspace (the real compute runs 100; 20 keeps it fast).
PATHWAY_TRIALS = 20


def write_pathway_results(path: Path) -> None:
    """The stroke pathway model's tables, from the real model on the bundled SAMueL units."""
    from uptake.models.pathway.results import write_pathway
    from uptake.models.pathway.summary import compute_pathway

    con = duckdb.connect(str(path))
    try:
        write_pathway(con, compute_pathway(PATHWAY_TRIALS, 7))
    finally:
        con.close()


def write_models(path: Path) -> None:
    """The models' tables (result_outcomes, result_impact) from the results above, as `uptake compute` writes
    them (uptake.models.publish)."""
    from uptake.models.publish import write_model_tables

    con = duckdb.connect(str(path))
    try:
        write_model_tables(con, CATALOGUE)
    finally:
        con.close()


def write_forecasts(path: Path) -> None:
    """The Bass forecasts of these results, by uptake.models.forecasts itself (few draws: a test workspace)."""
    from uptake.models import forecasts

    con = duckdb.connect(str(path))
    try:
        forecasts.write_forecasts(con, forecasts.compute_forecasts(con, draws=60))
    finally:
        con.close()

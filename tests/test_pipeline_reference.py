"""The pipeline equals the slow reference (tests/reference_pipeline.py), table by table, on generated
workspaces: zero denominators, single-organisation levels, missing periods and ties included."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference_pipeline as ref
from uptake.levels import Level
from uptake.pipeline import PipelineSettings, run_pipeline
from uptake.results.schema import BY_NAME

FLOAT_RTOL = 1e-12
FLOAT_ATOL = 1e-12
#: Totals of many gaps are added in a different order by pandas and by the pipeline.
LOOSER = {"result_opportunity_totals": 1e-9}

#: Columns compared per table (all of the reference's columns, which are the pipeline's minus labels).
KEYS = {
    "result_values": ["level", "org_code", "period"],
    "result_deciles": ["level", "period"],
    "result_funnel": ["level", "org_code", "period"],
    "result_funnel_curve": ["level", "period", "denominator"],
    "result_funnel_summary": ["level", "period"],
    "result_spc": ["level", "org_code", "period"],
    "result_spc_series": ["level", "org_code"],
    "result_changes": ["level", "org_code", "period"],
    "result_opportunity": ["level", "org_code", "period"],
    "result_adoption": ["level", "org_code"],
    "result_equity": ["level", "period"],
    "result_opportunity_totals": ["level", "period", "benchmark", "area_level", "area_code"],
}


def read_results(path: Path, indicator: str) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for name in KEYS:
            out[name] = con.execute(f"SELECT * FROM {name} WHERE indicator = ?", [indicator]).df()
        out["result_peers"] = con.execute("SELECT * FROM result_peers").df()
        return out
    finally:
        con.close()


def _normalise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    for col in frame.columns:
        if col in ("period", "first_period", "last_period", "first_adopted"):
            frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame.sort_values(keys, ignore_index=True)


def assert_same(pipeline: pd.DataFrame, reference: pd.DataFrame, table: str) -> None:
    keys = KEYS.get(table, ["org_code", "rank"])
    if reference.empty:
        assert pipeline.empty, f"{table}: the pipeline has {len(pipeline)} rows, the reference none"
        return
    got = _normalise(pipeline, keys)
    want = _normalise(reference, keys)
    assert len(got) == len(want), f"{table}: {len(got)} rows, reference {len(want)}"
    for col in want.columns:
        assert col in got.columns, f"{table}: no column {col}"
        a, b = got[col], want[col]
        if col in BY_NAME[table].column_names and BY_NAME[table].columns[
            BY_NAME[table].column_names.index(col)
        ].sql == "DOUBLE":
            x = a.to_numpy(dtype=float, na_value=np.nan)
            y = pd.to_numeric(b).to_numpy(dtype=float, na_value=np.nan)
            tol = LOOSER.get(table, FLOAT_RTOL)
            same = (np.isnan(x) & np.isnan(y)) | np.isclose(x, y, rtol=tol, atol=max(tol, FLOAT_ATOL))
            bad = np.flatnonzero(~same)
            assert bad.size == 0, (
                f"{table}.{col} differs at {bad.size} rows, e.g. {got.loc[bad[0], keys].to_dict()}: "
                f"{x[bad[0]]!r} vs {y[bad[0]]!r}"
            )
        else:
            x = [_plain(v) for v in a]
            y = [_plain(v) for v in b]
            bad = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
            assert not bad, (
                f"{table}.{col} differs at {len(bad)} rows, e.g. {got.loc[bad[0], keys].to_dict()}: "
                f"{x[bad[0]]!r} vs {y[bad[0]]!r}"
            )


def _plain(v: object) -> object:
    """A comparable Python value: missing values of any kind become None, NumPy scalars Python ones."""
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def reference_activity(obs: pd.DataFrame, periods: int = 12) -> dict[str, float]:
    if obs.empty:
        return {}
    latest = sorted(obs["period"].unique())[-periods:]
    recent = obs[obs["period"].isin(latest)]
    return recent.groupby("org_code")["denominator"].mean().to_dict()


def check_workspace(
    tmp: Path,
    orgs: pd.DataFrame,
    rels: pd.DataFrame,
    observations: dict[str, pd.DataFrame],
    indicators: list,
    pipeline_settings: PipelineSettings | None = None,
) -> None:
    store = ref.build_workspace(tmp / "store.duckdb", orgs, rels, observations)
    pipeline_settings = pipeline_settings or PipelineSettings()
    run_pipeline(store, engine="duckdb", catalogue=ref.catalogue_of(*indicators), settings=pipeline_settings)
    # Peers: the activity features come from every real (not synthetic) indicator ingested at the level.
    peer_frames = {}
    for level in {lv.value for ind in indicators for lv in ref.ROLLUP_PATHS[ind.levels[0]]} - {"england"}:
        act = {ind.id: reference_activity(observations[ind.id]) for ind in indicators
               if ind.levels[0].value == level and ind.id in observations and not ind.synthetic}
        peer_frames[level] = ref.reference_peers(orgs, rels, level, act, k=pipeline_settings.peer_count)
    for ind in indicators:
        got = read_results(tmp / "store.duckdb", ind.id)
        want = ref.reference_results(
            ind,
            observations[ind.id],
            orgs,
            rels,
            rule_length=pipeline_settings.spc_rule_length,
            baseline=pipeline_settings.spc_baseline,
            rebase_dates=pipeline_settings.spc_rebase_dates,
            target=pipeline_settings.targets.get(ind.id),
            peers=peer_frames,
            cusum_window=pipeline_settings.cusum_window,
            best=pipeline_settings.peer_best,
            spc_basis=pipeline_settings.spc_basis,
        )
        for table, frame in want.items():
            assert_same(got[table], frame, table)
    got_peers = read_results(tmp / "store.duckdb", indicators[0].id)["result_peers"]
    for level, frame in peer_frames.items():
        assert_same(got_peers[got_peers["level"] == level].drop(columns=["level"]), frame, "result_peers")


# ------------------------------------------------------------------------------------------ fixed cases


def test_practice_proportion_and_trust_rate(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(), seed=3)
    practices = list(orgs[orgs.level == "practice"].code)
    trusts = list(orgs[orgs.level == "trust"].code)
    periods = ref.months(dt.date(2021, 1, 1), 16)
    obs = {
        "prop": ref.make_observations(practices, periods, seed=1),
        "rate": ref.make_observations(trusts, periods, seed=2, measure="rate"),
    }
    indicators = [
        ref.indicator("prop", Level.PRACTICE),
        ref.indicator("rate", Level.TRUST, measure="rate", polarity="low-is-good", adoption_threshold=0.8,
                      synthetic=False),  # real, so that the trusts are matched on its activity
    ]
    check_workspace(tmp_path, orgs, rels, obs, indicators)


def test_settings_six_point_rules_baseline_rebase_target(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2), seed=5)
    subs = list(orgs[orgs.level == "sub-icb"].code)
    periods = ref.months(dt.date(2020, 4, 1), 30)
    obs = {"subs": ref.make_observations(subs, periods, seed=7, max_denominator=400)}
    indicators = [ref.indicator("subs", Level.SUB_ICB, first_period=dt.date(2020, 4, 1))]
    check_workspace(
        tmp_path, orgs, rels, obs, indicators,
        PipelineSettings(spc_rule_length=6, spc_baseline=12, spc_rebase_dates=(dt.date(2021, 6, 1),
                         dt.date(2021, 7, 1), dt.date(2022, 8, 15)), targets={"subs": 0.6}),
    )


@pytest.mark.parametrize("basis", ["auto", "value"])
def test_spread_curve_charts_the_difference_from_england(tmp_path: Path, basis: str) -> None:
    """A spread-curve indicator over 48 months: organisations below England charted on their difference from
    England with new limits each April (12 points either side), with a stated rebase, a baseline and a target;
    UPTAKE_SPC_BASIS=value charts them on their values instead. Over-dispersed funnels judge the comparison."""
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2), seed=11)
    subs = list(orgs[orgs.level == "sub-icb"].code)
    periods = ref.months(dt.date(2019, 10, 1), 48)
    obs = {"spread": ref.make_observations(subs, periods, seed=12, max_denominator=500, missing_share=0.05)}
    indicators = [ref.indicator("spread", Level.SUB_ICB, first_period=dt.date(2019, 10, 1), spread_curve=True)]
    check_workspace(
        tmp_path, orgs, rels, obs, indicators,
        PipelineSettings(spc_basis=basis, spc_baseline=14, spc_rebase_dates=(dt.date(2020, 1, 1),),
                         targets={"spread": 0.55}),
    )
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    try:
        bases = dict(con.execute("SELECT level = 'england', any_value(basis) FROM result_spc_series "
                                 "GROUP BY ALL").fetchall())
        segments = con.execute("SELECT max(segment) FROM result_spc WHERE level <> 'england'").fetchone()[0]
        methods = {r[0] for r in con.execute("SELECT DISTINCT comparison_method FROM result_values").fetchall()}
    finally:
        con.close()
    assert bases[True] == "value"
    assert bases[False] == ("difference from England" if basis == "auto" else "value")
    # The stated rebase (point 3) and, with "auto", April 2021 (point 18) and April 2022 (30); April 2020 is 3
    # points after the stated rebase and April 2023 6 before the end: fewer than 12, so not applied.
    assert segments == (3 if basis == "auto" else 1)
    assert "random-effects" in methods


def test_no_judgement_and_no_threshold(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=1, sub_icbs_per_icb=3), seed=8)
    subs = list(orgs[orgs.level == "sub-icb"].code)
    periods = ref.months(dt.date(2022, 1, 1), 14)
    obs = {"nj": ref.make_observations(subs, periods, seed=9)}
    indicators = [ref.indicator("nj", Level.SUB_ICB, polarity="no-judgement", adoption_threshold=None,
                                unit_cost=None)]
    check_workspace(tmp_path, orgs, rels, obs, indicators)


# ------------------------------------------------------------------------------------- generated cases


@st.composite
def workspaces(draw):
    shape = ref.Shape(
        regions=draw(st.integers(1, 2)),
        icbs_per_region=draw(st.integers(1, 2)),
        sub_icbs_per_icb=draw(st.integers(1, 3)),
        practices_per_sub_icb=draw(st.integers(1, 4)),
        pcn_share=draw(st.sampled_from([0.0, 0.5, 1.0])),
        trusts_per_icb=draw(st.integers(1, 2)),
        imd_missing_share=draw(st.sampled_from([0.0, 0.3, 1.0])),
    )
    seed = draw(st.integers(0, 2**16))
    n_periods = draw(st.sampled_from([1, 2, 5, 13, 16, 28]))  # 28 months from January: April rebases
    level = draw(st.sampled_from([Level.PRACTICE, Level.SUB_ICB, Level.TRUST]))
    measure = draw(st.sampled_from(["proportion", "rate"]))
    polarity = draw(st.sampled_from(["high-is-good", "low-is-good", "no-judgement"]))
    missing = draw(st.sampled_from([0.0, 0.2, 0.5]))
    zeros = draw(st.sampled_from([0.0, 0.1, 0.5]))
    max_den = draw(st.sampled_from([1, 3, 10, 200]))  # small denominators make ties
    rule_length = draw(st.sampled_from([6, 7]))
    target = draw(st.sampled_from([None, 0.4]))
    spread = draw(st.booleans())
    return shape, seed, n_periods, level, measure, polarity, missing, zeros, max_den, rule_length, target, spread


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_pipeline_equals_reference_on_generated_workspaces(case) -> None:
    shape, seed, n_periods, level, measure, polarity, missing, zeros, max_den, rule_length, target, spread = case
    orgs, rels = ref.make_reference(shape, seed=seed)
    codes = list(orgs[orgs.level == level.value].code)
    periods = ref.months(dt.date(2021, 1, 1), n_periods)
    obs = ref.make_observations(codes, periods, seed=seed, measure=measure, missing_share=missing,
                                zero_share=zeros, max_denominator=max_den)
    if obs.empty:
        return
    ind = ref.indicator("gen", level, measure=measure, polarity=polarity, spread_curve=spread)
    with tempfile.TemporaryDirectory() as tmp:
        check_workspace(
            Path(tmp), orgs, rels, {"gen": obs}, [ind],
            PipelineSettings(spc_rule_length=rule_length, targets={} if target is None else {"gen": target}),
        )


def test_single_organisation_levels(tmp_path: Path) -> None:
    """One region, one ICB, one sub-ICB, one practice: every level has a single organisation."""
    shape = ref.Shape(regions=1, icbs_per_region=1, sub_icbs_per_icb=1, practices_per_sub_icb=1,
                      pcn_share=1.0, trusts_per_icb=1)
    orgs, rels = ref.make_reference(shape, seed=1)
    codes = list(orgs[orgs.level == "practice"].code)
    obs = {"one": ref.make_observations(codes, ref.months(dt.date(2021, 1, 1), 15), seed=2)}
    check_workspace(tmp_path, orgs, rels, obs, [ref.indicator("one", Level.PRACTICE)])


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_degenerate_all_or_nothing(tmp_path: Path, value: float) -> None:
    """Every practice at 0% or 100%: zero-width funnels, flat SPC series, no spread for deciles."""
    orgs, rels = ref.make_reference(ref.Shape(regions=1), seed=4)
    codes = list(orgs[orgs.level == "practice"].code)
    periods = ref.months(dt.date(2021, 1, 1), 14)
    obs = pd.DataFrame(
        [(c, p, value * 10, 10.0) for c in codes for p in periods],
        columns=["org_code", "period", "numerator", "denominator"],
    )
    check_workspace(tmp_path, orgs, rels, {"flat": obs}, [ref.indicator("flat", Level.PRACTICE)])

"""Issue 11, items 3-5, on the bundled real data (and one synthetic spread): the league table's comparison
with England agrees with the funnel plot, practices tied at the maximum share the top decile, and SPC charts a
spreading innovation on its difference from England (docs/methods.md: "One answer to 'different from
England?'", "Decile band and ties", "SPC for a spreading innovation")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import reference_pipeline as ref
from uptake.analytics.store import AnalyticsStore
from uptake.catalogue import Catalogue, load_catalogue
from uptake.demo import init_workspace
from uptake.ingest import ingest_frame
from uptake.levels import Level
from uptake.pipeline import PipelineSettings, run_pipeline
from uptake.results import read
from uptake.sources import SOURCES
from uptake.stats.spc import looks_like_spread_curve

REAL = ("doac-share", "edoxaban-share", "qof-af-achievement")
LATEST = pd.Timestamp(2022, 9, 1)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with the bundled DOAC, edoxaban and QOF atrial fibrillation data, computed once."""
    full = load_catalogue()
    catalogue = Catalogue(innovations={full.indicators[i].innovation: full.innovations[full.indicators[i].innovation]
                                       for i in REAL},
                          indicators={i: full.indicators[i] for i in REAL})
    ws = init_workspace(tmp_path_factory.mktemp("real") / "ws")
    with AnalyticsStore.open(ws.analytics_path) as store:
        for name in REAL:
            ingest_frame(store, catalogue, SOURCES[name].build(), name, source="tests", loaded_by="tests")
    run_pipeline(ws, engine="duckdb", catalogue=catalogue)
    return ws


def q(ws, sql: str, params: list | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(ws.analytics_path), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


# ------------------------------------------------------------------------- item 3: one answer about England
def test_the_doac_league_table_and_funnel_agree_at_sub_icb(real) -> None:
    """September 2022, 106 sub-ICB locations: the plain Wilson intervals judged 85 best or worst (99.8%) while the
    over-dispersed funnel (phi 145) put 6 beyond its 99.8% limits. Now the comparison is the funnel's: the
    counts agree in that period and in every other, organisation by organisation."""
    values = q(real, "SELECT org_code, period, comparison, comparison_plain, comparison_method FROM result_values "
                     "WHERE indicator = 'doac-share' AND level = 'sub-icb'")
    funnel = q(real, "SELECT org_code, period, band, side FROM result_funnel "
                     "WHERE indicator = 'doac-share' AND level = 'sub-icb'")
    both = values.merge(funnel, on=["org_code", "period"], validate="one_to_one")
    latest = both[both["period"] == LATEST]
    assert len(latest) == 106
    assert latest["comparison_plain"].isin(["best", "worst"]).sum() == 85  # the old answer, kept
    assert (latest["band"] == "beyond 99.8%").sum() == 6
    assert latest["comparison"].isin(["best", "worst"]).sum() == 6
    assert latest["comparison"].isin(["better", "worse"]).sum() == (latest["band"] == "between 95% and 99.8%").sum()
    assert (both["comparison_method"] == "random-effects").all()  # over-dispersed every month
    word = {("beyond 99.8%", "high"): "best", ("beyond 99.8%", "low"): "worst", ("within 95%", ""): "similar",
            ("between 95% and 99.8%", "high"): "better", ("between 95% and 99.8%", "low"): "worse"}
    expected = [word[(b, s)] for b, s in zip(both["band"], both["side"], strict=True)]
    assert both["comparison"].tolist() == expected  # high is good: high = better, in all 60 months


# ---------------------------------------------------------------------------------------- item 4: ties
def test_qof_practices_at_100_percent_share_the_top_decile(real) -> None:
    """5,343 of 6,261 practices achieve 100%: p20..p90 are all 100%. They were all in decile 2 (deciles 3-10
    empty); now they share decile 10, and the others stay where the lines put them."""
    v = q(real, "SELECT value, decile, percent_rank FROM result_values WHERE indicator = 'qof-af-achievement' "
                "AND level = 'practice'")
    top = v[v["value"] == 1.0]
    assert len(top) == 5_343 and (top["decile"] == 10).all()
    assert v.groupby("decile").size().to_dict() == {1: 627, 2: 291, 10: 5_343}
    assert top["percent_rank"].round(4).unique().tolist() == [0.1466]  # SQL PERCENT_RANK: ties take the lowest


# ----------------------------------------------------------------------------- item 5: SPC for a spread
def test_the_spread_curve_flag_is_where_the_national_series_is_a_spread() -> None:
    """The catalogue's spread_curve flag is set exactly where the bundled national series is a spread: a
    monotone rise over the window (Spearman rank correlation >= 0.9) of at least 10 percentage points of share
    between its first and last 12 points (DOACs 50% -> 78%, edoxaban 3% -> 15%). Narcolepsy's newer medicines
    rise 7 points and dementia diagnosis (synthetic) dips and recovers: not flagged."""
    full = load_catalogue()
    looks = {}
    for name, source in SOURCES.items():
        national = source.build().groupby("period")[["numerator", "denominator"]].sum()
        looks[name] = looks_like_spread_curve((national["numerator"] / national["denominator"]).to_numpy())
    spreads = {"doac-share", "edoxaban-share", "doac-share-2012", "doac-share-practice"}  # the last two: issue 16
    assert {name for name, yes in looks.items() if yes} == spreads
    assert {name for name, ind in full.indicators.items() if ind.spread_curve} == spreads


def test_doac_spc_charts_the_difference_from_england_and_few_points_are_special(real) -> None:
    """On their values, 57-60 of the 60 points of every sub-ICB DOAC series were special cause (97.7%; the
    S-curve restated). On the difference from England with limits each April, 28% are: well above the ~5% of a
    stable process, because many areas' gaps to England really do change (most catch up), but no longer the
    trend. Edoxaban, whose local use moves in steps at different times (formulary switches), falls from 97% to
    70%. England's own chart stays on its values."""
    spc = q(real, "SELECT indicator, level, org_code, period, basis, special_cause, centre, england_value, value, "
                  "segment FROM result_spc WHERE indicator IN ('doac-share', 'edoxaban-share')")
    special = spc.assign(special=spc["special_cause"] != "common-cause")
    share = special[special["level"] == "sub-icb"].groupby("indicator")["special"].mean()
    assert 0.2 < share["doac-share"] < 0.35
    assert share["edoxaban-share"] < 0.75
    per_series = special[(special["level"] == "sub-icb") & (special["indicator"] == "doac-share")].groupby(
        "org_code")["special"].sum()
    assert per_series.median() <= 20 and (per_series < 57).mean() > 0.9
    assert set(spc.loc[spc["level"] != "england", "basis"]) == {"difference from England"}
    assert set(spc.loc[spc["level"] == "england", "basis"]) == {"value"}
    series = q(real, "SELECT level, basis, count(*) AS n FROM result_spc_series WHERE indicator = 'doac-share' "
                     "GROUP BY ALL")
    assert dict(zip(series["level"], series["basis"], strict=True))["sub-icb"] == "difference from England"
    # The view presents the centre on the value scale: England's value plus the charted mean, which is constant
    # within each period of limits: October 2017 - March 2019, then each NHS year (the last one 18 months).
    below = spc[(spc["level"] == "sub-icb") & (spc["indicator"] == "doac-share")]
    charted = (below["centre"] - below["england_value"]).groupby([below["org_code"], below["segment"]])
    assert (charted.max() - charted.min()).max() < 1e-12
    assert below.groupby("segment")["period"].min().dt.strftime("%Y-%m").tolist() == [
        "2017-10", "2019-04", "2020-04", "2021-04"]


def test_the_whole_series_chart_stays_available_on_request(real) -> None:
    """read.spc.value_chart computes the old chart (the organisation's values, whole series) from
    result_values: nearly every point special cause, as before."""
    con = duckdb.connect(str(real.analytics_path), read_only=True)
    try:
        codes = [r[0] for r in con.execute("SELECT DISTINCT org_code FROM result_spc_series WHERE "
                                           "indicator = 'doac-share' AND level = 'sub-icb'").fetchall()]
        flagged = total = 0
        for code in codes:
            rows = read.spc.value_chart(con, "doac-share", "sub-icb", code)
            assert {r["basis"] for r in rows} == {"value"} and len(rows) == 60
            flagged += sum(r["special_cause"] != "common-cause" for r in rows)
            total += len(rows)
        stored = read.spc.spc(con, "doac-share", "sub-icb", codes[0])
    finally:
        con.close()
    assert flagged / total > 0.95
    assert {r["basis"] for r in stored} == {"difference from England"}


def _spread_store(path: Path, step: float):
    """Ten sub-ICBs over 60 months (January 2018 on) following a national S-curve of DOAC-like shares with
    their own steady gaps and binomial noise (denominators 4,000); sub-ICB 000 steps up by ``step`` from October
    2021, the middle of an NHS year."""
    orgs, rels = ref.make_reference(ref.Shape(regions=1, icbs_per_region=2, sub_icbs_per_icb=5), seed=2)
    subs = sorted(orgs[orgs.level == "sub-icb"].code)
    periods = ref.months(dt.date(2018, 1, 1), 60)
    rng = np.random.default_rng(7)
    national = 0.45 + 0.35 / (1 + np.exp(-(np.arange(60) - 24) / 7))
    rows = []
    for i, code in enumerate(subs):
        gap = rng.uniform(-0.08, 0.08)
        for t, period in enumerate(periods):
            p = national[t] + gap + (step if code == subs[0] and period >= dt.date(2021, 10, 1) else 0.0)
            rows.append((code, period, float(rng.binomial(4000, p)), 4000.0))
    obs = pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])
    ind = ref.indicator("spread", Level.SUB_ICB, first_period=dt.date(2018, 1, 1), spread_curve=True)
    store = ref.build_workspace(path, orgs, rels, {"spread": obs})
    return store, ref.catalogue_of(ind), subs[0]


def test_a_step_change_in_a_spreading_series_is_still_flagged(tmp_path: Path) -> None:
    """On the difference from England, the S-curve alone leaves most points common cause, and a 3-point step up
    in one area from October 2021 is flagged as an improvement from the month it happens (the period of limits
    from April 2021 has 6 points before it and 15 after: a shift). On the values (the whole-series chart)
    nearly everything is special cause, the step hidden among it. (A step within about 6 points of the April
    that starts new limits shows mainly as a step of the mean: docs/methods.md.)"""
    store, catalogue, stepped = _spread_store(tmp_path / "spread.duckdb", 0.03)
    run_pipeline(store, engine="duckdb", catalogue=catalogue)
    spc = q_path(tmp_path / "spread.duckdb")
    others = spc[(spc["org_code"] != stepped) & (spc["level"] == "sub-icb")]
    assert (others["special_cause"] != "common-cause").mean() < 0.15
    mine = spc[spc["org_code"] == stepped].set_index("period")
    after = mine.loc[pd.Timestamp(2021, 10, 1):pd.Timestamp(2022, 3, 1)]
    assert (after["special_cause"] == "improvement").all(), after[["special_cause", "rule"]]
    run_pipeline(store, engine="duckdb", catalogue=catalogue, settings=PipelineSettings(spc_basis="value"))
    plain = q_path(tmp_path / "spread.duckdb")
    assert set(plain["basis"]) == {"value"}
    assert (plain.loc[plain["level"] == "sub-icb", "special_cause"] != "common-cause").mean() > 0.8


def q_path(path: Path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM result_spc WHERE indicator = 'spread' ORDER BY org_code, period").df()
    finally:
        con.close()

"""Similar peers come from real characteristics only (docs/methods.md, "Similar peers"): IMD, list size, the
share aged 65+ and rurality, aggregated from practices by list size; activity only at provider levels and only
from real indicators, so no synthetic series can move anyone's peers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import reference_pipeline as ref
from uptake.levels import Level
from uptake.pipeline import peers, run_pipeline
from uptake.pipeline.frame import Organisations
from uptake.reference import load_reference
from uptake.reference.covariates import PRACTICE_COVARIATES, load_practice_covariates

NO_ACTIVITY = pa.table({"indicator": pa.array([], pa.string()), "level": pa.array([], pa.string()),
                        "org_code": pa.array([], pa.string()), "mean_denominator": pa.array([], pa.float64())})


def directory(rows: list[dict]) -> Organisations:
    frame = pd.DataFrame(rows)
    for name in ("name", "imd_quintile", "trust_type", "valid_from", "valid_to"):
        if name not in frame:
            frame[name] = None
    frame["name"] = frame["name"].fillna(frame["code"])
    for name in ("imd_score", "population"):
        if name not in frame:
            frame[name] = np.nan
    return Organisations.from_arrow(pa.Table.from_pandas(frame, preserve_index=False))


def links(pairs: list[tuple[str, str, str, str]]) -> pa.Table:
    return pa.table({
        "child_code": [c for c, _, _, _ in pairs], "child_level": [cl for _, cl, _, _ in pairs],
        "parent_code": [p for _, _, p, _ in pairs], "parent_level": [pl for _, _, _, pl in pairs],
    })


def covariates(orgs: Organisations, table: dict[str, dict[str, float]]) -> dict[str, np.ndarray]:
    frame = pd.DataFrame(table).T.reindex(columns=list(PRACTICE_COVARIATES))
    return peers.practice_covariates(orgs, frame)


# ---------------------------------------------------------------------------------------------- age is used
PRACTICES = {
    # code: (imd, list size, aged 65+ %, rural)
    "PX": (20.0, 5000, 10.0, 0.0),
    "PY": (20.0, 5000, 35.0, 0.0),  # PX's twin but for its age structure
    "PZ": (22.0, 5300, 11.0, 0.0),  # a little different from PX in IMD and size, the same ages
    "PW": (18.0, 4700, 34.0, 0.0),  # likewise for PY
    "PA": (45.0, 9000, 15.0, 1.0),
    "PB": (8.0, 2000, 25.0, 1.0),
    "PC": (30.0, 12000, 20.0, 0.0),
    "PD": (12.0, 3000, 28.0, 1.0),
}


def test_two_practices_identical_but_for_age_are_not_each_others_nearest_peer() -> None:
    orgs = directory([{"code": c, "level": "practice", "imd_score": v[0], "population": v[1]}
                      for c, v in PRACTICES.items()])
    cov = covariates(orgs, {c: {"aged_65_plus": v[2], "rural": v[3]} for c, v in PRACTICES.items()})
    found = peers.compute_level(orgs, links([]), NO_ACTIVITY, "practice", 10, cov)
    assert found.features == ("imd_score", "population", "aged_65_plus", "rural")
    nearest = {str(orgs.codes[found.org[i]]): str(orgs.codes[found.org[found.peer[i, 0]]])
               for i in range(found.org.size)}
    assert nearest["PX"] == "PZ" and nearest["PY"] == "PW", nearest
    # Without the age variable the twins would be at distance 0 from each other: nearest by construction.
    x = np.array([[v[0], v[1], v[3]] for v in PRACTICES.values()])
    index, distance = peers.similar_peers(x, np.array(list(PRACTICES)), 10, np.ones(3))
    assert list(PRACTICES)[index[0, 0]] == "PY" and distance[0, 0] == 0.0


def test_higher_levels_take_list_size_weighted_age_and_rurality_from_their_practices() -> None:
    """UA: practices aged 65+ 10% (list 100, urban) and 40% (list 300, rural): 0.25 x 10 + 0.75 x 40 = 32.5%,
    rural 0.75 (unweighted they would be 25% and 0.5). UB: one practice with no age share (not counted)
    and one at 20% (list 50)."""
    orgs = directory([
        {"code": "UA", "level": "pcn"}, {"code": "UB", "level": "pcn"},
        {"code": "P1", "level": "practice", "population": 100}, {"code": "P2", "level": "practice", "population": 300},
        {"code": "P3", "level": "practice", "population": 500}, {"code": "P4", "level": "practice", "population": 50},
    ])
    cov = covariates(orgs, {"P1": {"aged_65_plus": 10.0, "rural": 0.0}, "P2": {"aged_65_plus": 40.0, "rural": 1.0},
                            "P3": {"aged_65_plus": np.nan, "rural": 1.0}, "P4": {"aged_65_plus": 20.0, "rural": 0.0}})
    rels = links([("P1", "practice", "UA", "pcn"), ("P2", "practice", "UA", "pcn"),
                  ("P3", "practice", "UB", "pcn"), ("P4", "practice", "UB", "pcn")])
    means, population = peers.member_features(orgs, rels, "pcn", cov)
    np.testing.assert_allclose(means["aged_65_plus"], [32.5, 20.0])
    np.testing.assert_allclose(means["rural"], [0.75, 500 / 550])
    np.testing.assert_allclose(population, [400, 550])
    ids, _, names, _ = peers.level_features(orgs, rels, NO_ACTIVITY, "pcn", cov)
    assert list(orgs.codes[ids]) == ["UA", "UB"]
    assert names == ("population", "aged_65_plus", "rural")  # no practice has an IMD score here


# --------------------------------------------------------------------------- synthetic data never move peers
def _workspace(path: Path, orgs: pd.DataFrame, rels: pd.DataFrame, observations: dict, catalogue) -> pd.DataFrame:
    path.mkdir()
    ref.build_workspace(path / "store.duckdb", orgs, rels, observations)
    run_pipeline(path / "store.duckdb", engine="duckdb", catalogue=catalogue)
    con = duckdb.connect(str(path / "store.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM result_peers ORDER BY level, org_code, rank").df()
    finally:
        con.close()


def test_peers_do_not_change_when_a_synthetic_indicators_data_change(tmp_path: Path) -> None:
    orgs, rels = ref.make_reference(ref.Shape(trusts_per_icb=3), seed=5)
    trusts = list(orgs[orgs.level == "trust"].code)
    subs = list(orgs[orgs.level == "sub-icb"].code)
    practices = list(orgs[orgs.level == "practice"].code)
    periods = ref.months(dt.date(2022, 1, 1), 6)
    catalogue = ref.catalogue_of(
        ref.indicator("real-trust", Level.TRUST, synthetic=False),
        ref.indicator("real-practice", Level.PRACTICE, synthetic=False),
        ref.indicator("synthetic-trust", Level.TRUST),
        ref.indicator("synthetic-sub-icb", Level.SUB_ICB),
    )
    real = {"real-trust": ref.make_observations(trusts, periods, seed=1),
            "real-practice": ref.make_observations(practices, periods, seed=2)}
    first = {**real, "synthetic-trust": ref.make_observations(trusts, periods, seed=3),
             "synthetic-sub-icb": ref.make_observations(subs, periods, seed=4)}
    # The same synthetic indicators with other data: sizes spread a hundredfold, in another order.
    rng = np.random.default_rng(9)
    second = dict(first)
    for name in ("synthetic-trust", "synthetic-sub-icb"):
        frame = first[name].copy()
        factor = frame["org_code"].map({c: f for c, f in zip(sorted(frame["org_code"].unique()), rng.uniform(
            0.1, 10.0, frame["org_code"].nunique()), strict=True)})
        frame["denominator"] = np.round(frame["denominator"] * factor)
        frame["numerator"] = np.minimum(frame["numerator"], frame["denominator"])
        second[name] = frame
    one = _workspace(tmp_path / "one", orgs, rels, first, catalogue)
    two = _workspace(tmp_path / "two", orgs, rels, second, catalogue)
    assert len(one) > 0
    pd.testing.assert_frame_equal(one, two)
    features = dict(one.groupby("level")["features"].first())
    assert features["trust"] == "activity:real-trust"
    assert all("synthetic" not in f for f in features.values()), features


# ------------------------------------------------------------------------------------------ the bundled file
def test_bundled_covariates_cover_the_practices_with_plausible_values() -> None:
    table = load_practice_covariates()
    ref_orgs = load_reference().organisations
    practices = set(ref_orgs.loc[ref_orgs["level"] == "practice", "code"])
    assert set(table.index) == practices
    age = table["aged_65_plus"]
    assert age.notna().sum() > 0.95 * len(table)
    assert age.dropna().between(0, 100).all()
    weights = table["list_size_2026"].astype(float).where(age.notna())
    national = float((age * weights).sum() / weights.sum())
    assert 16.0 < national < 20.0  # England's registered patients aged 65+: about 18% (the doubled shares)
    assert set(table["rural"].dropna().unique()) == {0.0, 1.0}
    assert (table["rural"].eq(1) == table["ruc11"].isin(["D", "E"])).all()


def test_the_pipeline_matches_real_practices_on_the_bundled_age_and_rurality(tmp_path: Path) -> None:
    """Real practice codes in a small store pick up the bundled covariates (and the PCN their mean)."""
    table = load_practice_covariates().dropna(subset=["aged_65_plus", "rural"]).head(6)
    codes = list(table.index)
    orgs = pd.DataFrame([{"code": "ENG", "level": "england", "name": "England"},
                         {"code": "UA", "level": "pcn", "name": "UA"}, {"code": "UB", "level": "pcn", "name": "UB"}]
                        + [{"code": c, "level": "practice", "name": c, "imd_score": 10.0 + i, "population": 1000 + i}
                           for i, c in enumerate(codes)])
    rels = pd.DataFrame([(c, "practice", "UA" if i < 3 else "UB", "pcn") for i, c in enumerate(codes)]
                        + [(c, "practice", "ENG", "england") for c in codes] + [("UA", "pcn", "ENG", "england"),
                                                                               ("UB", "pcn", "ENG", "england")],
                        columns=["child_code", "child_level", "parent_code", "parent_level"])
    observations = {"x": ref.make_observations(codes, ref.months(dt.date(2022, 1, 1), 2), seed=1)}
    got = _workspace(tmp_path / "ws", orgs, rels, observations, ref.catalogue_of(ref.indicator("x", Level.PRACTICE)))
    assert set(got[got.level == "practice"]["features"]) == {"imd_score,population,aged_65_plus,rural"}
    assert set(got[got.level == "pcn"]["features"]) == {"imd_score,population,aged_65_plus,rural"}


@pytest.mark.parametrize("level", ["trust", "stroke-unit"])
def test_provider_levels_without_a_population_use_real_activity_only(level: str) -> None:
    orgs = directory([{"code": f"R{i}", "level": level} for i in range(4)])
    activity = pa.table({"indicator": ["a"] * 4, "level": [level] * 4, "org_code": [f"R{i}" for i in range(4)],
                         "mean_denominator": [10.0, 20.0, 40.0, 80.0]})
    _, _, names, _ = peers.level_features(orgs, links([]), activity, level, covariates(orgs, {}))
    assert names == ("activity:a",)

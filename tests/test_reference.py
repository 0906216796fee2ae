"""The bundled NHS England organisation reference: counts, integrity, geography, versioning, CLI."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, shape
from typer.testing import CliRunner

from uptake.errors import UptakeError
from uptake.levels import ENGLAND_CODE, ROLLUP_PATHS, Level
from uptake.reference import ORG_COLUMNS, REL_COLUMNS, Reference, load_boundaries, load_reference
from uptake.cli.orgs import orgs_app
from uptake.reference.hierarchy import check_links
from uptake.reference.loader import TRUST_TYPES, UnknownOrganisation, data_dir, read_reference
from uptake.reference.versioning import apply_changes

ROOT = Path(__file__).resolve().parents[1]
# England's extent (Isles of Scilly to Berwick, Land's End to Lowestoft), with a small margin.
LAT_RANGE = (49.8, 55.9)
LON_RANGE = (-6.5, 1.8)
# The ten English ambulance trusts (an input: the data README), not read from the output.
AMBULANCE = {"RRU", "RX6", "RX7", "RX8", "RX9", "RYA", "RYC", "RYD", "RYE", "RYF"}
MERGER_DATE = "2026-04-01"


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference()


@pytest.fixture(scope="module")
def orgs(ref: Reference) -> pd.DataFrame:
    return ref.current().organisations


@pytest.fixture(scope="module")
def links(ref: Reference) -> pd.DataFrame:
    return ref.current().relationships


def of(orgs: pd.DataFrame, level: str) -> pd.DataFrame:
    return orgs[orgs["level"] == level]


# ----------------------------------------------------------------------------------------------------
# shape and counts
# ----------------------------------------------------------------------------------------------------
def test_columns_are_the_contract(ref: Reference) -> None:
    assert tuple(ref.organisations.columns) == ORG_COLUMNS
    assert tuple(ref.relationships.columns) == REL_COLUMNS
    assert set(ref.organisations["level"]) <= {lv.value for lv in Level}


def test_counts_per_level(orgs: pd.DataFrame) -> None:
    counts = orgs["level"].value_counts()
    assert counts["england"] == 1
    assert of(orgs, "england")["code"].tolist() == [ENGLAND_CODE]
    assert counts["region"] == 7
    assert counts["icb"] == 42
    assert counts["sub-icb"] == 106
    assert counts["practice"] >= 6000
    assert counts["pcn"] >= 1000
    assert counts["trust"] >= 200
    assert counts["stroke-unit"] >= 100
    assert 15 <= counts["isdn"] <= 25


def test_code_formats(orgs: pd.DataFrame) -> None:
    def all_match(level: str, column: str, pattern: str) -> None:
        values = of(orgs, level)[column]
        bad = values[~values.fillna("").str.fullmatch(pattern)]
        assert bad.empty, f"{level} {column} not like {pattern}: {bad.head().tolist()}"

    all_match("region", "code", r"Y\d\d")
    all_match("region", "ons_code", r"E40\d{6}")
    all_match("icb", "code", r"Q[A-Z0-9]{2}")
    all_match("icb", "ons_code", r"E54\d{6}")
    all_match("sub-icb", "code", r"[0-9A-Z]{3}|[0-9A-Z]{5}")
    all_match("sub-icb", "ons_code", r"E38\d{6}")
    all_match("pcn", "code", r"U\d{5}")
    all_match("practice", "code", r"[A-Z]\d{5}")
    all_match("trust", "code", r"R[A-Z0-9]{1,2}")
    all_match("isdn", "code", r"ISDN-[A-Z0-9-]+")
    subs = of(orgs, "sub-icb")
    # the sub-ICB ODS code is the one in its official name ("NHS ... ICB - 00L")
    assert (subs["name"].str.extract(r" - ([0-9A-Z]+)$")[0] == subs["code"]).all()
    units = of(orgs, "stroke-unit")
    assert (units["postcode"].str.replace(" ", "") == units["code"]).all()


def test_codes_unique_per_version(ref: Reference, orgs: pd.DataFrame) -> None:
    assert not ref.organisations.duplicated(["code", "valid_from"]).any()
    assert orgs["code"].is_unique  # one current version per code, across all levels
    assert not ref.relationships.duplicated(["child_code", "parent_level", "valid_from"]).any()


def test_dates_are_iso_and_ordered(ref: Reference) -> None:
    for frame in (ref.organisations, ref.relationships):
        assert frame["valid_from"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
        closed = frame["valid_to"].dropna()
        assert (closed > frame.loc[closed.index, "valid_from"]).all()
    assert (of(ref.organisations, "icb")["valid_from"] == "2022-07-01").all()


# ----------------------------------------------------------------------------------------------------
# hierarchy integrity
# ----------------------------------------------------------------------------------------------------
def test_every_org_has_each_parent_on_its_rollup_path(orgs: pd.DataFrame, links: pd.DataFrame) -> None:
    level_of = dict(zip(orgs["code"].tolist(), orgs["level"].tolist(), strict=True))
    per: dict[tuple[str, str], list[str]] = {}
    for child, parent_level, parent in zip(links["child_code"].tolist(), links["parent_level"].tolist(),
                                           links["parent_code"].tolist(), strict=True):
        per.setdefault((child, parent_level), []).append(parent)
    missing = []
    for code, level in level_of.items():
        for parent_level in ROLLUP_PATHS[Level(level)][1:]:
            if level == "practice" and parent_level is Level.PCN:
                continue  # some practices are in no PCN
            parents = per.get((code, parent_level.value), [])
            if len(parents) != 1:
                missing.append((code, parent_level.value, parents))
            elif level_of.get(parents[0]) != parent_level.value:
                missing.append((code, parent_level.value, parents, level_of.get(parents[0])))
    assert not missing, missing[:10]


def test_stroke_units_and_sub_icbs_link_to_their_isdn(orgs: pd.DataFrame, links: pd.DataFrame) -> None:
    for level in ("stroke-unit", "sub-icb"):
        codes = set(of(orgs, level)["code"])
        sel = links[(links["child_level"] == level) & (links["parent_level"] == "isdn")]
        with_isdn = set(sel["child_code"])
        assert codes == with_isdn


def test_links_point_at_existing_orgs_of_the_stated_level(orgs: pd.DataFrame, links: pd.DataFrame) -> None:
    level_of = orgs.set_index("code")["level"]
    assert (links["child_code"].map(level_of) == links["child_level"]).all()
    assert (links["parent_code"].map(level_of) == links["parent_level"]).all()


def test_flat_links_agree_with_the_chain(links: pd.DataFrame) -> None:
    """A practice's ICB and region are those of its sub-ICB; a sub-ICB's region is its ICB's."""
    up = links.pivot(index="child_code", columns="parent_level", values="parent_code")
    for level, via, above in (("practice", "sub-icb", ["icb", "region", "england"]),
                              ("pcn", "sub-icb", ["icb", "region"]),
                              ("stroke-unit", "sub-icb", ["icb", "region", "isdn"]),
                              ("sub-icb", "icb", ["region"]),
                              ("trust", "icb", ["region"])):
        children = links[links["child_level"] == level]["child_code"].unique()
        mine = up.loc[children]
        theirs = up.loc[mine[via]]
        for column in above:
            assert (mine[column].to_numpy() == theirs[column].to_numpy()).all(), (level, column)


def test_check_links_accepts_the_bundle_and_catches_breaks(orgs: pd.DataFrame, links: pd.DataFrame) -> None:
    assert check_links(orgs, links) == []
    practice_icb = links[(links["child_level"] == "practice") & (links["parent_level"] == "icb")].index[0]
    broken = links.drop(index=practice_icb)
    assert any("has no icb parent" in p for p in check_links(orgs, broken))
    wrong = links.copy()
    row = wrong[(wrong["child_level"] == "trust") & (wrong["parent_level"] == "region")].index[0]
    other = next(y for y in of(orgs, "region")["code"] if y != wrong.at[row, "parent_code"])
    wrong.at[row, "parent_code"] = other
    assert any("disagree" in p for p in check_links(orgs, wrong))


def test_most_practices_are_in_a_pcn_under_a_sub_icb_holding_their_pcn(orgs: pd.DataFrame,
                                                                        links: pd.DataFrame) -> None:
    prac = of(orgs, "practice")["code"]
    pcn_of = links[(links["child_level"] == "practice") & (links["parent_level"] == "pcn")]
    assert len(pcn_of) / len(prac) > 0.97
    sub_of_practice = links[(links["child_level"] == "practice") & (links["parent_level"] == "sub-icb")]
    members = pcn_of[["child_code", "parent_code"]].merge(
        sub_of_practice[["child_code", "parent_code"]], on="child_code", suffixes=("_pcn", "_sub"))
    counts = members.groupby(["parent_code_pcn", "parent_code_sub"]).size().rename("n").reset_index()
    top = counts[counts["n"] == counts.groupby("parent_code_pcn")["n"].transform("max")]
    modal = top.groupby("parent_code_pcn")["parent_code_sub"].agg(set)
    sub_of_pcn = links[(links["child_level"] == "pcn") & (links["parent_level"] == "sub-icb")].set_index(
        "child_code")["parent_code"]
    agree = [sub_of_pcn[pcn] in subs for pcn, subs in modal.items()]
    assert sum(agree) / len(agree) > 0.99


# ----------------------------------------------------------------------------------------------------
# attributes
# ----------------------------------------------------------------------------------------------------
def test_trusts_each_have_a_type_and_ambulance_trusts_are_ambulance(orgs: pd.DataFrame) -> None:
    trusts = of(orgs, "trust").set_index("code")
    assert trusts["trust_type"].notna().all()
    assert set(trusts["trust_type"]) <= set(TRUST_TYPES)
    assert set(trusts.index[trusts["trust_type"] == "ambulance"]) == AMBULANCE
    named = trusts["name"]
    assert (trusts.loc[named.str.contains("Mental Health"), "trust_type"] == "mental-health").all()
    assert (trusts.loc[named.str.contains("Community"), "trust_type"] == "community").all()
    assert (trusts.loc[named.str.contains("Ambulance"), "trust_type"] == "ambulance").all()
    assert (trusts["trust_type"] == "acute").sum() > 100
    assert of(orgs, "practice")["trust_type"].isna().all()


def test_trust_types_file_matches_and_records_a_basis(orgs: pd.DataFrame) -> None:
    types = pd.read_csv(data_dir() / "trust_types.csv", dtype=str, keep_default_na=False)
    assert list(types.columns) == ["code", "name", "trust_type", "basis"]
    trusts = of(orgs, "trust").set_index("code")
    assert set(types["code"]) == set(trusts.index)
    assert (types.set_index("code")["trust_type"] == trusts["trust_type"].reindex(types["code"])).all()
    assert (types["basis"].str.len() > 10).all()


def test_icb_deprivation_quintiles(orgs: pd.DataFrame) -> None:
    icbs = of(orgs, "icb")
    assert icbs["imd_score"].notna().all()
    sizes = icbs["imd_quintile"].value_counts()
    assert sorted(sizes.index.tolist()) == [1, 2, 3, 4, 5] and sizes.min() >= 8 and sizes.max() <= 9
    # 1 = most deprived: every ICB in quintile 1 scores higher than every ICB in quintile 2, and so on
    by_q = icbs.groupby("imd_quintile")["imd_score"]
    assert (by_q.min().iloc[:-1].to_numpy() > by_q.max().iloc[1:].to_numpy()).all()


def test_practice_deprivation_quintile_direction(orgs: pd.DataFrame) -> None:
    prac = of(orgs, "practice")
    assert prac["imd_score"].notna().mean() > 0.98
    means = prac.groupby("imd_quintile")["imd_score"].mean()
    assert means.index.tolist() == [1, 2, 3, 4, 5]
    assert means.is_monotonic_decreasing  # quintile 1 = most deprived = highest score


def test_populations_add_up(orgs: pd.DataFrame, links: pd.DataFrame) -> None:
    pop = orgs.set_index("code")["population"]
    england = pop[ENGLAND_CODE]
    assert 55_000_000 < england < 65_000_000
    for level in ("region", "icb", "sub-icb"):
        assert of(orgs, level)["population"].sum() == england
    sub_to_icb = links[(links["child_level"] == "sub-icb") & (links["parent_level"] == "icb")]
    summed = sub_to_icb.assign(p=sub_to_icb["child_code"].map(pop)).groupby("parent_code")["p"].sum()
    assert (summed == pop[summed.index]).all()
    # practice list sizes (QOF 2023-24) are an independent source: within 5% of the NHSBSA total
    practices = of(orgs, "practice")["population"]
    assert practices.notna().mean() > 0.98
    assert abs(practices.sum() / england - 1) < 0.05


def test_coordinates_inside_england_where_known(orgs: pd.DataFrame) -> None:
    for level in ("region", "icb", "sub-icb", "trust", "stroke-unit"):
        sel = of(orgs, level)
        assert sel["lat"].notna().all() and sel["lon"].notna().all(), level
        assert sel["lat"].between(*LAT_RANGE).all() and sel["lon"].between(*LON_RANGE).all(), level
    assert of(orgs, "practice")["lat"].isna().all()  # no open coordinates for practices: left empty


# ----------------------------------------------------------------------------------------------------
# boundaries
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("level", "count", "file"),
                         [("icb", 42, "icb.geojson"), ("sub-icb", 106, "sub_icb.geojson")])
def test_boundaries_are_valid_wgs84_and_match_organisations(orgs, level, count, file) -> None:
    path = data_dir() / file
    assert path.stat().st_size < 400_000
    gj = load_boundaries(level)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == count
    table = of(orgs, level).set_index("code")
    codes = [f["properties"]["code"] for f in gj["features"]]
    assert sorted(codes) == sorted(table.index)  # every boundary is an organisation and vice versa
    for f in gj["features"]:
        props = f["properties"]
        assert props["ons_code"] == table.loc[props["code"], "ons_code"]
        assert props["name"] == table.loc[props["code"], "name"]
        geom = shape(f["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid and not geom.is_empty
        coords = shapely.get_coordinates(geom)
        lon, lat = coords[:, 0], coords[:, 1]  # GeoJSON order: lon, lat
        assert lon.min() >= LON_RANGE[0] and lon.max() <= LON_RANGE[1], props["code"]
        assert lat.min() >= LAT_RANGE[0] and lat.max() <= LAT_RANGE[1], props["code"]
        assert (abs(coords * 1e5 - (coords * 1e5).round()) < 1e-6).all()  # 5 decimals
        row = table.loc[props["code"]]
        assert geom.contains(Point(row["lon"], row["lat"])), props["code"]


def test_sub_icb_shapes_sit_inside_their_icb(links: pd.DataFrame) -> None:
    icbs = {f["properties"]["code"]: shape(f["geometry"]) for f in load_boundaries("icb")["features"]}
    icb_of = links[(links["child_level"] == "sub-icb") & (links["parent_level"] == "icb")].set_index(
        "child_code")["parent_code"]
    for f in load_boundaries("sub-icb")["features"]:
        sub = shape(f["geometry"])
        parent = icbs[icb_of[f["properties"]["code"]]]
        assert parent.contains(sub.representative_point())
        assert sub.difference(parent.buffer(1e-4)).area < 0.01 * sub.area
    total_icb = shapely.union_all(list(icbs.values())).area
    total_sub = shapely.union_all([shape(f["geometry"]) for f in load_boundaries("sub-icb")["features"]]).area
    assert abs(total_icb / total_sub - 1) < 0.001


def test_load_boundaries_rejects_other_levels_and_returns_fresh_dicts() -> None:
    with pytest.raises(UptakeError, match="icb, sub-icb"):
        load_boundaries("practice")
    first = load_boundaries("icb")
    first["features"].clear()
    assert len(load_boundaries("icb")["features"]) == 42


# ----------------------------------------------------------------------------------------------------
# loader API
# ----------------------------------------------------------------------------------------------------
def test_loading_is_fast_and_cached() -> None:
    start = time.perf_counter()
    fresh = read_reference(data_dir())
    assert time.perf_counter() - start < 1.0
    assert len(fresh.organisations) == len(load_reference().organisations)
    assert load_reference() is load_reference()


def test_get_parents_children_and_rollup(ref: Reference, orgs: pd.DataFrame) -> None:
    icb = of(orgs, "icb").iloc[0]
    assert ref.get(icb["code"].lower())["code"] == icb["code"]
    subs = ref.children(icb["code"], "sub-icb")
    assert len(subs) >= 1 and (subs["level"] == "sub-icb").all()
    for sub in subs["code"]:
        assert ref.parents(sub).set_index("level").loc["icb", "code"] == icb["code"]
    practice = of(orgs, "practice")["code"].iloc[0]
    assert ref.parents(practice)["level"].tolist()[-1] == "england"
    rollup = ref.rollup_map("practice", "icb")
    assert len(rollup) == len(of(orgs, "practice"))
    assert rollup[practice] == ref.parents(practice).set_index("level").loc["icb", "code"]
    unit = of(orgs, "stroke-unit")["postcode"].iloc[0]
    assert ref.get(unit.lower())["level"] == "stroke-unit"  # postcode with a space, any case
    with pytest.raises(UnknownOrganisation, match="uptake orgs list"):
        ref.get("NOPE1")
    with pytest.raises(ValueError, match="unknown organisation level"):
        ref.children(icb["code"], "county")


def test_as_of_before_the_2022_structure_is_empty(ref: Reference) -> None:
    early = ref.as_of("2021-01-01")
    assert early.organisations.empty and early.relationships.empty
    assert len(ref.as_of("2024-04-01").of_level("icb")) == 42


# ----------------------------------------------------------------------------------------------------
# versioning: a fabricated merger (test only, never in the bundle)
# ----------------------------------------------------------------------------------------------------
def _merger(ref: Reference) -> tuple[pd.DataFrame, str, str, str]:
    london = ref.current().organisations
    icbs = of(london, "icb")
    region = "Y56"
    pair = sorted(ref.children(region, "icb")["code"])[:2]
    changes = pd.DataFrame([
        dict(date=MERGER_DATE, action="open", code="QZZ", level="icb", name="NHS Fabricated Merged ICB",
             ons_code="E54999999", parent_code=region, imd_score="22.5"),
        dict(date=MERGER_DATE, action="merge", code=pair[0], successor_code="QZZ"),
        dict(date=MERGER_DATE, action="merge", code=pair[1], successor_code="QZZ"),
    ])
    assert len(icbs) == 42
    return changes, pair[0], pair[1], region


def test_apply_changes_merges_icbs_and_keeps_history(ref: Reference, tmp_path: Path) -> None:
    changes, a, b, region = _merger(ref)
    path = tmp_path / "changes.csv"
    changes.to_csv(path, index=False)
    rows_before = len(ref.organisations)
    new = apply_changes(ref, path)
    assert len(ref.organisations) == rows_before  # the input is not changed

    before, after = new.as_of("2026-03-31"), new.as_of(MERGER_DATE)
    assert len(before.of_level("icb")) == 42
    assert len(after.of_level("icb")) == 41
    assert {"QZZ"} == set(after.of_level("icb")["code"]) - set(before.of_level("icb")["code"])
    old_subs = set(before.children(a, "sub-icb")["code"]) | set(before.children(b, "sub-icb")["code"])
    assert set(after.children("QZZ", "sub-icb")["code"]) == old_subs
    # flat links of descendants are re-pointed: every practice and trust under a or b now rolls up to QZZ
    practices = set(before.children(a, "practice")["code"]) | set(before.children(b, "practice")["code"])
    trusts = set(before.children(a, "trust")["code"]) | set(before.children(b, "trust")["code"])
    assert practices and trusts
    assert set(after.rollup_map("practice", "icb").loc[sorted(practices)]) == {"QZZ"}
    assert set(after.rollup_map("trust", "icb").loc[sorted(trusts)]) == {"QZZ"}
    assert set(after.children("QZZ", "practice")["code"]) == practices
    assert set(before.rollup_map("practice", "icb").loc[sorted(practices)]) == {a, b}
    some = sorted(practices)[0]
    assert after.parents(some).set_index("level").loc["icb", "code"] == "QZZ"
    assert after.parents("QZZ")["code"].tolist() == [region, ENGLAND_CODE]
    # history: the old ICB rows and links are closed, not deleted
    old = new.organisations[new.organisations["code"] == a]
    assert old["valid_to"].tolist() == [MERGER_DATE]
    with pytest.raises(UnknownOrganisation, match="not valid on"):
        new.get(a, MERGER_DATE)
    assert new.get(a)["valid_to"] == MERGER_DATE
    for day in ("2026-03-31", MERGER_DATE):
        cut = new.as_of(day)
        assert check_links(cut.organisations, cut.relationships) == []
    # unrelated organisations keep their original rows
    untouched = new.relationships[new.relationships["child_level"] == "region"]
    assert untouched["valid_to"].isna().all()


def test_apply_changes_rejects_bad_changes_without_side_effects(ref: Reference) -> None:
    changes, a, _b, _region = _merger(ref)
    with pytest.raises(UptakeError, match="still sit under a closed organisation"):
        apply_changes(ref, pd.DataFrame([dict(date=MERGER_DATE, action="close", code=a)]))
    with pytest.raises(UptakeError, match="row 2, column parent_code"):
        apply_changes(ref, pd.DataFrame([dict(date=MERGER_DATE, action="open", code="QZY", level="icb",
                                              name="X", parent_code="Y99")]))
    with pytest.raises(UptakeError, match="apply changes in date order"):
        apply_changes(ref, changes.assign(date="2020-01-01"))
    with pytest.raises(UptakeError, match="column action"):
        apply_changes(ref, changes.assign(action="explode"))
    with pytest.raises(UptakeError, match="a icb is placed directly under"):
        apply_changes(ref, pd.DataFrame([dict(date=MERGER_DATE, action="move", code=a, parent_code=a)]))
    assert ref.organisations["valid_to"].isna().all()


def test_apply_changes_update_opens_a_new_version(ref: Reference) -> None:
    sub = of(ref.organisations, "sub-icb")["code"].iloc[0]
    rename = pd.DataFrame([dict(date=MERGER_DATE, action="update", code=sub, name="Renamed")])
    new = apply_changes(ref, rename)
    versions = new.organisations[new.organisations["code"] == sub]
    assert len(versions) == 2
    assert new.get(sub, "2026-03-31")["name"] != "Renamed"
    assert new.get(sub, MERGER_DATE)["name"] == "Renamed"
    assert len(new.as_of(MERGER_DATE).children(sub)) == len(ref.current().children(sub))


# ----------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_list_csv_icb(orgs: pd.DataFrame) -> None:
    result = runner.invoke(orgs_app, ["list", "--level", "icb", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 42
    assert {r["code"] for r in rows} == set(of(orgs, "icb")["code"])
    assert {r["region_code"] for r in rows} == set(of(orgs, "region")["code"])


def test_cli_list_json_and_table() -> None:
    result = runner.invoke(orgs_app, ["list", "--level", "Region", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 7 and all(r["level"] == "region" for r in records)
    table = runner.invoke(orgs_app, ["list", "--level", "region"])
    assert table.exit_code == 0 and "7 region organisations" in table.stdout


def test_cli_show_icb_lists_its_sub_icbs(ref: Reference) -> None:
    icb = max(ref.current().of_level("icb")["code"], key=lambda c: len(ref.children(c, "sub-icb")))
    subs = ref.children(icb, "sub-icb")["code"].tolist()
    result = runner.invoke(orgs_app, ["show", icb, "--first", "20"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert ref.get(icb)["ons_code"] in out
    assert re.search(rf"sub-icb \({len(subs)}\)", out)
    assert all(code in out for code in subs)
    assert "region" in out and ENGLAND_CODE in out


def test_cli_unknown_code_exits_1_and_unknown_level_or_date_exits_2_with_a_message() -> None:
    result = runner.invoke(orgs_app, ["show", "NOT-A-CODE"])
    assert result.exit_code == 1
    assert "unknown organisation code 'NOT-A-CODE'" in result.output
    assert "uptake orgs list --level" in result.output
    result = runner.invoke(orgs_app, ["list", "--level", "county"])
    assert result.exit_code == 2
    assert "unknown organisation level 'county'" in result.output and "sub-icb" in result.output
    result = runner.invoke(orgs_app, ["list", "--level", "icb", "--as-of", "31/03/2026"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_cli_as_of_before_2022_explains_the_empty_list() -> None:
    result = runner.invoke(orgs_app, ["list", "--level", "icb", "--format", "csv", "--as-of", "2020-01-01"])
    assert result.exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 0
    assert "start on 2022-07-01" in result.output


# ----------------------------------------------------------------------------------------------------
# the bundle is what the build script makes from the raw data
# ----------------------------------------------------------------------------------------------------
def _raw_data() -> Path | None:
    candidate = Path(os.environ.get("UPTAKE_SHARED_DATA", ROOT.parent / "shared" / "data"))
    return candidate if (candidate / "organisations").is_dir() else None


def test_attribution_present() -> None:
    text = (data_dir() / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in text
    for name in ("epraccur_2023-12.csv", "sicbl_2022_bng.geojson", "imd2025_icb.csv", "etr_trusts_2022.csv"):
        assert name in text


@pytest.mark.slow
@pytest.mark.skipif(_raw_data() is None, reason="raw data not found (set UPTAKE_SHARED_DATA to rebuild)")
def test_build_script_reproduces_the_bundle(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_reference", ROOT / "scripts" / "build_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--data", str(_raw_data()), "--out", str(tmp_path)]) == 0
    bundled = sorted(p.name for p in data_dir().iterdir() if p.is_file())
    assert sorted(p.name for p in tmp_path.iterdir()) == bundled
    for name in bundled:
        assert (tmp_path / name).read_bytes() == (data_dir() / name).read_bytes(), name

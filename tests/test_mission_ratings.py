"""Innovation ratings: each rule, determinism, every trace reproducing its rating, missed opportunities,
the watch list, the draft -> reviewed -> published workflow, who may do it, and the export."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select
from test_mission_support import ADMIN, mission_workflow, small_store

from uptake.catalogue import load_catalogue
from uptake.errors import UptakeError
from uptake.mission.attainment import compute_attainment
from uptake.cli.export_files import write_frame
from uptake.mission.framework_files import read_frameworks
from uptake.mission.permissions import NotPermitted, Who
from uptake.mission.ratings import (
    compute_ratings,
    publish_ratings,
    rate,
    ratings_table,
    reevaluate_trace,
    review_ratings,
    run_rule_set,
)
from uptake.mission.results import read_inputs, read_table
from uptake.mission.rule_set import BUNDLED_RULES, evaluate, facts_from_evidence, load_rule_set
from uptake.store import audit_trail, session_scope
from uptake.store.mission_models import InnovationRating

CATALOGUE = load_catalogue()
RULES = load_rule_set()


def rated(tmp_path: Path):
    store = small_store(tmp_path / "a.duckdb")
    inputs = read_inputs(store)
    frameworks = read_frameworks()
    attainment = compute_attainment(frameworks, CATALOGUE, inputs.values, spc=inputs.spc, peers=inputs.peers,
                                    organisations=inputs.organisations)
    return rate(attainment, RULES, CATALOGUE, frameworks)


def evidence(status: str, rank: int, **extra) -> dict:
    item = {"status": status, "rank": rank, "missed_opportunity": False, "on_watch_list": False,
            "assurance": None, "comparison": "similar"}
    item.update(extra)
    return item


@pytest.mark.parametrize(
    "items, rating, rule",
    [
        ([evidence("missed", 0, on_watch_list=True)], "inadequate", "decertification-watch"),
        ([evidence("missed", 0), evidence("missed", 0), evidence("met", 5)], "inadequate", "most-commitments-missed"),
        ([evidence("missed", 0), evidence("met", 5), evidence("met", 5)], "requires-improvement", "a-commitment-missed"),
        ([evidence("off-trajectory", 2, missed_opportunity=True)], "requires-improvement", "missed-opportunity"),
        ([evidence("on-trajectory", 4, assurance="consistently-fail")], "requires-improvement", "process-fails-standard"),
        ([evidence("off-trajectory", 2), evidence("off-trajectory", 2), evidence("met", 5)], "requires-improvement",
         "mostly-off-trajectory"),
        ([evidence("met", 5, comparison="better"), evidence("met", 5)], "outstanding", "all-met-and-better-than-england"),
        ([evidence("met", 5, comparison="worse"), evidence("met", 5)], "good", "on-track"),
        ([evidence("not-distinguishable", 3), evidence("off-trajectory", 2)], "good", "on-track"),
        ([evidence("not-distinguishable", 1), evidence("off-trajectory", 2), evidence("met", 5)],
         "requires-improvement", None),
    ],
)
def test_each_rule(items, rating, rule) -> None:
    result = evaluate(RULES, facts_from_evidence(items))
    assert (result["rating"], result["fired_rule"]) == (rating, rule)
    assert [r["id"] for r in result["rules"]] == [r.id for r in RULES.rules]  # every rule is evaluated
    assert sum(r["fired"] for r in result["rules"]) == (0 if rule is None else 1)


def test_the_small_country(tmp_path: Path) -> None:
    ratings = rated(tmp_path).ratings.set_index(["org_code", "period"])["rating"]
    year = pd.Timestamp("2021-04-01").date()
    assert ratings[("U01", year)] == "outstanding"        # 24%: met, better than England
    assert ratings[("U05", year)] == "inadequate"         # 3% for three years: decertification watch
    assert ratings[("U11", year)] == "requires-improvement"  # most of its peers met; it did not
    assert ratings[("03C", pd.Timestamp("2022-04-01").date())] == "inadequate"  # 45% for six months


def test_ratings_are_deterministic_and_every_trace_reproduces_its_rating(tmp_path: Path) -> None:
    first, second = rated(tmp_path / "1"), rated(tmp_path / "2")
    assert json.dumps(first.ratings["trace"].tolist(), sort_keys=True) == json.dumps(
        second.ratings["trace"].tolist(), sort_keys=True)
    assert first.ratings["explanation"].tolist() == second.ratings["explanation"].tolist()
    for trace, rating in zip(first.ratings["trace"], first.ratings["rating"], strict=True):
        again = reevaluate_trace(json.loads(json.dumps(trace)), RULES)  # as it comes back from the database
        assert again["rating"] == rating == trace["rating"]
        assert again["rules"] == trace["rules"]


def test_a_trace_is_re_evaluated_only_with_its_own_rule_set(tmp_path: Path) -> None:
    trace = rated(tmp_path).ratings["trace"].iloc[0]
    stricter = RULES.model_copy(update={"version": 2})
    with pytest.raises(UptakeError, match="use the run's rule set"):
        reevaluate_trace(trace, stricter)
    tampered = json.loads(json.dumps(trace))
    tampered["evidence"][0]["status"] = "missed"
    tampered["evidence"][0]["rank"] = 0
    if tampered["facts"]["missed"] == 0:
        with pytest.raises(UptakeError, match="do not follow from its evidence"):
            reevaluate_trace(tampered, RULES)


def test_the_explanation_is_plain_english(tmp_path: Path) -> None:
    r = rated(tmp_path).ratings
    text = r.loc[(r["org_code"] == "U05") & (r["period"] == pd.Timestamp("2021-04-01").date()), "explanation"].iloc[0]
    assert text.startswith("Stroke unit U05 (U05), stroke unit, rating year 2021/22: inadequate, by rule "
                           "decertification-watch")
    assert "missed: clearly below the minimum standard of 8.0%" in text
    assert "on the decertification watch list" in text


def test_missed_opportunities_and_the_watch_list(tmp_path: Path) -> None:
    result = rated(tmp_path)
    assert set(result.watch_list["org_code"]) == {"U05", "03C"}
    u05 = result.watch_list.set_index("org_code").loc["U05"]
    assert (u05["periods_below_minimum"], u05["threshold_periods"]) == (3, 2)
    assert {"U04", "U06", "U11", "U12"} <= set(result.missed_opportunities["org_code"])
    assert not (result.missed_opportunities["status"] == "met").any()


def test_rule_sets_are_checked(tmp_path: Path) -> None:
    data = yaml.safe_load((BUNDLED_RULES / "innovation-ratings-v1.yaml").read_text())
    data["rules"][0]["when"] = {"fact": "happiness", "op": ">=", "value": 1}
    path = tmp_path / "innovation-ratings-v1.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UptakeError, match="unknown fact 'happiness'"):
        load_rule_set(path)
    data = yaml.safe_load((BUNDLED_RULES / "innovation-ratings-v1.yaml").read_text())
    data["rules"][1]["because"] = "{nonsense} happened"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UptakeError, match="unknown facts \\['nonsense'\\]"):
        load_rule_set(path)
    data = yaml.safe_load((BUNDLED_RULES / "innovation-ratings-v1.yaml").read_text())
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(UptakeError, match="name it innovation-ratings-v1.yaml"):
        load_rule_set(tmp_path / "other.yaml")


# --- the workflow ---------------------------------------------------------------------------------------


def test_compute_review_publish_and_only_published_are_public(workflow_engine, tmp_path: Path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    with session_scope(engine) as session:
        summary = compute_ratings(session, store, who=ADMIN)
        assert summary.ratings == 49
        assert summary.by_level["stroke-unit"]["inadequate"] == 2
    assert len(read_table(store, "result_attainment")) > 0
    assert set(read_table(store, "result_watch_list")["org_code"]) == {"U05", "03C"}
    with session_scope(engine) as session:
        assert ratings_table(session).empty  # drafts are not public
        assert len(ratings_table(session, ADMIN, status="draft")) == 49
        with pytest.raises(NotPermitted, match="may not see draft ratings"):
            ratings_table(session, Who(), status="draft")
        with pytest.raises(UptakeError, match="review them first"):
            publish_ratings(session, ADMIN)
    with session_scope(engine) as session:
        assert review_ratings(session, ADMIN, level="stroke-unit") == 36
        assert publish_ratings(session, ADMIN) == 36
    with session_scope(engine) as session:
        public = ratings_table(session)
        assert len(public) == 36 and set(public["level"]) == {"stroke-unit"}
        row = session.scalar(select(InnovationRating).where(InnovationRating.status == "published"))
        assert row.reviewed_by == row.published_by == ADMIN.actor and row.published_at is not None
        actions = [e.action for e in audit_trail(session, "rating-run")]
        assert actions == ["ratings.publish", "ratings.review", "ratings.compute"]
        # every stored trace re-evaluates, with the rule set stored with its run, to its rating
        run_rules = run_rule_set(session, row.run_id)
        for stored in session.scalars(select(InnovationRating)):
            assert reevaluate_trace(stored.trace, run_rules)["rating"] == stored.rating


def test_a_newer_published_run_replaces_the_public_rating(workflow_engine, tmp_path: Path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    for _ in range(2):
        with session_scope(engine) as session:
            compute_ratings(session, store, who=ADMIN)
            review_ratings(session, ADMIN)
            publish_ratings(session, ADMIN)
    with session_scope(engine) as session:
        public = ratings_table(session)
        assert len(public) == 49 and set(public["run_id"]) == {2}
        assert session.scalar(select(func.count()).select_from(InnovationRating)) == 98
        # the list without traces (what the ratings page reads) is the same list, traces left out
        light = ratings_table(session, with_trace=False)
        assert light["trace"].isna().all() and light["explanation"].isna().all()
        pd.testing.assert_frame_equal(light.drop(columns=["trace", "explanation"]),
                                      public.drop(columns=["trace", "explanation"]))


@pytest.mark.parametrize("role, scope", [("icb-analyst", "QAA"), ("provider-lead", "U01"),
                                         ("innovator", "thrombolysis"), ("public", None)])
def test_only_a_national_admin_computes_reviews_and_publishes(workflow_engine, tmp_path: Path, role, scope) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    who = Who(role=role, email=f"{role}@nhs.net", scope_org_code=scope if role != "innovator" else None,
              scope_innovation=scope if role == "innovator" else None)
    with session_scope(engine) as session:
        with pytest.raises(NotPermitted):
            compute_ratings(session, store, who=who)
        compute_ratings(session, store, who=ADMIN)
    with session_scope(engine) as session:
        with pytest.raises(NotPermitted):
            review_ratings(session, who)
        review_ratings(session, ADMIN)
        with pytest.raises(NotPermitted):
            publish_ratings(session, who)


def test_export_formats(workflow_engine, tmp_path: Path) -> None:
    engine = mission_workflow(workflow_engine)
    store = small_store(tmp_path / "a.duckdb")
    with session_scope(engine) as session:
        compute_ratings(session, store, who=ADMIN)
        review_ratings(session, ADMIN)
        publish_ratings(session, ADMIN)
    with session_scope(engine) as session:
        frame = ratings_table(session)
    for fmt in ("csv", "parquet", "json"):
        path = write_frame(frame, tmp_path / f"ratings.{fmt}", fmt)
        if fmt == "csv":
            back = pd.read_csv(path)
            trace = json.loads(back["trace"].iloc[0])
        elif fmt == "parquet":
            back = pd.read_parquet(path)
            trace = json.loads(back["trace"].iloc[0])
        else:
            back = pd.DataFrame(json.loads(path.read_text()))
            trace = back["trace"].iloc[0]
        assert {"org_code", "level", "period", "rating", "trace"} <= set(back.columns)
        assert len(back) == 49
        assert reevaluate_trace(trace, RULES)["rating"] == back["rating"].iloc[0]

"""National Service Frameworks: the bundled frameworks check out; broken files are refused with the file,
field and reason and nothing is loaded; versions are kept with their computed differences and audited."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from uptake.catalogue import load_catalogue
from uptake.cli import nsf
from uptake.mission.framework_repository import (
    framework_definition,
    framework_history,
    list_frameworks,
    load_frameworks,
    published_frameworks,
)
from uptake.mission.framework_files import BUNDLED_FRAMEWORKS, FrameworkProblems, diff_frameworks, read_frameworks
from uptake.mission.schemas import Framework
from uptake.mission.trajectory import trajectory_points, trajectory_value
from uptake.store import AuditEvent, audit_trail, make_engine, session_scope, sync_catalogue, upgrade
from uptake.store.mission_models import NsfCommitment, NsfFrameworkVersion, NsfMilestone

ACTOR = "mission.lead@nhs.net"
CATALOGUE = load_catalogue()


def bundled(name: str) -> dict:
    return yaml.safe_load((BUNDLED_FRAMEWORKS / name).read_text(encoding="utf-8"))


def write(directory: Path, data: dict, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"{data['id']}-v{data['version']}.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- the bundled frameworks ------------------------------------------------------------------------


def test_four_published_frameworks_ship_on_the_catalogue_indicators() -> None:
    frameworks = read_frameworks()
    assert {f.id for f in frameworks} == {"stroke", "cardiovascular-disease", "cancer", "dementia"}
    assert all(f.status == "published" for f in frameworks)
    for framework in frameworks:
        for c in framework.commitments:
            assert c.indicator in CATALOGUE.indicators
            assert c.evidence and c.rationale
            # every number in a commitment is named in its rationale (its source is stated)
            for value in [c.minimum_standard, c.target] + ([c.baseline] if c.baseline is not None else []):
                shown = f"{value * 100:g}%"
                assert shown in c.rationale, f"{framework.id}/{c.id}: {shown} not explained in the rationale"
    assert {c.indicator for f in frameworks for c in f.commitments} >= {
        "thrombolysis-rate", "doac-share", "lung-cancer-early-stage", "dementia-diagnosis-rate",
    }


def _bass(t: float, p: float = 0.03, q: float = 0.38) -> float:
    return (1 - math.exp(-(p + q) * t)) / (1 + (q / p) * math.exp(-(p + q) * t))


def test_shipped_milestones_follow_the_method_their_rationale_states() -> None:
    """Straight lines from the baseline (or minimum) to the target, except cancer's Bass S-curve."""
    for framework in read_frameworks():
        for c in framework.commitments:
            start = framework.commitment_start(c)
            first = c.baseline if c.baseline is not None else c.minimum_standard
            span = (c.deadline - start).days
            for m in c.milestones:
                if "Bass" in c.rationale:
                    t, total = (m.date - start).days / 365.25, span / 365.25
                    expected = first + (c.target - first) * _bass(t) / _bass(total)
                else:
                    expected = first + (c.target - first) * (m.date - start).days / span
                assert m.value == pytest.approx(expected, abs=0.0006), (framework.id, c.id, m.date)


def test_trajectory_runs_through_baseline_milestones_and_target() -> None:
    framework = next(f for f in read_frameworks() if f.id == "stroke")
    c = framework.commitment("thrombolysis")
    points = trajectory_points(framework, c)
    values = trajectory_value(points, [dt.date(2018, 12, 31), dt.date(2019, 1, 1), dt.date(2020, 12, 31),
                                       dt.date(2025, 12, 31), dt.date(2027, 12, 31)])
    assert math.isnan(values[0])
    assert values[1:] == pytest.approx([0.137, 0.155, 0.20, 0.20])


# --- validation ---------------------------------------------------------------------------------------


def _broken(tmp_path: Path, change) -> FrameworkProblems:
    data = bundled("stroke-v1.yaml")
    change(data)
    write(tmp_path, data, "stroke-v1.yaml")
    write(tmp_path, bundled("dementia-v1.yaml"))  # a good file beside it: nothing loads either
    with pytest.raises(FrameworkProblems) as caught:
        read_frameworks(tmp_path)
    return caught.value


def test_unknown_indicator_is_refused_with_file_field_and_reason(tmp_path: Path) -> None:
    problems = _broken(tmp_path, lambda d: d["commitments"][0].update(indicator="thrombolysis-speed"))
    message = str(problems)
    assert "stroke-v1.yaml: field commitments[0] (thrombolysis).indicator: unknown indicator 'thrombolysis-speed'" in message
    assert "nothing was loaded" in message


def test_deadline_before_start_is_refused(tmp_path: Path) -> None:
    problems = _broken(tmp_path, lambda d: d["commitments"][0].update(deadline=dt.date(2018, 6, 30)))
    assert any(p.field == "commitments[0] (thrombolysis).deadline" and "before the start 2019-01-01" in p.reason
               for p in problems.problems)


def test_target_below_minimum_for_high_is_good_is_refused(tmp_path: Path) -> None:
    problems = _broken(tmp_path, lambda d: d["commitments"][0].update(target=0.05))
    assert any(p.field == "commitments[0] (thrombolysis).target" and "below the minimum standard 0.08" in p.reason
               and "high-is-good" in p.reason for p in problems.problems)


def test_target_above_minimum_for_low_is_good_is_refused(tmp_path: Path) -> None:
    from uptake.catalogue.schemas import Polarity

    indicator = CATALOGUE.indicators["thrombolysis-rate"].model_copy(update={"polarity": Polarity.LOW_IS_GOOD})
    catalogue = type(CATALOGUE)(innovations=CATALOGUE.innovations,
                                indicators={**CATALOGUE.indicators, "thrombolysis-rate": indicator})
    data = bundled("stroke-v1.yaml")
    data["commitments"] = data["commitments"][:1]
    data["commitments"][0].update(baseline=None, milestones=[], minimum_standard=0.3, target=0.4)
    write(tmp_path, data)
    with pytest.raises(FrameworkProblems) as caught:
        read_frameworks(tmp_path, catalogue)
    assert any("above the minimum standard 0.3" in p.reason and "low-is-good" in p.reason
               for p in caught.value.problems)


def test_milestones_out_of_order_are_refused(tmp_path: Path) -> None:
    def swap(d):
        ms = d["commitments"][0]["milestones"]
        ms[1]["date"], ms[2]["date"] = ms[2]["date"], ms[1]["date"]

    problems = _broken(tmp_path, swap)
    assert any(p.field == "commitments[0] (thrombolysis).milestones[2].date" and "out of order" in p.reason
               for p in problems.problems)
    falling = _broken(tmp_path / "b", lambda d: d["commitments"][0]["milestones"][3].update(value=0.15))
    assert any("milestones out of order: the trajectory falls" in p.reason for p in falling.problems)


@pytest.mark.parametrize(
    "change, field, words",
    [
        (lambda d: d.pop("title"), "title", "Field required"),
        (lambda d: d.update(status="final"), "status", "Input should be 'draft' or 'published'"),
        (lambda d: d["commitments"][0].update(indicator="edoxaban-share", innovation="doacs"),
         "commitments[0] (thrombolysis).indicator", "no judgement"),
        (lambda d: d["commitments"][0].update(innovation="doacs"), "commitments[0] (thrombolysis).innovation",
         "measures innovation thrombolysis"),
        (lambda d: d["commitments"][0]["scope"].update(levels=["practice"]),
         "commitments[0] (thrombolysis).scope.levels[0]", "no results at level practice"),
        (lambda d: d["commitments"][0].update(target=1.5), "commitments[0] (thrombolysis).target", "not a proportion"),
        (lambda d: d["commitments"][1].update(id="thrombolysis"), "commitments[1] (thrombolysis).id", "used twice"),
        (lambda d: d["commitments"][0].update(deadline=dt.date(2030, 1, 1)),
         "commitments[0] (thrombolysis).deadline", "after the framework ends"),
        (lambda d: d.update(version=2), "id", "name it stroke-v2.yaml"),
    ],
)
def test_other_problems_name_the_field(tmp_path: Path, change, field: str, words: str) -> None:
    problems = _broken(tmp_path, change)
    assert any(p.field == field and words in p.reason for p in problems.problems), problems.problems


def test_not_yaml_is_a_clear_problem(tmp_path: Path) -> None:
    (tmp_path / "stroke-v1.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(FrameworkProblems, match="stroke-v1.yaml: field \\(file\\): not valid YAML"):
        read_frameworks(tmp_path)


# --- versions in the workflow database -------------------------------------------------------------------


def _engine_with_catalogue(workflow_engine):
    with session_scope(workflow_engine) as session:
        sync_catalogue(session, CATALOGUE, actor="system")
    return workflow_engine


def test_load_list_and_show(workflow_engine) -> None:
    engine = _engine_with_catalogue(workflow_engine)
    with session_scope(engine) as session:
        results = load_frameworks(session, read_frameworks(), actor=ACTOR)
        assert [r.action for r in results] == ["inserted"] * 4
    with session_scope(engine) as session:
        lines = [s.line() for s in list_frameworks(session)]
        assert lines[0] == "cancer  National Service Framework for Cancer  v1  published"
        assert len(lines) == 4
        assert session.scalar(select(func.count()).select_from(NsfCommitment)) == 7
        assert session.scalar(select(func.count()).select_from(NsfMilestone)) > 20
        assert {f.id for f in published_frameworks(session)} == {"stroke", "cardiovascular-disease", "cancer", "dementia"}
        events = audit_trail(session, "nsf-framework", "stroke")
        assert events[0].actor == ACTOR and events[0].action == "nsf.version.insert"
        assert events[0].details["changes"]["first_version"] is True
    with session_scope(engine) as session:  # loading again changes nothing
        assert [r.action for r in load_frameworks(session, read_frameworks(), actor=ACTOR)] == ["unchanged"] * 4
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.entity_type == "nsf-framework")) == 4


def test_a_new_version_keeps_the_old_and_records_what_changed_when_and_by_whom(workflow_engine, tmp_path) -> None:
    engine = _engine_with_catalogue(workflow_engine)
    with session_scope(engine) as session:
        load_frameworks(session, read_frameworks(), actor=ACTOR)
    data = bundled("stroke-v1.yaml")
    data.update(version=2, change_note="Thrombolysis target raised; secondary prevention dropped.")
    data["commitments"][0]["target"] = 0.21
    data["commitments"][0]["milestones"] = data["commitments"][0]["milestones"][:-1]
    data["commitments"] = data["commitments"][:1]
    write(tmp_path, data)
    write(tmp_path, bundled("stroke-v1.yaml"))
    with session_scope(engine) as session:
        results = load_frameworks(session, read_frameworks(tmp_path), actor="second.editor@nhs.net")
        assert [(r.framework_id, r.version, r.action) for r in results] == [("stroke", 1, "unchanged"),
                                                                          ("stroke", 2, "inserted")]
        changes = results[1].changes
        assert changes["from_version"] == 1
        assert changes["commitments"]["removed"] == ["stroke-secondary-prevention"]
        assert changes["commitments"]["changed"]["thrombolysis"]["target"] == {"from": 0.2, "to": 0.21}
        assert changes["framework"]["change_note"]["to"].startswith("Thrombolysis target raised")
    with session_scope(engine) as session:
        history = framework_history(session, "stroke")
        assert [v.version for v in history] == [1, 2]
        assert history[1].loaded_by == "second.editor@nhs.net"
        assert history[1].loaded_at.tzinfo is not None
        assert framework_definition(session, "stroke", 1).commitment("thrombolysis").target == 0.2
        assert framework_definition(session, "stroke").commitment("thrombolysis").target == 0.21
        event = audit_trail(session, "nsf-framework", "stroke")[0]
        assert (event.actor, event.details["version"]) == ("second.editor@nhs.net", 2)
        assert event.details["changes"] == changes


def test_a_published_version_cannot_change_and_a_failed_load_writes_nothing(workflow_engine, tmp_path) -> None:
    engine = _engine_with_catalogue(workflow_engine)
    with session_scope(engine) as session:
        load_frameworks(session, read_frameworks(), actor=ACTOR)
    changed = bundled("stroke-v1.yaml")
    changed["commitments"][0]["target"] = 0.25
    write(tmp_path, changed)
    new_dementia = bundled("dementia-v1.yaml") | {"version": 2}
    write(tmp_path, new_dementia)
    with pytest.raises(FrameworkProblems, match="stroke v1 is published and cannot change; save the change as a "
                                                "new version \\(stroke-v2.yaml\\)"):
        with session_scope(engine) as session:
            load_frameworks(session, read_frameworks(tmp_path), actor=ACTOR)
    with session_scope(engine) as session:  # dementia v2 was valid, but nothing was loaded
        assert session.scalar(select(func.count()).select_from(NsfFrameworkVersion)) == 4


def test_a_draft_version_can_be_replaced_and_the_change_is_recorded(workflow_engine, tmp_path) -> None:
    engine = _engine_with_catalogue(workflow_engine)
    draft = bundled("dementia-v1.yaml") | {"status": "draft"}
    write(tmp_path, draft)
    with session_scope(engine) as session:
        load_frameworks(session, read_frameworks(tmp_path), actor=ACTOR)
        assert published_frameworks(session) == []
        assert list_frameworks(session)[0].status == "draft"
    write(tmp_path, draft | {"status": "published"})
    with session_scope(engine) as session:
        (result,) = load_frameworks(session, read_frameworks(tmp_path), actor=ACTOR)
        assert result.action == "replaced"
        assert result.changes["framework"]["status"] == {"from": "draft", "to": "published"}
        assert [f.id for f in published_frameworks(session)] == ["dementia"]
        assert audit_trail(session, "nsf-framework", "dementia")[0].action == "nsf.version.replace"


def test_diff_of_identical_versions_is_empty() -> None:
    framework = read_frameworks()[0]
    diff = diff_frameworks(framework, framework)
    assert diff["framework"] == {} and diff["commitments"] == {"added": [], "removed": [], "changed": {}}


# --- the command line ---------------------------------------------------------------------------------------


def test_cli_load_list_show(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("UPTAKE_DATABASE_URL", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    url = f"sqlite:///{ws / 'workflow.sqlite'}"
    upgrade(url)
    _engine_with_catalogue(make_engine(url)).dispose()
    app = typer.Typer()
    nsf.register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["nsf", "load", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert "stroke v1: inserted" in result.output
    result = runner.invoke(app, ["nsf", "list", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "cancer\tNational Service Framework for Cancer\tv1\tpublished",
        "cardiovascular-disease\tNational Service Framework for Cardiovascular Disease\tv1\tpublished",
        "dementia\tNational Service Framework for Dementia\tv1\tpublished",
        "stroke\tNational Service Framework for Stroke\tv1\tpublished",
    ]
    result = runner.invoke(app, ["nsf", "show", "stroke", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert "thrombolysis" in result.output and "20.0%" in result.output and "History" in result.output
    result = runner.invoke(app, ["nsf", "show", "nope", "--workspace", str(ws)])
    assert result.exit_code == 1 and "error: no framework 'nope'" in result.output

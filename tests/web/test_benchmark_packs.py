"""Board packs with a benchmark and a custom group's pack, as a reader gets them: printed by headless Chromium
and read back with PDFium (every page has ink, every section heading is there, and each figure says what it
is compared with); the command line's --benchmark and --group, and their bad values."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_board_pack import INK, check_pack, needs_chromium, read_pdf
from typer.testing import CliRunner

from uptake.cli import app as cli_app
from uptake.store.db import make_engine, session_scope
from uptake.store.group_models import OrgGroup, OrgGroupMember
from uptake.store.models import User
from uptake.web.board_pack import GROUP_SECTIONS, OPERATOR, render_board_pack

MEMBERS = ("KK0", "KK1", "KK2")


@pytest.fixture(scope="module")
def group_id(demo) -> int:
    engine = make_engine(demo.workspace.database_url)
    try:
        with session_scope(engine) as session:
            owner = session.scalar(select(User).where(User.email == demo.users["icb-analyst"].email))
            row = OrgGroup(owner_id=owner.id, title="South East London collaborative", description="for the packs",
                           level="sub-icb", members=[OrgGroupMember(org_code=c) for c in MEMBERS])
            session.add(row)
            session.flush()
            return row.id
    finally:
        engine.dispose()


def check_group_pack(pages: list[tuple[str, float]], title: str) -> str:
    assert len(pages) >= 2
    for number, (_, ink) in enumerate(pages, start=1):
        assert ink > INK, f"page {number} of {len(pages)} is blank ({ink:.4f} of its pixels have ink)"
    text = "\n".join(t for t, _ in pages)
    for number, (_, heading) in enumerate(GROUP_SECTIONS, start=1):
        assert f"{number}. {heading}" in text, f"section heading {number}. {heading} is missing"
    assert f"Page {len(pages)} of {len(pages)}" in text
    flat = " ".join(text.split())
    assert f"Board pack: {title}" in flat
    return flat


@needs_chromium
def test_a_groups_pack_pdf_from_the_web_and_its_shared_link(fresh_app, session_cookies, group_id) -> None:
    with TestClient(fresh_app, base_url="http://testserver") as client:
        assert client.get(f"/groups/{group_id}/pack.pdf").status_code == 404  # signed out: not known
        client.cookies.set("uptake_session", session_cookies["icb-analyst"])
        page = client.get(f"/groups/{group_id}")
        assert f'href="/groups/{group_id}/pack.pdf"' in page.text
        assert "compared with: England" in page.text
        response = client.get(f"/groups/{group_id}/pack.pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert f"uptake-group-pack-{group_id}-" in response.headers["content-disposition"]
    text = check_group_pack(read_pdf(response.content), "South East London collaborative")
    for code in MEMBERS:
        assert code in text  # the members table and the per-member tables
    assert "compared with: England" in text and "of 3" in text  # pooled, members counted
    with TestClient(fresh_app, base_url="http://testserver") as other:
        other.cookies.set("uptake_session", session_cookies["provider-lead"])
        assert other.get(f"/groups/{group_id}/pack.pdf").status_code == 404  # another person's group


@needs_chromium
def test_a_groups_pack_and_a_benchmarked_pack_from_the_command_line(demo, tmp_path, group_id) -> None:
    out = tmp_path / "group.pdf"
    result = CliRunner().invoke(cli_app, ["pack", "--group", str(group_id), "--workspace",
                                          str(demo.workspace.root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    check_group_pack(read_pdf(out.read_bytes()), "South East London collaborative")
    out = tmp_path / "peers.pdf"
    result = CliRunner().invoke(cli_app, ["pack", "MJ0", "--benchmark", f"group:{group_id}", "--workspace",
                                          str(demo.workspace.root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = check_pack(read_pdf(out.read_bytes()), "NHS North Central London sub-ICB 1")
    assert "Area profile against South East London collaborative (custom group, pooled, 3" in text
    assert "Compared with: South East London collaborative" in text


@pytest.mark.parametrize("kind, label", [("region", "London region"), ("icb", "NHS North Central London ICB"),
                                         ("peers", "its similar-")])
def test_the_pack_against_each_benchmark_says_what_it_is_compared_with(app, kind, label) -> None:
    html = render_board_pack(app.state.web, "MJ0", OPERATOR, benchmark=kind)
    section = html.split('id="profile"')[1].split("</section>")[0]
    assert f"Area profile against {label}" in section
    assert "Compared with: " + label in section.replace("&#39;", "'")
    assert f"Benchmark: {label}" in section  # the table's benchmark column
    summary = html.split('id="summary"')[1].split("</section>")[0]
    assert f"Worse than {label}" in summary.replace("&#39;", "'")


@pytest.mark.parametrize("args, words", [
    (["pack", "MJ0", "--benchmark", "cousins"], "not offered"),
    (["pack", "MJ0", "--benchmark", "group:99999"], "no such group"),
    (["pack", "--group", "99999"], "no saved group 99999"),
    (["pack"], "give an organisation code"),
    (["pack", "MJ0", "--group", "1"], "not both"),
])
def test_bad_pack_commands_say_what_is_wrong(demo, args, words) -> None:
    result = CliRunner().invoke(cli_app, [*args, "--workspace", str(demo.workspace.root)])
    assert result.exit_code == 1 and words in result.stderr, result.output

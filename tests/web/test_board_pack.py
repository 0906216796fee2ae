"""The board pack as a reader gets it: the PDF of an ICB (from the web, as a national admin) and of a GP
practice (from `uptake pack`) printed by headless Chromium, read back with PDFium: every page has ink on it,
every section heading is there, and the figures are the organisation's. Without Chromium the web answers 503
and the command exits 1, each saying what to install."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from uptake.cli import app as cli_app
from uptake.web.access import ANONYMOUS
from uptake.web.board_pack import OPERATOR, SECTIONS, render_board_pack
from uptake.web.pdf import CHROMIUM_ENV, find_chromium, html_to_pdf

pdfium = pytest.importorskip("pypdfium2")
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (Debian's chromium package)")
#: a page whose share of non-white pixels is below this is blank (the footer alone is about 0.2%)
INK = 0.004


def read_pdf(body: bytes) -> list[tuple[str, float]]:
    """Each page's text and its share of non-white pixels (rendered at 50 dpi)."""
    assert body.startswith(b"%PDF"), body[:40]
    document = pdfium.PdfDocument(body)
    pages = []
    for page in document:
        pixels = page.render(scale=50 / 72).to_numpy()[:, :, :3]
        ink = float((pixels.min(axis=2) < 235).mean())
        pages.append((page.get_textpage().get_text_range(), ink))
    return pages


def check_pack(pages: list[tuple[str, float]], org_name: str) -> str:
    assert len(pages) >= 3
    for number, (_, ink) in enumerate(pages, start=1):
        assert ink > INK, f"page {number} of {len(pages)} is blank ({ink:.4f} of its pixels have ink)"
    text = "\n".join(t for t, _ in pages)
    for number, (_, heading) in enumerate(SECTIONS, start=1):
        assert f"{number}. {heading}" in text, f"section heading {number}. {heading} is missing"
    assert f"Board pack: {org_name}" in " ".join(text.split())
    assert f"Page {len(pages)} of {len(pages)}" in text
    return " ".join(text.split())


@needs_chromium
def test_an_icbs_board_pack_pdf_from_the_web(fresh_app, session_cookies) -> None:
    with TestClient(fresh_app, base_url="http://testserver") as client:
        client.cookies.set("uptake_session", session_cookies["national-admin"])
        response = client.get("/organisations/QMJ/pack.pdf")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="uptake-board-pack-QMJ.pdf"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "private, no-store"
    text = check_pack(read_pdf(response.content), "NHS North Central London ICB")
    for sub_icb in ("sub-ICB 1", "sub-ICB 2", "sub-ICB 3"):
        assert f"NHS North Central London {sub_icb}" in text  # the tartan rug's rows
    assert "If NHS North Central London ICB matched each benchmark" in text  # the admin sees the opportunity
    assert "Deciles chart" in text or "Deciles charts" in text
    assert "Its fitted diffusion curve on each indicator" in text  # the forecasts' own table


@needs_chromium
def test_a_practices_board_pack_pdf_from_the_command_line(demo, tmp_path) -> None:
    out = tmp_path / "practice.pdf"
    result = CliRunner().invoke(cli_app, ["pack", "PMJ00", "--workspace", str(demo.workspace.root),
                                          "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Board pack of PMJ00 written to" in result.stdout
    text = check_pack(read_pdf(out.read_bytes()), "Practice PMJ00")
    assert "Not applicable: a tartan rug compares the organisations within an area" in text
    assert "SYNTHETIC" in text  # its one indicator is synthetic, and the pack says so


def test_before_forecasts_are_computed_the_pack_says_not_yet_available(app, monkeypatch) -> None:
    from uptake.web import board_pack

    web = app.state.web
    assert "Not yet available" not in render_board_pack(web, "QMJ", OPERATOR).split('id="forecasts"')[1]
    monkeypatch.setattr(board_pack, "FORECAST_TABLES", ("result_forecasts_not_computed",))
    section = render_board_pack(web, "QMJ", OPERATOR).split('id="forecasts"')[1].split("</section>")[0]
    assert "Not yet available" in section and "<table" not in section


def test_the_pack_shows_each_reader_only_what_their_role_covers(app) -> None:
    web = app.state.web
    public = render_board_pack(web, "QMJ", ANONYMOUS)
    assert "is innovation-pack information" in public and "matched each benchmark" not in public
    operator = render_board_pack(web, "QMJ", OPERATOR)
    assert "If NHS North Central London ICB matched each benchmark" in operator
    for anchor, heading in SECTIONS:
        assert f'id="{anchor}"' in operator and heading in operator
    # self-contained: styles inlined, no script, nothing to fetch
    assert "<script" not in operator and 'rel="stylesheet"' not in operator and "<style>" in operator
    assert "http://" not in operator.replace("http://www.w3.org/2000/svg", "")


def test_without_chromium_the_pack_says_what_to_install(fresh_app, session_cookies, demo, monkeypatch,
                                                        tmp_path) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    with TestClient(fresh_app, base_url="http://testserver") as client:
        response = client.get("/organisations/MJ0/pack.pdf")
    assert response.status_code == 503
    assert "no Chromium found" in response.text and "apt-get install chromium" in response.text
    result = CliRunner().invoke(cli_app, ["pack", "MJ0", "--workspace", str(demo.workspace.root),
                                          "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "no Chromium found" in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_an_unknown_organisation_has_no_pack(client, demo) -> None:
    assert client.get("/organisations/NOPE/pack.pdf").status_code == 404
    result = CliRunner().invoke(cli_app, ["pack", "NOPE", "--workspace", str(demo.workspace.root)])
    assert result.exit_code == 1 and "unknown organisation code 'NOPE'" in result.stderr


@needs_chromium
def test_a_blank_page_is_caught() -> None:
    """The check can fail: a document whose third page is empty (but for nothing) is refused."""
    html = ("<html><body style='font: 40pt Arial'>" + "".join(
        f"<p style='break-before: page'>{n}. {heading} " + "text " * 200 + "</p>"
        for n, (_, heading) in enumerate(SECTIONS, start=1)) + "<div style='break-before: page'></div></body></html>")
    with pytest.raises(AssertionError, match="is blank"):
        check_pack(read_pdf(html_to_pdf(html)), "anything")

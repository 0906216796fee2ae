"""Error pages people can act on: a 404 says what was not found and what to do (search, the list it belongs
in, the home page); a 422 says in words what is wrong with the web address and links to the page without
it. The API under /api/ answers JSON either way."""

from __future__ import annotations

import html as markup
import re

import pytest


def _text(html: str) -> str:
    main = html.split('<main', 1)[1].split("</main>", 1)[0]
    return markup.unescape(" ".join(re.sub(r"<[^>]+>", " ", main).split()))


def _links(html: str) -> list[str]:
    main = html.split('<main', 1)[1].split("</main>", 1)[0]
    return [href.replace("&amp;", "&") for href in re.findall(r'<a class="nhsuk-link" href="([^"]+)"', main)]


@pytest.mark.parametrize("url, title, says, links", [
    ("/organisations/NOPE1", "Organisation not found", "There is no organisation with the code NOPE1 in Uptake",
     ["/organisations", "/"]),
    ("/organisations/QMJ?indicator=no-such-indicator", "Indicator not found",
     "There is no indicator no-such-indicator in Uptake's catalogue", ["/organisations/QMJ", "/data", "/"]),
    ("/innovations/doacs?indicator=nope&level=icb", "Indicator not found",
     "There is no indicator nope for the innovation doacs", ["/innovations/doacs?level=icb", "/data", "/"]),
    ("/innovations/no-such-thing", "Innovation not found", "There is no innovation no-such-thing", ["/data", "/"]),
    ("/no/such/page", "Page not found", "If you typed the web address, check it is correct",
     ["/organisations", "/nsf", "/"]),
])
def test_not_found_says_what_and_what_to_do(client, url, title, says, links):
    response = client.get(url)
    assert response.status_code == 404
    assert "nhsuk-header" in response.text and f"<h1 class=\"nhsuk-heading-xl\">{title}</h1>" in response.text
    assert says in _text(response.text)
    assert _links(response.text) == links


def test_an_unknown_organisation_offers_the_search_filled_in(client):
    html = client.get("/organisations/NOPE1").text
    assert 'action="/organisations"' in html and 'name="q"' in html and 'value="NOPE1"' in html


@pytest.mark.parametrize("url, problem, back", [
    ("/innovations/doacs?level=icb&period=2022-13-01",
     "Period '2022-13-01' is not a date (YYYY-MM-DD).", "/innovations/doacs?level=icb"),
    ("/innovations/doacs?period=not-a-date", "Period 'not-a-date' is not a date (YYYY-MM-DD).", "/innovations/doacs"),
    ("/organisations?q=a&page=abc", "The page in the web address ('abc') must be a whole number.",
     "/organisations?q=a"),
    ("/organisations?page=0", "The page in the web address ('0') must be 1 or more.", "/organisations"),
])
def test_a_bad_address_says_what_is_wrong_in_words(client, url, problem, back):
    response = client.get(url)
    assert response.status_code == 422
    assert "There is a problem with the web address" in response.text
    text = _text(response.text)
    assert problem in text
    assert "query." not in text and "int_parsing" not in text  # no raw validation text
    assert _links(response.text)[0] == back and _links(response.text)[-1] == "/"
    if "period" in url:
        assert "Dates are written YYYY-MM-DD, for example 2022-09-01" in text


def test_a_path_that_is_not_a_number(client):
    response = client.get("/plans/missing")
    assert response.status_code == 422
    text = _text(response.text)
    assert "The filing number in the web address ('missing') must be a whole number." in text
    assert "/plans" in _links(response.text)


@pytest.mark.parametrize("url, status", [
    ("/api/v1/organisations/NOPE1", 404),
    ("/api/v1/values?indicator=doac-share&period=2022-13-01", 422),
    ("/api/v1/organisations?page=abc", 422),
    ("/api/v1/no-such-endpoint", 404),
])
def test_the_api_stays_json(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert "detail" in response.json()

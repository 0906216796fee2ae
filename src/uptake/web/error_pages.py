"""Error pages people can act on (the NHS.UK error page, for browsers; the API answers JSON).

A 404 says what was not found (an organisation code, an indicator, an innovation, a framework, a rating, a
filing) and what to do: search for the organisation, see every indicator, go back to the list it belongs
in. A 422 says, in words, what is wrong with the web address (a period that is not a date, a page number
that is not a whole number ...) and links to the same page without the parts that are wrong. Other errors
show their title and message as before.

The messages come from the ``HTTPException`` details the routes raise ("unknown organisation 'X'", "no
framework X", ...) and from FastAPI's validation errors; a detail not recognised is shown as it is, with the
general advice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from uptake.web.formatting import level_label


@dataclass
class ErrorPage:
    """What the error page says: a heading, paragraphs, the problems with the address (422), a search for
    organisations (pre-filled), and links to what to do next."""

    title: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    search: str | None = None
    links: list[dict[str, str]] = field(default_factory=list)

    def link(self, href: str, text: str) -> "ErrorPage":
        if all(existing["href"] != href for existing in self.links):
            self.links.append({"href": href, "text": text})
        return self


HOME = ("/", "Go to the Uptake home page")
FIND = ("/organisations", "Find an organisation by name or code")
TYPED = ("If you typed the web address, check it is correct. If you pasted it, check you copied the entire "
         "address.")


def error_page(request: Request, status: int, title: str, detail: str | None = None,
               problems: Sequence[dict[str, Any]] | None = None) -> HTMLResponse:
    """The NHS.UK error page for ``status``: for 404 and 422 in words (see the module), else ``title`` and
    ``detail`` as they are."""
    if status == 404:
        page = not_found(request, detail)
    elif status == 422:
        page = bad_address(request, title, detail, problems or ())
    else:
        page = ErrorPage(title, [detail] if detail else [])
    if status in (404, 422):
        page.link(*HOME)
    web = request.app.state.web
    return web.render(request, "error.html", status_code=status, title=page.title, lines=page.lines,
                      problems=page.problems, search=page.search, links=page.links, status=status)


# --- 404 -------------------------------------------------------------------------------------------------


def _without(request: Request, *names: str) -> str:
    """The address of this page without the query parameters ``names``."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in names]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


def _organisation(request: Request, m: re.Match) -> ErrorPage:
    code = m["code"]
    return ErrorPage(
        "Organisation not found",
        [f"There is no organisation with the code {code} in Uptake.",
         "Codes are ODS codes, such as QMJ for an integrated care board or A81001 for a GP practice. Search "
         "for the organisation by its name or code instead."],
        search=code).link(*FIND)


def _indicator(request: Request, m: re.Match) -> ErrorPage:
    indicator, innovation = m["indicator"], m.groupdict().get("innovation")
    page = ErrorPage("Indicator not found",
                     [f"There is no indicator {indicator}" + (f" for the innovation {innovation}." if innovation
                                                               else " in Uptake's catalogue."),
                      "Data and methods lists every indicator with its id and definition."])
    if "indicator" in request.query_params:
        page.link(_without(request, "indicator"), "See this page with its first indicator")
    return page.link("/data", "See every indicator (Data and methods)")


def _no_results_at_level(request: Request, m: re.Match) -> ErrorPage:
    level = m["level"]
    page = ErrorPage("No results at this level",
                     [f"The indicator {m['indicator']} has no results for {level_label(level, plural=True)}."])
    if "level" in request.query_params:
        page.link(_without(request, "level", "page"), "See this page at a level with results")
    return page.link("/data", "See each indicator's levels (Data and methods)")


def _innovation(request: Request, m: re.Match) -> ErrorPage:
    return ErrorPage("Innovation not found",
                     [f"There is no innovation {m['innovation']} in Uptake's catalogue.",
                      "The home page lists every innovation."]).link("/data", "See every indicator (Data and methods)")


def _framework(request: Request, m: re.Match) -> ErrorPage:
    return ErrorPage("Framework not found",
                     [f"There is no published National Service Framework {m['framework']}."]
                     ).link("/nsf", "See every National Service Framework")


def _commitment(request: Request, m: re.Match) -> ErrorPage:
    framework = m["framework"]
    return ErrorPage("Commitment not found",
                     [f"The framework {framework} has no commitment {m['commitment']}."]
                     ).link(f"/nsf/{framework}", f"See the commitments of {framework}").link(
        "/nsf", "See every National Service Framework")


def _rating(request: Request, m: re.Match) -> ErrorPage:
    level, code = m["level"], m["code"]
    return ErrorPage(
        "Rating not found",
        [f"There is no published innovation rating for the {level_label(level)} {code}.",
         "Ratings become public when a national reviewer publishes them; organisations are rated at the levels "
         "their commitments are measured at."],
    ).link(f"/ratings?{urlencode({'q': code})}", f"Search the ratings for {code}").link(
        f"/organisations/{code}", f"See the organisation {code}").link("/ratings", "See every published rating")


def _filing(request: Request, m: re.Match) -> ErrorPage:
    return ErrorPage(  # "Page not found": whether a filing the person may not see exists is not said
        "Page not found",
        [f"There is no plan or justification {m['filing']} that you can see.",
         "Filings are public once published; before that only the ICB's analysts and national reviewers see "
         "them (sign in)."]).link("/plans", "See the plans and justifications you can see")


def _download(request: Request, m: re.Match) -> ErrorPage:
    return ErrorPage("Download not found",
                     ["There is no such download. Each table's download link is under the table."])


#: 404 details the routes raise, and the page each one gets.
NOT_FOUND: list[tuple[re.Pattern[str], Callable[[Request, re.Match], ErrorPage]]] = [
    (re.compile(r"unknown organisation '(?P<code>[^']*)'"), _organisation),
    (re.compile(r"innovation (?P<innovation>\S+) has no indicator '(?P<indicator>[^']*)'"), _indicator),
    (re.compile(r"unknown indicator '(?P<indicator>[^']*)'"), _indicator),
    (re.compile(r"indicator (?P<indicator>\S+) has no results for level '(?P<level>[^']*)'"), _no_results_at_level),
    (re.compile(r"no innovation '(?P<innovation>[^']*)'"), _innovation),
    (re.compile(r"no commitment (?P<commitment>\S+) in (?P<framework>\S+)"), _commitment),
    (re.compile(r"no framework '?(?P<framework>[^'\s]+)'?"), _framework),
    (re.compile(r"no published rating for (?P<level>\S+) (?P<code>\S+)"), _rating),
    (re.compile(r"there is no filing (?P<filing>\S+)"), _filing),
    (re.compile(r"no such download|no table "), _download),
]


def not_found(request: Request, detail: str | None) -> ErrorPage:
    for pattern, page in NOT_FOUND:
        found = pattern.search(detail or "")
        if found:
            return page(request, found)
    lines = [detail[:1].upper() + detail[1:] + "."] if detail and detail not in ("Page not found", "Not Found") else []
    return ErrorPage("Page not found", lines + [TYPED], search="").link(*FIND).link(
        "/nsf", "See the National Service Frameworks")


# --- 422 -------------------------------------------------------------------------------------------------

#: What a validation error's type means, in words (pydantic's error types).
REASONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "int_parsing": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "float_parsing": lambda ctx: "must be a number",
    "bool_parsing": lambda ctx: "must be true or false",
    "greater_than_equal": lambda ctx: f"must be {ctx.get('ge')} or more",
    "greater_than": lambda ctx: f"must be more than {ctx.get('gt')}",
    "less_than_equal": lambda ctx: f"must be {ctx.get('le')} or less",
    "less_than": lambda ctx: f"must be less than {ctx.get('lt')}",
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters long",
    "string_too_short": lambda ctx: f"must be at least {ctx.get('min_length')} characters long",
    "missing": lambda ctx: "is missing",
    "literal_error": lambda ctx: f"must be one of {ctx.get('expected')}",
    "enum": lambda ctx: f"must be one of {ctx.get('expected')}",
    "date_parsing": lambda ctx: "must be a date written YYYY-MM-DD, for example 2022-09-01",
    "date_from_datetime_parsing": lambda ctx: "must be a date written YYYY-MM-DD, for example 2022-09-01",
}
#: Names of address parts, in words.
PART_NAMES = {"q": "search", "per_page": "number of rows a page", "include_caught_up": "include_caught_up"}


def _problem(error: dict[str, Any]) -> tuple[str, str, str]:
    """(where: query or path, the parameter's name, the sentence) for one validation error."""
    loc = [str(p) for p in error.get("loc", ())]
    where, name = (loc[0], loc[-1]) if len(loc) >= 2 else ("query", loc[-1] if loc else "")
    if error.get("type") == "value_error":  # a route's own sentence, e.g. "period 'x' is not a date (YYYY-MM-DD)"
        text = str(error.get("msg", "")).removeprefix("Value error, ")
        return where, name, text[:1].upper() + text[1:].rstrip(".") + "."
    words = PART_NAMES.get(name) or name.replace("_id", " number").replace("_", " ")
    reason = REASONS.get(error.get("type", ""), lambda ctx: str(error.get("msg", "is not valid")).lower())(
        error.get("ctx") or {})
    given = error.get("input")
    shown = f" ('{given}')" if isinstance(given, (str, int, float)) and error.get("type") != "missing" else ""
    return where, name, f"The {words} in the web address{shown} {reason}."


def bad_address(request: Request, title: str, detail: str | None,
                problems: Sequence[dict[str, Any]]) -> ErrorPage:
    page = ErrorPage("There is a problem with the web address")
    wrong: set[str] = set()
    in_path = False
    for error in problems:
        where, name, sentence = _problem(error)
        page.problems.append(sentence)
        in_path = in_path or where == "path"
        if where == "query":
            wrong.add(name)
    if detail:
        page.problems.append(detail[:1].upper() + detail[1:] + ".")
        first = detail.split(" ", 1)[0]
        wrong |= {k for k, v in request.query_params.multi_items()
                  if k == first or (v and f"'{v}'" in detail)}
    if any("YYYY-MM-DD" in problem for problem in page.problems):
        page.lines.append("Dates are written YYYY-MM-DD, for example 2022-09-01 for the period starting on "
                          "1 September 2022.")
    if in_path:
        parent = request.url.path.rstrip("/").rsplit("/", 1)[0] or "/"
        page.link(parent, f"Go to {parent}")
    elif wrong:
        page.link(_without(request, *wrong), "See this page without the parts that are wrong")
    page.lines.append(TYPED)
    return page

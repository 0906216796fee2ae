"""What the web's HTML forms share: the posted form read behind its CSRF check, problems gathered by field for
the templates (templates/_forms.html shows them), and a save run in the threadpool that, when the domain
refuses what was asked, answers the form again with each problem at its field (400; 403 for a refusal of
the role or scope) and saves nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from uptake.web.security import CSRF_FIELD, csrf_ok

FORM_EXPIRED = "the form has expired or did not come from this site; go back and try again"

Problems = list[tuple[str, str]]


async def posted_form(request: Request, *, bearer_ok: bool = False) -> dict[str, str]:
    """The posted form, refused (403) unless it carries this session's CSRF token (or, with ``bearer_ok``, the
    request carries an API token, which no other site can send on the user's behalf)."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not (bearer_ok and "authorization" in request.headers) and not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, FORM_EXPIRED)
    return form


def by_field(problems: Problems) -> dict[str, list[str]]:
    """[(field, message), ...] as {field: [message, ...]}, in order."""
    out: dict[str, list[str]] = {}
    for field, text in problems:
        out.setdefault(field, []).append(text)
    return out


async def save_or_again(
    save: Callable[[], Any],
    again: Callable[[Problems, int], Response],
    *,
    problems: type[Exception] | tuple[type[Exception], ...],
    refused: type[Exception] | tuple[type[Exception], ...] = (),
    refused_field: str = "org_code",
    forbidden: type[Exception] | tuple[type[Exception], ...] = (),
) -> tuple[Any, Response | None]:
    """Run ``save`` in the threadpool: (what it returned, None), or, when it raises, (None, the form again).

    ``problems`` (exceptions carrying ``.problems``, [(field, message)]) answer ``again(problems, 400)``;
    ``refused`` answer ``again([(refused_field, message)], 403)``; ``forbidden`` answer 403 with no form."""
    try:
        return await run_in_threadpool(save), None
    except problems as exc:
        return None, await run_in_threadpool(again, exc.problems, 400)  # type: ignore[attr-defined]
    except refused as exc:
        return None, await run_in_threadpool(again, [(refused_field, str(exc))], 403)
    except forbidden as exc:
        raise HTTPException(403, str(exc)) from None

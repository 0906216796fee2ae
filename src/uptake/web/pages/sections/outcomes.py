"""The innovation page's outcomes section: what closing the gap is worth in England (public) with how it was
calculated, and each organisation's outcomes for a signed-in user who may see the innovation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.models.outcomes.registry import model_for
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.outcomes import impact, national_outcomes, outcomes


def outcomes_section(cur, tctx: Context, ind: Indicator, level: str, day: dt.date | None,
                     inputs: dict, with_impact: bool = True) -> dict[str, Any]:
    model = model_for(ind.id)
    if model is None:
        return {"outcome_model": None}
    out: dict[str, Any] = {
        "outcome_model": model,
        "outcomes_totals": national_outcomes(tctx, ind.id, "top-decile"),
        "how_outcomes": how(cur, ind, ["opportunity", "outcomes"], {
            **inputs,
            "Outcome model": f"{model.title}: {model.method}",
            "Per": model.per,
            **({"Items to patients": model.unit_note} if model.unit_note else {}),
            "Sources": "; ".join(model.sources),
        }, day),
    }
    valued = impact(tctx, ind.id) if with_impact else None
    if valued is not None and valued.rows:
        valued.title = "Valued with the health and wealth model: if every organisation matched the top decile"
        out["outcomes_valued"] = valued
    principal = tctx.principal
    if principal.signed_in and day and principal.may_see_innovation(ind.innovation):
        out["outcomes"] = outcomes(tctx, ind.id, level, day, benchmark="top-decile", per_page=25)
    return out

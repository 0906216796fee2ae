"""The organisation page's innovation pack: its peers, its position against them, who nearby does it best
and its opportunity, each shown only to whom the access rules allow (others are named, with how to get
access)."""

from __future__ import annotations

from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.web.formatting import count_plural, denominator_plural, unit_cost_text
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.models.outcomes.registry import model_for
from uptake.web.tables.opportunity import org_opportunity
from uptake.web.tables.outcomes import org_outcomes
from uptake.web.tables.peers import nearby, peer_position, peers


def pack_section(tctx: Context, snapshot, cur, org: dict, ind: Indicator, inputs: dict, latest) -> dict:
    """The innovation pack sections the principal may see (others are named, with how to get access)."""
    principal = tctx.principal
    code = org["code"]
    pack: dict[str, Any] = {"allowed": principal.may_see_pack(code, ind.innovation),
                            "org_allowed": principal.may_see_org_pack(code)}
    if pack["org_allowed"] and snapshot.has("result_peers"):
        pack["peers"] = peers(tctx, code)
        pack["how_peers"] = how(cur, ind, ["peers"], inputs, latest)
    if snapshot.has("result_peers") and (pack["org_allowed"] or pack["allowed"]):
        pack["peer_position"] = peer_position(tctx, code)
    if pack["allowed"]:
        pack["nearby"] = nearby(tctx, code, ind.id)
        pack["how_nearby"] = how(cur, ind, ["nearby", "value"], inputs, latest)
        if snapshot.has("result_opportunity"):
            pack["opportunity"] = org_opportunity(tctx, code)
            pack["how_opportunity"] = how(cur, ind, ["opportunity", *(["outcomes"] if model_for(ind.id) else [])], {
                **inputs,
                "Counted in": f"{count_plural(ind)} (the numerator; the denominator counts {denominator_plural(ind)})",
                "Unit cost": unit_cost_text(ind)}, latest)
            # the chosen indicator's top-decile gap, in its own units, for the sentence above the table
            pack["opportunity_headline"] = next(
                (r for r in pack["opportunity"].rows if r["indicator"] == ind.id and r["benchmark"] == "top-decile"),
                None)
        if snapshot.has("result_outcomes"):
            table = org_outcomes(tctx, code)
            if table.rows:
                pack["outcomes"] = table
                model = model_for(ind.id)
                pack["how_outcomes"] = how(cur, ind, ["opportunity", "outcomes"], {
                    **inputs,
                    "Outcome model": f"{model.title}: {model.method}" if model else "none for this indicator",
                    "Share of England's": "its outcome over England's at the same level, period and benchmark"},
                    latest)
    return pack

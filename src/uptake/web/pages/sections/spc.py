"""The organisation page's SPC chart: its values with the process limits, special causes and icons."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web import charts
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.spc import spc


def spc_section(cur, snapshot, tctx: Context, org: dict, ind: Indicator, inputs: dict,
                latest: dt.date | None) -> dict[str, Any]:
    code = org["code"]
    rows = (read.spc.spc(cur, ind.id, org["level"], code) if snapshot.has("result_spc_series")
            else [])
    if not rows:
        return {}
    return {
        "spc": charts.spc(ind, org["name"], rows),
        "spc_icons": rows[-1],
        "spc_table": spc(tctx, code, ind.id),
        "how_spc": how(cur, ind, ["spc"], inputs, latest),
    }

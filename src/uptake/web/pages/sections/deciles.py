"""The organisation page's deciles chart (OpenPrescribing's): its value each period over the national deciles
of its level, drawn on the server as SVG (uptake.web.svg), with the same figures as a table and a download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from uptake.catalogue.schemas import Indicator
from uptake.results import benchmark as bm
from uptake.results import read
from uptake.web import svg
from uptake.web.pages.common import how
from uptake.web.tables.base import Context
from uptake.web.tables.profile import org_deciles, with_benchmark_series


def deciles_section(cur, tctx: Context, org: dict, ind: Indicator, inputs: dict, latest: dt.date | None,
                    rows: list[dict] | None = None, bench: bm.Benchmark | None = None) -> dict[str, Any]:
    """The chart, its table and "how was this calculated"; ``rows`` as read.profile.org_deciles gives them
    (read here when not given). A benchmark other than England (``bench``) is drawn as a line of its own,
    its value each period (uptake.results.benchmark.series), and is a column of the table."""
    if rows is None:
        rows = read.profile.org_deciles(cur, org["code"], org["level"], ind.id)
    if not rows:
        return {}
    line = None
    if bench is not None and not bench.is_england:
        rows = with_benchmark_series(tctx, ind, rows, bench)
        line = bench.label
    return {
        "deciles_chart": svg.deciles_chart(ind, org["name"], org["level"], rows, chart_id="deciles-chart",
                                           benchmark_line=line),
        "deciles_table": org_deciles(tctx, org["code"], ind.id, rows=rows, benchmark=bench),
        "how_deciles": how(cur, ind, ["deciles_chart", "deciles"], inputs, latest),
    }

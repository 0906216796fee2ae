"""The policy simulator's pages (national analysts: the national-admin role). /simulator: compose a scenario
from the levers (what, where, when, how much) and the saved scenarios with their status; POST /simulator:
check it (nothing is saved or run if anything is wrong: the NHS error summary says what), save it and queue
it as a background job; /simulator/{id}: its progress (HTMX polls /simulator/{id}/status) and, once done,
the comparison with the base on one chart and one table (time to target, chance of meeting each deadline,
lives, pounds, cost per life saved); /simulator/{id}/download/{table}.csv|.xlsx: every table."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.models.simulation import CALIBRATION_NOTE, LEVERS
from uptake.models.simulation.scenario import AMOUNT_FIELD, DEFAULT_MONTHS, DEFAULT_RUNS
from uptake.results import read
from uptake.safe_cells import safe_frame
from uptake.web.charts import NHS_BLUE, NHS_GREEN, NHS_ORANGE
from uptake.web.models.simulator_jobs import jobs_of
from uptake.web.pages.common import web_of
from uptake.web.security import CSRF_FIELD, csrf_ok

router = APIRouter(include_in_schema=False)

LEVER_LABELS = {"anchor": "Anchor partnering", "network": "Clinical network membership",
                "fund": "Transformation fund money", "ringfenced-time": "Ringfenced time to innovate",
                "incentive": "Outcome-based incentive", "mission-mode": "Mission mode (a national push)"}
TABLES = ("summary", "targets", "trajectories", "organisations")
ORANGE = NHS_ORANGE


def _analyst(request: Request) -> Any:
    principal = web_of(request).principal(request)
    if not principal.signed_in:
        raise HTTPException(401, "sign in as a national analyst to use the policy simulator")
    if not principal.is_admin:
        raise HTTPException(403, "the policy simulator is for national analysts (the national-admin role)")
    return principal


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = web_of(request).render(request, template, status_code=status_code, nav="simulator", **context)
    response.headers["cache-control"] = "private, no-store"
    return response


def _choices(request: Request) -> list[dict]:
    web = web_of(request)
    if not web.workspace.analytics_path.exists():
        return []
    with web.snapshots.cursor() as (_, cur):
        return read.simulation.simulated_indicators(cur)


def scenario_from_form(form: dict[str, str]) -> dict[str, Any]:
    """A scenario mapping from the form (checked by uptake.models.simulation when submitted)."""
    data: dict[str, Any] = {"name": form.get("name", "").strip() or "unnamed scenario",
                            "indicator": form.get("indicator", ""), "level": form.get("level", ""),
                            "runs": form.get("runs") or DEFAULT_RUNS, "months": form.get("months") or DEFAULT_MONTHS,
                            "seed": form.get("seed") or 20261207, "levers": []}
    for kind in LEVERS:
        if not form.get(f"use_{kind}"):
            continue
        lever: dict[str, Any] = {"lever": kind, "where": form.get(f"where_{kind}", "").strip() or "all",
                                 "from": form.get(f"from_{kind}", ""), "to": form.get(f"to_{kind}", "")}
        if kind in AMOUNT_FIELD:
            lever[AMOUNT_FIELD[kind][0]] = form.get(f"amount_{kind}", "")
        if kind == "anchor" and form.get("anchor_anchor", "").strip():
            lever["anchor"] = form["anchor_anchor"].strip()
        data["levers"].append(lever)
    return data


def _page(request: Request, form: dict[str, str] | None = None, errors: list[tuple[str, str]] | None = None,
          status_code: int = 200) -> Response:
    jobs = jobs_of(web_of(request))
    params = jobs.params
    levers = [{"kind": k, "label": LEVER_LABELS[k], "mechanism": params.mechanisms[k],
               "amount": AMOUNT_FIELD.get(k)} for k in LEVERS]
    return _render(request, "simulator.html", status_code=status_code, choices=_choices(request), levers=levers,
                   form=form or {}, errors=errors or [], saved=jobs.rows(), levels=[lv.value for lv in Level],
                   defaults={"runs": DEFAULT_RUNS, "months": DEFAULT_MONTHS}, fund_total=params.levers["fund"]["fund_total_pounds"])


@router.get("/simulator")
async def simulator(request: Request) -> Response:
    _analyst(request)
    return await run_in_threadpool(_page, request)


def _field_of(message: str) -> str:
    for kind in LEVERS:
        if f"({kind})" in message or f"lever {kind!r}" in message:
            return f"where_{kind}"
    for field in ("indicator", "level", "runs", "months", "seed"):
        if message.startswith(f"form: {field}") or f" {field}:" in message[:40]:
            return field
    return "name"


@router.post("/simulator")
async def simulator_run(request: Request) -> Response:
    principal = _analyst(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        raise HTTPException(403, "the form has expired: reload the page and submit it again")
    data = scenario_from_form(form)
    jobs = jobs_of(web_of(request))
    try:
        scenario_id = await run_in_threadpool(jobs.submit, data, principal.email, "form")
    except UptakeError as exc:
        message = str(exc).removeprefix("form: ")
        return await run_in_threadpool(_page, request, form, [(_field_of(str(exc)), message)], 400)
    return RedirectResponse(f"/simulator/{scenario_id}", status_code=303)


def _row(request: Request, scenario_id: int):
    row = jobs_of(web_of(request)).get(scenario_id)
    if row is None:
        raise HTTPException(404, f"no scenario {scenario_id}")
    return row


def comparison_chart(result: dict, title: str) -> dict:
    """Base and scenario: the median national value with its 95% band, and each target by its deadline."""
    frame = pd.DataFrame(result["trajectories"])
    data: list[dict] = []
    for arm, colour, fill in (("base", NHS_BLUE, "rgba(0,94,184,0.15)"), ("scenario", ORANGE, "rgba(237,139,0,0.2)")):
        part = frame[frame["arm"] == arm]
        x = part["month"].tolist()
        data += [
            {"type": "scatter", "mode": "lines", "x": x, "y": part["low95"].tolist(), "line": {"width": 0},
             "hoverinfo": "skip", "showlegend": False, "name": f"{arm} 95% band (lower)"},
            {"type": "scatter", "mode": "lines", "x": x, "y": part["high95"].tolist(), "fill": "tonexty",
             "fillcolor": fill, "line": {"width": 0}, "name": f"{arm.capitalize()}: 95% band"},
            {"type": "scatter", "mode": "lines", "x": x, "y": part["median"].tolist(),
             "line": {"color": colour, "width": 2, "dash": "dash" if arm == "base" else "solid"},
             "name": f"{arm.capitalize()}: median of the runs"},
        ]
    seen = set()
    for t in result["targets"]:
        key = (t["target_value"], t["deadline"])
        if key in seen:
            continue
        seen.add(key)
        data.append({"type": "scatter", "mode": "lines+markers", "x": [frame["month"].min(), t["deadline"]],
                     "y": [t["target_value"]] * 2, "line": {"color": NHS_GREEN, "dash": "dot"},
                     "marker": {"size": [0, 9], "symbol": "diamond"}, "name": f"Target by {t['deadline']}"})
    layout = {"title": {"text": title}, "height": 400, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
              "yaxis": {"title": {"text": "national value (volume-weighted)"}},
              "legend": {"orientation": "h", "y": -0.2}}
    return {"data": data, "layout": layout}


def comparison_rows(result: dict) -> list[dict]:
    """One row per measure: base, scenario (the comparison table)."""
    summary = result["summary"][0]
    rows = []
    targets = pd.DataFrame(result["targets"])
    for name, part in (targets.groupby("target", sort=False) if len(targets) else []):
        by = part.set_index("arm")
        months = {a: by.loc[a, "months_to_target_median"] for a in ("base", "scenario")}
        rows.append({"measure": f"{name}: months to reach {by['target_value'].iloc[0]:.3f} (median of the runs)",
                     "base": "not within the horizon" if months["base"] is None else f"{months['base']:.0f}",
                     "scenario": "not within the horizon" if months["scenario"] is None else f"{months['scenario']:.0f}"})
        rows.append({"measure": f"{name}: chance of meeting the deadline {by['deadline'].iloc[0]}",
                     "base": f"{by.loc['base', 'probability_meeting_deadline']:.0%}",
                     "scenario": f"{by.loc['scenario', 'probability_meeting_deadline']:.0%}"})

    def interval(key: str, digits: int = 0) -> str:
        mean = summary.get(f"{key}_mean")
        if mean is None:
            return "not estimated"
        return f"{mean:,.{digits}f} (95% interval {summary[f'{key}_low']:,.{digits}f} to {summary[f'{key}_high']:,.{digits}f})"

    rows += [
        {"measure": "National value at the end of the horizon (median of the runs)",
         "base": f"{summary['base_value_end']:.3f}", "scenario": f"{summary['scenario_value_end']:.3f}"},
        {"measure": "Extra units x years over the base (e.g. DOAC items in a month, for a year)", "base": "-",
         "scenario": interval("extra_unit_years")},
        {"measure": "Lives saved (deaths avoided, from the outcome model)", "base": "-", "scenario": interval("lives", 1)},
        {"measure": "Value in pounds (from the outcome model, where it has one)", "base": "-",
         "scenario": interval("value_pounds")},
        {"measure": "Cost of the levers, pounds", "base": "0", "scenario": interval("cost_pounds")},
        {"measure": "Cost per life saved, pounds", "base": "-",
         "scenario": "not estimated" if summary.get("cost_per_life_pounds") is None
         else f"{summary['cost_per_life_pounds']:,.0f}"},
    ]
    return rows


@router.get("/simulator/{scenario_id}")
async def simulator_scenario(request: Request, scenario_id: int) -> Response:
    _analyst(request)
    row = await run_in_threadpool(_row, request, scenario_id)
    context: dict[str, Any] = {"row": row, "tables": TABLES, "calibration": CALIBRATION_NOTE}
    if row.status == "done" and row.result:
        title = f"{row.indicator_id}: base and {row.name}" + (" (SYNTHETIC)" if row.result.get("synthetic") else "")
        context.update(chart=comparison_chart(row.result, title), comparison=comparison_rows(row.result))
    return _render(request, "simulator_scenario.html", **context)


@router.get("/simulator/{scenario_id}/status")
async def simulator_status(request: Request, scenario_id: int) -> Response:
    _analyst(request)
    row = await run_in_threadpool(_row, request, scenario_id)
    response = _render(request, "partials/simulator_status.html", row=row)
    if row.status in ("done", "failed"):
        response.headers["HX-Refresh"] = "true"
    return response


def table_frame(row, table: str) -> pd.DataFrame:
    if table not in TABLES:
        raise HTTPException(404, f"no table {table!r}; the tables are {', '.join(TABLES)}")
    if row.status != "done" or not row.result:
        raise HTTPException(409, f"scenario {row.id} has not finished ({row.status})")
    frame = pd.DataFrame(row.result[table])
    frame.insert(0, "scenario", row.name)
    return frame


@router.get("/simulator/{scenario_id}/download/{table}.csv")
async def simulator_csv(request: Request, scenario_id: int, table: str) -> Response:
    _analyst(request)
    frame = table_frame(await run_in_threadpool(_row, request, scenario_id), table)
    return Response(safe_frame(frame).to_csv(index=False), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="scenario-{scenario_id}-{table}.csv"'})


@router.get("/simulator/{scenario_id}/download/{table}.xlsx")
async def simulator_xlsx(request: Request, scenario_id: int, table: str) -> Response:
    _analyst(request)
    frame = table_frame(await run_in_threadpool(_row, request, scenario_id), table)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe_frame(frame).to_excel(writer, sheet_name=table, index=False)
    return Response(buffer.getvalue(),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="scenario-{scenario_id}-{table}.xlsx"'})

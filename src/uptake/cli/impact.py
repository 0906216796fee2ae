"""``uptake impact``: the health and wealth model (IPPR, The innovation lottery, 2020, tables 2.1-2.3) beside
the report, its totals with Monte Carlo intervals, the report's headline sentences against its tables, and
"if every organisation matched the best" from the workspace's measured gaps (result_impact, written by
``uptake compute``). ``--csv FILE`` writes every figure shown to a CSV file as well.

A --draws outside 1,000-1,000,000 or an unknown --table is a usage error (exit 2); a bad parameter file or a
missing store a user error (exit 1).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from uptake.cli._common import WorkspaceOption, console, usage_checks
from uptake.errors import UptakeError
from uptake.mission.results import open_store, reading
from uptake.models import wealth
from uptake.results import read
from uptake.workspace import Workspace

TABLE_CHOICES = ("2.1", "2.2", "2.3", "figure-2.1", "all")


def _fmt(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:,.{max(decimals, 0)}f}"


def impact(
    workspace: WorkspaceOption = None,
    table: Annotated[str, typer.Option("--table", help="Which of the report's tables: 2.1, 2.2, 2.3, figure-2.1 "
                                                       "or all (default).")] = "all",
    draws: Annotated[int, typer.Option("--draws", min=1_000, max=1_000_000,
                                       help="Monte Carlo draws (default 100,000).")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (the same seed gives the same figures).")] = 20200701,
    measured: Annotated[bool, typer.Option("--measured/--no-measured",
                                           help="Also show the workspace's measured gaps valued the same way "
                                                "(needs `uptake compute`; default: when there are any).")] = True,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Also write every figure to this CSV file.")] = None,
) -> None:
    """The health and wealth model: the report's figures beside the model's, the totals with 95% intervals,
    and what matching the best organisation would be worth from Uptake's measured gaps."""
    with usage_checks():
        if table not in TABLE_CHOICES:
            raise UptakeError(f"--table must be one of {', '.join(TABLE_CHOICES)}, not {table!r}")
    wanted = table.replace("figure-", "figure ")
    summaries = wealth.summaries(wealth.monte_carlo(draws, seed))
    out_rows: list[dict] = []
    for key in ("2.1", "2.2", "2.3", "figure 2.1"):
        if wanted not in ("all", key):
            continue
        t = Table(title=f"IPPR {'table ' if not key.startswith('figure') else ''}{key}: the report beside the model")
        for heading in ("row", "condition", "report", "model", "from printed cells", f"mean of {draws:,} (95%)",
                        "reproduced?"):
            t.add_column(heading, justify="right" if heading not in ("row", "condition", "reproduced?") else "left")
        for c in wealth.report_cells():
            if c.table != key:
                continue
            s = summaries.get(f"{c.figure}.{c.condition}")
            mc = "-" if s is None else f"{_fmt(s.mean, c.decimals)} ({_fmt(s.low, c.decimals)} to {_fmt(s.high, c.decimals)})"
            t.add_row(c.row, wealth.CONDITION_LABELS.get(c.condition, "Total"), _fmt(c.printed, c.decimals),
                      _fmt(c.model, c.decimals + 1), _fmt(c.step, c.decimals + 1), mc, c.status)
            out_rows.append(dict(section=f"IPPR {key}", row=c.row, condition=c.condition, report=c.printed,
                                 model=c.model, from_printed_cells=c.step, mean=s.mean if s else None,
                                 low=s.low if s else None, high=s.high if s else None, status=c.status, note=c.note))
        console.print(t)
    totals = Table(title=f"Totals over CVD, cancer and dementia ({draws:,} draws, seed {seed})")
    for heading in ("figure", "at the stated inputs", "mean", "95% interval"):
        totals.add_column(heading, justify="left" if heading == "figure" else "right")
    central = wealth.evaluate_one(wealth.central_inputs())
    for key in wealth.TOTALS:
        s = summaries[f"{key}.total"]
        totals.add_row(wealth.FIGURES[key], f"{central[f'{key}.total']:,.1f}", f"{s.mean:,.1f}",
                       f"{s.low:,.1f} to {s.high:,.1f}")
        out_rows.append(dict(section="totals", row=wealth.FIGURES[key], condition="total",
                             model=central[f"{key}.total"], mean=s.mean, low=s.low, high=s.high))
    console.print(totals)
    for c in wealth.claims():
        console.print(f"[bold]{c.where}[/bold]: \"{c.text}\" - {'holds' if c.holds else 'does not hold'}. {c.note}",
                      highlight=False)
    if measured:
        _measured(workspace, out_rows)
    if csv_path is not None:
        keys = ["section", "row", "condition", "report", "model", "from_printed_cells", "mean", "low", "high",
                "status", "note", "unit", "synthetic"]
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=keys, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(out_rows)
        console.print(f"Wrote {len(out_rows)} rows to {csv_path}.")


def _measured(workspace: Path | None, out_rows: list[dict]) -> None:
    ws = Workspace.resolve(workspace)
    if not ws.analytics_path.exists():
        console.print("No measured gaps: this workspace has no analytics store (run `uptake demo` or "
                      "`uptake compute`).")
        return
    with reading(open_store(ws)) as con:
        rows = read.outcomes.impact(con) if "result_impact" in read.tables(con) else []
    if not rows:
        console.print("No measured gaps valued yet: run `uptake compute`.")
        return
    t = Table(title="If every organisation matched the best (top decile): Uptake's measured gaps")
    for heading in ("condition", "indicator", "gap", "measure", "mean", "95% interval", "data"):
        t.add_column(heading, justify="right" if heading in ("mean", "95% interval") else "left")
    for r in rows:
        money = r["measure"].endswith("pounds")
        fmt = (lambda v: f"£{v:,.0f}") if money else (lambda v: f"{v:,.1f}")
        t.add_row(wealth.CONDITION_LABELS.get(r["condition"], r["condition"]), r["indicator"],
                  f"{r['extra_units']:,.0f} {r['unit']}", r["label"],
                  "not modelled" if r["mean"] is None else fmt(r["mean"]),
                  "-" if r["low"] is None else f"{fmt(r['low'])} to {fmt(r['high'])}",
                  "SYNTHETIC" if r["synthetic"] else "")
        out_rows.append(dict(section="measured", row=f"{r['indicator']}: {r['label']}", condition=r["condition"],
                             mean=r["mean"], low=r["low"], high=r["high"], unit=r["unit"],
                             synthetic=r["synthetic"], note=r["note"]))
    console.print(t)


def register(app: typer.Typer) -> None:
    """Add ``uptake impact``."""
    app.command("impact")(impact)

"""``uptake orgs``: list and show the bundled NHS England organisations.

    uptake orgs list --level icb [--format table|csv|json] [--as-of 2024-04-01]
    uptake orgs show QMJ [--as-of DATE] [--first 5]

Bad input prints what was wrong and what to do: an unknown level or a date not written YYYY-MM-DD is a
usage error (exit code 2), an unknown code a user error (exit code 1).
"""

from __future__ import annotations

import json
import math
from enum import StrEnum

import pandas as pd
import typer
from rich.table import Table

from uptake.cli._common import console, option_date, sub_app, usage_error
from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.reference.hierarchy import LEVEL_DEPTH, PARENT_LEVELS
from uptake.reference.loader import ORG_COLUMNS, Reference, UnknownOrganisation, load_reference

orgs_app = sub_app(
    help="Browse the bundled NHS England organisation hierarchy (regions, ICBs, sub-ICBs, PCNs, practices, "
    "trusts, stroke units, ISDNs).",
    add_completion=False,
)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


# What imd_score and population mean at each level (see docs/reference-data.md).
IMD_NOTE = {
    "icb": "IMD 2025 average score",
    "practice": "IMD 2019 score (OHID, practice population weighted)",
}
POPULATION_NOTE = {
    "practice": "registered list size, QOF 2023-24",
    "sub-icb": "registered patients, NHSBSA, September 2022",
    "icb": "registered patients, NHSBSA, September 2022, sum of sub-ICBs",
    "region": "registered patients, NHSBSA, September 2022, sum of sub-ICBs",
    "england": "registered patients, NHSBSA, September 2022, sum of sub-ICBs",
}
COORD_NOTE = {
    "region": "label point inside the area",
    "icb": "label point inside the boundary",
    "sub-icb": "ONS label point",
    "trust": "trust location",
    "stroke-unit": "hospital location",
}


def _reference(as_of: str | None, current: bool = True) -> Reference:
    day = option_date(as_of, "--as-of", example="2024-04-01")
    ref = load_reference()
    if day is None:
        return ref.current() if current else ref
    return ref.as_of(day)


def _parse_level(text: str) -> Level:
    try:
        return Level.parse(text)
    except ValueError as exc:
        raise usage_error(f"--level: {exc}") from None


def _parent_column(level: Level) -> str:
    return f"{level.value.replace('-', '_')}_code"


def _with_parents(ref: Reference, orgs: pd.DataFrame, level: Level) -> pd.DataFrame:
    out = orgs.copy()
    for parent in PARENT_LEVELS[level]:
        if parent is Level.ENGLAND:
            continue
        out[_parent_column(parent)] = out["code"].map(ref.rollup_map(level, parent))
    return out


def _plain(value) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _text(value) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@orgs_app.command("list")
def list_orgs(
    level: str = typer.Option(
        ..., "--level", "-l", help="Organisation level: " + ", ".join(lv.value for lv in Level)
    ),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="Output format."),
    as_of: str | None = typer.Option(None, "--as-of", help="Hierarchy valid on this date (YYYY-MM-DD); "
                                     "default: the current one."),
) -> None:
    """List the organisations of one level, with their parent codes."""
    lv = _parse_level(level)
    ref = _reference(as_of)
    orgs = _with_parents(ref, ref.of_level(lv), lv)
    if orgs.empty:
        first = load_reference().organisations
        first = first.loc[first["level"] == lv.value, "valid_from"].min()
        typer.echo(f"note: no {lv.value} organisations on {ref.on or 'the current date'}"
                   + (f"; the bundled {lv.value} records start on {first}" if isinstance(first, str) else ""),
                   err=True)
    if output is OutputFormat.CSV:
        typer.echo(orgs.to_csv(index=False, lineterminator="\n"), nl=False)
        return
    if output is OutputFormat.JSON:
        records = [{k: _plain(v) for k, v in row.items()} for row in orgs.to_dict("records")]
        typer.echo(json.dumps(records, indent=1, ensure_ascii=False))
        return
    # table: the columns that say something at this level
    parent_cols = [c for c in orgs.columns if c not in ORG_COLUMNS]
    optional = ("ons_code", "postcode", "trust_type", "population", "imd_quintile")
    shown = ["code", "name"] + [c for c in optional if orgs[c].notna().any()] + parent_cols
    when = f"on {ref.on}" if ref.on else "current"
    table = Table(title=f"{len(orgs):,} {lv.value} organisations ({when})", show_lines=False)
    for column in shown:
        table.add_column(column, overflow="fold", justify="right" if column == "population" else "left")
    for row in orgs[shown].itertuples(index=False):
        table.add_row(*(_text(v) for v in row))
    console.print(table)


@orgs_app.command("show")
def show(
    code: str = typer.Argument(..., help="An organisation code, e.g. QMJ (ICB), 00L (sub-ICB), RRU (trust)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Show it as it was on this date (YYYY-MM-DD)."),
    first: int = typer.Option(5, "--first", min=0, help="How many children to name per level."),
) -> None:
    """Show one organisation: its codes, location, deprivation, population, parents and children."""
    ref = _reference(as_of, current=False)  # without a date, closed organisations can be shown too
    try:
        row = ref.get(code)
    except UnknownOrganisation:
        full = load_reference()
        hint = ""
        if as_of is not None:
            try:
                versions = full._versions(code)
                spans = ", ".join(f"{vf} to {vt if isinstance(vt, str) else 'now'}"
                                  for vf, vt in zip(versions["valid_from"].tolist(),
                                                    versions["valid_to"].tolist(), strict=True))
                hint = f" ({code} exists {spans}: try another --as-of)"
            except UnknownOrganisation:
                pass
        if hint:
            raise UptakeError(f"{code!r} is not valid on {ref.on}{hint}") from None
        raise
    level = row["level"]
    console.print(f"[bold]{row['code']}[/bold]  {row['name']}")
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim")
    details.add_column()
    details.add_row("level", level)
    details.add_row("ODS code" if level not in ("stroke-unit", "isdn", "england") else "code", row["code"])
    if _plain(row["ons_code"]) is not None:
        details.add_row("ONS code", row["ons_code"])
    if _plain(row["postcode"]) is not None:
        details.add_row("postcode", row["postcode"])
    if _plain(row["lat"]) is not None:
        note = COORD_NOTE.get(level, "")
        where = f"{row['lat']:.5f}, {row['lon']:.5f} (lat, lon)"
        details.add_row("coordinates", where + (f" - {note}" if note else ""))
    if _plain(row["imd_score"]) is not None:
        quintile = _plain(row["imd_quintile"])
        details.add_row("deprivation", f"{IMD_NOTE.get(level, 'IMD score')} {row['imd_score']:.1f}"
                        + (f", quintile {quintile} of 5 (1 = most deprived)" if quintile is not None else ""))
    if _plain(row["population"]) is not None:
        note = POPULATION_NOTE.get(level)
        details.add_row("population", f"{int(row['population']):,}" + (f" ({note})" if note else ""))
    if _plain(row["trust_type"]) is not None:
        details.add_row("trust type", row["trust_type"])
    valid_to = _plain(row["valid_to"])
    until = f" to {valid_to} (exclusive)" if valid_to else ""
    details.add_row("valid", f"from {row['valid_from']}{until}")
    console.print(details)

    parents = ref.parents(row["code"])
    console.print("\n[bold]Parents[/bold]" if len(parents) else "\n[bold]Parents[/bold]: none")
    if len(parents):
        ptable = Table.grid(padding=(0, 2))
        for _ in range(3):
            ptable.add_column()
        for p in parents.itertuples(index=False):
            ptable.add_row(p.level, p.code, p.name)
        console.print(ptable)

    children = ref.children(row["code"])
    if children.empty:
        console.print("\n[bold]Children[/bold]: none")
        return
    console.print("\n[bold]Children[/bold]")
    for child_level, group in sorted(children.groupby("level"), key=lambda kv: LEVEL_DEPTH[Level(kv[0])]):
        heads = zip(group["code"].tolist()[:first], group["name"].tolist()[:first], strict=True)
        named = ", ".join(f"{c} {n}" for c, n in heads)
        more = f", ... and {len(group) - first:,} more" if len(group) > first else ""
        console.print(f"  {child_level} ({len(group):,}): {named}{more}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``uptake orgs``."""
    app.add_typer(orgs_app, name="orgs", help="The NHS organisation hierarchy (regions, ICBs, ... practices).")

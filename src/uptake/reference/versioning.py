"""Apply dated organisation changes (mergers, new codes, renames) to a reference, keeping history.

A changes file is a CSV with a header and one change per row::

    date,action,code,level,name,ons_code,parent_code,successor_code
    2026-04-01,open,QZZ,icb,NHS Example Merged ICB,E54000999,Y56,
    2026-04-01,merge,QMJ,,,,,QZZ
    2026-04-01,merge,QRV,,,,,QZZ

Columns ``date``, ``action`` and ``code`` are required; the others are used by some actions, and the
optional columns ``postcode, lat, lon, imd_score, imd_quintile, population, trust_type`` may be added.

actions (applied per date, in this order whatever the row order):

``open``    a new organisation (``level``, ``name`` required; ``parent_code`` = its direct parent, e.g. the
            region of a new ICB; a second direct parent, e.g. a new sub-ICB's ISDN, with a ``move`` row)
``update``  new values for non-empty fields (name, ons_code, ...): closes the old version, opens a new one
``move``    set the direct parent at ``parent_code``'s level (e.g. a sub-ICB to another ICB)
``merge``   every organisation directly under ``code`` moves under ``successor_code``; ``code`` closes
``close``   the organisation closes; anything still under it is an error (move it or use merge)

Nothing is deleted: rows that stop holding get ``valid_to = date`` and new rows get ``valid_from =
date``; the flat links of every descendant are recomputed (a practice under a merged ICB's sub-ICB gets a
new ICB link). ``Reference.as_of(date)`` then gives the hierarchy on either side of the change. Bad input
raises :class:`uptake.errors.UptakeError` naming the file, row, column and reason, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.reference.hierarchy import ANCHOR, DIRECT_PAIRS, check_links, direct_levels, flatten_links
from uptake.reference.loader import ORG_COLUMNS, ORG_DTYPES, REL_COLUMNS, Reference

REQUIRED_COLUMNS = ("date", "action", "code")
KNOWN_COLUMNS = (
    "date", "action", "code", "level", "name", "ons_code", "parent_code", "successor_code",
    "postcode", "lat", "lon", "imd_score", "imd_quintile", "population", "trust_type",
)
ACTIONS = ("open", "update", "move", "merge", "close")
ATTRIBUTE_COLUMNS = ("name", "ons_code", "postcode", "lat", "lon", "imd_score", "imd_quintile", "population",
                     "trust_type")


def read_changes(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Read and check a changes table; returns it (with a ``row`` column: the CSV line) and its name."""
    if isinstance(source, pd.DataFrame):
        frame, name = source.astype(str).fillna(""), "changes"
        frame = frame.replace({"nan": "", "<NA>": "", "None": ""})
        frame["row"] = np.arange(len(frame)) + 2
    else:
        name = str(source)
        try:
            frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        except FileNotFoundError:
            raise UptakeError(f"{name}: no such changes file") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise UptakeError(f"{name}: not a readable CSV ({exc})") from None
        frame["row"] = np.arange(len(frame)) + 2  # line 1 is the header
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UptakeError(f"{name}: missing column(s) {missing}; the header needs at least "
                          f"{', '.join(REQUIRED_COLUMNS)}")
    unknown = [c for c in frame.columns if c not in KNOWN_COLUMNS and c != "row"]
    if unknown:
        raise UptakeError(f"{name}: unknown column(s) {unknown}; allowed: {', '.join(KNOWN_COLUMNS)}")
    for column in KNOWN_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
        frame[column] = frame[column].astype(str).str.strip()
    frame["action"] = frame["action"].str.lower()
    frame["code"] = frame["code"].str.upper()
    for column in ("parent_code", "successor_code"):
        frame[column] = frame[column].str.upper()
    for r in frame.itertuples(index=False):
        where = f"{name}: row {r.row}"
        try:
            dt.date.fromisoformat(r.date)
        except ValueError:
            raise UptakeError(f"{where}, column date: {r.date!r} is not a date; write YYYY-MM-DD") from None
        if r.action not in ACTIONS:
            raise UptakeError(f"{where}, column action: {r.action!r} is not one of {', '.join(ACTIONS)}")
        if not r.code:
            raise UptakeError(f"{where}, column code: empty")
        if r.action == "open":
            for column in ("level", "name", "parent_code"):
                if not getattr(r, column):
                    raise UptakeError(f"{where}, column {column}: needed to open {r.code}")
            try:
                level = Level.parse(r.level)
            except ValueError as exc:
                raise UptakeError(f"{where}, column level: {exc}") from None
            if level is Level.ENGLAND:
                raise UptakeError(f"{where}, column level: England cannot be opened")
        if r.action == "move" and not r.parent_code:
            raise UptakeError(f"{where}, column parent_code: needed to move {r.code}")
        if r.action == "merge" and not r.successor_code:
            raise UptakeError(f"{where}, column successor_code: needed to merge {r.code}")
    return frame, name


def apply_changes(ref: Reference, changes: str | Path | pd.DataFrame) -> Reference:
    """A new :class:`Reference` with the dated ``changes`` applied (``ref`` is not modified)."""
    frame, name = read_changes(changes)
    orgs = ref.organisations.copy()
    rels = ref.relationships.copy()
    for date, batch in frame.groupby("date", sort=True):
        orgs, rels = _apply_day(orgs, rels, dt.date.fromisoformat(date).isoformat(), batch, name)
    return Reference(orgs.reset_index(drop=True), rels.reset_index(drop=True))


def _valid(frame: pd.DataFrame, day: str) -> pd.Series:
    return (frame["valid_from"] <= day) & (frame["valid_to"].isna() | (frame["valid_to"] > day))


def _apply_day(orgs: pd.DataFrame, rels: pd.DataFrame, day: str, batch: pd.DataFrame, name: str):
    later = max(orgs["valid_from"].max(), rels["valid_from"].max(),
                orgs["valid_to"].dropna().max() if orgs["valid_to"].notna().any() else "",
                rels["valid_to"].dropna().max() if rels["valid_to"].notna().any() else "")
    if later > day:
        raise UptakeError(f"{name}: changes dated {day} come before rows already dated {later}; "
                          "apply changes in date order")
    org_now = _valid(orgs, day)
    rel_now = _valid(rels, day)
    level_of: dict[str, str] = dict(
        zip(orgs.loc[org_now, "code"].tolist(), orgs.loc[org_now, "level"].tolist(), strict=True)
    )
    links_now = rels[rel_now]
    direct: dict[tuple[str, str], str] = {}
    columns = [links_now[c].tolist() for c in ("child_code", "child_level", "parent_code", "parent_level")]
    for child, clevel, parent, plevel in zip(*columns, strict=True):
        if (clevel, plevel) in DIRECT_PAIRS:
            direct[(child, plevel)] = parent

    opened: list[dict] = []
    updated: dict[str, dict] = {}
    closed: set[str] = set()
    order = {action: i for i, action in enumerate(ACTIONS)}
    batch = batch.sort_values("action", key=lambda s: s.map(order), kind="stable")

    def fail(r, column: str, reason: str):
        raise UptakeError(f"{name}: row {r.row}, column {column}: {reason}")

    def need(r, code: str, column: str) -> str:
        if code not in level_of or code in closed:
            fail(r, column, f"{code} is not an organisation valid on {day}")
        return level_of[code]

    def set_parent(r, child: str, parent: str, column: str) -> None:
        clevel = level_of[child]
        plevel = need(r, parent, column)
        if Level(plevel) not in direct_levels(clevel):
            allowed = ", ".join(lv.value for lv in direct_levels(clevel))
            fail(r, column, f"{parent} is a {plevel}; a {clevel} is placed directly under: {allowed}")
        direct[(child, plevel)] = parent

    for r in batch.itertuples(index=False):
        if r.action == "open":
            if r.code in level_of and r.code not in closed:
                fail(r, "code", f"{r.code} already exists on {day}; use update or move")
            level = Level.parse(r.level).value
            level_of[r.code] = level
            row = {c: None for c in ORG_COLUMNS}
            row.update(code=r.code, level=level, valid_from=day)
            row.update({c: getattr(r, c) or None for c in ATTRIBUTE_COLUMNS})
            opened.append(row)
            set_parent(r, r.code, r.parent_code, "parent_code")
        elif r.action == "update":
            need(r, r.code, "code")
            values = {c: getattr(r, c) for c in ATTRIBUTE_COLUMNS if getattr(r, c)}
            if not values:
                fail(r, "code", f"update of {r.code} gives no new values")
            new_row = next((row for row in opened if row["code"] == r.code), None)
            if new_row is not None:
                new_row.update(values)
            else:
                updated.setdefault(r.code, {}).update(values)
        elif r.action == "move":
            need(r, r.code, "code")
            set_parent(r, r.code, r.parent_code, "parent_code")
        elif r.action == "merge":
            level = need(r, r.code, "code")
            if need(r, r.successor_code, "successor_code") != level:
                fail(r, "successor_code", f"{r.successor_code} is a {level_of[r.successor_code]}, "
                                          f"{r.code} a {level}: merge within one level")
            for key, parent in list(direct.items()):
                if parent == r.code:
                    direct[key] = r.successor_code
            closed.add(r.code)
        elif r.action == "close":
            need(r, r.code, "code")
            closed.add(r.code)

    for key in [k for k in direct if k[0] in closed]:
        del direct[key]
    orphans = sorted(child for (child, _lv), parent in direct.items() if parent in closed)
    if orphans:
        raise UptakeError(f"{name}: on {day} these still sit under a closed organisation: {orphans[:10]}"
                          f"{' ...' if len(orphans) > 10 else ''}; add move rows or use merge")
    alive = {code: level for code, level in level_of.items() if code not in closed}
    no_anchor = sorted(code for code, level in alive.items()
                       if Level(level) in ANCHOR and (code, ANCHOR[Level(level)].value) not in direct)
    if no_anchor:
        lacking = ", ".join(sorted({ANCHOR[Level(alive[c])].value for c in no_anchor}))
        raise UptakeError(f"{name}: on {day} these have no {lacking} parent: {no_anchor[:10]}")

    direct_frame = pd.DataFrame([(c, p) for (c, _lv), p in direct.items()],
                                columns=["child_code", "parent_code"])
    after = flatten_links(direct_frame, pd.Series(alive))
    key = ["child_code", "parent_level", "parent_code"]
    compare = links_now[key].merge(after[key], on=key, how="outer", indicator=True)
    gone = compare[compare["_merge"] == "left_only"][key].assign(gone=True)
    fresh = compare[compare["_merge"] == "right_only"][key]

    # Close links that stop holding.
    rels = rels.copy()
    flagged = rels[key].merge(gone, on=key, how="left")["gone"].fillna(False).to_numpy(dtype=bool)
    rels.loc[rel_now.to_numpy() & flagged, "valid_to"] = day
    new_links = after.merge(fresh, on=key)
    new_links = new_links.assign(valid_from=day, valid_to=np.nan)[list(REL_COLUMNS)]

    # Organisations: close, re-version updated ones, add opened ones.
    orgs = orgs.copy()
    stop = org_now & orgs["code"].isin(closed | set(updated))
    versions = []
    for code, values in updated.items():
        current = orgs[org_now & (orgs["code"] == code)].iloc[0].to_dict()
        current.update(values, valid_from=day, valid_to=None)
        versions.append(current)
    orgs.loc[stop, "valid_to"] = day
    if opened or versions:
        added = pd.DataFrame(opened + versions, columns=list(ORG_COLUMNS))
        for column, dtype in ORG_DTYPES.items():
            if dtype == "str":
                added[column] = added[column].astype("str").where(added[column].notna())
            else:
                values = pd.to_numeric(added[column], errors="coerce")
                bad = added[column].notna() & values.isna()
                if bad.any():
                    raise UptakeError(f"{name}: on {day}, column {column}: not a number for "
                                      f"{added.loc[bad, 'code'].tolist()}")
                added[column] = values.astype(dtype)
        orgs = pd.concat([orgs, added.astype(orgs.dtypes.to_dict())], ignore_index=True)
    rels = pd.concat([rels, new_links.astype(rels.dtypes.to_dict())], ignore_index=True)
    # Rows that held for no day at all (opened and closed on the same date) are dropped.
    orgs = orgs[orgs["valid_to"].isna() | (orgs["valid_to"] > orgs["valid_from"])]
    rels = rels[rels["valid_to"].isna() | (rels["valid_to"] > rels["valid_from"])]

    on_day = Reference(orgs, rels).as_of(day)
    problems = check_links(on_day.organisations, on_day.relationships)
    if problems:
        listed = "\n  ".join(problems[:20])
        raise UptakeError(f"{name}: the hierarchy on {day} would be incomplete:\n  {listed}")
    return orgs, rels

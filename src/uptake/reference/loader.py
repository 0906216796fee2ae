"""Load the bundled organisation hierarchy and boundaries (package data in ``uptake/reference/data``).

Dates are ISO strings (``YYYY-MM-DD``). A row is valid on a date ``d`` when
``valid_from <= d`` and (``valid_to`` is empty or ``d < valid_to``): ``valid_to`` is the first day a row
no longer holds, so a merger on 2026-04-01 closes the old rows and opens the new ones on that same date.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.reference.hierarchy import LEVEL_DEPTH, PARENT_LEVELS

ORG_COLUMNS: tuple[str, ...] = (
    "code",
    "level",
    "name",
    "ons_code",
    "postcode",
    "lat",
    "lon",
    "imd_score",
    "imd_quintile",
    "population",
    "trust_type",
    "valid_from",
    "valid_to",
)
REL_COLUMNS: tuple[str, ...] = (
    "child_code",
    "child_level",
    "parent_code",
    "parent_level",
    "valid_from",
    "valid_to",
)

ORG_DTYPES: dict[str, str] = {
    "code": "str",
    "level": "str",
    "name": "str",
    "ons_code": "str",
    "postcode": "str",
    "lat": "float64",
    "lon": "float64",
    "imd_score": "float64",
    "imd_quintile": "Int64",
    "population": "Int64",
    "trust_type": "str",
    "valid_from": "str",
    "valid_to": "str",
}
REL_DTYPES: dict[str, str] = {name: "str" for name in REL_COLUMNS}

TRUST_TYPES: tuple[str, ...] = ("acute", "mental-health", "community", "ambulance", "other")

BOUNDARY_FILES: dict[Level, str] = {Level.ICB: "icb.geojson", Level.SUB_ICB: "sub_icb.geojson"}


class UnknownOrganisation(UptakeError, KeyError):
    """An organisation code that is not in the reference (on the date asked)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def data_dir() -> Path:
    """The directory holding the bundled reference files."""
    return Path(str(resources.files("uptake.reference") / "data"))


def to_iso_date(value: str | dt.date | dt.datetime | pd.Timestamp) -> str:
    """Normalise a date (ISO text, date, datetime or Timestamp) to ``YYYY-MM-DD``."""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"not a date: {value!r}; write it as YYYY-MM-DD, e.g. 2024-04-01") from None


def _valid_mask(frame: pd.DataFrame, date: str) -> pd.Series:
    return (frame["valid_from"] <= date) & (frame["valid_to"].isna() | (frame["valid_to"] > date))


def _normalise_code(code: str) -> str:
    return str(code).strip().upper().replace(" ", "")


@dataclass(frozen=True, eq=False)
class Reference:
    """The hierarchy: ``organisations`` (ORG_COLUMNS) and ``relationships`` (REL_COLUMNS).

    Treat both frames as read-only (the loaded reference is shared and cached); copy before changing.
    """

    organisations: pd.DataFrame
    relationships: pd.DataFrame
    #: The date this reference was cut to by :meth:`as_of` (None: the full history). Methods called
    #: without a date use it; on a full reference they use the current rows (``valid_to`` empty).
    on: str | None = None

    # ----- dates -----
    def as_of(self, date: str | dt.date) -> "Reference":
        """The organisations and links valid on ``date``."""
        day = to_iso_date(date)
        orgs = self.organisations[_valid_mask(self.organisations, day)].reset_index(drop=True)
        rels = self.relationships[_valid_mask(self.relationships, day)].reset_index(drop=True)
        return Reference(orgs, rels, on=day)

    def current(self) -> "Reference":
        """The rows still open (``valid_to`` empty); on a reference cut by :meth:`as_of`, itself."""
        if self.on is not None:
            return self
        orgs = self.organisations[self.organisations["valid_to"].isna()].reset_index(drop=True)
        rels = self.relationships[self.relationships["valid_to"].isna()].reset_index(drop=True)
        return Reference(orgs, rels)

    def _date(self, date: str | dt.date | None) -> str | None:
        return to_iso_date(date) if date is not None else self.on

    # ----- look-ups -----
    def of_level(self, level: Level | str, date: str | dt.date | None = None) -> pd.DataFrame:
        """Organisations of one level (current ones, or those valid on ``date``), sorted by code."""
        lv = Level.parse(str(level))
        day = self._date(date)
        ref = self.current() if day is None else self.as_of(day)
        orgs = ref.organisations
        return orgs[orgs["level"] == lv.value].sort_values("code", ignore_index=True)

    def get(self, code: str, date: str | dt.date | None = None) -> pd.Series:
        """The organisation row for ``code``: the version valid on ``date``, else the latest version.

        Codes are matched ignoring case and spaces (so ``rm7 0ag`` finds stroke unit ``RM70AG``).
        Raises :class:`UnknownOrganisation` with a message saying what to do.
        """
        rows = self._versions(code)
        day = self._date(date)
        if day is not None:
            valid = rows[_valid_mask(rows, day)]
            if valid.empty:
                spans = ", ".join(
                    f"{vf} to {vt if isinstance(vt, str) else 'now'}"
                    for vf, vt in zip(rows["valid_from"], rows["valid_to"], strict=True)
                )
                raise UnknownOrganisation(
                    f"organisation {rows['code'].iloc[0]} is not valid on {day} (valid {spans}); "
                    "choose a date inside that range or leave the date out"
                )
            return valid.iloc[-1]
        return rows.iloc[-1]

    def _versions(self, code: str) -> pd.DataFrame:
        orgs = self.organisations
        rows = orgs[orgs["code"] == code]
        if rows.empty:
            rows = orgs[orgs["code"] == _normalise_code(code)]
        if rows.empty:
            raise UnknownOrganisation(
                f"unknown organisation code {code!r}. Codes are ODS codes (region Y56, ICB QMJ, sub-ICB 00L, "
                "PCN U12345, practice A81001, trust RRU), stroke-unit postcodes (RM70AG) or ISDN-... codes; "
                "list them with `uptake orgs list --level LEVEL`"
            )
        return rows.sort_values("valid_from")

    def _link_date(self, code: str, date: str | dt.date | None) -> tuple[pd.Series, str | None]:
        """The organisation row and the date its links are read on (None: the current links)."""
        day = self._date(date)
        row = self.get(code, day)
        if day is not None:
            return row, day
        if isinstance(row["valid_to"], str):  # closed: its links on its last day
            last = dt.date.fromisoformat(row["valid_to"]) - dt.timedelta(days=1)
            return row, last.isoformat()
        return row, None

    def _links_on(self, date: str | None) -> pd.DataFrame:
        rels = self.relationships
        if date is None:
            return rels[rels["valid_to"].isna()]
        return rels[_valid_mask(rels, date)]

    def _orgs_on(self, date: str | None) -> pd.DataFrame:
        orgs = self.organisations
        if date is None:
            return orgs[orgs["valid_to"].isna()]
        return orgs[_valid_mask(orgs, date)]

    def parents(self, code: str, date: str | dt.date | None = None) -> pd.DataFrame:
        """The organisation rows of all parents of ``code`` (nearest level first)."""
        row, day = self._link_date(code, date)
        links = self._links_on(day)
        mine = links[links["child_code"] == row["code"]]
        orgs = self._orgs_on(day)
        out = orgs[orgs["code"].isin(mine["parent_code"])]
        order = {lv.value: i for i, lv in enumerate(PARENT_LEVELS[Level(row["level"])])}
        return out.sort_values("level", key=lambda s: s.map(order), ignore_index=True)

    def children(
        self, code: str, level: Level | str | None = None, date: str | dt.date | None = None
    ) -> pd.DataFrame:
        """The organisation rows linked under ``code`` at any depth (links are flat), optionally of one
        level; sorted by level (top first) then code."""
        row, day = self._link_date(code, date)
        links = self._links_on(day)
        mine = links[links["parent_code"] == row["code"]]
        if level is not None:
            mine = mine[mine["child_level"] == Level.parse(str(level)).value]
        orgs = self._orgs_on(day)
        out = orgs[orgs["code"].isin(mine["child_code"])]
        depth = {lv.value: d for lv, d in LEVEL_DEPTH.items()}
        return out.sort_values(["level", "code"], key=lambda s: s.map(depth) if s.name == "level" else s,
                               ignore_index=True)

    def rollup_map(
        self, child_level: Level | str, parent_level: Level | str, date: str | dt.date | None = None
    ) -> pd.Series:
        """A Series mapping each child code of ``child_level`` to its parent code at ``parent_level``
        (current links, or those valid on ``date``). Use it to roll data up with one ``map``/join."""
        child = Level.parse(str(child_level)).value
        parent = Level.parse(str(parent_level)).value
        links = self._links_on(self._date(date))
        sel = links[(links["child_level"] == child) & (links["parent_level"] == parent)]
        return pd.Series(sel["parent_code"].to_numpy(), index=pd.Index(sel["child_code"], name=child),
                         name=parent).sort_index()


def read_reference(directory: Path | str) -> Reference:
    """Read ``organisations.csv`` and ``relationships.csv`` from ``directory`` (no caching)."""
    directory = Path(directory)
    orgs = pd.read_csv(
        directory / "organisations.csv", dtype=ORG_DTYPES, keep_default_na=False, na_values=[""]
    )
    rels = pd.read_csv(
        directory / "relationships.csv", dtype=REL_DTYPES, keep_default_na=False, na_values=[""]
    )
    if tuple(orgs.columns) != ORG_COLUMNS:
        raise UptakeError(f"{directory / 'organisations.csv'}: columns {list(orgs.columns)}, "
                          f"expected {list(ORG_COLUMNS)}; rebuild with scripts/build_reference.py")
    if tuple(rels.columns) != REL_COLUMNS:
        raise UptakeError(f"{directory / 'relationships.csv'}: columns {list(rels.columns)}, "
                          f"expected {list(REL_COLUMNS)}; rebuild with scripts/build_reference.py")
    return Reference(orgs, rels)


@lru_cache(maxsize=1)
def load_reference() -> Reference:
    """The bundled reference (read once per process)."""
    return read_reference(data_dir())


@lru_cache(maxsize=4)
def _boundary_text(name: str) -> str:
    return (resources.files("uptake.reference") / "data" / name).read_text(encoding="utf-8")


def load_boundaries(level: Level | str) -> dict[str, Any]:
    """The bundled boundaries of ``icb`` or ``sub-icb`` as a GeoJSON FeatureCollection (WGS84, lon/lat);
    each feature's properties are ``code`` (ODS), ``ons_code`` and ``name``. A fresh dict per call."""
    lv = Level.parse(str(level))
    if lv not in BOUNDARY_FILES:
        known = ", ".join(level.value for level in BOUNDARY_FILES)
        raise UptakeError(f"no boundaries are bundled for level {lv.value!r}; use one of: {known}")
    return json.loads(_boundary_text(BOUNDARY_FILES[lv]))


@lru_cache(maxsize=1)
def ccg_successors() -> pd.DataFrame:
    """CCG codes of 2018/19-2019/20 (the codes OpenPrescribing publishes its 2012-2020 series under) -> the July
    2022 sub-ICB location that took over most of each CCG's practices (``ccg_successors.csv``, built by
    scripts/build_reference.py; docs/reference-data.md, "CCG codes before July 2022").

    Columns: ccg_code, sub_icb_code, practices, ccg_practices, share (of the CCG's practices that went to that
    location: below 1 the CCG was split), basis. A code that is itself a current sub-ICB location maps to itself
    only when most of its practices stayed there (the file says so either way)."""
    frame = pd.read_csv(data_dir() / "ccg_successors.csv", dtype={"ccg_code": str, "sub_icb_code": str})
    return frame

"""What every table is made of: its columns (display and raw), the table itself with its download address,
and the request context the builders read from (a cursor on the snapshot, the catalogue, who is asking, and
the organisations the request is about, each read once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException

from uptake.catalogue.schemas import Indicator
from uptake.results import read
from uptake.web.access import Principal
from uptake.web.formatting import missing


@dataclass
class Column:
    key: str
    label: str
    #: display text from the row (default: str of the value)
    fmt: Callable[[dict], str] | None = None
    numeric: bool = False
    href: Callable[[dict], str | None] | None = None
    #: (text, colour) of an NHS.UK tag, or None
    tag: Callable[[dict], tuple[str, str] | None] | None = None
    #: text that may hold long unbroken words (file names, dotted names): it may break anywhere, so the table
    #: still fits the page on a desktop (docs/web.md, "Tables that fit")
    breakable: bool = False

    def display(self, row: dict) -> str:
        if self.fmt is not None:
            return self.fmt(row)
        value = row.get(self.key)
        if missing(value):
            return "-"
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


@dataclass
class DataTable:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    params: dict[str, Any] = field(default_factory=dict)
    total: int | None = None
    note: str | None = None
    #: raw columns written to downloads (default: every key of the first row)
    raw_columns: list[str] | None = None

    def download_url(self, fmt: str) -> str:
        query = urlencode({k: v for k, v in self.params.items() if v not in (None, "")}, doseq=True)
        return f"/download/{self.name}.{fmt}" + (f"?{query}" if query else "")

    def raw_keys(self) -> list[str]:
        if self.raw_columns is not None:
            return self.raw_columns
        return list(self.rows[0].keys()) if self.rows else [c.key for c in self.columns]


class Context:
    """The request context: what every page section and table builder needs (a cursor on the snapshot,
    the catalogue, who is asking), and the organisations the request is about, each read once (with its
    parents) and handed to every section."""

    def __init__(self, cur, catalogue, principal: Principal, engine=None, *, any_group: bool = False):
        self.cur = cur
        self.catalogue = catalogue
        self.principal = principal
        #: the workflow database (a custom group chosen as a benchmark is read from it), when the caller has it
        self.engine = engine
        #: any saved group may be the benchmark (the operator at the command line), not only the asker's own
        self.any_group = any_group
        self._orgs: dict[str, tuple] = {}

    def indicator(self, indicator_id: str | None) -> Indicator:
        if not indicator_id or indicator_id not in self.catalogue.indicators:
            raise HTTPException(404, f"unknown indicator {indicator_id!r}")
        return self.catalogue.indicators[indicator_id]

    def innovation_of(self, indicator_id: str) -> str | None:
        ind = self.catalogue.indicators.get(indicator_id)
        return ind.innovation if ind else None

    def _load(self, code: str) -> tuple[dict | None, list[dict]]:
        if code not in self._orgs:
            self._orgs[code] = read.organisations.organisation_with_parents(self.cur, code)
        return self._orgs[code]

    def organisation(self, code: str) -> dict:
        org, _ = self._load(code)
        if org is None:
            raise HTTPException(404, f"unknown organisation {code!r}")
        return dict(org)

    def peer_pack(self, code: str) -> tuple[list[dict], list[dict]]:
        """The organisation's peers and its indicators' peer figures (one query, once per request)."""
        key = f"peer-pack|{code}"
        if key not in self._orgs:
            self._orgs[key] = read.peers.peer_pack(self.cur, code, self.organisation(code)["level"])
        found = self._orgs[key]
        return [dict(r) for r in found[0]], [dict(r) for r in found[1]]

    def parents(self, code: str) -> list[dict]:
        """The organisation's current parents, one per level."""
        return [dict(row) for row in self._load(code)[1]]

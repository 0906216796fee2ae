"""The small machinery behind the spec cases (tests/spec/test_spec_*.py).

A spec module declares, as Python literals:

* a tiny made-up hierarchy (``HIERARCHY``): rows of (code, level, parent, attributes); England (``ENG``)
  is added, and every organisation is linked to each of its ancestors, as the store expects;
* its cases, each an indicator of its own (``spec.case(...)``) with a handful of observation rows
  (organisation, month, numerator, denominator) and the answer worked out by hand in the test.

Each case runs against up to three implementations, named by the ``impl`` parameter:

* ``stats``: the pure functions of ``uptake.stats``, called directly on the case's numbers (they have no
  roll-up, no hierarchy and no tables, so a case says when they do not apply);
* ``duckdb``: ``uptake.pipeline.run_pipeline`` on an analytics store built from the literals with the
  helpers of tests/reference_pipeline.py, its result tables read back with plain DuckDB SQL;
* ``pyspark``: the same store and pipeline with ``engine="pyspark"`` (one local Spark session for the whole
  run; those cases have the test id ``pyspark`` and the project's ``slow`` mark, so ``-k "not pyspark"`` or
  ``-m "not slow"`` leaves them out, and they skip, saying why, when Spark cannot start). Spark runs only the roll-up
  (the same Ibis expression as DuckDB; everything after it is shared code), and a run costs it seconds
  where DuckDB takes a fraction of one, so only a few cases per family (``pyspark=True``) run on it.

All of a module's cases share one store, so the pipeline runs once per module and engine.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import reference_pipeline as ref
from uptake.levels import ENGLAND_CODE, Level
from uptake.pipeline import PipelineSettings, run_pipeline

IMPLEMENTATIONS: tuple[str, ...] = ("stats", "duckdb", "pyspark")


def month(text: str) -> dt.date:
    """'2024-01' -> the first day of that month."""
    year, mon = text.split("-")
    return dt.date(int(year), int(mon), 1)


@dataclass(frozen=True)
class Case:
    """One spec case: an indicator of its own, with its observation rows."""

    id: str
    level: str
    rows: tuple[tuple[str, str, float, float], ...]
    measure: str = "proportion"
    polarity: str = "high-is-good"
    adoption_threshold: float | None = None
    unit_cost: float | None = None
    first_period: str = "2024-01"
    pyspark: bool = False  # one of the few cases the PySpark pipeline also runs
    synthetic: bool = True  # as generated test data; False where a case stands for real data (peers' activity)
    spread_curve: bool = False  # the national series is a spread: SPC on the difference from England

    def indicator(self):
        return ref.indicator(
            self.id,
            Level(self.level),
            measure=self.measure,
            polarity=self.polarity,
            adoption_threshold=self.adoption_threshold,
            unit_cost=self.unit_cost,
            first_period=month(self.first_period),
            synthetic=self.synthetic,
            spread_curve=self.spread_curve,
        )

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(org, month(period), float(num), float(den)) for org, period, num, den in self.rows],
            columns=["org_code", "period", "numerator", "denominator"],
        )

    # Plain views of the literal rows, for the stats implementation.
    def row(self, org: str, period: str) -> tuple[float, float]:
        (hit,) = [(num, den) for o, p, num, den in self.rows if o == org and p == period]
        return float(hit[0]), float(hit[1])

    def period_rows(self, period: str, orgs: Iterable[str] | None = None) -> list[tuple[str, float, float]]:
        wanted = None if orgs is None else set(orgs)
        return [(o, float(n), float(d)) for o, p, n, d in self.rows if p == period and (wanted is None or o in wanted)]

    def series(self, org: str) -> list[tuple[str, float, float]]:
        return sorted((p, float(n), float(d)) for o, p, n, d in self.rows if o == org)


@dataclass
class Spec:
    """A module's hierarchy, pipeline settings and cases."""

    hierarchy: Sequence[tuple[str, str, str, dict[str, Any]]]
    settings: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)

    def case(self, case_id: str, *, level: str, rows: Sequence[tuple[str, str, float, float]], **kwargs) -> Case:
        if case_id in self.cases:
            raise ValueError(f"two spec cases are called {case_id}")
        known = {code for code, *_ in self.hierarchy}
        unknown = {org for org, *_ in rows} - known
        if unknown:
            raise ValueError(f"{case_id}: organisations not in the hierarchy: {sorted(unknown)}")
        case = Case(case_id, level, tuple(rows), **kwargs)
        self.cases[case_id] = case
        return case

    # ------------------------------------------------------------------ the store
    def reference(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Organisations and flattened relationships (each organisation linked to every ancestor)."""
        orgs = [{"code": ENGLAND_CODE, "level": "england", "name": "England"}]
        parent: dict[str, str] = {}
        level: dict[str, str] = {ENGLAND_CODE: "england"}
        for code, lv, up, attributes in self.hierarchy:
            orgs.append({"code": code, "level": lv, "name": f"{lv} {code}", **attributes})
            parent[code] = up
            level[code] = lv
        links = []
        for code in parent:
            up = parent[code]
            while up is not None:
                links.append((code, level[code], up, level[up]))
                up = parent.get(up)
        organisations = pd.DataFrame(orgs)
        organisations["valid_from"] = "2020-01-01"
        organisations["valid_to"] = None
        for column in ("imd_score", "imd_quintile", "population", "trust_type"):
            if column not in organisations:
                organisations[column] = None
        relationships = pd.DataFrame(links, columns=["child_code", "child_level", "parent_code", "parent_level"])
        relationships["valid_from"] = "2020-01-01"
        relationships["valid_to"] = None
        return organisations, relationships

    def compute(self, directory: Path, engine: str, spark_session=None) -> "Results":
        """Build the store and run the pipeline: every case on DuckDB, the cases with pyspark=True on PySpark."""
        path = directory / "uptake.duckdb"
        organisations, relationships = self.reference()
        cases = [c for c in self.cases.values() if engine != "pyspark" or c.pyspark]
        ref.build_workspace(path, organisations, relationships, {c.id: c.frame() for c in cases})
        catalogue = ref.catalogue_of(*(c.indicator() for c in cases))
        run = run_pipeline(path, engine=engine, catalogue=catalogue, settings=PipelineSettings(**self.settings),
                           spark_session=spark_session)
        return Results(path, run)


@dataclass
class Results:
    """The result tables of one pipeline run, read with plain DuckDB SQL."""

    path: Path
    run: Any

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            cursor = con.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    def rows(self, table: str, case: Case | None = None, order: str = "", **where: Any) -> list[dict[str, Any]]:
        """Rows of a result table for a case, filtered by column = value ('2024-01' periods accepted)."""
        clauses, params = [], []
        if case is not None:
            clauses.append("indicator = ?")
            params.append(case.id)
        for column, value in where.items():
            clauses.append(f'"{column}" = ?')
            params.append(month(value) if column == "period" and isinstance(value, str) else value)
        sql = f'SELECT * FROM "{table}"' + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        return self.query(sql + (f" ORDER BY {order}" if order else ""), params)

    def one(self, table: str, case: Case | None = None, **where: Any) -> dict[str, Any]:
        found = self.rows(table, case, **where)
        assert len(found) == 1, f"expected one row of {table} where {where}, found {len(found)}"
        return found[0]


# ---------------------------------------------------------------------- which implementations a case runs on


# PySpark and Ibis warn about pandas 3 deprecations on every run; they say nothing about the cases.
_QUIET = [
    pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
]
_MARKS = {"duckdb": _QUIET, "pyspark": [pytest.mark.slow, *_QUIET]}


def runs_on(*impls: str, **not_produced: str):
    """Parametrise a case over implementations. Every implementation left out must be named with the
    reason it does not produce this answer (e.g. ``stats="no roll-up: ..."``), so the case says so."""
    missing = [name for name in IMPLEMENTATIONS if name not in impls and name not in not_produced]
    if missing:
        raise ValueError(f"say why the case does not run on {missing}")
    params = [pytest.param(name, id=name, marks=_MARKS.get(name, [])) for name in IMPLEMENTATIONS if name in impls]
    return pytest.mark.parametrize("impl", params)


SAMPLED = "not one of the few cases run on PySpark (it runs only the roll-up, the same Ibis expression as DuckDB)"

#: A case marked pyspark=True, on all three implementations.
EVERYWHERE = runs_on(*IMPLEMENTATIONS)
#: A case on stats and DuckDB only.
NOT_ON_SPARK = runs_on("stats", "duckdb", pyspark=SAMPLED)


def pipelines_only(why_not_stats: str):
    """A case (marked pyspark=True) only the pipeline produces; the reason says why ``uptake.stats`` does not."""
    return runs_on("duckdb", "pyspark", stats=why_not_stats)


def duckdb_only(why_not_stats: str):
    """A case only the pipeline produces, not one of those sampled for PySpark."""
    return runs_on("duckdb", stats=why_not_stats, pyspark=SAMPLED)


# ---------------------------------------------------------------------- comparing answers


def close(got: Any, want: Any, tol: float = 1e-6) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    if isinstance(want, float) and not isinstance(got, bool):
        if got is None:
            return False
        return math.isclose(float(got), want, rel_tol=tol, abs_tol=tol)
    if isinstance(want, dt.date) or (isinstance(want, str) and isinstance(got, dt.date)):
        want_date = month(want) if isinstance(want, str) else want
        return got == want_date
    return got == want


def check(got: dict[str, Any], want: dict[str, Any], tol: float = 1e-6, what: str = "") -> None:
    """Every expected column is there with the expected value (floats to ``tol``, absolute or relative; None
    means NULL / NaN)."""
    wrong = {k: (got.get(k, "<missing>"), v) for k, v in want.items() if k not in got or not close(got[k], v, tol)}
    assert not wrong, f"{what}: got != expected for " + "; ".join(f"{k}: {g!r} != {w!r}" for k, (g, w) in wrong.items())


def _key(value: Any) -> str:
    return f"{value.year}-{value.month:02d}" if isinstance(value, dt.date) else str(value)


def check_rows(got: list[dict[str, Any]], want: list[dict[str, Any]], key: str, tol: float = 1e-6) -> None:
    """The same rows (matched on ``key``, no more, no fewer) with the expected values."""
    assert sorted(_key(r[key]) for r in got) == sorted(_key(r[key]) for r in want), (
        f"rows by {key}: got {[_key(r[key]) for r in got]}, expected {[_key(r[key]) for r in want]}"
    )
    by_key = {_key(r[key]): r for r in got}
    for row in want:
        check(by_key[_key(row[key])], row, tol, what=f"{key}={row[key]}")

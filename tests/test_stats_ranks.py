"""Percent rank, centiles, deciles and opportunity (uptake.stats.ranks).

Independent references: a brute-force count for PERCENT_RANK; DuckDB's own PERCENT_RANK(); the
explicit SQL decile formula from docs/methods.md run in DuckDB (bit-for-bit); numpy's "linear"
percentile (to rounding). DuckDB's built-in quantile_cont is compared only to within rounding: on this
machine it is compiled with a fused multiply-add, so it is not reproducible bit for bit across builds.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uptake.stats import DECILE_CENTILES, StatsInputError, centile, deciles, opportunity, percent_rank

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
values_with_gaps = st.lists(
    st.one_of(finite, st.just(float("nan")), st.sampled_from([0.0, 1.0, 0.5])), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(values=values_with_gaps)
def test_percent_rank_properties_and_brute_force(values: list[float]) -> None:
    v = np.array(values, dtype=float)
    pr = percent_rank(v)
    ok = ~np.isnan(v)
    assert np.all(np.isnan(pr[~ok]))
    x = v[ok]
    m = x.size
    for i, xi in enumerate(x):
        rank = 1 + sum(1 for xj in x if xj < xi)
        expected = 0.0 if m == 1 else (rank - 1) / (m - 1)
        assert pr[ok][i] == expected
    got = pr[ok]
    assert np.all((got >= 0) & (got <= 1))
    # Order-preserving: strictly smaller values get strictly smaller ranks; ties share a rank.
    for a in range(m):
        for b in range(m):
            if x[a] < x[b]:
                assert got[a] < got[b]
            if x[a] == x[b]:
                assert got[a] == got[b]


def test_percent_rank_edge_cases() -> None:
    assert np.all(np.isnan(percent_rank([np.nan, np.nan])))
    assert percent_rank([7.0])[0] == 0.0
    assert list(percent_rank([3.0, 1.0, 2.0, 2.0])) == [1.0, 0.0, 1 / 3, 1 / 3]


def test_deciles_known_values() -> None:
    expected = [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1]
    assert list(deciles(np.arange(1, 11, dtype=float))) == pytest.approx(expected)
    assert np.all(deciles([5.0]) == 5.0)
    assert np.all(np.isnan(deciles([np.nan])))
    assert float(centile([1.0, 2.0, np.nan, 3.0], 50)) == 2.0
    with pytest.raises(StatsInputError):
        centile([1.0], 101)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=80))
def test_deciles_match_numpy_linear(values: list[float]) -> None:
    got = deciles(values)
    expected = np.percentile(values, DECILE_CENTILES)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-9)
    assert np.all(np.diff(got) >= 0)


duckdb = pytest.importorskip("duckdb")

def _sql_from_methods_doc() -> str:
    """The decile SQL exactly as docs/methods.md prints it, so the documentation cannot drift."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    first = lines.index("    WITH s AS (")
    block = []
    for line in lines[first:]:
        if not line.strip():
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


DECILE_SQL = _sql_from_methods_doc()


def _table(values: list[float]):  # type: ignore[no-untyped-def]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [[None if np.isnan(v) else float(v)] for v in values])
    return con


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(finite, st.just(float("nan"))), min_size=1, max_size=50))
def test_sql_matches_bit_for_bit(values: list[float]) -> None:
    con = _table(values)
    ok = [v for v in values if not np.isnan(v)]
    if ok:
        rows = con.execute(DECILE_SQL).fetchall()
        assert [r[1] for r in rows] == list(deciles(values))
        # DuckDB's built-in is the same method, equal to within rounding (it may fuse multiply-adds).
        builtin = con.execute(
            "SELECT " + ", ".join(f"quantile_cont(v, {k / 100})" for k in DECILE_CENTILES) + " FROM t"
        ).fetchone()
        assert np.allclose(builtin, deciles(values), rtol=1e-12, atol=1e-9)
    ranked = dict(
        con.execute("SELECT v, percent_rank() OVER (ORDER BY v) FROM t WHERE v IS NOT NULL").fetchall()
    )
    mine = percent_rank(values)
    for v, p in zip(values, mine):
        if not np.isnan(v):
            assert ranked[v] == p


def test_opportunity() -> None:
    num = np.array([50, 90, 0, np.nan])
    den = np.array([100, 100, 0, 100])
    high = opportunity(num, den, 0.8, "high-is-good")
    assert list(high[:3]) == [30.0, 0.0, 0.0] and np.isnan(high[3])
    low = opportunity(num, den, 0.6, "low-is-good")
    assert list(low[:3]) == [0.0, 30.0, 0.0]
    per_unit = opportunity(num[:2], den[:2], np.array([0.7, 0.95]), "high-is-good")
    assert list(per_unit) == pytest.approx([20.0, 5.0])
    assert np.nansum(high) == 30.0
    with pytest.raises(StatsInputError, match="direction"):
        opportunity(num, den, 0.5, "no-judgement")

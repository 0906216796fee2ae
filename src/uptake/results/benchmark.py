"""The benchmark an organisation is compared with (issue 16 item 3): England, its region, its ICB, its
similar-10 peers pooled, or a saved custom group pooled. One function resolves the choice
(``?benchmark=england|region|icb|peers|group:<id>``) for an organisation, another gives the benchmark's value
with its 95% interval for each indicator in the organisation's period, and ``judge`` compares by the interval
rule. The web, the board pack, the API and the downloads all go through here (docs/profile.md, "Benchmark
choice").

- england, region, icb: an organisation of the hierarchy (``ENG``, or the organisation's current parent of that
  level in ``relationships``); its value is the pipeline's own row in result_values (pooled over the area by
  the pipeline).
- peers: the organisation's similar-10 peers (result_peers), pooled by uptake.results.pooling.pool in the
  organisation's period (the organisation itself is not among them).
- group:<id>: a saved custom group (uptake.store.group_models; the caller reads it, with its owner check, and
  passes its title, level and members), pooled the same way at the group's level.

Pooled benchmarks have their members' spread (lowest, quartiles, highest) for the spine chart; an area
benchmark the spread of the organisations of the same level in the area; England that of every organisation.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from uptake.errors import UptakeError
from uptake.results.pooling import pool
from uptake.results.read import profile as profile_reader
from uptake.results.read._sql import Cursor, in_list, one, rows
from uptake.results.read.values import VALUE_COLUMNS

ENGLAND = "ENG"
#: the kinds a benchmark can be, in the order the pages offer them
KINDS: tuple[str, ...] = ("england", "region", "icb", "peers", "group")
DEFAULT = "england"
#: the levels of the hierarchy parents a benchmark can be
PARENT_LEVELS = {"region": "region", "icb": "icb"}


class BenchmarkError(UptakeError):
    """A benchmark that is not one of the kinds offered, or not available for this organisation."""


@dataclass(frozen=True)
class Choice:
    """What was asked for: a kind and, for a group, its id."""

    kind: str
    group_id: int | None = None

    @property
    def key(self) -> str:
        return f"group:{self.group_id}" if self.kind == "group" else self.kind


@dataclass(frozen=True)
class GroupSpec:
    """A saved custom group as the benchmark needs it (read by the caller, who checks who may see it)."""

    id: int
    title: str
    level: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Benchmark:
    """A resolved benchmark: what it is and what to call it."""

    key: str  # england, region, icb, peers, group:<id>
    kind: str
    label: str  # "England", "London (region)", "similar-10 peers of X (pooled, 10 organisations)"
    org_code: str | None = None  # england, region, icb: the organisation whose own value is the benchmark
    members: tuple[str, ...] = ()  # peers, group: the organisations pooled
    member_level: str | None = None

    @property
    def pooled(self) -> bool:
        return self.org_code is None

    @property
    def compared_with(self) -> str:
        return f"compared with: {self.label}"

    @property
    def is_england(self) -> bool:
        return self.kind == "england"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "label": self.label, "org_code": self.org_code,
                "members": list(self.members), "pooled": self.pooled}


@dataclass
class BenchmarkValue:
    """The benchmark's figure for one indicator in one period."""

    indicator: str
    period: dt.date
    value: float | None
    ci95_low: float | None
    ci95_high: float | None
    method: str
    members: int | None = None  # pooled: members counted
    missing: int | None = None
    spread: list[float] = field(default_factory=list)  # pooled: the members' values


#: England as a benchmark (needs no organisation to resolve)
ENGLAND_BENCHMARK = Benchmark("england", "england", "England", org_code=ENGLAND)


def parse(text: str | None) -> Choice:
    """``england``, ``region``, ``icb``, ``peers`` or ``group:<id>`` (case does not matter; empty is England;
    ``ENG`` is accepted for England, as the profile's first version took an organisation code)."""
    raw = (text or "").strip()
    low = raw.lower()
    if low in ("", "eng", DEFAULT):
        return Choice(DEFAULT)
    if low in KINDS and low != "group":
        return Choice(low)
    if low.startswith("group:"):
        number = low.split(":", 1)[1].strip()
        if number.isdigit() and 0 < int(number) < 2**31:
            return Choice("group", int(number))
        raise BenchmarkError(f"benchmark {raw!r}: a group is chosen by its number, as group:12 "
                             "(the number is in the group's address, /groups/12)")
    raise BenchmarkError(f"benchmark {raw!r} is not offered: choose one of england, region, icb, peers or "
                         "group:<id> (one of your saved groups)")


def resolve(cur: Cursor, org_code: str, level: str, text: str | Choice | None, *,
            group: GroupSpec | None = None) -> Benchmark:
    """The benchmark ``text`` for the organisation ``org_code`` of ``level``. For ``group:<id>`` the caller
    passes the group (read with its owner check); raises BenchmarkError when the choice is unknown or the
    organisation has no such benchmark (no region above a region, no peers computed, a group not given)."""
    choice = text if isinstance(text, Choice) else parse(text)
    if choice.kind == "england":
        return ENGLAND_BENCHMARK
    if choice.kind in PARENT_LEVELS:
        parent_level = PARENT_LEVELS[choice.kind]
        found = one(cur, "SELECT o.code, o.name FROM relationships r JOIN organisations o ON o.code = r.parent_code "
                         "AND o.valid_to IS NULL WHERE r.child_code = ? AND r.parent_level = ? AND r.valid_to IS NULL "
                         "ORDER BY o.code LIMIT 1", [org_code, parent_level])
        if found is None:
            words = "region" if parent_level == "region" else "ICB"
            raise BenchmarkError(f"{org_code} has no {words} above it in the hierarchy, so it cannot be compared "
                                 f"with its {words}: choose england, peers or a group")
        words = "region" if parent_level == "region" else "ICB"
        name = found["name"] or found["code"]
        label = name if words.lower() in name.lower() else f"{name} {words}"
        return Benchmark(choice.kind, choice.kind, label, org_code=found["code"])
    if choice.kind == "peers":
        found = rows(cur, "SELECT peer_code FROM result_peers WHERE org_code = ? AND level = ? ORDER BY rank",
                     [org_code, level])
        if not found:
            raise BenchmarkError(f"{org_code} has no similar-10 peers computed (result_peers): choose england, "
                                 "region, icb or a group")
        members = tuple(r["peer_code"] for r in found)
        return Benchmark("peers", "peers", f"its similar-{len(members)} peers (pooled)", members=members,
                         member_level=level)
    if group is None or group.id != choice.group_id:
        raise BenchmarkError(f"benchmark group:{choice.group_id}: there is no such group of yours "
                             "(see /groups for your groups' numbers)")
    if not group.members:
        raise BenchmarkError(f"group:{group.id} ({group.title}) has no members to pool")
    return Benchmark(choice.key, "group", f"{group.title} (custom group, pooled, {len(group.members)} organisations)",
                     members=tuple(group.members), member_level=group.level)


def values(cur: Cursor, bench: Benchmark, wanted: Mapping[str, dt.date],
           measures: Mapping[str, str]) -> dict[str, BenchmarkValue]:
    """The benchmark's value with its 95% interval for each indicator in the period given (``wanted``:
    indicator -> period, the organisation's latest); ``measures`` (indicator -> 'proportion', 'rate',
    'share-only', from the catalogue) says how pooled members pool. An indicator with no figure is absent."""
    if not wanted:
        return {}
    pairs = sorted(wanted.items())
    cond = " OR ".join("(v.indicator = ? AND v.period = ?)" for _ in pairs)
    flat: list[Any] = [x for pair in pairs for x in pair]
    columns = ", ".join(f"v.{name.strip()}" for name in VALUE_COLUMNS.split(","))
    out: dict[str, BenchmarkValue] = {}
    if not bench.pooled:
        found = rows(cur, f"SELECT {columns} FROM result_values v WHERE v.org_code = ? AND ({cond})",
                     [bench.org_code, *flat])
        for r in found:
            out[r["indicator"]] = BenchmarkValue(r["indicator"], r["period"], _num(r["value"]), _num(r["ci95_low"]),
                                                 _num(r["ci95_high"]), f"{bench.label}: its published value")
        return out
    member_cond, member_params = in_list("v.org_code", list(bench.members))
    found = rows(cur, f"SELECT {columns} FROM result_values v WHERE v.level = ? AND {member_cond} AND ({cond}) "
                      "ORDER BY v.indicator, v.org_code", [bench.member_level, *member_params, *flat])
    by_indicator: dict[str, list[dict]] = {}
    for r in found:
        by_indicator.setdefault(r["indicator"], []).append(r)
    for indicator, period in pairs:
        members = [r for r in by_indicator.get(indicator, []) if r.get("comparison") != "not eligible"]
        if not members:
            continue
        pooled = pool(measures.get(indicator, "proportion"), members, len(bench.members))
        out[indicator] = BenchmarkValue(
            indicator, period, pooled.value, pooled.ci95_low, pooled.ci95_high, pooled.method,
            members=pooled.members, missing=pooled.missing,
            spread=[float(r["value"]) for r in members if _num(r["value"]) is not None])
    return out


def judge(polarity: str | None, row: Mapping[str, Any], bench_value: float | None) -> str:
    """The interval rule (docs/methods.md), as read.profile judges a benchmark other than England: better
    when the organisation's 95% interval lies wholly on the better side of the benchmark's value, best beyond
    its 99.8% interval, similar when the interval contains it; higher or lower without polarity."""
    if row.get("comparison") == "not eligible":
        return "not eligible"
    value, low, high = _num(row.get("value")), _num(row.get("ci95_low")), _num(row.get("ci95_high"))
    if value is None or bench_value is None or low is None or high is None:
        return "not compared"
    low998 = _num(row.get("ci998_low"))
    high998 = _num(row.get("ci998_high"))
    low998 = low if low998 is None else low998
    high998 = high if high998 is None else high998
    if polarity == "high-is-good":
        if low998 > bench_value:
            return "best"
        if low > bench_value:
            return "better"
        if high998 < bench_value:
            return "worst"
        return "worse" if high < bench_value else "similar"
    if polarity == "low-is-good":
        if high998 < bench_value:
            return "best"
        if high < bench_value:
            return "better"
        if low998 > bench_value:
            return "worst"
        return "worse" if low > bench_value else "similar"
    return "higher" if low > bench_value else "lower" if high < bench_value else "similar"


def spread(values_: Iterable[float]) -> dict[str, Any]:
    """organisations, lowest, q25, median, q75, highest of the values (linear interpolation, as
    DuckDB's quantile_cont)."""
    finite = np.array([v for v in values_ if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return {"organisations": 0, "lowest": None, "q25": None, "median": None, "q75": None, "highest": None}
    q = np.quantile(finite, [0.25, 0.5, 0.75])
    return {"organisations": int(finite.size), "lowest": float(finite.min()), "q25": float(q[0]),
            "median": float(q[1]), "q75": float(q[2]), "highest": float(finite.max())}


def apply(rows_: Sequence[dict], bench: Benchmark, found: Mapping[str, BenchmarkValue],
          polarities: Mapping[str, str]) -> list[dict]:
    """The profile's rows (read.profile.profile against England) judged against a pooled benchmark instead:
    the benchmark's value and interval, the comparison by the interval rule, the members' spread, and
    "worse and getting worse" again. Each row gains ``benchmark_key``, ``benchmark_label`` and, pooled,
    ``benchmark_members`` and ``benchmark_method``."""
    out = []
    for r in rows_:
        row = dict(r)
        b = found.get(row["indicator"])
        if b is not None and b.period != row["period"]:
            b = None
        row["benchmark_value"] = b.value if b else None
        row["benchmark_ci95_low"] = b.ci95_low if b else None
        row["benchmark_ci95_high"] = b.ci95_high if b else None
        row["benchmark_members"] = b.members if b else 0
        row["benchmark_method"] = b.method if b else "no member has a value in the period"
        row["comparison"] = judge(polarities.get(row["indicator"]), row, row["benchmark_value"])
        row["comparison_method"] = "interval"
        row.update(spread(b.spread if b else []))
        row["worse_and_getting_worse"] = row["comparison"] in ("worse", "worst") and row.get("trend") == "getting worse"
        out.append(row)
    return out


def label_rows(rows_: Iterable[dict], bench: Benchmark) -> list[dict]:
    """Each row with the benchmark's key and label (what its comparison is with)."""
    out = []
    for r in rows_:
        r["benchmark_key"] = bench.key
        r["benchmark_label"] = bench.label
        out.append(r)
    return list(out)


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def profile(cur: Cursor, org_code: str, level: str, bench: Benchmark, *, polarities: Mapping[str, str],
            measures: Mapping[str, str], trends: bool = True) -> list[dict]:
    """The area profile's rows (read.profile.profile) against ``bench``: an organisation benchmark (England,
    the region, the ICB) is read and judged in one statement there; a pooled one (peers, a group) is the
    profile against England re-judged here against the pooled value (``apply``). Every row says its
    ``benchmark_key`` and ``benchmark_label``."""
    if not bench.pooled:
        found = profile_reader.profile(cur, org_code, level, benchmark=bench.org_code, trends=trends,
                                       polarities=None if bench.is_england else polarities)
    else:
        base = profile_reader.profile(cur, org_code, level, trends=trends)
        found = apply(base, bench, values(cur, bench, {r["indicator"]: r["period"] for r in base}, measures),
                      polarities)
    return label_rows(found, bench)


def series(cur: Cursor, bench: Benchmark, indicator: str, measure: str, periods: Iterable[dt.date]) -> dict[
        dt.date, BenchmarkValue]:
    """The benchmark's value with its interval in each of ``periods`` for one indicator (the benchmark line of
    the deciles chart): an organisation benchmark's own rows, or the members pooled each period."""
    wanted = sorted(set(periods))
    if not wanted:
        return {}
    columns = ", ".join(f"v.{name.strip()}" for name in VALUE_COLUMNS.split(","))
    period_cond, period_params = in_list("v.period", wanted)
    if not bench.pooled:
        found = rows(cur, f"SELECT {columns} FROM result_values v WHERE v.org_code = ? AND v.indicator = ? "
                          f"AND {period_cond}", [bench.org_code, indicator, *period_params])
        return {r["period"]: BenchmarkValue(indicator, r["period"], _num(r["value"]), _num(r["ci95_low"]),
                                            _num(r["ci95_high"]), f"{bench.label}: its published value")
                for r in found}
    member_cond, member_params = in_list("v.org_code", list(bench.members))
    found = rows(cur, f"SELECT {columns} FROM result_values v WHERE v.level = ? AND v.indicator = ? AND {member_cond} "
                      f"AND {period_cond} ORDER BY v.period, v.org_code",
                 [bench.member_level, indicator, *member_params, *period_params])
    by_period: dict[dt.date, list[dict]] = {}
    for r in found:
        if r.get("comparison") != "not eligible":
            by_period.setdefault(r["period"], []).append(r)
    out = {}
    for period, members in by_period.items():
        pooled = pool(measure, members, len(bench.members))
        out[period] = BenchmarkValue(indicator, period, pooled.value, pooled.ci95_low, pooled.ci95_high,
                                     pooled.method, members=pooled.members, missing=pooled.missing)
    return out

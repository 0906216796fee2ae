"""The aggregated frame of one indicator as NumPy arrays, and the organisation directory.

Organisations are integers (positions in the sorted list of codes), levels are positions in the plan's
level list and periods positions in the indicator's sorted periods, so every later step works on
integer keys. Rows are sorted by (level, organisation, period): each organisation's series is
contiguous. ``cross_section`` gives the order by (level, period, organisation) for the per-period steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from uptake.catalogue.schemas import Indicator
from uptake.levels import ENGLAND_CODE, Level
from uptake.pipeline.grouped import IntArray, boundaries
from uptake.pipeline.rollup import LevelPlan
import pandas as pd


@dataclass(frozen=True)
class Organisations:
    """Every organisation code the store knows (sorted), with the attributes the pipeline needs, from
    each code's current version (its latest version if it has closed)."""

    codes: NDArray[np.object_]
    level: NDArray[np.object_]
    name: NDArray[np.object_]
    imd_score: NDArray[np.float64]
    imd_quintile: NDArray[np.float64]  # NaN when unknown
    population: NDArray[np.float64]
    trust_type: NDArray[np.object_]
    current: NDArray[np.bool_]
    arrow_codes: pa.Array = field(repr=False)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> "Organisations":
        frame = table.to_pandas()
        frame["_open"] = frame["valid_to"].isna()
        frame["_from"] = frame["valid_from"].astype("string").fillna("")
        # One row per code: the open version if any, else the latest one.
        frame = frame.sort_values(["code", "_open", "_from"]).drop_duplicates("code", keep="last")
        if ENGLAND_CODE not in set(frame["code"]):
            extra = {c: [None] for c in frame.columns}
            extra.update(code=[ENGLAND_CODE], level=[Level.ENGLAND.value], name=["England"], _open=[True])

            frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True).sort_values("code")
        codes = frame["code"].astype(str).to_numpy(dtype=object)
        order = np.argsort(codes.astype(str), kind="stable")
        frame = frame.iloc[order]
        codes = codes[order]

        def floats(name: str) -> NDArray[np.float64]:
            return frame[name].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)

        def objects(name: str) -> NDArray[np.object_]:
            col = frame[name].astype(object)
            return col.where(col.notna(), None).to_numpy(dtype=object)

        return cls(
            codes=codes,
            level=objects("level"),
            name=objects("name"),
            imd_score=floats("imd_score"),
            imd_quintile=floats("imd_quintile"),
            population=floats("population"),
            trust_type=objects("trust_type"),
            current=frame["_open"].to_numpy(dtype=bool),
            arrow_codes=pa.array(codes.astype(str), type=pa.string()),
        )

    def index_of(self, codes: pa.Array | pa.ChunkedArray) -> IntArray:
        """Positions of codes in the directory (-1 where unknown). Codes repeat (an organisation per
        period), so the distinct codes are looked up once and spread back."""
        if isinstance(codes, pa.ChunkedArray):
            codes = codes.combine_chunks() if codes.num_chunks else pa.array([], type=pa.string())
        encoded = pc.dictionary_encode(codes)
        found = pc.fill_null(pc.index_in(encoded.dictionary, value_set=self.arrow_codes), -1)
        lookup = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
        indices = encoded.indices
        positions = np.asarray(pc.fill_null(indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        out = lookup[positions] if lookup.size else np.full(positions.size, -1, dtype=np.int64)
        if indices.null_count:
            out[np.asarray(indices.is_null().to_numpy(zero_copy_only=False))] = -1
        return out

    def take_codes(self, idx: IntArray) -> pa.Array:
        return self.arrow_codes.take(pa.array(idx, type=pa.int64()))

    def of_level(self, level: str) -> IntArray:
        """Positions of the current organisations of a level."""
        return np.flatnonzero((self.level == level) & self.current).astype(np.int64)


def _months(days: NDArray) -> NDArray[np.int64]:
    """Month number (year * 12 + month - 1) of dates given as datetime64[D]."""
    months = days.astype("datetime64[M]").astype(np.int64)
    return months


@dataclass
class IndicatorFrame:
    """One indicator's pooled rows at every result level, sorted by (level, org, period)."""

    indicator: Indicator
    plan: LevelPlan
    levels: tuple[str, ...]
    periods: NDArray  # datetime64[D]: the sorted distinct periods with any row (the indicator's periods)
    level: IntArray
    org: IntArray
    pidx: IntArray
    numerator: NDArray[np.float64]
    denominator: NDArray[np.float64]
    members: IntArray
    #: observation rows of organisations with no current link at some roll-up level (not rolled up there)
    unlinked: dict[str, int] = field(default_factory=dict)
    #: False for the rows of organisations that do not provide the service (the indicator's eligibility
    #: rule, at its ingest levels): listed, but never ranked, compared, charted or counted
    eligibility_mask: NDArray[np.bool_] | None = None
    #: the last over-dispersion estimate (uptake.pipeline.funnel.dispersion), which the comparison with England
    #: and the funnel both need: (its key, its result)
    dispersion_memo: tuple | None = field(default=None, repr=False)

    @classmethod
    def from_arrow(
        cls, indicator: Indicator, plan: LevelPlan, table: pa.Table, orgs: Organisations
    ) -> "IndicatorFrame":
        levels = plan.levels
        level_idx = np.asarray(
            pc.fill_null(pc.index_in(table.column("level"), value_set=pa.array(levels)), -1).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.int64,
        )
        org_idx = orgs.index_of(table.column("org_code"))
        keep = (level_idx >= 0) & (org_idx >= 0)
        days = np.asarray(table.column("period").cast(pa.date32()).to_numpy(zero_copy_only=False)).astype(
            "datetime64[D]"
        )
        num = np.asarray(table.column("numerator").to_numpy(zero_copy_only=False), dtype=np.float64)
        den = np.asarray(table.column("denominator").to_numpy(zero_copy_only=False), dtype=np.float64)
        members = np.asarray(table.column("members").to_numpy(zero_copy_only=False), dtype=np.int64)
        level_idx, org_idx, days, num, den, members = (
            a[keep] for a in (level_idx, org_idx, days, num, den, members)
        )
        periods = np.unique(days)
        pidx = np.searchsorted(periods, days).astype(np.int64)
        # One integer key sorted stably is the same order as np.lexsort((pidx, org_idx, level_idx)), faster.
        org_span = int(org_idx.max()) + 1 if org_idx.size else 1
        order = np.argsort((level_idx * org_span + org_idx) * max(periods.size, 1) + pidx, kind="stable")
        level_idx, org_idx, pidx, num, den, members = (
            a[order] for a in (level_idx, org_idx, pidx, num, den, members)
        )
        if level_idx.size > 1:
            same = (
                (level_idx[1:] == level_idx[:-1]) & (org_idx[1:] == org_idx[:-1]) & (pidx[1:] == pidx[:-1])
            )
            if same.any():  # duplicate observations of one organisation and period: add them up
                starts = np.flatnonzero(np.concatenate([[True], ~same]))
                num = np.add.reduceat(num, starts)
                den = np.add.reduceat(den, starts)
                members = np.add.reduceat(members, starts)
                level_idx, org_idx, pidx = level_idx[starts], org_idx[starts], pidx[starts]
        frame = cls(
            indicator=indicator,
            plan=plan,
            levels=levels,
            periods=periods,
            level=level_idx,
            org=org_idx,
            pidx=pidx,
            numerator=num,
            denominator=den,
            members=members,
        )
        frame.unlinked = frame._unlinked_counts()
        frame.eligibility_mask = frame._eligibility(orgs)
        return frame

    def _eligibility(self, orgs: Organisations) -> NDArray[np.bool_]:
        """The indicator's eligibility rule applied to each row at its ingest levels (docs/catalogue.md)."""
        eligible = np.ones(self.size, dtype=bool)
        rule = self.indicator.eligibility
        if rule is None or not self.size:
            return eligible
        listed = np.isin(orgs.codes[self.org].astype(str), rule.not_providing)
        at_ingest = np.isin(self.level, [self.levels.index(lv) for lv in self.plan.ingest_levels])
        candidates = np.flatnonzero(listed & at_ingest)
        codes = orgs.codes[self.org[candidates]]
        eligible[candidates] = [not rule.excludes(str(c), float(n))
                                for c, n in zip(codes, self.numerator[candidates], strict=True)]
        return eligible

    def _unlinked_counts(self) -> dict[str, int]:
        """Observation rows missing from each rolled-up level compared with England."""
        england_rows = int(self.members[self.level == self.levels.index(Level.ENGLAND.value)].sum())
        out: dict[str, int] = {}
        for child, parent in self.plan.rollups:
            if child != self.plan.england_source:
                continue
            rows = int(self.members[self.level == self.levels.index(parent)].sum())
            if rows < england_rows:
                out[parent] = england_rows - rows
        return out

    # ------------------------------------------------------------------ derived arrays
    @property
    def data_level_rows(self) -> int:
        """Observation rows at the indicator's ingest levels (those the frame was built from)."""
        ingest = [self.levels.index(lv) for lv in self.plan.ingest_levels]
        return int(self.members[np.isin(self.level, ingest)].sum())

    @property
    def size(self) -> int:
        return int(self.level.size)

    @property
    def eligible(self) -> NDArray[np.bool_]:
        """Per row: whether the organisation provides the service then (``eligibility_mask``; all True when
        the indicator has no eligibility rule)."""
        if self.eligibility_mask is None:
            return np.ones(self.size, dtype=bool)
        return self.eligibility_mask

    @cached_property
    def value(self) -> NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.denominator > 0, self.numerator / self.denominator, np.nan)

    @cached_property
    def england_level(self) -> int:
        return self.levels.index(Level.ENGLAND.value)

    @cached_property
    def england_value(self) -> NDArray[np.float64]:
        """England's value in each row's period (NaN where England has none)."""
        eng = self.level == self.england_level
        by_period = np.full(max(self.periods.size, 1), np.nan)
        by_period[self.pidx[eng]] = self.value[eng]
        return by_period[self.pidx]

    @cached_property
    def cross_section(self) -> IntArray:
        """Row order by (level, period, organisation)."""
        if not self.size:
            return np.zeros(0, dtype=np.int64)
        # The same order as np.lexsort((org, pidx, level)): one integer key, sorted stably.
        key = self.cell * (int(self.org.max()) + 1) + self.org
        return np.argsort(key, kind="stable").astype(np.int64)

    @cached_property
    def cell(self) -> IntArray:
        """Group number of (level, period) for each row: level * periods + period."""
        return self.level * max(self.periods.size, 1) + self.pidx

    @cached_property
    def series_bounds(self) -> tuple[IntArray, IntArray]:
        """Starts and lengths of each (level, organisation) series in row order."""
        key = self.level * (int(self.org.max()) + 1 if self.size else 1) + self.org
        return boundaries(key)

    @property
    def period_dates(self) -> pa.Array:
        return pa.array(self.periods, type=pa.date32())

    def dates(self, pidx: IntArray) -> pa.Array:
        return self.period_dates.take(pa.array(pidx, type=pa.int64()))

    @cached_property
    def months_since_launch(self) -> NDArray[np.float64]:
        """Months from the indicator's first period to each period."""
        first = np.datetime64(self.indicator.first_period, "D")
        return (_months(self.periods) - _months(np.asarray([first]))[0]).astype(np.float64)

    def level_name_array(self, level_idx: IntArray) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(level_idx, type=pa.int32()), pa.array(self.levels, type=pa.string())
        ).cast(pa.string())

"""Shared plumbing for the source adapters: reading bundled files, the observation frame's shape,
organisation filtering and the record of rows dropped on the way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from importlib import resources

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.levels import Level
from uptake.reference import ccg_successors, load_reference

#: The columns of every frame a builder returns, in this order.
OBSERVATION_COLUMNS: tuple[str, ...] = ("org_code", "period", "numerator", "denominator")

#: ``frame.attrs`` keys a builder fills in.
ATTR_DROPPED = "dropped"  # dict: reason -> number of rows dropped for it (rows of the raw file unless said)
ATTR_SOURCE = "source"  # the indicator id the frame is for


def open_data(name: str):
    """A binary file handle on one bundled raw file in ``uptake/sources/data``."""
    resource = resources.files("uptake.sources") / "data" / name
    if not resource.is_file():
        raise UptakeError(
            f"bundled source file {name!r} is missing from uptake/sources/data; reinstall the package "
            "(pip install -e .) or restore the file from the repository"
        )
    return resource.open("rb")


def read_csv(name: str, **kwargs) -> pd.DataFrame:
    """Read one bundled CSV file (gzip-compressed when its name ends in .gz)."""
    if name.endswith(".gz"):
        kwargs.setdefault("compression", "gzip")
    with open_data(name) as handle:
        return pd.read_csv(handle, **kwargs)


def round_half_up(values: pd.Series | np.ndarray) -> np.ndarray:
    """Round to whole numbers, halves away from zero for the non-negative values used here.

    numpy/pandas round halves to even (0.5 -> 0, 2.5 -> 2); a count derived from a published rate is
    conventionally rounded half up, and it must not depend on the parity of the neighbouring integer.
    """
    return np.floor(np.asarray(values, dtype="float64") + 0.5).astype("int64")


def reference_codes(level: Level) -> frozenset[str] | None:
    """The codes of the current organisations at ``level`` in the bundled hierarchy, or None when the
    hierarchy is not available (not installed yet, or its data files are missing)."""
    try:
        orgs = load_reference().of_level(level)
    except (ImportError, UptakeError, FileNotFoundError):
        return None
    return frozenset(orgs["code"].astype(str))


def resolve_codes(level: Level, org_codes: Collection[str] | None) -> frozenset[str] | None:
    """The organisation codes to keep: those given, else the bundled hierarchy's, else None (keep all)."""
    if org_codes is not None:
        return frozenset(str(code) for code in org_codes)
    return reference_codes(level)


def keep_known(
    frame: pd.DataFrame, codes: frozenset[str] | None, dropped: dict[str, int], reason: str
) -> pd.DataFrame:
    """Drop rows whose ``org_code`` is not in ``codes`` (no-op when ``codes`` is None), counting them."""
    if codes is None:
        return frame
    known = frame["org_code"].isin(codes)
    count = int((~known).sum())
    if count:
        dropped[reason] = dropped.get(reason, 0) + count
    return frame[known]


def finish(
    frame: pd.DataFrame, indicator_id: str, dropped: Mapping[str, int] | None = None, *,
    fractional: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Put a builder's result into the observation shape and check it.

    ``period`` becomes ``datetime.date``; numerator and denominator whole numbers (int64), except the columns
    named in ``fractional`` (float64: a share-only indicator's published value, a quantity); rows sorted by
    period then organisation. Raises if an (organisation, period) pair occurs twice: a builder must
    aggregate, never leave that to the ingest.
    """
    out = frame.loc[:, list(OBSERVATION_COLUMNS)].copy()
    out["org_code"] = out["org_code"].astype(str)
    out["period"] = [_as_date(value) for value in out["period"]]
    for column in ("numerator", "denominator"):
        values = pd.to_numeric(out[column], errors="raise")
        if values.isna().any():
            raise UptakeError(f"{indicator_id}: empty {column} values left after cleaning")
        whole = np.asarray(values, dtype="float64")
        if column in fractional:
            out[column] = whole
            continue
        if not np.array_equal(whole, np.round(whole)):
            raise UptakeError(f"{indicator_id}: {column} must be whole numbers")
        out[column] = whole.astype("int64")
    duplicated = out.duplicated(["org_code", "period"])
    if duplicated.any():
        first = out[duplicated].iloc[0]
        raise UptakeError(
            f"{indicator_id}: organisation {first['org_code']} has more than one row for "
            f"{first['period'].isoformat()}"
        )
    out = out.sort_values(["period", "org_code"], kind="stable", ignore_index=True)
    out.attrs[ATTR_SOURCE] = indicator_id
    out.attrs[ATTR_DROPPED] = dict(dropped or {})
    return out


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def map_ccg_codes(frame: pd.DataFrame, dropped: dict[str, int], column: str = "org_code") -> pd.DataFrame:
    """Replace CCG codes of 2012-2020 by the July 2022 sub-ICB location that took each over
    (``uptake.reference.ccg_successors``; a code that is a current sub-ICB location and not in that table stays
    as it is); rows of a code neither maps are dropped and counted. The caller sums the rows that now share a
    location and period."""
    successors = ccg_successors()
    mapping = dict(zip(successors["ccg_code"], successors["sub_icb_code"], strict=True))
    current = reference_codes(Level.SUB_ICB) or frozenset()
    for code in current:
        mapping.setdefault(code, code)
    mapped = frame[column].map(mapping)
    unknown = mapped.isna()
    if unknown.any():
        codes = sorted(frame.loc[unknown, column].astype(str).unique())
        reason = f"CCG code with no successor sub-ICB location ({', '.join(codes)})"
        dropped[reason] = dropped.get(reason, 0) + int(unknown.sum())
    out = frame[~unknown].copy()
    out[column] = mapped[~unknown]
    return out


def practice_share_only(name: str, column: str, indicator_id: str,
                        org_codes: Collection[str] | None) -> pd.DataFrame:
    """A practice-level file of published values without counts (``practice_code, month, <column>``) as
    share-only observations: numerator = the value, denominator = 1. Empty values and practices not in the
    hierarchy are dropped and counted."""
    raw = read_csv(name, dtype={"practice_code": str, "month": str})
    dropped: dict[str, int] = {}
    empty = raw[column].isna()
    if empty.any():
        dropped["no value published (nothing prescribed in the month)"] = int(empty.sum())
    frame = pd.DataFrame({"org_code": raw["practice_code"], "period": raw["month"], "numerator": raw[column],
                          "denominator": 1.0})[~empty.to_numpy()]
    frame = keep_known(frame, resolve_codes(Level.PRACTICE, org_codes), dropped,
                       "practice not in the hierarchy (closed, or not an English GP practice, by December 2023)")
    return finish(frame, indicator_id, dropped, fractional=("numerator",))

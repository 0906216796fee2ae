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
from uptake.reference import load_reference

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
    """Read one bundled CSV file."""
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
    frame: pd.DataFrame, indicator_id: str, dropped: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Put a builder's result into the observation shape and check it.

    ``period`` becomes ``datetime.date``; numerator and denominator whole numbers (int64); rows sorted by
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

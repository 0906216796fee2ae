"""Cells as the rules see them: any column as text, blanks, counts parsed to numbers.

Work that needs Python runs once per distinct value (``per_distinct``), never once per row.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_text(values: pd.Series) -> pd.Series:
    """Any column as text (str dtype, missing as NA); dates as ISO dates, whole floats without '.0'."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    codes, uniques = pd.factorize(values)
    texts = np.array([_text_of(v) for v in uniques], dtype=object)
    out = np.full(len(values), None, dtype=object)
    present = codes >= 0
    if len(texts):
        out[present] = texts[codes[present]]
    return pd.Series(out, dtype="str")


def _text_of(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def blank(text: pd.Series) -> np.ndarray:
    """Per row: the text is missing or only spaces."""
    return (text.isna() | (text.str.strip() == "")).fillna(True).to_numpy(dtype=bool)


def per_row(index: np.ndarray, present: np.ndarray, per_distinct: np.ndarray, fill: object) -> np.ndarray:
    """Values found for each distinct value (``per_distinct``), spread back to the rows: ``index`` is each
    row's position among the distinct values; rows not ``present`` get ``fill``."""
    out = np.full(index.size, fill, dtype=per_distinct.dtype)
    out[present] = per_distinct[index[present]]
    return out


class Numbers:
    """A count column parsed to float64 (NaN where missing or not a number). ``not_number`` marks cells
    that are not empty and not a finite number; ``non_finite`` those of them that read as infinite or
    undefined (``inf``, ``-Infinity``, ``NaN`` written as text, ``1e999``)."""

    def __init__(self, values: pd.Series):
        self.source = values
        self._text: pd.Series | None = None
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            floats = values.to_numpy(dtype=np.float64, na_value=np.nan)
            self.missing = np.isnan(floats)
        else:
            self._text = as_text(values)
            stripped = self._text.str.strip()
            self.missing = blank(self._text)
            arrow = pa.array(stripped.where(~self.missing, None), type=pa.string(), from_pandas=True)
            try:
                floats = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                floats = pd.to_numeric(stripped.where(~self.missing, None), errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            floats = np.asarray(floats, dtype=np.float64)
        finite = np.isfinite(floats)
        self.not_number = ~self.missing & ~finite
        self.non_finite = self.not_number & np.isinf(floats)
        if self.not_number.any() and self._text is not None:
            self.non_finite |= self.not_number & self._reads_as_nan()
        self.values = np.where(finite, floats, np.nan)

    def _reads_as_nan(self) -> np.ndarray:
        """Per row: the cell is NaN written as text ('nan', 'NaN'): only looked at when something is wrong."""
        lowered = self._text.str.strip().str.lower()
        return lowered.isin(["nan", "-nan", "+nan"]).fillna(False).to_numpy(dtype=bool)

    @property
    def text(self) -> pd.Series:
        """How each value looked in the file (converted only when a problem needs it)."""
        if self._text is None:
            self._text = as_text(self.source)
        return self._text

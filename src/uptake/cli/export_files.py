"""Writing mission tables to files (CSV, Parquet, JSON). Nested columns (a rating's trace, a filing's
content) are JSON text in CSV and Parquet and nested objects in JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from uptake.errors import UptakeError
from uptake.safe_cells import safe_frame

FORMATS = ("csv", "parquet", "json")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (dict, list)):
        return value.item()
    return value


def check_format(fmt: str) -> str:
    """``fmt`` when it is one of FORMATS, else an UptakeError naming them."""
    if fmt not in FORMATS:
        raise UptakeError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return fmt


def write_frame(frame: pd.DataFrame, path: Path | str, fmt: str) -> Path:
    """Write `frame` to `path` in `fmt` (written to a temporary name, then renamed)."""
    check_format(fmt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    nested = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (dict, list))).any()]
    if fmt == "json":
        records = [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]
        temporary.write_text(json.dumps(records, indent=1, default=str), encoding="utf-8")
    else:
        flat = frame.copy()
        for column in nested:
            flat[column] = flat[column].map(lambda v: json.dumps(v, sort_keys=True, default=str))
        for column in flat.columns:  # dates as ISO text in CSV; as dates in Parquet
            if fmt == "csv" and flat[column].map(lambda v: isinstance(v, dt.date)).any():
                flat[column] = flat[column].map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        if fmt == "csv":
            safe_frame(flat).to_csv(temporary, index=False)  # formula-like text neutralised (CSV injection)
        else:
            flat.to_parquet(temporary, index=False)
    os.replace(temporary, path)
    return path

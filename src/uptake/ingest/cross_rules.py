"""Rules across rows: one row per organisation and period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from uptake.ingest.findings import Findings, joined
from uptake.ingest.period_rules import PERIOD_OK, Periods
from uptake.ingest.row_rules import Codes


def check_duplicates(
    findings: Findings, codes: Codes, periods: Periods, org_column: str, period_column: str
) -> None:
    """Rows with the same (organisation, period) key: each later row names the first row with that key.
    Only rows with a code and a readable, valid period are compared."""
    keyed = ~codes.missing & (periods.status == PERIOD_OK) & findings.checked
    if not keyed.any():
        return
    rows = findings.rows
    positions = np.flatnonzero(keyed)
    keys = pd.DataFrame({"code": codes.index[positions], "day": periods.days[positions].astype(np.int64)})
    duplicated = keys.duplicated(keep=False).to_numpy()
    if not duplicated.any():
        return
    dup_positions = positions[duplicated]
    sub = keys.loc[duplicated].assign(row=rows[dup_positions])
    first = sub.groupby(["code", "day"], sort=False)["row"].transform("min").to_numpy()
    later = rows[dup_positions] != first
    size = len(codes.missing)
    first_row = np.zeros(size, dtype=np.int64)
    first_row[dup_positions[later]] = first[later]
    mask = np.zeros(size, dtype=bool)
    mask[dup_positions[later]] = True
    findings.add(
        "duplicate", mask, f"{org_column}, {period_column}",
        joined(codes.text, " ", periods.text),
        joined("the same organisation and period as row ", first_row),
        "keep one row per organisation and period: remove the duplicate, or add the rows together",
    )

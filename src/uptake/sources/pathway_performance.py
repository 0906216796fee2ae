"""Each stroke unit's thrombolysis pathway, as SAMueL measured it in SSNAP (132 anonymised units).

``hospital_pathway_performance.csv`` (samuel-book/skeleton-pathway-model, published by the SAMueL project,
University of Exeter, from SSNAP records 2016-2018) has one row per anonymised stroke team: yearly
admissions (a three-year mean), the share aged 80 or over, the share with a known onset time, of those the
share arriving within 4 hours, the share scanned within 4 hours of arrival, the share of those scanned in
time judged eligible, and the lognormal parameters (mu, sigma of the natural log of minutes) of
onset-to-arrival, arrival-to-scan and scan-to-needle times. The teams are anonymised codes: they cannot be
joined to the named units of the other stroke files.

``read_pathway_performance`` checks every column and value and names the row and column of anything wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.sources._common import read_csv

PATHWAY_FILE = "hospital_pathway_performance.csv"

#: Columns that are shares of patients (0-1).
SHARE_COLUMNS: tuple[str, ...] = (
    "thrombolysis_rate",
    "80_plus",
    "onset_known",
    "known_arrival_within_4hrs",
    "scan_within_4_hrs",
    "eligable",
)
#: Lognormal parameters: (mu, sigma) of log minutes.
LOGNORMAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("onset_arrival_mins_mu", "onset_arrival_mins_sigma"),
    ("arrival_scan_arrival_mins_mu", "arrival_scan_arrival_mins_sigma"),
    ("scan_needle_mins_mu", "scan_needle_mins_sigma"),
)
REQUIRED_COLUMNS: tuple[str, ...] = (
    ("stroke_team", "admissions") + SHARE_COLUMNS + tuple(name for pair in LOGNORMAL_COLUMNS for name in pair)
)


def validate_pathway_performance(frame: pd.DataFrame, source: str = PATHWAY_FILE) -> pd.DataFrame:
    """The frame, checked: every required column present, shares within 0-1, admissions positive, sigmas
    not negative, no team twice. Raises UptakeError naming the file, row (1-based, after the header),
    column, value and what to do."""
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise UptakeError(
            f"{source}: columns {missing} are missing; the file needs {list(REQUIRED_COLUMNS)} "
            "(SAMueL's hospital pathway performance layout)"
        )
    frame = frame.reset_index(drop=True)
    numeric = [name for name in REQUIRED_COLUMNS if name != "stroke_team"]
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise UptakeError(
                f"{source}: row {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not a number; "
                "give a number"
            )
        frame[column] = values.astype(float)
    checks = [(column, (frame[column] < 0) | (frame[column] > 1), "a share between 0 and 1") for column in SHARE_COLUMNS]
    checks.append(("admissions", frame["admissions"] < 1, "at least 1 admission a year"))
    checks += [(sigma, frame[sigma] < 0, "a sigma of 0 or more") for _, sigma in LOGNORMAL_COLUMNS]
    for column, bad, expected in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise UptakeError(
                f"{source}: row {row + 2}, column {column!r}: {frame[column].iloc[row]!r} is not {expected}; "
                "correct the value"
            )
    teams = frame["stroke_team"].astype(str).str.strip()
    duplicated = teams.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise UptakeError(f"{source}: row {row + 2}: stroke team {teams.iloc[row]!r} appears twice; keep one row per team")
    frame["stroke_team"] = teams
    return frame


def read_pathway_performance() -> pd.DataFrame:
    """The bundled 132 units' pathway parameters, validated."""
    return validate_pathway_performance(read_csv(PATHWAY_FILE))

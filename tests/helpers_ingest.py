"""Small fabricated organisations, indicators and files for the analytics-store and ingest tests.

Nothing here depends on the bundled reference data or catalogue: the organisations are made up (codes in
the real ODS shapes) and indicators are built with Indicator.model_validate.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from uptake.analytics import AnalyticsStore
from uptake.catalogue.loader import Catalogue
from uptake.catalogue.schemas import Indicator

ORG_ROWS = [
    # code, level, name
    ("ENG", "england", "England"),
    ("Y56", "region", "London"),
    ("QMJ", "icb", "North Central London ICB"),
    ("93C", "sub-icb", "North Central London sub-ICB"),
    ("00L", "sub-icb", "Northumberland sub-ICB"),
    ("01A", "sub-icb", "Wirral sub-ICB"),
    ("02G", "sub-icb", "West Cheshire sub-ICB"),
    ("A81001", "practice", "The Densham Surgery"),
    ("A81002", "practice", "Queens Park Medical Centre"),
    ("RXX01", "stroke-unit", "Example Stroke Unit"),
]


def organisations() -> pd.DataFrame:
    frame = pd.DataFrame(ORG_ROWS, columns=["code", "level", "name"])
    frame["valid_from"] = "2019-04-01"
    frame["valid_to"] = ""
    frame["population"] = 100_000.0
    return frame


def relationships() -> pd.DataFrame:
    rows = [
        ("Y56", "region", "ENG", "england"),
        ("QMJ", "icb", "Y56", "region"),
        ("93C", "sub-icb", "QMJ", "icb"),
        ("00L", "sub-icb", "QMJ", "icb"),
        ("01A", "sub-icb", "QMJ", "icb"),
        ("02G", "sub-icb", "QMJ", "icb"),
        ("A81001", "practice", "00L", "sub-icb"),
        ("A81002", "practice", "00L", "sub-icb"),
        ("RXX01", "stroke-unit", "QMJ", "icb"),
    ]
    frame = pd.DataFrame(rows, columns=["child_code", "child_level", "parent_code", "parent_level"])
    frame["valid_from"] = "2019-04-01"
    frame["valid_to"] = None
    return frame


def make_indicator(**overrides) -> Indicator:
    data = {
        "id": "doac-share",
        "innovation": "doacs",
        "title": "DOACs as a share of oral anticoagulant items",
        "why_it_matters": "DOACs prevent strokes in atrial fibrillation with less monitoring than warfarin.",
        "numerator": "DOAC items",
        "denominator": "all oral anticoagulant items",
        "measure": "proportion",
        "polarity": "high-is-good",
        "levels": ["sub-icb"],
        "period": "month",
        "first_period": "2019-04-01",
        "source": {"name": "English Prescribing Dataset", "publisher": "NHSBSA"},
        "authored_by": "analyst-a",
        "checked_by": "analyst-b",
        "date_reviewed": "2025-01-01",
        "next_review": "2026-01-01",
    }
    data.update(overrides)
    return Indicator.model_validate(data)


def make_catalogue(*indicators: Indicator) -> Catalogue:
    indicators = indicators or (make_indicator(),)
    return Catalogue(indicators={indicator.id: indicator for indicator in indicators})


def make_store(directory: Path, orgs: pd.DataFrame | None = None) -> AnalyticsStore:
    store = AnalyticsStore(Path(directory) / "analytics" / "uptake.duckdb")
    store.sync_reference(organisations() if orgs is None else orgs, relationships())
    return store


HEADER = "org_code,period,numerator,denominator"


def write_csv(path: Path, lines: list[str], header: str | None = HEADER, *, encoding: str = "utf-8") -> Path:
    text = "\n".join(([header] if header is not None else []) + lines) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


GOOD_LINES = [
    "00L,2024-01-01,50,100",
    "01A,2024-01-01,30,40",
    "02G,2024-01-01,0,25",
    "00L,2024-02-01,55,100",
    "01A,2024-02-01,31,40",
]


def fabricated_codes(count: int) -> list[str]:
    return [f"P{i:05d}" for i in range(count)]


def practice_organisations(count: int) -> pd.DataFrame:
    """``count`` fabricated GP practices (codes P00000...) under one sub-ICB, for large-file tests."""
    codes = fabricated_codes(count)
    frame = pd.DataFrame({"code": codes, "level": "practice", "name": [f"Practice {c}" for c in codes]})
    return pd.concat([organisations(), frame], ignore_index=True)


def write_large_csv(
    path: Path, organisations_count: int, months: int, *, first: str = "2000-01-01", seed: int = 7
) -> int:
    """A valid CSV of organisations x months rows for a practice-level monthly indicator; returns rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    codes = np.array(fabricated_codes(organisations_count))
    periods = pd.date_range(first, periods=months, freq="MS").strftime("%Y-%m-%d").to_numpy()
    rows = organisations_count * months
    denominator = rng.integers(1, 5000, rows)
    numerator = (denominator * rng.random(rows)).astype(np.int64)
    table = pa.table(
        {
            "org_code": np.repeat(codes, months),
            "period": np.tile(periods, organisations_count),
            "numerator": numerator,
            "denominator": denominator,
        }
    )
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))
    return rows

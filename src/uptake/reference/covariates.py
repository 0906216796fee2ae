"""Characteristics of each GP practice's registered population that similar peers are matched on, besides
the IMD score and list size of ``organisations`` (package data ``practice_covariates.csv``, written by
scripts/build_reference.py; provenance in data/ATTRIBUTION.md, derivation in docs/reference-data.md).

``load_practice_covariates()`` gives one row per practice code (ODS) with:

* ``aged_65_plus``: the share of the practice's list aged 65 or over, in percent (NHS Digital, Patients
  Registered at a GP Practice, February 2026); missing where the practice had fewer than 500 patients
  then or is not in the file;
* ``rural``: 1 when the practice's LSOA is rural (2011 Rural-Urban Classification D or E), 0 when urban
  (A-C); missing where unknown.

Only real, published characteristics are here: nothing derived from an indicator's observations.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from uptake.reference.loader import data_dir

COVARIATES_FILE = "practice_covariates.csv"
#: The practice covariates similar peers use, in the order they are matched on.
PRACTICE_COVARIATES: tuple[str, ...] = ("aged_65_plus", "rural")


@lru_cache(maxsize=1)
def _read() -> pd.DataFrame:
    frame = pd.read_csv(
        data_dir() / COVARIATES_FILE,
        dtype={"code": "str", "list_size_2026": "Int64", "aged_65_plus": "float64", "ruc11": "str",
               "rural": "float64"},
        keep_default_na=False,
        na_values=[""],
    )
    frame = frame.set_index("code")
    if not frame.index.is_unique:
        raise ValueError(f"{COVARIATES_FILE}: a practice code appears twice")
    return frame


def load_practice_covariates() -> pd.DataFrame:
    """The bundled practice covariates, indexed by practice code (a fresh copy per call)."""
    return _read().copy()

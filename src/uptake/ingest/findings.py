"""Row problems as the rules find them: one problem frame per rule and column, messages built only for
the rows that have the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from uptake.ingest.problems import problem_frame

#: A message part per problem: a scalar, an array or Series with one entry per row, or a function of the
#: positions of the problem rows.
Part = Any


class Findings:
    """Problems of the rows ``checked`` (the rows a reader could read), in the order the rules add them.

    ``rows[i]`` is the spreadsheet row number of position ``i``."""

    def __init__(self, rows: np.ndarray, checked: np.ndarray):
        self.rows = rows
        self.checked = checked
        self.frames: list[pd.DataFrame] = []

    def add(self, rule: str, mask: np.ndarray, column: str, value: Part, reason: Part, action: Part) -> None:
        """Record a problem for each row in ``mask``; value/reason/action are a scalar, a full-length
        array, or a function of the selected positions (so messages are built only for problem rows)."""
        mask = mask & self.checked
        if not mask.any():
            return
        pick = np.flatnonzero(mask)

        def take(item: Part) -> Part:
            if callable(item):
                return np.asarray(item(pick), dtype=object)
            if isinstance(item, pd.Series):
                return item.iloc[pick].to_numpy(dtype=object, na_value=None)
            if isinstance(item, np.ndarray):
                return item[pick]
            return item

        self.frames.append(
            problem_frame(rule, self.rows[pick], column, take(value), take(reason), take(action))
        )


def joined(*parts: str | pd.Series | np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function of positions that joins text parts (strings, or arrays of one value per row)."""

    def build(pick: np.ndarray) -> np.ndarray:
        out = np.full(len(pick), "", dtype=object)
        for part in parts:
            if isinstance(part, str):
                out = out + part
            else:
                if isinstance(part, pd.Series):
                    chosen = part.iloc[pick].to_numpy(dtype=object)
                else:
                    chosen = part[pick]
                texts = ["" if v is None or v is pd.NA or v != v else str(v) for v in chosen]
                out = out + np.array(texts, dtype=object)
        return out

    return build

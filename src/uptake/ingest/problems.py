"""Problems found in an input file, kept as one table so millions of them stay cheap."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.safe_cells import safe_arrow

#: Rules in the order they are reported; the short ids appear in the CSV report and the summary.
RULES: dict[str, str] = {
    "empty-file": "the file has no data",
    "unreadable": "the file cannot be read",
    "missing-column": "a required column is missing",
    "duplicate-column": "two columns that could hold the same field",
    "bad-mapping": "a --map names a column that is not in the file",
    "undecodable": "text that is not UTF-8",
    "malformed-row": "a row with more cells than the header",
    "wrong-indicator": "a row for another indicator",
    "missing-value": "a required value is empty",
    "not-a-number": "a count that is not a number (text, or infinite or undefined)",
    "negative": "a negative count",
    "out-of-range": "a count too large to be one, or a value outside the indicator's stated range",
    "not-whole": "a fractional count where the indicator counts",
    "zero-denominator": "a zero or missing denominator",
    "numerator-above-denominator": "a numerator above its denominator",
    "unknown-organisation": "an organisation code that is not known",
    "wrong-level": "an organisation of a level the indicator does not use",
    "bad-period": "a period that cannot be read",
    "invalid-period": "a period outside the indicator's range or alignment",
    "duplicate": "the same organisation and period twice",
    "implausible-size": "a count too large for the organisation's population",
    "size-change": "a denominator far from the organisation's recent ones (--allow-jumps if real)",
    "jump": "a value far from the organisation's recent ones (--allow-jumps if real)",
    "incomplete-period": "a period missing too many organisations (--partial to load it as provisional)",
}
_RULE_ORDER = {rule: order for order, rule in enumerate(RULES)}
PROBLEM_COLUMNS = ["row", "column", "value", "reason", "action", "rule"]


@dataclass(frozen=True)
class Problem:
    """One problem: ``row`` is the row number a spreadsheet shows (header = 1, first data row = 2),
    None for a problem with the whole file; ``column`` is the column as named in the file (or the
    missing field); ``action`` says what to do about it."""

    row: int | None
    column: str | None
    value: str | None
    reason: str
    action: str
    rule: str = ""


def _clean(value: object) -> object:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def problem_frame(
    rule: str,
    row: object,
    column: object,
    value: object,
    reason: object,
    action: object,
) -> pd.DataFrame:
    """Problems as a frame: each argument is a scalar or an array-like with one entry per problem."""
    lengths = [len(v) for v in (row, column, value, reason, action) if _is_array(v)]
    count = lengths[0] if lengths else 1
    data = {
        "row": row if _is_array(row) else [row] * count,
        "column": column if _is_array(column) else [column] * count,
        "value": value if _is_array(value) else [value] * count,
        "reason": reason if _is_array(reason) else [reason] * count,
        "action": action if _is_array(action) else [action] * count,
        "rule": [rule] * count,
    }
    return pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in data.items()})


def _is_array(value: object) -> bool:
    return not isinstance(value, (str, bytes)) and hasattr(value, "__len__")


def as_frame(problem: Problem) -> pd.DataFrame:
    return problem_frame(
        problem.rule, problem.row, problem.column, problem.value, problem.reason, problem.action
    )


class Problems(Sequence[Problem]):
    """Every problem found, in row order, backed by a DataFrame with PROBLEM_COLUMNS."""

    def __init__(self, frame: pd.DataFrame | None = None):
        if isinstance(frame, list):
            parts = [as_frame(p) if isinstance(p, Problem) else p for p in frame]
            parts = [p for p in parts if not p.empty]
            frame = pd.concat(parts, ignore_index=True) if parts else None
        if frame is None or frame.empty:
            frame = pd.DataFrame({name: pd.Series(dtype=object) for name in PROBLEM_COLUMNS})
        frame = frame[PROBLEM_COLUMNS].copy()
        order = pd.Categorical(frame["rule"].astype(object), categories=list(RULES)).codes.astype(np.int64)
        order[order < 0] = len(RULES)
        row = pd.to_numeric(frame["row"], errors="coerce").fillna(0)
        frame = frame.assign(_row=row, _order=order).sort_values(["_row", "_order"], kind="stable")
        self.frame = frame.drop(columns=["_row", "_order"]).reset_index(drop=True)

    @classmethod
    def from_list(cls, problems: Sequence[Problem]) -> "Problems":
        if isinstance(problems, Problems):
            return problems
        return cls(list(problems))

    def __len__(self) -> int:
        return len(self.frame)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        record = self.frame.iloc[index]
        row = _clean(record["row"])
        return Problem(
            row=None if row is None else int(row),
            column=_clean(record["column"]),
            value=_clean(record["value"]),
            reason=str(record["reason"]),
            action=str(record["action"]),
            rule=str(record["rule"]),
        )

    def __iter__(self) -> Iterator[Problem]:
        for index in range(len(self)):
            yield self[index]

    def counts(self) -> dict[str, int]:
        """Number of problems per rule, in rule order."""
        counts = self.frame["rule"].value_counts()
        ordered = sorted(counts.index, key=lambda rule: _RULE_ORDER.get(rule, len(_RULE_ORDER)))
        return {rule: int(counts[rule]) for rule in ordered}

    def sample(self, per_rule: int = 20) -> list[Problem]:
        """At most ``per_rule`` problems of each rule (the first by row), in row order."""
        kept = self.frame.groupby("rule", sort=False).head(per_rule)
        return [self[int(i)] for i in kept.index]

    def to_csv(self, path: Path | str) -> Path:
        """Write every problem to a CSV file (UTF-8 with BOM so Excel shows it correctly)."""
        # deferred: pyarrow is heavy and only this path needs it
        import pyarrow as pa
        import pyarrow.csv as pacsv

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.frame
        table = pa.table(
            {
                "row": pa.array(
                    pd.to_numeric(frame["row"], errors="coerce"), type=pa.int64(), from_pandas=True
                ),
                **{
                    name: _arrow_text(frame[name])
                    for name in PROBLEM_COLUMNS[1:]
                },
            }
        )
        with open(path, "wb") as handle:
            handle.write("\ufeff".encode("utf-8"))
            pacsv.write_csv(safe_arrow(table), handle)  # the values echo the input: no live formulas
        return path

    def summary(self) -> str:
        return ", ".join(f"{count:,} {rule}" for rule, count in self.counts().items())


def _arrow_text(values: pd.Series):
    # deferred: pyarrow is heavy and only this path needs it
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True).cast(pa.string())
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([None if v is None or v != v else str(v) for v in values], type=pa.string())


class IngestRejected(UptakeError):
    """A file failed validation; nothing was loaded. ``problems`` holds every problem found."""

    def __init__(self, problems: Sequence[Problem] | Problems, path: Path | str):
        self.problems = Problems.from_list(problems)
        self.path = Path(path) if not isinstance(path, Path) else path
        count = len(self.problems)
        super().__init__(
            f"{self.path}: {count:,} problem{'s' if count != 1 else ''} ({self.problems.summary()}); "
            "nothing was loaded"
        )

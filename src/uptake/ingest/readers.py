"""Readers: CSV, Excel (.xlsx) and Parquet into one raw table, with the row number a user sees.

Readers do not judge the data; they only report what stops a file being read (an empty file, bytes that
are not UTF-8, a row with more cells than the header, a workbook that cannot be opened) and hand the
cells on as they are, so validation can name the exact row and column of every problem.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from uptake.errors import UptakeError
from uptake.ingest.problems import Problem, problem_frame

ProgressCallback = Callable[[str, float, float | None], None]

CSV_SUFFIXES = {".csv", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}

#: The replacement character that stands in for bytes that are not valid UTF-8.
REPLACEMENT = "\ufffd"
_CSV_CHUNK_ROWS = 500_000
_SAVE_AS_UTF8 = (
    "save the file as CSV UTF-8 (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)') and load it again"
)


@dataclass
class RawTable:
    """Cells as read. ``rows[i]`` is the spreadsheet row number of ``frame.iloc[i]``; ``excluded`` marks
    rows that could not be read properly (already reported) and are not checked further."""

    frame: pd.DataFrame
    rows: np.ndarray
    label: str
    header_row: int = 1
    #: problems found while reading: Problem objects or problem frames (see problems.problem_frame)
    problems: list[Problem | pd.DataFrame] = field(default_factory=list)
    excluded: np.ndarray | None = None
    #: True when the reader could not get as far as a header (nothing else can be checked)
    unreadable: bool = False

    @classmethod
    def failed(cls, label: str, problem: Problem) -> "RawTable":
        return cls(pd.DataFrame(), np.zeros(0, dtype=np.int64), label, problems=[problem], unreadable=True)


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix == ".xls":
        raise UptakeError(
            f"{path}: old-style .xls workbooks are not read; open it in Excel and save as .xlsx or CSV UTF-8"
        )
    raise UptakeError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'}; "
        "use .csv (UTF-8), .xlsx or .parquet"
    )


def read_file(path: Path, *, sheet: str | None = None, progress: ProgressCallback | None = None) -> RawTable:
    kind = file_format(path)
    if kind == "csv":
        return read_csv(path, progress=progress)
    if kind == "excel":
        return read_excel(path, sheet=sheet, progress=progress)
    return read_parquet(path, progress=progress)


def _drop_blank_rows(raw: RawTable) -> RawTable:
    """Remove rows with no value in any cell (blank lines); other rows keep their numbers."""
    frame = raw.frame
    if frame.empty:
        return raw
    blank = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        values = frame[column]
        empty = values.isna().to_numpy(dtype=bool)
        if isinstance(values.dtype, pd.StringDtype):
            empty = empty | (values.str.strip() == "").fillna(True).to_numpy(dtype=bool)
        blank &= empty
    if blank.any():
        keep = ~blank
        raw.frame = frame.loc[keep].reset_index(drop=True)
        raw.rows = raw.rows[keep]
        if raw.excluded is not None:
            raw.excluded = raw.excluded[keep]
    return raw


# ---------------------------------------------------------------------------------------------- CSV
_SKIPPED = re.compile(r"Skipping line (\d+): expected (\d+) fields, saw (\d+)")


def read_csv(path: Path, *, progress: ProgressCallback | None = None) -> RawTable:
    """Read a comma-separated UTF-8 file (a byte-order mark is allowed) with every cell as text.

    The fast path parses with Arrow; a file that is not clean UTF-8 or has a malformed row is read again
    by pandas' parser, which decodes what it can and names the line of every bad row."""
    label = str(path)
    size = path.stat().st_size
    if size == 0:
        return RawTable.failed(label, _empty_problem("the file is empty (0 bytes)"))
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return RawTable.failed(
            label,
            Problem(
                None, None, None, "the file is encoded as UTF-16, not UTF-8", _SAVE_AS_UTF8, "undecodable"
            ),
        )
    if head.startswith(b"PK\x03\x04"):
        return RawTable.failed(
            label,
            Problem(
                None, None, None, "the file is an Excel workbook or a zip archive, not CSV text",
                "give it the .xlsx extension, or save it from Excel as CSV UTF-8", "unreadable",
            ),
        )
    raw = _read_csv_arrow(path, size, progress)
    if raw is None:
        raw = _read_csv_pandas(path, size, progress)
    if not raw.unreadable:
        _mark_undecodable(raw)
    return _drop_blank_rows(raw)


class _CountingReader(io.RawIOBase):
    """A binary file wrapper that reports how many bytes have been read (for progress)."""

    def __init__(self, handle, size: int, progress: ProgressCallback | None):
        self._handle = handle
        self._size = size
        self._progress = progress
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._handle.readinto(buffer)
        self.count += count or 0
        if self._progress:
            self._progress("read", min(self.count, self._size), self._size)
        return count


def _read_csv_arrow(path: Path, size: int, progress: ProgressCallback | None) -> RawTable | None:
    """Arrow's parser, for clean files: None if the file needs the careful (pandas) reader."""
    # deferred: pyarrow is heavy and only this path needs it
    import pyarrow as pa
    import pyarrow.csv as pacsv

    label = str(path)
    malformed: list[object] = []

    def on_invalid(row) -> str:
        malformed.append(row)
        return "error"

    try:
        with open(path, "rb") as handle:
            first = pacsv.open_csv(
                handle, read_options=pacsv.ReadOptions(block_size=1 << 16, use_threads=False)
            )
            names = first.schema.names
        with open(path, "rb") as handle:
            counted = _CountingReader(handle, size, progress)
            reader = pacsv.open_csv(
                io.BufferedReader(counted, buffer_size=1 << 20),
                read_options=pacsv.ReadOptions(block_size=16 << 20),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            table = reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError, ValueError):
        return None
    if malformed:
        return None
    names = [name if name.strip() else f"column {i + 1}" for i, name in enumerate(table.column_names)]
    names = [name for name, _ in _unique_names(names, [[]] * len(names))]
    frame = table.rename_columns(names).to_pandas()
    return RawTable(frame, np.arange(2, len(frame) + 2, dtype=np.int64), label)


def _read_csv_pandas(path: Path, size: int, progress: ProgressCallback | None) -> RawTable:
    label = str(path)
    chunks: list[pd.DataFrame] = []
    with open(path, "rb") as handle, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reader = pd.read_csv(
                handle,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                encoding="utf-8-sig",
                encoding_errors="replace",
                on_bad_lines="warn",
                chunksize=_CSV_CHUNK_ROWS,
            )
            with reader:
                for chunk in reader:
                    chunks.append(chunk)
                    if progress:
                        progress("read", min(handle.tell(), size), size)
        except pd.errors.EmptyDataError:
            return RawTable.failed(label, _empty_problem("the file has no header row and no data"))
        except pd.errors.ParserError as exc:
            return RawTable.failed(label, _parser_problem(str(exc)))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    problems: list[Problem | pd.DataFrame] = []
    skipped: list[int] = []
    reasons: list[str] = []
    for warning in caught:
        for match in _SKIPPED.finditer(str(warning.message)):
            line, expected, saw = (int(g) for g in match.groups())
            skipped.append(line)
            reasons.append(f"the row has {saw} cells but the header has {expected}")
    if skipped:
        problems.append(
            problem_frame(
                "malformed-row", np.array(skipped, dtype=np.int64), None, None, reasons,
                "remove the extra cells; a value that contains a comma must be in double quotes",
            )
        )
    return RawTable(frame, _row_numbers(len(frame), skipped), label, problems=problems)


def _row_numbers(count: int, skipped: list[int]) -> np.ndarray:
    """Row numbers of ``count`` data rows (header = row 1) when the rows ``skipped`` were left out."""
    index = np.arange(count, dtype=np.int64)
    if not skipped:
        return index + 2
    gaps = np.array(sorted(set(skipped)), dtype=np.int64)
    # the j-th skipped row (0-based) pushes every data row at index >= gaps[j] - 2 - j down by one
    shift = np.searchsorted(gaps - 2 - np.arange(len(gaps)), index, side="right")
    return index + 2 + shift


def _mark_undecodable(raw: RawTable) -> None:
    """Cells with bytes that are not UTF-8 were decoded with U+FFFD; report each such row once."""
    frame = raw.frame
    for column in frame.columns:
        if REPLACEMENT in str(column):
            raw.problems.append(
                Problem(
                    raw.header_row, str(column), str(column),
                    "the column name contains bytes that are not valid UTF-8 text",
                    _SAVE_AS_UTF8,
                    "undecodable",
                )
            )
    if frame.empty:
        return
    bad = np.zeros(len(frame), dtype=bool)
    first_column = np.full(len(frame), None, dtype=object)
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_string_dtype(values):
            continue
        hit = values.str.contains(REPLACEMENT, regex=False).fillna(False).to_numpy(dtype=bool)
        new = hit & ~bad
        first_column[new] = column
        bad |= hit
    if not bad.any():
        return
    raw.excluded = bad
    index = np.flatnonzero(bad)
    columns = first_column[index]
    values = np.empty(len(index), dtype=object)
    for column in pd.unique(columns):
        where = columns == column
        values[where] = frame[column].to_numpy()[index[where]]
    raw.problems.append(
        problem_frame(
            "undecodable", raw.rows[index], columns, values,
            f"the text is not valid UTF-8 (the bad bytes are shown as {REPLACEMENT})", _SAVE_AS_UTF8,
        )
    )


def _empty_problem(reason: str) -> Problem:
    return Problem(
        None, None, None, reason,
        "check you exported the right file: it needs a header row (org_code, period, numerator, "
        "denominator) and one row per organisation and period",
        "empty-file",
    )


def _parser_problem(message: str) -> Problem:
    line = re.search(r"(?:row|line) (\d+)", message)
    text = message.split("C error:")[-1].strip()
    row = int(line.group(1)) if line else None
    if row is not None and "row" in message and "line" not in message:
        row += 1  # pandas counts data rows from 0 after the header; spreadsheets count the header as 1
    return Problem(
        row, None, None, f"the file cannot be read as CSV: {text}",
        "check the quoting around this row (every opening double quote needs a closing one)", "unreadable",
    )


# -------------------------------------------------------------------------------------------- Excel
def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_excel(path: Path, *, sheet: str | None = None, progress: ProgressCallback | None = None) -> RawTable:
    """Read the first worksheet (or ``sheet``, by name or 1-based number) of an .xlsx workbook."""
    # deferred: openpyxl is heavy and only this path needs it
    import openpyxl  # imported here: only Excel loads pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    label = str(path)
    if path.stat().st_size == 0:
        return RawTable.failed(label, _empty_problem("the file is empty (0 bytes)"))
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        return RawTable.failed(
            label,
            Problem(None, None, None, f"the workbook cannot be opened ({exc})",
                    "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8", "unreadable"),
        )
    try:
        names = workbook.sheetnames
        if sheet is None:
            chosen = names[0]
        elif sheet in names:
            chosen = sheet
        elif sheet.isdigit() and 1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        else:
            matches = [name for name in names if name.strip().lower() == sheet.strip().lower()]
            if not matches:
                return RawTable.failed(
                    label,
                    Problem(None, None, sheet, f"the workbook has no sheet {sheet!r}",
                            "use --sheet with one of: " + ", ".join(repr(n) for n in names), "unreadable"),
                )
            chosen = matches[0]
        worksheet = workbook[chosen]
        total = worksheet.max_row
        header: list[str] | None = None
        header_row = 1
        columns: list[list[str | None]] = []
        row_numbers: list[int] = []
        for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if header is None:
                if any(c is not None for c in cells):
                    width = max(i for i, c in enumerate(cells) if c is not None) + 1
                    header = [
                        c.strip() if c is not None else f"column {i + 1}"
                        for i, c in enumerate(cells[:width])
                    ]
                    header_row = number
                    columns = [[] for _ in header]
                continue
            if not any(c is not None for c in cells[: len(header)]):
                continue
            row_numbers.append(number)
            for i, column in enumerate(columns):
                column.append(cells[i] if i < len(cells) else None)
            if progress and number % 50_000 == 0:
                progress("read", number, total)
        if progress:
            progress("read", total or len(row_numbers), total or len(row_numbers))
    finally:
        workbook.close()
    if header is None:
        return RawTable.failed(label, _empty_problem(f"the sheet {chosen!r} is empty"))
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype="str") for name, values in _unique_names(header, columns)}
    )
    rows = np.array(row_numbers, dtype=np.int64)
    return RawTable(frame, rows, f"{label} (sheet {chosen!r})", header_row=header_row)


def _unique_names(header: list[str], columns: list[list]) -> list[tuple[str, list]]:
    seen: dict[str, int] = {}
    out = []
    for name, values in zip(header, columns):
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append((name, values))
    return out


# ------------------------------------------------------------------------------------------ Parquet
def read_parquet(path: Path, *, progress: ProgressCallback | None = None) -> RawTable:
    """Read a Parquet file; column types are kept (validation accepts text or typed columns)."""
    # deferred: pyarrow is heavy and only this path needs it
    import pyarrow as pa
    import pyarrow.parquet as pq

    label = str(path)
    if path.stat().st_size == 0:
        return RawTable.failed(label, _empty_problem("the file is empty (0 bytes)"))
    try:
        parquet = pq.ParquetFile(path)
        total = parquet.metadata.num_rows
        batches = []
        done = 0
        for batch in parquet.iter_batches(batch_size=1_000_000):
            batches.append(batch)
            done += batch.num_rows
            if progress:
                progress("read", done, total)
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except (pa.ArrowException, OSError) as exc:
        return RawTable.failed(
            label,
            Problem(None, None, None, f"the file cannot be read as Parquet ({exc})",
                    "write it again as Parquet, or save it as CSV UTF-8", "unreadable"),
        )
    frame = table.to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    return _drop_blank_rows(RawTable(frame, np.arange(2, len(frame) + 2, dtype=np.int64), label))


def from_frame(frame: pd.DataFrame, label: str) -> RawTable:
    """An in-memory frame, numbered as if written to CSV with a header (first data row = 2)."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return _drop_blank_rows(RawTable(frame, np.arange(2, len(frame) + 2, dtype=np.int64), label))

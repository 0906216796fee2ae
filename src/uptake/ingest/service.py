"""Ingest: read a file (or take a frame), validate it completely, then load it in one transaction."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from uptake.analytics.store import AnalyticsStore
from uptake.catalogue.loader import Catalogue
from uptake.errors import UptakeError
from uptake.ingest.problems import IngestRejected
from uptake.ingest.readers import RawTable, file_format, from_frame, read_file
from uptake.ingest.validate import parse_mapping, validate

ProgressCallback = Callable[[str, float, float | None], None]
_HASH_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class IngestResult:
    """What a load did. ``no_op`` is True when the same content was already loaded (``batch_id`` is then
    that earlier batch and nothing changed)."""

    batch_id: int
    indicator: str
    rows: int
    periods: tuple[dt.date, ...]
    #: periods whose earlier version this load replaced, with the batch that had been current
    replaced_periods: dict[dt.date, int] = field(default_factory=dict)
    no_op: bool = False
    source: str = ""
    file_name: str = ""
    file_sha256: str = ""
    loaded_at: dt.datetime | None = None
    loaded_by: str = ""
    #: the content is the same as this earlier batch (which had since been superseded), loaded again
    same_as_batch: int | None = None
    #: loaded with partial=True (--partial): the periods are provisional, kept off headline figures
    provisional: bool = False
    #: jumps and size changes let through by allow_jumps=True (--allow-jumps), all counted
    jumps_allowed: int = 0

    @property
    def message(self) -> str:
        if self.no_op:
            return (
                f"{self.file_name} was already loaded as batch {self.batch_id} for {self.indicator} "
                f"(same content, sha256 {self.file_sha256[:12]}…); nothing changed"
            )
        text = (
            f"loaded {self.file_name} as batch {self.batch_id} for {self.indicator}: {self.rows:,} rows, "
            f"{len(self.periods)} period{'s' if len(self.periods) != 1 else ''}"
        )
        if self.replaced_periods:
            text += f", replacing {len(self.replaced_periods)} earlier period version(s)"
        if self.same_as_batch:
            text += f" (same content as batch {self.same_as_batch}, which had been superseded)"
        if self.provisional:
            text += "; provisional (partial): kept off the headline figures until a complete file replaces it"
        if self.jumps_allowed:
            text += f"; {self.jumps_allowed:,} jump(s) allowed (recorded with the batch)"
        return text


def file_sha256(path: Path, progress: ProgressCallback | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress("checksum", done, total)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """Checksum of a frame serialised as CSV (header and values, no index): the same data gives the same
    checksum whichever way the frame was built."""
    digest = hashlib.sha256()
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink)
        digest.update(sink.getvalue().to_pybytes())
    except (pa.ArrowException, TypeError, ValueError):
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        digest.update(buffer.getvalue().encode("utf-8"))
    return digest.hexdigest()


def default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def ingest_file(
    store: AnalyticsStore,
    catalogue: Catalogue,
    path: Path | str,
    indicator_id: str,
    *,
    source: str | None = None,
    mapping: Mapping[str, str] | Iterable[str] | None = None,
    loaded_by: str | None = None,
    sheet: str | None = None,
    progress: ProgressCallback | None = None,
    partial: bool = False,
    allow_jumps: bool = False,
) -> IngestResult:
    """Validate ``path`` for ``indicator_id`` and load it as one batch.

    Raises IngestRejected (with every problem) and loads nothing if any rule fails; returns a no-op
    result if the same file was already loaded for this indicator and is still current.
    ``mapping`` is column -> field (or ``COLUMN=FIELD`` strings); ``source`` defaults to the indicator's
    catalogue source name. ``partial`` (``--partial``) loads periods that fail the completeness check,
    marked provisional; ``allow_jumps`` (``--allow-jumps``) lets through values that jump away from the
    organisation's recent ones, listed with the batch.
    """
    path = Path(path)
    indicator = catalogue.indicator(indicator_id)
    columns = parse_mapping(mapping)
    if not path.is_file():
        raise UptakeError(f"there is no file {path}")
    file_format(path)  # rejects unknown extensions before any work
    checksum = file_sha256(path, progress)
    return _ingest(
        store, indicator, lambda: read_file(path, sheet=sheet, progress=progress), checksum,
        file_name=path.name, label=path, source=source, mapping=columns, loaded_by=loaded_by,
        sheet=sheet, progress=progress, partial=partial, allow_jumps=allow_jumps,
    )


def ingest_frame(
    store: AnalyticsStore,
    catalogue: Catalogue,
    frame: pd.DataFrame,
    indicator_id: str,
    *,
    source: str,
    name: str | None = None,
    mapping: Mapping[str, str] | Iterable[str] | None = None,
    loaded_by: str | None = None,
    progress: ProgressCallback | None = None,
    partial: bool = False,
    allow_jumps: bool = False,
) -> IngestResult:
    """Validate and load an in-memory frame exactly as a file would be. Rows are numbered as if the frame
    were written to CSV with a header (first data row = 2). ``name`` is recorded as the batch's file name
    (default ``<frame>``); the checksum is that of the frame serialised as CSV."""
    indicator = catalogue.indicator(indicator_id)
    columns = parse_mapping(mapping)
    file_name = name or "<frame>"
    checksum = frame_sha256(frame)
    return _ingest(
        store, indicator, lambda: from_frame(frame, file_name), checksum, file_name=file_name,
        label=Path(file_name), source=source, mapping=columns, loaded_by=loaded_by, sheet=None,
        progress=progress, partial=partial, allow_jumps=allow_jumps,
    )


def _ingest(
    store: AnalyticsStore,
    indicator,
    read: Callable[[], RawTable],
    checksum: str,
    *,
    file_name: str,
    label: Path,
    source: str | None,
    mapping: dict[str, str],
    loaded_by: str | None,
    sheet: str | None,
    progress: ProgressCallback | None,
    partial: bool = False,
    allow_jumps: bool = False,
) -> IngestResult:
    source = source or indicator.source.name
    loaded_by = loaded_by or default_user()
    with store.writing(f"ingesting {file_name} for {indicator.id}"):
        if not store.has_organisations():
            raise UptakeError(
                f"the analytics store {store.path} has no organisations yet; run `uptake init` or "
                "`uptake demo` first"
            )
        same_as: int | None = None
        earlier = store.find_batch(indicator.id, checksum)
        if earlier is not None:
            batch, current = earlier
            if current:
                return IngestResult(
                    batch_id=batch.batch_id, indicator=indicator.id, rows=batch.row_count,
                    periods=batch.periods, no_op=True, source=batch.source, file_name=file_name,
                    file_sha256=checksum,
                    loaded_at=batch.loaded_at, loaded_by=batch.loaded_by,
                )
            same_as = batch.batch_id
        raw = read()
        organisations = store.organisation_facts()
        history = store.observations_current(indicator.id) if _uses_history(indicator) else None
        result = validate(raw, indicator, organisations, mapping, progress=progress, history=history,
                          partial=partial, allow_jumps=allow_jumps)
        if not result.ok:
            raise IngestRejected(result.problems, label)
        recorded_mapping = {"columns": {field: column for field, column in result.columns.items()}}
        if mapping:
            recorded_mapping["map"] = dict(mapping)
        if sheet:
            recorded_mapping["sheet"] = sheet
        outcome = store.load_observations(
            result.table, indicator=indicator.id, source=source, file_name=file_name, file_sha256=checksum,
            loaded_by=loaded_by, mapping=recorded_mapping, progress=progress, provisional=partial,
            checks=result.checks.as_json(),
        )
    return IngestResult(
        batch_id=outcome.batch_id, indicator=indicator.id, rows=outcome.rows, periods=outcome.periods,
        replaced_periods=outcome.replaced, source=source, file_name=file_name, file_sha256=checksum,
        loaded_at=outcome.loaded_at, loaded_by=loaded_by, same_as_batch=same_as, provisional=partial,
        jumps_allowed=result.checks.jumps_allowed_count,
    )


def _uses_history(indicator) -> bool:
    """Whether the indicator's stated checks compare with the store's earlier periods."""
    checks = indicator.plausibility
    return (checks.jump is not None or checks.max_size_change is not None
            or (checks.completeness is not None and checks.completeness.of_previous is not None))

"""Ingest: read CSV, Excel and Parquet files (or frames), validate every row against the indicator and the
reference organisations, reject with every problem found, or load atomically with provenance."""

from uptake.ingest.problems import RULES, IngestRejected, Problem, Problems
from uptake.ingest.service import IngestResult, frame_sha256, file_sha256, ingest_file, ingest_frame
from uptake.ingest.validate import FIELDS, REQUIRED_FIELDS, parse_mapping

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "RULES",
    "IngestRejected",
    "IngestResult",
    "Problem",
    "Problems",
    "file_sha256",
    "frame_sha256",
    "ingest_file",
    "ingest_frame",
    "parse_mapping",
]

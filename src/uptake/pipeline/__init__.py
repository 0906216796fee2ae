"""The variation and opportunity pipeline (`uptake compute`): one Ibis aggregation on DuckDB or PySpark,
then vectorised statistics (``uptake.stats``) into result tables in the analytics store.

See docs/results.md for every table and column.
"""

from uptake.pipeline.run import STEPS, PipelineRun, ProgressEvent, resolve_store, run_pipeline
from uptake.pipeline.settings import ENGINES, PipelineSettings
from uptake.results.schema import PIPELINE_RUNS, RESULT_TABLES

__all__ = [
    "ENGINES",
    "PIPELINE_RUNS",
    "RESULT_TABLES",
    "STEPS",
    "PipelineRun",
    "PipelineSettings",
    "ProgressEvent",
    "resolve_store",
    "run_pipeline",
]

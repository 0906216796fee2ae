"""Fixtures of the spec cases: ``impl`` (stats / duckdb / pyspark, a parameter of each case), ``run`` (the
pipeline's result tables for the case's module on that engine, computed once per module and engine) and
one local Spark session for the whole test run, stopped as soon as the last module's PySpark run is done
(so a JVM does not idle through the rest of a full test run)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent):  # spec_support here, reference_pipeline one up
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

_SPARK_MODULES = pytest.StashKey[set]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember which spec modules will need a PySpark run."""
    session.config.stash[_SPARK_MODULES] = {
        item.module.__name__
        for item in session.items
        if getattr(item, "callspec", None) is not None and item.callspec.params.get("impl") == "pyspark"
        and Path(str(item.path)).parent == HERE
    }


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):
    """One local Spark session for every spec module (starting one costs seconds), or a skip saying why
    there is none."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("PySpark is not installed (the spark extra)")
    if shutil.which("java") is None:
        pytest.skip("PySpark needs Java (17) on the PATH")
    from uptake.pipeline.engines import spark_session

    try:
        session = spark_session("local[1]", tmp_path_factory.mktemp("spark"))
    except Exception as exc:  # noqa: BLE001 - any failure to start means: skip, saying why
        pytest.skip(f"PySpark cannot start: {exc}")
    yield session
    session.stop()  # a no-op when the last PySpark run stopped it already


@pytest.fixture(scope="session")
def _pipeline_runs() -> dict:
    return {}


@pytest.fixture
def run(impl: str, request: pytest.FixtureRequest, _pipeline_runs: dict, tmp_path_factory: pytest.TempPathFactory):
    """The result tables of the module's spec store on the case's engine (None for ``stats``)."""
    if impl == "stats":
        return None
    spec = request.module.SPEC
    name = request.module.__name__
    key = (name, impl)
    if key not in _pipeline_runs:
        session = request.getfixturevalue("spark") if impl == "pyspark" else None
        directory = tmp_path_factory.mktemp(f"{name}-{impl}")
        try:
            _pipeline_runs[key] = spec.compute(directory, impl, session)
        except Exception as exc:  # remember the failure: every case of the module reports it
            _pipeline_runs[key] = exc
        if impl == "pyspark":
            waiting = request.config.stash.get(_SPARK_MODULES, set())
            waiting.discard(name)
            if not waiting:
                session.stop()
    outcome = _pipeline_runs[key]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome

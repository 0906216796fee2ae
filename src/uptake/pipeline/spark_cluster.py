"""A real Spark standalone cluster on this machine: a master and N workers on 127.0.0.1, started with the
PySpark distribution's own ``bin/spark-class`` (``org.apache.spark.deploy.master.Master`` and
``...worker.Worker``), each a separate JVM, on free ports. The tests run the pipeline on it (two
workers) and the benchmark compares one worker with two; ``stop()`` (or leaving the ``with``) ends every
process it started, by process id.

On a real cluster nothing here is needed: set ``UPTAKE_SPARK_MASTER=spark://host:7077`` and
``UPTAKE_SPARK_SHARED_DIR`` to a folder every node mounts.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from uptake.errors import UptakeError
from uptake.pipeline.engines import spark_session


def spark_home() -> Path:
    """The PySpark distribution's folder (it holds bin/spark-class and the jars)."""
    # deferred: PySpark is heavy and only this path needs it
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalStandaloneCluster:
    """``with LocalStandaloneCluster(workers=2, work_dir=...) as cluster: cluster.url``."""

    def __init__(self, work_dir: Path | str, workers: int = 2, cores: int = 1, memory: str = "1g",
                 start_timeout: float = 90.0):
        self.work_dir = Path(work_dir)
        self.cores = cores
        self.memory = memory
        self.start_timeout = start_timeout
        self.port = free_port()
        self.ui_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self._workers_wanted = workers
        self._procs: list[subprocess.Popen] = []
        self._logs: list[Any] = []

    # ------------------------------------------------------------------ processes
    def _env(self) -> dict[str, str]:
        home = spark_home()
        env = dict(os.environ)
        env.update(
            SPARK_HOME=str(home),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOCAL_DIRS=str(self.work_dir / "local"),
            SPARK_LOG_DIR=str(self.work_dir / "logs"),
            PYSPARK_PYTHON=os.environ.get("PYSPARK_PYTHON", sys.executable),
            SPARK_NO_DAEMONIZE="1",
        )
        return env

    def _start(self, name: str, *args: str) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.work_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        proc = subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            env=self._env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._procs.append(proc)

    def start(self, wait: bool = True) -> "LocalStandaloneCluster":
        """Start the master and the workers; with ``wait``, wait until every worker is alive (else call
        ``wait_for_workers`` before using the cluster: the JVMs start meanwhile)."""
        (self.work_dir / "local").mkdir(parents=True, exist_ok=True)
        self._start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", str(self.port), "--webui-port", str(self.ui_port))
        for _ in range(self._workers_wanted):
            self.add_worker(wait=False)
        if wait:
            self.wait_for_workers(self._workers_wanted)
        return self

    def add_worker(self, wait: bool = True) -> None:
        """Start one more worker (``cores`` cores, ``memory``) and, with ``wait``, wait until it is alive."""
        n = len(self._procs) - 1  # the first process is the master
        work = self.work_dir / f"worker-{n + 1}"
        work.mkdir(parents=True, exist_ok=True)
        self._start(f"worker-{n + 1}", "org.apache.spark.deploy.worker.Worker", self.url,
                    "--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(free_port()),
                    "--cores", str(self.cores), "--memory", self.memory, "--work-dir", str(work))
        if wait:
            self.wait_for_workers(n + 1)

    def state(self) -> dict[str, Any]:
        """The master's own JSON status (its web UI's /json)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json", timeout=5) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        try:
            return int(self.state().get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def wait_for_workers(self, count: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.alive_workers() >= count:
                return
            dead = [p for p in self._procs if p.poll() is not None]
            if dead:
                break
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {path.name}\n" + path.read_text(errors="replace")[-2000:]
            for path in sorted(self.work_dir.glob("*.log"))
        )
        self.stop()
        raise UptakeError(f"the Spark standalone cluster did not get {count} live workers in "
                          f"{self.start_timeout:.0f} s; logs:\n{logs}")

    def stop(self) -> None:
        """End the workers, then the master: each by its process group (the JVM under spark-class)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def session(self, work_dir: Path | str, cores_max: int | None = None, executor_memory: str = "768m") -> Any:
        """A SparkSession on this cluster (the pipeline's settings; ``cores_max`` limits how many cores, so
        how many one-core executors, the application takes)."""
        config = {"spark.executor.memory": executor_memory, "spark.executor.cores": str(self.cores)}
        if cores_max is not None:
            config["spark.cores.max"] = str(cores_max)
        return spark_session(self.url, work_dir, config)

    def __enter__(self) -> "LocalStandaloneCluster":
        return self if self._procs else self.start()  # `with cluster.start(wait=False):` starts it once

    def __exit__(self, *exc: object) -> None:
        self.stop()

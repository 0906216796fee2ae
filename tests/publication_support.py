"""Builders shared by the publication tests (no tests here): the smallest workspace on which `uptake compute`
has something for the mission to judge, so attainment, missed opportunities, the watch list and a draft
rating run exist.

The bundled catalogue (what `uptake compute` uses) with observations of two of its indicators that the
bundled frameworks have commitments on: thrombolysis-rate (stroke units, yearly, 2016-2021; the stroke NSF)
and doac-share (sub-ICB locations, monthly, 24 months; the cardiovascular NSF), over the mission tests' small
hierarchy (3 ICBs, 12 stroke units, 4 sub-ICB locations). The workflow database is SQLite in the workspace,
with the catalogue, the organisations and the four bundled frameworks. `perturb` loads a new batch of
thrombolysis figures so the next compute's values (and so its attainment) differ from the last one's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from test_mission_support import UNITS, mission_workflow, organisations, relationships

from uptake.analytics.store import AnalyticsStore
from uptake.store import make_engine, upgrade
from uptake.workspace import Workspace

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"
YEARS = range(2016, 2022)
MONTHS = [dt.date(2021 + (m // 12), m % 12 + 1, 1) for m in range(24)]  # 2021-01 .. 2022-12
SUB_ICB_SHARES = {"01A": 0.84, "02B": 0.70, "03C": 0.45, "04D": 0.80}
ADMISSIONS = 500


def thrombolysis(seed: int = 0) -> pd.DataFrame:
    """Thrombolysis counts per stroke unit and year: the mission tests' figures (2019-2021) extended back to
    2016, moved a little by `seed` (0: unmoved)."""
    rng = np.random.default_rng(seed)
    rows = []
    for code, (_, numerators) in UNITS.items():
        base = list(numerators)
        series = [max(1, base[0] - 3 * (2019 - year)) for year in YEARS if year < 2019] + base
        for year, numerator in zip(YEARS, series, strict=True):
            shift = int(rng.integers(-12, 13)) if seed else 0
            rows.append((code, dt.date(year, 1, 1), min(ADMISSIONS, max(0, numerator + shift)), ADMISSIONS))
    return pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])


def doac_share() -> pd.DataFrame:
    rows = [(code, month, round(share * 1000 + 3 * i), 1000) for code, share in SUB_ICB_SHARES.items()
            for i, month in enumerate(MONTHS)]
    return pd.DataFrame(rows, columns=["org_code", "period", "numerator", "denominator"])


def load(store: AnalyticsStore, indicator: str, frame: pd.DataFrame, tag: str) -> int:
    outcome = store.load_observations(frame, indicator=indicator, source="publication test",
                                      file_name=f"{indicator}-{tag}.csv",
                                      file_sha256=hashlib.sha256(f"{indicator} {tag}".encode()).hexdigest(),
                                      loaded_by="tester")
    return outcome.batch_id


def build(root: Path) -> Workspace:
    """The workspace at `root`, with observations loaded and nothing computed yet."""
    ws = Workspace(root=root).ensure()
    store = AnalyticsStore.open(ws.analytics_path)
    store.sync_reference(organisations(), relationships())
    load(store, "thrombolysis-rate", thrombolysis(), "base")
    load(store, "doac-share", doac_share(), "base")
    upgrade(ws.database_url)
    engine = mission_workflow(make_engine(ws.database_url))
    engine.dispose()
    return ws


def perturb(ws: Workspace, seed: int) -> int:
    """A new batch of thrombolysis figures (every year replaced), so the next results differ."""
    return load(AnalyticsStore(ws.analytics_path), "thrombolysis-rate", thrombolysis(seed), f"seed-{seed}")


def uptake_command(*args: str) -> list[str]:
    """The command line that runs `uptake ARGS` from this source tree."""
    return [sys.executable, "-c", "from uptake.cli import main; main()", *args]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    env.pop("UPTAKE_DATABASE_URL", None)  # the workspace's own SQLite file
    env["COLUMNS"] = "200"
    return env


def run_uptake(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(uptake_command(*args), env=subprocess_env(**env), capture_output=True, text=True,
                          timeout=timeout)


# --- many computes without importing Uptake each time ---------------------------------------------------------

FORKER = r"""
import json, os, sys
from uptake.cli import main  # imported once; every child starts from here

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:  # the child: `uptake ARGS`, its output to a file
        try:
            os.environ.update(request["env"])
            fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.argv = ["uptake", *request["args"]]
            try:
                main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 99
        os._exit(code)
    print(json.dumps({"started": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"ended": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class Forker:
    """A Python process that imports Uptake's command line once and then, for each ``start``, forks a child
    that runs ``uptake ARGS`` (the real entry point, ``uptake.cli.main``) in a process of its own, which a
    test may kill. Starting Python and importing Uptake takes several seconds on a busy machine, longer than
    a small workspace's compute; a test that kills twenty computes spends its time in them instead. One child
    at a time."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.process = subprocess.Popen([sys.executable, "-c", FORKER], env=subprocess_env(), text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.count = 0
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def next(self, timeout: float | None = None) -> dict:
        item = self.lines.get(timeout=timeout)
        if item is None:
            raise RuntimeError(f"the forker ended (exit {self.process.wait()})")
        return item

    def start(self, *args: str, **env: str) -> "Child":
        self.count += 1
        output = self.output_dir / f"child-{self.count}.log"
        self.process.stdin.write(json.dumps({"args": list(args), "env": env, "output": str(output)}) + "\n")
        self.process.stdin.flush()
        return Child(self, self.next(timeout=120)["started"], output, time.monotonic())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.process.stdout.close()


class Child:
    """One forked ``uptake`` process."""

    def __init__(self, forker: Forker, pid: int, output: Path, started: float):
        self.forker, self.pid, self.output, self.started = forker, pid, output, started
        self.code: int | None = None

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code (negative: killed by that signal), or None if still running after ``timeout``."""
        if self.code is None:
            try:
                self.code = self.forker.next(timeout=timeout)["code"]
            except queue.Empty:
                return None
        return self.code

    def kill(self) -> int:
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.wait()

    @property
    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

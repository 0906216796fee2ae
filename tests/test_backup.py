"""`uptake backup` and `uptake restore` (issue 12, item 8), on SQLite and on PostgreSQL.

A small workspace (the mission tests' store and workflow database, plus users with a password, an API token
and a web session, a filing made through the API, value assessments one of which is the duplicate of a
later one, a load batch and a secret key) is backed up while a thread keeps reading it through the web app
(pages, API and snapshot reloads: no answer is a 500), restored into a new workspace (PostgreSQL: a fresh
schema; and a PostgreSQL backup into SQLite), and every table of both stores is compared row for row, and
the secret key byte for byte. Then: an older workflow database is migrated on restore; a backup from a
newer Uptake is refused; a missing or damaged backup is refused with a clear message and changes nothing;
a running compute is waited for or refused; and a workspace that holds data is replaced only with --force.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, DateTime, MetaData, Text, cast, create_engine, select, text
from typer.testing import CliRunner

from test_mission_plans import PLAN
from test_mission_support import ADMIN, mission_workflow, small_store
from uptake.analytics.schema import SCHEMA_VERSION as STORE_SCHEMA_VERSION
from uptake.analytics.backup import writers_held_off
from uptake.analytics.lock import StoreBusy, WriteLock
from uptake.analytics.store import AnalyticsStore
from uptake.backup.manifest import MANIFEST, sha256_of
from uptake.cli import app
from uptake.mission.assessments import add_assessment
from uptake.models import fund_applications
from uptake.store import add_user, head_revision, issue_api_token, make_engine, session_scope, upgrade
from uptake.store.db import normalise_url
from uptake.store.migrate import current_revision
from uptake.web.accounts import create_user
from uptake.workspace import Workspace

runner = CliRunner()
ANALYST = "analyst@alpha.nhs.uk"
REVIEWER = "reviewer@england.nhs.uk"
PASSWORD = "correct horse battery staple"
FILING = {"framework": "stroke", "commitment": "thrombolysis", "icb": "QAA", "kind": "plan"}


def _root_conftest():
    """tests/conftest.py by path: a plain `import conftest` can pick up tests/web/conftest.py instead."""
    spec = importlib.util.spec_from_file_location("uptake_root_conftest_backup", Path(__file__).with_name("conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_postgres_url = _root_conftest()._postgres_url


def cli(args: list[str], database_url: str | None):
    """`uptake ARGS` with the workflow database at ``database_url`` (None: the workspace's own SQLite file)."""
    return runner.invoke(app, args, env={"UPTAKE_DATABASE_URL": database_url, "COLUMNS": "200"})


def is_sqlite(url: str) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


@dataclass
class Site:
    workspace: Workspace
    url: str
    token: dict[str, str]
    filing_id: int


def build(root: Path, database_url: str, *, revision: str = "head", tokens: list[str] | None = None) -> Workspace:
    """The workspace's stores: the mission tests' analytics store (and one load batch), and its workflow
    database at ``revision``, with users, an API token and value assessments."""
    ws = Workspace(root=root, database_url_override=database_url).ensure()
    store = small_store(ws.analytics_path)
    store.load_observations(
        pd.DataFrame({"org_code": ["U01", "U02"], "period": [dt.date(2022, 4, 1)] * 2,
                      "numerator": [110.0, 105.0], "denominator": [500.0, 500.0]}),
        indicator="thrombolysis-rate", source="SSNAP", file_name="ssnap.csv", file_sha256="a" * 64,
        loaded_by="tester", mapping={"units": "org_code"},
    )
    upgrade(database_url, revision)
    engine = mission_workflow(make_engine(database_url))
    try:
        with session_scope(engine) as session:
            analyst = add_user(session, ANALYST, "Ann Analyst", "icb-analyst", "QAA", actor="test")
            token = issue_api_token(session, analyst, "backup test", actor="test")
            if tokens is not None:
                tokens.append(token)
            if revision == "head":
                create_user(session, email=REVIEWER, name="Rev Reviewer", role="national-admin", password=PASSWORD,
                            actor="test")
                # a transformation fund application, submitted (fund_applications and fund_reviews, migration 0010)
                lead = type("Lead", (), {"role": "icb-analyst", "actor": ANALYST, "scope_org_code": "QAA"})()
                application = fund_applications.apply(session, lead, fund_applications.fund_setup(), {
                    "org_code": "QAA", "innovation_id": "doacs", "title": "DOACs", "first_year": 2026,
                    "last_year": 2026, "cost_implementation_1": 1_000_000.5, "benefit": 3.25, "benefit_low": 1.5,
                    "benefit_high": 5.0, "benefit_source": "outcome-model", "benefit_reference": "stroke/thrombolysis"})
                fund_applications.step(session, lead, application.id, "submit")
            # a local assessment first, then the national one that makes it a duplicate (a later id)
            add_assessment(session, ADMIN, innovation_id="doacs", body="Alpha APC", scope="local",
                           decision="optimised", decided_on=dt.date(2016, 2, 1), org_code="QAA")
            add_assessment(session, ADMIN, innovation_id="doacs", body="NICE", scope="national",
                           decision="recommended", decided_on=dt.date(2015, 9, 23), threshold=30000.0)
    finally:
        engine.dispose()
    ws.web_secret_path.write_text("a-secret-key-" + "k" * 40 + "\n")
    return ws


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Site:
    tokens: list[str] = []
    ws = build(tmp_path / "ws", database_url, tokens=tokens)
    return Site(ws, database_url, {"authorization": "Bearer " + tokens[0]}, 0)


@pytest.fixture
def second_database(database_url: str) -> Iterator[str | None]:
    """Where a restore puts the workflow database: a fresh PostgreSQL schema, or (None) the new
    workspace's own SQLite file."""
    if is_sqlite(database_url):
        yield None
    else:
        yield from _postgres_url()


# --- comparing two workspaces -----------------------------------------------------------------------------


def workflow_rows(url: str) -> dict[str, list[tuple]]:
    """Every table of the workflow database (but Alembic's), rows ordered by primary key; JSON as its text,
    times as aware UTC."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            tables = {}
            for table in metadata.sorted_tables:
                if table.name == "alembic_version":
                    continue
                columns = sorted(table.columns, key=lambda c: c.name)
                wanted = [cast(c, Text) if isinstance(c.type, JSON) else c for c in columns]
                keys = list(table.primary_key.columns) or columns
                rows = []
                for row in connection.execute(select(*wanted).order_by(*keys)):
                    rows.append(tuple(
                        (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC))
                        if isinstance(c.type, DateTime) and value is not None else value
                        for c, value in zip(columns, row)
                    ))
                tables[table.name] = rows
            return tables
    finally:
        engine.dispose()


def assert_same_workflow(source_url: str, restored_url: str, *, every_kind: bool = False) -> None:
    """Every table of both workflow databases, row for row (``every_kind``: and the tables people and the
    web app write are not empty, so the comparison covers them)."""
    source, restored = workflow_rows(source_url), workflow_rows(restored_url)
    assert sorted(source) == sorted(restored)
    for name in source:
        assert source[name] == restored[name], name
    assert sum(len(rows) for rows in source.values()) > 100
    for name in () if not every_kind else ("users", "api_tokens", "web_sessions", "cj_filings", "value_assessments",
                                                "audit_events", "fund_applications", "fund_reviews"):
        assert source[name], f"{name} is empty: the test should cover it"


def assert_same_store(source: Path, restored: Path) -> None:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{source}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{restored}' AS b (READ_ONLY)")

        def objects(db: str) -> dict[str, list]:
            tables = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                 "WHERE table_catalog = ? ORDER BY table_name", [db]).fetchall()
            return {name: [kind, con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? AND "
                "table_name = ? ORDER BY ordinal_position", [db, name]).fetchall()] for name, kind in tables}

        assert objects("a") == objects("b")
        assert "observations_current" in objects("a")
        for name in objects("a"):
            counts = [con.execute(f'SELECT count(*) FROM {db}.main."{name}"').fetchone()[0] for db in "ab"]
            assert counts[0] == counts[1], name
            for one, other in (("a", "b"), ("b", "a")):
                left = con.execute(f'SELECT count(*) FROM (SELECT * FROM {one}.main."{name}" '
                                   f'EXCEPT ALL SELECT * FROM {other}.main."{name}")').fetchone()[0]
                assert left == 0, f"{name}: {left} rows of {one} not in {other}"
        assert con.execute("SELECT count(*) FROM a.main.batches").fetchone()[0] == 1
    finally:
        con.close()


# --- back up while the app reads, restore, compare --------------------------------------------------------


class Readers:
    """Threads reading the workspace through the web app until stopped: pages and API requests, and snapshot
    reloads (each attaches the store file read-only and copies it)."""

    def __init__(self, client: TestClient, site: Site):
        self.client, self.site = client, site
        self.statuses: list[tuple[str, int]] = []
        #: (started, finished) of every request and of every reload, on the monotonic clock
        self.request_spans: list[tuple[float, float]] = []
        self.reload_spans: list[tuple[float, float]] = []
        self.reloads = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True),
                         threading.Thread(target=self._reload, daemon=True)]

    def _run(self) -> None:
        paths = [("/", {}), ("/nsf", {}), ("/plans", {}),
                 ("/api/v1/nsf", {}), ("/api/v1/me", self.site.token),
                 (f"/api/v1/plans/{self.site.filing_id}", self.site.token), ("/api/v1/assessments", self.site.token)]
        while not self._stop.is_set():
            try:
                for path, headers in paths:
                    started = time.monotonic()
                    self.statuses.append((path, self.client.get(path, headers=headers).status_code))
                    self.request_spans.append((started, time.monotonic()))
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(exc))

    def _reload(self) -> None:
        while not self._stop.is_set():
            try:
                started = time.monotonic()
                self.client.app.state.web.snapshots.reload()  # the store read again, read-only, meanwhile
                self.reload_spans.append((started, time.monotonic()))
                self.reloads += 1
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(exc))

    def __enter__(self) -> "Readers":
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + 30
        while not (self.statuses and self.reloads) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


@pytest.mark.slow
def test_a_backup_taken_while_the_app_reads_restores_every_row(site: Site, second_database: str | None,
                                                               tmp_path: Path) -> None:
    from uptake.web.app import create_app

    web = create_app(site.workspace)  # reads the workspace's own secret key file
    try:
        with TestClient(web, base_url="http://testserver") as client:
            created = client.post("/api/v1/plans", json=dict(FILING, content=PLAN), headers=site.token)
            assert created.status_code == 201, created.text
            site.filing_id = created.json()["id"]
            page = client.get("/sign-in")
            csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            signed = client.post("/sign-in", data={"email": REVIEWER, "password": PASSWORD, "next": "/",
                                                   "csrf_token": csrf}, follow_redirects=False)
            assert signed.status_code == 303, signed.text
            with Readers(client, site) as readers:  # signed in as the reviewer; the API with the analyst's token
                began = time.monotonic()
                result = cli(["backup", str(tmp_path / "backup"), "--workspace", str(site.workspace.root)], site.url)
                ended = time.monotonic()
            # requests and reloads that ran while the backup did (one still running when it ended counts: a slow
            # page on a loaded machine can outlast a quick backup)
            during = sum(1 for start, end in readers.request_spans if start < ended and end > began)
            reloaded = sum(1 for start, end in readers.reload_spans if start < ended and end > began)
            assert result.exit_code == 0, result.output + result.stderr
            assert not readers.errors, readers.errors[:3]
            assert during > 0 and reloaded > 0, (during, reloaded)
            assert {status for _, status in readers.statuses} == {200}, \
                sorted({(path, status) for path, status in readers.statuses if status != 200})
    finally:
        web.state.web.engine.dispose()
    assert "Backed up" in result.stdout and "revision " + head_revision() in result.stdout

    backup = tmp_path / "backup"
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["workflow"]["backend"] == ("sqlite" if is_sqlite(site.url) else "postgresql")
    assert manifest["workflow"]["method"] == ("sqlite-online-backup" if is_sqlite(site.url)
                                              else "sqlalchemy-repeatable-read")
    assert manifest["workflow"]["alembic_revision"] == head_revision()
    assert manifest["analytics"]["schema_version"] == STORE_SCHEMA_VERSION
    assert manifest["secrets"] == ["web-secret.key"]
    assert set(manifest["files"]) >= {"workflow.sqlite", "web-secret.key", "analytics/schema.sql",
                                      "analytics/observations.parquet"}
    assert all(sha256_of(backup / name) == entry["sha256"] for name, entry in manifest["files"].items())

    restored_root = tmp_path / "restored"
    result = cli(["restore", str(backup), "--workspace", str(restored_root)], second_database)
    assert result.exit_code == 0, result.output + result.stderr
    restored = Workspace(root=restored_root.resolve(), database_url_override=second_database)
    assert "Restored the backup" in result.stdout
    assert_same_workflow(site.url, restored.database_url, every_kind=True)
    assert_same_store(site.workspace.analytics_path, restored.analytics_path)
    assert restored.web_secret_path.read_bytes() == site.workspace.web_secret_path.read_bytes()
    assert (restored.web_secret_path.stat().st_mode & 0o777) == 0o600
    assert current_revision(restored.database_url) == head_revision()
    assert sorted(p.name for p in restored_root.iterdir()) == sorted(
        ["analytics", "exports", "staging", "web-secret.key"] + (["workflow.sqlite"] if second_database is None else []))

    # The restored workspace works: new rows get new ids (PostgreSQL's sequences were moved), the app serves.
    engine = make_engine(restored.database_url)
    try:
        with session_scope(engine) as session:
            user = add_user(session, "new.person@alpha.nhs.uk", "New Person", "icb-analyst", "QAA", actor="test")
            session.flush()
            assert user.id > 2
    finally:
        engine.dispose()
    web = create_app(restored)
    try:
        with TestClient(web, base_url="http://testserver") as client:
            assert client.get(f"/api/v1/plans/{site.filing_id}", headers=site.token).status_code == 200
            assert client.get("/nsf").status_code == 200
    finally:
        web.state.web.engine.dispose()

    if not is_sqlite(site.url):  # a PostgreSQL backup restores into SQLite too
        into_sqlite = tmp_path / "into-sqlite"
        result = cli(["restore", str(backup), "--workspace", str(into_sqlite)], None)
        assert result.exit_code == 0, result.output + result.stderr
        assert_same_workflow(site.url, Workspace(root=into_sqlite.resolve()).database_url, every_kind=True)


def test_an_older_workflow_database_is_migrated_on_restore(database_url: str, second_database: str | None,
                                                           tmp_path: Path) -> None:
    ws = build(tmp_path / "ws", database_url, revision="0003")
    assert current_revision(database_url) == "0003"
    result = cli(["backup", str(tmp_path / "backup"), "--workspace", str(ws.root)], database_url)
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads((tmp_path / "backup" / MANIFEST).read_text())["workflow"]["alembic_revision"] == "0003"

    result = cli(["restore", str(tmp_path / "backup"), "--workspace", str(tmp_path / "new")], second_database)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"migrated from 0003 to {head_revision()}" in result.stdout
    restored = Workspace(root=(tmp_path / "new").resolve(), database_url_override=second_database)
    assert current_revision(restored.database_url) == head_revision()
    before, after = workflow_rows(database_url), workflow_rows(restored.database_url)
    added = {table: after.pop(table) for table in set(after) - set(before)}  # the tables later migrations add
    assert "web_sessions" in added and all(rows == [] for rows in added.values()), added
    assert before == after


# --- refusals that change nothing -------------------------------------------------------------------------


@pytest.fixture
def sqlite_site(tmp_path: Path) -> Workspace:
    return build(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'workflow.sqlite'}")


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_of(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_missing_or_damaged_backup_is_refused_and_changes_nothing(sqlite_site: Workspace, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    assert cli(["backup", str(backup), "--workspace", str(sqlite_site.root)], None).exit_code == 0
    target = tmp_path / "target"

    result = cli(["restore", str(tmp_path / "nowhere"), "--workspace", str(target)], None)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: there is no backup at {tmp_path / 'nowhere'}")

    (tmp_path / "empty").mkdir()
    result = cli(["restore", str(tmp_path / "empty"), "--workspace", str(target)], None)
    assert result.exit_code == 1 and "is not an Uptake backup: it has no manifest.json" in result.stderr

    parquet = backup / "analytics" / "observations.parquet"
    original = parquet.read_bytes()
    parquet.write_bytes(original[:100] + bytes([original[100] ^ 0xFF]) + original[101:])
    result = cli(["restore", str(backup), "--workspace", str(target)], None)
    assert result.exit_code == 1
    assert "is damaged, nothing was restored: analytics/observations.parquet: checksum mismatch" in result.stderr
    assert not target.exists()

    # over an existing workspace with --force: still nothing changes
    before = fingerprint(sqlite_site.root)
    result = cli(["restore", str(backup), "--workspace", str(sqlite_site.root), "--force"], None)
    assert result.exit_code == 1 and "checksum mismatch" in result.stderr
    assert fingerprint(sqlite_site.root) == before

    parquet.write_bytes(original)
    (backup / "web-secret.key").unlink()
    result = cli(["restore", str(backup), "--workspace", str(target)], None)
    assert result.exit_code == 1 and "web-secret.key: missing" in result.stderr
    assert not target.exists()


def _edit_backup(backup: Path, change) -> None:
    """Change a backup's files and manifest as a newer Uptake would have written them (checksums updated)."""
    manifest = json.loads((backup / MANIFEST).read_text())
    change(manifest)
    for name, entry in manifest["files"].items():
        entry.update(sha256=sha256_of(backup / name), bytes=(backup / name).stat().st_size)
    (backup / MANIFEST).write_text(json.dumps(manifest))


def test_a_backup_from_a_newer_uptake_is_refused(sqlite_site: Workspace, tmp_path: Path) -> None:
    target = tmp_path / "target"
    con = sqlite3.connect(sqlite_site.root / "workflow.sqlite")
    con.execute("UPDATE alembic_version SET version_num = '0999'")
    con.commit()
    con.close()
    assert cli(["backup", str(tmp_path / "b1"), "--workspace", str(sqlite_site.root)], None).exit_code == 0
    result = cli(["restore", str(tmp_path / "b1"), "--workspace", str(target)], None)
    assert result.exit_code == 1
    assert "is at revision 0999, which this Uptake does not know" in result.stderr
    assert "made by a newer Uptake. Upgrade Uptake" in result.stderr
    assert not target.exists()

    con = sqlite3.connect(sqlite_site.root / "workflow.sqlite")
    con.execute(f"UPDATE alembic_version SET version_num = '{head_revision()}'")
    con.commit()
    con.close()
    with duckdb.connect(str(sqlite_site.analytics_path)) as store:
        store.execute(f"INSERT INTO schema_version VALUES ({STORE_SCHEMA_VERSION + 1}, now(), '9.9.9')")
    assert cli(["backup", str(tmp_path / "b2"), "--workspace", str(sqlite_site.root)], None).exit_code == 0
    result = cli(["restore", str(tmp_path / "b2"), "--workspace", str(target)], None)
    assert result.exit_code == 1
    assert (f"analytics store has schema version {STORE_SCHEMA_VERSION + 1}, newer than this Uptake's "
            f"({STORE_SCHEMA_VERSION})") in result.stderr
    assert not target.exists()

    _edit_backup(tmp_path / "b2", lambda m: m.update(format_version=2, uptake_version="9.9.9"))
    result = cli(["restore", str(tmp_path / "b2"), "--workspace", str(target)], None)
    assert result.exit_code == 1
    assert "has format version 2, newer than this Uptake's (1): it was made by Uptake 9.9.9" in result.stderr


def test_backup_waits_for_a_running_compute_or_refuses(sqlite_site: Workspace, tmp_path: Path) -> None:
    store = AnalyticsStore(sqlite_site.analytics_path)
    compute = WriteLock(store.lock_path, store.path)
    compute.acquire("computing results (uptake compute)")
    try:
        result = cli(["backup", str(tmp_path / "b1"), "--workspace", str(sqlite_site.root), "--wait", "0"], None)
        assert result.exit_code == 1
        assert "cannot back up while the analytics store is being written (computing results (uptake compute)" \
            in result.stderr
        assert "--wait SECONDS" in result.stderr
        assert not (tmp_path / "b1").exists() and not list(tmp_path.glob(".b1.partial-*"))
        threading.Timer(1.0, compute.release).start()
        result = cli(["backup", str(tmp_path / "b2"), "--workspace", str(sqlite_site.root), "--wait", "30"], None)
        assert result.exit_code == 0, result.output + result.stderr
        assert "Waiting up to 30 s for computing results (uptake compute)" in result.stderr
    finally:
        compute.release()
    # and while a backup holds the store, a compute or ingest is refused at once, saying why
    busy = pytest.raises(StoreBusy, match=r"another load is running .*\(backing up the workspace")
    with writers_held_off(sqlite_site.analytics_path), busy, \
            AnalyticsStore(sqlite_site.analytics_path).writing("computing results"):
        pass


def test_a_workspace_or_directory_holding_data_is_replaced_only_with_force(sqlite_site: Workspace,
                                                                          tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    assert cli(["backup", str(backup), "--workspace", str(sqlite_site.root)], None).exit_code == 0
    result = cli(["backup", str(backup), "--workspace", str(sqlite_site.root)], None)
    assert result.exit_code == 1 and "already exists and is not empty; back up into a new directory" in result.stderr

    other = build(tmp_path / "other", f"sqlite:///{tmp_path / 'other' / 'workflow.sqlite'}")
    (other.exports_dir / "kept.csv").write_text("a,b\n")
    with sqlite3.connect(other.root / "workflow.sqlite") as con:
        con.execute("DELETE FROM api_tokens")
    before = fingerprint(other.root)
    result = cli(["restore", str(backup), "--workspace", str(other.root)], None)
    assert result.exit_code == 1
    assert f"the workspace {other.root} is not empty; restore into a new or empty directory, or pass --force" \
        in result.stderr
    assert fingerprint(other.root) == before

    result = cli(["restore", str(backup), "--workspace", str(other.root), "--force"], None)
    assert result.exit_code == 0, result.output + result.stderr
    assert_same_workflow(sqlite_site.database_url, other.database_url)
    assert_same_store(sqlite_site.analytics_path, other.analytics_path)
    assert (other.exports_dir / "kept.csv").read_text() == "a,b\n"
    assert not [p for p in other.root.iterdir() if p.name.startswith(".uptake-restore-")]

    # an empty directory (or `uptake init`'s empty folders) is a new workspace
    empty = Workspace(root=tmp_path / "empty").ensure()
    result = cli(["restore", str(backup), "--workspace", str(empty.root)], None)
    assert result.exit_code == 0, result.output + result.stderr


@pytest.mark.postgres
def test_a_postgresql_database_holding_uptake_tables_is_replaced_only_with_force(sqlite_site: Workspace,
                                                                                tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    assert cli(["backup", str(backup), "--workspace", str(sqlite_site.root)], None).exit_code == 0
    schemas = _postgres_url()
    url = next(schemas)
    try:
        upgrade(url)
        result = cli(["restore", str(backup), "--workspace", str(tmp_path / "new")], url)
        assert result.exit_code == 1 and "already has Uptake tables" in result.stderr
        assert not (tmp_path / "new").exists()
        result = cli(["restore", str(backup), "--workspace", str(tmp_path / "new"), "--force"], url)
        assert result.exit_code == 0, result.output + result.stderr
        assert_same_workflow(sqlite_site.database_url, url)
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 2
        engine.dispose()
    finally:
        schemas.close()

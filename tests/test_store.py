"""The workflow database, run on SQLite and (with UPTAKE_TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, delete, func, inspect, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from uptake.catalogue import Catalogue
from uptake.catalogue.schemas import Indicator as IndicatorEntry
from uptake.catalogue.schemas import Innovation as InnovationEntry
from uptake.errors import UptakeError
from uptake.store import (
    ApiToken,
    AuditEvent,
    AuditIsAppendOnly,
    Base,
    Indicator,
    Innovation,
    Organisation,
    OrgRelationship,
    User,
    add_user,
    audit_trail,
    current_revision,
    downgrade,
    head_revision,
    issue_api_token,
    make_engine,
    normalise_url,
    record_audit,
    revoke_api_token,
    session_scope,
    sync_catalogue,
    sync_reference,
    upgrade,
    user_for_token,
)
from uptake.store.frames import ORG_COLUMNS, REL_COLUMNS

ACTOR = "analyst@nhs.net"

# --- data builders -------------------------------------------------------------------------------

ORGS = [
    # code, level, name, valid_from, valid_to
    ("ENG", "england", "England", "2022-07-01", None),
    ("Y56", "region", "London", "2022-07-01", None),
    ("QMJ", "icb", "NHS North Central London ICB", "2022-07-01", None),
    ("QRV", "icb", "NHS North West London ICB", "2022-07-01", None),
    ("93C", "sub-icb", "NHS North Central London ICB - 93C", "2022-07-01", None),
    ("RAL", "trust", "Royal Free London NHS Foundation Trust", "2022-07-01", None),
    ("F83004", "practice", "Archway Medical Centre", "2022-07-01", None),
]
RELS = [
    ("Y56", "region", "ENG", "england"),
    ("QMJ", "icb", "Y56", "region"),
    ("QRV", "icb", "Y56", "region"),
    ("93C", "sub-icb", "QMJ", "icb"),
    ("RAL", "trust", "QMJ", "icb"),
    ("F83004", "practice", "93C", "sub-icb"),
]


def organisations_frame(rows: list[tuple] = ORGS) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "code": code, "level": level, "name": name, "ons_code": None, "postcode": None,
                "lat": 51.5 if level == "trust" else float("nan"), "lon": -0.1 if level == "trust" else None,
                "imd_score": 21.5 if level == "practice" else None,
                "imd_quintile": 2.0 if level == "practice" else float("nan"),
                "population": 12345.0 if level == "practice" else None,
                "trust_type": "acute" if level == "trust" else None,
                "valid_from": valid_from, "valid_to": valid_to,
            }
            for code, level, name, valid_from, valid_to in rows
        ]
    )
    return frame[list(ORG_COLUMNS)]


def relationships_frame(rows: list[tuple] = RELS, valid_from: str = "2022-07-01") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "child_code": child, "child_level": child_level, "parent_code": parent,
                "parent_level": parent_level, "valid_from": row_from, "valid_to": row_to,
            }
            for child, child_level, parent, parent_level, *rest in rows
            for row_from, row_to in [(rest[0] if rest else valid_from, rest[1] if len(rest) > 1 else None)]
        ],
        columns=list(REL_COLUMNS),
    )


def innovation_entry(**changes: object) -> InnovationEntry:
    values = dict(
        id="doacs", name="Direct oral anticoagulants", kind="treatment-therapy", conditions=["stroke"],
        pathway_stage="spread", description="DOACs in place of warfarin for atrial fibrillation.",
        owner="National mission team", nice_reference="NG196",
    )
    return InnovationEntry(**{**values, **changes})


def indicator_entry(**changes: object) -> IndicatorEntry:
    values = dict(
        id="doac-share", innovation="doacs", title="DOAC share of oral anticoagulant items",
        why_it_matters="DOACs prevent more strokes with fewer bleeds.",
        numerator="DOAC items", denominator="DOAC and warfarin items", polarity="high-is-good",
        levels=["sub-icb"], period="month", first_period=dt.date(2017, 10, 1),
        source={"name": "English Prescribing Data", "publisher": "NHSBSA"},
        authored_by="A. Author", checked_by="C. Checker",
        date_reviewed=dt.date(2026, 1, 1), next_review=dt.date(2027, 1, 1),
    )
    return IndicatorEntry(**{**values, **changes})


def catalogue(*entries: InnovationEntry | IndicatorEntry) -> Catalogue:
    entries = entries or (innovation_entry(), indicator_entry())
    return Catalogue(
        innovations={e.id: e for e in entries if isinstance(e, InnovationEntry)},
        indicators={e.id: e for e in entries if isinstance(e, IndicatorEntry)},
    )


def load_reference(engine: Engine) -> None:
    with session_scope(engine) as session:
        sync_reference(session, organisations_frame(), relationships_frame(), actor=ACTOR)


def count(engine: Engine, model: type, *where: object) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# --- migrations ----------------------------------------------------------------------------------


def test_upgrade_creates_every_table_and_matches_the_models(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert set(Base.metadata.tables) <= tables
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_is_repeatable_and_downgrade_removes_everything(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # already at head: nothing to do
    downgrade(database_url, "base")
    assert current_revision(database_url) is None
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert not set(Base.metadata.tables) & set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()


PROBE_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "probe"
down_revision = "{down_revision}"


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("probe", sa.String(8), nullable=True))
        batch.alter_column("name", type_=sa.String(300))  # SQLite: rebuilds the table (copy, drop, rename)


def downgrade():
    pass
"""


def test_a_batch_migration_keeps_the_rows_that_refer_to_the_rebuilt_table(database_url: str, tmp_path) -> None:
    """On SQLite, rebuilding `users` with foreign keys enforced would cascade-delete its API tokens."""
    from alembic import command

    from uptake.store.migrate import MIGRATIONS, alembic_config

    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9999_probe.py").write_text(
        PROBE_MIGRATION.replace("{down_revision}", head_revision())
    )
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            user = add_user(session, "a@nhs.net", "A", "national-admin", actor=ACTOR)
            issue_api_token(session, user, "laptop", actor=ACTOR)
        with engine.connect() as connection:
            config = alembic_config(connection)
            config.set_main_option("script_location", str(migrations))
            command.upgrade(config, "head")
            connection.commit()
        with engine.connect() as connection:
            columns = {c["name"] for c in inspect(connection).get_columns("users")}
        assert "probe" in columns
        assert count(engine, ApiToken) == 1
        with engine.connect() as connection:  # and enforcement is back on afterwards
            if connection.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_the_migrations_ship_inside_the_package() -> None:
    from uptake.store.migrate import MIGRATIONS

    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()
    assert MIGRATIONS.is_relative_to(__import__("uptake").__path__[0])


# --- engines and sessions ------------------------------------------------------------------------


def test_plain_postgresql_urls_get_the_psycopg_driver() -> None:
    assert normalise_url("postgresql://u@h:5432/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("sqlite:///x.sqlite").drivername == "sqlite"


def test_a_missing_sqlite_directory_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(UptakeError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'nowhere' / 'workflow.sqlite'}")


def test_sqlite_engines_enforce_foreign_keys_and_use_wal(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_session_scope_rolls_back_on_error(workflow_engine: Engine) -> None:
    with pytest.raises(RuntimeError):
        with session_scope(workflow_engine) as session:
            record_audit(session, ACTOR, "test.write", "test", "1")
            session.flush()
            raise RuntimeError("boom")
    assert count(workflow_engine, AuditEvent) == 0


def test_foreign_keys_are_enforced(workflow_engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(workflow_engine) as session:
            session.execute(
                insert(Indicator).values(
                    id="orphan", innovation_id="no-such-innovation", title="t", polarity="high-is-good",
                    period="month", levels=["icb"], synthetic=False, definition={},
                    updated_at=dt.datetime.now(dt.UTC),
                )
            )
    with session_scope(workflow_engine) as session:
        sync_catalogue(session, catalogue(), actor=ACTOR)
    with pytest.raises(IntegrityError):  # RESTRICT: an innovation with indicators cannot go
        with session_scope(workflow_engine) as session:
            session.execute(delete(Innovation).where(Innovation.id == "doacs"))
    assert count(workflow_engine, Innovation) == 1


def test_the_database_checks_roles(workflow_engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(workflow_engine) as session:
            session.execute(
                insert(User).values(
                    email="x@nhs.net", name="X", role="superuser", active=True,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )


# --- the organisation hierarchy ------------------------------------------------------------------


def test_sync_reference_loads_then_changes_nothing(workflow_engine: Engine) -> None:
    with session_scope(workflow_engine) as session:
        first = sync_reference(session, organisations_frame(), relationships_frame(), actor=ACTOR)
    assert first.organisations.inserted == len(ORGS)
    assert first.relationships.inserted == len(RELS)

    with session_scope(workflow_engine) as session:
        second = sync_reference(session, organisations_frame(), relationships_frame(), actor=ACTOR)
    assert second.changed == 0
    assert second.organisations.unchanged == len(ORGS)
    assert second.relationships.unchanged == len(RELS)
    assert count(workflow_engine, Organisation) == len(ORGS)
    assert count(workflow_engine, OrgRelationship) == len(RELS)
    assert count(workflow_engine, AuditEvent, AuditEvent.action == "reference.sync") == 1

    with session_scope(workflow_engine) as session:
        practice = session.scalars(select(Organisation).where(Organisation.code == "F83004")).one()
        trust = session.scalars(select(Organisation).where(Organisation.code == "RAL")).one()
    assert (practice.imd_quintile, practice.population, practice.valid_from) == (2, 12345, dt.date(2022, 7, 1))
    assert practice.lat is None and practice.valid_to is None
    assert (trust.lat, trust.lon, trust.trust_type) == (51.5, -0.1, "acute")


def test_sync_reference_keeps_history_when_organisations_merge(workflow_engine: Engine) -> None:
    load_reference(workflow_engine)
    # 1 April 2026: the two London ICBs merge into a new one; their children move to it. valid_to is the
    # first day a version no longer holds (the uptake.reference convention).
    merged = [
        *[row for row in ORGS if row[0] not in ("QMJ", "QRV")],
        ("QMJ", "icb", "NHS North Central London ICB", "2022-07-01", "2026-04-01"),
        ("QRV", "icb", "NHS North West London ICB", "2022-07-01", "2026-04-01"),
        ("QXX", "icb", "NHS North London ICB", "2026-04-01", None),
    ]
    relationships = [
        *[row for row in RELS if row[0] not in ("QMJ", "QRV", "93C", "RAL")],
        ("QMJ", "icb", "Y56", "region", "2022-07-01", "2026-04-01"),
        ("QRV", "icb", "Y56", "region", "2022-07-01", "2026-04-01"),
        ("93C", "sub-icb", "QMJ", "icb", "2022-07-01", "2026-04-01"),
        ("RAL", "trust", "QMJ", "icb", "2022-07-01", "2026-04-01"),
        ("QXX", "icb", "Y56", "region", "2026-04-01", None),
        ("93C", "sub-icb", "QXX", "icb", "2026-04-01", None),
        ("RAL", "trust", "QXX", "icb", "2026-04-01", None),
    ]
    with session_scope(workflow_engine) as session:
        result = sync_reference(
            session, organisations_frame(merged), relationships_frame(relationships), actor=ACTOR
        )
    assert (result.organisations.inserted, result.organisations.closed) == (1, 2)
    assert (result.relationships.inserted, result.relationships.closed) == (3, 4)
    assert result.organisations.updated == result.relationships.updated == 0

    with session_scope(workflow_engine) as session:
        icbs = session.execute(
            select(Organisation.code, Organisation.valid_to).where(Organisation.level == "icb")
            .order_by(Organisation.code)
        ).all()
        parents_of_ral = session.execute(
            select(OrgRelationship.parent_code, OrgRelationship.valid_from, OrgRelationship.valid_to)
            .where(OrgRelationship.child_code == "RAL").order_by(OrgRelationship.valid_from)
        ).all()
    assert icbs == [("QMJ", dt.date(2026, 4, 1)), ("QRV", dt.date(2026, 4, 1)), ("QXX", None)]
    assert parents_of_ral == [
        ("QMJ", dt.date(2022, 7, 1), dt.date(2026, 4, 1)), ("QXX", dt.date(2026, 4, 1), None)
    ]

    with session_scope(workflow_engine) as session:  # the same frames again: nothing to do
        again = sync_reference(
            session, organisations_frame(merged), relationships_frame(relationships), actor=ACTOR
        )
    assert again.changed == 0


def test_sync_reference_updates_changed_values_and_closes_what_left_the_input(workflow_engine: Engine) -> None:
    load_reference(workflow_engine)
    renamed = [
        ("RAL", "trust", "Royal Free London NHS FT (renamed)", "2022-07-01", None) if row[0] == "RAL" else row
        for row in ORGS
        if row[0] != "F83004"
    ]
    relationships = [row for row in RELS if row[0] != "F83004"]
    with session_scope(workflow_engine) as session:
        result = sync_reference(
            session, organisations_frame(renamed), relationships_frame(relationships),
            actor=ACTOR, as_of=dt.date(2026, 6, 30),
        )
    assert (result.organisations.updated, result.organisations.closed) == (1, 1)
    assert result.relationships.closed == 1
    with session_scope(workflow_engine) as session:
        practice = session.scalars(select(Organisation).where(Organisation.code == "F83004")).one()
        trust = session.scalars(select(Organisation).where(Organisation.code == "RAL")).one()
    assert practice.valid_to == dt.date(2026, 6, 30)
    assert trust.name.endswith("(renamed)")

    with session_scope(workflow_engine) as session:
        again = sync_reference(
            session, organisations_frame(renamed), relationships_frame(relationships), actor=ACTOR,
        )
    assert again.changed == 0
    assert (again.organisations.kept, again.relationships.kept) == (1, 1)


def test_sync_reference_accepts_timestamps_and_blank_strings(workflow_engine: Engine) -> None:
    organisations = organisations_frame()
    organisations["valid_from"] = pd.to_datetime(organisations["valid_from"])
    organisations["valid_to"] = pd.to_datetime(organisations["valid_to"])
    organisations["postcode"] = ""
    with session_scope(workflow_engine) as session:
        result = sync_reference(session, organisations, relationships_frame(), actor=ACTOR)
    assert result.organisations.inserted == len(ORGS)
    with session_scope(workflow_engine) as session:  # strings and Timestamps describe the same rows
        assert sync_reference(session, organisations_frame(), relationships_frame()).changed == 0


def _set(frame: pd.DataFrame, row: int, column: str, value: object) -> None:
    frame.loc[row, column] = value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda o, r: _set(o, 2, "level", "county"), r"organisations row 2: column level: unknown",
                     id="unknown-level"),
        pytest.param(lambda o, r: _set(o, 1, "name", " "), r"organisations row 1: column name: empty",
                     id="blank-name"),
        pytest.param(lambda o, r: _set(o, 0, "valid_from", "1/7/2022"), r"row 0: column valid_from: .* ISO date",
                     id="not-iso-date"),
        pytest.param(lambda o, r: _set(o, 0, "valid_to", "2020-01-01"), r"valid_to: 2020-01-01 is before",
                     id="ends-before-it-starts"),
        pytest.param(lambda o, r: _set(o, 5, "trust_type", "teaching"), r"not a trust type", id="trust-type"),
        pytest.param(lambda o, r: _set(o, 6, "population", 10.5), r"not a whole number", id="population"),
        pytest.param(lambda o, r: _set(o, 3, "code", "QMJ"), r"row 3: repeats row 2", id="duplicate-version"),
        pytest.param(lambda o, r: _set(r, 0, "parent_code", "XXX"),
                     r"not in the organisations frame: england XXX", id="unknown-parent"),
        pytest.param(lambda o, r: r.pop("valid_to"), r"relationships frame lacks column\(s\) valid_to",
                     id="missing-column"),
    ],
)
def test_sync_reference_rejects_bad_input_and_writes_nothing(workflow_engine: Engine, change, message) -> None:
    organisations, relationships = organisations_frame(), relationships_frame()
    organisations = organisations.astype({"population": "object", "trust_type": "object"})
    change(organisations, relationships)
    with pytest.raises(UptakeError, match=message):
        with session_scope(workflow_engine) as session:
            sync_reference(session, organisations, relationships, actor=ACTOR)
    assert count(workflow_engine, Organisation) == count(workflow_engine, AuditEvent) == 0


def national_frames(practices: int = 6500, pcns: int = 1250, trusts: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A hierarchy the size of England's (about 8,000 organisations and 40,000 links); codes invented."""
    orgs: list[tuple] = [("ENG", "england", "England", "2022-07-01", None)]
    rels: list[tuple] = []

    def add(code: str, level: str, ancestors: list[tuple[str, str]]) -> None:
        orgs.append((code, level, f"{level} {code}", "2022-07-01", None))
        rels.extend((code, level, parent, parent_level) for parent, parent_level in ancestors)

    for r in range(7):
        add(f"Y{r:02d}", "region", [("ENG", "england")])
    for i in range(42):
        add(f"Q{i:02d}", "icb", [(f"Y{i % 7:02d}", "region"), ("ENG", "england")])
    for s in range(106):
        icb = s % 42
        add(f"S{s:02d}", "sub-icb", [(f"Q{icb:02d}", "icb"), (f"Y{icb % 7:02d}", "region"), ("ENG", "england")])
    for p in range(pcns):
        s = p % 106
        up = [(f"S{s:02d}", "sub-icb"), (f"Q{s % 42:02d}", "icb"), (f"Y{s % 42 % 7:02d}", "region"), ("ENG", "england")]
        add(f"U{p:05d}", "pcn", up)
    for g in range(practices):
        p = g % pcns
        s = p % 106
        up = [(f"U{p:05d}", "pcn"), (f"S{s:02d}", "sub-icb"), (f"Q{s % 42:02d}", "icb"),
              (f"Y{s % 42 % 7:02d}", "region"), ("ENG", "england")]
        add(f"P{g:05d}", "practice", up)
    for t in range(trusts):
        add(f"R{t:03d}", "trust", [(f"Q{t % 42:02d}", "icb"), (f"Y{t % 42 % 7:02d}", "region"), ("ENG", "england")])
    return organisations_frame(orgs), relationships_frame(rels)


@pytest.mark.slow
def test_sync_reference_is_fast_at_national_size(workflow_engine: Engine) -> None:
    organisations, relationships = national_frames()
    assert len(organisations) > 8000 and len(relationships) > 38000
    started = time.perf_counter()
    with session_scope(workflow_engine) as session:
        first = sync_reference(session, organisations, relationships, actor=ACTOR)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with session_scope(workflow_engine) as session:
        second = sync_reference(session, organisations, relationships, actor=ACTOR)
    resync_seconds = time.perf_counter() - started
    assert first.organisations.inserted == len(organisations)
    assert first.relationships.inserted == len(relationships)
    assert second.changed == 0
    # "A few seconds" is the target; the bound is loose so a busy CI machine does not fail it.
    assert load_seconds < 30 and resync_seconds < 30, (load_seconds, resync_seconds)


def test_reference_columns_match_the_loader_contract() -> None:
    reference = pytest.importorskip("uptake.reference", reason="uptake.reference.loader is not there yet")
    assert tuple(reference.ORG_COLUMNS) == ORG_COLUMNS
    assert tuple(reference.REL_COLUMNS) == REL_COLUMNS


# --- the catalogue -------------------------------------------------------------------------------


def test_sync_catalogue_upserts(workflow_engine: Engine) -> None:
    with session_scope(workflow_engine) as session:
        first = sync_catalogue(session, catalogue(), actor=ACTOR)
    assert (first.innovations.inserted, first.indicators.inserted) == (1, 1)

    with session_scope(workflow_engine) as session:
        assert sync_catalogue(session, catalogue(), actor=ACTOR).changed == 0
        indicator = session.get(Indicator, "doac-share")
        first_update = indicator.updated_at
    assert indicator.definition == indicator_entry().model_dump(mode="json")
    assert (indicator.innovation_id, indicator.polarity, indicator.period) == ("doacs", "high-is-good", "month")
    assert (indicator.levels, indicator.synthetic) == (["sub-icb"], False)
    assert first_update.tzinfo is not None

    changed = catalogue(innovation_entry(), indicator_entry(title="DOAC share", synthetic=True))
    with session_scope(workflow_engine) as session:
        result = sync_catalogue(session, changed, actor=ACTOR)
        indicator = session.get(Indicator, "doac-share")
    assert (result.innovations.unchanged, result.indicators.updated) == (1, 1)
    assert (indicator.title, indicator.synthetic) == ("DOAC share", True)
    assert indicator.definition["title"] == "DOAC share"
    assert indicator.updated_at >= first_update

    with session_scope(workflow_engine) as session:  # an entry that left the catalogue is kept
        result = sync_catalogue(session, catalogue(innovation_entry()), actor=ACTOR)
    assert result.indicators.kept == 1 and result.changed == 0
    assert count(workflow_engine, Indicator) == 1

    with session_scope(workflow_engine) as session:
        update_event = audit_trail(session, "indicator", "doac-share")[0]
    assert update_event.action == "indicator.update"
    assert update_event.details == {"fields": ["definition", "synthetic", "title"]}


def test_the_bundled_catalogue_syncs(workflow_engine: Engine) -> None:
    from uptake.catalogue import load_catalogue

    bundled = load_catalogue()
    with session_scope(workflow_engine) as session:
        result = sync_catalogue(session, bundled, actor=ACTOR)
    assert result.innovations.inserted == len(bundled.innovations)
    assert result.indicators.inserted == len(bundled.indicators)


# --- users and tokens ----------------------------------------------------------------------------


@pytest.fixture
def loaded_engine(workflow_engine: Engine) -> Engine:
    load_reference(workflow_engine)
    with session_scope(workflow_engine) as session:
        sync_catalogue(session, catalogue(), actor=ACTOR)
    return workflow_engine


@pytest.mark.parametrize(
    ("role", "org", "innovation"),
    [
        ("national-admin", None, None),
        ("icb-analyst", "QMJ", None),
        ("provider-lead", "RAL", None),
        ("provider-lead", "F83004", None),
        ("innovator", None, "doacs"),
    ],
)
def test_add_user_accepts_each_role_with_its_scope(loaded_engine: Engine, role, org, innovation) -> None:
    with session_scope(loaded_engine) as session:
        user = add_user(session, " Lead@NHS.net ", "A Lead", role, org, innovation, actor=ACTOR)
    assert (user.email, user.role, user.scope_org_code, user.scope_innovation) == ("lead@nhs.net", role, org, innovation)
    assert user.active and user.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("email", "role", "org", "innovation", "message"),
    [
        ("not-an-email", "national-admin", None, None, "is not an email address"),
        ("a@nhs.net", "superuser", None, None, "unknown role 'superuser'; use one of: national-admin"),
        ("a@nhs.net", "national-admin", "QMJ", None, "national-admin sees everything"),
        ("a@nhs.net", "icb-analyst", None, None, "role icb-analyst needs scope_org_code, the code of a current icb"),
        ("a@nhs.net", "icb-analyst", "RAL", None, "current icb; RAL is at level trust"),
        ("a@nhs.net", "icb-analyst", "ZZZ", None, "no current organisation has code ZZZ"),
        ("a@nhs.net", "icb-analyst", "QMJ", "doacs", "scoped to an organisation, not an innovation"),
        ("a@nhs.net", "provider-lead", None, None, "role provider-lead needs scope_org_code, the code of a current trust or stroke-unit"),
        ("a@nhs.net", "provider-lead", "QMJ", None, "QMJ is at level icb"),
        ("a@nhs.net", "innovator", None, None, "innovator needs an innovation id"),
        ("a@nhs.net", "innovator", None, "teleporting", "no innovation 'teleporting'"),
        ("a@nhs.net", "innovator", "RAL", "doacs", "scoped to an innovation, not an organisation"),
    ],
)
def test_add_user_rejects_bad_roles_and_scopes(loaded_engine: Engine, email, role, org, innovation, message) -> None:
    with pytest.raises(UptakeError, match=message):
        with session_scope(loaded_engine) as session:
            add_user(session, email, "Someone", role, org, innovation, actor=ACTOR)
    assert count(loaded_engine, User) == 0
    assert count(loaded_engine, AuditEvent, AuditEvent.action == "user.add") == 0


def test_add_user_refuses_a_second_user_with_the_same_email(loaded_engine: Engine) -> None:
    with session_scope(loaded_engine) as session:
        add_user(session, "a@nhs.net", "A", "national-admin", actor=ACTOR)
    with pytest.raises(UptakeError, match="already exists"):
        with session_scope(loaded_engine) as session:
            add_user(session, "A@nhs.net", "A again", "national-admin", actor=ACTOR)


def test_icb_analysts_need_a_current_icb(loaded_engine: Engine) -> None:
    closed = [("QMJ", "icb", "NCL", "2022-07-01", "2024-03-31") if row[0] == "QMJ" else row for row in ORGS]
    with session_scope(loaded_engine) as session:
        sync_reference(session, organisations_frame(closed), relationships_frame(), actor=ACTOR)
    with pytest.raises(UptakeError, match="no current organisation has code QMJ"):
        with session_scope(loaded_engine) as session:
            add_user(session, "a@nhs.net", "A", "icb-analyst", "QMJ", actor=ACTOR)


def test_api_tokens_are_stored_hashed(loaded_engine: Engine) -> None:
    with session_scope(loaded_engine) as session:
        user = add_user(session, "a@nhs.net", "A", "national-admin", actor=ACTOR)
        token = issue_api_token(session, user, "laptop", actor=ACTOR)
    with session_scope(loaded_engine) as session:
        stored = session.scalars(select(ApiToken)).one()
        assert token not in (stored.token_hash, stored.label) and len(stored.token_hash) == 64
        assert user_for_token(session, token).email == "a@nhs.net"
        assert user_for_token(session, token + "x") is None
    with session_scope(loaded_engine) as session:
        assert session.get(ApiToken, stored.id).last_used_at is None  # reading a token writes nothing
        revoke_api_token(session, stored.id, actor=ACTOR)
    with session_scope(loaded_engine) as session:
        assert user_for_token(session, token) is None


# --- audit ---------------------------------------------------------------------------------------


def test_every_write_records_an_audit_event(workflow_engine: Engine) -> None:
    before = dt.datetime.now(dt.UTC)
    load_reference(workflow_engine)
    with session_scope(workflow_engine) as session:
        sync_catalogue(session, catalogue(), actor="curator@nhs.net")
        user = add_user(session, "a@nhs.net", "A", "innovator", scope_innovation="doacs", actor="admin@nhs.net")
        issue_api_token(session, user, "ci", actor="admin@nhs.net")
    with session_scope(workflow_engine) as session:
        token = session.scalars(select(ApiToken)).one()
        revoke_api_token(session, token.id, actor="admin@nhs.net")
    after = dt.datetime.now(dt.UTC)

    with session_scope(workflow_engine) as session:
        events = list(reversed(audit_trail(session)))
    assert [(e.actor, e.action, e.entity_type, e.entity_id) for e in events] == [
        (ACTOR, "reference.sync", "reference", None),
        ("curator@nhs.net", "innovation.insert", "innovation", "doacs"),
        ("curator@nhs.net", "indicator.insert", "indicator", "doac-share"),
        ("admin@nhs.net", "user.add", "user", str(user.id)),
        ("admin@nhs.net", "api-token.issue", "api-token", str(token.id)),
        ("admin@nhs.net", "api-token.revoke", "api-token", str(token.id)),
    ]
    for event in events:
        assert event.occurred_at.tzinfo is not None
        assert before - dt.timedelta(seconds=1) <= event.occurred_at <= after + dt.timedelta(seconds=1)
    assert events[0].details["organisations"]["inserted"] == len(ORGS)
    assert events[3].details == {"email": "a@nhs.net", "role": "innovator", "scope_org_code": None,
                                 "scope_innovation": "doacs"}


def test_the_default_actor_is_the_os_user(workflow_engine: Engine) -> None:
    from uptake.store import default_actor

    with session_scope(workflow_engine) as session:
        sync_catalogue(session, catalogue())
    with session_scope(workflow_engine) as session:
        assert {e.actor for e in audit_trail(session)} == {default_actor()}
    assert default_actor()


def test_audit_details_must_be_json(workflow_engine: Engine) -> None:
    with session_scope(workflow_engine) as session:
        with pytest.raises(UptakeError, match="JSON-serialisable"):
            record_audit(session, ACTOR, "x.y", "x", "1", {"when": dt.date(2026, 1, 1)})
        with pytest.raises(UptakeError, match="needs an actor"):
            record_audit(session, " ", "x.y", "x", "1")


def test_audit_events_are_append_only(workflow_engine: Engine) -> None:
    with session_scope(workflow_engine) as session:
        record_audit(session, ACTOR, "test.write", "test", "1", {"n": 1})
    with pytest.raises(AuditIsAppendOnly):
        with session_scope(workflow_engine) as session:
            session.scalars(select(AuditEvent)).one().action = "test.rewritten"
    with pytest.raises(AuditIsAppendOnly):
        with session_scope(workflow_engine) as session:
            session.delete(session.scalars(select(AuditEvent)).one())
    with pytest.raises(AuditIsAppendOnly):
        with session_scope(workflow_engine) as session:
            session.execute(update(AuditEvent).values(actor="someone else"))
    with pytest.raises(AuditIsAppendOnly):
        with session_scope(workflow_engine) as session:
            session.execute(delete(AuditEvent.__table__))
    with session_scope(workflow_engine) as session:
        assert [(e.action, e.actor) for e in session.scalars(select(AuditEvent))] == [("test.write", ACTOR)]


def test_timestamps_come_back_in_utc(workflow_engine: Engine) -> None:
    moment = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    with session_scope(workflow_engine) as session:
        session.add(AuditEvent(occurred_at=moment, actor=ACTOR, action="t", entity_type="t", details={}))
    with session_scope(workflow_engine) as session:
        stored = session.scalars(select(AuditEvent)).one().occurred_at
        raw = session.execute(text("SELECT count(*) FROM audit_events")).scalar()
    assert stored == moment and stored.utcoffset() == dt.timedelta(0) and raw == 1


@pytest.mark.postgres
def test_text_with_a_nul_character_is_a_users_error_on_postgresql() -> None:
    import os

    from sqlalchemy import text

    from uptake.errors import UptakeError
    from uptake.store.db import make_engine

    url = os.environ.get("UPTAKE_TEST_DATABASE_URL")
    if not url:
        pytest.skip("set UPTAKE_TEST_DATABASE_URL to run the PostgreSQL variant")
    engine = make_engine(url)
    try:
        with engine.connect() as con:
            with pytest.raises(UptakeError, match="NUL character"):
                con.execute(text("SELECT :x"), {"x": "a\x00b"})
            assert con.execute(text("SELECT :x"), {"x": "ab"}).scalar() == "ab"
    finally:
        engine.dispose()

"""`flask db upgrade` on an empty database gives exactly the models' schema, on both databases.

The other tests build their schema with `db.create_all()`; this is the test that
keeps the migrations honest against the models (no drift), and that they can be
walked down and up again.
"""

import re
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
import time_machine
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from followup import sealing
from followup.config import PROJECT_ROOT
from followup.extensions import db
from followup.models.base import exists_on_dialect
from followup.models.followup import SEARCH_TEXT_STATISTICS
from tests.helpers.apps import build_app, scratch_postgres_database
from tests.helpers.tables import fill_every_table, row_counts, value_for


@pytest.fixture
def empty_postgres_url(worker_id):
    """A database of its own: the session's shared one already holds `create_all` tables."""
    with scratch_postgres_database("migrations", worker_id) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request, tmp_path):
    """An app on a database with no tables at all."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    yield from _app_in_context(url)


@pytest.fixture
def empty_postgres_app(empty_postgres_url):
    yield from _app_in_context(empty_postgres_url)


def _app_in_context(url: str):
    app = build_app(url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_drift() -> list:
    """What autogenerate would write for the current database: [] when there is no drift."""
    with db.engine.connect() as conn:
        dialect_name = conn.dialect.name
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": lambda obj, _name, type_, reflected, _other: exists_on_dialect(
                    obj, type_, reflected, dialect_name
                ),
            },
        )
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_on_an_empty_database_gives_exactly_the_models_schema(empty_app):
    assert table_names() == set()
    flask_migrate.upgrade()
    assert table_names() == set(db.metadata.tables) | {"alembic_version"}
    assert schema_drift() == []


def test_downgrade_to_base_and_upgrade_again(empty_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_postgresql_gets_the_trigram_search_index(empty_app):
    flask_migrate.upgrade()
    indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("followup_requests")}
    has_trigram = "ix_followup_requests_search_trgm" in indexes
    assert has_trigram == (db.engine.dialect.name == "postgresql")


def list_index_includes() -> list[list[str]]:
    indexes = {ix["name"]: ix for ix in sa.inspect(db.engine).get_indexes("followup_requests")}
    return [
        indexes[f"ix_followup_requests_tenant_{kind}"]
        .get("dialect_options", {})
        .get("postgresql_include", [])
        for kind in ("created", "status_created")
    ]


def test_postgresql_list_indexes_carry_the_search_text(empty_app):
    """The drift check does not compare INCLUDE columns; the list's search relies on them."""
    flask_migrate.upgrade()
    expected = ["search_text"] if db.engine.dialect.name == "postgresql" else []
    assert list_index_includes() == [expected, expected]
    # 0005 walked down gives the plain indexes back (on SQLite it never changed them).
    flask_migrate.downgrade(revision="0004")
    assert list_index_includes() == [[], []]
    flask_migrate.upgrade()
    assert list_index_includes() == [expected, expected]


def search_text_statistics() -> int | None:
    """The planner's statistics target of search_text (PostgreSQL; -1 or NULL: the default)."""
    with db.engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "SELECT attstattarget FROM pg_attribute "
                "WHERE attrelid = 'followup_requests'::regclass AND attname = 'search_text'"
            )
        )


def test_postgresql_samples_the_search_text_finely(empty_postgres_app):
    """The drift check does not compare statistics targets; the list's plans rely on it."""
    flask_migrate.upgrade()
    assert search_text_statistics() == SEARCH_TEXT_STATISTICS
    flask_migrate.downgrade(revision="0018")
    assert search_text_statistics() in (-1, None)
    flask_migrate.upgrade()
    db.drop_all()
    db.create_all()  # the tests' schema, from the models
    assert search_text_statistics() == SEARCH_TEXT_STATISTICS


MIGRATIONS = PROJECT_ROOT / "migrations" / "versions"
# Every revision but the newest, read from the folder: an upgrade from any of them keeps
# every row (the README's upgrade steps rest on it).
EARLIER_REVISIONS = sorted(path.name[:4] for path in MIGRATIONS.glob("0*.py"))[:-1]


@pytest.mark.parametrize("start", EARLIER_REVISIONS)
def test_upgrading_a_database_with_data_keeps_every_row(empty_app, start):
    flask_migrate.upgrade(revision=start)
    before = fill_every_table()
    flask_migrate.upgrade()
    after = row_counts(db.metadata)
    assert {name: after[name] for name in before} == before
    assert schema_drift() == []


def test_0008_keeps_the_notes_of_every_request_and_starts_their_version_at_0(empty_app):
    flask_migrate.upgrade(revision="0007")
    fill_every_table()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE followup_requests SET notes = 'Called back on Monday.'"))
    flask_migrate.upgrade(revision="0008")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT notes, notes_version FROM followup_requests")).all()
    assert [tuple(row) for row in rows] == [("Called back on Monday.", 0)]


def test_0009_keeps_exhausted_chains_exhausted_both_ways(empty_app):
    flask_migrate.upgrade(revision="0008")
    fill_every_table()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE chats SET chain_exhausted = TRUE"))
    flask_migrate.upgrade(revision="0009")
    with db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT chain_ended FROM chats")) == "exhausted"
    flask_migrate.downgrade(revision="0008")
    with db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT chain_exhausted FROM chats")) in (True, 1)


def _row_of_tenant(table: sa.Table, tenant_id: int) -> dict:
    """A row of `table` for tenant `tenant_id`, its text values made its own (unique keys)."""
    row = {column.name: value_for(column) for column in table.columns if not column.nullable}
    row = {
        name: f"{value}{tenant_id}" if isinstance(value, str) else value
        for name, value in row.items()
    }
    return row | {"id": tenant_id} | ({"tenant_id": tenant_id} if "tenant_id" in row else {})


def _member_row(staff_users: sa.Table) -> dict:
    """An active owner of tenant 1 (roles and statuses are checked values); `status`
    where the schema has it."""
    checked = {"role": "owner", "status": "active"}
    return _row_of_tenant(staff_users, 1) | {k: v for k, v in checked.items() if k in staff_users.c}


def test_existing_chats_get_a_label_each_and_lose_the_placeholder_title(empty_app):
    """0010 on a database with chats: none lost, each gets a code no other chat of its
    tenant has, and nameless web chats are no longer titled "Website visitor"."""
    flask_migrate.upgrade(revision="0007")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, agents, chats = (metadata.tables[name] for name in ("tenants", "agents", "chats"))
    titles = ["Website visitor", "Maria Garcia", "+14155550177"] * 40
    with db.engine.begin() as conn:
        for tenant_id in (1, 2):
            conn.execute(tenants.insert().values(_row_of_tenant(tenants, tenant_id)))
            conn.execute(agents.insert().values(_row_of_tenant(agents, tenant_id)))
            conn.execute(
                chats.insert(),
                [
                    {
                        "tenant_id": tenant_id,
                        "agent_id": tenant_id,
                        "channel": "sms" if title.startswith("+") else "web",
                        "title": title,
                        "visitor": {},
                        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
                        "last_message_at": datetime(2026, 11, 1, tzinfo=UTC),
                    }
                    for title in titles
                ],
            )
    flask_migrate.upgrade()
    assert schema_drift() == []
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT tenant_id, title, visitor_code FROM chats")).all()
    assert len(rows) == 2 * len(titles)
    for tenant_id in (1, 2):
        codes = [code for tid, _title, code in rows if tid == tenant_id]
        assert len(set(codes)) == len(titles)
        assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}", code) for code in codes)
    assert sorted({title for _tid, title, _code in rows}) == ["", "+14155550177", "Maria Garcia"]


def test_0011_downgrade_marks_emails_saved_to_files_as_failed_not_sent(empty_app):
    """Before 0011 every email was sent; one only saved to a file keeps its row but
    fails, saying why, rather than looking delivered."""
    flask_migrate.upgrade(revision="0011")
    before = fill_every_table()
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE notifications SET state = 'saved_to_file'"))
    flask_migrate.downgrade(revision="0010")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    assert row_counts(metadata) == before
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT state, last_error FROM notifications")).all()
    assert [tuple(row) for row in rows] == [
        ("failed", "Saved to a file, not sent: no mail server was configured.")
    ]


def test_0013_gives_each_text_unanswered_at_the_upgrade_a_waiting_answer(empty_app):
    """The sweep answers what the customer texted last before the upgrade, when nothing
    of the business (the AI's or staff's) came after it; only on SMS chats, and only a
    text of the last day."""
    flask_migrate.upgrade(revision="0012")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, agents, chats, messages = (
        metadata.tables[name] for name in ("tenants", "agents", "chats", "messages")
    )
    conversations = {
        "sms": ["client", "agent", "client"],  # the last text waits
        "sms-2": ["client", "client", "system"],  # a note is not an answer
        "sms-3": ["client", "agent"],
        "sms-4": ["client", "staff"],
        "web": ["client"],
        "sms-old": ["client"],  # two days ago: the team's to answer, not the AI's
    }
    recent = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    with db.engine.begin() as conn:
        conn.execute(tenants.insert().values(_row_of_tenant(tenants, 1)))
        conn.execute(agents.insert().values(_row_of_tenant(agents, 1)))
        for chat_id, (name, roles) in enumerate(conversations.items(), start=1):
            chat = _row_of_tenant(chats, 1) | {"id": chat_id, "agent_id": 1}
            conn.execute(
                chats.insert().values(chat | {"channel": name[:3], "visitor_code": f"C{chat_id}"})
            )
            conn.execute(
                messages.insert(),
                [
                    _row_of_tenant(messages, 1)
                    | {"id": 100 * chat_id + n, "chat_id": chat_id, "role": role}
                    | {"content": f"{name} {n}"}
                    | {"created_at": recent - timedelta(days=2 if name == "sms-old" else 0)}
                    for n, role in enumerate(roles)
                ],
            )
    flask_migrate.upgrade(revision="0013")
    with db.engine.connect() as conn:
        waiting = conn.execute(
            sa.text(
                "SELECT m.content, a.state, a.attempts, a.due_at IS NOT NULL FROM sms_answers a "
                "JOIN messages m ON m.id = a.message_id AND m.chat_id = a.chat_id ORDER BY m.id"
            )
        ).all()
    assert [tuple(row) for row in waiting] == [
        ("sms 2", "waiting", 0, True),
        ("sms-2 1", "waiting", 0, True),
    ]
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_0018_downgrade_gives_tenants_their_followups_version_again_from_0(empty_app):
    flask_migrate.upgrade(revision="0018")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants = metadata.tables["tenants"]
    with db.engine.begin() as conn:
        conn.execute(tenants.insert(), [_row_of_tenant(tenants, n) for n in (1, 2)])
    flask_migrate.downgrade(revision="0017")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, followups_version FROM tenants ORDER BY id"))
        assert [tuple(row) for row in rows] == [(1, 0), (2, 0)]


def test_0020_staff_members_become_admins_and_owners_stay_owners(empty_app):
    flask_migrate.upgrade(revision="0019")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, staff_users = metadata.tables["tenants"], metadata.tables["staff_users"]
    with db.engine.begin() as conn:
        conn.execute(tenants.insert(), [_row_of_tenant(tenants, 1)])
        members = [_row_of_tenant(staff_users, 1) | {"id": n} for n in (1, 2)]
        members[0] |= {"role": "owner", "email": "olivia@x.example"}
        members[1] |= {"role": "staff", "email": "sam@x.example"}
        conn.execute(staff_users.insert(), members)
    flask_migrate.upgrade(revision="0020_team")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, role FROM staff_users ORDER BY id"))
        assert [tuple(row) for row in rows] == [(1, "owner"), (2, "admin")]
    flask_migrate.downgrade(revision="0019")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, role FROM staff_users ORDER BY id"))
        assert [tuple(row) for row in rows] == [(1, "owner"), (2, "staff")]


def test_0021_makes_the_staff_notes_the_first_note_and_walks_down_keeping_new_ones(empty_app):
    flask_migrate.upgrade(revision="0019")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, staff_users = metadata.tables["tenants"], metadata.tables["staff_users"]
    with db.engine.begin() as conn:
        conn.execute(tenants.insert().values(_row_of_tenant(tenants, 1)))
        conn.execute(staff_users.insert().values(_member_row(staff_users)))
        conn.execute(
            sa.text(
                "INSERT INTO followup_requests (id, tenant_id, name, email, reason, priority,"
                " status, source, notes, identity_verified, created_at, notes_version) VALUES"
                " (1, 1, 'Ann', 'ann@example.com', 'Renewal', 'normal', 'pending', 'api',"
                " 'Called back on Monday.', FALSE, :at, 0)"
            ).bindparams(at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    flask_migrate.upgrade(revision="0021")
    with db.engine.begin() as conn:
        rows = conn.execute(
            sa.text("SELECT followup_id, kind, text, staff_user_id, version FROM followup_activity")
        ).all()
        assert [tuple(row) for row in rows] == [(1, "note", "Called back on Monday.", None, 0)]
        created = conn.execute(
            sa.text(
                "SELECT r.created_at = a.created_at FROM followup_requests r "
                "JOIN followup_activity a ON a.followup_id = r.id"
            )
        ).scalar()
        assert created in (True, 1)  # the first note: written when the request came
        conn.execute(
            sa.text(
                "INSERT INTO followup_activity (tenant_id, followup_id, kind, actor_label, text,"
                " version, created_at) VALUES (1, 1, 'note', 'Olivia', 'Sent the quote.', 0,"
                " :at)"
            ).bindparams(at=datetime(2026, 2, 1, tzinfo=UTC))
        )
        conn.execute(sa.text("UPDATE followup_requests SET assignee_id = 1"))
    flask_migrate.downgrade(revision="0019")
    with db.engine.connect() as conn:
        notes = conn.scalar(sa.text("SELECT notes FROM followup_requests"))
    assert notes == "Called back on Monday.\n\nOlivia: Sent the quote."
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_0022_stores_each_promise_and_arms_only_the_alerts_still_ahead(empty_app):
    flask_migrate.upgrade(revision="0021")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, requests = metadata.tables["tenants"], metadata.tables["followup_requests"]
    upgraded_at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    hours_ago = {1: 20, 2: 8, 3: 1, 4: 1}  # request id: its age at the upgrade
    with db.engine.begin() as conn:
        conn.execute(tenants.insert(), [_row_of_tenant(tenants, 1) | {"response_time_hours": 10}])
        base = {
            "tenant_id": 1,
            "name": "Ann",
            "email": "ann@example.com",
            "reason": "Renewal",
            "priority": "normal",
            "source": "api",
            "notes": "",
            "notes_version": 0,
            "identity_verified": False,
        }
        conn.execute(
            requests.insert(),
            [
                base
                | {
                    "id": request_id,
                    "status": "contacted" if request_id == 4 else "pending",
                    "created_at": (upgraded_at - timedelta(hours=age)).replace(tzinfo=None),
                }
                for request_id, age in hours_ago.items()
            ],
        )
    with time_machine.travel(upgraded_at, tick=False):
        flask_migrate.upgrade(revision="0022")
    columns = {"due_at": sa.DateTime(), "next_alert_at": sa.DateTime()}
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, response_time_hours, due_at, next_alert_at FROM followup_requests "
                "ORDER BY id"
            ).columns(**columns)
        ).all()
    created = {
        i: upgraded_at.replace(tzinfo=None) - timedelta(hours=age) for i, age in hours_ago.items()
    }
    assert [tuple(row) for row in rows] == [
        (1, 10, created[1] + timedelta(hours=10), None),  # overdue before the feature: no alert
        (2, 10, created[2] + timedelta(hours=10), created[2] + timedelta(hours=10)),  # overdue next
        (
            3,
            10,
            created[3] + timedelta(hours=10),
            created[3] + timedelta(hours=7.5),
        ),  # at risk next
        (4, 10, created[4] + timedelta(hours=10), None),  # contacted
    ]
    flask_migrate.downgrade(revision="0021")
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_0023_keeps_clear_secrets_for_the_app_to_seal_and_walks_down_opening_sealed_ones(
    empty_app,
):
    flask_migrate.upgrade(revision="0022")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    tenants, staff_users = metadata.tables["tenants"], metadata.tables["staff_users"]
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    with db.engine.begin() as conn:
        conn.execute(tenants.insert(), [_row_of_tenant(tenants, 1)])
        member = _member_row(staff_users) | {"totp_secret": secret}
        others = [
            member | {"id": 2, "email": "b@x.example", "totp_secret": None},
            member | {"id": 3, "email": "c@x.example"},
        ]
        conn.execute(staff_users.insert(), [member, *others])
    flask_migrate.upgrade(revision="0023")
    sealed = sealing.seal(secret, sealing.TOTP_SECRET)  # as the app seals it at sign-in
    with db.engine.begin() as conn:
        stored = dict(conn.execute(sa.text("SELECT id, totp_secret FROM staff_users")).all())
        assert stored == {1: secret, 2: None, 3: secret}
        conn.execute(sa.text("UPDATE staff_users SET totp_secret = :s WHERE id = 3"), {"s": sealed})
    flask_migrate.downgrade(revision="0022")
    with db.engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT id, totp_secret FROM staff_users")).all())
    assert stored == {1: secret, 2: None, 3: secret}
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_0024_gives_every_tenant_a_widget_not_seen_yet_and_walks_down_keeping_them(empty_app):
    flask_migrate.upgrade(revision="0023")
    metadata = sa.MetaData()
    metadata.reflect(db.engine)
    with db.engine.begin() as conn:
        conn.execute(
            metadata.tables["tenants"].insert(), [_row_of_tenant(metadata.tables["tenants"], 1)]
        )
    flask_migrate.upgrade(revision="0024")
    with db.engine.connect() as conn:
        seen = conn.execute(
            sa.text("SELECT id, widget_seen_origin, widget_seen_at FROM tenants")
        ).all()
    assert [tuple(row) for row in seen] == [(1, None, None)]
    flask_migrate.downgrade(revision="0023")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenants")).scalar() == 1
    assert "widget_seen_at" not in {c["name"] for c in sa.inspect(db.engine).get_columns("tenants")}
    flask_migrate.upgrade()
    assert schema_drift() == []


def test_0033_serves_every_earlier_chat_and_business_in_english(empty_app):
    """Every chat before 0033 was served in English: it keeps that language, whatever
    default for visitors its business picks later (one rule for pages and emails)."""
    flask_migrate.upgrade(revision="0032")
    fill_every_table()
    flask_migrate.upgrade(revision="0033")
    with db.engine.connect() as conn:
        chats = conn.execute(sa.text("SELECT locale FROM chats")).scalars().all()
        tenants = conn.execute(sa.text("SELECT visitor_locale FROM tenants")).scalars().all()
    assert (chats, tenants) == (["en"], ["en"])
    flask_migrate.downgrade(revision="0032")
    assert "locale" not in {c["name"] for c in sa.inspect(db.engine).get_columns("chats")}
    flask_migrate.upgrade()
    assert schema_drift() == []

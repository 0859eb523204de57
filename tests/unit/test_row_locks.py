"""queries.lock_row: a row is read and locked once per transaction; locking it again
reads nothing until the transaction (or the savepoint that locked it) ends."""

from followup.extensions import db
from followup.models import Tenant
from followup.services.queries import lock_row
from tests.helpers.database_work import database_work


def _lock(tenant: Tenant) -> list[str]:
    """What locking the tenant's row asks of the database."""
    with database_work() as seen:
        assert lock_row(Tenant, tenant.id, Tenant.name) is tenant
    return [statement for statement in seen if statement != "CHECKOUT"]


def test_a_row_locked_once_is_not_read_again_in_the_same_transaction(tenant):
    db.session.commit()
    assert _lock(tenant)[-1] == "SELECT"
    assert _lock(tenant) == []


def test_the_next_transaction_reads_and_locks_it_anew(tenant):
    db.session.commit()
    _lock(tenant)
    db.session.commit()
    assert _lock(tenant)[-1] == "SELECT"
    db.session.rollback()
    assert _lock(tenant)[-1] == "SELECT"


def test_a_lock_taken_in_a_savepoint_rolled_back_is_taken_again(tenant):
    db.session.commit()
    savepoint = db.session.begin_nested()
    _lock(tenant)
    savepoint.rollback()
    assert _lock(tenant)[-1] == "SELECT"


def test_a_lock_with_conditions_always_reads_the_row(tenant):
    """A condition (e.g. the tenant of the row) is checked by the database each time."""
    db.session.commit()
    _lock(tenant)
    with database_work() as seen:
        assert lock_row(Tenant, tenant.id, Tenant.name, Tenant.slug == "elsewhere") is None
    assert "SELECT" in seen

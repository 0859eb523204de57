"""Steps deleted quickly, one after the other: each delete queues a replan of the
agent's chains, and the replan of the first delete runs while the later ones commit.
A step it read may be gone by the time it saves the chat; it plans that chat again
from the steps left instead of failing (and leaving the agent's other chats unplanned).

The replan job runs in this process (RQ's SimpleWorker) so the test can delete the next
step, from another thread and connection as the web process would, at the worst
moment: after the job read the steps, before it commits."""

import threading
from datetime import timedelta

from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import event, select

from followup.extensions import db
from followup.models import Chat
from followup.queue import JobQueue
from followup.services import agents
from tests.helpers.chains import START, client_says, make_agent, start_chat
from tests.helpers.jobs import work_off

STEPS = [(60, "Check in"), (120, "Ask again"), (180, "Offer a call"), (240, "Say goodbye")]


def run_queued_jobs(redis_db) -> None:
    queue = Queue(JobQueue.MAINTENANCE, connection=redis_db)
    work_off(queue, redis_db)
    failed = FailedJobRegistry(queue=queue)
    assert failed.get_job_ids() == [], queue.fetch_job(failed.get_job_ids()[0]).exc_info


def test_steps_deleted_while_a_replan_runs_leave_every_chat_planned(app, clock, tenant, redis_db):
    app.config["RQ_ASYNC"] = True  # replans are queued, as in production
    agent = make_agent(tenant, steps=STEPS)
    step_ids = [step.id for step in agent.steps]
    chats = [start_chat(tenant, name=f"Client {n}") for n in range(3)]
    for chat in chats:
        client_says(chat)  # each chain waits for step 1
    chat_ids = [chat.id for chat in chats]
    tenant_id, agent_id = tenant.id, agent.id

    agents.remove_step(tenant_id, agent_id, step_ids[0])  # queues replan 1
    later_delete = threading.Thread(
        target=_remove_step_in_its_own_context, args=(app, tenant_id, agent_id, step_ids[1])
    )
    job_thread = threading.get_ident()

    def delete_the_next_step_first(session):
        """Before the job saves a chat planned for step 2, step 2 is deleted (once)."""
        if threading.get_ident() != job_thread or later_delete.ident is not None:
            return
        planned = [row for row in session.dirty if isinstance(row, Chat)]
        if not any(chat.chain_step_id == step_ids[1] for chat in planned):
            return
        later_delete.start()
        # PostgreSQL lets the delete commit now, under the job's feet. SQLite holds it
        # back until the job commits: the job took the database's write lock.
        if db.engine.dialect.name == "postgresql":
            later_delete.join()

    event.listen(db.session, "before_commit", delete_the_next_step_first)
    try:
        run_queued_jobs(redis_db)  # replan 1, with step 2 deleted meanwhile
    finally:
        event.remove(db.session, "before_commit", delete_the_next_step_first)
    later_delete.join()
    assert later_delete.ident is not None  # the race happened
    run_queued_jobs(redis_db)  # replan 2, queued by the later delete

    db.session.expire_all()
    planned = db.session.execute(
        select(Chat.chain_step_id, Chat.chain_due_at).where(Chat.id.in_(chat_ids))
    ).all()
    # Step 3 (180 minutes) is first now, counted from the client's message.
    assert set(planned) == {(step_ids[2], START + timedelta(minutes=180))}


def _remove_step_in_its_own_context(app, tenant_id: int, agent_id: int, step_id: int) -> None:
    with app.app_context():
        try:
            agents.remove_step(tenant_id, agent_id, step_id)
        finally:
            db.session.remove()

"""Moves the clock of every Python process of a test run ahead (`make test-clock`).

On PYTHONPATH this module runs at the start of pytest, its xdist workers and every
Python process they start (RQ workers, the CLI), so all of them agree on the moved
"now"; the database and Redis servers keep the real one. Debian's libfaketime would
do the same, but its 0.9.10 breaks Python 3.11's time.sleep and timed waits.
"""

import os
import time
from datetime import UTC, datetime, timedelta

_DAYS = os.environ.get("FOLLOWUP_TEST_CLOCK_AHEAD_DAYS")

if _DAYS:
    import time_machine

    # tick=True: time goes on from the moved moment; tests still travel within it.
    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_DAYS)), tick=True).start()
    # A ticking clock starts at its first reading: read it now, so that every process
    # is ahead by the same amount, not less by however long it took to first look.
    time.time()

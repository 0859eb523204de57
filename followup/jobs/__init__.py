"""RQ entry points: each takes ids (or plain values) and calls one service.

Nothing imports these modules but RQ, by each job's dotted name (`followup.queue`),
and the worker, which registers the sweeps with its cron."""

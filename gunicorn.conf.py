"""How gunicorn serves the app: read by every `gunicorn app:app` started in this folder
(`make run`, the README's production command, bench/widget_load.py). Flags on the
command line win over these.

Threads, many of them: each chat reply streams for as long as the model writes it
(seconds), holding a thread but not a database connection (it is given back while
the model thinks), so threads, not CPU, are what runs out when many visitors chat
at once. An idle thread costs little memory (see the README's load benchmark).
Not gevent: SQLite, the default database, blocks a whole gevent worker on every
query and every wait for the other process's write lock.
"""

import os

from followup import metrics

worker_class = "gthread"
# One process per core does the CPU work; its threads wait on the model and the network.
workers = max(2, os.cpu_count() or 1)
# A thread for every connection a worker may take: the workers share one listening
# socket and one may accept more than its share; a connection without a thread would
# wait for another visitor's whole answer. Past `threads`, the rest of
# `worker_connections` is for idle keep-alive connections (the poller holds those).
threads = 1000
worker_connections = 1250
# gunicorn's most: the app refuses URLs over 4,096 bytes itself, with its own 414 in our
# words (web/requests.py); gunicorn's own 414 page is HTML that cannot be changed.
limit_request_line = 8190
# gunicorn's own lines in our format; no access log: the app writes one line per request
# (followup/logs.py) with its route, request id and business, where gunicorn's would give
# the raw path and query string (widget keys, login tokens) and a second line per request.
logger_class = "followup.logs.GunicornLogger"
accesslog = None

# Counts of every worker process added up at each scrape (prometheus_client's multiprocess
# mode): a folder emptied as the master starts, its dead workers' files marked.
on_starting = metrics.web_server_starting
child_exit = metrics.web_worker_exited
on_exit = metrics.web_server_stopped

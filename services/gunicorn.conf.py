"""Gunicorn settings shared by every service, locally and in compose.

Per run: ``--bind`` and the app on the command line, ``WEB_CONCURRENCY`` for the worker
count (gunicorn reads it itself), ``GUNICORN_CMD_ARGS`` for anything else.
"""

worker_class = "gthread"
# Threads mostly wait: on the quote server (up to seconds for a fresh quote), on the
# database, on a live-update stream. With 8, a few hundred simulated users asking for
# fresh quotes left commands that needed none queueing for a thread (docs/benchmarks.md).
threads = 32
# Longer than NGINX's upstream keepalive_timeout (30 s): NGINX must be the side that
# closes an idle connection, or a POST sent just as gunicorn closes it becomes a 502.
keepalive = 75
accesslog = "-"
errorlog = "-"

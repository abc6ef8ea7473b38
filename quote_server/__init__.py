"""Mock of the course's legacy quote server: TCP line protocol plus an HTTP JSON API.

Run it with ``python -m quote_server``; settings come from ``QUOTE_*`` variables
(see ``quote_server/config.py``).
"""

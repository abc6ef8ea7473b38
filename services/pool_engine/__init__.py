"""The pool engine: the platform's mining pools, doing real proof of work on the chain
and paying their miners on chain (``python -m services.pool_engine``)."""

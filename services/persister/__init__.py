"""The persister: writes the journal's records to the database behind the commands
(``LEDGER_STORE=journal``; ``services/common/journal.py``)."""

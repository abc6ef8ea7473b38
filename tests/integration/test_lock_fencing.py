"""A holder that lost its user's lock cannot write (issue 18, item 3).

Holder A reads the account under the lock, then stalls past the lock's timeout; B takes
the lock and reads the same version. Without a check right before the write, A's write
would pass the version guard (nobody wrote yet) and land while B holds the lock, and B's
own change would then be refused. Real Redis and the MongoDB-wire server, no fakes.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from services.common.backend import Backend
from services.common.config import load_settings
from services.common.domain import account as rules
from services.common.errors import UpstreamUnavailable
from services.common.ledger import Command
from tests.helpers import random_user

pytestmark = pytest.mark.integration

LOCK_S = 0.5


@pytest.fixture
def short_locks(settings):
    """Adapters whose user locks expire after half a second."""
    backend = Backend(load_settings({**settings, "user_lock_timeout_s": LOCK_S}))
    yield backend
    backend.close()


def add(cents: int, user: str) -> tuple[Command, object]:
    cmd = Command("ADD", random.randrange(1, 2**40), user=user, funds=cents)
    return cmd, lambda a: rules.add_funds(a, cents)


def test_a_holder_paused_past_its_lock_writes_nothing_and_the_next_holder_wins(short_locks, store):
    user = random_user()
    short_locks.ledger.run(*add(10_000, user), create=True)  # $100.00, version 1
    lock_expired, b_has_read, outcome = threading.Event(), threading.Event(), {}

    def holder_a():
        try:
            with short_locks.ledger.session(user, ()) as session:
                session.run(*add(100, user))  # +$1.00 in memory, under the lock
                time.sleep(LOCK_S * 2)  # stalls: the lock expires
                lock_expired.set()
                b_has_read.wait(10)  # B holds the lock now; A tries to write
        except UpstreamUnavailable as exc:
            outcome["a"] = exc
        else:
            outcome["a"] = "written"

    thread = threading.Thread(target=holder_a)
    thread.start()
    assert lock_expired.wait(10)
    with short_locks.ledger.session(user, ()) as session:
        session.run(*add(200, user))  # +$2.00 in memory, read the same version as A
        b_has_read.set()
        thread.join(10)  # A's write is attempted while B holds the lock
    assert not thread.is_alive()

    assert isinstance(outcome["a"], UpstreamUnavailable), outcome  # A: 503, retryable
    assert "lost the lock" in outcome["a"].message
    stored = store.account(user)
    assert stored["cash"] == 10_000 + 200  # B's change only: $102.00
    assert stored["v"] == 2
    assert store.cash_by_the_log(user) == 10_200  # and the log agrees

"""The audit log on the real database: appends from many threads at once (a group
commit) are all stored, each entry once, each append as one page of its own."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import random_user

pytestmark = pytest.mark.integration


def test_concurrent_appends_are_all_stored_each_entry_once(backend, store):
    user = random_user()
    appends = [
        [
            {"_id": f"{user}:{n}:{i:04d}", "type": "userCommand", "user": user, "txn": n, "ts": n}
            for i in range(n % 3 + 1)
        ]
        for n in range(1, 61)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(backend.log.append, appends))
    backend.log.append(appends[7])  # an outbox flushed again changes nothing

    stored = store.user_log(user)
    assert sorted(e["txn"] for e in stored) == sorted(e["txn"] for a in appends for e in a)
    pages = list(store.db["log_pages"].find({"_id": {"$regex": f"^page:{user}:"}}))
    assert len(pages) == len(appends)
    by_page = {p["_id"]: [e["txn"] for e in json.loads(p["entries"])] for p in pages}
    assert all(by_page[f"page:{a[0]['_id']}"] == [e["txn"] for e in a] for a in appends)

"""The mining service's routes against real FerretDB and Redis: machines, start, stop,
history, bounds, bad input and other users' machines."""

from __future__ import annotations

import pytest

from services import mining, user_utilities
from tests.helpers import random_user

PASSWORD = "correct-horse-battery"


class MiningClient:
    """The mining app called with one user's token."""

    def __init__(self, app, headers: dict):
        self.client = app.test_client()
        self.headers = headers

    def post(self, path: str, body=None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        resp = self.client.post(f"/api/mining{path}", headers=self.headers, **kwargs)
        return resp.status_code, resp.get_json()

    def get(self, path: str):
        resp = self.client.get(f"/api/mining{path}", headers=self.headers)
        return resp.status_code, resp.get_json()

    def machines(self) -> list[dict]:
        status, body = self.get("/machines")
        assert status == 200, body
        return body["data"]["machines"]

    def register(self, hashrate: int = 10**12, name: str = "rig") -> dict:
        status, body = self.post("/machines", {"name": name, "model": "S19", "hashrate": hashrate})
        assert status == 201, body
        return body["data"]


@pytest.fixture(scope="module")
def apps(settings):
    built = {
        "mining": mining.create_app({**settings, "mining_max_machines": 3}),
        "users": user_utilities.create_app(settings),
    }
    yield built
    for app in built.values():
        app.extensions["backend"].close()


@pytest.fixture
def new_user(apps):
    """Factory: a registered, signed-in user's mining client."""

    def make() -> MiningClient:
        users = apps["users"].test_client()
        name = random_user()
        assert users.post("/api/users/register", json={"username": name, "password": PASSWORD})
        resp = users.post("/api/users/login", json={"username": name, "password": PASSWORD})
        token = resp.get_json()["data"]["token"]
        client = MiningClient(apps["mining"], {"Authorization": f"Bearer {token}"})
        client.name = name
        return client

    return make


def test_register_start_stop_and_the_dig_history(new_user, db):
    alice = new_user()
    machine = alice.register(hashrate=2 * 10**12)
    assert machine["state"] == "idle" and machine["hashrate"] == 2 * 10**12

    status, body = alice.post(f"/machines/{machine['id']}/start", {"pool": "atlas"})
    assert status == 200, body
    assert (body["data"]["state"], body["data"]["pool"]) == ("digging", "atlas")

    # Starting it twice is refused and changes nothing: still one dig, still in atlas.
    status, body = alice.post(f"/machines/{machine['id']}/start", {"pool": "boreal"})
    assert status == 409 and body["error"]["code"] == "machine_busy"
    assert db["mining_digs"].count_documents({"machine": machine["id"]}) == 1
    assert alice.machines()[0]["pool"] == "atlas"

    status, body = alice.post(f"/machines/{machine['id']}/stop")
    assert status == 200 and body["data"]["state"] == "stopped"
    status, body = alice.post(f"/machines/{machine['id']}/stop")
    assert status == 409 and body["error"]["code"] == "machine_not_digging"

    # Started again in another pool: two digs, newest first, the first one closed.
    assert alice.post(f"/machines/{machine['id']}/start", {"pool": "boreal"})[0] == 200
    status, body = alice.get("/history")
    assert status == 200
    digs = body["data"]["digs"]
    assert [dig["pool"] for dig in digs] == ["boreal", "atlas"]
    assert digs[0]["stop_ms"] is None
    assert digs[1]["stop_ms"] >= digs[1]["start_ms"]
    assert digs[1]["earnings"] == "0.00000000"
    status, body = alice.get(f"/machines/{machine['id']}")
    assert status == 200 and len(body["data"]["history"]) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"name": "rig", "model": "S19", "hashrate": -5},
        {"name": "rig", "model": "S19", "hashrate": 0},
        {"name": "rig", "model": "S19", "hashrate": 10**15 + 1},
        {"name": "rig", "model": "S19", "hashrate": 1.5},
        {"name": "rig", "model": "S19", "hashrate": "100"},
        {"name": "rig", "model": "S19", "hashrate": True},
        {"name": "", "model": "S19", "hashrate": 5},
        {"name": "rig", "hashrate": 5},
        {"name": "rig", "model": "S19", "hashrate": 5, "owner": "bob"},
        ["not", "an", "object"],
    ],
)
def test_a_bad_machine_is_refused_and_nothing_is_stored(new_user, body):
    alice = new_user()
    status, answer = alice.post("/machines", body)
    assert status == 400, answer
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_input"
    assert alice.machines() == []


def test_starting_in_an_unknown_pool_or_with_a_bad_body_changes_nothing(new_user, db):
    alice = new_user()
    machine = alice.register()
    for body, expected in (({"pool": "nowhere"}, 404), ({"pool": 7}, 400), ({}, 400)):
        status, answer = alice.post(f"/machines/{machine['id']}/start", body)
        assert status == expected, answer
    assert alice.machines()[0]["state"] == "idle"
    assert db["mining_digs"].count_documents({"machine": machine["id"]}) == 0


def test_a_user_has_at_most_the_configured_number_of_machines(new_user):
    alice = new_user()
    for n in range(3):
        alice.register(name=f"rig {n}")
    status, body = alice.post("/machines", {"name": "one more", "model": "S9", "hashrate": 9})
    assert status == 409 and body["error"]["code"] == "too_many_machines"
    assert len(alice.machines()) == 3


def test_another_users_machines_are_out_of_reach(new_user):
    alice, mallory = new_user(), new_user()
    machine = alice.register()
    for path in (f"/machines/{machine['id']}/start", f"/machines/{machine['id']}/stop"):
        status, _ = mallory.post(path, {"pool": "atlas"} if path.endswith("start") else None)
        assert status == 404
    assert mallory.get(f"/machines/{machine['id']}")[0] == 404
    assert mallory.get(f"/machines?user={alice.name}")[0] == 403
    assert mallory.machines() == []
    assert alice.machines()[0]["state"] == "idle"


def test_without_a_token_nothing_is_served(apps):
    client = apps["mining"].test_client()
    assert client.get("/api/mining/machines").status_code == 401
    assert client.get("/api/mining/pools").status_code == 401


def test_the_pool_centre_lists_every_configured_pool(new_user):
    alice = new_user()
    status, body = alice.get("/pools")
    assert status == 200
    pools = {pool["id"]: pool for pool in body["data"]["pools"]}
    assert set(pools) == {"atlas", "boreal", "cobalt", "delta", "ember"}
    assert (pools["atlas"]["scheme"], pools["atlas"]["fee"]) == ("PPLNS", "1.50")
    assert (pools["delta"]["scheme"], pools["delta"]["fee"]) == ("PPS", "4.00")
    status, body = alice.get("/pools/boreal")
    assert status == 200 and body["data"]["recent_blocks"] == []
    assert alice.get("/pools/nowhere")[0] == 404
    status, body = alice.get("/earnings")
    assert status == 200 and body["data"]["total"] == "0.00000000"

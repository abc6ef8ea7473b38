"""Which forwarded headers a service believes (issue 18, items 4 and 9): the client's
address and scheme only from NGINX's address (TRUSTED_PROXIES), the host never."""

from __future__ import annotations

import pytest
from flask import request

from services import user_utilities

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seen(settings):
    """A fresh user-utilities app that records how it saw each request."""
    app = user_utilities.create_app(settings)
    records: list[tuple[str, str, str]] = []
    app.before_request(lambda: records.append((request.remote_addr, request.host, request.scheme)))
    client = app.test_client()

    def ping(remote: str, **headers) -> tuple[str, str, str]:
        records.clear()
        resp = client.get("/api/users/ping", headers=headers, environ_base={"REMOTE_ADDR": remote})
        assert resp.status_code == 200
        return records[0]

    yield ping
    app.extensions["backend"].close()


FORGED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


def test_nginx_forwards_the_client_address_and_scheme_but_not_a_host(seen):
    address, host, scheme = seen("127.0.0.1", Host="127.0.0.1:8080", **FORGED)
    assert (address, scheme) == ("203.0.113.9", "https")
    assert host == "127.0.0.1:8080"  # X-Forwarded-Host is ignored


def test_a_client_on_a_service_port_cannot_choose_its_address(seen):
    assert seen("192.0.2.7", Host="svc:8000", **FORGED) == ("192.0.2.7", "svc:8000", "http")

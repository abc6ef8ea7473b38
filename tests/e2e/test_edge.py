"""What NGINX adds in front of every service (issue 18, item 9): security headers on
every answer, and a per-address limit on sign-in before the services see it."""

from __future__ import annotations

import http.client
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import SECRETS, _start
from tools.stack import INFRA

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The platform behind NGINX, its service sign-in open to 127.0.0.1 alone."""
    env = {
        **SECRETS,
        "QUOTE_FIXED_PRICE": "10.00",
        "MONGO_DB": "edge_" + uuid.uuid4().hex[:12],
        "SERVICE_LOGIN_NETWORKS": "127.0.0.1/32",
    }
    edge = _start(tmp_path_factory.mktemp("edge"), {*INFRA, "services", "nginx"}, env, replicas=1)
    yield edge
    edge.stop()


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),  # the UI
        ("get", "/api/users/ping"),  # a service's answer
        ("post", "/api/users/add"),  # a service's error (401)
        ("get", "/api/nowhere"),  # NGINX's own error
    ],
)
def test_every_answer_carries_the_security_headers(stack, method, path):
    resp = requests.request(method, f"{stack.nginx_url}{path}", timeout=30)
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (path, name, resp.headers)
    policy = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy


def _sign_in_from(
    url: str, source: str, path: str = "/api/users/login", password: str = "wrong-password"
) -> tuple[int, dict, bool]:
    """One sign-in from ``source``: (status, body, whether a service answered it: every
    service sets X-Served-By, NGINX's own answers do not)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=60, source_address=(source, 0)
    )
    try:
        name = "replayer" if path.endswith("service-login") else "nobody"
        body = json.dumps({"username": name, "password": password})
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        reply = connection.getresponse()
        return reply.status, json.loads(reply.read()), reply.getheader("X-Served-By") is not None
    finally:
        connection.close()


def test_nginx_limits_sign_in_attempts_per_address(stack):
    """80 wrong passwords at once from one address (127.0.0.77, apart from the other
    tests): NGINX lets a burst of 20 (then 5 a second) through to the service, which
    refuses them 401 (or 429 past its own limit), and refuses the rest itself: 429 in
    the platform's envelope."""
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: _sign_in_from(stack.nginx_url, "127.0.0.77"), range(80)))
    assert {status for status, _, _ in answers} <= {401, 429}
    by_nginx = [(status, body) for status, body, served in answers if not served]
    assert by_nginx, "NGINX let every attempt through"
    for status, body in by_nginx:
        assert status == 429
        assert body == {
            "ok": False,
            "error": {
                "code": "too_many_requests",
                "message": "Too many open streams or requests from this address.",
            },
        }


def test_the_service_credential_signs_in_only_on_its_own_path_from_the_operator(stack):
    url, password = stack.nginx_url, SECRETS["SERVICE_PASSWORD"]
    status, body, _ = _sign_in_from(url, "127.0.0.1", "/api/users/service-login", password)
    assert status == 200 and body["data"]["role"] == "service"
    # From any other address NGINX refuses the path before a service sees it ...
    status, body, served = _sign_in_from(url, "127.0.0.9", "/api/users/service-login", password)
    assert (status, served, body["error"]["code"]) == (403, False, "forbidden")
    # ... and the public sign-in does not take the service credential at all.
    status, body, served = _sign_in_from(url, "127.0.0.1", "/api/users/login", password)
    assert (status, served, body["error"]["code"]) == (401, True, "unauthorized")

"""Every service describes itself in OpenAPI, and fuzzing it finds no 5xx and no
response outside the description (schemathesis, against the real infrastructure)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services import buy, exchange, sell, user_utilities, wallet
from services.common.wallet_keys import KeyVault
from tests.conftest import SECRETS

pytestmark = pytest.mark.integration

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases every run: CI failures reproduce
)


@pytest.fixture(scope="module")
def apps(settings):
    built = {
        "buy": buy.create_app(settings),
        "sell": sell.create_app(settings),
        "users": user_utilities.create_app(settings),
        "exchange": exchange.create_app(settings),
        "wallet": wallet.create_app(
            {
                **settings,
                "wallet_encryption_key": KeyVault.new_encryption_key(),
                # Nothing listens there: no fuzzed request may need a chain-node.
                "wallet_chain_node_url": "http://127.0.0.1:9",
            }
        ),
    }
    yield built
    for app in built.values():
        app.extensions["backend"].close()


@pytest.fixture(scope="module")
def auth(apps) -> dict:
    resp = (
        apps["users"]
        .test_client()
        .post(
            "/api/users/service-login",
            json={"username": "replayer", "password": SECRETS["SERVICE_PASSWORD"]},
        )
    )
    return {"Authorization": f"Bearer {resp.get_json()['data']['token']}"}


@pytest.fixture(scope="module")
def buy_api(apps):
    return schemathesis.openapi.from_wsgi("/api/buy/openapi.json", apps["buy"])


@pytest.fixture(scope="module")
def sell_api(apps):
    return schemathesis.openapi.from_wsgi("/api/sell/openapi.json", apps["sell"])


@pytest.fixture(scope="module")
def users_api(apps):
    return schemathesis.openapi.from_wsgi("/api/users/openapi.json", apps["users"])


@pytest.fixture(scope="module")
def exchange_api(apps):
    return schemathesis.openapi.from_wsgi("/api/exchange/openapi.json", apps["exchange"])


buy_schema = schemathesis.pytest.from_fixture("buy_api")
sell_schema = schemathesis.pytest.from_fixture("sell_api")
users_schema = schemathesis.pytest.from_fixture("users_api")
exchange_schema = schemathesis.pytest.from_fixture("exchange_api")
wallet_schema = schemathesis.pytest.from_fixture("wallet_api")


@pytest.fixture(scope="module")
def wallet_api(apps):
    return schemathesis.openapi.from_wsgi("/api/wallet/openapi.json", apps["wallet"])


@buy_schema.parametrize()
@FUZZ
def test_the_buy_service_holds_to_its_openapi_description(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)


@sell_schema.parametrize()
@FUZZ
def test_the_sell_service_holds_to_its_openapi_description(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)


@users_schema.parametrize()
@FUZZ
def test_the_user_utilities_service_holds_to_its_openapi_description(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)


@exchange_schema.parametrize()
@FUZZ
def test_the_exchange_service_holds_to_its_openapi_description(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)


@wallet_schema.parametrize()
@FUZZ
def test_the_wallet_service_holds_to_its_openapi_description(case, auth):
    case.call_and_validate(headers=auth, checks=CHECKS)


def test_every_route_of_every_service_is_described(apps):
    for name, app in apps.items():
        spec = app.test_client().get(f"/api/{name}/openapi.json").get_json()
        described = {path for path in spec["paths"]}
        routes = {
            re.sub(r"<(\w+)>", r"{\1}", rule.rule)
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(f"/api/{name}/") and not rule.rule.endswith("openapi.json")
        }
        assert routes == described, name

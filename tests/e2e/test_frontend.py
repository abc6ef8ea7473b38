"""The browser UI end to end: ``frontend/e2e/ui.mjs`` drives Debian's headless Chromium
(through playwright-core, which never downloads a browser) against the whole stack
behind NGINX, which serves ``frontend/dist``.

Screenshots of every page go to ``test-artefacts/``. A missing browser, Node, npm
install or build fails the test instead of skipping it: ``make deps frontend`` (run by
``make test``) installs them.

Before the walk, this test gives it what a browser cannot make: a second user (the
depositor) with a transfer of 20 DTC to their wallet's deposit address, signed by an
outside key whose mined coins have matured (the walk submits it to the chain and mines
its confirmations), and the market feed's address, to stop the market at moments of its
seeded path. ``make screenshots`` copies the walk's screenshots the README shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from services.common.chain import keys
from tests.conftest import SECRETS
from tests.wallet_chain import COIN, PASSWORD, Chain, admin_wallet, new_wallet_user

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
ARTEFACTS = REPO_ROOT / "test-artefacts"
SCRIPT_TIMEOUT_S = 480
DEPOSIT = 20 * COIN


def require(present: object, problem: str) -> None:
    """Fail (never skip) when something the browser test needs is not installed."""
    if not present:
        pytest.fail(f"{problem}; `make deps frontend` installs and builds it", pytrace=False)


def _depositor(stack) -> dict[str, str]:
    """A user with a signed (not yet sent) transfer of 20 DTC to their deposit address,
    from an outside key holding two matured coinbases (12 blocks mined to it)."""
    with requests.Session() as session:
        session.trust_env = False
        admin = admin_wallet(stack.nginx_url, session)
        chain = Chain(stack.chain_urls[0], session, admin.headers)
        outsider = keys.generate_key()
        chain.mine(12, miner=outsider.address)
        user = new_wallet_user(stack.nginx_url, session)
        transfer = chain.transfer(outsider.private_key, user.address(), DEPOSIT)
    return {
        "DEPOSITOR": user.name,
        "DEPOSITOR_PASSWORD": PASSWORD,
        "DEPOSIT_TX": json.dumps(transfer),
        "WITHDRAW_TO": keys.generate_key().address,
    }


def test_a_user_signs_up_trades_and_reads_the_history_in_a_real_browser(stack):
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    node = shutil.which("node")
    require(node, "node is not on the PATH")
    require(Path(chromium).is_file(), f"no Chromium at {chromium} (Debian package chromium)")
    modules = FRONTEND / "node_modules" / "playwright-core"
    require(modules.is_dir(), "frontend/node_modules is missing")
    require((FRONTEND / "dist" / "index.html").is_file(), "frontend/dist is not built")

    env = {
        **os.environ,
        "BASE_URL": stack.nginx_url,
        "ADMIN_PASSWORD": SECRETS["ADMIN_PASSWORD"],
        "CHROMIUM": chromium,
        "ARTEFACTS": str(ARTEFACTS),
        "MARKET_FEED_URL": stack.market_feed_url,
        **_depositor(stack),
    }
    result = subprocess.run(
        [node, "e2e/ui.mjs"],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    report = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, f"the browser walk-through failed (see {ARTEFACTS})\n{report}"
    assert "all steps passed" in result.stdout, report
    assert (ARTEFACTS / "frontend-06-dashboard.png").is_file()

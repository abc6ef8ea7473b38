"""The browser UI end to end: ``frontend/e2e/ui.mjs`` drives Debian's headless Chromium
(through playwright-core, which never downloads a browser) against the whole stack
behind NGINX, which serves ``frontend/dist``.

Screenshots of every page go to ``test-artefacts/``. A missing browser, Node, npm
install or build fails the test instead of skipping it: ``make deps frontend`` (run by
``make test``) installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SECRETS

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
ARTEFACTS = REPO_ROOT / "test-artefacts"
SCRIPT_TIMEOUT_S = 480


def require(present: object, problem: str) -> None:
    """Fail (never skip) when something the browser test needs is not installed."""
    if not present:
        pytest.fail(f"{problem}; `make deps frontend` installs and builds it", pytrace=False)


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

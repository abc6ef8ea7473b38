"""HTTP routes of the sell service (under /api/sell): one POST per trading command.

The commands and their use cases are in the shared catalogue (common/commands.py),
which BATCH in user-utilities runs too.
"""

from __future__ import annotations

from flask import Blueprint

from ..common import commands
from ..common.web import add_command_route

bp = Blueprint("sell", __name__, url_prefix="/api/sell")

for spec in commands.of_service("sell"):
    add_command_route(bp, spec)

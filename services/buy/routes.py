"""HTTP routes of the buy service (under /api/buy): one POST per trading command.

The commands and their use cases are in the shared catalogue (common/commands.py),
which BATCH in user-utilities runs too.
"""

from __future__ import annotations

from flask import Blueprint

from ..common import commands
from ..common.web import add_command_route

bp = Blueprint("buy", __name__, url_prefix="/api/buy")

for spec in commands.of_service("buy"):
    add_command_route(bp, spec)

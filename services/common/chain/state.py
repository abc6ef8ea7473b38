"""The platform chain's ledger state (balances, nonces, coinbase maturity), as plain data.

The state after a block is a pure function of the chain up to it. ``apply`` changes it
and returns an undo record, so a reorg walks back without replaying from genesis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .units import DTC

#: A coinbase can be spent by a block at least this many blocks above it.
COINBASE_MATURITY = 10


@dataclass
class Credit:
    """A coinbase output: ``amount`` DTC to an address at ``height``."""

    height: int
    amount: int


@dataclass
class ChainState:
    """Balances (units per address and asset), last nonce per address, recent coinbases."""

    height: int = -1
    tip: str = ""
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)
    coinbases: dict[str, list[Credit]] = field(default_factory=dict)

    def balance(self, address: str, asset: str) -> int:
        return self.balances.get((address, asset), 0)

    def nonce(self, address: str) -> int:
        """The last nonce ``address`` used on chain (0 before its first transaction)."""
        return self.nonces.get(address, 0)

    def immature(self, address: str, spend_height: int) -> int:
        """DTC of ``address`` that a block at ``spend_height`` may not spend yet."""
        return sum(
            credit.amount
            for credit in self.coinbases.get(address, ())
            if spend_height - credit.height < COINBASE_MATURITY
        )

    def spendable(self, address: str, asset: str, spend_height: int) -> int:
        held = self.balance(address, asset)
        return held - self.immature(address, spend_height) if asset == DTC else held


class Undo:
    """Old values of everything one block changed (None: the entry did not exist)."""

    def __init__(self, height: int, tip: str):
        self.height, self.tip = height, tip
        self.balances: dict[tuple[str, str], int | None] = {}
        self.nonces: dict[str, int | None] = {}
        self.coinbases: dict[str, list[Credit] | None] = {}


class StateWriter:
    """Changes a state while recording the undo (the first old value of each entry)."""

    def __init__(self, state: ChainState):
        self.state = state
        self.undo = Undo(state.height, state.tip)

    def add(self, address: str, asset: str, units: int) -> None:
        key = (address, asset)
        if key not in self.undo.balances:
            self.undo.balances[key] = self.state.balances.get(key)
        self.state.balances[key] = self.state.balances.get(key, 0) + units

    def set_nonce(self, address: str, nonce: int) -> None:
        if address not in self.undo.nonces:
            self.undo.nonces[address] = self.state.nonces.get(address)
        self.state.nonces[address] = nonce

    def add_coinbase(self, address: str, height: int, amount: int) -> None:
        old = self.state.coinbases.get(address)
        if address not in self.undo.coinbases:
            self.undo.coinbases[address] = None if old is None else list(old)
        # Only the last COINBASE_MATURITY heights matter; older credits are mature.
        kept = [c for c in old or () if height - c.height < COINBASE_MATURITY]
        self.state.coinbases[address] = [*kept, Credit(height, amount)]

    def move_tip(self, height: int, tip: str) -> None:
        self.state.height, self.state.tip = height, tip


def revert(state: ChainState, undo: Undo) -> None:
    """Put back what one ``apply`` changed (the latest block first)."""
    for table, old_values in (
        (state.balances, undo.balances),
        (state.nonces, undo.nonces),
        (state.coinbases, undo.coinbases),
    ):
        for key, old in old_values.items():
            if old is None:
                table.pop(key, None)
            else:
                table[key] = old
    state.height, state.tip = undo.height, undo.tip

"""Mining: machines, shares, the draw for each block, and exact PPLNS and PPS payouts.

Pure rules (no clock, database or network): the mining service and the pool engine pass
times in milliseconds and get new state or amounts back. Coin amounts are integer units
(1 DTC = 100,000,000 units); nothing here is ever a float except the luck statistic.

How an amount is split (written down in docs/architecture.md, "Mining"):
- the pool fee of an amount is ``amount * fee_bp // 10_000`` (fee in basis points,
  rounded down: the miners never pay more than the stated percentage);
- the rest is split in proportion to shares by the largest-remainder method: each
  gets the whole part of its quota, and the units left over go one each to the largest
  fractional parts, ties to the smaller key (machine id); so the parts always add up to
  the amount, to the unit.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from ..errors import Conflict, InvalidInput

MIN_HASHRATE = 1
MAX_HASHRATE = 10**15
IDLE, DIGGING, STOPPED = "idle", "digging", "stopped"
PPLNS, PPS = "PPLNS", "PPS"
SCHEMES = (PPLNS, PPS)
BASIS_POINTS = 10_000
#: The block subsidy: 50 DTC, halving every 10,000 blocks (crypto-side.md, Chain-node).
INITIAL_SUBSIDY = 50 * 100_000_000
HALVING_INTERVAL = 10_000
#: Whoever is not one of the platform's pools: the chain-node's own miners.
REST_OF_NETWORK = ""


class MachineBusy(Conflict):
    code = "machine_busy"


class MachineNotDigging(Conflict):
    code = "machine_not_digging"


@dataclass(frozen=True)
class Machine:
    """A user's mining machine; ``pool``, ``dig`` and ``since_ms`` are set while digging."""

    id: str
    owner: str
    name: str
    model: str
    hashrate: int
    state: str = IDLE
    pool: str | None = None
    dig: str | None = None
    since_ms: int | None = None
    created_ms: int = 0


def check_hashrate(hashrate: object) -> int:
    """A declared hashrate in H/s: an integer from 1 to 10^15, or InvalidInput."""
    if isinstance(hashrate, bool) or not isinstance(hashrate, int):
        raise InvalidInput("hashrate must be an integer number of H/s")
    if not MIN_HASHRATE <= hashrate <= MAX_HASHRATE:
        raise InvalidInput(f"hashrate must be from {MIN_HASHRATE} to {MAX_HASHRATE} H/s")
    return hashrate


def start_digging(machine: Machine, pool: str, dig: str, now_ms: int) -> Machine:
    """An idle or stopped machine starts digging in ``pool``; MachineBusy if it digs."""
    if machine.state == DIGGING:
        raise MachineBusy(f"machine {machine.id} is already digging in pool {machine.pool}")
    return replace(machine, state=DIGGING, pool=pool, dig=dig, since_ms=now_ms)


def stop_digging(machine: Machine) -> Machine:
    """A digging machine stops; MachineNotDigging otherwise."""
    if machine.state != DIGGING:
        raise MachineNotDigging(f"machine {machine.id} is not digging")
    return replace(machine, state=STOPPED, pool=None, dig=None, since_ms=None)


# ------------------------------------------------------------------------- shares


def accrue(hashrate: int, elapsed_ms: int, carry: int, share_hashes: int) -> tuple[int, int]:
    """Shares earned by ``hashrate`` H/s over ``elapsed_ms``, and the new carry.

    A share is ``share_hashes`` hashes. ``carry`` is the work below one share left over
    from before, in hash-milliseconds (hashes x 1000), so no fraction of work is lost
    between windows: ``accrue(h, a, 0)`` then ``accrue(h, b, carry)`` earns exactly
    what ``accrue(h, a + b, 0)`` does.
    """
    if elapsed_ms < 0 or carry < 0:
        raise ValueError("elapsed time and carry cannot be negative")
    return divmod(hashrate * elapsed_ms + carry, share_hashes * 1000)


def overlap_ms(start_ms: int, stop_ms: int | None, window_start: int, window_end: int) -> int:
    """How long a dig from ``start_ms`` to ``stop_ms`` (None: still digging) overlaps the
    window ``[window_start, window_end)``."""
    end = window_end if stop_ms is None else min(stop_ms, window_end)
    return max(0, end - max(start_ms, window_start))


def expected_shares(network_hashrate: int, block_time_ms: int, share_hashes: int) -> Fraction:
    """Shares the whole network makes per block on average: its hashes per block time
    over the hashes of one share. Also how many shares a pool needs per block found on
    average, whatever its size (the difficulty, in shares)."""
    return Fraction(network_hashrate * block_time_ms, 1000 * share_hashes)


# ------------------------------------------------------------------- block draws


def next_block_in_ms(rng: random.Random, block_time_ms: int) -> int:
    """How long until the network's next block: blocks arrive as a Poisson process
    averaging one per ``block_time_ms`` (as proof of work does), so the wait is drawn
    from the exponential distribution with that mean."""
    return max(1, round(rng.expovariate(1 / block_time_ms)))


def draw_winner(rng: random.Random, hashrates: Mapping[str, int]) -> str:
    """The finder of a block, drawn in proportion to hashrate (keys in sorted order, so a
    seeded ``rng`` always draws the same); ``REST_OF_NETWORK`` may be one of the keys."""
    entries = [(key, rate) for key, rate in sorted(hashrates.items()) if rate > 0]
    if not entries:
        raise ValueError("nobody is mining")
    total = sum(rate for _, rate in entries)
    point = rng.randrange(total)
    for key, rate in entries:
        if point < rate:
            return key
        point -= rate
    raise AssertionError("unreachable")


def subsidy(height: int) -> int:
    """The coinbase subsidy of the block at ``height``, in units."""
    halvings = height // HALVING_INTERVAL
    return INITIAL_SUBSIDY >> halvings if halvings < 64 else 0


# ----------------------------------------------------------------------- payouts


def split(amount: int, weights: Mapping[str, int | Fraction]) -> dict[str, int]:
    """``amount`` units split in proportion to ``weights`` by the largest remainder.

    The parts add up to ``amount`` exactly; leftover units go to the largest fractional
    parts, ties to the smaller key. Keys with no weight get nothing (and are left out).
    """
    positive = {key: Fraction(weight) for key, weight in weights.items() if weight > 0}
    if amount < 0:
        raise ValueError("cannot split a negative amount")
    if not positive:
        if amount:
            raise ValueError("cannot split an amount over no weight")
        return {}
    total = sum(positive.values())
    quotas = {key: amount * weight / total for key, weight in positive.items()}
    parts = {key: math.floor(quota) for key, quota in quotas.items()}
    left = amount - sum(parts.values())
    by_remainder = sorted(quotas, key=lambda key: (-(quotas[key] - parts[key]), key))
    for key in by_remainder[:left]:
        parts[key] += 1
    return {key: part for key, part in parts.items() if part}


def pool_fee(amount: int, fee_bp: int) -> int:
    """The pool's fee on ``amount`` units at ``fee_bp`` basis points, rounded down."""
    if not 0 <= fee_bp <= BASIS_POINTS:
        raise ValueError("a fee is from 0 to 10,000 basis points")
    return amount * fee_bp // BASIS_POINTS


@dataclass(frozen=True)
class Payout:
    """How one amount is shared: the pool's fee and each machine's part.

    ``fee + sum(parts.values()) == amount`` always.
    """

    amount: int
    fee: int
    parts: Mapping[str, int]
    shares: Mapping[str, int | Fraction]


@dataclass(frozen=True)
class ShareWindow:
    """The shares each machine earned in one window of a pool's share log."""

    seq: int
    shares: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.shares.values())


def last_n_shares(windows_newest_first: Iterable[ShareWindow], n: int) -> dict[str, int]:
    """Each machine's shares among the pool's last ``n`` shares.

    Whole windows are taken newest first; of the window that crosses the boundary only
    the shares still needed are counted, split among its machines by the largest
    remainder of their shares in it.
    """
    counted: dict[str, int] = {}
    needed = n
    for window in windows_newest_first:
        if needed <= 0:
            break
        taken = window.shares if window.total <= needed else split(needed, window.shares)
        for machine, shares in taken.items():
            counted[machine] = counted.get(machine, 0) + shares
        needed -= min(needed, window.total)
    return counted


def pplns(reward: int, fee_bp: int, counted: Mapping[str, int]) -> Payout:
    """PPLNS: a found block's ``reward`` less the pool fee, over the last N shares
    (``counted``: each machine's shares among them). With no shares the pool keeps all."""
    if not any(counted.values()):
        return Payout(reward, reward, {}, {})
    fee = pool_fee(reward, fee_bp)
    return Payout(reward, fee, split(reward - fee, counted), dict(counted))


@dataclass(frozen=True)
class PricedWindow:
    """A share window with what a share was worth in it: ``reward`` / expected shares per
    block (``expected_shares`` of the network's hashrate at the time)."""

    shares: Mapping[str, int]
    reward: int
    network_hashrate: int
    block_time_ms: int
    share_hashes: int

    def value_of(self, shares: int) -> Fraction:
        expected = expected_shares(self.network_hashrate, self.block_time_ms, self.share_hashes)
        return self.reward * shares / expected


def pps(windows: Sequence[PricedWindow], fee_bp: int) -> Payout:
    """PPS: every share pays reward / expected shares per block, whether or not the pool
    finds blocks (it bears the variance).

    The windows' exact value (a fraction of a unit) is rounded down to the unit once for
    the whole settlement; the fee is taken from that amount and the rest split by each
    machine's exact value, so fee + parts == amount to the unit.
    """
    values: dict[str, Fraction] = {}
    for window in windows:
        for machine, shares in window.shares.items():
            values[machine] = values.get(machine, Fraction(0)) + window.value_of(shares)
    amount = math.floor(sum(values.values(), Fraction(0)))
    if amount == 0:
        return Payout(0, 0, {}, values)
    fee = pool_fee(amount, fee_bp)
    return Payout(amount, fee, split(amount - fee, values), values)


def by_owner(parts: Mapping[str, int], owners: Mapping[str, str]) -> dict[str, int]:
    """Machines' parts summed per owner (one on-chain payout per user)."""
    totals: dict[str, int] = {}
    for machine, amount in parts.items():
        owner = owners[machine]
        totals[owner] = totals.get(owner, 0) + amount
    return totals


def luck(blocks_found: int, expected_blocks: float) -> float | None:
    """Expected over actual shares per block, as a percentage (100 = as expected; more is
    luckier). ``expected_blocks`` is the blocks the pool's shares were worth (shares /
    expected shares per block, summed); None before the pool has found a block."""
    if blocks_found == 0 or expected_blocks <= 0:
        return None
    return 100.0 * blocks_found / expected_blocks


# ------------------------------------------------------------------ pool settings

_POOL_ID = re.compile(r"[a-z][a-z0-9-]{0,31}")
_PERCENT = re.compile(r"([0-9]{1,3})(?:\.([0-9]{1,2}))?")


@dataclass(frozen=True)
class PoolConfig:
    """A configured pool: its id (also its name), payout scheme and fee in basis points."""

    id: str
    scheme: str
    fee_bp: int


def parse_pools(text: str) -> list[PoolConfig]:
    """``"atlas:PPLNS:1.5,boreal:PPS:2.5"`` -> pools; ValueError naming a bad entry.

    The fee is a percentage with at most two decimals (1.5 -> 150 basis points).
    """
    pools: list[PoolConfig] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, rest = entry.partition(":")
        scheme, _, fee = rest.partition(":")
        percent = _PERCENT.fullmatch(fee)
        if not _POOL_ID.fullmatch(name) or scheme not in SCHEMES or percent is None:
            raise ValueError(f"pool {entry!r} is not name:PPLNS|PPS:fee %")
        whole, fraction = percent.groups()
        fee_bp = int(whole) * 100 + int((fraction or "").ljust(2, "0"))
        if fee_bp > BASIS_POINTS:
            raise ValueError(f"pool {name}'s fee is over 100 %")
        if any(pool.id == name for pool in pools):
            raise ValueError(f"pool {name} is defined twice")
        pools.append(PoolConfig(name, scheme, fee_bp))
    if not pools:
        raise ValueError("no pool is defined")
    return pools


def parse_pool_keys(text: str) -> dict[str, str]:
    """``"atlas=<hex>,boreal=<hex>"`` -> {pool: private key hex}."""
    keys: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, key = entry.partition("=")
        keys[name.strip()] = key.strip()
    return keys

"""``python -m services.pool_engine``: run the pools, one tick every POOL_TICK_S."""

from __future__ import annotations

import logging

from ..common.auth import Authenticator
from ..common.backend import Backend
from ..common.chain.client import ChainNodeClient
from ..common.chain.keys import key_from_private
from ..common.config import Settings
from ..common.domain.mining import parse_pool_keys, parse_pools
from ..common.mining_repositories import MiningStore
from ..common.process import start_process
from .service import EngineSettings, PoolEngine

log = logging.getLogger("services.pool_engine")


def build_engine(settings: Settings, backend: Backend) -> PoolEngine:
    """The engine over the process's adapters; ValueError if a pool has no valid key."""
    pools = parse_pools(settings.pool_definitions)
    keys = parse_pool_keys(settings.pool_keys.get_secret_value())
    missing = [pool.id for pool in pools if pool.id not in keys]
    if missing:
        raise ValueError(f"POOL_KEYS has no key for {', '.join(missing)}")
    store = MiningStore(backend.db)
    store.ensure_indexes()
    auth = Authenticator(settings, backend.credentials, backend.accounts)
    password = settings.service_password.get_secret_value()

    def authorised_chain() -> ChainNodeClient:
        # A fresh service token each time: the engine outlives any one token.
        token = auth.service_login("replayer", password)["token"]
        return ChainNodeClient(settings.pool_chain_url, settings.pool_chain_timeout_s, token)

    return PoolEngine(
        store,
        ChainNodeClient(settings.pool_chain_url, settings.pool_chain_timeout_s),
        backend.redis,
        pools,
        {pool.id: key_from_private(keys[pool.id]) for pool in pools},
        EngineSettings(
            block_time_ms=int(settings.pool_block_time_s * 1000),
            rest_hashrate=settings.pool_rest_hashrate,
            share_hashes=settings.pool_share_hashes,
            pplns_factor=settings.pool_pplns_factor,
            window_ms=int(settings.pool_window_s * 1000),
            settle_ms=settings.pool_settle_ms,
            stats_interval_ms=int(settings.pool_stats_interval_s * 1000),
            maturity=settings.pool_maturity,
            pow_max_s=settings.pool_pow_max_s,
            pps_settle_blocks=settings.pool_pps_settle_blocks,
        ),
        seed=settings.pool_seed,
        authorised_chain=authorised_chain,
        clock_ms=backend.clock_ms,
    )


def main() -> None:
    settings, stop = start_process()
    backend = Backend(settings)
    backend.wait_until_ready()
    engine = build_engine(settings, backend)
    while not stop.is_set():
        try:
            engine.recover()
            break
        except Exception:  # e.g. the chain-node not up yet: try again
            log.exception("pool engine could not start; retrying")
            stop.wait(2.0)
    log.info("pool engine running: %s", ", ".join(engine.pools))
    while not stop.wait(settings.pool_tick_s):
        try:
            engine.tick()
        except Exception:  # a bad tick must not end the engine; the next one retries
            log.exception("pool engine tick failed")
    backend.close()


if __name__ == "__main__":
    main()

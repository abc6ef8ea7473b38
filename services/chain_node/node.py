"""Wiring: the adapters (MongoDB, Redis, the token checker) and the ChainNode of one
process, built from the settings. Used by the web app and by the worker."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pymongo
import redis

from ..common.auth import Authenticator
from ..common.chain.repositories import (
    BlockRepository,
    MempoolRepository,
    MetaRepository,
    PeerRepository,
    PoolIndex,
)
from ..common.chain.rules import ChainParams, make_rules
from ..common.chain.signals import NodeSignals
from ..common.config import ChainNodeSettings
from .service import ChainNode, Stores, check_peer_url


@dataclass
class Adapters:
    mongo: pymongo.MongoClient
    redis: redis.Redis
    auth: Authenticator

    def ping(self) -> None:
        self.mongo.admin.command("ping")
        self.redis.ping()

    def close(self) -> None:
        self.mongo.close()
        self.redis.close()


def chain_params(settings: ChainNodeSettings) -> ChainParams:
    return ChainParams(
        fixed_bits=settings.chain_difficulty_bits,
        initial_bits=settings.chain_initial_difficulty_bits,
        block_time_ms=int(settings.chain_block_time_s * 1000),
        genesis_time_ms=settings.chain_genesis_time_ms,
        treasury=settings.chain_treasury_address,
        dusd_supply=settings.chain_dusd_supply_units,
        max_block_txs=settings.chain_max_block_txs,
    )


def _wait_until_ready(adapters: Adapters, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            adapters.ping()
            return
        except (pymongo.errors.PyMongoError, redis.RedisError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def build_node(settings: ChainNodeSettings) -> tuple[ChainNode, Adapters]:
    """This process's node over its own clients (made after the fork, never shared)."""
    mongo = pymongo.MongoClient(
        settings.mongo_uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=2000, maxPoolSize=50
    )
    client = redis.Redis.from_url(
        settings.redis_url,
        # Longer than the longest blocking wait (GET /mine, the live stream's poll).
        socket_timeout=settings.chain_mine_wait_s + 10,
        socket_connect_timeout=2,
        health_check_interval=30,
    )
    # Only token checks: the chain-node stores no logins.
    adapters = Adapters(mongo, client, Authenticator(settings, None, None))
    _wait_until_ready(adapters)
    db = mongo[settings.mongo_db]
    stores = Stores(
        BlockRepository(db),
        MempoolRepository(db),
        PoolIndex(client, settings.chain_node_name),
        PeerRepository(db),
        MetaRepository(db),
    )
    stores.ensure_indexes()
    signals = NodeSignals(client, settings.chain_node_name, settings.chain_lock_timeout_s)
    # dvf's reward goes to the node's uuid, which it keeps in its database.
    rules = make_rules(settings.chain_rules, chain_params(settings))
    node = ChainNode(settings, rules, stores, signals)
    if settings.chain_rules == "dvf":
        rules.node_id = node.identity()["node_id"]
    peers = [check_peer_url(url) for url in settings.chain_peers.split(",") if url.strip()]
    peers = [url for url in peers if url != node.own_url]
    if peers:
        stores.peers.add(peers)
    return node, adapters

"""The platform chain's shared primitives: keys, units, transactions and the node client.

Pure code (no Flask, Mongo or Redis) that the chain-node, the wallet and the mining
service all import, so every one of them builds and checks a transaction the same way.
"""

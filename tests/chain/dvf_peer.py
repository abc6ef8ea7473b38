"""A dvf/blockchain-style node written from chain-node-interop.md alone (not from dvf's
code), run as a real process by the interop tests:

    python tests/chain/dvf_peer.py --port 15001 [--behaviour honest|garbage|wrong-length|slow]

It follows the spec to the letter: blocks ``{index (genesis 1), timestamp (float),
transactions, proof, previous_hash}``, genesis ``proof=100, previous_hash="1"``, hash =
sha256 of ``json.dumps(block, sort_keys=True)``, proof of work = four hex zeros of
sha256(f"{last_proof}{proof}{last_hash}") searched from 0, the reward appended after the
proof of work as the last transaction, consensus = the longest valid chain of the
registered netlocs (``http://`` + netloc + ``/chain``), strictly longer only.

The other behaviours make it a bad peer: ``garbage`` answers non-JSON on every route,
``wrong-length`` claims a length its chain does not have, ``slow`` answers every route
after 30 s (``/alive`` answers at once, for the test fixtures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import uuid
from urllib.parse import urlparse

import requests
from flask import Flask, Response, jsonify, request


class Chain:
    def __init__(self):
        self.chain: list[dict] = []
        self.current_transactions: list[dict] = []
        self.nodes: set[str] = set()
        self.new_block(previous_hash="1", proof=100)

    def new_block(self, proof, previous_hash=None):
        block = {
            "index": len(self.chain) + 1,
            "timestamp": time.time(),
            "transactions": self.current_transactions,
            "proof": proof,
            "previous_hash": previous_hash or self.hash(self.chain[-1]),
        }
        self.current_transactions = []
        self.chain.append(block)
        return block

    def new_transaction(self, sender, recipient, amount) -> int:
        self.current_transactions.append(
            {"sender": sender, "recipient": recipient, "amount": amount}
        )
        return self.chain[-1]["index"] + 1

    @staticmethod
    def hash(block) -> str:
        return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def valid_proof(last_proof, proof, last_hash) -> bool:
        return hashlib.sha256(f"{last_proof}{proof}{last_hash}".encode()).hexdigest()[:4] == "0000"

    def proof_of_work(self, last_block) -> int:
        last_hash = self.hash(last_block)
        proof = 0
        while not self.valid_proof(last_block["proof"], proof, last_hash):
            proof += 1
        return proof

    def valid_chain(self, chain) -> bool:
        for i in range(1, len(chain)):
            last, block = chain[i - 1], chain[i]
            last_hash = self.hash(last)
            if block["previous_hash"] != last_hash:
                return False
            if not self.valid_proof(last["proof"], block["proof"], last_hash):
                return False
        return True

    def resolve_conflicts(self) -> bool:
        new_chain, max_length = None, len(self.chain)
        for node in self.nodes:
            response = requests.get(f"http://{node}/chain")  # as the spec: no timeout
            if response.status_code == 200:
                length, chain = response.json()["length"], response.json()["chain"]
                if length > max_length and self.valid_chain(chain):
                    max_length, new_chain = length, chain
        if new_chain:
            self.chain = new_chain
            return True
        return False


def create_app(behaviour: str) -> Flask:
    app = Flask(__name__)
    chain = Chain()
    node_id = uuid.uuid4().hex

    @app.get("/alive")
    def alive():
        return "yes"

    @app.before_request
    def misbehave():
        if request.path == "/alive":
            return None
        if behaviour == "garbage":
            return Response("<html>this is not a chain", mimetype="text/html")
        if behaviour == "slow":
            time.sleep(30)
        return None

    @app.get("/mine")
    def mine():
        last_block = chain.chain[-1]
        proof = chain.proof_of_work(last_block)
        chain.new_transaction(sender="0", recipient=node_id, amount=1)
        block = chain.new_block(proof, chain.hash(last_block))
        return jsonify(
            {
                "message": "New Block Forged",
                "index": block["index"],
                "transactions": block["transactions"],
                "proof": block["proof"],
                "previous_hash": block["previous_hash"],
            }
        )

    @app.post("/transactions/new")
    def new_transaction():
        values = request.get_json()
        if not all(k in values for k in ("sender", "recipient", "amount")):
            return "Missing values", 400
        index = chain.new_transaction(values["sender"], values["recipient"], values["amount"])
        return jsonify({"message": f"Transaction will be added to Block {index}"}), 201

    @app.get("/chain")
    def full_chain():
        length = len(chain.chain) + (5 if behaviour == "wrong-length" else 0)
        return jsonify({"chain": chain.chain, "length": length})

    @app.post("/nodes/register")
    def register_nodes():
        nodes = request.get_json().get("nodes")
        if nodes is None:
            return "Error: Please supply a valid list of nodes", 400
        for node in nodes:
            chain.nodes.add(urlparse(node).netloc)
        return jsonify(
            {"message": "New nodes have been added", "total_nodes": list(chain.nodes)}
        ), 201

    @app.get("/nodes/resolve")
    def consensus():
        if chain.resolve_conflicts():
            return jsonify({"message": "Our chain was replaced", "new_chain": chain.chain})
        return jsonify({"message": "Our chain is authoritative", "chain": chain.chain})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--behaviour", default="honest", choices=("honest", "garbage", "wrong-length", "slow")
    )
    args = parser.parse_args()
    create_app(args.behaviour).run(host="127.0.0.1", port=args.port, threaded=True)

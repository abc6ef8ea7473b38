"""What FerretDB's CPU costs per call, for the figures in docs/benchmarks.md.

    .venv/bin/python -m tools.ferretdb_costs [--uri mongodb://127.0.0.1:27018/]

Against a running stack (`make up`): in a scratch database it times ``find_one`` by
``_id`` of documents of several sizes, the version-guarded ``update_one``, ``insert_many``
of 1, 3 and 50 documents and a full read of many small documents, and reads
the server's CPU time from psutil (the process whose command line names ferretdb), so it
measures FerretDB's work, not the client's. Then it times 2-KiB inserts from 1, 2 and 4
clients at once (each its own connection), the pattern that SQLite's one write lock
serialises. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import psutil
import pymongo

DB = "ferretdb_costs"


def _server() -> psutil.Process:
    for proc in psutil.process_iter(["cmdline"]):
        if "ferretdb" in " ".join(proc.info["cmdline"] or []):
            return proc
    raise SystemExit("no ferretdb process found: start the stack (make up)")


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def measure(name: str, server: psutil.Process, calls: int, call, per: int = 1) -> None:
    """Run ``call`` ``calls`` times; print wall and FerretDB CPU per call / ``per``."""
    cpu, wall = _cpu(server), time.perf_counter()
    for i in range(calls):
        call(i)
    scale = 1e6 / (calls * per)
    sys.stdout.write(
        f"{name:34} {(time.perf_counter() - wall) * scale:8.0f} us wall"
        f" {(_cpu(server) - cpu) * scale:8.0f} us FerretDB CPU\n"
    )


def concurrent_inserts(uri: str, writers: int, per_writer: int = 400) -> None:
    """Print inserts/s and the p50/p99/max latency of 2-KiB inserts from ``writers``
    clients at once."""
    latencies: list[float] = []
    clients = [pymongo.MongoClient(uri) for _ in range(writers)]

    def write(n: int) -> None:
        collection = clients[n][DB][f"writer{n}"]
        collection.insert_one({"warm": True})
        mine = []
        for i in range(per_writer):
            began = time.perf_counter()
            collection.insert_one({"i": i, "pad": "x" * 2048})
            mine.append((time.perf_counter() - began) * 1000)
        latencies.extend(mine)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    sys.stdout.write(
        f"{f'inserts of 2 KiB, {writers} at once':34} {len(ordered) / elapsed:8.0f} inserts/s"
        f"  p50 {ordered[len(ordered) // 2]:.2f} ms  p99 {ordered[int(len(ordered) * 0.99)]:.2f}"
        f" ms  max {ordered[-1]:.2f} ms\n"
    )
    for client in clients:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="mongodb://127.0.0.1:27018/")
    args = parser.parse_args()
    client = pymongo.MongoClient(args.uri)
    db, server = client[DB], _server()
    try:
        for kib in (0, 2, 15, 50):
            db.docs.insert_one({"_id": f"d{kib}", "v": 1, "state": "x" * (kib * 1024 or 1)})
            measure(
                f"find_one by _id, {kib} KiB",
                server,
                300,
                lambda i, k=kib: db.docs.find_one({"_id": f"d{k}"}),
            )
        measure(
            "update_one by _id and version, 3 KiB",
            server,
            300,
            lambda i: db.docs.update_one(
                {"_id": "d2", "v": i + 1}, {"$set": {"v": i + 2, "state": "y" * 3072}}
            ),
        )
        entry = {
            "type": "userCommand",
            "ts": 0,
            "server": "s",
            "txn": 1,
            "command": "ADD",
            "user": "u",
        }
        for size in (1, 3, 50):
            measure(
                f"insert_many of {size}, per document",
                server,
                max(20, 600 // size),
                lambda i, n=size: db[f"ins{n}"].insert_many([{**entry, "ts": i} for _ in range(n)]),
                per=size,
            )
        db.log.insert_many([{**entry, "ts": i} for i in range(20_000)])
        measure(
            "full read, per document (20,000)",
            server,
            1,
            lambda i: sum(1 for _ in db.log.find({})),
            per=20_000,
        )
        for writers in (1, 2, 4):
            concurrent_inserts(args.uri, writers)
    finally:
        client.drop_database(DB)


if __name__ == "__main__":
    main()

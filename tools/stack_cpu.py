"""CPU seconds each program of a running `make up` stack uses over a while.

    .venv/bin/python -m tools.stack_cpu [SECONDS] [--dir var]

For the *quick load* figures in docs/benchmarks.md: start a replay against the stack,
then this; it samples the programs the way `make bench` does (tools/bench.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tools import bench_report as report
from tools.bench import ProcessSampler
from tools.stack import DEFAULT_DIR, Ports, Stack, _caller_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stack_cpu", description=__doc__)
    parser.add_argument("seconds", type=float, nargs="?", default=25.0)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="stack dir (var)")
    args = parser.parse_args(argv)
    env, replicas = _caller_settings()
    sampler = ProcessSampler(Stack(args.dir, Ports.local(replicas), env, replicas=replicas))
    before = sampler.mark()
    time.sleep(args.seconds)
    cpu = report.cpu_delta(before.cpu, sampler.mark().cpu)
    for name, seconds in sorted(cpu.items(), key=lambda item: -item[1]):
        sys.stdout.write(f"{name:20} {seconds:7.2f} CPU-s\n")
    sys.stdout.write(f"{'total':20} {sum(cpu.values()):7.2f} CPU-s in {args.seconds:g} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

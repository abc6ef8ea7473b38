"""The Server-Timing record of a request, how the replayer reads it, and how the bench
turns it into a breakdown of where single commands spend their time."""

from __future__ import annotations

import threading
import time

from input_script import Line, Stats, parse_server_timing
from services.common import timing
from tools import bench_report as report


def test_phases_add_up_within_a_request_and_leave_as_one_header():
    timing.start()
    with timing.phase("log"):
        time.sleep(0.002)
    with timing.phase("log"):  # a second insert adds to the first
        time.sleep(0.002)
    with timing.phase("lock"):
        pass
    phases = parse_server_timing(timing.header())

    assert list(phases) == ["log", "lock", "app"]
    assert phases["log"] >= 4.0
    assert phases["app"] >= phases["log"] + phases["lock"]
    assert timing.header() is None  # sent once: the record ends with the request


def test_outside_a_request_nothing_is_recorded():
    other: list = []

    def elsewhere():  # another thread: a request started here is not its own
        with timing.phase("read"):
            pass
        other.append(timing.header())

    timing.start()
    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert other == [None]
    assert list(parse_server_timing(timing.header())) == ["app"]


def test_the_replayer_reads_durations_and_skips_what_has_none():
    value = 'lock;dur=0.52, cache;desc="hit", log;dur=2.5;desc=x, bad;dur=oops, app;dur=7'
    assert parse_server_timing(value) == {"lock": 0.52, "log": 2.5, "app": 7.0}
    assert parse_server_timing(None) == {}


def test_the_replayer_keeps_phases_only_when_asked():
    line = Line(1, "ADD", ["u1", "1.00"], "[1] ADD,u1,1.00")
    kept, dropped = Stats(keep_timings=True), Stats()
    for stats in (kept, dropped):
        stats.record(line, 200, 0.008, "", {"log": 2.5, "app": 6.0})
    assert kept.timings_ms() == {"ADD": [[8.0, {"log": 2.5, "app": 6.0}]]}
    assert dropped.timings_ms() == {}
    assert dropped.samples_ms() == {"ADD": [8.0]}  # the latency itself is always kept


def test_the_breakdown_of_the_slowest_commands_adds_up_to_their_latency():
    fast = [10.0, {"lock": 1.0, "log": 3.0, "unlock": 1.0, "app": 6.0}]
    slow = [50.0, {"lock": 2.0, "write": 10.0, "log": 30.0, "unlock": 1.0, "app": 45.0}]
    timings = {
        "ADD": [fast] * 98 + [slow] * 2,
        "QUOTE": [[900.0, {"quote": 890.0, "app": 895.0}]],  # may need a quote: left out
    }
    breakdown = report.time_breakdown(timings, slowest_share=0.02)

    assert (breakdown["commands"], breakdown["slowest"]) == (100, 2)
    parts = breakdown["parts"]
    assert parts["log"]["p50"] == 3.0
    assert parts["write"]["p50"] == 0.0  # most commands wrote nothing
    slowest = {name: p["slowest_mean"] for name, p in parts.items()}
    assert slowest["service"] == 2.0  # 45 - (2 + 10 + 30 + 1)
    assert slowest["outside"] == 5.0  # 50 - 45
    assert sum(v for name, v in slowest.items() if name != "total") == slowest["total"] == 50.0
    assert report.time_breakdown({"ADD": [[5.0, {}]]}) == {}  # no header, no breakdown

"""The pure parts of the benchmark (tools/bench_report.py, tools/loadgen.py, tools/bench.py)."""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

import pytest

from input_script import Line, Stats
from services.common.auditlog import QUOTE_SERVER, USER_COMMAND, entry, render_log
from tools import bench_report as report
from tools import loadgen
from tools.bench import LogCursor, locust_row, parse_args, validate_dumplog

TS = 1_700_000_000_000


# ------------------------------------------------------------------ statistics


@pytest.mark.parametrize("n", [2, 3, 10, 101, 1000])
def test_percentiles_match_the_inclusive_method_of_the_statistics_module(n):
    values = [((i * 7919) % 1000) / 7 for i in range(n)]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    ordered = sorted(values)
    for p in (1, 25, 50, 95, 99):
        assert report.percentile(ordered, p) == pytest.approx(cuts[p - 1])


def test_percentile_of_one_value_is_that_value_and_of_none_is_an_error():
    assert report.percentile([4.0], 99) == 4.0
    with pytest.raises(ValueError):
        report.percentile([], 50)


def test_summarize_gives_count_mean_extremes_and_the_kept_percentiles():
    summary = report.summarize([3.0, 1.0, 2.0, 4.0])
    assert summary["count"] == 4
    assert summary["mean"] == 2.5
    assert (summary["min"], summary["max"]) == (1.0, 4.0)
    assert summary["p50"] == 2.5
    assert {f"p{p}" for p in report.KEPT_PERCENTILES} <= summary.keys()
    assert report.summarize([]) == {"count": 0}


def test_latencies_are_grouped_by_whether_a_command_may_need_a_quote():
    groups = report.group_latencies(
        {"ADD": [1.0], "QUOTE": [2.0], "BUY": [3.0], "COMMIT_BUY": [4.0], "DUMPLOG": [900.0]}
    )
    assert sorted(groups["no_quote"]) == [1.0, 4.0]
    assert sorted(groups["quote"]) == [2.0, 3.0]


# ------------------------------------------------------------------ CPU


def test_cpu_delta_subtracts_the_start_and_counts_a_new_process_whole():
    before = {(10, 1.0): ("mongo", 5.0), (20, 1.0): ("buy-1", 1.0)}
    after = {
        (10, 1.0): ("mongo", 12.5),
        (20, 1.0): ("buy-1", 1.5),
        (21, 9.0): ("buy-1", 0.25),  # a worker born during the phase
    }
    assert report.cpu_delta(before, after) == {"buy-1": 0.75, "mongo": 7.5}


def test_a_reused_pid_with_another_start_time_is_another_process():
    before = {(10, 1.0): ("mongo", 50.0)}
    after = {(10, 2.0): ("mongo", 3.0)}
    assert report.cpu_delta(before, after) == {"mongo": 3.0}


def test_cpu_per_thousand_commands():
    assert report.per_thousand({"mongo": 20.0, "nginx": 0.5}, 5000) == {
        "mongo": 4.0,
        "nginx": 0.1,
    }
    assert report.per_thousand({"mongo": 1.0}, 0) == {}


# ------------------------------------------------------------------ quotes


@pytest.mark.parametrize(
    ("elapsed", "windows"), [(0.5, 1), (59.9, 1), (60.0, 2), (119.0, 2), (600.0, 11)]
)
def test_the_quote_bound_allows_one_fetch_per_symbol_per_started_window(elapsed, windows):
    bound = report.quote_bound(symbols=50, elapsed_s=elapsed, trigger_hits=3)
    assert bound == {
        "symbols": 50,
        "windows": windows,
        "trigger_checker": 3,
        "bound": 50 * windows + 3,
    }


def test_workload_symbols_counts_distinct_symbols_of_any_command():
    lines = [
        "[1] ADD,u1,100.00",
        "[2] QUOTE,u1,ABC",
        "[3] BUY,u1,ABC,10.00",
        "[4] SET_SELL_AMOUNT,u1,XY,5.00",
        "[5] COMMIT_BUY,u1",
        "[6] DUMPLOG,./testLOG",
    ]
    assert report.workload_symbols(lines) == 2


# ------------------------------------------------------------------ logs


def test_access_counts_reads_gunicorn_and_nginx_lines_for_api_paths_only():
    lines = [
        '127.0.0.1 - - [22/Nov/2026:03:40:01 +0000] "POST /api/buy/buy HTTP/1.0" 200 91 "-" "x"',
        '127.0.3.1 - - [22/Nov/2026:03:40:01 +0000] "POST /api/users/add HTTP/1.1" 404 50 "-" "x"',
        '127.0.3.1 - - [22/Nov/2026:03:40:02 +0000] "GET /health HTTP/1.1" 200 50 "-" "x"',
        '127.0.3.1 - - [22/Nov/2026:03:40:02 +0000] "GET /api/users/ping HTTP/1.1" 504 9 "-" "-"',
        "INFO something else entirely",
    ]
    counts = report.access_counts(lines)
    assert counts == {"200": 1, "404": 1, "504": 1}
    assert report.status_classes(counts) == {"2xx": 1, "4xx": 1, "5xx": 1}


def test_log_cursor_reads_only_new_lines_and_follows_one_rotation(tmp_path):
    log = tmp_path / "buy-1.log"
    log.write_text("old 1\nold 2\n")
    cursor = LogCursor(log)
    with log.open("a") as fh:
        fh.write("new 1\n")
    assert cursor.new_lines() == ["new 1"]
    log.rename(tmp_path / "buy-1.log.1")  # what supervisord does at 20 MB
    log.write_text("after rotation\n")
    assert cursor.new_lines() == ["new 1", "after rotation"]


def test_a_cursor_on_a_log_that_does_not_exist_yet_reads_it_from_the_start(tmp_path):
    cursor = LogCursor(tmp_path / "nginx.log")
    assert cursor.new_lines() == []
    (tmp_path / "nginx.log").write_text("first\n")
    assert cursor.new_lines() == ["first"]


WRK_OUTPUT = """Running 20s test @ http://127.0.0.1:8080/api/users/ping
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    45.76ms   20.01ms 250.00ms   70.00%
    Req/Sec   650.12    100.00   900.00     70.00%
  Latency Distribution
     50%   45.76ms
     75%  800.00us
     90%    1.20s
     99%  150.34ms
  25952 requests in 20.00s, 5.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1297.60
Transfer/sec:    256.00KB
"""


def test_parse_wrk_reads_the_served_rate_percentiles_in_ms_and_errors():
    figures = report.parse_wrk(WRK_OUTPUT)
    # 25,952 requests in 20 s, 3 of them not 2xx: 25,949 served, 1,297.45 a second,
    # kept to one decimal.
    assert figures["requests_per_s"] == 1297.5
    assert figures["latency_ms"] == {"p50": 45.76, "p75": 0.8, "p90": 1200.0, "p99": 150.34}
    assert figures["non_2xx"] == 3
    with pytest.raises(ValueError):
        report.parse_wrk("unable to connect")


def test_a_locust_stats_row_becomes_counts_and_percentiles():
    row = {
        "Name": "BUY",
        "Request Count": "112",
        "Failure Count": "0",
        "50%": "240",
        "95%": "2900",
        "99%": "3400",
        "Max Response Time": "4063.2",
        "Requests/s": "5.3",
    }
    assert locust_row(row) == {
        "count": 112,
        "failures": 0,
        "p50": 240.0,
        "p95": 2900.0,
        "p99": 3400.0,
        "max": 4063.2,
        "requests_per_s": 5.3,
    }
    assert locust_row({**row, "99%": "N/A"})["p99"] is None


# ------------------------------------------------------------------ DUMPLOG


def _dump(tmp_path: Path, docs) -> Path:
    path = tmp_path / "testLOG"
    path.write_bytes("".join(render_log(docs)).encode("ascii", "xmlcharrefreplace"))
    return path


def test_validate_dumplog_counts_entries_and_quote_hits_by_server(tmp_path):
    key = "IRrR7UeTO35kSWUgG0QJKmB35sL27FKM7AVhP5qpjCgmWQeXFJs35g=="
    quote = dict(price=1500, symbol="ABC", user="alice", qs_time=TS, cryptokey=key)
    docs = [
        entry(USER_COMMAND, TS, "buy-1", 1, command="QUOTE", user="alice", symbol="ABC"),
        entry(QUOTE_SERVER, TS, "buy-1", 1, **quote),
        entry(QUOTE_SERVER, TS, "trigger-checker", 2, **quote),
        entry(QUOTE_SERVER, TS, "trigger-checker", 3, **quote),
    ]
    result = validate_dumplog(_dump(tmp_path, docs))
    assert result["valid"] is True
    assert result["entries"] == 4
    assert result["quote_server_by_server"] == {"buy-1": 1, "trigger-checker": 2}


def test_validate_dumplog_reports_an_invalid_or_missing_log(tmp_path):
    bad = tmp_path / "testLOG"
    bad.write_text('<?xml version="1.0"?><log><userCommand><nonsense/></userCommand></log>')
    result = validate_dumplog(bad)
    assert result["valid"] is False and result["error"]
    assert validate_dumplog(tmp_path / "missing")["valid"] is False


# ------------------------------------------------------------------ report


def _results() -> dict:
    """A small results.json as tools/bench.py writes it."""
    processes = {
        "cpu_s": {"mongo": 40.0, "buy-1": 10.0, "replayer (client)": 5.0},
        "cpu_per_1k": {"mongo": 4.0, "buy-1": 1.0, "replayer (client)": 0.5},
        "rss_peak_mib": {"mongo": 80.0, "buy-1": 130.0, "replayer (client)": 50.0},
        "rss_series": {"t": [0.0, 1.0], "mib": {"mongo": [70.0, 80.0], "buy-1": [130, 130]}},
        "machine_busy_cpu_s": 100.0,
        "others_cpu_s": 45.0,
    }
    pct = {"count": 10, "p1": 5.0, "p5": 6.0, "p25": 8.0, "p50": 10.0, "p75": 20.0}
    pct |= {"p95": 30.0, "p99": 40.0, "max": 50.0}
    label = {"date": "2026-11-22 04:00 UTC", "run_id": "r1", "quick": False}
    return {
        "machine": {"cores": 2, "description": "2 cores, 24 GiB"},
        "replay": {
            **label,
            "command": ".venv/bin/python -m tools.bench --scenario all",
            "settings": {
                "users": 100,
                "commands": 10_000,
                "seed": 1,
                "replicas": 2,
                "web_concurrency": "2",
                "store": "FerretDB (sqlite)",
            },
            "commands": 10_000,
            "elapsed_s": 100.0,
            "commands_per_s": 100.0,
            "latency_ms": pct,
            "latency_ms_by_command": {"ADD": pct, "QUOTE": pct},
            "no_quote_latency_ms": {**pct, "p99": 20.0},
            "quote_latency_ms": pct,
            "rejected": 12,
            "failed": 0,
            "completions_per_s": [90, 110, 100],
            "quote_hits": {
                "quote_server": 150,
                "logged": 150,
                **report.quote_bound(100, 100.0, 5),
            },
            "dumplog": {"valid": True, "bytes": 4_000_000, "entries": 30_000, "error": None},
            "replicas": {"buy-1": 600, "buy-2": 400},
            "http_status": {"2xx": 9988, "4xx": 12},
            "processes": processes,
        },
        "floor": {
            **label,
            "command": ".venv/bin/python -m tools.bench --scenario all",
            "duration_s": 20,
            "elapsed_s": 60.0,
            "runs": [
                {
                    "sources": 1,
                    "connections": 64,
                    "requests_per_s": 800.0,
                    "latency_ms": pct,
                    "errors": 0,
                    "statuses": {"200": 16000},
                    "served_by": {"user-utilities-1": 16000},
                },
                {
                    "sources": 16,
                    "connections": 64,
                    "requests_per_s": 1000.0,
                    "latency_ms": pct,
                    "errors": 0,
                    "statuses": {"200": 19000, "502": 1},
                    "served_by": {"user-utilities-1": 9000, "user-utilities-2": 11000},
                },
            ],
            "wrk": None,
            "processes": processes,
        },
    }


def _target(rows, name):
    return next(row for row in rows if row["target"].startswith(name))


def test_targets_compare_each_figure_with_its_goal():
    rows = report.targets(_results())
    assert _target(rows, "throughput")["met"] is False
    assert _target(rows, "share of the floor")["measured"] == "0.100"
    assert _target(rows, "quote-server hits")["met"] is True  # 150 <= 100 x 2 + 5
    assert _target(rows, "p99")["met"] is True  # 20 ms <= 25 ms
    big = _target(rows, "1,200-user")
    assert big["met"] is None and "not run; projected 200 min" in big["measured"]
    assert _target(rows, "5,000")["measured"] == "Locust not run"


def test_the_floor_share_needs_both_figures_from_the_same_run():
    results = _results()
    assert report.floor_share(results) == pytest.approx(0.1)
    results["floor"]["run_id"] = "another"
    assert report.floor_share(results) is None
    assert _target(report.targets(results), "share of the floor")["met"] is None


def test_a_locust_run_with_5xx_misses_its_target():
    results = _results()
    agg = {"count": 1000, "p50": 50.0, "p95": 900.0, "p99": 2000.0, "max": 5000.0}
    results["locust"] = {
        "users": 5000,
        "duration_s": 120.0,
        "status_classes": {"2xx": 900, "4xx": 97, "5xx": 3},
        "transport_errors": 0,
        "aggregated": agg,
    }
    row = _target(report.targets(results), "5,000")
    assert row["met"] is False
    assert "3 5xx/errors" in row["measured"] and "p99 2,000 ms" in row["measured"]


def test_render_shows_the_run_the_targets_and_the_tables():
    text = report.render(_results(), {"throughput": "bench/throughput.png"})
    assert text.startswith(report.BEGIN) and text.rstrip().endswith(report.END)
    assert ".venv/bin/python -m tools.bench --scenario all" in text
    assert "2026-11-22 04:00 UTC" in text
    assert "| throughput | >= 2,000 commands/s | 100.0 commands/s | **not met** |" in text
    assert "150 ($7.50)" in text
    assert "| mongo | 40.0 | 73 % | 4.00 | 80 |" in text
    assert "![throughput](bench/throughput.png)" in text
    assert "| user-utilities-2 | – | – | 11,000 (55 %) |" in text
    assert "validates against" in text
    assert "| loadgen, 16 source addresses | 64 | 1,000.0 | 10.00 | 40.00 | 1 |" in text


def test_the_single_request_scenario_is_judged_against_its_own_floor():
    results = _results()
    single = {**results["replay"], "command": ".venv/bin/python -m tools.bench --scenario single"}
    single["settings"] = {**single["settings"], "batch": 1, "in_flight": 100}
    # 100 commands/s against a floor of 180 requests/s: 0.556 of it, but under 1,000/s.
    single["floor"] = {
        "sources": 16,
        "connections": 64,
        "requests_per_s": 180.0,
        "requests": 3600,
        "latency_ms": {"p50": 3.0, "p99": 9.0},
        "elapsed_s": 22.0,
        "processes": results["floor"]["processes"],
    }
    results["single"] = single
    row = _target(report.targets(results), "one request per command")
    assert row["measured"] == "100.0 commands/s, 0.556 of the floor"
    assert row["met"] is False
    text = report.render(results, {})
    assert "### Single requests: 100 users, 10,000 commands (seed 1)" in text
    assert "one request per command, at most 100 in flight" in text
    assert "180.0 requests/s (p50 3.00 ms, p99 9.00 ms); the replay reached 0.556 of it." in text
    assert "--scenario single" in text
    # 1,000 commands/s at half the floor meets it.
    single["commands_per_s"], single["floor"]["requests_per_s"] = 1000.0, 2000.0
    assert _target(report.targets(results), "one request per command")["met"] is True


def test_the_quote_paragraph_gives_the_platforms_own_count_when_the_run_has_it():
    results = _results()
    older = report.render(results, {})
    assert "the platform counted" not in older  # runs before the counter
    assert "the platform logged 150 quoteServer entries, 5 of them" in older
    results["replay"]["quote_hits"] |= {"platform": 156, "trigger_logged": 2}
    text = report.render(results, {})
    assert "the platform counted 156 requests it sent, 5 of them by the trigger checker" in text
    assert "its log had 150 quoteServer entries when the replayer asked" in text
    assert "whose own count from the trigger checker is 2" in text


def test_a_quick_run_is_labelled_as_such():
    results = _results()
    results["replay"]["quick"] = True
    assert "quick development run, not a result" in report.render(results, {})


DOC = "# Benchmarks\n\nIntro.\n\n## Course workloads\n\nTable.\n\n## Where the time goes\n\n- x\n"


def test_the_generated_section_goes_before_the_first_heading_and_is_replaced_later():
    first = report.merge_into_doc(DOC, f"{report.BEGIN}\none\n{report.END}\n")
    assert first.index("one") < first.index("## Course workloads")
    assert first.startswith("# Benchmarks\n\nIntro.\n\n")
    second = report.merge_into_doc(first, f"{report.BEGIN}\ntwo\n{report.END}\n")
    assert "one" not in second and "two" in second
    assert second.count(report.BEGIN) == 1
    assert second.endswith("## Where the time goes\n\n- x\n")


def test_make_plots_writes_every_png(tmp_path):
    made = report.make_plots(_results(), tmp_path)
    assert set(made) == {"throughput", "latency", "cpu", "memory"}
    for name in made.values():
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------ CLI, loadgen


def test_quick_changes_only_the_sizes_not_given():
    args = parse_args(["--quick", "--users", "7"])
    assert (args.users, args.commands, args.locust_users, args.locust_seconds) == (7, 5000, 200, 20)
    full = parse_args([])
    assert (full.users, full.commands, full.locust_users, full.locust_seconds) == (
        100,
        100_000,
        5000,
        120,
    )
    assert full.scenario == "all"


def test_loadgen_parses_a_response_head():
    status, headers = loadgen.parse_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Served-By: user-utilities-2\r\n\r\n"
    )
    assert status == 200
    assert headers == {"content-length": "12", "x-served-by": "user-utilities-2"}


def test_loadgen_reads_a_chunked_body():
    async def read() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(b"5\r\nhello\r\n0\r\n\r\nNEXT")
        reader.feed_eof()
        await loadgen._read_body(reader, {"transfer-encoding": "chunked"})
        return await reader.read()

    assert asyncio.run(read()) == b"NEXT"


def test_loadgen_spreads_connections_round_robin_over_source_addresses():
    assert loadgen.source_addresses(5, 2) == [
        "127.0.1.1",
        "127.0.2.1",
        "127.0.1.1",
        "127.0.2.1",
        "127.0.1.1",
    ]


def test_loadgen_refuses_anything_but_loopback():
    with pytest.raises(ValueError, match="loopback"):
        loadgen.run("http://10.0.0.1:8080", "/", duration_s=1)


# ------------------------------------------------------------------ input_script


def test_the_replayer_counts_completions_per_second_and_keeps_samples(monkeypatch):
    clock = iter([100.2, 100.9, 101.5, 103.1])
    monkeypatch.setattr("input_script.time.perf_counter", lambda: next(clock))
    stats = Stats()
    stats.started = 100.0
    line = Line(1, "ADD", ["u1", "1.00"], "[1] ADD,u1,1.00")
    for _ in range(4):
        stats.record(line, 200, 0.0123, "")
    summary = stats.summary(elapsed=3.2, quote_hits=0, malformed=0)
    assert summary["completions_per_s"] == [2, 1, 0, 1]
    assert stats.samples_ms() == {"ADD": [12.3, 12.3, 12.3, 12.3]}


def test_where_the_time_goes_names_the_biggest_user_and_the_cpu_ceiling():
    procs = {
        "cpu_s": {"mongo": 60.0, "buy-1": 20.0, "replayer (client)": 20.0},
        "cpu_per_1k": {"mongo": 6.0, "buy-1": 2.0, "replayer (client)": 2.0},
        "others_cpu_s": 50.0,
    }
    lines = report.where_time_goes(procs, elapsed_s=100.0, cores=2, target=2000.0)
    assert "used 100 CPU-seconds of the 200" in lines[0] and "mongo 60 %" in lines[0]
    assert "50 CPU-seconds (25 % of capacity)" in lines[1]
    # 8 CPU-s per 1,000 commands on 2 cores: 250 commands/s at most; 2,000/s needs <= 1.00.
    assert "8.00 CPU-seconds per 1,000 commands" in lines[2]
    assert "at most 250 commands/s" in lines[2] and "at most 1.00 CPU-seconds" in lines[2]


def test_error_causes_groups_nginx_errors_and_exceptions_without_their_variable_parts():
    lines = [
        "2026/11/22 04:25:01 [error] 31#31: *9 upstream timed out (110: Connection timed out) "
        'while reading response header from upstream, client: 127.0.3.1, request: "POST /"',
        "2026/11/22 04:25:02 [error] 32#32: *12 upstream timed out (110: Connection timed out) "
        "while reading response header from upstream, client: 127.0.4.1",
        "2026/11/22 04:25:03 [alert] 31#31: 4096 worker_connections are not enough",
        "pymongo.errors.OperationFailure: [msg_update.go:133 handler] [collection.go:177 x] "
        "database is locked (5) (SQLITE_BUSY), full error: {'ok': 0.0}",
        "2026/11/22 04:25:04 [warn] 31#31: an upstream response is buffered",
        '127.0.0.1 - - [22/Nov/2026:04:25:01 +0000] "POST /api/buy/buy HTTP/1.0" 500 91',
    ]
    assert report.error_causes(lines) == {
        "nginx: upstream timed out (110: Connection timed out) while reading response header "
        "from upstream": 2,
        "nginx: 4096 worker_connections are not enough": 1,
        "pymongo.errors.OperationFailure: database is locked (5) (SQLITE_BUSY)": 1,
    }


def test_a_run_names_the_commit_its_services_ran():
    results = _results()
    results["replay"] |= {"commit": "a3df7cd", "dirty": True}
    text = report.render(results, {})
    assert "Run 2026-11-22 04:00 UTC on commit a3df7cd with uncommitted changes:" in text


def test_memory_growth_compares_the_last_quarter_with_the_second():
    flat = {
        "rss_series": {"t": list(range(8)), "mib": {"a": [50, 100, 100, 100, 100, 100, 100, 100]}}
    }
    growing = {
        "rss_series": {
            "t": list(range(8)),
            "mib": {"a": [10, 10, 100, 100, 150, 150, 200, 200], "replayer (client)": [999] * 8},
        }
    }
    assert report.memory_growth(flat) == 0.0
    assert report.memory_growth(growing) == 1.0  # clients are left out
    assert report.memory_growth({"rss_series": {"t": [0], "mib": {"a": [1]}}}) is None


def test_the_big_run_meets_its_target_only_in_time_valid_and_flat():
    flat = {"t": list(range(8)), "mib": {"a": [100] * 8}}
    big = {
        "elapsed_s": 540.0,
        "commands": 1_200_000,
        "failed": 0,
        "dumplog": {"valid": True},
        "processes": {"rss_series": flat},
    }

    def row(run):
        return next(t for t in report.targets({"big": run}) if t["target"].startswith("1,200"))

    assert row(big)["met"] is True and "9.0 min" in row(big)["measured"]
    assert row({**big, "elapsed_s": 601.0})["met"] is False
    assert row({**big, "failed": 12})["met"] is False
    assert "12 commands failed" in row({**big, "failed": 12})["measured"]

"""The benchmark: a tiny run reports every figure and proves each expected email arrived once."""

from __future__ import annotations

import json

import pytest

from bench.pipeline import BenchFailed, BenchOptions, plan_runs, run_bench, run_prefix, verify
from bench.sink import message_id_of
from bench.sinks import C_SINK, PYTHON_SINK
from worker.settings import Settings


def test_a_tiny_benchmark_reports_every_field_and_every_email_arrived_exactly_once(redis_url, tmp_path, monkeypatch):
    # Given the test Redis and the default SMTP sink
    monkeypatch.setenv("REDIS_URL", redis_url)
    out = tmp_path / "bench.json"

    # When the benchmark runs 20 orders through one worker (smtp-sink, when installed, is
    # exercised by the README's runs: a machine's packages are not the tests' to assume)
    run_bench(BenchOptions(orders=20, workers=1, json_out=out, window_sizes=(30,), sinks=(PYTHON_SINK,)))

    # Then the JSON report holds every figure, and the sink got exactly the expected emails, once each
    report = json.loads(out.read_text())
    assert report["verification"] == {
        "invoices": 20,
        "orders_invoiced": 20,
        "received": 20,
        "distinct": 20,
        "missing": 0,
        "unexpected": 0,
        "duplicated": 0,
        "exactly_once": True,
    }
    assert set(report) >= {
        "machine",
        "options",
        "pipeline",
        "raw_send",
        "pipeline_to_raw_ratio",
        "worker_peak_rss_mb",
        "rendering",
        "documents",
        "windows",
        "redis",
    }
    assert set(report["pipeline"]) >= {
        "emails_per_s",
        "flowing_emails_per_s",
        "latency_p50_s",
        "latency_p99_s",
        "elapsed_s",
    }
    assert report["pipeline"]["flowing_emails_per_s"] >= report["pipeline"]["emails_per_s"]
    assert report["raw_send"]["messages"] == 20 and report["raw_send"]["accepted"] == 20
    assert len(report["worker_peak_rss_mb"]) == 1 and report["worker_peak_rss_mb"][0] > 0
    assert (
        report["rendering"]["samples"] == 20
        and 0 < report["rendering"]["cpu_median_ms"] <= report["rendering"]["p99_ms"]
    )
    documents = report["documents"]
    assert documents["samples"] == 20 and 0 < documents["median_ms"] <= documents["p99_ms"]
    assert documents["attachment_kb_median"] > 0
    (windows,) = report["windows"]
    assert windows["windows"] == 30 and windows["bytes_per_window"] > 0
    assert report["machine"]["nproc"] >= 1
    # and the Redis measured, whose compact-hash setting the memory figures depend on
    assert report["redis_server"]["version"] and report["redis_server"]["hash_max_listpack_value"] >= 64
    (run,) = report["runs"]
    assert run["smtp"] == PYTHON_SINK and run["workers"] == 1 and run["raw_send"]["sink_cpu_ms_per_email"] > 0
    assert report["documents"]["share_of_worker_cpu"] > 0
    # and retention, run on every delivery of the run, leaves a small part of what was held
    kept = report["redis_bytes_per_invoice"]
    assert kept["dropped"] == kept["invoices"] == 20
    assert 0 < kept["after_retention"] < kept["delivered"] / 5
    # and what is left is named by kind of key, the invoice among it, the largest first
    left = kept["after_retention_by_key"]
    assert {"invoice:*", "delivery:invoice:*:record", "order:*"} <= set(left)
    assert list(left.values()) == sorted(left.values(), reverse=True)
    assert abs(sum(left.values()) - kept["after_retention"]) < 1
    # and, on a shared Redis, under a prefix of the run's own, which it leaves as it found it
    assert kept["key_prefix"].startswith("iwbench-")


def test_the_plan_scales_the_workers_on_the_c_sink_and_compares_the_python_sink_at_the_full_count():
    options = BenchOptions(workers=2, scale=(1,))
    assert plan_runs(options, have_smtp_sink=True) == [(C_SINK, 1), (C_SINK, 2), (PYTHON_SINK, 2)]
    assert plan_runs(options, have_smtp_sink=False) == [(PYTHON_SINK, 1), (PYTHON_SINK, 2)]
    assert plan_runs(BenchOptions(workers=2, smtp=("relay.example", 25)), have_smtp_sink=True) == [("external", 2)]


def delivery(order_id: str) -> dict:
    return {"order_id": order_id, "states": {"a@x.example": "accepted"}}


@pytest.mark.parametrize(
    "arrivals, problem",
    [
        ([(1.0, "<a>", 1)], "1 missing"),
        ([(1.0, "<a>", 1), (1.1, "<b>", 1), (1.2, "<b>", 1)], "1 duplicated"),
        ([(1.0, "<a>", 1), (1.1, "<b>", 1), (1.2, "<c>", 1)], "1 unexpected"),
    ],
)
def test_verify_refuses_a_missing_duplicated_or_unexpected_email(arrivals, problem):
    expected = {"<a>": delivery("O-1"), "<b>": delivery("O-2")}
    with pytest.raises(BenchFailed, match=problem):
        verify(expected, 2, arrivals)


def test_verify_refuses_an_order_without_its_invoice_or_a_recipient_not_accepted():
    with pytest.raises(BenchFailed, match="1 of 2 orders invoiced"):
        verify({"<a>": delivery("O-1")}, 2, None)
    deferred = {"<a>": {"order_id": "O-1", "states": {"a@x.example": "deferred"}}}
    with pytest.raises(BenchFailed, match="not accepted"):
        verify(deferred, 1, None)


def test_the_sink_reads_the_message_id_from_the_header_block_only():
    raw = b"Subject: x\r\nMessage-ID: <m1@x.example>\r\n\r\nMessage-ID: <body@x.example>\r\n"
    assert message_id_of(raw) == "<m1@x.example>"
    assert message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@x.example>\r\n") == "-"


def test_on_its_own_redis_a_run_keys_under_a_prefix_as_long_as_the_default_and_on_a_shared_one_under_its_own():
    # Each byte of a prefix is a byte of every key: the figures are a deployment's at the default's length
    default = Settings.model_fields["redis_prefix"].default
    assert run_prefix(False, "b0") == "b0" and len("b0") == len(default)
    shared = {run_prefix(True, "b0") for _ in range(3)}
    assert len(shared) == 3 and all(p.startswith("iwbench-") for p in shared)

"""`invoice-worker bench`: the whole pipeline under load on this machine, against its raw limit.

One run: a real Redis (embedded unless REDIS_URL), an SMTP server (`--smtp`, or the fast sink of
`bench.sink` in its own process), N `invoice-worker run` processes; M orders across every
locale and country fed through one `Ingestor` as a producer would, keeping its connection
(accounts and orders first, then the activations, one order at a time, timed). It measures
throughput, latency from an order's last activation to SMTP acceptance, peak RSS per worker,
the raw send limit of the same SMTP client and connections, rendering cost, and Redis memory per
open window; and it checks that every expected email arrived exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean, median
from typing import Any

import redis
from pydantic import SecretStr

from bench.load import generate_orders
from bench.measures import cpu_s, machine, peak_rss_mb, percentile, redis_command_calls, wait_until_quiet
from bench.processes import BenchFailed, start_workers, stop_process, wait_for
from bench.raw import Envelope, measure_raw_send
from bench.sinks import C_SINK, PYTHON_SINK, Sink, find_smtp_sink, start_named
from bench.windows import measure_windows
from worker.dev.embedded_redis import start_embedded_redis
from worker.emails.kinds import INVOICE, KINDS
from worker.emails.mime import build_message, envelope_address
from worker.emails.rendering import render
from worker.runtime.runner import is_idle, make_pipeline
from worker.services import retention
from worker.services.context import ServiceContext, smtp_config
from worker.services.documents import build_documents, stand_in_account
from worker.services.ingest import Ingestor
from worker.services.messages import envelope_sender, recipients_from, template_context
from worker.settings import Settings, load_settings
from worker.store.cipher import new_sealing_key
from worker.store.due_members import retain_member

#: Defaults sized so that one run (three timed runs, with documents) takes about 7 minutes on a 2-core machine.
DEFAULT_ORDERS = 2000
DEFAULT_WORKERS = 2
DEFAULT_WINDOW_SIZES = (1_000, 100_000)
#: Invoices of the run rendered (render + MIME) for the rendering cost, each timed once: a worker
#: formats mostly new amounts, so timing one invoice again would flatter the format caches.
RENDER_SAMPLES = 1000
#: Longest wait for set-up and for the pipeline to deliver everything (s).
SETUP_TIMEOUT_S = 120.0
DELIVERY_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class BenchOptions:
    orders: int = DEFAULT_ORDERS
    workers: int = DEFAULT_WORKERS
    smtp: tuple[str, int] | None = None
    json_out: Path | None = None
    window_sizes: tuple[int, ...] = DEFAULT_WINDOW_SIZES
    #: Worker counts also run against the first SMTP server, to see how the pipeline scales.
    scale: tuple[int, ...] = ()
    #: SMTP servers to run against (`smtp-sink`, `aiosmtpd sink`); None: both when smtp-sink is
    #: installed, else the aiosmtpd sink alone.
    sinks: tuple[str, ...] | None = None


def _ingest(ingestor: Ingestor, events: list[dict[str, Any]]) -> None:
    report = ingestor.ingest([json.dumps(e) for e in events])
    if report.rejections:
        raise BenchFailed(f"generated events rejected: {report.rejections[0].error}")


async def _deliveries(settings: Settings, run_orders: set[str]) -> dict[str, dict[str, Any]]:
    """Message-ID -> the delivery of each invoice of the run's orders, with its recipient states."""
    app = ServiceContext.from_settings(settings)
    try:
        store, out = app.store, {}
        for number in await store.deliveries.invoice_numbers():
            invoice = await store.deliveries.load_invoice(number)
            if invoice is None or invoice.order_id not in run_orders:
                continue
            delivery_id = KINDS[INVOICE].delivery_id(number)
            delivery = await store.deliveries.load_delivery(delivery_id)
            states = await store.deliveries.recipient_states(delivery_id)
            # The Message-ID stored with the delivery's message (one per installation and delivery).
            out[(delivery or {}).get("message_id") or delivery_id] = {
                "order_id": invoice.order_id,
                "delivery_id": delivery_id,
                "delivery": delivery,
                "states": {a: str(s.state) for a, s in states.items()},
                "accepted_at": max((s.updated_at or 0.0) for s in states.values()) if states else 0.0,
            }
        return out
    finally:
        await app.aclose()


def verify(
    expected: dict[str, dict[str, Any]], orders: int, arrivals: list[tuple[float, str, int]] | None
) -> dict[str, Any]:
    """Every order invoiced once, every recipient accepted, every email arrived exactly once.

    Raises:
      BenchFailed: naming what is missing, extra or duplicated.
    """
    invoiced = Counter(d["order_id"] for d in expected.values())
    problems = []
    if len(invoiced) != orders or any(n != 1 for n in invoiced.values()):
        problems.append(f"{len(invoiced)} of {orders} orders invoiced, {sum(invoiced.values())} invoices")
    unaccepted = [mid for mid, d in expected.items() if any(s != "accepted" for s in d["states"].values())]
    if unaccepted:
        problems.append(f"{len(unaccepted)} deliveries with a recipient not accepted, e.g. {unaccepted[0]}")
    result: dict[str, Any] = {"invoices": len(expected), "orders_invoiced": len(invoiced)}
    if arrivals is not None:
        received = Counter(mid for _, mid, _ in arrivals)
        missing = set(expected) - set(received)
        extra = set(received) - set(expected)
        duplicated = [mid for mid, n in received.items() if n > 1]
        if missing or extra or duplicated:
            problems.append(f"sink: {len(missing)} missing, {len(extra)} unexpected, {len(duplicated)} duplicated")
        result.update(
            received=len(arrivals),
            distinct=len(received),
            missing=len(missing),
            unexpected=len(extra),
            duplicated=len(duplicated),
        )
    if problems:
        raise BenchFailed("; ".join(problems))
    result["exactly_once"] = True
    return result


async def _render_cost(settings: Settings, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """Median ms per invoice email for render + MIME build (templates already compiled), elapsed
    and CPU time of this thread, over distinct invoices of the run."""
    app = ServiceContext.from_settings(settings)
    try:
        prepared = []
        for d in deliveries[:RENDER_SAMPLES]:
            delivery = d["delivery"]
            context = await template_context(app.store, d["delivery_id"], delivery)
            prepared.append((d["delivery_id"], delivery, context))
    finally:
        await app.aclose()

    def build(delivery_id: str, delivery: dict[str, Any], context: dict[str, Any]) -> bytes:
        rendered = render(delivery["kind"], context, delivery["locale"])
        return build_message(
            rendered,
            recipients_from(delivery["recipients"]),
            mail_from=settings.mail_from,
            message_id=delivery.get("message_id") or f"<{delivery_id}@bench.invalid>",
            sent_at=datetime.fromtimestamp(delivery["created_at"], UTC),
        )

    # A worker compiles each (kind, locale) once, at start: not part of the cost per email.
    warmed: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]] = {}
    for item in prepared:
        warmed.setdefault((item[1]["kind"], item[1]["locale"]), item)
    for item in warmed.values():
        build(*item)
    wall, cpu = [], []
    for item in prepared:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        build(*item)
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
        wall.append((time.perf_counter_ns() - started) / 1e6)
    locales = sorted({delivery["locale"] for _, delivery, _ in prepared})
    return {
        "samples": len(wall),
        "median_ms": median(wall) if wall else None,
        # The mean is what the CPU per email pays: the slow scripts (ja, zh, ar) make a long tail.
        "mean_ms": fmean(wall) if wall else None,
        "p99_ms": percentile(wall, 0.99),
        "cpu_median_ms": median(cpu) if cpu else None,
        "cpu_p99_ms": percentile(cpu, 0.99),
        "locales": locales,
    }


#: Invoices of the run whose documents are built again for their cost (the PDF dominates).
DOCUMENT_SAMPLES = 300


async def _document_cost(settings: Settings, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and p99 ms per invoice to build its documents again (the legal invoice, the XML, the
    gate, the PDF/A-3), as the first build of each invoice's email does; by e-invoice format."""
    app = ServiceContext.from_settings(settings)
    try:
        prepared = []
        for d in deliveries[:DOCUMENT_SAMPLES]:
            invoice = await app.store.deliveries.load_invoice(d["delivery"]["key"])
            assert invoice is not None
            account = await app.store.orders.load_account(invoice.account_id) or stand_in_account(invoice)
            prepared.append((invoice, account, d["delivery"]["locale"]))
    finally:
        await app.aclose()
    for item in prepared[:1]:  # the compiler and its fonts load once per process
        build_documents(item[0], item[1], locale=item[2])
    wall: list[float] = []
    by_format: dict[str, list[float]] = {}
    sizes: list[int] = []
    for invoice, account, locale in prepared:
        started = time.perf_counter_ns()
        built = build_documents(invoice, account, locale=locale)
        took = (time.perf_counter_ns() - started) / 1e6
        wall.append(took)
        by_format.setdefault(built.einvoice, []).append(took)
        sizes.append(sum(len(a.data) for a in built.attachments))
    return {
        "samples": len(wall),
        "median_ms": median(wall) if wall else None,
        # The mean is what the CPU per email pays: the slow scripts (ja, zh, ar) make a long tail.
        "mean_ms": fmean(wall) if wall else None,
        "p99_ms": percentile(wall, 0.99),
        "by_einvoice_median_ms": {name: median(values) for name, values in sorted(by_format.items())},
        "attachment_kb_median": median(sizes) / 1024 if sizes else None,
    }


def _redis_server(redis_url: str) -> dict[str, Any]:
    """What the figures depend on in the Redis measured: its version, and the largest value a
    small hash keeps compact (README, "Redis memory")."""
    client = redis.Redis.from_url(redis_url)
    try:
        value: Any = client.config_get("hash-max-ziplist-value")["hash-max-ziplist-value"]
        return {"version": client.info("server")["redis_version"], "hash_max_listpack_value": int(value)}
    finally:
        client.close()


def _raw_envelopes(settings: Settings, deliveries: list[dict[str, Any]]) -> list[Envelope]:
    app = ServiceContext.from_settings(settings)
    mail_from = envelope_sender(app)
    return [
        Envelope(mail_from, [envelope_address(a) for a in d["states"]], d["delivery"]["message"]) for d in deliveries
    ]


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run the benchmark; returns the report (also written to `options.json_out`).

    One timed run per (SMTP server, worker count): against `smtp-sink` when it is installed, at
    each of `options.scale` worker counts and at `options.workers`; against the aiosmtpd sink at
    `options.workers`; or, with `options.smtp`, against that server alone. Each run sends new
    orders under its own key prefix, and each is followed by the raw send of its own messages
    to the same server from as many processes and connections. The report's top-level figures
    are the first run's at `options.workers` (smtp-sink's when there is one).

    Raises:
      BenchFailed: the emails that arrived are not exactly the expected ones, once each.
    """
    with ExitStack() as stack:
        work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="iw-bench-")))
        base = load_settings()
        redis_url = base.redis_url
        redis_pid = None
        if not redis_url:
            server = start_embedded_redis(work_dir / "redis")
            stack.callback(server.stop)
            redis_pid, redis_url = server.pid, server.url
        smtp_sink = find_smtp_sink()
        plan = plan_runs(options, smtp_sink is not None)
        runs, sinks = [], {}
        for n, (sink_name, workers) in enumerate(plan):
            if sink_name not in sinks:
                sinks[sink_name] = start_named(stack, sink_name, work_dir) if sink_name != "external" else None
            prefix = run_prefix(bool(base.redis_url), f"b{n}")
            runs.append(_timed_run(base, redis_url, redis_pid, sinks[sink_name], options, workers, work_dir, prefix))
        primary = next(r for r in runs if r["workers"] == options.workers)
        settings, deliveries = primary.pop("_settings"), primary.pop("_deliveries")
        for run in runs:
            run.pop("_settings", None)
            run.pop("_deliveries", None)
        retention = _retention_bytes(settings, deliveries)
        rendering = asyncio.run(_render_cost(settings, deliveries))
        documents = asyncio.run(_document_cost(settings, deliveries))
        windows = [
            asdict(asyncio.run(measure_windows(settings, n, prefix=run_prefix(bool(base.redis_url), f"w{k}"))))
            for k, n in enumerate(options.window_sizes)
        ]
        worker_cpu = sum(v for k, v in primary["cpu_ms_per_email"].items() if k.startswith("worker"))
        report = {
            "machine": machine(),
            "redis_server": _redis_server(redis_url),
            "options": {
                "orders": options.orders,
                "workers": options.workers,
                "scale": list(options.scale),
                "smtp": primary["smtp"],
                "smtp_connections_per_worker": settings.smtp_connections,
                "worker_threads": settings.worker_threads,
                "event_gather_s": getattr(settings, "event_gather_s", 0.0),
            },
            "smtp_sink": smtp_sink or "not installed (Debian: apt-get install postfix); the aiosmtpd sink only",
            **{k: v for k, v in primary.items() if k not in ("smtp", "workers")},
            "ratios": {f"{r['smtp']}, {r['workers']} worker(s)": r["pipeline_to_raw_ratio"] for r in runs},
            "runs": runs,
            "redis_bytes_per_invoice": retention,
            "rendering": rendering,
            "documents": {
                **documents,
                # What building the documents takes of the workers' CPU per email, from the median
                # build measured apart (the first build of each email; a retry re-reads them).
                "share_of_worker_cpu": (documents["median_ms"] / worker_cpu)
                if worker_cpu and documents["median_ms"]
                else None,
            },
            "windows": windows,
        }
        if base.redis_url:  # a shared Redis: leave it as it was found
            for prefix in {r["redis_prefix"] for r in runs}:
                stack.callback(_drop_prefix, settings.model_copy(update={"redis_prefix": prefix}))
    if options.json_out:
        options.json_out.parent.mkdir(parents=True, exist_ok=True)
        options.json_out.write_text(json.dumps(report, indent=2))
    return report


def run_prefix(shared_redis: bool, short: str) -> str:
    """The key prefix of a run. On the bench's own Redis, `short`: as long as the default `iw`,
    so that a key costs what it costs a deployment (each byte of a prefix is a byte of every
    key's name: `iwbench-<tag>`'s 14 more took a delivered invoice past retention from 2,028 to
    2,077 B, measured). On a shared Redis (REDIS_URL), one no deployment uses."""
    return f"iwbench-{uuid.uuid4().hex[:8]}" if shared_redis else short


def _key_kind(key: str, prefix: str) -> str:
    """A key's name with its ids as `*`: `order:*:activations` (a segment with a digit is an id)."""
    segments = key.removeprefix(f"{prefix}:").split(":")
    return ":".join("*" if any(c.isdigit() for c in segment) else segment for segment in segments)


def _prefix_bytes(settings: Settings) -> tuple[int, dict[str, int]]:
    """What the run's keys take in Redis (MEMORY USAGE of each, exact: SAMPLES 0), in all and by
    the kind of key."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{settings.redis_prefix}:*", count=5000)]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=0)
        by_kind: dict[str, int] = {}
        for key, used in zip(keys, pipe.execute(), strict=True):
            kind = _key_kind(key, settings.redis_prefix)
            by_kind[kind] = by_kind.get(kind, 0) + int(used or 0)
        return sum(by_kind.values()), by_kind
    finally:
        client.close()


def _retention_bytes(settings: Settings, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """Redis bytes per delivered invoice as the run left them, and once retention has run for
    each of its deliveries (through the worker's own path: its due member claimed at a clock
    MESSAGE_RETENTION_DAYS and a day later)."""
    before, _ = _prefix_bytes(settings)
    later = datetime.now(UTC) + timedelta(days=settings.message_retention_days + 1)
    app = ServiceContext.from_settings(settings, clock=lambda: later)

    async def expire_all() -> int:
        dropped = 0
        try:
            for d in deliveries:
                member = retain_member(d["delivery_id"])
                lease = await app.store.due.claim_member(member, later.timestamp(), settings.due_lease_s)
                if lease is not None and await retention.expire(app, d["delivery_id"], lease) is not None:
                    dropped += 1
        finally:
            await app.aclose()
        return dropped

    dropped = asyncio.run(expire_all())
    after, by_kind = _prefix_bytes(settings)
    count = len(deliveries) or 1
    return {
        "invoices": len(deliveries),
        "dropped": dropped,
        "delivered": before / count,
        "after_retention": after / count,
        # What is left, per invoice, by kind of key, the largest first.
        "after_retention_by_key": {
            kind: used / count for kind, used in sorted(by_kind.items(), key=lambda item: -item[1])
        },
        "retention_days": settings.message_retention_days,
        # Every key's name starts with it: its length is part of every figure above.
        "key_prefix": settings.redis_prefix,
    }


def plan_runs(options: BenchOptions, have_smtp_sink: bool) -> list[tuple[str, int]]:
    """(SMTP server, worker count) of each timed run, in order."""
    if options.smtp is not None:
        return [("external", options.workers)]
    if options.sinks is not None:
        names = list(options.sinks)
    else:
        names = [C_SINK, PYTHON_SINK] if have_smtp_sink else [PYTHON_SINK]
    plan = []
    for n, name in enumerate(names):
        counts = sorted({*options.scale, options.workers}) if n == 0 else [options.workers]
        plan += [(name, workers) for workers in counts]
    return plan


def _timed_run(
    base: Settings,
    redis_url: str,
    redis_pid: int | None,
    sink: Sink | None,
    options: BenchOptions,
    workers_count: int,
    work_dir: Path,
    prefix: str,
) -> dict[str, Any]:
    """One timed run of `options.orders` new orders through `workers_count` workers, under the
    key prefix `prefix`, then the raw send of the same messages to the same server."""
    tag = uuid.uuid4().hex[:8]
    with ExitStack() as run_stack:
        if sink is not None:
            smtp_host, smtp_port, smtp_name = sink.host, sink.port, sink.name
            sink.clear()
        else:
            assert options.smtp is not None
            (smtp_host, smtp_port), smtp_name = options.smtp, ":".join(map(str, options.smtp))
        settings = base.model_copy(
            update={
                "redis_url": redis_url,
                "smtp_host": smtp_host,
                "smtp_port": smtp_port,
                "smtp_tls": "none" if sink is not None else base.smtp_tls,
                "redis_prefix": prefix,
                # Built messages are stored sealed: a key for the run unless one is configured.
                **({} if base.sealing_key or base.sealing_key_file else {"sealing_key": SecretStr(new_sealing_key())}),
            }
        )
        processes: dict[str, int] = {"bench (ingest)": os.getpid()}
        if redis_pid:
            processes["redis"] = redis_pid
        if sink is not None:
            processes[sink.name] = sink.pid
        pipeline = make_pipeline(settings)
        workers = start_workers(run_stack, settings, workers_count, work_dir)
        orders = generate_orders(options.orders, run_tag=tag, now=datetime.now(UTC))

        # Accounts and orders first, untimed: a window whose account is missing waits for it.
        ingestor = run_stack.enter_context(Ingestor(pipeline))
        _ingest(ingestor, [e for o in orders for e in o.setup])
        wait_for(lambda: is_idle(pipeline), SETUP_TIMEOUT_S, "accounts and orders to be applied")
        # A long-running worker compiles its templates in the background once it takes work
        # (9 kinds x 37 locales, ~8 s of CPU): once in a process's life, not a cost per email.
        wait_until_quiet([w.pid for w in workers], SETUP_TIMEOUT_S)

        ingested_at: dict[str, float] = {}
        calls_before = redis_command_calls(redis_url)
        processes.update({f"worker {n}": w.pid for n, w in enumerate(workers)})
        cpu_before = {name: cpu_s(pid) for name, pid in processes.items()}
        started = time.time()
        for order in orders:
            _ingest(ingestor, order.activations)
            ingested_at[order.order_id] = time.time()
        ingest_s = time.time() - started
        if sink is not None:
            wait_for(lambda: sink.count() >= options.orders, DELIVERY_TIMEOUT_S, "every email to reach the sink")
        wait_for(lambda: is_idle(pipeline), DELIVERY_TIMEOUT_S, "the pipeline to finish")
        rss = [peak_rss_mb(w.pid) for w in workers]
        # CPU per email of each process over the timed phase: where the machine's time went.
        cpu_ms = {
            name: round((after - before) * 1000 / options.orders, 2)
            for name, pid in processes.items()
            if (before := cpu_before[name]) is not None and (after := cpu_s(pid)) is not None
        }
        calls = redis_command_calls(redis_url) - calls_before
        arrivals = sink.arrivals() if sink is not None else None

        expected = asyncio.run(_deliveries(settings, {o.order_id for o in orders}))
        checked = verify(expected, options.orders, arrivals)
        if arrivals is not None:
            accepted_at = {mid: at for at, mid, _ in arrivals}
        else:
            accepted_at = {mid: d["accepted_at"] for mid, d in expected.items()}
        latencies = [accepted_at[mid] - ingested_at[d["order_id"]] for mid, d in expected.items()]
        elapsed_s = max(accepted_at.values()) - started
        throughput = options.orders / elapsed_s
        # Once emails flow: from the first acceptance to the last. The end-to-end figure above
        # also holds the wait before the first invoice (EVENT_GATHER_S, then a scheduler look).
        flow_s = max(accepted_at.values()) - min(accepted_at.values())
        flowing = (options.orders - 1) / flow_s if flow_s > 0 else float("nan")
        for process in workers:
            stop_process(process)

        deliveries = list(expected.values())
        if sink is not None:
            sink.clear()
        raw_cpu_before = cpu_s(sink.pid) if sink is not None else None
        raw = measure_raw_send(smtp_config(settings), _raw_envelopes(settings, deliveries), workers_count)
        raw_sink_cpu = cpu_s(sink.pid) if sink is not None else None
        if sink is not None and sink.count() != raw.messages:
            raise BenchFailed(f"raw send: {sink.count()} of {raw.messages} messages arrived")
    return {
        "smtp": smtp_name,
        "workers": workers_count,
        "redis_prefix": settings.redis_prefix,
        "verification": checked,
        "pipeline": {
            "emails": options.orders,
            "elapsed_s": elapsed_s,
            "emails_per_s": throughput,
            "flowing_emails_per_s": flowing,
            "ingest_s": ingest_s,
            "latency_p50_s": percentile(latencies, 0.5),
            "latency_p99_s": percentile(latencies, 0.99),
        },
        "raw_send": {
            **asdict(raw),
            "emails_per_s": raw.emails_per_s,
            "sink_cpu_ms_per_email": (
                round((raw_sink_cpu - raw_cpu_before) * 1000 / raw.messages, 2)
                if raw_sink_cpu is not None and raw_cpu_before is not None and raw.messages
                else None
            ),
        },
        "pipeline_to_raw_ratio": throughput / raw.emails_per_s if raw.emails_per_s else None,
        "worker_peak_rss_mb": rss,
        "cpu_ms_per_email": cpu_ms,
        # Every client of the server counts (the bench's own ingest included): exact on the
        # embedded Redis, an upper bound on a shared one.
        "redis": {
            "commands_per_email": sum(calls.values()) / options.orders,
            "top_commands_per_email": {k: v / options.orders for k, v in calls.most_common(8)},
        },
        "_settings": settings,
        "_deliveries": deliveries,
    }


def _drop_prefix(settings: Settings) -> None:
    """Remove the run's keys from an external Redis."""
    client = redis.Redis.from_url(settings.redis_url or "")
    try:
        for key in client.scan_iter(match=f"{settings.redis_prefix}:*", count=5000):
            client.unlink(key)
    finally:
        client.close()

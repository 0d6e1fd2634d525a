"""The benchmark's report as a person reads it."""

from __future__ import annotations

from typing import Any


def format_report(report: dict[str, Any]) -> str:
    p, raw, r = report["pipeline"], report["raw_send"], report["rendering"]
    m = report["machine"]
    rows = [
        ("machine", f"{m['nproc']} x {m['cpu_model']}, Python {m['python']}"),
        (
            "Redis",
            f"{report['redis_server']['version']}, hash-max-listpack-value "
            f"{report['redis_server']['hash_max_listpack_value']}",
        ),
        (
            "load",
            f"{report['options']['orders']} invoice emails, {report['options']['workers']} worker(s), "
            f"{report['options']['smtp']}",
        ),
        ("smtp-sink", report["smtp_sink"]),
        ("exactly once", f"{report['verification']['invoices']} invoices, all accepted, none missing or duplicated"),
        ("pipeline throughput", f"{p['emails_per_s']:.1f} emails/s ({p['elapsed_s']:.1f} s)"),
        ("  once flowing", f"{p['flowing_emails_per_s']:.1f} emails/s (first to last acceptance)"),
        ("raw send limit", f"{raw['emails_per_s']:.1f} emails/s ({raw['elapsed_s']:.1f} s)"),
        ("pipeline / raw", f"{report['pipeline_to_raw_ratio']:.0%}"),
        ("latency p50 / p99", f"{p['latency_p50_s']:.2f} s / {p['latency_p99_s']:.2f} s"),
        (
            "render + MIME median",
            f"{r['median_ms']:.2f} ms (mean {r['mean_ms']:.2f}, p99 {r['p99_ms']:.2f} ms; "
            f"CPU {r['cpu_median_ms']:.2f} ms)",
        ),
        (
            "documents build median",
            f"{report['documents']['median_ms']:.2f} ms (mean {report['documents']['mean_ms']:.2f}, "
            f"p99 {report['documents']['p99_ms']:.2f} ms; by e-invoice "
            + ", ".join(f"{k} {v:.2f}" for k, v in report["documents"]["by_einvoice_median_ms"].items())
            + f"; attachments {report['documents']['attachment_kb_median']:.0f} KB)",
        ),
        ("Redis commands / email", f"{report['redis']['commands_per_email']:.0f} (inside Lua scripts too)"),
        ("CPU ms / email", ", ".join(f"{k} {v:.1f}" for k, v in report["cpu_ms_per_email"].items())),
        ("worker peak RSS", ", ".join(f"{v:.0f} MB" if v else "?" for v in report["worker_peak_rss_mb"])),
    ]
    for run in report["runs"]:
        rp, rr = run["pipeline"], run["raw_send"]
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in run["cpu_ms_per_email"].items())
        rows.append(
            (
                f"run: {run['smtp']}, {run['workers']} worker(s)",
                f"{rp['emails_per_s']:.1f} emails/s vs raw {rr['emails_per_s']:.1f} "
                f"({run['pipeline_to_raw_ratio']:.0%}); CPU ms/email {cpu}; "
                f"sink CPU in the raw send {rr['sink_cpu_ms_per_email']} ms/email",
            )
        )
    kept = report.get("redis_bytes_per_invoice")
    if kept:
        rows.append(
            (
                "Redis per delivered invoice",
                f"{kept['delivered'] / 1024:.1f} KB as delivered; {kept['after_retention'] / 1024:.2f} KB after "
                f"retention, {kept['after_retention']:,.0f} B ({kept['dropped']} of {kept['invoices']} dropped, "
                f"{kept['retention_days']:g} days; key prefix {kept.get('key_prefix', '?')!r})",
            )
        )
        left = list(kept.get("after_retention_by_key", {}).items())[:8]
        if left:
            rows.append(("  left by key (B/invoice)", ", ".join(f"{kind} {used:.0f}" for kind, used in left)))
    share = report["documents"].get("share_of_worker_cpu")
    if share is not None:
        rows.append(("documents / worker CPU", f"{share:.0%} of the workers' CPU per email"))
    for w in report["windows"]:
        rows.append(
            (
                f"Redis per window @{w['windows']:,}",
                f"{w['bytes_per_window']:.0f} B; due lookup {w['due_lookup_median_us']:.0f} us",
            )
        )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

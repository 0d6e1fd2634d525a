"""The Grafana dashboard and the Prometheus alerts in ops/ ask only for metrics and labels the
worker exposes: renaming a metric without them breaks this test, not a dashboard in production."""

from __future__ import annotations

import json
import re

from prometheus_client import CollectorRegistry

from tests.support.paths import ROOT
from worker.domain.delivery import Outcome, SmtpStage
from worker.runtime.dramatiq_metrics import DramatiqMetrics
from worker.services.metrics import Metrics

DASHBOARD = ROOT / "ops" / "grafana-dashboard.json"
ALERTS = ROOT / "ops" / "prometheus-alerts.yml"
#: Labels Prometheus adds (job, instance), histogram buckets (le); `up` is Prometheus's own.
ADDED_LABELS = {"job", "instance", "le"}
_METRIC = re.compile(r"\b((?:invoice_worker|dramatiq)_[a-z_]+)")
_BY = re.compile(r"\bby \(([^)]*)\)")
_MATCHER = re.compile(r"([a-z_]+)\s*=~?\s*\"")
_VALUES = re.compile(r"([a-z_]+)\s*=~?\s*\"([^\"]*)\"")
#: The values a label can take, where the worker names them in one place.
LABEL_VALUES = {
    "stage": {str(s) for s in SmtpStage} | {"none"},
    "reply_class": {"2xx", "4xx", "5xx", "none"},
    "state": {str(o) for o in Outcome},
    "result": {"applied", "parked", "dead_lettered"},
}


def exposed() -> dict[str, set[str]]:
    """Every sample name the worker can expose -> its label names."""
    registry = CollectorRegistry()
    metrics = Metrics()
    DramatiqMetrics(registry)
    names: dict[str, set[str]] = {}
    for reg in (metrics.registry, registry):
        for collector in list(reg._collector_to_names):  # the metrics, labelled or not
            labels = set(getattr(collector, "_labelnames", ()))
            for name in reg._collector_to_names[collector]:
                names[name] = labels
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    text = ALERTS.read_text(encoding="utf-8")
    # `expr: ...` on one line, or `expr: |` followed by indented lines
    found = re.findall(r"expr: \|\n((?:\s{10,}.*\n)+)|expr: (.+)", text)
    return [block or line for block, line in found]


def check(expression: str, names: dict[str, set[str]]) -> list[str]:
    problems = []
    used = _METRIC.findall(expression)
    for metric in used:
        if metric not in names:
            problems.append(f"{metric} is not exposed")
    allowed = set().union(*(names.get(m, set()) for m in used)) | ADDED_LABELS
    for group in _BY.findall(expression):
        problems += [f"label {label} of {used}" for label in map(str.strip, group.split(",")) if label not in allowed]
    problems += [f"label {label} of {used}" for label in _MATCHER.findall(expression) if label not in allowed]
    for label, pattern in _VALUES.findall(expression):
        known = LABEL_VALUES.get(label)
        if known is not None:
            problems += [f"{label}={value!r} is never exposed" for value in pattern.split("|") if value not in known]
    return problems


def test_the_dashboard_shows_what_operators_watch_with_metrics_that_exist() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in (
        "Recipients by outcome",
        "Deferred backlog and due items",
        "Oldest due age",
        "SMTP replies by stage and class",
        "Render time (templates + MIME)",
    ):
        assert wanted in titles
    names = exposed()
    problems = [f"{expr}: {p}" for expr in dashboard_expressions() for p in check(expr, names)]
    assert not problems


def test_every_alert_asks_for_metrics_and_labels_that_exist() -> None:
    expressions = alert_expressions()
    assert len(expressions) >= 8
    names = exposed()
    problems = [f"{expr}: {p}" for expr in expressions for p in check(expr, names)]
    assert not problems


def test_a_misspelt_metric_is_caught() -> None:
    assert check("rate(invoice_worker_recipient_outcome_total[5m])", exposed())
    assert check('sum by (address) (invoice_worker_recipient_outcomes_total{kind="invoice"})', exposed())


def test_a_label_value_the_worker_never_exposes_is_caught() -> None:
    # "ehlo" and "starttls" are not stages: the worker says "helo" and "tls"
    problems = check('rate(invoice_worker_smtp_replies_total{stage=~"connect|ehlo|starttls"}[5m])', exposed())
    assert problems == ["stage='ehlo' is never exposed", "stage='starttls' is never exposed"]
    assert not check('rate(invoice_worker_smtp_replies_total{stage=~"connect|helo|tls"}[5m])', exposed())

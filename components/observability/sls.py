"""What the on-call engineer opens first: an SLS dashboard of the stack's route, and alerts that
know the autoscaler's limits, both on the ingress access log the HPA's metric is computed from.

Every query is filtered to the stack's route, `proxy_upstream_name: <namespace>-<service>-<port>`,
the search the metrics adapter itself runs for `sls_ingress_qps`
(AliyunContainerService/alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go at 93cf5f14,
L31-65: `* and proxy_upstream_name: <route> | SELECT ...`). Canary requests carry the same name
(ingress-nginx logs the canary's upstream only in `proxy_alternative_upstream_name`), so the
route's figures are the whole service's. The fields are the keys of ACK's ingress log collection
(loadtest/tracks.py cites them: `client_ip`, `status`, `request_time`, `upstream_response_time`,
...); every value is cast (`try_cast`), since the logstore's index types are ACK's, not ours.
An SLS query is `search | SQL` with no FROM needed (SLS SQL syntax,
https://www.alibabacloud.com/help/doc-detail/53608.html).

Alerts are SLS Alert 2.0 (`version: "2.0"`, `type: "default"`): each query runs every minute over a
relative window, its condition names the SQL's output columns (SLS evaluate expressions: letters
and digits only, https://www.alibabacloud.com/help/en/sls/syntax-of-evaluate-expressions), and it
notifies through the default alert policy `sls.builtin.dynamic`, which hands the alert to the
rule's own action policy (help.aliyun.com/en/sls/dynamic-action-policy-mechanism).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud

from settings import Alerts, HpaBounds, QpsMetric

# One point a minute, for a day.
_SERIES = "time_series(__time__, '1m', '%H:%i', '0') as t"
_ORDER = "group by t order by t limit 1440"
ALERT_POLICY = "sls.builtin.dynamic"
"""The default alert policy: no merging of its own, the rule's action policy notifies. Alibaba's
own alert rules pair it with the action policy `sls.builtin`, the `alerts.actionPolicyId` default
(aliyun-sls/sls-doc src/en/alert/k8s_audit/sls_app_k8s_audit_at_drain_eviction.md at ae863c95)."""
# Severities are 2, 4, 6, 8, 10 (Report to Critical: terraform-provider-alicloud
# alicloud/resource_alicloud_log_alert.go at ace5bcf87 L239, severity's IntInSlice).
SEVERITY_HIGH, SEVERITY_MEDIUM = 8, 6


@dataclass(frozen=True, kw_only=True)
class ObservabilityArgs:
    metric: QpsMetric
    """The route the HPA scales on, and the project and logstore of its logs."""
    bounds: HpaBounds
    """The service's HPA as configured: the route answers at most about max_replicas x target_qps
    before it is at capacity."""
    region: str
    """The project's region."""
    host: str
    """The endpoint's host (`ingress.host`): what a refused request keeps when the cluster logs it
    under the route `-` (`autoscaling.refusedRequests: excluded`)."""
    name: str
    """Prefix of the dashboard's and alerts' names, unique per stack in the project."""
    alerts: Optional[Alerts] = None
    """None: the dashboard alone."""


@dataclass(frozen=True)
class Query:
    """One SLS query: the search part (the route) and the SQL part."""

    search: str
    sql: str

    @property
    def text(self) -> str:
        return f"{self.search} | {self.sql}"


def _search(route: str) -> str:
    return f"* and proxy_upstream_name: {route}"


# A request no pod answered has no upstream address (nginx writes `-` for it): the allow-list's 403
# and the rate limit's 503, refused before any upstream is tried, and the 503 of a route with no
# ready pod (loadtest/ingress_standin.py transcribes when each happens).
UNSERVED = "upstream_addr = '-'"


def ceiling(a: ObservabilityArgs) -> float:
    """Requests per second the HPA can serve at most: every pod at its target."""
    return a.bounds.max_replicas * a.bounds.target_qps


def dashboard_queries(a: ObservabilityArgs) -> dict[str, Query]:
    """The dashboard's charts' queries by title."""
    s = _search(a.metric.route)
    status = "try_cast(status as bigint)"
    request_time = "try_cast(request_time as double)"
    return {
        "Requests per second": Query(s, (
            f"select {_SERIES}, count(1) / 60.0 as rps, count_if({UNSERVED}) / 60.0 as unserved_rps, "
            f"{a.bounds.target_qps:g} as per_pod_target, {ceiling(a):g} as ceiling {_ORDER}")),
        # By host: with the cluster's access-log map, refused requests leave the route (logged `-`).
        "Refused at the edge": Query(f"* and host: {a.host}", (
            f"select {_SERIES}, count_if({status} = 403 and {UNSERVED}) as denied_403, "
            f"count_if({status} = 503 and {UNSERVED}) as limited_or_no_pod_503 {_ORDER}")),
        "Request time (ms)": Query(s, (
            f"select {_SERIES}, approx_percentile({request_time}, 0.5) * 1000 as p50, "
            f"approx_percentile({request_time}, 0.95) * 1000 as p95, "
            f"approx_percentile({request_time}, 0.99) * 1000 as p99, "
            "approx_percentile(try_cast(upstream_response_time as double), 0.99) * 1000 as upstream_p99 "
            f"{_ORDER}")),
        "Status codes per minute": Query(s, (
            f"select {_SERIES}, count_if({status} between 200 and 299) as s2xx, "
            f"count_if({status} between 400 and 499) as s4xx, count_if({status} >= 500) as s5xx, "
            f"count_if({status} = 403) as denied_403, count_if({status} = 503) as unavailable_503 {_ORDER}")),
        "Answered by track": Query(s, (
            f"select {_SERIES}, count_if(coalesce(proxy_alternative_upstream_name, '') = '') as main, "
            f"count_if(coalesce(proxy_alternative_upstream_name, '') <> '') as canary {_ORDER}")),
        "Busiest clients": Query(s, (
            f"select client_ip, count(1) as requests, count_if({status} = 403) as denied_403, "
            f"count_if({status} = 503) as limited_503 group by client_ip order by requests desc limit 10")),
    }


# Line charts for the series, a table for the clients.
_CHART_TYPES = {"Busiest clients": "table"}


def dashboard_charts(a: ObservabilityArgs) -> list[dict]:
    """`char_list`: the charts, two to a row, in exactly the shape the provider's own acceptance test
    round-trips (title, type, search {logstore, topic, query, start, end}, display {xAxis, yAxis,
    xPos, yPos, width, height, displayName}: resource_alicloud_log_dashboard_test.go at ace5bcf87
    L40, whose expected state L47 is the same keys re-serialised, and whose framework checks that
    the next plan is empty). The provider's Read re-serialises the server's charts and drops only
    `"action": null` (resource_alicloud_log_dashboard.go L145-156), and its diff compares the
    canonical JSON (chartListDiffSuppress L246-265): so key order and number spelling never show as
    a change, and no `action` is sent that the server could echo differently."""
    charts = []
    for i, (title, query) in enumerate(dashboard_queries(a).items()):
        columns = sql_columns(query.sql)
        x, y = columns[:1], columns[1:]
        charts.append({
            "title": title, "type": _CHART_TYPES.get(title, "line"),
            "search": {"logstore": a.metric.sls_logstore, "topic": "", "query": query.text, "start": "-86400s",
                       "end": "now"},
            "display": {"xAxis": x, "yAxis": y, "xPos": (i % 2) * 12, "yPos": (i // 2) * 10, "width": 12,
                        "height": 10, "displayName": title}})
    return charts


def sql_columns(sql: str) -> list[str]:
    """The output columns of a `select ... as name, ...` (the names the charts and conditions use)."""
    head = sql.split(" from ", 1)[0].split(" group by ", 1)[0]
    names = []
    for part in _top_level(head.removeprefix("select ")):
        part = part.strip()
        names.append(part.rsplit(" as ", 1)[1] if " as " in part else part)
    return names


def _top_level(text: str) -> list[str]:
    """`text` split at the commas outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, c in enumerate(text):
        if c == "'":
            quoted = not quoted
        elif not quoted and c in "()":
            depth += 1 if c == "(" else -1
        elif not quoted and depth == 0 and c == ",":
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


@dataclass(frozen=True)
class AlertSpec:
    """One alert: its query over a window, the condition on its columns, how severe."""

    key: str
    title: str
    query: Query
    window_minutes: int
    condition: str
    severity: int
    description: str


def alert_specs(a: ObservabilityArgs, t: Alerts) -> list[AlertSpec]:
    """The error, latency and at-capacity alerts, each threshold from the stack's own config."""
    s = _search(a.metric.route)
    at = ceiling(a)
    window = t.at_capacity_minutes * 60
    capacity = Query(s, f"select count(1) / {window}.0 as rps, count_if({UNSERVED}) / {window}.0 as unserved")
    return [
        AlertSpec("errors", "5xx share above the threshold", Query(s, (
            "select count_if(try_cast(status as bigint) >= 500) * 100.0 / greatest(count(1), 1) as errors, "
            "count(1) as total")), t.window_minutes, f"errors > {t.error_rate_percent:g} && total >= {t.min_requests}",
            SEVERITY_HIGH, f"More than {t.error_rate_percent:g}% of the requests failed (5xx) over "
                           f"{t.window_minutes} min: docs/alerts.md, \"Errors\"."),
        AlertSpec("latency", "p99 request time above the threshold", Query(s, (
            "select approx_percentile(try_cast(request_time as double), 0.99) * 1000 as p99, count(1) as total")),
            t.window_minutes, f"p99 > {t.latency_p99_ms} && total >= {t.min_requests}", SEVERITY_MEDIUM,
            f"The 99th percentile request time exceeded {t.latency_p99_ms} ms over {t.window_minutes} min: "
            "docs/alerts.md, \"Latency\"."),
        AlertSpec("at-capacity", "at the autoscaler's ceiling", capacity, t.at_capacity_minutes,
                  f"rps >= {at:g} && unserved * 2 < rps", SEVERITY_HIGH,
                  f"The route took at least {at:g} requests/s (maxReplicas {a.bounds.max_replicas} x targetQps "
                  f"{a.bounds.target_qps:g}) for {t.at_capacity_minutes} min, mostly served: the HPA can add no pod. "
                  "docs/alerts.md, \"At capacity\"."),
        AlertSpec("at-capacity-unserved", "held at the ceiling by requests no pod served", capacity,
                  t.at_capacity_minutes, f"rps >= {at:g} && unserved * 2 >= rps", SEVERITY_MEDIUM,
                  f"The HPA counts at least {at:g} requests/s on the route for {t.at_capacity_minutes} min, and "
                  "most of them no pod served: requests the Ingress refused (allow-list, rate limit), which "
                  "scale the fleet while autoscaling.refusedRequests is counted. docs/alerts.md, "
                  "\"At capacity, unserved\"."),
    ]


def dashboard_url(project: str, dashboard: str) -> str:
    """The console page of a dashboard, by its name, not regional (SLS's own
    `alert_history_dashboard_url` template variable has this shape: AlibabaCloudDocs/sls at
    070060e8, "intl.en-US/Alerting/Alerting (New)/Notification management/Manage notification
    methods/Template variables.md" L67)."""
    return f"https://sls.console.aliyun.com/lognext/project/{project}/dashboard/{dashboard}"


class Observability(pulumi.ComponentResource):
    """The route's dashboard and, with `alerts`, its alerts. Outputs: `dashboard_url`."""

    dashboard_url: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        dashboard = alicloud.log.Dashboard(
            f"{name}-dashboard", project_name=args.metric.sls_project, dashboard_name=args.name,
            display_name=f"{args.name}: {args.metric.route}", char_list=json.dumps(dashboard_charts(args)),
            attribute=json.dumps({"type": "grid"}), opts=child)
        if args.alerts is not None:
            for spec in alert_specs(args, args.alerts):
                self._alert(name, args, args.alerts, spec, child)
        self.dashboard_url = dashboard.dashboard_name.apply(lambda d: dashboard_url(args.metric.sls_project, d))
        self.register_outputs({"dashboard_url": self.dashboard_url})

    @staticmethod
    def _alert(name: str, a: ObservabilityArgs, t: Alerts, spec: AlertSpec,
               opts: pulumi.ResourceOptions) -> alicloud.log.Alert:
        return alicloud.log.Alert(
            f"{name}-alert-{spec.key}", project_name=a.metric.sls_project, alert_name=f"{a.name}-{spec.key}",
            alert_displayname=f"{a.name}: {spec.title}", alert_description=spec.description,
            version="2.0", type="default",
            schedule=alicloud.log.AlertScheduleArgs(type="FixedRate", interval="1m"),
            query_lists=[alicloud.log.AlertQueryListArgs(
                store_type="log", region=a.region, project=a.metric.sls_project, store=a.metric.sls_logstore,
                time_span_type="Relative", start=f"-{spec.window_minutes}m", end="now",
                power_sql_mode="auto", query=spec.query.text, chart_title=spec.title)],
            group_configuration=alicloud.log.AlertGroupConfigurationArgs(type="no_group"),
            severity_configurations=[alicloud.log.AlertSeverityConfigurationArgs(
                severity=spec.severity, eval_condition={"condition": spec.condition, "count_condition": ""})],
            policy_configuration=alicloud.log.AlertPolicyConfigurationArgs(
                alert_policy_id=ALERT_POLICY, action_policy_id=t.action_policy_id, repeat_interval="15m"),
            labels=[alicloud.log.AlertLabelArgs(key="route", value=a.metric.route)],
            send_resolved=True, no_data_fire=False, threshold=1, opts=opts)

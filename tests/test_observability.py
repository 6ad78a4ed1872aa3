"""The SLS dashboard and alerts (components/observability/sls.py): their queries checked offline as far
as they can be (the search on the HPA's own route, the SQL parsed by sqlglot in the Presto dialect
SLS's SQL follows, every field one ACK's ingress log collection writes, every condition naming the
SQL's columns), thresholds that follow the config, a notification policy on every alert, the
config refused by name, and the policy that an always-on stack has alerts.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
import sqlglot
from harness import NS, run_expecting_error, run_program
from pulumi_policy import PolicyResource
from sqlglot import exp

from components.observability import sls as o
from loadtest.tracks import ACK_KEYS
from policy import policies as p
from settings import Alerts, HpaBounds, QpsMetric

DASHBOARD, ALERT = "alicloud:log/dashboard:Dashboard", "alicloud:log/alert:Alert"
ROUTE = "inference-bert-tfserving-8501"
FIELDS = set(ACK_KEYS) | {"__time__"}


def args(**overrides) -> o.ObservabilityArgs:
    values = dict(metric=QpsMetric(sls_project="k8s-log-c0", sls_logstore="nginx-ingress", route=ROUTE),
                  bounds=HpaBounds(min_replicas=1, max_replicas=10, target_qps=10.0),
                  region="cn-beijing", host="bert.example.com", name="ei-prod-bert-tfserving",
                  alerts=Alerts(error_rate_percent=1, latency_p99_ms=1000, window_minutes=5,
                                           at_capacity_minutes=5, min_requests=20, action_policy_id="sls.builtin"))
    return o.ObservabilityArgs(**{**values, **overrides})


def queries(a: o.ObservabilityArgs) -> dict[str, o.Query]:
    assert a.alerts is not None
    return {**o.dashboard_queries(a), **{s.key: s.query for s in o.alert_specs(a, a.alerts)}}


def parsed(sql: str) -> exp.Select:
    tree = sqlglot.parse_one(sql, read="presto")
    assert isinstance(tree, exp.Select), sql
    return tree


@pytest.mark.parametrize("title", list(queries(args())))
def test_every_query_searches_the_route_and_reads_only_acks_fields(title):
    query = queries(args())[title]
    # The metrics adapter's own search (ingress.go L31-65): the HPA and the alert see one route; the
    # refused requests by host (the cluster's map moves them off the route: docs/deploying.md).
    assert query.search == ("* and host: bert.example.com" if title == "Refused at the edge"
                            else f"* and proxy_upstream_name: {ROUTE}")
    assert query.text == f"{query.search} | {query.sql}"
    tree = parsed(query.sql)
    outputs = {e.alias_or_name for e in tree.expressions}
    columns = {c.name for c in tree.find_all(exp.Column)} - outputs
    assert columns <= FIELDS, columns - FIELDS
    assert columns
    assert tree.find(exp.Table) is None  # SLS needs no FROM: the logstore is the table


@pytest.mark.parametrize("spec", o.alert_specs(args(), args().alerts), ids=lambda s: s.key)  # type: ignore[arg-type]
def test_every_condition_names_columns_its_query_returns(spec):
    """SLS evaluate expressions: variables of letters and digits, at most 128 characters."""
    outputs = [e.alias_or_name for e in parsed(spec.query.sql).expressions]
    variables = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", spec.condition))
    assert variables and variables <= set(outputs), (variables, outputs)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", v) for v in variables)
    assert len(spec.condition) <= 128


def test_the_series_are_lines_and_the_clients_a_table():
    types = {c["title"]: c["type"] for c in o.dashboard_charts(args())}
    assert types.pop("Busiest clients") == "table"
    assert set(types.values()) == {"line"} and len(types) == 5


def test_the_charts_axes_are_their_querys_columns():
    for chart in o.dashboard_charts(args()):
        query = chart["search"]["query"].split(" | ", 1)[1]
        outputs = [e.alias_or_name for e in parsed(query).expressions]
        assert chart["display"]["xAxis"] + chart["display"]["yAxis"] == outputs, chart["title"]
        assert chart["search"]["logstore"] == "nginx-ingress"


# The chart of the provider's acceptance test whose state, re-serialised by Read, it expects back
# with an empty next plan (aliyun/terraform-provider-alicloud resource_alicloud_log_dashboard_test.go
# at ace5bcf87 L40 and L47): the shape that survives a refresh without a diff.
PROVIDERS_ROUND_TRIP = json.loads(
    '[{"title":"new_title","type":"map","search":{"logstore":"new_logstore","topic":"new_topic","query":"*",'
    '"start":"-86400s","end":"now"},"display":{"xAxis":["province"],"yAxis":["aini"],"xPos":0,"yPos":0,'
    '"width":10,"height":12,"displayName":"xixihaha911"}}]')[0]


def shape(value):
    return {k: shape(v) for k, v in value.items()} if isinstance(value, dict) else type(value).__name__


def test_every_chart_has_the_shape_the_provider_reads_back_unchanged():
    """No key the provider's round trip does not show: a key the server drops or rewrites (an
    `action`, say) would be a change in every preview after a refresh."""
    for chart in o.dashboard_charts(args()):
        assert shape(chart) == shape(PROVIDERS_ROUND_TRIP), chart["title"]


def test_the_at_capacity_alert_is_the_autoscalers_ceiling():
    specs = {s.key: s for s in o.alert_specs(args(), args().alerts)}  # type: ignore[arg-type]
    spec = specs["at-capacity"]
    assert spec.condition == "rps >= 100 && unserved * 2 < rps"
    bigger = args(bounds=HpaBounds(min_replicas=1, max_replicas=12, target_qps=7.5))
    higher = {s.key: s for s in o.alert_specs(bigger, args().alerts)}  # type: ignore[arg-type]
    assert higher["at-capacity"].condition == "rps >= 90 && unserved * 2 < rps"
    # rps is the window's average: its count over the window's seconds.
    assert "count(1) / 300.0 as rps" in spec.query.sql and spec.window_minutes == 5
    # At the ceiling, one of the two fires: mostly served, or held there by requests no pod served.
    unserved = specs["at-capacity-unserved"]
    assert unserved.condition == "rps >= 100 && unserved * 2 >= rps" and unserved.query == spec.query
    assert "count_if(upstream_addr = '-') / 300.0 as unserved" in spec.query.sql


@pytest.mark.parametrize("rps, unserved, fires", [(120, 10, "at-capacity"), (120, 100, "at-capacity-unserved"),
                                                  (80, 80, None)])
def test_a_fleet_held_at_its_ceiling_by_refused_traffic_says_so(rps, unserved, fires):
    """The two conditions, evaluated as SLS evaluates them (comparisons and arithmetic on the
    query's columns), on a window's figures."""
    found = [s.key for s in o.alert_specs(args(), args().alerts)  # type: ignore[arg-type]
             if s.key.startswith("at-capacity")
             and eval(s.condition.replace("&&", "and"), {}, {"rps": rps, "unserved": unserved})]  # noqa: S307
    assert found == ([fires] if fires else [])


def stack_alerts(cfg: dict, stack: str = "prod") -> dict:
    result = run_program(cfg, stack)
    return {r.inputs["alertName"].removeprefix(f"ei-{stack}-bert-tfserving-"): r.inputs for r in result.of_type(ALERT)}


def test_prod_alerts_follow_its_config_and_notify(prod_config):
    alerts = stack_alerts(prod_config)
    assert set(alerts) == {"errors", "latency", "at-capacity", "at-capacity-unserved"}
    conditions = {k: a["severityConfigurations"][0]["evalCondition"]["condition"] for k, a in alerts.items()}
    assert conditions == {"errors": "errors > 1 && total >= 20", "latency": "p99 > 1000 && total >= 20",
                          "at-capacity": "rps >= 100 && unserved * 2 < rps",
                          "at-capacity-unserved": "rps >= 100 && unserved * 2 >= rps"}
    for alert in alerts.values():
        assert (alert["version"], alert["type"]) == ("2.0", "default")
        assert alert["policyConfiguration"]["alertPolicyId"] == "sls.builtin.dynamic"
        assert alert["policyConfiguration"]["actionPolicyId"] == "sls.builtin"
        (query,) = alert["queryLists"]
        assert (query["project"], query["store"], query["end"]) == (
            prod_config[NS + "autoscaling"].get("slsProject", query["project"]), "nginx-ingress", "now")
        assert query["timeSpanType"] == "Relative" and query["start"] == "-5m"
    # One update: a new ceiling and thresholds change the alerts in place (same names).
    cfg = copy.deepcopy(prod_config)
    cfg[NS + "autoscaling"] = {**cfg[NS + "autoscaling"], "maxReplicas": 8, "targetQps": 12}
    cfg[NS + "alerts"] = {**cfg[NS + "alerts"], "errorRatePercent": 2.5, "actionPolicyId": "sre-oncall",
                          "atCapacityMinutes": 10}
    changed = stack_alerts(cfg)
    assert changed["at-capacity"]["severityConfigurations"][0]["evalCondition"]["condition"] == (
        "rps >= 96 && unserved * 2 < rps")
    assert changed["at-capacity"]["queryLists"][0]["start"] == "-10m"
    assert changed["errors"]["severityConfigurations"][0]["evalCondition"]["condition"].startswith("errors > 2.5 ")
    assert {a["policyConfiguration"]["actionPolicyId"] for a in changed.values()} == {"sre-oncall"}
    assert {a["alertName"] for a in changed.values()} == {a["alertName"] for a in alerts.values()}


def test_every_stack_has_a_dashboard_of_its_route_and_its_url(rendered):
    result = rendered[("dev", False)]
    dashboard = result.one(DASHBOARD).inputs
    assert result.of_type(ALERT) == []  # dev has no alerts section
    charts = json.loads(dashboard["charList"])
    assert [c["title"] for c in charts] == list(o.dashboard_queries(args()))
    hpa = result.kind("HorizontalPodAutoscaler")
    route = hpa["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]["sls.ingress.route"]
    assert all(f"proxy_upstream_name: {route} |" in c["search"]["query"] for c in charts
               if c["title"] != "Refused at the edge")
    assert result.exports["dashboardUrl"] == (
        f"https://sls.console.aliyun.com/lognext/project/{dashboard['projectName']}/dashboard/"
        f"{dashboard['dashboardName']}")
    assert dashboard["dashboardName"] == "ei-dev-bert-tfserving"


@pytest.mark.parametrize("section,key,words", [
    ({"errorRatePercent": 101}, "alerts.errorRatePercent", "less than or equal to 100"),
    ({"errorRatePercent": 0}, "alerts.errorRatePercent", "greater than 0"),
    ({"latencyP99Ms": -5}, "alerts.latencyP99Ms", "greater than 0"),
    ({"windowMinutes": 0}, "alerts.windowMinutes", "greater than or equal to 1"),
    ({"actionPolicyId": "on call!"}, "alerts.actionPolicyId", "an SLS action policy id"),
    ({"latencyP99ms": 500}, "alerts.latencyP99ms", "did you mean 'latencyP99Ms'?"),
], ids=["above-100", "zero", "negative-latency", "no-window", "policy-id", "typo"])
def test_alert_settings_are_refused_by_name(prod_config, section, key, words):
    cfg = copy.deepcopy(prod_config)
    cfg[NS + "alerts"] = section
    error, result = run_expecting_error(cfg, "prod")
    assert f"  - {key}: " in str(error) and words in str(error), str(error)
    assert result.resources == []


def policy_resource(type_: str, stack: str) -> PolicyResource:
    return PolicyResource(type_, {}, f"urn:pulumi:{stack}::elastic-inference::{type_}::r", "r",
                          None, None, None, [], {})


@pytest.mark.parametrize("stack,types,violations", [
    ("prod", [DASHBOARD], 1), ("prod", [DASHBOARD, ALERT], 0), ("dev", [DASHBOARD], 0)])
def test_an_always_on_stack_without_alerts_is_refused(stack, types, violations):
    from pulumi_policy import StackValidationArgs  # noqa: PLC0415

    found: list[str] = []
    p.always_on_stacks_alerted(StackValidationArgs([policy_resource(t, stack) for t in types], None),
                               lambda message, *_: found.append(message))
    assert len(found) == violations, found
    if violations:
        assert "alerts section" in found[0]


def test_prod_without_alerts_is_stopped_by_the_pack(prod_config):
    cfg = copy.deepcopy(prod_config)
    del cfg[NS + "alerts"]
    resources = [policy_resource(r.type, "prod") for r in run_program(cfg, "prod").resources]
    found: list[str] = []
    from pulumi_policy import StackValidationArgs  # noqa: PLC0415

    p.always_on_stacks_alerted(StackValidationArgs(resources, None), lambda message, *_: found.append(message))
    assert found and "stack 'prod' is always-on" in found[0]

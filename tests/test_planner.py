"""The capacity planner: the HPA step against upstream's own cases, properties of the loop, the
stacks read as the program reads them, traces, calibration, and the command's outputs."""

from __future__ import annotations

import datetime
import json
import math
import random

import pytest

from config import ConfigError
from config.hpa import (
    DEFAULT_DOWN,
    DEFAULT_UP,
    Controller,
    Event,
    HpaSpec,
    Policy,
    Rules,
    Tolerances,
    external_per_pod_replicas,
    rate_limited,
)
from planner import params, prices, traces
from planner.__main__ import DEFAULT_START, main, plan
from planner.simulate import CapacityModel, bursts, simulate
from planner.stack import plan_of
from tests.harness import ROOT
from tools.offline import run_program, stack_file_config
from tools.render import project_dir

INT32, INT64 = 2**31 - 1, 2**63 - 1
# The README's sample plan runs during working hours (dev sleeps at night: tests/test_idle.py).
SAMPLE_START = "2026-11-23T10:00:00+08:00"

# --- The replica calculator: kubernetes/kubernetes pkg/controller/podautoscaler ----------------
# replica_calculator_test.go TestReplicaCalcScaleUpPerPodCMExternal (3 pods, 8600m of a 2150m
# per-pod target -> 4), TestExternalPerPodMetricReplicaOverflow, TestExternalPerPodMetricUsageOverflow;
# horizontal_test.go TestScaleUpPerPodCMExternal (3 pods, 8600m of 2222m -> 4).


@pytest.mark.parametrize("status, target, usage, expected", [
    (3, 2150, 8600, 4),
    (3, 2222, 8600, 4),
    (1, 1, INT64, INT32),
    (1, INT64, INT64, 1),
])
def test_external_per_pod_replicas_match_upstream_cases(status, target, usage, expected):
    assert external_per_pod_replicas(status, target, usage, Tolerances()) == expected


def test_within_tolerance_the_count_stays_and_the_ratio_counts_every_pod():
    # 3 pods (ready or not) at 10 each against 32: ratio 1.067, inside 0.1: no change. The same
    # usage measured against 2 pods is a ratio of 1.6: ceil(32 / 10) = 4.
    assert external_per_pod_replicas(3, 10_000, 32_000, Tolerances()) == 3
    assert external_per_pod_replicas(2, 10_000, 32_000, Tolerances()) == 4
    assert external_per_pod_replicas(3, 10_000, 32_000, Tolerances(up=0.0)) == 4


# --- Behaviour rate limits: horizontal_test.go TestScalingWithRules ------------------------------


def rules(pods: int, pods_period: int, percent: int, percent_period: int, window: int) -> Rules:
    """upstream `generateScalingRules`: a Pods policy then a Percent policy, Max."""
    policies = []
    if pods:
        policies.append(Policy("Pods", pods, pods_period))
    if percent:
        policies.append(Policy("Percent", percent, percent_period))
    return Rules(window, "Max", tuple(policies))


NOW = 10_000


def uniform(changes: list[int], period: int) -> list[Event]:
    """upstream `generateEventsUniformDistribution`: event i in the middle of its segment of the
    last `period` seconds (Go's Duration() truncates the seconds to a whole number)."""
    segment = period / len(changes)
    return [Event(c, NOW - int(period - segment * (i + 1) + segment / 2)) for i, c in enumerate(changes)]


SCALING_WITH_RULES = [
    # name, ups, downs, min, max, up rules, down rules, current, desired, expected, condition
    ("within range", [], [], 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
    ("below min", [], [], 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
    ("min 0", [], [], 0, 10, None, None, 1, 0, 0, "DesiredWithinRange"),
    ("max is the limit", [], [], 1, 10, None, None, 20, 1000, 10, "TooManyReplicas"),
    ("more than max", [], [], 100, 150, None, None, 100, 1000, 150, "TooManyReplicas"),
    ("up limit, user policy", [], [], 1, 2000, rules(0, 0, 1, 60, 0), None, 3, 1000, 4, "ScaleUpLimit"),
    ("down limit, user policy", [], [], 3, 2000, None, rules(20, 60, 0, 0, 0), 1000, 3, 980, "ScaleDownLimit"),
    ("up default", [], [], 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
    ("up pods > percent", [], [], 1, 1000, rules(100, 60, 100, 60, 0), None, 10, 500, 110, "ScaleUpLimit"),
    ("up percent > pods", [], [], 1, 1000, rules(2, 60, 100, 60, 0), None, 10, 500, 20, "ScaleUpLimit"),
    ("up large pods", [], [], 1, 1000, rules(100, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),
    ("up large percent", [], [], 1, 1000, rules(10000, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),
    ("up pod limit", [], [], 1, 1000, rules(30, 60, 0, 0, 0), None, 10, 50, 40, "ScaleUpLimit"),
    ("up percent limit", [], [], 1, 1000, rules(0, 0, 200, 60, 0), None, 10, 50, 30, "ScaleUpLimit"),
    ("down percent > pods", [], [], 1, 1000, None, rules(20, 60, 1, 60, 300), 100, 2, 80, "ScaleDownLimit"),
    ("down pods > percent", [], [], 1, 1000, None, rules(2, 60, 1, 60, 300), 100, 2, 98, "ScaleDownLimit"),
    ("down min, large pods", [], [], 1, 1000, None, rules(100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"),
    ("down min, large percent", [], [], 5, 1000, None, rules(0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"),
    ("down pod limit", [], [], 1, 1000, None, rules(5, 60, 0, 0, 300), 10, 2, 5, "ScaleDownLimit"),
    ("down percent limit", [], [], 1, 1000, None, rules(0, 0, 50, 60, 300), 10, 5, 5, "DesiredWithinRange"),
    ("up max, pods, events", uniform([1, 5, 9], 120), [], 1, 200, rules(300, 60, 0, 0, 0), None, 100, 500, 200,
     "TooManyReplicas"),
    ("up max, percent, events", uniform([1, 5, 9], 120), [], 1, 200, rules(0, 0, 10000, 60, 0), None, 100, 500,
     200, "TooManyReplicas"),
    ("up held at current by events", uniform([1, 5, 9], 120), [], 1, 1000, rules(5, 120, 0, 0, 0), None, 100,
     500, 100, "ScaleUpLimit"),
    ("up pods after events", uniform([1, 5, 9], 120), [], 1, 1000, rules(150, 120, 0, 0, 0), None, 100, 500, 235,
     "ScaleUpLimit"),
    ("up percent after events", uniform([1, 5, 9], 120), [], 1, 1000, rules(0, 0, 200, 120, 0), None, 100, 500,
     255, "ScaleUpLimit"),
    ("up percent after up and down", uniform([4], 120), uniform([2], 120), 1, 1000, rules(0, 0, 300, 300, 0),
     None, 6, 24, 16, "ScaleUpLimit"),
    ("down default after events", [], uniform([1, 5, 9], 120), 1, 1000, None, None, 10, 5, 5, "DesiredWithinRange"),
    ("down min, pods, events", [], uniform([1, 5, 9], 120), 1, 1000, None, rules(115, 120, 0, 0, 300), 100, 0, 1,
     "TooFewReplicas"),
    ("down min 5, pods, events", [], uniform([1, 5, 9], 120), 5, 1000, None, rules(130, 120, 0, 0, 300), 100, 0,
     5, "TooFewReplicas"),
    ("down min 5, percent, events", [], uniform([1, 5, 9], 120), 5, 1000, None, rules(0, 0, 100, 120, 300), 100,
     2, 5, "TooFewReplicas"),
    ("down pod limit, events", [], uniform([1, 5, 9], 120), 1, 1000, None, rules(5, 120, 0, 0, 300), 100, 2, 100,
     "ScaleDownLimit"),
    ("down percent limit, events", [], uniform([2, 4, 6], 120), 1, 1000, None, rules(0, 0, 50, 120, 300), 100, 0,
     56, "ScaleDownLimit"),
    ("down percent after up and down", uniform([2], 120), uniform([4], 120), 1, 1000, None,
     rules(0, 0, 50, 180, 0), 10, 1, 6, "ScaleDownLimit"),
    ("down held at current by events", [], uniform([10, 10, 10], 120), 1, 1000, None, rules(0, 0, 10, 120, 300),
     100, 0, 100, "ScaleDownLimit"),
    ("down below zero allowed", [], uniform([10, 10, 10], 120), 1, 1000, None, rules(0, 0, 1000, 120, 300), 10, 5,
     5, "DesiredWithinRange"),
    ("outdated up events, one policy", uniform([8, 12, 9, 11], 120), [], 1, 1000, rules(1000, 60, 0, 0, 0), None,
     100, 200, 200, "DesiredWithinRange"),
    ("up events, two policies", uniform([8, 12, 9, 11], 120), [], 1, 1000, rules(1000, 120, 100, 60, 0), None,
     100, 200, 200, "DesiredWithinRange"),
    ("outdated down events, one policy", [], uniform([8, 12, 9, 11], 120), 1, 1000, None,
     rules(1000, 60, 0, 0, 300), 100, 5, 5, "DesiredWithinRange"),
    ("down events, two policies", [], uniform([8, 12, 9, 11], 120), 1, 1000, None, rules(1000, 120, 100, 60, 300),
     100, 5, 5, "DesiredWithinRange"),
]


@pytest.mark.parametrize("case", SCALING_WITH_RULES, ids=[c[0] for c in SCALING_WITH_RULES])
def test_rate_limits_match_upstream_scaling_with_rules(case):
    _, ups, downs, low, high, up, down, current, desired, expected, condition = case
    spec = HpaSpec(low, high, 1000, up or DEFAULT_UP, down or DEFAULT_DOWN)
    assert rate_limited(desired, current, spec, ups, downs, NOW) == (expected, condition)


# --- Stabilization: horizontal_test.go TestNormalizeDesiredReplicasWithBehavior ------------------


@pytest.mark.parametrize("recs, current, desired, up_window, down_window, expected", [
    ([], 100, 5, 0, 300, 5),                          # empty recommendations for scaling down
    ([(4, -120), (5, -60)], 100, 3, 0, 180, 5),       # simple scale down stabilization
    ([(4, -120), (5, -60)], 1, 7, 300, 300, 4),       # simple scale up stabilization
    ([(1, -120), (2, -60)], 100, 3, 300, 0, 3),       # no scale down stabilization
    ([(4, -120), (5, -60)], 1, 3, 0, 300, 3),         # no scale up stabilization
    ([(10, -600), (9, -540)], 100, 3, 0, 300, 3),     # no scale down stabilization, old entries
    ([(10, -600), (4, -60), (5, -120), (9, -540)], 100, 3, 0, 180, 5),
])
def test_stabilization_matches_upstream_cases(recs, current, desired, up_window, down_window, expected):
    spec = HpaSpec(1, 1000, 1000, Rules(up_window, "Max", DEFAULT_UP.policies),
                   Rules(down_window, "Max", DEFAULT_DOWN.policies))
    controller = Controller(spec, recommendations=[(NOW + t, r) for r, t in recs])
    assert controller.stabilized(desired, current, NOW) == expected
    assert controller.recommendations[-1] == (NOW, desired)


def test_reconcile_brings_an_out_of_bounds_count_back_and_a_zero_target_stays():
    spec = HpaSpec(2, 5, 10_000, DEFAULT_UP, DEFAULT_DOWN)
    assert Controller(spec).reconcile(0, 9, 9, 0) == 5      # above max: max, whatever the metric
    assert Controller(spec).reconcile(0, 1, 1, 999_000) == 2  # below min: min
    assert Controller(spec).reconcile(0, 0, 0, 999_000) == 0  # scaled to 0 by hand: HPA off
    assert Controller(spec).reconcile(0, 3, 3, None) == 3     # metric unreadable: no change


# --- Properties of the whole loop ----------------------------------------------------------------

OUR_UP = Rules(0, "Max", (Policy("Pods", 4, 60), Policy("Percent", 100, 60)))
OUR_DOWN = Rules(300, "Min", (Policy("Pods", 1, 60),))
ECI = CapacityModel(mode="eci", instance_type="ecs.gn6i-c4g1.xlarge", pod_gpus=1, node_gpus=1, pods_per_node=1)
POOL = CapacityModel(mode="nodepool", instance_type="ecs.gn6i-c8g1.2xlarge", pod_gpus=1, node_gpus=1, pods_per_node=1,
                pool_min=0, pool_max=50)


def random_trace(seed: int, seconds: int = 3600) -> list[float]:
    rng = random.Random(seed)
    rate, out = rng.uniform(0, 200), []
    for _ in range(seconds):
        if rng.random() < 0.01:
            rate = rng.uniform(0, 400)
        out.append(rate)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("capacity", [ECI, POOL], ids=["eci", "nodepool"])
def test_replicas_stay_within_bounds_and_scale_up_within_the_policies(seed, capacity):
    spec = HpaSpec(2, 20, 10_000, OUR_UP, OUR_DOWN)
    run = simulate(random_trace(seed), spec, capacity, params.defaults(), 10)
    desired = run.timeline.desired_replicas
    assert all(2 <= r <= 20 for r in desired)
    # Per 60 s: at most +4 pods or +100%, whichever is more, from the count at the period's start.
    for t in range(60, len(desired)):
        start = desired[t - 60]
        assert desired[t] <= max(start + 4, 2 * start), t
    assert all(r <= d for r, d in zip(run.timeline.ready_replicas, desired, strict=True))


@pytest.mark.parametrize("capacity", [ECI, POOL], ids=["eci", "nodepool"])
def test_more_load_never_yields_fewer_replicas_at_steady_state(capacity):
    spec = HpaSpec(1, 40, 10_000, OUR_UP, OUR_DOWN)
    steady = []
    for qps in range(0, 420, 7):
        run = simulate([float(qps)] * 900, spec, capacity, params.defaults(), 10)
        steady.append(run.timeline.desired_replicas[-1])
    assert steady == sorted(steady)
    assert steady[0] == 1 and steady[-1] == 40


def test_with_no_delay_and_unlimited_capacity_replicas_follow_ceil_qps_over_target():
    values = params.defaults().with_overrides(
        {"hpaSyncPeriod": 1, "metricWindow": 1, "metricDelay": 0, "tolerance": 0, "eciStart": 0,
         "imageCacheHit": 0, "imagePull": 0, "modelLoad": 0}, "--set")
    free = Rules(0, "Max", (Policy("Pods", 10_000, 1),))
    spec = HpaSpec(2, 30, 10_000, free, Rules(0, "Max", (Policy("Percent", 100, 1),)))
    rng = random.Random(3)
    offered = [float(rng.randrange(0, 400)) for _ in range(600)]
    run = simulate(offered, spec, ECI, values, 10)
    for t in range(1, len(offered)):
        # At t the HPA reads the logs of second t - 1.
        assert run.timeline.desired_replicas[t] == min(30, max(2, math.ceil(offered[t - 1] / 10))), t
        assert run.timeline.ready_replicas[t] == run.timeline.desired_replicas[t]


def test_a_metric_below_one_request_a_second_reads_as_zero():
    # ingress.go reports count / window through resource.NewQuantity(int64(val)): 14 requests in
    # a 15 s window are "0", so a trickle never holds a second pod.
    values = params.defaults()
    spec = HpaSpec(1, 10, 1000, OUR_UP, Rules(0, "Max", (Policy("Percent", 100, 15),)))
    run = simulate([14 / 15] * 600, spec, ECI, values, 1)
    assert set(run.timeline.metric_qps) == {0.0}
    assert run.timeline.desired_replicas[-1] == 1


def test_node_pool_capacity_waits_for_the_node_then_the_image_then_the_model():
    values = params.defaults()
    spec = HpaSpec(1, 10, 10_000, OUR_UP, OUR_DOWN)
    run = simulate([10.0] * 100 + [20.0] * 2000, spec, POOL, values, 10)
    tl = run.timeline
    asked = next(t for t, r in enumerate(tl.desired_replicas) if r == 2)
    ready = next(t for t, r in enumerate(tl.ready_replicas) if r == 2)
    boot = values["nodeProvision"] + values["gpuDevicePlugin"] + values["imagePull"] + values["modelLoad"]
    scan = values["autoscalerScan"]
    assert boot <= ready - asked <= boot + scan
    assert max(tl.nodes) == 2


def test_bursts_measure_the_wait_and_the_requests_above_capacity():
    spec = HpaSpec(1, 10, 10_000, OUR_UP, OUR_DOWN)
    values = params.defaults()
    run = simulate([10.0] * 100 + [30.0] * 2000, spec, ECI, values, 10)
    (burst,) = bursts(run.timeline)
    assert burst.start == 100
    assert burst.seconds_to_capacity is not None and burst.seconds_to_capacity > values["eciStart"]
    assert burst.requests_above_capacity == pytest.approx(sum(run.timeline.over_capacity_qps), abs=1)


# --- The stacks, read as the program reads them ---------------------------------------------------


def test_the_plan_uses_the_hpa_the_program_applies():
    dev = plan_of("dev")
    assert (dev.hpa.min_replicas, dev.hpa.max_replicas, dev.hpa.target_milli) == (1, 4, 10_000)
    assert dev.hpa.up == Rules(0, "Max", (Policy("Pods", 4, 60), Policy("Percent", 100, 60)))
    assert dev.hpa.down == Rules(120, "Min", (Policy("Pods", 1, 60),))
    assert dev.capacity.mode == "eci" and dev.capacity.image_cache == "stack"
    prod = plan_of("prod")
    assert prod.capacity.mode == "nodepool" and prod.capacity.instance_type == "ecs.gn6i-c8g1.2xlarge"
    assert prod.capacity.pods_per_node == 1 and prod.capacity.spot_share == pytest.approx(0.7)
    assert prod.capacity.eci_overflow and prod.capacity.image_cache == "stack" and prod.capacity.overflow_wait == 10
    assert dev.capacity.warmup and prod.capacity.warmup  # each uploads its version with a warmup file


def test_a_bad_stack_gets_the_programs_own_error(tmp_path):
    config = stack_file_config("dev")
    config["elastic-inference:autoscaling"] = {**config["elastic-inference:autoscaling"], "maxReplica": 4}
    path = tmp_path / "Pulumi.typo.yaml"
    path.write_text(json.dumps({"config": config}), encoding="utf-8")
    with pytest.raises(ConfigError) as planned:
        plan_of(str(path))
    with pytest.raises(ConfigError) as program, project_dir(config, placeholder=True) as used:
        run_program(used, stack="typo", preview=True)  # with the planner's stand-in model, as the render does
    assert planned.value.problems == program.value.problems
    assert any(key == "autoscaling.maxReplica" for key, _ in planned.value.problems)


# --- Traces, values, calibration, prices ----------------------------------------------------------


def test_traces_of_every_kind(tmp_path):
    assert traces.load("step:5:50:3", 6) == [5, 5, 5, 50, 50, 50]
    assert traces.load("ramp:0:10:2:7", 9) == [0, 0, 0, 2, 4, 6, 8, 10, 10]
    day = traces.load("diurnal:10:110:100")
    assert len(day) == 200 and day[0] == pytest.approx(10) and day[50] == pytest.approx(110)
    csv = tmp_path / "t.csv"
    csv.write_text("seconds,qps\n0,0\n10,100\n20,100\n", encoding="utf-8")
    assert traces.load(str(csv))[:12] == pytest.approx([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100])
    report = ROOT / "docs" / "loadtest-sample" / "report.json"
    timeline = json.loads(report.read_text(encoding="utf-8"))["timeline"]
    assert traces.load(str(report)) == [row["scheduled"] for row in timeline]


@pytest.mark.parametrize("spec, message", [
    ("step:1:2", "write step:BASE:PEAK:AT"),
    ("ramp:0:10:7:2", "TO must be after FROM"),
    ("step:a:2:3", "takes numbers"),
    ("nothing.csv", "not a file, nor one of"),
])
def test_a_bad_trace_is_named(spec, message):
    with pytest.raises(traces.TraceError, match=message):
        traces.load(spec)


def test_a_csv_going_back_in_time_is_refused_with_its_line(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("0,1\n10,2\n5,3\n", encoding="utf-8")
    with pytest.raises(traces.TraceError, match="seconds must increase"):
        traces.load(str(csv))


@pytest.mark.parametrize("item, message", [
    ("metricDelay", "write NAME=VALUE"),
    ("metricDelya=5", "no such value; known: hpaSyncPeriod"),
    ("imagePull=slow", "not a number"),
    ("modelLoad=-1", "finite number >= 0"),
    ("tolerance=1", "below 1"),
    ("hpaSyncPeriod=0", "above 0"),
])
def test_a_bad_set_is_refused_by_name(item, message):
    with pytest.raises(params.ParamError, match=message):
        params.parse_sets([item])


def test_every_default_without_a_public_source_says_so():
    for p in params.PARAMS:
        assert p.source, p.name
        if p.measured and p.name not in ("podStart",):
            assert any(mark in p.source for mark in ("http", "kubernetes/", "AliyunContainerService/")), p.name


def test_calibration_recovers_the_metric_delay_and_the_pod_start():
    offered = [10.0] * 200 + [40.0] * 400
    prefix = [0.0]
    for rate in offered:
        prefix.append(prefix[-1] + rate)
    timeline = []
    for t, rate in enumerate(offered):
        end, start = max(0, t - 25), max(0, t - 25 - 15)
        total = (prefix[end] - prefix[start]) / 15
        desired = 1 if t < 230 else 4
        timeline.append({"t": t, "scheduled": rate, "metric": total / 2, "current_replicas": 2,
                         "desired_replicas": desired, "ready_pods": 1 if t < 230 + 95 else 4})
    fitted = params.calibrate({"timeline": timeline}, 15)
    assert fitted == {"metricDelay": 25.0, "podStart": 95.0}


def test_a_price_file_is_checked_and_prices_the_instance_hours(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"date": "2026-11-20", "source": "bill", "currency": "cny",
                               "payAsYouGoPerHour": {}}), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        prices.load(bad)
    keys = {key for key, _ in error.value.problems}
    assert keys == {f"{bad}: currency", f"{bad}: payAsYouGoPerHour"}


def test_the_command_writes_the_plan_and_refuses_bad_input(tmp_path, capsys):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"date": "2026-11-20", "source": "test", "currency": "CNY",
                                 "payAsYouGoPerHour": {"ecs.gn6i-c4g1.xlarge": 3.6}}), encoding="utf-8")
    out = tmp_path / "plan"
    code = main(["--stack", "dev", "--trace", "step:10:30:60", "--duration", "900", "--out", str(out),
                 "--prices", str(table), "--set", "eciStart=10", "--no-chart"])
    assert code == 0
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    dev = plan["stacks"]["dev"]
    assert set(dev["timeline"]) == {"t", "offered_qps", "metric_qps", "desired_replicas", "ready_replicas",
                                    "capacity_qps", "over_capacity_qps", "cold_served_qps", "overflow_pods"}
    assert all(len(series) == 900 for series in dev["timeline"].values())
    assert dev["timeline"]["offered_qps"][59:61] == [10, 30]
    summary = dev["summary"]
    assert summary["cost"] == pytest.approx(summary["instance_hours"] * 3.6, abs=0.01)
    assert plan["values"]["eciStart"]["origin"] == "--set" and "eciStart" not in dev["unmeasured"]
    assert "modelLoad" in dev["unmeasured"]
    assert "dev" in capsys.readouterr().out
    assert main(["--stack", "dev", "--trace", "step:1", "--out", str(out)]) == 2
    assert "write step:BASE:PEAK:AT" in capsys.readouterr().err
    assert main(["--stack", "dev", "--trace", "step:1:2:3", "--out", str(out), "--set", "nope=1"]) == 2
    assert "--set nope" in capsys.readouterr().err


def test_the_command_draws_the_chart(tmp_path):
    out = tmp_path / "plan"
    assert main(["--stack", "dev", "--compare", "prod", "--trace", "step:10:100:60", "--duration", "300",
                 "--out", str(out)]) == 0
    assert (out / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(json.loads((out / "plan.json").read_text(encoding="utf-8"))["stacks"]) == {"dev", "prod"}


def test_no_price_file_ships_and_the_docs_say_why():
    assert not list((ROOT / "planner").glob("*.json"))
    assert "**No price table ships.**" in (ROOT / "docs" / "planner.md").read_text(encoding="utf-8")


def test_the_sample_plan_and_the_documented_figures_are_what_the_planner_says_now(tmp_path):
    out = tmp_path / "plan"
    assert main(["--stack", "dev", "--compare", "prod", "--trace", "step:10:100:300", "--duration", "2400",
                 "--start", SAMPLE_START, "--out", str(out), "--no-chart"]) == 0
    fresh = json.loads((out / "plan.json").read_text(encoding="utf-8"))["stacks"]
    sample = json.loads((ROOT / "docs" / "planner-sample" / "plan.json").read_text(encoding="utf-8"))["stacks"]
    assert {k: v["summary"] for k, v in fresh.items()} == {k: v["summary"] for k, v in sample.items()}
    readme = (ROOT / "docs" / "planner.md").read_text(encoding="utf-8")
    dev, prod = fresh["dev"]["summary"], fresh["prod"]["summary"]
    assert dev["bursts"][0]["seconds_to_capacity"] is None
    assert f"| prod (nodepool, max 10) | {prod['bursts'][0]['seconds_to_capacity']} s:" in readme
    for s in (dev, prod):
        assert f"| {s['share_above_capacity']:.1%} | {s['peak_ready_replicas']} | {s['mean_ready_replicas']:.2f} | " \
               f"{s['gpu_hours']:.2f} |" in readme


# --- the idle schedule in the plan ------------------------------------------------------------------

def test_the_plan_sleeps_and_wakes_where_the_stacks_schedule_says():
    from config.schema import IdleSettings  # noqa: PLC0415
    from planner.simulate import schedule_of  # noqa: PLC0415

    idle = IdleSettings(mode="schedule", time_zone="Asia/Shanghai", wake="0 8 * * 1-5", sleep="0 20 * * 1-5")
    monday = datetime.datetime(2026, 11, 23, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    week = schedule_of(idle, 1, monday, 7 * 86400)
    assert week.asleep_at_start  # Monday 00:00: the latest firing before it was Friday 20:00, a sleep
    hours = [(t / 3600, r) for t, r in week.events]
    assert hours == [(h + 24 * d, r) for d in range(5) for h, r in ((8, 1), (20, 0))]
    assert not schedule_of(idle, 1, monday.replace(hour=10), 3600).asleep_at_start


def test_an_idle_week_costs_the_working_hours_only():
    # The plan the command writes, without writing a week of timelines (DEFAULT_START: a Monday).
    values = params.defaults()
    stacks = plan([plan_of("dev"), plan_of("prod")], traces.load("step:0:0:1", 7 * 86400), values, None,
                  DEFAULT_START)["stacks"]
    dev, prod = stacks["dev"]["summary"], stacks["prod"]["summary"]
    # dev: one ECI pod from each wake (billed from its image pull) to each sleep, five days.
    billed_per_day = 12 * 3600 - values["eciStart"]
    assert dev["gpu_hours"] == pytest.approx(5 * billed_per_day / 3600, abs=0.01)
    assert prod["gpu_hours"] == pytest.approx(7 * 48, abs=0.01)  # two 1-GPU nodes around the clock
    # The first caller after each wake waits for the ECI, the cached image and the model, whose load
    # includes the replay of the warmup file dev's version carries.
    wait = values["eciStart"] + values["imageCacheHit"] + values["modelLoad"] + values["coldSeconds"]
    assert dev["wake_to_ready_seconds"] == [wait] * 5 and prod["wake_to_ready_seconds"] == []

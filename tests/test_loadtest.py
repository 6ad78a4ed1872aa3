"""The load tool on loopback only: rate control, error counting, the watcher against a stand-in
Kubernetes API, the verdict, the report, and the command end to end. Traffic is bounded: at most
a thousand requests and a few seconds per test, to 127.0.0.1."""

from __future__ import annotations

import io
import ipaddress
import json
import re
from itertools import pairwise

import pytest

from loadtest import __main__ as cli
from loadtest import payload as payload_tool
from loadtest.driver import Outcome, run
from loadtest.profile import Phase, Profile, standard_profile
from loadtest.report import cause, percentile, timeline, verdict, write_chart, write_json
from loadtest.standins import (
    BackgroundServer,
    KubernetesStandIn,
    SimulatedHpa,
    TfServingStandIn,
    hpa_of,
    target_flags,
)
from loadtest.watcher import (
    ECI_PAYG,
    ECI_SPOT,
    NODE_PAYG,
    NODE_SPOT,
    NODE_UNKNOWN,
    ClusterReader,
    Sample,
    api_client,
    parse_quantity,
    place_of,
)
from settings import ScalingBehavior

PAYLOAD = cli.DEFAULT_PAYLOAD.read_bytes()


# --- the schedule (pure) --------------------------------------------------------------------

@pytest.mark.parametrize("phase,count", [
    (Phase("flat", 10, 30, 30), 300), (Phase("ramp", 10, 0, 20), 100), (Phase("down", 4, 10, 0), 20),
    (Phase("zero", 5, 0, 0), 0),
])
def test_phase_sends_the_integral_of_its_rate(phase, count):
    offsets = list(phase.offsets())
    assert len(offsets) == count == phase.count()
    assert offsets == sorted(offsets) and all(0 <= o <= phase.duration for o in offsets)


def test_ramp_spacing_tightens_as_the_rate_rises():
    offsets = list(Phase("ramp", 10, 1, 19).offsets())
    first_half = sum(1 for o in offsets if o < 5)
    # 1..10 rps over the first 5 s is 27.5 requests, 10..19 rps over the next 5 s is 72.5.
    assert len(offsets) == 100 and first_half == 28


def test_standard_profile_crosses_the_threshold_and_keeps_a_trickle():
    profile = standard_profile(10, 2, warmup=60, ramp=60, hold=300, cooldown=600)
    names = [p.name for p in profile.phases]
    assert names == ["warm-up", "ramp", "hold", "cool-down"]
    warm, ramp, hold, quiet = profile.phases
    assert warm.start_rps < 20 < hold.start_rps == 60  # threshold = targetQps x minReplicas = 20
    assert quiet.start_rps > 0  # a missing metric would stop the HPA from scaling in
    with pytest.raises(ValueError, match="must exceed"):
        standard_profile(10, 2, peak_rps=20)


# --- the driver against the stand-in TF Serving ---------------------------------------------

def test_every_scheduled_request_is_sent_once_never_early_and_answered():
    # How closely the rate is held is a speed figure: benchmarks/loadtest_rate.py measures it and
    # the README carries the numbers. Here: what the driver guarantees whatever the machine's load.
    serving = TfServingStandIn(latency=0.02)
    schedule = Profile((Phase("hold", 3, 300, 300),)).schedule()
    with BackgroundServer(serving.app()) as server:
        outcomes = run(f"{server.url}/v1/models/chnsenticorp:predict", PAYLOAD, schedule)
    assert len(outcomes) == 900 == serving.requests
    assert [o.scheduled for o in outcomes] == [t for t, _ in schedule]
    assert all(o.ok for o in outcomes)
    assert all(o.sent is not None and o.sent >= o.scheduled for o in outcomes)


def test_errors_and_timeouts_are_counted():
    serving = TfServingStandIn(latency=0.001, fail_every=10)
    schedule = Profile((Phase("hold", 2, 100, 100),)).schedule()
    with BackgroundServer(serving.app()) as server:
        outcomes = run(f"{server.url}/v1/models/chnsenticorp:predict", PAYLOAD, schedule)
        slow = TfServingStandIn(latency=1.0)
        with BackgroundServer(slow.app()) as slow_server:
            timed_out = run(f"{slow_server.url}/v1/models/chnsenticorp:predict", PAYLOAD,
                            Profile((Phase("hold", 1, 5, 5),)).schedule(), timeout=0.2)
    assert len(outcomes) == 200
    assert sum(1 for o in outcomes if not o.ok) == 20
    assert {o.error for o in outcomes if not o.ok} == {"HTTP 500"}
    assert [o.error for o in timed_out] == ["timeout"] * 5


def test_a_slow_server_does_not_lower_the_offered_rate():
    serving = TfServingStandIn(latency=0.5)
    schedule = Profile((Phase("hold", 2, 100, 100),)).schedule()
    with BackgroundServer(serving.app()) as server:
        outcomes = run(f"{server.url}/v1/models/chnsenticorp:predict", PAYLOAD, schedule)
    assert len(outcomes) == 200 and min(o.latency for o in outcomes) >= 0.5
    # Open loop: the next request leaves while the one before it is still waiting for its answer
    # (10 ms apart against 500 ms answers); a closed loop would send one at a time.
    ordered = sorted(outcomes, key=lambda o: o.sent)
    overlapping = sum(1 for a, b in pairwise(ordered) if b.sent < a.sent + a.latency)
    assert overlapping == len(ordered) - 1


def test_client_cap_drops_rather_than_delays():
    serving = TfServingStandIn(latency=0.5)
    with BackgroundServer(serving.app()) as server:
        outcomes = run(f"{server.url}/v1/models/chnsenticorp:predict", PAYLOAD,
                       Profile((Phase("hold", 1, 50, 50),)).schedule(), max_in_flight=10)
    dropped = [o for o in outcomes if o.sent is None]
    sent = [o for o in outcomes if o.sent is not None]
    assert len(outcomes) == 50 and len(dropped) >= 20
    assert all(o.error.startswith("dropped") for o in dropped)
    # Never more than the cap in flight at once.
    events = sorted([(o.sent, 1) for o in sent] + [(o.sent + o.latency, -1) for o in sent])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak <= 10


# --- the watcher against the stand-in Kubernetes API ----------------------------------------

def test_watcher_reads_hpa_and_pods_through_the_official_client():
    kube = KubernetesStandIn(state=lambda: (3, 4, 12.5))
    with BackgroundServer(kube.app()) as api:
        sample = ClusterReader(api_client(api.url), "inference", "bert-tfserving", "bert-tfserving").sample(7.0)
    assert (sample.current_replicas, sample.desired_replicas, sample.metric) == (3, 4, 12.5)
    assert sample.scaling_active is True and sample.ready_pods == sample.pods == 3
    assert sample.placements == {"gpu-node-0": 1, "eci-0001": 1, "gpu-node-2": 1}


def test_the_watcher_says_where_each_ready_pod_ran_and_how_it_is_billed():
    """Pool nodes by the cloud-controller-manager's labels (spot unless NoSpot), ECI pods by the
    instance id ECI writes (spot as the pod asked), each node read once."""
    kube = KubernetesStandIn(state=lambda: (8, 8, 10.0))
    with BackgroundServer(kube.app()) as api:
        reader = ClusterReader(api_client(api.url), "inference", "bert-tfserving", "bert-tfserving")
        first, second = reader.sample(1.0), reader.sample(2.0)
    # Pods 0, 4 on spot nodes; 2, 6 on pay-as-you-go ones; 1, 5 on ECI asking for spot; 3, 7 not.
    assert first.places == {NODE_SPOT: 2, NODE_PAYG: 2, ECI_SPOT: 2, ECI_PAYG: 2} == second.places
    assert sorted(kube.node_reads) == ["gpu-node-0", "gpu-node-2", "gpu-node-4", "gpu-node-6"]


def test_nodes_the_watcher_cannot_read_are_billing_unknown_and_the_run_goes_on():
    kube = KubernetesStandIn(state=lambda: (4, 4, 10.0), nodes_readable=False)
    with BackgroundServer(kube.app()) as api:
        sample = ClusterReader(api_client(api.url), "inference", "bert-tfserving", "bert-tfserving").sample(1.0)
    assert sample.error is None and sample.ready_pods == 4
    assert sample.places == {NODE_UNKNOWN: 2, ECI_SPOT: 1, ECI_PAYG: 1}


@pytest.mark.parametrize("annotations,labels,place", [
    ({}, {"node.alibabacloud.com/instance-charge-type": "PostPaid",
          "node.alibabacloud.com/spot-strategy": "SpotWithPriceLimit"}, NODE_SPOT),
    ({}, {"node.alibabacloud.com/instance-charge-type": "PrePaid", "node.alibabacloud.com/spot-strategy": "NoSpot"},
     NODE_PAYG),
    ({}, {"kubernetes.io/hostname": "old-ccm"}, NODE_UNKNOWN),
    ({}, None, NODE_UNKNOWN),
    ({"k8s.aliyun.com/eci-instance-id": "eci-1", "k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit"}, None,
     ECI_SPOT),
    ({"k8s.aliyun.com/eci-instance-id": "eci-1"}, None, ECI_PAYG),
    # Asked for on a pool node, the ECI annotation means nothing: the node's labels say.
    ({"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"}, {"node.alibabacloud.com/spot-strategy": "NoSpot"},
     NODE_PAYG),
], ids=["spot-node", "subscription-node", "old-ccm", "unreadable", "eci-spot", "eci-payg", "eci-annotation-on-node"])
def test_place_of_reads_what_ack_and_eci_record(annotations, labels, place):
    assert place_of(annotations, labels) == place


@pytest.mark.parametrize("text,value", [("12500m", 12.5), ("3", 3.0), ("1k", 1000.0), (None, None), ("x", None)])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


# --- verdict and report (pure) --------------------------------------------------------------

PROFILE = Profile((Phase("warm-up", 10, 5, 5), Phase("hold", 20, 30, 30), Phase("cool-down", 30, 1, 1)))


def outcomes_for(profile: Profile, fail_every: int = 0) -> list[Outcome]:
    out = []
    for i, (t, phase) in enumerate(profile.schedule()):
        failed = fail_every and i % fail_every == 0
        out.append(Outcome(t, phase, sent=t, latency=0.02, status=500 if failed else 200,
                           error="HTTP 500" if failed else None))
    return out


def samples_for(replicas: list[tuple[float, int]]) -> list[Sample]:
    return [Sample(t, r, r, 10.0, True, r, r) for t, r in replicas]


SCALED = [(0, 1), (5, 1), (12, 1), (20, 3), (30, 3), (45, 2), (55, 1), (60, 1)]


def test_verdict_passes_when_pods_scale_out_and_back_in():
    result = verdict(outcomes_for(PROFILE), samples_for(SCALED), PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    assert result.passed, result.checks


def test_verdict_fails_when_replicas_do_not_rise():
    flat = [(t, 1) for t in range(0, 61, 5)]
    result = verdict(outcomes_for(PROFILE), samples_for(flat), PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    assert not result.passed
    checks = {c.name: c for c in result.checks}
    assert not checks["scaled-out"].passed and "never rose above 1" in checks["scaled-out"].detail
    assert not checks["scaled-in"].passed


def test_an_unreadable_cluster_is_not_a_measured_zero():
    """The Kubernetes API never answered: the report says the replicas were not measured, never
    that they stayed at 1."""
    unread = [Sample(t, None, None, None, None, 0, 0, error="MaxRetryError: connection refused")
              for t in range(0, 61, 5)]
    result = verdict(outcomes_for(PROFILE), unread, PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    checks = {c.name: c for c in result.checks}
    assert not result.passed
    assert checks["cluster-observed"].detail == (
        "0 of 13 reads of the HPA and pods succeeded; the first failure: MaxRetryError: connection refused")
    for name in ("scaled-out", "scaled-in"):
        assert checks[name].detail == "not measured: no read of the Kubernetes API succeeded (13 failed)"
        assert "never rose" not in checks[name].detail


def test_failed_requests_are_counted_by_cause(tmp_path):
    outcomes = outcomes_for(PROFILE)
    for i, o in enumerate(outcomes[:40]):
        o.status, o.error = [(None, "timeout"), (None, "ClientConnectorError"), (503, "HTTP 503"),
                             (None, "dropped: client at max in flight")][i % 4]
    assert [cause(o) for o in outcomes[:4]] == ["timeout", "connection", "HTTP 503", "dropped"]
    result = verdict(outcomes, samples_for(SCALED), PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    detail = {c.name: c.detail for c in result.checks}["error-rate"]
    assert detail.endswith(": timeout 10, connection 10, HTTP 503 10, dropped 10")
    rows = timeline(outcomes, samples_for(SCALED), PROFILE)
    write_json(tmp_path / "r.json", {}, rows, samples_for(SCALED), result)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["errors_by_cause"] == {"timeout": 10, "connection": 10, "HTTP 503": 10, "dropped": 10}
    assert sum(sum(r["errors_by_cause"].values()) for r in report["timeline"]) == 40
    stream = io.StringIO()
    cli.ProgressLine(PROFILE, samples_for(SCALED), stream)(30.0, outcomes)
    assert "failed: timeout 10, connection 10, HTTP 503 10" in stream.getvalue()


def test_no_kubeconfig_exits_2_saying_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    serving = TfServingStandIn(latency=0.005)
    with BackgroundServer(serving.app()) as tf:
        code = cli.main(["--predict-url", f"{tf.url}/v1/models/m:predict", "--namespace", "ns", "--hpa", "h",
                         "--deployment", "d", "--target-qps", "10", "--min-replicas", "1", "--out", str(tmp_path),
                         "--warmup", "1", "--ramp", "1", "--hold", "1", "--cooldown", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no usable kubeconfig" in err and "aliyun cs GET /k8s/<clusterId>/user_config" in err
    assert "Traceback" not in err and not serving.requests


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, default in (("--warmup", "60"), ("--hold", "300"), ("--cooldown", "600"), ("--timeout", "10"),
                          ("--max-in-flight", "2000"), ("--scale-out-within", "180"), ("--sample-period", "5")):
        assert re.search(re.escape(flag) + r" \S+ .*?\(default: " + default, text), flag
    assert "--quiet " not in text


def test_verdict_fails_on_slow_scale_out_errors_and_no_scale_in():
    late = [(0, 1), (40, 3), (60, 3)]
    result = verdict(outcomes_for(PROFILE, fail_every=10), samples_for(late), PROFILE, target_qps=10,
                     min_replicas=1, scale_out_within=15, max_error_rate=0.01)
    checks = {c.name: c.passed for c in result.checks}
    assert checks == {"cluster-observed": True, "scaled-out": False, "error-rate": False, "scaled-in": False}


def test_timeline_and_report_files(tmp_path):
    rows = timeline(outcomes_for(PROFILE), samples_for(SCALED), PROFILE)
    assert len(rows) == 60
    assert rows[15].sent == 30 and rows[15].phase == "hold" and rows[15].p95_ms == pytest.approx(20)
    assert rows[25].current_replicas == 3 and rows[59].current_replicas == 1
    result = verdict(outcomes_for(PROFILE), samples_for(SCALED), PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    write_json(tmp_path / "r.json", {"x": 1}, rows, samples_for(SCALED), result)
    write_chart(tmp_path / "r.png", rows, PROFILE, 10, "test", result, new_pods=[
        {"upstream": "10.0.0.2:8501", "joined_after_s": 20, "answers": 40, "first_ms": [800.0, 20.0],
         "steady_p50_ms": 20.0, "first_over_steady": 40.0},
        {"upstream": "10.0.0.3:8501", "joined_after_s": 25, "answers": 3, "first_ms": [30.0],
         "steady_p50_ms": None, "first_over_steady": None}])
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"]["passed"] is True and len(report["timeline"]) == 60
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_and_the_chart_say_where_the_pods_ran_second_by_second(tmp_path):
    samples = samples_for(SCALED)
    for sample in samples:
        sample.places = {NODE_SPOT: 1, **({ECI_PAYG: sample.ready_pods - 1} if sample.ready_pods > 1 else {})}
    rows = timeline(outcomes_for(PROFILE), samples, PROFILE)
    assert rows[10].places == {NODE_SPOT: 1} and rows[25].places == {NODE_SPOT: 1, ECI_PAYG: 2}
    assert all(sum(r.places.values()) == r.ready_pods for r in rows)
    result = verdict(outcomes_for(PROFILE), samples, PROFILE, target_qps=10, min_replicas=1,
                     scale_out_within=15, max_error_rate=0.01)
    write_json(tmp_path / "r.json", {}, rows, samples, result)
    assert json.loads((tmp_path / "r.json").read_text())["timeline"][25]["places"] == {NODE_SPOT: 1, ECI_PAYG: 2}
    write_chart(tmp_path / "r.png", rows, PROFILE, 10, "test", result)
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_line_reports_the_last_second_and_success_so_far():
    outcomes = outcomes_for(PROFILE, fail_every=10)
    for o in outcomes:
        if o.scheduled >= 15:
            o.sent = o.latency = o.status = o.error = None  # not yet due
    stream = io.StringIO()
    line = cli.ProgressLine(PROFILE, samples_for([(14, 2)]), stream)
    line(15.0, outcomes)
    text = stream.getvalue()
    settled = [o for o in outcomes if o.scheduled < 15]
    ok = 100 * sum(o.ok for o in settled) / len(settled)
    assert "hold" in text and "sent   30.0/s" in text and f"ok {ok:5.1f}%" in text
    assert "p95   20ms" in text and "replicas 2/2 ready 2" in text


def test_percentile_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile([1, 2], 99) == 2 and percentile([], 50) is None


# --- the command end to end -----------------------------------------------------------------

def run_cli(tmp_path, speed: float, extra: list[str]) -> tuple[int, dict]:
    """The stand-ins with an HPA the program would write, its clock `speed` times the wall's: up at
    once, down a minute after the load (the shipped 10 min would outlast a short test)."""
    serving = TfServingStandIn(latency=0.005)
    behavior = ScalingBehavior(scale_up_stabilization_seconds=0, scale_up_pods_per_minute=4,
                               scale_down_stabilization_seconds=60, scale_down_pods_per_minute=4)
    hpa = SimulatedHpa(qps=lambda: serving.qps(window=1), spec=hpa_of(1, 5, 10, behavior), speed=speed)
    kube = KubernetesStandIn(state=hpa.step)
    with BackgroundServer(serving.app()) as tf, BackgroundServer(kube.app()) as api:
        code = cli.main([
            *target_flags(tf.url, api.url), "--peak-rps", "40", "--warmup", "1",
            "--ramp", "1", "--sample-period", "0.5", "--scale-out-within", "3", "--out", str(tmp_path),
            "--no-progress", *extra,
        ])
    return code, json.loads((tmp_path / "report.json").read_text())


def test_command_passes_when_the_service_scales(tmp_path):
    code, report = run_cli(tmp_path, 60, ["--hold", "2", "--cooldown", "3", "--processes", "1"])  # a sync every 0.25 s
    assert code == 0, report["verdict"]
    assert (tmp_path / "report.png").is_file()
    assert max(s["current_replicas"] for s in report["samples"]) > 1


def test_command_fails_when_the_service_does_not_scale(tmp_path):
    code, report = run_cli(tmp_path, 0.1, ["--hold", "2", "--cooldown", "1", "--processes", "1"])  # no sync
    assert code == 1
    assert {c["name"]: c["passed"] for c in report["verdict"]["checks"]}["scaled-out"] is False


def test_command_needs_a_target(capsys):
    assert cli.main(["--predict-url", "http://127.0.0.1:9/x"]) == 2
    assert "missing --namespace, --hpa, --deployment, --target-qps, --min-replicas" in capsys.readouterr().err


def test_shipped_payload_is_a_bert_row(tmp_path):
    body = json.loads(PAYLOAD)
    row = body["instances"][0]
    assert len(row["input_ids"]) == len(row["input_mask"]) == len(row["segment_ids"]) == 128
    assert row["input_ids"][0] == 101 and row["input_ids"][sum(row["input_mask"]) - 1] == 102  # [CLS] .. [SEP]


def test_payload_builder_uses_the_vocab(tmp_path):
    vocab = tmp_path / "vocab.txt"
    specials = ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + specials + ["好", "酒", "店"]
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    body = payload_tool.build(vocab, "酒店好", max_seq_length=8)
    row = body["instances"][0]
    assert row["input_ids"] == [101, 105, 106, 104, 102, 0, 0, 0]
    assert row["input_mask"] == [1, 1, 1, 1, 1, 0, 0, 0] and row["label_ids"] == 0


def test_stand_ins_listen_on_loopback_only():
    """Guard: every stand-in's socket is bound to a loopback address, as the OS reports it, and
    the URL the tests send to is that address (so no test traffic can leave the machine)."""
    for app in (TfServingStandIn().app(), KubernetesStandIn().app()):
        with BackgroundServer(app) as server:
            assert server.address is not None
            host, port = server.address
            assert ipaddress.ip_address(host).is_loopback and port > 0
            assert server.url == f"http://{host}:{port}"

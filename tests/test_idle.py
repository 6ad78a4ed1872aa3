"""Idle at zero: dev sleeps outside working hours, prod stays always-on; the objects, the
validation, and the real sleep/wake command against a stand-in API, with the HPA standing aside."""

from __future__ import annotations

import copy
import datetime
import json
import re
import subprocess
import sys
import time

import kubernetes_validate
import pytest
from harness import ACK_VERSIONS, NS

from components.jobs.pod import bootstrap
from components.scaling.idle.schedule import IDLE_COMPONENT, SCALE
from components.serving.versions.spec import CHECKS
from config import ConfigError
from config.hpa import DEFAULT_DOWN, DEFAULT_UP, Controller, HpaSpec
from config.rules.scaling import next_firing
from loadtest.standins import BackgroundServer, KubernetesStandIn
from tools.offline import run_program


def cron_jobs(result) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in result.manifests() if m["kind"] == "CronJob"}


def command(cron_job: dict) -> list[str]:
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]


def test_dev_sleeps_outside_working_hours_and_prod_stays_on(rendered):
    dev = rendered[("dev", False)]
    jobs = cron_jobs(dev)
    assert set(jobs) == {"bert-tfserving-sleep", "bert-tfserving-wake"}
    sleep, wake = jobs["bert-tfserving-sleep"]["spec"], jobs["bert-tfserving-wake"]["spec"]
    assert (sleep["schedule"], wake["schedule"]) == ("0 20 * * 1-5", "0 8 * * 1-5")
    assert sleep["timeZone"] == wake["timeZone"] == "Asia/Shanghai"
    assert sleep["concurrencyPolicy"] == "Forbid"
    # Asleep: zero; awake: the HPA's minimum, from which the HPA scales on QPS as always.
    assert command(jobs["bert-tfserving-sleep"])[3:] == ["scale", "inference", "bert-tfserving", "0"]
    assert command(jobs["bert-tfserving-wake"])[3:] == ["scale", "inference", "bert-tfserving", "1"]
    role = dev.kind("Role", "bert-tfserving-idle")
    assert role["rules"] == [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                              "resourceNames": ["bert-tfserving"], "verbs": ["get", "patch"]}]
    assert not cron_jobs(rendered[("prod", False)])


def test_the_idle_objects_validate_strictly(rendered):
    result = rendered[("dev", False)]
    kinds = {"CronJob", "Role", "RoleBinding", "ServiceAccount"}
    idle = [m for m in result.manifests()
            if m["kind"] in kinds and (m["metadata"].get("labels") or {}).get("app.kubernetes.io/component")
            == IDLE_COMPONENT]
    assert sorted(m["kind"] for m in idle) == ["CronJob", "CronJob", "Role", "RoleBinding", "ServiceAccount"]
    for version in ACK_VERSIONS:
        for manifest in idle:
            kubernetes_validate.validate(manifest, version, strict=True)


def test_the_cron_jobs_wait_for_the_workload_and_the_account(rendered):
    result = rendered[("dev", False)]
    binding = next(r for r in result.resources if r.name == "idle-binding")
    hpa = result.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    for job in (r for r in result.resources if r.type == "kubernetes:batch/v1:CronJob"):
        assert binding.urn in job.dependencies and hpa.urn in job.dependencies


@pytest.mark.parametrize("idle, key, words", [
    ({"mode": "schedule", "sleep": "0 20 * * 1-5"}, "autoscaling.idle.wake", "is required"),
    ({"mode": "schedule", "wake": "0 8 31 2 *", "sleep": "0 20 * * 1-5"}, "autoscaling.idle.wake",
     "never wakes"),
    ({"mode": "schedule", "wake": "0 8 * * 1-5", "sleep": "0 20 30 2 *"}, "autoscaling.idle.sleep", "never sleeps"),
    ({"mode": "schedule", "wake": "0 8 * * 1-5", "sleep": "0 8 * * 1-5"}, "autoscaling.idle.sleep",
     "is the same as autoscaling.idle.wake"),
    ({"mode": "schedule", "wake": "0 0 8 * * 1-5", "sleep": "0 20 * * 1-5"}, "autoscaling.idle.wake",
     "(expected exactly 5 fields, found 6: [0 0 8 * * 1-5])"),
    ({"mode": "schedule", "wake": "TZ=UTC 0 8 * * 1-5", "sleep": "0 20 * * 1-5"}, "autoscaling.idle.wake",
     "must not name a time zone (TZ= or CRON_TZ="),
    ({"mode": "schedule", "wake": "0 8 * * 1-5", "sleep": "0 20 * * 1-5", "timeZone": "Asia/Beijing"},
     "autoscaling.idle.timeZone", "IANA time zone"),
    ({"mode": "sometimes"}, "autoscaling.idle.mode", "always-on"),
])
def test_a_schedule_that_cannot_work_is_refused_by_name(dev_config, idle, key, words):
    config = copy.deepcopy(dev_config)
    config[NS + "autoscaling"]["idle"] = idle
    with pytest.raises(ConfigError) as error:
        run_program(config)
    assert [k for k, _ in error.value.problems] == [key]
    assert words in error.value.problems[0][1]


def test_next_firing_reads_the_schedule_in_its_time_zone():
    monday = datetime.datetime(2026, 11, 23, 0, 0, tzinfo=datetime.UTC)  # 08:00 in Shanghai
    assert next_firing("0 8 * * 1-5", "Asia/Shanghai", monday).isoformat() == "2026-11-24T08:00:00+08:00"
    assert next_firing("0 8 * * 1-5", "UTC", monday).isoformat() == "2026-11-23T08:00:00+00:00"
    assert next_firing("0 8 31 2 *", "UTC", monday) is None


def run_script(api_url: str, account, *args: str) -> subprocess.CompletedProcess:
    """The pods' real command (`python -c <bootstrap> ...`), pointed at a stand-in API."""
    entry = SCALE if args[0] == "scale" else CHECKS
    return subprocess.run([sys.executable, "-c", bootstrap(entry), *args],
                          capture_output=True, text=True, timeout=30, check=False,
                          env={"JOB_SCRIPT_API": api_url, "JOB_SCRIPT_ACCOUNT": str(account), "PATH": ""})


def test_sleep_and_wake_set_the_scale_and_the_hpa_stands_aside_between(tmp_path):
    (tmp_path / "token").write_text("sa-token\n", encoding="utf-8")
    kube = KubernetesStandIn(replicas=3)
    with BackgroundServer(kube.app()) as api:
        asleep = run_script(api.url, tmp_path, "scale", "inference", "bert-tfserving", "0")
        assert asleep.returncode == 0 and kube.replicas == 0
        # Asleep, the serve gate has nothing to check (a deploy at night does not wait for pods).
        gate = run_script(api.url, tmp_path, "serve", "nowhere.invalid", "8501", "m", "1", "5", "5", "inference",
                          "bert-tfserving")
        assert gate.returncode == 0 and gate.stdout.startswith("asleep")
        # The HPA, as upstream computes it, does nothing while its target has 0 replicas...
        hpa = Controller(HpaSpec(1, 4, 10_000, DEFAULT_UP, DEFAULT_DOWN))
        assert hpa.reconcile(0, kube.replicas, kube.replicas, 99_000) == 0
        awake = run_script(api.url, tmp_path, "scale", "inference", "bert-tfserving", "1")
        assert awake.returncode == 0 and kube.replicas == 1
        # ...and scales on QPS again once the wake set the minimum back.
        assert hpa.reconcile(15, kube.replicas, kube.replicas, 20_000) == 2  # 20 req/s at 10 a pod
    assert [c[:2] for c in kube.scale_calls] == [("PATCH", 0), ("GET", 0), ("PATCH", 1)]
    assert {c[2] for c in kube.scale_calls} == {"Bearer sa-token"}


def test_a_wake_that_finds_no_deployment_fails_loudly(tmp_path):
    (tmp_path / "token").write_text("t", encoding="utf-8")
    with BackgroundServer(KubernetesStandIn(deployment="other").app()) as api:
        result = run_script(api.url, tmp_path, "scale", "inference", "bert-tfserving", "1")
    assert result.returncode == 1 and "deployment inference/bert-tfserving not found" in result.stderr


def test_a_load_run_from_zero_pods_measures_what_the_first_caller_waits(tmp_path):
    """`--from-zero`: the tool scales the Deployment to zero, wakes it at time zero as the wake
    CronJob does, and reports when the first answer came; the 503s before it are the wake's cost,
    not errors of the woken service."""
    from loadtest import __main__ as cli  # noqa: PLC0415 - the load tool, for this test only
    from loadtest.standins import TfServingStandIn, target_flags  # noqa: PLC0415

    kube = KubernetesStandIn(replicas=2)
    kube.state = lambda: (kube.replicas, kube.replicas, 1.0)
    # The pod becomes ready 2 s after the wake (a stand-in cold start).
    serving = TfServingStandIn(ready=lambda: kube.replicas > 0 and time.monotonic() - kube.scaled_at >= 2.0)
    with BackgroundServer(serving.app()) as tf, BackgroundServer(kube.app()) as api:
        cli.main([*target_flags(tf.url, api.url), "--peak-rps", "20", "--warmup", "4", "--ramp", "1",
                  "--hold", "1", "--cooldown", "1", "--sample-period", "0.5", "--out", str(tmp_path), "--no-progress",
                  "--processes", "1", "--from-zero", "--wake-within", "30"])
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    checks = {c["name"]: c for c in report["verdict"]["checks"]}
    assert checks["woke"]["passed"] is True
    assert re.search(r"first answer came [23]s after the wake", checks["woke"]["detail"]), checks["woke"]["detail"]
    assert "HTTP 503" in checks["woke"]["detail"]
    # The woken service then answered everything.
    assert checks["error-rate"]["passed"] is True and checks["error-rate"]["detail"].startswith("0 of ")
    # Asleep first (0), then the wake to minReplicas (1).
    assert [c[1] for c in kube.scale_calls if c[0] == "PATCH"] == [0, 1]

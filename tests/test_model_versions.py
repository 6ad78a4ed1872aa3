"""Model versions: load, switch, roll back and retire without restarting a pod or adding a GPU.

Each step's registrations under the mock engine (what changes and what stays), the order the
version gate imposes, the served-version routing in the manifests, the validation, the prod
retirement path, and the gate's own checks against stand-in servers and Ingresses.
"""

from __future__ import annotations

import copy
import json
import threading
import time

import contract
import kubernetes_validate
import pytest
from conftest import MODEL_VERSION, write_saved_model
from harness import ACK_VERSIONS, NS
from inputs import pool_alone, serving_inputs

from components.jobs import kube_api
from components.network.public_endpoint import ANNOTATION_REWRITE
from components.serving import spec as serving_spec
from components.serving.spec import MODEL_CONFIG_ANNOTATION, MODEL_CONFIG_POLL_SECONDS, RELOAD_ANNOTATION
from components.serving.versions import checks, served
from components.serving.versions.spec import GATE_COMPONENT
from config import ConfigError
from loadtest import __main__ as cli
from loadtest.standins import BackgroundServer, KubernetesStandIn, TfServingStandIn, target_flags
from tools.offline import run_program

NEW = 1700000000
JOB = "kubernetes:batch/v1:Job"


def load_new(cfg: dict, project_dir) -> dict:
    write_saved_model(project_dir / "models" / "chnsenticorp", NEW)
    cfg = copy.deepcopy(cfg)
    cfg[NS + "model"] = {**cfg[NS + "model"], "versions": [MODEL_VERSION, NEW], "serve": MODEL_VERSION}
    return cfg


def serving(cfg: dict, serve: int, versions=(MODEL_VERSION, NEW)) -> dict:
    cfg = copy.deepcopy(cfg)
    cfg[NS + "model"] = {**cfg[NS + "model"], "versions": list(versions), "serve": serve}
    return cfg


def by_name(result, name: str):
    return next(r for r in result.resources if r.name == name)


def template(result) -> dict:
    return result.kind("Deployment")["spec"]["template"]


def rewrite(result) -> str:
    return result.kind("Ingress")["metadata"]["annotations"][ANNOTATION_REWRITE]


def served_file(result) -> str:
    return result.kind("ConfigMap", "bert-tfserving-served")["data"]["version"]


def model_config(result) -> str:
    return result.kind("ConfigMap", "bert-tfserving-config")["data"]["models.config"]


def jobs(result) -> dict[str, str]:
    """The version checks' Jobs (not the edge-log check: tests/test_edge.py)."""
    return {r.name: r.inputs["metadata"]["name"] for r in result.of_type(JOB) if not r.name.startswith("edge-log")}


def test_the_endpoint_serves_the_declared_version_and_the_probe_gates_on_it(pool_config, project_dir):
    result = run_program(load_new(pool_config, project_dir), "prod")
    assert rewrite(result) == f"/v1/models/chnsenticorp/versions/{MODEL_VERSION}:predict"
    assert served_file(result) == str(MODEL_VERSION)
    assert "versions: 1623831335" in model_config(result) and "versions: 1700000000" in model_config(result)
    args = result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--model_config_file_poll_wait_seconds={MODEL_CONFIG_POLL_SECONDS}" in args
    assert result.exports["servedVersion"] == MODEL_VERSION
    assert result.exports["loadedVersions"] == [MODEL_VERSION, NEW]


def test_serve_defaults_to_the_highest_loaded_version(dev_config, project_dir):
    cfg = load_new(dev_config, project_dir)
    del cfg[NS + "model"]["serve"]
    result = run_program(cfg)
    assert rewrite(result).endswith(f"/versions/{NEW}:predict") and result.exports["servedVersion"] == NEW


def test_serve_must_be_a_loaded_version(dev_config):
    cfg = serving(dev_config, NEW, versions=(MODEL_VERSION,))
    with pytest.raises(ConfigError) as error:
        run_program(cfg)
    assert error.value.problems == [("model.serve", f"{NEW} is not one of model.versions ({MODEL_VERSION}): a version "
                                     "is served only once it is loaded; add it to model.versions first")]


# --- in place: a node pool alone (prod without its ECI overflow) -------------------------------------

@pytest.fixture
def pool_config(prod_config) -> dict:
    return pool_alone(prod_config)


def test_in_place_a_load_changes_the_model_config_and_no_pod_template(pool_config, project_dir):
    before = run_program(pool_config, "prod")
    after = run_program(load_new(pool_config, project_dir), "prod")
    steps = contract.plan(before, after)
    assert template(after) == template(before)  # no restart, no extra GPU
    assert "serving-config" in contract.by_op(steps, "update") and "serving-config" not in contract.by_op(
        steps, "replace")
    assert "serving-deployment" not in contract.by_op(steps, "update") | contract.by_op(steps, "replace")
    assert rewrite(after) == rewrite(before) and served_file(after) == served_file(before)
    # The checks run again (new names), the rest of the gate stays.
    assert {"retire-check-job", "serve-gate-job"} <= contract.by_op(steps, "replace")


def test_in_place_a_switch_moves_only_the_route_and_the_served_file(pool_config, project_dir):
    loaded = load_new(pool_config, project_dir)
    before, after = run_program(loaded, "prod"), run_program(serving(loaded, NEW), "prod")
    steps = contract.plan(before, after)
    assert template(after) == template(before)
    assert model_config(after) == model_config(before)
    assert rewrite(after) == f"/v1/models/chnsenticorp/versions/{NEW}:predict"
    assert served_file(after) == str(NEW)
    assert contract.by_op(steps, "update") == {"endpoint-ingress", "serve-gate-served"}
    # The retire check sees the new served version too (a switch while asleep is refused).
    assert contract.by_op(steps, "replace") == {"serve-gate-job", "retire-check-job"}


def test_in_place_a_rollback_is_the_same_kind_of_step_back(pool_config, project_dir):
    loaded = load_new(pool_config, project_dir)
    forward, back = run_program(serving(loaded, NEW), "prod"), run_program(loaded, "prod")
    steps = contract.plan(forward, back)
    assert contract.by_op(steps, "update") == {"endpoint-ingress", "serve-gate-served"}
    assert contract.by_op(steps, "replace") == {"serve-gate-job", "retire-check-job"}
    assert rewrite(back).endswith(f"/versions/{MODEL_VERSION}:predict") and template(back) == template(forward)


def test_in_place_the_gate_orders_a_change(pool_config, project_dir):
    """Retire check, then the model config, the workload, the serve gate, then the served file
    and the Ingress: the endpoint never moves before the gate passed."""
    result = run_program(load_new(pool_config, project_dir), "prod")
    retire, config = by_name(result, "retire-check-job"), by_name(result, "serving-config")
    gate, served = by_name(result, "serve-gate-job"), by_name(result, "serve-gate-served")
    ingress, deployment = by_name(result, "endpoint-ingress"), by_name(result, "serving-deployment")
    assert retire.urn in config.dependencies
    # A component dependency reaches the engine as its children: the whole workload for the gate,
    # the gate and the served file for the Ingress.
    assert {deployment.urn, by_name(result, "serving-pods").urn, config.urn} <= set(gate.dependencies)
    assert gate.urn in served.dependencies
    assert {gate.urn, served.urn} <= set(ingress.dependencies)
    assert config.urn in deployment.dependencies
    # The Deployment does not wait for the served file (optional volume: it exists only after the
    # first gate), so the first deployment cannot deadlock.
    assert served.urn not in deployment.dependencies


# --- rolling: ECI (dev), or a model directory listed once ------------------------------------------

def test_rolling_a_load_rolls_the_pods_with_the_new_config(dev_config, project_dir):
    before = run_program(dev_config)
    after = run_program(load_new(dev_config, project_dir))
    steps = contract.plan(before, after)
    assert "serving-deployment" in contract.by_op(steps, "update")
    changed = {k for k, v in template(after)["metadata"]["annotations"].items()
               if template(before)["metadata"]["annotations"].get(k) != v}
    assert changed == {MODEL_CONFIG_ANNOTATION}
    assert rewrite(after) == rewrite(before)
    assert not after.of_type("kubernetes:core/v1:ConfigMap") or "bert-tfserving-served" not in {
        m["metadata"]["name"] for m in after.manifests() if m["kind"] == "ConfigMap"}


def test_rolling_a_switch_rolls_the_pods_ready_on_the_new_version_then_moves_the_route(dev_config, project_dir):
    loaded = load_new(dev_config, project_dir)
    before, after = run_program(loaded), run_program(serving(loaded, NEW))
    steps = contract.plan(before, after)
    assert contract.by_op(steps, "update") == {"endpoint-ingress", "serving-deployment"}
    probe = template(after)["spec"]["containers"][0]["readinessProbe"]["httpGet"]
    assert probe["path"] == f"/v1/models/chnsenticorp/versions/{NEW}/metadata"
    assert model_config(after) == model_config(before)
    gate, ingress = by_name(after, "serve-gate-job"), by_name(after, "endpoint-ingress")
    assert by_name(after, "serving-deployment").urn in gate.dependencies and gate.urn in ingress.dependencies


@pytest.mark.parametrize("poll, overflow, in_place", [(0, False, False), (1, False, True), (60, False, True),
                                                     (60, True, False)],
                         ids=["listed-once", "poll-1", "poll-60", "eci-overflow"])
def test_a_directory_listed_once_or_pods_on_eci_roll_on_a_node_pool_too(prod_config, project_dir, poll, overflow,
                                                                        in_place):
    """In place only where every server lists its directory again and reads the refreshed file:
    with ECI overflow some pods run on ECI, which is not shown to refresh a mounted ConfigMap."""
    prod_config[NS + "serving"] = {**prod_config[NS + "serving"], "fileSystemPollSeconds": poll}
    prod_config[NS + "capacity"]["nodePool"]["eciOverflow"] = overflow
    before = run_program(prod_config, "prod")
    after = run_program(load_new(prod_config, project_dir), "prod")
    rolled = "serving-deployment" in contract.by_op(contract.plan(before, after), "update")
    assert rolled is not in_place


def test_raising_model_reload_restarts_the_pods_and_nothing_else(prod_config):
    before = run_program(prod_config, "prod")
    prod_config[NS + "model"] = {**prod_config[NS + "model"], "reload": 1}
    after = run_program(prod_config, "prod")
    steps = contract.plan(before, after)
    assert contract.by_op(steps, "update") == {"serving-deployment"}
    assert template(after)["metadata"]["annotations"][RELOAD_ANNOTATION] == "1"
    assert template(before)["metadata"]["annotations"][RELOAD_ANNOTATION] == "0"


def test_the_provider_edits_config_maps_in_place(rendered):
    provider = rendered[("dev", False)].one("pulumi:providers:kubernetes")
    assert provider.inputs["enableConfigMapMutable"] in (True, "true")


@pytest.mark.parametrize("overflow", [True, False], ids=["as-shipped", "pool-alone"])
def test_retiring_a_version_in_prod_unloads_and_deletes_it_without_tripping_protection(prod_config, project_dir,
                                                                                       overflow):
    prod_config[NS + "capacity"]["nodePool"]["eciOverflow"] = overflow
    loaded = load_new(prod_config, project_dir)
    switched = serving(loaded, NEW)
    before = run_program(switched, "prod")
    after = run_program(serving(switched, NEW, versions=(NEW,)), "prod")
    steps = contract.plan(before, after)
    deleted = contract.by_op(steps, "delete", "alicloud:oss/bucketObject:BucketObject")
    assert deleted and all(n.startswith(f"model-v{MODEL_VERSION}/") for n in deleted)
    old = {r.urn: r for r in before.resources}
    assert not [old[u].name for u, s in steps.items() if s.op == "delete" and old[u].protect]
    assert "versions: 1623831335" not in model_config(after)
    # Rolled with the new config where pods run on ECI, unloaded in place on the pool alone.
    assert (template(after) == template(before)) is not overflow
    assert (template(after)["metadata"]["annotations"].get(MODEL_CONFIG_ANNOTATION)
            != template(before)["metadata"]["annotations"].get(MODEL_CONFIG_ANNOTATION)) is overflow
    assert rewrite(after) == rewrite(before)
    # The retire check runs with the new list (it refuses to unload what the live Ingress serves).
    job = after.kind("Job", jobs(after)["retire-check-job"])
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][3:] == [
        "retire", "inference", "bert-tfserving", "chnsenticorp", str(NEW), str(NEW), "bert-tfserving", "-"]


def test_the_gate_objects_validate_strictly(dev_config, project_dir):
    result = run_program(load_new(dev_config, project_dir))
    for version in ACK_VERSIONS:
        for manifest in result.manifests():
            if manifest["kind"] in ("Job", "Role", "RoleBinding", "ServiceAccount", "Service", "ConfigMap"):
                kubernetes_validate.validate(manifest, version, strict=True)


def test_the_gate_jobs_run_once_as_non_root_with_an_account_that_only_reads(dev_config, project_dir):
    result = run_program(load_new(dev_config, project_dir))
    role = result.kind("Role", "bert-tfserving-version-gate")
    # The live Ingress (the retire check) and whether the Deployment sleeps (the serve gate).
    assert role["rules"] == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
         # The served one, and its canary's (read only while the service sleeps).
         "resourceNames": [result.kind("Ingress")["metadata"]["name"], "bert-tfserving-canary"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"],
         "resourceNames": [result.kind("Deployment")["metadata"]["name"]], "verbs": ["get"]}]
    for kind in jobs(result).values():
        job = result.kind("Job", kind)
        pod = job["spec"]["template"]["spec"]
        assert job["spec"]["backoffLimit"] == 0
        # After a failed check (a version that did not load), the next update runs it again.
        assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["containers"][0]["image"] == MIRRORED_CHECK_IMAGE
        assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == GATE_COMPONENT
        assert pod["automountServiceAccountToken"] is True
        assert pod["serviceAccountName"] == "bert-tfserving-version-gate"
        assert len(kind) <= 63
    # The checks' pods are never taken for serving pods (Service, PDB, HPA selectors).
    selector = result.kind("Deployment")["spec"]["selector"]["matchLabels"]
    for kind in jobs(result).values():
        labels = result.kind("Job", kind)["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= labels.items()
    gate = by_name(result, "serve-gate-job")
    # Pulumi waits for the pod's start and image pull (up to 30 minutes, never the check's own
    # time), then the check: on ECI the loads alone (15 minutes and two 30 s retries).
    assert gate.custom_timeouts == {"create": "47m", "update": "47m"}
    assert result.kind("Job", jobs(result)["serve-gate-job"])["spec"]["activeDeadlineSeconds"] == 1800 + 960
    assert by_name(result, "retire-check-job").custom_timeouts == {"create": "32m", "update": "32m"}


# --- the checks themselves (components/serving/versions/checks.py) ------------------------------------------


def ingress_serving(version: int) -> dict:
    return {"metadata": {"annotations": {checks.REWRITE: f"/v1/models/m/versions/{version}:predict"}}}


@pytest.mark.parametrize("ingress, keep, problem", [
    (None, [2], None),                                    # first deployment: no Ingress yet
    (ingress_serving(1), [1, 2], None),                   # loading 2 beside the served 1
    (ingress_serving(2), [2], None),                      # retiring 1 once 2 is served
    (ingress_serving(1), [2], "model.versions drops version 1, which the endpoint serves now"),
])
def test_the_retire_check_refuses_to_unload_the_version_the_endpoint_serves(ingress, keep, problem):
    found = checks.retire_problem(ingress, "m", keep)
    assert (found if found is None else found.split(":")[0]) == problem


def server(states: dict[int, tuple[str, str]]):
    """A stand-in server's answer to GET /v1/models/m/versions/<v>, from version -> (state, error),
    the error written `CODE: message` (util/status_util.cc ToStatusProto puts them apart)."""
    def get(url: str):
        version = int(url.rsplit("/", 1)[1])
        if version not in states:
            return 404, {"error": f"Servable not found for request: Specific(m, {version})"}
        state, error = states[version]
        code, message = error.split(": ", 1) if error else ("OK", "")
        return 200, {"model_version_status": [{"version": str(version), "state": state,
                                               "status": {"error_code": code, "error_message": message}}]}
    return get


def test_the_serve_gate_passes_when_every_pod_has_every_version():
    pods = {"10.0.0.1:8501": server({1: ("AVAILABLE", ""), 2: ("AVAILABLE", "")}),
            "10.0.0.2:8501": server({1: ("AVAILABLE", ""), 2: ("AVAILABLE", "")})}
    get = lambda url: pods[url.split("/")[2]](url)  # noqa: E731
    assert checks.serve_problem(lambda: sorted(pods), get, "m", [2, 1], timeout=0) is None


def test_the_serve_gate_waits_for_a_loading_version_then_passes():
    states = {1: ("AVAILABLE", ""), 2: ("LOADING", "")}
    clock = [0.0]

    def wait(seconds):
        clock[0] += seconds
        states[2] = ("AVAILABLE", "")

    problem = checks.serve_problem(lambda: ["10.0.0.1:8501"], lambda url: server(states)(url), "m", [2],
                                          timeout=60, wait=wait, clock=lambda: clock[0])
    assert problem is None and clock[0] == 5


def test_a_version_that_failed_to_load_is_reported_by_pod_and_the_switch_stops():
    pods = {"10.0.0.1:8501": server({1: ("AVAILABLE", ""), 2: ("END", "NOT_FOUND: saved_model.pb")}),
            "10.0.0.2:8501": server({1: ("AVAILABLE", "")})}
    get = lambda url: pods[url.split("/")[2]](url)  # noqa: E731
    clock = [0.0]
    problem = checks.serve_problem(lambda: sorted(pods), get, "m", [2, 1], timeout=10,
                                          wait=lambda s: clock.__setitem__(0, clock[0] + s), clock=lambda: clock[0])
    assert problem is not None
    assert "10.0.0.1:8501 version 2: END (NOT_FOUND: saved_model.pb)" in problem
    assert "10.0.0.2:8501 version 2: HTTP 404: Servable not found" in problem
    assert "version 1" not in problem.split("(", 1)[1]  # only what is wrong is listed
    assert problem.endswith("the endpoint keeps serving the version it served before this update")


MIRRORED_CHECK_IMAGE = "registry-vpc.cn-beijing.aliyuncs.com/elastic-inference/python:3.12-slim-bookworm"
"""The shipped stacks' check image: `serving.checkImage` through their `registry.mirror`."""


def test_the_check_image_can_come_from_a_mirror(dev_config):
    mirror = "registry-vpc.cn-beijing.aliyuncs.com/acme/python:3.12-slim-bookworm"
    dev_config[NS + "serving"] = {**dev_config[NS + "serving"], "checkImage": mirror}
    result = run_program(dev_config)
    images = {m["spec"]["template"]["spec"]["containers"][0]["image"] for m in result.manifests() if m["kind"] == "Job"}
    assert images == {mirror}
    dev_config[NS + "serving"]["checkImage"] = "python:latest"
    with pytest.raises(ConfigError) as error:
        run_program(dev_config)
    assert [key for key, _ in error.value.problems] == ["serving.checkImage"]


# --- the load test watching a switch (loopback stand-ins) ------------------------------------------


def watch_a_switch(tmp_path, loaded: frozenset, to: int) -> tuple[dict, TfServingStandIn]:
    """A load run during which the (stand-in) Ingress switches from MODEL_VERSION to `to`, 1.5 s
    after the watcher first read the old route, however late that read comes on a loaded machine
    (the run goes on for seconds of reads and requests after it)."""
    first_read: list[float] = []

    def switched() -> bool:
        return bool(first_read) and time.monotonic() - first_read[0] >= 1.5

    def served() -> int:
        return to if switched() else MODEL_VERSION

    def watched() -> int:
        first_read[:] = first_read or [time.monotonic()]
        return served()

    serving = TfServingStandIn(latency=0.005, loaded=loaded, served=served)
    kube = KubernetesStandIn(state=lambda: (1, 1, 2.0), served=watched)
    with BackgroundServer(serving.app()) as tf, BackgroundServer(kube.app()) as api:
        # The watcher's first read can come seconds late on a loaded machine: a hold that outlasts it.
        cli.main([*target_flags(tf.url, api.url), "--peak-rps", "40", "--warmup", "1", "--ramp", "1", "--hold", "6",
                  "--cooldown", "1", "--sample-period", "0.5", "--out", str(tmp_path), "--no-progress",
                  "--processes", "1"])
    return json.loads((tmp_path / "report.json").read_text(encoding="utf-8")), serving


def test_the_load_test_watches_a_switch_with_no_failed_request(tmp_path):
    report, serving = watch_a_switch(tmp_path, frozenset({MODEL_VERSION, NEW}), NEW)
    assert report["errors_by_cause"] == {}
    served = [s["served_version"] for s in report["samples"] if s["error"] is None]
    assert served[0] == MODEL_VERSION and served[-1] == NEW
    assert {row["served_version"] for row in report["timeline"]} >= {MODEL_VERSION, NEW}
    # Both versions answered, and every request was answered by one of them.
    assert serving.answered[MODEL_VERSION] > 0 and serving.answered[NEW] > 0
    assert sum(serving.answered.values()) == sum(row["scheduled"] for row in report["timeline"])


def test_a_switch_to_a_version_that_is_not_loaded_shows_as_failures(tmp_path):
    """The control: what the gate prevents is visible to the load test."""
    report, serving = watch_a_switch(tmp_path, frozenset({MODEL_VERSION}), NEW)
    assert report["errors_by_cause"].get("HTTP 404", 0) > 0 and serving.answered[NEW] == 0


def test_the_script_trusts_the_clusters_own_ca_over_https(monkeypatch, tmp_path):
    """In a pod the API server's certificate is signed by the cluster's CA, which only the service
    account's ca.crt carries: the system's CAs would refuse it."""
    (tmp_path / "token").write_text("t", encoding="utf-8")
    seen = {}

    def context(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop before any connection")

    monkeypatch.setattr(kube_api, "ACCOUNT", str(tmp_path))
    monkeypatch.setattr(kube_api, "API", "https://kubernetes.default.svc")
    monkeypatch.setattr(kube_api.ssl, "create_default_context", context)
    with pytest.raises(RuntimeError):
        kube_api.api("/apis/apps/v1/namespaces/n/deployments/d/scale")
    assert seen == {"cafile": f"{tmp_path}/ca.crt"}


def test_readiness_asks_for_the_served_version_read_from_its_file(tmp_path):
    """The probe's shell: with the served-version file it asks for that version's metadata,
    without it (the first deployment) for the newest version's. Run with a stand-in server."""
    import subprocess  # noqa: PLC0415 - only this test runs the probe's shell
    from http.server import BaseHTTPRequestHandler, HTTPServer  # noqa: PLC0415

    asked: list[str] = []

    class Server(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append(self.path)
            self.send_response(200 if self.path.endswith("/versions/3/metadata") else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    script = served.served_probe("bert", 8501)["exec"]["command"][2]
    script = script.replace(served.SERVED_DIR, str(tmp_path)).replace(
        "127.0.0.1/8501", f"127.0.0.1/{httpd.server_address[1]}")
    try:
        def probe() -> int:
            return subprocess.run(["bash", "-c", script], check=False, timeout=10).returncode

        assert probe() != 0 and asked[-1] == "/v1/models/bert/metadata"
        (tmp_path / served.SERVED_FILE).write_text("3", encoding="utf-8")
        assert probe() == 0 and asked[-1] == "/v1/models/bert/versions/3/metadata"
        (tmp_path / served.SERVED_FILE).write_text("4", encoding="utf-8")
        assert probe() != 0 and asked[-1] == "/v1/models/bert/versions/4/metadata"
    finally:
        httpd.shutdown()


def test_the_model_config_keeps_its_name_when_the_versions_change():
    """Edited in place (the server polls the file), never renamed: a new name would change the pod
    template and restart every pod."""
    a = serving_spec.config_map_manifest(serving_inputs(versions=(1,), served_version=1))
    b = serving_spec.config_map_manifest(serving_inputs(versions=(1, 2), served_version=1))
    assert a["metadata"]["name"] == b["metadata"]["name"] == "bert-config"
    assert a["data"] != b["data"]

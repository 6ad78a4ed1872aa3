"""What users depend on that no other test pinned (found by mutation testing, tools/mutants.py):
each test states a behaviour as the user sees it, so a change to it fails here."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from harness import ROOT, run_expecting_error, run_program
from pydantic import ValidationError

from config import ConfigError, images, rules
from config.instance_types import CATALOG
from config.rules import parse_quantity
from config.schema import StackConfig
from policy import policies
from tools import render

NS = "elastic-inference:"


# --- the serving pods ---------------------------------------------------------------------------

def test_the_container_is_hardened(dev_config):
    """No privilege escalation, no capabilities, read-only root, non-root: what the README claims
    for node pools (and, in part, for ECI)."""
    container = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    # With the root read-only, /tmp must be a writable volume of its own.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts and not mounts["/tmp"].get("readOnly", False)


def test_pods_are_guaranteed_their_resources(dev_config):
    """Requests equal limits for CPU, memory and GPU (QoS Guaranteed): a node under pressure
    evicts other pods first, and the scheduler places each pod where all of it fits."""
    resources = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"},
                         "limits": {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"}}


def test_metrics_scrapers_find_the_metrics_where_tf_serving_serves_them(dev_config):
    """The pods' Prometheus annotations point at the path and port the monitoring config turns on."""
    result = run_program(dev_config)
    template = result.kind("Deployment")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    monitoring = result.kind("ConfigMap", "bert-tfserving-config")["data"]["monitoring.config"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert f'path: "{annotations["prometheus.io/path"]}"' in monitoring
    ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
    assert annotations["prometheus.io/port"] == str(int(ports["http"]))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pods_spread_across_zones_without_blocking(dev_config, prod_config, stack):
    """README: zone spreading, so a spot reclaim in one zone keeps the others serving; best effort
    (ScheduleAnyway), so a zone short of GPUs never leaves a pod Pending."""
    config = {"dev": dev_config, "prod": prod_config}[stack]
    template = run_program(config, stack).kind("Deployment")["spec"]["template"]
    (spread,) = template["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["maxSkew"], spread["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone", 1, "ScheduleAnyway")
    assert spread["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


def test_the_pod_holds_no_kubernetes_credential(dev_config):
    """The server never calls the Kubernetes API: no service-account token is mounted."""
    pod = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_a_rollout_never_drops_a_serving_pod_first(dev_config):
    """A new pod is ready before an old one goes (the default 25% unavailable would drop
    capacity mid-rollout), one extra GPU pod at a time."""
    strategy = run_program(dev_config).kind("Deployment")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_ports_are_tcp_and_named(dev_config):
    result = run_program(dev_config)
    container = result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "grpc", "containerPort": 8500, "protocol": "TCP"},
                                  {"name": "http", "containerPort": 8501, "protocol": "TCP"}]
    assert {p["protocol"] for p in result.kind("Service", "bert-tfserving")["spec"]["ports"]} == {"TCP"}


def test_the_autoscaler_may_empty_a_node_under_a_serving_pod(dev_config):
    """The /tmp emptyDir would otherwise stop the cluster autoscaler from removing the node:
    scale-in must be able to give GPU nodes back."""
    annotations = run_program(dev_config).kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"


def test_the_stack_outputs_are_the_documented_ones(dev_config, prod_config):
    """README "What a stack creates" lists them; scripts and the load test read them by name."""
    documented = {"endpointUrl", "predictUrl", "grpcAddress", "namespace", "deploymentName", "hpaName", "bucket",
                  "ossEndpoint", "modelUri", "servedVersion", "loadedVersions", "capacityMode", "capacity",
                  "nodePoolId"}
    dev, prod = run_program(dev_config), run_program(prod_config, "prod")
    assert set(dev.exports) == set(prod.exports) == documented
    assert dev.exports["capacityMode"] == "eci" and dev.exports["nodePoolId"] is None
    assert prod.exports["capacityMode"] == "nodepool" and prod.exports["nodePoolId"]
    assert "ECI" in dev.exports["capacity"] and "ecs.gn6i-c8g1.2xlarge" in prod.exports["capacity"]


@pytest.mark.parametrize("jit", [False, True], ids=["native", "ptx-jit"])
def test_a_rollout_is_not_declared_failed_before_a_new_pod_could_be_ready(dev_config, jit):
    """Kubernetes' progress deadline is at least a new pod's budget (node or ECI provisioning, then
    the startup probe), the same budget `pulumi up` waits: a slow but healthy cold start is not a
    failed rollout."""
    if jit:
        dev_config[NS + "serving"].update(image="registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu",
                                          imageBuild={"cuda": "12.2", "kernels": ["compute_70"]})
    result = run_program(dev_config)
    deployment = result.one("kubernetes:apps/v1:Deployment")
    spec = result.manifest(deployment)["spec"]
    probe = spec["template"]["spec"]["containers"][0]["startupProbe"]
    assert spec["progressDeadlineSeconds"] >= probe["periodSeconds"] * probe["failureThreshold"]
    assert spec["progressDeadlineSeconds"] == 60 * int(deployment.custom_timeouts["create"].removesuffix("m"))


def test_one_pod_at_a_time_may_be_disrupted(prod_config):
    """A node drain or spot reclaim takes at most one serving pod at a time."""
    result = run_program(prod_config, "prod")
    pdb, deployment = result.kind("PodDisruptionBudget"), result.kind("Deployment")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in pdb["spec"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_a_stopping_pod_drains_before_it_goes(dev_config):
    """README: a 15 s preStop delay (the ingress drops the endpoint first) inside a 60 s grace
    period, so in-flight requests finish."""
    pod = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]
    assert pod["containers"][0]["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "15"]}}
    assert pod["terminationGracePeriodSeconds"] == 60


@pytest.mark.parametrize("kind", ["HorizontalPodAutoscaler", "Ingress", "Deployment", "Service"])
def test_objects_carry_the_recommended_labels(dev_config, kind):
    """`kubectl get -l app.kubernetes.io/part-of=...` finds every object of the service."""
    labels = run_program(dev_config).kind(kind, "bert-tfserving" if kind == "Service" else None)["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "tensorflow-serving"
    assert labels["app.kubernetes.io/instance"] == "bert-tfserving"
    assert labels["app.kubernetes.io/part-of"] == "elastic-inference"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"


def test_the_namespace_says_which_project_it_belongs_to(dev_config):
    labels = run_program(dev_config).kind("Namespace")["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/part-of": "elastic-inference"}


def test_probes_are_the_documented_ones(dev_config):
    """README "Probes": readiness every 10 s (5 s timeout, out after 3 misses), liveness every 20 s
    (5 s timeout, restart after 3 misses: a minute without an answer), startup every 10 s for the
    start-up budget."""
    container = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    timing = {probe: {k: container[probe][k] for k in ("periodSeconds", "timeoutSeconds", "failureThreshold")}
              for probe in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert timing == {
        "readinessProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
        "startupProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 90},
    }


@pytest.mark.parametrize("seconds,accepted", [(0, True), (86400, True), (86401, False), (-1, False)])
def test_file_system_poll_seconds_edges(dev_config, seconds, accepted):
    dev_config[NS + "serving"]["fileSystemPollSeconds"] = seconds
    if accepted:
        args = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--file_system_poll_wait_seconds={seconds}" in args
    else:
        error, result = run_expecting_error(dev_config)
        assert "serving.fileSystemPollSeconds" in str(error) and not result.resources


# --- memory and hosts as the user writes them ---------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("12Gi", 12 * 2**30), ("12288Mi", 12 * 2**30), ("12582912Ki", 12 * 2**30), ("1Ti", 2**40),
    ("13G", 13e9), ("13000M", 13e9), ("13000000k", 13e9), ("12884901888", 12 * 2**30), ("500m", 0.5),
    ("1.5Gi", 1.5 * 2**30), ("1P", 1e15), ("1Pi", 2**50), ("1E", 1e18), ("1Ei", 2**60), ("1T", 1e12),
])
def test_every_quantity_unit_means_what_kubernetes_says(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("memory,fits", [("12288Mi", True), ("13G", True), ("12884901888", True),
                                         ("200Gi", False), ("214748364800", False)])
def test_memory_in_any_unit_is_checked_against_the_instance(dev_config, memory, fits):
    dev_config[NS + "serving"]["memory"] = memory
    if fits:
        assert run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0][
            "resources"]["limits"]["memory"] == memory
    else:
        error, result = run_expecting_error(dev_config)
        assert isinstance(error, ConfigError) and "capacity.instanceTypes[0]" in str(error)
        assert not result.resources


@pytest.mark.parametrize("host", ["bert.example.com:443", "bert.example.com/", "https://bert.example.com",
                                  "Bert.example.com", "localhost", "bert.example.com."])
def test_an_ingress_host_is_a_bare_dns_name(dev_config, host):
    dev_config[NS + "ingress"]["host"] = host
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError) and "ingress.host" in str(error)
    assert not result.resources


# --- credentials and teardown --------------------------------------------------------------------

def test_reader_identities_are_force_deleted(dev_config, prod_config):
    """Destroy never stalls on a user that still has keys, a role or policy still attached."""
    dev = run_program(dev_config)
    assert dev.one("alicloud:ram/user:User").inputs["force"] is True
    assert dev.one("alicloud:ram/policy:Policy").inputs["force"] is True
    prod_config[NS + "storage"]["auth"] = "rrsa"
    assert run_program(prod_config, "prod").one("alicloud:ram/role:Role").inputs["force"] is True


def test_the_reader_key_secret_is_encrypted_in_the_state(dev_config):
    """The access key's secret is an output of the key resource: the engine must store it
    encrypted in the stack's state, not only in the Kubernetes Secret."""
    key = run_program(dev_config).one("alicloud:ram/accessKey:AccessKey")
    assert "secret" in key.additional_secret_outputs


def test_rrsa_role_gets_the_read_policy(prod_config):
    prod_config[NS + "storage"]["auth"] = "rrsa"
    result = run_program(prod_config, "prod")
    policy, role = result.one("alicloud:ram/policy:Policy"), result.one("alicloud:ram/role:Role")
    attachment = result.one("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs == {"roleName": role.inputs["roleName"], "policyName": policy.inputs["policyName"],
                                 "policyType": "Custom"}
    assert "oss:GetObject" in json.dumps(json.loads(policy.inputs["policyDocument"]))


def test_ram_documents_carry_the_policy_language_version(prod_config):
    """RAM accepts a policy or trust document only with "Version": "1" (its policy grammar)."""
    prod_config[NS + "storage"]["auth"] = "rrsa"
    result = run_program(prod_config, "prod")
    for registration, key in ((result.one("alicloud:ram/policy:Policy"), "policyDocument"),
                              (result.one("alicloud:ram/role:Role"), "assumeRolePolicyDocument")):
        document = json.loads(registration.inputs[key])
        assert set(document) == {"Version", "Statement"} and document["Version"] == "1", key


def test_the_claim_binds_to_the_volume_it_was_made_for(dev_config):
    """The claim asks for no more than the volume offers, in a quantity Kubernetes parses (a
    static OSS volume has no real size: the figure only has to match)."""
    result = run_program(dev_config)
    offered = result.kind("PersistentVolume")["spec"]["capacity"]["storage"]
    asked = result.kind("PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"]
    assert asked == offered and parse_quantity(offered) == 100 * 2**30


def test_the_bucket_is_tagged_as_this_stacks(dev_config, prod_config):
    """The tags are how a later run recognises its own bucket (config/account.py)."""
    assert run_program(dev_config).one("alicloud:oss/bucket:Bucket").inputs["tags"] == {
        "app": "elastic-inference", "stack": "dev", "managed-by": "pulumi"}
    assert run_program(prod_config, "prod").one("alicloud:oss/bucket:Bucket").inputs["tags"]["stack"] == "prod"


def test_compensate_with_on_demand_defaults_to_true(prod_config):
    """The README's default, with the key left out of the stack file."""
    del prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"]
    pool = run_program(prod_config, "prod").one("alicloud:cs/nodePool:NodePool").inputs
    assert pool["compensateWithOnDemand"] is True


# --- the offline render -------------------------------------------------------------------------

def test_the_render_shows_whole_objects_and_the_plan_keeps_timeouts(tmp_path):
    """A reviewer reads the render instead of a live preview: every field the program sets is
    there (spec, data), and the plan keeps what changes how the engine acts (timeouts, protect)."""
    target = render.render("prod", tmp_path, placeholder=True)
    docs = {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all((target / "kubernetes.yaml").read_text(encoding="utf-8"))}
    result = render.evaluate("prod", placeholder=True)
    for manifest in result.manifests():
        if manifest["kind"] == "Secret":
            continue
        assert docs[(manifest["kind"], manifest["metadata"]["name"])] == json.loads(json.dumps(manifest)), \
            manifest["kind"]
    assert docs[("Deployment", "bert-tfserving")]["spec"]["template"]["spec"]["containers"]
    assert "monitoring.config" in docs[("ConfigMap", next(n for k, n in docs if k == "ConfigMap"))]["data"]
    plan = json.loads((target / "plan.json").read_text(encoding="utf-8"))
    # The reader is told the object list is illustrative.
    assert plan["modelFiles"] == "placeholder"
    fields = {"type", "name", "parent", "protect", "retainOnDelete", "dependsOn", "customTimeouts",
              "ignoreChanges", "replaceOnChanges", "inputs"}
    assert all(set(r) == fields for r in plan["resources"])
    assert len({(r["type"], r["name"]) for r in plan["resources"]}) == len(plan["resources"])
    deployment = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    assert deployment["customTimeouts"] == {"create": "40m", "update": "40m"}
    bucket = next(r for r in plan["resources"] if r["type"] == "alicloud:oss/bucket:Bucket")
    assert bucket["protect"] is True


def test_the_pool_repairs_nodes_but_never_upgrades_them_on_its_own(prod_config):
    """Auto repair replaces broken GPU nodes; auto upgrade and CVE patching would restart the
    serving pods outside any rollout, so they stay off (an operator upgrades on purpose)."""
    pool = run_program(prod_config, "prod").one("alicloud:cs/nodePool:NodePool").inputs
    assert pool["management"] == {"enable": True, "autoRepair": True, "autoUpgrade": False, "autoVulFix": False}


def test_policy_config_is_checked_against_its_schema():
    """A wrong policy-pack config (tlsStacks not a list of stack names) is refused by the schema
    the pack declares, as the Pulumi CLI validates it, instead of being read as something else."""
    schemas = {g.name: {"type": "object", "properties": g.config} for g in policies.GUARDRAILS if g.config}
    validator = jsonschema.Draft7Validator(schemas["ingress-host-and-tls"])
    assert validator.is_valid({"tlsStacks": ["prod", "staging"]})
    assert not validator.is_valid({"tlsStacks": [1]})
    assert not validator.is_valid({"tlsStacks": "prod"})
    eci = jsonschema.Draft7Validator(schemas["hpa-within-capacity"])
    assert eci.is_valid({"eciMaxReplicas": 30}) and not eci.is_valid({"eciMaxReplicas": "30"})


@pytest.mark.parametrize("image,gpus,refused", [
    ("registry-vpc.cn-beijing.aliyuncs.com:5000/gpu-team/serving:2.19.1", 0, False),
    ("tensorflow/serving:2.19.1-gpu", 0, True),
    ("registry-vpc.cn-beijing.aliyuncs.com:5000/acme/serving:2.19.1-gpu", 0, True),
], ids=["cpu-tag-in-a-gpu-named-repo", "gpu-tag", "gpu-tag-behind-a-port"])
def test_a_gpu_image_needs_a_gpu_judged_by_its_tag(dev_config, image, gpus, refused):
    dev_config[NS + "serving"].update(image=image, gpus=gpus)
    if refused:
        error, _ = run_expecting_error(dev_config)
        assert "serving.gpus: must be at least 1 for the GPU image" in str(error)
    else:
        result = run_program(dev_config)
        assert "nvidia.com/gpu" not in result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0][
            "resources"]["limits"]


def stack_config(config: dict) -> StackConfig:
    """A stack file's config as the schema reads it (for calling config/rules.py directly)."""
    return StackConfig.model_validate({k.removeprefix(NS): v for k, v in config.items() if k.startswith(NS)})


def test_every_catalog_row_is_usable(dev_config):
    """Each listed type is one a pool can use: a small pod fits it, and the image drives its GPU
    or the refusal names exactly that GPU."""
    for name in CATALOG:
        dev_config[NS + "capacity"] = {"mode": "nodepool", "instanceTypes": [name],
                                       "nodePool": {"keyName": "gpu-nodes", "maxSize": 10}}
        dev_config[NS + "serving"].update(cpu="1", memory="1Gi", image="tensorflow/serving:2.19.1-gpu")
        dev_config[NS + "autoscaling"]["maxReplicas"] = 1
        assert rules.check_capacity(stack_config(dev_config)) == [], name


def test_eci_refuses_an_image_needing_a_driver_it_does_not_offer(dev_config, monkeypatch):
    """Should a build need a branch above ECI's newest (550), eci mode refuses it, naming the image."""
    monkeypatch.setitem(images.DRIVER_CUDA, 570, (12, 8))
    dev_config[NS + "serving"].update(image="registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu",
                                      imageBuild={"cuda": "12.8", "kernels": ["compute_70"]})
    problems, _ = rules.check_gpu_image(stack_config(dev_config))
    assert problems == [("serving.image", "registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu needs NVIDIA "
                                          "driver branch 570; ECI offers 470, 535, 550 for these families")]


def test_a_scalar_key_left_out_takes_the_project_files_default(dev_config):
    """`protect` is declared with its default in Pulumi.yaml; a stack file may leave it out."""
    del dev_config[NS + "protect"]
    assert run_program(dev_config).one("alicloud:oss/bucket:Bucket").protect is False


def test_one_problem_reads_in_the_singular(dev_config):
    dev_config[NS + "serving"]["gpus"] = 9
    error, _ = run_expecting_error(dev_config)
    assert str(error).startswith("stack configuration has 1 problem (nothing was created):\n  - serving.gpus: ")


def test_liveness_asks_the_model_status_not_the_root(dev_config):
    """TF Serving answers 404 at `/`: a liveness probe there would restart healthy pods."""
    container = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/v1/models/chnsenticorp", "port": "http"}


def test_the_read_policy_allows_and_says_what_it_is_for(dev_config):
    result = run_program(dev_config)
    policy = result.one("alicloud:ram/policy:Policy").inputs
    assert all(s["Effect"] == "Allow" for s in json.loads(policy["policyDocument"])["Statement"])
    bucket = result.exports["bucket"]
    assert policy["description"] == f"Read-only access to oss://{bucket}/models/chnsenticorp for the model volume"


def test_the_readme_lists_every_guardrail_by_its_name():
    """Users find a violation's policy in the README's table by the name the CLI prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("| policy | blocks |")
    table = readme[start:readme.index("\n\n", start)]
    listed = re.findall(r"^\| `([a-z-]+)` \| ", table, re.MULTILINE)
    assert listed == [g.name for g in policies.GUARDRAILS]


def test_ram_identities_say_what_they_are_for(dev_config, prod_config):
    """In the RAM console the reader's user, policy and role are told apart by their suffix."""
    dev = run_program(dev_config)
    assert dev.one("alicloud:ram/user:User").inputs["name"].endswith("-oss-reader")
    assert dev.one("alicloud:ram/policy:Policy").inputs["policyName"].endswith("-oss-read")
    prod_config[NS + "storage"]["auth"] = "rrsa"
    assert run_program(prod_config, "prod").one("alicloud:ram/role:Role").inputs["roleName"].endswith("-oss-rrsa")


def test_validated_settings_cannot_be_changed_afterwards(dev_config):
    """Config is read and validated once; nothing downstream can alter what was validated."""
    cfg = stack_config(dev_config)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.autoscaling.max_replicas = 400  # type: ignore[misc]


def test_content_named_objects_end_in_an_eight_digit_hash(dev_config):
    """The volume and the version gate's Jobs are named by a hash of their content: a change of
    the scheme would rename (and replace) them on every existing stack. The model config is not:
    it is edited in place."""
    result = run_program(dev_config)
    names = [result.kind("PersistentVolume")["metadata"]["name"]]
    names += [m["metadata"]["name"] for m in result.manifests() if m["kind"] == "Job"]
    assert len(names) == 3 and all(re.search(r"-[0-9a-f]{8}$", n) for n in names), names
    assert result.kind("ConfigMap", "bert-tfserving-config")


def test_the_reader_secret_is_an_opaque_secret(dev_config):
    assert run_program(dev_config).kind("Secret")["type"] == "Opaque"


def test_render_warnings_go_to_stderr(prod_config, tmp_path, capsys):
    """What `pulumi preview` would warn about reaches the reviewer on stderr, apart from the result."""
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = False
    stack_file = tmp_path / "Pulumi.warned.yaml"
    stack_file.write_text(yaml.safe_dump({"config": prod_config}))
    assert render.main(["--stack", "warned", "--stack-file", str(stack_file), "--out", str(tmp_path),
                        "--placeholder-model"]) == 0
    captured = capsys.readouterr()
    assert "warning: capacity.nodePool.compensateWithOnDemand: false" in captured.err
    assert "warning: " not in captured.out

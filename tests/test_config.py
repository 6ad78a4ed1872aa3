"""Every config rule: a wrong value stops the program with a message naming the dotted key,
and nothing at all (not even a provider) is registered."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import MODEL_VERSION
from harness import NS, run_expecting_error, run_program
from inputs import stack_config
from pydantic import ValidationError

from config import ConfigError
from config.derived import default_bucket_name, parse_model_source
from config.image_ref import image_pin_problem
from config.loader import PROVIDER_REGIONS, load_project_schema
from config.patterns import OSS_BUCKET
from config.rules.quantities import parse_quantity


def _parent(cfg: dict, path: str, create: bool) -> tuple[dict, str]:
    """The dict that holds the last key of `section.key.sub`, and that key (namespaced at the
    top level, where stack config keys live)."""
    parts = path.split(".")
    parts[0] = NS + parts[0]
    node = cfg
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if create else node[part]
    return node, parts[-1]


def _set(path: str, value):
    """A mutation that sets `section.key.sub` (creating sections) in a stack config."""

    def mutate(cfg: dict) -> None:
        node, key = _parent(cfg, path, create=True)
        node[key] = value

    return mutate


def _drop(path: str):
    """A mutation that removes `section.key.sub` from a stack config."""

    def mutate(cfg: dict) -> None:
        node, key = _parent(cfg, path, create=False)
        del node[key]

    return mutate


# (id, mutation, dotted key the message must name, words it must contain)
CASES = [
    ("unknown-top-level-key", _set("clusterIdd", "x"), "clusterIdd", "unknown key (did you mean 'clusterId'?)"),
    ("unknown-nested-key", _set("autoscaling.maxReplica", 5), "autoscaling.maxReplica",
     "did you mean 'maxReplicas'?"),
    ("unknown-deep-key", _set("capacity.nodePool.maxsize", 5), "capacity.nodePool.maxsize",
     "allowed here: vswitchIds, minSize, maxSize"),
    ("missing-cluster-id", _drop("clusterId"), "clusterId", "is required and not set"),
    ("missing-ingress-host", _drop("ingress.host"), "ingress.host", "is required"),
    ("missing-model", _drop("model"), "model", "is required"),
    ("cluster-id-format", _set("clusterId", "my-cluster"), "clusterId", "'c' followed by 32"),
    ("protect-not-boolean", _set("protect", "yes"), "protect", "valid boolean"),
    ("object-given-scalar", _set("autoscaling", "10"), "autoscaling", "must be a section of keys"),
    ("fraction-for-integer", _set("autoscaling.maxReplicas", "2.5"), "autoscaling.maxReplicas",
     "valid integer"),
    ("word-for-integer", _set("autoscaling.maxReplicas", "ten"), "autoscaling.maxReplicas", "valid integer"),
    ("exponent-for-number", _set("autoscaling.targetQps", "1e3"), "autoscaling.targetQps", "valid number"),
    ("image-latest-gpu", _set("serving.image", "tensorflow/serving:latest-gpu"), "serving.image",
     "floating tag 'latest-gpu'"),
    ("image-nightly", _set("serving.image", "tensorflow/serving:nightly-gpu"), "serving.image",
     "floating tag 'nightly-gpu'"),
    ("image-latest-digest", _set("serving.image", "tensorflow/serving:latest@sha256:" + "a" * 64),
     "serving.image", "floating tag 'latest'"),
    ("min-replicas-zero", _set("autoscaling.minReplicas", 0), "autoscaling.minReplicas",
     "greater than or equal to 1"),
    ("target-qps-positive", _set("autoscaling.targetQps", 0), "autoscaling.targetQps",
     "greater than 0"),
    ("on-demand-percentage-range", _set("capacity.nodePool.onDemandPercentage", 101),
     "capacity.nodePool.onDemandPercentage", "less than or equal to 100"),
    ("capacity-mode", _set("capacity.mode", "ec2"), "capacity.mode", "'eci' or 'nodepool'"),
    ("eci-scheduling", _set("capacity.eci.scheduling", "sometimes"), "capacity.eci.scheduling",
     "'only' or 'burst'"),
    ("spot-strategy", _set("capacity.nodePool.spotStrategy", "NoSpot"),
     "capacity.nodePool.spotStrategy", "'SpotAsPriceGo' or 'SpotWithPriceLimit'"),
    ("storage-auth", _set("storage.auth", "accessKey"), "storage.auth", "'ramUser' or 'rrsa'"),
    ("instance-types-empty", _set("capacity.instanceTypes", []), "capacity.instanceTypes",
     "at least 1 item"),
    ("instance-types-too-many", _set("capacity.instanceTypes", [f"ecs.gn6i-c{i}g1.xlarge" for i in range(6)]),
     "capacity.instanceTypes", "at most 5 items"),
    ("instance-type-format", _set("capacity.instanceTypes", ["gn6i-c4g1.xlarge"]),
     "capacity.instanceTypes[0]", "ECS instance type"),
    ("instance-types-duplicate", _set("capacity.instanceTypes", ["ecs.gn6i-c4g1.xlarge"] * 2),
     "capacity.instanceTypes", "lists 'ecs.gn6i-c4g1.xlarge' twice"),
    ("vswitch-format", _set("capacity.nodePool.vswitchIds", ["subnet-1"]),
     "capacity.nodePool.vswitchIds[0]", "vSwitch id"),
    ("bucket-name-uppercase", _set("storage.bucket", "Acme_Models"), "storage.bucket",
     "OSS bucket name"),
    ("bucket-name-too-short", _set("storage.bucket", "ab"), "storage.bucket", "OSS bucket name"),
    ("prefix-leading-slash", _set("storage.prefix", "/models/bert"), "storage.prefix",
     "no leading or trailing '/'"),
    ("prefix-dot-dot", _set("storage.prefix", "models/../secrets"), "storage.prefix",
     "no '.' or '..' segments"),
    ("model-name-uppercase", _set("model.name", "ChnSentiCorp"), "model.name", "lowercase letters"),
    ("model-versions-empty", _set("model.versions", []), "model.versions", "at least 1 item"),
    ("model-version-not-integer", _set("model.versions", ["latest"]), "model.versions[0]",
     "valid integer"),
    ("model-version-duplicate", _set("model.versions", [MODEL_VERSION, MODEL_VERSION]),
     "model.versions", "twice"),
    ("namespace-dns1123", _set("serving.namespace", "Inference"), "serving.namespace",
     "DNS-1123 label"),
    ("service-name-dns1035", _set("serving.name", "1bert"), "serving.name", "DNS-1035 label"),
    ("image-untagged", _set("serving.image", "tensorflow/serving"), "serving.image",
     "explicit tag or @sha256 digest"),
    ("image-latest", _set("serving.image", "tensorflow/serving:latest"), "serving.image",
     "'latest'"),
    ("cpu-quantity", _set("serving.cpu", "four"), "serving.cpu", "Kubernetes quantity"),
    ("memory-quantity", _set("serving.memory", "12GB"), "serving.memory", "Kubernetes quantity"),
    ("gpus-range", _set("serving.gpus", 9), "serving.gpus", "less than or equal to 8"),
    ("ingress-host-no-dot", _set("ingress.host", "bert"), "ingress.host", "DNS host name"),
    ("ingress-host-uppercase", _set("ingress.host", "Bert.Example.com"), "ingress.host",
     "DNS host name"),
    ("tls-secret-name", _set("ingress.tlsSecretName", "Bert_TLS"), "ingress.tlsSecretName",
     "DNS-1123 subdomain"),
    ("sls-logstore", _set("autoscaling.slsLogstore", "X"), "autoscaling.slsLogstore",
     "SLS logstore"),
    # Cross-field rules.
    ("min-exceeds-max-replicas", _set("autoscaling.minReplicas", 5), "autoscaling.minReplicas",
     "must not exceed autoscaling.maxReplicas (5 > 4)"),
    ("pool-min-exceeds-max", _set("capacity.nodePool.minSize", 11), "capacity.nodePool.minSize",
     "must not exceed capacity.nodePool.maxSize (11 > 10)"),
    ("gpu-image-without-gpu", _set("serving.gpus", 0), "serving.gpus",
     "at least 1 for the GPU image"),
    ("oss-source-bad-bucket", _set("model.source", "oss://Bad_Bucket/models/x"), "model.source",
     "not a valid OSS bucket name"),
    ("oss-source-no-prefix", _set("model.source", "oss://acme-models"), "model.source",
     "needs a key prefix"),
    # The model on disk.
    ("model-source-missing", _set("model.source", "./models/nope"), "model.source",
     "does not exist"),
    ("model-version-missing", _set("model.versions", [1700000000]), "model.versions[0]",
     f"integer version directories present: ['{MODEL_VERSION}']"),
    ("region-missing", lambda cfg: cfg.pop("alicloud:region"), "alicloud:region", "is required"),
    ("region-format", lambda cfg: cfg.update({"alicloud:region": "Beijing"}), "alicloud:region",
     "region ids look like cn-beijing"),
    ("region-typo", lambda cfg: cfg.update({"alicloud:region": "cn-bejing"}), "alicloud:region",
     "'cn-bejing' is not a region the alicloud provider accepts (did you mean 'cn-beijing'?)"),
    ("region-unknown", lambda cfg: cfg.update({"alicloud:region": "us-west-9"}), "alicloud:region",
     "not a region the alicloud provider accepts"),
    # A typo in the project prefix would drop the whole section and use the defaults.
    ("project-prefix-typo", lambda cfg: cfg.update({"elastic-inferance:autoscaling": cfg.pop(
        "elastic-inference:autoscaling")}), "elastic-inferance:autoscaling",
     "did you mean 'elastic-inference:autoscaling'?"),
    ("provider-prefix-typo", lambda cfg: cfg.update({"alicoud:region": "cn-beijing"}), "alicoud:region",
     "did you mean 'alicloud:region'?"),
    ("plaintext-secret-key", lambda cfg: cfg.update({"alicloud:secretKey": "plain-secret"}),
     "alicloud:secretKey", "pulumi config set --secret alicloud:secretKey"),
    ("plaintext-access-key", lambda cfg: cfg.update({"alicloud:accessKey": "LTAI5tPlainText"}),
     "alicloud:accessKey", "or remove it and export ALICLOUD_ACCESS_KEY"),
    ("plaintext-security-token", lambda cfg: cfg.update({"alicloud:securityToken": "CAIS-plain"}),
     "alicloud:securityToken", "pulumi config set --secret alicloud:securityToken"),
]


@pytest.mark.parametrize("mutate,key,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_bad_value_names_key_and_registers_nothing(dev_config, mutate, key, words, preview, monkeypatch):
    monkeypatch.delenv("ALICLOUD_REGION", raising=False)
    mutate(dev_config)
    error, result = run_expecting_error(dev_config, preview=preview)
    assert isinstance(error, ConfigError), repr(error)
    assert f"  - {key}: " in str(error), str(error)
    assert words in str(error), str(error)
    assert result.resources == [], [r.name for r in result.resources]
    assert result.invokes == []


def test_version_dir_without_saved_model(dev_config, project_dir):
    version_dir = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION)
    (version_dir / "saved_model.pb").unlink()
    error, result = run_expecting_error(dev_config)
    version_dir = Path("models/chnsenticorp") / str(MODEL_VERSION)
    assert (f"  - model.versions[0]: '{version_dir}' holds neither saved_model.pb "
            "nor saved_model.pbtxt") in str(error)
    assert result.resources == []


def test_a_missing_version_lists_only_the_version_directories_present(dev_config, project_dir):
    base = project_dir / "models" / "chnsenticorp"
    (base / "exports").mkdir()
    (base / "1700000000").write_text("a file, not a version")
    _set("model.versions", [1])(dev_config)
    error, _ = run_expecting_error(dev_config)
    assert f"integer version directories present: ['{MODEL_VERSION}'])" in str(error)


def test_saved_model_pbtxt_is_accepted(project_dir, rendered):
    version_dir = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION)
    (version_dir / "saved_model.pb").rename(version_dir / "saved_model.pbtxt")
    result = rendered[("dev", False)]
    assert result.exports["modelUri"].endswith("/models/chnsenticorp")


def test_every_problem_is_reported_at_once(dev_config):
    _set("autoscaling.minReplicas", 0)(dev_config)
    _set("capacity.mode", "ec2")(dev_config)
    _set("ingress.host", "bert")(dev_config)
    error, _ = run_expecting_error(dev_config)
    assert "3 problems" in str(error)
    for key in ("autoscaling.minReplicas", "capacity.mode", "ingress.host"):
        assert f"  - {key}: " in str(error)


def test_the_same_problem_under_two_keys_is_reported_for_each(dev_config):
    """Two required keys missing read the same ("is required and not set"): both are named."""
    _drop("ingress.host")(dev_config)
    _drop("model.name")(dev_config)
    error, _ = run_expecting_error(dev_config)
    assert "2 problems" in str(error)
    assert "  - ingress.host: is required and not set" in str(error)
    assert "  - model.name: is required and not set" in str(error)


def test_cross_field_and_disk_problems_are_reported_together(dev_config):
    _set("autoscaling.minReplicas", 9)(dev_config)
    _set("model.source", "./models/elsewhere")(dev_config)
    error, _ = run_expecting_error(dev_config)
    assert "autoscaling.minReplicas: must not exceed" in str(error)
    assert "model.source: directory" in str(error)


def test_oss_source_conflicting_storage_is_rejected(dev_config):
    _set("model.source", "oss://acme-models/models/bert")(dev_config)
    _set("storage.bucket", "other-bucket")(dev_config)
    _set("storage.prefix", "models/other")(dev_config)
    error, result = run_expecting_error(dev_config)
    assert "storage.bucket: is 'other-bucket' but model.source is in bucket 'acme-models'" in str(error)
    assert "storage.prefix: is 'models/other' but model.source has prefix 'models/bert'" in str(error)
    assert result.resources == []


def test_long_values_are_cut_in_errors(dev_config):
    """A value is shown to help fix it, but long values are cut so a pasted blob is not logged."""
    _set("ingress.host", "x" * 300)(dev_config)
    error, _ = run_expecting_error(dev_config)
    assert "x" * 100 not in str(error)


def test_values_set_as_secrets_are_never_echoed(dev_config):
    _set("ingress.host", "Leaky.Secret.Host")(dev_config)
    error, result = run_expecting_error(dev_config, secret_keys=["elastic-inference:ingress"])
    assert "  - ingress.host: must be a lowercase DNS host name" in str(error)
    assert "(got [secret])" in str(error) and "Leaky" not in str(error)
    assert result.resources == []


def test_cpu_accepts_a_number(dev_config):
    _set("serving.cpu", 4)(dev_config)
    run_program(dev_config)  # no error: YAML `cpu: 4` is the quantity "4"


def test_nodepool_keys_may_stay_in_eci_mode(dev_config):
    """Switching modes is a one-key change: the other mode's block is kept and ignored."""
    _set("capacity.nodePool", {"minSize": 0, "maxSize": 3})(dev_config)
    run_program(dev_config)


def test_region_from_environment(dev_config, monkeypatch):
    dev_config.pop("alicloud:region")
    monkeypatch.setenv("ALICLOUD_REGION", "cn-hangzhou")
    result = run_program(dev_config)
    assert result.exports["ossEndpoint"] == "oss-cn-hangzhou-internal.aliyuncs.com"


@pytest.mark.parametrize(
    "stack",
    ["dev", "prod", "Feature_Branch.42", "a" * 100, "---", "x"],
)
def test_default_bucket_name_is_valid_and_stable(stack):
    """Valid for any stack name, the same on every run, and different for another account (bucket
    names are global) or another model; the cluster is not an input at all."""
    name = default_bucket_name("1234567890123456", "elastic-inference", stack, "chnsenticorp_v2")
    assert re.match(OSS_BUCKET, name), name
    assert name == default_bucket_name("1234567890123456", "elastic-inference", stack, "chnsenticorp_v2")
    assert name != default_bucket_name("6543210987654321", "elastic-inference", stack, "chnsenticorp_v2")
    assert name != default_bucket_name("1234567890123456", "elastic-inference", stack, "bert")


@pytest.mark.parametrize(
    "uri,bucket,prefix",
    [
        ("oss://acme-models/models/bert", "acme-models", "models/bert"),
        ("oss://acme-models/models/bert/", "acme-models", "models/bert"),
    ],
)
def test_parse_oss_source(uri, bucket, prefix):
    source, problems = parse_model_source(uri)
    assert problems == []
    assert (source.oss, source.managed) == ((bucket, prefix), False)


def test_missing_model_dir_message_says_where_relative_paths_are_read(dev_config, project_dir):
    shutil.rmtree(project_dir / "models")
    error, _ = run_expecting_error(dev_config)
    assert "relative paths are read from the project directory" in str(error)


def test_numbers_written_as_text_are_taken_exactly(dev_config):
    """`pulumi config set --path autoscaling.targetQps 2.5` stores "2.5" (the CLI types only
    integers and booleans): a string that is exactly a number counts for a numeric key."""
    dev_config["elastic-inference:autoscaling"].update(targetQps="2.5", maxReplicas="3")
    hpa = run_program(dev_config).kind("HorizontalPodAutoscaler")["spec"]
    assert hpa["maxReplicas"] == 3
    assert hpa["metrics"][0]["external"]["target"]["averageValue"] == "2500m"


def test_a_version_tag_or_digest_is_pinned():
    for image in ("tensorflow/serving:2.19.1-gpu", "tensorflow/serving@sha256:" + "a" * 64,
                  "registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu", "acme/latestmodel:1.0"):
        assert image_pin_problem(image) is None, image


def test_credentials_stored_as_secrets_pass(dev_config):
    dev_config.update({"alicloud:accessKey": "LTAI5tSecret", "alicloud:secretKey": "s3cr3t"})
    result = run_program(dev_config, secret_keys=["alicloud:accessKey", "alicloud:secretKey"])
    assert result.one("alicloud:oss/bucket:Bucket")


# ACK's own list of regions (help.aliyun.com/en/ack/product-overview/supported-regions, fetched
# 2026-11): every one of them must be a region the provider accepts, or the stack could not run
# where ACK does. (cn-wuhan-lr, a local region ACK lists, is not in the provider's list.)
ACK_REGIONS = {"cn-qingdao", "cn-beijing", "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-hangzhou",
               "cn-shanghai", "cn-shenzhen", "cn-heyuan", "cn-guangzhou", "cn-chengdu", "cn-hongkong",
               "cn-zhongwei", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3"}


def test_every_region_ack_lists_is_accepted():
    assert set(PROVIDER_REGIONS) >= ACK_REGIONS
    assert all(re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)+", region) for region in PROVIDER_REGIONS)


def test_every_region_the_provider_accepts_passes(dev_config):
    """The list is the provider's own (terraform-provider-alicloud ValidRegions)."""
    assert {"cn-beijing", "cn-hangzhou", "ap-southeast-1", "eu-central-1", "us-west-1"} <= set(PROVIDER_REGIONS)
    assert len(PROVIDER_REGIONS) == len(set(PROVIDER_REGIONS)) == 45
    dev_config["alicloud:region"] = "ap-southeast-7"
    assert run_program(dev_config).exports["ossEndpoint"] == "oss-ap-southeast-7-internal.aliyuncs.com"


def test_a_misspelled_namespace_reports_with_the_other_problems(dev_config):
    """Everything at once: the foreign key and a wrong value elsewhere in one message."""
    dev_config["elastic-inferance:autoscaling"] = {"maxReplicas": 4}
    dev_config["elastic-inference:serving"]["gpus"] = 9
    error, result = run_expecting_error(dev_config)
    assert "elastic-inferance:autoscaling" in str(error) and "serving.gpus" in str(error)
    assert not result.resources


def test_a_broken_project_file_names_file_line_and_column(tmp_path):
    """The program reads Pulumi.yaml for the scalar defaults: a mistake there is named, not a trace."""
    broken = tmp_path / "Pulumi.yaml"
    broken.write_text("name: elastic-inference\nconfig:\n  protect: {type: boolean\n  clusterId: x\n")
    with pytest.raises(ConfigError, match=r"  - Pulumi\.yaml:4:\d+: while parsing a flow mapping"):
        load_project_schema(broken)
    broken.write_text("name: elastic-inference\nname: other\n")
    with pytest.raises(ConfigError, match=r"  - Pulumi\.yaml:2:1: key 'name' is written twice"):
        load_project_schema(broken)


def test_project_file_declarations_of_other_namespaces_are_not_ours(tmp_path):
    """Pulumi.yaml may declare another namespace's value (`alicloud:region`); only this project's
    keys are schema declarations."""
    project = tmp_path / "Pulumi.yaml"
    project.write_text("name: elastic-inference\nconfig:\n  alicloud:region: cn-beijing\n"
                       "  elastic-inference:protect: {type: boolean, default: false}\n  clusterId: {type: string}\n")
    assert load_project_schema(project) == {"protect": {"type": "boolean", "default": False},
                                            "clusterId": {"type": "string"}}


@pytest.mark.parametrize("seconds,accepted", [(0, True), (3600, True), (3601, False), (-1, False)])
def test_file_system_poll_seconds_edges(dev_config, seconds, accepted):
    dev_config[NS + "serving"]["fileSystemPollSeconds"] = seconds
    if accepted:
        args = run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--file_system_poll_wait_seconds={seconds}" in args
    else:
        error, result = run_expecting_error(dev_config)
        assert "serving.fileSystemPollSeconds" in str(error) and not result.resources


@pytest.mark.parametrize("text,value", [
    ("12Gi", 12 * 2**30), ("12288Mi", 12 * 2**30), ("12582912Ki", 12 * 2**30), ("1Ti", 2**40),
    ("13G", 13e9), ("13000M", 13e9), ("13000000k", 13e9), ("12884901888", 12 * 2**30), ("500m", 0.5),
    ("1.5Gi", 1.5 * 2**30), ("1P", 1e15), ("1Pi", 2**50), ("1E", 1e18), ("1Ei", 2**60), ("1T", 1e12),
])
def test_every_quantity_unit_means_what_kubernetes_says(text, value):
    assert parse_quantity(text) == value


def test_a_scalar_key_left_out_takes_the_project_files_default(dev_config):
    """`protect` is declared with its default in Pulumi.yaml; a stack file may leave it out."""
    del dev_config[NS + "protect"]
    assert run_program(dev_config).one("alicloud:oss/bucket:Bucket").protect is False


def test_one_problem_reads_in_the_singular(dev_config):
    dev_config[NS + "serving"]["gpus"] = 9
    error, _ = run_expecting_error(dev_config)
    assert str(error).startswith("stack configuration has 1 problem (nothing was created):\n  - serving.gpus: ")


def test_validated_settings_cannot_be_changed_afterwards(dev_config):
    """Config is read and validated once; nothing downstream can alter what was validated."""
    cfg = stack_config(dev_config)
    with pytest.raises(ValidationError, match="frozen"):
        cfg.autoscaling.max_replicas = 400  # type: ignore[misc]

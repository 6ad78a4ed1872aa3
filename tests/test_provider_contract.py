"""The Alibaba Cloud resources as the real provider treats them (tests/contract.py has the tables
and their sources): every input fits the SDK's types at every depth, nothing the program sets is
shorter-lived or weaker than the provider's own behaviour, and a routine config change replaces
only what it must."""

from __future__ import annotations

import copy
import re

import contract
import pytest
from conftest import MODEL_VERSION, write_saved_model
from harness import NS, StackResult, run_program
from inputs import with_rrsa

from components.storage.volume_spec import RAM_NAME
from config import ConfigError
from tools import offline
from tools.offline import DEFAULT_NODE_POOLS, FAKE_ACCOUNT_ID, bucket, node_pool

BUCKET = "alicloud:oss/bucket:Bucket"
POOL = "alicloud:cs/nodePool:NodePool"
USER = "alicloud:ram/user:User"
KEY = "alicloud:ram/accessKey:AccessKey"
POLICY = "alicloud:ram/policy:Policy"
ROLE = "alicloud:ram/role:Role"
OBJECT = "alicloud:oss/bucketObject:BucketObject"


def variants(dev: dict, prod: dict) -> dict[str, tuple[dict, str]]:
    """The stacks, and the variants that register resources the stacks do not."""
    price_limited = copy.deepcopy(prod)
    price_limited[NS + "capacity"]["nodePool"].update(spotStrategy="SpotWithPriceLimit", spotPriceLimit=2.5,
                                                      vswitchIds=["vsw-a", "vsw-b"])
    rrsa = with_rrsa(prod)
    burst = copy.deepcopy(dev)
    burst[NS + "capacity"]["eci"] = {"scheduling": "burst", "spot": True, "imageCache": False,
                                     "ecsNodeLabels": {"inference": "tensorflow"}}
    return {"dev": (dev, "dev"), "prod": (prod, "prod"), "prod-price-limit": (price_limited, "prod"),
            "prod-rrsa": (rrsa, "prod"), "dev-burst": (burst, "dev")}


# --- 1. every input as the SDK types it --------------------------------------------------------

@pytest.mark.parametrize("variant", ["dev", "prod", "prod-price-limit", "prod-rrsa", "dev-burst"])
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_every_alicloud_input_fits_the_sdk_types(dev_config, prod_config, variant, preview):
    config, stack = variants(dev_config, prod_config)[variant]
    result = run_program(config, stack, preview)
    alicloud = [r for r in result.resources if r.custom and r.type.startswith("alicloud:")]
    assert {r.type for r in alicloud} >= {BUCKET, OBJECT, POLICY}
    problems = [p for r in alicloud for p in contract.registration_problems(r)]
    assert problems == []


def test_the_type_check_sees_a_misspelled_nested_key_and_a_wrong_type():
    cls = contract.args_class(POOL)
    assert contract.input_problems({"scalingConfig": {"maxsize": 3}}, cls, "pool") == [
        "pool.scalingConfig.maxsize: no such property of NodePoolScalingConfigArgs (has: eipBandwidth, "
        "eipInternetChargeType, enable, isBondEip, maxSize, minSize, type)"]
    assert contract.input_problems({"onDemandBaseCapacity": 0}, cls, "pool") == [
        "pool.onDemandBaseCapacity: a string expected, got 0"]
    assert contract.input_problems({"labels": [{"key": "a", "value": 1}]}, cls, "pool") == [
        "pool.labels[0].value: a string expected, got 1"]


def test_the_replacement_table_names_real_properties():
    """A typo in the table would silently weaken the plan tests."""
    for type_, (names, source) in contract.ALICLOUD_FORCE_NEW.items():
        inputs = contract._types.input_type_types(contract.args_class(type_))
        assert names <= set(inputs), (type_, names - set(inputs))
        assert source.startswith("aliyun/terraform-provider-alicloud alicloud/resource_alicloud_")


# --- 2. what the program sets against the provider's behaviour -----------------------------------

def test_the_bucket_ignores_what_its_sub_resources_manage(rendered):
    """Else a refresh records the live rule and the next update deletes the encryption."""
    result = rendered[("dev", False)]
    assert set(result.one(BUCKET).ignore_changes) == {"serverSideEncryptionRule", "versioning", "acl"}
    managed_by = {"alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
                  "alicloud:oss/bucketVersioning:BucketVersioning", "alicloud:oss/bucketAcl:BucketAcl"}
    assert all(result.one(t) for t in managed_by)
    assert "serverSideEncryptionRule" not in result.one(BUCKET).inputs


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pool_can_always_be_deleted_and_waits_as_long_as_the_provider(dev_config, prod_config, stack):
    config = copy.deepcopy(prod_config if stack == "prod" else dev_config)
    config[NS + "capacity"].update(mode="nodepool", instanceTypes=["ecs.gn6i-c8g1.2xlarge"])
    config[NS + "capacity"]["nodePool"] = {"keyName": "gpu-nodes", "maxSize": 10}
    pool = run_program(config, stack).one(POOL)
    assert pool.inputs["forceDelete"] is True  # ACK refuses to delete a pool with nodes otherwise
    defaults, _ = contract.ALICLOUD_TIMEOUTS[POOL]
    minutes = {k: int(v.rstrip("m")) for k, v in pool.custom_timeouts.items()}
    assert set(minutes) == set(defaults)
    assert all(minutes[k] >= int(defaults[k].rstrip("m")) for k in defaults), pool.custom_timeouts
    assert pool.inputs["updateNodes"] is True


@pytest.mark.parametrize("run", [("dev", False), ("prod", False)], ids=["dev", "prod"])
def test_no_timeout_is_shorter_than_the_providers(rendered, run):
    """The ECI image cache's build pulls multi-GB images: it gets the provider's whole 60 minutes
    (and so does every resource the provider gives a timeout)."""
    result = rendered[run]
    timed = [r for r in result.resources if r.type in contract.ALICLOUD_TIMEOUTS]
    assert "alicloud:eci/imageCache:ImageCache" in {r.type for r in timed}
    for registration in timed:
        defaults, _ = contract.ALICLOUD_TIMEOUTS[registration.type]
        minutes = {k: int(v.rstrip("m")) for k, v in registration.custom_timeouts.items()}
        assert all(minutes.get(k, 0) >= int(v.rstrip("m")) for k, v in defaults.items()), registration.name


@pytest.mark.parametrize("compensate", [True, False])
def test_every_scaling_setting_is_sent_either_way(prod_config, compensate):
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = compensate
    pool = run_program(prod_config, "prod").one(POOL).inputs
    assert pool["compensateWithOnDemand"] is compensate
    assert pool["spotInstanceRemedy"] is True and pool["onDemandBaseCapacity"] == "0"


def test_policy_versions_rotate(rendered):
    """RAM keeps five versions of a policy; the sixth document update would fail."""
    policy = rendered[("dev", False)].one(POLICY).inputs
    assert policy["rotateStrategy"] == "DeleteOldestNonDefaultVersionWhenLimitExceeded"


@pytest.mark.parametrize("days", [None, 7])
def test_old_object_versions_expire(dev_config, days):
    if days is not None:
        dev_config[NS + "storage"]["noncurrentVersionDays"] = days
    rules = run_program(dev_config).one(BUCKET).inputs["lifecycleRules"]
    # No prefix: the whole bucket, the stack's own (the provider replaces every rule on update).
    assert rules == [{
        "id": "expire-noncurrent-model-versions", "enabled": True,
        "noncurrentVersionExpirations": [{"days": days or 30}],
        "expirations": [{"expiredObjectDeleteMarker": True}],
    }]


def test_old_versions_under_a_prefix_the_stack_left_still_expire(dev_config):
    """Moving storage.prefix changes no lifecycle rule: the old prefix's versions expire too."""
    before = run_program(dev_config).one(BUCKET).inputs["lifecycleRules"]
    dev_config[NS + "storage"] = {**dev_config[NS + "storage"], "prefix": "models/v2/chnsenticorp"}
    assert run_program(dev_config).one(BUCKET).inputs["lifecycleRules"] == before


@pytest.mark.parametrize("stack", ["dev_eu", "team.a", "Team-A.b_c", "x" * 100, "9lives"])
@pytest.mark.parametrize("auth", ["ramUser", "rrsa"])
def test_ram_names_are_valid_for_any_stack_name(prod_config, stack, auth):
    prod_config[NS + "storage"] = {"auth": auth, "bucket": "acme-models"}
    prod_config[NS + "capacity"]["nodePool"]["eciOverflow"] = False  # rrsa: the pool's own nodes only
    result = run_program(prod_config, stack)
    names = [r.inputs[k] for r in result.resources for k in ("name", "policyName", "roleName")
             if r.type in (USER, POLICY, ROLE) and k in r.inputs]
    assert len(names) == 2
    for name in names:
        assert re.fullmatch(RAM_NAME, name), name


def test_a_renamed_reader_is_replaced_with_its_key(dev_config):
    """Renaming the user in place would orphan its old key; the user is replaced instead, so the
    new user and key come first and the old key and user are deleted."""
    before = run_program(dev_config)
    dev_config[NS + "serving"]["namespace"] = "nlp"
    steps = contract.plan(before, run_program(dev_config))
    assert run_program(dev_config).one(USER).replace_on_changes == ["name"]
    assert contract.by_op(steps, "replace", USER) == {"model-volume-reader"}
    assert contract.by_op(steps, "replace", KEY) == {"model-volume-reader-key"}
    replaced_key = next(s for s in steps.values() if s.type == KEY)
    assert replaced_key.why == ("userName",)


# --- 3. the bucket's name, and a name already taken -----------------------------------------------

def test_the_default_bucket_name_does_not_follow_the_cluster(dev_config):
    first = run_program(dev_config).exports["bucket"]
    dev_config[NS + "clusterId"] = "c" + "1" * 32
    assert run_program(dev_config).exports["bucket"] == first
    assert first.startswith("ei-dev-chnsenticorp-")


@pytest.mark.parametrize("tags,owner", [
    ({"team": "search"}, "something other than this stack"),
    ({"app": "elastic-inference", "stack": "prod"}, "stack 'prod' of elastic-inference"),
])
def test_a_bucket_taken_in_this_account_stops_before_anything_is_created(prod_config, tags, owner):
    result = StackResult()
    with pytest.raises(ConfigError) as error:
        run_program(prod_config, "staging", buckets=[bucket("acme-bert-models-prod", tags)], result=result)
    assert f"  - storage.bucket: bucket 'acme-bert-models-prod' already exists in this account and belongs to {owner}" \
        in str(error.value)
    assert "pulumi import" in str(error.value)
    assert result.resources == []


def test_the_stacks_own_bucket_is_not_taken(prod_config):
    mine = bucket("acme-bert-models-prod", {"app": "elastic-inference", "stack": "prod", "managed-by": "pulumi"})
    run_program(prod_config, "prod", buckets=[mine])


# --- 4. what routine changes replace --------------------------------------------------------------

def _set(path: str, value):
    def mutate(cfg: dict, project_dir) -> None:
        node = cfg
        *parents, last = path.split(".")
        parents[0] = NS + parents[0]
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return mutate


def _add_version(cfg: dict, project_dir) -> None:
    write_saved_model(project_dir / "models" / "chnsenticorp", 1700000000)
    cfg[NS + "model"]["versions"] = [MODEL_VERSION, 1700000000]


def _remove_version(cfg: dict, project_dir) -> None:
    cfg[NS + "model"]["versions"] = [1700000000]


# (id, stack, change, what it must replace (names), what it must update)
CHANGES = [
    # Loading a version edits the model config in place and re-runs the version gate's checks;
    # the Deployment is untouched (tests/test_model_versions.py pins that).
    ("add-version", "prod", _add_version, {"retire-check-job", "serve-gate-job"}, {"serving-config"}),
    ("max-replicas", "prod", _set("autoscaling.maxReplicas", 8), set(), {"autoscaler-hpa"}),
    ("instance-types", "prod", _set("capacity.instanceTypes", ["ecs.gn6i-c16g1.4xlarge"]), set(), {"capacity-pool"}),
    ("image", "dev", _set("serving.image", "tensorflow/serving:1.15.0-gpu@sha256:" + "a" * 64), set(),
     {"serving-deployment"}),
    ("target-qps", "dev", _set("autoscaling.targetQps", 25), set(), {"autoscaler-hpa"}),
    ("namespace", "prod", _set("serving.namespace", "nlp"),
     {"cluster-namespace", "model-volume-reader", "model-volume-reader-key", "model-volume-read-policy",
      "model-volume-pv", "model-volume-pvc", "serving-deployment"}, set()),
    ("serving-name", "prod", _set("serving.name", "bert-v2"),
     {"model-volume-reader", "model-volume-reader-key", "serving-deployment", "serving-service"},
     {"capacity-pool"}),
    ("prefix", "dev", _set("storage.prefix", "models/v2/chnsenticorp"),
     {"model-v1623831335/saved_model.pb", "model-volume-pv"}, {"model-volume-read-policy"}),
    ("mode-to-eci", "prod", _set("capacity.mode", "eci"), set(), {"serving-deployment"}),
]
CREDENTIALS = (USER, KEY, POLICY, ROLE)


@pytest.mark.parametrize("stack,change,replaced,updated", [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_routine_change_replaces_only_what_it_must(dev_config, prod_config, project_dir,
                                                     stack, change, replaced, updated):
    config = copy.deepcopy(prod_config if stack == "prod" else dev_config)
    if change is _remove_version:
        _add_version(config, project_dir)
    before = run_program(config, stack)
    change(config, project_dir)
    steps = contract.plan(before, run_program(config, stack))
    replacing = contract.by_op(steps, "replace")
    assert replaced <= replacing, sorted(replacing)
    assert updated <= contract.by_op(steps, "update"), sorted(contract.by_op(steps, "update"))
    # Never, for any routine change: the bucket or the node pool replaced.
    assert not contract.by_op(steps, "replace", BUCKET) and not contract.by_op(steps, "delete", BUCKET)
    assert not contract.by_op(steps, "replace", POOL)
    # A credential is replaced only when its identity is renamed, and then its key goes with it.
    renamed = contract.by_op(steps, "replace", USER)
    assert bool(contract.by_op(steps, "replace", KEY)) == bool(renamed)
    if not {"namespace", "serving.name"} & {p for s in steps.values() for p in s.why}:
        assert not any(contract.by_op(steps, "replace", t) for t in CREDENTIALS) or renamed


def test_retiring_a_version_in_prod_deletes_its_objects_without_protection(prod_config, project_dir):
    _add_version(prod_config, project_dir)
    before = run_program(prod_config, "prod")
    _remove_version(prod_config, project_dir)
    after = run_program(prod_config, "prod")
    steps = contract.plan(before, after)
    deleted = contract.by_op(steps, "delete", OBJECT)
    assert deleted and all(n.startswith(f"model-v{MODEL_VERSION}/") for n in deleted)
    # Nothing the engine deletes here is protected, so the preview does not stop.
    old = {r.urn: r for r in before.resources}
    assert not [old[u].name for u, s in steps.items() if s.op == "delete" and old[u].protect]
    assert after.one(BUCKET).protect and not contract.by_op(steps, "replace", BUCKET)


def test_the_account_is_read_once_and_only_looked_up(rendered):
    result = rendered[("dev", False)]
    tokens = [t for t, _ in result.invokes]
    assert tokens.count("alicloud:index/getAccount:getAccount") == 1
    assert "alicloud:oss/getBuckets:getBuckets" in tokens
    assert FAKE_ACCOUNT_ID not in result.exports["bucket"]  # hashed, never spelled out


def test_a_new_pool_without_on_demand_fallback_is_told_to_update_once_more(prod_config):
    """The provider drops compensateWithOnDemand=false on create; the run that creates the pool
    says so, naming the key, and a run against an existing pool (its update sends false) does not."""
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = False
    creating = run_program(prod_config, "prod")
    assert [w for w in creating.warnings if w.startswith("capacity.nodePool.compensateWithOnDemand: false")]
    existing = [*DEFAULT_NODE_POOLS, node_pool("np-gpu", "bert-tfserving-gpu", ["vsw-zoneh"])]
    assert run_program(prod_config, "prod", node_pools=existing).warnings == []
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = True
    assert run_program(prod_config, "prod").warnings == []


def test_a_renamed_pool_is_still_the_stacks_own_and_gets_false_on_this_update(prod_config):
    """A pool is found by the tag the stack puts on it: renaming it (serving.name) is an update,
    which sends false, not a new pool, so no warning; and it is not a "worker" pool whose
    vSwitches the stack would borrow."""
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = False
    prod_config[NS + "serving"] = {**prod_config[NS + "serving"], "name": "bert-v2"}
    ours = node_pool("np-gpu", "bert-tfserving-gpu", ["vsw-own"], tags={"elastic-inference-stack": "prod"})
    result = run_program(prod_config, "prod", node_pools=[*DEFAULT_NODE_POOLS, ours])
    assert result.warnings == []
    pool = result.one(POOL).inputs
    assert pool["tags"] == {"elastic-inference-stack": "prod"} and "vsw-own" not in pool["vswitchIds"]


def test_the_new_pool_warning_promises_only_what_the_provider_does(prod_config):
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = False
    (warning,) = run_program(prod_config, "prod").warnings
    assert "sends that flag on create only when it is true" in warning
    # Either way ACK's default turns out, the next run's preview tells the truth.
    assert "if it has true, the next `pulumi up` shows" in warning and "if it has false" in warning


@pytest.mark.parametrize("token", ["alicloud:oss/getBuckets:getBuckets",
                                   "alicloud:cs/getKubernetesNodePools:getKubernetesNodePools"])
def test_a_data_source_list_that_comes_back_missing_reads_as_empty(prod_config, monkeypatch, token):
    """An empty result is [] through the bridge; a missing one must still never be a TypeError."""
    answer = offline.Mocks.answer

    def missing(self, asked, args):
        found = answer(self, asked, args)
        if asked == token:
            found = {k: v for k, v in found.items() if k not in ("buckets", "nodepools")}
        return found

    monkeypatch.setattr(offline.Mocks, "answer", missing)
    prod_config[NS + "capacity"]["nodePool"]["vswitchIds"] = ["vsw-zoneh"]
    run_program(prod_config, "prod")  # no bucket found, no pool found: no error

"""The real providers' contract, held offline.

Pulumi's mock engine accepts any property and never replaces anything. What the real providers
do instead is written down here, from their source, so the tests can hold the program to it:

1. Input types: every input of an alicloud resource, at every depth, is a property of the
   installed SDK's generated `*Args` type with a value of its type (pulumi_alicloud 4.0.0; the
   wire names and types come from `pulumi._types.input_type_types`).
2. What forces replacement: per resource type, the properties whose change makes the engine
   delete and recreate the resource, each row with the provider source it was read from.
3. A plan: which resources a change of config creates, deletes, replaces, updates or leaves
   alone, computed from two runs of the program with the tables of (2) and each resource's
   `replaceOnChanges`, the way the engine decides.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
from pulumi import _types
from pulumi.runtime.rpc import UNKNOWN

from tools.offline import Registration, StackResult, reveal

# --- 1. inputs against the SDK's generated input types ------------------------------------------


def args_class(type_token: str) -> type:
    """The SDK's input type of a resource, for a token such as alicloud:cs/nodePool:NodePool:
    `<Resource>Args`, or `<Resource>InitArgs` where a nested type already took that name (as the
    cluster's addon block did for cs.KubernetesAddon)."""
    package, module_path, resource = type_token.split(":")
    module = module_path.split("/")[0]
    sdk = importlib.import_module("pulumi_" + package + ("" if module == "index" else f".{module}"))
    defined_in = importlib.import_module(getattr(sdk, resource).__module__)
    return getattr(defined_in, f"{resource}InitArgs", None) or getattr(defined_in, f"{resource}Args")


def _element(annotation: Any) -> Any:
    """Strip Input/Optional: Union[X, Awaitable[X], Output[..], None] -> X."""
    if typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation)
                   if a is not type(None) and typing.get_origin(a) not in (Awaitable,)
                   and not (isinstance(a, type) and issubclass(a, pulumi.Output))
                   and typing.get_origin(a) is not pulumi.Output]
        if len(options) == 1:
            return options[0]
    return annotation


def input_problems(value: Any, expected: Any, path: str) -> list[str]:
    """Where `value` does not fit the SDK's type `expected` (an input type class or an annotation)."""
    expected = _element(expected)
    if value is UNKNOWN or expected is Any:
        return []
    origin = typing.get_origin(expected)
    if isinstance(expected, type) and _types.is_input_type(expected):
        if not isinstance(value, Mapping):
            return [f"{path}: {expected.__name__} expects an object, got {value!r}"]
        types = _types.input_type_types(expected)
        problems = []
        for key, item in value.items():
            if key not in types:
                problems.append(f"{path}.{key}: no such property of {expected.__name__} "
                                f"(has: {', '.join(sorted(types))})")
            else:
                problems += input_problems(item, types[key], f"{path}.{key}")
        return problems
    if origin in (Sequence, list, typing.Sequence):
        if not isinstance(value, list):
            return [f"{path}: a list expected, got {value!r}"]
        (item_type,) = typing.get_args(expected)
        return [p for i, item in enumerate(value) for p in input_problems(item, item_type, f"{path}[{i}]")]
    if origin in (Mapping, dict, typing.Mapping):
        if not isinstance(value, Mapping):
            return [f"{path}: a map expected, got {value!r}"]
        _, item_type = typing.get_args(expected)
        return [p for k, item in value.items() for p in input_problems(item, item_type, f"{path}.{k}")]
    if expected is bool:
        return [] if isinstance(value, bool) else [f"{path}: a boolean expected, got {value!r}"]
    if expected is int:
        # Numbers cross the wire as doubles: a whole one is an int.
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
        return [] if ok else [f"{path}: an integer expected, got {value!r}"]
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{path}: a number expected, got {value!r}"]
    if expected is str:
        return [] if isinstance(value, str) else [f"{path}: a string expected, got {value!r}"]
    raise TypeError(f"{path}: the checker does not know the SDK type {expected!r}")


def registration_problems(registration: Registration) -> list[str]:
    """Every input of an alicloud registration that the SDK's types do not accept."""
    return input_problems(reveal(registration.inputs), args_class(registration.type),
                          f"{registration.type}::{registration.name}")


# --- 2. what forces replacement -------------------------------------------------------------

TF = "aliyun/terraform-provider-alicloud alicloud/{} (schema: ForceNew), at ace5bcf87 (release/v2, 2026-08-21)"
# Wire (camelCase) names of the properties whose change replaces the resource. pulumi-alicloud
# 4.0.0 bridges the provider's v2 line (its credential data source returns certificate_authorities,
# the v2 list); its exact pin could not be read, release/v2's head is the nearest commit that has
# every change the 4.0.0 SDK shows (docs/provider.md). The rows cover what this stack sets; each
# was read there (identical to master's for these files).
ALICLOUD_FORCE_NEW: dict[str, tuple[frozenset[str], str]] = {
    "alicloud:oss/bucket:Bucket": (
        frozenset({"bucket", "storageClass", "redundancyType"}), TF.format("resource_alicloud_oss_bucket.go")),
    "alicloud:oss/bucketAcl:BucketAcl": (frozenset({"bucket"}), TF.format("resource_alicloud_oss_bucket_acl.go")),
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        frozenset({"bucket"}), TF.format("resource_alicloud_oss_bucket_public_access_block.go")),
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption": (
        frozenset({"bucket"}), TF.format("resource_alicloud_oss_bucket_server_side_encryption.go")),
    "alicloud:oss/bucketVersioning:BucketVersioning": (
        frozenset({"bucket"}), TF.format("resource_alicloud_oss_bucket_versioning.go")),
    "alicloud:oss/bucketObject:BucketObject": (
        frozenset({"bucket", "key"}), TF.format("resource_alicloud_oss_bucket_object.go")),
    "alicloud:ram/policy:Policy": (frozenset({"policyName", "name"}), TF.format("resource_alicloud_ram_policy.go")),
    # The user's name is NOT ForceNew: renamed in place. The program asks for replacement.
    "alicloud:ram/user:User": (frozenset(), TF.format("resource_alicloud_ram_user.go")),
    "alicloud:ram/accessKey:AccessKey": (
        frozenset({"userName", "secretFile", "pgpKey"}), TF.format("resource_alicloud_ram_access_key.go")),
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment": (
        frozenset({"policyName", "policyType", "userName"}),
        TF.format("resource_alicloud_ram_user_policy_attachment.go")),
    "alicloud:ram/role:Role": (frozenset({"roleName", "name"}), TF.format("resource_alicloud_ram_role.go")),
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment": (
        frozenset({"policyName", "policyType", "roleName"}),
        TF.format("resource_alicloud_ram_role_policy_attachment.go")),
    "alicloud:cs/kubernetesAddon:KubernetesAddon": (
        frozenset({"clusterId", "name"}), TF.format("resource_alicloud_cs_kubernetes_addon.go")),
    "alicloud:cs/nodePool:NodePool": (
        frozenset({"autoMode", "cisEnabled", "clusterId", "deploymentSetId", "instanceMetadataOptions",
                   "loginAsNonRoot", "nodeNameMode", "ramRoleName", "securityGroupId", "securityGroupIds",
                   "securityHardeningOs", "socEnabled", "teeConfig", "type"}),
        TF.format("resource_alicloud_cs_kubernetes_node_pool.go")),
    "alicloud:log/dashboard:Dashboard": (
        frozenset({"projectName", "dashboardName"}), TF.format("resource_alicloud_log_dashboard.go")),
    "alicloud:log/alert:Alert": (frozenset({"projectName", "alertName"}), TF.format("resource_alicloud_log_alert.go")),
    # No Update at all: every argument is ForceNew.
    "alicloud:eci/imageCache:ImageCache": (
        frozenset({"eipInstanceId", "imageCacheName", "imageCacheSize", "imageRegistryCredentials", "images",
                   "resourceGroupId", "retentionDays", "securityGroupId", "vswitchId", "zoneId"}),
        TF.format("resource_alicloud_eci_image_cache.go")),
}
# The provider's own timeouts (schema.ResourceTimeout), which the program must never shorten.
ALICLOUD_TIMEOUTS = {"alicloud:cs/nodePool:NodePool": ({"create": "90m", "update": "60m", "delete": "60m"},
                                                        TF.format("resource_alicloud_cs_kubernetes_node_pool.go")),
                     "alicloud:eci/imageCache:ImageCache": ({"create": "60m"},
                                                            TF.format("resource_alicloud_eci_image_cache.go"))}

K8S = "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNew), at 94977969"
# Paths (dotted, from the object's root) whose change replaces a Kubernetes object. Every kind:
# metadata.name and .namespace. Secrets and ConfigMaps are immutable unless the provider enables
# mutability: this stack's provider enables it for ConfigMaps (enableConfigMapMutable, asserted in
# tests/test_model_versions.py), not for Secrets. The version gate's Jobs change name with their
# content, so a changed check is a new Job (metadata.name).
KUBERNETES_FORCE_NEW: dict[str, tuple[tuple[str, ...], str]] = {
    "Deployment": (("spec.selector",), K8S),
    "PersistentVolume": (("spec.csi",), K8S),
    "PersistentVolumeClaim": (("spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"), K8S),
    "Secret": (("type", "stringData", "data"), K8S),
    "Service": (("spec.clusterIP",), K8S),
}
KUBERNETES_ALWAYS = ("metadata.name", "metadata.namespace")


def _changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths where two input trees differ (a list that differs is one change)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return [p for key in sorted(set(old) | set(new))
                for p in _changed_paths(old.get(key), new.get(key), f"{path}.{key}" if path else key)]
    return [] if old == new else [path]


def forces_replacement(registration: Registration, changed: Sequence[str]) -> list[str]:
    """The changed paths that make the engine replace this resource."""
    if registration.type.startswith("kubernetes:"):
        kind = registration.type.rsplit(":", 1)[-1]
        prefixes = KUBERNETES_ALWAYS + KUBERNETES_FORCE_NEW.get(kind, ((), ""))[0]
    elif registration.type.startswith("alicloud:"):
        prefixes = tuple(ALICLOUD_FORCE_NEW[registration.type][0])
    else:
        prefixes = ()
    prefixes += tuple(registration.replace_on_changes)
    return [p for p in changed if any(p == f or p.startswith(f + ".") for f in prefixes)]


# --- 3. the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What the engine does with one resource."""

    op: str
    """create | delete | replace | update | same"""
    type: str
    name: str
    why: tuple[str, ...] = ()
    """The changed paths behind a replace or an update."""


def plan(before: StackResult, after: StackResult) -> dict[str, Step]:
    """Each URN's step when the stack goes from `before` to `after` (update-mode runs)."""
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    steps: dict[str, Step] = {}
    for urn in old.keys() - new.keys():
        steps[urn] = Step("delete", old[urn].type, old[urn].name)
    for urn in new.keys() - old.keys():
        steps[urn] = Step("create", new[urn].type, new[urn].name)
    for urn in old.keys() & new.keys():
        r = new[urn]
        if not r.custom:
            steps[urn] = Step("same", r.type, r.name)  # components are never replaced or updated
            continue
        changed = _changed_paths(reveal(old[urn].inputs), reveal(r.inputs))
        replacing = forces_replacement(r, changed)
        op = "replace" if replacing else "update" if changed else "same"
        steps[urn] = Step(op, r.type, r.name, tuple(replacing or changed))
    return steps


def by_op(steps: Mapping[str, Step], op: str, type_: Optional[str] = None) -> set[str]:
    """Names of the resources (of a type) that a plan does `op` to."""
    return {s.name for s in steps.values() if s.op == op and (type_ is None or s.type == type_)}

"""What the config leaves to the account, looked up (read-only) before anything is registered.

- The account id: part of the default bucket name, so that name is the same wherever the cluster
  is and does not clash with another account's (OSS bucket names are global).
- Whether the bucket name is already taken in this account by something other than this stack,
  and whether a bucket of the stack's holds lifecycle rules or tags the stack would remove. The
  provider only finds a taken name out at create, after other resources may exist ("The specified
  bucket name ... is not available": resource_alicloud_oss_bucket.go Create L518-519). A name
  taken by another account cannot be seen from here: the buckets data source lists only the
  caller's own buckets, with their tags and lifecycle rules (data_source_alicloud_oss_buckets.go
  ListBuckets L257-262, GetBucketTagging L528-544); the provider's message at create says so, and
  docs/provider.md how to import.
- The cluster's worker vSwitches, for a node pool that names none (an empty list must never
  reach the cloud), and whether this run creates the stack's node pool.
- The cluster's edition, where a feature needs ACK managed Pro (the ResourcePolicy of ECI burst
  scheduling), and its RRSA OIDC provider, which the RRSA role must trust by ARN and issuer.

Every provider file cited here was read on its v2 line, which pulumi-alicloud 4.0.0 bridges:
aliyun/terraform-provider-alicloud `release/v2` at ace5bcf87 (2026-08-21). The exact commit 4.0.0
pins could not be read (docs/provider.md says why). Every list a data source returns is read as
possibly missing: an empty result is `[]` through the bridge, but a missing one must never be a
TypeError here.

Each finding is a `(dotted key, message)` problem, reported with the config's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

import pulumi_alicloud as alicloud

from .errors import Problem
from .schema import StackConfig

# The tags the stack puts on the bucket it creates; a bucket with both is this stack's own.
APP_TAG = ("app", "elastic-inference")
STACK_TAG = "stack"
MANAGED_TAG = ("managed-by", "pulumi")
# The one lifecycle rule the stack sets on its bucket (components/storage/model_store.py).
LIFECYCLE_RULE_ID = "expire-noncurrent-model-versions"
# The tag the stack's node pool carries, so a renamed pool (serving.name) is still found.
POOL_TAG = "elastic-inference-stack"

T = TypeVar("T")


def listed(items: Optional[Iterable[T]]) -> list[T]:
    """A data source's list, missing or not."""
    return list(items) if items is not None else []


@dataclass(frozen=True)
class FoundBucket:
    """This account's bucket of a name, as the buckets data source reports it."""

    tags: Mapping[str, str]
    """Its tags; empty also when they could not be read (the data source drops that error)."""
    lifecycle_rule_ids: tuple[str, ...]


def adopting(bucket: str) -> str:
    return (f"adopting {bucket!r} replaces its lifecycle rules and its tags with the stack's and turns "
            "versioning on for the whole bucket, for good (docs/provider.md, \"A bucket that already exists\")")


def bucket_problem(bucket: str, configured: bool, found: Optional[FoundBucket], stack: str) -> Optional[Problem]:
    """A bucket of that name exists in this account: is it this stack's, and would the stack's next
    update remove anything of it? None when it does not exist, or is this stack's as it stands."""
    if found is None:
        return None
    key, tags = "storage.bucket", found.tags
    what = f"bucket {bucket!r}" if configured else f"the default bucket name {bucket!r}"
    if not tags:
        return (key, (
            f"{what} already exists in this account, and this run read no tags on it: either it has none and is not "
            "this stack's, or the identity running Pulumi lacks oss:GetBucketTagging, which the provider's buckets "
            "data source needs and whose failure it does not report (data_source_alicloud_oss_buckets.go L528-544 "
            "at ace5bcf87); grant that permission and run again, or set storage.bucket to another name; "
            + adopting(bucket)))
    if tags.get(APP_TAG[0]) != APP_TAG[1] or tags.get(STACK_TAG) != stack:
        owner = (f"stack {tags[STACK_TAG]!r} of elastic-inference" if tags.get(APP_TAG[0]) == APP_TAG[1]
                 and STACK_TAG in tags else "something other than this stack (it lacks this stack's tags)")
        return (key, f"{what} already exists in this account and belongs to {owner}; set storage.bucket to another "
                     "name, or adopt it: `pulumi import` it (docs/provider.md, \"A bucket that already exists\") and "
                     f"tag it {APP_TAG[0]}={APP_TAG[1]}, {STACK_TAG}={stack}; " + adopting(bucket))
    foreign_rules = sorted(set(found.lifecycle_rule_ids) - {LIFECYCLE_RULE_ID})
    foreign_tags = {k: v for k, v in tags.items() if k not in (APP_TAG[0], STACK_TAG, MANAGED_TAG[0])}
    if foreign_rules or foreign_tags:
        lost = ([f"lifecycle rule(s) {', '.join(foreign_rules)}"] if foreign_rules else []) + (
            [f"tag(s) {', '.join(f'{k}={v}' for k, v in sorted(foreign_tags.items()))}"] if foreign_tags else [])
        return (key, (
            f"{what} carries {' and '.join(lost)} that this stack's next update would remove: the provider sets a "
            "bucket's whole lifecycle configuration and whole tag set on every update "
            "(resource_alicloud_oss_bucket.go SetBucketLifecycle L1512, SetBucketTagging L1599-1624 at ace5bcf87); "
            "remove them from the bucket (or move what they do to another bucket) and run again, or set "
            "storage.bucket to another name"))
    return None


def own_pool(pool: Mapping[str, Any], name: str, stack: str) -> bool:
    """The stack's node pool: by its tag, or (a pool made before the tag) by its name."""
    return pool["tags"].get(POOL_TAG) == stack or pool["node_pool_name"] == name


def default_vswitches(nodepools: Sequence[Mapping[str, Any]], own: str,
                      stack: str = "") -> tuple[list[str], Optional[Problem]]:
    """The cluster's worker vSwitches: those of its other node pools, in a stable order."""
    found = sorted({v for pool in nodepools if not own_pool(pool, own, stack) for v in pool["vswitch_ids"]})
    if not found:
        return [], ("capacity.nodePool.vswitchIds",
                    "the cluster has no other node pool to take worker vSwitches from; "
                    "set capacity.nodePool.vswitchIds")
    return found, None


def new_pool_warning(nodepools: Sequence[Mapping[str, Any]], own: str, stack: str, compensate: bool) -> Optional[str]:
    """When this run creates the pool with compensateWithOnDemand false. The provider sends the flag
    on create only when it is true (resource_alicloud_cs_kubernetes_node_pool.go Create L1245-1246,
    `d.GetOk`, at ace5bcf87), so the pool starts with ACK's own default, which ACK's API reference
    (CreateClusterNodePool) does not state; Auto Scaling's CreateScalingGroup, behind every pool,
    documents true. Create ends by reading the pool back (L1918, Read L1967), so the next update
    compares false with what the pool really has and sends false if it differs (Update L2621-2624,
    `d.GetOkExists`). A pool that exists already (found by its tag, even renamed) gets false on
    this very update."""
    if compensate or any(own_pool(pool, own, stack) for pool in nodepools):
        return None
    return (f"capacity.nodePool.compensateWithOnDemand: false cannot reach the node pool {own!r} this run creates: "
            "the provider sends that flag on create only when it is true, so the pool starts with ACK's own default, "
            "which ACK's API reference does not state (Auto Scaling, behind every pool, defaults it to true). The "
            "provider reads the pool back once it exists: if it has true, the next `pulumi up` shows "
            "compensateWithOnDemand changing to false and sends it; if it has false, that run shows nothing to change")


def account_id() -> str:
    """The caller's account (UID)."""
    return alicloud.get_account().id


def bucket_found(bucket: str) -> Optional[FoundBucket]:
    """This account's bucket of that name; None when this account has none of that name."""
    found = listed(alicloud.oss.get_buckets(name_regex=f"^{re.escape(bucket)}$").buckets)
    exact = [b for b in found if b.name == bucket]
    if not exact:
        return None
    return FoundBucket(tags=dict(exact[0].tags or {}),
                       lifecycle_rule_ids=tuple(rule.id for rule in listed(exact[0].lifecycle_rules)))


def node_pools(cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's node pools: name, vSwitches and tags (data_source_alicloud_cs_kubernetes_node_pools.go
    node_pool_name L437-440, vswitch_ids L682-686, at ace5bcf87)."""
    found = listed(alicloud.cs.get_kubernetes_node_pools(cluster_id=cluster_id).nodepools)
    return [{"node_pool_name": p.node_pool_name, "vswitch_ids": listed(p.vswitch_ids), "tags": dict(p.tags or {})}
            for p in found]


@dataclass(frozen=True)
class RrsaIssuer:
    """The cluster's RRSA OIDC provider as RAM knows it."""

    provider_arn: str
    """`acs:ram::<account>:oidc-provider/<name>`: the role's trusted principal."""
    issuer_url: str
    """The `iss` of the tokens the cluster signs."""


def cluster_network(cluster_id: str) -> Optional[tuple[list[str], str]]:
    """The cluster's vSwitches and security group, None when the region has no such cluster
    (data_source_alicloud_cs_clusters.go security_group_id L349, vswitch_ids L358-363, at ace5bcf87)."""
    found = [c for c in listed(alicloud.cs.get_clusters(cluster_id=cluster_id).clusters) if c.cluster_id == cluster_id]
    return (listed(found[0].vswitch_ids), found[0].security_group_id or "") if found else None


def network_problems(cluster_id: str, network: Optional[tuple[list[str], str]], vswitch: Optional[str],
                     security_group: Optional[str]) -> list[Problem]:
    """The image cache's build needs a vSwitch and a security group: configured, or the cluster's."""
    vswitches, group = network if network is not None else ([], "")
    problems: list[Problem] = []
    if vswitch is None and not vswitches:
        problems.append(("capacity.eciImageCache.vswitchId", f"is needed: cluster {cluster_id} reported no vSwitch "
                         "to build the ECI image cache in; name one of the cluster's VPC (with a NAT gateway to the "
                         "image's registry)"))
    if security_group is None and not group:
        problems.append(("capacity.eciImageCache.securityGroupId", f"is needed: cluster {cluster_id} reported no "
                         "security group for the ECI image cache's build; name one of the cluster's VPC"))
    return problems


def cluster_edition(cluster_id: str) -> Optional[str]:
    """The cluster's `cluster_spec` (`ack.standard`, `ack.pro.small`, ...), None when the region has
    no such cluster or says none (data_source_alicloud_cs_clusters.go, query cluster_id L261-265,
    cluster_spec L339, at ace5bcf87; a cluster without one reads as "")."""
    found = [c for c in listed(alicloud.cs.get_clusters(cluster_id=cluster_id).clusters) if c.cluster_id == cluster_id]
    return (found[0].cluster_spec or None) if found else None


def rrsa_issuer(cluster_id: str) -> Optional[RrsaIssuer]:
    """The cluster's RRSA provider, None when RRSA is off (or the cluster unknown). The details
    come only with enable_details (data_source_alicloud_cs_managed_kubernetes_clusters.go, rrsa_config
    L138-161, filled from DescribeClusterDetail's MetaData L408-416, at ace5bcf87)."""
    result = alicloud.cs.get_managed_kubernetes_clusters(ids=[cluster_id], enable_details=True)
    found = [c for c in listed(result.clusters) if c.id == cluster_id]
    config = found[0].rrsa_config if found else None
    if config is None or not config.enabled:
        return None
    return RrsaIssuer(provider_arn=config.ram_oidc_provider_arn, issuer_url=config.rrsa_oidc_issuer_url)


def edition_problem(cluster_id: str, edition: Optional[str], key: str = "capacity.eci.scheduling") -> Optional[Problem]:
    """ECI burst scheduling, and a pool's ECI overflow, need ACK managed Pro (ResourcePolicy)."""
    if edition is not None and edition.startswith("ack.pro"):
        return None
    found = f"is {edition!r}" if edition else "was not found in this region"
    what, instead = (("burst", "use scheduling only") if key == "capacity.eci.scheduling"
                     else ("true", "set it false"))
    return (key, (
        f"{what} needs an ACK managed Pro cluster (its ResourcePolicy is a Pro feature), and cluster "
        f"{cluster_id} {found}; {instead}, or migrate the cluster to Pro"))


def rrsa_problem(cluster_id: str, issuer: Optional[RrsaIssuer]) -> Optional[Problem]:
    """storage.auth rrsa needs RRSA turned on for the cluster."""
    if issuer is not None:
        return None
    return ("storage.auth", (
        f"rrsa needs RRSA enabled on cluster {cluster_id} (ACK console: the cluster's Basic "
        "Information, Security and Audit, RRSA OIDC), and it is off or the cluster was not found; "
        "enable it, or use storage.auth ramUser"))


@dataclass(frozen=True)
class Findings:
    """What the account and the cluster said about a valid config."""

    problems: list[Problem]
    """What stops the run, by the key it concerns."""
    warnings: list[str]
    """What the run should say, and goes on."""
    rrsa: Optional[RrsaIssuer]
    """The cluster's RRSA provider (with `storage.auth: rrsa`)."""
    vswitch_ids: Optional[tuple[str, ...]]
    """The node pool's vSwitches, configured or the cluster's (nodepool mode)."""
    network: Optional[tuple[str, str]] = None
    """The cluster's first vSwitch and its security group, where an ECI image cache is built."""


def look_up(cfg: StackConfig, stack: str, *, bucket: Optional[str], pool: str) -> Findings:
    """Ask the account and the cluster what the config leaves to them: whether the bucket the stack
    creates (`bucket`; None when the model is already in OSS) is someone else's, whether the cluster
    is Pro where a feature needs it, its RRSA provider, the node pool's vSwitches (`pool`: the
    pool's name) and whether the pool is new."""
    problems: list[Problem] = []
    warnings: list[str] = []
    if bucket is not None:
        taken = bucket_problem(bucket, cfg.storage.bucket is not None, bucket_found(bucket), stack)
        problems += [taken] if taken else []
    if cfg.capacity.mode == "eci" and cfg.capacity.eci.scheduling == "burst":
        edition = edition_problem(cfg.cluster_id, cluster_edition(cfg.cluster_id))
        problems += [edition] if edition else []
    if cfg.capacity.mode == "nodepool" and cfg.capacity.node_pool.eci_overflow:
        edition = edition_problem(cfg.cluster_id, cluster_edition(cfg.cluster_id), "capacity.nodePool.eciOverflow")
        problems += [edition] if edition else []
    network: Optional[tuple[str, str]] = None
    cache = cfg.capacity.eci_image_cache
    wants_cache = cfg.capacity.eci.image_cache if cfg.capacity.mode == "eci" else cfg.capacity.node_pool.eci_overflow
    if wants_cache and (cache.vswitch_id is None or cache.security_group_id is None):
        found_network = cluster_network(cfg.cluster_id)
        problems += network_problems(cfg.cluster_id, found_network, cache.vswitch_id, cache.security_group_id)
        if found_network is not None:
            network = (found_network[0][0] if found_network[0] else "", found_network[1])
    rrsa: Optional[RrsaIssuer] = None
    if cfg.storage.auth == "rrsa":
        rrsa = rrsa_issuer(cfg.cluster_id)
        missing = rrsa_problem(cfg.cluster_id, rrsa)
        problems += [missing] if missing else []
    vswitch_ids: Optional[tuple[str, ...]] = None
    if cfg.capacity.mode == "nodepool":
        pools, configured = node_pools(cfg.cluster_id), cfg.capacity.node_pool.vswitch_ids
        if configured is not None:
            vswitch_ids = tuple(configured)
        else:
            found, none = default_vswitches(pools, pool, stack)
            vswitch_ids = tuple(found)
            problems += [none] if none else []
        new_pool = new_pool_warning(pools, pool, stack, cfg.capacity.node_pool.compensate_with_on_demand)
        warnings += [new_pool] if new_pool else []
    return Findings(problems=problems, warnings=warnings, rrsa=rrsa, vswitch_ids=vswitch_ids, network=network)

"""What the config leaves to the account, looked up (read-only) before anything is registered.

- The account id: part of the default bucket name, so that name is the same wherever the cluster
  is and does not clash with another account's (OSS bucket names are global).
- Whether the bucket name is already taken in this account by something other than this stack.
  The provider only finds out at create, after other resources may exist ("The specified
  bucket name ... is not available", aliyun/terraform-provider-alicloud
  alicloud/resource_alicloud_oss_bucket.go, Create, IsBucketExist, at 81c43b67). A name taken by
  another account cannot be seen from here (the buckets data source lists only the caller's own
  buckets, with their tags: alicloud/data_source_alicloud_oss_buckets.go, ListBuckets and
  GetBucketTagging); the provider's message at create says so, and docs/provider.md how to import.
- The cluster's worker vSwitches, for a node pool that names none: an empty list must never
  reach the cloud.
- The cluster's edition, where a feature needs ACK managed Pro (the ResourcePolicy of ECI burst
  scheduling), and its RRSA OIDC provider, which the RRSA role must trust by ARN and issuer.

Each finding is a `(dotted key, message)` problem, reported with the config's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi_alicloud as alicloud

from .errors import Problem
from .schema import StackConfig

# The tags the stack puts on the bucket it creates; a bucket with both is this stack's own.
APP_TAG = ("app", "elastic-inference")
STACK_TAG = "stack"


def bucket_problem(bucket: str, configured: bool, tags: Optional[Mapping[str, str]], stack: str) -> Optional[Problem]:
    """A bucket of that name exists in this account and is not this stack's: say whose it seems
    to be and what to do. None when it does not exist or carries this stack's tags."""
    if tags is None or (tags.get(APP_TAG[0]) == APP_TAG[1] and tags.get(STACK_TAG) == stack):
        return None
    key = "storage.bucket"
    owner = (f"stack {tags[STACK_TAG]!r} of elastic-inference" if tags.get(APP_TAG[0]) == APP_TAG[1]
             and STACK_TAG in tags else "something other than this stack (it lacks this stack's tags)")
    what = f"bucket {bucket!r}" if configured else f"the default bucket name {bucket!r}"
    return (key, f"{what} already exists in this account and belongs to {owner}; set storage.bucket "
                 "to another name, or adopt it: `pulumi import` it (docs/provider.md, \"A bucket that already "
                 f"exists\") and tag it {APP_TAG[0]}={APP_TAG[1]}, {STACK_TAG}={stack}")


def default_vswitches(nodepools: Sequence[Mapping[str, Any]], own_pool: str) -> tuple[list[str], Optional[Problem]]:
    """The cluster's worker vSwitches: those of its other node pools, in a stable order."""
    found = sorted({v for pool in nodepools if pool["node_pool_name"] != own_pool for v in pool["vswitch_ids"]})
    if not found:
        return [], ("capacity.nodePool.vswitchIds",
                    "the cluster has no other node pool to take worker vSwitches from; "
                    "set capacity.nodePool.vswitchIds")
    return found, None


def new_pool_warning(nodepools: Sequence[Mapping[str, Any]], own_pool: str, compensate: bool) -> Optional[str]:
    """When this run creates the pool with compensateWithOnDemand false: the provider cannot send
    false on create (resource_alicloud_cs_kubernetes_node_pool.go, Create reads it with d.GetOk,
    which reports false as unset, while Update sends it with d.GetOkExists), so ACK's own default
    applies until the next update sends it. Say so, and what to run."""
    if compensate or any(pool["node_pool_name"] == own_pool for pool in nodepools):
        return None
    return (f"capacity.nodePool.compensateWithOnDemand: false reaches the new node pool {own_pool!r} only "
            "on its first update (the provider drops false when it creates a pool); run `pulumi up` once "
            "more after this one, and it will show and apply that change")


def account_id() -> str:
    """The caller's account (UID)."""
    return alicloud.get_account().id


def bucket_tags(bucket: str) -> Optional[dict[str, str]]:
    """Tags of this account's bucket of that name; None when this account has none of that name."""
    found = alicloud.oss.get_buckets(name_regex=f"^{re.escape(bucket)}$").buckets
    exact = [b for b in found if b.name == bucket]
    return dict(exact[0].tags or {}) if exact else None


def node_pools(cluster_id: str) -> list[dict[str, Any]]:
    """The cluster's node pools: name and vSwitches."""
    found = alicloud.cs.get_kubernetes_node_pools(cluster_id=cluster_id).nodepools
    return [{"node_pool_name": p.node_pool_name, "vswitch_ids": list(p.vswitch_ids)} for p in found]


@dataclass(frozen=True)
class RrsaIssuer:
    """The cluster's RRSA OIDC provider as RAM knows it."""

    provider_arn: str
    """`acs:ram::<account>:oidc-provider/<name>`: the role's trusted principal."""
    issuer_url: str
    """The `iss` of the tokens the cluster signs."""


def cluster_edition(cluster_id: str) -> Optional[str]:
    """The cluster's `cluster_spec` (`ack.standard`, `ack.pro.small`, ...), None when the region has
    no such cluster (aliyun/terraform-provider-alicloud alicloud/data_source_alicloud_cs_clusters.go,
    query cluster_id L262, cluster_spec L339, at 81c43b67)."""
    found = [c for c in alicloud.cs.get_clusters(cluster_id=cluster_id).clusters if c.cluster_id == cluster_id]
    return found[0].cluster_spec if found else None


def rrsa_issuer(cluster_id: str) -> Optional[RrsaIssuer]:
    """The cluster's RRSA provider, None when RRSA is off (or the cluster unknown). The details
    come only with enable_details (data_source_alicloud_cs_managed_kubernetes_clusters.go, rrsa_config
    L254-263, filled from DescribeClusterDetail's MetaData L532, at 81c43b67)."""
    result = alicloud.cs.get_managed_kubernetes_clusters(ids=[cluster_id], enable_details=True)
    found = [c for c in result.clusters if c.id == cluster_id]
    config = found[0].rrsa_config if found else None
    if config is None or not config.enabled:
        return None
    return RrsaIssuer(provider_arn=config.ram_oidc_provider_arn, issuer_url=config.rrsa_oidc_issuer_url)


def edition_problem(cluster_id: str, edition: Optional[str]) -> Optional[Problem]:
    """ECI burst scheduling needs ACK managed Pro."""
    if edition is not None and edition.startswith("ack.pro"):
        return None
    found = f"is {edition!r}" if edition else "was not found in this region"
    return ("capacity.eci.scheduling", (
        f"burst needs an ACK managed Pro cluster (its ResourcePolicy is a Pro feature), and cluster "
        f"{cluster_id} {found}; use scheduling only, or migrate the cluster to Pro"))


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


def look_up(cfg: StackConfig, stack: str, *, bucket: Optional[str], pool: str) -> Findings:
    """Ask the account and the cluster what the config leaves to them: whether the bucket the stack
    creates (`bucket`; None when the model is already in OSS) is someone else's, whether the cluster
    is Pro where a feature needs it, its RRSA provider, the node pool's vSwitches (`pool`: the
    pool's name) and whether the pool is new."""
    problems: list[Problem] = []
    warnings: list[str] = []
    if bucket is not None:
        taken = bucket_problem(bucket, cfg.storage.bucket is not None, bucket_tags(bucket), stack)
        problems += [taken] if taken else []
    if cfg.capacity.mode == "eci" and cfg.capacity.eci.scheduling == "burst":
        edition = edition_problem(cfg.cluster_id, cluster_edition(cfg.cluster_id))
        problems += [edition] if edition else []
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
            found, none = default_vswitches(pools, pool)
            vswitch_ids = tuple(found)
            problems += [none] if none else []
        new_pool = new_pool_warning(pools, pool, cfg.capacity.node_pool.compensate_with_on_demand)
        warnings += [new_pool] if new_pool else []
    return Findings(problems=problems, warnings=warnings, rrsa=rrsa, vswitch_ids=vswitch_ids)

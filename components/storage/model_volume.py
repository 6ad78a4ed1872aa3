"""ModelVolume: read-only OSS access for the cluster, and the static PV/PVC of the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from components.storage.volume_spec import (
    RoleCredential,
    SecretCredential,
    VolumeCredential,
    VolumeInputs,
    pv_manifest,
    pvc_manifest,
    ram_name,
    read_policy_document,
    rrsa_trust_policy,
)
from components.wiring import k8s_object, name_of
from settings import RrsaAuth, VolumeAuth


@dataclass(frozen=True, kw_only=True)
class ModelVolumeArgs:
    """Where the model is and how the volume reads it."""

    volume: VolumeInputs
    """Namespace, base name, bucket, endpoint and prefix of the model."""
    reader: VolumeAuth
    """Who reads: a RAM user whose key the CSI driver reads from a Secret, or an RRSA role."""
    stack: str
    """Stack name (RAM names are per account, so they carry it)."""
    cluster_id: str
    """Cluster whose CSI plugin mounts the volume (RRSA trusts its OIDC provider)."""
    upload: Sequence[pulumi.Resource] = ()
    """The model's upload (the ModelStore): the PV waits for it, and through the PV everything
    that mounts the volume does. Only the PV lists it, so no other resource's dependencies grow
    with the number of model files."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the Kubernetes objects wait for (the namespace).
    An Args field, not `opts.depends_on`: see components/wiring.py."""


@dataclass(frozen=True)
class _Reader:
    """The identity the volume reads with, and what must exist before the PV uses it."""

    credential: VolumeCredential
    resources: tuple[pulumi.Resource, ...]


class ModelVolume(pulumi.ComponentResource):
    """A least-privilege reader identity and a read-only PV/PVC onto `<bucket>/<prefix>`.

    Outputs: `claim_name`, `pv_name`. No access key appears in an output, a PV attribute or an
    environment variable: with `ramUser` the key lives in a Secret that the PV references.
    The Kubernetes provider comes through `opts` (`providers=`).
    """

    claim_name: pulumi.Output[str]
    pv_name: pulumi.Output[str]
    planned_claim_name: str
    """The claim's name, known before anything is created (it is derived from the content), so
    the pod spec can be built as a plain value; depend on this component for the ordering."""

    def __init__(self, name: str, args: ModelVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:storage:ModelVolume", name, None, opts)
        after = list(args.depends_on)
        v = args.volume
        policy = alicloud.ram.Policy(
            f"{name}-read-policy",
            policy_name=_ram_name(args, "oss-read"),
            policy_document=read_policy_document(v.bucket, v.prefix),
            description=f"Read-only access to oss://{v.bucket}/{v.prefix} for the model volume",
            force=True,  # detach from principals on delete, so destroy does not stall
            # RAM keeps at most 5 versions of a policy; every document change adds one, and the
            # sixth would fail. Drop the oldest non-default version instead
            # (terraform-provider-alicloud resource_alicloud_ram_policy.go, rotate_strategy).
            rotate_strategy="DeleteOldestNonDefaultVersionWhenLimitExceeded",
            opts=pulumi.ResourceOptions(parent=self),
        )
        if isinstance(args.reader, RrsaAuth):
            reader = self._rrsa_role(name, args, args.reader, policy)
        else:
            reader = self._ram_user_secret(name, args, policy, after)

        pv = pv_manifest(v, reader.credential)
        volume = k8s_object(k8s.core.v1.PersistentVolume, f"{name}-pv", pv, parent=self,
                            depends_on=[*after, *args.upload, *reader.resources])
        pvc = pvc_manifest(v, pv["metadata"]["name"])
        self.planned_claim_name = pvc["metadata"]["name"]
        # Bound to that PV; on destroy the claim goes first, then the PV.
        claim = k8s_object(k8s.core.v1.PersistentVolumeClaim, f"{name}-pvc", pvc, parent=self,
                           depends_on=[volume, *after])
        self.pv_name = name_of(volume.metadata)
        self.claim_name = name_of(claim.metadata)
        self.register_outputs({"claimName": self.claim_name, "pvName": self.pv_name})

    def _ram_user_secret(
        self, name: str, args: ModelVolumeArgs, policy: alicloud.ram.Policy, after: list[pulumi.Resource]
    ) -> _Reader:
        user = alicloud.ram.User(
            f"{name}-reader",
            name=_ram_name(args, "oss-reader"),
            comments="Reads the served model for the OSS CSI volume (managed by Pulumi)",
            force=True,  # remove its access key and policy attachments on delete
            # A user's name is not ForceNew but its key's user_name is: renamed in place, the old
            # key's delete would name a user that no longer exists, the provider would swallow
            # "not found", and the old key would stay active on the renamed user
            # (terraform-provider-alicloud resource_alicloud_ram_user.go / _ram_access_key.go).
            # Replaced instead, the new user and key come first, then the old key and user go.
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["name"]),
        )
        attachment = alicloud.ram.UserPolicyAttachment(
            f"{name}-reader-policy",
            user_name=user.name,
            policy_name=policy.policy_name,
            policy_type="Custom",
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = alicloud.ram.AccessKey(
            f"{name}-reader-key",
            user_name=user.name,
            # Its `secret` output is stored encrypted in the state: the SDK marks it so itself
            # (pulumi_alicloud/ram/access_key.py, additional_secret_outputs=["secret"]).
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret_name = f"{args.volume.name}-oss-reader"
        secret = k8s.core.v1.Secret(
            f"{name}-reader-secret",
            metadata={"name": secret_name, "namespace": args.volume.namespace},
            type="Opaque",
            # The keys the OSS CSI driver reads through nodePublishSecretRef.
            string_data={"akId": pulumi.Output.secret(key.id), "akSecret": pulumi.Output.secret(key.secret)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment, *after]),
        )
        return _Reader(SecretCredential(secret_name=secret_name), (secret, attachment))

    def _rrsa_role(self, name: str, args: ModelVolumeArgs, rrsa: RrsaAuth, policy: alicloud.ram.Policy) -> _Reader:
        role_name = _ram_name(args, "oss-rrsa")
        role = alicloud.ram.Role(
            f"{name}-rrsa-role",
            role_name=role_name,
            assume_role_policy_document=rrsa_trust_policy(rrsa.provider_arn, rrsa.issuer_url),
            description="Assumed by the ACK CSI ossfs pods (RRSA) to read the served model",
            force=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = alicloud.ram.RolePolicyAttachment(
            f"{name}-rrsa-policy",
            role_name=role.role_name,
            policy_name=policy.policy_name,
            policy_type="Custom",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return _Reader(RoleCredential(role_name=role_name), (role, attachment))


def _ram_name(args: ModelVolumeArgs, suffix: str) -> str:
    """This volume's RAM name with `suffix` (user, role or policy)."""
    return ram_name(args.stack, args.cluster_id, args.volume.namespace, args.volume.name, suffix)

"""ModelVolume: read-only OSS access for the cluster, and the static PV/PVC of the model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from .volume_spec import (
    VolumeInputs,
    pv_manifest,
    pvc_manifest,
    ram_name,
    read_policy_document,
    rrsa_trust_policy,
)


@dataclass(frozen=True)
class ModelVolumeArgs:
    """Where the model is and how the volume reads it."""

    volume: VolumeInputs
    """Namespace, base name, bucket, endpoint, prefix and auth mode (the credential name is
    filled in here)."""
    stack: str
    """Stack name (RAM names are per account, so they carry it)."""
    cluster_id: str
    """Cluster whose CSI plugin mounts the volume (RRSA trusts its OIDC provider)."""
    provider: k8s.Provider
    """Kubernetes provider of the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the model store, the namespace)."""


class ModelVolume(pulumi.ComponentResource):
    """A least-privilege reader identity and a read-only PV/PVC onto `<bucket>/<prefix>`.

    Outputs: `claim_name`, `pv_name`. No access key appears in an output, a PV attribute or an
    environment variable: with `ramUser` the key lives in a Secret that the PV references.
    """

    claim_name: pulumi.Output[str]
    pv_name: pulumi.Output[str]
    planned_claim_name: str
    """The claim's name, known before anything is created (it is derived from the content), so
    the pod spec can be built as a plain value; depend on this component for the ordering."""

    def __init__(self, name: str, args: ModelVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:storage:ModelVolume", name, None, opts)
        k8s_opts = dict(parent=self, provider=args.provider)
        v = args.volume
        policy = alicloud.ram.Policy(
            f"{name}-read-policy",
            policy_name=_ram_name(args, "oss-read"),
            policy_document=read_policy_document(v.bucket, v.prefix),
            description=f"Read-only access to oss://{v.bucket}/{v.prefix} for the model volume",
            force=True,  # detach from principals on delete, so destroy does not stall
            opts=pulumi.ResourceOptions(parent=self),
        )
        if v.auth == "rrsa":
            credentials = self._rrsa_role(name, args, policy)
            inputs = replace(v, role_name=credentials.role_name, secret_name=None)
        else:
            credentials = self._ram_user_secret(name, args, policy, k8s_opts)
            inputs = replace(v, secret_name=credentials.secret_name, role_name=None)

        pv = pv_manifest(inputs)
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-pv",
            metadata=pv["metadata"],
            spec=pv["spec"],
            opts=pulumi.ResourceOptions(
                **k8s_opts, depends_on=[*args.depends_on, *credentials.resources]
            ),
        )
        pvc = pvc_manifest(inputs, pv["metadata"]["name"])
        self.planned_claim_name = pvc["metadata"]["name"]
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-pvc",
            metadata=pvc["metadata"],
            spec=pvc["spec"],
            # Bound to that PV; on destroy the claim goes first, then the PV.
            opts=pulumi.ResourceOptions(**k8s_opts, depends_on=[volume, *args.depends_on]),
        )
        self.pv_name = volume.metadata.apply(lambda m: m.name)
        self.claim_name = claim.metadata.apply(lambda m: m.name)
        self.register_outputs({"claimName": self.claim_name, "pvName": self.pv_name})

    def _ram_user_secret(self, name, args, policy, k8s_opts) -> "_Credentials":
        user = alicloud.ram.User(
            f"{name}-reader",
            name=_ram_name(args, "oss-reader"),
            comments="Reads the served model for the OSS CSI volume (managed by Pulumi)",
            force=True,  # remove its access key and policy attachments on delete
            opts=pulumi.ResourceOptions(parent=self),
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
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secret"]),
        )
        secret_name = f"{args.volume.name}-oss-reader"
        secret = k8s.core.v1.Secret(
            f"{name}-reader-secret",
            metadata={"name": secret_name, "namespace": args.volume.namespace},
            type="Opaque",
            # The keys the OSS CSI driver reads through nodePublishSecretRef.
            string_data={"akId": pulumi.Output.secret(key.id), "akSecret": pulumi.Output.secret(key.secret)},
            opts=pulumi.ResourceOptions(**k8s_opts, depends_on=[attachment, *args.depends_on]),
        )
        return _Credentials(secret_name=secret_name, role_name=None, resources=(secret, attachment))

    def _rrsa_role(self, name, args, policy) -> "_Credentials":
        account = alicloud.get_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role_name = _ram_name(args, "oss-rrsa")
        role = alicloud.ram.Role(
            f"{name}-rrsa-role",
            role_name=role_name,
            assume_role_policy_document=account.id.apply(lambda uid: rrsa_trust_policy(uid, args.cluster_id)),
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
        return _Credentials(secret_name=None, role_name=role_name, resources=(role, attachment))


def _ram_name(args: ModelVolumeArgs, suffix: str) -> str:
    """This volume's RAM name with `suffix` (user, role or policy)."""
    return ram_name(args.stack, args.cluster_id, args.volume.namespace, args.volume.name, suffix)


@dataclass(frozen=True)
class _Credentials:
    secret_name: Optional[str]
    role_name: Optional[str]
    resources: tuple

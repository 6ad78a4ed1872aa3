"""Pure builders for the model volume: RAM policies and the static OSS PV/PVC manifests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Union

from components.serving.spec import content_hash

CSI_DRIVER = "ossplugin.csi.alibabacloud.com"
# The ossfs pods of the ACK CSI plugin run as this service account; an RRSA role for OSS
# volumes trusts it (ACK docs, "mount a statically provisioned OSS volume with RRSA").
CSI_FUSE_SUBJECT = "system:serviceaccount:ack-csi-fuse:csi-fuse-ossfs"
# Nominal: OSS has no size; Kubernetes requires a capacity and the claim must fit in it.
NOMINAL_CAPACITY = "100Gi"
# Read-only, world-readable for the non-root server; kernel page cache is safe because the
# objects under a version key never change; a large stat cache saves OSS HEAD requests.
MOUNT_OPTIONS = "-o allow_other -o umask=022 -o kernel_cache -o max_stat_cache_size=100000"


@dataclass(frozen=True, kw_only=True)
class VolumeInputs:
    """Where the model is: what the PV/PVC and the read policy are built from."""

    namespace: str
    """Namespace of the claim (and of the credential Secret)."""
    name: str
    """Base name (the serving name); the PV/PVC names add '-model' and a content hash."""
    bucket: str
    endpoint: str
    """OSS endpoint the CSI driver mounts through (the region's internal one)."""
    prefix: str
    """Key prefix of the model base directory."""


@dataclass(frozen=True, kw_only=True)
class SecretCredential:
    """The CSI driver reads the RAM user's key from this Secret (`nodePublishSecretRef`)."""

    secret_name: str


@dataclass(frozen=True, kw_only=True)
class RoleCredential:
    """The CSI driver assumes this RAM role through RRSA; no key exists."""

    role_name: str


VolumeCredential = Union[SecretCredential, RoleCredential]


def read_policy_document(bucket: str, prefix: str) -> str:
    """Least privilege for a read-only model mount: list the bucket, read under the prefix."""
    return json.dumps(
        {
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": ["oss:ListObjects"], "Resource": [f"acs:oss:*:*:{bucket}"]},
                {
                    "Effect": "Allow",
                    "Action": ["oss:GetObject"],
                    "Resource": [f"acs:oss:*:*:{bucket}/{prefix}/*"],
                },
            ],
        },
        sort_keys=True,
    )


def rrsa_trust_policy(provider_arn: str, issuer_url: str) -> str:
    """Who may assume the RRSA role: only the CSI ossfs service account, with a token this
    cluster's issuer signed for STS (the three conditions ack-ram-tool writes:
    AliyunContainerService/ack-ram-tool website/docs/rrsa/associate-role.zh-CN.md at 1204b147)."""
    return json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Federated": [provider_arn]},
                    "Condition": {
                        "StringEquals": {
                            "oidc:aud": "sts.aliyuncs.com",
                            "oidc:iss": issuer_url,
                            "oidc:sub": CSI_FUSE_SUBJECT,
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def pv_manifest(v: VolumeInputs, credential: VolumeCredential) -> dict:
    """Static PV on the OSS CSI driver. No key in any attribute: a Secret reference, or RRSA.

    Its name carries a hash of the content: CSI attributes are immutable, so a change makes a
    new PV (and claim) before the old ones go, instead of a delete that hangs on a claim in use.
    """
    attributes = {"bucket": v.bucket, "url": v.endpoint, "path": f"/{v.prefix}", "otherOpts": MOUNT_OPTIONS}
    csi: dict = {"driver": CSI_DRIVER, "readOnly": True, "volumeAttributes": attributes}
    if isinstance(credential, RoleCredential):
        attributes.update({"authType": "rrsa", "roleName": credential.role_name})
    else:
        csi["nodePublishSecretRef"] = {"name": credential.secret_name, "namespace": v.namespace}
    name = f"{v.namespace}-{v.name}-model-{content_hash(csi)}"
    csi["volumeHandle"] = name  # the driver requires volumeHandle == PV name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"alicloud-pvname": name}},
        "spec": {
            "capacity": {"storage": NOMINAL_CAPACITY},
            "accessModes": ["ReadOnlyMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "csi": csi,
        },
    }


def pvc_manifest(v: VolumeInputs, pv_name: str) -> dict:
    """The claim bound to exactly that PV (volumeName; empty class so nothing is provisioned)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": pv_name.removeprefix(f"{v.namespace}-"), "namespace": v.namespace},
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": "",
            "volumeName": pv_name,
            "resources": {"requests": {"storage": NOMINAL_CAPACITY}},
        },
    }


# RAM names of users, roles and policies in the one alphabet all three accept: users take letters,
# digits, '-', '.', '_' (1-64, not starting with '-'); roles letters, digits, '.', '-' (1-64,
# RAM CreateRole reference); policies letters, digits, '-' (1-128) (pulumi_alicloud 4.0.0
# ram/user.py and ram/policy.py docs). Letters, digits and '-', at most 64, starting with a letter.
RAM_NAME = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
RAM_NAME_MAX = 64


def ram_name(stack: str, cluster_id: str, namespace: str, name: str, suffix: str) -> str:
    """An account-unique, valid RAM name for any stack name Pulumi accepts (RAM names are global
    to the account, not to a cluster): the stack, namespace and serving name where they fit, a
    hash of them and the cluster so two volumes never share one, and what it is (`suffix`)."""
    digest = content_hash([stack, cluster_id, namespace, name])[:6]
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", f"ei-{stack}-{namespace}-{name}")
    return f"{stem[: RAM_NAME_MAX - len(suffix) - len(digest) - 2]}-{digest}-{suffix}"

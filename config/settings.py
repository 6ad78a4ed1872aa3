"""The validated, resolved settings the components receive: frozen, with no defaults left open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .account import RrsaIssuer
from .images import GpuRuntime
from .rules import ModelSource
from .schema import (
    AutoscalingSettings,
    CapacitySettings,
    IngressSettings,
    ModelSettings,
    NetworkSettings,
    ServingSettings,
)


@dataclass(frozen=True)
class StorageLocation:
    """Where the model is in OSS, with every default resolved."""

    bucket: str
    """Bucket name (configured, generated, or taken from an oss:// source)."""
    prefix: str
    """Key prefix of the model's base directory (no leading or trailing '/')."""
    auth: str
    """ramUser | rrsa."""
    managed: bool
    """True when this stack creates the bucket and uploads the model."""
    noncurrent_version_days: int
    """Days a replaced or deleted object's old version is kept before it expires."""


@dataclass(frozen=True)
class Settings:
    """One stack's configuration, validated and resolved once by `config.load_settings`."""

    project: str
    """Pulumi project name."""
    stack: str
    """Pulumi stack name."""
    region: str
    """Alibaba Cloud region (`alicloud:region`)."""
    account_id: str
    """The account (UID) the stack deploys into."""
    cluster_id: str
    """Existing ACK cluster."""
    protect: bool
    """Bucket and model objects survive `pulumi destroy`."""
    model: ModelSettings
    model_source: ModelSource
    storage: StorageLocation
    capacity: CapacitySettings
    pool_vswitch_ids: Optional[tuple[str, ...]]
    """The node pool's vSwitches, configured or looked up (None in eci mode)."""
    rrsa: Optional[RrsaIssuer]
    """The cluster's RRSA OIDC provider (looked up with storage.auth rrsa; None otherwise)."""
    serving: ServingSettings
    gpu: Optional[GpuRuntime]
    """What the serving image needs of the GPUs and their driver (None without GPUs)."""
    autoscaling: AutoscalingSettings
    ingress: IngressSettings
    network: NetworkSettings

    @property
    def sls_project(self) -> str:
        """SLS project of the ingress logs: configured, or ACK's default `k8s-log-<clusterId>`."""
        if self.autoscaling.sls_project is not None:
            return self.autoscaling.sls_project
        return f"k8s-log-{self.cluster_id}"

"""Plain Args for calling the components' pure builders directly (no program, no mock engine), and
config variants the tests of several topics share."""

from __future__ import annotations

import copy
from typing import Optional

from harness import NS

from components.network import public_endpoint
from components.scaling import autoscaler
from components.serving import spec as serving_spec
from components.storage import volume_spec
from config.schema import StackConfig
from settings import HpaBounds, Ingress, QpsMetric, ScalingBehavior


def serving_inputs(**overrides) -> serving_spec.ServingInputs:
    values = dict(
        namespace="inference", name="bert", image="tensorflow/serving:2.19.0-gpu", image_version="2.19.0-gpu",
        gpus=1, cpu="4", memory="12Gi", model_name="chnsenticorp", versions=(3, 1), served_version=3,
        claim_name="claim", poll_seconds=60, check_image="python:3.12-slim-bookworm", rest_port=8501,
        grpc_port=8500,
    )
    values.update(overrides)
    return serving_spec.ServingInputs(**values)


def volume_inputs(**overrides) -> volume_spec.VolumeInputs:
    values = dict(
        namespace="inference", name="bert", bucket="acme", endpoint="oss-cn-beijing-internal.aliyuncs.com",
        prefix="models/bert",
    )
    values.update(overrides)
    return volume_spec.VolumeInputs(**values)


SECRET = volume_spec.SecretCredential(secret_name="bert-oss-reader")


def hpa_args(route: str = "ns-svc-8501", **overrides) -> autoscaler.AutoscalerArgs:
    values = dict(
        namespace="ns", name="h", deployment_name="d", metric=QpsMetric(sls_project="p", sls_logstore="l", route=route),
        bounds=HpaBounds(min_replicas=1, max_replicas=5, target_qps=10),
        behavior=ScalingBehavior(scale_up_stabilization_seconds=0, scale_up_pods_per_minute=4,
                                            scale_down_stabilization_seconds=600, scale_down_pods_per_minute=1),
    )
    values.update(overrides)
    return autoscaler.AutoscalerArgs(**values)


def endpoint_args(tls_secret_name: Optional[str] = None, **overrides) -> public_endpoint.PublicEndpointArgs:
    ingress = Ingress(host="a.example.com", class_name="nginx", tls_secret_name=tls_secret_name,
                      allow_source_cidrs=None, rate_limit_rps=None)
    values = dict(namespace="ns", name="i", ingress=ingress, service_name="svc", service_port=8501,
                  model_name="bert", served_version=3)
    values.update(overrides)
    return public_endpoint.PublicEndpointArgs(**values)


def stack_config(config: dict) -> StackConfig:
    """A stack file's config as the schema reads it (for calling config/rules/ directly)."""
    return StackConfig.model_validate({k.removeprefix(NS): v for k, v in config.items() if k.startswith(NS)})


def pool_alone(config: dict) -> dict:
    """A stack's config with its node pool and no ECI overflow: every pod on the pool's nodes (where
    a version change can reload the servers in place)."""
    config = copy.deepcopy(config)
    config[NS + "capacity"]["nodePool"]["eciOverflow"] = False
    return config


def with_rrsa(config: dict) -> dict:
    """A node-pool stack reading the model with RRSA: its pool alone (ECI pods cannot use RRSA
    volumes, config/rules/capacity.py rrsa_on_eci)."""
    config = pool_alone(config)
    config[NS + "storage"]["auth"] = "rrsa"
    return config

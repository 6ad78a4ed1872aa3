"""elastic-inference: settings -> components -> exports. The wiring is in components/."""

import pulumi

from components.autoscaler import Autoscaler, AutoscalerArgs, ScalingBehavior
from components.capacity import build_capacity, node_pool_id
from components.cluster import Cluster, ClusterArgs
from components.idle_schedule import IdleSchedule, IdleScheduleArgs
from components.model_store import ModelStore, ModelStoreArgs
from components.model_volume import ModelVolume, ModelVolumeArgs
from components.public_endpoint import PublicEndpoint, PublicEndpointArgs, predict_path
from components.serving_spec import NetworkPeers, ServingInputs, recommended_labels
from components.tf_serving import TfServing, TfServingArgs
from components.version_gate import RetireCheck, RetireCheckArgs, ServeGate, ServeGateArgs
from components.volume_spec import VolumeInputs
from config import load_settings
from config.account import APP_TAG, STACK_TAG

s = load_settings()  # raises ConfigError, naming each bad key, before any resource exists
ns, name = s.serving.namespace, s.serving.name
labels = recommended_labels(name, s.serving.image)

store = ModelStore("model", ModelStoreArgs(
    bucket=s.storage.bucket, prefix=s.storage.prefix, region=s.region,
    local_dir=s.model_source.local_dir, versions=tuple(s.model.versions), protect=s.protect,
    noncurrent_version_days=s.storage.noncurrent_version_days,
    # The tags config/account.py recognises the stack's own bucket by.
    tags={APP_TAG[0]: APP_TAG[1], STACK_TAG: s.stack, "managed-by": "pulumi"}))
cluster = Cluster("cluster", ClusterArgs(cluster_id=s.cluster_id, namespace=ns,
                                         labels={"app.kubernetes.io/part-of": "elastic-inference"}))


# Every Kubernetes object reaches the cluster through its provider, handed to the components
# as an option and inherited by their children (never the ambient kubeconfig).
in_cluster = pulumi.ResourceOptions(providers=[cluster.provider])

capacity = build_capacity(s, in_cluster)
volume = ModelVolume("model-volume", ModelVolumeArgs(
    volume=VolumeInputs(namespace=ns, name=name, bucket=s.storage.bucket, endpoint=store.endpoint_host,
                        prefix=s.storage.prefix),
    auth=s.storage.auth, stack=s.stack, cluster_id=s.cluster_id,
    oidc_provider_arn=s.rrsa.provider_arn if s.rrsa else None, oidc_issuer_url=s.rrsa.issuer_url if s.rrsa else None,
    upload=[store], depends_on=[cluster]),
    in_cluster)
serving_inputs = ServingInputs(
    namespace=ns, name=name, image=s.serving.image, gpus=s.serving.gpus, cpu=s.serving.cpu,
    memory=s.serving.memory, model_name=s.model.name, versions=tuple(s.model.versions),
    served_version=s.model.served_version, claim_name=volume.planned_claim_name,
    poll_seconds=s.serving.file_system_poll_seconds, check_image=s.serving.check_image,
    jit_compile=s.gpu is not None and s.gpu.jit)
# A version change: the retire check, the model config (reloaded in place), the serve gate, then
# the endpoint (components/version_gate.py).
retire = RetireCheck("retire-check", RetireCheckArgs(serving=serving_inputs, ingress_name=name, depends_on=[cluster]),
                     in_cluster)
serving = TfServing("serving", TfServingArgs(
    serving=serving_inputs,
    placement=capacity.placement,
    network=NetworkPeers(
        ingress_namespace=s.network.ingress_namespace, ingress_pod_labels=s.network.ingress_pod_labels,
        grpc_client_namespaces=tuple(s.network.grpc_client_namespaces),
        metrics_namespaces=tuple(s.network.metrics_namespaces)) if s.network.policy else None,
    depends_on=[volume, cluster], model_config_after=[retire]), in_cluster)
gate = ServeGate("serve-gate", ServeGateArgs(serving=serving_inputs, depends_on=[serving]), in_cluster)
a = s.autoscaling
scaler = Autoscaler("autoscaler", AutoscalerArgs(
    namespace=ns, name=name, deployment_name=serving.deployment_name,
    service_name=serving.service_name, service_port=serving.rest_port,
    sls_project=s.sls_project, sls_logstore=a.sls_logstore,
    min_replicas=a.min_replicas, max_replicas=a.max_replicas, target_qps=a.target_qps,
    behavior=ScalingBehavior.of(a),
    labels=labels, depends_on=[cluster.metrics_adapter]), in_cluster)
idle = s.autoscaling.idle
if idle.mode == "schedule":
    assert idle.wake is not None and idle.sleep is not None  # config/rules.py idle_problems
    IdleSchedule("idle", IdleScheduleArgs(serving=serving_inputs, time_zone=idle.time_zone, wake=idle.wake,
                                          sleep=idle.sleep, min_replicas=a.min_replicas, depends_on=[scaler]),
                 in_cluster)
endpoint = PublicEndpoint("endpoint", PublicEndpointArgs(
    namespace=ns, name=name, host=s.ingress.host, class_name=s.ingress.class_name,
    service_name=serving.service_name, service_port=serving.rest_port,
    tls_secret_name=s.ingress.tls_secret_name, model_name=s.model.name,
    allow_source_cidrs=s.ingress.allow_source_cidrs, rate_limit_rps=s.ingress.rate_limit_rps,
    served_version=s.model.served_version, labels=labels, depends_on=[gate]), in_cluster)

pulumi.export("endpointUrl", endpoint.url)
pulumi.export("predictUrl", endpoint.url.apply(lambda u: u + predict_path(s.model.name)))
pulumi.export("grpcAddress", serving.service_name.apply(
    lambda svc: f"{svc}.{ns}.svc.cluster.local:{serving.grpc_port}"))
pulumi.export("namespace", cluster.namespace)
pulumi.export("deploymentName", serving.deployment_name)
pulumi.export("hpaName", scaler.hpa_name)
pulumi.export("bucket", store.bucket)
pulumi.export("ossEndpoint", store.endpoint)
pulumi.export("modelUri", store.model_uri)
pulumi.export("servedVersion", gate.served_version)
pulumi.export("loadedVersions", sorted(s.model.versions))
pulumi.export("capacityMode", s.capacity.mode)
pulumi.export("capacity", capacity.placement.describe)
pulumi.export("nodePoolId", node_pool_id(capacity))  # None in eci mode

"""Nothing extra is public, and nothing extra in the cluster reaches the server: the Ingress
publishes only the predict path, a stack can restrict who calls it, a NetworkPolicy admits only
the peers that need the server, the pods run as a high uid, and RRSA is refused where it is not
shown to work."""

from __future__ import annotations

import re

import pytest
from harness import NS, StackResult, run_expecting_error, run_program
from inputs import endpoint_args, with_rrsa

from components.network import public_endpoint
from components.serving.spec import RUN_AS_UID
from config import ConfigError
from config.derived import GRPC_PORT, REST_PORT

# ingress-nginx rejects an Exact or Prefix path outside this character class when strict path
# validation is on (the default since controller v1.12): kubernetes/ingress-nginx
# internal/ingress/inspector/rules.go `validPathType`, at dbb11b92. The predict path has a ':'.
NGINX_VALID_PATH = re.compile(r"^/[A-Za-z0-9._\-/]*$")


# --- the Ingress --------------------------------------------------------------------------------

def test_only_the_predict_path_is_published(rendered):
    ingress = rendered[("dev", False)].kind("Ingress")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [
        ("/v1/models/chnsenticorp:predict", "ImplementationSpecific")]
    # Exact would be refused by the controller's strict path check: the path has a ':'.
    assert not NGINX_VALID_PATH.match(paths[0]["path"])
    assert public_endpoint.predict_path("m") == "/v1/models/m:predict"


def test_dev_is_restricted_to_its_allow_list_and_prod_is_rate_limited(rendered):
    dev = rendered[("dev", False)].kind("Ingress")["metadata"].get("annotations", {})
    assert dev[public_endpoint.ANNOTATION_ALLOW] == "203.0.113.0/24"
    assert public_endpoint.ANNOTATION_RPS not in dev
    prod = rendered[("prod", False)].kind("Ingress")["metadata"]["annotations"]
    assert prod[public_endpoint.ANNOTATION_RPS] == "100"
    assert public_endpoint.ANNOTATION_ALLOW not in prod


def test_restrictions_come_from_config(dev_config):
    dev_config[NS + "ingress"].update(allowSourceCidrs=["10.0.0.0/8", "2001:db8::/32"], rateLimitRps=7)
    annotations = run_program(dev_config).kind("Ingress")["metadata"]["annotations"]
    assert annotations[public_endpoint.ANNOTATION_ALLOW] == "10.0.0.0/8,2001:db8::/32"
    assert annotations[public_endpoint.ANNOTATION_RPS] == "7"


@pytest.mark.parametrize("cidrs,words", [
    (["10.0.0.0/33"], "ingress.allowSourceCidrs"),
    (["bert.example.com"], "ingress.allowSourceCidrs"),
    # Host bits set: almost always a typo for the network (10.1.0.0/16).
    (["10.1.2.3/16"], "ingress.allowSourceCidrs"),
    ([], "ingress.allowSourceCidrs"),
], ids=["prefix-too-long", "not-an-address", "host-bits", "empty"])
def test_a_bad_allow_list_is_rejected_before_anything_is_created(dev_config, cidrs, words):
    dev_config[NS + "ingress"]["allowSourceCidrs"] = cidrs
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError) and words in str(error)
    assert not result.resources


# --- the NetworkPolicy --------------------------------------------------------------------------

def test_network_policy_admits_only_the_ingress_controller_by_default(rendered):
    result = rendered[("dev", False)]
    policy, deployment = result.kind("NetworkPolicy", "bert-tfserving"), result.kind("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert policy["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["ingress"] == [{
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
        "ports": [{"protocol": "TCP", "port": REST_PORT}],
    }, {
        # The version gate's pods, in the stack's own namespace, on the REST port only.
        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "bert-tfserving",
                                                  "app.kubernetes.io/component": "version-gate"}}}],
        "ports": [{"protocol": "TCP", "port": REST_PORT}],
    }]


def test_network_policy_peers_come_from_config(dev_config):
    dev_config[NS + "network"] = {
        "ingressNamespace": "ingress-nginx",
        "ingressPodLabels": {"app.kubernetes.io/name": "ingress-nginx"},
        "grpcClientNamespaces": ["batch"],
        "metricsNamespaces": ["arms-prom"],
    }
    rules = run_program(dev_config).kind("NetworkPolicy", "bert-tfserving")["spec"]["ingress"]

    def names(rule):
        return [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] if "namespaceSelector" in peer
                else "(the version gate, own namespace)" for peer in rule["from"]]

    assert [(names(r), [p["port"] for p in r["ports"]]) for r in rules] == [
        (["ingress-nginx"], [REST_PORT]), (["(the version gate, own namespace)"], [REST_PORT]),
        (["arms-prom"], [REST_PORT]), (["batch"], [GRPC_PORT])]
    # Only the controller's pods of that namespace, not every pod in it.
    assert rules[0]["from"][0]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}


def test_network_policy_can_be_left_to_the_cluster(dev_config):
    dev_config[NS + "network"] = {"policy": False}
    policies = run_program(dev_config).of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    # Only the Job pods' own policies remain: nothing stands between the cluster and the servers.
    assert {r.name for r in policies} == {"retire-check-network-policy", "idle-network-policy",
                                          "edge-log-check-network-policy"}


# --- the pods -----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pods_run_as_a_high_uid(dev_config, prod_config, stack):
    config = {"dev": dev_config, "prod": prod_config}[stack]
    pod = run_program(config, stack).kind("Deployment")["spec"]["template"]["spec"]
    # checkov CKV_K8S_40: a uid at or above 10000 does not collide with a host account.
    assert RUN_AS_UID >= 10000
    assert pod["securityContext"]["runAsUser"] == RUN_AS_UID
    for container in pod["containers"]:
        assert container["securityContext"]["runAsUser"] == RUN_AS_UID
        assert container["securityContext"]["runAsNonRoot"] is True


# --- RRSA ---------------------------------------------------------------------------------------

def test_rrsa_on_eci_is_refused_with_the_reason_and_the_alternative(dev_config):
    dev_config[NS + "storage"]["auth"] = "rrsa"
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError)
    message = str(error)
    assert "storage.auth" in message and "capacity.mode eci" in message
    assert "use storage.auth ramUser" in message
    assert not result.resources


def test_rrsa_needs_rrsa_turned_on_in_the_cluster(prod_config):
    result = StackResult()
    with pytest.raises(ConfigError, match=r"storage\.auth: rrsa needs RRSA enabled on cluster c"):
        run_program(with_rrsa(prod_config), "prod", result=result, cluster={"spec": "ack.pro.small", "rrsa": False})
    assert not result.resources


@pytest.mark.parametrize("host", ["bert.example.com:443", "bert.example.com/", "https://bert.example.com",
                                  "Bert.example.com", "localhost", "bert.example.com."])
def test_an_ingress_host_is_a_bare_dns_name(dev_config, host):
    dev_config[NS + "ingress"]["host"] = host
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError) and "ingress.host" in str(error)
    assert not result.resources


def test_ingress_uses_the_port_number_and_tls_only_when_asked():
    plain = public_endpoint.ingress_manifest(endpoint_args())
    # Without TLS or restrictions, the one annotation routes the public path to the served version.
    assert "tls" not in plain["spec"]
    rewrite = {public_endpoint.ANNOTATION_REWRITE: "/v1/models/bert/versions/3:predict"}
    assert plain["metadata"]["annotations"] == rewrite
    assert plain["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"number": 8501}
    tls = public_endpoint.ingress_manifest(endpoint_args(tls_secret_name="cert"))
    assert tls["spec"]["tls"] == [{"hosts": ["a.example.com"], "secretName": "cert"}]
    assert public_endpoint.endpoint_url("a.example.com", True) == "https://a.example.com"

"""Evaluate the real program without a cloud or the Pulumi CLI, under Pulumi's mock engine, and
capture what it registers: `config.load_settings`, then `components.stack.build`, then the
exports, as `__main__.py` does them.

The mock monitor is subclassed so that every `RegisterResource` request is recorded as the
engine would see it: inputs, parent, provider, protect flag, dependencies and timeouts. The
tests assert on that record; `tools/render.py` writes it out for review.

Cloud look-ups are answered with stand-in values (a fake kubeconfig, access key, account id and
node pools), so nothing here is a statement about a real account.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import Stack

from components.stack import build
from config import Settings, load_settings
from config.yaml_files import read_yaml

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"
PROJECT = "elastic-inference"
SECRET_SIG = rpc._special_secret_sig  # the marker a secret value carries on the wire
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: s3cr3t-token}\n"
FAKE_ACCESS_KEY_SECRET = "FAKE-ak-secret-must-never-leak"
FAKE_ACCOUNT_ID = "1234567890123456"


@dataclass
class Registration:
    """One resource as the engine received it."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    protect: bool
    custom: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    secret_inputs: bool
    custom_timeouts: dict[str, str]
    ignore_changes: list[str]
    replace_on_changes: list[str]
    retain_on_delete: bool
    additional_secret_outputs: list[str] = field(default_factory=list)
    """Outputs the engine stores encrypted in the state, beyond the provider's own secrets."""


@dataclass
class StackResult:
    """What one run of the program registered and exported."""

    resources: list[Registration] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    secret_exports: dict[str, bool] = field(default_factory=dict)
    invokes: list[tuple[str, dict]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the program told the engine to show as warnings (pulumi.log.warn)."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def kubernetes(self) -> list[Registration]:
        """Every Kubernetes object (not the provider)."""
        return [r for r in self.resources if r.type.startswith("kubernetes:")]

    def manifest(self, registration: Registration) -> dict:
        """A Kubernetes object's inputs as the manifest the provider applies (secrets unwrapped)."""
        return reveal(registration.inputs)

    def manifests(self) -> list[dict]:
        return [self.manifest(r) for r in self.kubernetes()]

    def kind(self, kind: str, name: Optional[str] = None) -> dict:
        """The one object of this kind (of this name, when several share the kind)."""
        found = [m for m in self.manifests()
                 if m["kind"] == kind and (name is None or m["metadata"].get("name") == name)]
        assert len(found) == 1, f"expected one {kind}{f' {name}' if name else ''}, found {len(found)}"
        return found[0]


def map_secrets(value: Any, on_secret: Callable[[Any], Any], on_leaf: Callable[[Any], Any] = lambda v: v) -> Any:
    """Rebuild a wire-format value: each secret wrapper becomes `on_secret(its value)`, each
    other leaf `on_leaf(leaf)`. The one walker behind revealing (tests) and redacting (render)."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == SECRET_SIG:
            return on_secret(value["value"])
        return {k: map_secrets(v, on_secret, on_leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [map_secrets(v, on_secret, on_leaf) for v in value]
    return on_leaf(value)


def reveal(value: Any) -> Any:
    """Replace wire-format secret wrappers by their plain values (for schema validation)."""
    return map_secrets(value, reveal)


class Mocks(pulumi_mocks.Mocks):
    """Computed outputs the real providers would return, and answers to invokes."""

    def __init__(self, result: StackResult, region: str = "cn-beijing",
                 node_pools: Optional[list[dict]] = None, buckets: Optional[list[dict]] = None,
                 cluster: Optional[dict] = None):
        self.result = result
        self.region = region
        self.node_pools = DEFAULT_NODE_POOLS if node_pools is None else node_pools
        self.buckets = buckets or []
        self.cluster = {**DEFAULT_CLUSTER, **(cluster or {})}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "alicloud:oss/bucket:Bucket":
            state["intranetEndpoint"] = f"oss-{self.region}-internal.aliyuncs.com"
            state["extranetEndpoint"] = f"oss-{self.region}.aliyuncs.com"
        if args.typ == "alicloud:cs/nodePool:NodePool":
            state["nodePoolId"] = "np-" + args.name
        if args.typ == "alicloud:ram/accessKey:AccessKey":
            state["secret"] = FAKE_ACCESS_KEY_SECRET
            return "LTAI-fake-key-id", state
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, Optional[list[tuple[str, str]]]]:
        self.result.invokes.append((args.token, dict(args.args)))
        # No check failures: an empty list, not None (the mock monitor iterates it, whatever the
        # base class's annotation says).
        return self.answer(args.token, args.args), []

    def answer(self, token: str, args: dict) -> dict:
        """What the stand-in cloud answers to an invoke."""
        if token == "alicloud:cs/getClusterCredential:getClusterCredential":
            return {"clusterId": args.get("clusterId"), "kubeConfig": FAKE_KUBECONFIG, "id": args.get("clusterId")}
        if token == "alicloud:cs/getKubernetesNodePools:getKubernetesNodePools":
            return {"clusterId": args.get("clusterId"), "id": "pools",
                    "ids": [p["nodePoolId"] for p in self.node_pools], "nodepools": self.node_pools}
        if token == "alicloud:cs/getClusters:getClusters":
            found = [] if self.cluster["spec"] is None else [
                {"clusterId": args.get("clusterId"), "clusterSpec": self.cluster["spec"],
                 "vswitchIds": self.cluster["vswitches"], "securityGroupId": self.cluster["security_group"]}]
            return {"id": "clusters", "clusters": found}
        if token == "alicloud:cs/getManagedKubernetesClusters:getManagedKubernetesClusters":
            cluster_id = (args.get("ids") or [""])[0]
            rrsa = {"enabled": self.cluster["rrsa"], "ramOidcProviderArn":
                    f"acs:ram::{FAKE_ACCOUNT_ID}:oidc-provider/ack-rrsa-{cluster_id}",
                    "ramOidcProviderName": f"ack-rrsa-{cluster_id}",
                    "rrsaOidcIssuerUrl": f"https://oidc-ack-{self.region}.oss-{self.region}.aliyuncs.com/{cluster_id}"}
            return {"id": "managed", "ids": [cluster_id], "names": ["cluster"],
                    "clusters": [{"id": cluster_id, "name": "cluster", "rrsaConfig": rrsa}]}
        if token == "alicloud:index/getAccount:getAccount":
            return {"id": FAKE_ACCOUNT_ID}
        if token == "alicloud:oss/getBuckets:getBuckets":
            pattern = re.compile(args.get("nameRegex") or ".*")
            found = [b for b in self.buckets if pattern.search(b["name"])]
            return {"id": "buckets", "names": [b["name"] for b in found], "buckets": found,
                    "nameRegex": args.get("nameRegex")}
        raise NotImplementedError(f"no mock answer for invoke {token}")


class CaptureMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that records every registration request in full."""

    def __init__(self, mocks: Mocks, result: StackResult):
        super().__init__(mocks)
        self.result = result

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = json_format.MessageToJson(request.object)
            timeouts = request.customTimeouts
            self.result.resources.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    provider=request.provider,
                    protect=request.protect,
                    custom=request.custom,
                    dependencies=list(request.dependencies),
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    secret_inputs=SECRET_SIG in raw,
                    custom_timeouts={
                        k: getattr(timeouts, k) for k in ("create", "update", "delete")
                        if getattr(timeouts, k)
                    },
                    ignore_changes=list(request.ignoreChanges),
                    replace_on_changes=list(request.replaceOnChanges),
                    retain_on_delete=request.retainOnDelete,
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                )
            )
        return response


def bucket(name: str, tags: dict[str, str], lifecycle_rules: tuple[str, ...] = ()) -> dict:
    """A bucket of this account as the getBuckets invoke returns it (the fields read here)."""
    return {"name": name, "tags": tags, "lifecycleRules": [{"id": rule, "enabled": True, "prefix": ""}
                                                           for rule in lifecycle_rules]}


def node_pool(pool_id: str, name: str, vswitches: list[str], tags: Optional[dict[str, str]] = None) -> dict:
    """An existing node pool as the getKubernetesNodePools invoke returns it (fields it needs)."""
    return {"nodePoolId": pool_id, "nodePoolName": name, "vswitchIds": vswitches, "tags": tags or {}}


# The stand-in cluster: an ACK managed Pro cluster with RRSA on (`spec` None: not found).
DEFAULT_CLUSTER = {"spec": "ack.pro.small", "rrsa": True, "vswitches": ["vsw-zoneh", "vsw-zonei"],
                   "security_group": "sg-cluster"}
# The cluster's existing node pools, as the stand-in cloud reports them.
DEFAULT_NODE_POOLS = [node_pool("np-default", "default-nodepool", ["vsw-zoneh", "vsw-zonei"]),
                      node_pool("np-cpu", "cpu-pool", ["vsw-zonei", "vsw-zonek"])]


def stack_file_config(stack: str, path: Optional[Path] = None) -> dict[str, Any]:
    """The `config:` map of `Pulumi.<stack>.yaml` (or of `path`), as written (typed YAML)."""
    file = path if path is not None else ROOT / f"Pulumi.{stack}.yaml"
    data = read_yaml(file) or {}
    return dict(data.get("config") or {})


# What a value set with `pulumi config set --secret` looks like in a stack file: `{secure: <cipher>}`
# (pulumi/pulumi sdk/go/common/resource/config: a secure value marshals as a map with the one key
# "secure"). Offline there is no key to decrypt it, and nothing here needs the plaintext.
SECURE_KEY = "secure"
SECRET_STAND_IN = "[secret]"


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SECURE_KEY} and isinstance(value[SECURE_KEY], str)


def without_ciphertexts(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The config with every encrypted value (at any depth) replaced by a stand-in, and the keys
    that held one: the engine gets those as secrets, as the CLI hands them over decrypted."""
    def strip(value: Any) -> tuple[Any, bool]:
        if is_secure(value):
            return SECRET_STAND_IN, True
        if isinstance(value, dict):
            pairs = {k: strip(v) for k, v in value.items()}
            return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
        if isinstance(value, list):
            items = [strip(v) for v in value]
            return [v for v, _ in items], any(s for _, s in items)
        return value, False

    plain, secret = {}, []
    for key, value in config.items():
        plain[key], held = strip(value)
        if held:
            secret.append(key)
    return plain, secret


def to_engine_config(config: dict[str, Any]) -> dict[str, str]:
    """What the CLI hands the program: every value a string, objects and arrays as JSON."""
    out = {}
    for key, value in config.items():
        if value is None:
            out[key] = "null"  # a key written with nothing after it
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def _warnings_into(result: StackResult) -> logging.Logger:
    """A logger for the mock engine that keeps the program's warnings in `result`."""

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            result.warnings.append(record.getMessage())

    logger = logging.Logger("elastic-inference.offline", level=logging.WARNING)
    logger.addHandler(Keep(level=logging.WARNING))
    return logger


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _start_engine(config: dict[str, Any], stack: str, preview: bool, secret_keys: Optional[list[str]],
                  result: StackResult, node_pools: Optional[list[dict]] = None, buckets: Optional[list[dict]] = None,
                  cluster: Optional[dict] = None) -> None:
    """Point the SDK at a fresh mock engine holding this stack's config."""
    # Pulumi's SDK runs on the thread's current event loop; asyncio.run() elsewhere in the same
    # process (the load tool) leaves none behind.
    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())
    # The SDK walks the Python stack at every registration to send the engine the source position
    # of the code that made the resource (pulumi/runtime/resource.py `_get_stack_trace`): metadata
    # for the CLI's display, which the mock engine records none of, and a third of the tests' time.
    pulumi_resource._get_stack_trace = _no_stack_trace
    mocks = Mocks(result, region=str(config.get("alicloud:region", "cn-beijing")), node_pools=node_pools,
                  buckets=buckets, cluster=cluster)
    monitor = CaptureMonitor(mocks, result)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview,
                             monitor=monitor, logger=_warnings_into(result))
    plain, encrypted = without_ciphertexts(config)
    pulumi.runtime.set_all_config(to_engine_config(plain), [*(secret_keys or []), *encrypted])


def settings_of(config: dict[str, Any], stack: str) -> tuple[Settings, list[str]]:
    """The stack's config read and validated by `config.load_settings`, exactly as the program
    reads it (the same `ConfigError` for a bad value), with the stand-in account's answers to its
    look-ups; and the warnings it logged. Registers nothing."""
    result = StackResult()
    _start_engine(config, stack, True, None, result)
    loaded: list[Settings] = []

    @pulumi.runtime.test
    def body():
        loaded.append(load_settings())

    body()
    return loaded[0], result.warnings


def _collect_exports(result: StackResult):
    """The stack's exports, resolved (unknowns kept), into `result`."""
    root = pulumi.runtime.get_root_resource()
    assert isinstance(root, Stack)
    outputs = dict(root.outputs)

    async def collect():
        for name, value in outputs.items():
            out = pulumi.Output.from_input(value)
            result.exports[name] = await out.future(with_unknowns=True)
            result.secret_exports[name] = await out.is_secret()

    return asyncio.ensure_future(collect())


def run_main(config: dict[str, Any], stack: str = "dev", preview: bool = False) -> StackResult:
    """Run `__main__.py` itself, as the Pulumi CLI's language host does (`runpy`), once."""
    result = StackResult()
    _start_engine(config, stack, preview, None, result)

    @pulumi.runtime.test
    def body():
        runpy.run_path(str(MAIN), run_name="__main__")
        return _collect_exports(result)

    body()
    return result


def run_program(
    config: dict[str, Any],
    stack: str = "dev",
    preview: bool = False,
    secret_keys: Optional[list[str]] = None,
    result: Optional[StackResult] = None,
    node_pools: Optional[list[dict]] = None,
    buckets: Optional[list[dict]] = None,
    cluster: Optional[dict] = None,
) -> StackResult:
    """Run the program once with this config; re-raise whatever the program raises.

    Pass `result` to keep what was registered before an exception; `node_pools` to answer the
    cluster's node-pool look-up with other pools than DEFAULT_NODE_POOLS; `buckets` for the
    buckets this account already has (none by default).
    """
    result = StackResult() if result is None else result
    _start_engine(config, stack, preview, secret_keys, result, node_pools, buckets, cluster)

    @pulumi.runtime.test
    def body():
        for name, value in build(load_settings()).items():
            pulumi.export(name, value)
        return _collect_exports(result)

    body()
    return result



"""The program as a whole: the door (`__main__.py`), the one seam (components/stack.py) and the
stack outputs it returns."""

from __future__ import annotations

import ast
import json
import os

import pytest
from harness import (
    FAKE_ACCESS_KEY_SECRET,
    NS,
    ROOT,
    RUN_IDS,
    RUNS,
    SECRET_SIG,
    run_main,
    run_program,
)


def test_the_stack_outputs_are_the_documented_ones(rendered):
    """README "What a stack creates" lists them; scripts and the load test read them by name."""
    documented = {"endpointUrl", "predictUrl", "grpcAddress", "namespace", "deploymentName", "hpaName", "bucket",
                  "ossEndpoint", "modelUri", "servedVersion", "loadedVersions", "capacityMode", "capacity",
                  "nodePoolId", "awakeHours", "canaryVersion", "canaryWeight", "dashboardUrl"}
    dev, prod = rendered[("dev", False)], rendered[("prod", False)]
    assert set(dev.exports) == set(prod.exports) == documented
    assert dev.exports["capacityMode"] == "eci" and dev.exports["nodePoolId"] is None
    assert prod.exports["capacityMode"] == "nodepool" and prod.exports["nodePoolId"]
    assert "ECI" in dev.exports["capacity"] and "ecs.gn6i-c8g1.2xlarge" in prod.exports["capacity"]
    # What the idle schedule does, where the preview shows it (dev sleeps nights and weekends).
    assert dev.exports["awakeHours"] == "awake 60 of 168 hours a week (Asia/Shanghai): Mon-Fri 08:00-20:00"
    assert prod.exports["awakeHours"] == "always on: 168 of 168 hours a week"


@pytest.mark.parametrize("network, address", [
    ({"grpcClientNamespaces": ["batch"]}, "bert-tfserving.inference.svc.cluster.local:8500"),
    ({"policy": False}, "bert-tfserving.inference.svc.cluster.local:8500"),
    ({}, None),
])
def test_the_grpc_address_is_an_output_only_where_a_client_may_reach_it(dev_config, network, address):
    dev_config[NS + "network"] = network
    assert run_program(dev_config).exports["grpcAddress"] == address


@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_stack_outputs(rendered, run):
    stack, _ = run
    result = rendered[run]
    host = {"dev": "http://bert.dev.example.com", "prod": "https://bert.example.com"}[stack]
    assert result.exports["endpointUrl"] == host
    assert result.exports["predictUrl"] == f"{host}/v1/models/chnsenticorp:predict"
    # The default NetworkPolicy admits no gRPC client: the address is not advertised.
    assert result.exports["grpcAddress"] is None
    assert result.exports["hpaName"] == "bert-tfserving"
    assert result.exports["deploymentName"] == "bert-tfserving"
    assert result.exports["modelUri"].startswith("oss://")
    dumped = json.dumps(result.exports, default=str)
    for secret in (FAKE_ACCESS_KEY_SECRET, "s3cr3t-token", SECRET_SIG):
        assert secret not in dumped


COMPONENTS = ROOT / "components"


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    absolute = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0]
    return found | {node.module or "" for node in absolute}


def test_config_and_components_meet_only_in_the_settings_module():
    """Every value reaches a component as a Settings type (settings.py, which both import): no
    component reads config/, and config/ builds no component."""
    def importers(folder, package: str) -> list[str]:
        return sorted(str(path.relative_to(ROOT)) for path in folder.rglob("*.py")
                      if any(m == package or m.startswith(package + ".") for m in imported_modules(path)))

    assert importers(COMPONENTS, "config") == []
    assert importers(ROOT / "config", "components") == []
    # Under mutmut (docs/testing.md) the mutated copy of settings.py imports mutmut's trampolines.
    mutating = {"mutmut"} if os.environ.get("MUTANT_UNDER_TEST") is not None else set()
    assert {m.split(".")[0] for m in imported_modules(ROOT / "settings.py")} <= {"__future__", "collections",
                                                                                "dataclasses", "pathlib", "typing",
                                                                                *mutating}


def test_the_door_reads_builds_and_exports_nothing_else():
    """`__main__.py` is the three steps; what they do lives in config/ and components/stack.py."""
    tree = ast.parse((ROOT / "__main__.py").read_text(encoding="utf-8"))
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert [type(node).__name__ for node in body] == ["Import", "ImportFrom", "ImportFrom", "Assign", "For"]
    calls = {node.func.id if isinstance(node.func, ast.Name) else node.func.attr
             for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert calls == {"load_settings", "build", "items", "export"}


def test_the_door_exports_what_the_tests_build(dev_config, project_dir):
    """`__main__.py` itself, run as the Pulumi CLI runs it, registers and exports exactly what the
    suite's `run_program` (load_settings, then build) does."""
    built = run_program(dev_config)
    ran = run_main(dev_config)
    assert sorted(r.urn for r in ran.resources) == sorted(r.urn for r in built.resources)
    assert ran.exports == built.exports


PROGRAM = ("settings.py", "__main__.py", "config", "components", "planner", "loadtest", "tools", "policy", "benchmarks")
OWN_PACKAGES = {"settings", "config", "components", "planner", "loadtest", "tools", "policy", "benchmarks"}


def program_files() -> list:
    return sorted(p for entry in PROGRAM for p in ([ROOT / entry] if entry.endswith(".py") else
                                                    (ROOT / entry).rglob("*.py"))
                  if "venv" not in p.parts and not p.name.endswith("_pb2.py"))


def test_one_name_one_type():
    """A class or type alias name means one thing in the program (no two `Capacity`s), and a module
    of the program is imported under its own name, nothing under the name of one of its packages
    (no `cfg` that is a module here and a config there)."""
    defined: dict[str, list[str]] = {}
    aliased = []
    for path in program_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = [node.name] if isinstance(node, ast.ClassDef) else [
                t.id for t in node.targets if isinstance(t, ast.Name)
                and isinstance(node.value, ast.Subscript) and ast.unparse(node.value).startswith("Union[")
            ] if isinstance(node, ast.Assign) else []
            for name in names:
                defined.setdefault(name, []).append(str(path.relative_to(ROOT)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
                for alias in node.names:
                    own = (module or alias.name).split(".")[0] in OWN_PACKAGES
                    renamed = isinstance(node, ast.Import) and own or alias.asname in OWN_PACKAGES
                    if alias.asname and renamed:
                        aliased.append(f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname}")
    assert len(defined) > 100
    assert {name: paths for name, paths in defined.items() if len(paths) > 1} == {}
    assert aliased == []

"""The stack's in-pod scripts (the version checks, the idle schedule's scale, the edge-log check) as a stock Python
image runs them: standard library only, carried by the pod's own command."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from components.jobs import pod
from components.scaling.edge.log import SCRIPT as EDGE_CHECK
from components.scaling.idle.schedule import SCALE
from components.serving.versions.spec import CHECKS

STANDARD_LIBRARY = set(sys.stdlib_module_names)


@pytest.mark.parametrize("module", [*pod.SHARED, CHECKS, SCALE, EDGE_CHECK])
def test_each_script_imports_only_the_standard_library_and_the_shared_client(module):
    tree = ast.parse(pod.module_file(module).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    outside = {name for name in imported if name.split(".")[0] not in STANDARD_LIBRARY}
    assert outside <= set(pod.SHARED), outside


@pytest.mark.parametrize("entry, args, status, words", [
    (CHECKS, ["serve", "x"], 2, "usage: retire"),
    (CHECKS, ["retire"], 2, "usage: retire"),
    (SCALE, ["scale", "ns", "d", "many"], 2, "usage: scale"),
    (EDGE_CHECK, ["check", "kube-system"], 2, "usage: check"),
])
def test_the_bundle_runs_with_nothing_of_this_repository_on_the_path(tmp_path, entry, args, status, words):
    """What the pod runs: `python -c <bootstrap>` in an empty directory, isolated from the
    repository (-I: no PYTHONPATH, no user site, no script directory)."""
    done = subprocess.run([sys.executable, "-I", "-c", pod.bootstrap(entry), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == status, done.stderr
    assert words in done.stderr


def test_the_pod_command_is_the_bundle(tmp_path):
    spec = pod.script_pod_spec("python:3.12-slim-bookworm", 10001, "check", CHECKS, ["retire", "a"], None)
    (container,) = spec["containers"]
    assert container["command"] == ["python", "-c", pod.bootstrap(CHECKS), "retire", "a"]
    assert spec["automountServiceAccountToken"] is False and "serviceAccountName" not in spec

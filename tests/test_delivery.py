"""Delivery: the GitHub workflows (schema, zizmor audit, the promises they make), the offline
render, the destroy guard, and the dependency order that makes `pulumi destroy` succeed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from harness import FAKE_ACCESS_KEY_SECRET, FAKE_KUBECONFIG, NS, ROOT, depends, run_program, validate_strictly

from tools import destroy_guard, render

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load_workflow(name: str) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub reads it as the string.
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    return {("on" if k is True else k): v for k, v in data.items()}


def all_steps(document: dict) -> list[dict]:
    steps = list((document.get("runs") or {}).get("steps") or [])
    for job in (document.get("jobs") or {}).values():
        steps += job.get("steps") or []
    return steps


# --- workflow files -------------------------------------------------------------------------

def test_workflows_exist():
    assert {w.name for w in WORKFLOWS} == {"pull-request.yml", "deploy.yml", "destroy.yml"}


def test_workflows_validate_against_the_github_schema():
    for schema, files in (("vendor.github-workflows", WORKFLOWS), ("vendor.github-actions", ACTIONS)):
        run = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_zizmor_finds_nothing_high():
    run = subprocess.run([str(BIN / "zizmor"), "--offline", "--format", "json", str(ROOT / ".github")],
                         capture_output=True, text=True)
    findings = json.loads(run.stdout)
    severe = [f["ident"] for f in findings if f["determinations"]["severity"] in ("High", "Medium")]
    assert severe == [], severe


def test_every_action_is_pinned_by_commit():
    for document in [yaml.safe_load(p.read_text()) for p in WORKFLOWS + ACTIONS]:
        for step in all_steps(document):
            uses = step.get("uses")
            if uses and not uses.startswith("./"):
                assert SHA_PIN.match(uses), uses


def test_least_privilege_and_no_persisted_credentials():
    for workflow in WORKFLOWS:
        document = load_workflow(workflow.name)
        assert document["permissions"] == {}, workflow.name
        for name, job in document["jobs"].items():
            granted = job.get("permissions") or {}
            assert set(granted.values()) <= {"read", "write"}
            writes = {k for k, v in granted.items() if v == "write"}
            assert writes <= {"pull-requests"}, (workflow.name, name, writes)
        for step in all_steps(document):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_pull_request_previews_each_stack_and_comments_the_diff():
    document = load_workflow("pull-request.yml")
    assert "pull_request" in document["on"] and "pull_request_target" not in document["on"]
    preview = document["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert preview["permissions"]["pull-requests"] == "write"
    pulumi = next(s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))["with"]
    assert pulumi["command"] == "preview" and pulumi["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["comment-on-pr"] is True and pulumi["diff"] is True and pulumi["comment-on-summary"] is True
    assert pulumi["policyPacks"] == "policy"
    assert "bash .ci/run" in json.dumps(document["jobs"]["test"])


def test_deploy_runs_up_on_main_with_prod_behind_its_environment():
    document = load_workflow("deploy.yml")
    assert document["on"] == {"push": {"branches": ["main"]}}
    jobs = document["jobs"]
    assert jobs["up-prod"]["environment"] == "prod" and jobs["up-prod"]["needs"] == "up-dev"
    assert jobs["up-dev"]["needs"] == "test"
    for name in ("up-dev", "up-prod"):
        step = next(s for s in jobs[name]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
        assert step["with"]["command"] == "up"
        assert jobs[name]["concurrency"]["cancel-in-progress"] is False


def test_destroy_is_manual_names_the_stack_and_runs_the_guard_first():
    document = load_workflow("destroy.yml")
    assert set(document["on"]) == {"workflow_dispatch"}
    assert document["on"]["workflow_dispatch"]["inputs"]["stack"]["type"] == "choice"
    steps = document["jobs"]["destroy"]["steps"]
    guard = next(i for i, s in enumerate(steps) if "destroy_guard.py" in s.get("run", ""))
    destroy = next(i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "destroy")
    assert guard < destroy
    # Inputs reach the shell through env, never interpolated into the script.
    assert "${{" not in steps[guard]["run"]


def test_backend_is_named_in_one_place():
    for workflow in WORKFLOWS:
        text = workflow.read_text()
        assert "s3://" not in text and "file://" not in text
    assert "PULUMI_BACKEND_URL: ${{ vars.PULUMI_BACKEND_URL }}" in (ROOT / ".github/workflows/deploy.yml").read_text()


def test_cli_version_matches_the_sdk_pin():
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert (ROOT / ".pulumi.version").read_text().strip() == pinned


# --- destroy guard --------------------------------------------------------------------------

@pytest.mark.parametrize("stack,confirm,allowed", [
    ("dev", "dev", True), ("prod", "prod", False), ("dev", "prod", False), ("qa", "qa", False),
    ("../x", "../x", False),
])
def test_destroy_guard(stack, confirm, allowed):
    reason = destroy_guard.check(stack, confirm)
    assert (reason == "") == allowed, reason
    if stack == "prod":
        assert "protected" in reason


def test_destroy_guard_says_why_in_the_workflow_log(capsys):
    """The workflow shows the refusal as an annotation (`::error::`), and the exit code stops it."""
    assert destroy_guard.main(["destroy_guard.py", "prod", "prod"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("::error::refusing to destroy: ") and "protected" in err
    assert destroy_guard.main(["destroy_guard.py", "dev", "dev"]) == 0
    assert "stack 'dev' is not protected; destroying" in capsys.readouterr().out
    assert destroy_guard.main(["destroy_guard.py", "dev"]) == 2


# --- offline render -------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_writes_valid_manifests_and_a_plan(stack, tmp_path):
    assert render.main(["--stack", stack, "--out", str(tmp_path), "--placeholder-model"]) == 0
    documents = list(yaml.safe_load_all((tmp_path / stack / "kubernetes.yaml").read_text()))
    kinds = [d["kind"] for d in documents]
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "Ingress", "PersistentVolume"} <= set(kinds)
    for document in documents:
        validate_strictly(document, "1.35.0")
    plan = json.loads((tmp_path / stack / "plan.json").read_text())
    types = {r["type"] for r in plan["resources"]}
    assert "alicloud:oss/bucket:Bucket" in types
    assert ("alicloud:cs/nodePool:NodePool" in types) == (stack == "prod")
    assert plan["outputs"]["hpaName"] == "bert-tfserving"
    everything = (tmp_path / stack / "kubernetes.yaml").read_text() + json.dumps(plan)
    for secret in (FAKE_ACCESS_KEY_SECRET, "s3cr3t-token", FAKE_KUBECONFIG):
        assert secret not in everything


def test_two_renders_are_identical(tmp_path):
    """A reviewer diffs renders: nothing may move between runs of the same config."""
    for out in ("a", "b"):
        assert render.main(["--stack", "prod", "--out", str(tmp_path / out), "--placeholder-model"]) == 0
    for name in ("kubernetes.yaml", "plan.json"):
        assert (tmp_path / "a" / "prod" / name).read_text() == (tmp_path / "b" / "prod" / name).read_text()


def test_render_bad_config_exits_with_the_named_key(tmp_path, capsys):
    bad = tmp_path / "Pulumi.broken.yaml"
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace("maxReplicas: 4", "maxReplica: 4")
    bad.write_text(text)
    assert render.main(["--stack", "broken", "--stack-file", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "autoscaling.maxReplica: unknown key (did you mean 'maxReplicas'?)" in err
    assert not (tmp_path / "broken").exists()


def _line(text: str, needle: str, nth: int = 1) -> int:
    """The line number of the `nth` line of `text` that starts with `needle`."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if line.startswith(needle)]
    return found[nth - 1]


@pytest.mark.parametrize("edit,where,words", [
    # A key written twice: PyYAML (like the Pulumi CLI) would silently take the last one.
    (lambda t: t.replace("    maxReplicas: 4\n", "    maxReplicas: 4\n    maxReplicas: 40\n"),
     lambda t: (_line(t, "    maxReplicas: 40"), 5),
     "key 'maxReplicas' is written twice in the same mapping (first at line"),
    (lambda t: t + "  elastic-inference:autoscaling:\n    minReplicas: 2\n",
     lambda t: (_line(t, "  elastic-inference:autoscaling:", 2), 3),
     "key 'elastic-inference:autoscaling' is written twice in the same mapping (first at line"),
    (lambda t: t.replace("    minReplicas: 1\n", "    minReplicas: [1\n"),
     lambda t: (_line(t, "    minReplicas: [1") + 1, 16),
     "while parsing a flow sequence: expected ',' or ']'"),
    (lambda t: t.replace("    name: bert-tfserving\n", "   name: bert-tfserving\n"),
     lambda t: (_line(t, "   name: bert-tfserving"), 4), "while parsing a block mapping: expected <block end>"),
], ids=["duplicate-key", "duplicate-section", "unclosed-flow", "bad-indent"])
def test_render_names_file_line_and_column_of_a_yaml_mistake(tmp_path, capsys, edit, where, words):
    bad = tmp_path / "Pulumi.broken.yaml"
    text = edit((ROOT / "Pulumi.dev.yaml").read_text())
    bad.write_text(text)
    assert render.main(["--stack", "broken", "--stack-file", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    line, column = where(text)
    assert f"  - Pulumi.broken.yaml:{line}:{column}" in err and words in err, err
    assert "Traceback" not in err and not (tmp_path / "broken").exists()


def test_render_without_the_model_names_model_source(tmp_path, capsys):
    missing = tmp_path / "Pulumi.nomodel.yaml"
    missing.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace("./models/chnsenticorp", "./models/not-here"))
    assert render.main(["--stack", "nomodel", "--stack-file", str(missing), "--out", str(tmp_path)]) == 2
    assert "model.source: directory 'models/not-here' does not exist" in capsys.readouterr().err


# --- teardown order and protection ----------------------------------------------------------

@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_destroy_order(stack, dev_config, prod_config):
    result = run_program(dev_config if stack == "dev" else prod_config, stack)
    deployment = result.one("kubernetes:apps/v1:Deployment")
    capacity = (result.one("alicloud:cs/nodePool:NodePool") if stack == "prod" else
                next(a for a in result.of_type("alicloud:cs/kubernetesAddon:KubernetesAddon")
                     if a.inputs["name"] == "ack-virtual-node"))
    assert depends(result, deployment, capacity), "workloads before capacity"
    pvc, pv = result.one("kubernetes:core/v1:PersistentVolumeClaim"), result.one("kubernetes:core/v1:PersistentVolume")
    assert depends(result, pvc, pv), "claim before volume"
    assert depends(result, deployment, pvc), "pods before their claim"
    assert depends(result, pv, result.one("kubernetes:core/v1:Secret")), "volume before its credentials"
    bucket = result.one("alicloud:oss/bucket:Bucket")
    for obj in result.of_type("alicloud:oss/bucketObject:BucketObject"):
        assert depends(result, obj, bucket), "objects before bucket"
        assert depends(result, deployment, obj), "pods before the model files they read"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_namespaced_object_comes_after_its_namespace(stack, dev_config, prod_config):
    """Created after the namespace exists, deleted before it goes: the namespace is a plain
    name in the objects, so the order must come from their dependencies."""
    result = run_program(dev_config if stack == "dev" else prod_config, stack)
    namespace = result.one("kubernetes:core/v1:Namespace")
    namespaced = [r for r in result.kubernetes() if "namespace" in result.manifest(r)["metadata"]]
    assert namespaced
    for registration in namespaced:
        assert depends(result, registration, namespace), registration.name


def test_protection_is_exactly_the_bucket_and_its_settings_in_prod(rendered):
    """What can be lost for good is protected: the bucket and its versioning (with the rest of its
    settings). Objects are not: a retired version's objects go, and stay recoverable as old
    versions until the lifecycle rule expires them."""
    dev, prod = rendered[("dev", False)], rendered[("prod", False)]
    assert not [r.name for r in dev.resources if r.protect]
    protected = {r.type for r in prod.resources if r.protect}
    assert protected == {
        "alicloud:oss/bucket:Bucket", "alicloud:oss/bucketAcl:BucketAcl",
        "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption",
        "alicloud:oss/bucketVersioning:BucketVersioning",
    }
    assert prod.of_type("alicloud:oss/bucketObject:BucketObject")
    assert dev.one("alicloud:oss/bucket:Bucket").inputs["forceDestroy"] is True


def test_render_reads_in_the_conventional_order(tmp_path):
    """A reviewer reads a diff: every object starts apiVersion, kind, metadata (name, namespace
    first), then spec; a container starts with its name and image; label maps are sorted; the
    model config is a block, not an escaped one-liner; policy documents are indented JSON."""
    assert render.main(["--stack", "prod", "--out", str(tmp_path), "--placeholder-model"]) == 0
    text = (tmp_path / "prod" / "kubernetes.yaml").read_text()
    for document in yaml.safe_load_all(text):
        assert list(document)[:3] == ["apiVersion", "kind", "metadata"]
        assert list(document["metadata"])[0] == "name"
        if "namespace" in document["metadata"]:
            assert list(document["metadata"])[1] == "namespace"
        if "spec" in document:
            assert list(document).index("spec") == 3
        labels = document["metadata"].get("labels", {})
        assert list(labels) == sorted(labels)
        if document["kind"] == "Deployment":
            container = document["spec"]["template"]["spec"]["containers"][0]
            assert list(container)[:4] == ["name", "image", "command", "args"]
    assert "  models.config: |\n    model_config_list {\n" in text
    plan = json.loads((tmp_path / "prod" / "plan.json").read_text())
    policy = next(r for r in plan["resources"] if r["type"] == "alicloud:ram/policy:Policy")
    assert policy["inputs"]["policyDocument"]["Version"] == "1"
    assert '"policyDocument": {\n          "Statement": [\n' in (tmp_path / "prod" / "plan.json").read_text()


# --- the deploy command -----------------------------------------------------------------------

DEPLOY = ROOT / "tools" / "deploy.sh"


def run_deploy(tmp_path: Path, stubs: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run tools/deploy.sh dev with stand-ins for the commands it calls; each stand-in logs its
    arguments, so the test sees which steps ran."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{body}\n')
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    run = subprocess.run(["bash", str(DEPLOY), "dev"], capture_output=True, text=True, env=env, timeout=60,
                         stdin=subprocess.DEVNULL, check=False)
    return run, log.read_text().splitlines() if log.exists() else []


def test_deploy_stops_where_the_download_fails(tmp_path):
    """No route to get.pulumi.com: the chain stops there and says what it needed, instead of
    going on to pip and ending in `pulumi: command not found`."""
    run, calls = run_deploy(tmp_path, {"curl": "echo 'curl: (6) Could not resolve host' >&2; exit 6",
                                       "python3": "exit 0"})
    assert run.returncode == 1
    assert "could not download the Pulumi installer from https://get.pulumi.com" in run.stderr
    assert "install Pulumi CLI v" in run.stderr and "another way" in run.stderr
    assert [c.split()[0] for c in calls] == ["curl"]  # nothing after the failed step


def test_deploy_stops_where_python_is_missing_its_venv(tmp_path):
    installer = (
        'out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n'
        'printf \'mkdir -p "$HOME/.pulumi/bin"\\nprintf "#!/bin/sh\\\\necho v%s\\\\n" > "$HOME/.pulumi/bin/pulumi"\\n'
        'chmod +x "$HOME/.pulumi/bin/pulumi"\\n\' "$(cat ' + str(ROOT / ".pulumi.version") + ')" > "$out"')
    run, calls = run_deploy(tmp_path, {"curl": installer, "python3": "exit 1"})
    assert run.returncode == 1, run.stderr
    assert "python3 -m venv .venv failed: this needs Python 3.11 or later with the venv module" in run.stderr
    assert [c.split()[0] for c in calls] == ["curl", "python3"]


def test_deploy_previews_with_the_policy_pack_before_it_applies():
    """The person's path runs the guardrails CI runs: `pulumi up --policy-pack` previews, checks
    the policies and asks before changing anything; the README gives this command."""
    assert DEPLOY.read_text().rstrip().endswith('exec pulumi up --stack "$stack" --policy-pack policy --diff')
    assert "tools/deploy.sh dev" in (ROOT / "README.md").read_text()


def test_render_of_a_missing_stack_file_exits_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "Pulumi.nowhere.yaml"
    assert render.main(["--stack", "nowhere", "--stack-file", str(missing), "--out", str(tmp_path)]) == 2
    assert f"error: {missing}: no such stack file" in capsys.readouterr().err


def test_render_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit):
        render.main(["--help"])
    assert "Render a stack offline" in capsys.readouterr().out


def test_the_render_marks_every_secret_value_the_same_documented_way(tmp_path):
    """Reviewers see "[secret]" where a secret was (tools/render.py's docstring and the README)."""
    assert render.main(["--stack", "dev", "--out", str(tmp_path), "--placeholder-model"]) == 0
    secret = next(d for d in yaml.safe_load_all((tmp_path / "dev" / "kubernetes.yaml").read_text())
                  if d["kind"] == "Secret")
    assert secret["stringData"] == {"akId": "[secret]", "akSecret": "[secret]"}


def test_the_render_shows_whole_objects_and_the_plan_keeps_timeouts(tmp_path):
    """A reviewer reads the render instead of a live preview: every field the program sets is
    there (spec, data), and the plan keeps what changes how the engine acts (timeouts, protect)."""
    target = render.render("prod", tmp_path, placeholder=True)
    docs = {(d["kind"], d["metadata"]["name"]): d
            for d in yaml.safe_load_all((target / "kubernetes.yaml").read_text(encoding="utf-8"))}
    result = render.evaluate("prod", placeholder=True)
    for manifest in result.manifests():
        if manifest["kind"] == "Secret":
            continue
        assert docs[(manifest["kind"], manifest["metadata"]["name"])] == json.loads(json.dumps(manifest)), \
            manifest["kind"]
    assert docs[("Deployment", "bert-tfserving")]["spec"]["template"]["spec"]["containers"]
    assert "monitoring.config" in docs[("ConfigMap", next(n for k, n in docs if k == "ConfigMap"))]["data"]
    plan = json.loads((target / "plan.json").read_text(encoding="utf-8"))
    # The reader is told the object list is illustrative.
    assert plan["modelFiles"] == "placeholder"
    fields = {"type", "name", "parent", "protect", "retainOnDelete", "dependsOn", "customTimeouts",
              "ignoreChanges", "replaceOnChanges", "inputs"}
    assert all(set(r) == fields for r in plan["resources"])
    assert len({(r["type"], r["name"]) for r in plan["resources"]}) == len(plan["resources"])
    deployment = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    assert deployment["customTimeouts"] == {"create": "40m", "update": "40m"}
    bucket = next(r for r in plan["resources"] if r["type"] == "alicloud:oss/bucket:Bucket")
    assert bucket["protect"] is True


def test_render_warnings_go_to_stderr(prod_config, tmp_path, capsys):
    """What `pulumi preview` would warn about reaches the reviewer on stderr, apart from the result."""
    prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"] = False
    stack_file = tmp_path / "Pulumi.warned.yaml"
    stack_file.write_text(yaml.safe_dump({"config": prod_config}))
    assert render.main(["--stack", "warned", "--stack-file", str(stack_file), "--out", str(tmp_path),
                        "--placeholder-model"]) == 0
    captured = capsys.readouterr()
    assert "warning: capacity.nodePool.compensateWithOnDemand: false" in captured.err
    assert "warning: " not in captured.out


def test_the_render_writes_to_build_render_unless_told():
    """README "Try it offline" reads the render from build/render, and build/ is git-ignored."""
    assert render.build_parser().parse_args(["--stack", "dev"]).out == ROOT / "build" / "render"
    assert "/build/" in (ROOT / ".gitignore").read_text().split()


def test_a_users_labels_are_sorted_even_when_one_is_named_like_a_field():
    """Inside labels (the user's data) `type` and `name` are keys like any other: A-Z, not the
    reviewer's field order."""
    ordered = render.conventional_order({"metadata": {"labels": {"type": "gpu", "data": "x", "app": "y"}}})
    assert list(ordered["metadata"]["labels"]) == ["app", "data", "type"]
    assert list(render.conventional_order({"labels": {"type": "gpu", "app": "x"}})["labels"]) == ["app", "type"]

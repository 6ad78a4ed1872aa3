"""No Pulumi CLI runs here, so check the rules it enforces on Pulumi.yaml and Pulumi.<stack>.yaml
(pulumi project and stack settings file references; sdk/go/common/workspace Project.Validate),
and that the files agree with the program's own schema."""

from __future__ import annotations

import re
import typing

import pytest
import yaml
from harness import PROJECT, ROOT
from pydantic import BaseModel

from config.loader import load_project_schema
from config.schema import StackConfig
from tools import config_table

PROJECT_ATTRS = {
    "name", "runtime", "description", "config", "main", "stackConfigDir", "backend", "options",
    "template", "plugins", "packages", "author", "website", "license",
}
CONFIG_DECL_ATTRS = {"type", "description", "secret", "default", "items", "value"}
SIMPLE_TYPES = {"string", "integer", "boolean", "array"}
STACK_ATTRS = {"secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment"}
STACK_FILES = sorted(p.name for p in ROOT.glob("Pulumi.*.yaml"))


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def value_matches(type_: str, items: typing.Optional[dict], value) -> bool:
    """The CLI's ValidateConfigValue: what a declared type accepts."""
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value) is not None
    if type_ == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_ == "array":
        return isinstance(value, list) and items is not None and all(
            value_matches(items["type"], items.get("items"), v) for v in value
        )
    return False


def project_namespaced(key: str) -> bool:
    return ":" not in key or key.startswith(PROJECT + ":")


def test_project_file_basics():
    project = load("Pulumi.yaml")
    assert set(project) <= PROJECT_ATTRS, set(project) - PROJECT_ATTRS
    assert project["name"] == PROJECT
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", project["name"])
    runtime = project["runtime"]
    assert isinstance(runtime, dict) and set(runtime) <= {"name", "options"}
    assert runtime["name"] == "python"
    assert runtime["options"]["virtualenv"] == ".venv"


def test_project_config_declarations_obey_the_cli():
    for key, decl in load("Pulumi.yaml")["config"].items():
        if not isinstance(decl, dict):
            continue  # a bare value
        assert set(decl) <= CONFIG_DECL_ATTRS, (key, set(decl) - CONFIG_DECL_ATTRS)
        assert not ("default" in decl and "value" in decl), f"{key}: both default and value"
        if project_namespaced(key):
            if "type" in decl:
                # `type: object` makes the CLI reject the whole project.
                assert decl["type"] in SIMPLE_TYPES, f"{key}: type {decl['type']!r}"
                if decl["type"] == "array":
                    assert "items" in decl, f"{key}: array without items"
                if "default" in decl:
                    assert value_matches(decl["type"], decl.get("items"), decl["default"]), key
            assert decl.get("description"), f"{key}: every declared key is documented"
        else:
            assert "type" not in decl and "default" not in decl, f"{key}: other namespace"
            assert "value" in decl, f"{key}: a namespaced key must provide 'value'"


def _scalar_fields() -> dict[str, type]:
    out = {}
    for name, field in StackConfig.model_fields.items():
        annotation = field.annotation
        base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
        # An optional section (`alerts`) is a section too.
        base = next((a for a in typing.get_args(base) if a is not type(None)), base) \
            if typing.get_origin(base) is typing.Union else base
        if not (isinstance(base, type) and issubclass(base, BaseModel)):
            out[field.alias or name] = base
    return out


def test_declared_keys_are_exactly_the_scalar_keys_of_the_schema():
    declared = load_project_schema()
    py_to_cli = {str: "string", bool: "boolean", int: "integer", list: "array"}
    scalars = _scalar_fields()
    assert set(declared) == set(scalars)
    for key, py_type in scalars.items():
        assert declared[key]["type"] == py_to_cli[py_type], key
    # Object keys are documented in the README and defaulted in config/, never declared.
    objects = {f.alias for f in StackConfig.model_fields.values()} - set(scalars)
    assert objects and not objects & set(declared)


@pytest.mark.parametrize("stack_file", STACK_FILES)
def test_stack_file_obeys_the_cli(stack_file):
    stack = load(stack_file)
    assert set(stack) <= STACK_ATTRS, set(stack) - STACK_ATTRS
    config = stack["config"]
    declared = load_project_schema()
    for key, value in config.items():
        # Stack files hold fully qualified keys only (`<namespace>:<name>`).
        assert re.fullmatch(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+", key), key
        name = key.split(":", 1)[1]
        if key.startswith(PROJECT + ":") and name in declared:
            decl = declared[name]
            if decl.get("secret"):
                assert isinstance(value, dict) and set(value) == {"secure"}, f"{key} must be encrypted"
            else:
                assert value_matches(decl["type"], decl.get("items"), value), (key, value)
    for name, decl in declared.items():
        if "default" not in decl and not decl.get("secret"):
            assert f"{PROJECT}:{name}" in config, f"{stack_file} misses required {name}"


def test_the_stacks_are_the_ones_the_design_names():
    assert {"Pulumi.dev.yaml", "Pulumi.prod.yaml"} <= set(STACK_FILES)
    assert load("Pulumi.dev.yaml")["config"][f"{PROJECT}:capacity"]["mode"] == "eci"
    assert load("Pulumi.prod.yaml")["config"][f"{PROJECT}:capacity"]["mode"] == "nodepool"
    assert load("Pulumi.prod.yaml")["config"][f"{PROJECT}:protect"] is True
    assert load("Pulumi.dev.yaml")["config"][f"{PROJECT}:protect"] is False


def test_the_checks_above_can_fail():
    """Guard the checker itself against vacuity."""
    assert not value_matches("boolean", None, "yes")
    assert not value_matches("integer", None, True)
    assert not value_matches("array", None, ["a"])
    assert value_matches("array", {"type": "string"}, ["a"])
    assert not project_namespaced("alicloud:region")


def test_readme_table_is_the_generated_one():
    """The README's configuration table is exactly what the schema generates (one source for
    each key's description and default): regenerate with `python -m tools.config_table --write`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config_table.readme_table(readme) == config_table.table()


def test_the_table_covers_every_key_and_says_what_each_allows():
    keys = {leaf.path: leaf for leaf in config_table.leaves(StackConfig)}
    assert "capacity.nodePool.keyName" in keys and "autoscaling.scaleDownPodsPerMinute" in keys
    rows = {key: (kind, default) for key, kind, default, _ in config_table.rows()}
    assert set(rows) == set(keys) | {"alicloud:region"}
    # Allowed values come from the annotations, defaults from the fields or Pulumi.yaml.
    assert rows["capacity.mode"] == ("`eci` \\| `nodepool`", "(required)")
    assert rows["capacity.nodePool.onDemandPercentage"] == ("0-100", "`30`")
    assert rows["autoscaling.targetQps"] == ("number > 0, <= 100000", "`10`")
    assert rows["capacity.instanceTypes"] == ("instance type list (1-5)", "(required)")
    assert rows["protect"] == ("boolean", "`false`")  # Pulumi.yaml's default
    assert rows["storage.bucket"][1] == "`ei-<stack>-<model>-<hash>`"
    assert rows["serving.cpu"][1] == '`"4"`'


def test_pulumi_yaml_descriptions_are_the_schema_docstrings():
    declared = load_project_schema()
    for leaf in config_table.leaves(StackConfig):
        if leaf.path in declared:
            assert declared[leaf.path]["description"] == config_table.description(leaf), leaf.path


def test_an_undocumented_key_fails_the_generator():
    class Undocumented(BaseModel):
        key: int = 1

    with pytest.raises(ValueError, match="key has no docstring"):
        config_table.description(next(config_table.leaves(Undocumented)))

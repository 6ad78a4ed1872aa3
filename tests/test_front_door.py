"""The front door: no config ends in anything but the program's own message, naming its key.

By construction first: a rule is handed only the config sections its signature names, each of the
schema's type for that key (config/rules), so it cannot read a section it did not declare or one
the schema refused. Then by generated inputs: configs made from the shipped stacks with mistakes
drawn from the schema (tests/config_strategies.py) either build, or stop with a ConfigError whose
every line names a key the user wrote or the schema has, with nothing registered; the render and
the planner end with the same message and exit 2. The long run: docs/testing.md, "The front door".
"""

from __future__ import annotations

import contextlib
import io
import typing
from pathlib import Path

import pytest
import yaml
from config_strategies import names_a_key, stack_configs
from harness import NS, StackResult, run_program
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from config import ConfigError, rules
from config.rules.check import reads
from config.schema import StackConfig
from planner import __main__ as planner_main
from tools import render
from tools.offline import settings_of

FIELD_TYPES = {name: field.annotation for name, field in StackConfig.model_fields.items()}
# Each property runs a share of the profile's examples (conftest.py: 300 in the test command, 10,000
# in the long run), as its cost per example allows: the whole program takes ~0.2 s, config/ ~10 ms.
EXAMPLES = settings.default.max_examples
SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


# --- by construction --------------------------------------------------------------------------------

@pytest.mark.parametrize("check", [*rules.rules(), *rules.warnings()], ids=lambda c: c.__name__)
def test_a_rule_declares_each_section_it_reads_with_its_schema_type(check):
    """Every parameter is a top-level key (or a value derived from one) with that key's type, so the
    type checker holds the rule to what it declared, and the loader hands it nothing else."""
    hints = typing.get_type_hints(check)
    names = reads(check)
    assert names, "a rule that reads nothing is no rule"
    for name in names:
        assert name in FIELD_TYPES or name in rules.DERIVED, f"{check.__name__} reads {name!r}, which is no key"
        if name in FIELD_TYPES:
            assert hints[name] == FIELD_TYPES[name], f"{check.__name__}'s {name} is not the schema's {name}"
        assert hints[name] is not StackConfig


def test_a_rule_runs_only_with_every_section_it_declares():
    seen: list[dict] = []

    def both(model, serving):  # noqa: ANN001, ANN202 - a stand-in rule
        seen.append({"model": model, "serving": serving})
        return [("x", "y")]

    assert rules.run([both], {"model": 1}) == [] and seen == []
    assert rules.run([both], {"model": 1, "serving": 2, "capacity": 3}) == [("x", "y")]
    assert seen == [{"model": 1, "serving": 2}]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rule_runs_on_a_shipped_stack(stack, rendered):
    """No rule is dead: each one's sections are all present in a valid config (the loader's `given`)."""
    given = {name: True for name in FIELD_TYPES} | {"source": True}
    assert [c.__name__ for c in rules.rules() if not set(reads(c)) <= set(given)] == []


# --- by generated inputs ----------------------------------------------------------------------------

def problems_of(error: ConfigError, config: dict) -> list[tuple[str, str]]:
    """The problems that name no key: none may."""
    return [(key, message) for key, message in error.problems if not names_a_key(key, config)]


@settings(suppress_health_check=SUPPRESSED)
@given(case=stack_configs(plausible=None))
def test_a_generated_config_is_settled_or_refused_by_key(project_dir, case):
    """The whole of config/: a generated config gives Settings, or a ConfigError each of whose lines
    names a key the user wrote or the schema has. Any other exception fails the test."""
    stack, config, _ = case
    try:
        settings_of(config, stack)
    except ConfigError as error:
        assert error.problems, "a ConfigError with nothing in it"
        assert problems_of(error, config) == []
        event("refused")
        for key, _ in error.problems:
            event(f"refused at {key.split('[')[0].split('.')[0]}")
    else:
        event("settled")


@settings(max_examples=max(1, EXAMPLES // 12), suppress_health_check=SUPPRESSED)
@given(case=stack_configs(max_mistakes=2, plausible=None))
def test_a_generated_config_builds_or_registers_nothing(project_dir, case):
    """The whole program, as `pulumi preview` runs it: it builds, or stops before registering anything."""
    stack, config, _ = case
    result = StackResult()
    try:
        run_program(config, stack, preview=True, result=result)
    except ConfigError as error:
        assert result.resources == [] and problems_of(error, config) == []
        event("refused")
    else:
        assert result.resources
        event("built")


def _run_tool(main, argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@settings(max_examples=max(1, EXAMPLES // 30), suppress_health_check=SUPPRESSED)
@given(case=stack_configs(max_mistakes=2, plausible=None), tool=st.sampled_from(["render", "planner"]))
def test_the_render_and_the_planner_end_with_the_programs_message(tmp_path, case, tool):
    """Both tools read the stack file with a stand-in model; a config the program refuses ends each
    with its message (every problem line) and exit 2, never a traceback."""
    stack, config, _ = case
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    if tool == "render":
        code, err = _run_tool(render.main, ["--stack", stack, "--stack-file", str(stack_file), "--out", str(out),
                                            "--placeholder-model"])
    else:
        code, err = _run_tool(planner_main.main, ["--stack", str(stack_file), "--trace", "step:1:2:5",
                                                  "--duration", "20", "--out", str(out), "--no-chart"])
    assert code in (0, 2), err
    event(f"{tool} exit {code}")
    if code == 2:
        assert err.startswith("error: stack configuration has "), err
        lines = [line for line in err.splitlines() if line.startswith("  - ")]
        assert lines and all(names_a_key(line[4:].split(": ", 1)[0], config) for line in lines), err


# --- the causes of issue #30, each by name ----------------------------------------------------------

def _problems(config: dict, stack: str = "dev") -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as error:
        settings_of(config, stack)
    return error.value.problems


def _one(config: dict, key: str, stack: str = "dev") -> str:
    found = [m for k, m in _problems(config, stack) if k == key]
    assert len(found) == 1, _problems(config, stack)
    return found[0]


@pytest.mark.parametrize("model", [{"canary": {"version": 1623831335, "weight": 101}}, {"serve": "latest"},
                                   {"name": "chnsenti\u0441orp"}, {"canary": {"version": 1, "weight": 0.3}}])
def test_a_model_the_schema_refuses_leaves_the_capacity_rules_standing(prod_config, model):
    """Cause 1: the capacity rule read model.canary through the tracks' split without declaring it."""
    prod_config[NS + "model"].update(model)
    prod_config[NS + "autoscaling"]["maxReplicas"] = 1000  # a capacity problem too
    keys = [k for k, _ in _problems(prod_config, "prod")]
    assert any(k.startswith("model.") for k in keys)
    assert "capacity.nodePool.maxSize" not in keys  # capacity_fits declares model: it waits for it


def test_a_look_alike_character_is_named(dev_config):
    dev_config[NS + "model"]["name"] = "chnsenti\u0441orp"
    assert "U+0441 CYRILLIC SMALL LETTER ES" in _one(dev_config, "model.name")


@pytest.mark.parametrize("zone", ["Asia", "Europe", "Etc"])
def test_a_time_zone_folder_is_refused_by_key(dev_config, zone):
    """Cause 2: IsADirectoryError. Kubernetes refuses it too (time.LoadLocation: 'is a directory')."""
    dev_config[NS + "autoscaling"]["idle"]["timeZone"] = zone
    assert f"{zone!r} is a folder of zones: name one in it" in _one(dev_config, "autoscaling.idle.timeZone")


@pytest.mark.parametrize("key, value", [("serving.memory", "12Gi\n"), ("serving.cpu", "4\n"),
                                        ("ingress.host", "bert.dev.example.com\n"),
                                        ("clusterId", "c0123456789abcdef0123456789abcdef\n"),
                                        ("capacity.mode", "eci\n"), ("autoscaling.maxReplicas", "4\n")])
def test_a_trailing_line_break_is_refused_at_its_key(dev_config, key, value):
    """Cause 3: `$` let a YAML block scalar's line break through, and a later full match crashed."""
    section, _, leaf = key.partition(".")
    if leaf:
        dev_config[NS + section][leaf] = value
    else:
        dev_config[NS + section] = value
    assert "ends with a line break (a YAML block scalar `|` keeps the line's end)" in _one(dev_config, key)


def test_a_model_source_longer_than_the_file_system_allows_is_refused_by_key(dev_config):
    """Cause 4: OSError 'File name too long'."""
    dev_config[NS + "model"]["source"] = "./" + "m" * 300
    assert "cannot be read: File name too long" in _one(dev_config, "model.source")


def test_a_source_under_the_home_directory_says_that_tilde_is_not_expanded(dev_config):
    dev_config[NS + "model"]["source"] = "~/models/chnsenticorp"
    assert "'~', which is not expanded" in _one(dev_config, "model.source")


@pytest.mark.parametrize("schedule, words", [
    ("0 8 L * *", "failed to parse int from L"), ("0 8 * * 1#2", "failed to parse int from 1#2"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1)"),
    ("0 8 * * 7", "end of range (7) above maximum (6)"),
    ("*/0 * * * *", "step of range should be a positive number"), ("@every 1h", "not an interval"),
])
def test_a_schedule_kubernetes_refuses_is_refused_offline(dev_config, schedule, words):
    """robfig/cron v3's standard parser (config/cron.py), as Kubernetes validates a CronJob."""
    dev_config[NS + "autoscaling"]["idle"]["wake"] = schedule
    assert words in _one(dev_config, "autoscaling.idle.wake")


@pytest.mark.parametrize("host", ["10.0.0.1", "203.0.113.9"])
def test_an_ip_address_is_no_ingress_host(dev_config, host):
    dev_config[NS + "ingress"]["host"] = host
    assert "is an IP address, and an Ingress host must be a DNS name" in _one(dev_config, "ingress.host")


@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-public", "kube-node-lease"])
def test_a_namespace_the_cluster_owns_is_not_the_stacks(dev_config, namespace):
    dev_config[NS + "serving"]["namespace"] = namespace
    assert "belongs to the cluster" in _one(dev_config, "serving.namespace")


def test_another_controllers_class_is_refused(dev_config):
    dev_config[NS + "ingress"]["className"] = "alb"
    assert "counts ingress-nginx's access log, which that controller does not write" in _one(
        dev_config, "ingress.className")


@pytest.mark.parametrize("change, words", [
    (lambda c: c[NS + "capacity"].update(eci={"imageCache": False}, eciImageCache={"size": 40}),
     "capacity.eciImageCache has no effect with capacity.eci.imageCache false"),
    (lambda c: c[NS + "ingress"].update(allowSourceCidrs=["0.0.0.0/0"]),
     "ingress.allowSourceCidrs lists 0.0.0.0/0: every address of that family is allowed"),
    (lambda c: c[NS + "autoscaling"]["idle"].update(timeZone="Etc/GMT+8"),
     "autoscaling.idle.timeZone Etc/GMT+8 is UTC-8, not UTC+8"),
    (lambda c: c[NS + "ingress"].update(className="nginx-internal"),
     "make sure IngressClass 'nginx-internal' has spec.controller k8s.io/ingress-nginx"),
])
def test_a_valid_setting_that_is_probably_not_meant_is_warned_about_by_key(dev_config, change, words):
    change(dev_config)
    _, warnings = settings_of(dev_config, "dev")
    assert any(words in w for w in warnings), warnings


def test_the_etc_zones_keep_the_posix_sign():
    """The warning's claim, from the zone database itself."""
    import datetime  # noqa: PLC0415
    import zoneinfo  # noqa: PLC0415

    offset = datetime.datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo("Etc/GMT+8")).utcoffset()
    assert offset == datetime.timedelta(hours=-8)


@pytest.mark.parametrize("key, value, words", [
    ("autoscaling.maxReplicas", None, "is empty (nothing is written after it)"),
    ("capacity.nodePool.onDemandPercentage", 0.3, "it is a percent, 0-100: did you mean 30?"),
])
def test_vague_answers_say_what_is_wrong(prod_config, key, value, words):
    section, *path = key.split(".")
    node = prod_config[NS + section]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    message = _one(prod_config, key, "prod")
    assert words in message and "(got None)" not in message


def test_the_placeholder_model_never_stands_in_for_a_source_the_schema_refuses(tmp_path):
    """The render's and planner's stand-in SavedModel is made only for a model section that validates:
    a malformed one is the program's to report (it crashed the tools before)."""
    for model in ({"name": "m", "source": "x", "versions": 7}, "text", {"name": "m", "source": "~/m", "versions": [1]},
                  {"name": "m", "source": "m\n", "versions": [1]}):
        with render.placeholder_model({NS + "model": model}, NS[:-1]) as (workdir, config):
            assert workdir is None and config[NS + "model"] == model
    with render.placeholder_model({NS + "model": {"name": "m", "source": "/" + "a" * 5000, "versions": [1]}},
                                  NS[:-1]) as (workdir, config):
        assert workdir is not None and (Path(workdir) / config[NS + "model"]["source"] / "1").is_dir()

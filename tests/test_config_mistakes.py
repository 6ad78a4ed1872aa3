"""A newcomer's mistakes across the configuration table, as they are made: each refused before
anything is registered, naming its key and saying what to write, or warned about with the run
going on; and the offline tools taking the README's own way to keep a secret."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness import NS, ROOT, run_expecting_error, run_program

from config import ConfigError
from config.loader import ALICLOUD_KEYS
from tools import render


def problems(config: dict, stack: str = "dev") -> list[tuple[str, str]]:
    error, result = run_expecting_error(config, stack)
    assert isinstance(error, ConfigError), error
    assert result.resources == []  # nothing registered, not even a provider
    return error.problems


def message(config: dict, key: str, stack: str = "dev") -> str:
    found = [m for k, m in problems(config, stack) if k == key]
    assert found, f"no problem for {key}: {problems(config, stack)}"
    return found[0]


# --- keys nothing reads ----------------------------------------------------------------------------

def test_the_alicloud_keys_are_the_providers_own_schema():
    """ALICLOUD_KEYS is the 4.0.0 SDK's config schema, read from the file it is generated into."""
    import pulumi_alicloud  # noqa: PLC0415 - the installed SDK, for its generated config file

    text = (Path(pulumi_alicloud.__file__).parent / "config" / "vars.py").read_text(encoding="utf-8")
    assert sorted(set(re.findall(r"__config__\.get\w*\('([A-Za-z]+)'", text))) == sorted(ALICLOUD_KEYS)


@pytest.mark.parametrize("key, words", [
    ("alicloud:regoin", "did you mean 'alicloud:region'?"),
    ("alicloud:secret_key", "did you mean 'alicloud:secretKey'?"),    # snake_case: no provider reads it
    ("alicloud:clusterId", "this stack's own, 'elastic-inference:clusterId'?"),
    ("kubernetes:kubeconfig", "built from ACK's credential"),
    ("kubernetes:context", "read by nothing"),
])
def test_a_key_under_a_providers_namespace_that_it_does_not_read_is_refused(dev_config, key, words):
    dev_config[key] = "value"
    assert words in message(dev_config, key)


def test_a_misspelled_region_is_named_beside_the_missing_one(dev_config):
    dev_config["alicloud:regoin"] = dev_config.pop("alicloud:region")
    assert "alicloud:regoin is set: a misspelling of it?" in message(dev_config, "alicloud:region")


# --- quantities no one means ----------------------------------------------------------------------

@pytest.mark.parametrize("key, value, words", [
    ("memory", "12", "is bytes (a number without a unit counts bytes): a GPU server needs at least 1Gi; "
                     "did you mean 12Gi?"),
    ("memory", 12, "did you mean 12Gi?"),
    ("memory", "512Mi", "is 512 MiB: a GPU server needs at least 1Gi"),
    ("memory", "12m", "thousandths of a byte ('m'); did you mean 12Mi?"),
    ("cpu", "4m", "is 0.004 of a core: a GPU server needs at least half a core; did you mean 4?"),
    ("cpu", "4Gi", "has a byte unit (Gi)"),
])
def test_a_quantity_no_one_means_for_a_gpu_server_is_refused_with_the_unit_meant(dev_config, key, value, words):
    dev_config[NS + "serving"][key] = value
    assert words in message(dev_config, f"serving.{key}")


@pytest.mark.parametrize("memory", ["1Gi", "1024Mi", "12Gi", "16G"])
def test_quantities_a_server_can_mean_pass(dev_config, memory):
    dev_config[NS + "serving"]["memory"] = memory
    run_program(dev_config)


# --- settings that do nothing ----------------------------------------------------------------------

def test_a_spot_price_limit_with_the_market_price_strategy_is_refused(prod_config):
    prod_config[NS + "capacity"]["nodePool"]["spotPriceLimit"] = 2.5
    assert "has no effect with capacity.nodePool.spotStrategy SpotAsPriceGo" in message(
        prod_config, "capacity.nodePool.spotPriceLimit", "prod")


def test_ecs_node_labels_without_burst_are_refused(dev_config):
    dev_config[NS + "capacity"]["eci"]["ecsNodeLabels"] = {"gpu": "t4"}
    assert "has no effect with capacity.eci.scheduling only" in message(dev_config, "capacity.eci.ecsNodeLabels")


@pytest.mark.parametrize("edit, words", [
    (lambda c: c[NS + "capacity"].update(nodePool={"maxSize": 3}),
     "capacity.nodePool has no effect with capacity.mode eci"),
    (lambda c: c.__setitem__(NS + "autoscaling", {**c[NS + "autoscaling"], "idle": {"wake": "0 8 * * 1-5"}}),
     "autoscaling.idle.wake has no effect with autoscaling.idle.mode always-on"),
    (lambda c: c.__setitem__(NS + "network", {"policy": False, "metricsNamespaces": ["arms-prom"]}),
     "network.metricsNamespaces has no effect with network.policy false"),
])
def test_a_setting_of_another_mode_is_warned_about_by_name_and_the_run_goes_on(dev_config, edit, words):
    edit(dev_config)
    assert [w for w in run_program(dev_config).warnings if w.startswith(words)]


def test_the_other_modes_section_is_warned_about_in_nodepool_mode_too(prod_config):
    prod_config[NS + "capacity"]["eci"] = {"spot": True}
    warnings = run_program(prod_config, "prod").warnings
    assert any(w.startswith("capacity.eci has no effect with capacity.mode nodepool") for w in warnings)


def test_the_shipped_stacks_are_told_nothing_about_settings_that_do_nothing(rendered):
    assert not [w for w in rendered[("dev", False)].warnings if "has no effect" in w]
    assert not [w for w in rendered[("prod", False)].warnings if "has no effect" in w]


def test_a_schedule_with_wake_and_sleep_swapped_shows_as_awake_at_night_before_anything_changes(dev_config):
    idle = dev_config[NS + "autoscaling"]["idle"]
    idle["wake"], idle["sleep"] = idle["sleep"], idle["wake"]
    awake = run_program(dev_config, preview=True).exports["awakeHours"]
    assert awake == ("awake 108 of 168 hours a week (Asia/Shanghai): Mon-Fri 00:00-08:00 20:00-24:00, "
                     "Sat-Sun 00:00-24:00")


# --- messages that say what to do ------------------------------------------------------------------

def test_a_dotted_top_level_key_says_path_was_forgotten(dev_config):
    dev_config[NS + "autoscaling.maxReplicas"] = 8  # `pulumi config set autoscaling.maxReplicas 8`
    words = message(dev_config, "autoscaling.maxReplicas")
    assert "without --path" in words and "pulumi config set --path 'autoscaling.maxReplicas' <value>" in words


def test_an_empty_section_is_called_empty_and_no_message_names_a_class(dev_config):
    dev_config[NS + "storage"] = None
    assert message(dev_config, "storage").startswith("is an empty section")
    dev_config[NS + "storage"] = "ramUser"
    dev_config[NS + "serving"] = None
    for _, words in problems(dev_config):
        assert not re.search(r"\b[A-Z][a-z]+Settings\b|instance of", words), words


@pytest.mark.parametrize("edit, key, words", [
    (lambda c: c[NS + "capacity"].update(mode="nodepool", nodePool={"keyName": "k", "gpuDriverVersion": 535.161}),
     "capacity.nodePool.gpuDriverVersion", 'YAML read 535.161 as a number: quote it ("535.161")'),
    (lambda c: c[NS + "model"].update(versions=["1623831335"]),
     "model.versions[0]", "it is written in quotes, so YAML read '1623831335' as text: write it without quotes"),
    (lambda c: c[NS + "autoscaling"]["idle"].update(wake=True),
     "autoscaling.idle.wake", "YAML read it as true (yes/no/on/off/true/false are booleans): quote it"),
])
def test_a_value_yaml_typed_on_its_own_says_to_quote_or_unquote_it(dev_config, edit, key, words):
    edit(dev_config)
    assert words in message(dev_config, key)


def test_an_unquoted_cron_macro_in_a_stack_file_says_to_quote_it(tmp_path, capsys):
    text = (ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8").replace('sleep: "0 20 * * 1-5"', "sleep: @midnight")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text, encoding="utf-8")
    assert render.main(["--stack", "dev", "--stack-file", str(stack_file), "--out", str(tmp_path)]) == 2
    assert "quote the value: YAML reserves '@'" in capsys.readouterr().err


def test_independent_problems_are_reported_with_a_type_error_elsewhere(dev_config):
    """The schema refuses serving.gpus; the rules that read only autoscaling and model still run."""
    dev_config[NS + "serving"]["gpus"] = "two"
    dev_config[NS + "autoscaling"].update(minReplicas=5, maxReplicas=2)
    dev_config[NS + "model"]["serve"] = 42
    keys = [key for key, _ in problems(dev_config)]
    assert {"serving.gpus", "autoscaling.minReplicas", "model.serve"} <= set(keys)


# --- the offline tools and the README's own way to keep a secret ---------------------------------

def encrypted(config: dict) -> dict:
    """What `pulumi config set --secret alicloud:secretKey ...` leaves in the stack file."""
    config = copy.deepcopy(config)
    config["alicloud:accessKey"] = {"secure": "v1:Zm9vYmFy:YmF6"}
    config["alicloud:secretKey"] = {"secure": "v1:cXV4:cXV1eA=="}
    return config


def test_the_render_takes_a_secret_set_the_readmes_way_and_shows_it_as_a_secret(tmp_path):
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(json.dumps({"config": encrypted(render.stack_file_config("dev"))}), encoding="utf-8")
    out = render.render("dev", tmp_path / "out", stack_file, placeholder=True)
    config = json.loads((out / "plan.json").read_text(encoding="utf-8"))["config"]
    assert config["alicloud:secretKey"] == config["alicloud:accessKey"] == "[secret]"
    assert "cXV4" not in (out / "plan.json").read_text(encoding="utf-8")


def test_the_planner_takes_a_secret_set_the_readmes_way(tmp_path):
    from planner.stack import plan_of  # noqa: PLC0415 - the planner, for this check only

    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(json.dumps({"config": encrypted(render.stack_file_config("dev"))}), encoding="utf-8")
    assert plan_of(str(stack_file)).settings.stack == "dev"


def test_a_plain_text_secret_is_still_refused(dev_config):
    dev_config["alicloud:secretKey"] = "plain-text"
    assert "stored in plain text" in message(dev_config, "alicloud:secretKey")


def test_the_load_test_demo_writes_to_build_unless_told_otherwise():
    from loadtest import demo  # noqa: PLC0415

    assert demo.build_parser().parse_args([]).out == ROOT / "build" / "loadtest-demo"


def test_the_load_test_without_a_reachable_cluster_refuses_before_it_plans_or_writes(tmp_path):
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--predict-url", "http://127.0.0.1:9/v1/models/m:predict",
         "--namespace", "n", "--hpa", "h", "--deployment", "d", "--target-qps", "10", "--min-replicas", "1",
         "--kube-api-url", "http://127.0.0.1:9", "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 2 and "did not answer" in done.stderr
    assert "requests over" not in done.stderr and not out.exists()

"""The README's own path, played as written: the canary's steps as the config edits `pulumi config
set --path` makes, each `pulumi up` accepted by the program; and the planner's first example
showing the burst it advertises."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

from conftest import MODEL_VERSION, write_saved_model
from harness import ROOT, run_program

from planner import __main__ as planner_main

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```bash\n(.*?)```", re.S)
NEW = 1700000000


def blocks_after(heading: str) -> list[str]:
    """The bash blocks of the README's text from `heading` to the next section."""
    start = README.index(heading)
    end = README.index("\n## ", start)
    return FENCE.findall(README[start:end])


def steps(block: str) -> list[list[str]]:
    """Each command of a block, comments dropped and `&&` chains split, as words."""
    found = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        found += [shlex.split(part) for part in line.split("&&") if part.strip()]
    return found


def _typed(text: str) -> Any:
    """What `pulumi config set --path` stores: integers and booleans typed, anything else as text
    (config/schema.py `_as_written` reads the rest)."""
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return {"true": True, "false": False}.get(text, text)


def _path(key: str) -> list[Any]:
    """`elastic-inference:model.versions[1]` -> ['elastic-inference:model', 'versions', 1]."""
    namespace, rest = key.split(":", 1)
    parts: list[Any] = []
    for part in rest.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", part)
        parts.append(name)
        parts += [int(i) for i in indexes if i]
    parts[0] = f"{namespace}:{parts[0]}"
    return parts


def config_set(config: dict, key: str, value: Any) -> None:
    """`pulumi config set --path`: sections made as needed, a list index at its length appends."""
    *parents, last = _path(key)
    node: Any = config
    for part, following in zip(parents, [*parents[1:], last], strict=True):
        if isinstance(node, list):
            node = node[part]
            continue
        node = node.setdefault(part, [] if isinstance(following, int) else {})
    if isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value


def config_rm(config: dict, key: str) -> None:
    *parents, last = _path(key)
    node: Any = config
    for part in parents:
        node = node[part]
    del node[last]


def play(config: dict, commands: list[list[str]], stack: str) -> list[dict[str, Any]]:
    """Apply each command; run the program at each `pulumi up`; return each up's exports."""
    ups = []
    for words in commands:
        assert words[0] == "pulumi" and words[-2:] == ["-s", stack], words
        if words[1:3] == ["config", "set"] and "--path" in words:
            config_set(config, words[4], _typed(words[5]))
        elif words[1:3] == ["config", "rm"] and "--path" in words:
            config_rm(config, words[4])
        elif words[1] == "up":
            ups.append(run_program(copy.deepcopy(config), stack).exports)
        else:
            raise AssertionError(f"a step this test cannot play: {words}")
    return ups


def test_the_readmes_canary_plays_through_to_a_promotion(prod_config, project_dir):
    write_saved_model(project_dir / "models" / "chnsenticorp", NEW)
    (steps_block,) = blocks_after("Day two:")[:1]
    ups = play(prod_config, steps(steps_block), "prod")
    assert [(u["servedVersion"], u["canaryVersion"], u["canaryWeight"]) for u in ups] == [
        (MODEL_VERSION, None, None), (MODEL_VERSION, NEW, 10), (MODEL_VERSION, NEW, 50), (NEW, None, None)]
    assert ups[0]["loadedVersions"] == [MODEL_VERSION, NEW]


def test_the_readmes_rollback_ends_on_the_version_it_served(prod_config, project_dir):
    write_saved_model(project_dir / "models" / "chnsenticorp", NEW)
    canary, rollback = (steps(b) for b in blocks_after("Day two:")[:2])
    third_up = [i for i, words in enumerate(canary) if words[1] == "up"][2]  # the canary at 50 %
    ups = play(prod_config, canary[:third_up + 1] + rollback, "prod")
    assert [(u["servedVersion"], u["canaryVersion"]) for u in ups] == [
        (MODEL_VERSION, None), (MODEL_VERSION, NEW), (MODEL_VERSION, NEW), (MODEL_VERSION, None)]


def test_the_readmes_planner_example_shows_each_stack_bursting(tmp_path):
    """The first example a user runs shows what it advertises: dev awake and at its 4 pods, prod at
    its 10, as the README's sentence says."""
    (block,) = [b for b in blocks_after("## Try it offline") if "-m planner" in b]
    line = next(" ".join(b.split()) for b in re.sub(r"\\\n\s*", " ", block).splitlines() if "-m planner" in b)
    words = shlex.split(line)[3:]
    out = tmp_path / "plan"
    words[words.index("--out") + 1] = str(out)
    assert planner_main.main([*words, "--no-chart"]) == 0
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    peaks = {name: max(s["timeline"]["ready_replicas"]) for name, s in plan["stacks"].items()}
    assert peaks == {"dev": 4, "prod": 10}
    assert "dev capped at its 4 pods" in README and "prod at its 10 within about 145 s" in README
    assert plan["stacks"]["prod"]["summary"]["bursts"][0]["seconds_to_capacity"] == 145
    assert Path(out / "plan.json").is_file()

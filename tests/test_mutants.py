"""The mutation-sampling tool (tools/mutation_sample.py) on its own, without running mutmut: the
sample is fixed by its seed, a survivor's key is stable and judged against the equivalent list,
and the score leaves the equivalent and the unrun out."""

from __future__ import annotations

import ast
import json
import sys
import tomllib
from types import SimpleNamespace

import pytest
from harness import ROOT

from tools import mutation_sample as ms
from tools import mutmut_fixtures

RESULTS = """\
    config.rules.x_pods_per_node__mutmut_1: killed
    config.rules.x_pods_per_node__mutmut_13: survived
    components.wiring.x_name_of__mutmut_2: no tests
    tools.render.x_render__mutmut_70: not checked
"""

DIFF = """--- config/rules.py
+++ config/rules.py
@@ -3,7 +3,7 @@
     alloc_cpu, alloc_mem = node_allocatable(spec)
     return min(
-        spec.gpus // gpus if gpus else 10**6,
+        spec.gpus // gpus if gpus else 11**6,
         int(alloc_cpu // cpu) if cpu else 10**6,
     )"""


def test_results_are_read_as_mutmut_prints_them():
    assert ms.parse_results(RESULTS + "\n1.00 mutations/second\n") == {
        "config.rules.x_pods_per_node__mutmut_1": "killed", "config.rules.x_pods_per_node__mutmut_13": "survived",
        "components.wiring.x_name_of__mutmut_2": "no tests", "tools.render.x_render__mutmut_70": "not checked"}


def test_the_sample_is_fixed_by_its_seed_whatever_order_mutmut_lists_in():
    names = [f"config.rules.x_f__mutmut_{i}" for i in range(1, 500)]
    first = ms.draw(names, 20, 7)
    assert first == ms.draw(list(reversed(names)), 20, 7)
    assert len(set(first)) == 20 and set(first) <= set(names)
    assert first != ms.draw(names, 20, 8)
    assert sorted(ms.draw(names[:5], 20, 7)) == sorted(names[:5])  # a sample larger than the mutants: all


def test_a_key_is_the_function_and_the_change_not_the_mutants_number():
    keys = ms.change_keys({"config.rules.x_pods_per_node__mutmut_13": DIFF})
    assert keys == {"config.rules.x_pods_per_node__mutmut_13":
                    "config.rules.x_pods_per_node: spec.gpus // gpus if gpus else 10**6, -> "
                    "spec.gpus // gpus if gpus else 11**6,"}
    # The same mutant after a mutation was added before it in its function: the same key.
    assert list(ms.change_keys({"config.rules.x_pods_per_node__mutmut_15": DIFF}).values()) == list(keys.values())


def test_the_same_change_twice_in_one_function_is_told_apart_by_its_order():
    keys = ms.change_keys({"m.x_f__mutmut_10": DIFF, "m.x_f__mutmut_2": DIFF, "m.x_g__mutmut_1": DIFF})
    assert keys["m.x_f__mutmut_2"].endswith("11**6,")
    assert keys["m.x_f__mutmut_10"] == keys["m.x_f__mutmut_2"] + " #2"  # by number, not by text order
    assert keys["m.x_g__mutmut_1"].startswith("m.x_g: ") and not keys["m.x_g__mutmut_1"].endswith("#2")


def test_a_line_removed_whole_keeps_a_key():
    diff = "--- a.py\n+++ a.py\n@@ -1,3 +1,2 @@\n     f(\n-        sort_keys=True,\n     )"
    assert ms.change_keys({"a.x_f__mutmut_4": diff}) == {"a.x_f__mutmut_4": "a.x_f: sort_keys=True, -> "}


def test_only_a_survivor_is_judged_equivalent_and_the_score_leaves_it_out():
    statuses = ms.parse_results(RESULTS) | {"config.rules.x_pods_per_node__mutmut_14": "killed",
                                            "config.rules.x_pods_per_node__mutmut_2": "timeout"}
    key = "config.rules.x_pods_per_node: a -> b"
    keys = {"config.rules.x_pods_per_node__mutmut_13": key, "config.rules.x_pods_per_node__mutmut_14": key}
    outcomes = {o.name: o for o in ms.classify(statuses, keys, {key: "no limit either way"})}
    assert outcomes["config.rules.x_pods_per_node__mutmut_13"] == ms.MutantOutcome(
        "config.rules.x_pods_per_node__mutmut_13", "equivalent", key, "no limit either way")
    assert outcomes["config.rules.x_pods_per_node__mutmut_14"].status == "killed"  # a kill stays a kill
    assert outcomes["components.wiring.x_name_of__mutmut_2"].status == "no tests"
    # killed, killed, timeout of: those three, "no tests" (no test calls it: survives); "equivalent"
    # and "not checked" (no verdict) are left out.
    assert ms.score(list(outcomes.values())) == (3, 4, 0.75)


@pytest.mark.parametrize("statuses, expected", [
    (["killed", "killed", "survived", "equivalent"], (2, 3)),
    (["timeout", "segfault", "killed"], (3, 3)),
    (["equivalent"], (0, 0)),
])
def test_score_arithmetic(statuses, expected):
    outcomes = [ms.MutantOutcome(f"m.x_f__mutmut_{i}", s) for i, s in enumerate(statuses, 1)]
    killed, counted, ratio = ms.score(outcomes)
    assert (killed, counted) == expected
    assert ratio == pytest.approx(killed / counted if counted else 1.0)


def test_the_equivalent_list_gives_each_key_a_reason_in_mutmuts_spelling():
    equivalents = ms.load_equivalents()
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert equivalents and all(why.strip() for why in equivalents.values())
    assert sum(len(e["keys"]) for e in table["mutants"]["equivalent"]) == len(equivalents)  # no key twice
    mutated = [p.removesuffix("*.py").removesuffix(".py").replace("/", ".") for p in table["mutmut"]["only_mutate"]]
    for key in equivalents:
        function, _, change = key.partition(": ")
        assert " -> " in change and "__mutmut_" not in function, key
        assert function.rpartition(".")[2].startswith(("x_", "xǁ")) and function.startswith(tuple(mutated)), key
        before = change.split(" -> ")[0]
        # mutmut_sample joins removed lines with " / ": consecutive lines of the function, joined alike
        assert before in " / ".join(source_lines(function)), f"no longer in the code: {key}"


def source_lines(function: str) -> list[str]:
    """The stripped lines of the function a mutmut name points at (`pkg.mod.x_f`, `pkg.mod.xǁClassǁmethod`):
    a judged equivalent whose function moved, or whose line changed, no longer names a mutant."""
    module, _, mangled = function.rpartition(".")
    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    names = mangled.removeprefix("x_").split("ǁ")[1:] if mangled.startswith("xǁ") else [mangled.removeprefix("x_")]
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body if path.exists() else []
    node: ast.AST | None = None
    for name in names:
        node = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name), None)
        scope = getattr(node, "body", [])
    if node is None:
        return []
    segment = ast.get_source_segment(path.read_text(encoding="utf-8"), node) or ""
    return [line.strip() for line in segment.splitlines()]


def test_a_run_draws_runs_and_reports(tmp_path, monkeypatch, capsys):
    every = {f"config.rules.x_f__mutmut_{i}": "not checked" for i in range(1, 41)}
    after = dict(every)
    ran: list[list[str]] = []

    def run(names, jobs):
        ran.append(names)
        for i, name in enumerate(sorted(names)):
            after[name] = "survived" if i < 2 else "killed"
        return 0

    def diffs(functions):
        assert functions == {"config.rules.x_f"}
        return {name: DIFF.replace("11**6", f"{ms.number_of(name)}**6") for name in every}

    monkeypatch.setattr(ms, "MUTMUT", ROOT / "pyproject.toml")  # any file: mutmut is installed
    monkeypatch.setattr(ms, "generate", lambda: None)
    monkeypatch.setattr(ms, "results", lambda: after if ran else every)
    monkeypatch.setattr(ms, "run", run)
    monkeypatch.setattr(ms, "function_diffs", diffs)
    first_survivor = sorted(ms.draw(list(every), 10, 3))[0]
    key = ms.change_keys(diffs({"config.rules.x_f"}))[first_survivor]
    monkeypatch.setattr(ms, "load_equivalents", lambda: {key: "judged"})
    out = tmp_path / "report.json"
    assert ms.main(["--sample", "10", "--seed", "3", "--out", str(out)]) == 0
    assert ran == [ms.draw(list(every), 10, 3)]
    report = json.loads(out.read_text(encoding="utf-8"))
    figures = (report["seed"], report["mutants"], report["sampled"], report["killed"], report["counted"])
    assert figures == (3, 40, 10, 8, 9)
    assert "score 88.9%: 8 of 9" in capsys.readouterr().out
    # Only the survivors again, from the report.
    ran.clear()
    assert ms.main(["--rerun", str(out), "--out", str(tmp_path / "again.json")]) == 0
    assert sorted(ran[0]) == sorted(o["name"] for o in report["outcomes"] if o["status"] != "killed")


def test_without_mutmut_it_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setattr(ms, "MUTMUT", ROOT / "no-such-mutmut")
    assert ms.main(["--list"]) == 2
    assert "-r requirements-mutation.txt" in capsys.readouterr().err


def test_a_session_fixtures_calls_are_credited_to_every_test_that_uses_it(monkeypatch):
    """tools/mutmut_fixtures.py, with mutmut's recording state stood in for."""
    calls: set[str] = set()
    monkeypatch.setitem(sys.modules, "mutmut.state", SimpleNamespace(state=lambda: SimpleNamespace(_stats=calls)))
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    monkeypatch.setattr(mutmut_fixtures, "CALLED_BY_FIXTURE", {})
    calls.add("config.loader.x_load")  # called by the first test before it asked for the fixture
    setup = mutmut_fixtures.pytest_fixture_setup(SimpleNamespace(scope="session", argname="rendered"), None)
    next(setup)
    calls.add("components.stack.x_build")  # the fixture runs the program
    with pytest.raises(StopIteration):
        next(setup)
    assert calls == {"config.loader.x_load", "components.stack.x_build"}  # the first test keeps both
    assert dict(mutmut_fixtures.CALLED_BY_FIXTURE) == {"rendered": {"components.stack.x_build"}}
    calls.clear()  # mutmut credits the calls to the test and starts the next one afresh
    mutmut_fixtures.pytest_runtest_teardown(SimpleNamespace(fixturenames=["rendered", "tmp_path"]), None)
    assert calls == {"components.stack.x_build"}  # a later test reading the fixture's result
    calls.clear()
    mutmut_fixtures.pytest_runtest_teardown(SimpleNamespace(fixturenames=["tmp_path"]), None)
    assert calls == set()
    monkeypatch.setenv("MUTANT_UNDER_TEST", "components.stack.x_build__mutmut_1")  # a mutant's run: nothing
    mutmut_fixtures.pytest_runtest_teardown(SimpleNamespace(fixturenames=["rendered"]), None)
    assert calls == set()

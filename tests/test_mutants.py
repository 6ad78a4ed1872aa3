"""The mutation-testing driver (tools/mutants.py): its mutants are one-spot changes of valid code,
skip what it promises to skip, and each runs against the test files that can observe it."""

from __future__ import annotations

import ast
import random

import pytest

from tools import mutants

SOURCE = '''"""Module docstring."""
from typing import Optional

LIMIT = 3


def check(value: Optional[int], names: list) -> list:
    """Docstring."""
    assert value is None or value >= 0, "an invariant"
    problems = []
    if value is not None and value > LIMIT:
        problems.append({"key": "value", "message": f"too big: {value}"})
    log(level="warn", text="a prose message is not mutated", source="https://example.com/a-citation")
    return problems


class Component:
    def __init__(self):
        self.register_outputs({"name": "a registered output"})
'''


def _sites(tmp_path, monkeypatch) -> list[mutants.Site]:
    (tmp_path / "m.py").write_text(SOURCE)
    monkeypatch.setattr(mutants, "ROOT", tmp_path)
    return mutants.sites("m.py")


def test_every_mutant_is_valid_python_changing_one_spot(tmp_path, monkeypatch):
    found = _sites(tmp_path, monkeypatch)
    operators = {s.operator for s in found}
    assert {"compare0", "boolop", "constant", "entry0", "entry1", "keyword:level", "call-statement"} <= operators
    original = ast.dump(ast.parse(SOURCE))
    for site in found:
        mutated = mutants.mutate(SOURCE, site.index)
        assert ast.dump(ast.parse(mutated)) != original, site.id


def test_docstrings_prose_annotations_and_asserts_are_left_alone(tmp_path, monkeypatch):
    found = _sites(tmp_path, monkeypatch)
    assert not [s for s in found if s.operator == "constant" and " " in s.before]  # docstrings and prose
    assert not [s for s in found if s.line == 9]  # the assert statement
    assert not [s for s in found if "example.com" in s.before and s.operator == "constant"]  # a citation URL
    assert not [s for s in found if s.scope == "Component.__init__"]  # registered outputs
    assert not [s for s in found if s.before in ("Optional[int]", "list")]
    assert [s.after for s in found if s.before == "LIMIT = 3" or s.before == "3"] == ["4"]


def test_a_site_is_found_again_by_its_index(tmp_path, monkeypatch):
    found = _sites(tmp_path, monkeypatch)
    site = next(s for s in found if s.operator == "compare0" and ">" in s.before and "LIMIT" in s.before)
    assert "value >= LIMIT" in mutants.mutate(SOURCE, site.index)


def test_each_file_runs_against_the_tests_that_can_observe_it():
    settings = mutants.load_settings()
    policy_tests = mutants.ordered_tests(settings, "policy/policies.py")
    assert policy_tests[0] == "tests/test_policies.py" and "tests/test_kubernetes.py" not in policy_tests
    program = mutants.ordered_tests(settings, "components/serving_spec.py")
    assert "tests/test_kubernetes.py" in program  # it runs the program, which imports the module
    assert "tests/test_loadtest.py" in mutants.ordered_tests(settings, "config/schema.py")


def test_the_sample_is_fixed_by_its_seed():
    every = [s for path in ("config/rules.py", "tools/render.py") for s in mutants.sites(path)]
    first = random.Random(7).sample(every, 10)
    assert first == random.Random(7).sample(every, 10)


@pytest.mark.parametrize("statuses,expected", [
    (["killed", "killed", "survived", "equivalent"], (2, 3)),
    (["timeout", "killed"], (2, 2)),
])
def test_the_score_leaves_out_equivalent_mutants(statuses, expected):
    site = mutants.Site("x.py", 0, 1, "f", "constant", "1", "2")
    outcomes = [mutants.Outcome(site, status) for status in statuses]
    killed, counted, ratio = mutants.score(outcomes)
    assert (killed, counted) == expected and ratio == pytest.approx(expected[0] / expected[1])

"""Fixtures: a SavedModel-shaped directory, and the stacks' configs pointed at it."""

from __future__ import annotations

import sys

# Before the program's and the SDKs' imports: each of pytest's workers, and every Python process a
# test starts, would otherwise compile the same thousand modules again when the environment sets
# PYTHONDONTWRITEBYTECODE (a machine here does). The first process writes the bytecode, the rest read
# it (docs/testing.md, "Speed").
sys.dont_write_bytecode = False

import copy  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from harness import RUNS, run_program, stack_file_config  # noqa: E402
from hypothesis import settings  # noqa: E402

# Generated configs (tests/test_front_door.py): seeded and bounded in the test command; the long run
# is `HYPOTHESIS_PROFILE=long` (docs/testing.md, "The front door").
settings.register_profile("ci", max_examples=300, derandomize=True, deadline=None, database=None,
                          print_blob=True)
settings.register_profile("long", max_examples=10_000, derandomize=False, deadline=None, database=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MODEL_VERSION = 1623831335
BERT_GRAPH = (Path(__file__).parent / "fixtures" / "tensorflow" / "bert" / "saved_model.pb").read_bytes()


def write_saved_model(base: Path, version: int, variables_bytes: int = 4096) -> Path:
    """The layout `tf.saved_model.save` writes: graph, variables (index + shard), assets."""
    vdir = base / str(version)
    (vdir / "variables").mkdir(parents=True, exist_ok=True)
    (vdir / "assets").mkdir(exist_ok=True)
    # The graph of a SavedModel exported by TensorFlow with the BERT signature the shipped payload
    # fits (tests/fixtures/tensorflow/make.py), and a field no reader knows that makes each
    # version's bytes its own (a protobuf parser skips an unknown field; tag 15, bytes).
    tag = str(version).encode()
    (vdir / "saved_model.pb").write_bytes(BERT_GRAPH + bytes([15 << 3 | 2, len(tag)]) + tag)
    (vdir / "variables" / "variables.index").write_bytes(b"index-" + str(version).encode())
    (vdir / "variables" / "variables.data-00000-of-00001").write_bytes(
        bytes(range(256)) * (variables_bytes // 256)
    )
    (vdir / "assets" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    (vdir / ".DS_Store").write_bytes(b"finder noise")
    return vdir


@pytest.fixture
def project_dir(tmp_path, monkeypatch) -> Path:
    """A working directory holding ./models/chnsenticorp/<version>/ like a user's checkout."""
    write_saved_model(tmp_path / "models" / "chnsenticorp", MODEL_VERSION)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def dev_config(project_dir) -> dict:
    return copy.deepcopy(stack_file_config("dev"))


@pytest.fixture
def prod_config(project_dir) -> dict:
    return copy.deepcopy(stack_file_config("prod"))


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """The shipped stacks (dev and prod, in update and preview mode), run once per test process
    and shared by every test that only reads what they register."""
    base = tmp_path_factory.mktemp("project")
    write_saved_model(base / "models" / "chnsenticorp", MODEL_VERSION)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        return {(stack, preview): run_program(stack_file_config(stack), stack, preview) for stack, preview in RUNS}
    finally:
        os.chdir(cwd)


def pytest_xdist_auto_num_workers(config) -> int:  # noqa: ANN001 - pytest-xdist's hook
    """`-n auto`: one worker more than the cores. About 85 s of the suite is the load test's
    real-time runs against loopback stand-ins, which mostly wait; a third worker keeps the cores
    busy with the CPU-bound tests meanwhile (2 cores: 96 s with two workers, 89 s with three)."""
    return (os.cpu_count() or 1) + 1

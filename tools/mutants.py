"""Mutation testing of the program's core: does the suite notice a one-spot change?

    python -m tools.mutants --sample 120 --seed 7 [--jobs 2] [--out build/mutants.json]
    python -m tools.mutants --list                 # every mutation site, no test run

Each mutant changes one spot of one file (a comparison, a boolean operator, a `not`, an
arithmetic operator, a constant, a keyword argument, a dict entry, a call statement) in a copy of
the repository, runs the core tests with `-x` (most related file first), and, if they pass, the
rest of the suite. A mutant is killed when a test fails or the run exceeds its time limit; it
survives when everything passes. The score is killed / (sampled - judged equivalent), where
`[tool.mutants] equivalent` in pyproject.toml lists the survivors that change nothing a user sees,
each with its reason.

Why not mutmut or cosmic-ray: both enumerate every mutant of the files given (thousands here, at
tens of seconds of mock-engine suite each: hours), where the question is answered by a random
sample with a seed; and neither orders the suite per mutant, which is what keeps one mutant at a
few seconds. This driver is the sampling and ordering on top of `ast` and pytest, nothing more.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from copy import deepcopy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", ".pytest_cache", "venv", "models")


@dataclass(frozen=True)
class Settings:
    """`[tool.mutants]` in pyproject.toml."""

    files: tuple[str, ...]
    core_tests: tuple[str, ...]
    equivalent: dict[str, str]
    timeout_factor: float


def load_settings() -> Settings:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutants"]
    files = tuple(sorted({str(p.relative_to(ROOT)) for pattern in table["files"] for p in ROOT.glob(pattern)}))
    return Settings(files=files, core_tests=tuple(table["core_tests"]),
                    equivalent={e["id"]: e["why"] for e in table.get("equivalent", [])},
                    timeout_factor=float(table.get("timeout_factor", 3)))


# --- mutation sites ------------------------------------------------------------------------------

_SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
             ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
             ast.Div: ast.Mult}


@dataclass(frozen=True)
class Site:
    """One mutant: which file, where, what changes. `id` is stable across unrelated edits."""

    path: str
    index: int
    """The site's position in the file's walk order (how `mutate` finds it again)."""
    line: int
    scope: str
    operator: str
    before: str
    after: str

    @property
    def id(self) -> str:
        return f"{self.path}::{self.scope} {self.operator}: {self.before} -> {self.after}"


def _docstring_ids(tree: ast.AST) -> set[int]:
    """String constants that are docstrings (of modules, classes, functions, or fields)."""
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for stmt in body if isinstance(body, list) else []:
            value = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def _registers_outputs(node: ast.AST) -> bool:
    """`self.register_outputs({...})` as a statement."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "register_outputs")


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, assert statements (internal invariants, not behaviour),
    type annotations, decorators, `if TYPE_CHECKING` and `if __name__ == "__main__"` blocks,
    f-strings, and the whole `self.register_outputs(...)` statement (a component's registered
    outputs are read by no one; stack outputs are exported separately)."""
    skip = _docstring_ids(tree)
    for node in ast.walk(tree):
        roots: list[ast.AST] = []
        if isinstance(node, ast.Assert | ast.JoinedStr):
            roots.append(node)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # Decorators declare structure (`@dataclass(frozen=True)`), not behaviour.
            roots += node.decorator_list
            if not isinstance(node, ast.ClassDef):
                roots += [a.annotation for a in node.args.args + node.args.kwonlyargs if a.annotation]
                roots += [node.returns] if node.returns else []
        elif (isinstance(node, ast.If) and _is_guard(node.test)) or _registers_outputs(node):
            roots.append(node)
        for root in roots:
            skip.update(id(n) for n in ast.walk(root))
    return skip


def _is_guard(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` and `if __name__ == "__main__":` (the entry point runs only as a command)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, str, str]]:
    """Every mutable spot in a deterministic order, with its enclosing scope."""
    skip = _skipped(tree)

    def visit(node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str, str]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = f"{scope}.{node.name}" if scope else node.name
        if id(node) not in skip:
            yield from ((node, scope, op) for op in _operators(node))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, scope)

    yield from visit(tree, "")


def _operators(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Compare):
        return [f"compare{i}" for i, op in enumerate(node.ops) if type(op) in _SWAP_CMP]
    if isinstance(node, ast.BoolOp):
        return ["boolop"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ["not"]
    if isinstance(node, ast.BinOp) and type(node.op) in _SWAP_BIN:
        return ["binop"]
    if isinstance(node, ast.Constant) and (isinstance(node.value, (bool, int, float)) or
                                           (isinstance(node.value, str) and node.value and " " not in node.value
                                            and not node.value.startswith(("http://", "https://")))):
        return ["constant"]
    if isinstance(node, ast.Call):
        return [f"keyword:{k.arg}" for k in node.keywords if k.arg is not None]
    if isinstance(node, ast.Dict):
        return [f"entry{i}" for i, k in enumerate(node.keys) if k is not None]
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return ["call-statement"]
    return []


def _apply(node: ast.AST, operator: str) -> Optional[ast.AST]:
    """Mutate `node` in place for `operator`; return a replacement node when it is replaced whole."""
    if operator.startswith("compare"):
        assert isinstance(node, ast.Compare)
        i = int(operator.removeprefix("compare"))
        node.ops[i] = _SWAP_CMP[type(node.ops[i])]()
    elif operator == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif operator == "not":
        assert isinstance(node, ast.UnaryOp)
        return node.operand
    elif operator == "binop":
        assert isinstance(node, ast.BinOp)
        node.op = _SWAP_BIN[type(node.op)]()
    elif operator == "constant":
        assert isinstance(node, ast.Constant)
        value = node.value
        node.value = (not value if isinstance(value, bool) else value + 1 if isinstance(value, int | float)
                      else f"XX{value}XX")
    elif operator.startswith("keyword:"):
        assert isinstance(node, ast.Call)
        name = operator.removeprefix("keyword:")
        node.keywords = [k for k in node.keywords if k.arg != name]
    elif operator.startswith("entry"):
        assert isinstance(node, ast.Dict)
        i = int(operator.removeprefix("entry"))
        del node.keys[i], node.values[i]
    elif operator == "call-statement":
        return ast.Pass()
    return None


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _after(node: ast.AST, operator: str) -> str:
    """What the site reads after the mutation (for the mutant's id)."""
    copy = deepcopy(node)
    replacement = _apply(copy, operator)
    return _short(replacement if replacement is not None else copy)


def sites(path: str) -> list[Site]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return [Site(path, index, getattr(node, "lineno", 0), scope or "<module>", operator, _short(node),
                 _after(node, operator))
            for index, (node, scope, operator) in enumerate(_walk(tree))]


def mutate(source: str, index: int) -> str:
    """The source with the `index`-th site mutated (the file is re-rendered by ast.unparse)."""
    tree = ast.parse(source)
    target = next((node, op) for i, (node, _, op) in enumerate(_walk(tree)) if i == index)
    node, operator = target
    replacement = _apply(node, operator)
    if replacement is not None:
        _replace(tree, node, replacement)
    return ast.unparse(ast.fix_missing_locations(tree))


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return
    raise AssertionError("mutation site not found")


# --- running -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    site: Site
    status: str
    """killed, survived, equivalent (survived and judged so), timeout (counted as killed)."""
    killed_by: str = ""
    seconds: float = 0.0


def _pytest(copy: Path, tests: list[str], timeout: float) -> tuple[Optional[int], str]:
    """Run pytest in a copy; (exit code or None on the time limit, first failing test).

    Output goes to a file, not a pipe: a test's own child process (the load test's stand-ins)
    may keep a pipe open after pytest ends. Its process group is killed afterwards either way.
    """
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *tests]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    log = copy.parent / f"{copy.name}.log"
    with log.open("w", encoding="utf-8") as out:
        # No stdin: a test reading it would wait for ever on an inherited terminal or pipe.
        process = subprocess.Popen(command, cwd=copy, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code: Optional[int] = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    failed = next((line.split()[1] for line in lines if line.startswith(("FAILED", "ERROR "))), "")
    return code, failed if code is not None else "time limit"


PACKAGES = ("components", "config", "tools", "policy", "loadtest", "benchmarks")


def _module_file(name: str) -> Optional[str]:
    """`components.serving_spec` -> its file, if it is one of this repository's modules."""
    parts = name.split(".")
    candidates = [Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")]
    if len(parts) == 1:  # a test helper imported by its bare name (harness, contract, conftest)
        candidates.append(Path("tests", f"{name}.py"))
    return next((str(c) for c in candidates if (ROOT / c).is_file()), None)


@functools.cache
def _direct_imports(path: str) -> frozenset[str]:
    """This repository's files that `path` imports (at any depth of the code, relative or not)."""
    package = ".".join(Path(path).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        found.update(f for f in map(_module_file, filter(None, names)) if f)
    return frozenset(found - {path})


@functools.cache
def _reach(path: str, runs: bool = True) -> frozenset[str]:
    """Every repository file `path` imports, transitively; with `runs`, also the program that
    tools/offline.py runs (with runpy, not an import) and everything it imports."""
    seen, todo = {path}, [path]
    while todo:
        current = todo.pop()
        edges = _direct_imports(current) | ({"__main__.py"} if runs and current == "tools/offline.py" else set())
        for imported in edges:
            if imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return frozenset(seen)


def ordered_tests(settings: Settings, path: str) -> list[str]:
    """The test files that can observe `path` (they import it, or run the program that does):
    the core tests, those that name the mutated module first, then any other that reaches it."""
    stem = Path(path).stem if Path(path).stem != "__main__" else "run_program"
    every = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py"))
    # conftest is loaded by every test file, but only its imports are shared: the program it can
    # run is observed by the tests that run it.
    shared = _reach("tests/conftest.py", runs=False)
    observing = [t for t in every if path in _reach(t) | shared]
    core = sorted((t for t in settings.core_tests if t in observing),
                  key=lambda t: stem not in (ROOT / t).read_text(encoding="utf-8"))
    return core + [t for t in observing if t not in core]


def run_one(settings: Settings, copy: Path, site: Site, limit: float) -> Outcome:
    original = (copy / site.path).read_text(encoding="utf-8")
    started = time.monotonic()
    try:
        (copy / site.path).write_text(mutate(original, site.index), encoding="utf-8")
        tests = ordered_tests(settings, site.path)
        if not tests:
            return Outcome(site, "survived", "no test reaches this file", 0.0)
        code, failed = _pytest(copy, tests, limit)
    finally:
        (copy / site.path).write_text(original, encoding="utf-8")
    seconds = time.monotonic() - started
    if code is None:
        return Outcome(site, "timeout", failed, seconds)
    if code != 0:
        return Outcome(site, "killed", failed or f"pytest exit {code}", seconds)
    status = "equivalent" if site.id in settings.equivalent else "survived"
    return Outcome(site, status, "", seconds)


def score(outcomes: list[Outcome]) -> tuple[int, int, float]:
    """(killed, behaviour-changing mutants, score)."""
    killed = sum(o.status in ("killed", "timeout") for o in outcomes)
    counted = sum(o.status != "equivalent" for o in outcomes)
    return killed, counted, killed / counted if counted else 1.0


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m tools.mutants", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sample", type=int, default=120, help="mutants to run (default 120)")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed (default: random, printed)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutants.json")
    parser.add_argument("--list", action="store_true", help="print every site and exit")
    parser.add_argument("--rerun", type=Path, help="run again the survivors recorded in this report")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    every = [s for path in settings.files for s in sites(path)]
    if args.list:
        for site in every:
            print(f"{site.path}:{site.line} {site.id}")
        print(f"{len(every)} sites in {len(settings.files)} files")
        return 0
    if args.rerun is not None:
        previous = json.loads(args.rerun.read_text(encoding="utf-8"))
        # The same site again: by its id, and where ids repeat (the same change at several places
        # of one scope), by its position in the file as recorded.
        sample, gone = [], []
        for o in previous["outcomes"]:
            if o["status"] not in ("survived", "equivalent"):
                continue
            recorded = Site(**o["site"])
            same = [s for s in every if s.id == recorded.id]
            if not same:
                gone.append(recorded)  # the code it changed is no longer there
                continue
            sample.append(next((s for s in same if s.index == recorded.index), same[0]))
        for site in gone:
            print(f"gone: {site.path}:{site.line} {site.id} (the code it changed no longer exists)", flush=True)
        seed = previous["seed"]
        print(f"re-running {len(sample)} survivors of seed {seed}", flush=True)
    else:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
        sample = random.Random(seed).sample(every, min(args.sample, len(every)))
        print(f"seed {seed}: {len(sample)} of {len(every)} sites; {args.jobs} at a time", flush=True)
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        copies = [Path(tmp) / f"copy{i}" for i in range(args.jobs)]
        for copy in copies:
            shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
        baseline = time.monotonic()
        every_test = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py"))
        code, failed = _pytest(copies[0], every_test, 900)
        if code != 0:
            print(f"the unmutated suite fails ({failed}): fix it first", file=sys.stderr)
            return 2
        limit = (time.monotonic() - baseline) * settings.timeout_factor
        free = list(copies)

        def work(site: Site) -> Outcome:
            copy = free.pop()
            try:
                return run_one(settings, copy, site, limit)
            finally:
                free.append(copy)

        outcomes: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for n, future in enumerate(as_completed([pool.submit(work, site) for site in sample]), 1):
                outcome = future.result()
                outcomes.append(outcome)
                print(f"[{n}/{len(sample)}] {outcome.status:10} {outcome.site.path}:{outcome.site.line} "
                      f"{outcome.site.id.split('::', 1)[1]}", flush=True)
    killed, counted, ratio = score(outcomes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"seed": seed, "sites": len(every), "killed": killed, "counted": counted, "score": ratio,
              "outcomes": [{**asdict(o), "id": o.site.id} for o in outcomes]}
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"\nscore {ratio:.1%}: {killed} of {counted} behaviour-changing mutants killed "
          f"({sum(o.status == 'equivalent' for o in outcomes)} judged equivalent); details in {args.out}")
    for o in outcomes:
        if o.status == "survived":
            print(f"  survived: {o.site.path}:{o.site.line} {o.site.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A seeded sample of mutmut's mutants of the program's core: does the suite notice a one-spot change?

    .venv/bin/python -m tools.mutation_sample --sample 20 --seed 7      # run 20 mutants drawn with seed 7
    .venv/bin/python -m tools.mutation_sample --list                    # make and count the mutants, run none
    .venv/bin/python -m tools.mutation_sample --rerun build/mutation-sample.json   # a report's survivors again

mutmut (requirements-mutation.txt, configured in pyproject.toml's [tool.mutmut]) writes every
mutant of the files it mutates into ./mutants/ and runs, for each mutant, only the tests that
call the mutated function (recorded once by a first full run, then kept in mutants/). This draws
N mutant names with a seed, has `mutmut run NAME...` run exactly those, reads the outcome back
from `mutmut results`, and scores killed / (sampled - judged equivalent). A survivor is judged
equivalent when its change's key is listed in pyproject.toml's [[tool.mutants.equivalent]], with
the reason no test should notice it.

A key is the mutated function and the change, as `mutmut show NAME` prints it: the function's
name in mutmut's spelling without the mutant's number (`config.rules.capacity.x_pods_per_node`), then the
removed line(s) `->` the added line(s), each stripped (`10**6, -> 11**6,`), and ` #2`, ` #3`... when
the same change of the same text occurs again in that function. mutmut numbers a function's
mutants in order, so a number moves when any mutant is added before it; the key moves only when
the mutated line itself is edited (when the judgement is due again anyway).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"

# mutmut 3 has no command that only makes the mutants (`mutmut run` goes on to run them all), so
# these are the first steps of its `run`, in its order; and `mutmut show` costs a second a mutant
# where a key needs the diff of every mutant of the survivor's function: one process prints them.
GENERATE = """
import os
from mutmut.__main__ import copy_also_copy_files, copy_src_dir, create_mutants, setup_source_paths
from mutmut.mutation.trampoline import set_mutant_under_test
set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(os.cpu_count() or 1)
"""
DIFFS = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.file_utils import walk_mutatable_files
functions, diffs = set(json.load(sys.stdin)), {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name in data.exit_code_by_key:
        if name.partition("__mutmut_")[0] in functions:
            diffs[name] = get_diff_for_mutant(name, path=path)
json.dump(diffs, sys.stdout)
"""

# mutmut's statuses (mutmut/stats.py) as this score counts them: a crash or a time-out is a
# failing suite; a mutant no test calls survives; the rest were not run to a verdict.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests"}
RESULT_LINE = re.compile(r"^\s+(\S+): (.+)$")


@dataclass(frozen=True)
class MutantOutcome:
    name: str
    status: str
    """mutmut's status, or "equivalent" for a survivor whose key is listed."""
    key: str = ""
    why: str = ""


def load_equivalents(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """[[tool.mutants.equivalent]] in pyproject.toml: key -> why."""
    table = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"].get("mutants", {})
    return {key: entry["why"] for entry in table.get("equivalent", []) for key in entry["keys"]}


def parse_results(text: str) -> dict[str, str]:
    """`mutmut results --all true` -> mutant name -> status."""
    return {m.group(1): m.group(2).strip() for m in map(RESULT_LINE.match, text.splitlines()) if m}


def draw(names: list[str], size: int, seed: int) -> list[str]:
    """`size` names drawn with `seed`: the same names for the same seed and the same mutants."""
    return random.Random(seed).sample(sorted(names), min(size, len(names)))


def function_of(name: str) -> str:
    """`config.rules.capacity.x_pods_per_node__mutmut_13` -> `config.rules.capacity.x_pods_per_node`."""
    return name.partition("__mutmut_")[0]


def number_of(name: str) -> int:
    return int(name.rpartition("__mutmut_")[2])


def change(diff: str) -> str:
    """The removed line(s) -> the added line(s) of a `mutmut show` diff, each stripped."""
    lines = [line for line in diff.splitlines() if not line.startswith(("---", "+++"))]
    removed = [line[1:].strip() for line in lines if line.startswith("-")]
    added = [line[1:].strip() for line in lines if line.startswith("+")]
    return f"{' / '.join(removed)} -> {' / '.join(added)}"


def change_keys(diffs: dict[str, str]) -> dict[str, str]:
    """Each mutant's key, given the diffs of every mutant of its function (see the module's doc)."""
    keys: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for name in sorted(diffs, key=lambda n: (function_of(n), number_of(n))):
        key = f"{function_of(name)}: {change(diffs[name])}"
        seen[key] += 1
        keys[name] = key if seen[key] == 1 else f"{key} #{seen[key]}"
    return keys


def classify(statuses: dict[str, str], keys: dict[str, str], equivalents: dict[str, str]) -> list[MutantOutcome]:
    """The sampled mutants' outcomes: a survivor whose key is listed is judged equivalent."""
    outcomes = []
    for name, status in statuses.items():
        key = keys.get(name, "")
        if status in SURVIVED and key in equivalents:
            outcomes.append(MutantOutcome(name, "equivalent", key, equivalents[key]))
        else:
            outcomes.append(MutantOutcome(name, status, key if status in SURVIVED else ""))
    return outcomes


def score(outcomes: list[MutantOutcome]) -> tuple[int, int, float]:
    """(killed, behaviour-changing mutants, score): the equivalent and the unrun left out."""
    killed = sum(o.status in KILLED for o in outcomes)
    counted = killed + sum(o.status in SURVIVED for o in outcomes)
    return killed, counted, killed / counted if counted else 1.0


# --- mutmut -------------------------------------------------------------------------------------

def generate() -> None:
    """Write (or bring up to date) every mutant into mutants/; quiet, a few seconds to a minute."""
    subprocess.run([sys.executable, "-c", GENERATE], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)


def results() -> dict[str, str]:
    done = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=ROOT, check=True, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    return parse_results(done.stdout)


def run(names: list[str], jobs: int) -> int:
    """`mutmut run NAME...`, its progress on this terminal; its exit code."""
    command = [str(MUTMUT), "run", "--max-children", str(jobs), *names]
    return subprocess.run(command, cwd=ROOT, check=False, stdin=subprocess.DEVNULL).returncode


def function_diffs(functions: set[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", DIFFS], cwd=ROOT, check=True, capture_output=True, text=True,
                          input=json.dumps(sorted(functions)))
    return json.loads(done.stdout)


# --- the command --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m tools.mutation_sample",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sample", type=int, default=20, help="mutants to run (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="sampling seed (default: random, printed)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutation-sample.json", help="the report")
    parser.add_argument("--list", action="store_true", help="make the mutants, print how many per module, run none")
    parser.add_argument("--rerun", type=Path, help="run again the survivors recorded in this report")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not MUTMUT.is_file():
        print(f"no {MUTMUT}: install it with .venv/bin/uv pip install --python .venv/bin/python "
              "-r requirements-mutation.txt", file=sys.stderr)
        return 2
    generate()
    every = results()
    if args.list:
        for module, count in sorted(Counter(function_of(n).rpartition(".")[0] for n in every).items()):
            print(f"{count:6} {module}")
        print(f"{len(every)} mutants")
        return 0
    if args.rerun is not None:
        previous = json.loads(args.rerun.read_text(encoding="utf-8"))
        seed = previous["seed"]
        sample = [o["name"] for o in previous["outcomes"] if o["status"] in SURVIVED | {"equivalent"}]
        gone = [name for name in sample if name not in every]
        for name in gone:
            print(f"gone: {name} (its function changed or no longer exists: draw a new sample)")
        sample = [name for name in sample if name in every]
        print(f"re-running {len(sample)} survivors of seed {seed}", flush=True)
    else:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
        sample = draw(list(every), args.sample, seed)
        print(f"seed {seed}: {len(sample)} of {len(every)} mutants, {args.jobs} at a time", flush=True)
    if not sample:
        return 0
    started = time.monotonic()
    code = run(sample, args.jobs)
    seconds = time.monotonic() - started
    if code != 0:
        print(f"mutmut run exited {code}: no score (its output above says why)", file=sys.stderr)
        return 2
    statuses = {name: status for name, status in results().items() if name in sample}
    survivors = [name for name, status in statuses.items() if status in SURVIVED]
    keys = change_keys(function_diffs({function_of(n) for n in survivors})) if survivors else {}
    outcomes = classify(dict(sorted(statuses.items())), keys, load_equivalents())
    killed, counted, ratio = score(outcomes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"seed": seed, "mutants": len(every), "sampled": len(sample), "killed": killed, "counted": counted,
              "score": ratio, "seconds": round(seconds), "outcomes": [asdict(o) for o in outcomes]}
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    equivalent = sum(o.status == "equivalent" for o in outcomes)
    print(f"\nscore {ratio:.1%}: {killed} of {counted} behaviour-changing mutants killed ({equivalent} judged "
          f"equivalent) in {seconds / 60:.0f} min; details in {args.out}")
    for o in outcomes:
        if o.status not in KILLED:
            print(f"  {o.status}: {o.name}  [{o.key}]" + (f" ({o.why})" if o.why else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

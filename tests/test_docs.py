"""The README is the user's path and docs/ the reference: every link resolves, every page is
linked, every command runs as written from a fresh clone (the repository's own tools parse their
documented arguments; files they name exist), and every place the program sends a user to exists."""

from __future__ import annotations

import ast
import importlib
import io
import re
import shlex
import tokenize
from pathlib import Path

import pytest
from harness import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
# Commands of other programs, which a test here cannot run: documented for the user's machine.
OWN = {"tools", "planner", "loadtest", "benchmarks"}
EXTERNAL = {"pulumi", "kubectl", "curl", "ossutil", "aliyun", "cat", "jq", "export", "git", "cd", "docker"}


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lowercase, punctuation dropped, spaces as '-'."""
    text = page.read_text(encoding="utf-8")
    text = FENCE.sub("", text)
    return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            for line in text.splitlines() if line.startswith("#")}


def headings(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme_and_the_readme_stays_short():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = {(ROOT / target).resolve() for target in LINK.findall(readme)}
    assert [p.name for p in DOCS if p.resolve() not in linked] == []
    assert len(readme.splitlines()) <= 300


INLINE = re.compile(r"`((?:\.venv/bin/)?python3? -m [^`]+)`")


def commands(page: Path) -> list[str]:
    """Each shell command of the page's bash blocks (continuations joined, comments dropped, `&&`
    chains split), and each `python -m ...` written inline in its prose."""
    text = page.read_text(encoding="utf-8")
    found = [c for c in INLINE.findall(FENCE.sub("", text)) if not c.startswith("python3 -m venv")]
    for lang, block in FENCE.findall(text):
        if lang not in ("bash", "sh"):
            continue
        joined = re.sub(r"\\\n\s*", " ", block)
        # A here-document's body is data, not commands.
        joined = re.sub(r"<<'?(\w+)'?\n.*?^\1$", "", joined, flags=re.S | re.M)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
            found += [part.strip() for part in line.split("&&") if part.strip()]
    return found


DOCUMENTED = [(page, command) for page in PAGES for command in commands(page)]


def placeholders(command: str) -> bool:
    return "<" in command and ">" in command


@pytest.mark.parametrize("page, command", DOCUMENTED,
                         ids=[f"{p.relative_to(ROOT)}:{c[:60]}" for p, c in DOCUMENTED])
def test_every_documented_command_runs_as_written(page, command):
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        words = words[1:]  # an environment assignment in front
    program = words[0]
    assert program not in ("python", "pip"), f"{command!r}: only .venv/bin/python has the dependencies"
    if program in EXTERNAL or program == "python3" and words[1:3] == ["-m", "venv"]:
        return
    if program in (".venv/bin/python", "policy/venv/bin/python") and words[1] == "-m":
        if words[2].split(".")[0] not in OWN:
            importlib.import_module(words[2])  # an installed tool (pytest): its own arguments
            return
        module = importlib.import_module(words[2])
        if hasattr(module, "__path__"):  # `-m package` runs the package's __main__
            module = importlib.import_module(words[2] + ".__main__")
        parser = getattr(module, "build_parser", None)
        assert parser is not None, f"{words[2]} has no build_parser() to check {command!r} against"
        if not placeholders(command):
            parser().parse_args(words[3:])
        return
    if program.endswith(("/pip", "/uv")):
        for i, word in enumerate(words):
            if word == "-r":
                assert (ROOT / words[i + 1]).is_file(), command
        return
    assert (ROOT / program).is_file(), f"{command!r}: no such program in the repository"


def test_every_page_the_program_sends_a_user_to_exists():
    """An error or warning that names a docs page (and a section of it) names ones that exist."""
    sources = " ".join(" ".join(p.read_text(encoding="utf-8").split())
                       for folder in ("config", "components", "policy", "tools", "loadtest", "planner")
                       for p in (ROOT / folder).rglob("*.py"))
    # Messages are split over string literals: join adjacent ones before looking.
    sources = re.sub(r'"\s*f?"', "", sources)
    pages = set(re.findall(r"docs/([a-z-]+\.md)", sources))
    assert pages >= {"gpu-and-image.md", "provider.md", "idle.md"}
    assert [page for page in sorted(pages) if not (ROOT / "docs" / page).is_file()] == []
    sections = set(re.findall(r'docs/([a-z-]+\.md), \\?"([^"\\]+)\\?"', sources))
    assert {(page, s) for page, s in sections if not any(h.startswith(s) for h in headings(ROOT / "docs" / page))} \
        == set()


def test_ci_runs_the_readmes_test_command_and_nothing_cleverer():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Two commands on a fresh machine"):]
    test_command = FENCE.search(section).group(2).strip()
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert ci == [test_command]
    assert "ruff check" in test_command and "pyright" in test_command and test_command.endswith("-m pytest")


# Nothing named that is not there: a repository path or a module a page, a comment or a docstring
# names exists. A path of another project is cited with its project in front, joined by ':'
# (`kubernetes/ingress-nginx:docs/user-guide/...`, `k8s.io/kubelet:config/v1beta1/types.go`), and a
# path this repository makes (a venv, an output folder) is listed in MADE.
OURS = ("components", "config", "tools", "tests", "loadtest", "planner", "benchmarks", "docs", "policy",
        ".ci", ".github")
PACKAGES = ("components", "config", "tools", "loadtest", "planner", "benchmarks", "policy", "settings")
NAMED_PATH = re.compile(r"(?<![\w/.\-~:@])((?:" + "|".join(map(re.escape, OURS)) + r")/[\w./\-]*[\w/])(?=(\.?[<{*])?)")
NAMED_MODULE = re.compile(r"(?<![\w./\-:@])((?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+)")
API_VERSION = re.compile(r"\w+/v\d\w*")  # `policy/v1`: an apiVersion, not a path
MADE = ("policy/venv", "build")
SKIPPED = {".git", ".venv", "venv", "__pycache__", ".hypothesis", "mutants", "golden", "schemas", "build"}
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".ini", ".sh"}


def repository_texts() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if path.is_file() and not parts & SKIPPED and (path.suffix in SUFFIXES or path.name == "run"):
            found.append(path)
    return found


def prose(path: Path) -> str:
    """What a reader reads: a page whole, a Python file's comments and docstrings only (a string
    in code is data: a test's made-up mutant name, a variable named `config`)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return text
    lines = text.splitlines()
    kept: list[list[str]] = [[] for _ in lines]
    previous = tokenize.NEWLINE
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        statement = previous in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
        if token.type == tokenize.COMMENT or token.type == tokenize.STRING and statement:
            for row in range(token.start[0], token.end[0] + 1):
                start = token.start[1] if row == token.start[0] else 0
                end = token.end[1] if row == token.end[0] else len(lines[row - 1])
                kept[row - 1].append(lines[row - 1][start:end])
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.type
    return "\n".join(" ".join(parts) for parts in kept)


def top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def module_exists(dotted: str) -> bool:
    """`pkg.mod` or `pkg.mod.name` (a top-level name; mutmut's `x_name` and `xǁClassǁmethod` too)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            rest = parts[cut:]
            if not rest:
                return True
            mangled = re.fullmatch(r"x_(\w+?)(?:__mutmut_\d*)?|xǁ(\w+)ǁ.*", rest[0])
            name = (mangled.group(1) or mangled.group(2)) if mangled else rest[0]
            return name in top_level_names(source) or (base / f"{name}.py").is_file()
    return False


def missing_names(path: Path) -> list[str]:
    missing = []
    for row, line in enumerate(prose(path).splitlines(), 1):
        for match in NAMED_PATH.finditer(line):
            named = match.group(1).rstrip("./")
            if API_VERSION.fullmatch(named) or any(named == m or named.startswith(m + "/") for m in MADE):
                continue
            exists = any(ROOT.glob(named + "*")) if match.group(2) else (ROOT / named).exists()
            if not exists:
                missing.append(f"{path.relative_to(ROOT)}:{row}: {named}")
        for match in NAMED_MODULE.finditer(line):
            dotted = match.group(1)
            if dotted.rsplit(".", 1)[1] not in {"py", "md", "go", "yaml", "txt", "json", "proto", "toml"} \
                    and not module_exists(dotted):
                missing.append(f"{path.relative_to(ROOT)}:{row}: {dotted}")
    return missing


def test_every_repository_path_and_module_a_text_names_exists():
    texts = repository_texts()
    assert {ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "components" / "stack.py"} <= set(texts)
    assert [m for path in texts for m in missing_names(path)] == []


def test_a_name_that_is_gone_is_found(tmp_path, monkeypatch):
    page = ROOT / "docs" / "layout.md"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: (
        "See components/job_script.py and `config.rules.default_bucket_name`; kubernetes/ingress-nginx:"
        "docs/user-guide/x.md and policy/v1 and tests/golden/urns.<stack>.txt are fine.\n"
        if self == page else Path.read_bytes(self).decode(encoding or "utf-8")))
    assert [m.split(": ", 1)[1] for m in missing_names(page)] == [
        "components/job_script.py", "config.rules.default_bucket_name"]


def layout_entries() -> dict[str, str]:
    """docs/layout.md's tree: each entry's repository path -> its description (a folder ends in '/';
    two spaces of indent per level; a description's further lines are indented past the names)."""
    text = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    tree = FENCE.search(text).group(2)
    entries: dict[str, str] = {}
    folders: list[str] = []
    for line in tree.splitlines():
        match = re.match(r"( *)(\S+)\s*(.*)", line)
        if not match or len(match.group(1)) >= 20 or "<" in match.group(2) or "," in match.group(2):
            continue
        depth = len(match.group(1)) // 2
        folders = folders[:depth]
        path = "".join(folders) + match.group(2)
        entries[path] = match.group(3)
        if path.endswith("/"):
            folders.append(match.group(2))
    return entries


def test_the_layout_page_is_the_tree():
    """docs/layout.md names every module of the program and the tests' helpers where it is, and
    nothing that is not there."""
    entries = layout_entries()
    assert [path for path in entries if not (ROOT / path).exists()] == []
    modules = [p for folder in ("config", "components", "policy", "tools", "loadtest", "planner", "benchmarks")
               for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".sh") and p.name != "__init__.py"
               and not p.name.endswith("_pb2.py") and "batching_proto" not in p.parts]
    helpers = [p for p in (ROOT / "tests").glob("*.py") if not p.name.startswith("test_")]
    named = [ROOT / "settings.py", ROOT / "__main__.py", *modules, *helpers]
    assert len(named) > 90
    assert sorted(str(p.relative_to(ROOT)) for p in named if str(p.relative_to(ROOT)) not in entries) == []

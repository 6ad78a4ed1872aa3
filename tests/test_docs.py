"""The README is the user's path and docs/ the reference: every link resolves, every page is
linked, every command runs as written from a fresh clone (the repository's own tools parse their
documented arguments; files they name exist), and every place the program sends a user to exists."""

from __future__ import annotations

import importlib
import re
import shlex
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

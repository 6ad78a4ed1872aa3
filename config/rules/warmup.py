"""The warmup: the request the stack replays on every new server (`model.warmup`), against each
version's signature, and a version's own warmup file as TF Serving would read it (config/warmup.py)."""

from __future__ import annotations

from pathlib import Path

from settings import WARMUP_FILE

from ..derived import ModelSource, version_dirs, warmup_request
from ..errors import Problem
from ..problems import home_path
from ..schema import ModelSettings
from ..warmup import WarmupError, read_request, shipped_problem, warmup_file
from .check import rule, warning


def _misfits(model: ModelSettings, dirs: dict[int, Path], path: Path) -> list[tuple[int, str]]:
    """(version, why) for each version without its own warmup file that the request does not fit."""
    body = read_request(path)
    found = []
    for version, vdir in dirs.items():
        if (vdir / WARMUP_FILE).is_file():
            continue
        try:
            warmup_file(vdir, body, model.name)
        except WarmupError as exc:
            found.append((version, str(exc)))
    return found


@rule
def named_request_fits(model: ModelSettings, source: ModelSource) -> list[Problem]:
    """A request the user named is what every new server replays: it must fit every version."""
    dirs = version_dirs(model, source)
    if model.warmup.request is None or not model.warmup.enabled or not dirs:
        return []
    if model.warmup.request.startswith("~"):
        return [("model.warmup.request", home_path(model.warmup.request))]
    path = warmup_request(model.warmup)
    try:
        misfits = _misfits(model, dirs, path)
    except WarmupError as exc:
        return [("model.warmup.request", str(exc))]
    return [("model.warmup.request", f"does not fit version {version}: {why}") for version, why in misfits]


@rule
def shipped_warmup_loads(model: ModelSettings, source: ModelSource) -> list[Problem]:
    """A version's own warmup file is uploaded as it is: one TF Serving cannot replay fails the load."""
    problems: list[Problem] = []
    dirs = version_dirs(model, source)
    for index, version in enumerate(model.versions):
        vdir = dirs.get(version)
        if vdir is not None and (vdir / WARMUP_FILE).is_file():
            problem = shipped_problem(vdir)
            if problem is not None:
                problems.append((f"model.versions[{index}]", f"version {version}'s {problem}"))
    return problems


@warning
def default_request_fits(model: ModelSettings, source: ModelSource) -> list[str]:
    """The default request is the load test's payload: where it does not fit, neither warms up."""
    dirs = version_dirs(model, source)
    if model.warmup.request is not None or not dirs:
        return []
    path = warmup_request(model.warmup)
    try:
        misfits = _misfits(model, dirs, path)
    except WarmupError as exc:
        return [f"model.warmup.request: the load test's payload cannot be read: {exc}"]
    what = ("no warmup file is uploaded for it (name a request that fits as model.warmup.request, or set "
            "model.warmup.enabled: false), and " if model.warmup.enabled else "")
    return [f"model.warmup.request: the load test's payload ({path.name}) does not fit version {version}: {why}; "
            f"{what}`python -m loadtest` needs --payload with one that does (docs/warmup.md)"
            for version, why in misfits]

"""Stack configs generated from the schema (hypothesis), as a user could write them.

A generated config is a shipped stack file with one to four mistakes made to it: any key of the
schema (found by walking config/schema.py, so a new key is generated the day it is added) set to a
valid value, an invalid one (out of range, of the wrong kind, empty) or an odd string (a trailing
newline, a look-alike character, a very long value), removed, or joined by an unknown key; whole
sections given as something else; provider keys misspelt. The values a schema field's type says
nothing about (which time zone names are folders, which cron forms Kubernetes refuses) come from
the issues that found them, so the search starts where users already failed.
"""

from __future__ import annotations

import copy
import math
import re
import typing
from dataclasses import dataclass
from typing import Any, Literal, Optional

import annotated_types
from harness import NS, stack_file_config
from hypothesis import strategies as st
from pydantic import BaseModel

from config.schema import StackConfig
from tools.config_table import Leaf, _section, _unwrap, leaves

# Strings that a field's type does not show to be wrong, each a mistake a user made (issue #30).
ODD_TEXT = [
    "", " ", "\n", "Asia", "Europe", "Etc", "Etc/GMT+8", "UTC", "Local", "../../etc", "~/models/chnsenticorp",
    "L * * * *", "0 8 * * 1#2", "0 8 L * *", "5-1 * * * *", "0 8 * * 7", "@every 1h", "0 8 * * MON-FRI",
    "0 0 30 2 *", "TZ=UTC 0 8 * * *", "*/0 * * * *", "? ? ? ? ?", "0 8 * * SUN-SAT",
    "10.0.0.1", "2001:db8::1", "kube-system", "kube-public", "kube-node-lease", "default", "alb", "mse",
    "0.0.0.0/0", "::/0", "latest", "tensorflow/serving:latest-gpu", "tensorflow/serving:2.20.0-gpu",
    "oss://", "oss://bucket", "oss://Bucket/x", "s3://bucket/models", "12Gi\n", "4\n", "0.5", "1e3", "-1",
    "ecs.gn7i-c8g1.2xlarge", "ecs.gn6i-c4g1.xlarge", "\u0430bc", "bert\u200b", "x" * 300, "a" * 5000,
    "/".join(["segment"] * 600), "\x00", "\t4", "ÿ", "true", "null", "NaN", "inf",
]
# A character that looks like a Latin one (Cyrillic, Greek, full-width).
LOOKALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "c": "\u0441", "p": "\u0440", "x": "\u0445",
              "i": "\u0456", "1": "\uff11", "-": "\u2010", ".": "\u3002"}
NUMBERS = [0, -1, 1, 2, 100, 101, 1000, 1001, 10**6, 2**63, -(2**63), 0.3, 0.5, 1.5, 1e309, math.nan, 30.0]
WRONG_KINDS = [None, True, False, [], {}, ["a"], {"a": 1}, [1, 2], 7, 0.3, "seven"]


@dataclass(frozen=True)
class Key:
    """A key of the schema: its dotted path in the stack file and what the schema says of it."""

    path: tuple[str, ...]
    annotation: Any
    metadata: tuple[Any, ...]
    section: Optional[type[BaseModel]]


def schema_keys() -> list[Key]:
    """Every key and section of StackConfig, found by walking it (`tools.config_table.leaves`)."""
    found: dict[tuple[str, ...], Key] = {}

    def add(leaf: Leaf) -> None:
        annotation, metadata = _unwrap(leaf.field.annotation, leaf.field.metadata)
        path = tuple(leaf.path.split("."))
        found[path] = Key(path, annotation, tuple(metadata), _section(annotation))

    for leaf in leaves(StackConfig):
        add(leaf)
        parts = leaf.path.split(".")
        for depth in range(1, len(parts)):  # the sections above it
            section_path = tuple(parts[:depth])
            if section_path not in found:
                found[section_path] = Key(section_path, dict, (), None)
    return list(found.values())


KEYS = schema_keys()


def _bound(metadata: tuple[Any, ...], kind: type, attr: str) -> Optional[Any]:
    item = next((m for m in metadata if isinstance(m, kind)), None)
    return getattr(item, attr) if item is not None else None


def _numbers(annotation: Any, metadata: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    low = _bound(metadata, annotated_types.Ge, "ge")
    low_open = _bound(metadata, annotated_types.Gt, "gt")
    high = _bound(metadata, annotated_types.Le, "le")
    if annotation is int:
        lo = low if low is not None else (low_open + 1 if low_open is not None else -(10**6))
        hi = high if high is not None else 10**6
        edges = [lo - 1, lo, hi, hi + 1]
        return st.one_of(st.integers(min_value=lo, max_value=hi), st.sampled_from(edges))
    lo = low if low is not None else (low_open if low_open is not None else -1e6)
    hi = high if high is not None else 1e6
    return st.one_of(st.floats(min_value=lo, max_value=hi, exclude_min=low_open is not None),
                     st.integers(min_value=math.ceil(lo), max_value=math.floor(hi)),
                     st.sampled_from([lo, hi, hi * 2]))


def odd_strings(seed: str) -> st.SearchStrategy[str]:
    """A value a user could mean, spoiled the ways values are spoiled."""
    def spoil(pair: tuple[str, int]) -> str:
        how, at = pair
        if how == "newline":
            return seed + "\n"
        if how == "spaces":
            return f" {seed} "
        if how == "lookalike":
            spots = [i for i, ch in enumerate(seed) if ch in LOOKALIKES]
            if not spots:
                return seed + "\u0430"
            i = spots[at % len(spots)]
            return seed[:i] + LOOKALIKES[seed[i]] + seed[i + 1:]
        if how == "long":
            return seed * (1 + 5000 // max(len(seed), 1))
        if how == "upper":
            return seed.upper()
        return seed + "\x00"
    return st.tuples(st.sampled_from(["newline", "spaces", "lookalike", "long", "upper", "nul"]),
                     st.integers(0, 50)).map(spoil)


def values_for(key: Key, shipped: Any) -> st.SearchStrategy[Any]:
    """Values for one key: the schema's own (valid), its bounds and beyond, other kinds, odd text."""
    annotation, metadata = key.annotation, key.metadata
    origin = typing.get_origin(annotation)
    seed = shipped if isinstance(shipped, str) else None
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(WRONG_KINDS), st.sampled_from(ODD_TEXT)]
    if origin is Literal:
        choices = list(typing.get_args(annotation))
        options += [st.sampled_from(choices)] * 4
        options.append(st.sampled_from(choices).flatmap(odd_strings))
    elif annotation is bool:
        options += [st.booleans()] * 3 + [st.sampled_from(["yes", "on", "true", 1, 0])]
    elif annotation in (int, float):
        options += [_numbers(annotation, metadata)] * 4 + [st.sampled_from(NUMBERS)]
        options.append(_numbers(annotation, metadata).map(str))  # as `pulumi config set --path` stores it
    elif origin is list:
        (item,) = typing.get_args(annotation)
        inner_annotation, inner_meta = _unwrap(item, [])
        inner = values_for(Key(key.path + ("[]",), inner_annotation, tuple(inner_meta), None),
                           shipped[0] if isinstance(shipped, list) and shipped else None)
        if isinstance(shipped, list):
            options += [st.just(shipped)] * 2
            options.append(st.lists(st.sampled_from(shipped), min_size=0, max_size=6))
        options.append(st.lists(inner, min_size=0, max_size=6))
    elif origin is dict:
        options.append(st.dictionaries(st.sampled_from(["inference", "gpu", "a/b", "Bad Key", "x" * 70, ""]),
                                       st.sampled_from(["tensorflow", "true", "", "x" * 70, "ok\n"]), max_size=3))
    if seed is not None:
        options += [st.just(seed)] * 2 + [odd_strings(seed)] * 6
    if key.section is not None or annotation is dict:
        options.append(st.sampled_from([None, "", "text", [], {}]))
    return st.one_of(options)


def plausible_values(key: Key, shipped: Any) -> st.SearchStrategy[Any]:
    """Values the schema's type allows for one key (a choice, a number in range, the shipped one):
    configs made of these mostly build, so the whole program runs on values nobody picked."""
    annotation, metadata = key.annotation, key.metadata
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return st.sampled_from(list(typing.get_args(annotation)))
    if annotation is bool:
        return st.booleans()
    if annotation in (int, float):
        low = _bound(metadata, annotated_types.Ge, "ge")
        low = low if low is not None else _bound(metadata, annotated_types.Gt, "gt")
        high = _bound(metadata, annotated_types.Le, "le")
        if low is None or high is None:
            return st.just(shipped) if shipped is not None else st.nothing()
        return st.integers(min_value=math.ceil(low), max_value=min(math.floor(high), math.ceil(low) + 50))
    return st.just(shipped) if shipped is not None else st.nothing()


def _get(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _parent(config: dict[str, Any], path: tuple[str, ...], create: bool) -> Optional[dict[str, Any]]:
    """The mapping that holds `path`'s last key (the stack file keeps top-level keys namespaced)."""
    node: Any = config
    for i, part in enumerate(path[:-1]):
        name = NS + part if i == 0 else part
        child = node.get(name) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            if not create or not isinstance(node, dict):
                return None
            child = node[name] = {}
        node = child
    return node if isinstance(node, dict) else None


def _name(path: tuple[str, ...], depth: int) -> str:
    return NS + path[depth] if depth == 0 else path[depth]


@dataclass(frozen=True)
class Mistake:
    """One change to a stack file, as a user makes it."""

    action: Literal["set", "remove", "unknown", "provider"]
    path: tuple[str, ...]
    value: Any = None

    def apply(self, config: dict[str, Any]) -> None:
        if self.action == "provider":
            key, value = self.path[0], self.value
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
            return
        parent = _parent(config, self.path, create=self.action != "remove")
        if parent is None:
            return
        last = _name(self.path, len(self.path) - 1)
        if self.action == "set":
            parent[last] = copy.deepcopy(self.value)
        elif self.action == "remove":
            parent.pop(last, None)
        else:
            parent[str(self.value)] = 1


def _unknown_name(path: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    last = path[-1]
    return st.sampled_from([last + "s", last[:-1], last.lower(), last + "X", "extra", "max_size", "a.b",
                            last.replace("e", "\u0435")]).map(lambda name: path[:-1] + (name,))


PROVIDER_MISTAKES = [
    ("alicloud:region", None), ("alicloud:region", "cn-beijin"), ("alicloud:region", "cn-beijing\n"),
    ("alicloud:region", ""), ("alicloud:regoin", "cn-beijing"), ("alicloud:secretKey", "plain"),
    ("kubernetes:context", "x"), ("elastic-inferance:model", {"name": "x"}), ("alicloud:secret_key", "x"),
    ("pulumi:tags", {"a": "b"}), ("alicloud:region", "cn-hongkong"), ("alicloud:region", 7),
]


@st.composite
def mistakes(draw: st.DrawFn, base: dict[str, Any], plausible: bool = False) -> Mistake:
    if plausible:
        bare = {k.removeprefix(NS): v for k, v in base.items()}
        keys = [k for k in KEYS if k.section is None and k.annotation is not dict
                and not plausible_values(k, _get(bare, k.path)).is_empty]
        key = draw(st.sampled_from(keys))
        return Mistake("set", key.path, draw(plausible_values(key, _get(bare, key.path))))
    kind = draw(st.sampled_from(["set"] * 6 + ["remove", "unknown", "provider"]))
    if kind == "provider":
        key, value = draw(st.sampled_from(PROVIDER_MISTAKES))
        return Mistake("provider", (key,), value)
    key = draw(st.sampled_from(KEYS))
    if kind == "remove":
        return Mistake("remove", key.path)
    if kind == "unknown":
        return Mistake("unknown", draw(_unknown_name(key.path)), draw(_unknown_name(key.path))[-1])
    shipped = _get({k.removeprefix(NS): v for k, v in base.items()}, key.path)
    return Mistake("set", key.path, draw(values_for(key, shipped)))


@st.composite
def stack_configs(draw: st.DrawFn, max_mistakes: int = 4,
                  plausible: Optional[bool] = False) -> tuple[str, dict[str, Any], list[Mistake]]:
    """(stack, its config with mistakes made to it, the mistakes). `plausible`: only values the
    schema's types allow (None: either kind, drawn)."""
    stack = draw(st.sampled_from(["dev", "prod"]))
    base = stack_file_config(stack)
    config = copy.deepcopy(base)
    kind = draw(st.booleans()) if plausible is None else plausible
    made = draw(st.lists(mistakes(base, kind), min_size=1, max_size=max_mistakes))
    for mistake in made:
        mistake.apply(config)
    return stack, config, made


def config_paths(config: dict[str, Any]) -> set[str]:
    """Every dotted key a stack config holds (list items as `[i]`), as a message names them."""
    out: set[str] = set()

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                path = f"{prefix}.{k}" if prefix else str(k)
                out.add(path)
                walk(v, path)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                path = f"{prefix}[{i}]"
                out.add(path)
                walk(v, path)

    for key, value in config.items():
        bare = key.removeprefix(NS)
        out.add(key)
        out.add(bare)
        walk(value, bare)
    return out


# The schema's keys, and the provider's own key the program requires (config/loader.py region_problem).
SCHEMA_PATHS = {".".join(k.path) for k in KEYS} | {"alicloud:region"}
_INDEX = re.compile(r"\[\d+\]")


def names_a_key(key: str, config: dict[str, Any]) -> bool:
    """A problem's key is one the user wrote, or one the schema has (a required key left out)."""
    return key in config_paths(config) or _INDEX.sub("", key) in SCHEMA_PATHS

"""Read the project's YAML files (Pulumi.yaml, the stack files) strictly.

PyYAML, like the YAML parser of the Pulumi CLI, takes the last of two equal keys in a mapping
without a word (pulumi/pulumi sdk/go/common/encoding/marshal.go at 0c8d867 decodes with
gopkg.in/yaml.v2's non-strict `Unmarshal`; go-yaml checks unique keys only in strict mode,
decode.go at 00aeb2c `uniqueKeys: strict`). A key written twice is a mistake whichever value
was meant, so everything here that reads a stack file refuses it, naming both lines; and a
syntax error names the file, line and column instead of a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                line = first_line.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it below
            if line != key_node.start_mark.line + 1:
                raise _DuplicateKey(
                    problem=f"key {key!r} is written twice in the same mapping (first at line {line}); "
                    "keep one: the Pulumi CLI would silently take the last",
                    problem_mark=key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping)


def read_yaml(path: Path) -> Any:
    """The file's one document; `ConfigError` naming file:line:column on a syntax error or a
    duplicate key."""
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        reserved = re.search(r"found character '([@`])' that cannot start any token", exc.problem or "")
        if reserved:
            # YAML reserves '@' and '`' at the start of a plain value (YAML 1.1 and 1.2, "Indicator
            # Characters"): a cron macro such as @midnight has to be quoted.
            what += f"; quote the value: YAML reserves {reserved.group(1)!r} at the start of an unquoted one " \
                    "(e.g. sleep: \"@midnight\")"
        raise ConfigError([(where, what or "is not valid YAML")]) from None

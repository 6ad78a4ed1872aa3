"""TensorFlow Serving's `BatchingParameters` message, one schema per TF Serving line, to check a
`--batching_parameters_file` offline the way the model server reads it: text format, into the
message of the running version (model_servers/server.cc, ParseProtoTextFile), so a field the
version does not know is an error, not a silent no-op.

    from google.protobuf import text_format
    cls = message_class("2.19.1")          # or "1.15.0-gpu": a tag's "-suffix" is ignored
    params = text_format.Parse(open(path).read(), cls())   # text_format.ParseError if invalid

The schemas are `batching_parameters_<tag>.proto` beside this file, each with its own package
(`tfs_1_15_0`, `tfs_2_19_1`), so both load in one process; README.md says how the `_pb2.py`
modules are generated from them.
"""

from __future__ import annotations

import importlib
import re
from typing import cast

from google.protobuf.message import Message

# (first TF Serving version, module): a version uses the schema of the newest entry at or below
# it. Read from session_bundle_config.proto at every tag of tensorflow/serving from 0.4.0 to
# 2.20.0: the seven fields of 1.15.0 stand unchanged from 1.4.0 to 2.3.4 (0.5.0-1.3.0 lack
# pad_variable_length_inputs), and the nine of 2.19.1 from 2.4.0 (its rcs too) to 2.20.0.
CATALOGUE: tuple[tuple[tuple[int, int, int], str], ...] = (
    ((1, 4, 0), "batching_parameters_1_15_0_pb2"),
    ((1, 15, 0), "batching_parameters_1_15_0_pb2"),
    ((2, 4, 0), "batching_parameters_2_19_1_pb2"),
    ((2, 19, 1), "batching_parameters_2_19_1_pb2"),
    # 2.20.0 (bc7e9d2b9a): session_bundle_config.proto is 2.19.1's, byte for byte (blob 88c4da1f4f).
    ((2, 20, 0), "batching_parameters_2_19_1_pb2"),
)

# "2.19.1", "2.19" (= 2.19.0), "1.15.0-gpu", "2.4.0-rc2": the numbers, then an optional tag suffix.
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?")


def parse_version(version: str) -> tuple[int, int, int]:
    """`major.minor[.patch][-suffix]` -> (major, minor, patch); ValueError for anything else
    (`latest`, `nightly`, an image reference)."""
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        raise ValueError(f"not a TF Serving version: {version!r} (expected e.g. '2.19.1' or '2.19.1-gpu')")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def message_class(version: str) -> type[Message]:
    """The BatchingParameters class TF Serving `version` parses its batching file into: the
    schema of the newest catalogued version at or below it. ValueError below the oldest."""
    wanted = parse_version(version)
    found = [module for first, module in CATALOGUE if first <= wanted]
    if not found:
        oldest = ".".join(map(str, CATALOGUE[0][0]))
        raise ValueError(f"no BatchingParameters schema catalogued for TF Serving {version} (oldest: {oldest})")
    module = importlib.import_module(f"{__name__}.{found[-1]}")
    return cast(type[Message], module.BatchingParameters)


def text(version: str, fields: list[tuple[str, object]]) -> str:
    """`fields` (proto field name, value) as the text-format file TF Serving `version` reads:
    a wrapper field as `name { value: v }`, a repeated one a line per value, a plain one `name: v`,
    each shape read from the version's own descriptor. KeyError: a field the version lacks."""
    known = message_class(version).DESCRIPTOR.fields_by_name
    lines: list[str] = []
    for name, value in fields:
        field = known[name]
        values = value if isinstance(value, list) else [value]
        for v in values:
            shown = str(v).lower() if isinstance(v, bool) else str(v)
            lines.append(f"{name} {{ value: {shown} }}" if field.message_type is not None else f"{name}: {shown}")
    return "".join(line + "\n" for line in lines)

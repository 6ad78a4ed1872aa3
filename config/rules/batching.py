"""Server-side batching: `serving.batching` as the BatchingParameters file of the image's TF Serving
release (config/batching_proto), refused where TF Serving would refuse it."""

from __future__ import annotations

from google.protobuf import text_format
from pydantic.alias_generators import to_camel

from .. import batching_proto
from ..derived import BATCHING_FIRST, batching_fields, batching_version
from ..errors import Problem
from ..schema import ServingSettings
from .check import rule


@rule
def batching_parameters(serving: ServingSettings) -> list[Problem]:
    """`serving.batching` parses, as the file TF Serving reads at start (a whole-message text-format
    parse: model_servers/server.cc ParseProtoTextFile, 1.15.0 L58-71, 2.19.1 util/proto_util.h
    L26-40; an unknown field stops the server), into the message of the image's release
    (config/batching_proto), and holds what TF Serving checks when it loads a model:
    `allowed_batch_sizes`' last entry is `max_batch_size` (servables/tensorflow/
    bundle_factory_util.cc at 1.15.0 L89-101, at 2.19.1 L113-126), increasing (the proto's comment;
    checked with splitting: batching_session.cc at 2.19.1 L1012-1039)."""
    b = serving.batching
    if b is None:
        return []
    version = batching_version(serving)
    if version is None:
        return [("serving.batching.servingVersion", f"is required: the image's tag ({serving.image!r}) does not "
                                                    "say which TF Serving release it runs, and the batching fields "
                                                    "it reads depend on it (such as 2.19.1)")]
    try:
        schema = batching_proto.message_class(version)
    except ValueError as exc:
        return [("serving.batching.servingVersion" if b.serving_version else "serving.image", str(exc))]
    fields = batching_fields(serving)
    known = schema.DESCRIPTOR.fields_by_name
    problems: list[Problem] = [
        (f"serving.batching.{to_camel(name)}",
         f"TF Serving {version} has no such BatchingParameters field"
         + (f" (it came in {BATCHING_FIRST[name]}: use an image of that release or later)"
            if name in BATCHING_FIRST else ""))
        for name, _ in fields if name not in known]
    if problems:
        return problems
    try:
        text_format.Parse(batching_proto.text(version, fields), schema())
    except text_format.ParseError as exc:
        return [("serving.batching", f"does not parse as TF Serving {version}'s BatchingParameters: {exc}")]
    sizes = b.allowed_batch_sizes
    if sizes is not None:
        if sizes[-1] != b.max_batch_size:
            problems.append(("serving.batching.allowedBatchSizes",
                             f"ends with {sizes[-1]}; TF Serving refuses to load the model unless the last entry is "
                             f"maxBatchSize ({b.max_batch_size})"))
        if sizes != sorted(sizes):
            problems.append(("serving.batching.allowedBatchSizes", f"{sizes} is not in increasing order"))
    if b.max_execution_batch_size is not None:
        if not b.enable_large_batch_splitting:
            problems.append(("serving.batching.maxExecutionBatchSize",
                             "is read only with enableLargeBatchSplitting: true"))
        elif b.max_execution_batch_size > b.max_batch_size:
            problems.append(("serving.batching.maxExecutionBatchSize",
                             f"{b.max_execution_batch_size} is above maxBatchSize ({b.max_batch_size}): TensorFlow's "
                             "scheduler refuses an execution batch larger than the input batch limit"))
    return problems

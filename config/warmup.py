"""The warmup file TensorFlow Serving replays while it loads a SavedModel version, before the
version is AVAILABLE: `<version>/assets.extra/tf_serving_warmup_requests`, a TFRecord file of
`PredictionLog` records (docs/warmup.md). Built here from a REST predict body the user already has,
checked against the version's own serving signature, read from its `saved_model.pb`.

Sources (tensorflow/serving at 1.15.0, 2.19.1 and 2.20.0; the notes behind each rule are cited
beside it): servables/tensorflow/saved_model_warmup_util.{h,cc} (the file's name, the record
limit, what fails a load), util/json_tensor.cc (how a REST body becomes tensors),
servables/tensorflow/predict_util.cc (what a predict request must match), and TensorFlow's
TFRecord writer (tsl/lib/io/record_writer.{h,cc}, crc32c.h).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import google_crc32c
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from settings import WARMUP_FILE

from .problems import os_problem, short
from .warmup_proto import serving_warmup_pb2 as pb

# saved_model_warmup_util.h L28-31 (2.19.1; saved_model_warmup.h L29-32 at 1.15.0) and TensorFlow's
# kSavedModelAssetsExtraDirectory "assets.extra" give settings.WARMUP_FILE; the record limit.
MAX_RECORDS = 1000

# --saved_model_tags defaults to "serve" (model_servers/main.cc), and the meta graph loaded is the
# one whose tag set is exactly that (TensorFlow's FindMetaGraphDefToLoad).
SERVING_TAGS = frozenset({"serve"})
# kDefaultServingSignatureDefKey, used when a request names no signature (predict_util.cc L85-93).
DEFAULT_SIGNATURE = "serving_default"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


class WarmupError(ValueError):
    """Why no warmup file can be built: a message for the user, naming what does not fit."""


@dataclass(frozen=True)
class TensorSpec:
    """One input of a signature: its dtype (a `DataType` number) and shape (None: unknown rank;
    -1: a dimension of any size)."""

    dtype: int
    shape: Optional[tuple[int, ...]]

    def text(self) -> str:
        dims = "?" if self.shape is None else "[" + ", ".join("None" if d < 0 else str(d) for d in self.shape) + "]"
        return f"{dtype_name(self.dtype)} {dims}"


@dataclass(frozen=True)
class Signature:
    """A SavedModel signature's inputs, as TF Serving matches a predict request against them."""

    name: str
    inputs: Mapping[str, TensorSpec]

    def text(self) -> str:
        return ", ".join(f"{alias}: {spec.text()}" for alias, spec in sorted(self.inputs.items()))


def dtype_name(dtype: int) -> str:
    try:
        return pb.DataType.Name(dtype)  # type: ignore[arg-type]
    except ValueError:
        return f"DataType {dtype}"


# --- the SavedModel --------------------------------------------------------------------------------

def read_saved_model(version_dir: Path) -> pb.SavedModel:
    """The version's SavedModel message: `saved_model.pb`, or else `saved_model.pbtxt` (as TensorFlow's
    loader reads one or the other). WarmupError when it is not a SavedModel."""
    binary, text = (version_dir / name for name in SAVED_MODEL_FILES)
    model = pb.SavedModel()
    try:
        if binary.is_file():
            model.ParseFromString(binary.read_bytes())
        else:
            # Every field this subset leaves out (the graph, the object graph) is skipped by name.
            text_format.Parse(text.read_text(encoding="utf-8"), model, allow_unknown_field=True,
                              allow_unknown_extension=True)
    except (DecodeError, text_format.ParseError, UnicodeDecodeError) as exc:
        name = binary.name if binary.is_file() else text.name
        raise WarmupError(f"{name} is not a SavedModel TensorFlow can read ({exc})") from exc
    except OSError as exc:
        raise WarmupError(f"neither {' nor '.join(SAVED_MODEL_FILES)} can be read ({exc.strerror})") from exc
    return model


def signature_of(model: pb.SavedModel, name: str = DEFAULT_SIGNATURE) -> Signature:
    """The named signature of the meta graph TF Serving loads (tags exactly {"serve"})."""
    graphs = [g for g in model.meta_graphs if frozenset(g.meta_info_def.tags) == SERVING_TAGS]
    if not graphs:
        found = sorted(sorted(g.meta_info_def.tags) for g in model.meta_graphs)
        raise WarmupError(f"no meta graph tagged 'serve' (TF Serving's --saved_model_tags) in it; tags found: {found}")
    signatures = graphs[0].signature_def
    if name not in signatures:
        raise WarmupError(f"no signature {name!r} (found: {', '.join(sorted(signatures)) or 'none'})")
    inputs: dict[str, TensorSpec] = {}
    for alias, info in signatures[name].inputs.items():
        if info.WhichOneof("encoding") != "name":
            raise WarmupError(f"signature {name!r} input {alias!r} is a sparse or composite tensor: the REST "
                              "predict API sends dense tensors only")
        shape = info.tensor_shape
        inputs[alias] = TensorSpec(info.dtype, None if shape.unknown_rank else tuple(d.size for d in shape.dim))
    return Signature(name, inputs)


# --- the TFRecord framing --------------------------------------------------------------------------

# TensorFlow's crc32c.h: "Return a masked representation of crc", kMaskDelta 0xa282ead8.
_MASK_DELTA = 0xA282EAD8


def masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def frame(records: Sequence[bytes]) -> bytes:
    """TFRecord, uncompressed (the warmup reader's default options): each record is its length
    (uint64, little-endian), the masked CRC32C of those 8 bytes, the data, the masked CRC32C of
    the data (record_writer.h/.cc WriteRecord)."""
    out = bytearray()
    for record in records:
        length = struct.pack("<Q", len(record))
        out += length + struct.pack("<I", masked_crc(length)) + record + struct.pack("<I", masked_crc(record))
    return bytes(out)


def records(data: bytes) -> Iterator[bytes]:
    """The records of a TFRecord file one by one, as TensorFlow's SequentialRecordReader reads them;
    WarmupError where it reports data loss, which fails the version's load (record_reader.cc
    ReadRecord and ReadChecksummed; observed with TF 2.19.1's reader: fewer than 12 bytes left is
    the end of the file, a data CRC mismatch is reported 12 bytes into the record). A replay runs
    the records before the damage first: hence one at a time."""
    at = 0
    while len(data) - at >= 12:
        hint = " (Is this even a TFRecord file?)" if at == 0 else ""
        length_bytes = data[at:at + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        if masked_crc(length_bytes) != struct.unpack("<I", data[at + 8:at + 12])[0]:
            raise WarmupError(f"corrupted record at {at}{hint}")
        end = at + 12 + length
        if len(data) < end + 4:
            raise WarmupError(f"truncated record at {at}' failed with Read less bytes than requested")
        record = data[at + 12:end]
        if masked_crc(record) != struct.unpack("<I", data[end:end + 4])[0]:
            raise WarmupError(f"corrupted record at {at + 12}")
        yield record
        at = end + 4


def unframe(data: bytes) -> list[bytes]:
    """Every record of a TFRecord file (`records`)."""
    return list(records(data))


# --- the request, as the REST API turns a predict body into tensors ----------------------------
# tensorflow_serving/util/json_tensor.cc at 2.19.1 (FillPredictRequestFromJson L653-705, the row
# format L519-607, the columnar format L609-649, shapes L349-356 and L392-436, values L290-342);
# the same rules at 1.15.0 but for the float precision check it dropped in 2021, which a warmup
# request does not meet (its values are the user's payload's).

# The repeated field each dtype's values go to (AddValueToTensor), and the range a JSON integer
# must fit (rapidjson's IsInt/IsInt64/IsUint/IsUint64). The 8- and 16-bit integer types take any
# int32 there and TensorFlow wraps them later: checked here against their own range instead, so
# the warmup sends what the user wrote. uint16, half, bfloat16 and complex: "Conversion of JSON
# Value ... to type ..." is UNIMPLEMENTED on the REST path.
_INT_RANGES: dict[int, tuple[int, int]] = {
    pb.DT_INT8: (-2**7, 2**7 - 1), pb.DT_UINT8: (0, 2**8 - 1), pb.DT_INT16: (-2**15, 2**15 - 1),
    pb.DT_INT32: (-2**31, 2**31 - 1), pb.DT_INT64: (-2**63, 2**63 - 1), pb.DT_UINT32: (0, 2**32 - 1),
    pb.DT_UINT64: (0, 2**64 - 1)}
_FIELDS: dict[int, str] = {
    pb.DT_FLOAT: "float_val", pb.DT_DOUBLE: "double_val", pb.DT_INT8: "int_val", pb.DT_UINT8: "int_val",
    pb.DT_INT16: "int_val", pb.DT_INT32: "int_val", pb.DT_INT64: "int64_val", pb.DT_UINT32: "uint32_val",
    pb.DT_UINT64: "uint64_val", pb.DT_BOOL: "bool_val", pb.DT_STRING: "string_val"}


def _is_b64(value: Any) -> bool:
    """IsValBase64Object: an object of exactly one member, `b64`, a string."""
    return isinstance(value, dict) and list(value) == ["b64"] and isinstance(value["b64"], str)


def _dense_shape(value: Any) -> list[int]:
    """GetDenseTensorShape: follow element 0 down, stopping at an empty list."""
    dims = []
    while isinstance(value, list):
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return dims


def _leaf(value: Any, dtype: int, alias: str) -> Any:
    """One value as AddValueToTensor takes it for `dtype`; WarmupError where it would refuse it."""
    if dtype in _INT_RANGES:
        low, high = _INT_RANGES[dtype]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise WarmupError(f"input {alias!r}: {value!r} is not a {dtype_name(dtype)} "
                              f"(an integer from {low} to {high})")
        return value
    if dtype in (pb.DT_FLOAT, pb.DT_DOUBLE):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise WarmupError(f"input {alias!r}: {value!r} is not a number ({dtype_name(dtype)})")
        return float(value)
    if dtype == pb.DT_BOOL:
        if not isinstance(value, bool):
            raise WarmupError(f"input {alias!r}: {value!r} is not true or false ({dtype_name(dtype)})")
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if _is_b64(value):
        try:
            # absl::Base64Unescape: the standard alphabet, whitespace ignored, padding optional.
            text = "".join(value["b64"].split())
            return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WarmupError(f"input {alias!r}: {value['b64'][:20]!r} is not base64 ({exc})") from exc
    raise WarmupError(f"input {alias!r}: {value!r} is not a string or a {{\"b64\": ...}} object (DT_STRING)")


def _fill(value: Any, dims: list[int], level: int, dtype: int, alias: str, out: list[Any]) -> None:
    """FillTensorProto: every list at a level has that level's size, values only at the last."""
    if not isinstance(value, list):
        if level != len(dims):
            raise WarmupError(f"input {alias!r}: a value at depth {level + 1}, where the shape "
                              f"{dims} puts values at depth {len(dims)}")
        out.append(_leaf(value, dtype, alias))
        return
    if level >= len(dims) or len(value) != dims[level]:
        raise WarmupError(f"input {alias!r}: a list of {len(value)} at depth {level + 1} where the first "
                          f"element's shape {dims} says otherwise (every element must have the same shape)")
    for item in value:
        _fill(item, dims, level + 1, dtype, alias, out)


def _tensor(dtype: int, dims: list[int], values: list[Any]) -> pb.TensorProto:
    tensor = pb.TensorProto(dtype=dtype)  # type: ignore[arg-type]
    tensor.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in dims)
    getattr(tensor, _FIELDS[dtype]).extend(values)
    return tensor


def _dtype_supported(signature: Signature) -> None:
    for alias, spec in sorted(signature.inputs.items()):
        if spec.dtype not in _FIELDS:
            raise WarmupError(f"input {alias!r} is {dtype_name(spec.dtype)}, which the REST predict API cannot "
                              "send (json_tensor.cc: UNIMPLEMENTED)")


def request_tensors(body: Any, signature: Signature) -> dict[str, pb.TensorProto]:
    """The tensors TF Serving's REST API makes of `body` for `signature`, checked against the
    signature's shapes (which the server leaves to the graph: some wrong shapes run silently)."""
    if not isinstance(body, dict):
        raise WarmupError("the request is not a JSON object")
    if ("instances" in body) == ("inputs" in body):
        raise WarmupError("the request needs exactly one of 'instances' (rows) or 'inputs' (columns)")
    _dtype_supported(signature)
    names = sorted(signature.inputs)
    if "instances" in body:
        tensors = _rows(body["instances"], signature, names)
    else:
        tensors = _columns(body["inputs"], signature, names)
    for alias, tensor in tensors.items():
        spec = signature.inputs[alias]
        dims = [d.size for d in tensor.tensor_shape.dim]
        if spec.shape is not None and (len(dims) != len(spec.shape) or any(
                want >= 0 and got != want for got, want in zip(dims, spec.shape, strict=True))):
            raise WarmupError(f"input {alias!r} has shape {dims}, the signature {spec.text()}")
    return tensors


def _rows(instances: Any, signature: Signature, names: list[str]) -> dict[str, pb.TensorProto]:
    """FillTensorMapFromInstancesList: each instance an object of every input (a bare value or
    list for a one-input signature), all of one shape; the batch is the first dimension."""
    if not isinstance(instances, list) or not instances:
        raise WarmupError("'instances' must be a non-empty list")
    named = isinstance(instances[0], dict) and not _is_b64(instances[0])
    if not named and len(names) > 1:
        raise WarmupError(f"'instances' is a list of values, the signature has {len(names)} inputs: "
                          "each instance must be an object of them")
    shapes: dict[str, list[int]] = {}
    values: dict[str, list[Any]] = {alias: [] for alias in names}
    for index, instance in enumerate(instances):
        if named != (isinstance(instance, dict) and not _is_b64(instance)):
            raise WarmupError(f"instance {index} is {'not ' if named else ''}an object, instance 0 is"
                              f"{'' if named else ' not'}")
        items = instance.items() if named else [(names[0], instance)]
        if named and sorted(instance) != names:
            raise WarmupError(f"instance {index} has the inputs {sorted(instance)}, the signature {names}")
        for alias, value in items:
            dims = _dense_shape(value)
            if shapes.setdefault(alias, dims) != dims:
                raise WarmupError(f"input {alias!r}: instance {index} has shape {dims}, instance 0 {shapes[alias]}")
            _fill(value, dims, 0, signature.inputs[alias].dtype, alias, values[alias])
    return {alias: _tensor(signature.inputs[alias].dtype, [len(instances), *shapes[alias]], values[alias])
            for alias in names}


def _columns(inputs: Any, signature: Signature, names: list[str]) -> dict[str, pb.TensorProto]:
    """FillTensorMapFromInputsMap: an object of every input (a bare value or list for a one-input
    signature), each shaped as it is nested; no batch dimension is added."""
    if not isinstance(inputs, dict) or _is_b64(inputs):
        if len(names) > 1:
            raise WarmupError(f"'inputs' is a value, the signature has {len(names)} inputs: it must be an "
                              "object of them")
        inputs = {names[0]: inputs}
    missing, extra = sorted(set(names) - set(inputs)), sorted(set(inputs) - set(names))
    if missing or extra:
        # The server ignores an extra one; a request the user wrote with one is a mistake all the same.
        raise WarmupError(f"'inputs' has {sorted(inputs)}, the signature {names}")
    tensors = {}
    for alias in names:
        dims, out = _dense_shape(inputs[alias]), []
        _fill(inputs[alias], dims, 0, signature.inputs[alias].dtype, alias, out)
        tensors[alias] = _tensor(signature.inputs[alias].dtype, dims, out)
    return tensors


def warmup_record(body: Any, signature: Signature, model_name: str) -> bytes:
    """One PredictionLog record of the request (predict_log.request: what RunPredict replays)."""
    log = pb.PredictionLog()
    request = log.predict_log.request
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature.name
    for alias, tensor in sorted(request_tensors(body, signature).items()):
        request.inputs[alias].CopyFrom(tensor)
    # Map entries in key order: the same request, the same bytes, so the upload's MD5 only changes
    # when the request or the signature does.
    return log.SerializeToString(deterministic=True)


def warmup_file(version_dir: Path, body: Any, model_name: str) -> bytes:
    """The warmup file of a version for the REST predict `body`; WarmupError when the body does
    not fit the version's signature or the version's graph cannot be read."""
    name = body.get("signature_name", DEFAULT_SIGNATURE) if isinstance(body, dict) else DEFAULT_SIGNATURE
    if not isinstance(name, str) or not name:
        raise WarmupError("'signature_name' must be a non-empty string")
    signature = signature_of(read_saved_model(version_dir), name)
    try:
        return frame([warmup_record(body, signature, model_name)])
    except WarmupError as exc:
        raise WarmupError(f"{exc} (signature {signature.name!r}: {signature.text()})") from exc
    except RecursionError as exc:
        raise WarmupError(f"the request nests its values deeper than any tensor (signature {signature.name!r}: "
                          f"{signature.text()})") from exc


def read_request(path: Path) -> Any:
    """A REST predict body from a JSON file; WarmupError when it cannot be read as one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WarmupError(os_problem(path, exc)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WarmupError(f"{short(str(path))} is not a JSON request body ({exc})") from exc
    except RecursionError as exc:
        raise WarmupError(f"{short(str(path))} nests its values deeper than any tensor") from exc


def shipped_problem(version_dir: Path) -> Optional[str]:
    """What TF Serving would fail the load on in a version's own warmup file: framing (DataLoss),
    a record that is not a PredictionLog, more records than the limit; None when it would replay."""
    path = version_dir / WARMUP_FILE
    try:
        records = unframe(path.read_bytes())
    except OSError as exc:
        return f"{WARMUP_FILE} cannot be read ({exc})"
    except WarmupError as exc:
        return (f"{WARMUP_FILE}: {exc}, which fails the version's load (\"Please verify your warmup data is in "
                "TFRecord format.\")")
    if len(records) > MAX_RECORDS:
        return (f"{WARMUP_FILE} holds {len(records)} records, more than TF Serving replays ({MAX_RECORDS}): "
                "the load fails")
    for index, record in enumerate(records):
        try:
            pb.PredictionLog.FromString(record)
        except DecodeError:
            return (f"{WARMUP_FILE}: record {index} is not a PredictionLog (\"Failed to parse warmup record\"): "
                    "the load fails")
    return None


def stand_in_graph(body: Any, dtype: int = pb.DT_INT32) -> bytes:
    """A `saved_model.pb` that holds only a serving signature fitting `body` (every input of its
    first instance as `dtype`, any batch size), for a run without the real model (tools/render.py
    --placeholder-model): the warmup file it gets is the one a real export of that signature would."""
    instance = body["instances"][0]
    model = pb.SavedModel(saved_model_schema_version=1)
    graph = model.meta_graphs.add()
    graph.meta_info_def.tags.extend(sorted(SERVING_TAGS))
    signature = graph.signature_def[body.get("signature_name", DEFAULT_SIGNATURE)]
    signature.method_name = "tensorflow/serving/predict"
    for alias, value in sorted(instance.items()):
        info = signature.inputs[alias]
        info.name, info.dtype = f"{alias}:0", dtype  # type: ignore[assignment]
        info.tensor_shape.dim.extend(pb.TensorShapeProto.Dim(size=d) for d in [-1, *_dense_shape(value)])
    return model.SerializeToString(deterministic=True)

"""The warmup file (issue #33): written as TF Serving reads it, checked against the version's own
signature before anything is created, refused by key where a named request does not fit, said
where the default does not, and uploaded beside the version's files.

The file is read back here by a TFRecord reader and a protobuf wire decoder of this test's own
(not config/warmup.py's, not the generated classes), from the field numbers of the releases' protos
cited beside them; and compared byte for byte with the file TensorFlow's own TFRecordWriter and TF
Serving's PredictionLog classes make of the same payload (tests/fixtures/tensorflow/make.py).
"""

from __future__ import annotations

import copy
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import MODEL_VERSION, write_saved_model
from fleet import MODEL, Fleet
from harness import NS, run_expecting_error, run_program
from hypothesis import given
from hypothesis import strategies as st
from inputs import serving_inputs

import settings
from components.serving.spec import LOAD_RETRIES, LOAD_RETRY_INTERVAL_SECONDS
from components.serving.versions import checks
from components.serving.versions.spec import serve_gate_budget
from config import ConfigError
from config import warmup as w
from config.warmup_proto import serving_warmup_pb2 as pb
from loadtest.tfserving_process import ConfigMapHistory, Load, MountedFile, TfServingProcess
from tools.offline import settings_of

FIXTURES = Path(__file__).parent / "fixtures" / "tensorflow"
PAYLOAD = json.loads(settings.LOAD_TEST_PAYLOAD.read_text(encoding="utf-8"))


# --- an independent reader ---------------------------------------------------------------------------

def _crc32c_table() -> list[int]:
    # CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 (RFC 3720 appendix B.4), bit by bit.
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    # tsl/lib/hash/crc32c.h Mask: rotate right by 15 bits and add kMaskDelta 0xa282ead8.
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecords(data: bytes) -> list[bytes]:
    """record_writer.cc's framing, read strictly: uint64 length, masked CRC of the length, data,
    masked CRC of the data, all little-endian; nothing left over."""
    out, at = [], 0
    while at < len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        assert struct.unpack_from("<I", data, at + 8)[0] == masked(crc32c(data[at:at + 8])), at
        record = data[at + 12:at + 12 + length]
        assert len(record) == length, at
        assert struct.unpack_from("<I", data, at + 12 + length)[0] == masked(crc32c(record)), at
        out.append(record)
        at += 12 + length + 4
    assert at == len(data)
    return out


def varint(buf: bytes, at: int) -> tuple[int, int]:
    """The base-128 varint at `at`, and where the next field starts."""
    value, shift = 0, 0
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(buf: bytes) -> list[tuple[int, Any]]:
    """The protobuf wire format: (field number, value) for varints and length-delimited fields."""
    out, at = [], 0
    while at < len(buf):
        key, at = varint(buf, at)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, at = varint(buf, at)
            out.append((number, value))
        elif kind == 2:
            length, at = varint(buf, at)
            out.append((number, buf[at:at + length]))
            at += length
        else:
            raise AssertionError(f"wire type {kind} in a warmup record")
    assert at == len(buf)
    return out


def packed(buf: bytes) -> list[int]:
    """A packed repeated integer field's values (two's complement for the negative ones)."""
    values, at = [], 0
    while at < len(buf):
        value, at = varint(buf, at)
        values.append(value - (1 << 64) if value >= 1 << 63 else value)
    return values


# Field numbers, the same at serving 1.15.0, 2.19.1 and 2.20.0 (tensorflow_serving/apis/
# prediction_log.proto: PredictionLog.predict_log = 6, PredictLog.request = 1; predict.proto:
# PredictRequest.model_spec = 1, inputs = 2 (map: key 1, value 2); model.proto: ModelSpec.name = 1,
# signature_name = 3; tensorflow/core/framework/tensor.proto: dtype = 1, tensor_shape = 2,
# string_val = 8, int_val = 7, int64_val = 10; tensor_shape.proto: dim = 2, Dim.size = 1).
def request_of(record: bytes) -> dict[str, Any]:
    (log,) = [v for n, v in fields(record) if n == 6]
    (request,) = [v for n, v in fields(log) if n == 1]
    spec = dict(fields([v for n, v in fields(request) if n == 1][0]))
    inputs = {}
    for n, entry in fields(request):
        if n != 2:
            continue
        pair = dict(fields(entry))
        tensor = fields(pair[2])
        shape = [dict(fields(d)).get(1, 0) for n2, d in fields(dict(tensor).get(2, b"")) if n2 == 2]
        ints = [x for n2, v in tensor if n2 in (7, 10) for x in packed(v)]
        strings = [v for n2, v in tensor if n2 == 8]
        inputs[pair[1].decode()] = {"dtype": dict(tensor)[1], "shape": shape, "values": ints or strings}
    return {"name": spec[1].decode(), "signature": spec[3].decode(), "inputs": inputs}


def test_the_reader_is_crc32c_and_tensorflows_mask():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720 B.4)
    assert masked(0) == 0xA282EAD8
    assert w.masked_crc(b"123456789") == masked(0xE3069283)


# --- the file as TF Serving reads it -----------------------------------------------------------------

def test_the_file_is_the_one_tensorflow_and_tf_servings_classes_write():
    made = w.warmup_file(FIXTURES / "bert", PAYLOAD, "chnsenticorp")
    assert made == (FIXTURES / "tf_serving_warmup_requests").read_bytes()


def test_the_file_reads_back_as_the_payload_through_an_independent_reader():
    (record,) = tfrecords(w.warmup_file(FIXTURES / "bert", PAYLOAD, "chnsenticorp"))
    request = request_of(record)
    rows = PAYLOAD["instances"]
    assert request["name"] == "chnsenticorp" and request["signature"] == "serving_default"
    assert set(request["inputs"]) == set(rows[0])
    for alias, tensor in request["inputs"].items():
        first = rows[0][alias]
        assert tensor["dtype"] == 3  # DT_INT32 (types.proto), the signature's
        assert tensor["shape"] == [len(rows)] + ([len(first)] if isinstance(first, list) else [])
        flat = [x for row in rows for x in (row[alias] if isinstance(row[alias], list) else [row[alias]])]
        assert tensor["values"] == flat


def test_a_text_format_graph_and_a_64_bit_signature_are_read_too():
    assert w.signature_of(w.read_saved_model(FIXTURES / "bert_text")) == w.signature_of(
        w.read_saved_model(FIXTURES / "bert"))
    (record,) = tfrecords(w.warmup_file(FIXTURES / "bert_int64", PAYLOAD, "m"))
    assert {t["dtype"] for t in request_of(record)["inputs"].values()} == {9}  # DT_INT64


@pytest.mark.parametrize("body, words", [
    ({"instances": [{"text": "很好"}]}, "input_ids"),                      # the text model's request
    ({"instances": [{**PAYLOAD["instances"][0], "input_ids": [1.5] * 128}]}, "input_ids"),  # a float
    ({"instances": [{**PAYLOAD["instances"][0], "input_ids": [1] * 127}]}, "input_ids"),    # a short row
    ({"instances": [{**PAYLOAD["instances"][0], "input_ids": [2**31] * 128}]}, "input_ids"),  # out of int32
    ({"inputs": {"input_ids": [[1] * 128]}}, "input_mask"),               # a missing input
    ({"instances": [{**PAYLOAD["instances"][0], "extra": 1}]}, "extra"),  # an input it has not
    ({**PAYLOAD, "signature_name": "predict"}, "'predict'"),
    ({"instances": []}, "instances"),
])
def test_a_body_that_does_not_fit_the_signature_is_refused_naming_the_input(body, words):
    with pytest.raises(w.WarmupError) as caught:
        w.warmup_file(FIXTURES / "bert", body, "m")
    assert words in str(caught.value)


def test_a_string_model_gets_its_text_and_base64_as_bytes():
    (record,) = tfrecords(w.warmup_file(FIXTURES / "text", {"instances": ["很好", {"b64": "AAE="}]}, "m"))
    tensor = request_of(record)["inputs"]["text"]
    assert tensor["dtype"] == 7 and tensor["shape"] == [2]  # DT_STRING
    assert tensor["values"] == ["很好".encode(), b"\x00\x01"]


# Generated bodies for the BERT signature: valid ones (row or columnar, several rows, any int32
# values) must build a file whose tensors are the body's values; each kind of damage must be a
# WarmupError (never another exception, never a file TF Serving would refuse at load).
SEQ = 128
SEQUENCES = ("input_ids", "input_mask", "segment_ids")
_int32 = st.integers(-2**31, 2**31 - 1)
DAMAGE = ("none", "columnar", "drop", "extra", "length", "fraction", "text", "range", "ragged", "nested")


@st.composite
def bodies(draw) -> tuple[str, dict]:
    def sequence() -> list[int]:
        pattern = draw(st.lists(_int32, min_size=1, max_size=4))
        return [pattern[i % len(pattern)] for i in range(SEQ)]

    rows = [{**{name: sequence() for name in SEQUENCES}, "label_ids": draw(_int32)}
            for _ in range(draw(st.integers(1, 3)))]
    damage = draw(st.sampled_from(DAMAGE))
    row, name = draw(st.sampled_from(rows)), draw(st.sampled_from(SEQUENCES))
    if damage == "drop":
        del row[draw(st.sampled_from([*SEQUENCES, "label_ids"]))]
    elif damage == "extra":
        row[draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in row))] = 1
    elif damage == "length":
        row[name] = row[name][:draw(st.integers(0, SEQ - 1))] if draw(st.booleans()) else row[name] + [0]
    elif damage == "fraction":
        row[name][draw(st.integers(0, SEQ - 1))] = draw(st.floats(allow_nan=False).filter(lambda x: x != int(x)
                                                                                          if abs(x) < 1e300 else True))
    elif damage == "text":
        row[name][draw(st.integers(0, SEQ - 1))] = draw(st.text(max_size=3))
    elif damage == "range":
        row[name][draw(st.integers(0, SEQ - 1))] = draw(st.one_of(st.integers(max_value=-2**31 - 1),
                                                                  st.integers(min_value=2**31)))
    elif damage == "ragged":
        if len(rows) == 1:
            rows.append(copy.deepcopy(rows[0]))
        rows[-1][name] = rows[-1][name][:-1]
    elif damage == "nested":
        row["label_ids"] = [row["label_ids"]]
    if damage == "columnar":
        return damage, {"inputs": {key: [r[key] for r in rows] for key in rows[0]}}
    return damage, {"instances": rows}


@given(bodies())
def test_every_body_becomes_its_own_tensors_or_a_warmup_error(case):
    damage, body = case
    try:
        made = w.warmup_file(FIXTURES / "bert", body, "m")
    except w.WarmupError:
        assert damage not in ("none", "columnar"), body
        return
    assert damage in ("none", "columnar")
    (record,) = tfrecords(made)
    inputs = request_of(record)["inputs"]
    rows = body["instances"] if damage == "none" else [
        {key: column[i] for key, column in body["inputs"].items()} for i in range(len(body["inputs"]["label_ids"]))]
    assert set(inputs) == {*SEQUENCES, "label_ids"}
    for alias, tensor in inputs.items():
        assert tensor["dtype"] == 3  # DT_INT32, the signature's
        assert tensor["shape"] == ([len(rows), SEQ] if alias in SEQUENCES else [len(rows)])
        assert tensor["values"] == [x for r in rows for x in (r[alias] if alias in SEQUENCES else [r[alias]])]


# --- a version's own file ------------------------------------------------------------------------------

def _with_file(tmp_path: Path, content: bytes) -> Path:
    vdir = write_saved_model(tmp_path, MODEL_VERSION)
    (vdir / settings.WARMUP_FILE).parent.mkdir()
    (vdir / settings.WARMUP_FILE).write_bytes(content)
    return vdir


def test_a_version_that_ships_a_replayable_file_is_left_as_it_is(tmp_path):
    assert w.shipped_problem(_with_file(tmp_path, (FIXTURES / "tf_serving_warmup_requests").read_bytes())) is None


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[:-3], "truncated record at 0"),                       # short data (record_reader.cc)
    (lambda b: b[:8] + b"\0\0\0\0" + b[12:], "corrupted record at 0"),  # the length's CRC
    (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], "corrupted record at 12"),  # the data's CRC
    (lambda b: w.frame([b"\xff\xff"]), "not a PredictionLog"),
    (lambda b: w.frame([b"x"]), "not a PredictionLog"),
    (lambda b: b * (w.MAX_RECORDS + 1), "more than TF Serving replays (1000)"),
])
def test_a_version_that_ships_a_file_tf_serving_cannot_replay_is_named(tmp_path, damage, words):
    good = (FIXTURES / "tf_serving_warmup_requests").read_bytes()
    problem = w.shipped_problem(_with_file(tmp_path, damage(good)))
    assert problem is not None and words in problem


def test_a_thousand_records_replay():
    good = (FIXTURES / "tf_serving_warmup_requests").read_bytes()
    assert len(w.unframe(good * w.MAX_RECORDS)) == w.MAX_RECORDS


# --- the config's front door ------------------------------------------------------------------------

def _model(config: dict) -> dict:
    return config.setdefault(NS + "model", {})


def test_the_shipped_stacks_warm_every_version_they_upload(dev_config):
    resolved, warnings = settings_of(dev_config, "dev")
    assert not [x for x in warnings if "warmup" in x]
    assert resolved.model.warmup.files == {
        MODEL_VERSION: w.warmup_file(Path("models/chnsenticorp") / str(MODEL_VERSION), PAYLOAD, "chnsenticorp")}
    assert resolved.model.warmup.warm(MODEL_VERSION)


def test_a_named_request_that_does_not_fit_is_refused_by_key_before_anything_exists(dev_config, project_dir):
    (project_dir / "text.json").write_text(json.dumps({"instances": ["很好"]}), encoding="utf-8")
    _model(dev_config)["warmup"] = {"request": "text.json"}
    error, result = run_expecting_error(dev_config)
    assert isinstance(error, ConfigError) and result.resources == []
    (key, why), = error.problems
    assert key == "model.warmup.request" and f"version {MODEL_VERSION}" in why and "input_ids" in why


@pytest.mark.parametrize("request_path, words", [
    ("broken.json", "is not a JSON request body"),
    ("deep.json", "nests its values deeper than any tensor"),
    ("missing.json", "'missing.json' cannot be read: No such file or directory"),
    ("models", "'models' cannot be read: Is a directory"),
    ("x" * 5000, "cannot be read: File name too long (a path of 5000 characters"),
    ("~/warmup.json", "starts with '~', which is not expanded"),
])
def test_a_named_request_that_cannot_be_read_is_refused_by_key(dev_config, project_dir, request_path, words):
    (project_dir / "broken.json").write_text("{", encoding="utf-8")
    (project_dir / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _model(dev_config)["warmup"] = {"request": request_path}
    with pytest.raises(ConfigError) as caught:
        settings_of(dev_config, "dev")
    (key, why), = caught.value.problems
    assert key == "model.warmup.request" and words in why and len(why) < 300


def test_a_named_request_that_fits_is_the_one_replayed(dev_config, project_dir):
    body = {"inputs": {name: [[0] * 128] for name in ("input_ids", "input_mask", "segment_ids")} | {"label_ids": [0]}}
    (project_dir / "one.json").write_text(json.dumps(body), encoding="utf-8")
    _model(dev_config)["warmup"] = {"request": "one.json"}
    (record,) = tfrecords(settings_of(dev_config, "dev")[0].model.warmup.files[MODEL_VERSION])
    assert request_of(record)["inputs"]["label_ids"] == {"dtype": 3, "shape": [1], "values": [0]}


def test_a_default_request_that_does_not_fit_is_said_and_no_file_is_uploaded(dev_config, project_dir):
    vdir = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION)
    (vdir / "saved_model.pb").write_bytes((FIXTURES / "text" / "saved_model.pb").read_bytes())
    result = run_program(dev_config)
    (warning,) = [x for x in result.warnings if x.startswith("model.warmup.request")]
    assert "does not fit version" in warning and "no warmup file is uploaded" in warning and "--payload" in warning
    assert not [r for r in result.resources if "tf_serving_warmup_requests" in r.name]
    # Switched off, the load test's misfit is still said: its requests would not reach the model.
    _model(dev_config)["warmup"] = {"enabled": False}
    (warning,) = [x for x in settings_of(dev_config, "dev")[1] if x.startswith("model.warmup.request")]
    assert "no warmup file" not in warning and "--payload" in warning


def test_a_version_that_ships_a_broken_file_is_refused_by_its_index(dev_config, project_dir):
    vdir = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION)
    (vdir / "assets.extra").mkdir()
    (vdir / settings.WARMUP_FILE).write_bytes(b"not a tfrecord file at all")
    with pytest.raises(ConfigError) as caught:
        settings_of(dev_config, "dev")
    (key, why), = caught.value.problems
    assert key == "model.versions[0]" and "corrupted record at 0" in why


def test_a_version_that_ships_a_good_file_uploads_it_and_the_stack_makes_none(dev_config, project_dir):
    vdir = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION)
    (vdir / "assets.extra").mkdir()
    (vdir / settings.WARMUP_FILE).write_bytes((FIXTURES / "tf_serving_warmup_requests").read_bytes())
    warm = settings_of(dev_config, "dev")[0].model.warmup
    assert warm.files == {} and warm.shipped == (MODEL_VERSION,) and warm.warm(MODEL_VERSION)


def test_switched_off_no_file_is_made(dev_config):
    _model(dev_config)["warmup"] = {"enabled": False}
    assert not settings_of(dev_config, "dev")[0].model.warmup.warm(MODEL_VERSION)


def test_the_canary_carries_its_own_warmup_file(prod_config, project_dir):
    new = MODEL_VERSION + 1
    write_saved_model(project_dir / "models" / "chnsenticorp", new)
    model = _model(prod_config)
    model.update(versions=[MODEL_VERSION, new], serve=MODEL_VERSION, canary={"version": new, "weight": 10})
    names = [r.name for r in run_program(copy.deepcopy(prod_config), "prod").resources]
    for version in (MODEL_VERSION, new):
        assert any(name.endswith(f"model-v{version}/{settings.WARMUP_FILE}") for name in names), version
    assert sum(1 for name in names if name.endswith(settings.WARMUP_FILE)) > 2  # and the canary's copies


# --- the server replays it (loadtest/tfserving_process.py `replay`) ------------------------------------

GOLDEN = (FIXTURES / "tf_serving_warmup_requests").read_bytes()
BERT = w.signature_of(w.read_saved_model(FIXTURES / "bert"))
BERT_INT64 = w.signature_of(w.read_saved_model(FIXTURES / "bert_int64"))


def _served(load: Load) -> tuple[float, dict]:
    """When the version's load ends on a fresh server, and its status then."""
    config = ConfigMapHistory()
    config.set(0, (MODEL_VERSION,))
    process = TfServingProcess("m", MountedFile(config, 0, None).read, {MODEL_VERSION: load},
                               max_retries=LOAD_RETRIES, retry_interval=LOAD_RETRY_INTERVAL_SECONDS)
    t = 0.0
    while process.monitor[MODEL_VERSION][0] == "LOADING" or process.monitor[MODEL_VERSION][0] == "START":
        t += 1
        process.advance(t)
    return t, process.status(MODEL_VERSION)[1]["model_version_status"][0]


def test_the_file_the_stack_writes_replays_and_the_version_turns_available_after_it():
    t, status = _served(Load(20, warmup=w.warmup_file(FIXTURES / "bert", PAYLOAD, "m"), request_seconds=8,
                             signature=BERT))
    assert status["state"] == "AVAILABLE" and t == 20 + 8  # the load, then the one request's first run
    assert _served(Load(20))[0] == 20  # no file: "No warmup data file found", at once


@pytest.mark.parametrize("file, signature, code, words, replayed", [
    (GOLDEN[:8] + b"\0\0\0\0" + GOLDEN[12:], BERT, "DATA_LOSS",
     "corrupted record at 0 (Is this even a TFRecord file?). Please verify your warmup data is in TFRecord format.", 0),
    (GOLDEN + GOLDEN[:-1], BERT, "DATA_LOSS", f"truncated record at {len(GOLDEN)}' failed with", 1),
    (GOLDEN, BERT_INT64, "INVALID_ARGUMENT", "to be int64 but int32 is provided", 1),
    (w.frame([b"\xff"]), BERT, "INVALID_ARGUMENT", "Failed to parse warmup record", 0),
    (GOLDEN * (w.MAX_RECORDS + 1), BERT, "INVALID_ARGUMENT", "Number of warmup records exceeds the maximum (1000)",
     w.MAX_RECORDS + 1),
])
def test_a_replay_that_fails_fails_every_attempt_and_the_version_ends_with_its_status(file, signature, code, words,
                                                                                      replayed):
    t, status = _served(Load(20, warmup=file, request_seconds=1, signature=signature))
    assert status["state"] == "END" and status["status"]["error_code"] == code
    assert words in status["status"]["error_message"]
    # Each attempt loads and replays what comes before the failure again: 1 + the retries, apart.
    assert t == (LOAD_RETRIES + 1) * (20 + replayed) + LOAD_RETRIES * LOAD_RETRY_INTERVAL_SECONDS


def test_the_serve_gate_reports_a_version_whose_warmup_fails():
    damaged = GOLDEN[:20] + bytes([GOLDEN[20] ^ 1]) + GOLDEN[21:]
    fleet = Fleet({1: Load(20), 2: Load(20, warmup=damaged, signature=BERT)}, (1,), 1)
    fleet.change((1, 2))
    budget = serve_gate_budget(serving_inputs(poll_seconds=60, in_place=fleet.in_place, jit_compile=False))
    problem = checks.serve_problem(fleet.addresses, fleet.get, MODEL, [2, 1], budget.seconds, budget.settle,
                                   wait=fleet.wait, clock=fleet.clock)
    assert problem is not None and ("version 2: END (DATA_LOSS: corrupted record at 12. Please verify your warmup "
                                    "data is in TFRecord format.)") in problem
    assert all(p.process.available(1) for p in fleet.pods)  # the version it served before keeps serving


# --- what a mutation sample found untested (docs/testing.md) ------------------------------------------

def test_the_placeholder_graph_has_the_signature_tensorflow_exports_for_the_payload(tmp_path):
    """tools/render.py --placeholder-model: its graph's signature is the BERT export's, method too."""
    made = pb.SavedModel.FromString(w.stand_in_graph(PAYLOAD))
    exported = w.read_saved_model(FIXTURES / "bert")
    (tmp_path / "saved_model.pb").write_bytes(made.SerializeToString())
    assert w.signature_of(w.read_saved_model(tmp_path)) == BERT
    assert made.meta_graphs[0].signature_def["serving_default"].method_name == \
        exported.meta_graphs[0].signature_def["serving_default"].method_name


def test_a_bare_columnar_value_fits_only_a_one_input_signature(tmp_path):
    two = tmp_path / "two"
    two.mkdir()
    (two / "saved_model.pb").write_bytes(w.stand_in_graph({"instances": [{"a": 1, "b": 2}]}))
    with pytest.raises(w.WarmupError, match="'inputs' is a value, the signature has 2 inputs"):
        w.warmup_file(two, {"inputs": [1, 2]}, "m")
    (record,) = tfrecords(w.warmup_file(FIXTURES / "text", {"inputs": ["a", "bc"]}, "m"))
    assert request_of(record)["inputs"]["text"]["values"] == [b"a", b"bc"]


def test_a_graph_without_a_serving_meta_graph_or_signature_is_said(tmp_path):
    model = pb.SavedModel()
    model.meta_graphs.add().meta_info_def.tags.extend(["train", "gpu"])
    with pytest.raises(w.WarmupError, match=r"no meta graph tagged 'serve'.*tags found: \[\['gpu', 'train'\]\]"):
        w.signature_of(model)
    with pytest.raises(w.WarmupError, match="no signature 'predict' .found: __saved_model_init_op, serving_default."):
        w.signature_of(w.read_saved_model(FIXTURES / "bert"), "predict")
    with pytest.raises(w.WarmupError, match="neither saved_model.pb nor saved_model.pbtxt can be read"):
        w.read_saved_model(tmp_path)


def test_an_input_of_unknown_rank_reads_as_such():
    assert w.TensorSpec(1, None).text() == "DT_FLOAT ?" and w.TensorSpec(3, (-1, 128)).text() == "DT_INT32 [None, 128]"


def test_a_request_in_chinese_reads_the_same_under_any_locale(tmp_path):
    """The request file is UTF-8 whatever the machine's locale says (a C locale reads ASCII)."""
    path = tmp_path / "zh.json"
    path.write_text(json.dumps({"instances": ["这家酒店很好"]}, ensure_ascii=False), encoding="utf-8")
    assert w.read_request(path) == {"instances": ["这家酒店很好"]}
    code = f"from pathlib import Path; from config.warmup import read_request; print(read_request(Path({str(path)!r})))"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", env=env,
                          cwd=Path(__file__).parent.parent, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'instances': ['这家酒店很好']}"

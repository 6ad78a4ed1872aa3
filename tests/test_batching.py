"""Server-side batching (`serving.batching`): off by default; when set, the flags and a mounted
text-format BatchingParameters file that parses as the image's own release's message (the proto
transcribed in config/batching_proto), each value refused by name when TF Serving would refuse it
or not know it, and a change rolls the pods (TF Serving reads the file only at start).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from google.protobuf import text_format
from harness import NS, run_expecting_error, run_program

from components.serving.spec import BATCHING_ANNOTATION, BATCHING_FILE, CONFIG_DIR
from config import batching_proto

BATCHING = {"maxBatchSize": 32, "batchTimeoutMicros": 2000, "numBatchThreads": 4, "maxEnqueuedBatches": 4}


def batching(cfg: dict, section: dict, image: str = "") -> dict:
    cfg = copy.deepcopy(cfg)
    serving = cfg[NS + "serving"]
    serving["batching"] = section
    if image:
        serving["image"] = image
    return cfg


def container(result) -> dict:
    return result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]


def config_file(result) -> str:
    config = next(m for m in result.manifests() if m["kind"] == "ConfigMap" and BATCHING_FILE in m.get("data", {}))
    return config["data"][BATCHING_FILE]


def test_batching_is_off_unless_asked(rendered):
    for result in (rendered[("dev", False)], rendered[("prod", False)]):
        assert not [a for a in container(result)["args"] if "batching" in a]
        assert not [m for m in result.manifests() if BATCHING_FILE in m.get("data", {})]
        assert BATCHING_ANNOTATION not in result.kind("Deployment")["spec"]["template"]["metadata"]["annotations"]


def test_the_server_reads_a_mounted_file_of_the_images_release(dev_config):
    result = run_program(batching(dev_config, BATCHING))
    args = container(result)["args"]
    assert "--enable_batching=true" in args
    assert f"--batching_parameters_file={CONFIG_DIR}/{BATCHING_FILE}" in args
    assert any(m["mountPath"] == CONFIG_DIR for m in container(result)["volumeMounts"])
    parsed = text_format.Parse(config_file(result), batching_proto.message_class("1.15.0")())
    assert (parsed.max_batch_size.value, parsed.batch_timeout_micros.value, parsed.num_batch_threads.value,
            parsed.max_enqueued_batches.value) == (32, 2000, 4, 4)
    assert not parsed.HasField("thread_pool_name")


def test_a_change_of_the_parameters_rolls_the_pods(dev_config):
    def mark(section):
        result = run_program(batching(dev_config, section))
        return result.kind("Deployment")["spec"]["template"]["metadata"]["annotations"][BATCHING_ANNOTATION]

    assert mark(BATCHING) != mark({**BATCHING, "batchTimeoutMicros": 1000})


def test_large_batch_splitting_needs_a_release_that_has_it(dev_config):
    section = {**BATCHING, "enableLargeBatchSplitting": True, "maxExecutionBatchSize": 16}
    error, result = run_expecting_error(batching(dev_config, section))
    for key in ("enableLargeBatchSplitting", "maxExecutionBatchSize"):
        assert (f"  - serving.batching.{key}: TF Serving 1.15.0-gpu has no such BatchingParameters field (it came "
                "in 2.4.0") in str(error), str(error)
    assert result.resources == []
    newer = run_program(batching(dev_config, section, image="tensorflow/serving:2.19.1-gpu"))
    parsed = text_format.Parse(config_file(newer), batching_proto.message_class("2.19.1")())
    assert parsed.enable_large_batch_splitting.value is True and parsed.max_execution_batch_size.value == 16


@pytest.mark.parametrize("section,key,words", [
    ({**BATCHING, "allowedBatchSizes": [8, 16]}, "serving.batching.allowedBatchSizes",
     "ends with 16; TF Serving refuses to load the model unless the last entry is maxBatchSize (32)"),
    ({**BATCHING, "allowedBatchSizes": [16, 8, 32]}, "serving.batching.allowedBatchSizes", "not in increasing order"),
    ({**BATCHING, "batchTimeoutMicros": -1}, "serving.batching.batchTimeoutMicros", "greater than or equal to 0"),
    ({**BATCHING, "numBatchThreads": 0}, "serving.batching.numBatchThreads", "greater than or equal to 1"),
    ({"batchTimeoutMicros": 10}, "serving.batching.maxBatchSize", "required"),
    ({**BATCHING, "maxBatchsize": 32}, "serving.batching.maxBatchsize", "did you mean 'maxBatchSize'?"),
    ({**BATCHING, "servingVersion": "2.19"}, "serving.batching.servingVersion", "a TF Serving release such as"),
], ids=["last-size", "order", "timeout", "threads", "no-max", "typo", "version"])
def test_values_tf_serving_refuses_are_refused_by_name(dev_config, section, key, words):
    error, result = run_expecting_error(batching(dev_config, section))
    assert f"  - {key}: " in str(error) and words in str(error), str(error)
    assert result.resources == []


@pytest.mark.parametrize("section,words", [
    ({**BATCHING, "maxExecutionBatchSize": 8}, "is read only with enableLargeBatchSplitting: true"),
    ({**BATCHING, "enableLargeBatchSplitting": True, "maxExecutionBatchSize": 64}, "64 is above maxBatchSize (32)"),
])
def test_the_execution_batch_is_refused_where_the_scheduler_would(dev_config, section, words):
    error, _ = run_expecting_error(batching(dev_config, section, image="tensorflow/serving:2.19.1-gpu"))
    assert "  - serving.batching.maxExecutionBatchSize: " in str(error) and words in str(error), str(error)


def test_an_image_whose_tag_is_no_release_must_say_which_it_runs(dev_config):
    mirror = "registry.cn-beijing.aliyuncs.com/team/serving:bert-v3"
    cfg = batching(dev_config, BATCHING, image=mirror)
    cfg[NS + "serving"]["imageBuild"] = {"cuda": "10.0", "kernels": ["sm_75", "compute_70"]}
    error, _ = run_expecting_error(cfg)
    assert "  - serving.batching.servingVersion: is required: the image's tag" in str(error), str(error)
    cfg[NS + "serving"]["batching"] = {**BATCHING, "servingVersion": "2.19.1"}
    result = run_program(cfg)
    text_format.Parse(config_file(result), batching_proto.message_class("2.19.1")())


def test_each_field_is_written_in_the_shape_its_descriptor_has():
    text = batching_proto.text("2.19.1", [("max_batch_size", 8), ("allowed_batch_sizes", [4, 8]),
                                          ("pad_variable_length_inputs", True),
                                          ("enable_large_batch_splitting", False)])
    assert text == ("max_batch_size { value: 8 }\nallowed_batch_sizes: 4\nallowed_batch_sizes: 8\n"
                    "pad_variable_length_inputs: true\nenable_large_batch_splitting { value: false }\n")
    parsed = text_format.Parse(text, batching_proto.message_class("2.19.1")())
    assert list(parsed.allowed_batch_sizes) == [4, 8] and parsed.pad_variable_length_inputs is True
    with pytest.raises(KeyError):
        batching_proto.text("1.15.0", [("enable_large_batch_splitting", True)])
    # What the round trip catches that a table of names could not: a writer's wrong shape or type.
    for wrong in ("max_batch_size: 8\n", "max_batch_size { value: true }\n", "allowed_batch_sizes { value: 4 }\n",
                  "max_batch_size { value: 9223372036854775808 }\n"):
        with pytest.raises(text_format.ParseError):
            text_format.Parse(wrong, batching_proto.message_class("2.19.1")())


@pytest.mark.parametrize("version", ["1.15.0", "2.19.1"])
def test_the_generated_module_is_the_committed_proto(version):
    """The _pb2 module (protoc's output, config/batching_proto/README.md) has exactly the fields of
    the .proto beside it: names, numbers, repeated or not."""
    source = (Path(batching_proto.__file__).parent / f"batching_parameters_{version.replace('.', '_')}.proto")
    declared = {(name, int(number), bool(repeated)) for repeated, name, number in re.findall(
        r"^\s*(repeated\s+)?[\w.]+\s+(\w+)\s*=\s*(\d+);", source.read_text(), re.MULTILINE)}
    fields = batching_proto.message_class(version).DESCRIPTOR.fields
    assert {(f.name, f.number, f.label == f.LABEL_REPEATED) for f in fields} == declared
    assert len(declared) == (7 if version == "1.15.0" else 9)


@pytest.mark.parametrize("version,schema", [("1.14.0", "1_15_0"), ("2.3.4", "1_15_0"), ("2.4.0", "2_19_1"),
                                            ("2.20.0-gpu", "2_19_1")])
def test_a_release_reads_the_schema_of_its_line(version, schema):
    assert batching_proto.message_class(version).__module__.endswith(f"batching_parameters_{schema}_pb2")

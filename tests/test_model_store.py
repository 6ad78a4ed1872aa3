"""ModelStore: bucket hardening, the upload (keys and MD5s), protect/destroy per stack."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from conftest import MODEL_VERSION, write_saved_model
from harness import run_program

from components.storage import model_files
from config.account import FoundBucket, bucket_problem
from settings import WARMUP_FILE

BUCKET = "alicloud:oss/bucket:Bucket"
OBJECT = "alicloud:oss/bucketObject:BucketObject"
HARDENING = {
    "alicloud:oss/bucketAcl:BucketAcl": {"acl": "private"},
    "alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock": {"blockPublicAccess": True},
    "alicloud:oss/bucketServerSideEncryption:BucketServerSideEncryption": {"sseAlgorithm": "AES256"},
    "alicloud:oss/bucketVersioning:BucketVersioning": {"status": "Enabled"},
}
MODEL_FILES = [
    "assets/vocab.txt",
    "saved_model.pb",
    "variables/variables.data-00000-of-00001",
    "variables/variables.index",
]


def md5_b64(path: Path) -> str:
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


@pytest.fixture(params=[False, True], ids=["update", "preview"])
def preview(request) -> bool:
    return request.param


def test_dev_bucket_is_hardened_and_destroyable(dev_config, preview):
    result = run_program(dev_config, "dev", preview)
    bucket = result.one(BUCKET)
    assert bucket.inputs["forceDestroy"] is True
    assert bucket.protect is False
    assert bucket.inputs["bucket"] == result.exports["bucket"]
    for type_, expected in HARDENING.items():
        resource = result.one(type_)
        for key, value in expected.items():
            assert resource.inputs[key] == value, (type_, key)
        assert resource.inputs["bucket"] == bucket.inputs["bucket"]
        assert bucket.urn in resource.dependencies
        assert resource.protect is False
    assert all(not o.protect for o in result.of_type(OBJECT))


def test_prod_bucket_is_protected_and_its_objects_are_not(prod_config, preview):
    result = run_program(prod_config, "prod", preview)
    bucket = result.one(BUCKET)
    assert bucket.inputs["bucket"] == "acme-bert-models-prod"
    assert bucket.inputs["forceDestroy"] is False
    assert bucket.protect is True
    for type_ in HARDENING:
        assert result.one(type_).protect is True, type_
    objects = result.of_type(OBJECT)
    assert objects and not any(o.protect for o in objects)  # see test_delivery: objects come and go
    assert {o.inputs["key"] for o in objects} == {
        f"models/tensorflow/chnsenticorp/{MODEL_VERSION}/{f}" for f in [*MODEL_FILES, WARMUP_FILE]
    }
    assert result.exports["modelUri"] == "oss://acme-bert-models-prod/models/tensorflow/chnsenticorp"


def test_every_file_is_uploaded_with_its_md5_after_the_hardening(dev_config, project_dir, preview):
    result = run_program(dev_config, "dev", preview)
    bucket = result.one(BUCKET)
    hardening_urns = {result.one(t).urn for t in HARDENING}
    objects = {o.inputs["key"]: o for o in result.of_type(OBJECT)}
    expected_keys = {f"models/chnsenticorp/{MODEL_VERSION}/{f}" for f in [*MODEL_FILES, WARMUP_FILE]}
    assert set(objects) == expected_keys  # .DS_Store is not part of the model; the warmup file is made
    for rel in MODEL_FILES:
        obj = objects[f"models/chnsenticorp/{MODEL_VERSION}/{rel}"]
        local = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION) / rel
        assert obj.inputs["contentMd5"] == md5_b64(local)
        # Relative, as configured: the same state on every machine.
        assert obj.inputs["source"] == f"models/chnsenticorp/{MODEL_VERSION}/{rel}"
        assert obj.inputs["bucket"] == bucket.inputs["bucket"]
        assert obj.inputs["serverSideEncryption"] == "AES256"
        assert hardening_urns <= set(obj.dependencies)
        assert obj.parent == result.one("elastic-inference:storage:ModelStore").urn
    # The generated warmup file: written where the provider uploads it from, tracked by its MD5 too.
    warm = objects[f"models/chnsenticorp/{MODEL_VERSION}/{WARMUP_FILE}"]
    written = project_dir / warm.inputs["source"]
    assert warm.inputs["source"] == (f"build/warmup/{bucket.inputs['bucket']}/models/chnsenticorp/"
                                     f"{MODEL_VERSION}/{WARMUP_FILE}")
    assert warm.inputs["contentMd5"] == md5_b64(written) and hardening_urns <= set(warm.dependencies)
    assert result.exports["modelUri"] == f"oss://{bucket.inputs['bucket']}/models/chnsenticorp"
    assert result.exports["ossEndpoint"] == "oss-cn-beijing-internal.aliyuncs.com"


def test_only_served_versions_are_uploaded(dev_config, project_dir):
    base = project_dir / "models" / "chnsenticorp"
    write_saved_model(base, 1700000000)
    write_saved_model(base, 1600000000)  # present on disk, not served
    dev_config["elastic-inference:model"]["versions"] = [MODEL_VERSION, 1700000000]
    result = run_program(dev_config)
    versions = {o.inputs["key"].split("/")[2] for o in result.of_type(OBJECT)}
    assert versions == {str(MODEL_VERSION), "1700000000"}


def test_an_edited_file_changes_only_its_object(dev_config, project_dir):
    before = {o.name: o.inputs for o in run_program(dev_config).of_type(OBJECT)}
    index = project_dir / "models" / "chnsenticorp" / str(MODEL_VERSION) / "variables" / "variables.index"
    index.write_bytes(b"retrained")
    after = {o.name: o.inputs for o in run_program(dev_config).of_type(OBJECT)}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {f"model-v{MODEL_VERSION}/variables/variables.index"}
    assert after[f"model-v{MODEL_VERSION}/variables/variables.index"]["contentMd5"] == md5_b64(index)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_two_runs_register_identical_inputs(stack, dev_config, prod_config):
    config = dev_config if stack == "dev" else prod_config
    first = run_program(config, stack)
    second = run_program(config, stack)
    def as_map(r):
        return {x.urn: (x.inputs, x.protect, sorted(x.dependencies)) for x in r.resources}

    assert as_map(first) == as_map(second)
    assert first.exports == second.exports


def test_oss_source_uploads_nothing_and_manages_no_bucket(dev_config, preview):
    dev_config["elastic-inference:model"]["source"] = "oss://shared-models/teams/nlp/chnsenticorp"
    result = run_program(dev_config, "dev", preview)
    assert not [r for r in result.resources if r.type.startswith("alicloud:oss/")]
    assert result.exports["bucket"] == "shared-models"
    assert result.exports["modelUri"] == "oss://shared-models/teams/nlp/chnsenticorp"


def test_content_md5_streams_in_chunks(tmp_path, monkeypatch):
    """A 400 MB variables shard must never be read whole: every read is at most one chunk."""
    big = tmp_path / "variables.data-00000-of-00001"
    payload = bytes(range(256)) * (3 * model_files._CHUNK // 256 + 7)
    big.write_bytes(payload)
    reads = []
    real_open = Path.open

    def spying_open(self, *args, **kwargs):
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read

        def read(size=-1):
            reads.append(size)
            return real_read(size)

        handle.read = read
        return handle

    monkeypatch.setattr(Path, "open", spying_open)
    assert model_files.content_md5(big) == base64.b64encode(hashlib.md5(payload).digest()).decode()
    assert reads and all(0 < size <= model_files._CHUNK for size in reads)


def test_object_key_layout():
    assert model_files.object_key("models/bert", 7, "variables/variables.index") == (
        "models/bert/7/variables/variables.index"
    )


def test_model_files_are_sorted_and_skip_hidden(tmp_path):
    base = tmp_path / "m"
    write_saved_model(base, 2)
    write_saved_model(base, 1)
    (base / "1" / ".git").mkdir()
    (base / "1" / ".git" / "HEAD").write_text("ref")
    files = model_files.model_files(base, "p", [2, 1])
    assert [(f.version, f.relative_path) for f in files] == [
        (v, rel) for v in (1, 2) for rel in MODEL_FILES
    ]


@pytest.mark.parametrize("tags, owner", [
    ({"app": "elastic-inference", "stack": "prod"}, "stack 'prod' of elastic-inference"),
    ({"stack": "prod"}, "something other than this stack"),            # a stack tag alone is not ours
    ({"app": "elastic-inference"}, "something other than this stack"),  # nor the app tag alone
    ({"team": "search"}, "something other than this stack"),
])
def test_a_taken_bucket_names_its_owner_only_from_both_tags(tags, owner):
    key, message = bucket_problem("acme-models", True, FoundBucket(tags, ()), "dev")
    assert key == "storage.bucket" and f"belongs to {owner}" in message
    assert "turns versioning on for the whole bucket, for good" in message  # said before any import
    ours = FoundBucket({"app": "elastic-inference", "stack": "dev"}, ("expire-noncurrent-model-versions",))
    assert bucket_problem("acme-models", True, ours, "dev") is None
    assert bucket_problem("acme-models", True, None, "dev") is None


def test_a_bucket_whose_tags_could_not_be_read_names_the_permission():
    """The provider's buckets data source drops a failed GetBucketTagging and reports no tags: the
    stack's own bucket would look like a stranger's."""
    key, message = bucket_problem("acme-models", True, FoundBucket({}, ()), "dev")
    assert key == "storage.bucket" and "lacks oss:GetBucketTagging" in message
    assert "belongs to" not in message


@pytest.mark.parametrize("found, lost", [
    (FoundBucket({"app": "elastic-inference", "stack": "dev"}, ("archive-logs",)), "lifecycle rule(s) archive-logs"),
    (FoundBucket({"app": "elastic-inference", "stack": "dev", "cost-center": "ml"}, ()), "tag(s) cost-center=ml"),
])
def test_an_adopted_bucket_is_not_stripped_of_its_rules_or_tags(found, lost):
    """The provider replaces a bucket's whole lifecycle configuration and tag set: refuse, naming
    what would go, rather than remove it in the next update."""
    key, message = bucket_problem("acme-models", True, found, "dev")
    assert key == "storage.bucket" and lost in message and "would remove" in message


def test_the_bucket_is_tagged_as_this_stacks(rendered):
    """The tags are how a later run recognises its own bucket (config/account.py)."""
    assert rendered[("dev", False)].one("alicloud:oss/bucket:Bucket").inputs["tags"] == {
        "app": "elastic-inference", "stack": "dev", "managed-by": "pulumi"}
    assert rendered[("prod", False)].one("alicloud:oss/bucket:Bucket").inputs["tags"]["stack"] == "prod"

"""URNs are a promise to every stack that exists: a changed type token, name or parent makes
`pulumi up` delete and recreate the resource (the bucket and the node pool included). Both
stacks' URNs are pinned in tests/golden/urns.<stack>.txt, reviewed like code; a deliberate
change regenerates them (`python -m tools.urns --stack <stack> --write`) together with the
`aliases` that keep existing stacks in place."""

from __future__ import annotations

import pytest

from tools import urns


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_urns_are_the_golden_ones(stack):
    golden = urns.golden_file(stack).read_text(encoding="utf-8").splitlines()
    current = urns.urns(stack)
    assert current == golden, (
        f"URNs of {stack} changed: added {sorted(set(current) - set(golden))}, "
        f"removed {sorted(set(golden) - set(current))}. A renamed resource is deleted and "
        "recreated on every existing stack: add an alias, then regenerate the golden list."
    )


@pytest.mark.parametrize("stack,stateful", [
    ("dev", ["alicloud:oss/bucket:Bucket::model-bucket", "alicloud:ram/accessKey:AccessKey::model-volume-reader-key",
             "kubernetes:core/v1:PersistentVolume::model-volume-pv"]),
    ("prod", ["alicloud:oss/bucket:Bucket::model-bucket", "alicloud:cs/nodePool:NodePool::capacity-pool",
              "alicloud:oss/bucketObject:BucketObject::model-v1623831335/saved_model.pb"]),
])
def test_the_stateful_resources_are_pinned_under_their_components(stack, stateful):
    golden = urns.golden_file(stack).read_text(encoding="utf-8")
    for tail in stateful:
        assert f"${tail}\n" in golden, tail  # '$': a child of a component, never of the stack

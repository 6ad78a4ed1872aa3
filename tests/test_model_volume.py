"""The model volume: the least-privilege reader (a RAM user whose key stays in a Secret, or an RRSA
role), the static OSS PV and its claim."""

from __future__ import annotations

import json
import re

import pytest
from harness import (
    FAKE_ACCESS_KEY_SECRET,
    FAKE_ACCOUNT_ID,
    run_program,
)
from inputs import SECRET, volume_inputs, with_rrsa

from components.storage import volume_spec
from components.storage.volume_spec import CSI_DRIVER, CSI_FUSE_SUBJECT
from config.rules.quantities import parse_quantity


def test_reader_identities_are_force_deleted(dev_config, prod_config):
    """Destroy never stalls on a user that still has keys, a role or policy still attached."""
    dev = run_program(dev_config)
    assert dev.one("alicloud:ram/user:User").inputs["force"] is True
    assert dev.one("alicloud:ram/policy:Policy").inputs["force"] is True
    assert run_program(with_rrsa(prod_config), "prod").one("alicloud:ram/role:Role").inputs["force"] is True


def test_the_reader_key_secret_is_encrypted_in_the_state(rendered):
    """The access key's secret is an output of the key resource: the engine must store it
    encrypted in the stack's state, not only in the Kubernetes Secret."""
    key = rendered[("dev", False)].one("alicloud:ram/accessKey:AccessKey")
    assert "secret" in key.additional_secret_outputs


def test_rrsa_role_gets_the_read_policy(prod_config):
    result = run_program(with_rrsa(prod_config), "prod")
    policy, role = result.one("alicloud:ram/policy:Policy"), result.one("alicloud:ram/role:Role")
    attachment = result.one("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs == {"roleName": role.inputs["roleName"], "policyName": policy.inputs["policyName"],
                                 "policyType": "Custom"}
    assert "oss:GetObject" in json.dumps(json.loads(policy.inputs["policyDocument"]))


def test_ram_documents_carry_the_policy_language_version(prod_config):
    """RAM accepts a policy or trust document only with "Version": "1" (its policy grammar)."""
    result = run_program(with_rrsa(prod_config), "prod")
    for registration, key in ((result.one("alicloud:ram/policy:Policy"), "policyDocument"),
                              (result.one("alicloud:ram/role:Role"), "assumeRolePolicyDocument")):
        document = json.loads(registration.inputs[key])
        assert set(document) == {"Version", "Statement"} and document["Version"] == "1", key


def test_the_claim_binds_to_the_volume_it_was_made_for(rendered):
    """The claim asks for no more than the volume offers, in a quantity Kubernetes parses (a
    static OSS volume has no real size: the figure only has to match)."""
    result = rendered[("dev", False)]
    offered = result.kind("PersistentVolume")["spec"]["capacity"]["storage"]
    asked = result.kind("PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"]
    assert asked == offered and parse_quantity(offered) == 100 * 2**30


def test_the_read_policy_allows_and_says_what_it_is_for(rendered):
    result = rendered[("dev", False)]
    policy = result.one("alicloud:ram/policy:Policy").inputs
    assert all(s["Effect"] == "Allow" for s in json.loads(policy["policyDocument"])["Statement"])
    bucket = result.exports["bucket"]
    assert policy["description"] == f"Read-only access to oss://{bucket}/models/chnsenticorp for the model volume"


def test_ram_identities_say_what_they_are_for(dev_config, prod_config):
    """In the RAM console the reader's user, policy and role are told apart by their suffix."""
    dev = run_program(dev_config)
    assert dev.one("alicloud:ram/user:User").inputs["name"].endswith("-oss-reader")
    assert dev.one("alicloud:ram/policy:Policy").inputs["policyName"].endswith("-oss-read")
    role = run_program(with_rrsa(prod_config), "prod").one("alicloud:ram/role:Role")
    assert role.inputs["roleName"].endswith("-oss-rrsa")


def test_the_reader_secret_is_an_opaque_secret(rendered):
    assert rendered[("dev", False)].kind("Secret")["type"] == "Opaque"


def test_pv_name_changes_with_its_attributes_and_handle_follows():
    a = volume_spec.pv_manifest(volume_inputs(), SECRET)
    b = volume_spec.pv_manifest(volume_inputs(prefix="models/other"), SECRET)
    assert a["metadata"]["name"] != b["metadata"]["name"]
    for pv in (a, b):
        assert pv["spec"]["csi"]["volumeHandle"] == pv["metadata"]["name"]
    assert a == volume_spec.pv_manifest(volume_inputs(), SECRET)
    claim = volume_spec.pvc_manifest(volume_inputs(), a["metadata"]["name"])
    assert claim["spec"]["volumeName"] == a["metadata"]["name"]


def test_rrsa_pv_has_no_secret_reference():
    pv = volume_spec.pv_manifest(volume_inputs(), volume_spec.RoleCredential(role_name="r"))
    assert "nodePublishSecretRef" not in pv["spec"]["csi"]
    assert pv["spec"]["csi"]["volumeAttributes"]["roleName"] == "r"


@pytest.mark.parametrize("stack", ["dev", "dev_eu", "team.a", "Feature/Branch", "x" * 80])
@pytest.mark.parametrize("suffix", ["oss-reader", "oss-read", "oss-rrsa"])
def test_ram_names_fit_the_ram_limits(stack, suffix):
    name = volume_spec.ram_name(stack, "c" + "0" * 32, "inference", "bert-tfserving", suffix)
    assert re.fullmatch(volume_spec.RAM_NAME, name), name
    assert name.endswith("-" + suffix)
    assert name != volume_spec.ram_name(stack, "c" + "1" * 32, "inference", "bert-tfserving", suffix)


def test_ram_names_of_plain_stacks_did_not_change():
    """Stacks named with letters, digits and '-' keep the names they had: no RAM replacement on
    upgrade for them."""
    assert volume_spec.ram_name("dev", "c" + "0" * 32, "inference", "bert-tfserving", "oss-reader") == (
        "ei-dev-inference-bert-tfserving-" + volume_spec.content_hash(
            ["dev", "c" + "0" * 32, "inference", "bert-tfserving"])[:6] + "-oss-reader")


def test_claim_volume_bucket_chain(rendered):
    result = rendered[("dev", False)]
    pv, pvc = result.kind("PersistentVolume"), result.kind("PersistentVolumeClaim")
    deployment = result.kind("Deployment")
    csi = pv["spec"]["csi"]
    assert csi["driver"] == CSI_DRIVER
    assert csi["volumeHandle"] == pv["metadata"]["name"]
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""
    assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert csi["readOnly"] is True
    attrs = csi["volumeAttributes"]
    assert attrs["bucket"] == result.exports["bucket"]
    assert attrs["url"] == result.exports["ossEndpoint"]
    assert "oss://" + attrs["bucket"] + attrs["path"] == result.exports["modelUri"]
    assert "allow_other" in attrs["otherOpts"] and "umask=022" in attrs["otherOpts"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]


def test_reader_credentials_are_least_privilege_and_never_plain(rendered):
    result = rendered[("dev", False)]
    policy = json.loads(result.one("alicloud:ram/policy:Policy").inputs["policyDocument"])
    bucket = result.exports["bucket"]
    grants = {(tuple(s["Action"]), tuple(s["Resource"])) for s in policy["Statement"]}
    assert grants == {
        (("oss:ListObjects",), (f"acs:oss:*:*:{bucket}",)),
        (("oss:GetObject",), (f"acs:oss:*:*:{bucket}/models/chnsenticorp/*",)),
    }
    attachment = result.one("alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    assert attachment.inputs["policyType"] == "Custom"
    pv = result.kind("PersistentVolume")
    ref = pv["spec"]["csi"]["nodePublishSecretRef"]
    secret_reg = result.one("kubernetes:core/v1:Secret")
    secret = result.manifest(secret_reg)
    assert (ref["name"], ref["namespace"]) == (secret["metadata"]["name"], secret["metadata"]["namespace"])
    assert secret["stringData"]["akSecret"] == FAKE_ACCESS_KEY_SECRET
    assert set(secret["stringData"]) == {"akId", "akSecret"}
    assert secret_reg.secret_inputs
    # The key appears nowhere else: no PV attribute, env var, other input or stack output.
    for registration in result.resources:
        if registration is not secret_reg:
            assert FAKE_ACCESS_KEY_SECRET not in json.dumps(registration.inputs, default=str), registration.name
    assert FAKE_ACCESS_KEY_SECRET not in json.dumps(result.exports)
    assert not {"akId", "akSecret"} & set(pv["spec"]["csi"]["volumeAttributes"])
    assert "env" not in json.dumps(result.kind("Deployment")["spec"]["template"]["spec"]["containers"])


def test_rrsa_mode_uses_a_role_and_no_key(prod_config):
    result = run_program(with_rrsa(prod_config), "prod")
    assert not result.of_type("alicloud:ram/accessKey:AccessKey")
    assert not result.of_type("kubernetes:core/v1:Secret")
    role = result.one("alicloud:ram/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicyDocument"])["Statement"][0]
    cluster = "cfedcba9876543210fedcba9876543210"
    # The provider and issuer the cluster reports (the stand-in cloud's), not ones built by hand.
    assert trust["Principal"]["Federated"] == [f"acs:ram::{FAKE_ACCOUNT_ID}:oidc-provider/ack-rrsa-{cluster}"]
    assert trust["Condition"]["StringEquals"] == {
        "oidc:aud": "sts.aliyuncs.com",
        "oidc:iss": f"https://oidc-ack-cn-beijing.oss-cn-beijing.aliyuncs.com/{cluster}",
        "oidc:sub": CSI_FUSE_SUBJECT,
    }
    attrs = result.kind("PersistentVolume")["spec"]["csi"]["volumeAttributes"]
    assert attrs["authType"] == "rrsa" and attrs["roleName"] == role.inputs["roleName"]
    assert "nodePublishSecretRef" not in result.kind("PersistentVolume")["spec"]["csi"]
    attachment = result.one("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["roleName"] == role.inputs["roleName"]

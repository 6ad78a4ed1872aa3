"""A canary (`model.canary`): its config refused by name, the split of pods and targets between
the tracks, the canary track's objects (Deployment, Service, HPA, alias files, canary Ingress) and
their order, the retire check's refusals, and the capacity that counts both tracks.

How ingress-nginx routes the two Ingresses is held by tests/test_ingress_canary.py against a
stand-in transcribed from the controller.
"""

from __future__ import annotations

import copy
import re

import pytest
from conftest import MODEL_VERSION, write_saved_model
from harness import ACK_VERSIONS, NS, depends, run_expecting_error, run_program, validate_strictly
from kubernetes.utils.quantity import parse_quantity

from components.network.public_endpoint import ANNOTATION_CANARY, ANNOTATION_CANARY_WEIGHT, ANNOTATION_REWRITE
from components.serving.spec import CANARY_ANNOTATION, GROUP_LABEL
from components.serving.versions import checks
from config.derived import split

NEW = 1700000000
MAIN, CANARY = "bert-tfserving", "bert-tfserving-canary"


def with_canary(cfg: dict, project_dir, weight: int = 10, version: int = NEW, serve: int = MODEL_VERSION) -> dict:
    write_saved_model(project_dir / "models" / "chnsenticorp", NEW)
    cfg = copy.deepcopy(cfg)
    cfg[NS + "model"] = {**cfg[NS + "model"], "versions": [MODEL_VERSION, NEW], "serve": serve,
                         "canary": {"version": version, "weight": weight}}
    return cfg


def named(result, kind: str, name: str) -> dict:
    found = [m for m in result.manifests() if m["kind"] == kind and m["metadata"].get("name") == name]
    assert len(found) == 1, f"{kind} {name}: {[m['metadata'].get('name') for m in result.manifests()]}"
    return found[0]


def registration(result, kind: str, name: str):
    return next(r for r in result.kubernetes() if r.type.endswith(f":{kind}")
                and (r.inputs.get("metadata") or {}).get("name") == name)


# --- config -------------------------------------------------------------------------------------

@pytest.mark.parametrize("canary,key,words", [
    ({"version": 1234, "weight": 10}, "model.canary.version", "is not one of model.versions"),
    ({"version": MODEL_VERSION, "weight": 10}, "model.canary.version", "is the served version"),
    ({"version": NEW, "weight": 101}, "model.canary.weight", "less than or equal to 100"),
    ({"version": NEW, "weight": -1}, "model.canary.weight", "greater than or equal to 0"),
    ({"version": NEW, "percent": 10}, "model.canary.percent", "unknown key; allowed here: version, weight"),
    ({"version": NEW}, "model.canary.weight", "required"),
], ids=["not-loaded", "served", "above-100", "negative", "typo", "no-weight"])
def test_a_wrong_canary_is_refused_by_name_before_anything_exists(dev_config, project_dir, canary, key, words):
    cfg = with_canary(dev_config, project_dir)
    cfg[NS + "model"]["canary"] = canary
    error, result = run_expecting_error(cfg)
    assert f"  - {key}: " in str(error) and words in str(error), str(error)
    assert result.resources == []


def test_a_canary_of_a_model_the_stack_does_not_upload_is_refused(dev_config, project_dir):
    cfg = with_canary(dev_config, project_dir)
    cfg[NS + "model"]["source"] = "oss://shared-models/teams/nlp/chnsenticorp"
    error, result = run_expecting_error(cfg)
    assert "  - model.canary: needs model.source to be a local directory" in str(error), str(error)
    assert result.resources == []


def test_an_unset_serve_is_named_when_the_canary_is_the_highest_version(dev_config, project_dir):
    cfg = with_canary(dev_config, project_dir)
    del cfg[NS + "model"]["serve"]
    error, _ = run_expecting_error(cfg)
    assert "model.serve is unset, so the highest version, 1700000000, is served" in str(error), str(error)


def test_a_serving_name_too_long_for_the_canary_service_is_refused(dev_config, project_dir):
    cfg = with_canary(dev_config, project_dir)
    cfg[NS + "serving"] = {**cfg[NS + "serving"], "name": "b" * 45}
    error, result = run_expecting_error(cfg)
    # Cut at 45 (the CronJobs), '<name>-canary' would be '<name>' again.
    assert "  - serving.name: is 45 characters; at most 44 with model.canary" in str(error), str(error)
    assert result.resources == []


def test_at_the_longest_name_every_object_of_the_two_tracks_has_its_own_name(dev_config, project_dir):
    cfg = with_canary(dev_config, project_dir)
    cfg[NS + "serving"] = {**cfg[NS + "serving"], "name": "b" * 44}
    result = run_program(cfg)
    names = [(m["kind"], m["metadata"]["name"]) for m in result.manifests()]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert {n for kind, n in names if kind == "CronJob"} >= {"b" * 44 + "-wake", "b" * 44 + "--wake"}


# --- the split ----------------------------------------------------------------------------------

@pytest.mark.parametrize("weight,main,canary", [
    (None, (1, 10, 5.0), None),
    (10, (1, 9, 5 * 100 / 90), (1, 1, 50.0)),
    (25, (1, 7, 5 * 100 / 75), (1, 3, 20.0)),
    (0, (1, 9, 5.0), (1, 1, 500.0)),
    (100, (1, 1, 500.0), (1, 10, 5.0)),
])
def test_the_tracks_share_max_replicas_by_weight_with_targets_on_the_whole_route(weight, main, canary):
    tracks = split(1, 10, 5.0, weight)
    assert (tracks.main.min_replicas, tracks.main.max_replicas) == main[:2]
    assert tracks.main.target_qps == pytest.approx(main[2])
    if canary is None:
        assert tracks.canary is None
        return
    assert tracks.canary is not None
    assert (tracks.canary.min_replicas, tracks.canary.max_replicas) == canary[:2]
    assert tracks.canary.target_qps == pytest.approx(canary[2])


@pytest.mark.parametrize("weight", [1, 10, 33, 50, 67, 99])
@pytest.mark.parametrize("max_replicas", [2, 3, 10, 40])
def test_each_track_gets_the_pods_its_share_of_the_rate_asks_for(weight, max_replicas):
    """At the route's ceiling (maxReplicas x targetQps) each HPA's desired count, ceil(rate /
    target), is its share of the pods, within its bounds; together no more than max_pods."""
    tracks = split(1, max_replicas, 5.0, weight)
    assert tracks.canary is not None
    rate = max_replicas * 5.0
    wanted = [min(t.max_replicas, -(-rate // t.target_qps)) for t in (tracks.main, tracks.canary)]
    assert wanted[1] == min(tracks.canary.max_replicas, -(-max_replicas * weight // 100))
    assert sum(wanted) <= tracks.max_pods <= max_replicas + 1


# --- the objects --------------------------------------------------------------------------------

def test_the_canary_track_serves_the_canary_files_under_the_served_number(dev_config, project_dir):
    result = run_program(with_canary(dev_config, project_dir))
    main, canary = named(result, "Deployment", MAIN), named(result, "Deployment", CANARY)
    assert canary["spec"]["template"]["metadata"]["annotations"][CANARY_ANNOTATION] == str(NEW)
    assert CANARY_ANNOTATION not in main["spec"]["template"]["metadata"]["annotations"]
    # One group (one placement policy), two selectors (two Services, two HPAs).
    for d in (main, canary):
        assert d["spec"]["template"]["metadata"]["labels"][GROUP_LABEL] == MAIN
    assert main["spec"]["selector"] != canary["spec"]["selector"]
    configs = {m["metadata"]["name"]: m for m in result.manifests() if m["kind"] == "ConfigMap"}
    canary_config = next(text for m in configs.values() if m["metadata"]["name"].startswith(CANARY)
                         for text in m.get("data", {}).values() if "model_config_list" in text)
    assert 'base_path: "/models/chnsenticorp/canary"' in canary_config, canary_config
    # The served version's number (what the main rewrite asks for) and its own (what a promotion
    # moves the rewrite to before the canary Ingress goes).
    assert re.findall(r"versions: (\d+)", canary_config) == [str(MODEL_VERSION), str(NEW)]
    # The canary's files, uploaded again under both numbers in the canary directory.
    keys = {r.inputs["key"]: r.inputs["source"] for r in result.of_type("alicloud:oss/bucketObject:BucketObject")}
    own = {k.split(f"/{NEW}/")[1] for k in keys if f"/{NEW}/" in k and "/canary/" not in k}
    for number in (MODEL_VERSION, NEW):
        aliased = {k: v for k, v in keys.items() if f"/canary/{number}/" in k}
        assert aliased and all(f"/{NEW}/" in str(source) for source in aliased.values()), aliased
        assert {k.split(f"/canary/{number}/")[1] for k in aliased} == own
    assert result.exports["canaryVersion"] == NEW and result.exports["canaryWeight"] == 10


def test_the_canary_ingress_names_only_the_split_and_its_own_service(dev_config, project_dir):
    result = run_program(with_canary(dev_config, project_dir, weight=25))
    main, canary = named(result, "Ingress", MAIN), named(result, "Ingress", CANARY)
    assert canary["metadata"]["annotations"] == {ANNOTATION_CANARY: "true", ANNOTATION_CANARY_WEIGHT: "25",
                                                 checks.CANARY_VERSION: str(NEW)}
    assert main["metadata"]["annotations"][ANNOTATION_REWRITE].endswith(f"/versions/{MODEL_VERSION}:predict")
    (rule,), (main_rule,) = canary["spec"]["rules"], main["spec"]["rules"]
    path, main_path = rule["http"]["paths"][0], main_rule["http"]["paths"][0]
    # The controller merges a canary only into a location of the same host, path and pathType.
    assert (rule["host"], path["path"], path["pathType"]) == (main_rule["host"], main_path["path"],
                                                              main_path["pathType"])
    assert canary["spec"]["ingressClassName"] == main["spec"]["ingressClassName"]
    # Never the main Service (the upstream names would be equal: no split, or no location).
    assert path["backend"]["service"]["name"] == CANARY
    assert main_path["backend"]["service"]["name"] == MAIN
    named(result, "Service", CANARY)


def test_the_canary_is_routed_to_only_after_its_gate_and_the_main_ingress(dev_config, project_dir):
    result = run_program(with_canary(dev_config, project_dir))
    canary_ingress = registration(result, "Ingress", CANARY)
    main_ingress = registration(result, "Ingress", MAIN)
    jobs = {r.name: r for r in result.of_type("kubernetes:batch/v1:Job")}
    assert depends(result, canary_ingress, main_ingress)
    assert depends(result, canary_ingress, jobs["serve-gate-canary-job"])
    assert depends(result, main_ingress, jobs["serve-gate-job"])
    # The canary's pods change only after the retire check (which refuses a canary moved asleep).
    assert depends(result, registration(result, "Deployment", CANARY), jobs["retire-check-job"])
    gate = result.manifest(jobs["serve-gate-canary-job"])
    args = gate["spec"]["template"]["spec"]["containers"][0]["command"]
    assert f"{CANARY}-pods.inference.svc" in args and f"{MODEL_VERSION},{NEW}" in args


def test_both_hpas_scale_on_the_main_route_with_their_share(dev_config, project_dir):
    result = run_program(with_canary(dev_config, project_dir, weight=25))
    hpas = {m["metadata"]["name"]: m for m in result.manifests() if m["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {MAIN, CANARY}
    metrics = {name: h["spec"]["metrics"][0]["external"] for name, h in hpas.items()}
    assert metrics[MAIN]["metric"] == metrics[CANARY]["metric"]
    assert hpas[CANARY]["spec"]["scaleTargetRef"]["name"] == CANARY
    a = dev_config[NS + "autoscaling"]
    tracks = split(a.get("minReplicas", 1), a["maxReplicas"], a["targetQps"], 25)
    assert tracks.canary is not None
    for name, track in ((MAIN, tracks.main), (CANARY, tracks.canary)):
        assert hpas[name]["spec"]["maxReplicas"] == track.max_replicas
        value = metrics[name]["target"]["averageValue"]
        assert float(parse_quantity(value)) == pytest.approx(track.target_qps, rel=0.01), value


@pytest.mark.parametrize("version", ACK_VERSIONS)
def test_the_canary_objects_validate_strictly(dev_config, project_dir, version):
    result = run_program(with_canary(dev_config, project_dir))
    for manifest in result.manifests():
        if CANARY in manifest["metadata"].get("name", ""):
            validate_strictly(manifest, version)


def test_the_canary_track_sleeps_and_wakes_with_the_main_one(dev_config, project_dir):
    """dev has an idle schedule: the canary's Deployment gets its own wake and sleep."""
    result = run_program(with_canary(dev_config, project_dir))
    crons = {m["metadata"]["name"]: m for m in result.manifests() if m["kind"] == "CronJob"}
    assert {f"{MAIN}-wake", f"{MAIN}-sleep", f"{CANARY}-wake", f"{CANARY}-sleep"} <= set(crons), set(crons)
    for when in ("wake", "sleep"):
        assert crons[f"{CANARY}-{when}"]["spec"]["schedule"] == crons[f"{MAIN}-{when}"]["spec"]["schedule"]
        args = crons[f"{CANARY}-{when}"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert CANARY in " ".join(args.get("command", []) + args.get("args", []))


def test_removing_the_canary_removes_its_track(dev_config, project_dir):
    result = run_program(with_canary(dev_config, project_dir))
    cfg = copy.deepcopy(with_canary(dev_config, project_dir))
    del cfg[NS + "model"]["canary"]
    after = run_program(cfg)
    assert any(CANARY in m["metadata"].get("name", "") for m in result.manifests())
    assert not any(CANARY in m["metadata"].get("name", "") for m in after.manifests())
    assert after.exports["canaryVersion"] is None and after.exports["canaryWeight"] is None
    assert not [r for r in after.of_type("alicloud:oss/bucketObject:BucketObject") if "/canary/" in r.inputs["key"]]


# --- the capacity -------------------------------------------------------------------------------

def test_the_pool_must_hold_both_tracks(prod_config, project_dir):
    cfg = with_canary(prod_config, project_dir, weight=100)
    cfg[NS + "autoscaling"] = {**cfg[NS + "autoscaling"], "minReplicas": 2}
    pool = cfg[NS + "capacity"]["nodePool"]
    per_node = 1  # prod's instance types carry one GPU each; serving.gpus is 1
    cfg[NS + "autoscaling"]["maxReplicas"] = pool["maxSize"] * per_node
    error, result = run_expecting_error(cfg, "prod")
    assert "the canary's" in str(error) and "or model.canary.weight" in str(error), str(error)
    assert result.resources == []


# --- the retire check ---------------------------------------------------------------------------

def ingress(served: int) -> dict:
    return {"metadata": {"annotations": {checks.REWRITE: f"/v1/models/m/versions/{served}:predict"}}}


def canary_ingress(version: int) -> dict:
    return {"metadata": {"annotations": {checks.CANARY_VERSION: str(version)}}}


def test_the_served_version_does_not_move_while_a_canary_answers_its_path():
    problem = checks.retire_problem(ingress(1), "m", [1, 2, 3], serve=2, canary=3)
    assert problem is not None and "promote in one update by setting model.serve to 3" in problem
    # Promotion: serve moves to the canary, the canary goes.
    assert checks.retire_problem(ingress(1), "m", [1, 3], serve=3, canary=None) is None
    assert checks.retire_problem(ingress(1), "m", [1, 3], serve=1, canary=3) is None


def test_a_canary_moved_while_the_service_sleeps_is_refused():
    moved = checks.retire_problem(ingress(1), "m", [1, 2, 3], 1, sleeping=True, deployment="d", canary=3,
                                  canary_ingress=canary_ingress(2))
    assert moved is not None and moved.startswith("the service sleeps") and "canary version 3" in moved
    assert "kubectl create job --from=cronjob/d-wake" in moved
    # The same canary, a weight change, or a first canary (its new Deployment starts a pod the gate asks).
    for live in (canary_ingress(3), None):
        assert checks.retire_problem(ingress(1), "m", [1, 2, 3], 1, sleeping=True, deployment="d", canary=3,
                                     canary_ingress=live) is None
    assert checks.retire_problem(ingress(1), "m", [1, 2, 3], 1, sleeping=False, canary=3,
                                 canary_ingress=canary_ingress(2)) is None

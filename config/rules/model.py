"""The model: where it comes from, which versions are loaded, served and canaried, and the names
derived from the serving name."""

from __future__ import annotations

from pathlib import Path

from settings import LONGEST_SERVICE_SUFFIX, SHORTEST_NAME_CUT

from ..derived import ModelSource, parse_model_source
from ..errors import Problem
from ..problems import os_problem
from ..schema import ModelSettings, ServingSettings, StorageSettings
from ..warmup import SAVED_MODEL_FILES
from .check import rule


@rule
def source_parses(model: ModelSettings) -> list[Problem]:
    return parse_model_source(model.source)[1]


def _is_dir(path: Path) -> bool | OSError:
    """Whether `path` is a directory, or why the file system would not say (a name too long, a
    directory that may not be read): such an answer is the user's to read, not a traceback."""
    try:
        return path.is_dir()
    except OSError as exc:
        return exc


@rule
def model_dir(model: ModelSettings, source: ModelSource) -> list[Problem]:
    """Each loaded version must be an integer directory holding a SavedModel graph."""
    if source.local_dir is None:
        return []
    base = source.local_dir
    found = _is_dir(base)
    if isinstance(found, OSError):
        return [("model.source", os_problem(base, found))]
    if not found:
        return [("model.source", f"directory {str(base)!r} does not exist (relative paths are read from the "
                                 f"project directory {str(Path.cwd())!r}); export the SavedModel there, or use "
                                 "oss://bucket/prefix for a model already in OSS")]
    problems: list[Problem] = []
    for index, version in enumerate(model.versions):
        vdir = base / str(version)
        found = _is_dir(vdir)
        if isinstance(found, OSError):
            problems.append((f"model.versions[{index}]", os_problem(vdir, found)))
        elif not found:
            present = sorted(p.name for p in base.iterdir() if p.name.isdigit() and p.is_dir())
            problems.append((f"model.versions[{index}]", f"version {version} has no directory {str(vdir)!r} "
                                                         f"(integer version directories present: {present or 'none'})"))
        elif not any((vdir / name).is_file() for name in SAVED_MODEL_FILES):
            problems.append((f"model.versions[{index}]", f"{str(vdir)!r} holds neither saved_model.pb nor "
                                                         "saved_model.pbtxt; it is not a SavedModel version directory"))
    return problems


@rule
def serve_is_loaded(model: ModelSettings) -> list[Problem]:
    if model.serve is None or model.serve in model.versions:
        return []
    loaded = ", ".join(str(v) for v in model.versions)
    return [("model.serve", f"{model.serve} is not one of model.versions ({loaded}): a version "
                            "is served only once it is loaded; add it to model.versions first")]


@rule
def canary_version(model: ModelSettings) -> list[Problem]:
    """The canary is another loaded version (docs/model-versions.md, "Canary")."""
    canary = model.canary
    if canary is None:
        return []
    versions = model.versions
    served = model.serve if model.serve is not None else max(versions)
    if canary.version not in versions:
        loaded = ", ".join(str(v) for v in versions)
        return [("model.canary.version", f"{canary.version} is not one of model.versions ({loaded}): "
                                         "add it to model.versions first")]
    if canary.version == served:
        how = "" if model.serve is not None else (
            f" (model.serve is unset, so the highest version, {served}, is served: set model.serve to the "
            "version serving now)")
        return [("model.canary.version", f"{canary.version} is the served version{how}; a canary is "
                                         "another version: to promote it, set model.serve to it and "
                                         "remove model.canary")]
    return []


@rule
def canary_files_are_ours(model: ModelSettings, source: ModelSource) -> list[Problem]:
    """The canary's pods read its files under the served version's number: the stack uploads them."""
    if model.canary is None or source.oss is None:
        return []
    return [("model.canary", "needs model.source to be a local directory: the stack uploads the "
                             "canary's files a second time, under the served version's number, for "
                             "its pods (an oss:// model is not the stack's to write to)")]


@rule
def service_names_fit(model: ModelSettings, serving: ServingSettings) -> list[Problem]:
    """Every Service the stack names after serving.name is a DNS-1035 label (63 at most), and with
    a canary no name derived from its track's name meets the main track's where names are cut."""
    name = serving.name
    if model.canary is not None and len(name) >= SHORTEST_NAME_CUT:
        return [("serving.name", f"is {len(name)} characters; at most {SHORTEST_NAME_CUT - 1} with model.canary: "
                                 f"names cut at {SHORTEST_NAME_CUT} characters (the idle schedule's CronJobs) would "
                                 "be the same for both tracks")]
    suffix = LONGEST_SERVICE_SUFFIX if model.canary is not None else "-pods"
    room = 63 - len(suffix)
    if len(name) <= room:
        return []
    return [("serving.name", f"is {len(name)} characters; at most {room}: the Service "
                             f"'{name[:20]}...{suffix}' must be a DNS-1035 label of at most 63")]


@rule
def oss_source_is_the_storage(storage: StorageSettings, source: ModelSource) -> list[Problem]:
    """The model is already in OSS: the storage location is the source, not a second place."""
    if source.oss is None:
        return []
    oss_bucket, oss_prefix = source.oss
    problems: list[Problem] = []
    if storage.bucket is not None and storage.bucket != oss_bucket:
        problems.append(("storage.bucket", f"is {storage.bucket!r} but model.source is in bucket "
                                           f"{oss_bucket!r}; leave storage.bucket unset for an oss:// source"))
    if storage.prefix is not None and storage.prefix != oss_prefix:
        problems.append(("storage.prefix", f"is {storage.prefix!r} but model.source has prefix "
                                           f"{oss_prefix!r}; leave storage.prefix unset for an oss:// source"))
    return problems


# The namespaces the cluster itself owns (k8s.io/apimachinery metav1 NamespaceDefault, NamespaceSystem,
# NamespacePublic; k8s.io/api core/v1 NamespaceNodeLease), which the API server's system-namespaces
# controller creates. The stack registers its namespace as its own Namespace object: pulumi-kubernetes
# 4.29+ refuses to create one that exists (AlreadyExists, unless upsertExistingObjects), and a stack
# that had adopted one would delete it on destroy (kube-node-lease can be deleted: the nodes' leases go
# with it).
CLUSTER_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@rule
def namespace_is_ours(serving: ServingSettings) -> list[Problem]:
    if serving.namespace not in CLUSTER_NAMESPACES:
        return []
    return [("serving.namespace", f"{serving.namespace!r} belongs to the cluster (Kubernetes creates it); the stack "
                                  "creates its namespace as its own and deletes it on destroy: name one for the "
                                  "service, such as inference")]

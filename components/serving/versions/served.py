"""The served version as a file the serving pods' readiness probe reads.

Kept apart from the model config so it changes only after that version is AVAILABLE on every
ready pod (the serve gate writes it, gate.py): a switch then changes no pod template. The probe
reads the file and asks the server for that version.
"""

from __future__ import annotations

SERVED_DIR = "/etc/tfserving-served"
SERVED_FILE = "version"
VOLUME = "served"


def served_config_map_name(name: str) -> str:
    """The served-version ConfigMap of the serving workload `name`."""
    return f"{name}-served"


def served_volume(name: str) -> dict:
    """The pod's volume of the served-version file. Optional: on the first deployment the file is
    created only after the pods are ready (the probe then asks for the newest version)."""
    return {"name": VOLUME, "configMap": {"name": served_config_map_name(name), "optional": True}}


def served_mount() -> dict:
    return {"name": VOLUME, "mountPath": SERVED_DIR, "readOnly": True}


def version_path(model_name: str, version: int) -> str:
    """The metadata of one version: 404 until that version is AVAILABLE."""
    return f"/v1/models/{model_name}/versions/{version}/metadata"


def pinned_probe(model_name: str, version: int) -> dict:
    """Ready only when `version` is AVAILABLE, asked for by number: where a version change rolls
    the pods, the served version is part of the pod template (no file to read)."""
    return {"httpGet": {"path": version_path(model_name, version), "port": "http"}}


def served_probe(model_name: str, rest_port: int) -> dict:
    """Ready only when the served version is AVAILABLE, read from the served-version file.

    `/v1/models/<name>` answers 200 while a version is still LOADING (kubeflow/kubeflow#2987);
    the metadata of a specific version needs a loaded servable and answers 404 until it is
    AVAILABLE. The version comes from a file, not from the probe's path, so a switch changes no
    pod template (no restart): an exec probe in bash (every tensorflow/serving image has it: its
    Dockerfile.gpu entrypoint is a bash script, at 1.15.0 and 2.19.1) asks the server over
    /dev/tcp. Before the file exists (the first deployment) it asks for the newest version.
    """
    script = (
        f'v=$(cat {SERVED_DIR}/{SERVED_FILE} 2>/dev/null); p=/v1/models/{model_name}${{v:+/versions/$v}}/metadata; '
        f'exec 3<>/dev/tcp/127.0.0.1/{rest_port} && printf "GET %s HTTP/1.0\r\n\r\n" "$p" >&3 '
        '&& read -r _ code _ <&3 && [ "$code" = 200 ]'
    )
    return {"exec": {"command": ["/bin/bash", "-c", script]}}

"""Pure builders for the model upload: which files, under which keys, with which MD5.

No Pulumi here, so tests call these directly and the component stays a thin wiring layer.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from settings import WARMUP_FILE

# The canary track's directory in the model's prefix (and in the volume): not an integer, so the
# main track's servers never take it for a version (serving_spec.track_base_path).
CANARY_DIR = "canary"
# Big enough to keep syscalls few, small enough that a 400 MB variables file never sits in memory.
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ModelFile:
    """One file of a served SavedModel version and where it goes in OSS."""

    version: int
    """Model version (the integer directory it belongs to)."""
    relative_path: str
    """Path inside the version directory, '/'-separated (e.g. variables/variables.index)."""
    source: str
    """Path the provider uploads from, as configured (relative paths stay relative, so state
    does not change between machines)."""
    key: str
    """Object key: <prefix>/<version>/<relative_path>."""
    content_md5: str
    """Base64 MD5 of the content (the Content-MD5 header OSS checks); a change is a diff."""


def content_md5(path: Path) -> str:
    """Base64-encoded MD5 digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def object_key(prefix: str, version: int, relative_path: str) -> str:
    """Immutable key per version: a new version never overwrites what pods may be reading."""
    return str(PurePosixPath(prefix) / str(version) / relative_path)


def _version_files(version_dir: Path) -> list[Path]:
    # Hidden files (.DS_Store, .gitkeep) are not part of a SavedModel; skipping them keeps a
    # Finder visit from becoming an upload diff.
    return sorted(
        p
        for p in version_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(version_dir).parts)
    )


def model_files(base_dir: Path, prefix: str, versions: Iterable[int]) -> list[ModelFile]:
    """Every file of the served versions, sorted by version then path (stable order)."""
    files = []
    for version in sorted(versions):
        version_dir = base_dir / str(version)
        for path in _version_files(version_dir):
            rel = path.relative_to(version_dir).as_posix()
            files.append(
                ModelFile(
                    version=version,
                    relative_path=rel,
                    source=(base_dir / str(version) / rel).as_posix(),
                    key=object_key(prefix, version, rel),
                    content_md5=content_md5(path),
                )
            )
    return files


def warmup_files(build_dir: Path, prefix: str, generated: Mapping[int, bytes]) -> dict[int, ModelFile]:
    """Each version's generated warmup file, written to `build_dir/<prefix>/<version>/` (the
    provider uploads from a file) and keyed beside the version's own files, where TF Serving
    looks for it. A file is rewritten only when its content changes."""
    files = {}
    for version, data in sorted(generated.items()):
        path = build_dir / prefix / str(version) / WARMUP_FILE
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        files[version] = ModelFile(version=version, relative_path=WARMUP_FILE, source=path.as_posix(),
                                   key=object_key(prefix, version, WARMUP_FILE), content_md5=content_md5(path))
    return files


def alias_files(base_dir: Path, prefix: str, subdir: str, version: int, as_version: int,
                extra: Iterable[ModelFile] = ()) -> list[ModelFile]:
    """`version`'s files (and `extra` of them, its generated warmup file) again, under
    `<prefix>/<subdir>/<as_version>/`: a canary's pods answer the served version's path (the main
    Ingress's rewrite applies to the canary too), so their base path holds the canary's SavedModel
    under that number."""
    return [ModelFile(version=as_version, relative_path=f.relative_path, source=f.source,
                      key=object_key(f"{prefix}/{subdir}", as_version, f.relative_path), content_md5=f.content_md5)
            for f in [*model_files(base_dir, prefix, [version]), *extra]]


def content_type(relative_path: str) -> str:
    """Text for the human-readable SavedModel parts, bytes for everything else."""
    return "text/plain" if relative_path.endswith((".pbtxt", ".txt", ".json")) else (
        "application/octet-stream"
    )


def oss_internal_endpoint(region: str) -> str:
    """The VPC endpoint of OSS in a region: what pods in the cluster read the model through."""
    return f"oss-{region}-internal.aliyuncs.com"


def model_uri(bucket: str, prefix: str) -> str:
    """oss://bucket/prefix of the model's base directory."""
    return f"oss://{bucket}/{prefix}"

"""The lineage of a model version: which data, code, base and run produced it.

It is stored as tags on the registered model version (prefix ``libra.``), so the registry
alone answers "where did the champion come from?": the sha256 digest of every dataset, the
pipeline run, the training checkpoint, the git commit, the base model and the gate decision
that let it through, and each real-data source the run read (imported feedback among them)
with the digest of its validated rows. ``libra-guard lineage VERSION`` prints it with
``format_lineage``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from libra_guard.tracking.model_version import ModelVersion

TAG_PREFIX = "libra."
DATASET_TAG_PREFIX = f"{TAG_PREFIX}dataset."
DATASET_TAG_SUFFIX = ".sha256"
#: The calibrated three-level thresholds (``libra_guard.levels``), one tag per number.
LEVELS_TAG_PREFIX = f"{TAG_PREFIX}levels."
#: Every real-data source and its digest, as one JSON object ``{URI: sha256}`` (URIs hold
#: characters tag keys may not).
SOURCES_TAG = f"{TAG_PREFIX}data_sources"
UNKNOWN = "unknown"
#: Lineage fields stored as one tag each, ``libra.<field>``.
SCALAR_FIELDS = ("pipeline_run_id", "checkpoint_uri", "git_commit", "base_model", "gate_decision")


def git_commit(folder: Path | None = None) -> str:
    """``git rev-parse HEAD`` of the checkout holding ``folder`` (default: this package),
    or ``"unknown"`` where there is no git or no repository (an installed wheel, an image)."""
    where = Path(folder) if folder else Path(__file__).resolve().parent
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else UNKNOWN


class Lineage(BaseModel):
    """What produced a model version. Unset fields are simply not tagged."""

    model_config = ConfigDict(extra="forbid")

    dataset_digests: dict[str, str] = Field(
        default_factory=dict, description="sha256 per dataset name (stage1, stage2, test)."
    )
    data_sources: dict[str, str] = Field(
        default_factory=dict,
        description="sha256 of each real-data source (URI) split into stage 2 and the test set: "
        "real_data and every extra_real_data, imported feedback among them.",
    )
    pipeline_run_id: str | None = Field(default=None, description="The pipeline run's id.")
    checkpoint_uri: str | None = Field(default=None, description="The trained model folder.")
    git_commit: str = Field(default_factory=git_commit, description="Code that trained it.")
    base_model: str | None = Field(default=None, description="Preset, path or hub id.")
    gate_decision: str | None = Field(default=None, description="The gate's summary line.")
    levels: dict[str, float] = Field(
        default_factory=dict,
        description="Three-level thresholds calibrated on the evaluation split "
        "(safe_below, unsafe_from, precision); empty: not calibrated.",
    )

    def to_tags(self) -> dict[str, str]:
        tags = {
            f"{DATASET_TAG_PREFIX}{name}{DATASET_TAG_SUFFIX}": digest
            for name, digest in self.dataset_digests.items()
        }
        for name in SCALAR_FIELDS:
            value = getattr(self, name)
            if value is not None:
                tags[f"{TAG_PREFIX}{name}"] = str(value)
        for name, number in self.levels.items():
            tags[f"{LEVELS_TAG_PREFIX}{name}"] = repr(float(number))
        if self.data_sources:
            tags[SOURCES_TAG] = json.dumps(self.data_sources, ensure_ascii=False, sort_keys=True)
        return tags

    @classmethod
    def from_tags(cls, tags: Mapping[str, str]) -> Lineage:
        """Read back what ``to_tags`` wrote; other tags are ignored."""
        digests = {
            key[len(DATASET_TAG_PREFIX) : -len(DATASET_TAG_SUFFIX)]: value
            for key, value in tags.items()
            if key.startswith(DATASET_TAG_PREFIX) and key.endswith(DATASET_TAG_SUFFIX)
        }
        scalars = {
            name: tags[f"{TAG_PREFIX}{name}"]
            for name in SCALAR_FIELDS
            if f"{TAG_PREFIX}{name}" in tags
        }
        scalars.setdefault("git_commit", UNKNOWN)
        levels = {
            key[len(LEVELS_TAG_PREFIX) :]: float(value)
            for key, value in tags.items()
            if key.startswith(LEVELS_TAG_PREFIX)
        }
        return cls(
            dataset_digests=digests,
            data_sources=_sources_of(tags.get(SOURCES_TAG)),
            levels=levels,
            **scalars,
        )


def _sources_of(value: str | None) -> dict[str, str]:
    """The ``{URI: sha256}`` of the sources tag; nothing when absent or not such an object
    (a tag edited by hand), so a version stays describable."""
    if not value:
        return {}
    try:
        sources = json.loads(value)
    except json.JSONDecodeError:
        return {}
    if not isinstance(sources, dict):
        return {}
    return {str(uri): str(digest) for uri, digest in sources.items()}


def source_name(uri: str) -> str:
    """The last path segment of a source URI (``s3://b/feedback/2026-11.jsonl`` ->
    ``2026-11.jsonl``): a name to show where locations must not appear (``/v1/model``)."""
    return uri.rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]


def format_lineage(version: ModelVersion) -> str:
    """A version's lineage (``registry.describe``) as aligned lines, version first, data last."""
    chain = version.lineage
    aliases = ", ".join(version.aliases) or "none"
    lines = [
        f"{version.name} version {version.version}  (aliases: {aliases})",
        f"  model URI        {version.uri}",
        f"  gate decision    {chain.get('gate_decision') or UNKNOWN}",
        f"  MLflow run       {chain.get('run_id') or UNKNOWN}",
        f"  pipeline run     {chain.get('pipeline_run_id') or UNKNOWN}",
        f"  checkpoint       {chain.get('checkpoint_uri') or UNKNOWN}",
        f"  base model       {chain.get('base_model') or UNKNOWN}",
        f"  git commit       {chain.get('git_commit') or UNKNOWN}",
        "  datasets (sha256)",
    ]
    digests = chain.get("dataset_digests") or {}
    lines += [f"    {name:<14} {digest}" for name, digest in digests.items()]
    if not digests:
        lines.append(f"    {UNKNOWN}")
    sources = chain.get("data_sources") or {}
    if sources:
        lines.append("  real-data sources (sha256)")
        lines += [f"    {digest}  {uri}" for uri, digest in sources.items()]
    return "\n".join(lines)

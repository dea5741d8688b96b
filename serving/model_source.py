"""Which model to serve: a registry URI (``models:/libra-guard@champion``) or a folder.

A registry URI is resolved to its version, downloaded once per machine (``download_model``
caches by version) and described with the version's aliases and lineage tags. A folder is
served as it is, described as ``unregistered``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from libra_guard.errors import ModelError
from serving.schemas import ModelDescription

REGISTRY_SCHEME = "models:/"
UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class ResolvedModel:
    """A local folder ``GuardJudge.load`` reads, and what the API reports about it."""

    folder: Path
    description: ModelDescription


def resolve_model(model: str, *, tracking_uri: str | None = None) -> ResolvedModel:
    """Resolve ``model`` (``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or a folder).

    Raises:
        ModelError: the folder does not exist, or the registry has no such version.
    """
    if model.startswith(REGISTRY_SCHEME):
        from libra_guard.tracking import registry

        folder = registry.download_model(model, tracking_uri=tracking_uri)
        facts = registry.lineage(
            registry.resolve_version(model, tracking_uri=tracking_uri), tracking_uri=tracking_uri
        )
        return ResolvedModel(folder, describe_registered(facts, folder))
    folder = Path(model).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"{folder} is not a model folder (no config.json); pass a trained model folder "
            "(OUT/final) or a registry URI such as models:/libra-guard@champion"
        )
    return ResolvedModel(
        folder, ModelDescription(name=folder.name, version=UNREGISTERED, source=str(folder))
    )


def describe_registered(facts: dict, folder: Path) -> ModelDescription:
    """The API's description of a registered version from ``registry.lineage`` output."""
    lineage = {
        key: value
        for key, value in facts.items()
        if key not in ("model", "version", "aliases", "source") and value not in (None, "", {})
    }
    return ModelDescription(
        name=str(facts["model"]),
        version=str(facts["version"]),
        source=str(folder),
        aliases=list(facts.get("aliases", [])),
        lineage=lineage,
    )

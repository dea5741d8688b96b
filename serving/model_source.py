"""Which model to serve, decided in the driver and loaded on the replica's own node.

The driver turns what the user named (``models:/libra-guard@champion``, ``models:/NAME/3``
or a folder) into a ``ModelTarget``: the ``ModelVersion`` (read from the registry, nothing
downloaded) and a source. A registered model's source is its pinned registry URI
(``models:/libra-guard/3``, never an alias that may move); only an unregistered model
travels as a folder path. Each replica then calls ``load_source`` where it runs, so a replica
on another node of a remote Ray cluster downloads the version into its own cache
(``<its LIBRA_STATE_DIR>/models``) instead of looking for a folder of the driver's machine.
"""

from __future__ import annotations

from pathlib import Path

from libra_guard.errors import ModelError
from libra_guard.tracking.model_version import ModelVersion
from serving.rollout.base import ModelTarget
from serving.schemas import ModelDescription

REGISTRY_SCHEME = "models:/"


def target_of(model: str, *, tracking_uri: str | None = None) -> ModelTarget:
    """The target for ``model`` (``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or a folder).

    Raises:
        ModelError: the folder is not a model folder, or the registry has no such version.
    """
    if model.startswith(REGISTRY_SCHEME):
        from libra_guard.tracking import registry

        version = registry.describe(model, tracking_uri=tracking_uri)
        return ModelTarget(version, version.uri)
    folder = _model_folder(model)
    return ModelTarget(ModelVersion.unregistered(folder), str(folder))


def load_source(source: str, *, tracking_uri: str | None = None) -> Path:
    """The local folder of ``source`` on THIS node: a registry URI is downloaded into this
    node's cache (once per version), a folder is checked.

    Raises:
        ModelError: as ``target_of``.
    """
    if source.startswith(REGISTRY_SCHEME):
        from libra_guard.tracking import registry

        return registry.download_model(source, tracking_uri=tracking_uri)
    return _model_folder(source)


def description_of(version: ModelVersion, source: str | Path) -> ModelDescription:
    """What ``/v1/model`` reports: the version and where its weights were loaded from."""
    lineage = {key: value for key, value in version.lineage.items() if value not in (None, "", {})}
    return ModelDescription(
        name=version.name,
        version=version.version,
        source=str(source),
        aliases=list(version.aliases),
        lineage=lineage,
    )


def _model_folder(model: str) -> Path:
    folder = Path(model).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"{folder} is not a model folder (no config.json); pass a trained model folder "
            "(OUT/final) or a registry URI such as models:/libra-guard@champion"
        )
    return folder

"""``ModelVersion``: the one answer to "which model" everywhere (registry, steps, serving).

A registry version is its name, its version number, the aliases that point at it and its
lineage (dataset digests, pipeline run, checkpoint, base model, git commit, gate decision, and
the MLflow run, status and creation time). ``registry.describe`` and
``registry.log_and_register`` return it; the serving layer pairs it with a source URI to make a
rollout target and sends ``to_dict()`` to replicas as their ``user_config``. A model served
straight from a folder is ``ModelVersion.unregistered``.

Pure data, no MLflow import: Serve replicas and the HTTP schemas use it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: The version of a model served from a folder, never registered.
UNREGISTERED = "unregistered"


@dataclass(frozen=True)
class ModelVersion:
    """One model version: name, version, aliases and lineage."""

    name: str
    version: str
    aliases: tuple[str, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """The pinned registry URI (``models:/libra-guard/3``); never moves with an alias."""
        return f"models:/{self.name}/{self.version}"

    @property
    def registered(self) -> bool:
        return self.version != UNREGISTERED

    @property
    def run_id(self) -> str | None:
        """The MLflow run the model was logged in."""
        return self.lineage.get("run_id")

    def with_alias(self, alias: str) -> ModelVersion:
        return replace(self, aliases=tuple(sorted({*self.aliases, alias})))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form replicas receive and ``/v1/model`` reports (with the source)."""
        return {
            "name": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "lineage": dict(self.lineage),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelVersion:
        return cls(
            name=str(values["name"]),
            version=str(values["version"]),
            aliases=tuple(values.get("aliases") or ()),
            lineage=dict(values.get("lineage") or {}),
        )

    @classmethod
    def unregistered(cls, folder: str | Path) -> ModelVersion:
        """A model folder that is not in the registry, named after the folder."""
        return cls(name=Path(folder).name, version=UNREGISTERED)

"""Reading YAML config files: one mapping per file, errors that name the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from libra_guard.errors import ConfigError


def read_config_mapping(path: Path | None, what: str) -> dict:
    """The top-level mapping of a YAML file, without its ``settings:`` block (which
    ``load_settings`` reads); an empty dict when ``path`` is None.

    Raises:
        ConfigError: the file cannot be read, is not YAML, or is not a mapping.
    """
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {path} must be a mapping of keys to values")
    return {key: value for key, value in loaded.items() if key != "settings"}

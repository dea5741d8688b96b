"""Compare-and-set of ``champion`` on a real MLflow registry (SQLite under tmp_path)."""

from __future__ import annotations

import pytest

from libra_guard.promotion.champion import (
    ChampionMovedError,
    compared_champion,
    move_champion,
    record_compared_champion,
)
from libra_guard.tracking import registry


@pytest.fixture
def uri(tmp_path, monkeypatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LIBRA_STATE_DIR", str(tmp_path / "state"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}", encoding="utf-8")
    for _ in range(3):
        registry.log_and_register(folder, {"base_model": "tiny"}, tracking_uri=uri)
    return uri


def test_the_compared_champion_is_recorded_on_the_version(uri) -> None:
    assert compared_champion("1", tracking_uri=uri) == (False, None)
    record_compared_champion("1", None, tracking_uri=uri)
    record_compared_champion("2", "1", tracking_uri=uri)
    assert compared_champion("1", tracking_uri=uri) == (True, None)
    assert compared_champion("2", tracking_uri=uri) == (True, "1")


def test_champion_moves_only_from_the_compared_version(uri) -> None:
    move_champion("1", None, tracking_uri=uri)  # no champion yet, none was compared
    move_champion("2", "1", tracking_uri=uri)
    assert registry.alias_version(registry.CHAMPION, tracking_uri=uri) == "2"
    with pytest.raises(ChampionMovedError, match="compared libra-guard v3 with v1, but champion"):
        move_champion("3", "1", tracking_uri=uri)
    with pytest.raises(ChampionMovedError, match="with no champion, but champion now names v2"):
        move_champion("3", None, tracking_uri=uri)
    assert registry.alias_version(registry.CHAMPION, tracking_uri=uri) == "2"
    move_champion("2", "1", tracking_uri=uri)  # already champion: nothing to move, no error

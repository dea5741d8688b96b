"""The replica's table of open streams: bounded in count, expired when idle, and a clear
``StreamLost`` for an id it does not hold; stream ids name their home replica."""

from __future__ import annotations

import pytest

from serving.stream_router import home_of, new_stream_id
from serving.stream_sessions import OpenStreams, StreamLost, StreamsFull


def test_a_full_table_refuses_until_a_stream_closes() -> None:
    streams = OpenStreams(max_open=2, idle_timeout_s=60)
    for name in ("a", "b"):
        streams.check_room()
        streams.add(name, object())
    with pytest.raises(StreamsFull, match="stream_max_open"):
        streams.check_room()
    streams.close("a")
    streams.check_room()


def test_an_idle_stream_is_dropped_and_then_reported_lost(monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("serving.stream_sessions.time.monotonic", lambda: clock[0])
    streams = OpenStreams(max_open=1, idle_timeout_s=10)
    streams.add("old", "verdict")
    clock[0] += 5
    assert streams.get("old") == "verdict"  # a use refreshes its age
    clock[0] += 8
    with pytest.raises(StreamsFull):
        streams.check_room()
    clock[0] += 11
    streams.check_room()
    assert len(streams) == 0
    with pytest.raises(StreamLost, match="open a new one"):
        streams.get("old")


def test_a_stream_id_names_its_home_replica() -> None:
    first, second = new_stream_id("replica-x1"), new_stream_id("replica-x1")
    assert first != second
    assert home_of(first) == home_of(second) == "replica-x1"

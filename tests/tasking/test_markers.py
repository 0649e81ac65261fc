"""Markers: set once if absent, read by anyone, dropped only by the value that set them."""

from __future__ import annotations

import uuid

import pytest

from tasking import markers
from tests.support.waiting import wait_until


@pytest.fixture
def key(redis_server: None) -> str:
    name = markers.marker_key("tests", uuid.uuid4().hex)
    yield name
    markers.drop(name, markers.get(name) or "")


def test_a_marker_is_set_once_and_read_back(key):
    assert markers.get(key) is None
    assert markers.put(key, "first", ttl=5)
    assert not markers.put(key, "second", ttl=5)
    assert markers.get(key) == "first"


def test_only_the_value_that_set_a_marker_drops_it(key):
    markers.put(key, "mine", ttl=5)

    assert not markers.drop(key, "theirs")
    assert markers.get(key) == "mine"
    assert markers.drop(key, "mine")
    assert markers.get(key) is None


def test_a_marker_lapses_after_its_ttl(key):
    markers.put(key, "brief", ttl=0.2)

    wait_until(lambda: markers.get(key) is None, timeout=5, what="the marker to lapse")
    assert markers.put(key, "next", ttl=5)


def test_long_keys_are_shortened_to_a_bounded_length():
    short = markers.marker_key("done", "t", "id")
    long = markers.marker_key("done", "t", "x" * 500)

    assert short == "lock:done:t:id"
    assert len(long) < 100
    assert long != markers.marker_key("done", "t", "y" * 500)

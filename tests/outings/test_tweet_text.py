"""Tweet text: weighing it as X does, and the shortening rule."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from outings import tweet_text


def test_text_that_fits_is_left_alone():
    text = "x" * 280

    assert tweet_text.shorten(text) == text


def test_long_text_keeps_whole_words_and_ends_with_an_ellipsis():
    text = "Picnic " * 50  # 350 characters

    short = tweet_text.shorten(text)

    assert short == ("Picnic " * 39).rstrip() + "…"
    assert tweet_text.weighted_length(short) == 39 * 7 - 1 + 2
    assert tweet_text.weighted_length(short) <= 280


def test_one_word_longer_than_the_limit_is_cut_inside():
    short = tweet_text.shorten("a" * 400)

    assert short == "a" * 278 + "…"


def test_wide_characters_weigh_two_as_on_x():
    assert tweet_text.weighted_length("abc") == 3
    assert tweet_text.weighted_length("遠足") == 4
    assert tweet_text.shorten("遠" * 200) == "遠" * 139 + "…"


def test_every_link_weighs_twenty_three_however_short():
    assert tweet_text.weighted_length("see a.co") == 4 + 23
    assert tweet_text.weighted_length("https://example.com/" + "p" * 100) == 120


@given(st.text(max_size=700))
def test_shortened_text_always_fits_and_is_the_start_of_the_original(text):
    short = tweet_text.shorten(text)

    assert tweet_text.weighted_length(short) <= tweet_text.MAX_WEIGHT
    normalized = unicodedata.normalize("NFC", text).strip()
    if short != normalized:
        assert short.endswith("…")
        assert normalized.startswith(short[:-1])

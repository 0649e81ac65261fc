"""Tweet text: weighing it as X does, and fitting it into X's limit."""

from __future__ import annotations

import re
import unicodedata

# 280: X's maxWeightedTweetLength (twitter-text v3 configuration).
MAX_WEIGHT = 280
# twitter-text v3: code points in these ranges weigh 1, every other code point weighs 2.
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# twitter-text v3: every link weighs 23 (t.co length), however long or short it is.
LINK_WEIGHT = 23
LINK = re.compile(r"https?://\S+|\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b(?:/\S*)?", re.IGNORECASE)
ELLIPSIS = "…"


def weighted_length(text: str) -> int:
    """Weigh text as X does, erring heavy so a text that fits here fits on X."""
    text = unicodedata.normalize("NFC", text)
    weight = 0
    position = 0
    for link in LINK.finditer(text):
        weight += _weigh_plain(text[position : link.start()])
        # A long link is shortened by t.co; a short one is still counted as 23.
        weight += max(LINK_WEIGHT, _weigh_plain(link.group()))
        position = link.end()
    return weight + _weigh_plain(text[position:])


def _weigh_plain(text: str) -> int:
    return sum(
        1 if any(low <= ord(char) <= high for low, high in LIGHT_RANGES) else 2 for char in text
    )


def shorten(text: str, *, limit: int = MAX_WEIGHT) -> str:
    """Fit text into X's limit: keep whole words, end with an ellipsis.

    The rule: text that fits is returned unchanged. Otherwise the longest run of whole
    words that still fits with "…" appended is kept; only a first word that alone is too
    long is cut inside, character by character.
    """
    text = unicodedata.normalize("NFC", text).strip()
    if weighted_length(text) <= limit:
        return text
    kept = ""
    for piece in re.split(r"(\s+)", text):
        if weighted_length(kept + piece + ELLIPSIS) > limit:
            break
        kept += piece
    kept = kept.rstrip()
    if not kept:
        for char in text:
            if weighted_length(kept + char + ELLIPSIS) > limit:
                break
            kept += char
    return kept.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS

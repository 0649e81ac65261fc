"""The one retry curve: exponential, jittered, never shrinking, bounded."""

from __future__ import annotations

import itertools

from tasking import backoff


def test_waits_grow_with_each_retry_never_shrink_and_stay_under_the_cap():
    # base 3: steps 3, 6, 12, 24, then the cap of 40 from retry 4 on.
    waits = [[backoff.countdown(n, base=3, cap=40) for _ in range(200)] for n in range(8)]

    for earlier, later in itertools.pairwise(waits[:4]):
        assert max(earlier) <= min(later)
    assert 1.5 <= min(waits[0]) <= max(waits[0]) <= 3
    assert all(20 <= wait <= 40 for row in waits[4:] for wait in row)
    assert len({round(w, 6) for w in waits[2]}) > 1, "no jitter"


def test_a_zero_base_retries_at_once():
    assert {backoff.countdown(n, base=0, cap=600) for n in range(6)} == {0}

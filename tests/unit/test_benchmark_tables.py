"""The benchmarks' tables: paired differences, headroom recovered, signal efficiency, the
variants of the mechanism study, the docs block they rewrite, and the headroom curves."""

from __future__ import annotations

import argparse
from types import ModuleType

import pytest

from tests.helpers.benchmarks import load


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    return load("quality")


def runs(few: list[float], all_: float = 80.0) -> list[dict]:
    """One run per seed with the given Few accuracy (%) on the linear probe."""
    keys = {"many": 70.0, "medium": 85.0, "std": 5.0, "all": all_}
    return [
        {"seed": seed, "seconds": 60.0, "metrics": {"linear": {**keys, "few": value}}}
        for seed, value in enumerate(few)
    ]


def twins(quality) -> dict:
    """TASE rows with an estimated signal and their oracle twins (same formulation)."""
    comp = "method_kwargs.temperature_compensation=true"
    return {
        "tase": quality.v("tase"),
        "tase (oracle)": quality.v("tase", quality.ORACLE),
        "tase (compensated)": quality.v("tase", comp),
        "tase (oracle, compensated)": quality.v("tase", quality.ORACLE, comp),
    }


def paired_row(lines: list[str], variant: str) -> list[str]:
    """The cells of ``variant``'s row in the paired-difference table."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Paired difference"))
    row = next(line for line in lines[start:] if line.startswith(f"| {variant} |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_headroom_recovered_and_signal_efficiency_use_the_paired_means(quality) -> None:
    rows = {
        "simclr": runs([60.0, 62.0, 61.0]),
        quality.BALANCED: runs([66.0, 68.0, 67.0]),  # +6 on every seed: clear
        "tase (oracle)": runs([63.0, 65.0, 64.0]),  # +3
        "tase": runs([61.5, 63.5, 62.5]),  # +1.5
        "tase (oracle, compensated)": runs([64.0, 66.0, 65.0]),  # +4
        "tase (compensated)": runs([63.0, 65.0, 64.0]),  # +3
    }
    lines = quality.table(rows, "linear", twins(quality))
    assert paired_row(lines, quality.BALANCED)[6] == "1"
    assert paired_row(lines, "tase (oracle)")[6:] == ["+0.50", ""]
    assert paired_row(lines, "tase")[6:] == ["+0.25", "+0.50"]
    # each formulation's efficiency is against its own oracle row, not the default's
    assert paired_row(lines, "tase (compensated)")[6:] == ["+0.50", "+0.75"]


def test_no_share_of_a_headroom_that_is_not_clear_nor_of_an_oracle_that_gains_nothing(
    quality,
) -> None:
    rows = {
        "simclr": runs([60.0, 62.0, 61.0]),
        quality.BALANCED: runs([66.0, 58.0, 62.0]),  # +6, -4, +1: not clear
        "tase (oracle)": runs([59.0, 61.0, 60.0]),  # -1
        "tase": runs([61.0, 63.0, 62.0]),
    }
    lines = quality.table(rows, "linear", twins(quality))
    assert paired_row(lines, "tase")[6:] == ["- (headroom not clear)", "- (oracle gains nothing)"]


def test_clear_needs_a_mean_above_twice_the_spread_over_two_or_more_seeds(quality) -> None:
    for rule in quality.CLEAR_RULES:
        assert quality.clear([6.0, 7.0, 5.0], rule)
        assert not quality.clear([6.0, -4.0, 1.0], rule)
        assert not quality.clear([6.0], rule)


def test_clear_by_the_t_interval_is_less_strict_than_twice_the_std(quality) -> None:
    # 5 orders, mean 1.0, std 0.79: t(0.975, 4) = 2.776, half-width 0.98 < 1 < 2 x std = 1.58
    values = [2.0, 1.0, 0.0, 1.5, 0.5]
    assert quality.t_halfwidth(values) == pytest.approx(2.7764 * 0.7906 / 5**0.5, rel=1e-3)
    assert quality.clear(values, "ci") and not quality.clear(values, "2std")
    assert quality.mean_ci(values) == "**+1.00 ± 0.98**"
    assert quality.mean_ci([2.0, -1.0, 0.5]) == "+0.50 ± 3.73"
    with pytest.raises(ValueError, match="clear rule"):
        quality.clear(values, "3std")


def test_the_paired_table_gives_each_difference_its_t_interval(quality) -> None:
    rows = {
        "simclr": runs([60.0, 62.0, 61.0]),
        "tase": runs([61.0, 64.0, 62.0]),  # Few +1, +2, +1: 4.303 x 0.577 / sqrt(3) = 1.43
        "ts": runs([61.5, 64.0, 62.5]),  # Few +1.5, +2, +1.5: 4.303 x 0.289 / sqrt(3) = 0.72
    }
    lines = quality.table(rows, "linear", twins(quality))
    assert paired_row(lines, "tase")[1] == "+0.00 ± 0.00"  # Many
    assert paired_row(lines, "tase")[3] == "+1.33 ± 1.43"  # the interval holds 0
    assert paired_row(lines, "ts")[3] == "**+1.67 ± 0.72**"  # the interval excludes 0


def test_signal_quality_sits_beside_each_order_s_gain(quality) -> None:
    rows = {"simclr": runs([60.0, 62.0]), "tase": runs([63.0, 61.0])}
    for r, rho in zip(rows["tase"], (0.7, -0.2)):
        r["diagnostics"] = {
            "rho": rho,
            "rho_min": rho - 0.1,
            "recovered_imbalance": 4.0,
            "true_imbalance": 100.0,
            "w_few": 1.5,
            "w_many": 0.9,
        }
    lines = quality.signal_by_order(rows, "linear")
    assert "| tase | 0 | +0.70 / +0.60 | 4.0 / 100 | 1.50 / 0.90 | +3.00 | +0.00 |" in lines
    assert "| tase | 1 | -0.20 / -0.30 | 4.0 / 100 | 1.50 / 0.90 | -1.00 | +0.00 |" in lines
    assert quality.signal_by_order({"simclr": rows["simclr"]}, "linear") == []


def test_every_formulation_is_studied_with_the_oracle_and_with_the_default_signal(
    quality,
) -> None:
    oracle, default = quality.MECHANISM, quality.FORMULATION
    assert len(oracle) == len(default) + 1  # plus both halves as configured: "tase (oracle)"
    # the study's rows stay what they measured whatever the configs' default: loss weights
    assert oracle["tase (oracle)"].overrides == (quality.ORACLE, quality.LOSS)
    assert all(quality.LOSS in v.overrides for n, v in default.items() if n != "tase (sampling)")
    for name, variant in default.items():
        twin = oracle[name.replace("tase (", "tase (oracle, ")]
        assert twin.overrides == (quality.ORACLE, *variant.overrides)
        assert quality.ORACLE not in variant.overrides
    variants = quality.BENCHMARKS["fashion-mnist-lt"].variants
    assert quality.oracle_twin("tase (sampling)", variants) == "tase (oracle, sampling)"
    by_signal = {
        "tase (kmeans)": quality.v("tase", "method_kwargs.tail_signal=kmeans"),
        "tase (oracle)": quality.v("tase", quality.ORACLE),
    }
    assert quality.oracle_twin("tase (kmeans)", by_signal) == "tase (oracle)"  # signal only
    assert quality.oracle_twin("tase + gh", variants) is None  # no oracle row with GH
    assert quality.oracle_twin("sdclr", variants) is None


def test_the_docs_block_is_replaced_in_place_or_appended(quality, tmp_path, monkeypatch) -> None:
    md = tmp_path / "results.md"
    monkeypatch.setattr(quality, "RESULTS_MD", md)
    md.write_text("intro\n<!-- quality:t:val:begin -->\nold\n<!-- quality:t:val:end -->\ntail\n")
    quality.update_results_md("t", "val", "new")
    assert md.read_text() == (
        "intro\n<!-- quality:t:val:begin -->\nnew\n<!-- quality:t:val:end -->\ntail\n"
    )
    quality.update_results_md("u", "test", "first")
    assert md.read_text().endswith(
        "tail\n\n## Quality on u (test split)\n\n"
        "<!-- quality:u:begin -->\nfirst\n<!-- quality:u:end -->\n"
    )
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it


def test_a_new_docs_block_lands_above_the_history(quality, tmp_path, monkeypatch) -> None:
    md = tmp_path / "results.md"
    monkeypatch.setattr(quality, "RESULTS_MD", md)
    md.write_text(f"# Results\n\ncurrent\n\n{quality.HISTORY_HEADING}\n\nold\n")
    quality.update_results_md("t", "test", "fresh")
    assert md.read_text() == (
        "# Results\n\ncurrent\n\n## Quality on t (test split)\n\n"
        "<!-- quality:t:begin -->\nfresh\n<!-- quality:t:end -->\n\n"
        f"{quality.HISTORY_HEADING}\n\nold\n"
    )


@pytest.fixture(scope="module")
def headroom_module() -> ModuleType:
    return load("headroom")


def regime(quality, epochs: int, n_max: int, lt: list[float], bal: list[float]) -> dict:
    """A regime's results as headroom.py collects them (linear probe, Few only varies)."""
    rows = {"simclr": runs(lt), quality.BALANCED: runs(bal)}
    return {
        "epochs": epochs,
        "n_max": n_max,
        "rows": rows,
        "missing": [f"simclr seed {s}" for s in range(len(lt), 5)],
        "minutes": 4.0,
    }


def test_headroom_curves_compare_regimes_on_the_seeds_they_share(
    quality, headroom_module, tmp_path, monkeypatch
) -> None:
    results = {
        "20x1000": regime(quality, 20, 1000, [60, 62, 61, 50, 50], [66, 68, 67, 70, 40]),
        "60x1000": regime(quality, 60, 1000, [70, 71, 72], [71, 73, 72]),
        "20x3000": regime(quality, 20, 3000, [65, 66, 64], [69, 70, 68]),
    }
    for res in results.values():
        res["headroom"] = headroom_module.headroom(res["rows"])
    assert results["20x1000"]["headroom"]["linear"]["few"] == [6, 6, 6, 20, -10]
    assert headroom_module.shared_seeds(results) == {0, 1, 2}
    args = argparse.Namespace(
        seeds=[0, 1, 2, 3, 4], split="val", protocols=["linear"], clear_rule="ci"
    )
    text = headroom_module.markdown(results, args, 1.0)
    lines = text.splitlines()
    assert "| 20x1000 | linear | 5 |" in text  # every paired seed in the main table
    assert "| 60x1000 | linear | 3 |" in text
    start = next(i for i, line in enumerate(lines) if line.startswith("Few on the seeds"))
    shared = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in lines[start:]
        if line.startswith("| ") and "x" in line.split("|")[1]
    }
    assert shared == {
        "20x1000": "+6.00 ± 0.00",
        "60x1000": "+1.00 ± 1.00",
        "20x3000": "+4.00 ± 0.00",
    }
    assert "- 60x1000, linear: +1.00 (s0), +2.00 (s1), +0.00 (s2)" in lines
    assert "60x1000: simclr seed 3" in text
    monkeypatch.setattr(headroom_module, "REPO", tmp_path)
    assert headroom_module.plot(results, ["linear"], "val") == [
        "img/headroom-fashion-mnist-lt-val-linear.png"
    ]
    assert (tmp_path / "docs/img/headroom-fashion-mnist-lt-val-linear.png").stat().st_size > 0

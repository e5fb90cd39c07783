"""The tail signals beyond k-means inside solo-learn: diagnostics in the run's log, exact resume,
and identical tables on every DDP rank."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers.solo_runs import (
    DDP,
    DIGITS,
    TINY,
    checkpoint_parts,
    checkpoints,
    read_stats,
    single_run_folder,
    step_losses,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # each test starts solo-learn runs

# case -> (tail signal, further overrides)
SIGNALS = {
    "knn_density": ("knn_density", []),
    "memorisation": ("memorisation", []),
    # the measurement formulations: the oracle, weights as re-sampling, compensated temperature
    "oracle, sampling, compensated": (
        "oracle",
        ["method_kwargs.weights_as=sampling", "method_kwargs.temperature_compensation=true"],
    ),
}
RUN = TINY + [
    "max_epochs=3",
    "method_kwargs.warmup_epochs=1",
    "method_kwargs.recluster_every=1",
    "checkpoint.keep_prev=True",
    "method_kwargs.bank_feature=mean",
]


@pytest.mark.parametrize("case", SIGNALS)
def test_signal_resumes_exactly_and_logs_its_diagnostics(case: str, run_solo, tmp_path: Path):
    signal, extra = SIGNALS[case]
    overrides = RUN + [f"method_kwargs.tail_signal={signal}", *extra]
    full = tmp_path / "full"
    run_solo("main_pretrain.py", DIGITS, "tase.yaml", overrides, full)
    folder = single_run_folder(full, "tase")
    reclusters = [s for s in read_stats(folder) if s["reclustered"]]
    assert [s["epoch"] for s in reclusters] == [1, 2]
    for s in reclusters:
        assert s["tail_signal"] == signal and -1.0 <= s["rho"] <= 1.0
        assert s["true_imbalance"] > 1  # among the samples seen so far (3 batches an epoch)
        assert {"tau_many", "tau_few", "w_many", "w_few", "recovered_imbalance"} <= set(s)
        if signal == "oracle":  # the true counts (of the samples seen so far)
            assert s["rho"] == pytest.approx(1.0) and s["tau_few"] < s["tau_many"]
    assert reclusters[0]["clustered"] == 96  # 3 steps x 32 samples seen in epoch 0

    resumed = tmp_path / "resumed"
    ckpt = checkpoints(folder)[1]
    run_solo(
        "main_pretrain.py",
        DIGITS,
        "tase.yaml",
        overrides + [f"resume_from_checkpoint='{ckpt}'"],
        resumed,
    )
    sa = checkpoint_parts(folder, 2)["tase"]["state"]
    sb = checkpoint_parts(single_run_folder(resumed, "tase"), 2)["tase"]["state"]
    for key in ("tau", "weights", "log_freq"):
        assert torch.equal(sa[key].nan_to_num(-9.0), sb[key].nan_to_num(-9.0)), key
    if signal == "memorisation":
        for key in ("values", "seen", "loss_sum", "count"):
            assert torch.equal(sa["momentum"]["momentum"][key], sb["momentum"]["momentum"][key])
    full_losses, resumed_losses = step_losses(full), step_losses(resumed)
    assert sorted(resumed_losses) == [6, 7, 8]
    for step, loss in resumed_losses.items():
        assert abs(loss - full_losses[step]) < 1e-5, (step, loss, full_losses[step])


# overrides -> samples in the first estimate: with the crop-1 bank, the two ranks' shards of
# epoch 0 (2 x 3 x 32); with the clean pass (the default), every training image (503)
CROP1 = "method_kwargs.bank_feature=crop1"
DDP_CASES = {
    "knn_density": (["method_kwargs.tail_signal=knn_density", CROP1], 192),
    "memorisation": (["method_kwargs.tail_signal=memorisation", CROP1], 192),
    "clean bank": ([], 503),
    # the ranks draw one weighted sample of indexes and take their shares
    "oracle, sampling": (
        ["method_kwargs.tail_signal=oracle", "method_kwargs.weights_as=sampling", CROP1],
        192,
    ),
}


@pytest.mark.parametrize("case", DDP_CASES)
def test_signal_under_ddp_gives_identical_tables_on_both_ranks(case: str, run_solo, tmp_path: Path):
    overrides, clustered = DDP_CASES[case]
    extra = ["max_epochs=2", "method_kwargs.warmup_epochs=1", *DDP]
    run_solo("main_pretrain.py", DIGITS, "tase.yaml", TINY + extra + overrides, tmp_path)
    (record,) = [s for s in read_stats(single_run_folder(tmp_path, "tase")) if s["reclustered"]]
    assert len(record["tables_checksum_by_rank"]) == 2
    assert len(set(record["tables_checksum_by_rank"])) == 1
    assert record["clustered"] == clustered and -1.0 <= record["rho"] <= 1.0
    assert (record.get("clean_pass_seconds", 0) > 0) == (case == "clean bank")

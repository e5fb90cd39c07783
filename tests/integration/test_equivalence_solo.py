"""Fair by construction: TASE without its per-sample tables, and TS at a constant temperature,
train exactly like solo-learn's built-in SimCLR (same initial parameters, same loss per step)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers.solo_runs import DIGITS, TINY, step_losses

pytestmark = pytest.mark.integration

# 20 steps in 2 epochs, so TASE re-clusters once (at epoch 1)
STEPS = [
    *(o for o in TINY if "limit_train_batches" not in o),
    "max_epochs=2",
    "+limit_train_batches=10",
    "seed=3",
]
NEUTRAL = {
    "tase": [
        "method_kwargs.adaptive_temperature=false",
        "method_kwargs.weighting=none",
        "method_kwargs.tau_0=0.2",
        "method_kwargs.warmup_epochs=1",
    ],
    "ts": ["method_kwargs.tau_min=0.2", "method_kwargs.tau_max=0.2"],
}


def build_model(method: str, overrides: list[str], data_root: Path) -> torch.nn.Module:
    """The solo-learn model main_pretrain.py would build for ``<method>.yaml`` (seeded)."""
    import lightning
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from solo.args.pretrain import parse_cfg
    from solo.methods import METHODS

    from solo_tase.methods import register_methods
    from solo_tase.plugin import SoloTasePlugin

    register_methods()
    with initialize_config_dir(str(DIGITS), version_base=None):
        cfg = compose(
            f"{method}.yaml",
            overrides=[f"data.train_path={data_root / 'digits-lt' / 'train'}", *STEPS, *overrides],
        )
    SoloTasePlugin().on_run_start(cfg)
    OmegaConf.set_struct(cfg, False)  # as main_pretrain.py does before parse_cfg
    cfg = parse_cfg(cfg)
    lightning.seed_everything(3)
    return METHODS[method](cfg)


@pytest.mark.parametrize("method", ["tase", "ts"])
def test_identical_parameters_at_initialisation(method: str, digits_root: Path):
    simclr = build_model("simclr", [], digits_root).state_dict()
    ours = build_model(method, NEUTRAL[method], digits_root).state_dict()
    assert list(ours) == list(simclr)
    for name, tensor in simclr.items():
        assert torch.equal(ours[name], tensor), name


@pytest.fixture(scope="module")
def simclr_losses(run_solo, tmp_path_factory) -> dict[int, float]:
    out = tmp_path_factory.mktemp("simclr-equivalence")
    run_solo("main_pretrain.py", DIGITS, "simclr.yaml", STEPS, out)
    return step_losses(out)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["tase", "ts"])
def test_same_loss_at_each_of_the_first_20_steps(
    method: str, simclr_losses, run_solo, tmp_path: Path
):
    run_solo("main_pretrain.py", DIGITS, f"{method}.yaml", [*STEPS, *NEUTRAL[method]], tmp_path)
    ours = step_losses(tmp_path)
    assert len(simclr_losses) == 20 and sorted(ours) == sorted(simclr_losses)
    for step, loss in simclr_losses.items():
        assert abs(ours[step] - loss) < 1e-5, (step, ours[step], loss)

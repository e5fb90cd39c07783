"""The long-tailed pretrain configs compose and carry the literature's recipe (no solo-learn)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from solo_tase.data.long_tail import read_block
from solo_tase.data.profiles import exponential_profile
from solo_tase.methods.config import TaseConfig
from tests.helpers.paths import PRETRAIN_CONFIGS

pytest.importorskip("hydra", reason="hydra-core is part of the `solo` extra")

RECIPES = {  # folder: (dataset, classes, backbone, batch, epochs, crop)
    "cifar10-lt": ("cifar10", 10, "resnet18", 512, 2000, 32),
    "cifar100-lt": ("cifar100", 100, "resnet18", 512, 2000, 32),
    "imagenet100-lt": ("imagenet100", 100, "resnet50", 256, 500, 224),
}


def compose(folder: str, name: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(PRETRAIN_CONFIGS / folder), version_base="1.2"):
        return hydra_compose(config_name=name)


@pytest.mark.parametrize("folder", sorted(RECIPES))
@pytest.mark.parametrize("method", ["tase", "simclr"])
def test_recipe(folder: str, method: str):
    dataset, classes, backbone, batch, epochs, crop = RECIPES[folder]
    cfg = compose(folder, f"{method}.yaml")
    assert (cfg.method, cfg.data.dataset, cfg.backbone.name) == (method, dataset, backbone)
    assert cfg.optimizer.name == "sgd" and cfg.optimizer.batch_size == batch
    # solo-learn scales lr by batch_size * devices / 256: the effective lr is the recipe's 0.5
    assert cfg.optimizer.lr * batch * len(cfg.devices) / 256 == pytest.approx(0.5)
    assert cfg.optimizer.weight_decay == pytest.approx(1e-4)
    assert (cfg.scheduler.name, cfg.scheduler.warmup_epochs, cfg.max_epochs) == (
        "warmup_cosine",
        10,
        epochs,
    )
    assert [a.crop_size for a in cfg.augmentations] == [crop]
    assert sum(a.num_crops for a in cfg.augmentations) == 2
    raw = OmegaConf.load(PRETRAIN_CONFIGS / folder / f"{method}.yaml")
    assert raw.hydra.callbacks.solo_tase._target_ == "solo_tase.plugin.SoloTasePlugin"
    if method == "simclr":
        assert cfg.method_kwargs.temperature == pytest.approx(0.2)
    else:
        tase = TaseConfig.from_kwargs(dict(cfg.method_kwargs))
        assert tase.tau_0 == pytest.approx(0.2) and tase.num_clusters == classes


@pytest.mark.parametrize(
    "folder, n_max, total", [("cifar10-lt", 5000, 12_406), ("cifar100-lt", 500, 10_847)]
)
def test_cifar_configs_draw_the_standard_profile_in_place(folder: str, n_max: int, total: int):
    for method in ("tase", "simclr"):
        block = read_block(compose(folder, f"{method}.yaml"))
        assert (block.source, block.ratio, block.seed, block.n_max) == ("profile", 100, 0, None)
        assert sum(exponential_profile(n_max, RECIPES[folder][1], block.ratio)) == total


def test_imagenet100_lt_reads_the_materialised_folders():
    cfg = compose("imagenet100-lt", "tase.yaml")
    assert "long_tail" not in cfg.data
    assert cfg.data.train_path.endswith("imagenet100-lt/train")
    assert cfg.data.val_path.endswith("imagenet100-lt/val")

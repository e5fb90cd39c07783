"""BCL's boosted augmentation: the op table, the per-sample magnitude, the view pipelines, and the
strength table that the training process writes and the loader workers read."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from solo_tase.data.boosted import BoostedRandAugment, StrengthTable, rand_augment
from solo_tase.data.boosted.dataset import (
    TABLE_ATTRIBUTE,
    boosted_dataset_with_index,
    insert_boost,
)
from solo_tase.data.boosted.randaugment import OPS
from solo_tase.methods.boosted import boost_settings
from solo_tase.methods.config import BoostSettings, ConfigError


def image(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))


def test_every_op_keeps_an_rgb_image_of_the_same_size_and_changes_it():
    img = image()
    for op, low, high in OPS:
        random.seed(0)
        out = op(img, low + 0.7 * (high - low))
        assert out.size == img.size and out.mode == "RGB"
    unchanged = []
    for i, (op, _, high) in enumerate(OPS):
        random.seed(0)
        if np.array_equal(np.asarray(op(img, high)), np.asarray(img)):
            unchanged.append(i)
    # posterize at 8 bits and autocontrast of a full-range image are identities
    assert unchanged == [5, 9]


def test_probability_zero_is_the_identity_and_one_is_not():
    img = image(1)
    random.seed(0)
    assert np.array_equal(np.asarray(rand_augment(img, 2, 30, 0.0)), np.asarray(img))
    random.seed(0)
    outs = [np.asarray(rand_augment(img, 2, 20, 1.0)) for _ in range(5)]
    assert any(not np.array_equal(o, np.asarray(img)) for o in outs)


def test_magnitude_follows_the_official_mapping():
    boost = BoostedRandAugment(rand_k=1, rand_strength=30)
    for w, m in ((0.0, 10.0), (0.5, 20.0), (1.0, 30.0)):
        boost.set_sample(w)
        assert boost.magnitude == pytest.approx(m) and boost.prob == w
    boost2 = BoostedRandAugment(rand_k=2, rand_strength=30)
    random.seed(3)
    mags = []
    for _ in range(200):
        boost2.set_sample(0.8)
        mags.append(boost2.magnitude)
    assert min(mags) >= 5 and max(mags) <= 5 + 25 * 0.8 and np.std(mags) > 1  # u ~ U(0, 1)


class _NCrop:  # the attribute layout of solo-learn's NCropAugmentation / FullTransformPipeline
    def __init__(self, transform):
        self.transform = transform

    def __call__(self, x):
        return [self.transform(x), self.transform(x)]


class _Full:
    def __init__(self, ts):
        self.transforms = ts

    def __call__(self, x):
        return [v for t in self.transforms for v in t(x)]


def pipeline() -> _Full:
    views = transforms.Compose(
        [
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize((0.5,) * 3, (0.5,) * 3),
        ]
    )
    return _Full([_NCrop(views)])


def test_boost_goes_before_to_tensor_once():
    t, boost = pipeline(), BoostedRandAugment(1, 30)
    assert insert_boost(t, boost) == 1
    steps = t.transforms[0].transform.transforms
    assert steps[1] is boost and isinstance(steps[2], transforms.ToTensor)
    assert insert_boost(t, boost) == 1 and len(t.transforms[0].transform.transforms) == 4


def test_boost_without_to_tensor_is_refused():
    with pytest.raises(ValueError, match="ToTensor"):
        insert_boost(
            _Full([_NCrop(transforms.Compose([transforms.RandomHorizontalFlip()]))]),
            BoostedRandAugment(1, 30),
        )


class TinySet(Dataset):
    """Yields (views, weight the boost holds for this sample) like a torchvision set."""

    def __init__(self, n: int, transform) -> None:
        self.n, self.transform = n, transform

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        return self.transform(image(index)), torch.tensor(self.bcl_boost.prob)


def test_workers_see_the_table_written_between_epochs():
    cls = boosted_dataset_with_index(1, 30.0)(TinySet)
    data = cls(8, pipeline())
    table: StrengthTable = getattr(data, TABLE_ATTRIBUTE)
    assert len(table) == 8
    loader = DataLoader(data, batch_size=4, num_workers=2, persistent_workers=True)

    def epoch() -> torch.Tensor:
        seen = torch.empty(8)
        for indexes, views, weights in loader:
            assert len(views) == 2 and views[0].shape == (4, 3, 32, 32)
            seen[indexes] = weights
        return seen

    assert torch.equal(epoch(), torch.zeros(8))
    workers = loader._iterator._workers  # persistent: the same processes serve every epoch
    new = torch.linspace(0, 1, 8)
    table.update(new)
    assert torch.allclose(epoch(), new)
    table.update(new.flip(0))
    assert torch.allclose(epoch(), new.flip(0))
    assert loader._iterator._workers == workers and all(w.is_alive() for w in workers)


def test_table_update_checks_size_and_range():
    table = StrengthTable(3)
    table.update(torch.tensor([0.5, 1.0]))  # a smaller set (data.fraction) fills a prefix
    assert table.values.tolist() == [0.5, 1.0, 0.0]
    with pytest.raises(ValueError, match="training set changed"):
        table.update(torch.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        table.update(torch.tensor([1.5]))


def test_boost_settings_from_the_run_config():
    assert boost_settings(OmegaConf.create({"method": "simclr", "method_kwargs": {}})) is None
    bcl = boost_settings(OmegaConf.create({"method": "bcl", "method_kwargs": {"rand_k": 1}}))
    assert bcl == BoostSettings(0.97, 1, 30.0)
    with pytest.raises(ConfigError, match="method_kwargs.momentum_loss_beta"):
        boost_settings(
            OmegaConf.create({"method": "bcl", "method_kwargs": {"momentum_loss_beta": 1.2}})
        )


def test_install_swaps_solo_learns_factory_and_refuses_dali():
    pytest.importorskip("solo")
    import solo.data.pretrain_dataloader as solo_data

    from solo_tase.methods.boosted import install_boosted_augment

    original = solo_data.dataset_with_index
    try:
        assert install_boosted_augment(OmegaConf.create({"method": "bcl", "method_kwargs": {}}))
        assert solo_data.dataset_with_index is not original
        assert install_boosted_augment(OmegaConf.create({"method": "simclr"})) is None
        assert solo_data.dataset_with_index is original
        with pytest.raises(ConfigError, match="data.format"):
            install_boosted_augment(
                OmegaConf.create({"method": "bcl", "method_kwargs": {}, "data": {"format": "dali"}})
            )
    finally:
        solo_data.dataset_with_index = original

"""The clean view of a solo-learn training set (TASE's ``bank_feature: clean``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms

from solo_tase.data.solo_transforms import clean_copy, clean_transform, composes

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


class NCrop:  # the shape of solo.data.pretrain_dataloader.NCropAugmentation
    def __init__(self, transform: Any, num_crops: int) -> None:
        self.transform, self.num_crops = transform, num_crops

    def __call__(self, x: Any) -> list[Any]:
        return [self.transform(x) for _ in range(self.num_crops)]


class Full:  # the shape of solo.data.pretrain_dataloader.FullTransformPipeline
    def __init__(self, transforms_: list[Any]) -> None:
        self.transforms = transforms_

    def __call__(self, x: Any) -> list[Any]:
        return [view for t in self.transforms for view in t(x)]


def solo_pipeline(normalize: bool = True) -> Full:
    steps: list[Any] = [
        transforms.RandomResizedCrop(16, scale=(0.08, 1.0)),
        transforms.ColorJitter(0.4, 0.4, 0.4, 0.1),
        transforms.ToTensor(),
    ]
    if normalize:
        steps.append(transforms.Normalize(MEAN, STD))
    return Full([NCrop(transforms.Compose(steps), 2)])


class IndexedImages:  # solo-learn's dataset_with_index around a torchvision-style set
    def __init__(self, transform: Any) -> None:
        rng = np.random.default_rng(0)
        self.images = [
            Image.fromarray(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)) for _ in range(4)
        ]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[int, Any, int]:
        return i, self.transform(self.images[i]), i % 2


def test_composes_finds_every_view_pipeline():
    pipeline = Full(
        [NCrop(transforms.Compose([transforms.ToTensor()]), 2), NCrop(transforms.Compose([]), 1)]
    )
    assert len(list(composes(pipeline))) == 2


def test_clean_copy_gives_one_deterministic_evaluation_view_and_leaves_the_training_set_alone():
    data = IndexedImages(solo_pipeline())
    clean = clean_copy(data)
    index, image, target = clean[2]
    assert (index, target) == (2, 0)
    assert isinstance(image, torch.Tensor) and image.shape == (3, 16, 16)
    assert torch.equal(image, clean[2][1])  # no random augmentation
    expected = transforms.functional.to_tensor(
        transforms.functional.center_crop(transforms.functional.resize(data.images[2], 16), 16)
    )
    mean, std = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)
    assert torch.allclose(image, (expected - mean) / std, atol=1e-6)
    assert isinstance(data[2][1], list) and len(data[2][1]) == 2  # the training views stay
    assert clean.images is data.images  # images shared, not copied


def test_clean_transform_without_normalize_names_the_key_and_the_fix():
    with pytest.raises(ValueError, match=r"bank_feature=clean .* use bank_feature crop1 or mean"):
        clean_transform(solo_pipeline(normalize=False))


def test_clean_copy_of_a_set_without_transform_is_refused():
    with pytest.raises(ValueError, match=r"bank_feature=clean cannot re-read .*list"):
        clean_copy([1, 2, 3])

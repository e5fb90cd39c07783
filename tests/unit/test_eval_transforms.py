"""Evaluation transform from a run's args.json: sizes and normalisation per dataset."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from solo_tase.eval.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform
from tests.helpers.fake_runs import run_args


def test_cifar_uses_32_px_and_its_own_statistics():
    c10, c100 = eval_transform(run_args("cifar10")), eval_transform(run_args("cifar100"))
    assert (c10.resize, c10.crop, c100.resize, c100.crop) == (32, 32, 32, 32)
    assert c10.mean == (0.4914, 0.4822, 0.4465) and c100.mean == (0.5071, 0.4865, 0.4409)
    assert c10.describe() != c100.describe()


def test_imagenet_style_resize_256_crop_224():
    t = eval_transform(run_args("imagenet100", crop=224))
    assert (t.resize, t.crop, t.mean, t.std) == (256, 224, IMAGENET_MEAN, IMAGENET_STD)
    custom = eval_transform(run_args("custom", crop=224))
    assert (custom.resize, custom.crop) == (256, 224)


def test_custom_uses_the_pretraining_crop_and_statistics():
    t = eval_transform(run_args("custom", crop=32, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]))
    assert (t.resize, t.crop, t.mean, t.std) == (32, 32, (0.5,) * 3, (0.25,) * 3)
    default = eval_transform(run_args("custom", crop=64))
    assert (default.resize, default.mean, default.std) == (64, IMAGENET_MEAN, IMAGENET_STD)
    assert eval_transform(run_args("custom", crop=64), resize=73).resize == 73


def test_pipeline_output_shape_and_normalisation():
    t = eval_transform(run_args("custom", crop=32, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25]))
    out = t.build()(Image.new("RGB", (48, 40), (255, 255, 255)))
    assert out.shape == (3, 32, 32)
    assert torch.allclose(out, torch.full_like(out, (1.0 - 0.5) / 0.25))


def test_bad_args_are_refused():
    with pytest.raises(ValueError, match="crop_size"):
        eval_transform({"data": {"dataset": "custom"}, "augmentations": []})
    with pytest.raises(ValueError, match="--resize 16 is smaller than the crop size 32"):
        eval_transform(run_args("custom", crop=32), resize=16)
    with pytest.raises(ValueError, match="mean must hold 3"):
        eval_transform(run_args("custom", mean=[0.5]))


@pytest.mark.parametrize(
    "dataset, crop, kind",
    [("cifar10", 32, "random_crop=32 padding=4"), ("imagenet100", 224, "random_resized_crop=224")],
)
def test_probe_augmentation_crops_and_flips_with_the_same_normalisation(dataset, crop, kind):
    t = eval_transform(run_args(dataset, crop=crop))
    assert t.describe_augmented().startswith(kind + ",hflip,mean=")
    image = Image.fromarray(torch.randint(0, 256, (40, 48, 3), dtype=torch.uint8).numpy())
    aug = t.build_augmented()
    torch.manual_seed(0)
    first = [aug(image) for _ in range(4)]
    torch.manual_seed(0)
    again = [aug(image) for _ in range(4)]
    assert all(x.shape == (3, crop, crop) for x in first)
    assert all(torch.equal(a, b) for a, b in zip(first, again))  # drawn from torch's RNG
    assert not all(torch.equal(first[0], x) for x in first[1:])  # and random

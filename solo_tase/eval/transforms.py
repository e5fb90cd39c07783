"""The evaluation transform of a run, read from its solo-learn ``args.json``.

Every dataset gets ``Resize(resize)`` (shorter side, bilinear) -> ``CenterCrop(crop)`` ->
``ToTensor`` -> ``Normalize(mean, std)`` with the normalisation the backbone saw in
pre-training (solo-learn's ``MEANS_N_STD`` in ``solo/data/pretrain_dataloader.py``):

| ``data.dataset`` | resize / crop (px) | mean / std |
| --- | --- | --- |
| cifar10, cifar100 | 32 / 32 | the dataset's own |
| stl10 | 96 / 96 | STL-10's |
| imagenet, imagenet100 | 256 / 224 | ImageNet's |
| custom | c / c if c < 224, else round(c * 256 / 224) / c | ``augmentations[0].mean/std`` |

with ``c = augmentations[0].crop_size`` and ImageNet's mean/std when the run set none.

``resize`` can be overridden (``--resize``, at least the crop size); the crop cannot. Presets that
augment the probe set (crop + flip) use :meth:`EvalTransform.build_augmented`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torchvision import transforms as T

from solo_tase.errors import ConfigError, InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Copied from solo-learn's pretrain_dataloader.MEANS_N_STD (the statistics used in pre-training).
MEANS_N_STD: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "stl10": ((0.4914, 0.4823, 0.4466), (0.247, 0.243, 0.261)),
    "imagenet100": (IMAGENET_MEAN, IMAGENET_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
}
AUGMENT_LARGE = 224  # crops from this size on are augmented with RandomResizedCrop
FIXED_SIZES = {
    "cifar10": (32, 32),
    "cifar100": (32, 32),
    "stl10": (96, 96),
    "imagenet": (256, 224),
    "imagenet100": (256, 224),
}


@dataclass(frozen=True)
class EvalTransform:
    """Deterministic evaluation transform (sizes in pixels)."""

    resize: int
    crop: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def describe(self) -> str:
        """Stable one-line description (cache key, ``metrics.json`` ``inputs.transform``)."""
        return (
            f"resize={self.resize} bilinear,center_crop={self.crop},"
            f"mean={list(self.mean)},std={list(self.std)}"
        )

    def build(self) -> T.Compose:
        """The torchvision pipeline: PIL image -> float tensor [3, crop, crop]."""
        return T.Compose(
            [
                T.Resize(self.resize),
                T.CenterCrop(self.crop),
                T.ToTensor(),
                T.Normalize(self.mean, self.std),
            ]
        )

    def describe_augmented(self) -> str:
        """Description of :meth:`build_augmented` (cache key, ``metrics.json``)."""
        if self.crop < AUGMENT_LARGE:
            crop = f"random_crop={self.crop} padding={self.crop // 8}"
        else:
            crop = f"random_resized_crop={self.crop}"
        return f"{crop},hflip,mean={list(self.mean)},std={list(self.std)}"

    def build_augmented(self) -> T.Compose:
        """Probe-time crop + flip, as the SDCLR / GH probes train: ``RandomCrop(crop, padding =
        crop / 8)`` for small images (CIFAR: 32, padding 4), ``RandomResizedCrop(crop)`` from
        224 px on; then the same normalisation."""
        if self.crop < AUGMENT_LARGE:
            crop: object = T.Compose(
                [
                    T.Resize(self.resize),
                    T.CenterCrop(self.crop),
                    T.RandomCrop(self.crop, padding=self.crop // 8),
                ]
            )
        else:
            crop = T.RandomResizedCrop(self.crop)
        return T.Compose(
            [crop, T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(self.mean, self.std)]
        )


@dataclass(frozen=True)
class Views:
    """The transforms of one evaluation and their descriptions (cache keys, metrics.json):
    every set through ``test``; the probe trains on ``train`` (``test``, or crop + flip:
    ``augmented``)."""

    test: Callable[[Any], Any]
    test_description: str
    train: Callable[[Any], Any]
    train_description: str
    augmented: bool


def evaluation_views(args: Mapping[str, Any], resize: int | None, augment: bool) -> Views:
    """The :class:`Views` of a run's ``args``: ``augment`` trains the probe on crop + flip."""
    transform = eval_transform(args, resize)
    test, described = transform.build(), transform.describe()
    if not augment:
        return Views(test, described, test, described, augmented=False)
    train = transform.build_augmented()
    return Views(test, described, train, transform.describe_augmented(), augmented=True)


def eval_transform(args: Mapping[str, Any], resize: int | None = None) -> EvalTransform:
    """Evaluation transform of a run's ``args`` (args.json); ``resize`` overrides the default."""
    dataset = args["data"]["dataset"]
    if dataset in FIXED_SIZES:
        default_resize, crop = FIXED_SIZES[dataset]
        mean, std = MEANS_N_STD[dataset]
    else:
        aug = _first_augmentation(args)
        crop = int(aug["crop_size"])
        default_resize = crop if crop < 224 else round(crop * 256 / 224)
        mean, std = aug.get("mean") or IMAGENET_MEAN, aug.get("std") or IMAGENET_STD
    if resize is not None and resize < crop:
        raise ConfigError(
            f"--resize {resize} is smaller than the crop size {crop} of this run "
            f"(augmentations[0].crop_size); pass --resize >= {crop}"
        )
    return EvalTransform(
        resize=resize or default_resize,
        crop=crop,
        mean=_triple(mean, "mean"),
        std=_triple(std, "std"),
    )


def _first_augmentation(args: Mapping[str, Any]) -> Mapping[str, Any]:
    augs = args.get("augmentations")
    if not isinstance(augs, Sequence) or not augs or "crop_size" not in augs[0]:
        raise InputError(
            "args.json has no augmentations[0].crop_size: it is not a solo-learn "
            "pre-training config (re-save it from the run's config)"
        )
    return augs[0]


def _triple(values: Any, key: str) -> tuple[float, ...]:
    vals = tuple(float(v) for v in values)
    if len(vals) != 3:
        raise InputError(f"augmentations[0].{key} must hold 3 numbers (RGB), got {values!r}")
    return vals

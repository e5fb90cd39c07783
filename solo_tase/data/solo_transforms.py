"""Reading solo-learn's pretrain transform pipelines: the view pipelines inside its nesting, and
the clean view of a training set (no random augmentation) for TASE's ``bank_feature: clean``."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from torchvision import transforms

from solo_tase.errors import ConfigError


def composes(transform: Any) -> Iterator[transforms.Compose]:
    """Every ``Compose`` inside solo-learn's FullTransformPipeline / NCropAugmentation nesting."""
    if isinstance(transform, transforms.Compose):
        yield transform
    elif isinstance(getattr(transform, "transforms", None), (list, tuple)):
        for inner in transform.transforms:
            yield from composes(inner)
    elif getattr(transform, "transform", None) is not None:
        yield from composes(transform.transform)


def clean_transform(train_transform: Any) -> transforms.Compose:
    """The evaluation view of a training pipeline: resize the short side to the first view's crop
    size, centre-crop it, ``ToTensor`` and the pipeline's own ``Normalize`` -> one [3, S, S].

    Raises:
        ConfigError: the pipeline has no ``RandomResizedCrop`` or no ``Normalize`` to copy.
    """
    steps = [step for compose in composes(train_transform) for step in compose.transforms]
    crop = next((s.size for s in steps if isinstance(s, transforms.RandomResizedCrop)), None)
    norm = next((s for s in steps if isinstance(s, transforms.Normalize)), None)
    if crop is None or norm is None:
        raise ConfigError(
            "method_kwargs.bank_feature=clean needs a crop size and a Normalize in the training "
            "pipeline (solo-learn's augmentations with rrc and crop_size); found "
            f"{train_transform!r}: use bank_feature crop1 or mean with this pipeline"
        )
    return transforms.Compose(
        [transforms.Resize(min(crop)), transforms.CenterCrop(crop), transforms.ToTensor(), norm]
    )


def clean_copy(dataset: Any) -> Any:
    """A shallow copy of solo-learn's indexed training set (``(index, views, target)`` items)
    whose items are ``(index, clean image [3, S, S], target)``; the images are shared, not copied.

    Raises:
        ConfigError: the set has no ``transform`` attribute (not a torchvision-style dataset).
    """
    if not hasattr(dataset, "transform"):
        raise ConfigError(
            f"method_kwargs.bank_feature=clean cannot re-read the training set "
            f"{type(dataset).__name__} (no transform attribute): use bank_feature crop1 or mean"
        )
    out = copy.copy(dataset)
    out.transform = clean_transform(dataset.transform)
    return out

"""BCL's boosted training set and its place in solo-learn's (unmodified) pretrain data path.

solo-learn's ``prepare_datasets`` wraps every pretrain set with
``solo.data.pretrain_dataloader.dataset_with_index``, looked up at call time.
:func:`use_factory` puts :func:`boosted_dataset_with_index` there (for runs whose method boosts:
``methods/boosted.py`` decides) or solo-learn's own factory back. The boosted datasets

* insert one :class:`BoostedRandAugment` before ``ToTensor`` in each of solo-learn's view
  pipelines (every view of a sample is boosted, as in the official code);
* own a :class:`StrengthTable` (shared memory, one weight per dataset index) that the method
  rewrites at each epoch end, read by the loader workers;
* set the sample's weight on the boost before building its views, and return ``(index, *data)``
  as solo-learn's wrapper does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torchvision import transforms

from solo_tase.data.boosted.randaugment import BoostedRandAugment
from solo_tase.data.boosted.strength import StrengthTable
from solo_tase.data.solo_transforms import composes
from solo_tase.errors import ConfigError

TABLE_ATTRIBUTE = "bcl_strength"  # the wrapped dataset's StrengthTable


def insert_boost(transform: Any, boost: BoostedRandAugment) -> int:
    """Insert ``boost`` before the first ``ToTensor`` of every view pipeline (once); returns how
    many pipelines hold it.

    Raises:
        ConfigError: no pipeline ends in ``ToTensor`` (the boost works on PIL images).
    """
    done = 0
    for compose in composes(transform):
        steps = list(compose.transforms)
        at = next((i for i, t in enumerate(steps) if isinstance(t, transforms.ToTensor)), None)
        if at is None:
            continue
        if not any(t is boost for t in steps):  # idempotent
            compose.transforms = steps[:at] + [boost] + steps[at:]
        done += 1
    if done == 0:
        raise ConfigError(
            "BCL's boost goes before ToTensor in solo-learn's view pipelines, but "
            f"this transform has none: {transform!r}"
        )
    return done


def boosted_dataset_with_index(rand_k: int, rand_strength: float) -> Callable[[type], type]:
    """A drop-in for solo-learn's ``dataset_with_index`` whose datasets carry the boost of
    ``rand_k`` RandAugment ops up to magnitude ``rand_strength``."""

    def factory(dataset_class: type) -> type:
        class BoostedDatasetWithIndex(dataset_class):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.bcl_boost = BoostedRandAugment(rand_k, rand_strength)
                insert_boost(self.transform, self.bcl_boost)
                setattr(self, TABLE_ATTRIBUTE, StrengthTable(len(self)))
                _BUILT[0] = self

            def __getitem__(self, index: int) -> tuple[Any, ...]:
                self.bcl_boost.set_sample(getattr(self, TABLE_ATTRIBUTE)[index])
                return (index, *super().__getitem__(index))

        BoostedDatasetWithIndex.__name__ = f"Boosted{dataset_class.__name__}WithIndex"
        return BoostedDatasetWithIndex

    return factory


_SOLO_FACTORY: Callable[[type], type] | None = None  # solo-learn's own dataset_with_index
_BUILT: list[Any] = [None]  # the last boosted training set built in this process


def use_factory(factory: Callable[[type], type] | None) -> None:
    """Put ``factory`` into solo-learn's data path, or (``None``) solo-learn's own back (a no-op,
    solo-learn not even imported, when nothing was put there before)."""
    global _SOLO_FACTORY
    if factory is None and _SOLO_FACTORY is None:
        return
    import solo.data.pretrain_dataloader as solo_data

    if _SOLO_FACTORY is None:
        _SOLO_FACTORY = solo_data.dataset_with_index
    solo_data.dataset_with_index = factory or _SOLO_FACTORY


def boosted_training_set(trainer: Any, method: str) -> Any:
    """The training set carrying the :class:`StrengthTable` (attribute ``bcl_strength``): the
    trainer's loader's, or before the loader is set up (``on_fit_start``) the last one built in
    this process (main_pretrain builds one, before training).

    Raises:
        ConfigError: the training set was not built by the boosting factory.
    """
    loader = getattr(trainer, "train_dataloader", None)
    dataset = getattr(loader, "dataset", None) if loader is not None else _BUILT[0]
    if getattr(dataset, TABLE_ATTRIBUTE, None) is None:
        raise ConfigError(
            f"method '{method}' with BCL needs the plugin's boosted data path, but the training "
            "set was not built by it: run solo-learn's main_pretrain.py with the plugin's Hydra "
            "callback (hydra.callbacks.solo_tase._target_: solo_tase.plugin.SoloTasePlugin) "
            "and data.format image_folder or h5"
        )
    return dataset

"""BCL's per-sample boosted augmentation: the op table, the shared strength table, and their
boosted training set in solo-learn's pretrain data path (``dataset``, imported on demand)."""

from solo_tase.data.boosted.randaugment import BoostedRandAugment, rand_augment
from solo_tase.data.boosted.strength import StrengthTable

__all__ = ["BoostedRandAugment", "StrengthTable", "rand_augment"]

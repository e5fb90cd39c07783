"""Pure loss functions of tensors, testable without Lightning or solo-learn."""

from solo_tase.losses.nt_xent import nt_xent_loss, nt_xent_per_anchor

__all__ = ["nt_xent_per_anchor", "nt_xent_loss"]

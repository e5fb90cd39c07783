"""Pure loss functions of tensors, testable without Lightning or solo-learn."""

from solo_tase.losses.tase import nt_xent_per_anchor, tase_loss_func

__all__ = ["nt_xent_per_anchor", "tase_loss_func"]

"""Pure loss functions of tensors, testable without Lightning or solo-learn."""

from solo_tase.losses.tase import tase_loss_func

__all__ = ["tase_loss_func"]

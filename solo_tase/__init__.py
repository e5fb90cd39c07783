"""solo-tase: long-tailed self-supervised learning (TASE, SDCLR, TS) for solo-learn."""

__version__ = "0.1.0"

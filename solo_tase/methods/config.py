"""Validated settings of the plugin's methods (pure Python: no solo-learn needed).

Every knob lives under ``method_kwargs`` in a solo-learn config. Bad values fail at start with a
:class:`ConfigError` naming the key and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from solo_tase.pseudo_labels.tables import cosine_factor


class ConfigError(ValueError):
    """A configuration value is missing or out of its allowed range."""


def require(ok: bool, key: str, allowed: str, got: Any) -> None:
    """Raise ``ConfigError`` naming ``key`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key} must be {allowed} (got {got!r})")


_CASTS = {"int": int, "float": float, "str": str}


def coerce(cls: type, kwargs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Check ``kwargs`` against the dataclass ``cls``: unknown keys and wrong types raise
    ``ConfigError``; ``None`` means "use the default"; ints are accepted for floats."""
    types = {f.name: str(f.type) for f in fields(cls)}
    unknown = sorted(set(kwargs) - set(types))
    if unknown:
        raise ConfigError(f"unknown keys {[prefix + k for k in unknown]}; known keys: "
                          f"{sorted(types)}")
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        kind = types[key].split(" | ")[0]
        if kind == "bool":
            require(isinstance(value, bool), prefix + key, "true or false", value)
        elif kind in _CASTS:
            try:
                if kind == "int" and float(value) != int(value):
                    raise ValueError
                value = _CASTS[kind](value)
            except (TypeError, ValueError):
                raise ConfigError(f"{prefix}{key} must be of type {kind} (got {value!r})") from None
        out[key] = value
    return out


@dataclass(frozen=True)
class TaseConfig:
    """TASE's knobs (``method_kwargs.<name>``); docs/method.md explains each one.

    Temperatures are unitless softmax temperatures; epochs count solo-learn training epochs.
    """

    proj_hidden_dim: int = 2048  # projector hidden width (Linear-BN-ReLU-Linear)
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    tau_0: float = 0.2  # temperature of every sample during warm-up / without a pseudo-label
    tau_min: float = 0.1  # temperature of the rarest, least typical samples
    tau_max: float = 0.5  # temperature of the most frequent, most typical samples
    beta: float = 0.5  # mix of typicality rank (beta) and cluster frequency (1 - beta)
    adaptive_temperature: bool = True  # False: tau_0 for all (weights-only ablation)
    tau_schedule: str = "none"  # "none" or "cosine" (dynamic temperature)
    tau_schedule_period: float | None = None  # epochs from tau to tau_min; None = max_epochs
    num_clusters: int | None = None  # K; None = data.num_classes (100 if unknown)
    warmup_epochs: int = 10  # epochs with tau_0 and w = 1 before the first clustering
    recluster_every: int = 5  # re-cluster at epochs warmup, warmup + every, ...
    kmeans_backend: str = "auto"  # "auto" (faiss if importable), "torch" or "faiss"
    kmeans_iters: int = 20  # Lloyd iterations per clustering
    kmeans_seed: int | None = None  # None = the run's seed; the epoch is added per clustering
    weighting: str = "power"  # "power", "effective" or "none"
    gamma: float = 0.5  # exponent of the power weighting
    effective_beta: float = 0.999  # b of the effective-number weighting
    w_min: float = 0.1  # weights are clipped to [w_min, w_max] before mean-1 normalisation
    w_max: float = 10.0
    bank_dtype: str = "float32"  # memory-bank storage: "float32" or "float16"
    num_samples: int | None = None  # N; None = read from the training loader

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], *, num_classes: int | None = None,
                    max_epochs: int | None = None) -> "TaseConfig":
        """Build from ``method_kwargs`` (unknown keys are refused) and validate."""
        cfg = cls(**coerce(cls, kwargs, "method_kwargs."))
        updates: dict[str, Any] = {}
        if cfg.num_clusters is None:
            updates["num_clusters"] = int(num_classes) if num_classes else 100
        if cfg.tau_schedule_period is None and max_epochs:
            updates["tau_schedule_period"] = float(max_epochs)
        cfg = replace(cfg, **updates)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        p = "method_kwargs."
        require(self.proj_hidden_dim >= 1, p + "proj_hidden_dim", "an integer >= 1", self.proj_hidden_dim)
        require(self.proj_output_dim >= 1, p + "proj_output_dim", "an integer >= 1", self.proj_output_dim)
        require(self.tau_0 > 0, p + "tau_0", "> 0", self.tau_0)
        require(self.tau_min > 0, p + "tau_min", "> 0", self.tau_min)
        require(self.tau_min <= self.tau_max, p + "tau_max",
                f">= method_kwargs.tau_min ({self.tau_min})", self.tau_max)
        require(0.0 <= self.beta <= 1.0, p + "beta", "in [0, 1]", self.beta)
        require(self.tau_schedule in ("none", "cosine"), p + "tau_schedule",
                "one of 'none', 'cosine'", self.tau_schedule)
        require(self.tau_schedule_period is None or self.tau_schedule_period > 0,
                p + "tau_schedule_period", "> 0 epochs (or null for max_epochs)",
                self.tau_schedule_period)
        require(self.num_clusters is None or self.num_clusters >= 2, p + "num_clusters",
                "an integer >= 2 (or null for data.num_classes)", self.num_clusters)
        require(self.warmup_epochs >= 1, p + "warmup_epochs",
                "an integer >= 1 (the first clustering needs one epoch of features)",
                self.warmup_epochs)
        require(self.recluster_every >= 1, p + "recluster_every", "an integer >= 1",
                self.recluster_every)
        require(self.kmeans_backend in ("auto", "torch", "faiss"), p + "kmeans_backend",
                "one of 'auto', 'torch', 'faiss'", self.kmeans_backend)
        require(self.kmeans_iters >= 1, p + "kmeans_iters", "an integer >= 1", self.kmeans_iters)
        require(self.weighting in ("power", "effective", "none"), p + "weighting",
                "one of 'power', 'effective', 'none'", self.weighting)
        require(self.gamma >= 0, p + "gamma", ">= 0", self.gamma)
        require(0.0 < self.effective_beta < 1.0, p + "effective_beta", "in (0, 1)",
                self.effective_beta)
        require(self.w_min > 0, p + "w_min", "> 0", self.w_min)
        require(self.w_min <= self.w_max, p + "w_max", f">= method_kwargs.w_min ({self.w_min})",
                self.w_max)
        require(self.bank_dtype in ("float32", "float16"), p + "bank_dtype",
                "one of 'float32', 'float16'", self.bank_dtype)
        require(self.num_samples is None or self.num_samples >= 2, p + "num_samples",
                "an integer >= 2 (or null to read it from the loader)", self.num_samples)

    def is_recluster_epoch(self, epoch: int) -> bool:
        """True at the start of epochs ``warmup, warmup + every, ...`` (0-based epochs)."""
        return epoch >= self.warmup_epochs and (epoch - self.warmup_epochs) % self.recluster_every == 0


_PREFIX = "method_kwargs."


class _BaselineConfig:
    """``from_kwargs`` and the projector checks of the baselines' config dataclasses."""

    proj_hidden_dim: int
    proj_output_dim: int

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Any:
        """Build from ``method_kwargs`` (unknown keys are refused) and validate."""
        cfg = cls(**coerce(cls, kwargs, _PREFIX))
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        for key in ("proj_hidden_dim", "proj_output_dim"):
            require(getattr(self, key) >= 1, _PREFIX + key, "an integer >= 1", getattr(self, key))


@dataclass(frozen=True)
class SdclrConfig(_BaselineConfig):
    """SDCLR's knobs (``method_kwargs.<name>``); docs/baselines.md explains each one.

    Paper settings (Jiang et al., ICML 2021): ``prune_ratio`` 0.9 and ``temperature`` 0.2 on
    CIFAR-10/100-LT, 0.3 and 0.3 on ImageNet-100-LT.
    """

    proj_hidden_dim: int = 2048  # projector hidden width (Linear-BN-ReLU-Linear)
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    temperature: float = 0.2  # NT-Xent temperature (one for all samples)
    prune_ratio: float = 0.9  # fraction of the backbone's conv weights REMOVED in the pruned branch

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        super().validate()
        require(self.temperature > 0, _PREFIX + "temperature", "> 0", self.temperature)
        require(0.0 <= self.prune_ratio < 1.0, _PREFIX + "prune_ratio",
                "in [0, 1) (the fraction of conv weights removed)", self.prune_ratio)


@dataclass(frozen=True)
class TsConfig(_BaselineConfig):
    """Temperature Schedules' knobs (``method_kwargs.<name>``); docs/baselines.md explains them.

    ``tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi t / period)) / 2`` with ``t`` in epochs:
    ``tau(0) = tau_max``, ``tau(period) = tau_min``, ``tau(2 period) = tau_max`` (a full
    oscillation is ``2 * period``). Paper values (Kukleva et al., ICLR 2023): 0.1, 1.0, 200.
    """

    proj_hidden_dim: int = 2048  # projector hidden width (Linear-ReLU-Linear, as solo's SimCLR)
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    tau_min: float = 0.1  # temperature at t = period, 3 period, ...
    tau_max: float = 1.0  # temperature at t = 0, 2 period, ...
    period: float = 200.0  # epochs from tau_max down to tau_min (half an oscillation)
    per_step: bool = False  # True: t advances every step (fractional epochs)

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        super().validate()
        require(self.tau_min > 0, _PREFIX + "tau_min", "> 0", self.tau_min)
        require(self.tau_min <= self.tau_max, _PREFIX + "tau_max",
                f">= method_kwargs.tau_min ({self.tau_min})", self.tau_max)
        require(self.period > 0, _PREFIX + "period",
                "> 0 epochs (from tau_max down to tau_min; a full oscillation is 2 * period)",
                self.period)

    def temperature(self, t: float) -> float:
        """The temperature at training time ``t`` (epochs, fractional with ``per_step``)."""
        return self.tau_min + (self.tau_max - self.tau_min) * cosine_factor(t, self.period)

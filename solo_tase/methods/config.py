"""Validated settings of the plugin's methods (pure Python: no solo-learn needed).

Every knob lives under ``method_kwargs`` in a solo-learn config. Bad values fail at start with a
:class:`ConfigError` naming the key and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from solo_tase.pseudo_labels.tables import cosine_factor
from solo_tase.pseudo_labels.tail_signals import TAIL_SIGNALS, num_fit_clusters
from solo_tase.settings import ConfigError, coerce, require

__all__ = ["ConfigError", "SdclrConfig", "TaseConfig", "TsConfig", "coerce", "require"]


@dataclass(frozen=True)
class TaseConfig:
    """TASE's knobs (``method_kwargs.<name>``); docs/method.md explains each one.

    Temperatures are unitless softmax temperatures; epochs count solo-learn training epochs.
    """

    proj_hidden_dim: int = 2048  # projector hidden width (Linear-ReLU-Linear, as solo's SimCLR)
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    proj_batch_norm: bool = False  # True: Linear-BN-ReLU-Linear projector
    tau_0: float = 0.2  # temperature during warm-up, without an estimate, and of average samples
    tau_min: float = 0.1  # lowest temperature (the rarest samples)
    tau_max: float = 0.5  # highest temperature (the most frequent samples)
    ref_imbalance: float = 100.0  # a frequency ratio of this much moves tau by tau_max - tau_min
    beta: float = 0.0  # mix of typicality rank (beta) and estimated frequency (1 - beta)
    adaptive_temperature: bool = True  # False: tau_0 for all (weights-only ablation)
    tau_schedule: str = "none"  # "none" or "cosine" (dynamic temperature)
    tau_schedule_period: float | None = None  # epochs from tau to tau_min; None = max_epochs
    tail_signal: str = "knn_density"  # "kmeans", "overcluster", "knn_density" or "memorisation"
    num_clusters: int | None = None  # K; None = data.num_classes (100 if unknown)
    overcluster_factor: int = 3  # overcluster: K' = factor x K clusters
    overcluster_sizes: str = "fine"  # overcluster: sizes of the "fine" or "merged" clusters
    knn_k: int | None = None  # knn_density: neighbours; None = 3 N / num_clusters
    memorisation_beta: float = 0.97  # memorisation: momentum of the per-sample loss average
    score_scale: float = 1.0  # knn_density / memorisation: log-frequency per standard deviation
    bank_feature: str = "crop1"  # bank feature: "crop1" (first crop) or "mean" (of both crops)
    warmup_epochs: int = 10  # epochs with tau_0 and w = 1 before the first estimate
    recluster_every: int = 5  # re-estimate at epochs warmup, warmup + every, ...
    kmeans_backend: str = "auto"  # "auto" (faiss if importable), "torch" or "faiss"
    kmeans_iters: int = 20  # Lloyd iterations per clustering
    kmeans_seed: int | None = None  # None = the run's seed; the epoch is added per clustering
    weighting: str = "power"  # "power", "effective" or "none"
    gamma: float = 0.5  # exponent of the power weighting
    effective_beta: float = 0.999  # b of the effective-number weighting
    w_min: float = 0.1  # relative weights are clipped to [w_min, w_max] (then mean 1 again)
    w_max: float = 10.0
    bank_dtype: str = "float32"  # memory-bank storage: "float32" or "float16"
    num_samples: int | None = None  # N; None = read from the training loader

    @classmethod
    def from_kwargs(
        cls,
        kwargs: Mapping[str, Any],
        *,
        num_classes: int | None = None,
        max_epochs: int | None = None,
    ) -> TaseConfig:
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
        require(
            self.proj_hidden_dim >= 1,
            p + "proj_hidden_dim",
            "an integer >= 1",
            self.proj_hidden_dim,
        )
        require(
            self.proj_output_dim >= 1,
            p + "proj_output_dim",
            "an integer >= 1",
            self.proj_output_dim,
        )
        require(self.tau_0 > 0, p + "tau_0", "> 0", self.tau_0)
        require(self.tau_min > 0, p + "tau_min", "> 0", self.tau_min)
        require(
            self.tau_min <= self.tau_max,
            p + "tau_max",
            f">= method_kwargs.tau_min ({self.tau_min})",
            self.tau_max,
        )
        require(
            self.tau_min <= self.tau_0 <= self.tau_max,
            p + "tau_0",
            f"in [method_kwargs.tau_min, method_kwargs.tau_max] = [{self.tau_min}, {self.tau_max}]",
            self.tau_0,
        )
        require(
            self.ref_imbalance > 1,
            p + "ref_imbalance",
            "> 1 (a frequency ratio)",
            self.ref_imbalance,
        )
        require(0.0 <= self.beta <= 1.0, p + "beta", "in [0, 1]", self.beta)
        require(
            self.tail_signal in TAIL_SIGNALS,
            p + "tail_signal",
            "one of " + ", ".join(repr(x) for x in TAIL_SIGNALS),
            self.tail_signal,
        )
        require(
            self.overcluster_factor >= 1,
            p + "overcluster_factor",
            "an integer >= 1",
            self.overcluster_factor,
        )
        require(
            self.overcluster_sizes in ("fine", "merged"),
            p + "overcluster_sizes",
            "one of 'fine', 'merged'",
            self.overcluster_sizes,
        )
        require(
            self.knn_k is None or self.knn_k >= 1,
            p + "knn_k",
            "an integer >= 1 (or null for 3 x N / num_clusters)",
            self.knn_k,
        )
        require(
            0.0 <= self.memorisation_beta < 1.0,
            p + "memorisation_beta",
            "in [0, 1)",
            self.memorisation_beta,
        )
        require(self.score_scale >= 0, p + "score_scale", ">= 0", self.score_scale)
        require(
            self.bank_feature in ("crop1", "mean"),
            p + "bank_feature",
            "one of 'crop1', 'mean'",
            self.bank_feature,
        )
        require(
            self.tau_schedule in ("none", "cosine"),
            p + "tau_schedule",
            "one of 'none', 'cosine'",
            self.tau_schedule,
        )
        require(
            self.tau_schedule_period is None or self.tau_schedule_period > 0,
            p + "tau_schedule_period",
            "> 0 epochs (or null for max_epochs)",
            self.tau_schedule_period,
        )
        require(
            self.num_clusters is None or self.num_clusters >= 2,
            p + "num_clusters",
            "an integer >= 2 (or null for data.num_classes)",
            self.num_clusters,
        )
        require(
            self.warmup_epochs >= 1,
            p + "warmup_epochs",
            "an integer >= 1 (the first clustering needs one epoch of features)",
            self.warmup_epochs,
        )
        require(
            self.recluster_every >= 1,
            p + "recluster_every",
            "an integer >= 1",
            self.recluster_every,
        )
        require(
            self.kmeans_backend in ("auto", "torch", "faiss"),
            p + "kmeans_backend",
            "one of 'auto', 'torch', 'faiss'",
            self.kmeans_backend,
        )
        require(self.kmeans_iters >= 1, p + "kmeans_iters", "an integer >= 1", self.kmeans_iters)
        require(
            self.weighting in ("power", "effective", "none"),
            p + "weighting",
            "one of 'power', 'effective', 'none'",
            self.weighting,
        )
        require(self.gamma >= 0, p + "gamma", ">= 0", self.gamma)
        require(
            0.0 < self.effective_beta < 1.0, p + "effective_beta", "in (0, 1)", self.effective_beta
        )
        require(self.w_min > 0, p + "w_min", "> 0", self.w_min)
        require(
            self.w_min <= self.w_max,
            p + "w_max",
            f">= method_kwargs.w_min ({self.w_min})",
            self.w_max,
        )
        require(
            self.bank_dtype in ("float32", "float16"),
            p + "bank_dtype",
            "one of 'float32', 'float16'",
            self.bank_dtype,
        )
        require(
            self.num_samples is None or self.num_samples >= 2,
            p + "num_samples",
            "an integer >= 2 (or null to read it from the loader)",
            self.num_samples,
        )

    @property
    def fit_clusters(self) -> int:
        """Clusters of each k-means fit (0 when the tail signal does not cluster)."""
        assert self.num_clusters is not None
        return num_fit_clusters(self.tail_signal, self.num_clusters, self.overcluster_factor)

    def is_recluster_epoch(self, epoch: int) -> bool:
        """True at the start of epochs ``warmup, warmup + every, ...`` (0-based epochs)."""
        return (
            epoch >= self.warmup_epochs and (epoch - self.warmup_epochs) % self.recluster_every == 0
        )


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


SDCLR_HEADS = ("two_layer", "official")


@dataclass(frozen=True)
class SdclrConfig(_BaselineConfig):
    """SDCLR's knobs (``method_kwargs.<name>``); docs/baselines.md explains each one.

    Paper settings (Jiang et al., ICML 2021): ``prune_ratio`` 0.9 and ``temperature`` 0.2 on
    CIFAR-10/100-LT, 0.3 and 0.3 on ImageNet-100-LT.
    """

    proj_hidden_dim: int = 2048  # projector hidden width
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    temperature: float = 0.2  # NT-Xent temperature (one for all samples)
    prune_ratio: float = 0.9  # fraction of the backbone's conv weights REMOVED in the pruned branch
    head: str = (
        "two_layer"  # "two_layer": Linear-BN-ReLU-Linear; "official": 3 Linear, BN after each
    )
    bcl: bool = False  # True: BCL-D, SDCLR with BCL's memorisation boost (BoostSettings below)
    momentum_loss_beta: float = 0.97
    rand_k: int = 2  # the paper's BCL-D value
    rand_strength: float = 30.0

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        super().validate()
        BoostSettings.of(self)
        require(self.temperature > 0, _PREFIX + "temperature", "> 0", self.temperature)
        require(self.head in SDCLR_HEADS, _PREFIX + "head", f"one of {SDCLR_HEADS}", self.head)
        require(
            0.0 <= self.prune_ratio < 1.0,
            _PREFIX + "prune_ratio",
            "in [0, 1) (the fraction of conv weights removed)",
            self.prune_ratio,
        )


@dataclass(frozen=True)
class TsConfig(_BaselineConfig):
    """Temperature Schedules' knobs (``method_kwargs.<name>``); docs/baselines.md explains them.

    ``tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi t / period)) / 2`` with ``t`` in epochs:
    ``tau(0) = tau_max``, ``tau(period) = tau_min``, ``tau(2 period) = tau_max`` (a full
    oscillation is ``2 * period``). Paper values (Kukleva et al., ICLR 2023): 0.1, 1.0, 200.
    ``first_epoch`` is the ``t`` of the first epoch: 0 (solo-learn counts from 0) or 1 (the
    official loop counts epochs from 1, one epoch further along the cosine).
    """

    proj_hidden_dim: int = 2048  # projector hidden width
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    tau_min: float = 0.1  # temperature at t = period, 3 period, ...
    tau_max: float = 1.0  # temperature at t = 0, 2 period, ...
    period: float = 200.0  # epochs from tau_max down to tau_min (half an oscillation)
    per_step: bool = False  # True: t advances every step (fractional epochs)
    first_epoch: int = 0  # t of solo-learn's epoch 0: 0, or 1 for the official loop's phase
    proj_batch_norm: bool = False  # True: Linear-BN-ReLU-Linear; False: solo's SimCLR projector

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        super().validate()
        require(self.tau_min > 0, _PREFIX + "tau_min", "> 0", self.tau_min)
        require(
            self.tau_min <= self.tau_max,
            _PREFIX + "tau_max",
            f">= method_kwargs.tau_min ({self.tau_min})",
            self.tau_max,
        )
        require(
            self.period > 0,
            _PREFIX + "period",
            "> 0 epochs (from tau_max down to tau_min; a full oscillation is 2 * period)",
            self.period,
        )
        require(
            self.first_epoch in (0, 1),
            _PREFIX + "first_epoch",
            "0 (solo-learn's epoch count) or 1 (the official loop's)",
            self.first_epoch,
        )

    def temperature(self, t: float) -> float:
        """The temperature at training time ``t`` (epochs, fractional with ``per_step``)."""
        return self.tau_min + (self.tau_max - self.tau_min) * cosine_factor(t, self.period)

    def epoch_temperature(self, epoch: float) -> float:
        """The temperature at solo-learn's (0-based, fractional) ``epoch``: ``t = epoch +
        first_epoch``."""
        return self.temperature(epoch + self.first_epoch)


@dataclass(frozen=True)
class BoostSettings:
    """BCL's memorisation boost (Zhou et al., ICML 2022): per-sample momentum losses drive a
    per-sample RandAugment on every view; docs/baselines.md explains each knob."""

    momentum_loss_beta: float = 0.97  # m <- (1 - beta) l + beta m, once per epoch
    rand_k: int = 1  # RandAugment ops per view (paper: 1 for BCL-I, 2 for BCL-D)
    rand_strength: float = 30.0  # largest RandAugment magnitude, on its [0, 30] scale

    @classmethod
    def of(cls, cfg: Any) -> BoostSettings:
        """The settings held by a method config with these three fields; validated."""
        out = cls(cfg.momentum_loss_beta, cfg.rand_k, cfg.rand_strength)
        require(
            0.0 <= out.momentum_loss_beta < 1.0,
            _PREFIX + "momentum_loss_beta",
            "in [0, 1)",
            out.momentum_loss_beta,
        )
        require(out.rand_k >= 1, _PREFIX + "rand_k", "an integer >= 1", out.rand_k)
        min_strength = 10.0 if out.rand_k == 1 else 5.0
        require(
            min_strength <= out.rand_strength <= 30.0,
            _PREFIX + "rand_strength",
            f"in [{min_strength:g}, 30] (the magnitude floor for rand_k={out.rand_k} is "
            f"{min_strength:g})",
            out.rand_strength,
        )
        return out


@dataclass(frozen=True)
class BclConfig(_BaselineConfig):
    """BCL-I's knobs (``method_kwargs.<name>``): solo-learn's SimCLR plus :class:`BoostSettings`.

    Paper recipe on CIFAR-100-LT: temperature 0.2, ``momentum_loss_beta`` 0.97, ``rand_k`` 1,
    ``rand_strength`` 30 (with lr 0.5, wd 5e-4, 2000 epochs).
    """

    proj_hidden_dim: int = 2048  # projector hidden width
    proj_output_dim: int = 128  # projector output width (the contrastive space)
    proj_batch_norm: bool = False  # True: Linear-BN-ReLU-Linear; False: solo's SimCLR projector
    temperature: float = 0.2  # NT-Xent temperature (one for all samples)
    momentum_loss_beta: float = 0.97  # see BoostSettings
    rand_k: int = 1
    rand_strength: float = 30.0

    def validate(self) -> None:
        """Raise ``ConfigError`` for the first value out of range."""
        super().validate()
        require(self.temperature > 0, _PREFIX + "temperature", "> 0", self.temperature)
        BoostSettings.of(self)

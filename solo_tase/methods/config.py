"""Validated settings of the plugin's methods (pure Python: no solo-learn needed).

Every knob lives under ``method_kwargs`` in a solo-learn config. Each record is a settings-kit
record (``solo_tase.settings``): a field's rule sits beside its type, rules across fields in the
record's ``model_validator``. Bad values fail at start with a :class:`ConfigError` naming the key
and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Annotated, Any, Self, TypeVar

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.tail.tables import cosine_factor
from solo_tase.tail.signals import TAIL_SIGNALS, num_fit_clusters
from solo_tase.settings import (
    SETTINGS,
    ConfigError,
    Count,
    Flag,
    Positive,
    above,
    at_least,
    check,
    cross_check,
    integer_from,
    one_of,
    ordered,
    parse,
    within,
)

__all__ = ["BclConfig", "BoostSettings", "ConfigError", "SdclrConfig", "TaseConfig", "TsConfig"]

_PREFIX = "method_kwargs."
C = TypeVar("C")


def _read(cls: type[C], kwargs: Mapping[str, Any], **fill: Any) -> C:
    """``kwargs`` as the record ``cls``: ``None`` means the default; ``fill`` gives the keys
    left unset (or ``None``) a value."""
    data = {k: v for k, v in kwargs.items() if v is not None}
    data.update({k: v for k, v in fill.items() if data.get(k) is None})
    return parse(cls, data, _PREFIX)


@dataclass(frozen=True, config=SETTINGS)
class TaseConfig:
    """TASE's knobs (``method_kwargs.<name>``); docs/method.md explains each one.

    Temperatures are unitless softmax temperatures; epochs count solo-learn training epochs.
    """

    proj_hidden_dim: Count = 2048  # projector hidden width (Linear-ReLU-Linear, as solo's SimCLR)
    proj_output_dim: Count = 128  # projector output width (the contrastive space)
    proj_batch_norm: Flag = False  # True: Linear-BN-ReLU-Linear projector
    tau_0: Positive = 0.2  # temperature during warm-up, without an estimate, and of average samples
    tau_min: Positive = 0.1  # lowest temperature (the rarest samples)
    tau_max: float = 0.5  # highest temperature (the most frequent samples)
    # a frequency ratio of this much moves tau by tau_max - tau_min
    ref_imbalance: Annotated[float, above(1, "(a frequency ratio)")] = 100.0
    beta: Annotated[float, within(0, 1)] = 0.0  # mix of typicality rank and frequency (1 - beta)
    adaptive_temperature: Flag = True  # False: tau_0 for all (weights-only ablation)
    # which end of [tau_min, tau_max] rare samples get: "low" (TASE) or "high" (the reversal)
    rare_temperature: Annotated[str, one_of("low", "high")] = "low"
    # True: each anchor's loss times tau_a / tau_0, so the weight alone sets its gradient's size
    temperature_compensation: Flag = False
    tau_schedule: Annotated[str, one_of("none", "cosine")] = "none"  # dynamic temperature
    # epochs from tau to tau_min; None = max_epochs
    tau_schedule_period: Annotated[float, above(0, "epochs (or null for max_epochs)")] | None = None
    tail_signal: Annotated[str, one_of(*TAIL_SIGNALS)] = "knn_density"  # see tail/signals.py
    # K; None = data.num_classes (100 if unknown)
    num_clusters: Annotated[int, integer_from(2, "(or null for data.num_classes)")] | None = None
    overcluster_factor: Count = 3  # overcluster: K' = factor x K clusters
    # overcluster: sizes of the fine clusters or of the merged ones
    overcluster_sizes: Annotated[str, one_of("fine", "merged")] = "fine"
    # knn_density: neighbours; None = 3 N / num_clusters
    knn_k: Annotated[int, integer_from(1, "(or null for 3 x N / num_clusters)")] | None = None
    # memorisation: momentum of the per-sample loss average
    memorisation_beta: Annotated[float, within(0, 1, "[)")] = 0.97
    # knn_density / memorisation: log-frequency per standard deviation
    score_scale: Annotated[float, at_least(0)] = 1.0
    # bank feature: "clean" (evaluation view, re-read), "crop1" (first crop) or "mean" (of both)
    bank_feature: Annotated[str, one_of("crop1", "mean", "clean")] = "clean"
    # epochs with tau_0 and w = 1 before the first estimate
    warmup_epochs: Annotated[
        int, integer_from(1, "(the first clustering needs one epoch of features)")
    ] = 10
    recluster_every: Count = 5  # re-estimate at epochs warmup, warmup + every, ...
    # "auto": faiss if importable, else torch
    kmeans_backend: Annotated[str, one_of("auto", "torch", "faiss")] = "auto"
    kmeans_iters: Count = 20  # Lloyd iterations per clustering
    kmeans_seed: int | None = None  # None = the run's seed; the epoch is added per clustering
    weighting: Annotated[str, one_of("power", "effective", "none")] = "power"  # sample weights
    # "loss": weights scale each sample's loss; "sampling": each epoch draws N samples with
    # probabilities proportional to them (the same expected weights), every loss weight 1
    weights_as: Annotated[str, one_of("loss", "sampling")] = "loss"
    gamma: Annotated[float, at_least(0)] = 0.5  # exponent of the power weighting
    effective_beta: Annotated[float, within(0, 1, "()")] = 0.999  # b of the effective number
    w_min: Positive = 0.1  # relative weights are clipped to [w_min, w_max] (then mean 1 again)
    w_max: float = 10.0
    bank_dtype: Annotated[str, one_of("float32", "float16")] = "float32"  # memory-bank storage
    # N; None = read from the training loader
    num_samples: Annotated[int, integer_from(2, "(or null to read it from the loader)")] | None = (
        None
    )

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        ordered(self, "tau_min", "tau_max")
        cross_check(
            self.tau_min <= self.tau_0 <= self.tau_max,
            "tau_0",
            f"in [{{tau_min}}, {{tau_max}}] = [{self.tau_min}, {self.tau_max}]",
            self.tau_0,
        )
        ordered(self, "w_min", "w_max")
        return self

    @classmethod
    def from_kwargs(
        cls,
        kwargs: Mapping[str, Any],
        *,
        num_classes: int | None = None,
        max_epochs: int | None = None,
    ) -> TaseConfig:
        """Build from ``method_kwargs`` (unknown keys are refused) and validate; ``num_clusters``
        defaults to ``num_classes`` (100 if unknown), ``tau_schedule_period`` to ``max_epochs``."""
        fill: dict[str, Any] = {"num_clusters": int(num_classes) if num_classes else 100}
        if max_epochs:
            fill["tau_schedule_period"] = float(max_epochs)
        return _read(cls, kwargs, **fill)

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


class _BaselineConfig:
    """``from_kwargs`` of the baselines' config records."""

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> Any:
        """Build from ``method_kwargs`` (unknown keys are refused) and validate."""
        return _read(cls, kwargs)


# BCL's memorisation boost, shared by BoostSettings and the configs that hold its three fields
MomentumBeta = Annotated[float, within(0, 1, "[)")]


def _boost_strength(cfg: Any) -> None:
    """Cross-field rule: ``rand_strength`` in [floor, 30], the floor 10 for one op, else 5."""
    floor = 10.0 if cfg.rand_k == 1 else 5.0
    cross_check(
        floor <= cfg.rand_strength <= 30.0,
        "rand_strength",
        f"in [{floor:g}, 30] (the magnitude floor for rand_k={cfg.rand_k} is {floor:g})",
        cfg.rand_strength,
    )


SDCLR_HEADS = ("two_layer", "official")


@dataclass(frozen=True, config=SETTINGS)
class SdclrConfig(_BaselineConfig):
    """SDCLR's knobs (``method_kwargs.<name>``); docs/baselines.md explains each one.

    Paper settings (Jiang et al., ICML 2021): ``prune_ratio`` 0.9 and ``temperature`` 0.2 on
    CIFAR-10/100-LT, 0.3 and 0.3 on ImageNet-100-LT.
    """

    proj_hidden_dim: Count = 2048  # projector hidden width
    proj_output_dim: Count = 128  # projector output width (the contrastive space)
    temperature: Positive = 0.2  # NT-Xent temperature (one for all samples)
    # fraction of the backbone's conv weights REMOVED in the pruned branch
    prune_ratio: Annotated[float, within(0, 1, "[)", "(the fraction of conv weights removed)")] = (
        0.9
    )
    # "two_layer": Linear-BN-ReLU-Linear; "official": 3 Linear, BN after each
    head: Annotated[str, one_of(*SDCLR_HEADS)] = "two_layer"
    bcl: Flag = False  # True: BCL-D, SDCLR with BCL's memorisation boost (BoostSettings below)
    momentum_loss_beta: MomentumBeta = 0.97
    rand_k: Count = 2  # the paper's BCL-D value
    rand_strength: float = 30.0

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        _boost_strength(self)
        return self


@dataclass(frozen=True, config=SETTINGS)
class TsConfig(_BaselineConfig):
    """Temperature Schedules' knobs (``method_kwargs.<name>``); docs/baselines.md explains them.

    ``tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi t / period)) / 2`` with ``t`` in epochs:
    ``tau(0) = tau_max``, ``tau(period) = tau_min``, ``tau(2 period) = tau_max`` (a full
    oscillation is ``2 * period``). Paper values (Kukleva et al., ICLR 2023): 0.1, 1.0, 200.
    ``first_epoch`` is the ``t`` of the first epoch: 0 (solo-learn counts from 0) or 1 (the
    official loop counts epochs from 1, one epoch further along the cosine).
    """

    proj_hidden_dim: Count = 2048  # projector hidden width
    proj_output_dim: Count = 128  # projector output width (the contrastive space)
    tau_min: Positive = 0.1  # temperature at t = period, 3 period, ...
    tau_max: float = 1.0  # temperature at t = 0, 2 period, ...
    # epochs from tau_max down to tau_min (half an oscillation)
    period: Annotated[
        float,
        above(0, "epochs (from tau_max down to tau_min; a full oscillation is 2 * period)"),
    ] = 200.0
    per_step: Flag = False  # True: t advances every step (fractional epochs)
    # t of solo-learn's epoch 0: 0, or 1 for the official loop's phase
    first_epoch: Annotated[
        int,
        check(
            lambda v: v in (0, 1), "must be 0 (solo-learn's epoch count) or 1 (the official loop's)"
        ),
    ] = 0
    proj_batch_norm: Flag = False  # True: Linear-BN-ReLU-Linear; False: solo's SimCLR projector

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        ordered(self, "tau_min", "tau_max")
        return self

    def temperature(self, t: float) -> float:
        """The temperature at training time ``t`` (epochs, fractional with ``per_step``)."""
        return self.tau_min + (self.tau_max - self.tau_min) * cosine_factor(t, self.period)

    def epoch_temperature(self, epoch: float) -> float:
        """The temperature at solo-learn's (0-based, fractional) ``epoch``: ``t = epoch +
        first_epoch``."""
        return self.temperature(epoch + self.first_epoch)


@dataclass(frozen=True, config=SETTINGS)
class BoostSettings:
    """BCL's memorisation boost (Zhou et al., ICML 2022): per-sample momentum losses drive a
    per-sample RandAugment on every view; docs/baselines.md explains each knob."""

    momentum_loss_beta: MomentumBeta = 0.97  # m <- (1 - beta) l + beta m, once per epoch
    rand_k: Count = 1  # RandAugment ops per view (paper: 1 for BCL-I, 2 for BCL-D)
    rand_strength: float = 30.0  # largest RandAugment magnitude, on its [0, 30] scale

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        _boost_strength(self)
        return self

    @classmethod
    def of(cls, cfg: Any) -> BoostSettings:
        """The settings held by a method config with these three fields; validated."""
        return parse(cls, {f.name: getattr(cfg, f.name) for f in fields(cls)}, _PREFIX)


@dataclass(frozen=True, config=SETTINGS)
class BclConfig(_BaselineConfig):
    """BCL-I's knobs (``method_kwargs.<name>``): solo-learn's SimCLR plus :class:`BoostSettings`.

    Paper recipe on CIFAR-100-LT: temperature 0.2, ``momentum_loss_beta`` 0.97, ``rand_k`` 1,
    ``rand_strength`` 30 (with lr 0.5, wd 5e-4, 2000 epochs).
    """

    proj_hidden_dim: Count = 2048  # projector hidden width
    proj_output_dim: Count = 128  # projector output width (the contrastive space)
    proj_batch_norm: Flag = False  # True: Linear-BN-ReLU-Linear; False: solo's SimCLR projector
    temperature: Positive = 0.2  # NT-Xent temperature (one for all samples)
    momentum_loss_beta: MomentumBeta = 0.97  # see BoostSettings
    rand_k: Count = 1
    rand_strength: float = 30.0

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        _boost_strength(self)
        return self

"""Validated settings of the plugin's methods (pure Python: no solo-learn needed).

Every knob lives under ``method_kwargs`` in a solo-learn config. Each record is a settings-kit
record (``solo_tase.settings``): a field's rule and help sit beside its type, rules across fields
in the record's ``model_validator``. Shared blocks are declared once and inherited: the projector
(:class:`ProjectorSettings`), BCL's boost (:class:`BoostSettings`) and Geometric Harmonization
(:class:`GhSettings`, nested as ``method_kwargs.gh``). Bad values fail at start with a
:class:`ConfigError` naming the key and the allowed values; the knob tables of docs/method.md and
docs/baselines.md are generated from these records (``python -m solo_tase.docs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Annotated, Any, Self, TypeVar

from pydantic import model_validator
from pydantic.dataclasses import dataclass

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
    doc,
    integer_from,
    one_of,
    ordered,
    parse,
    within,
)
from solo_tase.tail.signals import TAIL_SIGNALS, num_fit_clusters
from solo_tase.tail.tables import cosine_factor

__all__ = [
    "BclConfig",
    "BoostSettings",
    "ConfigError",
    "GhSettings",
    "ProjectorSettings",
    "SdclrConfig",
    "SimclrConfig",
    "SoloSimclrConfig",
    "TaseConfig",
    "TsConfig",
]

_PREFIX = "method_kwargs."
C = TypeVar("C")


def _read(cls: type[C], kwargs: Mapping[str, Any], **fill: Any) -> C:
    """``kwargs`` as the record ``cls``: ``None`` means the default; ``fill`` gives the keys
    left unset (or ``None``) a value."""
    data = {k: _plain(v) for k, v in kwargs.items() if v is not None}
    data.update({k: v for k, v in fill.items() if data.get(k) is None})
    return parse(cls, data, _PREFIX)


def _plain(value: Any) -> Any:
    """Nested mappings (an OmegaConf node of ``method_kwargs.gh``) as plain dicts."""
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


@dataclass(frozen=True, config=SETTINGS)
class GhSettings:
    """Geometric Harmonization (Zhou et al., NeurIPS 2023) as a block of any plugin method
    (``method_kwargs.gh``, off by default); docs/baselines.md explains it and every difference
    from the official code. Epochs are 0-based solo-learn epochs."""

    enabled: Annotated[Flag, doc("add the GH loss to the method's own")] = False
    target_dim: (
        Annotated[
            int,
            integer_from(2, "(or null for data.num_classes)"),
            doc("K, vertices of the simplex ETF (surrogate classes); at most proj_output_dim + 1"),
        ]
        | None
    ) = None
    target_seed: Annotated[int, doc("seed of the simplex ETF (numpy's default_rng)")] = 0
    target_file: (
        Annotated[str, doc("a .npy [K, proj_output_dim] target instead of the generated one")]
        | None
    ) = None
    warmup_epochs: Annotated[
        int,
        integer_from(1, "(the prior needs the logits of one epoch)"),
        doc("epochs with the method's loss alone (official: 500 of 1000 on CIFAR-100-LT)"),
    ] = 500
    ramp_epochs: Annotated[
        Count, doc("the GH weight grows linearly to 1 over these epochs after the warm-up")
    ] = 10
    weight: Annotated[float, at_least(0), doc("weight of the GH loss after the ramp")] = 1.0
    beta_warmup: Annotated[
        float, within(0, 1, "[)"), doc("momentum of the per-sample logits during the warm-up")
    ] = 0.9
    beta: Annotated[
        float, within(0, 1, "[)"), doc("momentum of the per-sample logits after the warm-up")
    ] = 0.999
    prior_every: Annotated[
        Count, doc("the prior is re-estimated in every epoch e with (e + 1) % prior_every == 0")
    ] = 20
    sinkhorn_epsilon: Annotated[Positive, doc("entropic regularisation of Sinkhorn-Knopp")] = 0.05
    sinkhorn_iterations: Annotated[Count, doc("Sinkhorn-Knopp iterations")] = 300
    temperature: Annotated[Positive, doc("temperature of the log-softmax the targets meet")] = 0.1
    schedule: Annotated[
        str,
        one_of("cifar", "large_scale"),
        doc(
            "the official loop the averages and the prior follow: cifar (train_cifar.py: every "
            "step) or large_scale (train_imagenet_places.py: once per epoch, at its end)"
        ),
    ] = "cifar"
    average_start: Annotated[
        Count,
        doc(
            "large_scale: the averages start from the logits of the epoch e with e + 1 == "
            "average_start (official: 10)"
        ),
    ] = 10
    prior_floor: Annotated[
        int,
        integer_from(0),
        doc("large_scale: added to every vertex's count before the prior is normalised"),
    ] = 100

    @model_validator(mode="after")
    def _check_first_prior(self) -> Self:
        """large_scale: a prior is estimated before the GH loss starts (the official script has
        no prior otherwise)."""
        if self.enabled and self.schedule == "large_scale":
            first = self.average_start - 1  # the first epoch whose logits are averaged
            cross_check(
                any(
                    (e + 2) % self.prior_every == 0 or e + 2 == self.warmup_epochs
                    for e in range(first, self.warmup_epochs)
                    if e + 2 >= self.warmup_epochs
                ),
                "average_start",
                "below {warmup_epochs} with schedule large_scale, so that a prior is estimated "
                "at the end of an epoch e with e + 2 == warmup_epochs (or (e + 2) % prior_every "
                "== 0) before the GH loss starts",
                self.average_start,
            )
        return self


@dataclass(frozen=True, config=SETTINGS)
class ProjectorSettings:
    """The projector every plugin method builds (Linear-[BN]-ReLU-Linear-[BN]) and the blocks every
    method can add (``gh``)."""

    proj_hidden_dim: Annotated[Count, doc("projector hidden width")] = 2048
    proj_output_dim: Annotated[Count, doc("projector output width (the contrastive space)")] = 128
    proj_batch_norm: Annotated[
        Flag, doc("BatchNorm after the first Linear (false: solo-learn's SimCLR projector)")
    ] = False
    proj_output_bn: Annotated[
        Flag, doc("BatchNorm after the last Linear, which then has no bias (BCL's, GH's head)")
    ] = False
    joint_views: Annotated[
        Flag,
        doc(
            "forward both views as one batch of 2B, so BatchNorm normalises over both views (the "
            "official BCL code); false: one view at a time (solo-learn)"
        ),
    ] = False
    gh: Annotated[GhSettings, doc("Geometric Harmonization block")] = GhSettings()

    def _check_gh(self) -> None:
        cross_check(
            self.gh.target_dim is None or self.gh.target_dim <= self.proj_output_dim + 1,
            "gh",
            f"a target_dim of at most proj_output_dim + 1 = {self.proj_output_dim + 1} (a simplex "
            f"ETF of K vertices needs K - 1 <= {self.proj_output_dim} dimensions)",
            self.gh.target_dim,
        )


@dataclass(frozen=True, config=SETTINGS)
class TaseConfig(ProjectorSettings):
    """TASE's knobs (``method_kwargs.<name>``); docs/method.md explains each one.

    Temperatures are unitless softmax temperatures; epochs count solo-learn training epochs.
    """

    tau_0: Annotated[
        Positive,
        doc(
            "temperature during warm-up, without an estimate, and of an average sample; in "
            "[tau_min, tau_max]"
        ),
    ] = 0.2
    tau_min: Annotated[Positive, doc("smallest temperature (the rarest samples)")] = 0.1
    tau_max: Annotated[float, doc("largest temperature (the most frequent samples)")] = 0.5
    ref_imbalance: Annotated[
        float,
        above(1, "(a frequency ratio)"),
        doc("frequency ratio that moves tau by tau_max - tau_min"),
    ] = 100.0
    beta: Annotated[
        float, within(0, 1), doc("weight of the typicality rank vs the estimated frequency")
    ] = 0.0
    adaptive_temperature: Annotated[Flag, doc("false: tau_0 for all (weights-only ablation)")] = (
        True
    )
    rare_temperature: Annotated[
        str,
        one_of("low", "high"),
        doc("which end of [tau_min, tau_max] rare samples get: low (TASE) or high (the reversal)"),
    ] = "low"
    temperature_compensation: Annotated[
        Flag,
        doc(
            "each anchor's loss times tau_a / tau_0 (a base temperature), so that the weight "
            "alone sets the size of a sample's gradient"
        ),
    ] = False
    tau_schedule: Annotated[str, one_of("none", "cosine"), doc("dynamic temperature schedule")] = (
        "none"
    )
    tau_schedule_period: (
        Annotated[
            float,
            above(0, "epochs (or null for max_epochs)"),
            doc("T of the cosine schedule, epochs; null: max_epochs"),
        ]
        | None
    ) = None
    tail_signal: Annotated[
        str,
        one_of(*TAIL_SIGNALS),
        doc("the tail signal (oracle: the labels' class counts, an upper bound)"),
    ] = "knn_density"
    num_clusters: (
        Annotated[
            int,
            integer_from(2, "(or null for data.num_classes)"),
            doc("K (<= N); null: data.num_classes (100 if unknown)"),
        ]
        | None
    ) = None
    overcluster_factor: Annotated[Count, doc("K' = factor x K for overcluster")] = 3
    overcluster_sizes: Annotated[
        str, one_of("fine", "merged"), doc("overcluster: sizes of the fine or merged clusters")
    ] = "fine"
    knn_k: (
        Annotated[
            int,
            integer_from(1, "(or null for 3 x N / num_clusters)"),
            doc("neighbours of knn_density; null: 3 N / num_clusters"),
        ]
        | None
    ) = None
    knn_space: Annotated[
        str,
        one_of("cosine", "whitened"),
        doc(
            "knn_density: the space of the neighbours, cosine on the bank's unit rows, or the "
            "same after whitening (centred, every principal direction scaled to unit variance)"
        ),
    ] = "cosine"
    memorisation_beta: Annotated[
        float, within(0, 1, "[)"), doc("momentum of the memorisation signal's loss average")
    ] = 0.97
    score_scale: Annotated[
        float,
        at_least(0),
        doc("log-frequency per standard deviation for knn_density / memorisation"),
    ] = 1.0
    score_profile_ratio: (
        Annotated[
            float,
            above(1, "(a frequency ratio, or null to standardise)"),
            doc(
                "knn_density / memorisation: map the score's ranks onto an exponential profile "
                "of this head / tail ratio over num_clusters classes (the imbalance the user "
                "states for their data); null: the standardised score times score_scale"
            ),
        ]
        | None
    ) = None
    oracle_noise: Annotated[
        float,
        at_least(0),
        doc(
            "oracle variants only (a measurement device): Gaussian noise on each sample's log "
            "count, in standard deviations of the log counts, fixed per sample over the run"
        ),
    ] = 0.0
    oracle_imbalance: (
        Annotated[
            float,
            above(1, "(a frequency ratio, or null for the true one)"),
            doc("oracle variants only: the head / tail ratio the log counts are scaled to carry"),
        ]
        | None
    ) = None
    oracle_seed: Annotated[int, doc("oracle variants only: seed of oracle_noise")] = 0
    bank_feature: Annotated[
        str,
        one_of("crop1", "mean", "clean"),
        doc("bank feature: clean (evaluation view, re-read), crop1 (first crop), mean (of both)"),
    ] = "clean"
    warmup_epochs: Annotated[
        int,
        integer_from(1, "(the first clustering needs one epoch of features)"),
        doc("epochs with tau_0 and w = 1 before the first estimate"),
    ] = 10
    recluster_every: Annotated[Count, doc("epochs between estimates")] = 5
    kmeans_backend: Annotated[
        str, one_of("auto", "torch", "faiss"), doc("auto: faiss if importable, else torch")
    ] = "auto"
    kmeans_iters: Annotated[Count, doc("Lloyd iterations per clustering")] = 20
    kmeans_seed: (
        Annotated[int, doc("seed of the clustering (the epoch is added); null: the run's seed")]
        | None
    ) = None
    weighting: Annotated[
        str,
        one_of("power", "effective", "none"),
        doc("sample weights (none: temperature-only ablation)"),
    ] = "power"
    weights_as: Annotated[
        str,
        one_of("loss", "sampling"),
        doc(
            "sampling: each epoch draws N samples with probabilities proportional to the "
            "weights, every loss weight 1 (chosen on Fashion-MNIST-LT val; DALI: loss); loss: "
            "weights scale each sample's loss"
        ),
    ] = "sampling"
    gamma: Annotated[float, at_least(0), doc("exponent of the power weighting")] = 0.5
    effective_beta: Annotated[
        float, within(0, 1, "()"), doc("b of the effective-number weighting")
    ] = 0.999
    w_min: Annotated[Positive, doc("relative weights are clipped to [w_min, w_max]")] = 0.1
    w_max: Annotated[float, doc("upper clip of the relative weights")] = 10.0
    bank_dtype: Annotated[str, one_of("float32", "float16"), doc("memory-bank storage")] = "float32"
    num_samples: (
        Annotated[
            int,
            integer_from(2, "(or null to read it from the loader)"),
            doc("N; null: read from the training loader"),
        ]
        | None
    ) = None

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
        cross_check(
            self.score_profile_ratio is None or self.tail_signal in ("knn_density", "memorisation"),
            "score_profile_ratio",
            "null unless {tail_signal} is knn_density or memorisation (the scores it maps)",
            self.score_profile_ratio,
        )
        cross_check(
            self.knn_space == "cosine" or self.tail_signal == "knn_density",
            "knn_space",
            "cosine unless {tail_signal} is knn_density (the space of its neighbours)",
            self.knn_space,
        )
        degraded = self.oracle_noise > 0 or self.oracle_imbalance is not None
        cross_check(
            self.tail_signal == "oracle" or not degraded,
            "tail_signal",
            "oracle when {oracle_noise} or {oracle_imbalance} is set (they degrade the oracle)",
            self.tail_signal,
        )
        self._check_gh()
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


@dataclass(frozen=True, config=SETTINGS)
class BoostSettings:
    """BCL's memorisation boost (Zhou et al., ICML 2022): per-sample momentum losses drive a
    per-sample RandAugment on every view; docs/baselines.md explains each knob."""

    momentum_loss_beta: Annotated[
        float,
        within(0, 1, "[)"),
        doc("momentum of each sample's loss average: m <- (1 - beta) l + beta m, once an epoch"),
    ] = 0.97
    rand_k: Annotated[Count, doc("RandAugment ops per view (paper: 1 for BCL-I, 2 for BCL-D)")] = 1
    rand_strength: Annotated[float, doc("largest RandAugment magnitude, on its [0, 30] scale")] = (
        30.0
    )

    @model_validator(mode="after")
    def _boost_strength(self) -> Self:
        """``rand_strength`` in [floor, 30], the floor 10 for one op, else 5."""
        floor = 10.0 if self.rand_k == 1 else 5.0
        cross_check(
            floor <= self.rand_strength <= 30.0,
            "rand_strength",
            f"in [{floor:g}, 30] (the magnitude floor for rand_k={self.rand_k} is {floor:g})",
            self.rand_strength,
        )
        return self

    @classmethod
    def of(cls, cfg: Any) -> BoostSettings:
        """The settings held by a method config with these three fields; validated."""
        return parse(cls, {f.name: getattr(cfg, f.name) for f in fields(cls)}, _PREFIX)


SDCLR_HEADS = ("two_layer", "official")


@dataclass(frozen=True, config=SETTINGS)
class SdclrConfig(ProjectorSettings, BoostSettings, _BaselineConfig):
    """SDCLR's knobs (``method_kwargs.<name>``); docs/baselines.md explains each one.

    Paper settings (Jiang et al., ICML 2021): ``prune_ratio`` 0.9 and ``temperature`` 0.2 on
    CIFAR-10/100-LT, 0.3 and 0.3 on ImageNet-100-LT. With ``bcl: true`` it is BCL-D and the boost
    fields apply (paper: ``rand_k`` 2).
    """

    proj_batch_norm: Annotated[
        Flag, doc("BatchNorm after the first Linear (SDCLR's head has it)")
    ] = True
    temperature: Annotated[Positive, doc("NT-Xent temperature (one for all samples)")] = 0.2
    prune_ratio: Annotated[
        float,
        within(0, 1, "[)", "(the fraction of conv weights removed)"),
        doc("fraction of the backbone's conv weights removed in the pruned branch"),
    ] = 0.9
    head: Annotated[
        str,
        one_of(*SDCLR_HEADS),
        doc("two_layer: the projector above; official: 3 Linear, BN after each"),
    ] = "two_layer"
    bcl: Annotated[Flag, doc("BCL-D: SDCLR with BCL's memorisation boost")] = False
    rand_k: Annotated[Count, doc("RandAugment ops per view (paper: 1 for BCL-I, 2 for BCL-D)")] = 2

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        self._check_gh()
        cross_check(
            not self.joint_views,
            "joint_views",
            "false for SDCLR (its two views go through two different branches)",
            self.joint_views,
        )
        return self


@dataclass(frozen=True, config=SETTINGS)
class TsConfig(ProjectorSettings, _BaselineConfig):
    """Temperature Schedules' knobs (``method_kwargs.<name>``); docs/baselines.md explains them.

    ``tau(t) = tau_min + (tau_max - tau_min) * (1 + cos(pi t / period)) / 2`` with ``t`` in epochs:
    ``tau(0) = tau_max``, ``tau(period) = tau_min``, ``tau(2 period) = tau_max`` (a full
    oscillation is ``2 * period``). Paper values (Kukleva et al., ICLR 2023): 0.1, 1.0, 200.
    ``first_epoch`` is the ``t`` of the first epoch: 0 (solo-learn counts from 0) or 1 (the
    official loop counts epochs from 1, one epoch further along the cosine).
    """

    tau_min: Annotated[Positive, doc("temperature at t = period, 3 period, ...")] = 0.1
    tau_max: Annotated[float, doc("temperature at t = 0, 2 period, ...")] = 1.0
    period: Annotated[
        float,
        above(0, "epochs (from tau_max down to tau_min; a full oscillation is 2 * period)"),
        doc("epochs from tau_max down to tau_min (half an oscillation)"),
    ] = 200.0
    per_step: Annotated[Flag, doc("t advances every step (fractional epochs)")] = False
    first_epoch: Annotated[
        int,
        check(
            lambda v: v in (0, 1), "must be 0 (solo-learn's epoch count) or 1 (the official loop's)"
        ),
        doc("t of solo-learn's epoch 0: 0, or 1 for the official loop's phase"),
    ] = 0

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        ordered(self, "tau_min", "tau_max")
        self._check_gh()
        return self

    def temperature(self, t: float) -> float:
        """The temperature at training time ``t`` (epochs, fractional with ``per_step``)."""
        return self.tau_min + (self.tau_max - self.tau_min) * cosine_factor(t, self.period)

    def epoch_temperature(self, epoch: float) -> float:
        """The temperature at solo-learn's (0-based, fractional) ``epoch``: ``t = epoch +
        first_epoch``."""
        return self.temperature(epoch + self.first_epoch)


@dataclass(frozen=True, config=SETTINGS)
class BclConfig(ProjectorSettings, BoostSettings, _BaselineConfig):
    """BCL-I's knobs (``method_kwargs.<name>``): SimCLR plus :class:`BoostSettings`.

    Paper recipe on CIFAR-100-LT: temperature 0.2, ``momentum_loss_beta`` 0.97, ``rand_k`` 1,
    ``rand_strength`` 30 (with lr 0.5, wd 5e-4, 2000 epochs).
    """

    temperature: Annotated[Positive, doc("NT-Xent temperature (one for all samples)")] = 0.2

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        self._check_gh()
        return self


@dataclass(frozen=True, config=SETTINGS)
class SimclrConfig(ProjectorSettings, _BaselineConfig):
    """The plugin's SimCLR (``method: simclr_plus``): solo-learn's SimCLR, bit for bit with the
    default projector, plus the plugin's blocks (``gh``)."""

    temperature: Annotated[Positive, doc("NT-Xent temperature (one for all samples)")] = 0.2

    @model_validator(mode="after")
    def _across_fields(self) -> Self:
        self._check_gh()
        return self


@dataclass(frozen=True, config=SETTINGS)
class SoloSimclrConfig(_BaselineConfig):
    """solo-learn's own SimCLR (``method: simclr``), which the plugin checks but does not build:
    the ``method_kwargs`` it reads, every one required. The one list of them: it mirrors
    solo-learn's ``solo/methods/simclr.py`` (``SimCLR.__init__`` reads these three keys and
    ``SimCLR.add_and_assert_specific_cfg`` asserts them; ``BaseMethod`` reads no other)."""

    proj_hidden_dim: Annotated[Count, doc("projector hidden width")]
    proj_output_dim: Annotated[Count, doc("projector output width (the contrastive space)")]
    temperature: Annotated[Positive, doc("NT-Xent temperature (one for all samples)")]

"""Protocol presets: the published protocols of SDCLR, BCL and GH, each defined here and only here.

A preset fixes, per benchmark, everything that makes a number comparable with that paper's table:
the pre-training split(s), each method's pre-training recipe (weight decay, epochs, projection head
and method settings: :meth:`Protocol.recipe`), the probe set, the probe recipe, the few-shot files,
the augmentation at probe time, the Many/Medium/Few rule and how results over splits are
aggregated. ``solo-tase eval --preset`` and ``scripts/reproduce/`` read it; docs/evaluation.md
lists the same choices with the reference file each one comes from.

File names are relative to a *splits root* holding the three projects' ``split/`` folders as
``<root>/sdclr/``, ``<root>/bcl/`` and ``<root>/gh/`` (SDCLR f1490fc, BCL a2342f8, GH 9f7057c);
``{split}`` stands for the pre-training split number 1..5.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.eval.fewshot import FewShotOptions
from solo_tase.eval.probe import ProbeOptions
from solo_tase.eval.sgd_probe import SgdProbeOptions
from solo_tase.run_folder import read_run_args
from solo_tase.settings import SETTINGS, ConfigError, cross_check, doc, integer_from, one_of

SPLITS_ENV = "SOLO_TASE_SPLITS"
PRESET_DEFAULTS = {"splits": f"${SPLITS_ENV}, else ./reference-splits"}  # filled in when null
# the EvalRequest fields a preset fixes (an option setting one is refused next to --preset), and
# those it records
FIXES = (
    "protocol",
    "few_shot",
    "recipe",
    "augment",
    "probe",
    "sgd",
    "probe_indices",
    "val_indices",
)
RECORDS = ("preset", "setting")
GH_SUFFIX = "_gh"  # a method name ending so (simclr_gh, sdclr_gh, bcl_gh): that method + GH
# Projection heads a preset can give every method (method_kwargs). "config": the shipped
# configs' projector, the same for every method of a folder (our own tables); "bcl": the head of
# BCL's and GH's code, Linear-BN-ReLU-Linear (no bias)-BN (models/simclr.py proj_head; SDCLR's
# proj_head(twoLayerProj=True), every BN doubled for the pruned branch).
HEADS: dict[str, dict[str, Any]] = {
    "config": {},
    "bcl": {"proj_batch_norm": True, "proj_output_bn": True},
}


@dataclasses.dataclass(frozen=True)
class MethodRecipe:
    """How a preset pre-trains one method on one benchmark: what differs from its config."""

    weight_decay: float  # SGD weight decay
    epochs: int | None  # max_epochs; None: the config's
    head: str  # a key of HEADS
    method_kwargs: tuple[tuple[str, Any], ...]  # (key under method_kwargs, value)

    def overrides(self) -> list[str]:
        """Hydra overrides of the recipe (``optimizer.weight_decay=...``, ``max_epochs=...``,
        ``++method_kwargs.<key>=<value>``: set whether or not the config names the key)."""
        out = [f"optimizer.weight_decay={self.weight_decay:g}"]
        if self.epochs is not None:
            out.append(f"max_epochs={self.epochs}")
        return out + [f"++method_kwargs.{k}={v}" for k, v in self.method_kwargs]

    def describe(self) -> str:
        """One line: weight decay, epochs, head and the other method settings."""
        epochs = "the config's epochs" if self.epochs is None else f"{self.epochs} epochs"
        head = {"config": "the config's head", "bcl": "BCL's head"}[self.head]
        extra = [f"{k}={v}" for k, v in self.method_kwargs if k not in HEADS[self.head]]
        return f"weight decay {self.weight_decay:g}, {epochs}, {head}" + "".join(
            f", {e}" for e in extra
        )


@dataclasses.dataclass(frozen=True)
class Setting:
    """One evaluation of a preset: its probe images, recipe options and what it reports."""

    name: str  # "full-shot", "100-shot", "50-shot", "1%"
    probe_indices: tuple[str, ...] = ()  # .npy positions in the probe set; several: one probe each
    probe_list: str | None = None  # the probe set is the folder built from this list
    sgd: SgdProbeOptions | None = None  # the sdclr-sgd recipe's options for this setting


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A preset's choices on one benchmark."""

    pretrain_splits: tuple[str, ...]  # long-tailed training set(s): .npy / list files; () = a draw
    pretrain_draw: (
        str  # "split_file" (data.long_tail source sdclr), "ldam" (draw) or "list" (built)
    )
    weight_decay: float  # pre-training SGD weight decay
    probe_set: str  # in words (metrics.json / docs)
    test_set: str
    val: str | None  # sdclr-sgd: the held-out set its epoch is chosen on (file)
    settings: tuple[Setting, ...]
    group_rule: str  # "thirds" (CIFAR) or "thresholds" (> 100, 20-100, < 20 images)
    sources: tuple[str, ...]  # the reference files the choices come from
    epochs: int | None = None  # pre-training epochs of every method; None: the config's
    head: str = "config"  # the projection head of every method (HEADS)
    # per method (its name without GH_SUFFIX): "weight_decay" instead of the protocol's, and
    # further "method_kwargs"
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    gh: Mapping[str, Any] = field(default_factory=dict)  # method_kwargs.gh.* of GH runs

    def recipe(self, method: str) -> MethodRecipe:
        """The pre-training recipe of ``method`` (``<name>_gh``: ``<name>`` with GH enabled and
        this protocol's GH settings)."""
        base = method.removesuffix(GH_SUFFIX)
        own = self.methods.get(base, {})
        kwargs = {**HEADS[self.head], **own.get("method_kwargs", {})}
        if method.endswith(GH_SUFFIX):
            kwargs.update({"gh.enabled": True, **{f"gh.{k}": v for k, v in self.gh.items()}})
        return MethodRecipe(
            weight_decay=own.get("weight_decay", self.weight_decay),
            epochs=self.epochs,
            head=self.head,
            method_kwargs=tuple(kwargs.items()),
        )

    def setting(self, name: str) -> Setting:
        """The setting ``name``; ``ConfigError`` lists the valid ones."""
        for s in self.settings:
            if s.name == name:
                return s
        raise ConfigError(
            f"--setting must be one of {[s.name for s in self.settings]} (got {name!r})"
        )

    @property
    def num_splits(self) -> int:
        """Pre-training splits whose results are aggregated (1 for a single set)."""
        return max(1, len(self.pretrain_splits))


@dataclasses.dataclass(frozen=True)
class Preset:
    """A published protocol: its recipe, probe augmentation, aggregation and benchmarks."""

    name: str
    paper: str
    code: str  # repository @ commit
    recipe: str  # request.RECIPES: "adam" (cached features) or "sdclr-sgd" (augmented images)
    augment: str  # request.AUGMENTS: crop + flip at probe time "none", "one-pass", "every-epoch"
    aggregate: str  # how per-split / per-file results are combined, in words
    benchmarks: dict[str, Protocol] = field(default_factory=dict)
    probe: ProbeOptions = field(default_factory=ProbeOptions)  # the adam recipe's options

    def protocol(self, benchmark: str) -> Protocol:
        """This preset's protocol on ``benchmark``; ``ConfigError`` names the covered ones."""
        if benchmark not in self.benchmarks:
            raise ConfigError(
                f"preset '{self.name}' ({self.paper}) has no protocol for "
                f"{benchmark!r}: it covers {sorted(self.benchmarks)}; choose "
                f"another --preset (those covering it: "
                f"{[p.name for p in PRESETS.values() if benchmark in p.benchmarks]})"
            )
        return self.benchmarks[benchmark]


def _cifar_files(dataset: str) -> tuple[str, str, str, str]:
    """SDCLR's CIFAR files: D_i template, S_b template, train pool, held-out val."""
    if dataset == "cifar10":
        sub = "sdclr/cifar10_imbSub_with_subsets/split{split}"
        return (
            f"{sub}_D_i.npy",
            f"{sub}_S_b.npy",
            "sdclr/cifar10/trainIdxList.npy",
            "sdclr/cifar10/valIdxList.npy",
        )
    sub = "sdclr/cifar100_imbSub_with_subsets/cifar100_split{split}"
    return (
        f"{sub}_D_i.npy",
        f"{sub}_S_b.npy",
        "sdclr/cifar100/cifar100_trainIdxList.npy",
        "sdclr/cifar100/cifar100_valIdxList.npy",
    )


def _d_i(template: str) -> tuple[str, ...]:
    return tuple(template.format(split=k) for k in range(1, 6))


# SDCLR's probe: train_cifar.py --fixbn --fixto layer4 --wd 0 --lr 30 (batch 128, momentum 0.9)
SDCLR_FULL = SgdProbeOptions(epochs=30, milestones=(10, 20), eval_every=1)
SDCLR_FEW = SgdProbeOptions(epochs=100, milestones=(40, 60), eval_every=5)
# train_imagenet.py: batch 512, --test_freq 2 (full) / 10 (few-shot); scheduler.step() after each
# epoch; the best epoch is the one of the best top-5 held-out accuracy
SDCLR_IN_FULL = replace(
    SDCLR_FULL, batch_size=512, eval_every=2, lr_step="after_epoch", select_top_k=5
)
SDCLR_IN_FEW = replace(SDCLR_IN_FULL, epochs=100, milestones=(40, 60), eval_every=10)
IMAGENET100_TRAIN = "sdclr/imagenet-100/ImageNet_100_train.txt"
# where the one reference file that the split release lacks comes from
MISSING_FROM_RELEASE = {
    IMAGENET100_TRAIN: "github.com/VITA-Group/SDCLR, split/imagenet-100/ImageNet_100_train.txt "
    "(train_imagenet.py --fullset)",
}


def _sdclr_cifar(dataset: str) -> Protocol:
    d_i, s_b, pool, val = _cifar_files(dataset)
    n = {"cifar10": "45,000", "cifar100": "40,000"}[dataset]
    script = {"cifar10": "cifar-10-LT.sh", "cifar100": "cifar-100-LT.sh"}[dataset]
    return Protocol(
        pretrain_splits=_d_i(d_i),
        pretrain_draw="split_file",
        weight_decay=1e-4,
        probe_set=f"{dataset} train, {pool} ({n} images)",
        test_set=f"{dataset} test (10,000)",
        val=val,
        settings=(
            Setting("full-shot", probe_indices=(pool,), sgd=SDCLR_FULL),
            Setting("1%", probe_indices=(s_b,), sgd=SDCLR_FEW),
        ),
        group_rule="thirds",
        sources=(f"cmds/shell_scrips/{script}", "train_cifar.py", d_i, s_b, pool, val),
        epochs=2000,  # pretrain_epochs=${pretrain_epochs:-2000}
    )


SDCLR = Preset(
    name="sdclr",
    paper="SDCLR (Jiang et al., ICML 2021)",
    code="VITA-Group/SDCLR@f1490fc",
    recipe="sdclr-sgd",
    augment="every-epoch",
    aggregate="per pre-training split: the probe epoch with the best held-out accuracy; "
    "mean ± std over the five D_i splits",
    benchmarks={
        "cifar10-lt": _sdclr_cifar("cifar10"),
        "cifar100-lt": _sdclr_cifar("cifar100"),
        "imagenet100-lt": Protocol(
            pretrain_splits=("sdclr/imagenet-100/imageNet_100_LT_train.txt",),
            pretrain_draw="list",
            weight_decay=1e-4,
            probe_set=f"{IMAGENET100_TRAIN} (ImageNet train images of the 100 classes, without "
            "the held-out ImageNet_100_val.txt images)",
            test_set="sdclr/imagenet-100/ImageNet_100_test.txt (5,000)",
            val="sdclr/imagenet-100/ImageNet_100_val.txt",
            settings=(
                Setting("full-shot", probe_list=IMAGENET100_TRAIN, sgd=SDCLR_IN_FULL),
                Setting(
                    "1%",
                    probe_list="sdclr/imagenet-100/imageNet_100_sub_balance_train_0.01.txt",
                    sgd=SDCLR_IN_FEW,
                ),
            ),
            group_rule="thresholds",
            sources=(
                "cmds/shell_scrips/imagenet-100-res50-LT.sh",
                "train_imagenet.py",
                "split/imagenet-100/*.txt",
            ),
            epochs=500,  # pretrain_epochs=${pretrain_epochs:-500}
        ),
    },
)

BCL = Preset(
    name="bcl",
    paper="BCL (Zhou et al., ICML 2022)",
    code="MediaBrain-SJTU/BCL@a2342f8",
    recipe="adam",
    augment="none",
    aggregate="few-shot: mean over the five few-shot files per model; "
    "mean ± std over the five D_i pre-training splits",
    benchmarks={
        "cifar100-lt": Protocol(
            pretrain_splits=_d_i(_cifar_files("cifar100")[0]),
            pretrain_draw="split_file",
            weight_decay=5e-4,
            probe_set="cifar100 train, sdclr/cifar100/cifar100_trainIdxList.npy (40,000 images)",
            test_set="cifar100 test (10,000)",
            val=None,
            settings=(
                Setting("full-shot", probe_indices=(_cifar_files("cifar100")[2],)),
                Setting(
                    "100-shot",
                    probe_indices=tuple(
                        f"bcl/cifar100_imbSub_with_subsets/cifar100_split{k}_test_100shot.npy"
                        for k in range(1, 6)
                    ),
                ),
                Setting(
                    "50-shot",
                    probe_indices=tuple(
                        f"bcl/cifar100_imbSub_with_subsets/cifar100_split{k}_test_50shot.npy"
                        for k in range(1, 6)
                    ),
                ),
            ),
            group_rule="thirds",
            sources=(
                "README.md (Training: the train.py and train_sdclr.py commands)",
                "models/simclr.py",
                "models/sdclr.py",
                "test.py",
                "eval_cifar.py",
                "split/cifar100_imbSub_with_subsets/*.npy",
            ),
            epochs=2000,  # README: --epochs 2000 for every method
            head="bcl",  # models/simclr.py proj_head; models/sdclr.py proj_head(twoLayerProj)
            methods={
                # README: train_sdclr.py ... --weight_decay 1e-4 (SDCLR, BCL-D)
                "sdclr": {"weight_decay": 1e-4},
                # BCL-I: both views in one forward pass (models/simclr.py forward:
                # x.view(d[0] * 2, ...)); BCL-D's views go through SDCLR's two branches
                "bcl": {"method_kwargs": {"joint_views": True}},
                "bcl_d": {"weight_decay": 1e-4},
            },
        ),
    },
)


def _gh_block(warmup: int, ramp: int) -> dict[str, Any]:
    """GH's block of GH runs (method_kwargs.gh): its warm-up (epochs of the method's loss alone),
    ramp, prior period, logit momentum and 100 target vertices (README --target_dim 100)."""
    return {
        "warmup_epochs": warmup,
        "ramp_epochs": ramp,
        "prior_every": 20,
        "beta": 0.999,
        "target_dim": 100,
    }


# train_imagenet_places.py: --epochs 500, --GH_warm_up 30; README: --warm_up 400
_GH_LARGE: dict[str, Any] = {  # train_imagenet_places.py: averages and prior once an epoch
    "epochs": 500,
    "head": "bcl",
    "gh": {
        **_gh_block(warmup=400, ramp=30),
        "schedule": "large_scale",
        "average_start": 10,
        "prior_floor": 100,
    },
}

GH = Preset(
    name="gh",
    paper="GH (Zhou et al., NeurIPS 2023)",
    code="MediaBrain-SJTU/Geometric-Harmonization@9f7057c",
    recipe="adam",
    augment="one-pass",
    aggregate="one pre-training (the LDAM draw), one probe",
    benchmarks={
        "cifar100-lt": Protocol(
            pretrain_splits=(),
            pretrain_draw="ldam",
            weight_decay=5e-4,
            probe_set="cifar100 train, all 50,000 images (ImbalanceCIFAR100 with imb_factor=1)",
            test_set="cifar100 test (10,000)",
            val=None,
            settings=(Setting("full-shot"),),
            group_rule="thirds",
            sources=(
                "README.md",
                "datasets.py",
                "models.py",
                "train_cifar.py",
                "test_cifar.py",
                "utils.py (cifar_weak_aug)",
            ),
            epochs=1000,  # train_cifar.py --epochs 1000
            head="bcl",  # models.py proj_head, SDCLR/sdclr.py proj_head(twoLayerProj=True)
            # README --warm_up 500 --target_dim 100; train_cifar.py --GH_warm_up 10, --beta
            # 0.999, the prior re-estimated when (epoch + 1) % 20 == 0
            gh=_gh_block(warmup=500, ramp=10),
        ),
        "imagenet-lt": Protocol(
            pretrain_splits=(),
            pretrain_draw="list",
            weight_decay=1e-4,
            probe_set="gh/ImageNet_LT/ImageNet_split1_test_100shot.txt (100 per class)",
            test_set="ImageNet_LT_test.txt",
            val=None,
            settings=(
                Setting("100-shot", probe_list="gh/ImageNet_LT/ImageNet_split1_test_100shot.txt"),
            ),
            group_rule="thresholds",
            sources=(
                "README.md",
                "train_imagenet_places.py",
                "test_imagenet_places.py",
                "split/ImageNet_LT/*.txt",
            ),
            **_GH_LARGE,
        ),
        "places-lt": Protocol(
            pretrain_splits=(),
            pretrain_draw="list",
            weight_decay=1e-4,
            probe_set="gh/Places_LT/Places_split1_test_100shot.txt (100 per class)",
            test_set="Places_val.txt",
            val=None,
            settings=(
                Setting("100-shot", probe_list="gh/Places_LT/Places_split1_test_100shot.txt"),
            ),
            group_rule="thresholds",
            sources=(
                "README.md",
                "train_imagenet_places.py",
                "test_imagenet_places.py",
                "split/Places_LT/*.txt",
            ),
            **_GH_LARGE,
        ),
    },
)

PRESETS: dict[str, Preset] = {p.name: p for p in (SDCLR, BCL, GH)}
# The table each benchmark's numbers are compared against (scripts/reproduce's default).
DEFAULT_PRESET = {"cifar10-lt": "sdclr", "cifar100-lt": "bcl", "imagenet100-lt": "sdclr"}
BENCHMARK_OF_DATASET = {
    "cifar10": "cifar10-lt",
    "cifar100": "cifar100-lt",
    "imagenet100": "imagenet100-lt",
}


def get_preset(name: str) -> Preset:
    """The preset ``name``; ``ConfigError`` lists the known ones."""
    if name not in PRESETS:
        raise ConfigError(f"--preset must be one of {sorted(PRESETS)} (got {name!r})")
    return PRESETS[name]


def default_splits_root() -> Path:
    """``$SOLO_TASE_SPLITS``, else ``./reference-splits``."""
    return Path(os.environ.get(SPLITS_ENV) or "reference-splits")


def split_file(root: Path, name: str, split: int | None = None) -> Path:
    """``root / name`` with ``{split}`` filled; ``FileNotFoundError`` names the fix."""
    if "{split}" in name:
        if split is None:
            raise ConfigError(
                f"{name} depends on the pre-training split: pass --split 1..5 "
                "(the D_i split the checkpoint was pre-trained on)"
            )
        name = name.format(split=split)
    path = Path(root).expanduser() / name
    if not path.is_file():
        where = (
            f"; the split release lacks it: get it from {MISSING_FROM_RELEASE[name]} into "
            f"{path.parent}"
            if name in MISSING_FROM_RELEASE
            else ""
        )
        raise FileNotFoundError(
            f"reference file {path} not found: --splits (or ${SPLITS_ENV}) must be the folder "
            "holding the projects' split folders as sdclr/, bcl/ and gh/ (docs/evaluation.md)"
            + where
        )
    return path


def request_options(
    preset_name: str,
    benchmark: str,
    setting_name: str | None,
    split: int | None,
    root: Path,
    val_set: str | None = None,
) -> dict[str, Any]:
    """The :class:`~solo_tase.eval.request.EvalRequest` fields a preset records and fixes
    (``RECORDS`` and ``FIXES``) for one setting (``None``: the first, full-shot) of
    ``benchmark``; reference files are checked to exist. ``val_set``, the user's held-out set,
    is only checked to be given where the preset needs it."""
    preset = get_preset(preset_name)
    protocol = preset.protocol(benchmark)
    setting = protocol.setting(setting_name or protocol.settings[0].name)
    if split is not None and not 1 <= split <= protocol.num_splits:
        raise ConfigError(
            f"--split must be in [1, {protocol.num_splits}] for preset "
            f"'{preset.name}' on {benchmark} (got {split})"
        )
    val = protocol.val
    if val is not None and not val.endswith(".npy") and val_set is None:
        raise ConfigError(
            f"preset '{preset.name}' on {benchmark} chooses the probe epoch on {val}: pass "
            "--val-set <folder built from that list>"
        )
    return {
        "preset": preset.name,
        "setting": setting.name,
        "protocol": "linear",
        "few_shot": FewShotOptions(),  # few-shot probes come from the setting's files
        "recipe": preset.recipe,
        "augment": preset.augment,
        "probe": preset.probe,
        "sgd": setting.sgd or SgdProbeOptions(),
        "probe_indices": tuple(split_file(root, f, split) for f in setting.probe_indices),
        "val_indices": split_file(root, val, split) if val and val.endswith(".npy") else None,
    }


def benchmark_of_run(checkpoint: Path) -> str:
    """The benchmark of the run's ``data.dataset`` (args.json beside ``checkpoint``)."""
    dataset = read_run_args(Path(checkpoint).expanduser())[0]["data"]["dataset"]
    if dataset not in BENCHMARK_OF_DATASET:
        raise ConfigError(
            f"the run's data.dataset is {dataset!r}: pass --benchmark (one of the presets' "
            f"benchmarks: {sorted({b for p in PRESETS.values() for b in p.benchmarks})})"
        )
    return BENCHMARK_OF_DATASET[dataset]


@dataclass(frozen=True, config=SETTINGS)
class PresetChoice:
    """A published protocol and the choices within it."""

    preset: (
        Annotated[
            str,
            one_of(*sorted(PRESETS)),
            doc("a published protocol: fixes the probe files, recipe and augmentation"),
        ]
        | None
    ) = None
    setting: (
        Annotated[str, doc("the preset's setting (null: full-shot; few-shot: 100-shot, ...)")]
        | None
    ) = None
    split: (
        Annotated[
            int,
            integer_from(1),
            doc(
                "the D_i pre-training split of the checkpoint, for split-paired files (SDCLR's S_b)"
            ),
        ]
        | None
    ) = None
    benchmark: (
        Annotated[
            str,
            doc("cifar10-lt, cifar100-lt, imagenet100-lt, ... (null: from the run's data.dataset)"),
        ]
        | None
    ) = None
    splits: (
        Annotated[Path, doc("folder holding the projects' split folders as sdclr/, bcl/, gh/")]
        | None
    ) = None

    @model_validator(mode="after")
    def _within_a_preset(self) -> Self:
        chosen = (self.setting, self.split, self.benchmark, self.splits)
        cross_check(
            self.preset is not None or all(c is None for c in chosen),
            "preset",
            "given: {setting}, {split}, {benchmark} and {splits} choose within a preset "
            "(add {preset})",
            self.preset,
        )
        return self

    def request(self, checkpoint: Path, val_set: str | None) -> dict[str, Any]:
        """:func:`request_options` of this choice for the run of ``checkpoint``."""
        assert self.preset is not None
        benchmark = self.benchmark or benchmark_of_run(checkpoint)
        root = self.splits or default_splits_root()
        return request_options(self.preset, benchmark, self.setting, self.split, root, val_set)

"""What ``solo-tase eval`` is asked to do: the :class:`EvalRequest` record (paths, protocol and
its nested option records) and the ``protocol`` block of ``metrics.json`` it leads to.

``solo-tase eval``'s options are generated from these records (``solo_tase/cli/eval.py``): a
field ``probe_set`` is ``--probe-set``, the fields of the nested records are ``--epochs``,
``--k``, ``--shots``, ... and ``--sgd-epochs``, ... for :class:`SgdProbeOptions`; errors name the
option.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from solo_tase.eval.datasets import EvalSet
from solo_tase.eval.fewshot import FewShotOptions
from solo_tase.eval.knn import KnnOptions
from solo_tase.eval.probe import ProbeOptions
from solo_tase.eval.sgd_probe import SgdProbeOptions
from solo_tase.settings import (
    SETTINGS,
    Count,
    Flag,
    check,
    cross_check,
    doc,
    integer_from,
    one_of,
)
from solo_tase.utils.hashing import sha256_file

PROTOCOLS = ("linear", "knn")
RECIPES = ("adam", "sdclr-sgd")
AUGMENTS = ("none", "one-pass", "every-epoch")  # probe images: crop + flip never / once / per epoch
# the prefix of each nested option record's command-line options (default: none)
OPTION_PREFIXES = {"sgd": "sgd-"}
NUM_WORKERS = 4  # the command's data-loader workers (the record's default: 0)
# the defaults ``solo-tase eval`` fills in itself, as its help and the docs show them
COMMAND_DEFAULTS = {
    "num_workers": str(NUM_WORKERS),
    "cache_dir": "$SOLO_TASE_CACHE/features, else ~/.cache/solo-tase/features",
}

Seeds = Annotated[
    tuple[int, ...],
    check(
        lambda s: len(s) >= 1 and min(s) >= 0 and len(set(s)) == len(s),
        "must be one or more distinct integers >= 0",
    ),
    doc("seeds of the probe and the few-shot draw; several: mean +- std"),
]


@dataclass(frozen=True, config=SETTINGS)
class EvalRequest:
    """Everything ``solo-tase eval`` is asked to do (paths, protocol and its options)."""

    checkpoint: Annotated[Path, doc("solo-learn .ckpt or zoo weights file")]
    probe_set: Annotated[
        str, doc("balanced probe-training set: ImageFolder folder, or cifar10/cifar100")
    ]
    test_set: Annotated[str, doc("test set: ImageFolder folder, or cifar10/cifar100")]
    manifest: (
        Annotated[
            Path,
            doc(
                "manifest.json of the long-tailed pre-training set (defines the groups); must be "
                "the run's own when its args.json leads to one (null: that one)"
            ),
        ]
        | None
    ) = None
    regroup_manifest: (
        Annotated[
            Path,
            doc(
                "a deliberate re-grouping: a manifest.json whose groups replace those of the "
                "run's own manifest (not with manifest; metrics.json: inputs.regrouped)"
            ),
        ]
        | None
    ) = None
    data_root: (
        Annotated[Path, doc("torchvision root holding CIFAR (for cifar10/cifar100 sets)")] | None
    ) = None
    protocol: Annotated[str, one_of(*PROTOCOLS), doc("linear probe or kNN")] = "linear"
    few_shot: Annotated[FewShotOptions, doc("few-shot subset")] = FewShotOptions()
    seeds: Seeds = (0,)
    probe_indices: Annotated[
        tuple[Path, ...],
        doc(
            ".npy files of probe-set positions (e.g. SDCLR's trainIdxList.npy); several: one "
            "probe each, mean +- std over them"
        ),
    ] = ()
    probe: Annotated[ProbeOptions, doc("linear probe (adam recipe)")] = ProbeOptions()
    knn: Annotated[KnnOptions, doc("kNN")] = KnnOptions()
    recipe: Annotated[
        str,
        one_of(*RECIPES),
        doc(
            "linear probe: adam (BCL/GH, cached features) or sdclr-sgd (SDCLR's SGD on images "
            "augmented every epoch, its epoch chosen on a held-out set)"
        ),
    ] = "adam"
    sgd: Annotated[SgdProbeOptions, doc("SGD probe (sdclr-sgd recipe)")] = SgdProbeOptions()
    augment: Annotated[
        str,
        one_of(*AUGMENTS),
        doc("probe-set crop + flip: none, one-pass (GH) or every-epoch (sdclr-sgd)"),
    ] = "none"
    val_indices: (
        Annotated[Path, doc("sdclr-sgd: .npy of held-out probe-set positions (SDCLR's valIdxList)")]
        | None
    ) = None
    val_set: (
        Annotated[str, doc("sdclr-sgd: a separate held-out set (folder, or cifar10/cifar100)")]
        | None
    ) = None
    preset: Annotated[str, doc("recorded: the preset that chose the options")] | None = None
    setting: Annotated[str, doc("recorded: the preset's setting")] | None = None
    resize: (
        Annotated[
            int, integer_from(1), doc("resize before the centre crop (px; null: from args.json)")
        ]
        | None
    ) = None
    device: Annotated[str, doc("auto (GPU when present), cpu, cuda:0, ...")] = "auto"
    extract_batch_size: Annotated[Count, doc("images per feature-extraction batch")] = 256
    num_workers: Annotated[int, integer_from(0), doc("data-loader workers")] = 0
    cache_dir: Annotated[Path, doc("feature cache (null: no cache)")] | None = None

    @model_validator(mode="after")
    def _recipe_fits(self) -> Self:
        sgd = self.recipe == "sdclr-sgd"
        cross_check(
            not sgd or (self.protocol == "linear" and self.augment == "every-epoch"),
            "recipe",
            "adam unless {protocol} is linear and {augment} every-epoch (sdclr-sgd is a linear "
            "probe on images augmented every epoch)",
            self.recipe,
        )
        cross_check(
            sgd or self.augment != "every-epoch",
            "augment",
            "none or one-pass unless {recipe} is sdclr-sgd (the adam recipe and kNN read "
            "cached features)",
            self.augment,
        )
        cross_check(
            not sgd or self.val_indices is not None or self.val_set is not None,
            "val_set",
            "a held-out set (or {val_indices} held-out probe-set positions): sdclr-sgd chooses "
            "its epoch on it",
            self.val_set,
        )
        cross_check(
            self.manifest is None or self.regroup_manifest is None,
            "regroup_manifest",
            "left out when {manifest} is given (one manifest groups the classes)",
            self.regroup_manifest,
        )
        cross_check(
            self.val_indices is None or self.val_set is None,
            "val_set",
            "left out when {val_indices} is given (one held-out set)",
            self.val_set,
        )
        return self

    def protocol_record(self, probe: EvalSet, test: EvalSet) -> dict[str, Any]:
        """``metrics.json`` ``protocol``: every option that changes the numbers."""
        record: dict[str, Any] = {
            "name": self.protocol,
            "shots": self.few_shot.shots,
            "fraction": self.few_shot.fraction,
            "seeds": list(self.seeds),
            "probe_indices_sha256": (
                [sha256_file(p) for p in self.probe_indices] if self.probe_indices else None
            ),
            "resize": self.resize,
            "probe_set_id": probe.identity,
            "test_set_id": test.identity,
            "augment": self.augment,
            "preset": self.preset,
            "setting": self.setting,
        }
        if self.protocol == "knn":
            record.update(asdict(self.knn))
        elif self.recipe == "sdclr-sgd":
            record.update(
                {
                    "recipe": self.recipe,
                    "val": (sha256_file(self.val_indices) if self.val_indices else self.val_set),
                }
            )
            record.update({f"sgd_{k}": v for k, v in asdict(self.sgd).items()})
        else:
            record.update({"recipe": self.recipe, **asdict(self.probe)})
        return record


@dataclass(frozen=True, config=SETTINGS)
class RunOptions:
    """Where ``solo-tase eval`` writes its result, and the feature cache."""

    out: (
        Annotated[Path, doc("result folder (null: <checkpoint folder>/eval/<protocol>)")] | None
    ) = None
    replace: Annotated[Flag, doc("overwrite an existing result folder")] = False
    no_cache: Annotated[Flag, doc("always extract features (no feature cache)")] = False

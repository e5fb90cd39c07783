"""The in-place ``data.long_tail`` hook without solo-learn: validation, install, idempotency.

CIFAR itself is replaced by synthetic arrays (``load_cifar`` is patched); the end-to-end run
through solo-learn's main_pretrain.py is tests/integration/test_long_tail_inplace.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torchvision.datasets
from omegaconf import DictConfig, OmegaConf

import solo_tase.data.cifar as cifar
import solo_tase.data.long_tail as long_tail
from solo_tase.data.cifar import CifarArrays, CifarLTSpec, build_cifar_lt
from solo_tase.data.long_tail import (
    LongTailCIFAR10,
    LongTailCIFAR100,
    _LongTail,
    install_long_tail,
    read_block,
    restrict,
)
from solo_tase.data.selection import profile_selection
from solo_tase.job_config import prepare_config
from solo_tase.methods.config import ConfigError

ORIGINAL_CIFAR10 = cifar.CIFAR_SETS["cifar10"]


@pytest.fixture()
def patched(
    fake_cifar_arrays: dict[bool, CifarArrays], monkeypatch: pytest.MonkeyPatch
) -> CifarArrays:
    """Synthetic CIFAR-10 arrays; torchvision's names and the installed subsets are restored."""
    monkeypatch.setattr(long_tail, "load_cifar", cifar.load_cifar)
    for name in ("CIFAR10", "CIFAR100"):
        monkeypatch.setattr(torchvision.datasets, name, getattr(torchvision.datasets, name))
    for cls in (LongTailCIFAR10, LongTailCIFAR100):
        monkeypatch.setattr(cls, "selection", None)
    return fake_cifar_arrays[True]


def config(root: Path, **block) -> DictConfig:
    return OmegaConf.create(
        {
            "data": {
                "dataset": "cifar10",
                "train_path": str(root),
                "format": "image_folder",
                "long_tail": {"source": "profile", "ratio": 10, **block},
            }
        }
    )


@pytest.mark.parametrize(
    "data, message",
    [
        ({"long_tail": "lt.json"}, "data.long_tail must be a mapping with keys"),
        (
            {"long_tail": {"ratio": 10, "dataset": "cifar10"}},
            r"unknown keys \['data.long_tail.dataset'\].*the dataset itself is data.dataset",
        ),
        ({"long_tail": {"ratio": 10, "ration": 5}}, r"unknown keys \['data.long_tail.ration'\]"),
        (
            {"dataset": "custom", "long_tail": {"ratio": 10}},
            "only to data.dataset cifar10 or cifar100.*solo-tase data build",
        ),
        ({"format": "dali", "long_tail": {"ratio": 10}}, "cannot restrict DALI"),
        ({"fraction": 0.5, "long_tail": {"ratio": 10}}, "data.fraction=0.5 cannot be combined"),
        ({"long_tail": {"ratio": "steep"}}, "data.long_tail.ratio must be of type float"),
        (
            {"long_tail": {"ratio": 10, "download": "yes"}},
            "data.long_tail.download must be true or false",
        ),
        ({"long_tail": {"ratio": 0.5}}, "data.long_tail.ratio must be set"),
        (
            {"long_tail": {"source": "sdclr"}},
            "data.long_tail.split_file must be the .npy split file",
        ),
    ],
)
def test_bad_blocks_name_the_key(data: dict, message: str):
    cfg = OmegaConf.create({"data": {"dataset": "cifar10", "format": "image_folder", **data}})
    with pytest.raises(ConfigError, match=message):
        read_block(cfg)


def test_block_ignores_recorded_keys():
    cfg = OmegaConf.create(
        {
            "data": {
                "dataset": "cifar100",
                "long_tail": {"ratio": 50, "name": "old", "num_samples": 3},
            }
        }
    )
    block = read_block(cfg)
    assert block.dataset == "cifar100" and block.ratio == 50.0 and block.download is True


def test_install_restricts_records_and_writes_the_manifest(patched, tmp_path: Path):
    cfg = config(tmp_path)
    manifest = install_long_tail(cfg)
    assert torchvision.datasets.CIFAR10 is LongTailCIFAR10
    assert vars(torchvision.datasets)["CIFAR10"] is LongTailCIFAR10  # how solo-learn looks it up
    assert issubclass(LongTailCIFAR10, ORIGINAL_CIFAR10)
    expected = profile_selection(patched.labels, 10, ratio=10, seed=0)
    assert np.array_equal(LongTailCIFAR10.selection.positions, expected.positions)
    lt = cfg.data.long_tail
    assert lt.num_samples == expected.num_samples == manifest.num_samples
    assert lt.name == "cifar10-lt-r10-s0" and lt.checksum == manifest.index_checksum
    assert Path(lt.manifest) == tmp_path / "long_tail" / "cifar10-lt-r10-s0.json"
    assert json.loads(Path(lt.manifest).read_text())["index_checksum"] == lt.checksum


def test_install_is_idempotent_and_a_recorded_checksum_is_enforced(patched, tmp_path: Path):
    cfg = config(tmp_path)
    first = install_long_tail(cfg)
    stamp = Path(cfg.data.long_tail.manifest).stat().st_mtime_ns
    again = install_long_tail(cfg)  # the recorded keys are read back: same subset, no rewrite
    assert again.index_checksum == first.index_checksum
    assert Path(cfg.data.long_tail.manifest).stat().st_mtime_ns == stamp
    assert torchvision.datasets.CIFAR10 is LongTailCIFAR10
    assert LongTailCIFAR10.__mro__[2] is ORIGINAL_CIFAR10  # not wrapped twice
    cfg.data.long_tail.seed = 1
    with pytest.raises(ConfigError, match="data.long_tail.checksum is .* remove"):
        install_long_tail(cfg)


def test_a_manifest_path_holding_other_data_is_refused(patched, tmp_path: Path):
    install_long_tail(config(tmp_path, manifest=str(tmp_path / "m.json")))
    with pytest.raises(FileExistsError, match="m.json already holds the manifest of other data"):
        install_long_tail(config(tmp_path, seed=3, manifest=str(tmp_path / "m.json")))


def test_in_place_and_materialised_builds_agree(patched, tmp_path: Path):
    in_place = install_long_tail(config(tmp_path, seed=4))
    built = build_cifar_lt(tmp_path / "built", CifarLTSpec("cifar10", ratio=10, seed=4), tmp_path)
    assert (built.name, built.index_checksum) == (in_place.name, in_place.index_checksum)


def test_restrict_keeps_the_subset_with_indexes_from_zero():
    labels = np.array([0, 1, 0, 1, 1, 0])
    ds = SimpleNamespace(data=np.arange(6) * 10, targets=labels.tolist(), root="r")
    sel = profile_selection(labels, 2, ratio=3, seed=0)
    restrict(ds, sel)
    assert ds.targets == [0, 0, 0, 1] and list(ds.data) == [10 * p for p in sel.positions]
    other = SimpleNamespace(data=np.arange(6), targets=[1, 1, 0, 1, 1, 0], root="elsewhere")
    with pytest.raises(ValueError, match="elsewhere .* is not the one data.long_tail was drawn"):
        restrict(other, sel)


def test_the_mixin_restricts_only_the_train_split(monkeypatch: pytest.MonkeyPatch):
    class Base:
        def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
            self.root, self.data, self.targets = root, np.arange(6), [0, 1, 0, 1, 1, 0]

    class Restricted(_LongTail, Base):
        pass

    monkeypatch.setattr(
        Restricted, "selection", profile_selection(np.array([0, 1, 0, 1, 1, 0]), 2, ratio=3, seed=0)
    )
    assert len(Restricted("r", train=True).targets) == 4
    assert len(Restricted("r", train=False).targets) == 6


def test_prepare_config_raises_when_the_block_fails(tmp_path: Path):
    # The plugin's Hydra callback turns this into SystemExit (tests/integration).
    cfg = config(tmp_path, ratio=0.5)
    with pytest.raises(ConfigError, match="ratio must be set"):
        prepare_config(cfg)

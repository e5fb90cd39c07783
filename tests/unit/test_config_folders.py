"""Where the Hydra configs are found: the installed package's ``configs/``, else the checkout's
``scripts/``; ``solo-tase configs`` prints the folders and the doctor says where they are."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

import solo_tase.config_folders as config_folders
from solo_tase.cli import doctor
from solo_tase.cli.main import main as cli
from solo_tase.config_folders import config_datasets, config_files, config_folder, configs_root
from solo_tase.errors import InputError
from solo_tase.source_tree import source_tree
from tests.helpers.paths import REPO

PRETRAIN = ["cifar10-lt", "cifar100-lt", "digits-lt", "fashion-mnist-lt", "imagenet100-lt"]


@pytest.fixture
def installed(monkeypatch, tmp_path: Path) -> Path:
    """The package looks installed with its configs at ``<tmp>/solo_tase/configs``."""
    package = tmp_path / "solo_tase"
    for name in (
        "pretrain/toy/tase.yaml",
        "pretrain/toy/augmentations/a.yaml",
        "linear/toy/l.yaml",
    ):
        (package / "configs" / name).parent.mkdir(parents=True, exist_ok=True)
        (package / "configs" / name).write_text("{}\n")
    monkeypatch.setattr(importlib.resources, "files", lambda name: package)
    return package / "configs"


def test_a_checkout_finds_the_configs_in_scripts():
    assert source_tree() == REPO
    assert configs_root() == REPO / "scripts"
    assert config_datasets("pretrain") == PRETRAIN
    assert config_datasets("linear") == ["cifar10-lt", "cifar100-lt", "digits-lt"]
    assert config_folder("pretrain", "digits-lt") == REPO / "scripts" / "pretrain" / "digits-lt"
    assert config_files("linear") == sorted((REPO / "scripts" / "linear").rglob("*.yaml"))


def test_an_installed_package_finds_the_configs_it_carries(installed: Path):
    assert configs_root() == installed
    assert config_datasets("pretrain") == ["toy"]
    assert config_folder("linear", "toy") == installed / "linear" / "toy"
    assert config_files("pretrain") == [
        installed / "pretrain" / "toy" / "augmentations" / "a.yaml",
        installed / "pretrain" / "toy" / "tase.yaml",
    ]


def test_no_configs_anywhere_says_how_to_reinstall(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(importlib.resources, "files", lambda name: tmp_path / "solo_tase")
    monkeypatch.setattr(config_folders, "source_tree", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install --force-reinstall --no-deps"):
        configs_root()
    finding = doctor.check_configs()
    assert finding.status == doctor.FAIL and "Hydra configs were not found" in finding.detail


def test_an_unknown_dataset_or_kind_names_the_choices():
    with pytest.raises(InputError, match="choose one of cifar10-lt, cifar100-lt, digits-lt, "):
        config_folder("pretrain", "cifar1000-lt")
    with pytest.raises(InputError, match="'eval' is not one of pretrain, linear"):
        config_datasets("eval")


def test_configs_prints_one_folder_a_line(capsys):
    assert cli(["configs"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(REPO / "scripts" / "pretrain" / name) for name in PRETRAIN
    ]
    assert cli(["configs", "--kind", "linear", "--dataset", "digits-lt"]) == 0
    assert capsys.readouterr().out == f"{REPO / 'scripts' / 'linear' / 'digits-lt'}\n"
    assert cli(["configs", "--dataset", "mnist-lt"]) == 2
    assert "no pretrain configs for dataset 'mnist-lt'" in capsys.readouterr().err


def test_the_doctor_says_where_the_configs_are_and_how_many(installed: Path):
    finding = doctor.check_configs()
    assert finding.status == doctor.OK
    assert finding.detail.startswith(
        f"{installed}: pretrain 2 files in 1 datasets, linear 1 files in 1 datasets ("
    )
    (installed / "linear" / "toy" / "l.yaml").unlink()
    finding = doctor.check_configs()
    assert finding.status == doctor.FAIL and "linear 0 files in 0 datasets" in finding.detail
    assert "--force-reinstall" in finding.fix

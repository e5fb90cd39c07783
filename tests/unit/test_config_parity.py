"""Every dataset folder of scripts/pretrain ships tase, simclr, sdclr, ts, bcl (BCL-I) and bcl_d
(BCL-D: sdclr with ``bcl: true``) configs that differ only in the method block (``name``,
``method``, ``method_kwargs``), so a comparison between the methods is one command per method
with everything else (data, backbone, augmentations, optimiser, schedule, epochs, devices) held
equal."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from solo_tase.methods.config import BclConfig, SdclrConfig, SimclrConfig, TaseConfig, TsConfig
from tests.helpers.paths import PRETRAIN_CONFIGS

FOLDERS = sorted(p.name for p in PRETRAIN_CONFIGS.iterdir() if p.is_dir())
METHODS = ("tase", "simclr", "sdclr", "ts", "bcl", "bcl_d", "simclr_plus")
SOLO_METHOD = {"bcl_d": "sdclr"}  # config file -> cfg.method, where they differ
BOOST_KEYS = {"momentum_loss_beta", "rand_k", "rand_strength"}
METHOD_BLOCK = ("name", "method", "method_kwargs")
# the papers' settings (SDCLR, BCL: README commands; TS: Kukleva et al.); Digits-LT is CPU-sized
TS_PAPER = {"tau_min": 0.1, "tau_max": 1.0, "period": 200}
BCL_I = {"temperature": 0.2, "momentum_loss_beta": 0.97, "rand_k": 1, "rand_strength": 30}
BCL_D = {
    "prune_ratio": 0.9,
    "temperature": 0.2,
    "bcl": True,
    "momentum_loss_beta": 0.97,
    "rand_k": 2,
    "rand_strength": 30,
}
PAPER = {
    "cifar10-lt": {
        "sdclr": {"prune_ratio": 0.9, "temperature": 0.2},
        "ts": TS_PAPER,
        "bcl": BCL_I,
        "bcl_d": BCL_D,
    },
    "cifar100-lt": {
        "sdclr": {"prune_ratio": 0.9, "temperature": 0.2},
        "ts": TS_PAPER,
        "bcl": BCL_I,
        "bcl_d": BCL_D,
    },
    "imagenet100-lt": {"sdclr": {"prune_ratio": 0.3, "temperature": 0.3}, "ts": TS_PAPER},
}


def load(folder: str, method: str) -> dict[str, Any]:
    path = PRETRAIN_CONFIGS / folder / f"{method}.yaml"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: every scripts/pretrain/<dataset>/ folder ships "
            f"{', '.join(m + '.yaml' for m in METHODS)}"
        )
    return yaml.safe_load(path.read_text())


def test_the_dataset_folders_are_found():
    assert {"digits-lt"} <= set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_methods_differ_only_in_the_method_block(folder: str):
    configs = {m: load(folder, m) for m in METHODS}
    shared = {m: {k: v for k, v in c.items() if k not in METHOD_BLOCK} for m, c in configs.items()}
    for method in METHODS[1:]:
        keys = set(shared["tase"]) | set(shared[method])
        differing = sorted(k for k in keys if shared["tase"].get(k) != shared[method].get(k))
        assert not differing, f"{folder}: {method}.yaml differs from tase.yaml in {differing}"
    for method, cfg in configs.items():
        want = SOLO_METHOD.get(method, method)
        assert cfg["method"] == want, f"{folder}/{method}.yaml has method {cfg['method']!r}"
    suffixes = {cfg["name"].split("-", 1)[1] for cfg in configs.values()}
    assert suffixes == {folder}, f"{folder}: run names must be '<method>-{folder}'"


@pytest.mark.parametrize("folder", FOLDERS)
def test_projectors_have_the_same_size_for_every_method(folder: str):
    dims = {
        m: (
            load(folder, m)["method_kwargs"]["proj_hidden_dim"],
            load(folder, m)["method_kwargs"]["proj_output_dim"],
        )
        for m in METHODS
    }
    assert len(set(dims.values())) == 1, f"{folder}: projector sizes differ: {dims}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_method_kwargs_are_valid(folder: str):
    TaseConfig.from_kwargs(load(folder, "tase")["method_kwargs"], num_classes=10)
    SdclrConfig.from_kwargs(load(folder, "sdclr")["method_kwargs"])
    TsConfig.from_kwargs(load(folder, "ts")["method_kwargs"])
    simclr = load(folder, "simclr")["method_kwargs"]
    assert set(simclr) == {"proj_hidden_dim", "proj_output_dim", "temperature"}
    BclConfig.from_kwargs(load(folder, "bcl")["method_kwargs"])
    SimclrConfig.from_kwargs(load(folder, "simclr_plus")["method_kwargs"])
    assert SdclrConfig.from_kwargs(load(folder, "bcl_d")["method_kwargs"]).bcl


@pytest.mark.parametrize("folder", FOLDERS)
def test_bcl_configs_are_their_base_method_plus_the_boost(folder: str):
    """BCL-I is SimCLR's method_kwargs (the plugin's SimCLR, which holds the plugin's blocks) plus
    the boost; BCL-D is SDCLR's plus ``bcl: true`` and the boost, so each pair differs only by
    BCL."""
    pairs = (("bcl", "simclr_plus", BOOST_KEYS), ("bcl_d", "sdclr", BOOST_KEYS | {"bcl"}))
    for bcl, base, extra in pairs:
        kwargs = load(folder, bcl)["method_kwargs"]
        base_kwargs = load(folder, base)["method_kwargs"]
        assert set(kwargs) - set(base_kwargs) == extra, f"{folder}/{bcl}.yaml"
        assert {k: kwargs[k] for k in base_kwargs} == base_kwargs, f"{folder}/{bcl}.yaml"


@pytest.mark.parametrize("folder", sorted(PAPER))
def test_baselines_use_the_paper_settings(folder: str):
    if folder not in FOLDERS:
        pytest.skip(f"scripts/pretrain/{folder} is not shipped")
    for method, values in PAPER[folder].items():
        kwargs = load(folder, method)["method_kwargs"]
        assert {k: kwargs.get(k) for k in values} == values, f"{folder}/{method}.yaml"

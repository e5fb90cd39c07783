"""``solo-tase eval`` on real Digits-LT checkpoints of ``tase`` and solo-learn's own ``simclr``
(one tiny epoch each, solo-learn's backbone registry), and the CIFAR main_linear configs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from solo_tase.cli.main import main
from tests.helpers.paths import LINEAR_CONFIGS
from tests.helpers.solo_runs import DIGITS, TINY, checkpoints, single_run_folder

pytestmark = pytest.mark.integration

METHODS = ("tase", "simclr")


@pytest.fixture(scope="module")
def trained(run_solo, tmp_path_factory) -> dict[str, Path]:
    """Method -> the checkpoint of a one-epoch Digits-LT run."""
    out = {}
    for method in METHODS:
        folder = tmp_path_factory.mktemp(f"pretrain-{method}")
        run_solo(
            "main_pretrain.py",
            DIGITS,
            f"{method}.yaml",
            [*TINY, "max_epochs=1"],
            folder,
        )
        (out[method],) = checkpoints(single_run_folder(folder, method)).values()
    return out


def eval_cmd(ckpt: Path, digits_root: Path, out: Path, cache: Path) -> list[str]:
    data = digits_root / "digits-lt"
    return [
        "eval",
        str(ckpt),
        "--probe-set",
        str(data / "probe"),
        "--test-set",
        str(data / "test"),
        "--manifest",
        str(data / "manifest.json"),
        "--epochs",
        "20",
        "--num-workers",
        "0",
        "--device",
        "cpu",
        "--cache-dir",
        str(cache),
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_tase_and_simclr_checkpoints_reproducibly(trained, digits_root, tmp_path, capsys):
    results = {}
    for method, ckpt in trained.items():
        docs = []
        for attempt in ("a", "b"):  # separate caches: features are extracted twice
            out = tmp_path / f"{method}-{attempt}"
            assert main(eval_cmd(ckpt, digits_root, out, tmp_path / f"cache-{attempt}")) == 0
            assert "resnet18 (solo-learn)" in capsys.readouterr().err
            assert {p.name for p in out.iterdir()} == {
                "metrics.json",
                "per_class.csv",
                "per_class.png",
            }
            docs.append(json.loads((out / "metrics.json").read_text()))
        assert docs[0] == docs[1], f"{method}: numbers differ between two CPU runs"
        assert (tmp_path / f"{method}-a" / "per_class.csv").read_bytes() == (
            tmp_path / f"{method}-b" / "per_class.csv"
        ).read_bytes()
        doc = docs[0]
        assert (doc["method"], doc["versions"]["solo_learn"]) == (method, "1.0.6")
        assert [c["group"] for c in doc["per_class"]] == ["many"] * 4 + ["medium"] * 3 + ["few"] * 3
        assert 20.0 < doc["metrics"]["all"] <= 100.0  # chance is 10%
        results[method] = tmp_path / f"{method}-a"
    assert len(list((tmp_path / "cache-b").glob("*.pt"))) == 4  # 2 checkpoints x probe/test

    assert main(["compare", str(results["tase"]), str(results["simclr"])]) == 0
    table = capsys.readouterr().out
    assert "| tase | tase-digits-lt |" in table and "| simclr | simclr-digits-lt |" in table


@pytest.mark.slow
def test_unknown_backbone_in_solo_registry(trained, digits_root, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    ckpt = run / trained["tase"].name
    shutil.copy(trained["tase"], ckpt)
    args = json.loads((trained["tase"].parent / "args.json").read_text())
    args["backbone"]["name"] = "resnet1000"
    (run / "args.json").write_text(json.dumps(args))
    assert main(eval_cmd(ckpt, digits_root, tmp_path / "out", tmp_path / "cache")) == 2
    err = capsys.readouterr().err
    assert "unknown backbone 'resnet1000'" in err and "'resnet50'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("dataset, classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar_linear_configs_parse_in_solo_learn(dataset, classes):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from solo.args.linear import parse_cfg

    folder = LINEAR_CONFIGS / f"{dataset}-lt"
    with initialize_config_dir(version_base="1.2", config_dir=str(folder)):
        cfg = compose(
            config_name="linear.yaml",
            overrides=["pretrained_feature_extractor='/runs/x/tase-ep=1.ckpt'"],
        )
    OmegaConf.set_struct(cfg, False)
    cfg = parse_cfg(cfg)
    assert (cfg.data.dataset, cfg.data.num_classes, cfg.pretrain_method) == (
        dataset,
        classes,
        "tase",
    )
    assert cfg.backbone.name == "resnet18" and cfg.optimizer.lr == pytest.approx(0.1)

"""Reproduction recipes (--dry-run) and the demo's fail-fast without solo-learn."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from solo_tase.errors import InputError
from tests.helpers.paths import REPO


def load_reproduce():
    spec = importlib.util.spec_from_file_location(
        "reproduce", REPO / "scripts/reproduce/reproduce.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["reproduce"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


REFERENCE = REPO.parent / "shared" / "reference-splits"


def dry_run(reproduce, capsys, benchmark: str, out: Path, *extra: str) -> str:
    assert (
        reproduce.main(
            [
                benchmark,
                "--data-root",
                str(out.parent / "data"),
                "--out",
                str(out),
                "--splits",
                str(REFERENCE),
                "--dry-run",
                *extra,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert not out.exists()
    return text


@pytest.mark.parametrize(
    "benchmark, preset, splits, settings",
    [
        ("cifar10-lt", "sdclr", 5, ["full-shot", "1%"]),
        ("cifar100-lt", "bcl", 5, ["full-shot", "100-shot", "50-shot"]),
        ("imagenet100-lt", "sdclr", 1, ["full-shot", "1%"]),
    ],
)
def test_dry_run_shows_every_split_setting_and_the_final_tables(
    benchmark, preset, splits, settings, tmp_path, capsys
):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce,
        capsys,
        benchmark,
        tmp_path / "out",
        "--set",
        "max_epochs=1",
        "--eval-options",
        "--num-workers 2",
    )
    assert text.splitlines()[0].startswith(f"# preset {preset}: ")
    assert "(the default for this benchmark)" in text.splitlines()[0]
    protocol = reproduce.PRESETS[preset].benchmarks[benchmark]
    for method in reproduce.METHODS:
        config = reproduce.config_name(method, protocol.recipe(method))
        assert (
            f"--config-path {REPO / 'scripts/pretrain' / benchmark} --config-name {config}.yaml"
        ) in text
        for k in range(1, splits + 1):
            assert f"# pre-train {method} (split{k} of {splits})" in text
            for s in settings:
                assert f"# evaluate {method} ({s}, split{k})" in text
        assert f"# publish {method} (split1) to the zoo" in text
    runs = len(reproduce.METHODS) * splits
    assert text.count("max_epochs=1") == runs
    assert text.count("--num-workers 2") == runs * len(settings)
    assert text.count(f"--preset {preset} ") == runs * len(settings)
    for wd in {protocol.recipe(m).weight_decay for m in reproduce.METHODS}:
        methods = [m for m in reproduce.METHODS if protocol.recipe(m).weight_decay == wd]
        assert text.count(f"optimizer.weight_decay={wd:g} ") == len(methods) * splits
    for s in settings:
        assert (
            f"# results ({preset} preset, {s}): mean ± std over {splits} pre-training split(s)"
        ) in text
        slug = s.replace("%", "pct")
        folders = " ".join(str(tmp_path / "out" / "eval" / slug / m) for m in reproduce.METHODS)
        assert f"compare --over-splits {folders}" in text
    if benchmark == "imagenet100-lt":
        assert "data build imagenet100-lt" in text and "imageNet_100_LT_train.txt" in text
        assert "imageNet_100_sub_balance_train_0.01.txt" in text
        assert "--val-set" in text and "ImageNet_100_val.txt" in text
    else:
        assert f"--probe-set {benchmark.split('-')[0]}" in text
        for k in range(1, 6):
            assert f"split{k}_D_i.npy" in text


def pretrain_line(text: str, method: str, split: int = 1) -> str:
    """The main_pretrain.py command of ``method`` on ``split`` in a dry run's output."""
    lines = text.splitlines()
    return lines[lines.index(f"# pre-train {method} (split{split} of 5)") + 1]


def test_bcl_preset_pretrains_each_method_with_the_official_recipe(tmp_path, capsys):
    """BCL's README: SimCLR and BCL-I with weight decay 5e-4, SDCLR and BCL-D with 1e-4, all 2000
    epochs; every model with the Linear-BN-ReLU-Linear-BN head; BCL-I with both views in one
    forward pass."""
    reproduce = load_reproduce()
    text = dry_run(reproduce, capsys, "cifar100-lt", tmp_path / "out", "--pretrain-splits", "1")
    head = "++method_kwargs.proj_batch_norm=True ++method_kwargs.proj_output_bn=True"
    for method, wd in [("simclr", 5e-4), ("bcl", 5e-4), ("sdclr", 1e-4), ("bcl_d", 1e-4)]:
        line = pretrain_line(text, method)
        assert f"optimizer.weight_decay={wd:g} max_epochs=2000 {head}" in line
        assert ("++method_kwargs.joint_views=True" in line) == (method == "bcl")
    assert "--config-name simclr_plus.yaml" in pretrain_line(text, "simclr")
    assert "# pre-training of bcl_d (bcl_d.yaml): weight decay 0.0001, 2000 epochs" in text


def test_gh_preset_trains_ghs_epochs_and_warms_gh_up_for_half_of_them(tmp_path, capsys):
    reproduce = load_reproduce()
    out = tmp_path / "out"
    text = dry_run(
        reproduce, capsys, "cifar100-lt", out, "--preset", "gh", "--methods", "simclr_gh", "ts"
    )
    lines = text.splitlines()
    gh = lines[lines.index("# pre-train simclr_gh (split1 of 1)") + 1]
    assert "--config-name simclr_plus.yaml" in gh and "max_epochs=1000" in gh
    for key in (
        "enabled=True",
        "warmup_epochs=500",
        "ramp_epochs=10",
        "prior_every=20",
        "beta=0.999",
    ):
        assert f"++method_kwargs.gh.{key}" in gh
    ts = lines[lines.index("# pre-train ts (split1 of 1)") + 1]
    assert "max_epochs=1000" in ts and "gh." not in ts


def test_gh_preset_on_imagenet_lt_and_places_lt_follows_their_script():
    from solo_tase.eval.presets import GH

    for benchmark in ("imagenet-lt", "places-lt"):
        recipe = GH.benchmarks[benchmark].recipe("sdclr_gh")
        assert (recipe.weight_decay, recipe.epochs) == (1e-4, 500)
        kwargs = dict(recipe.method_kwargs)
        assert (kwargs["gh.warmup_epochs"], kwargs["gh.ramp_epochs"], kwargs["gh.target_dim"]) == (
            400,
            30,
            100,
        )
        assert (kwargs["gh.schedule"], kwargs["gh.average_start"], kwargs["gh.prior_floor"]) == (
            "large_scale",
            10,
            100,
        )


def test_imagenet100_full_shot_probe_list_comes_from_the_splits_folder(tmp_path, capsys):
    """SDCLR's full-shot probe trains on its ImageNet_100_train.txt (train_imagenet.py
    --fullset); without it in --splits the recipe stops before any step, naming where it is."""
    reproduce = load_reproduce()
    text = dry_run(reproduce, capsys, "imagenet100-lt", tmp_path / "out", "--methods", "sdclr")
    assert f"--train-list {REFERENCE / 'sdclr/imagenet-100/ImageNet_100_train.txt'}" in text
    argv = ["imagenet100-lt", "--data-root", str(tmp_path), "--splits", str(REFERENCE)]
    with pytest.raises(FileNotFoundError, match="github.com/VITA-Group/SDCLR, split/imagenet-100"):
        reproduce.main([*argv, "--out", str(tmp_path / "out"), "--methods", "sdclr"])
    assert "# long-tailed train set" not in capsys.readouterr().out


def test_imagenet100_probe_list_from_the_train_folder_leaves_the_held_out_images_out(
    tmp_path, reference_splits
):
    reproduce = load_reproduce()
    train = tmp_path / "imagenet" / "train"
    imagenet100 = reference_splits / "sdclr/imagenet-100"
    lt = (imagenet100 / "imageNet_100_LT_train.txt").read_text().splitlines()
    val = (imagenet100 / "ImageNet_100_val.txt").read_text().splitlines()
    for line in [*lt, *val]:  # a train folder holding the LT images and the held-out ones
        image = train.parent / line.split()[0]
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(b"jpeg")
    args = reproduce.build_parser().parse_args(
        ["imagenet100-lt", "--data-root", str(train.parent), "--splits", str(reference_splits)]
        + ["--imagenet100-train-list", str(train), "--out", str(tmp_path / "out")]
    )
    protocol = reproduce.resolve(reproduce.build_parser(), args)
    listed = Path(reproduce.probe_list(args, protocol, protocol.setting("full-shot")))
    names = {line.split()[0] for line in listed.read_text().splitlines()}
    assert names == {line.split()[0] for line in lt}  # every train image, no held-out one
    assert listed == tmp_path / "out" / "data" / "ImageNet_100_train.txt"
    every = tmp_path / "every.txt"
    every.write_text("\n".join([*lt, *val]) + "\n")
    args.imagenet100_train_list = every
    with pytest.raises(InputError, match="holds 2000 images of the held-out list"):
        reproduce.probe_list(args, protocol, protocol.setting("full-shot"))


def test_gh_preset_draws_the_ldam_split_and_pretrains_once(tmp_path, capsys):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce, capsys, "cifar100-lt", tmp_path / "out", "--preset", "gh", "--methods", "tase"
    )
    assert "(the default" not in text.splitlines()[0]
    assert text.count("# pre-train tase") == 1
    assert "+data.long_tail.draw=ldam data.long_tail.seed=0 optimizer.weight_decay=0.0005" in text
    assert "--preset gh --setting full-shot" in text


def test_a_subset_of_splits_and_refusals(tmp_path, capsys):
    reproduce = load_reproduce()
    text = dry_run(
        reproduce,
        capsys,
        "cifar100-lt",
        tmp_path / "out",
        "--pretrain-splits",
        "2",
        "4",
        "--methods",
        "simclr",
    )
    assert "split2 of 5" in text and "split4 of 5" in text and "split1 of 5" not in text
    assert "mean ± std over 2 pre-training split(s)" in text
    for argv, message in (
        (["--preset", "bcl"], "bcl has no protocol for cifar10-lt"),
        (["--pretrain-splits", "6"], "--pretrain-splits [6]: preset sdclr"),
    ):
        with pytest.raises(SystemExit):
            reproduce.main(["cifar10-lt", "--data-root", str(tmp_path), "--dry-run", *argv])
        assert message in capsys.readouterr().err


def test_wrappers_call_the_driver_with_their_benchmark():
    for name, bench in [
        ("cifar10_lt", "cifar10-lt"),
        ("cifar100_lt", "cifar100-lt"),
        ("imagenet100_lt", "imagenet100-lt"),
    ]:
        text = (REPO / "scripts/reproduce" / f"{name}.sh").read_text()
        assert f'reproduce.py" {bench} "$@"' in text


def test_wrapper_headers_name_the_default_presets_settings():
    """cifar100_lt.sh said "1% few-shot" where its default preset (bcl) runs 100- and 50-shot."""
    from solo_tase.eval.presets import DEFAULT_PRESET, PRESETS

    for bench, preset in DEFAULT_PRESET.items():
        text = (REPO / "scripts/reproduce" / f"{bench.replace('-', '_')}.sh").read_text()
        header = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
        assert f"default preset {preset}:" in header
        for s in PRESETS[preset].benchmarks[bench].settings:
            assert s.name in header
        assert ("1%" in header) == any(
            s.name == "1%" for s in PRESETS[preset].benchmarks[bench].settings
        )


def test_demo_stops_before_any_work_without_solo_learn(monkeypatch, tmp_path: Path, capsys):
    import solo_tase.demo as demo

    def missing():
        raise FileNotFoundError("no solo-learn checkout with main_pretrain.py was found")

    monkeypatch.setattr(demo, "find_solo_learn_dir", missing)
    out = tmp_path / "demo"
    assert demo.main(["--out", str(out)]) == 1
    assert "no solo-learn checkout" in capsys.readouterr().out
    assert not out.exists()


def test_find_solo_learn_dir_names_the_install_commands(monkeypatch, tmp_path: Path):
    import solo_tase.experiments as experiments

    monkeypatch.setenv("SOLO_LEARN_DIR", str(tmp_path))
    monkeypatch.setattr(experiments, "solo_available", lambda: False)
    monkeypatch.setattr(experiments, "source_tree", lambda: tmp_path / "repo")
    with pytest.raises(FileNotFoundError, match="git clone https://github.com/vturrisi/solo-learn"):
        experiments.find_solo_learn_dir()

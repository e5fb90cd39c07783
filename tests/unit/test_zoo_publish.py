"""``zoo publish`` on a tiny real run folder: the entry, the weights, the refusals."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import torch

import solo_tase
from solo_tase.cli.main import main
from solo_tase.data.manifest import Manifest
from solo_tase.eval.checkpoint import load_backbone
from solo_tase.utils.hashing import sha256_file
from solo_tase.zoo import publish as publish_module
from solo_tase.zoo.card import load_card
from solo_tase.zoo.publish import publish
from solo_tase.zoo.publish_options import PublishOptions
from tests.helpers.images import write_image_folder
from tests.helpers.zoo_runs import (
    CKPT_NAME,
    MANIFEST_NAME,
    RUN_NAME,
    args_json,
    edit_args,
    lightning_checkpoint,
    solo_backbone,
    write_metrics,
)


def entry(tmp_path: Path) -> Path:
    return tmp_path / "zoo" / MANIFEST_NAME / "tase" / RUN_NAME


def test_publish_writes_the_entry_card_and_readme(run_dir: Path, tmp_path: Path) -> None:
    done = publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    folder = entry(tmp_path)
    assert done.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "args.json",
        "card.yaml",
        "metrics-linear.json",
        f"{RUN_NAME}.pth",
    ]
    assert (folder / "args.json").read_bytes() == (run_dir / "args.json").read_bytes()
    card = load_card(folder)
    assert card == done.card
    args = json.loads((run_dir / "args.json").read_text())
    assert (card.name, card.dataset, card.method) == (RUN_NAME, MANIFEST_NAME, "tase")
    assert card.method_kwargs == args["method_kwargs"]
    assert card.backbone == {"name": "resnet18", "kwargs": {}, "stem": "imagenet"}
    manifest = Manifest.load(run_dir.parent / "data")
    p = card.pretraining
    assert (p.data, p.manifest, p.manifest_checksum) == (
        "custom",
        MANIFEST_NAME,
        manifest.index_checksum,
    )
    assert (p.epochs, p.checkpoint_epoch, p.crop_size, p.batch_size, p.seed) == (2, 1, 32, 64, 5)
    w = card.weights
    assert w.sha256 == sha256_file(folder / w.file)
    assert w.size == (folder / w.file).stat().st_size
    assert (w.kind, w.source_checkpoint) == ("backbone", CKPT_NAME)
    assert w.source_sha256 == sha256_file(run_dir / CKPT_NAME)
    assert card.args_sha256 == sha256_file(run_dir / "args.json")
    assert (card.solo_learn_commit, card.solo_tase_version) == ("9187ea3", solo_tase.__version__)
    assert card.url is None
    datetime.strptime(card.date, "%Y-%m-%dT%H:%M:%SZ")
    (ev,) = card.evaluations
    assert ev.metrics == {"all": 61.25, "many": 80.5, "medium": 60.0, "few": 45.25, "std": 14.4}
    assert ev.protocol["seeds"] == [0, 1, 2] and ev.file == "metrics-linear.json"
    readme = (tmp_path / "zoo" / "README.md").read_text()
    row = f"| {MANIFEST_NAME} | tase | {RUN_NAME} | resnet18 | 2 | linear | 61.25 ± 0.40 |"
    assert row in readme
    data = run_dir.parent / "data"
    assert done.notes == [
        f"dataset folder '{MANIFEST_NAME}' from manifest {data / 'manifest.json'} "
        f"(beside data.train_path {data / 'train'})"
    ]


def test_backbone_weights_round_trip_and_load_like_main_linear(
    run_dir: Path, tmp_path: Path
) -> None:
    done = publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    original = torch.load(run_dir / CKPT_NAME, map_location="cpu", weights_only=True)["state_dict"]
    expected = {k: v for k, v in original.items() if k.startswith("backbone.")}
    # main_linear.py (solo-learn 9187ea3, lines 74-84), verbatim apart from strict=True
    state = torch.load(done.folder / done.card.weights.file, map_location="cpu")["state_dict"]
    assert state.keys() == expected.keys()
    for k, v in state.items():
        assert torch.equal(v, expected[k]), k
        assert v.dtype == (torch.float32 if v.is_floating_point() else torch.int64), k
    for k in list(state.keys()):
        if "backbone" in k:
            state[k.replace("backbone.", "")] = state[k]
        del state[k]
    backbone = solo_backbone()
    backbone.load_state_dict(state, strict=True)
    reference = solo_backbone()
    reference.load_state_dict({k.removeprefix("backbone."): v for k, v in expected.items()})
    x = torch.randn(2, 3, 32, 32)
    backbone.eval(), reference.eval()
    assert torch.equal(backbone(x), reference(x))
    # solo-tase eval's loader (strict, args.json beside the file) reads it as the checkpoint
    zoo_loaded = load_backbone(done.folder / done.card.weights.file, use_solo=False)
    assert zoo_loaded.args == json.loads((run_dir / "args.json").read_text())
    assert torch.equal(
        zoo_loaded.module(x), load_backbone(run_dir / CKPT_NAME, use_solo=False).module(x)
    )


def test_half_precision_weights_are_published_as_fp32(run_dir: Path, tmp_path: Path) -> None:
    ckpt = lightning_checkpoint(solo_backbone())
    ckpt["state_dict"] = {
        k: v.to(torch.bfloat16) if v.is_floating_point() else v
        for k, v in ckpt["state_dict"].items()
    }
    torch.save(ckpt, run_dir / CKPT_NAME)
    write_metrics(run_dir / "metrics.json", run_dir)
    done = publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    state = torch.load(done.folder / done.card.weights.file, weights_only=True)["state_dict"]
    assert {v.dtype for v in state.values()} == {torch.float32, torch.int64}


def test_full_checkpoint_is_published_as_is(run_dir: Path, tmp_path: Path) -> None:
    done = publish(
        run_dir, [run_dir / "metrics.json"], tmp_path / "zoo", PublishOptions(full_checkpoint=True)
    )
    w = done.card.weights
    assert (w.file, w.kind) == (f"{RUN_NAME}.ckpt", "checkpoint")
    assert w.sha256 == w.source_sha256 == sha256_file(run_dir / CKPT_NAME)


def test_publishing_twice_is_refused_unless_replace(run_dir: Path, tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    publish(run_dir, [run_dir / "metrics.json"], zoo)
    before = (entry(tmp_path) / "card.yaml").read_bytes()
    with pytest.raises(FileExistsError, match="already exists.*--name or pass --replace"):
        publish(
            run_dir,
            [run_dir / "metrics.json"],
            zoo,
            PublishOptions(url="https://example.org/w.pth"),
        )
    assert (entry(tmp_path) / "card.yaml").read_bytes() == before
    done = publish(
        run_dir,
        [run_dir / "metrics.json"],
        zoo,
        PublishOptions(url="https://example.org/w.pth", replace=True),
    )
    assert load_card(entry(tmp_path)).url == "https://example.org/w.pth"
    assert done.card.weights.sha256 == load_card(entry(tmp_path)).weights.sha256
    # another name is another entry
    publish(run_dir, [run_dir / "metrics.json"], zoo, PublishOptions(name="tase-seed5"))
    assert (zoo / MANIFEST_NAME / "tase" / "tase-seed5" / "tase-seed5.pth").is_file()


def test_a_failed_replace_keeps_the_old_entry(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zoo = tmp_path / "zoo"
    publish(run_dir, [run_dir / "metrics.json"], zoo)
    before = {p.name: p.read_bytes() for p in entry(tmp_path).iterdir()}

    def disk_full(state, path):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish_module, "save_backbone", disk_full)
    with pytest.raises(OSError, match="No space"):
        publish(run_dir, [run_dir / "metrics.json"], zoo, PublishOptions(replace=True))
    assert {p.name: p.read_bytes() for p in entry(tmp_path).iterdir()} == before
    assert [p.name for p in entry(tmp_path).parent.iterdir()] == [RUN_NAME]  # no temp folder


def test_the_latest_of_several_checkpoints_is_chosen_and_said(
    run_dir: Path, tmp_path: Path
) -> None:
    torch.save(lightning_checkpoint(solo_backbone(), epoch=0), run_dir / f"{RUN_NAME}-0-ep=0.ckpt")
    done = publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    assert done.card.weights.source_checkpoint == CKPT_NAME
    assert any("latest epoch" in n and CKPT_NAME in n and "--checkpoint" in n for n in done.notes)


def test_metrics_of_another_checkpoint_are_refused(run_dir: Path, tmp_path: Path) -> None:
    other = run_dir / f"{RUN_NAME}-0-ep=0.ckpt"
    torch.save(lightning_checkpoint(solo_backbone(), epoch=0), other)
    with pytest.raises(ValueError, match="another checkpoint.*--checkpoint"):
        publish(
            run_dir,
            [run_dir / "metrics.json"],
            tmp_path / "zoo",
            PublishOptions(checkpoint=other.name),
        )
    # evaluated on that checkpoint, it publishes; the unfinished run is pointed out
    metrics = write_metrics(tmp_path / "m0.json", run_dir)
    data = json.loads(metrics.read_text())
    data["inputs"]["checkpoint_sha256"] = sha256_file(other)
    metrics.write_text(json.dumps(data))
    done = publish(run_dir, [metrics], tmp_path / "zoo", PublishOptions(checkpoint=other.name))
    assert done.card.pretraining.checkpoint_epoch == 0
    assert any("epoch 1 of max_epochs=2" in n for n in done.notes)


def test_bad_run_folders_get_clear_errors(run_dir: Path, tmp_path: Path) -> None:
    zoo, metrics = tmp_path / "zoo", run_dir / "metrics.json"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        publish(tmp_path / "nope", [metrics], zoo)
    (run_dir / CKPT_NAME).rename(tmp_path / "moved.ckpt")
    with pytest.raises(FileNotFoundError, match=r"no checkpoint .*--checkpoint"):
        publish(run_dir, [metrics], zoo)
    shutil.copy(tmp_path / "moved.ckpt", run_dir / "a.ckpt")
    shutil.copy(tmp_path / "moved.ckpt", run_dir / "b.ckpt")
    with pytest.raises(ValueError, match=r"carry no epoch .*--checkpoint"):
        publish(run_dir, [metrics], zoo)
    with pytest.raises(FileNotFoundError, match="--checkpoint c.ckpt is not a file"):
        publish(run_dir, [metrics], zoo, PublishOptions(checkpoint="c.ckpt"))
    (run_dir / "args.json").unlink()
    with pytest.raises(FileNotFoundError, match="no args.json beside"):
        publish(run_dir, [metrics], zoo, PublishOptions(checkpoint="a.ckpt"))
    (run_dir / "args.json").write_text("{not json")
    with pytest.raises(ValueError, match="args.json is not valid JSON"):
        publish(run_dir, [metrics], zoo, PublishOptions(checkpoint="a.ckpt"))
    (run_dir / "args.json").write_text(json.dumps({"name": "x", "method": "tase"}))
    with pytest.raises(ValueError, match="has no 'backbone.name'"):
        publish(run_dir, [metrics], zoo, PublishOptions(checkpoint="a.ckpt"))
    args = args_json(run_dir.parent / "data" / "train")
    del args["max_epochs"]
    (run_dir / "args.json").write_text(json.dumps(args))
    with pytest.raises(ValueError, match="has no integer 'max_epochs'"):
        publish(run_dir, [metrics], zoo, PublishOptions(checkpoint="a.ckpt"))
    assert not zoo.exists()


def test_a_checkpoint_without_a_backbone_is_refused(run_dir: Path, tmp_path: Path) -> None:
    torch.save({"state_dict": {"encoder.w": torch.ones(1)}}, run_dir / CKPT_NAME)
    write_metrics(run_dir / "metrics.json", run_dir)
    with pytest.raises(ValueError, match="no 'backbone.\\*' key in its state_dict"):
        publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    (run_dir / CKPT_NAME).write_bytes(b"garbage")
    write_metrics(run_dir / "metrics.json", run_dir)
    with pytest.raises(ValueError, match="cannot read .* with torch.load"):
        publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("method", "simclr", "method 'simclr' but the run's .* has method 'tase'"),
        ("run_name", "other-run", "run_name 'other-run' but the run's .* has name"),
        ("schema", "v0", "is not a solo-tase/metrics/v1 document"),
        (
            "metrics",
            {"all": 61.0, "many": 0.8, "medium": 0.6, "few": 140.0, "std": 1.0},
            r"metrics.few must be a percentage in \[0, 100\]",
        ),
        (
            "metrics_std",
            {"all": -1.0, "many": 0.0, "medium": 0.0, "few": 0.0, "std": 0.0},
            r"metrics_std.all must be a percentage",
        ),
        ("protocol", {"shots": 10}, "protocol must be an object with a 'name'"),
    ],
)
def test_metrics_that_disagree_with_the_run_are_refused(
    run_dir: Path, tmp_path: Path, key: str, value: object, match: str
) -> None:
    metrics = write_metrics(tmp_path / "m.json", run_dir, **{key: value})
    with pytest.raises(ValueError, match=match):
        publish(run_dir, [metrics], tmp_path / "zoo")


def test_metrics_of_another_args_json_are_refused(run_dir: Path, tmp_path: Path) -> None:
    metrics = write_metrics(tmp_path / "m.json", run_dir)
    args = json.loads((run_dir / "args.json").read_text())
    args["seed"] = 6
    (run_dir / "args.json").write_text(json.dumps(args))
    with pytest.raises(ValueError, match="another args.json"):
        publish(run_dir, [metrics], tmp_path / "zoo")


def test_several_protocols_become_rows_and_duplicates_are_refused(
    run_dir: Path, tmp_path: Path
) -> None:
    knn = write_metrics(
        tmp_path / "knn.json",
        run_dir,
        protocol={"name": "knn", "shots": None, "fraction": None, "seeds": [0], "k": 20},
        metrics_std=None,
    )
    few = write_metrics(
        tmp_path / "few.json",
        run_dir,
        protocol={"name": "linear", "shots": None, "fraction": 0.01, "seeds": [0]},
    )
    done = publish(run_dir, [run_dir / "metrics.json", knn, few], tmp_path / "zoo")
    assert [e.file for e in done.card.evaluations] == [
        "metrics-linear.json",
        "metrics-knn-k20.json",
        "metrics-linear-1pct.json",
    ]
    assert (done.folder / "metrics-knn-k20.json").read_bytes() == knn.read_bytes()
    with pytest.raises(ValueError, match="same protocol"):
        publish(run_dir, [knn, knn], tmp_path / "zoo2")


def test_dataset_folder_rule(run_dir: Path, tmp_path: Path) -> None:
    (run_dir.parent / "data" / "manifest.json").rename(tmp_path / "elsewhere.json")
    metrics = write_metrics(
        tmp_path / "m.json", run_dir, inputs={"manifest": str(tmp_path / "gone.json")}
    )
    with pytest.raises(ValueError, match="custom data but no data manifest.*--dataset"):
        publish(run_dir, [metrics], tmp_path / "zoo")
    with pytest.raises(ValueError, match="not a usable folder name"):
        publish(run_dir, [metrics], tmp_path / "zoo", PublishOptions(dataset="../up"))
    done = publish(run_dir, [metrics], tmp_path / "zoo", PublishOptions(dataset="my-digits"))
    assert done.folder == tmp_path / "zoo" / "my-digits" / "tase" / RUN_NAME
    assert done.card.pretraining.manifest is None
    # the metrics' manifest is the fallback; a data.long_tail manifest path comes first
    metrics = write_metrics(
        tmp_path / "m.json", run_dir, inputs={"manifest": str(tmp_path / "elsewhere.json")}
    )
    assert publish(run_dir, [metrics], tmp_path / "z2").card.dataset == MANIFEST_NAME
    other = Manifest.build(
        name="cifar10-lt-r100", source="t", class_names=["a", "b"], counts=[5, 1], items=range(6)
    )
    other.save(tmp_path / "lt.json")
    data = json.loads((run_dir / "args.json").read_text())["data"]
    edit_args(run_dir, data={**data, "long_tail": {"manifest": str(tmp_path / "lt.json")}})
    metrics = write_metrics(tmp_path / "m.json", run_dir, inputs={})
    assert publish(run_dir, [metrics], tmp_path / "z3").card.dataset == "cifar10-lt-r100"


def test_cifar_runs_are_named_by_data_dataset_and_the_stem_is_checked(
    run_dir: Path, tmp_path: Path
) -> None:
    data = json.loads((run_dir / "args.json").read_text())["data"]
    edit_args(run_dir, data={**data, "dataset": "cifar10", "train_path": str(tmp_path / "c10")})
    metrics = write_metrics(tmp_path / "m.json", run_dir, inputs={})
    with pytest.raises(
        ValueError,
        match="does not fit the 'resnet18' backbone .*shape mismatch: "
        r"\['conv1.weight \(64, 3, 7, 7\) != \(64, 3, 3, 3\)'\]",
    ):
        publish(run_dir, [metrics], tmp_path / "zoo")
    torch.save(lightning_checkpoint(solo_backbone(cifar=True)), run_dir / CKPT_NAME)
    done = publish(run_dir, [metrics], tmp_path / "zoo")
    assert (done.card.dataset, done.card.backbone["stem"]) == ("cifar10", "cifar")
    assert done.card.pretraining.manifest_checksum is None


def test_manifest_checksum_disagreeing_with_the_run_is_refused(
    run_dir: Path, tmp_path: Path
) -> None:
    metrics = write_metrics(tmp_path / "m.json", run_dir)
    data = json.loads(metrics.read_text())
    data["inputs"]["manifest_checksum"] = "0" * 64
    metrics.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="evaluated on other data"):
        publish(run_dir, [metrics], tmp_path / "zoo")


def test_cli_publish_prints_the_entry_and_refuses_a_second_time(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "zoo",
        "publish",
        str(run_dir),
        "--metrics",
        str(run_dir / "metrics.json"),
        "--zoo-dir",
        str(tmp_path / "zoo"),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"published {RUN_NAME} to {entry(tmp_path)}" in out and "no --url" in out
    assert main(argv + ["--url", "ftp://host/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("solo-tase zoo: error: ") and "--replace" in err
    assert main(argv + ["--url", "no-scheme", "--replace"]) == 2
    assert "needs a scheme" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["dataset root", "image removed"])
def test_a_run_on_a_dataset_root_or_a_damaged_build_gets_no_card(
    run_dir: Path, tmp_path: Path, damage: str
) -> None:
    """A run pre-trained on a dataset root (train/ and test/ together) or on a build missing
    images was published."""
    data = tmp_path / "data"
    counts = Manifest.load(data / "manifest.json").counts
    write_image_folder(data / "train", counts, [str(i) for i in range(10)])
    write_image_folder(data / "test", [1] * 10, [str(i) for i in range(10)], seed=1)
    if damage == "image removed":
        next((data / "train" / "3").iterdir()).unlink()
    else:
        args = json.loads((run_dir / "args.json").read_text())
        edit_args(run_dir, data={**args["data"], "train_path": str(data)})
    with pytest.raises(ValueError, match=f"the run of {run_dir / 'args.json'} cannot be trusted"):
        publish(run_dir, [run_dir / "metrics.json"], tmp_path / "zoo")
    assert not (tmp_path / "zoo").exists()


def test_metrics_of_a_regrouping_are_refused(run_dir: Path, tmp_path: Path) -> None:
    """A result grouped by --regroup-manifest does not describe the run's data."""
    metrics = write_metrics(tmp_path / "m.json", run_dir)
    data = json.loads(metrics.read_text())
    data["inputs"]["regrouped"] = True
    metrics.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="groups the classes by another manifest than the run's"):
        publish(run_dir, [metrics], tmp_path / "zoo")
    assert not (tmp_path / "zoo").exists()

"""A built folder's identity against its manifest: what is compared, the one-line refusals, and
the run-start check that records the manifest into the run's config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from solo_tase.data.identity import (
    FOLDERS_KEY,
    find_manifest,
    folder_identity,
    verify_folder,
)
from solo_tase.data.manifest import MANIFEST_NAME, Manifest
from solo_tase.data.solo_hook import check_data_paths
from solo_tase.data.writer import class_dir_names, materialize
from solo_tase.errors import ConfigError, InputError
from tests.helpers.images import png, write_image_folder

NAMES = ["a", "b", "c"]
COUNTS = [6, 3, 2]
COMMAND = "solo-tase data build image-folder --root /src --ratio 3.0 --out /data/tiny-lt"


def build(out: Path, command: str | None = COMMAND) -> Manifest:
    """A tiny build: ``train/`` (long-tailed), ``test/`` (balanced) and its manifest."""
    manifest = Manifest.build(
        name="tiny-lt",
        source="test images",
        class_names=NAMES,
        counts=COUNTS,
        items=range(sum(COUNTS)),
        extra={"splits": {"train": "train", "test": "test"}},
    )

    def fill(tmp: Path) -> None:
        write_image_folder(tmp / "train", COUNTS, NAMES)
        write_image_folder(tmp / "test", [2, 2, 2], NAMES, seed=1)

    materialize(out, manifest, fill, command=command)
    return manifest


@pytest.fixture()
def built(tmp_path: Path) -> Path:
    build(tmp_path / "tiny-lt")
    return tmp_path / "tiny-lt"


def test_identity_is_names_only_and_what_imagefolder_reads(built: Path):
    train = built / "train"
    first = folder_identity(train)
    assert first.classes == class_dir_names(NAMES) and first.counts == COUNTS
    image = sorted((train / "0_a").iterdir())[0]
    png(image, value=200)  # other pixels, same name: same identity (no contents read)
    (train / "0_a" / "notes.txt").write_text("not an image")
    (train / ".cache").mkdir()
    assert folder_identity(train) == first
    image.rename(image.with_name("other.png"))
    renamed = folder_identity(train)
    assert renamed.counts == COUNTS and renamed.checksum != first.checksum


def test_the_build_records_each_folder_and_its_command(built: Path):
    saved = json.loads((built / MANIFEST_NAME).read_text())
    assert set(saved["extra"][FOLDERS_KEY]) == {"train", "test"}
    assert saved["extra"][FOLDERS_KEY]["train"]["counts"] == COUNTS
    assert saved["extra"]["build_command"] == COMMAND
    assert Manifest.load(built).counts == COUNTS


def test_find_manifest_in_the_folder_or_its_parent(built: Path, tmp_path: Path):
    assert find_manifest(built / "train") == built / MANIFEST_NAME
    assert find_manifest(built) == built / MANIFEST_NAME
    (tmp_path / "plain").mkdir()
    assert find_manifest(tmp_path / "plain") is None


def test_an_intact_folder_passes(built: Path):
    assert verify_folder(built / "train").index_checksum == Manifest.load(built).index_checksum
    verify_folder(built / "test")


def test_a_deleted_image_names_the_class_and_the_rebuild_command(built: Path):
    sorted((built / "train" / "1_b").iterdir())[0].unlink()
    with pytest.raises(InputError) as err:
        verify_folder(str(built / "train"))
    message = str(err.value)
    assert "\n" not in message
    assert "class '1_b' has 2 images, the manifest" in message and "says 3" in message
    assert f"`{COMMAND} --replace`" in message
    sorted((built / "test" / "2_c").iterdir())[0].unlink()
    with pytest.raises(InputError, match="class '2_c' has 1 images"):
        verify_folder(built / "test", key="data.val_path")


def test_renamed_files_with_the_same_counts_are_refused(built: Path):
    image = sorted((built / "train" / "0_a").iterdir())[0]
    image.rename(image.with_name("x.png"))
    with pytest.raises(InputError, match="file names differ"):
        verify_folder(built / "train")


def test_a_dataset_root_is_refused_with_the_path_to_use(built: Path):
    with pytest.raises(InputError) as err:
        verify_folder(built)
    message = str(err.value)
    assert "holds train/, test/" in message and f"data.train_path={built / 'train'}" in message


def test_a_folder_with_other_classes_is_refused(built: Path):
    png(built / "train" / "3_d" / "1.png")
    with pytest.raises(InputError, match="class folders its manifest does not list: '3_d'"):
        verify_folder(built / "train")
    shutil.rmtree(built / "train" / "3_d")
    shutil.rmtree(built / "train" / "2_c")
    with pytest.raises(InputError, match="lacks the class folders '2_c'"):
        verify_folder(built / "train")


def test_older_manifests_are_compared_by_classes_and_counts(tmp_path: Path):
    out = tmp_path / "old"
    build(out, command=None)
    saved = json.loads((out / MANIFEST_NAME).read_text())
    del saved["extra"][FOLDERS_KEY]
    (out / MANIFEST_NAME).write_text(json.dumps(saved))
    verify_folder(out / "train")
    image = sorted((out / "train" / "0_a").iterdir())[0]
    image.unlink()
    with pytest.raises(InputError) as err:
        verify_folder(out / "train")
    assert "class '0_a' has 5 images" in str(err.value)
    assert f"solo-tase data build SOURCE --out {out} --replace" in str(err.value)


def run_config(train: Path | str, **data: object):
    return OmegaConf.create(
        {"data": {"dataset": "custom", "train_path": str(train), "val_path": None, **data}}
    )


def test_a_run_records_the_verified_manifest(built: Path):
    config = run_config(built / "train")
    manifest = check_data_paths(config)
    assert manifest is not None
    assert config.data.manifest == str(built / MANIFEST_NAME)
    assert config.data.manifest_checksum == manifest.index_checksum
    rerun = run_config(built / "train", manifest_checksum="0" * 64)  # from an older args.json
    with pytest.raises(ConfigError, match="data.manifest_checksum is 0000"):
        check_data_paths(rerun)


def test_a_run_on_a_damaged_folder_or_a_dataset_root_stops(built: Path):
    with pytest.raises(InputError, match="use data.train_path="):
        check_data_paths(run_config(built))
    sorted((built / "train" / "0_a").iterdir())[0].unlink()
    with pytest.raises(InputError, match="class '0_a' has 5 images"):
        check_data_paths(run_config(built / "train"))


def test_a_missing_path_names_the_data_root_and_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("SOLO_TASE_DATA", raising=False)
    missing = tmp_path / "datasets" / "digits-lt" / "train"
    with pytest.raises(InputError) as err:
        check_data_paths(run_config(missing))
    message = str(err.value)
    assert "\n" not in message and f"data.train_path {missing} does not exist" in message
    assert "SOLO_TASE_DATA is unset" in message
    assert f"`solo-tase data build digits-lt --out {missing.parent}`" in message
    monkeypatch.setenv("SOLO_TASE_DATA", str(tmp_path / "elsewhere"))
    config = run_config(tmp_path / "mine" / "train", val_path=str(tmp_path / "v"))
    with pytest.raises(InputError) as err:
        check_data_paths(config)
    assert f"SOLO_TASE_DATA is {tmp_path / 'elsewhere'}" in str(err.value)
    assert "solo-tase data build SOURCE --out" in str(err.value)


def test_torchvision_sets_and_plain_folders_are_left_alone(tmp_path: Path):
    cifar = OmegaConf.create(
        {"data": {"dataset": "cifar10", "train_path": str(tmp_path / "none"), "val_path": None}}
    )
    assert check_data_paths(cifar) is None
    plain = write_image_folder(tmp_path / "plain", [2, 1], ["x", "y"])
    config = run_config(plain)
    assert check_data_paths(config) is None and "manifest" not in config.data

"""Backbone loading without solo-learn (torchvision fallback): stems, strictness, clear errors."""

from __future__ import annotations

import argparse

import pytest
import torch

from solo_tase.eval.checkpoint import load_backbone
from tests.helpers.fake_runs import make_run, run_args, write_args


def test_loads_every_backbone_tensor_with_the_cifar_stem(tmp_path):
    path, saved = make_run(tmp_path, dataset="cifar10")
    loaded = load_backbone(path, use_solo=False)
    assert loaded.registry == "torchvision" and loaded.args["data"]["dataset"] == "cifar10"
    assert loaded.module.conv1.kernel_size == (3, 3) and isinstance(
        loaded.module.maxpool, torch.nn.Identity
    )
    for k, v in loaded.module.state_dict().items():
        assert torch.equal(v, saved[k]), k
    assert not loaded.module.training
    assert len(loaded.checkpoint_sha256) == 64 and len(loaded.args_sha256) == 64
    assert loaded.module(torch.zeros(2, 3, 32, 32)).shape == (2, 512)


def test_zoo_backbone_only_file(tmp_path):
    path, saved = make_run(tmp_path, extra={})
    weights = tmp_path / "weights.pth"
    torch.save({"state_dict": {f"backbone.{k}": v for k, v in saved.items()}}, weights)
    assert load_backbone(weights, use_solo=False).module.conv1.kernel_size == (7, 7)


def test_checkpoint_without_args_json(tmp_path):
    path, _ = make_run(tmp_path)
    (tmp_path / "args.json").unlink()
    with pytest.raises(FileNotFoundError, match="no args.json beside .*copy that run's args.json"):
        load_backbone(path, use_solo=False)


def test_args_json_without_a_backbone(tmp_path):
    path, _ = make_run(tmp_path)
    args = run_args()
    del args["backbone"]
    write_args(tmp_path, args)
    with pytest.raises(ValueError, match="has no 'backbone.name'"):
        load_backbone(path, use_solo=False)


def test_backbone_without_solo_learn_names_the_install(tmp_path):
    path, _ = make_run(tmp_path)
    write_args(tmp_path, run_args(backbone="vit_small"))
    with pytest.raises(ValueError, match="(?s)backbone 'vit_small' needs solo-learn.*git clone"):
        load_backbone(path, use_solo=False)


def test_missing_tensor_is_an_error_not_a_random_layer(tmp_path):
    path, saved = make_run(tmp_path)
    state = torch.load(path, weights_only=True)["state_dict"]
    del state["backbone.layer4.1.bn2.weight"]
    torch.save({"state_dict": state}, path)
    with pytest.raises(ValueError, match=r"missing: \['layer4.1.bn2.weight'\]"):
        load_backbone(path, use_solo=False)


def test_stem_mismatch_between_checkpoint_and_args(tmp_path):
    path, _ = make_run(tmp_path, dataset="cifar10")
    write_args(tmp_path, run_args("custom"))  # ImageNet stem: conv1 is 7x7
    with pytest.raises(ValueError, match=r"shape mismatch: \['conv1.weight \(64, 3, 3, 3\)"):
        load_backbone(path, use_solo=False)


def test_not_a_backbone_checkpoint(tmp_path):
    path, _ = make_run(tmp_path)
    torch.save({"state_dict": {"encoder.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="no 'backbone.\\*' key"):
        load_backbone(path, use_solo=False)
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="has no 'state_dict'"):
        load_backbone(path, use_solo=False)
    torch.save({"state_dict": {}, "cfg": argparse.Namespace(lr=1)}, path)
    with pytest.raises(ValueError, match=r"weights_only=True"):
        load_backbone(path, use_solo=False)
    with pytest.raises(FileNotFoundError, match="it is a folder: pass one of its checkpoints"):
        load_backbone(tmp_path, use_solo=False)


@pytest.mark.parametrize("content", ["text", "odd keys"])
def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, content):
    """A text file named .ckpt ended in ``KeyError: 101``; a torch file whose state_dict has
    keys that are not names in ``AttributeError``."""
    path, _ = make_run(tmp_path)
    if content == "text":
        path.write_text("epoch 0: loss 4.2\n")
    else:
        torch.save({"state_dict": {0: torch.zeros(1), "backbone.conv1.weight": 1}}, path)
    with pytest.raises(ValueError, match=f"^(cannot read )?{path}[: ]") as err:
        load_backbone(path, use_solo=False)
    assert "\n" not in str(err.value)

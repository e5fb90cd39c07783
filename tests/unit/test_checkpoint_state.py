"""One checkpoint layout for every plugin method, and the three earlier layouts still load."""

from __future__ import annotations

import io

import pytest
import torch

from solo_tase.methods.checkpoint_state import KEY, load_parts, read_parts, save_parts
from solo_tase.utils.rng import capture_rng_state


def round_trip(checkpoint: dict) -> dict:
    """What Lightning does: torch.save, then torch.load with weights_only=True."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_parts_and_rng_round_trip_in_one_layout():
    checkpoint: dict = {"state_dict": {}}
    torch.manual_seed(5)
    save_parts(checkpoint, "sdclr", {"sdclr": {"mask_epoch": 3}, "gh": {"prior": torch.ones(2)}})
    want = torch.rand(3)  # drawn after the save: a resumed run must draw it again
    loaded = round_trip(checkpoint)
    assert loaded[KEY]["layout"] == 2 and loaded[KEY]["method"] == "sdclr"
    torch.manual_seed(99)
    parts = load_parts(loaded, "sdclr", required=("sdclr", "gh"))
    assert parts["sdclr"]["mask_epoch"] == 3 and torch.equal(parts["gh"]["prior"], torch.ones(2))
    assert torch.equal(torch.rand(3), want)


def test_a_missing_part_names_it_the_writer_and_the_way_out():
    checkpoint: dict = {}
    save_parts(checkpoint, "tase", {"tase": {}})
    with pytest.raises(
        ValueError, match=r"no gh state .*written by 'tase', not written by the 'tase'"
    ):
        load_parts(checkpoint, "tase", required=("tase", "gh"))
    with pytest.raises(ValueError, match="not written by the 'bcl' method.*pretrained weights"):
        load_parts({"state_dict": {}}, "bcl", required=("bcl",))
    assert load_parts({"state_dict": {}}, "ts") == {}  # nothing required, no RNG saved


def test_earlier_layouts_load_as_parts():
    rng = capture_rng_state()
    tase = {KEY: {"state": {"version": 2}, "last_stats": {"rho": 0.5}, "rng": rng}}
    assert read_parts(round_trip(tase)) == {
        "tase": {"state": {"version": 2}, "last_stats": {"rho": 0.5}}
    }
    masks = {"layer1.0.conv1.weight": torch.ones(2, dtype=torch.bool)}
    bcl_state = {"momentum": {"last_epoch": 0}, "pending_epoch": 1, "steps_in_epoch": 3}
    bcl_d = {
        "solo_tase_sdclr": {"masks": masks, "mask_epoch": 4, "rng": rng},
        "solo_tase_bcl": {**bcl_state, "epoch_complete": True},
    }
    parts = load_parts(round_trip(bcl_d), "sdclr", required=("sdclr", "bcl"))
    assert parts["sdclr"]["mask_epoch"] == 4 and torch.equal(
        parts["sdclr"]["masks"]["layer1.0.conv1.weight"], masks["layer1.0.conv1.weight"]
    )
    assert parts["bcl"]["pending_epoch"] == 1 and parts["bcl"]["epoch_complete"] is True
    bcl_i = {"solo_tase_bcl": {**bcl_state, "epoch_complete": False}, "solo_tase_bcl_rng": rng}
    assert load_parts(round_trip(bcl_i), "bcl", required=("bcl",))["bcl"]["steps_in_epoch"] == 3

"""SDCLR's pruned branch: global magnitude masks, functional forward, separate BatchNorms, and
the one-backward gradient against the official two-pass scheme."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from solo_tase.losses.nt_xent import nt_xent_loss
from solo_tase.methods.config import ConfigError, SdclrConfig
from solo_tase.methods.pruning import (
    BranchNorms,
    branch_forward,
    conv_weight_names,
    global_magnitude_masks,
    masks_checksum,
)


def tiny_backbone() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def tiny_projector() -> nn.Sequential:
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 8))


class TinySdclr(nn.Module):
    """The SDCLR wiring of methods/sdclr.py on a small conv net."""

    def __init__(self, ratio: float = 0.5) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone, self.projector = tiny_backbone(), tiny_projector()
        self.pruned_norms = BranchNorms(self.backbone)
        self.pruned_head_norms = BranchNorms(self.projector)
        params = dict(self.backbone.named_parameters())
        convs = {n: params[n] for n in conv_weight_names(self.backbone)}
        self.masks = global_magnitude_masks(convs, ratio)

    def dense(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def pruned(self, x: torch.Tensor) -> torch.Tensor:
        feats = branch_forward(self.backbone, x, self.pruned_norms, self.masks)
        return branch_forward(self.projector, feats, self.pruned_head_norms)


def views(batch: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 3, 8, 8, generator=g), torch.randn(batch, 3, 8, 8, generator=g)


# ----------------------------------------------------------------------------- masks
@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.9, 0.999])
def test_mask_removes_exactly_the_requested_fraction_by_global_magnitude(ratio):
    g = torch.Generator().manual_seed(0)
    weights = {
        "a": torch.randn(16, 3, 3, 3, generator=g),
        "b": 10 * torch.randn(32, 16, 1, 1, generator=g),
        "c": 0.01 * torch.randn(7, 5, generator=g),
    }
    masks = global_magnitude_masks(weights, ratio)
    n = sum(w.numel() for w in weights.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(ratio * n)
    kept = torch.cat([w[m].abs() for w, m in zip(weights.values(), masks.values())])
    removed = torch.cat([w[~m].abs() for w, m in zip(weights.values(), masks.values())])
    if kept.numel() and removed.numel():
        assert kept.min() >= removed.max()  # one global threshold over all tensors
    for name, w in weights.items():
        assert masks[name].shape == w.shape and masks[name].dtype == torch.bool


def test_masks_are_global_not_per_layer():
    weights = {"small": torch.full((10,), 0.01), "large": torch.arange(1.0, 11.0)}
    masks = global_magnitude_masks(weights, 0.5)
    assert not masks["small"].any() and masks["large"].all()


def test_masks_keep_the_weight_memory_format():
    w = torch.randn(4, 3, 3, 3).to(memory_format=torch.channels_last)
    (mask,) = global_magnitude_masks({"w": w}, 0.5).values()
    assert mask.stride() == w.stride()
    assert torch.equal(mask, w.abs() > w.abs().flatten().kthvalue(54).values)


@pytest.mark.parametrize("ratio", [-0.1, 1.0, 1.5])
def test_ratio_outside_zero_one_is_refused(ratio):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        global_magnitude_masks({"w": torch.randn(10)}, ratio)


def test_conv_weight_names_cover_every_conv_and_nothing_else():
    from torchvision.models import resnet18

    net = resnet18()
    names = conv_weight_names(net)
    assert len(names) == 20 and "conv1.weight" in names and "layer2.0.downsample.0.weight" in names
    assert all(dict(net.named_parameters())[n].dim() == 4 for n in names)
    assert "fc.weight" not in names


def test_checksum_tells_masks_apart():
    w = {"w": torch.randn(100, generator=torch.Generator().manual_seed(0))}
    a, b = global_magnitude_masks(w, 0.5), global_magnitude_masks(w, 0.6)
    assert masks_checksum(a) == masks_checksum(global_magnitude_masks(w, 0.5))
    assert masks_checksum(a) != masks_checksum(b)


# ----------------------------------------------------------------------------- branch forward
def test_pruned_branch_equals_a_pruned_copy_with_its_own_norms():
    model = TinySdclr(0.5).train()
    x, _ = views()
    reference = copy.deepcopy(model.backbone)
    with torch.no_grad():
        for name, mask in model.masks.items():
            reference.get_parameter(name).mul_(mask)
    got = branch_forward(model.backbone, x, model.pruned_norms, model.masks)
    assert torch.allclose(got, reference(x), atol=1e-6)
    assert not torch.allclose(got, model.backbone(x), atol=1e-3)  # the masks matter


def test_pruned_branch_never_changes_the_dense_weights_or_statistics():
    model = TinySdclr(0.7).train()
    dense_before = {
        k: v.clone()
        for k, v in {**model.backbone.state_dict(), **model.projector.state_dict()}.items()
    }
    x, _ = views()
    model.pruned(x).sum().backward()
    for k, v in {**model.backbone.state_dict(), **model.projector.state_dict()}.items():
        assert torch.equal(v, dense_before[k]), k
    # the gradient reaching a shared conv weight is masked: pruned entries get none
    for name, mask in model.masks.items():
        grad = model.backbone.get_parameter(name).grad
        assert grad is not None and not grad[~mask].any() and grad[mask].any()


def test_the_two_branches_keep_separate_batchnorm_statistics_and_parameters():
    model = TinySdclr(0.5).train()
    dense_bn, pruned_bn = model.backbone[1], model.pruned_norms.norms["1"]
    head_bn, pruned_head_bn = model.projector[1], model.pruned_head_norms.norms["1"]
    assert dense_bn.weight is not pruned_bn.weight and head_bn.weight is not pruned_head_bn.weight
    x1, x2 = views()

    model.pruned(x2)
    assert dense_bn.num_batches_tracked == 0 and head_bn.num_batches_tracked == 0
    assert pruned_bn.num_batches_tracked == 1 and pruned_head_bn.num_batches_tracked == 1
    pruned_conv = nn.functional.conv2d(
        x2, model.backbone[0].weight * model.masks["0.weight"], padding=1
    )
    assert torch.allclose(pruned_bn.running_mean, 0.1 * pruned_conv.mean(dim=(0, 2, 3)), atol=1e-6)
    pruned_stats = pruned_bn.running_mean.clone()

    model.dense(x1)
    assert dense_bn.num_batches_tracked == 1 and pruned_bn.num_batches_tracked == 1
    assert torch.equal(pruned_bn.running_mean, pruned_stats)
    assert not torch.allclose(dense_bn.running_mean, pruned_stats)

    model.zero_grad()
    model.pruned(x2).sum().backward()
    assert dense_bn.weight.grad is None and head_bn.weight.grad is None
    assert pruned_bn.weight.grad is not None and pruned_head_bn.weight.grad is not None


def test_eval_mode_uses_the_branch_running_statistics():
    model = TinySdclr(0.5).train()
    x1, x2 = views()
    model.pruned(x2)
    model.eval()
    reference = copy.deepcopy(model.backbone)
    with torch.no_grad():
        for name, mask in model.masks.items():
            reference.get_parameter(name).mul_(mask)
        for key, norm in model.pruned_norms.norms.items():
            reference[int(key)].load_state_dict(norm.state_dict())
    got = branch_forward(model.backbone, x1, model.pruned_norms, model.masks)
    assert torch.allclose(got, reference(x1), atol=1e-6)


# ----------------------------------------------------------------------------- gradient
class PruneConv2d(nn.Conv2d):
    """SDCLR's models/resnet_prune.py ``prune_conv2d``: ``weight * prune_mask`` under the flag."""

    prune_flag = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.prune_mask if self.prune_flag else self.weight
        return self._conv_forward(x, w, self.bias)


class DualNorm(nn.Module):
    """SDCLR's ``batch_norm_multiple``: one BatchNorm per branch, picked by the flag."""

    prune_flag = False

    def __init__(self, dense: nn.Module, pruned: nn.Module) -> None:
        super().__init__()
        self.bns = nn.ModuleList([copy.deepcopy(dense), copy.deepcopy(pruned)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[int(self.prune_flag)](x)


def official_copy(seq: nn.Sequential, norms: BranchNorms, masks: dict) -> nn.Sequential:
    """``seq`` rebuilt the official way: flag-switched masked convs and dual BatchNorms."""
    layers = []
    for i, m in enumerate(seq):
        if isinstance(m, nn.Conv2d):
            conv = PruneConv2d(
                m.in_channels, m.out_channels, m.kernel_size, padding=m.padding, bias=False
            )
            conv.weight = nn.Parameter(m.weight.detach().clone())
            conv.prune_mask = masks[f"{i}.weight"].float()
            layers.append(conv)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            layers.append(DualNorm(m, norms.norms[str(i)]))
        else:
            layers.append(copy.deepcopy(m))
    return nn.Sequential(*layers)


def set_prune_flag(model: nn.Module, flag: bool) -> None:
    for m in model.modules():
        if isinstance(m, (PruneConv2d, DualNorm)):
            m.prune_flag = flag


def test_one_backward_equals_the_official_two_pass_gradient():
    """NT-Xent(dense(v1), pruned(v2)) with one backward gives every parameter the gradient of
    SDCLR's prune/prune_simCLR.py: dense with pruned detached, plus pruned with dense detached,
    computed here on an independent flag-switched model as in the official code."""
    tau = 0.2
    model = TinySdclr(0.6).train()
    official = nn.Sequential(
        official_copy(model.backbone, model.pruned_norms, model.masks),
        official_copy(model.projector, model.pruned_head_norms, {}),
    )
    x1, x2 = views(8)

    nt_xent_loss(torch.cat([model.dense(x1), model.pruned(x2)]), tau).backward()

    with torch.no_grad():
        set_prune_flag(official, True)
        z2_no_grad = official(x2)
    set_prune_flag(official, False)
    z1 = official(x1)
    nt_xent_loss(torch.cat([z1, z2_no_grad]), tau).backward()
    set_prune_flag(official, True)
    nt_xent_loss(torch.cat([z1.detach(), official(x2)]), tau).backward()

    pairs = []
    for ours, theirs, norms in (
        (model.backbone, official[0], model.pruned_norms),
        (model.projector, official[1], model.pruned_head_norms),
    ):
        for i, m in enumerate(ours):
            for name, p in m.named_parameters():
                if isinstance(theirs[i], DualNorm):
                    pairs.append((p, theirs[i].bns[0].get_parameter(name)))
                    pairs.append(
                        (
                            norms.norms[str(i)].get_parameter(name),
                            theirs[i].bns[1].get_parameter(name),
                        )
                    )
                else:
                    pairs.append((p, theirs[i].get_parameter(name)))
    assert len(pairs) == len(list(model.parameters())) == 18
    for p, q in pairs:
        assert p.grad is not None and q.grad is not None
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-7)
    # the shared conv weights really get both contributions (the dense pass alone differs)
    conv_grad = official[0][0].weight.grad.clone()
    official.zero_grad()
    set_prune_flag(official, False)
    nt_xent_loss(torch.cat([official(x1), z2_no_grad]), tau).backward()
    assert not torch.allclose(official[0][0].weight.grad, conv_grad, atol=1e-6)


# ----------------------------------------------------------------------------- config
def test_sdclr_defaults_are_the_paper_cifar_settings():
    cfg = SdclrConfig.from_kwargs({})
    assert (cfg.prune_ratio, cfg.temperature, cfg.proj_output_dim) == (0.9, 0.2, 128)


@pytest.mark.parametrize(
    "kwargs, key, allowed",
    [
        ({"prune_ratio": 1.0}, "method_kwargs.prune_ratio", "in [0, 1)"),
        ({"prune_ratio": -0.1}, "method_kwargs.prune_ratio", "in [0, 1)"),
        ({"temperature": 0}, "method_kwargs.temperature", "> 0"),
        ({"proj_hidden_dim": 0}, "method_kwargs.proj_hidden_dim", ">= 1"),
        ({"prune_ratio": "most"}, "method_kwargs.prune_ratio", "type float"),
        ({"p": 0.9}, "method_kwargs.p", "known keys"),
    ],
)
def test_bad_sdclr_values_name_the_key(kwargs, key, allowed):
    with pytest.raises(ConfigError) as err:
        SdclrConfig.from_kwargs(kwargs)
    assert key in str(err.value) and allowed in str(err.value)


# ----------------------------------------------------------------------------- placement
def test_restored_masks_follow_their_weights_device():
    """Masks loaded from a checkpoint sit on the CPU while the model is moved to its device
    afterwards; at use they must land on each weight's device (``meta`` stands in for a GPU)."""
    from solo_tase.methods.pruning import masks_on_weights

    model = TinySdclr()
    cpu_masks = {n: m.cpu() for n, m in model.masks.items()}
    weights = {n: torch.empty_like(p, device="meta") for n, p in model.backbone.named_parameters()}
    moved = masks_on_weights(cpu_masks, weights)
    assert {m.device.type for m in moved.values()} == {"meta"}
    assert all(
        moved[n].shape == cpu_masks[n].shape and moved[n].dtype == torch.bool for n in cpu_masks
    )
    same = masks_on_weights(cpu_masks, dict(model.backbone.named_parameters()))
    assert all(same[n] is cpu_masks[n] for n in cpu_masks)  # already in place: not copied


def test_official_head_has_three_linear_layers_and_a_norm_after_each():
    pytest.importorskip("solo", reason="the SDCLR method module needs solo-learn")
    from solo_tase.methods.sdclr import official_projector

    head = official_projector(8, 16, 4)
    linears = [m for m in head if isinstance(m, nn.Linear)]
    norms = [m for m in head if isinstance(m, nn.BatchNorm1d)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8, 16), (16, 16), (16, 4)]
    assert [m.bias is not None for m in linears] == [True, False, False]
    assert [m.num_features for m in norms] == [16, 16, 4]
    assert isinstance(head[-1], nn.BatchNorm1d)
    assert len(BranchNorms(head).norms) == 3  # the pruned branch gets its own copy of each
    assert SdclrConfig.from_kwargs({"head": "official"}).head == "official"
    with pytest.raises(ConfigError, match="method_kwargs.head"):
        SdclrConfig.from_kwargs({"head": "three"})

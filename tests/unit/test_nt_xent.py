"""The TASE loss against a literal per-anchor reference, and its temperature/weight semantics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from solo_tase.losses.nt_xent import nt_xent_loss


def reference_loss(z: torch.Tensor, tau: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Literal formula: l_a = -log(exp(z_a.z_p/tau_a) / sum_{b != a} exp(z_a.z_b/tau_a))."""
    z = F.normalize(z, dim=1)
    n = z.size(0)
    b = n // 2
    losses = []
    for a in range(n):
        p = (a + b) % n
        sims = z[a] @ z.T / tau[a]
        denom = torch.stack([torch.exp(sims[j]) for j in range(n) if j != a]).sum()
        losses.append(-torch.log(torch.exp(sims[p]) / denom))
    losses_t = torch.stack(losses)
    return (w * losses_t).sum() / w.sum()


def simclr_formula(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """solo-learn's simclr_loss_func written out (masks by index, mean of -log(pos/(pos+neg)))."""
    z = F.normalize(z, dim=-1)
    idx = torch.arange(z.size(0) // 2).repeat(2)
    sim = torch.exp(z @ z.T / temperature)
    pos_mask = idx[:, None] == idx[None, :]
    pos_mask.fill_diagonal_(False)
    neg_mask = idx[:, None] != idx[None, :]
    pos = (sim * pos_mask).sum(1)
    neg = (sim * neg_mask).sum(1)
    return -torch.log(pos / (pos + neg)).mean()


@pytest.fixture
def z() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 8, generator=g, dtype=torch.float64)


def test_equals_simclr_formula_with_constant_tau_and_unit_weights(z):
    got = nt_xent_loss(z.float(), 0.2)
    want = simclr_formula(z, 0.2)
    assert torch.allclose(got.double(), want, atol=1e-5)


def test_equals_literal_reference_with_per_anchor_tau_and_weights(z):
    g = torch.Generator().manual_seed(1)
    tau = 0.05 + torch.rand(16, generator=g, dtype=torch.float64) * 0.5
    w = 0.1 + torch.rand(16, generator=g, dtype=torch.float64) * 3
    got = nt_xent_loss(z.float(), tau.float(), w.float())
    want = reference_loss(z, tau, w)
    assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5)


def test_a_scale_multiplies_each_anchor_term_outside_the_weight_normalisation(z):
    g = torch.Generator().manual_seed(3)
    tau = 0.05 + torch.rand(16, generator=g, dtype=torch.float64) * 0.5
    w = 0.1 + torch.rand(16, generator=g, dtype=torch.float64) * 3
    scale = tau / 0.2  # temperature compensation: tau_a / tau_0
    got = nt_xent_loss(z.float(), tau.float(), w.float(), scale.float())
    terms = [reference_loss(z, tau, torch.eye(16, dtype=torch.float64)[a]) for a in range(16)]
    want = (w * scale * torch.stack(terms)).sum() / w.sum()
    assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-6)
    assert torch.equal(
        nt_xent_loss(z.float(), tau.float(), w.float(), None),
        nt_xent_loss(z.float(), tau.float(), w.float()),
    )
    with pytest.raises(ValueError, match=r"scale must be a float or a tensor of shape \[16\]"):
        nt_xent_loss(z.float(), 0.2, None, torch.ones(3))


def test_compensation_makes_an_anchors_gradient_size_independent_of_its_temperature():
    """With loss x tau / tau_0, the gradient of a lone anchor at two temperatures keeps the same
    order of magnitude, where the raw loss scales it by about 1 / tau."""
    g = torch.Generator().manual_seed(4)
    z = torch.randn(8, 16, generator=g)
    norms = {}
    for compensate in (False, True):
        for tau_a in (0.05, 0.5):
            zz = z.clone().requires_grad_(True)
            tau = torch.full((8,), 0.2)
            tau[0] = tau_a
            w = torch.zeros(8)
            w[0] = 1.0
            scale = tau / 0.2 if compensate else None
            nt_xent_loss(zz, tau, w, scale).backward()
            norms[compensate, tau_a] = float(zz.grad.norm())
    raw = norms[False, 0.05] / norms[False, 0.5]
    compensated = norms[True, 0.05] / norms[True, 0.5]
    assert raw > 3 and compensated < raw / 5


def test_gradient_matches_reference_and_finite_differences(z):
    g = torch.Generator().manual_seed(2)
    tau = 0.1 + torch.rand(16, generator=g, dtype=torch.float64) * 0.4
    w = 0.5 + torch.rand(16, generator=g, dtype=torch.float64)
    z1 = z.float().clone().requires_grad_(True)
    nt_xent_loss(z1, tau.float(), w.float()).backward()
    z2 = z.clone().requires_grad_(True)
    reference_loss(z2, tau, w).backward()
    assert torch.allclose(z1.grad.double(), z2.grad, atol=1e-5)
    # central finite differences on a few coordinates, in float64 through the reference
    eps = 1e-6
    for i, j in [(0, 0), (3, 5), (15, 7)]:
        zp, zm = z.clone(), z.clone()
        zp[i, j] += eps
        zm[i, j] -= eps
        fd = (reference_loss(zp, tau, w) - reference_loss(zm, tau, w)) / (2 * eps)
        assert abs(float(fd) - float(z1.grad[i, j])) < 1e-4


def test_weights_are_scale_invariant_and_zero_weight_removes_an_anchor(z):
    w = torch.rand(16, generator=torch.Generator().manual_seed(3)) + 0.1
    base = nt_xent_loss(z.float(), 0.2, w)
    assert torch.allclose(base, nt_xent_loss(z.float(), 0.2, 7.0 * w), atol=1e-6)
    # with all weight on anchor 0 the loss is l_0 alone
    only0 = torch.zeros(16)
    only0[0] = 1.0
    per_anchor_0 = reference_loss(z, torch.full((16,), 0.2, dtype=torch.float64), only0.double())
    assert torch.allclose(nt_xent_loss(z.float(), 0.2, only0).double(), per_anchor_0, atol=1e-5)


def test_upweighting_an_anchor_moves_the_loss_towards_its_term(z):
    tau = torch.full((16,), 0.2, dtype=torch.float64)
    terms = torch.stack(
        [reference_loss(z, tau, torch.eye(16, dtype=torch.float64)[a]) for a in range(16)]
    )
    hardest = int(terms.argmax())
    w = torch.ones(16)
    w[hardest] = 10.0
    assert nt_xent_loss(z.float(), 0.2, w) > nt_xent_loss(z.float(), 0.2)


def test_an_anchor_temperature_changes_only_its_own_term(z):
    tau = torch.full((16,), 0.3)
    tau2 = tau.clone()
    tau2[4] = 0.05
    w = torch.zeros(16)
    w[5] = 1.0  # look at anchor 5 only: it must not depend on anchor 4's temperature
    assert torch.allclose(nt_xent_loss(z.float(), tau, w), nt_xent_loss(z.float(), tau2, w))
    w = torch.zeros(16)
    w[4] = 1.0
    assert not torch.allclose(nt_xent_loss(z.float(), tau, w), nt_xent_loss(z.float(), tau2, w))


def test_smaller_temperature_sharpens_the_per_sample_discrimination():
    # positives closer than negatives: lowering tau lowers the loss (sharper softmax)
    g = torch.Generator().manual_seed(4)
    base = torch.randn(8, 16, generator=g)
    z = torch.cat([base, base + 0.05 * torch.randn(8, 16, generator=g)])
    assert nt_xent_loss(z, 0.05) < nt_xent_loss(z, 0.5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_stable_at_tau_005_under_autocast(dtype):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(64, 32, generator=g)
    layer = torch.nn.Linear(32, 32)
    want = nt_xent_loss(layer(x), 0.05)
    with torch.autocast("cpu", dtype=dtype):
        z = layer(x)
        assert z.dtype == dtype
        got = nt_xent_loss(z, 0.05)
    assert got.dtype == torch.float32 and torch.isfinite(got)
    assert abs(got.item() - want.item()) < 0.05 * want.item()
    got.backward()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[2B, D\]"):
        nt_xent_loss(torch.randn(5, 3), 0.2)
    with pytest.raises(ValueError, match="tau must be"):
        nt_xent_loss(torch.randn(6, 3), torch.ones(5))

"""Spherical k-means backends: output contract, recovery, determinism, chunking, empty clusters
and the shape of the package (one Lloyd loop, backends that only assign, no import cycle)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import adjusted_rand_score

from solo_tase.tail.kmeans.backend import faiss_available, make_backend
from solo_tase.tail.kmeans.torch_kmeans import TorchKMeans

BACKENDS = [
    "torch",
    pytest.param(
        "faiss",
        marks=pytest.mark.skipif(
            not faiss_available(), reason="faiss is not installed (pip install faiss-cpu)"
        ),
    ),
]


def blobs(n_per: list[int], dim: int = 16, spread: float = 0.05, seed: int = 0):
    """Well-separated clusters on the sphere with the given sizes: (x [N, D], labels [N])."""
    g = torch.Generator().manual_seed(seed)
    centres = F.normalize(torch.randn(len(n_per), dim, generator=g), dim=1) * 4
    labels = torch.cat([torch.full((n,), i) for i, n in enumerate(n_per)])
    x = centres[labels] + spread * torch.randn(len(labels), dim, generator=g)
    return x, labels


@pytest.mark.parametrize("backend", BACKENDS)
def test_recovers_well_separated_long_tailed_clusters(backend):
    x, labels = blobs([200, 80, 30, 12, 5])
    r = make_backend(backend).fit(x, 5, n_iter=30, seed=0)
    assert adjusted_rand_score(labels.numpy(), r.assignments.numpy()) == pytest.approx(1.0)
    assert sorted(r.sizes.tolist()) == [5, 12, 30, 80, 200]


@pytest.mark.parametrize("backend", BACKENDS)
def test_output_contract(backend):
    x, _ = blobs([50, 40, 30], dim=8, spread=0.5)
    r = make_backend(backend).fit(x * 3.0, 3, n_iter=10, seed=1)  # unnormalised input
    n = x.size(0)
    assert r.assignments.shape == (n,) and r.assignments.dtype == torch.long
    assert r.centroids.shape == (3, 8)
    assert torch.allclose(r.centroids.norm(dim=1), torch.ones(3), atol=1e-5)
    assert int(r.sizes.sum()) == n
    assert torch.equal(r.sizes, torch.bincount(r.assignments, minlength=3))
    xn = F.normalize(x, dim=1)
    own = (xn * r.centroids[r.assignments]).sum(1)
    assert torch.allclose(r.similarity, own, atol=1e-5)
    # every sample sits with its most similar centroid
    assert torch.equal(r.assignments, (xn @ r.centroids.T).argmax(1))
    assert r.inertia == pytest.approx(float((2 - 2 * own).sum()), rel=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_deterministic_per_seed(backend):
    x, _ = blobs([60, 60, 60, 60], spread=1.0, seed=3)
    a = make_backend(backend).fit(x, 4, n_iter=5, seed=7)
    b = make_backend(backend).fit(x, 4, n_iter=5, seed=7)
    assert torch.equal(a.assignments, b.assignments)
    assert torch.equal(a.centroids, b.centroids)


def test_different_seeds_start_from_different_centroids():
    x, _ = blobs([100] * 8, spread=2.0, seed=4)
    a = TorchKMeans().fit(x, 8, n_iter=1, seed=0)
    b = TorchKMeans().fit(x, 8, n_iter=1, seed=1)
    assert not torch.equal(a.centroids, b.centroids)


def test_chunked_equals_unchunked_and_fp16_storage_accumulates_in_fp32():
    x, _ = blobs([300, 100, 40], dim=32, spread=0.3, seed=5)
    full = TorchKMeans(chunk_rows=10_000).fit(x, 3, n_iter=10, seed=0)
    chunked = TorchKMeans(chunk_rows=7).fit(x, 3, n_iter=10, seed=0)
    assert torch.equal(full.assignments, chunked.assignments)
    assert torch.allclose(full.centroids, chunked.centroids, atol=1e-5)
    half = TorchKMeans(chunk_rows=7).fit(x.half(), 3, n_iter=10, seed=0)
    assert half.similarity.dtype == torch.float32 and half.centroids.dtype == torch.float32
    assert adjusted_rand_score(full.assignments.numpy(), half.assignments.numpy()) > 0.99


def test_default_chunk_keeps_the_similarity_block_within_budget():
    km = TorchKMeans(chunk_mb=1)
    x, _ = blobs([100] * 4, dim=8)
    # 1 MiB / (4 bytes * K) rows per chunk: the result must not depend on it
    assert torch.equal(
        km.fit(x, 4, n_iter=5, seed=0).assignments,
        TorchKMeans().fit(x, 4, n_iter=5, seed=0).assignments,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_clusters_are_reseeded_with_the_farthest_samples(monkeypatch, backend):
    import solo_tase.tail.kmeans.lloyd as lloyd

    g = torch.Generator().manual_seed(6)
    e = torch.eye(8)
    a_blob = F.normalize(e[0] + 0.01 * torch.randn(100, 8, generator=g), dim=1)
    b_blob = F.normalize(e[1] + 0.01 * torch.randn(100, 8, generator=g), dim=1)
    outlier = F.normalize(0.1 * e[0] + e[2], dim=0)  # far from every initial centroid
    x = torch.cat([a_blob, b_blob, outlier[None]])
    init = torch.stack([e[0], e[1], -e[0]])  # the third centroid attracts no sample
    monkeypatch.setattr(lloyd, "kmeans_pp", lambda *a, **k: init.clone())
    r = make_backend(backend).fit(x, 3, n_iter=10, seed=0)
    assert r.reseeded >= 1 and r.empty_clusters == 0
    assert r.sizes.tolist().count(1) == 1 and int(r.assignments[-1]) not in r.assignments[:-1]


def test_duplicate_points_leave_reported_empty_clusters():
    base = F.normalize(torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]), dim=1)
    x = base.repeat(20, 1)  # 3 distinct points, K=4: one cluster must stay empty
    r = TorchKMeans().fit(x, 4, n_iter=5, seed=0)
    assert r.reseeded > 0 and r.empty_clusters == 1
    assert len(set(r.assignments.tolist())) == 3


def test_bad_inputs_are_refused():
    km = TorchKMeans()
    with pytest.raises(ValueError, match="2 <= K <= N"):
        km.fit(torch.randn(5, 3), 6)
    with pytest.raises(ValueError, match="2 <= K <= N"):
        km.fit(torch.randn(5, 3), 1)
    bad = torch.randn(10, 3)
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        km.fit(bad, 2)
    with pytest.raises(ValueError, match="backend must be one of"):
        make_backend("sklearn")


def test_missing_faiss_is_a_clear_error(monkeypatch):
    import solo_tase.tail.kmeans.backend as km

    monkeypatch.setattr(km, "faiss_available", lambda: False)
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        km.make_backend("faiss")
    assert km.make_backend("auto").name == "torch"


def test_backends_share_one_loop_and_do_not_import_the_backend_registry():
    import ast
    import inspect

    import solo_tase.tail.kmeans.faiss_kmeans as fk
    import solo_tase.tail.kmeans.torch_kmeans as tk
    from solo_tase.tail.kmeans.lloyd import SphericalKMeans

    for module in (tk, fk):
        imported = {
            node.module
            for node in ast.walk(ast.parse(inspect.getsource(module)))
            if isinstance(node, ast.ImportFrom)
        }
        assert "solo_tase.tail.kmeans.backend" not in imported, module.__name__
    assert issubclass(TorchKMeans, SphericalKMeans) and "fit" not in vars(TorchKMeans)
    assert "fit" not in vars(fk.FaissKMeans)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_on_seeded_results(backend):
    x, _ = blobs([120, 60, 30, 15], dim=12, spread=0.6, seed=8)
    ours = make_backend(backend).fit(x, 4, n_iter=20, seed=3)
    ref = TorchKMeans(chunk_rows=11).fit(x, 4, n_iter=20, seed=3)
    assert torch.equal(ours.assignments, ref.assignments)
    assert torch.allclose(ours.centroids, ref.centroids, atol=1e-5)


def test_cluster_sums_match_index_add_with_empty_clusters_and_fp16_rows():
    from solo_tase.tail.kmeans.lloyd import cluster_sums

    g = torch.Generator().manual_seed(9)
    rows = torch.randn(50, 6, generator=g).half()
    assign = torch.randint(0, 4, (50,), generator=g) * 2  # clusters 1, 3, 5, 7 stay empty
    want = torch.zeros(8, 6).index_add_(0, assign, rows.float())
    got = cluster_sums(rows, assign, 8)
    assert got.dtype == torch.float32 and got.layout == torch.strided
    assert torch.allclose(got, want, atol=1e-5) and not got[1::2].any()

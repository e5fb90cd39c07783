"""Bad TASE configuration fails with a message naming the key and the allowed values; the keys
of solo-learn's own SimCLR are checked too."""

from __future__ import annotations

import pytest
import yaml

from solo_tase.methods.config import ConfigError, SoloSimclrConfig, TaseConfig
from tests.helpers.paths import PRETRAIN_CONFIGS


def test_defaults_and_resolution():
    cfg = TaseConfig.from_kwargs({}, num_classes=10, max_epochs=100)
    assert (cfg.tau_0, cfg.tau_min, cfg.tau_max, cfg.beta) == (0.2, 0.1, 0.5, 0.0)
    assert (cfg.tail_signal, cfg.ref_imbalance, cfg.proj_batch_norm) == (
        "knn_density",
        100.0,
        False,
    )
    assert cfg.num_clusters == 10 and cfg.tau_schedule_period == 100.0
    assert (cfg.warmup_epochs, cfg.recluster_every, cfg.weighting, cfg.gamma) == (
        10,
        5,
        "power",
        0.5,
    )
    assert (cfg.w_min, cfg.w_max, cfg.tau_schedule) == (0.1, 10.0, "none")
    assert TaseConfig.from_kwargs({}).num_clusters == 100  # unknown number of classes


@pytest.mark.parametrize(
    "kwargs, key, allowed",
    [
        ({"tau_min": 0.0}, "method_kwargs.tau_min", "> 0"),
        ({"tau_min": -0.1}, "method_kwargs.tau_min", "> 0"),
        ({"tau_min": 0.6, "tau_max": 0.5}, "method_kwargs.tau_max", ">= method_kwargs.tau_min"),
        ({"num_clusters": 1}, "method_kwargs.num_clusters", ">= 2"),
        ({"gamma": -0.5}, "method_kwargs.gamma", ">= 0"),
        ({"beta": 1.5}, "method_kwargs.beta", "in [0, 1]"),
        ({"weighting": "inverse"}, "method_kwargs.weighting", "'power', 'effective', 'none'"),
        ({"tau_schedule": "linear"}, "method_kwargs.tau_schedule", "'none', 'cosine'"),
        ({"kmeans_backend": "sklearn"}, "method_kwargs.kmeans_backend", "'auto', 'torch', 'faiss'"),
        ({"warmup_epochs": 0}, "method_kwargs.warmup_epochs", ">= 1"),
        ({"recluster_every": 0}, "method_kwargs.recluster_every", ">= 1"),
        ({"w_min": 2.0, "w_max": 1.0}, "method_kwargs.w_max", ">= method_kwargs.w_min"),
        ({"effective_beta": 1.0}, "method_kwargs.effective_beta", "in (0, 1)"),
        ({"bank_dtype": "int8"}, "method_kwargs.bank_dtype", "'float32', 'float16'"),
        ({"tau_0": "hot"}, "method_kwargs.tau_0", "type float"),
        ({"warmup_epochs": 2.5}, "method_kwargs.warmup_epochs", "type int"),
        ({"adaptive_temperature": "yes"}, "method_kwargs.adaptive_temperature", "true or false"),
        (
            {"tau_0": 0.05},
            "method_kwargs.tau_0",
            "in [method_kwargs.tau_min, method_kwargs.tau_max]",
        ),
        ({"tau_0": 0.9}, "method_kwargs.tau_0", "= [0.1, 0.5]"),
        ({"tail_signal": "density"}, "method_kwargs.tail_signal", "'kmeans', 'overcluster'"),
        ({"overcluster_factor": 0}, "method_kwargs.overcluster_factor", ">= 1"),
        ({"overcluster_sizes": "coarse"}, "method_kwargs.overcluster_sizes", "'fine', 'merged'"),
        ({"knn_k": 0}, "method_kwargs.knn_k", ">= 1"),
        ({"memorisation_beta": 1.0}, "method_kwargs.memorisation_beta", "in [0, 1)"),
        ({"bank_feature": "clear"}, "method_kwargs.bank_feature", "'crop1', 'mean'"),
        ({"ref_imbalance": 1.0}, "method_kwargs.ref_imbalance", "> 1"),
    ],
)
def test_bad_values_name_the_key_and_allowed_values(kwargs, key, allowed):
    with pytest.raises(ConfigError) as err:
        TaseConfig.from_kwargs(kwargs, num_classes=10)
    assert key in str(err.value) and allowed in str(err.value)


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match=r"method_kwargs\.temprature"):
        TaseConfig.from_kwargs({"temprature": 0.2})


def test_a_misspelled_key_is_told_the_key_it_is_close_to():
    with pytest.raises(
        ConfigError, match=r"^unknown keys \['method_kwargs.tau_mn'\] \(did you mean "
    ):
        TaseConfig.from_kwargs({"tau_mn": 0.1})
    with pytest.raises(
        ConfigError, match=r"\['method_kwargs.gh.enabeld'\] \(did you mean 'enabled'"
    ):
        TaseConfig.from_kwargs({"gh": {"enabeld": True}})


SOLO_SIMCLR = {"proj_hidden_dim": 512, "proj_output_dim": 128, "temperature": 0.2}


@pytest.mark.parametrize("folder", sorted(p.name for p in PRETRAIN_CONFIGS.iterdir() if p.is_dir()))
def test_the_shipped_solo_learn_simclr_configs_are_accepted(folder: str):
    config = yaml.safe_load((PRETRAIN_CONFIGS / folder / "simclr.yaml").read_text())
    assert config["method"] == "simclr"
    settings = SoloSimclrConfig.from_kwargs(config["method_kwargs"])
    assert settings.temperature == config["method_kwargs"]["temperature"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {**SOLO_SIMCLR, "temprature": 0.3},
            "unknown keys ['method_kwargs.temprature'] (did you mean 'temperature'?); known keys: "
            "['proj_hidden_dim', 'proj_output_dim', 'temperature']",
        ),
        (
            {"proj_hidden_dim": 512, "proj_output_dim": 128},
            "missing keys ['method_kwargs.temperature']",
        ),
        ({**SOLO_SIMCLR, "temperature": 0}, "method_kwargs.temperature must be > 0 (got 0)"),
        ({**SOLO_SIMCLR, "proj_output_dim": 0}, "method_kwargs.proj_output_dim must be an integer"),
    ],
)
def test_solo_learn_simclr_refuses_unknown_missing_and_bad_keys(kwargs, message):
    with pytest.raises(ConfigError) as err:
        SoloSimclrConfig.from_kwargs(kwargs)
    assert str(err.value).startswith(message)


def test_recluster_epochs():
    cfg = TaseConfig.from_kwargs({"warmup_epochs": 10, "recluster_every": 5}, num_classes=10)
    assert [e for e in range(30) if cfg.is_recluster_epoch(e)] == [10, 15, 20, 25]


def test_overclustering_multiplies_the_clusters_of_the_fit():
    cfg = TaseConfig.from_kwargs(
        {"tail_signal": "overcluster", "overcluster_factor": 4}, num_classes=10
    )
    assert cfg.fit_clusters == 40
    assert TaseConfig.from_kwargs({"tail_signal": "knn_density"}, num_classes=10).fit_clusters == 0

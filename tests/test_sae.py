"""codec.sae: recovery of a planted sparse non-negative dictionary, R² against scikit-learn,
the threshold's gradient, caching per (store, layer, hyperparameters), and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.data import shapes
from codec.models import load_model
from codec.sae import (
    SAESettings,
    ThresholdSAE,
    TopKSAE,
    alive_modes,
    build_sae,
    dictionary_l1,
    evaluate,
    feature_matrix,
    fit_sae,
    l0,
    mode_sparsity,
    n_modes_for,
    r2_score,
    train_sae,
)
from codec.sae import cache as sae_cache
from codec.store import compute_contributions

# Faster than the paper's lr (5e-5) so that the planted problems converge in seconds.
FAST = dict(lr=3e-3, epochs=150, patience=30, progress=False)


def planted(n=2000, features=32, atoms=8, density=0.15, noise=0.01, seed=0):
    """x = codes @ dictionary + noise, with binary sparse codes and a sparse non-negative dictionary."""
    rng = np.random.default_rng(seed)
    dictionary = rng.random((atoms, features)) * (rng.random((atoms, features)) < 0.3)
    dictionary[np.arange(atoms), rng.integers(0, features, atoms)] += 0.5  # no empty atom
    dictionary /= np.linalg.norm(dictionary, axis=1, keepdims=True)
    codes = (rng.random((n, atoms)) < density).astype(np.float64)
    x = codes @ dictionary + noise * rng.standard_normal((n, features))
    return x.astype(np.float32), dictionary


def best_cosines(truth, learned):
    learned = learned / np.maximum(np.linalg.norm(learned, axis=1, keepdims=True), 1e-12)
    return (truth @ learned.T).max(axis=1)


@pytest.mark.parametrize("make", [lambda f, m: ThresholdSAE(f, m), lambda f, m: TopKSAE(f, m, k=3)],
                         ids=["threshold", "topk"])
def test_sae_recovers_a_planted_sparse_nonnegative_dictionary(make):
    x, truth = planted()
    sae, history = train_sae(make(x.shape[1], 3 * truth.shape[0]), x, l1_dictionary=0.0, **FAST)
    cosines = best_cosines(truth, sae.dictionary.detach().numpy())
    metrics = evaluate(sae, x)
    assert cosines.mean() >= 0.9, cosines
    assert metrics["r2"] >= 0.95 and metrics["r2_per_feature"] >= 0.95, metrics
    assert history["r2"][-1] > history["r2"][0]


def test_r2_matches_scikit_learn_and_the_global_definition():
    from sklearn.metrics import r2_score as sk_r2

    rng = np.random.default_rng(1)
    x = rng.random((50, 6)) * np.arange(1, 7)
    reconstruction = x + 0.3 * rng.standard_normal(x.shape)
    assert r2_score(x, reconstruction, "per_feature") == pytest.approx(
        sk_r2(x, reconstruction, multioutput="variance_weighted"), abs=1e-12)
    literal = 1 - ((x - reconstruction) ** 2).sum() / ((x - x.mean()) ** 2).sum()
    assert r2_score(x, reconstruction, "global") == pytest.approx(literal, abs=1e-12)
    assert r2_score(x, reconstruction, "global") > r2_score(x, reconstruction, "per_feature")
    assert r2_score(torch.from_numpy(x), torch.from_numpy(x)) == 1.0


def test_threshold_zeroes_codes_and_blocks_their_gradient():
    sae = ThresholdSAE(5, 7, threshold=0.6, seed=3)
    x = torch.rand(20, 5, requires_grad=True)
    pre_codes, codes, reconstruction = sae(x)
    passed = pre_codes > 0.6
    assert passed.any() and (~passed).any()
    assert torch.equal(codes[~passed], torch.zeros(int((~passed).sum())))
    assert torch.equal(codes[passed], pre_codes[passed])
    torch.testing.assert_close(reconstruction, codes @ sae.dictionary)
    logits = sae.encoder(x)
    logits.retain_grad()
    codes = torch.sigmoid(logits) * (torch.sigmoid(logits) > 0.6)
    codes.sum().backward()
    assert torch.all(logits.grad[~passed] == 0) and torch.all(logits.grad[passed] != 0)


def test_nonnegative_dictionary_stays_nonnegative_and_topk_keeps_k_codes():
    x, _ = planted(n=300)
    sae, _ = train_sae(ThresholdSAE(x.shape[1], 12), x, lr=1e-2, epochs=5, progress=False)
    assert (sae.dictionary >= 0).all()
    topk = TopKSAE(x.shape[1], 12, k=2)
    _, codes, _ = topk(torch.from_numpy(x))
    assert ((codes != 0).sum(1) <= 2).all()


def test_training_is_deterministic_and_history_is_complete():
    x, _ = planted(n=400)
    first = train_sae(ThresholdSAE(x.shape[1], 10, seed=1), x, seed=4, epochs=6, progress=False)
    second = train_sae(ThresholdSAE(x.shape[1], 10, seed=1), x, seed=4, epochs=6, progress=False)
    assert first[1] == second[1]
    assert set(first[1]) >= {"loss", "r2", "dead_modes", "lr", "epochs", "stopped_early"}
    assert first[1]["epochs"] == len(first[1]["loss"]) == 6


def test_early_stop_on_plateau():
    x = np.ones((64, 4), dtype=np.float32)  # nothing to learn once fitted: the loss plateaus
    _, history = train_sae(ThresholdSAE(4, 4), x, lr=1e-2, epochs=2000, patience=5, progress=False)
    assert history["stopped_early"] and history["epochs"] < 2000


def test_metrics_on_hand_made_codes():
    codes = np.array([[0, 1.0, 0], [0, 0.9, 0.95], [0, 0, 0]])
    assert alive_modes(codes).tolist() == [False, True, True]
    assert l0(codes) == pytest.approx(1.0)
    dictionary = np.array([[1.0, 0, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_allclose(mode_sparsity(dictionary), [1.0, 0.0], atol=1e-12)
    assert n_modes_for(64) == 192 and n_modes_for(10, expansion=0.5) == 5


@pytest.mark.parametrize("bad, message", [
    (dict(n_modes=0), "n_modes"), (dict(threshold=0.0), "threshold"), (dict(threshold=1.0), "threshold"),
    (dict(threshold=1.5), "threshold"), (dict(hidden=0), "hidden"),
])
def test_bad_sae_arguments_are_refused(bad, message):
    arguments = dict(n_features=4, n_modes=3) | bad
    with pytest.raises(ValueError, match=message):
        ThresholdSAE(**arguments)


def test_bad_training_data_is_refused():
    sae = ThresholdSAE(4, 3)
    with pytest.raises(ValueError, match="non-finite"):
        train_sae(sae, np.array([[1.0, np.nan, 0, 0], [0, 0, 0, 1]], dtype=np.float32), progress=False)
    with pytest.raises(ValueError, match="n_features=4"):
        train_sae(sae, np.zeros((5, 3), dtype=np.float32), progress=False)
    with pytest.raises(ValueError, match="matrix"):
        train_sae(sae, np.zeros(5, dtype=np.float32), progress=False)
    with pytest.raises(ValueError, match="k"):
        TopKSAE(4, 3, k=4)
    with pytest.raises(ValueError, match="expansion"):
        n_modes_for(4, expansion=0)


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    entry = load_model("shapes_resnet")
    return compute_contributions(entry, shapes("test", 64, seed=0), tmp_path_factory.mktemp("s") / "store",
                                 steps=3, batch_size=32, progress=False)


def test_feature_matrix_splits_signs(small_store):
    layer = small_store.layers[-1]
    features = feature_matrix(small_store, layer, inputs="both")
    parts = small_store.contributions(layer)
    channels = small_store.channels[layer]
    assert features.shape == (64, 2 * channels) and (features >= 0).all()
    np.testing.assert_array_equal(features[:, :channels] - features[:, channels:], parts.sum(1))
    assert feature_matrix(small_store, layer, "activations").shape == (64, channels)


def test_fit_sae_trains_once_then_loads_from_the_cache(small_store, monkeypatch):
    layer = small_store.layers[-1]
    settings = SAESettings(epochs=3, lr=1e-3)
    first, history = fit_sae(small_store, layer, settings=settings)
    assert first.config["n_modes"] == 3 * small_store.channels[layer]

    def no_training(*args, **kwargs):
        raise AssertionError("the cached SAE was retrained")

    def no_reading(*args, **kwargs):
        raise AssertionError("the cached SAE's data were read")

    monkeypatch.setattr(sae_cache, "train_sae", no_training)
    with monkeypatch.context() as patch:
        patch.setattr(sae_cache, "feature_matrix", no_reading)
        second, loaded = fit_sae(small_store, layer, settings=settings)
    assert loaded == history
    for key, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key
    with pytest.raises(AssertionError, match="retrained"):
        fit_sae(small_store, layer, settings=settings, seed=1)  # other hyperparameters: not cached


def test_store_layer_that_does_not_exist_is_refused(small_store):
    with pytest.raises(ValueError, match="layer: 'layer9' is not in the store"):
        feature_matrix(small_store, "layer9")
    with pytest.raises(ValueError, match="layer: 'layer9'"):
        fit_sae(small_store, "layer9")
    with pytest.raises(ValueError, match="kind"):
        feature_matrix(small_store, small_store.layers[0], "gradients")
    with pytest.raises(ValueError, match="kind: must be one of"):
        fit_sae(small_store, small_store.layers[0], "gradients")


def test_data_start_reconstructs_at_the_data_scale_where_a_blind_start_overshoots():
    rng = np.random.default_rng(5)
    x = (5.0 + rng.random((256, 24)) * (rng.random((256, 24)) < 0.5)).astype(np.float32)  # large shared mean
    blind = evaluate(train_sae(ThresholdSAE(24, 72), x, lr=1e-3, epochs=40, initialize=False, progress=False)[0], x)
    started = evaluate(train_sae(ThresholdSAE(24, 72), x, lr=1e-3, epochs=40, progress=False)[0], x)
    assert blind["r2"] < -1.0, blind  # the sum of the modes passing at the start overshoots
    assert started["alive_modes"] > 10 and started["r2"] > -0.05, (blind, started)


# --------------------------------------------------------------------------- encode / decode and loss terms


@pytest.mark.parametrize("make", [lambda: ThresholdSAE(6, 9, seed=3), lambda: TopKSAE(6, 9, k=2, seed=3)])
def test_encode_and_decode_compose_to_the_forward_pass_and_decode_one_mode_to_its_row(make):
    sae = make()
    with torch.no_grad():
        sae.input_scale.fill_(2.5)
        x = torch.rand(5, 6)
        _, codes, reconstruction = sae(x)
        torch.testing.assert_close(sae.encode(x), codes)
        torch.testing.assert_close(sae.decode(codes), reconstruction)
        one = torch.zeros(1, 9)
        one[0, 4] = 1.0
        bias = sae.decoder_bias * sae.input_scale if isinstance(sae, TopKSAE) else 0.0
        torch.testing.assert_close(sae.decode(one)[0], sae.dictionary[4] + bias)
    with pytest.raises(ValueError, match=r"codes: expected shape \(B, 9\)"):
        sae.decode(torch.zeros(2, 8))


def test_loss_terms_equal_their_definitions():
    from codec.sae import codes_l1, dictionary_l1, reconstruction_mse

    sae = ThresholdSAE(3, 4, seed=0)
    batch, reconstruction = torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[1.0, 0.0, 4.0]])
    codes = torch.tensor([[0.0, -0.5, 0.95, 0.0]])
    assert float(reconstruction_mse(sae, batch, codes, reconstruction)) == pytest.approx((0 + 4 + 1) / 3)
    assert float(codes_l1(sae, batch, codes, reconstruction)) == pytest.approx(1.45)
    expected = sum(abs(float(v)) for v in sae.scaled_dictionary.detach().flatten())
    assert float(dictionary_l1(sae, batch, codes, reconstruction).detach()) == pytest.approx(expected, rel=1e-6)


def test_each_sae_kind_has_its_own_settings_and_fit_sae_builds_from_them(small_store):
    from codec.sae import ThresholdSAESettings, TopKSAESettings

    layer = small_store.layers[-1]
    assert SAESettings is ThresholdSAESettings
    assert not hasattr(ThresholdSAESettings(), "k") and not hasattr(TopKSAESettings(), "threshold")
    topk, _ = fit_sae(small_store, layer, settings=TopKSAESettings(epochs=2, lr=1e-3, k=3), cache=False)
    assert isinstance(topk, TopKSAE) and topk.config["k"] == 3
    threshold, _ = fit_sae(small_store, layer, settings=ThresholdSAESettings(epochs=2, lr=1e-3), threshold=0.8, cache=False)
    assert isinstance(threshold, ThresholdSAE) and threshold.config["threshold"] == 0.8
    with pytest.raises(ValueError, match="k: not a field of ThresholdSAESettings"):
        fit_sae(small_store, layer, settings=ThresholdSAESettings(epochs=2), k=4, cache=False)
    with pytest.raises(TypeError, match="settings: expected ThresholdSAESettings, STSAESettings or TopKSAESettings"):
        fit_sae(small_store, layer, settings={"epochs": 2})


def test_cached_saes_of_different_kinds_never_share_a_file(small_store, tmp_path):
    from codec.sae import ThresholdSAESettings, TopKSAESettings

    layer = small_store.layers[-1]
    fit_sae(small_store, layer, settings=ThresholdSAESettings(epochs=1, lr=1e-3))
    fit_sae(small_store, layer, settings=TopKSAESettings(epochs=1, lr=1e-3))
    files = sorted((small_store.path / "sae").glob(f"{layer}-contributions-*.pt"))
    assert len({f.name for f in files}) == len(files) >= 2


# ----------------------------------------------------------------------------- the released SAE (issue 14)


def test_stsae_is_the_released_architecture_and_thresholds_its_sigmoid():
    from codec.sae import STSAE

    sae = STSAE(6, 9, hidden=16, threshold=0.8, dropout=0.05, seed=2)
    kinds = [type(layer).__name__ for layer in sae.encoder]
    assert kinds == ["Linear", "Dropout", "ReLU", "LayerNorm", "Linear", "Dropout", "ReLU", "LayerNorm", "Linear"]
    assert sae.encoder[-1].bias is None and (sae.scaled_dictionary < 0).any()  # signed, Xavier
    bound = (6.0 / (9 + 6)) ** 0.5
    assert sae.scaled_dictionary.abs().max() <= bound
    x = torch.randn(32, 6)
    sae.eval()
    pre, codes, reconstruction = sae(x)
    literal_pre = torch.sigmoid(sae.encoder(x))
    torch.testing.assert_close(pre, literal_pre)
    torch.testing.assert_close(codes, torch.where(literal_pre >= 0.8, literal_pre, torch.zeros_like(literal_pre)))
    torch.testing.assert_close(reconstruction, codes @ sae.dictionary)
    again = STSAE(6, 9, hidden=16, threshold=0.8, dropout=0.05, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(sae.state_dict().values(), again.state_dict().values()))
    rebuilt = build_sae(sae.config)
    assert isinstance(rebuilt, STSAE) and rebuilt.config == sae.config


def test_dictionary_l1_mean_is_the_sum_over_the_number_of_entries():
    from codec.sae import dictionary_l1_mean

    sae = ThresholdSAE(5, 7, nonnegative=False)
    total = dictionary_l1(sae, None, None, None)
    assert float(dictionary_l1_mean(sae, None, None, None).detach()) == pytest.approx(float(total.detach()) / 35)
    with pytest.raises(ValueError, match="l1_dictionary_reduction: must be one of"):
        train_sae(sae, torch.rand(8, 5), epochs=1, l1_dictionary_reduction="max", progress=False)


def test_training_with_dropout_is_reproducible_and_leaves_the_global_generator_alone():
    from codec.sae import STSAE

    data = torch.rand(64, 6)
    saes = [STSAE(6, 9, hidden=8, seed=0) for _ in range(2)]  # building draws torch's defaults: before the check
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    runs = []
    for sae in saes:
        sae, history = train_sae(sae, data, epochs=3, lr=1e-3, seed=4, progress=False,
                                 l1_dictionary_reduction="mean", plateau_patience=10)
        runs.append((sae.state_dict(), history["loss"]))
    assert torch.equal(torch.rand(3), before)  # training drew from a forked generator
    assert runs[0][1] == runs[1][1]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0].values(), runs[1][0].values()))
    other, _ = train_sae(STSAE(6, 9, hidden=8, seed=0), data, epochs=3, lr=1e-3, seed=5, progress=False)
    assert not torch.equal(other.scaled_dictionary, saes[0].scaled_dictionary)  # the seed matters


def test_positive_inputs_and_the_released_settings(small_store):
    from codec.sae import STSAE, STSAESettings

    layer = small_store.layers[-1]
    channels = small_store.channels[layer]
    positive = feature_matrix(small_store, layer, inputs="positive")
    np.testing.assert_array_equal(positive, small_store.contributions(layer)[:, 0])
    np.testing.assert_array_equal(feature_matrix(small_store, layer), positive)  # the default, the paper's
    defaults = SAESettings()
    assert (defaults.inputs, defaults.l1_dictionary_reduction, defaults.threshold, defaults.nonnegative) == ("positive", "mean", 0.9, True)
    with pytest.raises(ValueError, match="inputs: must be one of"):
        feature_matrix(small_store, layer, inputs="negative")
    settings = STSAESettings(epochs=2, hidden=8)
    assert (settings.threshold, settings.l1_dictionary_reduction, settings.inputs, settings.patience) == (0.8, "mean", "positive", 0)
    sae, history = fit_sae(small_store, layer, settings=settings, cache=False)
    assert isinstance(sae, STSAE) and sae.config["n_features"] == channels and sae.config["n_modes"] == 3 * channels
    assert history["epochs"] == 2 and not history["stopped_early"]


def test_an_activation_sae_reads_the_part_its_settings_name(tmp_path):
    """Signed sums, positive parts (the authors' CNN SAEs) or both, from a store of the tiny ViT,
    whose activations take both signs; each choice is its own cached SAE."""
    from codec.sae import SAESettings, feature_matrix, fit_sae

    store = compute_contributions(load_model("shapes_vit"), shapes("test", 16), tmp_path / "vit", steps=1, batch_size=8,
                                  progress=False)
    layer = store.layers[-1]
    signed = feature_matrix(store, layer, "activations")
    positive = feature_matrix(store, layer, "activations", activation_part="positive")
    both = feature_matrix(store, layer, "activations", activation_part="both")
    np.testing.assert_array_equal(signed, store.activations(layer))
    np.testing.assert_array_equal(positive, store.activations(layer, "positive"))
    assert (positive >= 0).all() and (signed < 0).any()
    np.testing.assert_array_equal(both, np.concatenate([positive, -store.activations(layer, "negative")], axis=1))
    # contributions ignore it
    np.testing.assert_array_equal(feature_matrix(store, layer, activation_part="positive"), feature_matrix(store, layer))
    settings = SAESettings(epochs=2, batch_size=8, patience=0)
    sae_signed, _ = fit_sae(store, layer, "activations", settings)
    sae_positive, _ = fit_sae(store, layer, "activations", settings, activation_part="positive")
    assert len(list((store.path / "sae").glob(f"{layer}-activations-*.pt"))) == 2
    assert not torch.equal(sae_signed.dictionary, sae_positive.dictionary)
    with pytest.raises(ValueError, match="activation_part: must be one of"):
        SAESettings(activation_part="relu")
    with pytest.raises(ValueError, match="activation_part: must be one of"):
        feature_matrix(store, layer, "activations", activation_part="negative")

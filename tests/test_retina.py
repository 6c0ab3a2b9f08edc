"""The retina section's library: stimuli, the simulated retina, the CNN and its checkpoint loader,
recordings, and the measurements of claim 12, against literal computations and planted truth."""

import numpy as np
import pytest
import torch

from codec import retina
from codec.models.retina import TDR_KEYS, RetinaCNN, load_tdr_checkpoint


@pytest.fixture(scope="module")
def small_movie():
    return retina.natural_movie(retina.generated_images(6, size=64, seed=0), 120, size=24, seed=1)


# ---------------------------------------------------------------------------- stimuli


def test_white_noise_is_binary_held_and_seeded():
    movie = retina.white_noise(10, size=7, checker=2, hold=2, seed=3)
    assert movie.shape == (10, 7, 7)
    assert set(movie.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(movie[0], movie[1]) and not torch.equal(movie[1], movie[2])
    assert torch.equal(movie[:, 0, 0], movie[:, 1, 1])  # one checker covers 2×2 pixels
    assert torch.equal(movie, retina.white_noise(10, size=7, checker=2, hold=2, seed=3))


def test_windows_are_the_movie_slices_oldest_first(small_movie):
    view = retina.windows(small_movie, 8, 5, 9)
    assert view.shape == (4, 8, 24, 24)
    for i, t in enumerate(range(5, 9)):
        assert torch.equal(view[i], small_movie[t:t + 8])
    dataset = retina.MovieWindows(small_movie, 8, indices=[0, 3])
    assert torch.equal(dataset[1].image, small_movie[3:11]) and dataset[1].label == 0
    assert dataset.identity() != retina.MovieWindows(small_movie * 2, 8, indices=[0, 3]).identity()


def test_natural_movie_is_standardised_and_mostly_smooth_in_time(small_movie):
    assert abs(float(small_movie.mean())) < 1e-5 and abs(float(small_movie.std()) - 1) < 1e-5
    step = (small_movie[1:] - small_movie[:-1]).abs().mean((1, 2))
    assert float(step.median()) < 0.5 * float(step.max())  # jitter is small, saccades are jumps


@pytest.mark.parametrize("call, name", [
    (lambda: retina.windows(torch.zeros(5, 4, 4), 6), "movie"),
    (lambda: retina.windows(torch.zeros(5, 4, 3), 2), "movie"),
    (lambda: retina.natural_movie(torch.zeros(2, 10, 10), 5, size=12), "size"),
    (lambda: retina.white_noise(0), "n_frames"),
    (lambda: retina.MovieWindows(torch.zeros(5, 4, 4), 2, indices=[9]), "indices"),
])
def test_bad_stimuli_are_named(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ---------------------------------------------------------------------------- simulated retina


def test_respond_equals_the_window_forward(small_retina, small_movie):
    rates = small_retina.respond(small_movie, batch_size=7)
    literal = torch.stack([small_retina(small_movie[t:t + 8][None])[0] for t in range(0, small_movie.shape[0] - 7)])
    torch.testing.assert_close(rates, literal)
    assert (rates >= 0).all() and rates.shape == (113, 8)


def test_true_irfs_have_the_planted_polarity_and_place(small_retina, small_movie):
    """An ON cell's IRF centre is positive and an OFF cell's negative, within its pool (the IRF
    depends on the stimulus: only the subunits that the window drives above rectification count)."""
    times = [40] * small_retina.n_cells
    irfs = retina.instantaneous_receptive_fields(small_retina, small_movie, 8, times, range(small_retina.n_cells))
    spatial, temporal, _ = retina.rank_one(irfs)
    for cell, type_index in enumerate(small_retina.cell_types):
        name = small_retina.type_names[type_index]
        if name == "ON-OFF":
            continue
        row, col = np.round(small_retina.positions[cell]).astype(int)
        peak = np.unravel_index(int(np.abs(spatial[cell].numpy()).argmax()), spatial[cell].shape)
        reach = 2 * small_retina.config.pool_sigma
        assert abs(peak[0] - row) <= reach and abs(peak[1] - col) <= reach, (name, peak, (row, col))
        centre = float(spatial[cell][peak])
        assert (centre > 0) == name.startswith("ON"), name


def test_poisson_spikes_have_the_rate_as_mean():
    rates = torch.full((20000, 2), 50.0)
    spikes = retina.poisson_spikes(rates, bin_ms=20.0, seed=0)
    assert abs(float(spikes.mean()) - 1.0) < 0.03
    with pytest.raises(ValueError, match="rates"):
        retina.poisson_spikes(torch.tensor([-1.0]), 10.0)


def test_bad_window_shape_is_named(small_retina):
    with pytest.raises(ValueError, match="windows"):
        small_retina(torch.zeros(1, 7, 24, 24))


# ---------------------------------------------------------------------------- the CNN and its checkpoints


def test_retina_cnn_has_the_papers_shapes():
    model = RetinaCNN(5).eval()
    captured = {}
    hooks = [getattr(model, name).register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o.shape))
             for name in ("relu1", "relu2")]
    out = model(torch.randn(2, 40, 50, 50))
    for hook in hooks:
        hook.remove()
    assert out.shape == (2, 5) and (out > 0).all()
    assert captured == {"relu1": (2, 8, 36, 36), "relu2": (2, 8, 26, 26)}
    with pytest.raises(ValueError, match="inputs"):
        model(torch.randn(2, 40, 49, 49))


def _tdr_checkpoint(model: RetinaCNN, path, **changes):
    """A checkpoint in torch-deep-retina's layout (``sequential.N.*`` keys) of a RetinaCNN's weights."""
    to_index = {name: index for index, name in TDR_KEYS.items()}
    state = {f"sequential.{to_index[key.split('.')[0]]}.{key.split('.')[1]}": value for key, value in model.state_dict().items()}
    h = model.hyperparameters
    data = {"model_type": "BNCNN", "model_hyps": {"n_units": h["n_cells"], "chans": h["channels"], "ksizes": h["kernels"],
                                                  "img_shape": [h["frames"], h["size"], h["size"]], "bias": True, "linear_bias": None},
            "model_state_dict": state, "norm_stats": {"mean": 0.5, "std": 2.0}}
    data.update(changes)
    torch.save(data, path)
    return path


def test_a_torch_deep_retina_checkpoint_loads_into_the_same_function(tmp_path):
    torch.manual_seed(0)
    model = RetinaCNN(3, frames=10, size=20, kernels=(5, 3)).eval()
    with torch.no_grad():
        for module in (model.bn1, model.bn2, model.bn3):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    entry = load_tdr_checkpoint(_tdr_checkpoint(model, tmp_path / "model.pt"))
    raw = torch.randn(4, 10, 20, 20)
    torch.testing.assert_close(entry.model(entry.transform(raw)), model((raw - 0.5) / 2.0))
    assert entry.layers == ["relu1", "relu2"]


def test_bad_checkpoints_are_clear_errors(tmp_path):
    model = RetinaCNN(3, frames=10, size=20, kernels=(5, 3))
    with pytest.raises(ValueError, match="only torch-deep-retina's 'BNCNN'"):
        load_tdr_checkpoint(_tdr_checkpoint(model, tmp_path / "a.pt", model_type="RNNCNN"))
    state = {k: v for k, v in torch.load(_tdr_checkpoint(model, tmp_path / "b.pt"), weights_only=True)["model_state_dict"].items()
             if not k.startswith("sequential.11")}
    with pytest.raises(ValueError, match="missing keys"):
        load_tdr_checkpoint(_tdr_checkpoint(model, tmp_path / "c.pt", model_state_dict=state))
    extra = dict(state, **{"sequential.11.weight": torch.zeros(3, 8 * 14 * 14), "sequential.4.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="sequential.4.weight"):
        load_tdr_checkpoint(_tdr_checkpoint(model, tmp_path / "d.pt", model_state_dict=extra))
    with pytest.raises(ValueError, match="model_state_dict"):
        torch.save({"weights": 1}, tmp_path / "e.pt")
        load_tdr_checkpoint(tmp_path / "e.pt")


# ---------------------------------------------------------------------------- recordings


def test_recording_h5_round_trip_and_bad_files(tmp_path, small_retina, small_movie):
    import h5py

    recording = retina.simulate_recording(small_retina, small_movie[:80], small_movie[80:], seed=0)
    assert recording.train_rates.shape == (73, 8) and recording.true_test_rates.shape == (33, 8)
    path = retina.save_recording_h5(recording, tmp_path / "rec.h5")
    loaded = retina.load_recording(path, frames=8, bin_ms=20.0, standardize=False)
    torch.testing.assert_close(loaded.train_movie, recording.train_movie)
    torch.testing.assert_close(loaded.test_rates, recording.test_rates)
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["train/stimulus"] = np.zeros((10, 4, 4))
    with pytest.raises(ValueError, match="test/stimulus|train/response"):
        retina.load_recording(tmp_path / "bad.h5", frames=2)


def test_cnn_fit_follows_the_simulated_cells(small_retina):
    movie = retina.natural_movie(retina.generated_images(10, size=64, seed=2), 1500, size=24, seed=3)
    recording = retina.simulate_recording(small_retina, movie[:1200], movie[1200:], seed=0)
    model, history = retina.train_cnn(recording, retina.CNNSettings(kernels=(5, 5), epochs=4, lr=3e-3))
    quality = retina.prediction_quality(retina.predict(model, recording.test_movie, 8).numpy(), recording.test_rates.numpy(),
                                        recording.true_test_rates.numpy())
    assert history["loss"][-1] < history["loss"][0]
    assert np.median(quality["r_true"]) > 0.5  # an untrained model scores near 0
    assert np.all(quality["ceiling"] < 1)


# ---------------------------------------------------------------------------- measurements


def test_batched_irfs_equal_one_backward_per_pair(small_retina, small_movie):
    times, cells = [3, 50, 50, 90], [0, 1, 5, 7]
    batched = retina.instantaneous_receptive_fields(small_retina, small_movie, 8, times, cells, batch_size=3)
    for i, (t, c) in enumerate(zip(times, cells)):
        x = small_movie[t:t + 8][None].clone().requires_grad_(True)
        small_retina(x)[0, c].backward()
        torch.testing.assert_close(batched[i], x.grad[0])


def test_rank_one_recovers_a_separable_irf():
    temporal = torch.linspace(-1, 1, 6) ** 2 - 0.3
    spatial = torch.randn(5, 5)
    irf = (temporal.view(6, 1, 1) * spatial)[None]
    s, t, singular = retina.rank_one(torch.cat([irf, -irf]))
    rebuilt = singular[0] * t[0].view(6, 1, 1) * s[0]
    torch.testing.assert_close(rebuilt, irf[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(s[0], -s[1])  # the sign is fixed by the temporal factor


def test_response_statistics_match_numpy_and_refuse_singular_covariances():
    rng = np.random.default_rng(0)
    responses = rng.normal(size=(200, 3))
    mean, covariance = retina.response_statistics(responses)
    np.testing.assert_allclose(covariance, np.cov(responses.T))
    copies = np.concatenate([responses, responses[:, :1]], axis=1)
    with pytest.raises(ValueError, match="ridge"):
        retina.response_statistics(copies)
    retina.response_statistics(copies, ridge=1e-3)  # the ridge the message proposes works


def test_surprisal_store_records_its_target(tmp_path):
    from codec.store.compute import _target_setting

    target = retina.surprisal_target(np.random.default_rng(0).normal(size=(50, 3)))
    setting = _target_setting(target)
    assert setting[0] == "surprisal" and setting == _target_setting(retina.surprisal_target(np.random.default_rng(0).normal(size=(50, 3))))
    assert setting != _target_setting(retina.surprisal_target(np.random.default_rng(1).normal(size=(50, 3))))


def test_clustering_recovers_planted_cell_groups_and_agreement_matches_sklearn():
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 4)
    rates = rng.normal(size=(500, 3))[:, truth] + 0.3 * rng.normal(size=(500, 12))
    codes = np.maximum(np.concatenate([rates[:, [0, 4, 8]] + rng.normal(size=(500, 3)), rng.normal(size=(500, 5))], axis=1), 0)
    matrix, used = retina.cell_mode_matrix(rates, codes)
    found = retina.cluster_cells(matrix)
    assert found["k"] == 3
    agreement = retina.partition_agreement(found["labels"], truth, n_permutations=200)
    assert agreement["ari"] == pytest.approx(adjusted_rand_score(found["labels"], truth)) == pytest.approx(1.0)
    assert agreement["chance_95"] < 0.5 and agreement["p"] < 0.01
    shuffled = retina.partition_agreement(truth, np.random.default_rng(5).permutation(truth), n_permutations=200)
    assert shuffled["ari"] < shuffled["chance_95"] + 0.3


def test_combination_effect_sees_a_planted_effect_and_not_a_null():
    rng = np.random.default_rng(0)
    cells = np.repeat([0, 1], 12)
    combos = [frozenset({i % 3}) for i in range(24)]
    prototypes = torch.tensor(rng.normal(size=(3, 50)))
    planted = torch.stack([prototypes[i % 3] + 0.8 * torch.tensor(rng.normal(size=50)) for i in range(24)])
    effect = retina.combination_effect(planted, cells, combos, n_permutations=300)
    assert effect["difference"] > effect["chance_95"] and effect["p"] < 0.01
    null = torch.tensor(rng.normal(size=(24, 50)))
    effect = retina.combination_effect(null, cells, combos, n_permutations=300)
    assert effect["p"] > 0.05


def test_irf_times_keep_windows_apart_and_need_two_combinations():
    rates = np.full((400, 1), 5.0)
    combos = [frozenset({t % 2}) for t in range(400)]
    chosen = retina.irf_times(rates, combos, frames=20, per_combination=3)
    times = sorted(t for t, _ in chosen[0])
    assert len({c for _, c in chosen[0]}) == 2 and np.min(np.diff(times)) >= 20
    assert retina.irf_times(rates, [frozenset({1})] * 400, frames=20) == {}


def test_the_spectral_first_layer_is_conv2d():
    """RetinaCNN's FFT convolution gives conv2d's output and gradients (weights, bias and input) to
    float rounding; on 2 CPU cores it costs ~2 ms per 40×50×50 window for the forward pass and the
    weight gradient, against ~15 ms for conv2d."""
    from codec.models.retina import SpectralConv2d

    torch.manual_seed(0)
    spectral = SpectralConv2d(6, 3, 5)
    x = torch.randn(2, 6, 12, 12, requires_grad=True)
    out = spectral(x)
    reference = torch.nn.functional.conv2d(x, spectral.weight, spectral.bias)
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
    cotangent = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, spectral.weight, spectral.bias), cotangent)
    expected = torch.autograd.grad(reference, (x, spectral.weight, spectral.bias), cotangent)
    for found, wanted in zip(grads, expected):
        torch.testing.assert_close(found, wanted, atol=1e-4, rtol=1e-4)
    assert set(RetinaCNN(2, frames=6, size=12, kernels=(5, 3)).state_dict()) == set(
        RetinaCNN(2, frames=6, size=12, kernels=(5, 3), spectral=False).state_dict())

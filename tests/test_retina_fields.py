"""Receptive fields across cells and modes (codec.retina.fields): the STA against a literal sum and
against Stein's lemma, centres and crops against planted fields, lone-mode statistics against
planted effects and nulls, pathway matching against the circuit's own cells."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from codec import retina
from codec.models import ModelEntry
from codec.retina import workflow


@pytest.fixture(scope="module")
def small_movie():
    return retina.natural_movie(retina.generated_images(6, size=64, seed=0), 400, size=24, seed=1)


# ---------------------------------------------------------------------------- STA


def test_gaussian_white_noise_is_standard_normal_and_names_a_bad_distribution():
    movie = retina.white_noise(400, size=10, distribution="gaussian", seed=0)
    assert abs(float(movie.mean())) < 0.02 and abs(float(movie.std()) - 1) < 0.02
    assert len(movie.unique()) > 1000
    with pytest.raises(ValueError, match="distribution"):
        retina.white_noise(10, distribution="uniform")


def test_sta_is_the_literal_response_weighted_average():
    movie = retina.white_noise(60, size=5, seed=1)
    responses = np.random.default_rng(0).poisson(2.0, size=(60 - 4 + 1, 3)).astype(float)
    sta = retina.spike_triggered_average(movie, responses, frames=4, batch_size=7)
    for cell in range(3):
        literal = (sum(responses[t, cell] * movie[t:t + 4] for t in range(57)) / responses[:, cell].sum()
                   - sum(movie[t:t + 4] for t in range(57)) / 57)
        torch.testing.assert_close(sta[cell], literal.float(), atol=1e-5, rtol=1e-5)


class _LinearNonlinear(torch.nn.Module):
    """rate = exp(k · window): under Gaussian white noise Cov(r, x) = E[∇r] = k · E[r] in closed form."""

    def __init__(self, kernels):
        super().__init__()
        self.kernels = torch.nn.Parameter(kernels)  # (cells, frames, size, size)

    def forward(self, windows):
        return torch.exp(torch.einsum("bfyx,cfyx->bc", windows, self.kernels))


def test_sta_and_mean_irf_both_recover_a_planted_filter_under_gaussian_noise():
    """Stein's lemma, Cov(r(x), x) = E[∇r(x)] for x ~ N(0, I): for an exponential LN model both equal
    k · E[r], so the STA and the mean IRF (autograd) are checked against the planted filter k."""
    rng = np.random.default_rng(0)
    kernels = torch.zeros(2, 4, 8, 8)
    kernels[0, :, 2:5, 2:5] = torch.tensor([-0.1, 0.05, 0.2, 0.3]).view(4, 1, 1)  # an ON field
    kernels[1, :, 4:7, 3:6] = -torch.tensor([0.0, 0.1, 0.25, 0.25]).view(4, 1, 1) * torch.tensor(rng.uniform(0.5, 1, (3, 3)))
    model = _LinearNonlinear(kernels)
    movie = retina.white_noise(30003, size=8, distribution="gaussian", seed=2)
    with torch.no_grad():
        rates = model(retina.windows(movie, 4))
    sta = retina.spike_triggered_average(movie, rates.numpy(), frames=4)
    n = rates.shape[0]
    for cell in range(2):
        irfs = retina.instantaneous_receptive_fields(model, movie, 4, np.arange(n), [cell] * n, batch_size=4096)
        mean_irf = irfs.mean(0) / rates[:, cell].mean()
        for estimate in (sta[cell], mean_irf):
            r = np.corrcoef(estimate.flatten().numpy(), kernels[cell].flatten().numpy())[0, 1]
            assert r > 0.95, (cell, r)
            assert float(estimate.norm() / kernels[cell].norm()) == pytest.approx(1.0, abs=0.15)


def test_sta_of_a_response_blind_to_the_stimulus_is_zero():
    movie = retina.white_noise(50, size=4, seed=0)
    sta = retina.spike_triggered_average(movie, np.full((47, 1), 3.0), frames=4)
    assert float(sta.abs().max()) < 1e-5


def test_sta_refuses_bad_responses():
    movie = retina.white_noise(20, size=4, seed=0)
    with pytest.raises(ValueError, match="responses"):
        retina.spike_triggered_average(movie, np.ones((10, 2)), frames=4)
    with pytest.raises(ValueError, match=r"cells \[1\] never respond"):
        retina.spike_triggered_average(movie, np.stack([np.ones(17), np.zeros(17)], 1), frames=4)
    with pytest.raises(ValueError, match="non-negative"):
        retina.spike_triggered_average(movie, -np.ones((17, 1)), frames=4)


# ---------------------------------------------------------------------------- centres and crops


def test_field_centers_find_planted_fields_of_either_sign():
    rng = np.random.default_rng(0)
    coords = torch.arange(24.0)
    planted = [(5, 7), (18, 3), (12, 20)]
    maps = []
    for sign, (row, col) in zip((1, -1, -1), planted):
        blob = torch.exp(-((coords.view(-1, 1) - row) ** 2 + (coords.view(1, -1) - col) ** 2) / 4.0)
        maps.append(sign * blob + 0.05 * torch.tensor(rng.normal(size=(24, 24)), dtype=torch.float32))
    np.testing.assert_array_equal(retina.field_centers(torch.stack(maps)), np.array(planted))
    with pytest.raises(ValueError, match="spatial"):
        retina.field_centers(torch.zeros(24, 24))


def test_centred_crops_put_the_centre_in_the_middle_and_pad_with_zeros():
    irfs = torch.zeros(2, 3, 10, 10)
    irfs[0, :, 4, 6] = 1.0
    irfs[1, :, 0, 9] = 2.0
    crops = retina.centred_crops(irfs, [(4, 6), (0, 9)], radius=2)
    assert crops.shape == (2, 3, 5, 5)
    assert torch.all(crops[0, :, 2, 2] == 1) and crops[0].sum() == 3
    assert torch.all(crops[1, :, 2, 2] == 2) and torch.all(crops[1, :, :2] == 0) and torch.all(crops[1, :, :, 3:] == 0)
    with pytest.raises(ValueError, match="centers"):
        retina.centred_crops(irfs, [(4, 6)], radius=2)
    with pytest.raises(ValueError, match="centers"):
        retina.centred_crops(irfs, [(4, 6), (0, 10)], radius=2)
    with pytest.raises(ValueError, match="radius"):
        retina.centred_crops(irfs, [(4, 6), (0, 9)], radius=0)


# ---------------------------------------------------------------------------- lone modes


def test_lone_mode_pairs_keep_lone_times_firing_cells_and_windows_apart():
    combos = [frozenset({t % 3}) if t % 5 else frozenset({0, 1}) for t in range(300)]
    rates = np.zeros((300, 3))
    rates[:, 0] = 5.0  # fires always
    rates[::2, 1] = 5.0  # fires at even times
    pairs = retina.lone_mode_pairs(rates, combos, frames=10, min_rate=1.0, per_pair=4)
    assert pairs["lone_share"] == pytest.approx(240 / 300)
    for t, cell, mode in zip(pairs["times"], pairs["cells"], pairs["modes"]):
        assert combos[t] == frozenset({mode}) and rates[t, cell] > 1.0
    assert 2 not in pairs["cells"]  # never fires
    for mode in range(3):
        for cell in (0, 1):
            times = np.sort(pairs["times"][(pairs["modes"] == mode) & (pairs["cells"] == cell)])
            assert len(times) == 4 and np.diff(times).min() >= 10
    alone = np.zeros((300, 3))
    alone[:, 0] = 5.0
    assert len(retina.lone_mode_pairs(alone, combos, frames=10)["times"]) == 0  # one cell per mode: below min_cells


def test_lone_mode_similarity_matches_a_literal_count_and_sees_planted_effects():
    rng = np.random.default_rng(0)
    cells = np.tile(np.arange(6), 3)
    modes = np.repeat(np.arange(3), 6)
    prototypes = torch.tensor(rng.normal(size=(3, 40)))
    planted = torch.stack([prototypes[m] + 0.8 * torch.tensor(rng.normal(size=40)) for m in modes])
    found = retina.lone_mode_similarity(planted, cells, modes, n_permutations=300)
    within, between = [], []
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            if cells[i] != cells[j]:
                r = np.corrcoef(planted[i].numpy(), planted[j].numpy())[0, 1]
                (within if modes[i] == modes[j] else between).append(r)
    assert found["within"] == pytest.approx(np.mean(within)) and found["between"] == pytest.approx(np.mean(between))
    assert found["difference"] > found["chance_95"] and found["p"] < 0.01 and found["n_modes"] == 3
    null = retina.lone_mode_similarity(torch.tensor(rng.normal(size=(18, 40))), cells, modes, n_permutations=300)
    assert null["p"] > 0.05
    with pytest.raises(ValueError, match="modes"):
        retina.lone_mode_similarity(planted, cells, np.zeros(18, dtype=int))


def test_mode_purity_counts_majorities_and_sees_planted_sorting():
    modes = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    labels = np.array([1, 1, 0, 2, 2, 2, 0, 1])
    found = retina.mode_purity(modes, labels, n_permutations=100)
    assert found["purity"] == pytest.approx((2 + 3 + 1) / 8)
    np.testing.assert_allclose(found["shares"][0], [1 / 3, 2 / 3, 0])
    rng = np.random.default_rng(0)
    planted_modes = rng.integers(0, 6, 300)
    sorted_labels = np.where(rng.random(300) < 0.8, planted_modes % 3, rng.integers(0, 3, 300))
    assert retina.mode_purity(planted_modes, sorted_labels, n_permutations=200)["p"] < 0.01
    assert retina.mode_purity(planted_modes, rng.integers(0, 3, 300), n_permutations=200)["p"] > 0.05
    with pytest.raises(ValueError, match="modes, labels"):
        retina.mode_purity(modes, labels[:3])


def test_pathway_match_recovers_planted_and_true_pathways(small_retina, small_movie):
    filters = small_retina.temporal  # (3, frames), signed
    spatial = torch.exp(-(torch.arange(-4.0, 5.0).view(-1, 1) ** 2 + torch.arange(-4.0, 5.0).view(1, -1) ** 2) / 4.0)
    planted = filters.view(3, -1, 1, 1) * spatial * 3.0
    match = retina.pathway_match(planted, filters)
    np.testing.assert_allclose(np.diag(match), 1.0, atol=1e-5)
    torch.testing.assert_close(retina.signed_temporal(planted), filters / filters.norm(dim=1, keepdim=True), atol=1e-5, rtol=1e-4)
    # the circuit's own single-pathway cells, at times they fire: their centred IRF matches their pathway best
    rates = small_retina.respond(small_movie)
    pathway_of_type = {"ON transient": 0, "OFF transient": 1, "OFF sustained": 2}
    checked = 0
    for cell, type_index in enumerate(small_retina.cell_types):
        name = small_retina.type_names[type_index]
        if name not in pathway_of_type:
            continue
        t = int(rates[:, cell].argmax())
        irf = retina.instantaneous_receptive_fields(small_retina, small_movie, 8, [t], [cell])
        centre = retina.field_centers(retina.rank_one(irf)[0])
        match = retina.pathway_match(retina.centred_crops(irf, centre, 4), filters)[0]
        assert int(match.argmax()) == pathway_of_type[name], (name, match)
        checked += 1
    assert checked == 6
    with pytest.raises(ValueError, match="pathway_filters"):
        retina.pathway_match(planted, filters[:, :5])


# ---------------------------------------------------------------------------- the workflow's steps


@pytest.fixture(scope="module")
def circuit_as_model(small_retina, small_movie):
    """A setup whose 'CNN' is the circuit itself: every CNN measurement must then equal the truth's."""
    recording = retina.simulate_recording(small_retina, small_movie[:100], small_movie, seed=0)
    entry = ModelEntry(name="circuit", model=small_retina, layers=[], transform=lambda movie: movie, class_names=[],
                       input_size=small_retina.config.size)
    predicted = small_retina.respond(small_movie)
    return workflow.RetinaSetup(SimpleNamespace(name="tiny"), recording, small_retina, entry, None, predicted, {}, "test")


def test_lone_modes_of_the_circuit_itself_equal_the_truth(circuit_as_model):
    rng = np.random.default_rng(0)
    t = circuit_as_model.predicted.shape[0]
    codes = np.zeros((t, 4))
    codes[np.arange(t), rng.integers(0, 4, size=t)] = 1.0  # one mode alone at every time
    codes[::7] = 1.0  # and all four at some
    found = workflow.measure_lone_modes(circuit_as_model, SimpleNamespace(codes=codes), min_rate=0.5, radius=4,
                                        n_permutations=50)
    assert found["pairs"]["lone_share"] == pytest.approx(1 - len(range(0, t, 7)) / t)
    torch.testing.assert_close(found["crops"], found["true_crops"])
    np.testing.assert_allclose(found["match"], found["true_match"])
    assert found["agreement"] == found["true_agreement"] > 0.5  # the circuit's IRFs mostly look like the driving pathway
    assert found["crops"].shape[1:] == (8, 9, 9) and found["purity"]["shares"].shape[1] == 3
    layer, examples = workflow.lone_mode_examples({"a": found, "b": {"similarity": None}}, n_modes=2, n_cells=3)
    assert layer == "a" and len(examples) == 6  # two modes, three cells each
    picked = [(found["pairs"]["modes"][i], found["pairs"]["cells"][i]) for i in examples]
    assert len(set(picked)) == 6 and len({mode for mode, _ in picked}) == 2
    none = workflow.measure_lone_modes(circuit_as_model, SimpleNamespace(codes=np.ones((t, 4))), n_permutations=10)
    assert none["similarity"] is None and "min_rate" in none["reason"]
    assert workflow.lone_mode_examples({"a": none}) == (None, [])


def test_white_noise_stas_of_the_circuit_itself_equal_its_cells(circuit_as_model):
    found = workflow.measure_white_noise(circuit_as_model, n_frames=600, checker=2, radius=4)
    assert found["sta"].shape == (8, 8, 24, 24) and found["centers"].shape == (8, 2)
    torch.testing.assert_close(found["sta"], found["true_sta"])
    np.testing.assert_allclose(found["similarity"], 1.0, atol=1e-6)
    np.testing.assert_allclose(found["r_rates"], 1.0, atol=1e-6)


def test_signed_field_puts_zero_at_the_middle_of_the_colour_scale():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codec import plots

    fig, axis = plt.subplots()
    plots.signed_field(axis, np.array([[0.2, -0.5], [0.1, 0.0]]))
    shown = axis.get_images()[0]
    assert shown.get_clim() == (-0.5, 0.5) and shown.get_cmap().name == plots.SIGNED_CMAP
    assert list(axis.get_xticks()) == [] and list(axis.get_yticks()) == []
    plt.close(fig)


def test_permutation_chance_drops_nans_and_counts_the_observed_shuffle():
    from codec.retina.analysis import permutation_chance

    found = permutation_chance(2.0, [0.0, 1.0, np.nan, 3.0])
    assert found["p"] == pytest.approx((1 + 1) / (1 + 3))
    assert found["chance_95"] == pytest.approx(np.quantile([0.0, 1.0, 3.0], 0.95))

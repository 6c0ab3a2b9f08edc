"""codec.experiment (the set-up the sections share) and the helpers the sections call: codec.plots,
the per-layer SAE fits, the robustness sweep, the decomposition comparison, superclasses."""

import numpy as np
import pytest
import torch

import codec
from codec import modes
from codec.data import SHAPES, TEXTURES, shapes
from codec.experiment import Experiment
from codec.sae import SAESettings, evaluate, fit_layers, fit_sae


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return Experiment.from_preset("tiny", tmp_path_factory.mktemp("runs"), per_class=4, steps=3)


def test_experiment_takes_preset_overrides_and_keeps_the_preset_where_none(experiment, tmp_path):
    assert experiment.config.per_class == 4 and experiment.config.steps == 3
    assert len(experiment.dataset) == 4 * 16 and experiment.entry.name == "shapes_resnet"
    kept = Experiment.from_preset("tiny", tmp_path, per_class=None)
    assert kept.config.per_class == codec.presets.PRESETS["tiny"].per_class
    assert "scale: tiny | model: shapes_resnet | data: shapes, 64 images\nIG 3 steps" in experiment.describe()
    with pytest.raises(ValueError, match="preset: unknown fields \\['stpes'\\]"):
        Experiment.from_preset("tiny", tmp_path, stpes=3)


def test_experiment_store_is_the_store_compute_contributions_gives(experiment):
    store = experiment.store()
    assert store.complete and store.n_items == 64 and store.layers == experiment.entry.layers
    assert store.path.name == "tiny-shapes_resnet-ig-top1"
    inputs, labels = experiment.inputs(range(8))
    direct = codec.contributions(experiment.entry.model, inputs, store.layers, steps=3, reduce="ei")
    for layer in store.layers:
        np.testing.assert_allclose(store.contributions(layer)[:8], direct[layer].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(store.field("label")[:8], labels.numpy())
    assert experiment.store(target="contrastive").path.name == "tiny-shapes_resnet-ig-contrastive"


def test_time_method_returns_seconds_per_image(experiment):
    seconds = experiment.time_method("actgrad", 1, experiment.entry.layers[:2], repeats=1)
    assert 0 < seconds < 10
    with pytest.raises(ValueError, match="repeats: must be a positive integer"):
        experiment.time_method("actgrad", 1, experiment.entry.layers[:2], repeats=0)


def test_mask_shares_equal_a_literal_per_channel_sum(experiment):
    layer = experiment.entry.layers[1]
    shares = experiment.mask_shares(layer, "distractor_mask", n_items=16)
    items = [i for i in range(16) if experiment.dataset[i].distractor_mask.any()]
    assert shares["images"] == len(items) > 0
    inputs, _ = experiment.inputs(items)
    result = codec.contributions(experiment.entry.model, inputs, [layer], steps=3)
    for name, maps in (("contribution", result[layer].abs()), ("activation", result.activations[layer].abs())):
        assert shares[name].shape == (maps.shape[1],)
        for channel in range(0, maps.shape[1], 7):
            inside = total = 0.0
            for row, i in enumerate(items):
                mask = experiment.dataset[i].distractor_mask.float()[None, None]
                coverage = torch.nn.functional.adaptive_avg_pool2d(mask, maps.shape[-2:])[0, 0]
                inside += float((maps[row, channel] * coverage).sum())
                total += float(maps[row, channel].sum())
            assert shares[name][channel] == pytest.approx(inside / total, rel=1e-4)
    assert experiment.mask_shares(layer, "no_such_mask") is None


def test_shapes_superclasses_group_the_planted_factors():
    groups = shapes("test", 16).superclasses()
    assert list(groups)[: len(SHAPES)] == [f"shape {s}" for s in SHAPES]
    assert len(groups) == len(SHAPES) + len(TEXTURES)
    dataset = shapes("test", 32)
    labels = np.array([dataset[i].label for i in range(32)])
    indicator = modes.superclass_indicators(labels, groups)
    for j, (name, members) in enumerate(groups.items()):
        factor = np.array([getattr(dataset[i], name.split()[0]) for i in range(32)])
        index = (SHAPES if name.startswith("shape") else TEXTURES).index(name.split()[1])
        np.testing.assert_array_equal(indicator[:, j], factor == index)
    with pytest.raises(ValueError, match="groups: no superclasses"):
        modes.superclass_indicators(labels, {})


@pytest.fixture(scope="module")
def fits(experiment):
    return fit_layers(experiment.store(), SAESettings(epochs=2, lr=1e-3), layers=experiment.entry.layers[-2:])


def test_fit_layers_holds_each_layers_sae_codes_and_metrics(experiment, fits):
    store = experiment.store()
    assert list(fits) == [(layer, kind) for layer in store.layers[-2:] for kind in ("contributions", "activations")]
    for (layer, kind), fit in fits.items():
        cached, _ = fit_sae(store, layer, kind, SAESettings(epochs=2, lr=1e-3))
        assert torch.equal(cached.dictionary, fit.sae.dictionary)
        assert fit.codes.shape == (64, fit.sae.config["n_modes"]) and fit.dictionary.shape[1] == fit.features.shape[1]
        assert fit.metrics["r2"] == pytest.approx(evaluate(fit.sae, fit.features)["r2"])


def test_robustness_sweep_matches_its_definition(experiment, fits):
    store = experiment.store()
    layer = store.layers[-1]
    settings = SAESettings(epochs=2, lr=1e-3)
    indicator, _ = modes.indicators(store.field("label"))
    sweep = modes.robustness_sweep(store, layer, settings, indicator, changes={"seed 1": dict(seed=1), "same": {}})
    reference = fits[layer, "contributions"]
    ref_dictionary = modes.class_dictionary(reference.dictionary, modes.correlation(reference.codes, indicator))
    assert sweep["rows"][1]["stability"] == pytest.approx(1.0)  # the default against itself
    other, _ = fit_sae(store, layer, "contributions", settings, seed=1)
    codes = other.encode(torch.from_numpy(reference.features)).detach().numpy()
    other_dictionary = modes.class_dictionary(other.dictionary.detach().numpy(), modes.correlation(codes, indicator))
    assert sweep["rows"][0]["stability"] == pytest.approx(np.nanmean(modes.stability(ref_dictionary, other_dictionary)), abs=1e-6)
    assert sweep["default_r2"] == pytest.approx(reference.metrics["r2"])
    assert -1 <= sweep["chance"] < 1


def test_compare_decompositions_finds_a_planted_class_column():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    features = rng.random((200, 10))
    features[:, 2] += 3.0 * (labels == 1)
    indicator, _ = modes.indicators(labels)
    codes = features[:, [2, 5]]
    rows, converged = modes.compare_decompositions(codes, features, indicator, n_components=3)
    table = {row["decomposition"]: row for row in rows}
    assert list(table) == ["SAE modes", "channels", "PCA", "NMF"] and isinstance(converged, bool)
    assert table["channels"]["columns"] == 10 and table["SAE modes"]["columns"] == 2
    assert table["SAE modes"]["n_above"] >= 1 and table["PCA"]["n_above"] >= 1
    expected = modes.summary(modes.correlation(codes, indicator))["mean_max"]
    assert table["SAE modes"]["mean_max"] == pytest.approx(expected)


def test_coverage_across_layers_matches_coverage():
    rng = np.random.default_rng(1)
    corrs = [rng.uniform(-0.2, 0.6, (6, 3)) for _ in range(3)] + [np.zeros((6, 3))]
    per_class, per_mode = modes.coverage_across(corrs)
    for i, corr in enumerate(corrs):
        modes_of_class, classes_of_mode = modes.coverage(corr)
        assert per_class[i] == pytest.approx(modes_of_class.mean())
        served = classes_of_mode[classes_of_mode > 0]
        assert per_mode[i] == pytest.approx(served.mean() if served.size else 0.0)
    assert per_mode[-1] == 0.0


def test_plots_keep_one_colour_per_meaning_and_fit_layer_names():
    import matplotlib

    matplotlib.use("Agg")
    from codec import plots

    plots.theme()
    assert plots.colour("contributions") != plots.colour("activations")
    with pytest.raises(ValueError, match="name: no colour for 'gradients'"):
        plots.colour("gradients")
    layers = [f"blocks.{i}.0" for i in range(16)]
    fig, axes = plots.panels(3)
    plots.across_depth(axes[0], layers, np.arange(16.0), "contributions")
    plots.depth_axis(axes[0], layers)
    labels = [tick.get_text() for tick in axes[0].get_xticklabels()]
    assert labels[0] == "b0.0" and 1 < len(labels) <= 16  # a third of the width cannot hold 16 rotated names
    assert axes[0].get_lines()[0].get_color() == plots.colour("contributions")
    with pytest.raises(ValueError, match="values: need one value per layer"):
        plots.across_depth(axes[1], layers, np.arange(3.0), "activations")

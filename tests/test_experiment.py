"""codec.experiment (the set-up the sections share) and the helpers the sections call: codec.plots,
the per-layer SAE fits, the robustness sweep, the decomposition comparison, superclasses."""

import numpy as np
import pytest
import torch

import codec
from codec import modes
from codec.data import SHAPES, TEXTURES, shapes
from codec.experiment import Experiment
from codec.sae import PAPER_CONFIGURATIONS, SAESettings, STSAESettings, evaluate, feature_matrix, fit_layers, fit_sae


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
    assert store.path.name == "tiny-shapes_resnet-shapes-64-ig-top1"
    inputs, labels = experiment.inputs(range(8))
    direct = codec.contributions(experiment.entry.model, inputs, store.layers, steps=3, reduce="ei")
    for layer in store.layers:
        np.testing.assert_allclose(store.contributions(layer)[:8], direct[layer].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(store.field("label")[:8], labels.numpy())
    assert experiment.store(target="contrastive").path.name == "tiny-shapes_resnet-shapes-64-ig-contrastive"


def test_store_names_carry_the_image_set_so_another_per_class_makes_another_store(experiment, tmp_path):
    assert codec.store.run_name("sample", "efficientnet_lite0", "actgrad_norm", "top1", False, "imagenette_imagewoof", 2000) == \
        "sample-efficientnet_lite0-imagenette_imagewoof-2000-actgrad_norm-top1"
    smaller = Experiment.from_preset("tiny", experiment.runs_dir, per_class=2, steps=3)
    assert smaller.store().path.name == "tiny-shapes_resnet-shapes-32-ig-top1" and smaller.store().n_items == 32


def test_subset_is_nested_and_rows_of_finds_its_images(data_dir, tmp_path):
    full = Experiment.from_preset("sample", tmp_path, data_root=data_dir, per_class=6, device="cpu")
    subset = full.subset(2)
    assert len(subset.dataset) == 2 * 20 and subset.entry is full.entry and subset.runs_dir == full.runs_dir
    rows = full.rows_of(subset)
    assert [full.dataset.files[r] for r in rows] == subset.dataset.files
    np.testing.assert_array_equal(np.asarray(full.dataset.labels)[rows], subset.dataset.labels)
    assert full.subset(None) is full and full.subset(6) is full
    np.testing.assert_array_equal(full.rows_of(full), np.arange(len(full.dataset)))
    with pytest.raises(ValueError, match="per_class: a subset needs at most this experiment's 6 images per class, got 9"):
        full.subset(9)
    assert full.chunk_size == full.config.chunk_size == 11 and full.config.resolved_chunk_size() == 11


def test_sae_settings_are_the_presets_and_the_released_sae_has_its_own_epoch_limit(experiment):
    tiny = codec.presets.PRESETS["tiny"]
    written = experiment.sae_settings()
    assert type(written) is SAESettings and (written.lr, written.epochs, written.patience) == (tiny.sae_lr, tiny.sae_epochs, tiny.sae_patience)
    assert (written.inputs, written.l1_dictionary_reduction, written.threshold, written.nonnegative) == ("positive", "mean", 0.9, True)
    released = experiment.sae_settings(PAPER_CONFIGURATIONS["as released"], expansion=None, seed=2)
    assert type(released) is STSAESettings and released.epochs == tiny.released_sae_epochs and released.seed == 2
    # trained as released, every epoch: the preset's patience is the SAE as written's (tiny's is not 0)
    assert tiny.sae_patience > 0 and released.patience == 0 and released.plateau_patience == 10
    assert experiment.sae_settings(PAPER_CONFIGURATIONS["as released"], patience=7).patience == 7
    assert (released.hidden, released.threshold, released.nonnegative) == (2048, 0.8, False)
    assert written.seed == 0
    # the activations' part is the model family's (the tiny CNN: Σ relu(h), as the authors' CNN SAEs), overridable
    assert experiment.entry.activation_part == "positive" and written.activation_part == released.activation_part == "positive"
    assert experiment.sae_settings(activation_part="signed").activation_part == "signed"


def test_the_vit_reads_signed_token_sums(tmp_path):
    vit = Experiment.from_preset("tiny", tmp_path, per_class=1, vit=True)
    assert vit.entry.activation_part == "signed" and vit.sae_settings().activation_part == "signed"


def test_the_training_seed_reaches_every_sae_and_the_retina_cnn(tmp_path):
    from codec.retina import workflow

    seeded = Experiment.from_preset({"name": "tiny", "training_seed": 4}, tmp_path, per_class=1)
    assert seeded.config.name == "tiny" and seeded.sae_settings().seed == 4
    assert seeded.sae_settings(PAPER_CONFIGURATIONS["as released"]).seed == 4
    assert Experiment.from_preset("tiny", tmp_path, per_class=1, vit=True, training_seed=4).sae_settings().seed == 4
    assert workflow.retina_sae_settings(seeded.config).seed == 4


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


def test_the_default_robustness_sweep_draws_other_seeds_than_the_default_sae():
    """SWEEP's "seed 1" and "seed 2" are the default's seed + 1 and + 2, so that no row compares an SAE with itself."""
    assert modes.sweep_changes(0) == modes.SWEEP
    shifted = modes.sweep_changes(5)
    assert list(shifted)[:2] == ["seed 6", "seed 7"] and shifted["seed 6"] == {"seed": 6} and shifted["seed 7"] == {"seed": 7}
    assert list(shifted)[2:] == list(modes.SWEEP)[2:] and shifted["expansion 1"] == {"expansion": 1}


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
    expected = modes.summary(modes.correlation(codes, indicator))
    assert table["SAE modes"]["mean_max"] == pytest.approx(expected["mean_max"])
    assert table["SAE modes"]["median_max"] == pytest.approx(expected["median_max"])


def test_compare_configurations_reports_each_fit_by_the_keys_the_claims_read(experiment, fits):
    store = experiment.store()
    layers = store.layers[-2:]
    indicator, _ = modes.indicators(store.field("label"))
    written = SAESettings(epochs=2, lr=1e-3)
    released = STSAESettings(epochs=1, lr=1e-3, hidden=16)
    result = modes.compare_configurations(store, {"as written": written, "as released": released}, indicator, layers)
    assert list(result) == ["as written", "as released"]
    for name, settings in (("as written", written), ("as released", released)):
        entry = result[name]
        assert entry["layers"] == layers
        for i, layer in enumerate(layers):
            for kind, singular in (("contributions", "contribution"), ("activations", "activation")):
                sae, _ = fit_sae(store, layer, kind, settings)
                features = feature_matrix(store, layer, kind, settings.inputs)
                codes = sae.encode(torch.from_numpy(features)).detach().numpy()
                assert entry[f"r2_{kind}"][i] == pytest.approx(evaluate(sae, features)["r2"])
                expected = modes.summary(modes.correlation(codes, indicator))["median_max"]
                assert entry[f"median_max_{singular}_modes"][i] == pytest.approx(expected, nan_ok=True)
    assert result["as written"]["r2_contributions"][1] == pytest.approx(fits[layers[1], "contributions"].metrics["r2"])


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


def test_class_ratio_bars_show_zeros_and_ratios_above_the_default_range():
    import matplotlib

    matplotlib.use("Agg")
    from codec import plots

    names = ["tench", "Shih-Tzu", "beagle"]
    fig, axes = plots.panels(3)
    plots.class_ratio_bars(axes[0], np.zeros(3), 0, names, "all at zero")
    dots = axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(np.asarray(dots), [[0, 0], [1, 0], [2, 0]])  # a dot marks every class, zeros too
    plots.class_ratio_bars(axes[1], np.array([0.2, 1.6, np.nan]), 1, names, "one above 1.25")
    assert axes[1].get_ylim()[1] >= 1.6  # never clipped
    assert [bar.get_height() for bar in axes[1].patches] == [0.2, 1.6, 0.0]  # NaN (no correct image) drawn at 0
    with pytest.raises(ValueError, match="ratios: need one value per class"):
        plots.class_ratio_bars(axes[2], np.ones(2), 0, names, "")
    with pytest.raises(ValueError, match="target: a class index"):
        plots.class_ratio_bars(axes[2], np.ones(3), 3, names, "")
    plots.integer_ticks(axes[2])
    axes[2].plot([1, 2, 3, 4, 5], [0, 1, 0, 1, 0])
    fig.canvas.draw()
    assert all(float(t).is_integer() for t in axes[2].get_xticks())
    with pytest.raises(ValueError, match="which: 'x' or 'y'"):
        plots.integer_ticks(axes[2], "z")

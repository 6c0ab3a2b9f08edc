"""codec.control: ablation and preservation, the prefix-cached evaluation, the Fig. 6 experiments and their scores.

Oracles: a network with its channels' weights zeroed by hand (what ablation means), the literal
loop of one full forward pass per mask with the masks spliced in by hooks, hand-computed areas,
a toy network whose channel k drives class k (the experiments' results known exactly), and the
planted textures of the shapes data.
"""

import numpy as np
import pytest
import torch
from conftest import tiny_convnet
from torch import nn

from codec import control, modes
from codec.control import MaskedForward, PrefixCacheError
from codec.experiment import Experiment
from codec.hooks import channel_masks
from codec.models import load_model
from codec.sae import SAESettings, fit_layers

# --------------------------------------------------------------------------- perturbation = zeroed weights


def _zeroed(model, index, channels):
    """A copy of a Sequential with output channels of module ``index`` zeroed in its weights and bias."""
    import copy

    copied = copy.deepcopy(model)
    with torch.no_grad():
        copied[index].weight[list(channels)] = 0
        copied[index].bias[list(channels)] = 0
    return copied


def test_ablation_equals_the_network_with_the_channels_weights_zeroed(small_inputs):
    model = tiny_convnet()
    with control.ablate(model, {"0": [0, 2]}):
        ablated = model(small_inputs)
    torch.testing.assert_close(ablated, _zeroed(model, 0, [0, 2])(small_inputs), rtol=0, atol=0)
    with control.preserve(model, {"2": [1]}):
        preserved = model(small_inputs)
    torch.testing.assert_close(preserved, _zeroed(model, 2, [0, 2, 3])(small_inputs), rtol=0, atol=0)
    assert not torch.allclose(ablated, model(small_inputs))  # the perturbation did something, and is gone on exit


def test_the_hooks_are_removed_on_exit_even_when_the_block_raises(small_inputs):
    model = tiny_convnet()
    before = model(small_inputs)
    with pytest.raises(RuntimeError, match="inside"):
        with control.ablate(model, {"0": [0, 1, 2]}):
            raise RuntimeError("inside")
    torch.testing.assert_close(model(small_inputs), before, rtol=0, atol=0)
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())


def test_input_layers_perturb_what_the_module_sees(small_inputs):
    model = tiny_convnet()
    with control.ablate(model, {"2:input": [1]}):  # the conv's input: the ReLU's output, channel 1
        via_input = model(small_inputs)
    with control.ablate(model, {"1": [1]}):
        via_output = model(small_inputs)
    torch.testing.assert_close(via_input, via_output, rtol=0, atol=0)


def test_channel_masks_take_one_mask_per_batch_row(small_inputs):
    model = tiny_convnet()
    masks = torch.stack([control.channel_mask(3, [0], "ablate"), control.channel_mask(3, [1, 2], "preserve"),
                         torch.ones(3)]).to(torch.float64)
    with channel_masks(model, {"0": masks}):
        rowwise = model(small_inputs)
    for row, mask in enumerate(masks):
        with channel_masks(model, {"0": mask}):
            torch.testing.assert_close(rowwise[row], model(small_inputs)[row], rtol=0, atol=0)


# --------------------------------------------------------------------------- prefix-cached evaluation


def _literal(model, inputs, masks):
    """One full forward pass per mask, the masks spliced in by hooks: (M, N, ...)."""
    n_masks = len(next(iter(masks.values())))
    outputs = []
    for m in range(n_masks):
        with channel_masks(model, {layer: mask[m] for layer, mask in masks.items()}):
            outputs.append(model(inputs))
    return torch.stack(outputs)


def _random_masks(n_masks, n_channels, seed):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(n_masks, n_channels, generator=generator) > 0.5).float()


@pytest.mark.parametrize("layers", [["1"], ["2:input"], ["1", "3"]])
def test_prefix_cached_evaluation_equals_the_plain_one_and_the_literal_loop(small_inputs, layers):
    model = tiny_convnet(dtype=torch.float32)
    inputs = small_inputs.float()
    cached = MaskedForward(model, inputs, layers, rows_per_pass=6)
    plain = MaskedForward(model, inputs, layers, cache_prefix=False, rows_per_pass=6)
    masks = {layer: _random_masks(5, cached.channels[layer], seed) for seed, layer in enumerate(layers)}
    result = cached(masks)
    assert result.shape == (5, 3, 5)
    torch.testing.assert_close(result, plain(masks), rtol=0, atol=0)  # the same rows per pass: bit for bit
    torch.testing.assert_close(result, _literal(model, inputs, masks), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(cached.original, model(inputs), rtol=0, atol=0)
    rows = [2, 0]
    torch.testing.assert_close(cached(masks, rows=rows), result[:, rows], rtol=1e-6, atol=1e-6)


def test_the_unperturbed_pass_and_the_prefix_run_a_few_rows_at_a_time_with_the_same_result():
    """A set-up on many images runs ``rows_per_pass`` images per pass (bounded memory), not all at once."""
    from codec.control.forward import _in_chunks

    seen = []

    def doubled_and_a_constant(x):
        seen.append(len(x))
        return x * 2, torch.tensor(1.0)

    joined = _in_chunks(doubled_and_a_constant, torch.arange(7.0), 3)
    assert seen == [3, 3, 1]
    torch.testing.assert_close(joined[0], torch.arange(7.0) * 2)
    assert joined[1].ndim == 0  # a value that is not a batch is handed back as the first chunk gave it, for the caller to refuse
    entry = load_model("shapes_resnet")
    inputs = torch.randn(7, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    chunked = MaskedForward(entry.model, inputs, ["layer2.0"], rows_per_pass=3)
    whole = MaskedForward(entry.model, inputs, ["layer2.0"], rows_per_pass=64)
    torch.testing.assert_close(chunked.original, whole.original, rtol=1e-5, atol=1e-5)
    masks = {"layer2.0": _random_masks(4, chunked.channels["layer2.0"], 3)}
    torch.testing.assert_close(chunked(masks), whole(masks), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, layer", [("shapes_resnet", "layer2.0"), ("shapes_resnet", "layer3.1"),
                                         ("shapes_vit", "blocks.2.attn.proj:input"), ("shapes_vit", "blocks.3.mlp.act"),
                                         ("shapes_vit", "blocks.4")])
def test_prefix_cached_evaluation_of_the_tiny_networks_equals_running_them_whole(name, layer):
    entry = load_model(name)
    inputs = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    cached = MaskedForward(entry.model, inputs, [layer], rows_per_pass=12)
    plain = MaskedForward(entry.model, inputs, [layer], cache_prefix=False, rows_per_pass=12)
    masks = {layer: _random_masks(6, cached.channels[layer], 1)}
    if name == "shapes_resnet":
        torch.testing.assert_close(cached(masks), plain(masks), rtol=0, atol=0)
    else:  # the split ViT block runs its attention as separate traced operations
        torch.testing.assert_close(cached(masks), plain(masks), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(cached(masks)[0], cached.original, atol=1e-3)


def test_masked_forward_refuses_bad_masks_and_layers_with_clear_errors(small_inputs):
    model = tiny_convnet(dtype=torch.float32)
    forward = MaskedForward(model, small_inputs.float(), ["1", "3"])
    with pytest.raises(ValueError, match="masks: layer '1' needs masks of shape \\(M, 3\\)"):
        forward({"1": torch.ones(2, 4)})
    with pytest.raises(ValueError, match="masks: layer '5' is not one of"):
        forward({"5": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="same number of masks"):
        forward({"1": torch.ones(2, 3), "3": torch.ones(3, 4)})
    with pytest.raises(ValueError, match="layers: '9' is not a module"):
        MaskedForward(model, small_inputs.float(), ["9"])
    with pytest.raises(ValueError, match="rows_per_pass"):
        MaskedForward(model, small_inputs.float(), ["1"], rows_per_pass=0)


def test_a_layer_inside_another_given_layer_is_refused_for_the_split():
    entry = load_model("shapes_vit")
    inputs = torch.randn(2, 3, 64, 64)
    with pytest.raises(PrefixCacheError, match="lie inside other layers"):
        MaskedForward(entry.model, inputs, ["blocks.0.attn.proj:input", "blocks.0"])
    MaskedForward(entry.model, inputs, ["blocks.0.attn.proj:input", "blocks.0"], cache_prefix=False)  # the plain path can


# --------------------------------------------------------------------------- selection, areas, scores


def test_channel_counts_follow_the_authors_int_rule_and_pct_is_checked():
    assert control.n_selected(16, 1) == 0 and control.n_selected(2048, 2) == 40 and control.n_selected(64, 99) == 63
    for bad in (0, -5, 101, "5", True):
        with pytest.raises(ValueError, match="pct"):
            control.n_selected(64, bad)
    np.testing.assert_array_equal(control.top_channels(np.array([5, 1, 7, 0, 2, 3, 4, 6, 8, 9]), 30), [5, 1, 7])


def test_channel_masks_ablate_or_preserve_and_refuse_out_of_range_channels():
    np.testing.assert_array_equal(control.channel_mask(4, [1, 3], "ablate"), [1, 0, 1, 0])
    np.testing.assert_array_equal(control.channel_mask(4, [1, 3], "preserve"), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="channels: indices \\[4\\] are out of range for a layer of 4 channels"):
        control.channel_mask(4, [1, 4])
    with pytest.raises(ValueError, match="mode"):
        control.channel_mask(4, [1], "remove")
    model = tiny_convnet()
    with pytest.raises(ValueError, match="out of range for a layer of 3 channels"):
        with control.ablate(model, {"0": [7]}):
            model(torch.zeros(1, 2, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="layers: '7' is not a module"):
        with control.ablate(model, {"7": [0]}):
            pass


def test_channel_weights_of_one_or_two_features_per_channel():
    rows = np.array([[1.0, 0.0, 2.0, 0.5, 3.0, 0.0]])  # 3 channels: positive parts, then |negative parts|
    np.testing.assert_array_equal(control.channel_weights(rows, 3, "sum"), [[1.5, 3.0, 2.0]])
    np.testing.assert_array_equal(control.channel_weights(rows, 3, "positive"), [[1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(control.channel_weights(rows, 6), rows)
    with pytest.raises(ValueError, match="rows: the SAE has 6 features, the layer 4 channels"):
        control.channel_weights(rows, 4)


def test_rankings_put_the_highest_weight_first_and_break_ties_by_seed():
    weights = np.array([[0.0, 3.0, 1.0, 0.0, 0.0, np.nan]])
    ranking = control.rank_channels(weights, seed=0)[0]
    assert ranking[:2].tolist() == [1, 2] and ranking[-1] == 5 and sorted(ranking[2:5]) == [0, 3, 4]
    orders = {tuple(control.rank_channels(weights, seed=s)[0, 2:5]) for s in range(20)}
    assert len(orders) > 1  # ties are not always broken by channel index
    dictionary = np.array([[0.0, 1.0, 0.2], [0.9, 0.0, 0.1], [0.0, 0.0, 1.0]])
    corr = np.array([[0.1, 0.8], [0.7, 0.2], [0.6, 0.1]])  # class 0: modes 1, 2; class 1: modes 0, 1
    np.testing.assert_array_equal(control.mode_rankings(dictionary, corr, 3, top=1), [[0, 2, 1], [1, 2, 0]])
    np.testing.assert_array_equal(control.mode_rankings(dictionary, corr, 3, top=2)[0], [2, 0, 1])  # 0.9, 0, 1.1
    np.testing.assert_array_equal(control.channel_rankings(corr), [[1, 2, 0], [0, 1, 2]])  # as channels x classes


def test_auc_and_performance_score_against_hand_computed_values():
    pcts = [0, 10, 20]
    assert control.auc(pcts, [1, 0.5, 0]) == pytest.approx(10.0)  # 7.5 + 2.5
    assert control.auc(pcts, [1, 1, 1]) == pytest.approx(20.0)
    assert control.performance_score(pcts, [1, 0.5, 0], [1, 1, 1]) == pytest.approx(-0.5)
    assert control.performance_score(pcts, [1, 1, 1], [1, 0.5, 0]) == pytest.approx(1.0)
    curve = np.array([1, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert control.performance_score(control.PAPER_PCTS, curve, curve) == 0
    assert control.auc(control.PAPER_PCTS, curve) == pytest.approx(np.trapezoid(curve, control.PAPER_PCTS))
    with pytest.raises(ValueError, match="strictly increasing"):
        control.auc([0, 20, 10], [1, 1, 1])
    with pytest.raises(ValueError, match="zero area"):
        control.performance_score(pcts, [1, 1, 1], [0, 0, 0])


# --------------------------------------------------------------------------- experiments on a toy with known answers


class ChannelPerClass(nn.Module):
    """Channel k of ``hidden`` is class k's evidence (the input copied through a layer); an extra
    last output, "none of them", wins when a class's channel is zeroed."""

    def __init__(self, n):
        super().__init__()
        self.hidden = nn.Linear(n, n, bias=False)
        self.readout = nn.Linear(n, n + 1)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.eye(n))
            self.readout.weight.copy_(torch.eye(n + 1, n))
            self.readout.bias.copy_(torch.cat([torch.zeros(n), torch.tensor([0.5])]))

    def forward(self, x):
        return self.readout(self.hidden(x))


@pytest.fixture
def toy():
    n, per_class = 10, 3
    labels = np.repeat(np.arange(n), per_class)
    noise = 0.1 * torch.rand(len(labels), n, generator=torch.Generator().manual_seed(0))
    inputs = torch.eye(n)[labels] + noise
    return ChannelPerClass(n), inputs, labels, np.arange(n)


def test_class_control_removes_exactly_the_target_when_its_own_channel_is_ablated(toy):
    model, inputs, labels, classes = toy
    forward = MaskedForward(model, inputs, ["hidden"])
    weights = {"hidden": np.eye(10)}  # class k's weight is on channel k
    ablated = control.class_control(forward, weights, labels, classes, pct=10, mode="ablate")  # 1 channel
    np.testing.assert_array_equal(ablated, 1 - np.eye(10))
    target, others = control.target_and_others(ablated)
    np.testing.assert_array_equal(target, np.zeros(10))
    np.testing.assert_array_equal(others, np.ones(10))
    preserved = control.class_control(forward, weights, labels, classes, pct=10, mode="preserve")
    np.testing.assert_array_equal(np.diag(preserved), np.ones(10))
    with pytest.raises(ValueError, match="classes: \\[42\\] have no images"):
        control.class_control(forward, {"hidden": np.eye(11)[:, :10]}, labels, np.append(classes, 42), pct=10)
    with pytest.raises(ValueError, match="weights\\['hidden'\\]: needs shape \\(K=10, C=10\\)"):
        control.class_control(forward, {"hidden": np.eye(9)}, labels, classes, pct=10)


def test_control_sweep_separates_target_and_off_target_for_the_true_ranking_only(toy):
    model, inputs, labels, classes = toy
    forward = MaskedForward(model, inputs, ["hidden"], rows_per_pass=64)
    true = np.stack([np.roll(np.arange(10), -k) for k in range(10)])  # class k: channel k first
    sweep = control.control_sweep(forward, "hidden", labels, classes, {"true": true}, pcts=[10, 50, 100], n_trials=8)
    first = sweep[(sweep["source"] == "true") & (sweep["pct"] == 10)]
    assert (first["ratio_target"] == 0).all() and (first["ratio_off"] == 1).all()
    assert (sweep[sweep["pct"] == 100][["ratio_target", "ratio_off"]] == 0).all().all()
    assert set(sweep["source"]) == {"true", "random channels"} and sweep["trial"].nunique() == 8
    assert (sweep["target"] != sweep["off_target"]).all()
    # one seed draws the same trials whatever else is drawn (the random orders come from their own stream)
    without_random = control.control_sweep(forward, "hidden", labels, classes, {"true": true}, pcts=[10], n_trials=8, random_source=False)
    trials = sweep[(sweep["source"] == "true") & (sweep["pct"] == 10)][["target", "off_target"]].to_numpy()
    np.testing.assert_array_equal(without_random[["target", "off_target"]].to_numpy(), trials)
    scores = control.scores(sweep)
    assert scores["true"] < scores["random channels"] and scores["true"] < 0
    curves = control.curves(sweep)
    assert curves.loc[("true", 10.0), "n_channels"] == 1 and curves.loc[("true", 10.0), "trials"] == 8
    with pytest.raises(ValueError, match="rankings\\['true'\\]: needs shape \\(K=10, C=10\\)"):
        control.control_sweep(forward, "hidden", labels, classes, {"true": true[:5]})
    with pytest.raises(ValueError, match="layer: 'readout' is not among"):
        control.control_sweep(forward, "readout", labels, classes, {"true": true})


def test_group_control_removes_the_group_and_spares_the_others(toy):
    model, inputs, labels, classes = toy
    forward = MaskedForward(model, inputs, ["hidden"])
    weights = {"hidden": np.isin(np.arange(10), [0, 1, 2]).astype(float)}
    table = control.group_control(forward, weights, labels, [0, 1, 2], [30], "ablate", top_k=1)
    assert table.loc[0, "group_before"] == 1 and table.loc[0, "group_after"] == 0
    assert table.loc[0, "others_after"] == 1 and table.loc[0, "n_channels"] == {"hidden": 3}
    preserved = control.group_control(forward, weights, labels, [0, 1, 2], [30], "preserve", top_k=1)
    assert preserved.loc[0, "group_after"] == 1 and preserved.loc[0, "others_after"] == 0
    with pytest.raises(ValueError, match="members"):
        control.group_control(forward, weights, labels, list(range(10)), [30])


def test_class_accuracy_counts_top_k_hits_per_class():
    outputs = torch.tensor([[3.0, 2.0, 1.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [3.0, 1.0, 2.0]])
    labels = np.array([0, 2, 1, 1])
    np.testing.assert_array_equal(control.class_accuracy(outputs, labels, [0, 1, 2], top_k=1), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(control.class_accuracy(outputs, labels, [0, 1, 2], top_k=2), [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="top_k"):
        control.class_accuracy(outputs, labels, [0], top_k=4)


def test_images_per_class_and_evenly_spaced_layers():
    labels = np.array([1, 0, 1, 0, 1, 2])
    np.testing.assert_array_equal(control.images_per_class(labels, [0, 1], 2), [1, 3, 0, 2])
    with pytest.raises(ValueError, match="class 2 has 1 images"):
        control.images_per_class(labels, [0, 2], 2)
    assert control.evenly_spaced(list("abcdefghijklmnop"), 8) == list("acegjlnp")
    assert control.evenly_spaced(list("abc"), None) == list("abc") and control.evenly_spaced(list("abcde"), 1) == ["a"]


# --------------------------------------------------------------------------- the planted check


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    experiment = Experiment.from_preset("tiny", tmp_path_factory.mktemp("runs"), per_class=30, steps=5)
    store = experiment.store()
    labels = store.field("label")
    fits = fit_layers(store, SAESettings(lr=1e-3, epochs=150, patience=20), layers=store.layers[-3:])
    return experiment, store, labels, fits


def test_ablating_a_textures_modes_removes_that_textures_classes_more_than_the_others(planted):
    experiment, store, labels, fits = planted
    _, classes = modes.indicators(labels)
    groups = control.superclass_groups(experiment.dataset, classes)
    textures = {name: members for name, members in groups.items() if name.startswith("texture")}
    assert len(textures) == 4 and all(len(members) == 4 for members in textures.values())
    rows = control.images_per_class(labels, classes, 10)
    inputs, control_labels = experiment.inputs(rows)
    late = store.layers[-3:]
    forward = MaskedForward(experiment.entry.model, inputs, late)
    group_indicator = modes.superclass_indicators(labels, textures)
    weights = {layer: control.group_weights(fits[layer, "contributions"], group_indicator, forward.channels[layer]) for layer in late}
    drops = []
    for g, members in enumerate(textures.values()):
        table = control.group_control(forward, {layer: weights[layer][g] for layer in late}, control_labels.numpy(), members, [10],
                                      "ablate", top_k=1).iloc[0]
        drops.append((table["group_after"] / table["group_before"], table["others_after"] / table["others_before"]))
    group_ratio, others_ratio = np.array(drops).T
    assert (group_ratio < others_ratio).sum() >= 3, drops  # at least 3 of the 4 textures
    assert np.median(group_ratio) < 0.5 < np.median(others_ratio), drops
    # superclass_control: the same tables as the loop above, for every superclass and mode
    curves = control.superclass_control(forward, fits, labels, control_labels.numpy(), textures, {"ablate": [10], "preserve": [10, 37]},
                                        top_k=1)
    assert set(curves) == {(name, mode) for name in textures for mode in control.MODES}
    for g, name in enumerate(textures):
        assert curves[name, "ablate"].iloc[0]["group_after"] / curves[name, "ablate"].iloc[0]["group_before"] == drops[g][0]
        assert list(curves[name, "preserve"]["pct"]) == [10, 37]
    details = control.superclass_details(curves, textures, control_labels.numpy(), 10, 37)["groups"]
    for name, members in textures.items():
        preserved = curves[name, "preserve"].set_index("pct").loc[37]
        assert details[name]["preserve_group_after"] == preserved["group_after"]
        assert details[name]["classes"] == 4 and details[name]["image_share"] == pytest.approx(4 / 16)
    with pytest.raises(ValueError, match="preserve_pct: 9 is not among the pcts of the preserve table"):
        control.superclass_details(curves, textures, control_labels.numpy(), 10, 9)
    with pytest.raises(ValueError, match="pcts: a mapping of mode"):
        control.superclass_control(forward, fits, labels, control_labels.numpy(), textures, {"remove": [10]})


# --------------------------------------------------------------------------- shares scaled to the network


def test_resnet50_widths_and_relative_depths():
    assert len(control.RESNET50_BLOCK_WIDTHS) == 16 and sum(control.RESNET50_BLOCK_WIDTHS) == 3 * 256 + 4 * 512 + 6 * 1024 + 3 * 2048
    assert control.relative_depths(4) == [0.25, 0.5, 0.75, 1.0]
    # the same number of layers maps one to one; a network's last layer to the reference's last
    assert [control.reference_position(d, 16) for d in control.relative_depths(16)] == list(range(16))
    assert control.reference_position(1.0, 16) == 15 and control.reference_position(1 / 6, 16) == 2
    assert [control.reference_position(d, 16) for d in control.relative_depths(6)] == [2, 5, 7, 10, 13, 15]


def test_width_matched_pcts_select_as_many_channels_as_resnet50_at_the_same_depth():
    # EfficientNet-Lite0's sixteen blocks (torchvision-style widths of its stages)
    widths = [16] + [24] * 2 + [40] * 2 + [80] * 3 + [112] * 3 + [192] * 4 + [320]
    layers = [f"blocks.{i}" for i in range(16)]
    channels = dict(zip(layers, widths))
    late = layers[-3:]
    shares = control.width_matched_pcts(layers, channels, late, 2)
    # ResNet-50's last three blocks (2,048 wide) at 2%: int(2048 * 2 / 100) = 40 channels each
    assert {layer: control.n_selected(channels[layer], shares[layer]) for layer in late} == {layer: 40 for layer in late}
    assert {layer: control.n_selected(channels[layer], 2) for layer in late} == {"blocks.13": 3, "blocks.14": 3, "blocks.15": 6}
    late_channels = {layer: channels[layer] for layer in late}  # the same counts through selected_counts, per layer and shared
    assert control.selected_counts(late_channels, shares) == {layer: 40 for layer in late}
    assert list(control.selected_counts(late_channels, 2).items()) == [("blocks.13", 3), ("blocks.14", 3), ("blocks.15", 6)]
    # every layer, every share: the count is the reference's, capped at the layer's width
    for pct in (1, 2, 5, 9, 18, 37, 50):
        every = control.width_matched_pcts(layers, channels, layers, pct)
        for i, layer in enumerate(layers):
            expected = min(control.n_selected(control.RESNET50_BLOCK_WIDTHS[i], pct), widths[i])
            assert control.n_selected(widths[i], every[layer]) == expected, (pct, layer)
    # ResNet-50 matched to itself is the share itself
    itself = dict(zip(layers, control.RESNET50_BLOCK_WIDTHS))
    assert all(control.n_selected(itself[l], p) == control.n_selected(itself[l], 2)
               for l, p in control.width_matched_pcts(layers, itself, layers, 2).items())
    assert control.width_matched_pcts(layers, channels, ["blocks.0"], 50)["blocks.0"] == 100.0  # 128 of 16 channels: all
    with pytest.raises(ValueError, match="perturbed: \\['fc'\\] are not among layers"):
        control.width_matched_pcts(layers, channels, ["fc"], 2)
    with pytest.raises(ValueError, match="channels: needs the channel count"):
        control.width_matched_pcts(layers, {}, late, 2)
    with pytest.raises(ValueError, match="pct: a percentage"):
        control.width_matched_pcts(layers, channels, late, 0)


def test_layers_at_the_released_superclass_runs_depths():
    # the authors' superclass run perturbs ResNet-50's blocks 12-15 of 16 (the last quarter of the depth)
    sixteen = [f"blocks.{i}" for i in range(16)]
    assert control.layers_at_reference_depths(sixteen) == sixteen[12:]
    assert control.layers_at_reference_depths(sixteen, positions=(0,)) == ["blocks.0"]
    # another depth: the layers whose relative depth (position / n) exceeds 12/16
    for n in (3, 6, 8, 20, 33):
        layers = [f"l{i}" for i in range(n)]
        expected = [layer for i, layer in enumerate(layers) if (i + 1) / n > 12 / 16]
        assert control.layers_at_reference_depths(layers) == expected, n
    assert control.layers_at_reference_depths(["only"]) == ["only"]
    assert (control.RELEASED_SUPERCLASS_ABLATE_PCT, control.RELEASED_SUPERCLASS_PRESERVE_PCT, control.PRESERVE_PCT) == (9, 37, 37)
    with pytest.raises(ValueError, match="positions: 16 is beyond the reference's 16 layers"):
        control.layers_at_reference_depths(sixteen, positions=(16,))
    with pytest.raises(ValueError, match="positions: no layer of the 2 lies at the relative depth"):
        control.layers_at_reference_depths(["a", "b"], positions=(0,))
    with pytest.raises(TypeError, match="layers: the network's layers in order"):
        control.layers_at_reference_depths("blocks.0")


def test_class_control_takes_a_percentage_per_layer(toy):
    model, inputs, labels, classes = toy
    forward = MaskedForward(model, inputs, ["hidden"])
    weights = {"hidden": np.stack([np.roll(np.linspace(1, 0.1, 10), k) for k in range(10)])}  # class k: channel k first
    per_layer = control.class_control(forward, weights, labels, classes, pct={"hidden": 10})
    np.testing.assert_array_equal(per_layer, control.class_control(forward, weights, labels, classes, pct=10))
    # 20% ablates a class's channel and the next one: both classes lose their images
    two = control.class_control(forward, weights, labels, classes, pct={"hidden": 20})
    assert (np.diag(two) == 0).all() and (np.diag(two, 1) == 0).all()
    with pytest.raises(ValueError, match="pct: a percentage per perturbed layer needs exactly the layers of weights"):
        control.class_control(forward, weights, labels, classes, pct={"other": 10})
    with pytest.raises(ValueError, match="pct: a percentage"):
        control.class_control(forward, weights, labels, classes, pct={"hidden": 120})


def test_median_target_is_the_class_whose_own_ratio_is_the_median():
    ratios = np.full((5, 5), 0.9)
    np.fill_diagonal(ratios, [0.4, 0.1, 0.3, 0.9, 0.2])  # sorted: 0.1 (1), 0.2 (4), 0.3 (2), 0.4 (0), 0.9 (3)
    assert control.median_target(ratios) == 2
    even = ratios[:4, :4].copy()  # own ratios 0.4, 0.1, 0.3, 0.9: the lower middle one is 0.3 (class 2)
    assert control.median_target(even) == 2
    tied = np.full((3, 3), 0.5)  # every target alike: the lowest position among the middle
    assert control.median_target(tied) == 1
    unknown = ratios.copy()
    unknown[[1, 4], [1, 4]] = np.nan  # classes never right before the perturbation do not count
    assert control.median_target(unknown) == 0  # 0.3 (2), 0.4 (0), 0.9 (3): the middle is class 0
    with pytest.raises(ValueError, match="ratios: every target's own ratio is NaN"):
        control.median_target(np.full((3, 3), np.nan))

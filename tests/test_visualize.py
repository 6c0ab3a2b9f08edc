"""codec.visualize: input-space maps against a literal per-unit loop, completeness, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from codec import contributions
from codec.attribution import INTEGRATION_RULES
from codec.checks import ArgumentTypeError
from codec.visualize import (
    channel_selection,
    claim_details,
    completeness_table,
    consistency_table,
    cross_class_consistency,
    display_mask,
    image_features,
    input_maps,
    layer_at_authors_depth,
    map_descriptors,
    map_scores,
    masked_image,
    mass_shares,
    mode_loadings_rows,
    mode_selection,
    random_selections,
)
from codec.visualize.consistency import _rows_of_two_classes
from tests.conftest import tiny_convnet
from tests.reference import literal_input_maps

LAYER = "2"  # the second conv of tiny_convnet: (B, 4, 5, 5)


@pytest.fixture
def model():
    return tiny_convnet(seed=3)


@pytest.fixture
def images():
    torch.manual_seed(5)
    return torch.randn(3, 2, 5, 5, dtype=torch.float64)


def _selections():
    return channel_selection([[0, 2], [1], [3, 1, 0]], 4, weights=[[1.0, 0.5], [2.0], [1.0, -1.0, 0.25]]).double()


@pytest.mark.parametrize("method", ["inputgrad", "ig"])
def test_maps_equal_the_literal_per_unit_loop(model, images, method):
    selections = _selections()
    result = input_maps(model, images, LAYER, selections, method=method, steps=4)
    points = [(1.0, 1.0)] if method == "inputgrad" else list(zip(*INTEGRATION_RULES["trapezoid"].points_and_weights(4)))
    classes = model(images).argmax(1)
    for b in range(images.shape[0]):
        for m in range(selections.shape[0]):
            positive, negative = literal_input_maps(model, model[2], images[b : b + 1], selections[m], int(classes[b]), points)
            torch.testing.assert_close(result.positive[b, m], positive, atol=1e-12, rtol=1e-9)
            torch.testing.assert_close(result.negative[b, m], negative, atol=1e-12, rtol=1e-9)
    assert result.positive.abs().sum() > 0 and result.negative.abs().sum() > 0  # both parts are exercised


def test_pixel_sums_equal_the_selected_channels_inputgrad_contributions(model, images):
    selections = _selections()
    result = input_maps(model, images, LAYER, selections)
    per_channel = contributions(model, images, LAYER, method="inputgrad", reduce="sum")[LAYER]  # (B, C)
    expected = per_channel @ selections.T  # (B, M)
    torch.testing.assert_close(result.pixel_sums().sum(-1), expected, atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(result.unit_totals.sum(-1), expected, atol=1e-12, rtol=1e-9)
    assert result.completeness_error().max() < 1e-10
    # the E/I split: the positive part sums to the sum of the positive unit contributions
    units = contributions(model, images, LAYER, method="inputgrad")[LAYER]  # (B, C, 5, 5)
    weighted_positive = torch.einsum("bchw,mc->bm", units.clamp(min=0), selections)
    torch.testing.assert_close(result.unit_totals[..., 0], weighted_positive, atol=1e-12, rtol=1e-9)


def test_maps_of_a_partition_add_up_to_the_input_gradient_map(model, images):
    partition = channel_selection([[0, 3], [1], [2]], 4).double()
    everything = channel_selection([[0, 1, 2, 3]], 4).double()
    parts = input_maps(model, images, LAYER, partition).maps.sum(1)
    whole = input_maps(model, images, LAYER, everything).maps[:, 0]
    x = images.clone().requires_grad_(True)
    output = model(x)
    (gradient,) = torch.autograd.grad(output.gather(1, output.argmax(1, keepdim=True)).sum(), x)
    torch.testing.assert_close(parts, whole, atol=1e-12, rtol=1e-9)
    torch.testing.assert_close(whole, gradient * images, atol=1e-12, rtol=1e-9)  # every path crosses the layer


def test_ig_maps_sum_to_the_path_integral_and_approach_hidden_ig(model, images):
    selections = channel_selection([[0, 1, 2, 3]], 4).double()
    coarse = input_maps(model, images, LAYER, selections, method="ig", steps=4)
    assert coarse.completeness_error().max() < 1e-10
    fine = input_maps(model, images, LAYER, selections, method="ig", steps=400)
    hidden_ig = contributions(model, images, LAYER, method="ig", steps=400, reduce="sum")[LAYER].sum(1)
    torch.testing.assert_close(fine.pixel_sums().sum(-1)[:, 0], hidden_ig, atol=1e-4, rtol=1e-4)
    # the whole layer on the whole path: y(x) - y(0)
    y_base = model(torch.zeros_like(images)).gather(1, coarse.target_classes).squeeze(1)
    torch.testing.assert_close(fine.pixel_sums().sum(-1)[:, 0], coarse.target_at_input - y_base, atol=1e-4, rtol=1e-4)


def test_per_image_selections_equal_separate_calls(model, images):
    per_image = torch.stack([_selections()[[0, 1]], _selections()[[2, 0]], _selections()[[1, 2]]])  # (B, 2, C)
    together = input_maps(model, images, LAYER, per_image)
    for b in range(3):
        alone = input_maps(model, images[b : b + 1], LAYER, per_image[b])
        torch.testing.assert_close(together.maps[b], alone.maps[0], atol=1e-12, rtol=1e-9)


def test_class_target_with_softmax_and_baseline(model, images):
    classes = torch.tensor([1, 0, 4])
    baseline = torch.full_like(images[0], 0.3)
    selections = _selections()
    result = input_maps(model, images, LAYER, selections, target=("class", classes), softmax=True, baseline=baseline)
    per_channel = contributions(model, images, LAYER, method="inputgrad", reduce="sum", target=("class", classes),
                                softmax=True, baseline=baseline)[LAYER]
    torch.testing.assert_close(result.pixel_sums().sum(-1), per_channel @ selections.T, atol=1e-12, rtol=1e-9)
    assert result.target_classes.squeeze(1).tolist() == classes.tolist()


def test_mode_selection_keeps_the_top_weighted_channels():
    dictionary = np.array([[0.1, 0.9, 0.0, 0.5, 0.2, 0.3], [1.0, 0.0, 0.0, 0.0, 0.0, 0.4]])  # 2 modes over 2C features, C = 3
    plain = mode_selection(dictionary, [0, 1], n_channels=3, top=2)
    # mode 0: channel weights (0.1+0.5, 0.9+0.2, 0.0+0.3) = (0.6, 1.1, 0.3) -> channels 1, 0
    assert plain.tolist() == [[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    weighted = mode_selection(dictionary, [0], n_channels=3, top=2, weighted=True)
    torch.testing.assert_close(weighted, torch.tensor([[0.6 / 1.1, 1.0, 0.0]]))
    assert (random_selections(10, 3, 5, seed=1) != 0).sum(1).tolist() == [3] * 5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, x: mode_selection(np.ones((4, 4)), [4], 4), "modes: mode 4 is out of range; the SAE has 4 modes"),
        (lambda m, x: mode_selection(np.ones((4, 4)), [], 4), "modes: give a non-empty list"),
        (lambda m, x: channel_selection([[]], 4), "channels: selection 0 is empty"),
        (lambda m, x: channel_selection([[0, 4]], 4), "outside \\[0, 4\\)"),
        (lambda m, x: input_maps(m, x, LAYER, torch.zeros(1, 4)), "selections: selection 0 selects no channel"),
        (lambda m, x: input_maps(m, x, LAYER, torch.ones(1, 3)), "selections: 3 channel weights per selection; layer '2' has 4"),
        (lambda m, x: input_maps(m, x, LAYER, torch.ones(2, 2, 4)), "selections: shape \\(2, 2, 4\\)"),
        (lambda m, x: input_maps(m, x[0], LAYER, torch.ones(1, 4)), "inputs: .*add a batch dimension with inputs.unsqueeze"),
        (lambda m, x: input_maps(m, x[:, :1], LAYER, torch.ones(1, 4)), "inputs: the model's forward pass failed"),
        (lambda m, x: input_maps(m, x, "9", torch.ones(1, 4)), "layers: '9' is not a module"),
        (lambda m, x: input_maps(m, x, LAYER, torch.ones(1, 4), method="smooth"), "method: unknown method"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_parameter(model, images, call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(model, images)


def test_a_layer_the_model_does_not_run_is_refused(images):
    class WithUnused(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.unused = tiny_convnet(seed=0), nn.Conv2d(4, 4, 1).double()

        def forward(self, x):
            return self.net(x)

    model = WithUnused()
    with pytest.raises(RuntimeError, match="layers: \\['unused'\\] did not run"):
        input_maps(model, images, "unused", torch.ones(1, 4))


def test_display_mask_follows_the_authors_recipe():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(2, 3, 12, 12))
    mask = display_mask(maps, filter_size=1, contrast=1.0)
    manual = np.abs(maps).mean(1)
    manual = (manual - manual.min(axis=(1, 2), keepdims=True)) / np.ptp(manual, axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(mask, manual)
    contrasted = display_mask(maps, contrast=7.0)
    assert contrasted.min() >= 0 and contrasted.max() == 1.0 and (contrasted == 1.0).mean() > (mask == 1.0).mean()
    spike = np.zeros((1, 3, 12, 12))
    spike[0, :, 5, 5] = 1.0  # a single hot pixel is removed by the median filter
    assert display_mask(spike, filter_size=4).max() == 0.0
    image = np.full((12, 12, 3), 0.5)
    assert masked_image(image, mask[0]).shape == (12, 12, 3)
    with pytest.raises(ValueError, match="contrast"):
        display_mask(maps, contrast=0)


def test_display_mask_filters_as_the_authors_call_does_border_included():
    from scipy.ndimage import median_filter

    rng = np.random.default_rng(1)
    maps = rng.normal(size=(2, 3, 16, 16))
    def authors(one, **border):
        picture = np.abs(one).transpose(1, 2, 0)
        mean = np.stack([median_filter(picture[:, :, c], size=4, **border) for c in range(3)], axis=2).mean(axis=2)
        return np.clip((mean - mean.min()) / (mean.max() - mean.min()) * 7, 0, 1)

    np.testing.assert_allclose(display_mask(maps, filter_size=4, contrast=7.0), np.stack([authors(one) for one in maps]), atol=1e-12)
    nearest = np.stack([authors(one, mode="nearest") for one in maps])
    assert not np.allclose(display_mask(maps), nearest)  # the border mode matters, so the test can tell them apart


def test_a_shared_scale_keeps_a_small_map_dim_beside_a_large_one():
    rng = np.random.default_rng(2)
    large = rng.normal(size=(3, 12, 12))
    maps = np.stack([large, 0.1 * large])
    each = display_mask(maps, filter_size=1, contrast=1.0)
    np.testing.assert_allclose(each[0], each[1])  # the authors' display: the two look the same
    shared = display_mask(maps, filter_size=1, contrast=1.0, scale="shared")
    assert shared.max() == 1.0 and shared[1].max() < 0.15 and np.isclose(shared[0], each[0], atol=0.1).all()
    with pytest.raises(ValueError, match="scale"):
        display_mask(maps, scale="per-row")


def test_mass_shares_on_planted_regions():
    maps = np.zeros((1, 3, 4, 4))
    maps[0, 0, :2, :2] = 3.0  # all mass on the object's 4 pixels
    maps[0, 1, 3, 3] = -1.0  # and one unit on the distractor
    objects = np.zeros((1, 4, 4), bool)
    objects[0, :2, :2] = True
    distractors = np.zeros((1, 4, 4), bool)
    distractors[0, 3, 3] = True
    shares = mass_shares(maps, {"object": objects, "distractors": distractors, "background": ~(objects | distractors)})
    assert shares["mass"]["object"][0] == pytest.approx(12 / 13) and shares["mass"]["distractors"][0] == pytest.approx(1 / 13)
    assert shares["area"]["object"][0] == pytest.approx(4 / 16)
    with pytest.raises(ValueError, match="regions: the regions overlap"):
        mass_shares(maps, {"a": objects, "b": objects})


def test_cross_class_consistency_separates_a_consistent_selection_from_a_random_one():
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(8, 3, 16, 16))
    features = image_features(images)
    assert features.shape == (8, 11, 16, 16)
    np.testing.assert_allclose(features.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    # selection 0 always highlights the brightest red pixels; selection 1 random pixels
    maps = np.zeros((8, 2, 3, 16, 16))
    maps[:, 0] = (images[:, :1] > 0.8).astype(float)
    maps[:, 1] = rng.uniform(size=(8, 1, 16, 16)) > 0.8
    descriptors = map_descriptors(maps, features)
    consistency = cross_class_consistency(descriptors, labels=np.arange(8) % 4)
    assert consistency[0] > 0.8 and consistency[0] > consistency[1] + 0.3
    with pytest.raises(ValueError, match="labels: the images need at least two classes"):
        cross_class_consistency(descriptors, np.zeros(8))


def test_map_scores_and_claim_details_on_planted_regions(model, images):
    torch.manual_seed(0)
    inputs = torch.randn(6, 2, 5, 5, dtype=torch.float64)
    labels = np.array([0, 1, 2, 0, 1, 2])
    objects = np.zeros((6, 5, 5), bool)
    objects[:, 1:3, 1:3] = True
    regions = {"object": objects, "background": ~objects}
    groups = {"first": ([0, 1, 2], {"contribution modes": torch.tensor([1.0, 1.0, 0, 0]), "single channels": torch.tensor([0, 0, 1.0, 0])}),
              "second": ([3, 4, 5], {"contribution modes": torch.tensor([0, 1.0, 0, 1.0]), "single channels": torch.tensor([1.0, 0, 0, 0])})}
    table = map_scores(model, inputs, labels, LAYER, groups, regions=regions, n_random=5, target=("class", torch.tensor(labels)),
                       softmax=True)
    assert table.shape[0] == 2 * 3 and set(table["source"]) == {"contribution modes", "single channels", "random channels"}
    # a row's numbers are those of its own maps: recompute the first group's contribution-mode shares
    maps = input_maps(model, inputs[:3], LAYER, groups["first"][1]["contribution modes"][None].double(), target=("class", torch.tensor(labels[:3])),
                      softmax=True).maps[:, 0]
    expected = mass_shares(maps, {k: v[:3] for k, v in regions.items()})["mass"]["object"].mean()
    row = table[(table["group"] == "first") & (table["source"] == "contribution modes")].iloc[0]
    assert row["mass_object"] == pytest.approx(expected) and row["area_object"] == pytest.approx(4 / 25)
    details = claim_details(table, LAYER, "two groups")
    assert details["masks"] and set(details["groups"]) == {"first", "second"}
    assert details["groups"]["first"]["contribution modes"]["consistency"] == pytest.approx(row["consistency"])


def test_completeness_table_and_the_authors_depth(model, images):
    result = input_maps(model, images, LAYER, _selections())
    table = completeness_table(result, ["a", "b", "c"])
    np.testing.assert_allclose(table["pixel sum"], table["channels' contributions"], rtol=1e-9)
    assert layer_at_authors_depth([f"l{i}" for i in range(16)]) == "l7"
    assert layer_at_authors_depth([f"l{i}" for i in range(6)]) == "l2"
    with pytest.raises(ValueError, match="names: 2 names for 3 maps"):
        completeness_table(result, ["a", "b"])


def test_mode_loadings_rows_leave_out_the_class():
    codes = np.array([[0.9, 0], [0.5, 0], [0.0, 1], [0.7, 0], [0.2, 0]])
    labels = np.array([3, 1, 1, 2, 2])
    assert mode_loadings_rows(codes, 0, labels, exclude=3, n=5).tolist() == [3, 1, 4, 2]  # row 0 is the class
    assert mode_loadings_rows(codes, 0, labels, exclude=[], n=2).tolist() == [0, 3]
    with pytest.raises(ValueError, match="mode: 2 is out of range"):
        mode_loadings_rows(codes, 2, labels, 3, 2)


def test_the_rows_of_a_group_hold_two_classes_even_when_the_top_loadings_are_one_class():
    codes = np.array([[9.0], [1.0], [8.0], [7.0], [0.5], [2.0]])
    labels = np.array([0, 1, 2, 2, 3, 3])
    # class 0's mode: the top two of the other classes are both class 2; the best of another class replaces the second
    assert _rows_of_two_classes(codes, 0, labels, 0, 2).tolist() == [2, 5]
    assert _rows_of_two_classes(codes, 0, labels, 0, 3).tolist() == [2, 3, 5]  # already two classes: as ranked
    two = np.array([0, 1, 1, 1, 1, 1])  # a dataset of two classes: the own class makes the second
    assert _rows_of_two_classes(codes, 0, two, 0, 2).tolist() == [2, 0]


def test_consistency_table_sets_each_group_against_its_sources_and_chance():
    import pandas as pd

    rows = [dict(group=group, source=source, consistency=10 * g + s, chance_95=0.5 + g, images=10 + g)
            for g, group in enumerate(["texture b", "texture a"]) for s, source in enumerate(["contribution modes", "random channels"])]
    table = consistency_table(pd.DataFrame(rows))
    assert list(table.index) == ["texture b", "texture a"]  # the groups' own order, not sorted
    assert list(table.columns) == ["contribution modes", "random channels", "random: 95th pct.", "images"]
    assert table.loc["texture a", "random channels"] == 11 and table.loc["texture b", "contribution modes"] == 0
    assert table.loc["texture a", "random: 95th pct."] == 1.5 and table.loc["texture a", "images"] == 11
    with pytest.raises(ArgumentTypeError, match="table"):
        consistency_table(pd.DataFrame({"group": ["a"]}))

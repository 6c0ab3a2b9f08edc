"""codec.reduce: sums over positions and the E/I split, for every layout of the channel axis."""

import pytest
import torch
from torch import nn

import codec
from codec.reduce import channel_axis, reduce_units, unit_axes


def literal_ei(values, channel):
    """Per channel: the sums of the positive and of the negative entries, by a loop."""
    moved = values.movedim(channel, 1)
    out = torch.zeros(values.shape[0], 2, moved.shape[1], dtype=values.dtype)
    for b in range(values.shape[0]):
        for c in range(moved.shape[1]):
            for v in moved[b, c].flatten().tolist():
                out[b, 0 if v > 0 else 1, c] += v
    return out


@pytest.mark.parametrize("shape, layout, channel", [
    ((2, 3), "auto", 1),
    ((2, 5, 3), "auto", 2),                 # tokens (B, T, D)
    ((2, 3, 4, 5), "auto", 1),              # conv maps
    ((2, 3, 7), "channels_first", 1),       # Conv1d (B, C, L)
    ((2, 3, 4, 5, 6), "channels_first", 1),  # e.g. a layer over time and space
    ((2, 4, 5, 3), "channels_last", 3),     # channels-last maps (B, H, W, C)
    ((2, 5, 3), "channels_last", 2),
])
def test_ei_split_equals_a_literal_loop_for_every_layout(shape, layout, channel):
    torch.manual_seed(0)
    values = torch.randn(*shape, dtype=torch.float64)
    assert channel_axis(len(shape), layout) == channel
    ei = reduce_units(values, "ei", layout)
    torch.testing.assert_close(ei, literal_ei(values, channel))
    torch.testing.assert_close(reduce_units(values, "sum", layout), ei.sum(1))
    assert reduce_units(values, None, layout) is values


def test_bad_layout_is_refused_by_name():
    with pytest.raises(ValueError, match="layout: unknown layout 'nchw'"):
        reduce_units(torch.zeros(2, 3, 4), "sum", "nchw")
    with pytest.raises(ValueError, match="needs a batch and a channel dimension"):
        unit_axes(1)


def test_the_engine_reduces_a_conv1d_layer_by_its_channels():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6, 4)).double().eval()
    x = torch.randn(2, 2, 6, dtype=torch.float64)
    full = codec.contributions(model, x, ["1"], method="actgrad")
    first = codec.contributions(model, x, ["1"], method="actgrad", reduce="ei", layout="channels_first")
    per_layer = codec.contributions(model, x, ["1"], method="actgrad", reduce="ei", layout={"1": "channels_first"})
    assert first["1"].shape == (2, 2, 3)
    torch.testing.assert_close(first["1"], literal_ei(full["1"], 1))
    torch.testing.assert_close(per_layer["1"], first["1"])
    assert codec.contributions(model, x, ["1"], method="actgrad", reduce="ei")["1"].shape == (2, 2, 6)  # auto: tokens
    with pytest.raises(ValueError, match=r"layout: \['2'\] are not among the requested layers"):
        codec.contributions(model, x, ["1"], reduce="ei", layout={"2": "channels_first"})
    with pytest.raises(ValueError, match="layout: unknown layout"):
        codec.contributions(model, x, ["1"], reduce="ei", layout="sideways")

"""Attention heads as groups of pseudo-channels (Fig. S8), against planted data and a literal loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codec.heads import group_sums, head_groups, head_specialisation, random_head_groups
from codec.stats import hoyer


def test_group_sums_equal_a_literal_loop_for_one_and_many_groupings():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 12))
    groups = random_head_groups(12, 3, 4, seed=1)
    sums = group_sums(values, groups)
    assert sums.shape == (4, 5, 3)
    for r in range(4):
        for n in range(5):
            for g in range(3):
                assert sums[r, n, g] == pytest.approx(sum(values[n, c] for c in groups[r, g]))
    np.testing.assert_allclose(group_sums(torch.as_tensor(values), head_groups(12, 3)), values.reshape(5, 3, 4).sum(-1))
    for grouping in groups:  # each random grouping is a partition
        assert sorted(grouping.ravel().tolist()) == list(range(12))


def test_heads_that_carry_each_image_alone_are_sparser_than_random_groupings():
    rng = np.random.default_rng(0)
    values = np.abs(rng.normal(size=(40, 48))) * 0.01
    owner = rng.integers(0, 6, size=40)
    for n, h in enumerate(owner):  # planted: one head carries almost all of image n's contribution
        values[n, h * 8:(h + 1) * 8] += 1.0
    result = head_specialisation(values, heads=6, n_groupings=30, seed=0)
    assert result["heads"].shape == (40,) and result["random"].shape == (30, 40)
    assert result["median_heads"] > 0.9 > result["median_random"] + 0.4
    assert result["share_above"] == 1.0


def test_heads_without_specialisation_score_like_random_groupings():
    values = np.abs(np.random.default_rng(1).normal(size=(400, 48)))  # no structure: heads are a random grouping
    result = head_specialisation(values, heads=6, n_groupings=40, seed=2)
    assert abs(result["median_heads"] - result["median_random"]) < 0.03
    assert result["share_above"] < 0.15  # about the 5% of chance
    np.testing.assert_allclose(result["heads"], hoyer(values.reshape(400, 6, 8).sum(-1)))


@pytest.mark.parametrize("call, pattern", [
    (lambda: head_groups(384, 5), "heads: 5 heads do not divide the width 384"),
    (lambda: head_groups(384, 1), "heads: give the number of attention heads, an integer >= 2"),
    (lambda: random_head_groups(12, 3, 0), "n_groupings: must be an integer >= 1"),
    (lambda: group_sums(np.zeros((2, 3, 4)), head_groups(12, 3)), r"values: give \(images, pseudo-channels\)"),
    (lambda: group_sums(np.zeros((2, 12)), np.zeros((3, 4), dtype=int)), "groups: .* each partition the D = 12"),
])
def test_bad_head_arguments_are_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_torch_multihead_attention_heads_have_no_hook_point_and_the_error_says_why():
    from torch import nn

    import codec

    class TorchAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(3, 8)
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 4)

        def forward(self, x):  # (B, 3, 5) -> 5 tokens of 3 features
            tokens = self.embed(x.transpose(1, 2))
            return self.head(self.attn(tokens, tokens, tokens, need_weights=False)[0].mean(1))

    with pytest.raises(RuntimeError, match=r"\['attn.out_proj:input'\] did not run.*torch.nn.MultiheadAttention.*"
                                           r"no option turns this off.*'blocks.<i>.attn.proj:input'"):
        codec.contributions(TorchAttention().eval(), torch.randn(2, 3, 5), ["attn.out_proj:input"], method="ig", steps=2)


def test_fused_attention_in_forward_mode_names_the_switch_that_turns_it_off():
    timm = pytest.importorskip("timm")
    from codec import visualize

    model = timm.create_model("vit_small_patch14_dinov2", pretrained=False, img_size=28, num_classes=3, depth=1,
                              embed_dim=12, num_heads=2).eval()
    inputs, selection = torch.randn(1, 3, 28, 28), torch.ones(1, 12)
    if not model.blocks[0].attn.fused_attn:
        pytest.skip("timm did not choose its fused attention here (TIMM_FUSED_ATTN=0)")
    with pytest.raises(NotImplementedError, match="fused attention: for a timm ViT set block.attn.fused_attn = False"):
        visualize.input_maps(model, inputs, "blocks.0", selection)
    model.blocks[0].attn.fused_attn = False
    assert visualize.input_maps(model, inputs, "blocks.0", selection).maps.shape == (1, 1, 3, 28, 28)

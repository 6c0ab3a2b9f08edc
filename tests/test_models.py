"""Model zoo: layer maps and shapes, weights handling, accuracy of the shipped/pretrained models."""

import pytest
import torch

import codec
from codec import models
from codec.data import shapes
from codec.hooks import LayerCapture, resolve_layers
from codec.models import shapes as shapes_models


def layer_shapes(entry, x):
    specs = resolve_layers(entry.model, entry.layers)
    with LayerCapture(specs) as capture, torch.no_grad():
        _, captured = capture.forward(entry.model, x)
    return {name: tuple(t.shape) for name, t in captured.items()}


def test_resnet50_layers_with_random_weights():
    entry = models.load_model("resnet50", pretrained=False)
    assert entry.layers == [f"layer{s}.{b}" for s, n in zip((1, 2, 3, 4), (3, 4, 6, 3)) for b in range(n)]
    found = layer_shapes(entry, torch.randn(1, 3, 224, 224))
    expected_channels = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    expected_side = [56] * 3 + [28] * 4 + [14] * 6 + [7] * 3
    for layer, channels, side in zip(entry.layers, expected_channels, expected_side):
        assert found[layer] == (1, channels, side, side), layer
    assert len(entry.class_names) == 1000 and not entry.model.training


def test_vit_b_16_layer_kinds_with_random_weights():
    entry = models.load_model("vit_b_16", pretrained=False)
    groups = entry.layer_groups
    assert [len(groups[k]) for k in ("tokens", "mlp", "attention")] == [12, 12, 12]
    assert len(entry.layers) == 36
    found = layer_shapes(entry, torch.randn(1, 3, 224, 224))
    for i in range(12):
        assert found[groups["tokens"][i]] == (1, 197, 768)
        assert found[groups["mlp"][i]] == (1, 197, 3072)
        assert found[groups["attention"][i]] == (1, 197, 768)


def test_efficientnet_lite0_layers():
    entry = models.load_model("efficientnet_lite0")
    assert len(entry.layers) == 16
    found = layer_shapes(entry, torch.randn(1, 3, 224, 224))
    channels = [found[layer][1] for layer in entry.layers]
    assert channels == [16, 24, 24, 40, 40, 80, 80, 80, 112, 112, 112, 192, 192, 192, 192, 320]


def test_lite0_key_mapping_reproduces_the_package_model():
    lite = pytest.importorskip("efficientnet_lite_pytorch")
    reference = lite.EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(models.lite0_weights_path(), weights_only=True))
    entry = models.load_model("efficientnet_lite0")
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(entry.model(x), reference.eval()(x), rtol=1e-5, atol=1e-5)


def test_efficientnet_lite0_top1_on_the_imagenet_sample(data_dir):
    from torch.utils.data import DataLoader

    entry = models.load_model("efficientnet_lite0")
    dataset = codec.data.imagenet_sample(data_dir, transform=entry.transform)
    correct = 0
    with torch.no_grad():
        for images, labels in DataLoader(dataset, batch_size=50):
            correct += int((entry.model(images).argmax(1) == labels).sum())
    accuracy = correct / len(dataset)
    assert accuracy >= 0.85, accuracy


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match=r"model: unknown model 'resnet18'; known models: \["):
        models.load_model("resnet18")


def test_pretrained_without_download_says_how_to_provide_weights(monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.__class__, "get_state_dict", offline)
    with pytest.raises(RuntimeError, match="resnet50: pretrained weights are not available here.*weights=PATH"):
        models.load_model("resnet50")


def test_local_weights_file_is_loaded_and_checked(tmp_path):
    torch.manual_seed(0)
    source = models.load_model("resnet50", pretrained=False)
    path = tmp_path / "resnet50.pth"
    torch.save(source.model.state_dict(), path)
    loaded = models.load_model("resnet50", weights=path)
    torch.testing.assert_close(loaded.model.fc.weight, source.model.fc.weight)
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(ValueError, match=r"weights: .*wrong\.pth does not fit resnet50: \d+ missing keys"):
        models.load_model("resnet50", weights=wrong)
    with pytest.raises(FileNotFoundError, match="weights: resnet50 weights file"):
        models.load_model("resnet50", weights=tmp_path / "absent.pth")


# --------------------------------------------------------------------------- shapes models


@pytest.fixture(scope="module")
def shapes_test_set():
    return shapes("test", 1600, seed=0).tensors()  # the split the training history reports


@pytest.mark.parametrize("name, threshold", [("shapes_resnet", 0.95), ("shapes_vit", 0.90)])
def test_shipped_shapes_models_reach_their_accuracy(name, threshold, shapes_test_set, monkeypatch, tmp_path):
    monkeypatch.setenv("CODEC_CACHE_DIR", str(tmp_path))  # shipped weights, not a user cache

    def no_training(*args, **kwargs):
        raise AssertionError("the shipped weights should have been used")

    monkeypatch.setattr(shapes_models, "train_shapes_model", no_training)
    entry = models.load_model(name)
    accuracy = shapes_models.accuracy(entry.model, shapes_test_set["images"], shapes_test_set["labels"])
    with torch.no_grad():  # the entry's transform is the normalisation evaluate() applies
        logits = entry.model(entry.transform(shapes_test_set["images"][:100]))
    assert (logits.argmax(1) == shapes_test_set["labels"][:100]).float().mean() >= threshold - 0.05
    assert accuracy >= threshold, accuracy
    assert entry.class_names == list(codec.data.SHAPES_CLASS_NAMES)


def test_shapes_model_layers(shapes_test_set):
    resnet = models.load_model("shapes_resnet")
    found = layer_shapes(resnet, resnet.transform(shapes_test_set["images"][:2]))
    assert [found[l][1] for l in resnet.layers] == [16, 16, 32, 32, 64, 64]
    vit = models.load_model("shapes_vit")
    found = layer_shapes(vit, vit.transform(shapes_test_set["images"][:2]))
    # 8x8 patches of 8 px -> 64 tokens (average-pooled, no class token)
    assert found["blocks.0"] == (2, 64, 96) and found["blocks.5.mlp.act"] == (2, 64, 384)
    assert found["blocks.3.attn.proj:input"] == (2, 64, 96)
    assert len(vit.layers) == 18


def test_training_code_runs_and_caches(monkeypatch, tmp_path):
    recipe = shapes_models.TrainingRecipe(train_size=128, test_size=64, epochs=2, batch_size=32, lr=3e-3, weight_decay=1e-4)
    model, history = shapes_models.train_shapes_model("shapes_resnet", recipe, progress=False)
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    assert 0 <= history["test_accuracy"][-1] <= 1
    again, _ = shapes_models.train_shapes_model("shapes_resnet", recipe, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)  # deterministic

    # with no shipped file for a config, the first load trains and caches, the second reads
    monkeypatch.setenv("CODEC_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(shapes_models.CONFIGS, "shapes_resnet", {
        "architecture": shapes_models.CONFIGS["shapes_resnet"]["architecture"], "recipe": recipe,
    })
    first = models.load_model("shapes_resnet")
    assert len(list((tmp_path / "models").glob("shapes_resnet-*.pt"))) == 1
    monkeypatch.setattr(shapes_models, "train_shapes_model", lambda *a, **k: (_ for _ in ()).throw(AssertionError("retrained")))
    second = models.load_model("shapes_resnet")
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)


def test_contributions_run_on_every_tiny_model(shapes_test_set):
    for name in ("shapes_resnet", "shapes_vit"):
        entry = models.load_model(name)
        x = entry.transform(shapes_test_set["images"][:2])
        for method in ("ig", "inputgrad"):
            result = codec.contributions(entry.model, x, entry.layers, method=method, steps=2, reduce="ei")
            for layer in entry.layers:
                assert result[layer].shape[:2] == (2, 2)
                assert torch.isfinite(result[layer]).all()


def test_presets():
    from codec.presets import get_preset

    tiny = get_preset()
    assert tiny.name == "tiny" and tiny.model == "shapes_resnet" and tiny.resolved_device().type == "cpu"
    assert get_preset("sample", per_class=5).per_class == 5
    with pytest.raises(ValueError, match=r"preset: unknown preset 'huge'; known presets"):
        get_preset("huge")
    with pytest.raises(ValueError, match=r"preset: unknown fields \['stepz'\]"):
        get_preset("tiny", stepz=3)
    for name in ("tiny", "sample", "paper"):
        preset = get_preset(name)
        assert preset.model in models.MODELS
        assert preset.dataset in codec.data.DATASETS


def test_a_preset_given_as_a_mapping_overrides_its_fields():
    """The form a notebook's `preset` parameter takes for a field it has no parameter of."""
    from codec.presets import get_preset

    assert get_preset({"name": "tiny", "training_seed": 3}) == get_preset("tiny", training_seed=3)
    assert get_preset({"name": "tiny", "steps": 4}, steps=5).steps == 5  # keyword overrides come last
    assert get_preset("tiny").training_seed == 0
    with pytest.raises(TypeError, match="preset: a mapping must name its preset"):
        get_preset({"training_seed": 3})
    with pytest.raises(TypeError, match="preset: must be a preset's name"):
        get_preset(3)
    with pytest.raises(ValueError, match="preset: unknown fields \\['seed'\\]"):
        get_preset({"name": "tiny", "seed": 3})
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="training_seed: must be an integer >= 0"):
            get_preset("tiny", training_seed=bad)


def test_vit_pretrained_without_download_says_how_to_provide_weights(monkeypatch):
    import timm

    real = timm.create_model

    def offline(name, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("no network")
        return real(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="vit_b_16: pretrained weights are not available here.*weights=PATH"):
        models.load_model("vit_b_16")


def test_every_method_runs_through_vit_b_16_layer_kinds():
    entry = models.load_model("vit_b_16", pretrained=False)
    layers = [entry.layer_groups[kind][5] for kind in ("tokens", "mlp", "attention")]
    x = torch.randn(1, 3, 224, 224)
    for method in ("ig", "inputgrad"):
        result = codec.contributions(entry.model, x, layers, method=method, steps=1, reduce="ei")
        assert [tuple(result[l].shape) for l in layers] == [(1, 2, 768), (1, 2, 3072), (1, 2, 768)]
        assert all(torch.isfinite(result[l]).all() for l in layers)


def test_inputgrad_explains_unsupported_forward_ad():
    import timm

    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, depth=1).eval()
    with pytest.raises(NotImplementedError, match="method: 'inputgrad' needs forward-mode AD.*fused_attn = False"):
        codec.contributions(model, torch.randn(1, 3, 32, 32), ["blocks.0"], method="inputgrad")


# --------------------------------------------------------------------------- the package's common part


def _random_pil(width=80, height=64, seed=0):
    from PIL import Image

    pixels = torch.randint(0, 256, (height, width, 3), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return Image.fromarray(pixels.numpy())


@pytest.mark.parametrize("name", ["shapes_resnet", "resnet50"])
def test_every_transform_takes_a_pil_image_or_a_tensor_and_to_image_inverts_the_normalisation(name):
    from torchvision.transforms.functional import to_tensor

    entry = models.load_model(name, pretrained=False)
    image = _random_pil()
    from_pil, from_tensor = entry.transform(image), entry.transform(to_tensor(image))
    assert from_pil.shape == from_tensor.shape and from_pil.dtype == torch.float32
    if name == "shapes_resnet":  # no resampling: the same numbers
        torch.testing.assert_close(from_pil, from_tensor)
    else:  # PIL's and torchvision's tensor resampling agree up to rounding
        assert float((from_pil - from_tensor).abs().mean()) < 0.05
    pixels = torch.rand(3, 16, 16)
    mean, std = torch.tensor(entry.input_mean).view(3, 1, 1), torch.tensor(entry.input_std).view(3, 1, 1)
    shown = entry.to_image((pixels - mean) / std)
    assert shown.shape == (16, 16, 3)
    torch.testing.assert_close(torch.from_numpy(shown), pixels.permute(1, 2, 0), rtol=0, atol=1e-6)
    assert entry.to_image(torch.stack([(pixels - mean) / std] * 2)).shape == (2, 16, 16, 3)
    with pytest.raises(ValueError, match=r"inputs: expected a tensor of shape \(3, H, W\) or \(B, 3, H, W\)"):
        entry.to_image(torch.zeros(1, 16, 16))
    with pytest.raises(ValueError, match="image: expected a PIL image or a float tensor"):
        models.ImageNetTransform((0.5,) * 3, (0.5,) * 3)(torch.zeros(1, 8, 8))


def test_vit_b_16_transform_equals_timms_eval_transform():
    import timm

    entry = models.load_model("vit_b_16", pretrained=False)
    config = timm.data.resolve_data_config({}, model=entry.model)
    image = _random_pil(300, 260)
    torch.testing.assert_close(entry.transform(image), timm.data.create_transform(**config)(image))


def test_registry_refuses_a_second_model_of_the_same_name(monkeypatch):
    monkeypatch.setattr(models.base, "MODELS", dict(models.MODELS))
    with pytest.raises(ValueError, match="name: a model named 'resnet50' is already registered"):
        models.register_model("resnet50")(lambda pretrained=True, weights=None: None)
    models.register_model("my_model")(models.resnet50)
    assert "my_model" in models.base.MODELS


def test_each_family_names_the_part_of_the_activations_the_authors_read():
    # CNNs: the positive part (the authors' sparsity, dimensionality and SAE scripts); ViTs: the signed token sum
    assert models.load_model("shapes_resnet").activation_part == "positive"
    assert models.load_model("shapes_vit").activation_part == "signed"
    import torch.nn as nn

    from codec.models import ModelEntry

    with pytest.raises(ValueError, match="activation_part: must be one of"):
        ModelEntry("m", nn.Linear(2, 2), ["x"], lambda x: x, ["a"], 2, activation_part="relu")

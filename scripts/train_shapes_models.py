"""Train the tiny preset's shapes models and write the weights shipped in codec/weights.

    python scripts/train_shapes_models.py [shapes_resnet shapes_vit]

Each model is trained from scratch with its recipe in codec.models.shapes.CONFIGS (seeded,
deterministic on one machine); the file name carries the configuration hash, so a changed
recipe or renderer never reuses stale weights. The training history (loss and test accuracy
per epoch, wall time) is written next to the weights as JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from codec.models.shapes import CONFIGS, config_hash, train_shapes_model

OUT = Path(__file__).resolve().parents[1] / "codec" / "weights"


def main(names) -> None:
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names:
        architecture, recipe = CONFIGS[name]["architecture"], CONFIGS[name]["recipe"]
        stem = f"{name}-{config_hash(name, architecture, recipe)}"
        model, history = train_shapes_model(name, recipe, architecture)
        for old in OUT.glob(f"{name}-*"):
            old.unlink()
        torch.save(model.state_dict(), OUT / f"{stem}.pt")
        record = {"name": name, "architecture": architecture, "recipe": asdict(recipe),
                  "torch": torch.__version__, "threads": torch.get_num_threads(), **history}
        (OUT / f"{stem}.json").write_text(json.dumps(record, indent=1))
        print(f"{name}: test accuracy {history['test_accuracy'][-1]:.4f} in {history['seconds']:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:] or list(CONFIGS))

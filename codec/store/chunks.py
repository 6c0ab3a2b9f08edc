"""The store on disk: its layout and format versions, atomic writes and checksums, and
:class:`ContributionStore`, which creates, opens and reads a store.

Layout of a store directory::

    settings.json        format version, the settings that made the store and their hash,
                         number of items, chunk size, layers and their channel counts
    chunks/000000.npz    one chunk = the dataset items [k * chunk_items, (k + 1) * chunk_items):
                           index, label, prediction, target_at_input, target_at_baseline  (n,)
                           contributions_<i>  (n, 2, C_i)  positive / negative parts, float32
                           activations_<i>    (n, 2, C_i)  spatial sums of relu(h) and of min(h, 0)
                         (i = position of the layer in settings.json's ``layers``)
    chunks/000000.sha256 SHA-256 of the .npz file, written after it

Format 2 keeps both parts of the activations, as it does of the contributions: the authors'
CNN scripts read the positive part Σ relu(h), their ViT scripts the signed sum (DESIGN §8).
A store of format 1 (signed activation sums only) can still be read for its contributions and
its signed activations; the parts need a recomputation, and an unfinished format-1 store is
not continued.

Every file is written to a temporary name and renamed into place, and a chunk counts as done
only when its ``.sha256`` exists and matches: a process killed at any moment (SIGKILL) loses at
most the chunk it was writing, and a rerun computes exactly the chunks that are not done. A chunk
depends only on its own items, so resumed and multi-process runs give the same bits as a
single uninterrupted run. Several processes (``torchrun`` ranks) share the work by chunk
number (rank r of W takes chunks k with k % W == r) and never write the same file: no locks.

:func:`codec.store.compute_contributions` fills (or reads back) a store.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..checks import ArgumentTypeError

FORMAT_VERSION = 2
#: what :meth:`ContributionStore.activations` can give
ACTIVATION_PARTS = ("signed", "positive", "negative", "both")
SETTINGS_FILE = "settings.json"
PER_ITEM_FIELDS = ("index", "label", "prediction", "target_at_input", "target_at_baseline")


class StoreError(RuntimeError, ValueError):
    """A store cannot be used as asked (other settings, damage, newer format, bad path). A ValueError
    too: the user's argument (the folder, the settings) is what does not fit."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def settings_hash(settings: dict) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``settings`` (a dict of JSON values)."""
    if not isinstance(settings, dict):
        raise ArgumentTypeError(f"settings: must be a dict, got {type(settings).__name__}")
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _differences(stored: dict, asked: dict) -> list[str]:
    lines = []
    for key in sorted(set(stored) | set(asked)):
        if stored.get(key) != asked.get(key):
            lines.append(f"  {key}: store has {stored.get(key)!r}, asked for {asked.get(key)!r}")
            if key == "actgrad_form":
                lines.append("    (method 'actgrad' is now the paper's h * dy/dh; the store holds the former "
                             "(h - h') * dy/dh, which is now method 'actgrad_delta')")
    return lines


@dataclass
class ContributionStore:
    """An opened store (see the module docstring for the layout).

    Attributes
    ----------
    path : Path
    settings : dict
        What made the store (model and weights identity, dataset and selection, method, ...).
    n_items : int
        Number of dataset items (rows).
    chunk_items : int
        Items per chunk (the last chunk may hold fewer).
    layers : list of str
    channels : dict of str to int
    """

    path: Path
    settings: dict
    n_items: int
    chunk_items: int
    layers: list
    channels: dict
    format_version: int = FORMAT_VERSION

    # ------------------------------------------------------------------ creation / opening

    @classmethod
    def create_or_open(cls, path, settings: dict, n_items: int, chunk_items: int, layers: Sequence[str], channels: dict) -> "ContributionStore":
        """Open the store at ``path`` if it was made with ``settings``, else create it.

        Raises
        ------
        StoreError
            If ``path`` is a file or cannot be written, or holds a store made with other
            settings (the message lists the differing fields).
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise StoreError(f"out: {str(path)!r} is a file; give a directory for the store")
        if (path / SETTINGS_FILE).is_file():
            store = cls.open(path)
            if store.format_version < FORMAT_VERSION:
                raise StoreError(
                    f"out: the store at {str(path)!r} has format version {store.format_version}, which keeps only the signed "
                    f"sums of the activations; this codec writes format {FORMAT_VERSION} (their positive and negative parts "
                    "too) and does not add chunks to an older store. Use another --out directory, or delete this store to "
                    "recompute it (ContributionStore.open still reads it: its contributions and signed activations)")
            asked = {"settings": settings, "n_items": n_items, "chunk_items": chunk_items, "layers": list(layers)}
            stored = {"settings": store.settings, "n_items": store.n_items, "chunk_items": store.chunk_items, "layers": store.layers}
            if stored != asked:
                lines = _differences(store.settings, settings) + _differences(
                    {k: v for k, v in stored.items() if k != "settings"},
                    {k: v for k, v in asked.items() if k != "settings"},
                )
                raise StoreError(
                    f"out: the store at {str(path)!r} was made with other settings:\n" + "\n".join(lines)
                    + "\nUse another --out directory, or delete this store to recompute it."
                )
            return store
        try:
            (path / "chunks").mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"out: cannot create the store directory {str(path)!r} ({error.strerror or error})") from error
        if not os.access(path, os.W_OK):
            raise StoreError(f"out: the directory {str(path)!r} is not writable")
        record = {
            "format_version": FORMAT_VERSION,
            "settings": settings,
            "settings_hash": settings_hash(settings),
            "n_items": n_items,
            "chunk_items": chunk_items,
            "layers": list(layers),
            "channels": {layer: int(channels[layer]) for layer in layers},
        }
        # several ranks may create the same store at once: identical content, atomic rename
        _atomic_write_bytes(path / SETTINGS_FILE, json.dumps(record, indent=1, sort_keys=True).encode())
        return cls.open(path)

    @classmethod
    def open(cls, path) -> "ContributionStore":
        """Open an existing store.

        Raises
        ------
        StoreError
            If there is no store at ``path`` or it was written by a newer format version.
        """
        path = Path(path)
        settings_path = path / SETTINGS_FILE
        if not settings_path.is_file():
            raise StoreError(f"store: no contribution store at {str(path)!r} (no {SETTINGS_FILE})")
        try:
            record = json.loads(settings_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise StoreError(f"store: {str(settings_path)!r} is damaged or not a store's ({error})") from error
        keys = {"format_version", "settings", "n_items", "chunk_items", "layers", "channels"}
        if not isinstance(record, dict) or not keys <= set(record):
            raise StoreError(f"store: {str(path)!r} holds a {SETTINGS_FILE} that is not a contribution store's (it lacks "
                             f"{sorted(keys - set(record)) if isinstance(record, dict) else 'every field'}); give the folder "
                             "that `python -m codec contributions --out` or codec.store.compute_contributions wrote")
        version = record.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise StoreError(f"store: {str(settings_path)!r} has format version {version!r}, not a store's (1, 2, ...)")
        if version > FORMAT_VERSION:
            raise StoreError(
                f"store: {str(path)!r} has format version {version!r}, newer than this codec "
                f"understands ({FORMAT_VERSION}); upgrade codec to read it"
            )
        return cls(path, record["settings"], record["n_items"], record["chunk_items"], record["layers"], record["channels"], version)

    # ------------------------------------------------------------------ chunks

    @property
    def n_chunks(self) -> int:
        return -(-self.n_items // self.chunk_items)

    def chunk_range(self, k: int) -> range:
        return range(k * self.chunk_items, min((k + 1) * self.chunk_items, self.n_items))

    def _chunk_paths(self, k: int) -> tuple[Path, Path]:
        base = self.path / "chunks" / f"{k:06d}"
        return base.with_suffix(".npz"), base.with_suffix(".sha256")

    def is_done(self, k: int) -> bool:
        """Whether chunk ``k`` was completely written (its checksum file exists)."""
        data, checksum = self._chunk_paths(k)
        return data.is_file() and checksum.is_file()

    def missing_chunks(self) -> list[int]:
        """Chunks not (completely) written yet."""
        return [k for k in range(self.n_chunks) if not self.is_done(k)]

    def _intact(self, k: int) -> bool:
        """Whether written chunk ``k``'s data matches its checksum (reads the chunk)."""
        data, checksum = self._chunk_paths(k)
        return _sha256_file(data) == checksum.read_text().strip()

    def _checked(self, k: int, verify: bool) -> Path:
        """The data file of chunk ``k``, after checking it is done (and, with ``verify``, intact)."""
        if not self.is_done(k):
            raise StoreError(
                f"store: chunk {k} of {str(self.path)!r} is missing (the run is incomplete); rerun "
                "the same command to finish it"
            )
        data, _ = self._chunk_paths(k)
        if verify and not self._intact(k):
            raise StoreError(
                f"store: chunk {k} ({str(data)!r}) is damaged (checksum mismatch); rerun the same "
                "command with --repair (or compute_contributions(..., repair=True))"
            )
        return data

    def damaged_chunks(self) -> list[int]:
        """Written chunks whose data no longer matches their checksum (reads every chunk)."""
        return [k for k in range(self.n_chunks) if self.is_done(k) and not self._intact(k)]

    @property
    def complete(self) -> bool:
        return not self.missing_chunks()

    def write_chunk(self, k: int, arrays: dict[str, np.ndarray]) -> None:
        """Write chunk ``k`` atomically: data first, then its checksum."""
        data, checksum = self._chunk_paths(k)
        for stale in (checksum, data):  # a rewrite (repair) must never look done half-way
            if stale.exists():
                stale.unlink()
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
        _atomic_write_bytes(data, payload)
        _atomic_write_bytes(checksum, hashlib.sha256(payload).hexdigest().encode())

    def read_chunk(self, k: int, verify: bool = True) -> dict[str, np.ndarray]:
        """The arrays of chunk ``k``; with ``verify``, check its checksum first."""
        with np.load(self._checked(k, verify)) as archive:
            return {name: archive[name] for name in archive.files}

    # ------------------------------------------------------------------ reading

    def _gather(self, key: str, verify: bool = True) -> np.ndarray:
        missing = self.missing_chunks()
        if missing:
            raise StoreError(
                f"store: {len(missing)} of {self.n_chunks} chunks of {str(self.path)!r} are missing "
                f"(first: {missing[:5]}); rerun the same command to finish the store"
            )
        parts = []
        for k in range(self.n_chunks):
            with np.load(self._checked(k, verify)) as archive:
                parts.append(archive[key])
        return np.concatenate(parts)

    def field(self, name: str) -> np.ndarray:
        """A per-item field (``index``, ``label``, ``prediction``, ``target_at_input``,
        ``target_at_baseline``), shape (n_items,)."""
        if name not in PER_ITEM_FIELDS:
            raise ValueError(f"field: unknown field {name!r}; choose one of {PER_ITEM_FIELDS}")
        return self._gather(name)

    def _layer_index(self, layer: str) -> int:
        if layer not in self.layers:
            raise ValueError(f"layer: {layer!r} is not in this store; its layers are {self.layers}")
        return self.layers.index(layer)

    def contributions(self, layer: str) -> np.ndarray:
        """Positive and negative contribution parts per channel, shape (n_items, 2, C)."""
        return self._gather(f"contributions_{self._layer_index(layer)}")

    def activations(self, layer: str, part: str = "signed") -> np.ndarray:
        """Spatially summed activations per channel.

        Parameters
        ----------
        layer : str
            One of :attr:`layers`.
        part : {"signed", "positive", "negative", "both"}
            ``"signed"``: Σ h over positions, shape (n_items, C); ``"positive"``: Σ relu(h),
            (n_items, C), the form the authors' CNN scripts read; ``"negative"``: Σ min(h, 0),
            (n_items, C), non-positive; ``"both"``: the two parts, (n_items, 2, C), as
            :meth:`contributions` gives them. The signed sum is the sum of the two parts.

        Raises
        ------
        StoreError
            A part other than ``"signed"`` from a format-1 store, which kept only the signed sum.
        """
        if part not in ACTIVATION_PARTS:
            raise ValueError(f"part: must be one of {ACTIVATION_PARTS}, got {part!r}")
        key = f"activations_{self._layer_index(layer)}"
        if self.format_version < 2:
            if part != "signed":
                raise StoreError(
                    f"part: the store at {str(self.path)!r} has format version {self.format_version}, which keeps only the "
                    f"signed sums of the activations, not their {part} part; recompute it (delete it or give another --out) "
                    "with this codec, or read part='signed'")
            return self._gather(key)
        parts = self._gather(key)
        if part == "signed":
            return parts.sum(axis=1)
        return parts if part == "both" else parts[:, ("positive", "negative").index(part)]

    def describe(self) -> str:
        """Settings and completion state, for ``python -m codec info``."""
        done = self.n_chunks - len(self.missing_chunks())
        lines = [f"store: {self.path} (format {self.format_version})", f"settings hash: {settings_hash(self.settings)}"]
        lines += [f"  {key}: {value}" for key, value in sorted(self.settings.items())]
        lines += [
            f"items: {self.n_items} in {self.n_chunks} chunks of {self.chunk_items}",
            f"layers: {len(self.layers)} ({', '.join(f'{l} [{self.channels[l]}]' for l in self.layers)})",
            f"complete: {done} of {self.n_chunks} chunks" + ("" if done < self.n_chunks else " (done)"),
        ]
        return "\n".join(lines)

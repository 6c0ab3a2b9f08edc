"""How many channels a control experiment perturbs: the paper's share, or the share that perturbs as
many channels as the paper's network did at the same relative depth.

The paper perturbs a share of a layer's channels (claim 7: about 2%, Fig. 6C) of ResNet-50, whose
sixteen bottleneck blocks are 256 to 2,048 channels wide (:data:`RESNET50_BLOCK_WIDTHS`): 2% of its
late blocks is 20 to 40 channels. A narrower network at the same share perturbs far fewer (2% of
EfficientNet-Lite0's late blocks, 192 to 320 wide, is 3 to 6 channels, each one half a percent of
the layer). :func:`width_matched_pcts` gives, per layer, the percentage that selects as many
channels as the authors' rule (``int(C · pct / 100)``) selects at ResNet-50's block of the same
relative depth.

Which share claim 7's verdict uses was decided before any result at the matched share was seen
(issue 32, 2026-12-07): the width-matched one, with the paper's share recorded beside it. The
reason: the book substitutes a network five to ten times narrower at its late blocks, and the
claim's content, a class removed by perturbing the few channels its top modes weigh most, is a
statement about ResNet-50's 20 to 40 channels; at 3 channels the share cannot be resolved finer
than half a percent. This applies to the ImageNet scales (``sample``; at ``paper``, on ResNet-50,
the matched share is the paper's own); the ``tiny`` preset's planted network of 16 classes is no
ImageNet network to match, and keeps its preset's share (10%: 2% of its 16 to 64 channels is 0 or
1 channel). Preservation keeps a share of its own (the authors' released superclass run
keeps 37%, ``figures/supp_ablate_superclass/scripts/ablate_superclass.py`` line 36), which no
narrower network can width-match (37% of 2,048 channels exceeds every layer of Lite0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..checks import ArgumentTypeError, check_int
from .interventions import check_pct, n_selected

#: Output channels of ResNet-50's sixteen bottleneck blocks (layer1.0 ... layer4.2), in order.
RESNET50_BLOCK_WIDTHS = (256,) * 3 + (512,) * 4 + (1024,) * 6 + (2048,) * 3

#: The authors' released superclass run (Fig. S10; ``figures/supp_ablate_superclass/scripts/
#: ablate_superclass.py``): the blocks it perturbs together (line 19: positions 12-15 of
#: ResNet-50's 16, the last four), the share it ablates (line 35) and the share it preserves (line 36).
RELEASED_SUPERCLASS_POSITIONS = (12, 13, 14, 15)
RELEASED_SUPERCLASS_ABLATE_PCT = 9.0
RELEASED_SUPERCLASS_PRESERVE_PCT = 37.0
#: The share preserved in the class experiments (claim 7): the paper gives none for preservation, and
#: the one preservation share the authors released is their superclass run's.
PRESERVE_PCT = RELEASED_SUPERCLASS_PRESERVE_PCT


def relative_depths(n_layers: int) -> list[float]:
    """The relative depth of each of ``n_layers`` layers in order: position / n_layers, so that the
    first of 16 is 1/16 and the last is 1 (a network's last block has depth 1 whatever its length)."""
    check_int("n_layers", n_layers, 1)
    return [(i + 1) / n_layers for i in range(n_layers)]


def reference_position(depth: float, n_reference: int) -> int:
    """The index of the reference network's layer at relative ``depth`` (in (0, 1]): the first of its
    ``n_reference`` layers whose relative depth is at least ``depth``."""
    check_int("n_reference", n_reference, 1)
    if isinstance(depth, bool) or not isinstance(depth, (int, float)) or not 0 < depth <= 1:
        raise ValueError(f"depth: a relative depth in (0, 1], got {depth!r}")
    return min(n_reference, max(1, math.ceil(depth * n_reference - 1e-9))) - 1


def layers_at_reference_depths(layers: Sequence[str], positions: Sequence[int] = RELEASED_SUPERCLASS_POSITIONS,
                               n_reference: int = len(RESNET50_BLOCK_WIDTHS)) -> list[str]:
    """The layers of a network that lie at the relative depths of some layers of a reference network.

    A layer at relative depth d (:func:`relative_depths`) is kept when the reference layer at d
    (:func:`reference_position`) is among ``positions``: with the defaults, the layers in the last
    quarter of the depth, which are the last four of sixteen as in the authors' superclass run,
    and the last two of six.

    Parameters
    ----------
    layers : sequence of str
        The network's layers in order (its blocks).
    positions : sequence of int
        Indices of the reference network's layers (default: the released superclass run's 12-15).
    n_reference : int
        The reference network's number of layers (default ResNet-50's 16 blocks).

    Returns
    -------
    list of str
        In the order of ``layers``; never empty (a network shallower than the reference keeps at
        least one layer when a reference position is its last).
    """
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ArgumentTypeError(f"layers: the network's layers in order, a non-empty sequence of names, got {layers!r}")
    check_int("n_reference", n_reference, 1)
    if isinstance(positions, str) or not isinstance(positions, Sequence) or not positions:
        raise ArgumentTypeError(f"positions: a non-empty sequence of reference layer indices, got {positions!r}")
    for position in positions:
        check_int("positions", position, 0)
        if position >= n_reference:
            raise ValueError(f"positions: {position} is beyond the reference's {n_reference} layers (indices 0-{n_reference - 1})")
    wanted = set(positions)
    kept = [layer for layer, depth in zip(layers, relative_depths(len(layers)))
            if reference_position(depth, n_reference) in wanted]
    if not kept:
        raise ValueError(f"positions: no layer of the {len(layers)} lies at the relative depth of reference positions "
                         f"{sorted(wanted)} of {n_reference}; give positions that include a deeper one")
    return kept


def width_matched_pcts(layers: Sequence[str], channels: Mapping[str, int], perturbed: Sequence[str], pct: float,
                       reference_widths: Sequence[int] = RESNET50_BLOCK_WIDTHS) -> dict[str, float]:
    """Per perturbed layer, the percentage of its channels that selects as many channels as ``pct`` %
    of the reference network's layer at the same relative depth.

    Parameters
    ----------
    layers : sequence of str
        All of the network's layers of the kind the reference lists (its blocks), in order: they
        fix each layer's relative depth.
    channels : mapping of str to int
        Channels of each perturbed layer (e.g. ``MaskedForward.channels``).
    perturbed : sequence of str
        The layers to give a share, among ``layers``.
    pct : float
        The share in the reference network (the paper's 2 for claim 7).
    reference_widths : sequence of int
        The reference network's layer widths in order (default: ResNet-50's blocks).

    Returns
    -------
    dict of str to float
        ``{layer: pct_layer}`` with ``n_selected(channels[layer], pct_layer)`` equal to
        ``min(n_selected(reference width, pct), channels[layer])``; 100 where the match takes the
        whole layer.
    """
    if isinstance(layers, str) or not isinstance(layers, Sequence) or not layers:
        raise ArgumentTypeError(f"layers: the network's layers in order, a non-empty sequence of names, got {layers!r}")
    if isinstance(perturbed, str) or not isinstance(perturbed, Sequence) or not perturbed:
        raise ArgumentTypeError(f"perturbed: a non-empty sequence of layer names, got {perturbed!r}")
    unknown = [layer for layer in perturbed if layer not in layers]
    if unknown:
        raise ValueError(f"perturbed: {unknown} are not among layers {list(layers)}")
    if not isinstance(channels, Mapping) or any(layer not in channels for layer in perturbed):
        raise ValueError(f"channels: needs the channel count of every perturbed layer {list(perturbed)}")
    if isinstance(reference_widths, str) or not isinstance(reference_widths, Sequence) or not reference_widths:
        raise ArgumentTypeError(f"reference_widths: the reference network's layer widths, a non-empty sequence, got {reference_widths!r}")
    for width in reference_widths:
        check_int("reference_widths", width, 1)
    pct = check_pct(pct)
    depths = relative_depths(len(layers))
    shares = {}
    for layer in perturbed:
        width = check_int(f"channels[{layer!r}]", channels[layer], 1)
        reference = reference_widths[reference_position(depths[list(layers).index(layer)], len(reference_widths))]
        count = min(n_selected(reference, pct), width)
        # the middle of the interval that int(C · p / 100) maps to count: no rounding can move it
        shares[layer] = 100.0 if count == width else 100.0 * (count + 0.5) / width
    return shares


def selected_counts(channels: Mapping[str, int], pct) -> dict[str, int]:
    """How many channels a share selects at each layer (the authors' rule, :func:`n_selected`).

    Parameters
    ----------
    channels : mapping of str to int
        Channels of each layer (e.g. ``MaskedForward.channels``), in the order to report them.
    pct : float or mapping of str to float
        One share for every layer, or a share per layer (as :func:`width_matched_pcts` gives).

    Returns
    -------
    dict of str to int
        ``{layer: n_selected(channels[layer], share of the layer)}``.
    """
    if not isinstance(channels, Mapping) or not channels:
        raise ArgumentTypeError(f"channels: a non-empty mapping of layer name to channel count, got {channels!r}")
    if isinstance(pct, Mapping):
        missing = [layer for layer in channels if layer not in pct]
        if missing:
            raise ValueError(f"pct: gives no share for layers {missing}; give one share or one per layer")
        return {layer: n_selected(count, pct[layer]) for layer, count in channels.items()}
    return {layer: n_selected(count, pct) for layer, count in channels.items()}

"""Controlling a network with modes: ablate or preserve a mode's top channels and measure what changes.

The paper's §5 (Fig. 6, S6, S10). A channel of a layer is *ablated* by zeroing its whole map at
the layer's output (every position); *preservation* zeroes every channel of the layer but the
selected ones. The channels come from a mode: the layer's channels ranked by the mode's
dictionary weight, the top ``pct`` % kept (``n = int(C · pct / 100)``, the authors' rule). The
effect is the accuracy of each class under the perturbation divided by its accuracy without it,
on the same images.

- :func:`ablate`, :func:`preserve`: context managers that splice the perturbation into a model
  and remove it on exit (on any layer kind: conv channels, ViT token features, MLP hidden units,
  attention dimensions before the projection);
- :class:`MaskedForward`: a network's outputs on fixed images under many channel masks. The part
  of the network before the first perturbed layer does not depend on the mask: it runs once, its
  result is kept, and only the rest of the network runs per mask, many masks per pass
  (``cache_prefix=False`` runs the whole network per mask, as the authors did);
- :func:`mode_rankings`, :func:`channel_rankings`: the channel order of each class from its top
  mode(s) or from each channel's own class correlation; :func:`top_channels`, :func:`channel_mask`;
- :func:`control_sweep`: Fig. 6D, trials of a target and an off-target class at every pct, for
  several sources of channels; :func:`curves`, :func:`performance_score` (Fig. 6E);
- :func:`class_control`: Fig. 6C, each class's channels perturbed and every class's accuracy ratio;
- :func:`group_control`: Fig. S10, a superclass's aggregated modes perturbed at several layers.

The package, one concept per module: :mod:`~codec.control.interventions` (what is done to a
layer: masks, :func:`ablate`, :func:`preserve`), :mod:`~codec.control.forward`
(:class:`MaskedForward` and its ``torch.fx`` split), :mod:`~codec.control.rankings` (which
channels: from modes, single channels, random orders), :mod:`~codec.control.scoring` (accuracy
ratios, AUC, the performance score), :mod:`~codec.control.shares` (how many channels: the
paper's share, or as many as ResNet-50 perturbs at the same relative depth),
:mod:`~codec.control.superclass` (Fig. S10: a superclass's modes perturbed together) and
:mod:`~codec.control.experiments` (the sweeps and Fig. 6C, and their cache). Every name below is importable from ``codec.control``.

"""

from .experiments import (
    PAPER_PCTS,
    class_control,
    class_control_across,
    control_sweep,
    depth_sweep,
    evenly_spaced,
    images_per_class,
)
from .forward import MaskedForward, PrefixCacheError
from .interventions import MODES, ablate, channel_mask, n_selected, preserve
from .rankings import (
    COMBINE,
    SOURCES,
    channel_rankings,
    channel_weights,
    class_weights,
    group_weights,
    mode_rankings,
    rank_channels,
    source_rankings,
    top_channels,
)
from .scoring import auc, class_accuracy, curves, median_target, performance_score, score_table, scores, target_and_others
from .shares import (
    PRESERVE_PCT,
    RELEASED_SUPERCLASS_ABLATE_PCT,
    RELEASED_SUPERCLASS_POSITIONS,
    RELEASED_SUPERCLASS_PRESERVE_PCT,
    RESNET50_BLOCK_WIDTHS,
    layers_at_reference_depths,
    reference_position,
    relative_depths,
    selected_counts,
    width_matched_pcts,
)
from .superclass import group_control, superclass_control, superclass_details, superclass_groups, superclass_table

__all__ = [
    "PAPER_PCTS", "MODES", "COMBINE", "PrefixCacheError", "MaskedForward", "ablate", "preserve", "channel_mask", "n_selected",
    "channel_weights", "rank_channels", "mode_rankings", "channel_rankings", "top_channels", "class_accuracy", "control_sweep", "auc",
    "performance_score", "curves", "scores", "class_control", "class_control_across", "group_control", "SOURCES", "images_per_class",
    "target_and_others", "median_target", "evenly_spaced", "superclass_groups", "superclass_control", "superclass_details", "superclass_table",
    "source_rankings", "depth_sweep", "score_table", "class_weights", "group_weights",
    "RESNET50_BLOCK_WIDTHS", "relative_depths", "reference_position", "width_matched_pcts", "selected_counts",
    "layers_at_reference_depths", "PRESERVE_PCT", "RELEASED_SUPERCLASS_POSITIONS", "RELEASED_SUPERCLASS_ABLATE_PCT",
    "RELEASED_SUPERCLASS_PRESERVE_PCT"
]

r"""What a mode sees: exact input-space maps of the contributions of channels and modes.

The paper's §6 (Fig. 7) and Supplement 10.7. For an image :math:`x`, a baseline :math:`x'`, a
layer :math:`h`, a scalar target :math:`y` and a *selection* of the layer's channels with
weights :math:`w_k` (a mode's top channels, weight 1 each by default), the **sensitivity** is
the part of the input gradient that passes through the selected channels,

.. math:: A = \sum_{k} \sum_p w_k \,\frac{\partial y}{\partial h_{k,p}}\, \frac{\partial h_{k,p}}{\partial x},

and the **contribution map** is :math:`C = A \odot (x - x')` (InputGrad, the authors' backbone).
Summed over pixels, :math:`C` is :math:`\sum_{k,p} w_k\, c_{k,p}` with the hidden InputGrad
contributions :math:`c_{k,p} = (\partial y/\partial h_{k,p})\,\langle \partial h_{k,p}/\partial x, x - x'\rangle`
(completeness). The map splits exactly into the parts carried by units with positive and with
negative contribution: :math:`C = C^+ + C^-` with :math:`C^\pm` the maps of the cotangents
restricted to :math:`c_{k,p} > 0` and :math:`c_{k,p} \le 0`.

``method="ig"`` is the Integrated-Gradients version of Supplement 10.7: the same along the
straight input path :math:`x_\alpha = x' + \alpha(x - x')` with the integration rule's points and
weights, :math:`C = (x - x') \odot \sum_\alpha \omega_\alpha A(x_\alpha)`; its pixel sum is the
selected channels' hidden IG contributions in derivative form,
:math:`\sum_\alpha \omega_\alpha\, (\partial y/\partial h)(x_\alpha) \cdot J_h(x_\alpha)(x - x')`,
which :func:`codec.contributions` (``method="ig"``, finite differences of :math:`h` along the path)
approaches as ``steps`` grows.

How it is computed, without per-unit Jacobians. The authors' code runs one backward pass per
selected channel *and* position (20 channels at 14×14 are 3,920 passes per image). Here,
``∂y/∂h`` is fixed for the image, so :math:`A` is one vector–Jacobian product of :math:`h` with
the cotangent ``(∂y/∂h) ⊙ w`` (restricted to the selection); the unit contributions
:math:`\langle \partial h_{k,p}/\partial x, x - x'\rangle` of all units are one Jacobian–vector
product (forward-mode AD). All selections and both signs of one batch of images go through one
batched VJP (``is_grads_batched``), so a batch costs one forward-mode pass, one forward pass and a
handful of backward passes at each path point, whatever the number of channels and positions.

Display (the authors' choices as defaults): :func:`display_mask` takes ``|C|``, median-filters each
colour channel (size 4), averages the colour channels, scales to [0, 1], multiplies by a contrast
of 7 and clips (each map on its own scale; ``scale="shared"`` puts the maps of one call on one scale,
so that a small map stays dim beside a large one), and :func:`masked_image` uses the result as a
mask on the image.

Claim 11 (a mode's maps show the same low-level feature across classes) is scored, not
eyeballed: :func:`mass_shares` (where the map's mass lies, against the regions' share of the area,
on planted images with object and distractor masks) and :func:`map_descriptors` /
:func:`cross_class_consistency` (whether one mode highlights the same kind of image content on
images of different classes, against randomly drawn channel sets of the same size).

The package, one concept per module: :mod:`~codec.visualize.maps` (the map engine and the
channel selections), :mod:`~codec.visualize.display` (what the authors show) and
:mod:`~codec.visualize.consistency` (claim 11's scores). Every name below is importable from
``codec.visualize``.

"""

from .consistency import (
    claim_groups,
    cross_class_consistency,
    group_selections,
    image_features,
    map_descriptors,
    map_scores,
    map_target,
    mass_shares,
    mode_loadings_rows,
)
from .display import DISPLAY_SCALES, PAPER_CONTRAST, PAPER_FILTER_SIZE, checked_maps, display_mask, masked_image
from .maps import (
    MAP_METHODS,
    PAPER_CHANNELS_PER_MODE,
    InputMaps,
    channel_selection,
    completeness_table,
    input_maps,
    layer_at_authors_depth,
    mode_selection,
    random_selections,
)
from .tables import claim_details, consistency_table

__all__ = [
    "MAP_METHODS", "PAPER_FILTER_SIZE", "PAPER_CONTRAST", "PAPER_CHANNELS_PER_MODE", "InputMaps", "channel_selection",
    "mode_selection", "random_selections", "input_maps", "checked_maps", "display_mask", "DISPLAY_SCALES",
    "masked_image", "completeness_table", "layer_at_authors_depth", "mass_shares", "image_features", "map_descriptors",
    "cross_class_consistency", "mode_loadings_rows", "group_selections", "map_target", "map_scores", "claim_details",
    "claim_groups", "consistency_table",
]

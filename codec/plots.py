"""One figure style for every section of the book: seaborn's theme, fixed colours, depth axes.

The sections call :func:`theme` once, then draw with the helpers here so that a colour means the
same thing on every page (:data:`COLOURS`: contributions red, activations grey, single channels
and baselines in their own colours) and every across-depth panel has the same x axis.

Needs the ``book`` extra (matplotlib, seaborn); ``import codec`` does not import this module until
``codec.plots`` is first used.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from .checks import ArgumentTypeError, check_array, check_bool, check_int, check_number, check_optional_int
from .page import (  # noqa: F401  (the book's page format, re-exported: notebooks read it from plots)
    COLUMN_WIDTH,
    CSS_PX_PER_INCH,
    FULL_WIDTH,
    OUTPUT_WIDTH,
    PIXEL_DENSITY,
    SMALLEST_TEXT_PX,
    figure_png,
    number_table,
    show_figures_as_recorded_png,
    smallest_text_pt,
    wrapped,
)

#: What a colour means on every page.
COLOURS = {
    "contributions": "#c0392b",  # red
    "activations": "#7f7f7f",  # grey
    "contribution channels": "#e6a19a",  # light red: single channels, not modes
    "activation channels": "#c7c7c7",  # light grey
    "contributions, other statistic": "#e6a19a",  # the same data summarised another way (e.g. per image)
    "positive": "#c0392b",
    "negative": "#2c7bb6",
    "net": "#222222",
    "PCA": "#1b9e77",
    "NMF": "#7570b3",
    "baseline": "#000000",
    "reference level": "#e69f00",  # amber: a level to compare with (chance, share of the area)
}
#: Diverging colour map of signed maps (red positive, blue negative), and of unsigned ones.
SIGNED_CMAP = "RdBu_r"
UNSIGNED_CMAP = "viridis"


def _check_axis(axis) -> None:
    from matplotlib.axes import Axes

    if not isinstance(axis, Axes):
        raise ArgumentTypeError(f"axis: must be a matplotlib Axes (e.g. from codec.plots.panels), got {type(axis).__name__}")


def _check_table(name: str, table, columns) -> None:
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not set(columns) <= set(table.columns):
        raise ArgumentTypeError(f"{name}: must be a DataFrame with the columns {sorted(columns)}, got {type(table).__name__}")


def series_colours(n: int) -> list:
    """``n`` colours for categories that carry no fixed meaning (methods, superclasses): seaborn's
    colour-blind palette without its red and grey, which mean contributions and activations."""
    check_int("n", n, 0)
    palette = [c for i, c in enumerate(sns.color_palette("colorblind", 10)) if i not in (3, 7)]
    return [palette[i % len(palette)] for i in range(n)]


def theme() -> None:
    """seaborn's ``whitegrid`` theme at a size legible at the book's text width, and, in a notebook,
    figures shown as :func:`figure_png` draws them (twice the pixels, shown at 100 CSS px per inch,
    their smallest text recorded for ``scripts/check_site.py``)."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=0.9,
                  rc={"figure.dpi": CSS_PX_PER_INCH, "savefig.dpi": CSS_PX_PER_INCH, "axes.titlesize": 10,
                      "axes.titleweight": "bold", "legend.fontsize": 8, "legend.frameon": True,
                      "figure.constrained_layout.use": True})
    show_figures_as_recorded_png()


def class_axes(axis, row_names, column_names=None) -> None:
    """Name a matrix's rows and columns (the columns' names turned upright), every one of them."""
    _check_axis(axis)
    column_names = row_names if column_names is None else column_names
    axis.set_yticks(np.arange(len(row_names)), [str(name) for name in row_names])
    axis.set_xticks(np.arange(len(column_names)), [str(name) for name in column_names], rotation=90)
    axis.tick_params(labelsize=8)


def colour(name: str) -> str:
    """The colour of ``name`` (a key of :data:`COLOURS`); unknown names are refused."""
    if name not in COLOURS:
        raise ValueError(f"name: no colour for {name!r}; colours are defined for {sorted(COLOURS)}")
    return COLOURS[name]


def panels(n: int = 1, height: float = 3.2, width: float = FULL_WIDTH, **kwargs):
    """A figure of ``n`` panels side by side; returns ``(figure, axes)`` (axes always a 1-D array)."""
    check_int("n", n, 1)
    check_number("height", height, above=0)
    check_number("width", width, above=0)
    figure, axes = plt.subplots(1, n, figsize=(width, height), squeeze=False, **kwargs)
    return figure, axes[0]


def short_layer_name(layer: str) -> str:
    """A layer name short enough for a tick label: ``blocks.3.1`` -> ``b3.1``, ``layer2.0`` -> ``l2.0``."""
    if not isinstance(layer, str):
        raise ArgumentTypeError(f"layer: must be a layer name (str), got {layer!r}")
    for prefix, short in (("blocks.", "b"), ("layer", "l"), ("stages.", "s")):
        if layer.startswith(prefix):
            return short + layer[len(prefix):]
    return layer


def depth_axis(axis, layers, label: str = "layer (input → output)") -> None:
    """Depth on the x axis: positions 1..L, labelled with the layer names (short ones when there are
    more than 8 layers, and every k-th when even those do not fit)."""
    _check_axis(axis)
    depth = np.arange(1, len(layers) + 1)
    width_inches = axis.get_position().width * axis.figure.get_figwidth()
    fit = max(1, int(width_inches / 0.32))  # a rotated label needs about a third of an inch
    step = int(np.ceil(len(layers) / fit))
    shown = depth[::step]
    name = (lambda layer: layer) if len(layers) <= 8 else short_layer_name  # few layers: full names fit
    axis.set_xticks(shown, [name(layers[i - 1]) for i in shown], rotation=60, ha="right",
                    rotation_mode="anchor", fontsize=8)
    axis.set_xlim(0.5, len(layers) + 0.5)
    axis.set_xlabel(label)


def across_depth(axis, layers, values, name: str, label: str | None = None, marker: str = "o", linestyle: str = "-") -> None:
    """One measurement per layer as a line over depth, in the colour of ``name``."""
    _check_axis(axis)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(layers),):
        raise ValueError(f"values: need one value per layer ({len(layers)}), got shape {values.shape}")
    axis.plot(np.arange(1, len(layers) + 1), values, marker=marker, linestyle=linestyle, color=colour(name),
              label=label or name, markersize=4)


def image(axis, picture, title: str) -> None:
    """A displayable image (H, W, 3) in [0, 1], without axes."""
    _check_axis(axis)
    picture = check_array("picture", picture)
    if picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] not in (3, 4)):
        raise ValueError(f"picture: must be an image (H, W) or (H, W, 3), got shape {picture.shape}")
    axis.imshow(picture)
    axis.set_title(title)
    axis.axis("off")


def signed_field(axis, values) -> None:
    """A receptive field or its spatial factor (H, W) on a symmetric red–blue scale (red +, blue −), without ticks."""
    _check_axis(axis)
    values = check_array("values", values, ndim=2)
    limit = float(np.nanmax(np.abs(values))) or 1.0
    axis.imshow(values, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.grid(False)


def heatmap(axis, values, title: str, signed: bool, colorbar_label: str, **kwargs):
    """A map or matrix; signed values on a symmetric red–blue scale, unsigned on viridis."""
    _check_axis(axis)
    values = check_array("values", values, ndim=2)
    check_bool("signed", signed)
    if signed:
        limit = float(np.nanmax(np.abs(values))) or 1.0
        shown = axis.imshow(values, cmap=SIGNED_CMAP, vmin=-limit, vmax=limit, **kwargs)
    else:
        shown = axis.imshow(values, cmap=UNSIGNED_CMAP, **kwargs)
    axis.set_title(title)
    axis.grid(False)
    bar = axis.figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.03)
    bar.set_label(colorbar_label)
    return shown


def legend_below(figure, axes, ncol: int | None = None) -> None:
    """One legend for all panels, below them (labels deduplicated across panels)."""
    from matplotlib.figure import Figure

    if not isinstance(figure, Figure):
        raise ArgumentTypeError(f"figure: must be a matplotlib Figure, got {type(figure).__name__}")
    for axis in np.atleast_1d(axes):
        _check_axis(axis)
    check_optional_int("ncol", ncol, 1)
    handles, labels = {}, []
    for axis in np.atleast_1d(axes):
        for handle, label in zip(*axis.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    columns = ncol or min(len(labels), 4)
    while True:  # as many columns as fit in the figure's width (the book shows it no wider)
        legend = figure.legend([handles[label] for label in labels], labels, loc="outside lower center", ncol=columns)
        if ncol is not None or columns == 1:
            return
        renderer = figure.canvas.get_renderer()
        if legend.get_window_extent(renderer).width <= figure.bbox.width:
            return
        legend.remove()
        columns -= 1


#: The colour of each source of channels in the control section (:data:`codec.control.SOURCES` and
#: the random baseline), by the meaning of :data:`COLOURS`.
SOURCE_COLOURS = {"contribution modes": "contributions", "activation modes": "activations",
                  "single channels": "contribution channels", "random channels": "baseline"}


def source_colour(source: str) -> str:
    """The colour of a source of channels of the control section."""
    if source not in SOURCE_COLOURS:
        raise ValueError(f"source: no colour for {source!r}; sources are {sorted(SOURCE_COLOURS)}")
    return colour(SOURCE_COLOURS[source])


def ratio_curves(axis, curves, source: str) -> None:
    """Fig. 6D: one source's mean accuracy ratio over pct, target class solid, off-target dashed.

    ``curves``: :func:`codec.control.curves` (index (source, pct); ``ratio_target``, ``ratio_off``).
    """
    _check_axis(axis)
    import pandas as pd

    if not isinstance(curves, pd.DataFrame) or "source" not in (curves.index.names or []):
        raise ArgumentTypeError(f"curves: must be codec.control.curves' DataFrame (index source, pct), got {type(curves).__name__}")
    if source not in curves.index.unique("source"):
        raise ValueError(f"source: {source!r} is not among the curves' sources {list(curves.index.unique('source'))}")
    part = curves.loc[source]
    pcts = part.index.to_numpy(dtype=float)
    axis.plot(pcts, part["ratio_target"], "o-", color=source_colour(source), markersize=3.5, label=f"{source}: target")
    axis.plot(pcts, part["ratio_off"], "s--", color=source_colour(source), markersize=3.5, alpha=0.7,
              label=f"{source}: off-target")
    pct_axis(axis)
    axis.set_ylabel("accuracy ratio (perturbed / original)")


PCT_TICKS = (1, 2, 5, 10, 25, 50, 99)


def pct_axis(axis, label: str = "channels perturbed (% of the layer, log scale)") -> None:
    """A log-scaled x axis of percentages of a layer's channels, ticks at 1, 2, 5, 10, 25, 50, 99;
    the label is broken into lines that fit the axis's width."""
    import textwrap

    _check_axis(axis)
    axis.set_xscale("log")
    axis.set_xticks(PCT_TICKS, [str(p) for p in PCT_TICKS])
    axis.minorticks_off()
    width_px = axis.get_position().width * axis.figure.get_figwidth() * CSS_PX_PER_INCH
    axis.set_xlabel(textwrap.fill(label, max(16, int(width_px / 7.5))))  # about 7.5 CSS px per character of the label


def class_ratio_bars(axis, ratios, target: int, class_names, title: str) -> None:
    """Fig. 6C: every class's accuracy ratio after one target class's modes were perturbed, as bars.

    ``ratios``: (n_classes,) perturbed / unperturbed accuracy per class (NaN where a class had none
    right, drawn at 0); ``target``: the index of the class whose modes were perturbed, drawn red and
    marked. A dot sits on every bar, so that a class at 0 shows, and the y axis reaches the largest ratio.
    """
    _check_axis(axis)
    ratios = np.nan_to_num(np.asarray(ratios, dtype=float))
    if ratios.shape != (len(class_names),):
        raise ValueError(f"ratios: need one value per class ({len(class_names)}), got shape {ratios.shape}")
    if not 0 <= target < len(class_names):
        raise ValueError(f"target: a class index in [0, {len(class_names)}), got {target}")
    positions = np.arange(len(class_names))
    colours = [colour("contributions") if i == target else colour("activations") for i in positions]
    axis.bar(positions, ratios, color=colours)
    axis.scatter(positions, ratios, s=9, color=colours, zorder=3)
    axis.axhline(1, color=colour("baseline"), linewidth=0.8, linestyle=":")
    top = max(1.25, 1.08 * float(ratios.max()))
    axis.annotate("target", (target, ratios[target]), xytext=(target, 0.9 * top), ha="center", fontsize=8,
                  color=colour("contributions"), arrowprops={"arrowstyle": "->", "color": colour("contributions")})
    axis.set_ylim(0, top)
    axis.set_xticks(positions, [str(name)[:14] for name in class_names], rotation=70, ha="right", rotation_mode="anchor",
                    fontsize=8)
    axis.set_ylabel("accuracy ratio (perturbed / original)")
    axis.set_title(title)


def integer_ticks(axis, which: str = "x") -> None:
    """Ticks at whole numbers only on the ``which`` axis (``"x"`` or ``"y"``), for counts such as components."""
    _check_axis(axis)
    from matplotlib.ticker import MaxNLocator

    if which not in ("x", "y"):
        raise ValueError(f"which: 'x' or 'y', got {which!r}")
    (axis.xaxis if which == "x" else axis.yaxis).set_major_locator(MaxNLocator(integer=True))


def consistency_panel(axis, table) -> None:
    """Claim 11: each source's map consistency across classes per group, bars, with the random sets' 95th percentile.

    ``table``: :func:`codec.visualize.map_scores`.
    """
    _check_axis(axis)
    _check_table("table", table, ("group", "source", "consistency", "chance_95"))
    groups = list(dict.fromkeys(table["group"]))
    sources = list(dict.fromkeys(table["source"]))
    width = 0.8 / len(sources)
    positions = np.arange(len(groups))
    for s, source in enumerate(sources):
        values = table[table["source"] == source].set_index("group").loc[groups, "consistency"]
        axis.bar(positions + (s - (len(sources) - 1) / 2) * width, values, width, color=source_colour(source), label=source)
    chance = table.drop_duplicates("group").set_index("group").loc[groups, "chance_95"]
    axis.scatter(positions, chance, marker="_", s=600, linewidths=2.5, color=colour("reference level"), zorder=3,
                 label="random sets: 95th percentile")
    axis.axhline(0, color=colour("baseline"), linewidth=0.6)
    axis.set_xticks(positions, [str(g)[:20] for g in groups], rotation=30, ha="right", rotation_mode="anchor", fontsize=8)
    axis.set_xlabel("group (its modes and channels)")
    axis.set_ylabel("consistency across\nclasses (mean r)")
    axis.set_title("Maps alike across classes?", fontsize=9)


def mass_share_panel(axis, table, regions) -> None:
    """Claim 11 on planted data: each source's share of |map| per region (mean over groups), against the region's share of the area."""
    _check_axis(axis)
    if isinstance(regions, str) or not regions:
        raise ArgumentTypeError(f"regions: must be a sequence of region names, got {regions!r}")
    _check_table("table", table, ["source"] + [f"mass_{r}" for r in regions] + [f"area_{r}" for r in regions])
    sources = list(dict.fromkeys(table["source"]))
    width = 0.8 / len(sources)
    positions = np.arange(len(regions))
    for s, source in enumerate(sources):
        part = table[table["source"] == source]
        axis.bar(positions + (s - (len(sources) - 1) / 2) * width, [part[f"mass_{r}"].mean() for r in regions], width,
                 color=source_colour(source), label=source)
    area = [table[f"area_{r}"].mean() for r in regions]
    axis.scatter(positions, area, marker="_", s=900, color=colour("reference level"), linewidths=2.5, zorder=3, label="share of the area")
    axis.set_xticks(positions, list(regions))
    axis.set_ylabel("share of |map|\n(mean over groups)")
    axis.set_title("Where the maps put their mass", fontsize=9)

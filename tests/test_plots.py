"""The book's figure format: figures drawn at twice the pixels, shown at their CSS size, with their
smallest drawn text recorded in the PNG for scripts/check_site.py; output wrapped for the column."""

import io
import struct

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from codec import control, plots  # noqa: E402
from codec.checks import ArgumentTypeError  # noqa: E402


def _text_chunks(png: bytes) -> dict:
    from PIL import Image

    return dict(Image.open(io.BytesIO(png)).text)


def test_smallest_text_counts_only_the_text_that_is_drawn():
    figure, (left, right) = plt.subplots(1, 2, figsize=(4, 2))
    left.plot([0, 1], [0, 1])
    left.set_title("title", fontsize=12)
    left.tick_params(labelsize=9)
    left.text(0.5, 0.5, "hidden", fontsize=3, visible=False)
    left.text(0.2, 0.2, "   ", fontsize=2)  # blank: nothing drawn
    right.imshow(np.zeros((2, 2)))
    right.axis("off")
    right.tick_params(labelsize=4)  # the axis is off: its tick labels are not drawn
    assert plots.smallest_text_pt(figure) == 9
    left.annotate("note", (0.5, 0.5), fontsize=7.5)
    assert plots.smallest_text_pt(figure) == 7.5
    empty = plt.figure(figsize=(1, 1))
    assert plots.smallest_text_pt(empty) is None
    with pytest.raises(ArgumentTypeError, match="figure"):
        plots.smallest_text_pt("a figure")
    plt.close("all")


def test_figure_png_has_twice_the_pixels_of_its_shown_size_and_records_its_text():
    plots.theme()
    figure, axis = plt.subplots(figsize=(plots.COLUMN_WIDTH, 2.5))
    axis.plot([0, 1, 2], [2, 0, 1], label="a line")
    axis.legend(fontsize=8)
    png, shown = plots.figure_png(figure)
    width, height = struct.unpack(">II", png[16:24])
    assert (width // 2, height // 2) == (shown["width"], shown["height"])
    # cropped to its content, as Jupyter's inline figures: within a few pixels of the figure's size
    assert abs(shown["width"] - plots.CSS_PX_PER_INCH * plots.COLUMN_WIDTH) < 30
    chunks = _text_chunks(png)
    assert chunks["codec:dpi"] == str(2 * plots.CSS_PX_PER_INCH) and float(chunks["codec:smallest-text-pt"]) == 8
    # at its natural size in the column, 8-pt text is 8 / 72 * 100 = 11.1 CSS px
    assert 8 / 72 * plots.CSS_PX_PER_INCH >= plots.SMALLEST_TEXT_PX
    single, shown_single = plots.figure_png(figure, density=1)
    assert struct.unpack(">II", single[16:24])[0] == shown_single["width"]
    plt.close("all")


def test_wrapped_output_fits_the_column_and_keeps_every_word():
    line = "superclasses: dog: 10 classes (" + ", ".join(f"breed number {i}" for i in range(20)) + ")"
    text = "short first line\n" + line
    out = plots.wrapped(text)
    assert out.startswith("short first line\n")
    assert all(len(row) <= plots.OUTPUT_WIDTH for row in out.splitlines())
    assert out.split() == text.split()
    assert all(row.startswith("  ") for row in out.splitlines()[2:])  # continuation lines indented
    assert plots.wrapped("x" * 100) == "x" * plots.OUTPUT_WIDTH + "\n  " + "x" * (100 - plots.OUTPUT_WIDTH)
    with pytest.raises(ArgumentTypeError, match="text"):
        plots.wrapped(3)


def test_class_axes_name_every_row_and_column():
    figure, axis = plt.subplots()
    axis.imshow(np.zeros((3, 2)))
    plots.class_axes(axis, ["a", "b", "c"], ["x", "y"])
    assert [t.get_text() for t in axis.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in axis.get_xticklabels()] == ["x", "y"]
    plt.close("all")


def test_superclass_table_reads_the_details_it_is_given():
    row = dict(classes=10.0, image_share=0.5, group_before=0.9, others_before=0.8, ablate_group_after=0.1,
               ablate_others_after=0.7, preserve_group_after=0.6, preserve_others_after=0.05)
    table = control.superclass_table({"groups": {"dog": row, "cat": row | {"classes": 3.0, "image_share": 0.125}}})
    assert list(table.index) == ["dog", "cat"] and table.index.name == "superclass"
    assert table.loc["cat", ("", "classes")] == 3 and table.loc["cat", ("", "images")] == "12%"
    assert table.loc["dog", ("ablated", "group")] == 0.1 and table.loc["dog", ("preserved", "others")] == 0.05
    assert table.loc["dog", ("before", "others")] == 0.8
    with pytest.raises(ValueError, match="lacks"):
        control.superclass_table({"dog": {"classes": 1}})
    with pytest.raises(ArgumentTypeError, match="details"):
        control.superclass_table([row])


def test_legend_below_takes_as_many_columns_as_fit_the_figure():
    plots.theme()
    labels = [f"a rather long legend entry {i}" for i in range(8)]
    for width, most in ((plots.COLUMN_WIDTH, 4), (3.0, 1)):
        figure, axes = plots.panels(2, height=3, width=width)
        for i, label in enumerate(labels):
            axes[i % 2].plot([0, 1], [i, i], label=label)
        plots.legend_below(figure, axes)
        (legend,) = figure.legends
        assert legend.get_window_extent(figure.canvas.get_renderer()).width <= figure.bbox.width
        assert 1 <= legend._ncols <= most
        plt.close(figure)
    figure, axes = plots.panels(2, height=3, width=3.0)
    for label in labels:
        axes[0].plot([0, 1], [0, 1], label=label)
    plots.legend_below(figure, axes, ncol=4)  # a given count is kept
    assert figure.legends[0]._ncols == 4
    plt.close("all")


def test_pct_axis_breaks_its_label_to_the_axis_width():
    figure, axes = plots.panels(2, height=3, width=plots.COLUMN_WIDTH)
    plots.pct_axis(axes[0])
    lines = axes[0].get_xlabel().split("\n")
    assert len(lines) >= 2 and " ".join(lines) == "channels perturbed (% of the layer, log scale)"
    wide, axis = plt.subplots(figsize=(12, 3))
    plots.pct_axis(axis)
    assert "\n" not in axis.get_xlabel()
    plt.close("all")


def test_number_table_keeps_counts_whole_and_rounds_the_rest():
    import pandas as pd

    table = pd.DataFrame({"a": [300.0, 0.123456, np.nan], "b": ["text", 2, True]}, index=["x", "y", "z"])
    shown = plots.number_table(table, digits=2)
    assert shown.loc["x", "a"] == "300" and shown.loc["y", "a"] == "0.12" and shown.loc["z", "a"] == ""
    assert shown.loc["x", "b"] == "text" and shown.loc["y", "b"] == "2" and shown.loc["z", "b"] is True
    assert list(shown.index) == ["x", "y", "z"] and table.loc["x", "a"] == 300.0  # a new table
    with pytest.raises(ArgumentTypeError, match="table"):
        plots.number_table([1, 2])

"""The book's page format: figures drawn for its content column at twice the pixels, their smallest
text recorded for ``scripts/check_site.py``, and printed output that fits the column.

:func:`codec.plots.theme` installs :func:`show_figures_as_recorded_png`; :mod:`codec.plots`
re-exports everything here, so a notebook reads it as ``plots.COLUMN_WIDTH``, ``plots.wrapped``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .checks import ArgumentTypeError, check_int

#: CSS pixels per inch of a figure's size: a figure of ``w`` inches is shown ``100 w`` CSS px wide.
CSS_PX_PER_INCH = 100
#: Image pixels per CSS pixel of the book's figures (sharp on high-density screens).
PIXEL_DENSITY = 2
#: The smallest text a figure may show, in CSS px, at a 1300-px window (``scripts/check_site.py``).
SMALLEST_TEXT_PX = 10
#: Width of the book's content column in inches at 100 CSS px per inch (692 CSS px in a 1300-px
#: window): a figure drawn at it is shown at its natural size, so 8-pt text is 11 CSS px.
COLUMN_WIDTH = 6.9
#: Width of a full-width figure in inches: the content column.
FULL_WIDTH = COLUMN_WIDTH
#: Characters of printed output per line that the content column shows without scrolling (660 CSS
#: px of 14-px monospace in a 1300-px window).
OUTPUT_WIDTH = 78


def smallest_text_pt(figure) -> float | None:
    """The size in points of the smallest text that drawing ``figure`` puts on it (tick labels,
    titles, legends, annotations; hidden and empty text excluded), or None where it draws none.

    The figure is drawn once on its canvas; :meth:`matplotlib.text.Text.draw` is wrapped meanwhile
    (and restored on exit), so only the text that is actually drawn counts.
    """
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    if not isinstance(figure, Figure):
        raise ArgumentTypeError(f"figure: must be a matplotlib Figure, got {type(figure).__name__}")
    sizes: list[float] = []
    original = Text.draw

    def counting_draw(text, renderer):
        if text.get_visible() and text.get_text().strip():
            sizes.append(float(text.get_fontsize()))
        return original(text, renderer)

    Text.draw = counting_draw
    try:
        figure.canvas.draw()
    finally:
        Text.draw = original
    return min(sizes) if sizes else None


def figure_png(figure, density: int = PIXEL_DENSITY) -> tuple[bytes, dict]:
    """``figure`` as a PNG of ``density`` image pixels per CSS pixel, with the display size and the
    smallest text recorded.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    density : int
        Image pixels per CSS pixel (2: sharp on high-density screens).

    Returns
    -------
    png : bytes
        Drawn at ``CSS_PX_PER_INCH * density`` dots per inch, cropped to its content (as Jupyter's
        inline figures are); its text chunks ``codec:smallest-text-pt`` (the smallest text, in
        points; absent where there is none) and ``codec:dpi`` let a reader of the file compute how
        large the text is on screen (``scripts/check_site.py``).
    metadata : dict
        ``{"width": w, "height": h}``, the size to show it at in CSS pixels (the image's pixels over
        ``density``): Jupyter and Jupyter Book show it there.
    """
    import io
    import struct

    check_int("density", density, 1)
    smallest = smallest_text_pt(figure)
    dpi = CSS_PX_PER_INCH * density
    text = {"codec:dpi": str(dpi)} | ({"codec:smallest-text-pt": f"{smallest:g}"} if smallest is not None else {})
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=text)
    png = buffer.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk, first after the signature
    return png, {"width": width // density, "height": height // density}


def show_figures_as_recorded_png() -> None:
    """In IPython, show every matplotlib figure through :func:`figure_png` (no-op elsewhere)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    # Resolve and import the backend first: matplotlib-inline sets its own figure formats when its
    # module is imported (at a notebook's first figure), which would replace the one set here.
    plt.close(plt.figure())
    formatters = shell.display_formatter.formatters
    for mime in ("image/svg+xml", "image/jpeg", "application/pdf"):
        formatters[mime].pop(Figure, None)
    formatters["image/png"].for_type(Figure, figure_png)


def wrapped(text: str, width: int = OUTPUT_WIDTH) -> str:
    """``text`` with every line wider than ``width`` characters broken at spaces, continuation
    lines indented by two spaces: printed output that the book's column shows without scrolling."""
    import textwrap

    if not isinstance(text, str):
        raise ArgumentTypeError(f"text: must be a str, got {type(text).__name__}")
    check_int("width", width, 20)
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ", break_on_hyphens=False) if len(line) > width else line
                     for line in text.split("\n"))


def number_table(table, digits: int = 3):
    """``table`` (a DataFrame) for reading: whole numbers without decimals (counts stay counts),
    other numbers rounded to ``digits`` decimals, NaN as an empty cell, anything else as it is;
    returns a new DataFrame of strings."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise ArgumentTypeError(f"table: must be a pandas DataFrame, got {type(table).__name__}")
    check_int("digits", digits, 0)

    def shown(value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            return value
        if np.isnan(value):
            return ""
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.{digits}f}"

    return table.map(shown)

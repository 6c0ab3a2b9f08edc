"""Claim 11's scores as a verdict reads them and as a reader reads them: :func:`claim_details` (the
record the scorecard's rule takes) and :func:`consistency_table` (groups against sources), both
from :func:`codec.visualize.map_scores`'s table."""

from __future__ import annotations

from ..checks import ArgumentTypeError


def claim_details(table, layer: str, what: str) -> dict:
    """:func:`map_scores`'s table as the details claim 11's rule reads: per group, per source, its numbers.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`map_scores`'s result.
    layer : str
    what : str
        What the groups are, in words (for the scorecard's value).

    Returns
    -------
    dict with ``layer``, ``what``, ``masks`` (whether mass shares were measured) and ``groups``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not {"group", "source", "chance_95", "images"} <= set(table.columns):
        raise ArgumentTypeError(f"table: must be the DataFrame of codec.visualize.map_scores, got {type(table).__name__}")
    numbers = [column for column in table.columns if column == "consistency" or column.startswith(("mass_", "area_"))]
    groups = {}
    for name, rows in table.groupby("group", sort=False):
        groups[name] = {row["source"]: {column: float(row[column]) for column in numbers} for _, row in rows.iterrows()}
        groups[name]["chance_95"] = float(rows["chance_95"].iloc[0])
        groups[name]["images"] = int(rows["images"].iloc[0])
    return {"layer": layer, "what": what, "masks": any(column.startswith("mass_") for column in numbers), "groups": groups}


def consistency_table(table):
    """:func:`map_scores`'s consistencies to read: one row per group, one column per source, then
    the random sets' 95th percentile and the group's image count.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`map_scores`'s result.

    Returns
    -------
    pandas.DataFrame
        Rows: groups (in their order); columns: the sources (``random channels``: the random sets'
        mean), ``random: 95th pct.``, ``images``.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or not {"group", "source", "consistency", "chance_95", "images"} <= set(table.columns):
        raise ArgumentTypeError(f"table: must be the DataFrame of codec.visualize.map_scores, got {type(table).__name__}")
    groups, sources = list(dict.fromkeys(table["group"])), list(dict.fromkeys(table["source"]))
    wide = table.pivot(index="group", columns="source", values="consistency").loc[groups, sources]
    first = table.drop_duplicates("group").set_index("group").loc[groups]
    wide["random: 95th pct."] = first["chance_95"]
    wide["images"] = first["images"].astype(int)
    wide.columns.name = None
    return wide

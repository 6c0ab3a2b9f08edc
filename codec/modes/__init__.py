"""What modes correlate with: classes, superclasses, and how many classes each mode covers.

A mode's *loadings* are its codes over images, one column of the (N, M) code matrix of an SAE
(:func:`codec.sae.encode`). The same functions take any (N, M) matrix of per-image values, so
single channels (columns of the feature matrix), activation-SAE modes, PCA and NMF components
(:func:`pca_loadings`, :func:`nmf_loadings`) are compared with the same code.

- :func:`correlation`: Pearson correlation of every loading column with every indicator column,
  as one (M, K) matrix computation;
- :func:`top_modes`: the most correlated mode(s) of each class;
- :func:`class_modes` / :func:`aggregate_loadings`: the authors' class aggregate, the sum of the
  modes whose correlation with the class exceeds 0.2 (the single top mode when none does);
- :func:`coverage`: how many modes each class has above the threshold, how many classes each
  mode serves (Fig. S9);
- :func:`class_dictionary` / :func:`stability`: the class-aggregated modes of two SAEs compared
  by cosine similarity; :func:`robustness_sweep` retrains a layer's SAE under each change of
  :data:`SWEEP` and compares (Fig. S3-S5), with a chance level;
- :func:`compare_decompositions`: SAE modes, single channels, PCA and NMF components of the
  same matrix, by the same class-correlation summary;
- :func:`compare_configurations`: SAEs of the same layers trained under several settings (the
  paper's as written and as released), by R² and class selectivity.

The package, one concept per module: :mod:`~codec.modes.association` (what modes correlate
with), :mod:`~codec.modes.baselines` (PCA, NMF and the comparison of decompositions) and
:mod:`~codec.modes.sweeps` (SAEs retrained under other settings). Every name below is importable
from ``codec.modes``.

"""

from .association import (
    CLASS_THRESHOLD,
    aggregate_loadings,
    check_corr,
    check_indicator_rows,
    class_dictionary,
    class_modes,
    correlation,
    coverage,
    coverage_across,
    indicators,
    selectivity,
    stability,
    summary,
    superclass_indicator,
    superclass_indicators,
    top_modes,
)
from .baselines import compare_decompositions, nmf_loadings, pca_loadings
from .sweeps import SWEEP, compare_configurations, robustness_sweep, sweep_changes

__all__ = [
    "CLASS_THRESHOLD", "check_corr", "check_indicator_rows", "indicators", "superclass_indicator", "superclass_indicators", "correlation",
    "top_modes", "class_modes", "aggregate_loadings", "coverage", "coverage_across", "summary", "selectivity", "class_dictionary", "stability",
    "pca_loadings", "nmf_loadings", "compare_decompositions", "SWEEP", "sweep_changes", "robustness_sweep", "compare_configurations"
]

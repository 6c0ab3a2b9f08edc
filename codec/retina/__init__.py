"""The retina section's library: a simulated retina with known wiring, its stimuli and recordings,
the paper's CNN fitted to them, and what CODEC measures on that CNN.

=====================  =====================================================================
:mod:`.stimuli`        movies (white noise, natural movies with jitter and saccades) and windows
:mod:`.circuit`        the simulated retina: bipolar pathways, amacrine inhibition, 4 ganglion types
:mod:`.recording`      a recording (movies + rates): simulated, or a deep-retina HDF5 file
:mod:`.fit`            fitting the CNN (:class:`codec.models.retina.RetinaCNN`), test correlations
:mod:`.analysis`       surprisal target, IRFs, cell × mode clustering, mode-combination statistic
:mod:`.fields`         white-noise STAs, cell-centred IRFs, lone-mode IRFs and the circuit's pathways
=====================  =====================================================================
"""

from .analysis import (
    active_combinations,
    cell_mode_matrix,
    cluster_cells,
    combination_effect,
    instantaneous_receptive_fields,
    irf_similarity,
    irf_times,
    partition_agreement,
    rank_one,
    response_statistics,
    surprisal_target,
)
from .circuit import CELL_TYPES, PATHWAYS, CircuitConfig, SimulatedRetina, poisson_spikes, temporal_filter
from .fields import (
    centred_crops,
    field_centers,
    lone_mode_pairs,
    lone_mode_similarity,
    mode_purity,
    pathway_match,
    signed_temporal,
    spike_triggered_average,
)
from .fit import CNNSettings, fitted_cnn, predict, prediction_quality, train_cnn
from .recording import Recording, load_recording, save_recording_h5, simulate_recording
from .stimuli import MovieWindows, gather_windows, generated_images, grey_images, natural_movie, standardize, white_noise, windows

__all__ = [
    "active_combinations", "cell_mode_matrix", "cluster_cells", "combination_effect", "instantaneous_receptive_fields",
    "irf_similarity", "irf_times", "partition_agreement", "rank_one", "response_statistics", "surprisal_target",
    "centred_crops", "field_centers", "lone_mode_pairs", "lone_mode_similarity", "mode_purity", "pathway_match", "signed_temporal",
    "spike_triggered_average",
    "CELL_TYPES", "PATHWAYS", "CircuitConfig", "SimulatedRetina", "poisson_spikes", "temporal_filter",
    "CNNSettings", "fitted_cnn", "predict", "prediction_quality", "train_cnn",
    "Recording", "load_recording", "save_recording_h5", "simulate_recording",
    "MovieWindows", "gather_windows", "generated_images", "grey_images", "natural_movie", "standardize", "white_noise", "windows",
]

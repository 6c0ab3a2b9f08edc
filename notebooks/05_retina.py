# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. The retina: CODEC on a CNN model of a retina whose wiring is known
#
# This section replicates §7 of the paper (Fig. 8, claim 12). The paper fits the three-layer CNN
# of Maheswaranathan et al. (2023) to salamander ganglion cells watching natural movies, takes
# the **population surprisal** `½ (y − μ)ᵀ Σ⁻¹ (y − μ)` of the model's responses as the target,
# decomposes the first two layers' hidden-IG contributions (20 steps, E/I split, summed over
# space) into modes with an SAE, and finds that the cells cluster by how their firing correlates
# with the modes — the same clusters from layer 1 and layer 2 — and that a cell's instantaneous
# receptive field (IRF: the gradient of its rate with respect to the stimulus) changes with the
# combination of active modes.
#
# The recordings and the fitted models cannot be downloaded here. So the recording comes from a
# **simulated retina whose wiring is known** (`codec.retina.circuit`): ON and OFF bipolar
# pathways with centre–surround space and transient or sustained time courses, amacrine
# inhibition, and ganglion cells of four known types (ON transient, OFF transient, OFF
# sustained, ON–OFF) with Poisson spikes. The paper's CNN is fitted to that recording and
# CODEC runs on the CNN as in the paper. The truth then scores what the paper could not: do the
# clusters recover the true cell types, and are the CNN's IRFs the retina's? At the `paper`
# scale the same notebook reads a deep-retina HDF5 recording and a torch-deep-retina checkpoint
# (`recording`, `retina_weights`).
#
# ## Findings
#
# ```{glue:md} findings_05
# :format: myst
# ```
#
# **What the two scales show** (the findings table gives the numbers):
#
# - *The CNN models the simulated retina well.* On the test movie it explains 77% (tiny) and 89%
#   (sample) of the explainable variance (median over cells), and its predictions correlate
#   0.86 and 0.94 with the noise-free rates.
# - *Claim 12 holds at both scales.* The cells fall into four clusters by their correlations with
#   the modes, the same four from layer 1 and layer 2 (adjusted Rand index 1.00; shuffled
#   partitions reach 0.29 and 0.17 at their 95th percentile). The truth says what the paper could
#   not: the clusters are exactly the four simulated cell types, at both layers and scales. (The
#   paper found three clusters among its salamander cells; the simulation has four types.)
# - *IRFs change with the combination of active modes*, beyond chance: a cell's IRFs at times of
#   one combination correlate more than its IRFs at times of different combinations, by 0.05
#   (tiny) and 0.21 (sample) against shuffled combinations' 0.02 and 0.03. The true retina,
#   asked the same at the same times, shows it more weakly: at tiny 0.03, at its chance level
#   (on other CPU code paths it falls below it), at sample 0.13 against 0.03. Its rectified
#   subunits make the IRF depend on which of them the stimulus drives; the CNN exaggerates that.
# - *A caution the truth adds.* The CNN's IRFs correlate only about 0.65 with the retina's own
#   (median over the IRFs shown): the right polarity and place, but with spatial structure the
#   circuit does not have, most of all for the OFF-sustained cells (figure below). A model that
#   explains most of the explainable variance can still have IRFs that differ from the
#   circuit's, which is worth keeping in mind when a model's IRFs are read as the retina's.
# - *IRFs of different cells when one mode alone is active (Fig. 8D, left)*, cut around each
#   cell's field: with `relu1`'s modes they are more alike when the cells share the lone mode than
#   when their lone modes differ, by 0.037 (tiny) and 0.074 (sample) against shuffled modes'
#   0.012 and 0.011, and the true retina's own IRFs at the same times show the same (0.020 and
#   0.057). With `relu2`'s modes there is no such effect at tiny (−0.006); at sample there is
#   (0.053 against 0.014; the true retina's 0.032 against 0.017).
# - *But a mode is not a pathway of the circuit.* Grouped by lone mode, the pathways that drove
#   the cells at those times are no purer than under shuffled modes (0.44 against 0.45–0.49 at
#   both scales and layers). The pathways the CNN's IRFs look like are no purer at tiny, and at
#   sample only a little (0.55 and 0.58 against 0.51 and 0.54). The IRFs themselves do look like
#   the right pathway: 76–80% of the CNN's (88–90% of the true retina's) match best the pathway
#   that drove the cell. What a lone mode shares across cells is therefore not one pathway; what it
#   is (the stimulus at those times is a candidate) this page does not test.
# - *Under white noise*, a stimulus the CNN never saw, its STAs match the simulated cells' around
#   their fields (median r 0.83 at both scales; the ON–OFF cells have weak STAs, as such cells
#   do, since their ON and OFF halves cancel), while its rates follow the cells' less well than
#   on natural movies (r 0.67 and 0.73, against 0.86 and 0.94).
# - What this page does not do: the paper's recordings and fitted models cannot be had here (the
#   `paper` scale reads them from the user).

# %% tags=["parameters"]
preset = "tiny"
recording = None  # a deep-retina HDF5 recording (required at paper); None: the simulated retina
retina_weights = None  # a torch-deep-retina BNCNN checkpoint; None: the CNN fitted here to the recording
steps = None  # IG steps (the paper: 20); None: the preset's
cnn_epochs = None  # epochs of the CNN's fit; None: the preset's
sae_epochs = None  # epoch limit of each SAE; None: the preset's
min_rate = 1.0  # Hz: IRF times are times the cell fires above this (the paper: 1 Hz)
max_modes = 5  # IRF times have 1 to max_modes active modes (the paper: at most 5)
irf_layer = "relu2"  # the layer whose mode combinations label the IRF times
crop_radius = None  # pixels each side of a cell's field centre when IRFs of different cells are compared; None: a fifth of the frame
white_noise_frames = 5000  # frames of the white-noise checkerboard whose STAs are shown
n_permutations = 1000  # shuffles of the chance levels
seed = 0  # the simulated retina, its movies and spikes, the CNN's and SAEs' initialisation
data_root = None  # the images of the sample scale's movies; None: $CODEC_DATA_DIR
runs_dir = "runs"  # where the fitted CNN, the contribution store and the SAEs are kept
results_dir = "results"  # where the measured claims are saved for the scorecard

# %% tags=["hide-input", "nbval-ignore-output"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from codec import plots, retina, scorecard
from codec.presets import get_preset
from codec.retina import workflow
from codec.sae import fit_layers

plots.theme()
started = time.perf_counter()
overrides = {"retina_cnn_epochs": cnn_epochs, "retina_sae_epochs": sae_epochs, "retina_steps": steps}
config = get_preset(preset, **{name: value for name, value in overrides.items() if value is not None})
setup = workflow.retina_setup(config, runs_dir, recording=recording, weights=retina_weights, data_root=data_root, seed=seed)
print(plots.wrapped(setup.describe()))
quality = setup.quality
print(plots.wrapped(f"CNN on the test movie: r with the observed rates {np.nanmedian(quality['r_observed']):.2f} (median over cells)"
                    + (f", with the noise-free rates {np.nanmedian(quality['r_true']):.2f}; noise ceiling "
                       f"{np.nanmedian(quality['ceiling']):.2f}; explained fraction of the explainable variance "
                       f"{np.nanmedian(quality['explained_fraction']):.0%}" if "r_true" in quality else "")))

# %% [markdown]
# ## The recording and the model
#
# Top left: a frame of the test movie. Top right: the CNN's predicted rate against the observed one
# (spike counts per bin, as a rate) and, for the simulation, the noise-free rate, for one cell
# of each type over a few seconds of the test movie. Below: per cell, the correlation of the
# prediction with the observed rates; for the simulation also with the noise-free rates, and the
# noise ceiling (the noise-free rate's own correlation with the observed one: the best any
# model can reach). The field's summary is the fraction of the explainable variance,
# $r_\mathrm{observed}^2 / \mathrm{ceiling}^2$.
#
# **What to look for:** the red trace (CNN) following the black one (noise-free rate) and the
# blue bars close to the green ones (the ceiling): a model good enough that its modes are worth
# reading.

# %% tags=["hide-input", "nbval-ignore-output"]
r = setup.recording
fig = plt.figure(figsize=(plots.COLUMN_WIDTH, 7.0))
grid = fig.add_gridspec(2, 2, width_ratios=[1, 2.4], height_ratios=[1.1, 1])
axis = fig.add_subplot(grid[0, 0])
axis.imshow(r.test_movie[r.frames].numpy(), cmap="gray")
axis.set_title(f"a test frame ({r.size}×{r.size} px)")
axis.axis("off")
if r.cell_types is not None:  # one cell of each true type
    shown_cells = [int(np.flatnonzero(r.cell_types == t)[0]) for t in range(len(r.type_names))]
else:
    shown_cells = list(range(min(4, r.n_cells)))
span = slice(0, min(r.test_rates.shape[0], int(3000 / r.bin_ms)))
seconds = np.arange(span.stop) * r.bin_ms / 1000
inner = grid[0, 1].subgridspec(len(shown_cells), 1, hspace=0.08)
for i, cell in enumerate(shown_cells):
    axis = fig.add_subplot(inner[i])
    axis.plot(seconds, r.test_rates[span, cell].numpy(), color="0.75", lw=0.6, label="observed")
    if r.true_test_rates is not None:
        axis.plot(seconds, r.true_test_rates[span, cell].numpy(), color="k", lw=0.9, label="noise-free")
    axis.plot(seconds, setup.predicted[span, cell].numpy(), color="C3", lw=0.9, label="CNN")
    axis.set_ylabel("Hz", fontsize=8)
    axis.text(0.01, 0.97, r.cell_names[cell], transform=axis.transAxes, va="top", fontsize=8, fontweight="bold")
    if i < len(shown_cells) - 1:
        axis.set_xticklabels([])
    else:
        axis.set_xlabel("time in the test movie (s)")
    if i == 0:
        axis.legend(fontsize=8, ncol=3, loc="lower right", bbox_to_anchor=(1, 1), frameon=False)
axis = fig.add_subplot(grid[1, :])
x = np.arange(r.n_cells)
axis.bar(x - 0.25, quality["r_observed"], 0.25, label="CNN vs observed")
if "r_true" in quality:
    axis.bar(x, quality["r_true"], 0.25, label="CNN vs noise-free")
    axis.bar(x + 0.25, quality["ceiling"], 0.25, label="noise ceiling")
axis.set_xticks(x, r.cell_names, fontsize=8, rotation=90)
axis.set_ylabel("Pearson r, test movie")
axis.set_ylim(0, 1.2)
axis.set_yticks(np.arange(0, 1.01, 0.2))
axis.legend(fontsize=8, loc="upper left", ncol=3)
axis.set_title("prediction quality per cell")
fig.suptitle("The recording and the CNN fitted to it", fontsize=10)
plt.show()

# %% [markdown]
# ## Contributions to the population surprisal, and their modes
#
# The target is the surprisal of the CNN's population response, with the mean and covariance of
# its responses to the test movie (the released code's choice). Hidden IG from a zero stimulus
# gives each unit of `relu1` and `relu2` its contribution, split into positive and negative parts
# per position and summed over space: 2 × 8 numbers per layer and time point. One SAE per layer
# (the released retina SAE: both signs in, 160 modes, threshold 0.9, dictionary L1 1e-4) turns
# them into modes. Below: the contributions of the first layer over a few seconds of the test
# movie (time × 16), and the loadings of its two most active modes.
#
# **What to look for:** modes that switch on and off with the population's bursts: the loadings
# near 0 most of the time and near 1 during the events that drive the response.

# %% tags=["hide-input", "nbval-ignore-output"]
store = workflow.retina_store(setup, runs_dir)
layers = store.layers
fits = fit_layers(store, workflow.retina_sae_settings(config), kinds=("contributions",))
sae_table = {layer: {"R²": fits[layer, "contributions"].metrics["r2"], "alive modes": fits[layer, "contributions"].metrics["alive_modes"],
                     "active modes per time point (L0)": fits[layer, "contributions"].metrics["l0"]} for layer in layers}
change = store.field("target_at_input") - store.field("target_at_baseline")
gap = np.abs(change - store.contributions(layers[0]).sum((1, 2))) / np.abs(change)
print(plots.wrapped(f"store: {store.n_items} windows, IG {store.settings['steps']} steps, target {store.settings['target'][0]}; completeness: "
                    f"median |y(x) − y(0) − Σ contributions| / |y(x) − y(0)| over windows at {layers[0]}: {np.median(gap):.1e}"))
first = fits[layers[0], "contributions"]
busiest = np.argsort(-(first.codes > 0).sum(0))[:2]
fig, axes = plt.subplots(3, 1, figsize=(plots.FULL_WIDTH, 5.2), sharex=True, gridspec_kw={"height_ratios": [1, 2.2, 1.2]})
axes[0].plot(seconds, setup.predicted[span].numpy().sum(1), color="k", lw=0.8)
axes[0].set_ylabel("summed\nrate (Hz)")
axes[0].set_title(f"population response, {layers[0]}'s contributions, its two most active modes", fontsize=9)
contributions = np.concatenate([store.contributions(layers[0])[span, 0], store.contributions(layers[0])[span, 1]], axis=1)
bound = np.percentile(np.abs(contributions), 99)
shown = axes[1].imshow(contributions.T, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound,
                       extent=(seconds[0], seconds[-1], contributions.shape[1] - 0.5, -0.5), interpolation="nearest")
axes[1].set_ylabel("channel\n(+ parts, then − parts)")
fig.colorbar(shown, ax=axes[1], fraction=0.02, label="contribution")
for mode in busiest:
    axes[2].plot(seconds, first.codes[span, mode], lw=0.8, label=f"mode {mode}")
axes[2].set_ylabel("loading")
axes[2].set_xlabel("time in the test movie (s)")
axes[2].legend(fontsize=8, loc="upper right")
plt.show()
pd.DataFrame(sae_table).T.round(3)

# %% [markdown]
# ## Do cells cluster by their modes? (Fig. 8C)
#
# For each layer, the correlation of every cell's predicted rate with every live mode's loading
# over the test movie, each mode's column standardised across cells; k-means on the cells with
# k from 2 to 8 chosen by the mean silhouette (the released code's procedure). The paper finds
# three clusters and the same clusters from both layers. The rows are sorted by the first
# layer's clusters; the labels on the left give each cell's true type (simulation only).
#
# **What to look for:** blocks of rows with the same pattern of red columns, one block per
# cluster; in the simulation, each block holding the cells of one true type (the labels), and the
# two layers' partitions agreeing (claim 12).

# %% tags=["hide-input", "nbval-ignore-output"]
clusters = workflow.measure_clusters(setup, fits, layers, n_permutations=n_permutations, seed=seed)
order = np.lexsort((np.arange(r.n_cells), clusters["layers"][layers[0]]["labels"]))
fig, axes = plt.subplots(1, len(layers), figsize=(plots.COLUMN_WIDTH, 0.2 * r.n_cells + 1.9))
for axis, layer in zip(axes, layers):
    found = clusters["layers"][layer]
    matrix = found["matrix"][order]
    column_order = np.argsort(np.argmax(np.abs(matrix), axis=0))
    shown = axis.imshow(matrix[:, column_order], aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3, interpolation="nearest")
    axis.set_yticks(range(r.n_cells), [f"{r.cell_names[c]} → {found['labels'][c]}" for c in order], fontsize=8)
    axis.set_xlabel(f"live modes ({matrix.shape[1]}),\nby their strongest cell")
    truth = f"\nARI vs true types {found['truth']['ari']:.2f}" if "truth" in found else ""
    axis.set_title(f"{layer}: k = {found['k']} clusters{truth}", fontsize=9)
fig.colorbar(shown, ax=axes, fraction=0.05, label="cell–mode correlation\n(z across cells)")
agreement = clusters["agreement"]
fig.suptitle(f"cells × modes; the two layers' partitions agree with ARI {agreement['ari']:.2f}\n"
             f"(shuffled 95th percentile {agreement['chance_95']:.2f})", fontsize=10)
plt.show()

# %% [markdown]
# ## IRFs and the combination of active modes (Fig. 8B, D)
#
# The paper shows a cell's IRF at times when one mode alone is active (similar IRFs across
# cells) and at times when a few modes are active while the cell fires (IRFs that differ with
# the combination). Here the statement is measured: for each cell, time points at which it fires
# above `min_rate` and 1 to `max_modes` modes of `irf_layer` are active, grouped by the set of
# active modes (the most frequent sets, at most 4 times each, no two windows overlapping); the
# IRFs of one cell at times of the *same* combination should be more alike (Pearson r over frames
# × pixels) than at times of *different* combinations, beyond what shuffling the combinations
# among the cell's times gives. The IRFs are computed in one backward pass per batch of
# (time, cell) pairs, each row carrying its own cell as the cotangent; for the simulation, the
# true retina's IRFs at the same times come from its own gradient. Shown: the spatial factor of
# each IRF's rank-1 decomposition (SVD of frames × pixels, sign-fixed so that an ON response is
# positive) for one cell of each type (a row each) at two combinations, the true retina's beside
# the CNN's.

# %% tags=["hide-input", "nbval-ignore-output"]
measured = workflow.measure_combinations(setup, fits[irf_layer, "contributions"], min_rate, max_modes, n_permutations=n_permutations, seed=seed)
spatial, temporal, singular = retina.rank_one(measured["irfs"])
rows = [("CNN", spatial)]
if "true_irfs" in measured:
    rows.append(("true retina", retina.rank_one(measured["true_irfs"])[0]))
shown_pairs = []
for cell in shown_cells:
    picks = np.flatnonzero(measured["cells"] == cell)
    combos = []
    for p in picks:
        if measured["combinations"][p] not in [measured["combinations"][q] for q in combos]:
            combos.append(p)
    shown_pairs += [(cell, p) for p in combos[:2]]
if shown_pairs:
    by_cell = {cell: [p for c, p in shown_pairs if c == cell] for cell in dict.fromkeys(c for c, _ in shown_pairs)}
    width = max(len(picks) for picks in by_cell.values()) * len(rows)
    fig, axes = plt.subplots(len(by_cell), width, figsize=(plots.COLUMN_WIDTH, 1.75 * len(by_cell) + 0.8), squeeze=False)
    for line, (cell, picks) in enumerate(by_cell.items()):
        for column in range(width):
            (pick, kind), axis = divmod(column, len(rows)), axes[line, column]
            if pick >= len(picks):
                axis.axis("off")
                continue
            what, factors = rows[kind]
            plots.signed_field(axis, factors[picks[pick]].numpy())
            modes_on = ", ".join(str(m) for m in sorted(measured["combinations"][picks[pick]]))
            axis.set_title(f"{what}, t = {measured['times'][picks[pick]]}\nmodes {{{modes_on}}}", fontsize=8)
        axes[line, 0].set_ylabel(r.cell_names[cell], fontsize=8)
    fig.suptitle(f"IRF spatial factors (red: ON, blue: OFF) of one cell per type (rows) at two\ncombinations of active "
                 f"{irf_layer} modes (each panel's title: the time and the modes)", fontsize=9)
    plt.show()
effect = measured["effect"]
summary = {"CNN": effect} | ({"true retina": measured["true_effect"]} if "true_effect" in measured else {})
pd.DataFrame(summary).T[["within", "between", "difference", "chance_95", "p", "n_cells", "n_irfs"]].round(4)

# %% [markdown]
# ## IRFs when one mode alone is active (Fig. 8D, left), and the circuit's pathways
#
# The paper shows the IRFs of several cells at times when one mode alone is active, and they look
# alike. The simulated cells sit at different places, so each IRF is first cut around its cell's
# field centre (the peak of the cell's mean absolute spatial factor, `crop_radius` pixels each
# side). For every mode of each layer and every cell, up to 3 times at which that mode alone is
# active and the cell fires above `min_rate` (windows apart); then, over pairs of IRFs of
# *different* cells, the mean Pearson r of pairs that share the lone mode (`within`) against
# pairs whose lone modes differ (`between`), with shuffled mode labels as the chance level. The
# comparison needs at least two modes that are ever alone; the figures show the layer with the
# most.
#
# The truth then asks whether a mode stands for one of the circuit's pathways. Each IRF's
# temporal factor, with the polarity of its centre, is correlated with the temporal filters of
# the three pathways (ON transient, OFF transient, OFF sustained), and the circuit says which
# pathway drove the cell most at that time (`IRF = driving pathway`: how often the IRF looks
# most like that one). If modes stood for pathways, the times of one lone mode would share a
# pathway: the purity of the pathways grouped by lone mode (the share of times whose pathway is
# their mode's most common one; for the true retina the driving pathway, for the CNN the
# pathway its IRF looks like) would beat shuffled modes (`purity chance_95`).
#
# **What to look for:** in each row (one lone mode), IRFs of different cells that look alike,
# and, in the bars, one colour dominating each mode's bar if modes stood for pathways.

# %% tags=["hide-input", "nbval-ignore-output"]
lone = {layer: workflow.measure_lone_modes(setup, fits[layer, "contributions"], min_rate, radius=crop_radius,
                                           n_permutations=n_permutations, seed=seed) for layer in layers}
for layer, found in lone.items():
    print(plots.wrapped(f"{layer}: one mode alone is active at {found['pairs']['lone_share']:.0%} of the test windows; "
                        f"{len(found['pairs']['times'])} IRFs of {len(set(found['pairs']['cells'].tolist()))} cells at "
                        f"{len(set(found['pairs']['modes'].tolist()))} lone modes"
                        + ("" if found["similarity"] is not None else f". {found['reason']}")))
shown_layer, columns = workflow.lone_mode_examples(lone)  # two lone modes, up to 5 cells each
if shown_layer is not None:
    found, pairs = lone[shown_layer], lone[shown_layer]["pairs"]
    rows = [("CNN", retina.rank_one(found["crops"])[0])]
    if "true_crops" in found:
        rows.append(("true retina", retina.rank_one(found["true_crops"])[0]))
    by_mode = {int(m): [p for p in columns if pairs["modes"][p] == m] for m in dict.fromkeys(pairs["modes"][columns].tolist())}
    width = max(len(shown) for shown in by_mode.values())
    fig, axes = plt.subplots(len(by_mode) * len(rows), width, figsize=(plots.COLUMN_WIDTH, 1.45 * len(by_mode) * len(rows) + 0.8),
                             squeeze=False)
    for block, (mode, shown) in enumerate(by_mode.items()):
        for row, (what, factors) in enumerate(rows):
            line = block * len(rows) + row
            for column in range(width):
                axis = axes[line, column]
                if column >= len(shown):
                    axis.axis("off")
                    continue
                plots.signed_field(axis, factors[shown[column]].numpy())
                if row == 0:
                    axis.set_title(r.cell_names[pairs["cells"][shown[column]]], fontsize=8)
            axes[line, 0].set_ylabel(f"mode {mode}\n{what}", fontsize=8)
    fig.suptitle(f"IRF spatial factors of different cells when one {shown_layer} mode alone is active,\ncut "
                 f"{found['radius']} px around each cell's field centre (red: ON, blue: OFF)", fontsize=9)
    plt.show()
    if "purity" in found:
        fig, axes = plt.subplots(1, 2, figsize=(plots.FULL_WIDTH, 3.0), sharey=True)
        lone_modes = np.unique(pairs["modes"])
        for axis, (key, title) in zip(axes, (("purity", "pathway that drove the cell most (truth)"),
                                             ("irf_purity", "pathway the CNN's IRF looks like most"))):
            shares, bottom = found[key]["shares"], np.zeros(len(lone_modes))
            for k, name in enumerate(found["pathway_names"]):
                axis.bar(range(len(lone_modes)), shares[:, k], bottom=bottom, label=name)
                bottom += shares[:, k]
            axis.set_xticks(range(len(lone_modes)), [str(m) for m in lone_modes], fontsize=8, rotation=90)
            axis.set_xlabel(f"lone {shown_layer} mode")
            axis.set_title(f"{title}\npurity {found[key]['purity']:.2f} (shuffled 95th pct. {found[key]['chance_95']:.2f})",
                           fontsize=8)
        axes[0].set_ylabel("share of the mode's IRF times")
        plots.legend_below(fig, axes)
        plt.show()
    similarity = {}
    for layer in [layer for layer in layers if lone[layer]["similarity"] is not None]:
        similarity[f"CNN, {layer}"] = lone[layer]["similarity"]
        if "true_similarity" in lone[layer]:
            similarity[f"true retina, {layer}"] = lone[layer]["true_similarity"]
            similarity[f"true retina, {layer}"] |= {"IRF = driving pathway": lone[layer]["true_agreement"],
                                                    "pathway purity": lone[layer]["purity"]["purity"],
                                                    "purity chance_95": lone[layer]["purity"]["chance_95"]}
            similarity[f"CNN, {layer}"] |= {"IRF = driving pathway": lone[layer]["agreement"],
                                            "pathway purity": lone[layer]["irf_purity"]["purity"],
                                            "purity chance_95": lone[layer]["irf_purity"]["chance_95"]}
    display(plots.number_table(pd.DataFrame(similarity).drop(index=["p"])))

# %% [markdown]
# ## Receptive fields under white noise
#
# The field's other stimulus: a binary checkerboard (4-pixel checkers, a new frame every bin).
# A cell's spike-triggered average (STA), the mean window weighted by the response to it less the
# plain mean window, is the classic estimate of its receptive field (for Gaussian noise it equals the mean IRF times the
# mean rate: Stein's lemma, which the tests check). The CNN was fitted to natural movies only;
# here its STAs (each window weighted by its predicted rate) are set beside the simulated cells'
# (weighted by their noise-free rates, what a long recording of their spikes converges to),
# compared around each cell's field, and its rates under white noise are correlated with the
# cells' (r on a stimulus it was not fitted on). Shown: one cell of each type.
#
# **What to look for:** the CNN's STA (top row) with the simulated cell's polarity and centre
# (middle row), and the red time course following the black one.

# %% tags=["hide-input", "nbval-ignore-output"]
noise = workflow.measure_white_noise(setup, n_frames=white_noise_frames, radius=crop_radius, seed=seed)
stas = [("CNN", noise["sta"])] + ([("simulated cell", noise["true_sta"])] if "true_sta" in noise else [])
centers = noise.get("centers", retina.field_centers(retina.rank_one(noise["sta"])[0]))
fig, axes = plt.subplots(len(stas) + 1, len(shown_cells), figsize=(plots.FULL_WIDTH, 1.6 * len(stas) + 2.2), squeeze=False)
lags = (np.arange(r.frames) - r.frames + 1) * r.bin_ms
for column, cell in enumerate(shown_cells):
    for row, (what, sta) in enumerate(stas):
        crop = retina.centred_crops(sta[[cell]], centers[[cell]], noise["radius"])
        axis = axes[row, column]
        plots.signed_field(axis, retina.rank_one(crop)[0][0].numpy())
        if row == 0:
            axis.set_title(r.cell_names[cell], fontsize=8)
        if column == 0:
            axis.set_ylabel(f"{what}\nSTA", fontsize=8)
        axes[-1, column].plot(lags, retina.signed_temporal(crop)[0].numpy(), label=what, color="C3" if what == "CNN" else "k")
    axes[-1, column].set_xlabel("time before\nthe response (ms)", fontsize=8)
    axes[-1, column].axhline(0, color="0.7", lw=0.5)
    if "similarity" in noise:
        axes[-1, column].set_title(f"STA r {noise['similarity'][cell]:.2f}", fontsize=8)
axes[-1, 0].set_ylabel("temporal factor\n(× centre polarity)", fontsize=8)
plots.legend_below(fig, axes[-1, :1])
fig.suptitle(f"STAs under white noise ({white_noise_frames} frames), spatial factors cut {noise['radius']} px\naround each "
             "field (red: ON, blue: OFF) and their time courses", fontsize=9)
plt.show()
if "similarity" in noise:
    print(plots.wrapped(f"CNN vs simulated cells under white noise: STA r {np.nanmedian(noise['similarity']):.2f}, rate r "
                        f"{np.nanmedian(noise['r_rates']):.2f} (medians over cells; on the natural test movie the rate r was "
                        f"{np.nanmedian(quality['r_true']):.2f})"))

# %% [markdown]
# ## Claim 12
#
# The rule (`codec.scorecard`, claim 12) judges the paper's two statements: the clusters of the
# first two layers agree, and IRFs change with the combination of active modes. The simulated
# truth is reported beside them (it is not part of the paper's claim): how well each layer's
# clusters recover the true cell types, how alike the CNN's IRFs are to the retina's, and the
# combination statistic asked of the true retina itself.

# %% tags=["hide-input"]
claim12 = {"agreement": clusters["agreement"], "effect": measured["effect"],
           "k": {layer: clusters["layers"][layer]["k"] for layer in layers},
           "test_r": float(np.nanmedian(quality["r_observed"]))}
if setup.circuit is not None:
    claim12 |= {"truth_ari": {layer: clusters["layers"][layer]["truth"]["ari"] for layer in layers},
                "fidelity_median": float(np.median(measured["fidelity"])), "true_effect": measured["true_effect"],
                "explained_fraction": float(np.nanmedian(quality["explained_fraction"]))}
_ = scorecard.assess(results_dir, config.name, 12, claim12)
scorecard.findings(results_dir, config.name, [12], with_rules=True)

# %% tags=["hide-input", "nbval-ignore-output"]
glue("findings_05", Markdown(scorecard.findings_markdown(results_dir, config.name, [12])), display=False)
print(f"this page ran in {time.perf_counter() - started:.0f} s at the {config.name} scale")

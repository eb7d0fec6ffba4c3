# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # 3. Style transfer by optimisation: the paper's baseline
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/03_gatys.ipynb)
#
# Gatys, Ecker & Bethge (2016) stylise a photo by optimising the pixels of an image ŷ so that
# it has the content of the photo y_c and the style of a painting y_s. Johnson et al. use this
# as their baseline (paper §4.1), with their own losses: they minimise
#
# $$\lambda_c\,\ell_{feat}^{\phi,relu2\_2}(\hat y, y_c) + \lambda_s\,\ell_{style}^{\phi}(\hat y, y_s) + \lambda_{TV}\,\ell_{TV}(\hat y)$$
#
# (paper eq. 5) with VGG-16, content at relu2_2, style at relu1_2, relu2_2, relu3_3 and relu4_3,
# and a TV term, by L-BFGS from white noise. Gatys et al. themselves used VGG-19, content at
# conv4_2, style at conv1_1 … conv5_1, and no TV term. The result is beautiful and slow: every
# step is a forward and a backward pass through VGG.
#
# **Learning goals**
# - write eq. 5 and the L-BFGS closure yourself, and run the optimisation with them;
# - compare L-BFGS and Adam, the paper's projected L-BFGS, start images and content layers;
# - see the style/content trade-off, and measure the seconds per iteration that notebook 4's
#   feed-forward network will beat.

# %% [markdown]
# ## Set-up
# The first cell is the same in every notebook: on Colab it fetches the course.

# %%
# Set-up. Locally, `make lab` has installed the course; on Colab this cell fetches it first.
import sys
if "google.colab" in sys.modules:
    # !git clone -q --depth 1 https://github.com/perceptual-losses-course/course.git /content/course && {sys.executable} -m pip install -q -e /content/course
    sys.path.insert(0, "/content/course")

# %% [markdown]
# The libraries this notebook uses. `course_lib.setup()` seeds torch and prints the device, the
# mode (`fast` on a CPU: small images and few steps; `full` on a GPU) and where the images come from.

# %%
import json

import course_lib
import matplotlib.pyplot as plt
import torch

from course_lib import config, data, exercises, losses
from course_lib.exercises import check
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.objectives import LossWeights, PerceptualObjective, style_weights
from course_lib.plots import loss_curves
from course_lib.vgg import VGGFeatures
from course_lib.widgets import StylePanel

device, preset = course_lib.setup()

# %% [markdown]
# The content photo y_c and the style painting y_s, and the loss network with the paper's layers.

# %%
content = load_image(data.images("content")[0], size=preset.image_size).to(device)
style = load_image(data.images("styles")[0], size=preset.style_size).to(device)
vgg = VGGFeatures(weights=config.vgg_weights()).to(device)
show_images([content.cpu(), style.cpu()], ["content y_c", "style y_s"], size=3)
plt.show()

# %% [markdown]
# ## Eq. 5, written by you
# The targets do not change during the optimisation, so they are computed once: the content
# activations φ_relu2_2(y_c) and the style Gram matrices G_j(y_s). `PerceptualObjective`
# computes them (with the losses of notebook 2).
#
# **What scale the weights assume.** The λ only mean something together with the loss
# network's activation scale. The paper's numbers (the authors' code: λ_c = 1, λ_s = 5,
# λ_TV = 1e-6) are for the Caffe VGG-16 on 0–255 images, with the style loss averaged over the
# C_j² Gram entries; that eq. 5 is about 10⁷ at the content image. The course's images are in
# [0, 1] and its ℓ_style is the paper's squared Frobenius norm, and torch's L-BFGS stalls or
# diverges on a loss of 10⁷ (its tolerances are absolute). So `style_weights(vgg)` keeps the
# paper's balance, scaled by 1e-6: for the Caffe network λ_c = 1e-6, λ_s = 1.5e-10,
# λ_TV = 6.5e-8 (torchvision's or a random VGG, whose activations are ~100× smaller, have
# their own defaults). `course_lib/objectives.py` derives each number.

# %%
weights = style_weights(vgg)  # λ_c, λ_s, λ_TV for this network; the panel at the end starts from them too
reference = PerceptualObjective(vgg, style, weights)
content_targets, style_grams = reference.targets(content), reference.grams
print(weights)
print({layer: tuple(g.shape) for layer, g in style_grams.items()})

# %% [markdown]
# **Exercise 1.** Write eq. 5: given the image ŷ, return the total
# λ_c·ℓ_feat(φ_relu2_2(ŷ), target) + λ_s·ℓ_style + λ_TV·ℓ_TV(ŷ) and the three weighted terms
# in a dict with the keys `content`, `style` and `tv`. `loss_net(image)` returns the
# activations of every style layer (relu2_2 among them); `content_targets` maps relu2_2 to its
# target. Use `losses.feature_loss`, `losses.style_loss` and `losses.tv_loss` (the functions of
# notebook 2). The optimisations below run on your objective.

# %%
def gatys_objective(image, loss_net, content_targets, style_grams, weights):
    ### BEGIN SOLUTION hint: one pass of loss_net; a content term per entry of content_targets
    features = loss_net(image)
    parts = {"content": weights.content * sum(losses.feature_loss(features[layer], target)
                                              for layer, target in content_targets.items()),
             "style": weights.style * losses.style_loss(features, style_grams),
             "tv": weights.tv * losses.tv_loss(image)}
    return sum(parts.values()), parts
    ### END SOLUTION


# %%
gatys_objective = check("gatys_objective", gatys_objective, exercise=exercises.gatys_objective_exercise(vgg))

# %% [markdown]
# ## The L-BFGS closure
# L-BFGS is a quasi-Newton method: it estimates the curvature from the last gradients. With a
# line search (`torch.optim.LBFGS(..., line_search_fn="strong_wolfe")`) or several iterations
# per call (`max_iter`), it evaluates the objective several times per step, so
# `optimizer.step` takes a *closure*, a function it can call to recompute the loss and the
# gradient. The course's `stylize` runs L-BFGS as the paper's baseline code does (one
# iteration per step, no line search): one evaluation per step, like Adam.
#
# **Exercise 2.** Write the factory of that closure: the closure zeroes the image's gradient,
# computes the loss with `loss_fn(image)` (which returns (total, parts)), backpropagates, and
# returns the total.

# %%
def make_closure(optimizer, image, loss_fn):
    ### BEGIN SOLUTION hint: L-BFGS may call the closure several times per step; each call must start from clean gradients || `def closure():` zero the gradients, `total, _ = loss_fn(image)`, `total.backward()`, `return total`; then `return closure`
    def closure():
        optimizer.zero_grad()
        total, _ = loss_fn(image)
        total.backward()
        return total
    return closure
    ### END SOLUTION


# %%
make_closure = check("lbfgs_closure", make_closure, exercise=exercises.closure_exercise())

# %% [markdown]
# ## L-BFGS against Adam
# The paper's baseline uses L-BFGS. Adam is the first-order optimiser we will train networks
# with. Same objective (yours), same number of steps, both starting from the content image.
# `stylize` runs the loop with your closure.

# %%
def my_eq5(image):
    return gatys_objective(image, vgg, content_targets, style_grams, weights)


results = {optimizer: stylize(content, style, loss_net=vgg, optimizer=optimizer, steps=preset.gatys_steps,
                              objective=my_eq5, closure=make_closure)
           for optimizer in ("lbfgs", "adam")}

# %% [markdown]
# The total loss against steps and against seconds (with one evaluation each, an L-BFGS step
# and an Adam step cost about the same here: the VGG pass dominates both), then the two results:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
histories = {name: history for name, (_, history) in results.items()}
loss_curves(histories, title="Gatys et al.: eq. 5 per step", ylabel="total loss", ax=axes[0])
loss_curves(histories, x="seconds", title="… per second of optimisation", ylabel="total loss", ax=axes[1])
fig.tight_layout()
plt.show()
show_images([image.cpu() for image, _ in results.values()], list(results), size=3)
plt.show()

# %% [markdown]
# ### Question 1: L-BFGS or Adam?
# Which reaches the lower loss in the same number of steps, and in the same time? When does an
# L-BFGS step cost more than Adam's, and why can it win anyway?
#
# <!-- BEGIN ANSWER -->
# L-BFGS usually reaches a much lower loss per step: it rescales the gradient by an estimate of
# the inverse curvature built from the last steps, so it takes well-sized steps along
# directions in which the loss is flat, where a first-order method crawls. Here each step
# evaluates the objective once (one iteration, no line search, as the paper's baseline), so the
# two cost about the same per step: the VGG forward and backward pass dominates both, and the
# bookkeeping over L-BFGS's stored history is small. With a line search (`strong_wolfe`) or
# `max_iter` > 1, a step evaluates the objective several times and costs that many VGG passes,
# in exchange for safer steps. Per second, L-BFGS wins too on this deterministic problem of one
# image. Adam shines on noisy, stochastic objectives
# (mini-batches), which is why networks are trained with it.
# <!-- END ANSWER -->

# %% [markdown]
# ## The result at the paper's size, for two paintings
# The cells around this one work at small sizes to stay quick. Here is what the method gives at
# the paper's 256² (in `fast` mode: the small size again), with L-BFGS from the photo and the
# course's eq. 5 (the same as yours, checked above), for two of the paintings. The stored
# outputs ran 300 iterations (the README names the command); the paper ran 500.

# %%
paintings = data.images("styles")[:2]
photo = load_image(data.images("content")[0], size=preset.result_size).to(device)
main = [stylize(photo, load_image(p, size=preset.style_size).to(device), loss_net=vgg,
                steps=preset.result_steps)[0].cpu() for p in paintings]
show_images([photo.cpu(), *main], ["photo", *(p.stem for p in paintings)], size=4)
plt.show()

# %% [markdown]
# ## The paper's baseline: projected L-BFGS from noise
# The paper's baseline starts from white noise and keeps the image in range by clipping it to
# [0, 1] after every iteration (`project=True`). The course's default clips only at the end:
# clipping in between changes the image behind L-BFGS's back and spoils its curvature
# estimate. Both, from noise:

# %%
baseline = {f"projected: {p}": stylize(content, style, loss_net=vgg, steps=preset.gatys_steps, init="noise",
                                       project=p, objective=my_eq5, closure=make_closure)
            for p in (True, False)}
loss_curves({name: history for name, (_, history) in baseline.items()},
            title="L-BFGS from noise, clipped every step or at the end", ylabel="total loss")
plt.show()
show_images([image.cpu() for image, _ in baseline.values()], list(baseline), size=3)
plt.show()

# %% [markdown]
# ## Where to start, which layers
# From white noise the optimisation needs more steps to reach the content than from the
# photo; with content at relu3_3 (as in the authors' Lua code) more of the photo's texture is
# given up to the style.

# %%
variants = {"from content, relu2_2": results["lbfgs"][0],
            "from noise": baseline["projected: False"][0],
            "content at relu3_3": stylize(content, style, loss_net=vgg, steps=preset.gatys_steps, weights=weights,
                                          content_layers=("relu3_3",))[0]}
show_images([image.cpu() for image in variants.values()], list(variants), size=3)
plt.show()

# %% [markdown]
# ## The style/content trade-off
# The ratio λ_s/λ_c decides how much of the painting the photo takes on. A sweep over four
# ratios, 1/100, 1/10, 1 and 10 times this network's default (the absolute numbers only mean
# something for one loss network, as the weights cell said), each optimised from the content
# image with the same number of steps:

# %%
factors = (0.01, 0.1, 1.0, 10.0)
sweep = [stylize(content, style, loss_net=vgg, steps=preset.gatys_steps, progress=False,
                 weights=LossWeights(content=weights.content, style=weights.style * f, tv=weights.tv))[0].cpu()
         for f in config.progress(factors, desc="λ_s/λ_c sweep")]
show_images([content.cpu(), *sweep], ["content", *(f"λ_s/λ_c × {f:g}" for f in factors)], size=2.5)
plt.show()

# %% [markdown]
# ### Question 2: what does the content term protect, and what does the style term ask for?
# Describe how the image changes along the sweep, and explain it from the two losses.
#
# <!-- BEGIN ANSWER -->
# The content term asks for the relu2_2 activations of the photo, that is, its edges and
# layout; the style term asks for the painting's feature co-occurrence statistics anywhere in
# the image and is indifferent to layout. Along the sweep the painting's round strokes and
# colours spread: at 1/100 of the default they already show in the flat, bright stone, where
# new texture costs little content loss (flat areas have weak relu2_2 responses to keep); as the
# ratio grows they cover the door and its colours move towards the painting's reds and blues;
# at ×10 the arch is held only by its strongest edges, the last thing the content term gives
# up. Because the Gram matrices and the features have different scales, the
# useful range of λ_s/λ_c depends on the loss network (and differs between random and ImageNet
# weights).
# <!-- END ANSWER -->

# %% [markdown]
# ## How slow is it?
# Seconds per L-BFGS iteration at 256×256 and 512×512 on this machine. Notebook 4 compares
# these with one forward pass of the feed-forward network (the paper's Table 1). The numbers are
# saved in the course cache for it.

# %%
timing_steps = 3 if config.mode() == "fast" else 20
seconds_per_step = {}
for size in (256, 512):
    image = load_image(data.images("content")[0], size=(size, size)).to(device)
    _, history = stylize(image, style, loss_net=vgg, steps=timing_steps, progress=False, weights=weights)
    seconds_per_step[size] = history[-1]["seconds"] / len(history)
    print(f"{size}×{size}: {seconds_per_step[size]:.3f} s per iteration on {device} "
          f"→ 500 iterations ≈ {500 * seconds_per_step[size]:.0f} s")
results_file = config.cache_dir() / "results" / "gatys_seconds_per_step.json"
results_file.parent.mkdir(parents=True, exist_ok=True)
_ = results_file.write_text(json.dumps({"device": str(device), "seconds_per_step": seconds_per_step}))

# %% [markdown]
# ## Try it yourself
# Move the log-scale sliders for λ_c, λ_s and λ_TV, pick images, and press **Run**: each press
# optimises more steps from the current image and updates the preview and the loss curves.
# **Start over** (or a new image) begins again from the content. Things to try: a style weight
# 100× larger; a TV weight of 1e-2; which loss term dominates the curve at the start?

# %%
# NBVAL_IGNORE_OUTPUT
panel = StylePanel({p.stem: p for p in data.images("content")},
                   {p.stem: p for p in data.images("styles")},
                   loss_net=vgg, size=preset.image_size, steps=10)
panel

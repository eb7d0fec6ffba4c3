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
# # 3. Style transfer by optimisation (Gatys et al.)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/03_gatys.ipynb)
#
# Gatys, Ecker & Bethge optimise the pixels of an image ŷ to minimise
#
# $$\lambda_c\,\ell_{feat}^{\phi,relu2\_2}(\hat y, y_c) + \lambda_s\,\ell_{style}^{\phi}(\hat y, y_s) + \lambda_{TV}\,\ell_{TV}(\hat y)$$
#
# (paper eq. 5 with the losses of notebook 2). It is the paper's baseline: beautiful, and slow,
# because every step is a forward and backward pass through VGG.
#
# **Learning goals**
# - run the optimisation with L-BFGS and with Adam and compare them;
# - see the effect of the content and style layers, of the start image and of the weights;
# - measure the seconds per iteration that notebook 4's feed-forward network will beat.

# %% [markdown]
# ## Set-up

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

from course_lib import config, data
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.objectives import STYLE_WEIGHTS
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
# ## L-BFGS against Adam
# The paper's baseline uses L-BFGS, a quasi-Newton method that builds a curvature estimate
# from past gradients. Adam is the first-order optimiser we will train networks with. Same
# weights, same number of steps, both starting from the content image.

# %%
weights = STYLE_WEIGHTS  # λ_c, λ_s, λ_TV: the course's defaults, also the panel's below
print(weights)
results = {}
for optimizer in ("lbfgs", "adam"):
    results[optimizer] = stylize(content, style, loss_net=vgg, optimizer=optimizer,
                                 steps=preset.gatys_steps, weights=weights)

# %% [markdown]
# The total loss against steps and against seconds (an L-BFGS step costs more than an Adam
# step), then the two results:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (_, history) in results.items():
    axes[0].semilogy([h["step"] for h in history], [h["total"] for h in history], label=name)
    axes[1].semilogy([h["seconds"] for h in history], [h["total"] for h in history], label=name)
axes[0].set(xlabel="step", ylabel="total loss")
axes[1].set(xlabel="seconds", ylabel="total loss")
axes[0].set_title("per step"); axes[1].set_title("per second of optimisation")
axes[0].legend()
fig.tight_layout()
plt.show()
show_images([image.cpu() for image, _ in results.values()], list(results), size=3)
plt.show()

# %% [markdown]
# ## Where to start, which layers
# From white noise (as in the paper's baseline) the optimisation needs more steps to reach
# the content; with content at relu3_3 (as in the authors' code) more of the photo's texture is
# given up to the style.

# %%
variants = {
    "from noise": dict(init="noise"),
    "content at relu3_3": dict(content_layers=("relu3_3",)),
}
images = {name: stylize(content, style, loss_net=vgg, steps=preset.gatys_steps, weights=weights, **kw)[0]
          for name, kw in variants.items()}
show_images([results["lbfgs"][0].cpu()] + [i.cpu() for i in images.values()],
            ["from content, relu2_2"] + list(images), size=3)
plt.show()

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

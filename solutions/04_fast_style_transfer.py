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
# # 4. Real-time style transfer: a network trained with perceptual losses
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/04_fast_style_transfer.ipynb)
#
# Notebook 3 optimised every image from scratch: hundreds of VGG passes per picture. Johnson et
# al. instead train an *image transformation network* f_W once, per style, to minimise the same
# loss over a whole data set of photos (paper §3, eq. 1):
#
# $$W^* = \arg\min_W \; \mathbb{E}_{x}\Big[\lambda_c\,\ell_{feat}^{relu2\_2}(f_W(x), x) + \lambda_s\,\ell_{style}(f_W(x), y_s) + \lambda_{TV}\,\ell_{TV}(f_W(x))\Big]$$
#
# Afterwards stylising an image is one forward pass.
#
# **Learning goals**
# - know the transformation network layer by layer and why each part is there;
# - train it with the perceptual loss, watch the losses, resume an interrupted run;
# - compare its output and its speed with Gatys et al. (the paper's Table 1) on this machine.

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
from IPython.display import Markdown, display

from course_lib import config, data, speed
from course_lib.exercises import check
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.networks import ResidualBlock, build
from course_lib.objectives import PerceptualObjective
from course_lib.train import TrainConfig, run_folder, train
from course_lib.vgg import VGGFeatures

device, preset = course_lib.setup()

# %% [markdown]
# ## The network, layer by layer
# A 9×9 convolution sees a large neighbourhood at full resolution; two stride-2 convolutions
# shrink the image 4×, so the five residual blocks work on 16× fewer pixels with 128 channels
# (a large receptive field for little compute); two ×2 upsampling stages and a 9×9 conv bring
# it back to an image, squashed into [0, 1] by a scaled tanh. Every conv pads by reflection, so
# the borders are not darkened by zeros.
#
# Two choices differ from the paper, each a switch: *instance* instead of batch normalisation
# (Ulyanov et al.: each image is normalised on its own, so its contrast does not depend on the
# rest of the batch), and nearest-neighbour upsampling followed by a conv instead of
# fractionally-strided convs (Odena et al.: no checkerboard artefacts). In the listing, instance
# norm appears as `GroupNorm` with one group per channel (the same computation, but it keeps the
# fast channels_last memory layout) and nearest upsampling + conv as `NearestUpsampleConv`
# (computed exactly at the low resolution, 2.25× fewer multiply-adds). The shapes for one
# 256×256 image:

# %%
# NBVAL_CHECK_OUTPUT
net = build("style")
x = torch.zeros(1, 3, 256, 256)
for index, layer in enumerate(net.layers):
    x = layer(x)
    convs = [m for m in layer.modules() if isinstance(m, torch.nn.Conv2d)]
    kind = (f"conv {convs[0].kernel_size[0]}×{convs[0].kernel_size[1]} /{convs[0].stride[0]}"
            if len(convs) == 1 and isinstance(layer, torch.nn.Sequential) else type(layer).__name__)
    print(f"{index:2} {kind:20} {tuple(x.shape)}")
print(f"{sum(p.numel() for p in net.parameters()):,} parameters")

# %% [markdown]
# ## Exercise: the residual block
# A residual block computes x + F(x), where F is conv → norm → ReLU → conv → norm (both convs
# 3×3, reflection-padded). Learning only the *change* F(x) makes deep networks easy to train,
# and for style transfer most of the output should be the input's structure anyway.
#
# **Exercise 1.** Given a `ResidualBlock`, whose `block.body` is F, compute its output.

# %%
def residual_forward(block: ResidualBlock, x: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: the identity plus the body
    return x + block.body(x)
    ### END SOLUTION


# %%
block = ResidualBlock(16)
residual_forward = check("residual_forward", residual_forward, lambda b, x: b(x),
                         block, torch.rand(2, 16, 8, 8, generator=torch.Generator().manual_seed(0)))

# %% [markdown]
# ## Training
# The objective: content loss at relu2_2 against the input photo itself, style loss against the
# painting's Gram matrices (computed once), and TV. The loop (`course_lib.train.train`) is the
# one the command `python -m course_lib train-style` uses: Adam with lr 1e-3, random crops,
# mixed precision and channels_last on a GPU, a checkpoint every few steps.
#
# `fast` mode trains a handful of steps on small crops: enough to see the losses move, not to
# learn a style. `full` mode runs the paper's schedule (40,000 steps of 4 images at 256×256).
# Running the cell again *resumes* from the checkpoint; interrupting the kernel saves one.

# %%
style_image = load_image(data.images("styles")[0], size=preset.style_size).to(device)
loss_net = VGGFeatures(weights=config.vgg_weights()).to(device)
objective = PerceptualObjective(loss_net, style_image)
crops = data.CropDataset(data.images("train"), crop=preset.image_size, resize=preset.image_size)
settings = TrainConfig(steps=preset.train_steps, batch_size=preset.batch_size, log_every=1,
                       checkpoint_every=max(10, preset.train_steps // 20),
                       sample_every=max(10, preset.train_steps // 20),
                       num_workers=0 if config.mode() == "fast" else 4)
torch.manual_seed(0)
model = build("style")
run_dir = run_folder(config.cache_dir() / "runs", "style", model, objective, crops, settings)
history = train(model, objective, crops, run_dir, settings, device=device)

# %% [markdown]
# The losses over training (weighted, as they enter the total):

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for key in ("total", "content", "style", "tv"):
    ax.semilogy([h["step"] for h in history], [h[key] for h in history], label=key)
ax.set(xlabel="step", ylabel="weighted loss", title="training the transformation network")
ax.legend()
plt.show()

# %% [markdown]
# ## Feed-forward against optimisation
# The trained network stylises a photo it has never seen in one pass; Gatys et al. optimise
# that photo with the same loss. (In `fast` mode the network has barely trained: judge the
# mechanics, not the picture.)

# %%
photo = load_image(data.images("content")[0], size=preset.image_size).to(device)
with torch.no_grad():
    feed_forward = model.eval()(photo)
optimised, _ = stylize(photo, style_image, loss_net=loss_net, steps=preset.gatys_steps)
show_images([photo.cpu(), style_image.cpu(), optimised.cpu(), feed_forward.cpu()],
            ["content", "style", f"Gatys, {preset.gatys_steps} L-BFGS steps", "feed-forward"], size=3)
plt.show()

# %% [markdown]
# ## How much faster? The paper's Table 1, on this machine
# Seconds for Gatys et al. at 100, 300 and 500 L-BFGS iterations (a measured time per iteration
# times the count) against one forward pass of the network, at 256², 512² and 1024² (`fast` mode:
# 256² only). The paper
# measured about 1000× at 500 iterations on a 2015 GPU; on a CPU both are slower, and the ratio
# changes with how well each uses the hardware.

# %%
fast = config.mode() == "fast"
rows = speed.table1(model, loss_net, device, sizes=(256,) if fast else (256, 512, 1024),
                    gatys_steps=1 if fast else 10, min_run_time=0.2 if fast else 2.0)
display(Markdown(speed.markdown(rows, str(device))))

# %% [markdown]
# Notebook 3 measured the optimisation on this machine too (if it has been run):

# %%
measured = config.cache_dir() / "results" / "gatys_seconds_per_step.json"
if measured.exists():
    earlier = json.loads(measured.read_text())
    for size, seconds in earlier["seconds_per_step"].items():
        print(f"notebook 3, {size}²: {seconds:.3f} s per iteration on {earlier['device']}")
else:
    print("Run notebook 3 to compare with its measurement.")

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
# Afterwards stylising an image is one forward pass. This is the paper's contribution, and in
# this notebook you write its core: the training objective and the training step.
#
# **Learning goals**
# - know the transformation network layer by layer and why each part is there;
# - write the perceptual training objective and the training step, and train the network with them;
# - compare the network with Gatys et al. in quality (the paper's Fig. 5) and speed (Table 1);
# - see the paper's choices against later practice: batch vs instance norm, transposed convs
#   vs nearest upsampling (checkerboards), relu2_2 vs relu3_3 for content.

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
from dataclasses import replace

import course_lib
import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from course_lib import config, data, exercises, fig5, hparams, losses, speed, tasks
from course_lib.architectures import build
from course_lib.checkpoints import load_model, training_record
from course_lib.exercises import check
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.networks import ResidualBlock, ScaledTanh, conv
from course_lib.objectives import style_weights
from course_lib.plots import loss_curves
from course_lib.vgg import loss_network

device, preset = course_lib.setup()

# %% [markdown]
# ## The network, layer by layer
# A 9×9 convolution sees a large neighbourhood at full resolution; two stride-2 convolutions
# shrink the image 4×, so the five residual blocks work on 16× fewer pixels with 128 channels
# (a large receptive field for little compute); two ×2 upsampling stages and a 9×9 conv bring
# it back to an image, squashed into [0, 1] by a scaled tanh. Every conv pads by reflection, so
# the borders are not darkened by zeros.
#
# Two choices differ from the paper, each a field of the hyper-parameters (`course_lib.hparams`,
# `STYLE.paper` against `STYLE.course`):
# - *instance* instead of batch normalisation (Ulyanov et al. 2016). Each image is normalised
#   by its own statistics, so the result does not depend on the content image's own contrast
#   and brightness, and the network behaves the same in training and at test time (batch norm
#   uses the batch's statistics in training and running averages afterwards);
# - nearest-neighbour upsampling followed by a conv instead of fractionally-strided convs
#   (Odena et al. 2016: no checkerboard artefacts).
#
# In the listing, instance norm appears as `GroupNorm` with one group per channel (the same
# computation, but it keeps the fast channels_last memory layout) and nearest upsampling +
# conv as `NearestUpsampleConv` (computed exactly at the low resolution, 2.25× fewer
# multiply-adds). The shapes for one 256×256 image:

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
# ## Exercise 1: the residual block
# A residual block computes x + F(x), where F is conv → norm → ReLU → conv → norm (both convs
# 3×3, reflection-padded). Learning only the *change* F(x) makes deep networks easy to train,
# and for style transfer most of the output should be the input's structure anyway.
#
# Given a `ResidualBlock`, whose `block.body` is F, compute its output.

# %%
def residual_forward(block: ResidualBlock, x: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: a residual block learns a correction to its input, not a replacement || `x + block.body(x)`
    return x + block.body(x)
    ### END SOLUTION


# %%
residual_forward = check("residual_forward", residual_forward, exercise=exercises.residual_exercise())

# %% [markdown]
# ## Exercise 2: the transformation network
# The paper's supplementary table gives the network as c9s1-32, d64, d128, R128×5, u64, u32,
# c9s1-3. Build it from plain PyTorch layers, the course's `conv(c_in, c_out, k, stride)`
# (reflection padding, then the convolution) and `ResidualBlock(c)` (your exercise 1):
# - **c9s1-32**: a 9×9 conv with stride 1 and 32 filters, then instance norm
#   (`nn.InstanceNorm2d(32, affine=True)`) and a ReLU;
# - **d64, d128**: 3×3 convs with stride 2, each followed by instance norm and a ReLU;
# - **R128×blocks**: `blocks` residual blocks of 128 channels;
# - **u64, u32**: ×2 upsampling, `nn.Upsample(scale_factor=2, mode="nearest")`, then a 3×3 conv
#   (the course's choice; the paper: a stride-½ conv), instance norm and a ReLU; group the
#   upsampling and its conv in one `nn.Sequential`;
# - **c9s1-3**: a 9×9 conv to 3 channels, then `ScaledTanh()`, (tanh(x) + 1) / 2, into [0, 1].
#
# `width` scales every layer (32 is the paper's; 16 the half-width network). Return one
# `nn.Sequential` of these layers in this order. The check copies the weights of the course's
# network into yours tensor by tensor, which only fits the same architecture, and compares the
# outputs.

# %%
def transformation_layers(width: int = 32, blocks: int = 5) -> torch.nn.Sequential:
    ### BEGIN SOLUTION hint: the table, line by line: c9s1 is a 9×9 conv, d a stride-2 3×3 conv, R a residual block, u an upsampling and a 3×3 conv; after every conv but the last, instance norm and a ReLU || `[conv(3, width, 9), torch.nn.InstanceNorm2d(width, affine=True), torch.nn.ReLU()]`, then `conv(width, 2 * width, 3, stride=2)`, ...; for u: `torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), conv(c_in, c_out, 3))`
    c1, c2, c3 = width, 2 * width, 4 * width

    def block(layer, channels):
        return [layer, torch.nn.InstanceNorm2d(channels, affine=True), torch.nn.ReLU()]

    def up(c_in, c_out):
        return torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), conv(c_in, c_out, 3))
    return torch.nn.Sequential(*block(conv(3, c1, 9), c1), *block(conv(c1, c2, 3, stride=2), c2),
                               *block(conv(c2, c3, 3, stride=2), c3), *[ResidualBlock(c3) for _ in range(blocks)],
                               *block(up(c3, c2), c2), *block(up(c2, c1), c1), conv(c1, 3, 9), ScaledTanh())
    ### END SOLUTION


# %%
transformation_layers = check("transformation_layers", transformation_layers, exercise=exercises.network_exercise())

# %% [markdown]
# Your network computes what the course's `TransformerNet` listed above computes: there,
# instance norm is `GroupNorm` with one group per channel (the same arithmetic, faster in the
# channels_last layout) and nearest upsampling + conv is `NearestUpsampleConv` (the same output,
# computed at the low resolution). The training below runs **your** layers inside the course's
# network, which only adds the reflection padding of odd-sized images to a multiple of 4:

# %%
network = build("style")
network.layers = transformation_layers(width=network.config["width"])
print(f"your network: {sum(p.numel() for p in network.parameters()):,} parameters")

# %% [markdown]
# ## Exercise 3: the perceptual training objective
# For a batch of photos x, the network gives ŷ = f_W(x), and the loss is eq. 5 with the photo
# itself as the content target. Three things make it cheap:
# - the style image's Gram matrices never change: compute them **once**, when the objective is
#   made, not at every batch;
# - the content targets φ_relu2_2(x) need no gradient: compute them under `torch.no_grad()`
#   (`loss_net(x, ("relu2_2",))` stops the pass at relu2_2);
# - one pass of the loss network over ŷ gives every layer.
#
# Write `make_objective(loss_net, style_image, weights)`: it returns a function
# `objective(model, x)` → (total, {"content": …, "style": …, "tv": …}), the weighted terms,
# using `losses.feature_loss`, `losses.gram_matrix`, `losses.style_loss` and `losses.tv_loss`.
# The network below is trained with your objective.

# %%
def make_objective(loss_net, style_image, weights):
    ### BEGIN SOLUTION hint: grams = {layer: losses.gram_matrix(a) for ...} outside; def objective(model, x): ...
    with torch.no_grad():
        style_grams = {layer: losses.gram_matrix(a) for layer, a in loss_net(style_image).items()}

    def objective(model, x):
        with torch.no_grad():
            target = loss_net(x, ("relu2_2",))["relu2_2"]
        output = model(x)
        features = loss_net(output)
        parts = {"content": weights.content * losses.feature_loss(features["relu2_2"], target),
                 "style": weights.style * losses.style_loss(features, style_grams),
                 "tv": weights.tv * losses.tv_loss(output)}
        return sum(parts.values()), parts
    return objective
    ### END SOLUTION


# %% [markdown]
# The check trains nothing: it compares your objective with `course_lib`'s on a small network
# and batch, and catches Gram matrices recomputed at every call.

# %%
style_image = load_image(data.images("styles")[0], size=preset.style_size).to(device)
loss_net = loss_network(device=device)  # the course's setting: the paper's VGG-16 when it can be had
weights = style_weights(loss_net)  # eq. 5's λ for this loss network (notebook 3 says why)
make_objective = check("make_objective", make_objective, exercise=exercises.training_objective_exercise(loss_net))

# %% [markdown]
# ## Exercise 4: one training step
# Write the step the training loop repeats: zero the gradients, compute the loss of the batch
# with `loss_fn(model, batch)` (your objective), backpropagate, and let the optimiser update the
# weights. Return what `loss_fn` returned.

# %%
def train_step(model, loss_fn, optimizer, batch):
    ### BEGIN SOLUTION hint: clear the old gradients, compute the loss, backpropagate, update; return what loss_fn gave || `optimizer.zero_grad()`, `loss, parts = loss_fn(model, batch)`, `loss.backward()`, `optimizer.step()`
    optimizer.zero_grad()
    loss, parts = loss_fn(model, batch)
    loss.backward()
    optimizer.step()
    return loss, parts
    ### END SOLUTION


# %%
train_step = check("train_step", train_step, exercise=exercises.train_step_exercise())

# %% [markdown]
# ## Training your network with your objective and your step
# `course_lib.tasks.style` puts the run together from one object of hyper-parameters
# (`course_lib.hparams`: the paper's values, or the course's, sized here for this notebook's
# mode): the network, random crops of the training photos, and here your objective. Its
# `train` runs the course's loop around your step: Adam with lr 1e-3, a checkpoint every few
# steps, and a progress bar. (The command `python -m course_lib train-style` builds the same run
# with the same recipe, with the course's objective and its own step, which adds mixed
# precision.) The run's folder is named by a hash of everything that defines it: change the
# style image, a weight, your code or your network, and a new run starts; run the cell again
# unchanged and it resumes (or reuses a finished run, and says so). Interrupting the kernel
# saves a checkpoint.
#
# `fast` mode trains a handful of steps on small crops: enough to see the losses move, not to
# learn a style. `full` mode (a GPU) trains 3,000 steps of 4 images at 256×256, about a tenth
# of the paper's 40,000, to fit a Colab session (`COURSE_MODE=paper` runs the paper's schedule;
# the command line's `train-style` defaults to it).
# The outputs stored with this notebook come from a longer run on a 2-core CPU than `fast` mode
# makes: 300 steps of 2 crops at 128² (the set-up cell's banner prints the settings; README.md,
# *Stored outputs*, gives the command). That is enough for the palette, not for the strokes: the
# shipped models further down show what 4,000 steps at 256² make.

# %%
hp = hparams.in_mode(hparams.STYLE.course, preset)
run = tasks.style(style_image, data.images("train"), hp, objective=make_objective(loss_net, style_image, weights),
                  model=network, cache=True)
print(f"training for {hp.steps} steps at {hp.image_size}², batch {hp.batch_size}, in {run.folder().name}")
history = run.train(device=device, step_fn=train_step)

# %% [markdown]
# The losses over training (weighted, as they enter the total):

# %%
loss_curves({"network": history}, ("total", "content", "style", "tv"),
            title="training the transformation network", ylabel="weighted loss")
plt.show()

# %% [markdown]
# ## Feed-forward against optimisation
# The trained network stylises a photo it has never seen (a content photo, not a training
# photo) in one pass; Gatys et al. optimise that photo with the same loss, from the photo.

# %%
photo = load_image(data.images("content")[0], size=preset.image_size).to(device)
network.eval()
with torch.no_grad():
    feed_forward = network(photo)
optimised, _ = stylize(photo, style_image, loss_net=loss_net, steps=preset.gatys_steps, weights=weights)
show_images([photo.cpu(), style_image.cpu(), optimised.cpu(), feed_forward.cpu()],
            ["content", "style", f"Gatys, {preset.gatys_steps} L-BFGS steps", "feed-forward"], size=3)
plt.show()

# %% [markdown]
# ## The paper's recipe, trained: the shipped models
# A few hundred steps show the mechanics; the paper trains 40,000 steps of 4 images at 256² on
# COCO. Two networks trained on its recipe come with the course: `candy` and `mosaic`, with the
# paper's VGG-16 as the loss network, relu2_2 content, the four style layers, 256² crops in
# batches of 4, Adam at 1e-3, for 4,000 steps (a tenth of the paper's) on the 80 training photos,
# on a 2-core CPU. Each file records its training: the steps, the time, the machine and the
# command that reproduces it. Here they stylise photos that no training saw, in one pass each.

# %%
shipped = {name: load_model(name, device) for name in ("candy", "mosaic")}
for name in shipped:
    record = training_record(name)
    print(f"{name}: {record['total_steps']:,} steps, {record['total_seconds'] / 3600:.0f} h on {record['device']}")
held_out = [data.images("content")[0], *data.fallback_images("content")[1:]]  # amber, chelsea, coffee
tests = [load_image(p, size=256).to(device) for p in held_out]
with torch.no_grad():
    stylised = {name: [model(t) for t in tests] for name, model in shipped.items()}
show_images([image.cpu() for row in zip(tests, *stylised.values()) for image in row],
            [label for _ in tests for label in ("photo", *shipped)], ncols=3, size=3.2)
plt.show()

# %% [markdown]
# Real time means one pass per frame. The time of one pass at 256² on this machine (median of
# repeated runs, `course_lib.speed`):

# %%
timing = speed.feed_forward_seconds(shipped["candy"], 256, device, min_run_time=0.5)
print(f"{1000 * timing['median_s']:.0f} ms per 256² image on {device} ({1 / timing['median_s']:.1f} images/s)")

# %% [markdown]
# ## How good is one pass? The paper's Fig. 5
# For each held-out photo, the value of eq. 5 (the very loss the network was trained on: its
# file records the weights, layers and style image) during Gatys et al.'s L-BFGS optimisation
# from noise, and a horizontal line at the value of the network's output. Where the line meets
# the curve is how many iterations one pass is worth. The paper finds 50 to 100 after 40,000
# steps on COCO. The Gatys curves take minutes per photo, so they come stored with the course
# (`benchmarks/fig5.py`, command in `benchmarks/RESULTS.md`); the networks' values are computed
# here. (`course_lib.fig5` runs the curves itself where none are stored.)

# %%
style_files = {path.stem: path for path in data.images("styles")}
figure5 = {name: fig5.score(name, style_files[name], held_out, earlier=fig5.stored_curves(name)) for name in shipped}
fig, axes = plt.subplots(len(figure5), len(held_out), figsize=(4 * len(held_out), 3.2 * len(figure5)))
for row, (name, result) in zip(axes, figure5.items()):
    fig5.plot(result, f"{name}, {result['steps']:,} steps", axes=row)
plt.show()
for name, result in figure5.items():
    print(f"{name}: one pass ≈ {result['median_equivalent_iterations']} L-BFGS iterations (median of the photos)")

# %% [markdown]
# At 4,000 steps on 80 photos the networks are worth fewer iterations than the paper's: they
# have seen a tenth of its steps and a thousandth of its images. The curve falls steeply at
# first, so each further iteration matched costs more training; `benchmarks/RESULTS.md` follows
# the count as the runs grew.

# %% [markdown]
# ## The paper's choices, side by side
# Three ablations, each a short training run with the course's objective
# (`course_lib.objectives.PerceptualObjective`) and one choice changed:
# - batch norm (the paper) against instance norm (the course);
# - stride-½ transposed convs (the paper) against nearest upsampling + conv (the course);
# - content at relu2_2 (the paper) against relu3_3 (the authors' code).

# %%
steps = max(10, preset.train_steps // 3)
course, paper = (hparams.in_mode(v, preset, steps=steps) for v in (hparams.STYLE.course, hparams.STYLE.paper))
variants = {"course: instance norm, nearest + conv": course, "batch norm": replace(course, norm="batch"),
            "transposed convs": replace(course, upsampling="transpose"),
            "the paper: batch norm, transposed convs": paper,
            "content at relu3_3": replace(course, content_layer="relu3_3")}
ablations = {name: tasks.style(style_image, data.images("train"), hp, loss_net=loss_net, cache=True)
             for name, hp in variants.items()}
for ablation in ablations.values():
    ablation.train(device=device)

# %% [markdown]
# The five networks on the test photo:

# %%
with torch.no_grad():
    outputs = {name: ablation.model.eval()(photo) for name, ablation in ablations.items()}
show_images([o.cpu() for o in outputs.values()], list(outputs), ncols=3, size=3.5)
plt.show()

# %% [markdown]
# A closer look at the transposed convolutions: a crop enlarged ×4 with nearest-neighbour
# interpolation, so that single pixels are visible.

# %%
h, w = photo.shape[-2:]
crop = (..., slice(h // 3, h // 3 + 32), slice(w // 3, w // 3 + 32))
zoomed = {name: torch.nn.functional.interpolate(outputs[name][crop], scale_factor=4)
          for name in ("course: instance norm, nearest + conv", "transposed convs")}
show_images([z.cpu() for z in zoomed.values()], list(zoomed), size=3.5)
plt.show()

# %% [markdown]
# ### Question 1: where do checkerboard artefacts come from?
#
# <!-- BEGIN ANSWER -->
# A stride-2 transposed convolution with a 3×3 kernel paints each input pixel's kernel onto the
# output grid two pixels apart: the kernels overlap on some output pixels (which receive two
# or four contributions) and not on their neighbours (one contribution). Unless the network
# learns weights that exactly even this out, alternate output pixels get systematically
# different amounts, a periodic pattern of period two: the checkerboard (Odena et al. 2016).
# Stacking two such layers compounds it. Nearest-neighbour upsampling followed by an ordinary
# convolution gives every output pixel the same number of contributions, so the pattern cannot
# arise; that is the course's default.
# <!-- END ANSWER -->

# %% [markdown]
# ### Question 2: why instance normalisation?
# Ulyanov et al. replaced batch norm by instance norm and every later implementation followed.
# What does it change for a single content image, and for training against testing?
#
# <!-- BEGIN ANSWER -->
# Instance norm normalises each image by its own per-channel mean and variance. The
# network's output then does not depend on the contrast and brightness of the content image
# (which the style should replace), nor on the other images in the batch. Batch norm uses the
# batch's statistics in training and running averages at test time, so a test image whose
# statistics differ from the training average is processed differently from how training
# saw it; instance norm computes the same thing in training and testing. (For super-resolution,
# notebook 5, this invariance is exactly wrong: the output's brightness must follow the input's.)
# <!-- END ANSWER -->

# %% [markdown]
# ### Question 3: relu2_2 or relu3_3 for the content?
# Compare the two ablation outputs. Which keeps more of the photo, and why?
#
# <!-- BEGIN ANSWER -->
# relu2_2 is closer to the pixels: it keeps edges and their positions precisely (notebook 2,
# Fig. 3), so the network must keep the photo's structure, and the style shows mostly as colour
# and fine texture. relu3_3 keeps the layout but lets go of the exact edges and textures, so the
# style may redraw more of the image: bolder stylisation, less faithful content. With random VGG
# weights the difference is smaller than with the trained ones.
# <!-- END ANSWER -->

# %% [markdown]
# ## How much faster? The paper's Table 1, on this machine
# Seconds for Gatys et al. at 100, 300 and 500 L-BFGS iterations (a measured time per iteration
# times the count) against one forward pass of the network, at 256², 512² and 1024² (`fast`
# mode: 256² only). The paper measured its speed-ups of about 1000× at 500 iterations on a GTX
# Titan X (the last column); on a CPU both are slower, and the ratio changes with how well each
# uses the hardware.

# %%
fast = config.mode() == "fast"
rows = speed.table1(network, loss_net, device, sizes=(256,) if fast else (256, 512, 1024),
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
    print("Notebook 3 has not been run in this cache, so its measurement is not here to compare with "
          "(its stored outputs show one).")

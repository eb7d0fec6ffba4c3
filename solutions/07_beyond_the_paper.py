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
# # 7. Beyond the paper: colours, many styles, video, and which networks perceive
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/07_beyond_the_paper.ipynb)
#
# What users of style transfer ask for most, on the issue trackers of pytorch/examples'
# fast_neural_style, jcjohnson/fast-neural-style and pystiche, is not in Johnson et al.'s
# paper: keep my photo's colours; one network for many styles; no flicker in video; and "why
# VGG, can I use another network?". Each has an answer in the papers that followed, and each
# answer reuses this course's losses and loop.
#
# **Learning goals**
# - keep the content's colours by luminance-only transfer and by colour histogram matching
#   (Gatys, Bethge, Hertzmann & Shechtman 2017), and measure how far each result's colours are
#   from the photo's;
# - count what conditional instance normalisation (Dumoulin, Shlens & Kudlur 2017) adds per
#   style;
# - make video with known motion from a still photo, and measure flicker as a warping error;
# - compare loss networks: the paper's VGG-16, EfficientNet-Lite0 and a random VGG, with and
#   without activation smoothing (Wang, Li & Vasconcelos 2021), each result judged by a network
#   it was not optimised with.

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
import course_lib
import matplotlib.pyplot as plt
import torch
from IPython.display import Image, Markdown, display

from course_lib import color, data, fig5, loss_networks, video
from course_lib.architectures import build
from course_lib.checkpoints import Checkpoint, load_model, shipped_models
from course_lib.exercises import check
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.widgets import StyleMixer

device, preset = course_lib.setup()

# %% [markdown]
# The photo and the painting of notebook 3, and the paper's loss network (the registry of
# section 4 builds it by name).

# %%
photo = load_image(data.images("content")[0], size=preset.image_size).to(device)
style = load_image(data.images("styles")[0], size=preset.style_size).to(device)
paper_net = loss_networks.build("vgg16-caffe").to(device)
show_images([photo.cpu(), style.cpu()], ["photo", "style"], size=3)
plt.show()

# %% [markdown]
# ## 1. Keeping the photo's colours
# Style transfer copies the painting's palette along with its strokes: the sky turns candy
# pink. Gatys et al. (2017, §5) give two remedies.
# - **Luminance-only transfer.** Strokes and textures live mostly in the luminance. Convert
#   the result to YIQ (Y: luma; I, Q: chroma), keep its Y, and put back the photo's I and Q.
# - **Colour histogram matching.** Before the optimisation, give the painting the photo's
#   colour statistics: an affine map of its RGB values to the photo's mean and covariance
#   (`color.match_colors`). The style is then learnt in the photo's palette.
#
# **Exercise 1.** Write `luminance_only(stylized, content)`: both are 1×3×H×W RGB images in
# [0, 1]; return the stylised image's luminance with the photo's chroma, in [0, 1]. Use
# `color.to_yiq` and `color.from_yiq`.

# %%
def luminance_only(stylized, content):
    ### BEGIN SOLUTION hint: convert both to YIQ; the result takes channel 0 from one and channels 1–2 from the other; back to RGB, kept in [0, 1] || `yiq = color.to_yiq(content)`, `yiq[:, 0] = color.to_yiq(stylized)[:, 0]`, `color.from_yiq(yiq).clamp(0, 1)`
    yiq = color.to_yiq(content)
    yiq[:, 0] = color.to_yiq(stylized)[:, 0]
    return color.from_yiq(yiq).clamp(0, 1)
    ### END SOLUTION


# %%
luminance_only = check("luminance_only", luminance_only)

# %% [markdown]
# Two optimisations (Gatys et al. with the paper's losses and network, L-BFGS from the
# photo): the plain one, and with the painting recoloured first; then the plain result with
# your luminance-only transfer. The number under each is the distance of its colour statistics
# from the photo's (`color.color_distance`: RGB means and covariances; lower keeps the photo's
# colours better).

# %%
plain, _ = stylize(photo, style, loss_net=paper_net, steps=preset.gatys_steps)
recoloured_style = color.match_colors(style, photo)
matched, _ = stylize(photo, recoloured_style, loss_net=paper_net, steps=preset.gatys_steps)
results = {"plain": plain, "histogram matching": matched, "luminance only": luminance_only(plain, photo)}
show_images([r.cpu() for r in results.values()],
            [f"{name}\ncolour distance {color.color_distance(r, photo):.3f}" for name, r in results.items()], size=3)
plt.show()

# %% [markdown]
# **Question 1.** The two remedies keep the photo's colours in different ways. Which one
# changes what the optimisation does, and which one only the finished picture? What does each
# cost?
#
# <!-- BEGIN ANSWER -->
# Histogram matching changes the target: the painting's Gram matrices are computed from a
# recoloured painting, so the optimisation itself learns the strokes in the photo's palette
# (and a feed-forward network would need training again for it). Luminance-only transfer
# changes only the finished picture: any result, from Gatys or a trained network, can be
# converted afterwards, at no cost. It keeps the photo's chroma exactly, including in places
# where the painting's strokes would have changed the hue; but the light and dark are the
# result's, and the RGB statistics count them too: with a painting that changes the tones a
# lot (mosaic's dark grout) its distance stays near the plain result's (`benchmarks/RESULTS.md`).
# Histogram matching keeps the photo's colour statistics overall, not where each colour sits.
# <!-- END ANSWER -->

# %% [markdown]
# ## 2. One network, many styles: what conditional instance norm adds
# A network of notebook 4 holds one style in all its weights. Dumoulin et al. (2017) noticed
# that networks trained for different styles differ mostly in the scale γ and shift β of their
# instance normalisations. So one network can hold N styles: all convolutions shared, one
# (γ, β) pair per style and normalisation layer, chosen by the style's index
# (`build("style", styles=N)`; `train-style --styles a.jpg b.jpg …` trains it). The count:

# %%
single, four = build("style"), build("style", styles=4)
n_single, n_four = (sum(p.numel() for p in m.parameters()) for m in (single, four))
display(Markdown(f"| | parameters |\n|---|---|\n| one network per style | {n_single:,} per style |\n"
                 f"| one network, 4 styles | {n_four:,} ({(n_four - n_single) / 3:,.0f} more per added style, "
                 f"{100 * (n_four - n_single) / 3 / n_single:.2f} % of a network) |"))

# %% [markdown]
# The course ships such a network, `multi`: the paper's loss network and recipe (as `candy` in
# notebook 4) for the four shared styles, each training image given one of them at random. It
# started from the shipped `candy` (`train-style --styles … --init candy`): every style's
# (γ, β) began as candy's, so the shared convolutions start trained and the other three styles
# have to be learnt mostly in their normalisations. One pass over a batch of four copies of the
# photo (at 256², the size the network was trained at) draws all four styles, one per image:

# %%
stored = Checkpoint("multi")
multi = stored.model(device)
names = stored.style_names
held_out = [data.images("content")[0], *data.fallback_images("content")[1:]]  # amber, chelsea, coffee
photo256 = load_image(held_out[0], size=256).to(device)
with torch.no_grad():
    every_style = multi(photo256.expand(len(names), -1, -1, -1), style=torch.arange(len(names)))
show_images([image[None].cpu() for image in every_style], names, size=3)
plt.show()
record = stored.training_record()
print(f"multi: {record['steps']:,} steps after candy's {record['init']['steps']:,}, on {record['device']}")

# %% [markdown]
# Does sharing cost a style anything? For each style, eq. 5 exactly as the networks were
# trained on it, on three photos that no training saw (256²), for `multi` and for the
# one-style network of notebook 4 where the course ships one; and, as in notebook 4's Fig. 5,
# how many of Gatys et al.'s L-BFGS iterations from noise each is worth (`course_lib.fig5`,
# with the Gatys curves stored with the course; median over the photos, more is better).

# %%
style_files = {path.stem: path for path in data.images("styles")}
scores = {name: {"multi": fig5.score("multi", style_files[name], held_out, style_index=i,
                                     earlier=fig5.stored_curves(name))} for i, name in enumerate(names)}
for name in scores:
    if name in shipped_models():
        scores[name]["one network"] = fig5.score(name, style_files[name], held_out, earlier=fig5.stored_curves(name))


def cell(result: dict) -> str:
    loss = sum(p["network"] for p in result["photos"].values()) / len(result["photos"])
    return f"{loss:.3f} ({result['median_equivalent_iterations'] or '> 200'})"


display(Markdown("| style | `multi`: eq. 5 (iterations worth) | one-style network: eq. 5 (iterations worth) |\n"
                 "|---|---|---|\n" + "\n".join(
                     f"| {name} | {cell(s['multi'])} | {cell(s['one network']) if 'one network' in s else '—'} |"
                     for name, s in scores.items())))

# %% [markdown]
# What to see: one network with four styles does each style as well as a network of its own.
# For candy and mosaic it is worth a few iterations more than their own networks, about the ±5
# by which those moved from one checkpoint to the next in notebook 4's runs (`multi` began as
# the candy network and then had 4,000 steps of its own). Rain-princess and udnie, which only had
# the shared run's steps (a quarter of its images each), are worth as many iterations.
# Each style costs 3,200 parameters instead of 1.7 million (`benchmarks/RESULTS.md`, *One
# network, four styles*, has the per-photo numbers and the commands).

# %% [markdown]
# Because a style is only a point (γ, β) per normalisation layer, styles can be mixed: a convex
# combination of two styles' (γ, β) is a new style (Dumoulin et al.'s style interpolation). And
# a style can be weakened: moving (γ, β) towards (1, 0), the normalisation that changes nothing,
# turns the style down without blending pixels.
#
# **Exercise 2.** Write `style_parameters(gamma, beta, mix, strength)`: `gamma` and `beta` are
# S×C (one row per style), `mix` is B×S (each image's weights over the styles, rows summing to
# 1), `strength` a number (0: no style, 1: the mixture). Return the B×C tensors (γ', β') with
# which each image is normalised: γ' = 1 + strength·(mix·γ − 1), β' = strength·(mix·β). This
# is what every normalisation layer of `multi` computes (`networks.style_parameters`).

# %%
def style_parameters(gamma, beta, mix, strength):
    ### BEGIN SOLUTION hint: mix @ gamma is each image's mixture of the styles' rows (B×C); the strength scales its distance from the identity (1 for γ, 0 for β) || `return 1 + strength * (mix @ gamma - 1), strength * (mix @ beta)`
    return 1 + strength * (mix @ gamma - 1), strength * (mix @ beta)
    ### END SOLUTION


# %%
style_parameters = check("style_parameters", style_parameters)

# %% [markdown]
# The first row mixes candy into mosaic; the second turns mosaic's strength down to nothing.
# Every picture is one pass of the same network.

# %%
a, b = names.index("candy"), names.index("mosaic")
steps = [0.0, 0.25, 0.5, 0.75, 1.0]
with torch.no_grad():
    one_hot = torch.eye(len(names))
    mixed = [multi(photo256, style=one_hot[a] * (1 - t) + one_hot[b] * t) for t in steps]
    weakened = [multi(photo256, style=b, strength=s) for s in steps[::-1]]
show_images([image.cpu() for image in mixed + weakened],
            [f"candy {1 - t:.2f} : mosaic {t:.2f}" for t in steps] + [f"mosaic at strength {s:.2f}" for s in steps[::-1]],
            ncols=len(steps), size=2.6)
plt.show()

# %% [markdown]
# The same controls, live: pick two styles, mix them, turn the strength down (each change is one
# pass of the network).

# %%
StyleMixer(multi, photo256, names)

# %% [markdown]
# **Question 2.** At strength 0 every style gives the same picture. Why is that picture not the
# photo?
#
# <!-- BEGIN ANSWER -->
# Strength 0 sets every normalisation to the identity (γ = 1, β = 0), so nothing of any style's
# (γ, β) is left and all styles agree. But the shared convolutions are still there, and the
# network never learnt to give back its input: it was trained only to make stylised images, so
# it makes whatever those convolutions make of plain normalised features. Here that picture is
# still painted: it keeps a palette and brush marks that the shared convolutions learnt (from
# candy, where `multi` started, and from the four styles since). A style lives in (γ, β) *and*
# in the convolutions, so turning (γ, β) down weakens what makes the styles differ, not all of
# the painting. Getting the photo back is a different control: a blend of pixels with the photo.
# <!-- END ANSWER -->

# %% [markdown]
# ## 3. Video: flicker, measured on motion we know
# Stylising a video frame by frame flickers: a network's output changes more between two frames
# than the frames do. To measure it, we need the optical flow between frames, which no video
# here comes with. So we make video from a still photo by moving a crop window along a path
# we choose (a pan, a slow zoom, a small turn; `video.camera`): every frame is the photo seen
# through a known affine map, so the flow between any two frames is known exactly.

# %%
thetas = video.camera(8)
frames = video.sequence(load_image(data.images("content")[0]), thetas, size=2 * preset.image_size)
show_images([f[None] for f in frames[::2]], [f"frame {i}" for i in range(0, 8, 2)], size=2.5)
plt.show()

# %% [markdown]
# The flicker measure (Lai et al. 2018's warping error): warp each frame onto the next with the
# known flow and average the squared difference where both frames see the scene
# (`video.warping_error`). For the input frames it is not zero: resampling the photo blurs a
# little differently in each frame. That is the floor a stylised video can reach.

# %%
print(f"warping error of the input frames: {video.warping_error(frames, thetas):.5f}")

# %% [markdown]
# ### Training against flicker
# A network trained on single photos has no reason to turn a photo and the same photo moved by
# a pixel into two outputs that are moved copies of each other: a small change of the input
# can move its strokes, and the video flickers. Huang et al. (2017) add a term to training
# (`train-style --temporal λ`, `video.TemporalObjective`): each crop is paired with itself seen
# through a small random camera motion, and the two outputs must agree wherever the motion maps
# one onto the other. The course ships two candy networks fine-tuned for the same 300 steps from
# the same start, one with the term (λ = 40, which makes it start at about the size of the other
# terms together) and one without: the control (how they were trained: each model's record and
# `benchmarks/RESULTS.md`). Here each stylises the frames above, one frame at a time:

# %%
models = {name: load_model(name, device) for name in ("candy-video-plain", "candy-video")}
with torch.no_grad():
    stylised = {name: model(frames.to(device)).cpu() for name, model in models.items()}
for name, outputs in stylised.items():
    print(f"{name:18} warping error {video.warping_error(outputs, thetas):.5f}")
display(Image(data=video.side_by_side_gif(frames, *stylised.values(), fps=4)))

# %% [markdown]
# Left to right: the input frames, frame by frame without the term, and with it. Watch the
# round red shapes on the door: without the term they change colour, appear and vanish from one
# frame to the next; with it they keep their place and colour as the camera moves. On four held-out photos at 256² the term cuts the warping
# error by about two thirds at no cost in style loss (RESULTS.md, *Video without flicker*).
#
# Your own clip goes through the same network on the command line, frame by frame:
# `python -m course_lib stylize --model candy-video --input clip.mp4 --output styled.mp4`
# (any video FFmpeg reads; the sound is not copied).

# %% [markdown]
# ## 4. Which networks perceive?
# Nothing in eq. 2–5 needs VGG. `course_lib.loss_networks` holds other networks, each with its
# own preprocessing, layers at the paper's scales, and λ calibrated so that its loss terms have
# the sizes the paper's λ give the paper's network on one content/style pair
# (`benchmarks/calibrate_loss_networks.py`):

# %%
display(Markdown("| name | network | content layers | style layers |\n|---|---|---|---|\n" + "\n".join(
    f"| `{name}` | {e.description} | {', '.join(e.content_layers)} | {', '.join(e.style_layers)} |"
    for name, e in loss_networks.NETWORKS.items())))

# %% [markdown]
# Wang, Li & Vasconcelos (2021) asked why networks better than VGG at classification are worse
# at style. Their answer: peaky activations. A map whose energy sits in a few entries has
# Gram matrices dominated by those entries, and the optimisation can match them with
# high-frequency noise. One measure of peakiness is the entropy of the softmax of each
# standardised map, as a fraction of its maximum (`loss_networks.entropy`: 1 is flat, 0 is
# a single spike). For the photo:

# %%
available = ("vgg16-caffe", "efficientnet-lite0", "vgg16-random")
nets = {name: loss_networks.build(name).to(device) for name in available}
rows = []
for name, net in nets.items():
    with torch.no_grad():
        maps = net(photo, loss_networks.entry(name).style_layers)
    rows.append(f"| `{name}` | " + " | ".join(f"{k}: {loss_networks.entropy(a):.2f}" for k, a in maps.items()) + " |")
display(Markdown("| network | style layer 1 | 2 | 3 | 4 |\n|---|---|---|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# By this measure the paper's VGG has the peakiest maps (relu3_3 above all), and EfficientNet's
# are nearly flat: peakiness in this sense does not explain what EfficientNet does below. Wang
# et al. measure ResNets' non-negative activations; EfficientNet's block outputs are signed
# (its bottlenecks are linear), and standardising each map, as here, removes the scale that
# makes a softmax peaky. Keep the question open while you look at the pictures.

# %% [markdown]
# The same optimisation with each network, and with SWAG, their remedy: a softmax of the
# activations before the Gram matrices (`+swag`): here each channel becomes a softmax over its
# positions, with a temperature of 4 of that channel's standard deviations
# (`loss_networks.Smoothed` says why, and how it was chosen on another image pair). Each result is then judged by a network it was *not* optimised
# with: its style loss there, as a fraction of the photo's own (1: no closer to the style than
# the photo; lower is closer). A network can lower its own loss with noise; a judge it never
# saw is not fooled by that.

# %%
judges = {"vgg16-caffe": nets["vgg16-caffe"], "efficientnet-lite0": nets["efficientnet-lite0"]}
pictures, titles = [], []
for name in ("vgg16-caffe", "efficientnet-lite0", "efficientnet-lite0+swag", "vgg16-random"):
    net = nets.get(name) or loss_networks.build(name).to(device)
    spec = loss_networks.entry(name)
    result = plain if name == "vgg16-caffe" else stylize(  # the paper's network: section 1's result
        photo, style, loss_net=net, steps=preset.gatys_steps, content_layers=spec.content_layers,
        style_layers=spec.style_layers, progress=False)[0]
    judge = next(j for j in judges if j != name.removesuffix("+swag"))
    pictures.append(result.cpu())
    titles.append(f"{name}\nstyle under {judge}: {loss_networks.style_fraction(result, photo, style, judge, judges[judge]):.2f}")
show_images(pictures, titles, ncols=4, size=3)
plt.show()

# %% [markdown]
# **What the pictures show** (here and in `benchmarks/RESULTS.md`, *Which networks perceive?*,
# at 128² with 100 L-BFGS iterations, with its command): the paper's network gives the
# painting's palette and strokes, and EfficientNet-Lite0 gives coloured high-frequency noise
# that the VGG judge finds far further from the style than the photo itself: the failure Wang
# et al. describe. With SWAG, EfficientNet's result is a stylised photo again (the VGG judge:
# 0.6–0.7 of the photo's style loss instead of 13): their rescue, reproduced, though still
# short of the paper's network. The random VGG moves the colours and little else.
#
# Two findings of this course's own runs (RESULTS.md): *where* the softmax is taken matters (one
# softmax over each whole map removed the noise and the style with it), and above a
# temperature of about 4 standard deviations the result stops changing, because a softmax at a
# high temperature is nearly a per-channel standardisation. What rescues EfficientNet here is
# taking each channel's mean and scale out of the Gram matrix, more than flattening its peaks.
# The same smoothing does not help the paper's VGG: it turns that network's result into blocky
# noise.
#
# **Question 3.** Why judge each result under another network, instead of reporting the loss
# it was optimised for?
#
# <!-- BEGIN ANSWER -->
# The optimised loss is the optimiser's own score: any image that lowers it counts as success,
# including noise that excites a network's peaky features the right way. A network that did not
# take part in the optimisation has no reason to be fooled by that noise, so its loss measures
# whether the result has the style's statistics in general, not only in the eyes of the network
# that made it. It is the same reason the paper judges ℓ_feat super-resolution by eye, not by
# its training loss (notebook 5).
# <!-- END ANSWER -->

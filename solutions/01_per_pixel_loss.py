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
# # 1. Per-pixel losses, and why they fail
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/01_per_pixel_loss.ipynb)
#
# Johnson, Alahi & Fei-Fei (ECCV 2016) train networks that turn one image into another:
# a photo into a painting, a small image into a large one. Such an *image transformation
# network* is trained by comparing its output ŷ with a target y. The simplest comparison is
# per pixel. This notebook shows why that is not enough.
#
# **Learning goals**
# - state the per-pixel loss ℓ_pixel and PSNR, and implement both;
# - see that a one-pixel shift, invisible to a person, is a large per-pixel error, while the
#   distance between VGG features is much less affected;
# - see that a network trained with a per-pixel loss produces blurry output, and why its PSNR
#   is good all the same.

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

from course_lib import config, data, losses
from course_lib.exercises import check
from course_lib.images import load_image, resize, show_images
from course_lib.metrics import sharpness
from course_lib.plots import loss_curves
from course_lib.sr import degrade
from course_lib.vgg import VGGFeatures

device, preset = course_lib.setup()

# %% [markdown]
# ## The task and the per-pixel loss
# An image transformation network f_W maps an input x to ŷ = f_W(x). With a target y of
# shape C×H×W, the per-pixel loss (paper §3.3) is the mean squared error
#
# $$\ell_{pixel}(\hat y, y) = \frac{1}{CHW}\,\lVert \hat y - y \rVert_2^2 .$$
#
# **Exercise 1.** Implement it for batches of shape B×C×H×W: the mean over every element (over
# the batch too). The network trained at the end of this notebook learns with your function.

# %%
def pixel_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: the mean of the squared differences over every element
    return ((output - target) ** 2).mean()
    ### END SOLUTION


# %% [markdown]
# The check compares your function with the library's on fixed inputs, and names the usual
# mistakes. If it is not done yet, the rest of the notebook uses the library's version.

# %%
pixel_loss = check("pixel_loss", pixel_loss)
### BEGIN HIDDEN TESTS
assert abs(pixel_loss(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)).item() - 1.0) < 1e-6
### END HIDDEN TESTS

# %% [markdown]
# ## PSNR: the per-pixel loss on a decibel scale
# Image quality is usually reported as the peak signal-to-noise ratio: for images with values
# in [0, 255], $\mathrm{PSNR}(a, b) = 10\log_{10}\big(255^2 / \mathrm{MSE}(a, b)\big)$ dB.
# It is a decreasing function of the mean squared error, that is, of ℓ_pixel.
#
# **Exercise 2.** Implement it for two tensors of the same shape with values in 0–255. It scores
# the networks at the end of this notebook.

# %%
def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: torch.log10 of 255 squared over the mean squared error
    return 10 * torch.log10(255.0 ** 2 / ((a - b) ** 2).mean())
    ### END SOLUTION


# %%
psnr = check("psnr", psnr)

# %% [markdown]
# ## A one-pixel shift
# Take a photo and move it one pixel to the right. To a person it is the same picture. Compare
# it with two changes a person *does* notice: a 10 % darker copy and a blurred copy.

# %%
photo = load_image(data.images("content")[0], size=max(preset.image_size, 128)).to(device)
photo = photo[..., 1:-1, 1:-1]                     # leave room for the shift
variants = {
    "shifted 1 px": torch.roll(photo, shifts=1, dims=-1)[..., 1:],
    "10% darker": 0.9 * photo[..., 1:],
    "blurred": torch.nn.functional.avg_pool2d(photo, 5, stride=1, padding=2, count_include_pad=False)[..., 1:],
}
reference = photo[..., 1:]
show_images([reference.cpu()] + [v.cpu() for v in variants.values()],
            ["original"] + list(variants), size=3)
plt.show()

# %% [markdown]
# Now measure each change with your per-pixel loss and with the feature reconstruction loss
# of the next notebook: the distance between VGG-16 activations at relu2_2 (paper eq. 2), with
# the paper's own VGG-16 (`course_lib info` names the network in use; with random weights the
# feature numbers would show only the mechanics, not perception). Per pixel, the shift is the
# worst of the three changes; in feature space the blur is, and the shift costs less.

# %%
vgg = VGGFeatures(("relu2_2",), weights=config.vgg_weights()).to(device)
with torch.no_grad():
    target_features = vgg(reference)["relu2_2"]
    rows = {name: (pixel_loss(v, reference).item(),
                   losses.feature_loss(vgg(v)["relu2_2"], target_features).item())
            for name, v in variants.items()}
for name, (pixel, feature) in rows.items():
    print(f"{name:>13}: per-pixel {pixel:.5f}   feature (relu2_2) {feature:.5f}")

# %% [markdown]
# The same numbers as bars, each loss relative to its largest value:

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, column, title in zip(axes, range(2), ["per-pixel loss", "feature loss (relu2_2)"]):
    values = [row[column] for row in rows.values()]
    ax.bar(list(rows), [v / max(values) for v in values])
    ax.set(title=title, ylabel="relative to the largest")
fig.tight_layout()
plt.show()

# %% [markdown]
# Per pixel, the invisible shift can cost as much as a visible change: every edge in the photo
# now disagrees with its neighbour.

# %% [markdown]
# ### Question 1: why is the shift expensive per pixel and cheaper in feature space?
# Explain from what each loss compares. What would make the feature loss even less sensitive
# to a shift?
#
# <!-- BEGIN ANSWER -->
# ℓ_pixel compares every pixel with the pixel at the same place in the target; after a shift,
# every pixel on an edge is compared with its neighbour across the edge, so the error is large
# wherever the image has detail, although nothing was lost. A feature at relu2_2 summarises a
# neighbourhood (its receptive field is 14 pixels wide: 3×3 convolutions and one 2×2 max-pooling), and neighbouring
# features overlap, so a one-pixel move changes each of them only a little. Deeper layers, with
# larger receptive fields and more pooling, are less sensitive still; a Gram matrix, which sums
# over positions, does not change at all (up to the border).
# <!-- END ANSWER -->

# %% [markdown]
# ## A network trained with the per-pixel loss
# Now train a tiny network to enlarge images 4× (the super-resolution task of notebook 5) with
# your ℓ_pixel. Its training data are random 64×64 crops of the training photos; its input is
# the crop shrunk to 16×16 (bicubic, `course_lib.sr.degrade` without blur).

# %%
crops = data.CropDataset(data.images("train"), crop=64, resize=256, cache=True)
loader = torch.utils.data.DataLoader(crops, batch_size=8, shuffle=True)
upsampler = torch.nn.Sequential(
    torch.nn.Conv2d(3, 64, 5, padding=2), torch.nn.ReLU(),
    torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(64, 3 * 16, 3, padding=1), torch.nn.PixelShuffle(4),
).to(device)
print(upsampler)

# %% [markdown]
# A short training loop: Adam, your per-pixel loss, a progress bar. It takes about 3,000 steps
# (a few minutes on a CPU; `full` mode and the stored outputs run them) before the lesson below
# holds: the network beats bicubic's PSNR, yet looks smoother than the original. `fast` mode
# runs 200 steps, enough to see the loss fall; after so few the network may still be below
# bicubic.

# %%
steps = preset.pixel_steps
optimizer = torch.optim.Adam(upsampler.parameters(), lr=1e-3)
history, batches = [], iter(())
for step in config.progress(range(1, steps + 1), desc="training with ℓ_pixel"):
    hr = next(batches, None)
    if hr is None:
        batches = iter(loader)
        hr = next(batches)
    hr = hr.to(device)
    loss = pixel_loss(upsampler(degrade(hr, 4, blur=0)), hr)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append({"step": step, "ℓ_pixel": loss.item()})
loss_curves({"upsampler": history}, ["ℓ_pixel"], title="training a ×4 upsampler with ℓ_pixel",
            ylabel="per-pixel loss")
plt.show()

# %% [markdown]
# Compare on a crop of a content photo (not among the training photos): the 16×16 input,
# bicubic enlargement, the network's output and the original, each with its PSNR against the
# original (your function, on RGB values 0–255) and a sharpness number (the mean size of the
# difference between neighbouring pixels: larger means more edges).

# %%
hr = load_image(data.images("content")[0], size=256)[..., 64:128, 64:128].to(device)
lr = degrade(hr, 4, blur=0)
with torch.no_grad():
    outputs = {"input 16×16": resize(lr, (64, 64), "nearest"),
               "bicubic": resize(lr, (64, 64), "bicubic"),
               "CNN, ℓ_pixel": upsampler(lr).clamp(0, 1),
               "original": hr}
scores = {name: (psnr(255 * o, 255 * hr).item(), sharpness(o)) for name, o in outputs.items()}
print("PSNR (dB):", ", ".join(f"{name} {p:.2f}" for name, (p, _) in scores.items() if name != "original"))
titles = [f"{name}\nPSNR {p:.1f} dB, sharpness {s:.3f}" for name, (p, s) in scores.items()]
show_images([o.cpu() for o in outputs.values()], titles, size=3)
plt.show()

# %% [markdown]
# The network's output is smoother than the original. Many sharp images shrink to the same
# small one; the per-pixel loss is lowest for their *average*, which is blurry.

# %% [markdown]
# ### Question 2: the network's PSNR is above bicubic's, yet its picture looks smoother than the original. How can both be true?
#
# <!-- BEGIN ANSWER -->
# PSNR is 10·log10(255²/MSE): a decreasing function of the mean squared error, which is exactly
# what ℓ_pixel minimises. A network trained with ℓ_pixel is therefore trained to maximise PSNR.
# When the low-resolution input is consistent with many sharp images, the prediction with the
# lowest expected squared error is their mean, and the mean of differently placed edges is a
# soft ramp: the best PSNR is reached by a blurry image. A sharp guess with an edge one pixel off
# is penalised twice (the missing edge and the extra one). PSNR rewards being close on average,
# not looking like a photo; notebook 5 shows the same contrast with the paper's feature loss.
# <!-- END ANSWER -->

# %% [markdown]
# Notebook 2 builds the loss that fixes this: compare images by the features of a network
# trained to recognise them, not by their pixels.

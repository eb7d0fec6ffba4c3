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
# - state the per-pixel loss ℓ_pixel and implement it;
# - see that a one-pixel shift, invisible to a person, is a large per-pixel error, while the
#   distance between VGG features is much less affected;
# - see that a network trained with a per-pixel loss produces blurry output, and why.

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
import torch.nn.functional as F

from course_lib import config, data, losses
from course_lib.exercises import check
from course_lib.images import load_image, resize, show_images
from course_lib.metrics import sharpness
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
# **Exercise 1.** Implement it for batches of shape B×C×H×W (average over the batch as well).

# %%
def pixel_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: the mean of the squared differences over every element
    return ((output - target) ** 2).mean()
    ### END SOLUTION


# %% [markdown]
# The check compares your function with the library's on fixed inputs. If it is not done yet,
# the rest of the notebook uses the library's version.

# %%
g = torch.Generator().manual_seed(0)
pixel_loss = check("pixel_loss", pixel_loss, losses.pixel_loss,
                   torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g))
### BEGIN HIDDEN TESTS
assert abs(pixel_loss(torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)).item() - 1.0) < 1e-6
### END HIDDEN TESTS

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
    "blurred": F.avg_pool2d(photo, 5, stride=1, padding=2, count_include_pad=False)[..., 1:],
}
reference = photo[..., 1:]
show_images([reference.cpu()] + [v.cpu() for v in variants.values()],
            ["original"] + list(variants), size=3)
plt.show()

# %% [markdown]
# Now measure each change with the per-pixel loss and with the feature reconstruction loss of
# the next notebook: the distance between VGG-16 activations at relu2_2 (paper eq. 2). The loss
# network's weights are printed when it loads; with random weights (no ImageNet weights
# available) the feature numbers show the mechanics, not perception.

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
# now disagrees with its neighbour. A feature map has coarser, overlapping receptive fields and
# changes less. That is the paper's motivation for *perceptual* losses.
#
# ## A network trained with the per-pixel loss
# Now train a tiny network to enlarge images 4× (the super-resolution task of notebook 5) with
# ℓ_pixel. Its training data are random 64×64 crops of the training photos; its input is the
# crop shrunk to 16×16.

# %%
crops = data.CropDataset(data.images("train"), crop=64, resize=256)
loader = torch.utils.data.DataLoader(crops, batch_size=8, shuffle=True)

upsampler = torch.nn.Sequential(
    torch.nn.Conv2d(3, 64, 5, padding=2), torch.nn.ReLU(),
    torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
    torch.nn.Conv2d(64, 3 * 16, 3, padding=1), torch.nn.PixelShuffle(4),
).to(device)
print(upsampler)

# %% [markdown]
# A short training loop: Adam, per-pixel loss, a progress bar. `fast` mode trains for a minute
# on a CPU, `full` mode longer.

# %%
steps = 150 if config.mode() == "fast" else 3000
optimizer = torch.optim.Adam(upsampler.parameters(), lr=1e-3)
history, batches = [], iter(())
for _ in config.progress(range(steps), desc="training with ℓ_pixel"):
    hr = next(batches, None)
    if hr is None:
        batches = iter(loader)
        hr = next(batches)
    hr = hr.to(device)
    loss = pixel_loss(upsampler(degrade(hr, 4, blur=0)), hr)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append(loss.item())
plt.figure(figsize=(5, 3))
plt.semilogy(history)
plt.xlabel("step"); plt.ylabel("per-pixel loss"); plt.title("training a ×4 upsampler with ℓ_pixel")
plt.show()

# %% [markdown]
# Compare on a crop of a content photo, which is not among the training photos: the 16×16 input, bicubic enlargement,
# the network's output and the original. A sharpness number makes the blur measurable: the mean
# size of the difference between neighbouring pixels (larger = more edges).

# %%
hr = load_image(data.images("content")[0], size=256)[..., 64:128, 64:128].to(device)
lr = degrade(hr, 4, blur=0)
with torch.no_grad():
    outputs = {"input 16×16": resize(lr, (64, 64), "nearest"),
               "bicubic": resize(lr, (64, 64), "bicubic"),
               "CNN, ℓ_pixel": upsampler(lr).clamp(0, 1),
               "original": hr}

show_images([o.cpu() for o in outputs.values()],
            [f"{name}\nsharpness {sharpness(o):.3f}" for name, o in outputs.items()], size=3)
plt.show()

# %% [markdown]
# The network's output is smoother than the original. Many sharp images shrink to the same
# small one; the per-pixel loss is lowest for their *average*, which is blurry. Notebook 2 builds
# the loss that fixes this: compare images by the features of a network trained to recognise
# them, not by their pixels.

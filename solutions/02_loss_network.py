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
# # 2. The loss network: features, Gram matrices, and what they keep
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/02_loss_network.ipynb)
#
# The paper's losses are computed by a fixed *loss network* φ: VGG-16 trained on ImageNet
# (paper §3). Its activations φ_j at layer j describe an image's content; the Gram matrices of
# those activations describe its style.
#
# **Learning goals**
# - know the layers of VGG-16 and the shapes of their activations;
# - implement the Gram matrix (eq. 3), the feature reconstruction loss (eq. 2), the style
#   reconstruction loss and the total variation regulariser;
# - see what each layer keeps by reconstructing an image from its features (paper Fig. 3) and
#   from its Gram matrices (Fig. 4).

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
import course_lib
import matplotlib.pyplot as plt
import torch

from course_lib import config, data, losses
from course_lib.exercises import check
from course_lib.gatys import stylize
from course_lib.objectives import LossWeights
from course_lib.images import load_image, show_images
from course_lib.vgg import STYLE_LAYERS, VGGFeatures, layer_names

device, preset = course_lib.setup()

# %% [markdown]
# ## VGG-16, layer by layer
# `VGGFeatures` wraps torchvision's VGG-16, normalises [0, 1] images with the ImageNet mean and
# standard deviation, and returns the activations of the layers we ask for. Loading it prints
# which weights it has: with random weights, the pictures below show the method, not the
# paper's results.

# %%
relus = [name for name in layer_names("vgg16") if name.startswith("relu")]
vgg = VGGFeatures(relus, weights=config.vgg_weights()).to(device)

# %% [markdown]
# Each block halves the resolution and (up to 512) doubles the channels. For a 256×256 input:

# %%
# NBVAL_CHECK_OUTPUT
with torch.no_grad():
    shapes = {name: tuple(a.shape) for name, a in vgg(torch.zeros(1, 3, 256, 256, device=device)).items()}
for name, shape in shapes.items():
    print(f"{name:8} {str(shape):22} {shape[1] * shape[2] * shape[3]:>9,} values")

# %% [markdown]
# ## Feature reconstruction loss (eq. 2)
# $$\ell_{feat}^{\phi,j}(\hat y, y) = \frac{1}{C_j H_j W_j}\lVert\phi_j(\hat y) - \phi_j(y)\rVert_2^2$$
#
# **Exercise 2.** Implement it for B×C×H×W activations (average over the batch too).

# %%
def feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: like the per-pixel loss, but on activations
    return ((features - target) ** 2).mean()
    ### END SOLUTION


# %%
g = torch.Generator().manual_seed(0)
feature_loss = check("feature_loss", feature_loss, losses.feature_loss,
                     torch.rand(2, 8, 5, 5, generator=g), torch.rand(2, 8, 5, 5, generator=g))

# %% [markdown]
# ## The Gram matrix (eq. 3)
# Reshape φ_j(x) into ψ of shape C_j × H_jW_j. Then
# $G_j(x) = \psi\psi^\top / (C_j H_j W_j)$: entry (c, c′) says how much channels c and c′ fire
# *together*, wherever that happens in the image. The positions are summed away: that is why
# it captures style (textures, colours, strokes) and not layout.
#
# **Exercise 3.** Implement `gram_matrix` for a batch: B×C×H×W in, B×C×C out.

# %%
def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: reshape to B×C×(H·W), then torch.bmm with its transpose
    b, c, h, w = features.shape
    psi = features.reshape(b, c, h * w)
    return torch.bmm(psi, psi.transpose(1, 2)) / (c * h * w)
    ### END SOLUTION


# %%
gram_matrix = check("gram_matrix", gram_matrix, losses.gram_matrix, torch.rand(2, 4, 3, 5, generator=g))
### BEGIN HIDDEN TESTS
known = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
assert torch.allclose(gram_matrix(known), torch.tensor([[[1.25, 2.75], [2.75, 6.25]]]))
### END HIDDEN TESTS

# %% [markdown]
# ## Style reconstruction loss
# $\ell_{style}^{\phi}(\hat y, y) = \sum_j \lVert G_j(\hat y) - G_j(y)\rVert_F^2$, summed over the style
# layers j (squared Frobenius norm: the sum of squared entries), averaged over the batch.
#
# **Exercise 4.** `features` maps layer names to activations of ŷ, `target_grams` maps the
# same names to Gram matrices of the style image (1×C×C, to be broadcast over the batch).

# %%
def style_loss(features: dict, target_grams: dict) -> torch.Tensor:
    ### BEGIN SOLUTION hint: loop over target_grams; use your gram_matrix
    total = 0.0
    for layer, target in target_grams.items():
        diff = gram_matrix(features[layer]) - target
        total = total + (diff ** 2).sum(dim=(1, 2)).mean()
    return total
    ### END SOLUTION


# %%
feats = {"a": torch.rand(2, 4, 6, 6, generator=g), "b": torch.rand(2, 8, 3, 3, generator=g)}
targets = {"a": torch.rand(1, 4, 4, generator=g), "b": torch.rand(1, 8, 8, generator=g)}
style_loss = check("style_loss", style_loss, losses.style_loss, feats, targets)

# %% [markdown]
# ## Total variation regulariser
# ℓ_TV sums the squared differences between neighbouring pixels (horizontal and vertical), per
# image, averaged over the batch. It favours smooth images and removes high-frequency noise.
#
# **Exercise 5.** Implement it for B×C×H×W images.

# %%
def tv_loss(images: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: images[..., 1:, :] - images[..., :-1, :] is the vertical difference
    dh = (images[..., 1:, :] - images[..., :-1, :]).pow(2).sum(dim=(1, 2, 3))
    dw = (images[..., :, 1:] - images[..., :, :-1]).pow(2).sum(dim=(1, 2, 3))
    return (dh + dw).mean()
    ### END SOLUTION


# %%
tv_loss = check("tv_loss", tv_loss, losses.tv_loss, torch.rand(2, 3, 7, 9, generator=g))

# %% [markdown]
# ## What a layer keeps: feature reconstruction (paper Fig. 3)
# Start from noise and optimise an image ŷ until φ_j(ŷ) matches φ_j(y) of a photo, for
# j = relu1_2 … relu4_3. `stylize` with a zero style weight does exactly that (L-BFGS, as in
# the paper). Early layers keep the exact pixels; deeper ones keep the content and the overall
# structure but not colour, texture and exact shape. In `fast` mode the deep layers get too few
# steps to converge (they look like noise); `full` mode runs the paper's 500. With random
# weights (see the banner above) even 500 steps leave relu3_3 and relu4_3 noisy around a faint
# outline. With the ImageNet weights the paper's Fig. 3 shows recognisable images from every layer.

# %%
photo = load_image(data.images("content")[0], size=preset.image_size).to(device)
reconstructions = {}
for layer in STYLE_LAYERS:
    reconstructions[layer], _ = stylize(photo, photo, loss_net=vgg, content_layers=(layer,),
                                        weights=LossWeights(content=1.0, style=0.0, tv=1e-6),
                                        steps=preset.gatys_steps, init="noise")
show_images([photo.cpu()] + [r.cpu() for r in reconstructions.values()],
            ["photo y"] + [f"from {layer}" for layer in reconstructions], size=2.5)
plt.show()

# %% [markdown]
# ## What Gram matrices keep: style reconstruction (paper Fig. 4)
# Now match only the Gram matrices of a painting, using the style layers up to relu1_2,
# relu2_2, relu3_3 and relu4_3. The spatial layout is gone; colours, then strokes, then larger
# patterns appear as deeper layers join.

# %%
painting = load_image(data.images("styles")[0], size=preset.image_size).to(device)
textures = {}
for depth in range(1, len(STYLE_LAYERS) + 1):
    layers = STYLE_LAYERS[:depth]
    textures[layers[-1]], _ = stylize(painting, painting, loss_net=vgg, style_layers=layers,
                                      weights=LossWeights(content=0.0, style=1.0, tv=1e-6),
                                      steps=preset.gatys_steps, init="noise")
show_images([painting.cpu()] + [t.cpu() for t in textures.values()],
            ["style y_s"] + [f"Grams up to {layer}" for layer in textures], size=2.5)
plt.show()

# %% [markdown]
# These two losses are all notebook 3 needs: optimise an image to have the *features* of a
# photo and the *Gram matrices* of a painting.

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
# - know the layers of VGG-16, the input normalisation it expects, and the shapes of its
#   activations;
# - implement the feature reconstruction loss (eq. 2), the Gram matrix (eq. 3), the style
#   reconstruction loss and the total variation regulariser;
# - with your losses, see what each layer keeps by reconstructing an image from its features
#   (paper Fig. 3) and from its Gram matrices (Fig. 4).

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
from course_lib.gatys import stylize
from course_lib.images import load_image, show_images
from course_lib.vgg import STYLE_LAYERS, VGGFeatures, layer_names

device, preset = course_lib.setup()

# %% [markdown]
# ## VGG-16, layer by layer
# `VGGFeatures` wraps torchvision's VGG-16 and returns the activations of the layers we ask
# for. Loading it prints which weights it has: with random weights, the pictures below show
# the method, not the paper's results.

# %%
relus = [name for name in layer_names("vgg16") if name.startswith("relu")]
vgg = VGGFeatures(relus, weights=config.vgg_weights()).to(device)
print(vgg.features[:5])

# %% [markdown]
# The paper's loss network is the original VGG-16 of Simonyan & Zisserman, trained in Caffe.
# It saw images as Caffe loads them: channels in **BGR** order, values **0–255**, with the
# ImageNet mean pixel (B, G, R) = (103.939, 116.779, 123.68) subtracted, and no division by a
# standard deviation. Fed anything else, its features are not the ones it learned.
# (torchvision's retrained VGG-16 expects RGB in [0, 1], normalised by mean and std instead:
# each network has its own preprocessing.)
#
# **Exercise 1.** Preprocess a B×3×H×W RGB batch in [0, 1] for the Caffe VGG-16. Return a new
# tensor; do not change the input.

# %%
def caffe_preprocess(images: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: flip the channel dimension (dim 1), scale, then subtract a 1×3×1×1 mean
    mean = torch.tensor([103.939, 116.779, 123.68], device=images.device).view(1, 3, 1, 1)
    return images.flip(1) * 255 - mean
    ### END SOLUTION


# %%
caffe_preprocess = check("caffe_preprocess", caffe_preprocess)

# %% [markdown]
# With your preprocessing, run a 256×256 image through VGG's layers one by one
# (`vgg.features` is an `nn.Sequential`). Each block halves the resolution and (up to 512)
# doubles the channels. The last line checks that this agrees with `VGGFeatures`, which
# applies the preprocessing of whichever weights it loaded (`vgg.normalize`).

# %%
# NBVAL_CHECK_OUTPUT
image = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0)).to(device)
x = caffe_preprocess(image) if vgg.preprocessing == "caffe" else vgg.normalize(image)
with torch.no_grad():
    for name, layer in zip(layer_names("vgg16"), vgg.features):
        x = layer(x)
        if name.startswith("relu"):
            shape = tuple(x.shape)
            print(f"{name:8} {str(shape):22} {shape[1] * shape[2] * shape[3]:>9,} values")
    print("same as VGGFeatures:", torch.allclose(x, vgg(image, ("relu5_3",))["relu5_3"], atol=1e-4))

# %% [markdown]
# ## Feature reconstruction loss (eq. 2)
# $$\ell_{feat}^{\phi,j}(\hat y, y) = \frac{1}{C_j H_j W_j}\lVert\phi_j(\hat y) - \phi_j(y)\rVert_2^2$$
#
# **Exercise 2.** Implement it for B×C×H×W activations (average over the batch too). Your
# function makes the reconstructions of Fig. 3 below.

# %%
def feature_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: like the per-pixel loss, but on activations
    return ((features - target) ** 2).mean()
    ### END SOLUTION


# %%
feature_loss = check("feature_loss", feature_loss)

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
gram_matrix = check("gram_matrix", gram_matrix)
### BEGIN HIDDEN TESTS
known = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
assert torch.allclose(gram_matrix(known), torch.tensor([[[1.25, 2.75], [2.75, 6.25]]]))
### END HIDDEN TESTS

# %% [markdown]
# ### Question 1: why does the Gram matrix not depend on the size of the image?
# A 256² and a 512² crop of the same painting give nearly the same Gram matrices, although the
# second has four times as many activations. Why? And why does that make a Gram matrix a
# description of style?
#
# <!-- BEGIN ANSWER -->
# G_j = ψψᵀ / (C_j·H_j·W_j): each entry is a sum over the H_j·W_j positions divided by their
# number, an *average* over positions of the product of two channels. Four times the area gives
# four times the terms and four times the divisor; for a texture that is statistically the same
# everywhere, the average is the same. The positions have been summed away, so the matrix says
# which features occur together, and how strongly, but not where: the brush strokes, colours
# and textures of a painting, not its layout. (The 1/C_j makes layers with different numbers of
# channels comparable.)
# <!-- END ANSWER -->

# %% [markdown]
# ## Style reconstruction loss
# $\ell_{style}^{\phi}(\hat y, y) = \sum_j \lVert G_j(\hat y) - G_j(y)\rVert_F^2$, summed over the style
# layers j (squared Frobenius norm: the sum of squared entries), averaged over the batch.
#
# **Exercise 4.** `features` maps layer names to activations of ŷ, `target_grams` maps the
# same names to Gram matrices of the style image (1×C×C, to be broadcast over the batch). Use
# your `gram_matrix`. Your function makes the textures of Fig. 4 below.

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
style_loss = check("style_loss", style_loss)

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
tv_loss = check("tv_loss", tv_loss)

# %% [markdown]
# ## What a layer keeps: feature reconstruction (paper Fig. 3)
# Start from noise and optimise an image ŷ until φ_j(ŷ) matches φ_j(y) of a photo, with your
# `feature_loss` (and a little of your `tv_loss`), for the paper's layers relu2_2, relu3_3,
# relu4_3, relu5_1 and relu5_3. `stylize` runs the optimisation (L-BFGS, as in the paper) on
# any objective we give it. The helper below builds one from a layer and a loss of that layer's
# activations; Fig. 4 uses it too.

# %%
def reconstruct(image: torch.Tensor, layer: str, loss_of_features, net: VGGFeatures = vgg) -> torch.Tensor:
    """Optimise noise until ``loss_of_features(activations of net at layer)``, divided by its
    value at the noise (so every layer, and every network's activation scale, starts at 1),
    + 1e-6·TV is minimal."""
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(0)).to(device)
    with torch.no_grad():
        start = float(loss_of_features(net(noise, (layer,))[layer]))

    def objective(candidate):
        total = loss_of_features(net(candidate, (layer,))[layer]) / start + 1e-6 * tv_loss(candidate)
        return total, {}
    return stylize(image, image, loss_net=net, objective=objective, steps=preset.gatys_steps,
                   init=noise, progress=False)[0]


photo = load_image(data.images("content")[0], size=preset.image_size).to(device)
fig3_layers = ("relu2_2", "relu3_3", "relu4_3", "relu5_1", "relu5_3")
with torch.no_grad():
    targets = vgg(photo, fig3_layers)
reconstructions = {layer: reconstruct(photo, layer, lambda f, t=targets[layer]: feature_loss(f, t))
                   for layer in config.progress(fig3_layers, desc="Fig. 3")}
show_images([photo.cpu()] + [r.cpu() for r in reconstructions.values()],
            ["photo y"] + [f"from {layer}" for layer in reconstructions], size=2.5)
plt.show()

# %% [markdown]
# With ImageNet weights (the paper's Fig. 3) the early layers give back the photo almost
# exactly; from the deep layers the content and the overall structure survive, but colour,
# texture and exact shape are lost: the network keeps what matters for recognising the image.
# That is why a feature loss at a mid-level layer lets a network change the texture and colour
# of an image (style transfer) or invent plausible detail (super-resolution) without being
# punished. The stored pictures ran 200 L-BFGS steps at 192² (the README names the command);
# `fast` mode's 30 steps at 96² are too few for the deep layers, which then still look like
# noise, and `full` mode runs the paper's 500 at 256².

# %% [markdown]
# ## What Gram matrices keep: style reconstruction (paper Fig. 4)
# Now match only the Gram matrices of a painting, with your `gram_matrix` and `style_loss`, one
# style layer at a time as in the paper: ℓ_style^{φ,j} for j = relu1_2, relu2_2, relu3_3 and
# relu4_3. The spatial layout is gone; deeper layers keep larger-scale structure.

# %%
painting = load_image(data.images("styles")[0], size=preset.image_size).to(device)
with torch.no_grad():
    style_targets = {layer: gram_matrix(a) for layer, a in vgg(painting, STYLE_LAYERS).items()}
textures = {layer: reconstruct(painting, layer,
                               lambda f, j=layer: style_loss({j: f}, {j: style_targets[j]}))
            for layer in config.progress(STYLE_LAYERS, desc="Fig. 4")}
show_images([painting.cpu()] + [t.cpu() for t in textures.values()],
            ["style y_s"] + [f"ℓ_style at {layer}" for layer in textures], size=2.5)
plt.show()

# %% [markdown]
# ## The same with random weights
# Is it the VGG *architecture* that keeps content and style, or what ImageNet taught it? Below,
# the same reconstructions with a VGG-16 of the same layers and random weights (torchvision's
# initialisation, never trained), beside the trained network's: the content at a shallow and a
# deep layer (Fig. 3) and the style at relu3_3 (Fig. 4). Everything else is the same: your
# losses, the same noise, the same optimiser and steps.

# %%
random_vgg = VGGFeatures(relus, weights="random").to(device)
with torch.no_grad():
    random_targets = random_vgg(photo, ("relu2_2", "relu4_3"))
    random_grams = {"relu3_3": gram_matrix(random_vgg(painting, ("relu3_3",))["relu3_3"])}
random_runs = {f"from {layer}": reconstruct(photo, layer, lambda f, t=random_targets[layer]: feature_loss(f, t),
                                            net=random_vgg) for layer in ("relu2_2", "relu4_3")}
random_runs["ℓ_style at relu3_3"] = reconstruct(
    painting, "relu3_3", lambda f: style_loss({"relu3_3": f}, random_grams), net=random_vgg)
trained_runs = {"from relu2_2": reconstructions["relu2_2"], "from relu4_3": reconstructions["relu4_3"],
                "ℓ_style at relu3_3": textures["relu3_3"]}
show_images([r.cpu() for r in trained_runs.values()] + [r.cpu() for r in random_runs.values()],
            [f"{name}, trained" for name in trained_runs] + [f"{name}, random" for name in random_runs],
            ncols=3, size=2.5)
plt.show()

# %% [markdown]
# ### Question 2: what can a loss network with random weights capture, and what not?
# Compare the two rows above: what survives with random weights, and what only the trained
# network gives?
#
# <!-- BEGIN ANSWER -->
# A random convolutional network is still a bank of local filters followed by ReLUs and
# pooling: its early layers respond to colour and local intensity patterns, so relu1_2/relu2_2
# reconstructions recover the photo (the relu2_2 pair above is nearly identical), and Gram
# matrices of random features still capture colour statistics: the random relu3_3 texture has
# the painting's colours, in soft blobs without its strokes. What it lacks is the *learned* hierarchy: deep trained features respond to
# object parts and shapes and are invariant to the irrelevant (colour shifts, small
# deformations). So with random weights the deep reconstructions are noise with a faint
# outline (relu4_3 above) instead of the recognisable structure of the paper's Fig. 3, and the
# style layers give colour but no strokes. Losses built on it are not perceptual: they do not
# agree with what people see as similar.
# <!-- END ANSWER -->

# %% [markdown]
# ### Question 3: why does the paper use relu2_2, not relu4_3, for the content of style transfer?
#
# <!-- BEGIN ANSWER -->
# Fig. 3 answers it: relu2_2 still holds the photo's edges and layout precisely, so a network
# trained to match it keeps the content recognisable, while the style loss is free to change
# colours and textures. At relu4_3 so much is lost that the content term would let the
# structure drift and the style take over (the authors' Lua code uses relu3_3, a middle
# ground). Notebook 4 compares relu2_2 with relu3_3.
# <!-- END ANSWER -->

# %% [markdown]
# These losses are all notebook 3 needs: optimise an image to have the *features* of a photo
# and the *Gram matrices* of a painting.

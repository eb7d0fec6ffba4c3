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
# # 6. Beyond the paper: image-to-image translation with learned losses
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/06_image_translation.ipynb)
#
# Johnson et al. fix the loss: a VGG network trained for something else says what "looks
# alike". The work that followed *learns* the loss too: a discriminator, trained at the same
# time as the generator, to tell generated images from real ones.
# - **pix2pix** (Isola et al., CVPR 2017): paired data; a U-Net generator and a *PatchGAN*
#   discriminator that judges every 70×70 patch of (input, output); loss cGAN + λ·L1, λ = 100.
#   PatchGAN comes from Li & Wand's Markovian GANs (ECCV 2016, the same year as this paper), a
#   patch-statistics cousin of the Gram-matrix style loss.
# - **pix2pixHD** (Wang et al., CVPR 2018): its main contribution is a coarse-to-fine generator,
#   a global generator at half resolution wrapped by a *local enhancer* at full resolution, fed
#   with instance-boundary maps besides the label maps, for 2048×1024 outputs. Its losses add
#   three discriminators of one architecture at three resolutions, a feature-matching loss on
#   the discriminators' features, and a VGG perceptual loss: this paper's ℓ_feat, carried into
#   GANs. (The course's `-hd` model takes the losses only, with two discriminator scales.)
# - **CycleGAN** (Zhu et al., ICCV 2017): *unpaired* data; two generators (Johnson et al.'s
#   transformation network) and two discriminators; LSGAN + λ·cycle consistency, λ = 10.
#
# **Learning goals**
# - derive the PatchGAN's receptive field, and write pix2pix's losses and CycleGAN's cycle loss;
# - train both kinds of GAN in the course's one training loop and watch both players;
# - compare L1, L1 + GAN and pix2pixHD's additions on held-out images; see why L1 alone is blurry;
# - know what each method needs (pairs, a discriminator, a fixed loss network) and gives.

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
from IPython.display import Markdown, display

from course_lib import data, hparams, tasks
from course_lib.architectures import build
from course_lib.checkpoints import load_model, shipped_models
from course_lib.exercises import check
from course_lib.images import load_image, show_images
from course_lib.metrics import psnr_ssim, sharpness
from course_lib.plots import loss_curves
from course_lib.translation import (CycleGANObjective, PatchDiscriminator, Pix2PixObjective, gan_loss,
                                    make_input, measured_receptive_field, patch_layers)
from course_lib.widgets import TranslationPanel

device, preset = course_lib.setup()

# %% [markdown]
# ## Data that works offline
# No translation data set can be downloaded here, so the pairs are made from the course's own
# photos: Canny edges → photo (the task below), greyscale → colour (colourisation, one of the
# paper's motivating transformations) and degraded → clean. Training uses the training photos;
# the held-out test images are the content photos, which are not among them. (With a network,
# the pix2pix and CycleGAN data sets — facades, edges2shoes, horse2zebra … — are listed by
# `python -m course_lib download`; `train-pix2pix --data` reads their side-by-side pairs.)

# %%
crop = 64
photos = data.images("train")
test_photo = load_image(data.images("content")[0], size=2 * crop)[0, :, :crop, :crop]
examples = [test_photo] + [make_input(test_photo, task) for task in ("edges", "colorize", "restore")]
show_images(examples, ["photo", "edges (input)", "grey (input)", "degraded (input)"], size=2.5)
plt.show()

# %% [markdown]
# ## The generator: a U-Net
# An encoder halves the resolution at every level down to a bottleneck, a decoder doubles it
# back, and each decoder level also receives the encoder's activations of the same size (the
# skip connections). The edges, or the outline of a grey image, pass straight through the
# skips; the bottleneck only has to decide what goes where. Dropout in the decoder is
# pix2pix's only source of noise. For 64×64 crops, five levels:

# %%
# NBVAL_CHECK_OUTPUT
model = build("pix2pix", width=16, depth=5, d_width=16)
x = torch.zeros(1, 3, crop, crop)
h = x
for level, layer in enumerate(model.generator.down):
    h = layer(h if level == 0 else F.leaky_relu(h, 0.2))
    print(f"down {level}: {tuple(h.shape)}")
print(f"generator: {sum(p.numel() for p in model.generator.parameters()):,} parameters, "
      f"discriminator: {sum(p.numel() for p in model.discriminator.parameters()):,}")

# %% [markdown]
# ## The discriminator: a PatchGAN
# pix2pix's discriminator is fully convolutional: C64-C128-C256-C512 (4×4 kernels, strides
# 2-2-2-1, LeakyReLU 0.2), then a 1-channel 4×4 conv. Each output value judges one patch of the
# (input, output) pair, and the loss averages over all of them: it asks every patch to look
# real, which is a statement about local texture and sharpness, not about the layout.
#
# **Exercise 1.** Write the receptive field of a stack of convolutions, given as (kernel,
# stride) pairs from the first layer to the last: a k×k kernel widens the window by k − 1
# *input* pixels, and a layer's input pixels are the product of the earlier strides apart in the
# image. Then derive the PatchGAN's 70.

# %%
def receptive_field(layers: list[tuple[int, int]]) -> int:
    ### BEGIN SOLUTION hint: keep the window and the spacing of the current layer's input pixels
    field, spacing = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * spacing
        spacing *= stride
    return field
    ### END SOLUTION


# %%
receptive_field = check("receptive_field", receptive_field)

# %% [markdown]
# Your formula against a measurement: the size of the input window whose pixels change one
# output value (the extent of the gradient of that output), for PatchGANs of 1 to 4 strided
# layers. pix2pix's paper compares these sizes: 1×1 ("PixelGAN"), 16×16, 70×70 and 286×286.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
for n_layers in (1, 2, 3, 4):
    derived = receptive_field(patch_layers(n_layers))
    measured = measured_receptive_field(PatchDiscriminator(3, n_layers=n_layers, width=8), 3, size=300)
    print(f"{n_layers} strided layers: derived {derived}×{derived}, measured {measured[0]}×{measured[1]}")

# %% [markdown]
# ## pix2pix's losses
# For an input x, a target y and the output G(x), the discriminator D sees pairs: (x, y) is
# real, (x, G(x)) is generated. Its predictions are logits, one per patch.
#
# **Exercise 2.** The generator's loss: λ_GAN·cGAN + λ_L1·‖y − G(x)‖₁, where the cGAN term
# asks D to call (x, G(x)) *real* (use `gan_loss(prediction, True)`, the cross-entropy), and the
# L1 term is the mean absolute difference. Return (total, {"G_GAN": …, "G_L1": …}), weighted.

# %%
def generator_loss(prediction, fake, target, weights):
    ### BEGIN SOLUTION hint: the generator wants the discriminator to say "real" about its output, and stays close to the target || `gan_loss(prediction, True)` and `F.l1_loss(fake, target)`, each times its λ
    parts = {"G_GAN": weights.gan * gan_loss(prediction, True), "G_L1": weights.l1 * F.l1_loss(fake, target)}
    return sum(parts.values()), parts
    ### END SOLUTION


# %%
generator_loss = check("generator_loss", generator_loss)

# %% [markdown]
# **Exercise 3.** The discriminator's loss: real pairs → 1, generated pairs → 0, each with
# `gan_loss`, and halved (pix2pix slows the discriminator down this way). The loop runs this
# step before the generator's, with the output detached: D's step must not train G.

# %%
def discriminator_loss(prediction_real, prediction_fake):
    ### BEGIN SOLUTION hint: the discriminator is scored on both kinds of input, and its loss is halved to slow it down || `0.5 * (gan_loss(prediction_real, True) + gan_loss(prediction_fake, False))`
    return 0.5 * (gan_loss(prediction_real, True) + gan_loss(prediction_fake, False))
    ### END SOLUTION


# %%
discriminator_loss = check("discriminator_loss", discriminator_loss)

# %% [markdown]
# ## Training pix2pix with your losses
# Edges → photo on 64×64 crops of the training photos (each photo scaled to 128 pixels on its
# shorter side first). The course's one training loop runs it: the objective yields the
# discriminator's step and then the generator's, each with its own Adam (lr 2e-4, β1 = 0.5, as
# pix2pix), with checkpoints, exact resume and the run's folder named by its settings and your
# code. `fast` mode trains a handful of steps.

# %%
hp = hparams.in_mode(hparams.PIX2PIX.course, preset, batch_size=4, image_size=crop, width=16, depth=5, d_width=16)
objective = Pix2PixObjective(hp.weights(), generator_fn=generator_loss, discriminator_fn=discriminator_loss)
run = tasks.pix2pix(photos, hp, task="edges", resize=2 * crop, objective=objective, cache=True)
history = run.train(device=device)

# %% [markdown]
# Both players' losses: the discriminator's falls when it wins, the generator's adversarial
# term rises; a GAN is an equilibrium, not a minimisation, so neither curve goes to zero. (The
# seeds are fixed: GAN runs differ a lot from one seed to the next.)

# %%
loss_curves({"pix2pix": history}, ("G_GAN", "G_L1", "D"), title="pix2pix: both players", ylabel="loss")
plt.show()

# %% [markdown]
# ## L1, L1 + GAN, and pix2pixHD's additions
# Four models trained for longer on the same task with the course's objective are shipped with
# the course (their training commands are recorded in the files and in `benchmarks/RESULTS.md`):
# L1 alone; pix2pix (L1 + GAN); + feature matching with two discriminator scales; and + the VGG
# feature loss of pix2pixHD, with the paper's VGG-16 as the loss network. The last two differ
# only in that VGG term, so comparing them isolates it. On the held-out content photo: PSNR and
# SSIM against the real photo, and the sharpness (mean difference between neighbouring pixels;
# the real photo's is given too).

# %%
variants = {"L1 only": "pix2pix-edges-l1", "L1 + GAN": "pix2pix-edges", "L1 + GAN + FM": "pix2pix-edges-fm",
            "L1 + GAN + FM + VGG": "pix2pix-edges-hd"}
trained = {name: load_model(shipped_models()[file], device) for name, file in variants.items()}
tests = [load_image(p, size=2 * crop)[0] for p in data.images("content")]
tests = [t[:, :crop, :crop] for t in tests] + [t[:, -crop:, -crop:] for t in tests]
rows, crops_shown = [], {}
for name, network in trained.items():
    with torch.no_grad():
        outputs = [network(make_input(t, "edges").unsqueeze(0).to(device)).float().cpu() for t in tests]
    scores = [psnr_ssim(o, t.unsqueeze(0), border=0) for o, t in zip(outputs, tests)]
    rows.append(f"| {name} | {sum(s[0] for s in scores) / len(scores):.2f} | {sum(s[1] for s in scores) / len(scores):.3f} "
                f"| {sum(sharpness(o) for o in outputs) / len(outputs):.3f} |")
    crops_shown[name] = outputs[0]
rows.append(f"| real photos | — | — | {sum(sharpness(t) for t in tests) / len(tests):.3f} |")
display(Markdown("\n".join(["| edges → photo | PSNR (dB) | SSIM | sharpness |", "|---|---|---|---|"] + rows)))
show_images([make_input(tests[0], "edges")] + list(crops_shown.values()) + [tests[0]],
            ["input edges"] + list(crops_shown) + ["real photo"], size=2.5)
plt.show()

# %% [markdown]
# L1 alone is the blurriest, for the reason of notebook 1: many photos have the same edges, and
# the L1-optimal answer averages them (the median, for L1), washing out colour and texture. The
# discriminator penalises exactly that: a blurry patch does not look like any real patch, so
# the generator is pushed to commit to one sharp answer, at some cost in PSNR. The VGG and
# feature-matching terms give the generator denser, more stable signals than the single real/fake
# verdict.
#
# Two crops of one photo show the trade-off but cannot say whether a term helps. On 200 crops of
# the 100 BSD100 photos, which no model trained on (`benchmarks/pix2pix_ablation.py`,
# `benchmarks/RESULTS.md`), feature matching alone changes nothing consistently (it is closer to
# the photo on about half the crops by every measure), while the paper's VGG-16 as a loss does:
# with it the outputs are closer to the photo in relu3_3 features on 72 % of the crops, closer in
# sharpness on 67 %, and no worse in PSNR. A small effect after 10,000 steps of a small network,
# but a real one; with a random VGG (the model this one replaces) it measured nothing.

# %% [markdown]
# ### Question 1: why a patch discriminator, and not one that judges the whole image?
#
# <!-- BEGIN ANSWER -->
# The L1 term already gets the low frequencies right (the layout, the average colours); what
# it cannot do is make the result sharp. Sharpness and texture are local, so a discriminator
# that judges N×N patches is enough to penalise blur, and it has far fewer parameters, runs on
# any image size (it is fully convolutional), and gets one verdict per patch — many training
# signals per image instead of one. It models the image as a Markov random field: pixels more
# than a patch apart are treated as independent, the assumption of Li & Wand's Markovian GANs,
# and, like the Gram-matrix style loss, it describes local statistics rather than layout.
# pix2pix found 70×70 the best compromise: 16×16 gives sharp but tiled artefacts, 286×286 (the
# whole image) has more parameters, is harder to train and scores no better.
# <!-- END ANSWER -->

# %% [markdown]
# ## CycleGAN: unpaired photos ↔ paintings
# Without pairs there is no L1 target. CycleGAN trains G: photo → painting and F: painting →
# photo together, each against a discriminator of its target domain, and asks that going there
# and back returns the input: F(G(a)) ≈ a and G(F(b)) ≈ b. Here domain A is the training photos,
# domain B crops of the course's style paintings (four paintings: a narrow "domain"; stylised
# photos from notebook 4's network would be another choice, teaching the same thing with an
# exact ground truth to compare with).
#
# **Exercise 4.** The cycle-consistency loss of one direction: the mean absolute difference
# between the original and its reconstruction, ‖F(G(x)) − x‖₁. The CycleGAN run below uses it.

# %%
def cycle_consistency(original, reconstructed):
    ### BEGIN SOLUTION hint: like the L1 term of exercise 2
    return (reconstructed - original).abs().mean()
    ### END SOLUTION


# %%
cycle_consistency = check("cycle_loss", cycle_consistency)

# %% [markdown]
# A short run with your cycle loss (the generators are `TransformerNet`, the network of
# notebook 4, with 4 residual blocks; LSGAN; λ_cyc = 10, identity 5; a history of 50 generated
# images for the discriminators):

# %%
cycle_hp = hparams.in_mode(hparams.CYCLEGAN.course, preset, batch_size=4, image_size=crop, width=16, blocks=4, d_width=16)
cycle_objective = CycleGANObjective(cycle_hp.cycle, cycle_hp.identity, cycle_fn=cycle_consistency)
cycle_history = tasks.cyclegan(photos, data.images("styles"), cycle_hp, resize=2 * crop, objective=cycle_objective,
                               cache=True).train(device=device)

# %% [markdown]
# Its losses: the adversarial term of both generators, the cycle and identity terms, and the
# discriminators'.

# %%
loss_curves({"CycleGAN": cycle_history}, ("G_GAN", "G_cycle", "G_identity", "D"), title="CycleGAN: both players")
plt.show()

# %% [markdown]
# The shipped CycleGAN, trained longer: both directions and both reconstructions, on a held-out
# photo and a painting crop.

# %%
shipped = load_model(shipped_models()["cyclegan-photo2painting"], device)
painting = load_image(data.images("styles")[0], size=2 * crop)[..., :crop, :crop]
a, b = test_photo.unsqueeze(0).to(device), painting.to(device)
with torch.no_grad():
    a2b, b2a = shipped.g_ab(a), shipped.g_ba(b)
    a2b2a, b2a2b = shipped.g_ba(a2b), shipped.g_ab(b2a)
show_images([t.cpu() for t in (a, a2b, a2b2a, b, b2a, b2a2b)],
            ["photo a", "G(a): as a painting", "F(G(a))", "painting b", "F(b): as a photo", "G(F(b))"], ncols=3, size=2.5)
plt.show()

# %% [markdown]
# ### Question 2: what can the cycle loss not prevent?
#
# <!-- BEGIN ANSWER -->
# The cycle loss only asks that F can undo G. G may therefore hide the information F needs in
# signals too faint to see — a near-invisible high-frequency pattern in G(a) that encodes a —
# and satisfy the cycle loss while G(a) looks like a painting with no relation to a (Chu et
# al. 2017 showed CycleGAN doing exactly this steganography). It also cannot say *which*
# mapping is meant: any bijection between the domains that the discriminators accept is as good,
# so colours may swap or objects change identity, and for domains with different amounts of
# information (a painting may drop details a photo has) no exact inverse exists at all.
# Adversarial training also brings its usual failures: mode collapse, where the generator maps
# many inputs to a few outputs that fool the discriminator, and oscillation instead of
# convergence (hence the history buffer, LSGAN, and the fixed seeds here).
# <!-- END ANSWER -->

# %% [markdown]
# ### Question 3: in what sense is a discriminator a learned perceptual loss?
#
# <!-- BEGIN ANSWER -->
# A perceptual loss compares images in the feature space of a network, so that images which
# look alike are close. Johnson et al. take that network fixed from ImageNet classification.
# A discriminator is a network trained, alongside the generator, on exactly the question "does
# this look like the real thing?": its verdict (and, in pix2pixHD's feature matching, its
# intermediate features) is a loss tuned to the target domain and to the generator's current
# mistakes. The price is that it moves during training, so the generator chases a moving
# target; the fixed VGG loss is stable but only as good as ImageNet's features are for the task.
# pix2pixHD uses both.
# <!-- END ANSWER -->

# %% [markdown]
# ## The methods side by side

# %%
display(Markdown("""
| method | paired data | a discriminator | a fixed loss network | what it gives |
|---|---|---|---|---|
| feed-forward + perceptual loss (notebook 4) | no (style: one painting; SR: pairs made by degradation) | no | yes (VGG) | one style or task per network, real-time, stable training |
| pix2pix | yes | yes (PatchGAN, sees the pair) | no | sharp, realistic outputs for a paired task; GAN instability |
| pix2pixHD | yes | yes (three scales in the paper, two in the course's `-hd` model; feature matching) | yes (VGG ℓ_feat) | high resolution (coarse-to-fine generator), steadier GAN training |
| CycleGAN | no (two unpaired collections) | yes (two) | no | translation between domains without pairs; may change content, hide information |
"""))

# %% [markdown]
# ## Try it yourself: the two weights of pix2pix
# Starting from the shipped pix2pix model, move the log sliders for λ_L1 and λ_GAN and press
# **Train**: the course's loop trains a few more steps with those weights, and the panel shows
# the held-out input beside its translation, and the losses of both players. Try λ_L1 = 1 (the
# GAN dominates: sharper, less faithful) and λ_GAN = 0.01 (back towards the blurry L1 answer).

# %%
# NBVAL_IGNORE_OUTPUT
panel = TranslationPanel(load_model(shipped_models()["pix2pix-edges"], device), run.dataset,
                         make_input(test_photo, "edges").unsqueeze(0), steps=10)
panel

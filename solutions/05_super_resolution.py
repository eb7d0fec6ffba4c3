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
# # 5. Super-resolution with per-pixel and perceptual losses
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/perceptual-losses-course/course/blob/main/notebooks/05_super_resolution.ipynb)
#
# The same idea as notebook 4 applied to enlarging images ×4 and ×8 (paper §4.2): one network
# f_W, trained once, with the per-pixel loss ℓ_pixel or with the feature reconstruction loss
# ℓ_feat at relu2_2. Scored by PSNR/SSIM, the per-pixel network wins; looked at (with the
# ImageNet loss network), the feature-loss network has the sharper edges. That contrast is the
# lesson.
#
# **Learning goals**
# - write the paper's degradation, its network and its ℓ_feat objective, and train with them;
# - measure bicubic, SRCNN, ℓ_pixel and ℓ_feat exactly as the literature does (PSNR/SSIM on Y),
#   the paper's Table 2;
# - measure what PSNR misses: the distance in the loss network's features and the sharpness;
# - see why PSNR rewards ℓ_pixel, and what the paper's histogram matching does.

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
from IPython.display import Markdown, display
from torchvision.transforms import functional as TF

from course_lib import data, exercises, hparams, losses, tasks
from course_lib.architectures import build
from course_lib.exercises import check
from course_lib.images import load_image, resize, show_images
from course_lib.checkpoints import load_model, shipped_models, training_record
from course_lib.networks import SRCNN, ResidualBlock, conv
from course_lib.plots import loss_curves
from course_lib.sr import evaluate, evaluate_models, upscale
from course_lib.vgg import loss_network

device, preset = course_lib.setup()

# %% [markdown]
# ## Exercise 1: the paper's degradation
# The paper makes each low-resolution input x from a high-resolution crop y: a Gaussian blur of
# σ = 1.0 (a 7×7 kernel, ±3σ; `TF.gaussian_blur`), then bicubic downsampling by the factor
# (`course_lib.images.resize(..., "bicubic")`). The network must undo both. Your function makes
# the training inputs of the network you train below.

# %%
def degrade(hr: torch.Tensor, scale: int, blur: float = 1.0) -> torch.Tensor:
    ### BEGIN SOLUTION hint: blur first (only when blur > 0), then shrink by the scale || `TF.gaussian_blur(hr, kernel_size=2 * int(3 * blur + 0.5) + 1, sigma=blur)`, then `resize(…, (h // scale, w // scale), "bicubic")`
    if blur > 0:
        hr = TF.gaussian_blur(hr, kernel_size=2 * int(3 * blur + 0.5) + 1, sigma=blur)
    return resize(hr, (hr.shape[-2] // scale, hr.shape[-1] // scale), "bicubic")
    ### END SOLUTION


# %%
degrade = check("degrade", degrade, exercise=exercises.degrade_exercise())

# %% [markdown]
# A crop of a test photo and its ×4 and ×8 inputs (shown enlarged by repeating pixels):

# %%
photo = load_image(data.images("content")[0], size=256)[..., :128, :128]
shown = {"HR y": photo}
for scale in (4, 8):
    low = degrade(photo, scale)
    shown[f"x, ×{scale} ({low.shape[-1]}²)"] = resize(low, tuple(photo.shape[-2:]), "nearest")
show_images(list(shown.values()), list(shown), size=3)
plt.show()

# %% [markdown]
# ## The models, and the benchmark sets
# The course ships models trained for this notebook (how, exactly, is recorded in each file and
# in `benchmarks/RESULTS.md`): the paper's network trained with ℓ_pixel at ×4 and ×8, SRCNN
# (Dong et al. 2014, the paper's baseline) at ×4 and ×8, and the paper's network trained with
# ℓ_feat at ×4 and ×8 (`sr4-feat`, `sr8-feat`) with the paper's own loss network, the original
# VGG-16.
#
# The networks use batch normalisation, as the paper does for super-resolution, not the
# instance normalisation of notebook 4: instance norm removes each image's mean brightness and
# contrast, which a super-resolution network must reproduce.
#
# The shipped models differ from the paper's in more than one way, each for a CPU's sake or
# stated here:
#
# | | the paper | the shipped models |
# |---|---|---|
# | network | stride-½ (transposed) convs, scaled-tanh output | nearest-neighbour + conv, output added to the bicubic enlargement (a global skip); the paper's exact network is `tasks.super_resolution(..., hparams.SUPER_RESOLUTION.paper)` |
# | degradation | Gaussian blur σ = 1, then bicubic | ℓ_pixel, SRCNN: no blur (`--blur 0`, the standard benchmark inputs); ℓ_feat (`sr4-feat`, `sr8-feat`): σ = 1, as the paper |
# | training crops | 288×288 | 96×96 (×4), 192×192 (×8) |
# | training images | 10,000 from COCO | the 80 photos of the shared training set |
# | schedule | 200,000 steps × 4 images | 2,800–4,200 steps × 16 (×4) or × 8 (×8); SRCNN 6,000 × 16 |
# | learning rate | Adam 1e-3 | Adam 1e-3, with a warm-up for ℓ_feat (see the training cell below) |
# | SRCNN | Y channel only (c = 1), 33×33 patches from ILSVRC, evaluated at ×4 only | RGB (c = 3), trained by the course at ×4 and ×8; the ×8 row is course-trained and not in the paper |

# %%
shipped = {name: load_model(name) for name in shipped_models() if name.startswith("sr")}
FEAT = {4: ("ℓ_feat", "sr4-feat"), 8: ("ℓ_feat", "sr8-feat")}  # label, model
for name, model in shipped.items():
    record = training_record(name)  # a fine-tuned model: its steps include the run it started from
    print(f"{name:24} {record['total_steps']:>6} steps, {record['total_seconds'] / 60:4.0f} min on {record['device']}")

# %% [markdown]
# The benchmark sets: Set5, Set14 and BSD100 (or its 68-image subset BSD68, where only that is
# available). Without them (no `COURSE_DATA` and no download), the notebook falls back to
# sample photos and says so: those numbers are not comparable with the paper's.

# %%
try:
    sets = data.sr_sets()
except (FileNotFoundError, data.DownloadError) as err:
    print(f"Benchmark sets unavailable ({err}); using sample photos, NOT comparable with the paper.")
    sets = {"samples": data.fallback_images("content")[0].parent}
scored = dict(list(sets.items())[:preset.sr_sets])
print("scored here:", ", ".join(scored), "" if len(scored) == len(sets) else f"(the first {len(scored)} of {len(sets)})")

# %% [markdown]
# ## Exercise 2: SRCNN's forward pass
# SRCNN enlarges its input ×scale with bicubic interpolation first, then applies three
# convolutions: 9×9 (64 filters), ReLU, 1×1 (32), ReLU, 5×5 (3). The shipped `SRCNN` holds the
# three convolutions (with their padding) in `net.layers`; write its forward pass. The SRCNN
# row of the table below runs your function.

# %%
def srcnn_forward(net: SRCNN, lr: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: SRCNN never changes the size itself: enlarge first, then let the three convolutions refine || `resize(lr, (h * net.scale, w * net.scale), "bicubic")`, then `net.layers(...)`
    h, w = lr.shape[-2:]
    return net.layers(resize(lr, (h * net.scale, w * net.scale), "bicubic"))
    ### END SOLUTION


# %%
srcnn_forward = check("srcnn_forward", srcnn_forward, exercise=exercises.srcnn_exercise())


class YourSRCNN(torch.nn.Module):
    """A shipped SRCNN run through your forward pass."""

    def __init__(self, net: SRCNN) -> None:
        super().__init__()
        self.net, self.scale = net, net.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return srcnn_forward(self.net, lr)


# %% [markdown]
# ## The paper's Table 2: bicubic, SRCNN, ℓ_pixel, ℓ_feat
# PSNR / SSIM on the luma channel Y, with a border of `scale` pixels cropped, each HR image
# cropped to a multiple of the scale; the LR inputs are the standard benchmark inputs (bicubic
# downsampling, no blur, in 8 bits) — the protocol behind the literature's numbers, written out
# in `benchmarks/RESULTS.md`. Beside: the paper's figures for Set5 ×4 that the course has
# checked against a copy of the paper (bicubic, and SRCNN as the paper reports it). The paper's
# Table 2 also gives ℓ_pixel and ℓ_feat on Set5, Set14 and BSD100 at ×4 and ×8; its table
# could not be read again where this notebook was made, and the course prints no figure from
# memory, so look them up there and check the ordering: ℓ_feat below ℓ_pixel in PSNR at both
# scales (its ℓ_feat networks used the ImageNet VGG, as `sr4-feat` and `sr8-feat` do).

# %%
PAPER = {4: {"bicubic": "28.43 / 0.8114", "SRCNN": "30.48"}, 8: {}}
rows = []
for scale in (4, 8):
    srcnn = "SRCNN" if scale == 4 else "SRCNN (course-trained; not in the paper)"
    methods = {"bicubic": None, srcnn: YourSRCNN(shipped[f"srcnn{scale}"]),
               "ℓ_pixel": shipped[f"sr{scale}-pixel"], FEAT[scale][0]: shipped[FEAT[scale][1]]}
    for name, model in methods.items():
        scores = [evaluate(model, folder, scale) for folder in scored.values()]
        paper = PAPER[scale].get(name.split(" ")[0], "—")
        rows.append(f"| ×{scale} | {name} | " + " | ".join(f"{s['psnr']:.2f} / {s['ssim']:.4f}" for s in scores)
                    + f" | {paper} |")
head = "| scale | method | " + " | ".join(scored) + " | paper, Set5 |"
display(Markdown("\n".join([head, "|---|---|" + "---|" * (len(scored) + 1)] + rows)))

# %% [markdown]
# ### Question 1: why does PSNR reward ℓ_pixel, though ℓ_feat looks sharper?
#
# <!-- BEGIN ANSWER -->
# PSNR = 10·log10(255² / MSE) is a monotone decreasing function of the mean squared error, and
# ℓ_pixel *is* the mean squared error: training with ℓ_pixel maximises PSNR directly. Given a
# low-resolution input, many sharp images are possible; the one with the least expected MSE is
# their average, which is smooth. ℓ_feat instead asks the output's relu2_2 features to match,
# which tolerates small shifts and exact pixel values but demands edges and texture: the network
# commits to one plausible sharp answer, which looks better and is further from the truth in
# MSE (a sharp edge one pixel off costs more than a blurred one). SSIM, also computed from local
# pixel statistics, agrees with PSNR here; the paper's point is that neither measures what people
# see, hence its ℓ_feat results are judged by eye.
# <!-- END ANSWER -->

# %% [markdown]
# ## What PSNR misses: features and sharpness
# Two numbers for the other half of the paper's finding, on the first scored set
# (`course_lib.metrics`):
# - the feature reconstruction loss (eq. 2) between the output and the HR image under the
#   paper's VGG-16, at relu2_2 (the layer ℓ_feat trains on, so ℓ_feat is favoured there) and at
#   relu3_3 (a layer it never saw); lower is closer;
# - the sharpness ratio: the output's mean difference between neighbouring pixels over the HR
#   image's; 1 has the original's edges, below 1 is blurrier.
#
# Both standard inputs (σ = 0) and the paper's blurred ones (σ = 1, what the ℓ_feat models were
# trained on, while ℓ_pixel was trained on σ = 0): each model is seen on its own degradation and on the
# other's. (`sr8-pixel-blur1` is ℓ_pixel trained on σ = 1 with `sr8-pixel`'s recipe, a control
# that makes the ×8 comparison the paper's, where both losses see the same degradation;
# `benchmarks/RESULTS.md` scores it on four sets.) Look for ℓ_feat's lower PSNR beside its
# lower feature distance and a sharpness ratio closer to 1.

# %%
perceptual_net = loss_network(hparams.SR_PERCEPTUAL_LAYERS, device=device)
set_name, folder = next(iter(scored.items()))
rows = []
for scale in (4, 8):
    methods = {"bicubic": None, "ℓ_pixel": shipped[f"sr{scale}-pixel"], FEAT[scale][0]: shipped[FEAT[scale][1]]}
    for blur in (0.0, 1.0):
        for name, s in evaluate_models(methods, folder, scale, blur=blur, loss_net=perceptual_net).items():
            rows.append(f"| ×{scale} | {blur:g} | {name} | {s['psnr']:.2f} | {s['relu2_2']:.3g} | {s['relu3_3']:.3g} "
                        f"| {s['sharpness_ratio']:.2f} |")
display(Markdown("\n".join([f"| {set_name} | σ | method | PSNR (dB) | relu2_2 distance | relu3_3 distance "
                            "| sharpness ratio |", "|---|---|---|---|---|---|---|"] + rows)))

# %% [markdown]
# ## Pictures: the paper's Fig. 8 and 9 layout
# A crop of a Set5 image at ×4 and at ×8: bicubic, SRCNN, ℓ_pixel, ℓ_feat, and the original
# (standard σ = 0 inputs).

# %%
hr = load_image(data.list_images(next(iter(sets.values())))[0])
pictures, titles = [], []
for scale in (4, 8):
    h, w = hr.shape[-2] // scale * scale, hr.shape[-1] // scale * scale
    lr = degrade(hr[..., :h, :w], scale, blur=0.0)
    crop = (..., slice(h // 4, h // 4 + 96), slice(w // 4, w // 4 + 96))
    for name, model in (("bicubic", None), ("SRCNN", YourSRCNN(shipped[f"srcnn{scale}"])),
                        ("ℓ_pixel", shipped[f"sr{scale}-pixel"]), (FEAT[scale][0], shipped[FEAT[scale][1]])):
        pictures.append(upscale(model, lr, scale)[crop])
        titles.append(f"×{scale} {name}")
    pictures.append(hr[..., :h, :w][crop])
    titles.append("original")
show_images(pictures, titles, ncols=5, size=2.6)
plt.show()

# %% [markdown]
# ## The paper's post-processing: histogram matching
# The paper matches each output's colour histogram to its low-resolution input, which undoes
# small colour shifts of the network. With and without, for ℓ_feat (whose loss compares
# features, which barely constrain exact colours) and ℓ_pixel, at ×4 on the scored sets:

# %%
rows = []
for name in ("sr4-pixel", "sr4-feat"):
    for match in (False, True):
        scores = [evaluate(shipped[name], folder, 4, match=match) for folder in scored.values()]
        rows.append(f"| {name} | {'yes' if match else 'no'} | "
                    + " | ".join(f"{s['psnr']:.2f} / {s['ssim']:.4f}" for s in scores) + " |")
display(Markdown("\n".join(["| model | histogram matched | " + " | ".join(scored) + " |",
                            "|---|---|" + "---|" * len(scored)] + rows)))

# %% [markdown]
# ## Exercise 3: the ℓ_feat objective for super-resolution
# Write `make_sr_objective(loss_net, degrade_fn, tv_weight)`: it returns `objective(model, hr)`
# → (total, parts) for a batch of HR crops: the input is `degrade_fn(hr)`, the output
# ŷ = model(input), and the loss is ℓ_feat at relu2_2 between ŷ and hr (the target activations
# without gradients) plus tv_weight·ℓ_TV(ŷ); parts: `{"content": …, "tv": …}`. Use
# `losses.feature_loss` and `losses.tv_loss`. The network trained next learns with your
# objective and your degradation.

# %%
def make_sr_objective(loss_net, degrade_fn, tv_weight):
    ### BEGIN SOLUTION hint: like notebook 4's objective, with no style term and degrade_fn(hr) as the input
    def objective(model, hr):
        with torch.no_grad():
            target = loss_net(hr, ("relu2_2",))["relu2_2"]
        output = model(degrade_fn(hr))
        parts = {"content": losses.feature_loss(loss_net(output, ("relu2_2",))["relu2_2"], target),
                 "tv": tv_weight * losses.tv_loss(output)}
        return sum(parts.values()), parts
    return objective
    ### END SOLUTION


# %%
loss_net = loss_network(("relu2_2",), device=device)
make_sr_objective = check("make_sr_objective", make_sr_objective, exercise=exercises.sr_objective_exercise(loss_net))

# %% [markdown]
# ## Exercise 4: the super-resolution network
# The paper's network for ×f (its supplementary Table 2) keeps the image small and enlarges
# only at the end: a 9×9 conv to 64 channels, four residual blocks of 64 channels, then
# log2(f) stages that each double the size (two at ×4, three at ×8), and a 9×9 conv back to
# 3 channels. Every conv but the last is followed by **batch** norm and a ReLU (Question 2 says
# why not notebook 4's instance norm). The course makes two changes, both in the table above:
# each doubling is nearest-neighbour upsampling followed by a 3×3 conv (as notebook 4's
# u-layers, instead of the paper's stride-½ convs), and there is no tanh at the end: the last
# conv's output is *added* to the bicubic enlargement of the input, so the network only draws
# the missing detail.
#
# Write `sr_layers(scale, channels, blocks)`: the network as a `torch.nn.Sequential`, with
# `conv(c_in, c_out, k)` (reflection padding + conv) and `ResidualBlock(c, "batch")` from
# notebook 4. Then **start the last conv at zero** (`torch.nn.init.zeros_` on its weight and
# bias): the untrained network then adds nothing to bicubic, and training starts from bicubic
# interpolation, not from noise. The check copies the course's weights into your layers and
# compares outputs; the training cell below runs your layers.

# %%
def sr_layers(scale: int = 4, channels: int = 64, blocks: int = 4) -> torch.nn.Sequential:
    ### BEGIN SOLUTION hint: the small image is processed first and enlarged only at the end; each doubling is an upsampling layer followed by its own norm and ReLU, and the last conv has neither || `[conv(3, channels, 9), torch.nn.BatchNorm2d(channels), torch.nn.ReLU()]`, then `ResidualBlock(channels, "batch")` × blocks, then log2(scale) (`scale.bit_length() - 1`) × `[torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), conv(channels, channels, 3)), BatchNorm2d, ReLU]`, then `last = conv(channels, 3, 9)` with `torch.nn.init.zeros_(last[1].weight)` and the same for its bias
    def block(layer):
        return [layer, torch.nn.BatchNorm2d(channels), torch.nn.ReLU()]

    def up():
        return torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"), conv(channels, channels, 3))
    last = conv(channels, 3, 9)
    torch.nn.init.zeros_(last[1].weight)
    torch.nn.init.zeros_(last[1].bias)
    stages = scale.bit_length() - 1  # log2 of a power of two
    return torch.nn.Sequential(*block(conv(3, channels, 9)), *[ResidualBlock(channels, "batch") for _ in range(blocks)],
                               *[m for _ in range(stages) for m in block(up())], last)
    ### END SOLUTION


# %%
sr_layers = check("sr_layers", sr_layers, exercise=exercises.sr_network_exercise())

# %% [markdown]
# ## Training your own ℓ_feat network
# Your ×4 network trained with your objective on your degradation (σ = 1 blur, as in the paper),
# by the loop of notebook 4 (the course's `SuperResolutionNet` runs your layers and adds the
# bicubic enlargement). `fast` mode trains a few steps to show the mechanics; the shipped
# models above are the long runs. The run's folder is named by its settings and by your code
# (your objective, your `degrade` and the values they use): change any of them and it trains anew.
#
# The learning rate *warms up* over the first 100 steps (rising linearly to 1e-3; `fast` mode's
# short run ends inside the warm-up, at a fraction of that rate). The course's
# network adds its output to the bicubic enlargement and starts as exactly bicubic (its last
# layer is zero); Adam's first steps at full rate move every weight by about 1e-3 at once, which
# wrecks that good start (the loss jumps ~400× at step 2 and the PSNR falls to ~24 dB), and the
# network then spends hundreds of steps recovering. With the warm-up it stays near bicubic from
# the start.

# %%
hp = hparams.in_mode(hparams.SUPER_RESOLUTION.course, preset, scale=4, loss="feat", warmup=100)
objective = make_sr_objective(loss_net, lambda hr: degrade(hr, 4, 1.0), 1e-6)
network = build("sr", scale=4)
network.layers = sr_layers(scale=4)
run = tasks.super_resolution(data.images("train"), hp, objective=objective, model=network, cache=True)
history, mine = run.train(device=device), run.model
loss_curves({"your ℓ_feat network": history}, ("total", "content", "tv"), title="training ×4 with your ℓ_feat",
            ylabel="weighted loss")
plt.show()

# %% [markdown]
# Scored on the training degradation (σ = 1 blur, made by your `degrade`; bicubic gets the same
# inputs), so these numbers are *not* the standard benchmark numbers of the table above:

# %%
rows = []
for name, model in (("bicubic, blurred inputs", None), ("your ℓ_feat network", mine.eval())):
    scores = [evaluate(model, folder, 4, blur=1.0, degrade_fn=degrade) for folder in scored.values()]
    rows.append(f"| {name} | " + " | ".join(f"{s['psnr']:.2f} / {s['ssim']:.4f}" for s in scores) + " |")
display(Markdown("\n".join(["| ×4, σ = 1 blur | " + " | ".join(scored) + " |",
                            "|---|" + "---|" * len(scored)] + rows)))

# %% [markdown]
# ### Question 2: why batch norm here, when notebook 4 switched to instance norm?
#
# <!-- BEGIN ANSWER -->
# Instance norm subtracts each image's per-channel mean and divides by its standard deviation:
# after the first layer, a dark and a bright copy of the same image look the same to the rest
# of the network. For style transfer that is welcome (the painting decides the tones). For
# super-resolution the output must have the input's brightness and contrast, which instance
# norm has erased, so the network would have to guess them: the outputs come out with the
# average brightness of the training data. Batch norm normalises with statistics over the whole
# batch (running averages at test time), so each image keeps its own offset. The course's test
# `test_super_resolution_output_follows_input_brightness` checks this for the shipped models.
# <!-- END ANSWER -->

# %% [markdown]
# ### Question 3: what does the loss network's training give ℓ_feat?
# The course's first ℓ_feat models were trained with a random loss network (their scores stay in
# `benchmarks/RESULTS.md`: at ×8 no sharper than bicubic, and no nearer the original in
# features); `sr4-feat` and `sr8-feat` with the ImageNet one. What changes with the ImageNet
# weights, and why is the PSNR of ℓ_feat still below ℓ_pixel's?
#
# <!-- BEGIN ANSWER -->
# With the ImageNet weights, relu2_2 responds to edges, corners and textures that matter for
# recognition; matching them forces the network to draw crisp, plausible detail (the paper's
# Fig. 8/9; in the table above, the ℓ_feat models' sharpness ratios are much nearer 1 than the
# ℓ_pixel models' at both scales, and on Set5 their mean relu3_3 distance is lower too, a layer
# they never trained on; at ×8 that gap is small, and compared image by image it is within the
# spread between images, on Set5 and on BSD100 alike: `benchmarks/RESULTS.md`, *Is the ×8
# relu3_3 gap more than noise?*), at the cost of exact pixel values, and the loss does not fix
# colours (hence the histogram matching). Random features are a weaker, arbitrary constraint: part of the signal
# is lost and the results are mostly smooth or noisy. In either case the ℓ_feat network is not
# trained to minimise the MSE, so its PSNR stays below ℓ_pixel's (in the paper's Table 2 as in
# ours) while it looks sharper.
# <!-- END ANSWER -->

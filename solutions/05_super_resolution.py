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
# f_W, trained once, either with the per-pixel loss ℓ_pixel or with the feature reconstruction
# loss ℓ_feat at relu2_2. Scored by PSNR/SSIM, the per-pixel network wins; looked at, the
# feature-loss network has the sharper edges. That contrast is the lesson.
#
# **Learning goals**
# - build the paper's training pairs (blur, then bicubic downsampling);
# - measure the bicubic baseline exactly as the literature does (PSNR/SSIM on Y);
# - train with ℓ_pixel and with ℓ_feat and compare numbers and pictures.

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
import numpy as np
import torch
from IPython.display import Markdown, display
from skimage.metrics import peak_signal_noise_ratio

from course_lib import config, data
from course_lib.exercises import check
from course_lib.images import load_image, resize, show_images
from course_lib.networks import build
from course_lib.objectives import SR_WEIGHTS, PerceptualObjective
from course_lib.sr import Degradation, degrade, evaluate, upscale
from course_lib.train import TrainConfig, run_folder, train
from course_lib.vgg import VGGFeatures

device, preset = course_lib.setup()

# %% [markdown]
# ## The degradation
# The paper makes each low-resolution input x from a high-resolution crop y by a Gaussian
# blur (σ = 1.0), then bicubic downsampling by the factor. The network must undo both.

# %%
photo = load_image(data.images("content")[0], size=256)[..., :128, :128]
shown = {"HR y": photo}
for scale in (4, 8):
    low = degrade(photo, scale)
    shown[f"x, ×{scale} ({low.shape[-1]}²)"] = resize(low, tuple(photo.shape[-2:]), "nearest")
show_images(list(shown.values()), list(shown), size=3)
plt.show()

# %% [markdown]
# ## Exercise: PSNR
# The peak signal-to-noise ratio of an image a against a reference b with values in
# [0, 255] is $10\log_{10}(255^2 / \mathrm{MSE}(a, b))$ dB. Papers compute it on the luma
# channel Y only, after cropping a border as wide as the scale factor.
#
# **Exercise 1.** Implement it for two arrays of the same shape (float, range 0–255).

# %%
def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION hint: torch.log10 of 255 squared over the mean squared error
    return 10 * torch.log10(255.0 ** 2 / ((a - b) ** 2).mean())
    ### END SOLUTION


# %%
g = torch.Generator().manual_seed(0)
a, b = torch.rand(20, 20, generator=g) * 255, torch.rand(20, 20, generator=g) * 255
psnr = check("psnr", psnr, lambda x, y: torch.tensor(peak_signal_noise_ratio(
    y.numpy().astype(np.float64), x.numpy().astype(np.float64), data_range=255)), a, b, threshold=1e-4)

# %% [markdown]
# ## The bicubic baseline, as in the paper's table
# `course_lib.sr.evaluate` applies the standard protocol (written out in
# `benchmarks/RESULTS.md`) with scikit-image's PSNR and SSIM. Its bicubic ×4 on Set5 should
# match the paper's 28.43 dB / 0.8114. (Without the benchmark sets, the notebook falls back to
# sample photos and says so: those numbers are not comparable with the paper.)

# %%
try:
    sets = data.sr_sets()
except (FileNotFoundError, data.DownloadError) as err:
    print(f"Benchmark sets unavailable ({err}); using sample photos, NOT comparable with the paper.")
    sets = {"samples": data.fallback_images("content")[0].parent}
baseline = {name: evaluate(None, folder, scale=4) for name, folder in sets.items()}
paper = {"Set5": "28.43 / 0.8114"}
rows = ["| set | images | bicubic ×4 here (PSNR / SSIM) | paper |", "|---|---|---|---|"]
rows += [f"| {name} | {r['images']} | {r['psnr']:.2f} / {r['ssim']:.4f} | {paper.get(name, 'other images')} |"
         for name, r in baseline.items()]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Training with ℓ_pixel and with ℓ_feat
# Two ×4 networks (residual blocks of 64 channels, then two ×2 upsampling stages), trained by
# the same loop as the style network on 288×288 crops in `full` mode (smaller in `fast` mode,
# where a few steps only show the mechanics). The feature loss needs the loss network; with
# random weights it is *not* the paper's perceptual loss, and the notebook says so below.

# %%
loss_net = VGGFeatures(("relu2_2",), weights=config.vgg_weights()).to(device)
crops = data.CropDataset(data.images("train"), crop=preset.sr_crop, cache=True)
settings = TrainConfig(steps=preset.sr_steps, batch_size=preset.batch_size, log_every=1,
                       checkpoint_every=max(10, preset.sr_steps // 20), sample_every=10**9,
                       num_workers=0 if config.mode() == "fast" else 4)
models, histories = {}, {}
for loss in ("pixel", "feat"):
    torch.manual_seed(0)
    models[loss] = build("sr", scale=4)
    objective = PerceptualObjective(loss_net if loss == "feat" else None, weights=SR_WEIGHTS[loss],
                                    input_transform=Degradation(4))
    run_dir = run_folder(config.cache_dir() / "runs", f"sr4-{loss}", models[loss], objective, crops, settings)
    histories[loss] = train(models[loss], objective, crops, run_dir, settings, device=device)

# %% [markdown]
# The training losses (each network's own objective):

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, (loss, history) in zip(axes, histories.items()):
    ax.semilogy([h["step"] for h in history], [h["total"] for h in history])
    ax.set(title=f"ℓ_{loss} + TV", xlabel="step", ylabel="training loss")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Numbers
# All methods get the same inputs here: the paper's blurred and downsampled images. (`fast`
# mode scores the first set only.) The paper post-processes its outputs by matching their
# colour histograms to the LR input; the last row shows what that step does to ℓ_feat's scores.

# %%
scored = sets if config.mode() == "full" else dict([next(iter(sets.items()))])
methods = {"bicubic": (None, False), "ℓ_pixel": (models["pixel"].eval(), False),
           "ℓ_feat": (models["feat"].eval(), False), "ℓ_feat + histogram matching": (models["feat"], True)}
rows = ["| method | " + " | ".join(scored) + " |", "|---|" + "---|" * len(scored)]
for name, (model, match) in methods.items():
    scores = [evaluate(model, folder, scale=4, blur=1.0, match=match) for folder in scored.values()]
    rows.append(f"| {name} | " + " | ".join(f"{s['psnr']:.2f} / {s['ssim']:.4f}" for s in scores) + " |")
display(Markdown("\n".join(rows)))
if loss_net.weights_source.startswith("random"):
    print("Caveat: the loss network has RANDOM weights, so ℓ_feat here is not the paper's "
          "perceptual loss; its pictures and numbers show the mechanics only.")

# %% [markdown]
# ## Pictures
# A crop of one test image: in the paper, ℓ_feat gives sharper edges and finer detail at a
# lower PSNR than ℓ_pixel, whose output is the blurry average of the plausible answers.

# %%
hr = load_image(data.list_images(next(iter(sets.values())))[0])
hr = hr[..., : hr.shape[-2] // 4 * 4, : hr.shape[-1] // 4 * 4]
lr = degrade(hr, 4)
outputs = {"bicubic": upscale(None, lr, 4), "ℓ_pixel": upscale(models["pixel"], lr),
           "ℓ_feat": upscale(models["feat"], lr), "HR": hr}
crop = (slice(None), slice(None), slice(hr.shape[-2] // 4, hr.shape[-2] // 4 + 96),
        slice(hr.shape[-1] // 4, hr.shape[-1] // 4 + 96))
show_images([o[crop].clamp(0, 1) for o in outputs.values()], list(outputs), size=3)
plt.show()

# %% [markdown]
# ×8 works the same way (`build("sr", scale=8)`: three upsampling stages), and from the command
# line: `python -m course_lib train-sr --scale 8 --loss feat --data DIR --out runs/sr8`, then
# `python -m course_lib eval-sr --model runs/sr8/checkpoint.pt --scale 8 --sets DIR/Set5`.

"""Colour preservation (Gatys et al. 2017, §5): what each method keeps, exactly."""

import torch

from course_lib import color


def images(seed):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, 24, 32, generator=g)
    return base * torch.tensor([0.9, 0.5, 0.2]).view(1, 3, 1, 1) + 0.05  # a coloured cast, away from 0 and 1


def test_yiq_round_trip():
    x = torch.rand(1, 3, 8, 8)
    assert torch.allclose(color.from_yiq(color.to_yiq(x)), x, atol=1e-6)


def test_luminance_transfer_keeps_the_results_luma_and_the_contents_chroma():
    stylized, content = images(0), images(1) * 0.8 + 0.1
    out = color.luminance_transfer(stylized, content)
    inside = ((out > 0) & (out < 1)).all(dim=1, keepdim=True)  # where no channel was clamped to [0, 1]
    assert inside.float().mean() > 0.8
    for got, want in ((color.to_yiq(out)[:, :1], color.to_yiq(stylized)[:, :1]),
                      (color.to_yiq(out)[:, 1:], color.to_yiq(content)[:, 1:])):
        assert torch.allclose(got * inside, want * inside, atol=1e-5)


def test_histogram_matching_gives_the_references_mean_and_covariance():
    image, reference = images(2), torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(3)) * 0.5 + 0.25
    matched = color.match_colors(image, reference)
    assert color.color_distance(matched, reference) < 1e-3 < color.color_distance(image, reference)


def test_stylize_keeps_the_photos_colours_when_asked(tmp_path, capsys):
    from helpers import run_cli

    from course_lib.architectures import build
    from course_lib.images import load_image, save_image
    from course_lib.runs import TrainConfig

    with torch.random.fork_rng():  # an untrained model whose colours are fixed, whatever ran before
        torch.manual_seed(0)
        model = build("style", width=8)
    torch.save({"model": model.state_dict(), "model_config": model.config, "train_config": vars(TrainConfig())},
               tmp_path / "m.pt")
    photo = images(4)
    save_image(photo, tmp_path / "p.png")
    for mode in ("luminance", "histogram"):
        code, _, err = run_cli(capsys, "stylize", "--model", tmp_path / "m.pt", "--input", tmp_path / "p.png",
                               "--output", tmp_path / f"{mode}.png", "--preserve-color", mode)
        assert code == 0, err
    plain = run_cli(capsys, "stylize", "--model", tmp_path / "m.pt", "--input", tmp_path / "p.png",
                    "--output", tmp_path / "plain.png")
    assert plain[0] == 0
    photo = load_image(tmp_path / "p.png")
    out = {m: load_image(tmp_path / f"{m}.png") for m in ("plain", "luminance", "histogram")}
    # luminance keeps the photo's chroma (I, Q) pixel by pixel, up to clamping; its luma is the
    # stylised one's, so its colour statistics may still be far from the photo's
    photo_chroma = color.to_yiq(photo)[:, 1:]
    chroma = {m: float((color.to_yiq(x)[:, 1:] - photo_chroma).abs().mean()) for m, x in out.items()}
    assert chroma["luminance"] < 0.2 * chroma["plain"], chroma
    # histogram gives the photo's colour statistics (mean and covariance)
    assert color.color_distance(out["histogram"], photo) < 0.1 * color.color_distance(out["plain"], photo)

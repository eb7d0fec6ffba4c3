"""The course's plots: loss curves with labelled axes and a title, on a log scale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def loss_curves(histories: Mapping[str, Sequence[Mapping[str, float]]], keys: Iterable[str] = ("total",),
                title: str = "", x: str = "step", ylabel: str = "loss", ax=None,
                labels: Mapping[str, str] | None = None):
    """Plot ``key`` against ``x`` for each history (a list of dicts, as ``gatys.stylize`` and
    ``train.train`` return) on a log scale; one line per (history, key), named by ``labels``
    (key → label) where given. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    keys = list(keys)
    for name, history in histories.items():
        for key in keys:
            points = [(h[x], max(h[key], 1e-12)) for h in history if key in h]  # a zero on a log scale
            if points:
                label = name if len(keys) == 1 else (key if len(histories) == 1 else f"{name}: {key}")
                label = (labels or {}).get(key, label)
                ax.plot(*zip(*points), label=label)
    ax.set(yscale="log", xlabel=x, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return ax

"""Learning curves: moving-average reward over the stream, ours and VW's, one panel per policy."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"egreedy-0.2": "ε-greedy 0.2", "egreedy-0.05": "ε-greedy 0.05",
          "softmax": "softmax λ=30", "squarecb": "SquareCB"}


def draw(report: dict, stream: str, path: str) -> None:
    entry = report["streams"][stream]
    curve = report["curves"][stream]
    policies = list(curve["policies"])
    columns = 2 if len(policies) > 1 else 1
    rows = (len(policies) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(9, 2.6 * rows + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    x = curve["x"]
    reference = entry["reference"]["name"]
    for index, policy in enumerate(policies):
        ax = axes[index // columns][index % columns]
        ax.plot(x, curve["reference"], color="0.6", linestyle=":", linewidth=1.5, label=reference)
        # Ours wide underneath, VW dashed on top: where they coincide both stay visible.
        ax.plot(x, curve["policies"][policy]["ours"], color="tab:blue", linewidth=2.6, alpha=0.75,
                label="personalizerd")
        ax.plot(x, curve["policies"][policy]["vw"], color="tab:orange", linestyle="--", linewidth=1.3,
                label="Vowpal Wabbit")
        row = entry["policies"][policy]
        ax.set_title(f"{LABELS.get(policy, policy)}: last 20% ours {row['ours']['last20']['mean']:.3f}, "
                     f"VW {row['vw']['last20']['mean']:.3f}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for index in range(len(policies), rows * columns):
        axes[index // columns][index % columns].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("event", fontsize=8)
    for row_axes in axes:
        row_axes[0].set_ylabel(f"reward, moving avg ({curve['window']})", fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    seeds = len(report["seeds"])
    fig.suptitle(f"{stream} ({entry['interactions']}, {entry['events']} events, {entry['actions']} actions, "
                 f"mean of {seeds} seeds)", fontsize=10)
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=72)
    plt.close(fig)

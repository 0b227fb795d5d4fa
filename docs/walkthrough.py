# %% [markdown]
# # SENet Explorer from Python
#
# A walk-through of `senet_viz`'s Python interface on the shipped SE-ResNet-20, offline. It is a
# plain Python file in the percent-cell format: Jupyter (with jupytext), VS Code and PyCharm open
# it as a notebook; `python docs/walkthrough.py` runs it top to bottom, and the test suite does so
# (`tests/test_walkthrough.py`). It runs from any folder, against a checkout or an installed
# `senet-viz`; figures go to `$WALKTHROUGH_OUT` (default: a temporary folder).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import senet_viz
from senet_viz.gallery import CIFAR_DIR as GALLERY  # the shipped gallery, wherever senet_viz is installed

OUT = Path(os.environ.get("WALKTHROUGH_OUT") or tempfile.mkdtemp(prefix="walkthrough-"))
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. Load a model
# `load_model()` with no name is the shipped SE-ResNet-20 trained on CIFAR-10 by this project.
# Its SE blocks are named as in the paper: `SE_<stage>_<block>`.

# %%
model = senet_viz.load_model()
print(model.label, "-", model.weights)
for b in model.blocks[:3]:
    print(f"{b.name}: C = {b.channels}, hidden units = {b.hidden}, at {b.path}")
print(f"... {len(model.blocks)} SE blocks in all")

# %% [markdown]
# ## 2. z and s for one picture
# `capture` runs the network once and keeps, for every SE block, the squeeze descriptor z
# (Eq. 2: the mean of U over H x W) and the excitation s (Eq. 3), as (N, C) arrays.

# %%
picture = Image.open(sorted((GALLERY / "cat").glob("*.jpg"))[0]).convert("RGB")
cap = senet_viz.capture(model, [picture])
print("prediction:", ", ".join(f"{name} {p:.1%}" for name, p in cap.top(3)[0]))
z, s = cap.squeeze["SE_4_3"][0], cap.excitation["SE_4_3"][0]
print("z of SE_4_3, first 6 channels:", np.round(z[:6], 4))
print("s of SE_4_3, first 6 channels:", np.round(s[:6], 4))
print(f"s ranges from {s.min():.3f} to {s.max():.3f} over its {len(s)} channels")

# %% [markdown]
# With `maps=[...]` the capture also keeps U and the block's output s * U (Eq. 4), so the
# scale can be checked by hand:

# %%
cap = senet_viz.capture(model, [picture], maps=["SE_3_1"])
u, out = cap.inputs["SE_3_1"][0], cap.outputs["SE_3_1"][0]
print("U:", u.shape, "| max |s * U - output|:",
      float(np.abs(u * cap.excitation["SE_3_1"][0][:, None, None] - out).max()))

# %% [markdown]
# ## 3. Per-class statistics and the excitation figure
# `class_statistics` takes a folder with one sub-folder per class (here the offline gallery:
# 10 test pictures of each CIFAR-10 class), an archive, or a `DataLoader`.

# %%
stats = senet_viz.class_statistics(model, GALLERY)
print(f"{stats.total} pictures, {len(stats.class_names)} classes")
for row in stats.summary()[-3:]:
    print(f"{row['block']}: class specificity {row['specificity']:.3f}, mean s {row['mean_s']:.3f}")
figure = senet_viz.excitation_figure(stats, classes=["airplane", "cat", "ship", "truck"])
figure.savefig(OUT / "excitation.png", dpi=110)
print("excitation figure ->", OUT / "excitation.png")

# %% [markdown]
# The same from a `DataLoader` of preprocessed pictures (any (x, y) batches will do):

# %%
classes = sorted(d.name for d in GALLERY.iterdir() if d.is_dir())
xs, ys = [], []
for k, name in enumerate(classes):
    for path in sorted((GALLERY / name).glob("*.jpg"))[:2]:
        xs.append(model.preprocess(Image.open(path).convert("RGB")))
        ys.append(k)
loader = torch.utils.data.DataLoader(list(zip(xs, ys)), batch_size=8)
small = senet_viz.class_statistics(model, loader, class_names=classes)
print(f"from a DataLoader: {small.total} pictures, s of SE_2_1 for 'cat' averages "
      f"{small.excitation_mean('SE_2_1')[classes.index('cat')].mean():.3f}")

# %% [markdown]
# ## 4. A network of one's own
# An SE-ResNet written by hand, as tutorials write it: its SE blocks are found by what they do
# (they pool, excite through fc -> ReLU -> fc -> sigmoid, and multiply their input).
# A module form that is not recognised is registered with `senet_viz.register_se_module`.

# %%
from torch import nn  # noqa: E402


class SELayer(nn.Module):
    def __init__(self, channel, reduction=4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(channel // reduction, channel, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        return x * self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)


net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), SELayer(16), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
                    SELayer(32), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))
own = senet_viz.wrap(net, name="tiny", class_names=["cat", "not cat"], input_size=(3, 32, 32))
print([(b.name, b.path, b.channels) for b in own.blocks])
print("s of SE_3_1 (random weights):", np.round(senet_viz.capture(own, [picture]).excitation["SE_3_1"][0][:4], 3))

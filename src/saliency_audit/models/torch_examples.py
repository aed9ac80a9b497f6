"""A small PyTorch classifier, as a researcher's own model would be given to the audit.

``small_cnn`` is a factory (``models.classifiers.NAME.torch.factory:
saliency_audit.models.torch_examples:small_cnn``); :func:`train` fits it on a uint8 image
stack, seeded, on the CPU, in seconds at 64 px. The tests train it on the synthetic data and
audit it end to end; it also shows the shape of what the workflow accepts: an ``nn.Module``
taking ``(N, C, S, S)`` normalised images and returning ``(N, 1)`` positive logits, ``nn.ReLU``
modules (guided backpropagation guides them), a named convolutional stage for Grad-CAM
(``features.7``) and named blocks for randomization (``head``, ``features.6``, ``features.3``,
``features.0``).
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

#: the input normalisation :func:`train` uses: [0, 1] pixels -> [-1, 1]
MEAN, STD = 0.5, 0.5


def small_cnn(channels: int = 1, width: int = 8):
    """Three conv-ReLU stages (the last two strided), global average pool, one logit."""
    from torch import nn

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(channels, width, 3, padding=1),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.Conv2d(width, 2 * width, 3, stride=2, padding=1),
                nn.BatchNorm2d(2 * width),
                nn.ReLU(inplace=True),
                nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
            )
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(2 * width, 1)

        def forward(self, x):
            return self.head(self.pool(self.features(x)).flatten(1))

    return SmallCNN()


def train(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 15,
    batch_size: int = 8,
    learning_rate: float = 3e-3,
    seed: int = 0,
    channels: int = 1,
):
    """A :func:`small_cnn` fitted to uint8 ``images`` ``(N, S, S)`` and 0/1 ``labels``
    (binary cross-entropy from the logit, Adam, seeded order), in eval mode."""
    import torch

    torch.manual_seed(seed)
    model = small_cnn(channels)
    x = torch.as_tensor((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None]
    if channels == 3:
        x = x.repeat(1, 3, 1, 1)
    y = torch.as_tensor(np.asarray(labels, np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = torch.as_tensor(order[start : start + batch_size])
            opt.zero_grad()
            loss = loss_fn(model(x[idx]).reshape(-1), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        log.info("epoch %d/%d: loss %.4f", epoch, epochs, total / len(x))
    return model.eval()

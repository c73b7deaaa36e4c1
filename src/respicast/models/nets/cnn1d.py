from __future__ import annotations

import torch
from torch import nn


class CNN1DNet(nn.Module):
    """1-D convolutions over time, then global average + last-step features."""

    uses_past = True
    uses_future = True

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        channels: int = 32,
        kernel_size: int = 5,
        num_layers: int = 2,
        dropout: float = 0.1,
    ):
        super().__init__()
        layers, c = [], in_channels
        for _ in range(num_layers):
            layers += [
                nn.Conv1d(c, channels, kernel_size, padding=kernel_size // 2),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
            c = channels
        self.conv = nn.Sequential(*layers)
        self.out_dim = 2 * channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2))  # (B, C, L)
        # the mean sees the whole window, the last step keeps the most recent days sharp
        return torch.cat([h.mean(dim=2), h[:, :, -1]], dim=1)

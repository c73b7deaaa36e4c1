from __future__ import annotations

import torch
from torch import nn

from respicast.models.nets.decoder import FUTURE_INPUTS, StepDecoder, future_mode


class CNN1DNet(nn.Module):
    """1-D convolutions over time, then global average + last-step features (decoder mode: those
    features, per target day, through a step decoder)."""

    future_inputs = FUTURE_INPUTS

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        channels: int = 32,
        kernel_size: int = 5,
        num_layers: int = 2,
        dropout: float = 0.1,
        future_input: str = "head",
        horizon: int = 1,
        n_future: int = 0,
    ):
        super().__init__()
        self.future_input = future_mode(self, future_input, n_future)
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
        if self.future_input == "decoder":
            self.decoder = StepDecoder(self.out_dim, horizon, n_future, self.out_dim, dropout)

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """[B, out_dim], or [B, H, out_dim] in decoder mode."""
        h = self.conv(x.transpose(1, 2))  # (B, C, L)
        # the mean sees the whole window, the last step keeps the most recent days sharp
        summary = torch.cat([h.mean(dim=2), h[:, :, -1]], dim=1)
        if self.future_input == "decoder":
            return self.decoder(summary, x_future)
        return summary

from __future__ import annotations

import torch
from torch import nn


class CNNLSTMNet(nn.Module):
    """Convolutions extract local patterns per day; an LSTM reads them in order."""

    uses_past = True
    uses_future = True

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        channels: int = 32,
        kernel_size: int = 3,
        hidden_size: int = 64,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel_size, padding=kernel_size // 2),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.lstm = nn.LSTM(channels, hidden_size, batch_first=True)
        self.out_dim = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        out, _ = self.lstm(h)
        return out[:, -1]

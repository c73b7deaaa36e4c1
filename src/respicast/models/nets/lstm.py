from __future__ import annotations

import torch
from torch import nn


class LSTMNet(nn.Module):
    """Stacked LSTM; the last hidden state summarises the lookback."""

    uses_past = True
    uses_future = True

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.lstm = nn.LSTM(
            in_channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_dim = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return out[:, -1]

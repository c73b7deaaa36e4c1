from __future__ import annotations

import torch
from torch import nn

from respicast.models.nets.decoder import FUTURE_INPUTS, LSTMDecoder, future_mode


class CNNLSTMNet(nn.Module):
    """Convolutions extract local patterns per day; an LSTM reads them in order (and in decoder
    mode hands its final state to an LSTM over the target days)."""

    future_inputs = FUTURE_INPUTS

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        channels: int = 32,
        kernel_size: int = 3,
        hidden_size: int = 64,
        dropout: float = 0.1,
        future_input: str = "head",
        horizon: int = 1,
        n_future: int = 0,
    ):
        super().__init__()
        self.future_input = future_mode(self, future_input, n_future)
        self.conv = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel_size, padding=kernel_size // 2),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.lstm = nn.LSTM(channels, hidden_size, batch_first=True)
        self.out_dim = hidden_size
        if self.future_input == "decoder":
            self.decoder = LSTMDecoder(hidden_size, 1, horizon, n_future, dropout)

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """[B, out_dim], or [B, H, out_dim] in decoder mode."""
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        out, state = self.lstm(h)
        if self.future_input == "decoder":
            return self.decoder(state, x_future)
        return out[:, -1]

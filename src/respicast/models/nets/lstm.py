from __future__ import annotations

import torch
from torch import nn

from respicast.models.nets.decoder import FUTURE_INPUTS, LSTMDecoder, future_mode


class LSTMNet(nn.Module):
    """Stacked LSTM; the last hidden state summarises the lookback (head mode), or starts an LSTM
    decoder over the target days (decoder mode)."""

    future_inputs = FUTURE_INPUTS

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        dropout: float = 0.1,
        future_input: str = "head",
        horizon: int = 1,
        n_future: int = 0,
    ):
        super().__init__()
        self.future_input = future_mode(self, future_input, n_future)
        self.lstm = nn.LSTM(
            in_channels,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_dim = hidden_size
        if self.future_input == "decoder":
            self.decoder = LSTMDecoder(hidden_size, num_layers, horizon, n_future, dropout)

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """[B, out_dim], or [B, H, out_dim] in decoder mode."""
        out, state = self.lstm(x)
        if self.future_input == "decoder":
            return self.decoder(state, x_future)
        return out[:, -1]

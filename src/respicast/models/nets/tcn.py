from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from respicast.models.nets.decoder import FUTURE_INPUTS, StepDecoder, future_mode


def receptive_field(kernel_size: int, num_blocks: int) -> int:
    """Two causal convolutions per block, dilation 2**b: 1 + 2·(k−1)·(2**n − 1)."""
    return 1 + 2 * (kernel_size - 1) * (2**num_blocks - 1)


def blocks_to_cover(lookback: int, kernel_size: int) -> int:
    """Fewest dilated blocks whose receptive field covers the whole lookback."""
    return max(1, math.ceil(math.log2((lookback - 1) / (2 * (kernel_size - 1)) + 1)))


class CausalBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation  # left padding only: output t sees inputs ≤ t
        self.conv1 = weight_norm(nn.Conv1d(c_in, c_out, kernel_size, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(c_out, c_out, kernel_size, dilation=dilation))
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.conv1(nn.functional.pad(x, (self.pad, 0)))))
        h = self.drop(torch.relu(self.conv2(nn.functional.pad(h, (self.pad, 0)))))
        return torch.relu(h + self.skip(x))


class TCNNet(nn.Module):
    """Causal dilated convolutions; the number of blocks is computed from the lookback. The last
    step summarises the lookback (decoder mode: through a step decoder per target day)."""

    future_inputs = FUTURE_INPUTS

    def __init__(
        self,
        in_channels: int,
        lookback: int,
        channels: int = 32,
        kernel_size: int = 3,
        dropout: float = 0.1,
        future_input: str = "head",
        horizon: int = 1,
        n_future: int = 0,
    ):
        super().__init__()
        self.future_input = future_mode(self, future_input, n_future)
        n = blocks_to_cover(lookback, kernel_size)
        self.receptive_field = receptive_field(kernel_size, n)
        self.blocks = nn.Sequential(
            *[
                CausalBlock(
                    in_channels if b == 0 else channels, channels, kernel_size, 2**b, dropout
                )
                for b in range(n)
            ]
        )
        self.out_dim = channels
        if self.future_input == "decoder":
            self.decoder = StepDecoder(channels, horizon, n_future, channels, dropout)

    def forward(self, x: torch.Tensor, x_future: torch.Tensor | None = None) -> torch.Tensor:
        """[B, out_dim], or [B, H, out_dim] in decoder mode."""
        summary = self.blocks(x.transpose(1, 2))[:, :, -1]
        if self.future_input == "decoder":
            return self.decoder(summary, x_future)
        return summary

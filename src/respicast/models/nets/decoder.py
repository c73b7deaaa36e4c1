"""How a net takes the known-future covariates (the target days' calendar): its declared modes.

- ``none``: the data have no known-future covariates (n_future = 0);
- ``head``: the net summarises the lookback as one vector [B, out_dim]; ForecastModule's head
  reads the target days' covariates flattened beside it;
- ``decoder``: the net returns one vector per target day [B, H, out_dim], built from its summary,
  a learned embedding of the lead day and that day's covariates; the head is shared across days.

A net declares the modes it can run in as a class attribute ``future_inputs``; ``future_mode``
checks a request against it.
"""

from __future__ import annotations

import torch
from torch import nn

FUTURE_INPUTS = ("none", "head", "decoder")
EMBED_DIM = 8  # lead-day embedding width: 7-30 lead days need few dimensions


def future_mode(net, requested: str, n_future: int = 0) -> str:
    """``requested`` when the net (class or instance) declares it and it fits the data."""
    cls = net if isinstance(net, type) else type(net)
    declared = getattr(cls, "future_inputs", None)
    if not isinstance(declared, tuple) or not set(declared) <= set(FUTURE_INPUTS):
        raise TypeError(
            f"{cls.__name__} must declare future_inputs, a tuple of modes among {FUTURE_INPUTS}"
        )
    if requested not in declared:
        raise ValueError(
            f"model.net.future_input={requested!r}: {cls.__name__} takes the known-future "
            f"covariates as one of {declared}"
        )
    if n_future and requested == "none":
        raise ValueError(
            f"model.net.future_input='none', but the data have {n_future} known-future "
            f"covariates: choose one of {tuple(m for m in declared if m != 'none')}"
        )
    return requested


class HorizonEmbedding(nn.Module):
    """A learned vector per lead day (h = 1..H), the same for every sample."""

    def __init__(self, horizon: int, dim: int = EMBED_DIM):
        super().__init__()
        self.table = nn.Embedding(horizon, dim)

    def forward(self, batch_size: int) -> torch.Tensor:
        """[B, H, dim]."""
        return self.table.weight[None].expand(batch_size, -1, -1)


def _day_inputs(
    embed: HorizonEmbedding, batch_size: int, x_future: torch.Tensor | None
) -> torch.Tensor:
    """[B, H, dim + n_future]: each target day's lead embedding and known-future covariates."""
    e = embed(batch_size)
    return e if x_future is None or x_future.shape[-1] == 0 else torch.cat([e, x_future], dim=-1)


class StepDecoder(nn.Module):
    """Per target day, an MLP of [encoder summary, lead embedding, that day's covariates]: a day's
    output depends on no other day's covariates (for the convolutional encoders)."""

    def __init__(self, summary_dim: int, horizon: int, n_future: int, hidden: int, dropout: float):
        super().__init__()
        self.embed = HorizonEmbedding(horizon)
        self.mlp = nn.Sequential(
            nn.Linear(summary_dim + EMBED_DIM + n_future, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )
        self.out_dim = hidden

    def forward(self, summary: torch.Tensor, x_future: torch.Tensor | None) -> torch.Tensor:
        """summary [B, D], x_future [B, H, F] -> [B, H, hidden]."""
        days = _day_inputs(self.embed, len(summary), x_future)
        s = summary[:, None].expand(-1, days.shape[1], -1)
        return self.mlp(torch.cat([s, days], dim=-1))


class LSTMDecoder(nn.Module):
    """An LSTM over the target days that starts from the encoder's final (h, c) state and reads
    [lead embedding, that day's covariates]: day h sees the covariates of days 1..h."""

    def __init__(
        self, hidden_size: int, num_layers: int, horizon: int, n_future: int, dropout: float
    ):
        super().__init__()
        self.embed = HorizonEmbedding(horizon)
        self.lstm = nn.LSTM(
            EMBED_DIM + n_future,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.out_dim = hidden_size

    def forward(
        self, state: tuple[torch.Tensor, torch.Tensor], x_future: torch.Tensor | None
    ) -> torch.Tensor:
        """state (h, c) each [layers, B, hidden], x_future [B, H, F] -> [B, H, hidden]."""
        out, _ = self.lstm(_day_inputs(self.embed, state[0].shape[1], x_future), state)
        return out

"""Sequence encoders: (batch, lookback, channels) → (batch, out_dim). Each is one small file.

Capability flags: every net reads the past sequence (level-relative history + past covariates);
known-future covariates (calendar) enter through the shared multi-horizon head in
``respicast.models.module``, so a net declares only whether it can use them there.
"""

"""Sequence encoders: (batch, lookback, channels) → (batch, out_dim). Each is one small file.

Every net reads the past sequence (level-relative history + past covariates). How it takes the
known-future covariates (calendar of the target days) it declares in ``future_inputs`` (see
``decoder.py``): beside its summary in ForecastModule's head, or through a decoder of its own that
gives one vector per target day, (batch, horizon, out_dim).
"""

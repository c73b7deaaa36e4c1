"""Forecasting GLM with distributed lags: quasi-Poisson (or NB), the environmental-epidemiology
workhorse, used as epidemiologists use it for prediction (autoregressive terms beside the lags).

One GLM per horizon h. The target day is t+h; everything it uses is known at the origin t:
- autoregressive terms: log(1 + mean count of the last d days known at t) for each d in
  ``autoregressive`` (d = 1: the last known count; publication gaps carried forward), and
  log(1 + exponentially weighted mean of the lookback's known counts) per half-life in
  ``ewma_halflives``;
- optionally a natural spline of time (``time_df_per_year`` df per year of training data; default
  none, the autoregressive terms carry the level); held constant beyond the training range,
  because a spline cannot be extrapolated into the forecast period;
- day of week of the target day (dummies), holiday flags, school-return weeks and day-of-year
  harmonics from the known-future calendar when present;
- a cross-basis per pollutant (linear exposure × lag basis over target-day lags
  h..h+``pollutant_max_lag``, i.e. window positions t, t-1, ..., t-max_lag) and for temperature
  (natural-spline exposure × lag basis over h..h+``temperature_max_lag``); lag splines have their
  knots at dlnm's ``logknots`` (see :mod:`.crossbasis`, checked against dlnmpy in the tests).
Peak probability: P(Y > threshold) under a count distribution with the fitted mean and
variance φ·μ (quasi-Poisson, matched by an NB with k = μ/(φ-1)) or NB(μ, k).
The mean is capped at the highest count of the training targets: on a sparse series (a few
admissions a month) the design can be nearly rank-deficient and the log link then extrapolates
to absurd counts.
"""

from __future__ import annotations

import re

import numpy as np
import statsmodels.api as sm

from respicast.dataset.windows import WindowSet
from respicast.features import fill_gaps
from respicast.harmonize.calendar import CALENDAR_COLUMNS, RETURN_PREFIX
from respicast.models.baselines import inputs
from respicast.models.baselines.base import (
    Baseline,
    check_fitted,
    check_inputs,
    one_blas_thread,
    require_names,
)
from respicast.models.baselines.crossbasis import Linear, NaturalSpline, crossbasis, lag_basis
from respicast.models.baselines.dispersion import fit_nb_dispersion
from respicast.models.count_dist import as_k, exceedance_prob

# the known-future calendar columns the GLM reads for the target day (those the table has)
_CALENDAR = tuple(c for c in CALENDAR_COLUMNS if not c.startswith("dow_"))


def _calendar_columns(future_names: list[str]) -> list[int]:
    return [i for i, c in enumerate(future_names) if c in _CALENDAR or c.startswith(RETURN_PREFIX)]


def _is_temperature(channel: str) -> bool:
    """A daily mean temperature: a name with "temp", or SYNOP's t averaged (``weather_t_mean``)."""
    name = channel.lower()
    return "temp" in name or re.search(r"(^|_)t_mean$", name) is not None


class GLMDLNM(Baseline):
    name = "glm_dlnm"

    def __init__(
        self,
        pollutants: list[str] | None = None,
        temperature: str | None = "auto",
        pollutant_max_lag: int = 7,
        temperature_max_lag: int = 21,
        pollutant_lag_df: int | None = 3,
        temperature_lag_df: int | None = 4,
        temperature_df: int = 3,
        time_df_per_year: float = 0.0,
        family: str = "quasipoisson",
        autoregressive: list[int] | tuple[int, ...] = (1, 7, 28),
        ewma_halflives: list[float] | tuple[float, ...] = (),
    ):
        if family not in ("quasipoisson", "nb"):
            raise ValueError(f"glm_dlnm.family must be 'quasipoisson' or 'nb', got {family!r}")
        self.autoregressive = [int(d) for d in autoregressive or ()]
        if any(d < 1 for d in self.autoregressive):
            raise ValueError(
                f"glm_dlnm.autoregressive: window lengths must be >= 1 day, got {autoregressive}"
            )
        self.ewma_halflives = [float(x) for x in ewma_halflives or ()]
        if any(x <= 0 for x in self.ewma_halflives):
            raise ValueError(f"glm_dlnm.ewma_halflives must be > 0 days, got {ewma_halflives}")
        reads_history = self.autoregressive or self.ewma_halflives
        self.needs = frozenset({"past", *(["history"] if reads_history else [])})
        # None: every past channel of group 'pollution'; "auto": the first daily mean temperature
        self.pollutants = list(pollutants) if pollutants is not None else None
        self.temperature = temperature
        self.pollutants_: list[str] = []
        self.temperature_: str | None = None
        self.pollutant_max_lag, self.temperature_max_lag = pollutant_max_lag, temperature_max_lag
        self.pollutant_lag_df, self.temperature_lag_df = pollutant_lag_df, temperature_lag_df
        self.temperature_df, self.time_df_per_year, self.family = (
            temperature_df,
            time_df_per_year,
            family,
        )
        self.models_: list = []

    # ---- terms ----

    def _exposures(self) -> list[tuple[str, int, int | None]]:
        out = [(p, self.pollutant_max_lag, self.pollutant_lag_df) for p in self.pollutants_]
        if self.temperature_:
            out.append((self.temperature_, self.temperature_max_lag, self.temperature_lag_df))
        return out

    def _resolve_channels(self, ws: WindowSet) -> None:
        if self.pollutants is None:
            self.pollutants_ = [
                n for n, g in zip(ws.past_names, ws.past_groups, strict=True) if g == "pollution"
            ]
        else:
            self.pollutants_ = list(self.pollutants)
        if self.temperature == "auto":
            temps = [n for n in ws.past_names if _is_temperature(n) and n not in self.pollutants_]
            self.temperature_ = temps[0] if temps else None
        else:
            self.temperature_ = self.temperature
        if not self._exposures():
            raise ValueError(
                f"{self.name}: no exposure: past_groups has no 'pollution' channel and no channel "
                f"named *temp*; set model.pollutants / model.temperature (past_names: {ws.past_names})"
            )

    def _check(self, ws: WindowSet) -> None:
        check_inputs(ws, self.needs, self.name)
        require_names(ws.past_names, [n for n, _, _ in self._exposures()], "past_names", self.name)
        need = max(m for _, m, _ in self._exposures()) + 1
        if ws.lookback < need:
            raise ValueError(
                f"{self.name}: lookback {ws.lookback} < {need} days needed for lags 0..{need - 1} "
                f"at the origin; raise data.lookback or lower the max lags"
            )
        if self.autoregressive and ws.lookback < max(self.autoregressive):
            raise ValueError(
                f"{self.name}: lookback {ws.lookback} < {max(self.autoregressive)} days of the "
                f"longest autoregressive window; raise data.lookback or shorten "
                f"model.autoregressive ({self.autoregressive})"
            )

    @staticmethod
    def exposure_lags(ws: WindowSet, channel: str, max_lag: int) -> np.ndarray:
        """[N, max_lag+1] exposure at t, t-1, ..., t-max_lag (gaps carried forward)."""
        j = ws.past_names.index(channel)
        series = fill_gaps(ws.past[:, :, j])
        return series[:, ::-1][:, : max_lag + 1]

    def autoregressive_terms(self, ws: WindowSet) -> np.ndarray:
        """[N, len(autoregressive)] log(1 + mean of the last d known counts) at each origin.

        Only the history window (counts published by t) enters; unpublished days carry the last
        known count forward.
        """
        halflives = getattr(self, "ewma_halflives", [])  # GLMs pickled before the option
        if not (self.autoregressive or halflives):
            return np.empty((len(ws), 0))
        inputs.last_known(ws.history)  # a clear error when a window has no known count
        known = fill_gaps(np.asarray(ws.history, dtype=float))
        means = [known[:, ws.lookback - d :].mean(axis=1) for d in self.autoregressive]
        age = np.arange(ws.lookback)[::-1]  # 0 = the origin's day
        for halflife in halflives:  # the recent level, as an exponential smoother reads it
            w = 0.5 ** (age / halflife)
            means.append(known @ (w / w.sum()))
        return np.log1p(np.stack(means, axis=1))

    def _fit_terms(self, train: WindowSet) -> None:
        self.var_bases_ = {}
        for name, _, _ in self._exposures():
            if name == self.temperature_:
                values = self.exposure_lags(train, name, 0)[:, 0]
                self.var_bases_[name] = NaturalSpline(df=self.temperature_df).fit(values)
            else:
                self.var_bases_[name] = Linear()
        days = train.target_dates().astype(np.int64).ravel()
        self.time_range_ = (float(days.min()), float(days.max()))
        years = (days.max() - days.min() + 1) / 365.25
        df = max(1, int(round(self.time_df_per_year * years)))
        self.time_basis_ = NaturalSpline(df=df).fit(days.astype(float)) if df > 1 else None

    def lag_basis_for(self, h: int, channel: str) -> np.ndarray:
        """Lag basis over the target-day lags h .. h+max_lag of ``channel`` (h is 1-based)."""
        _, max_lag, df = next(e for e in self._exposures() if e[0] == channel)
        return lag_basis(np.arange(h, h + max_lag + 1), df)

    def design(self, ws: WindowSet, h: int) -> np.ndarray:
        """[N, P] GLM design for horizon index h (0-based), intercept first."""
        dates = ws.target_dates()[:, h]
        parts = [np.ones((len(ws), 1)), self.autoregressive_terms(ws)]
        if self.time_basis_ is not None:
            day = np.clip(dates.astype(np.int64).astype(float), *self.time_range_)
            parts.append(self.time_basis_(day))
        dow = inputs.day_of_week(dates)
        parts.append((dow[:, None] == np.arange(1, 7)[None, :]).astype(float))
        parts.append(ws.future[:, h, _calendar_columns(ws.future_names)])
        for name, max_lag, _ in self._exposures():
            x = self.exposure_lags(ws, name, max_lag)
            parts.append(crossbasis(x, self.var_bases_[name], self.lag_basis_for(h + 1, name)))
        return np.concatenate(parts, axis=1)

    # ---- fit / predict ----

    @one_blas_thread
    def fit(self, train: WindowSet, val: WindowSet | None = None) -> GLMDLNM:
        check_inputs(train, self.needs, self.name)
        self._resolve_channels(train)
        self._check(train)
        self._fit_terms(train)
        self.count_cap_ = float(np.nanmax(train.y_count))
        self.models_ = []
        for h in range(train.horizon):
            x, y = self.design(train, h), train.y_count[:, h]
            ok = ~np.isnan(y)
            poisson = sm.GLM(y[ok], x[ok], family=sm.families.Poisson()).fit(scale="X2")
            if self.family == "quasipoisson":
                self.models_.append((poisson, float(poisson.scale)))
                continue
            k = fit_nb_dispersion(y[ok], poisson.fittedvalues)
            if not np.isfinite(
                k
            ):  # no overdispersion: the NB is the Poisson (alpha 0 divides by 0)
                self.models_.append((poisson, k))
                continue
            nb = sm.GLM(y[ok], x[ok], family=sm.families.NegativeBinomial(alpha=1.0 / k)).fit()
            self.models_.append((nb, k))
        return self

    def _dispersion(self, mean: np.ndarray, param: float) -> np.ndarray | float | None:
        if self.family == "nb":
            return param
        if param <= 1.0:  # no overdispersion: Poisson
            return None
        return mean / (param - 1.0)  # NB with var = μ + μ²/k = φμ

    def count_dispersion(self, counts: np.ndarray) -> np.ndarray:
        """k per origin and horizon: quasi-Poisson's k grows with the mean (var = φμ)."""
        out = np.empty(counts.shape)
        for h, (_, param) in enumerate(self.models_):
            out[:, h] = as_k(self._dispersion(counts[:, h], param), (counts.shape[0],))
        return out

    @one_blas_thread
    def predict_arrays(self, ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
        check_fitted(bool(self.models_), self.name)
        self._check(ws)
        mean = np.empty((len(ws), ws.horizon))
        prob = np.empty((len(ws), ws.horizon))
        for h, (model, param) in enumerate(self.models_):
            mean[:, h] = np.minimum(
                model.predict(self.design(ws, h)), getattr(self, "count_cap_", np.inf)
            )
            prob[:, h] = exceedance_prob(
                mean[:, h], ws.threshold, self._dispersion(mean[:, h], param)
            )
        return mean, prob

    def lag_response(self, channel: str, h: int = 1) -> np.ndarray:
        """Log-rate change per unit exposure at each target-day lag h..h+max_lag (linear channels)."""
        check_fitted(bool(self.models_), self.name)
        if not isinstance(self.var_bases_.get(channel), Linear):
            raise ValueError(
                f"{self.name}: lag_response needs a linear-exposure channel, got {channel!r}"
            )
        start = self._column_offsets(h)[channel]
        lb = self.lag_basis_for(h, channel)
        coef = np.asarray(self.models_[h - 1][0].params)[start : start + lb.shape[1]]
        return lb @ coef

    def _column_offsets(self, h: int) -> dict[str, int]:
        """First coefficient of each cross-basis (they are the last columns of the design)."""
        total = int(self.models_[h - 1][0].params.shape[0])
        sizes = [
            (n, self.var_bases_[n].n_columns * self.lag_basis_for(h, n).shape[1])
            for n, _, _ in self._exposures()
        ]
        offset = total - sum(s for _, s in sizes)
        out = {}
        for n, s in sizes:
            out[n] = offset
            offset += s
        return out

"""tsfel (serial, one window at a time) vs respicast.features (vectorised) on the same windows.

Default size: the default dataset's features, ~4300 origins x 20 channels x L=28. tsfel is timed
on a sample of windows and extrapolated (running it on all would take minutes).

    python scripts/bench_tsfel.py [--origins 4300] [--channels 20] [--lookback 28] [--sample 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from respicast.features import FEATURES, compute
from respicast.features.tsfel_reference import tsfel_matrix


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--origins", type=int, default=4300)
    p.add_argument("--channels", type=int, default=20)
    p.add_argument("--lookback", type=int, default=28)
    p.add_argument("--sample", type=int, default=200, help="windows timed with tsfel")
    args = p.parse_args()

    rng = np.random.default_rng(0)
    days = args.origins + args.lookback - 1
    series = rng.normal(size=(days, args.channels)).cumsum(axis=0) * 0.1
    series[:, 0] = rng.poisson(10, size=days)  # a count channel, with ties
    windows = sliding_window_view(series, args.lookback, axis=0)  # [N, C, L]
    flat = windows.reshape(-1, args.lookback)
    names = list(FEATURES)
    n_windows = flat.shape[0]

    t0 = time.perf_counter()
    compute(flat, names)
    vec_s = time.perf_counter() - t0

    idx = rng.choice(n_windows, size=min(args.sample, n_windows), replace=False)
    t0 = time.perf_counter()
    tsfel_matrix(flat[idx], names)
    per_window = (time.perf_counter() - t0) / len(idx)
    tsfel_s = per_window * n_windows

    print(
        f"windows: {args.origins} origins x {args.channels} channels x L={args.lookback} = {n_windows}"
    )
    print(f"features per window: {len(names)} (statistical + temporal)")
    print(
        f"tsfel serial:  {per_window * 1e3:.2f} ms/window -> {tsfel_s:.1f} s for all (from {len(idx)})"
    )
    print(f"vectorised:    {vec_s:.2f} s for all ({vec_s / n_windows * 1e6:.1f} us/window)")
    print(f"speed-up:      {tsfel_s / vec_s:.0f}x")


if __name__ == "__main__":
    main()

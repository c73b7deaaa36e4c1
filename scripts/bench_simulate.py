"""Time and peak memory of simulating a world: python scripts/bench_simulate.py [world] [out_dir]."""

from __future__ import annotations

import resource
import sys
import tempfile
import time

from respicast.world import load_world_config, simulate


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "toulouse"
    out = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="respicast-world-")
    cfg = load_world_config(name)
    start = time.perf_counter()
    simulate(cfg, out)
    elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"world={name} period={cfg['start']}..{cfg['end']} out={out}")
    print(f"simulate: {elapsed:.2f} s, peak RSS {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()

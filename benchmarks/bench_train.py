"""Time designing the example filtration train (examples/train_2000L_mab.yaml).

Two numbers, each the median of several runs after one warm-up:

* ``read + fit + design``: what ``fluxwise design`` does — parse the YAML, read and fit the three
  trial files (all nine fouling models each), design every step;
* ``design only``: :func:`fluxwise.design.train.design_train` on the parsed train (balance, sizing,
  UF/DF, line items, route comparison).

Run: ``.venv/bin/python benchmarks/bench_train.py [runs]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_2000L_mab.yaml"


def _median_s(fn, runs: int) -> float:
    fn()  # warm-up: imports, caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(runs: int = 7) -> dict:
    """Print and return the median times [s] of designing the example train."""
    from fluxwise.design.train import design_train
    from fluxwise.io.train import read_train

    train = read_train(EXAMPLE)
    full = _median_s(lambda: design_train(read_train(EXAMPLE)), runs)
    design = _median_s(lambda: design_train(train), runs)
    print(f"train {EXAMPLE.name}: read + fit + design {full * 1000:.0f} ms, "
          f"design only {design * 1000:.1f} ms (median of {runs})")
    return {"read_fit_design_s": full, "design_s": design, "runs": runs}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)

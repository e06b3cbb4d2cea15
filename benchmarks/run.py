"""Run every benchmark of fluxwise (``make bench``). Each prints its baseline, measured in the same
run, and the ratio; figures and the machine go into benchmarks/README.md by hand after a run."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHES = ["bench_startup", "bench_fit", "bench_batch", "bench_batch_quality", "bench_train", "bench_long",
           "bench_read", "bench_supply", "bench_pages"]


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import numpy as np

    return (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.system()} {platform.release()}")


def main() -> int:
    print("machine:", machine())
    only = sys.argv[1:]
    for name in BENCHES:
        if only and name not in only:
            continue
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                print(f"\n== {name}: not present in this build")
                continue
            raise
        mod.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())

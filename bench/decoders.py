#!/usr/bin/env python3
"""Which JSON decoder and which garbage-collector setting, by whole-process numbers.

Each candidate is a complete process that reads a plan and decodes it, as a scan's
first step does: `json` (the standard library), `orjson` and `msgspec` (skipped when not
installed: `pip install msgspec`), each with the cyclic garbage collector on and paused
during the decode. Runs are interleaved and the best of N is kept.

Usage:
    bench/decoders.py                 # the 10,000-resource plan
    bench/decoders.py --size 50000 --repeat 7
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

DECODE = {
    "json": "import json; document = json.loads(data.decode('utf-8-sig'))",
    "orjson": "import orjson; document = orjson.loads(data)",
    "msgspec": "import msgspec; document = msgspec.json.decode(data)",
}
GC = {"on": "", "paused": "import gc; gc.disable(); "}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import generate
    from process import Runs, measure

    path = generate.make_plan(args.size)
    candidates = [(name, setting) for name in DECODE for setting in GC
                  if name == "json" or importlib.util.find_spec(name) is not None]
    runs = {candidate: Runs() for candidate in candidates}
    for _ in range(args.repeat):
        for name, setting in candidates:
            code = (f"import sys; {GC[setting]}data = open(sys.argv[1], 'rb').read(); "
                    f"{DECODE[name]}")
            measure([sys.executable, "-c", code, str(path)], dict(os.environ),
                    runs[(name, setting)])
    print(f"plan: {path.stat().st_size / 1e6:.1f} MB; best of {args.repeat}\n")
    print("| decoder | cyclic GC | wall s | CPU s | RSS MB |\n|---|---|---:|---:|---:|")
    for (name, setting), result in runs.items():
        wall, cpu, rss = result.best()
        print(f"| {name} | {setting} | {wall:.3f} | {cpu:.3f} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

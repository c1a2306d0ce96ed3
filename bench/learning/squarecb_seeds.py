"""SquareCB diagnostic: Vowpal Wabbit as it is against VW given probability 1 in every label,
over many seeds, without the server.

VW 9.11.9's SquareCB learns every action without importance weights except the last one of
the example (its loop stops one short); PersonalizerModel uses no importance weight for any
action. Giving VW p = 1 labels removes that one difference: the learning benchmark shows the
server then makes VW's decision on every event. This script measures what the difference is
worth on a stream, over more seeds than the benchmark runs.

    .venv/bin/python bench/learning/squarecb_seeds.py digits --seeds 3-14
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench    # noqa: E402
import sides    # noqa: E402
import streams  # noqa: E402


def one(job):
    name, seed = job
    stream = streams.build(name, seed)
    arguments = bench.arguments(stream, "squarecb")
    run = bench.run_id(name, "squarecb", seed)
    k = len(stream.events) // 5
    as_is = sides.run_vw(stream, arguments, run)
    p1 = sides.run_vw(stream, arguments, run, label_probability_one=True)
    return seed, as_is.rewards[-k:].mean(), p1.rewards[-k:].mean()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stream", choices=list(streams.STREAMS))
    parser.add_argument("--seeds", default="3-14", help="first-last (default 3-14)")
    args = parser.parse_args()
    first, last = (int(x) for x in args.seeds.split("-"))
    with multiprocessing.Pool(2) as pool:
        rows = pool.map(one, [(args.stream, seed) for seed in range(first, last + 1)])
    print("| seed | VW last 20% | VW with p = 1 labels (= ours) |\n|---|---|---|")
    for seed, a, b in rows:
        print(f"| {seed} | {a:.3f} | {b:.3f} |")
    a = np.array([r[1] for r in rows])
    b = np.array([r[2] for r in rows])
    print(f"| mean ± sd | {a.mean():.3f} ± {a.std(ddof=1):.3f} | {b.mean():.3f} ± {b.std(ddof=1):.3f} |")
    print(f"p = 1 minus as-is: {np.mean(b - a):+.3f} on average; p = 1 better on {int((b > a).sum())} "
          f"of {len(rows)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())

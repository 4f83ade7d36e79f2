#!/usr/bin/env python3
"""Per-layer ratios of `ctq verify` tables against the round-to-nearest one.

    compare_verify.py RTN.txt NAME=OTHER.txt [NAME=OTHER.txt ...]

Each file is the output of `ctq verify --orig MODEL --quant FILE` for one quantized file of the
same model. Prints, per method, the subspace error and the full (relative weight) error of every
layer divided by round-to-nearest's, and the worst and median of each, and the layers above the
issue's target of 0.6x (CTQ_TARGET overrides it) with their ratios.
"""
import os
import statistics
import sys


def read_table(path):
    rows = {}
    with open(path) as f:
        lines = f.read().splitlines()
    header = next((l.replace("SNR dB", "SNR_dB").split() for l in lines if l.startswith("layer")), None)
    if header is None:
        sys.exit(f"{path}: no verify table")
    col = {name: i for i, name in enumerate(header)}
    for line in lines:
        parts = line.split()
        if len(parts) != len(header) or parts[0] == "layer":
            continue
        try:
            rows[parts[0]] = (float(parts[col["rel_err"]]), float(parts[col["subspace"]]))
        except ValueError:
            continue
    return rows


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rtn = read_table(sys.argv[1])
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        other = read_table(path)
        common = [k for k in rtn if k in other and rtn[k][0] > 0 and rtn[k][1] > 0]
        full = [other[k][0] / rtn[k][0] for k in common]
        sub = [other[k][1] / rtn[k][1] for k in common]
        if not common:
            print(f"{name}: no layer in common with round-to-nearest")
            continue
        print(f"{name}: {len(common)} layers vs round-to-nearest: subspace median {statistics.median(sub):.3f}x "
              f"worst {max(sub):.3f}x best {min(sub):.3f}x; full median {statistics.median(full):.4f}x "
              f"worst {max(full):.4f}x")
        target = float(os.environ.get("CTQ_TARGET", "0.6"))
        above = [f"{k} {r:.3f}x" for k, r in zip(common, sub) if r > target]
        print(f"{name}: {len(above)} of {len(common)} layers above {target}x: {', '.join(above)}")


if __name__ == "__main__":
    main()

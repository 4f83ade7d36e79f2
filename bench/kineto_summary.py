#!/usr/bin/env python3
"""Where the GPU time of one run went, from a kineto Chrome trace (ctq built with
-DCTQ_KINETO_PROFILE=ON and run with CTQ_KINETO=trace.json; bench/compare_variants.sh PROFILE=1).

    kineto_summary.py trace.json

Prints the span from the first to the last GPU activity, the time the GPU was busy at all
(union of kernels and copies), the sum of their durations (above the union when streams overlap),
the time by kind of work and the 30 largest kernels, and the kernel-seconds per 0.5 s window
(how many streams' worth of work ran at once, through the run), and every stretch of 20 ms or more
with nothing on the GPU: where it starts, and the activity just before and after it.
"""
import collections
import json
import re
import sys

KINDS = [  # first match wins
    ("eigh (cuSOLVER)", r"syevd|sytrd|stedc|ormtr|syev|latrd|larfb|steqr|lacpy|larft|laed|orm"),
    ("gemm", r"gemm|cutlass|sm90|ampere|cublas|xmma|s16816|s1688|nvjet"),
    ("top-k / sort", r"topk|sort|radix|bitonic|scan"),
    ("flip scores", r"flip|select_kernel|scores_kernel|scores_at_kernel"),
    ("k-th smallest", r"histogram_kernel|pick_kernel"),
    ("index / gather", r"index|scatter|gather"),
    ("reduce", r"reduce"),
    ("memcpy", r"memcpy"),
    ("memset", r"memset"),
    ("elementwise", r"elementwise|vectorized|unrolled"),
]


def kind(name):
    low = name.lower()
    return next((k for k, pattern in KINDS if re.search(pattern, low)), "other")


def main(path):
    events = [e for e in json.load(open(path))["traceEvents"]
              if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset") and "dur" in e]
    if not events:
        sys.exit(f"{path}: no GPU activity")
    events.sort(key=lambda e: e["ts"])
    t0, t1 = events[0]["ts"], max(e["ts"] + e["dur"] for e in events)
    busy, start, end, last = 0, None, None, None
    gaps = []  # (start, length, the activity that ended last before it, the one after it)
    for e in events:
        s, f = e["ts"], e["ts"] + e["dur"]
        if end is None or s > end:
            if end is not None:
                busy += end - start
                if s - end >= 20000:
                    gaps.append((end - t0, s - end, last["name"], e["name"]))
            start, end = s, f
        else:
            end = max(end, f)
        if last is None or f >= last["ts"] + last["dur"]:
            last = e
    busy += end - start
    total = sum(e["dur"] for e in events)
    print(f"span {(t1 - t0) * 1e-6:.3f} s, busy {busy * 1e-6:.3f} s, summed {total * 1e-6:.3f} s, "
          f"{len(events)} kernels and copies")
    by_kind, calls = collections.Counter(), collections.Counter()
    by_name, name_calls = collections.Counter(), collections.Counter()
    windows = collections.Counter()
    for e in events:
        by_kind[kind(e["name"])] += e["dur"]
        calls[kind(e["name"])] += 1
        by_name[e["name"][:110]] += e["dur"]
        name_calls[e["name"][:110]] += 1
        windows[int((e["ts"] - t0) // 500000)] += e["dur"]
    for k, d in by_kind.most_common():
        print(f"  {k:16s} {d * 1e-6:8.3f} s {calls[k]:8d} calls")
    print("largest kernels:")
    for n, d in by_name.most_common(30):
        print(f"  {d * 1e-6:8.3f} s {name_calls[n]:7d}  {n}")
    print("kernel-seconds per 0.5 s window:",
          " ".join(f"{windows[i] * 1e-6 / 0.5:.2f}" for i in range(int((t1 - t0) // 500000) + 1)))
    print(f"GPU idle for 20 ms or more: {len(gaps)} times, {sum(g[1] for g in gaps) * 1e-6:.3f} s")
    for at, length, before, after in gaps[:20]:
        print(f"  at {at * 1e-6:6.3f} s for {length * 1e-3:6.1f} ms, after {before[:50]} / before {after[:50]}")


if __name__ == "__main__":
    main(sys.argv[1])

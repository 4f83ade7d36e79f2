#!/usr/bin/env python3
"""Runs a command and prints each line it writes (stdout and stderr, progress lines ended by \\r
too) with the seconds since the start: where a run's time goes before, between and after its
layers, without a profiler.

    tsrun.py CMD [ARGS...]
"""
import subprocess
import sys
import time

t0 = time.time()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0)
line = b""
while True:
    ch = p.stdout.read(1)
    if not ch:
        break
    if ch in (b"\n", b"\r"):
        if line.strip():
            print(f"{time.time() - t0:7.3f} {line.decode(errors='replace')}", flush=True)
        line = b""
    else:
        line += ch
p.wait()
print(f"{time.time() - t0:7.3f} exit {p.returncode}")
sys.exit(p.returncode)

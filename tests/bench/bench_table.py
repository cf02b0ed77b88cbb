#!/usr/bin/env python3
"""Turns bench_kernels' JSON output (--benchmark_out_format=json, with repetitions and aggregates) into the
markdown tables of docs/benchmarks.md. Uses the median aggregate of every benchmark."""
import json
import re
import sys
from collections import defaultdict

NAME = re.compile(r"^(\w+)/K(\d+)xN(\d+)/M(\d+)/s(\d+)/t(\d+)(?:/process_time)?(?:/real_time)?_median$")
ORDER = [("f32_gemm", 0), ("qgemm_dense", 0)] + [("spmm_b4", s) for s in (0, 50, 70, 80, 90, 95, 97)] + [
    ("spmm_unstructured", 90), ("qgemm_dense_qu8", 0), ("spmm_b4_qu8", 90)]
LABEL = {"f32_gemm": "FP32", "qgemm_dense": "dense INT8", "spmm_b4": "block4 INT8", "spmm_unstructured": "unstructured INT8",
         "qgemm_dense_qu8": "dense INT8 → UINT8 panels", "spmm_b4_qu8": "block4 INT8 → UINT8 panels"}


def main(path):
    data = json.load(open(path))
    ctx = data["context"]
    rows = {}
    for b in data["benchmarks"]:
        m = NAME.match(b["name"])
        if not m:
            continue
        kind, k, n, tokens, sparsity, threads = m.group(1), *map(int, m.groups()[1:])
        rows[(kind, k, n, tokens, sparsity, threads)] = b
    print(f"Machine: max ISA `{ctx.get('max_isa')}`, {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz (nominal); "
          f"load average at start {ctx.get('loadavg_at_start')}.")
    print(f"Peaks measured in this run (register-only loops, one core): INT8 {float(ctx['peak_int8_GOPS']):.0f} GOPS "
          f"({ctx['peak_int8_loop']}), vpmaddwd alone {float(ctx.get('peak_vpmaddwd_ymm_GOPS', 0)):.0f} GOPS, "
          f"FP32 {float(ctx['peak_fp32_GFLOPS']):.0f} GFLOPS ({ctx['peak_fp32_loop']}).")
    print(f"Kernels: `{ctx['spmm_b4_kernel']}`, `{ctx['qgemm_kernel']}`, `{ctx['f32_gemm_kernel']}`.\n")
    shapes = sorted({(k, n, t) for (_, k, n, t, _, _) in rows}, key=lambda s: (s[2], s[0], s[1]))
    for k, n, tokens in shapes:
        print(f"#### K×N = {k}×{n}, M = {tokens}\n")
        print("| kernel | sparsity | 1 thread (µs) | GOPS on nonzeros | % of peak | × FP32 | × dense INT8 "
              "| 2 threads, wall (µs) | 2 threads speed-up | 2 threads, CPU of both (µs) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        fp32 = rows.get(("f32_gemm", k, n, tokens, 0, 1))
        dense = rows.get(("qgemm_dense", k, n, tokens, 0, 1))
        for kind, sparsity in ORDER:
            one = rows.get((kind, k, n, tokens, sparsity, 1))
            two = rows.get((kind, k, n, tokens, sparsity, 2))
            if one is None:
                continue
            t1 = one["cpu_time"]
            t2 = two["real_time"] if two else None
            cells = [LABEL[kind], f"{sparsity} %", f"{t1:.0f}", f"{one['GOPS']:.1f}", f"{one['pct_peak']:.0f} %",
                     f"{fp32['cpu_time'] / t1:.1f}" if fp32 else "", f"{dense['cpu_time'] / t1:.2f}" if dense else "",
                     f"{t2:.0f}" if t2 else "", f"{t1 / t2:.2f}" if t2 else "",
                     f"{two['cpu_time']:.0f}" if two else ""]
            print("| " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])

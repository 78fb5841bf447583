"""Run the speed benchmarks in one process and print the ratios measured in this run.

    .venv/bin/python benchmarks/run_all.py [--quick]

The whole-book timing (wall time per chapter at the ci profile) is produced by the book's runner,
not here. Benchmarks print whether each target was met; they never assert a time.
"""

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_chapters  # noqa: E402
import bench_families  # noqa: E402
import bench_transformer_step  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds (a smoke test)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    extra = ["--threads", str(args.threads)] if args.threads else []
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
          f"load average {os.getloadavg()[0]:.1f} (a busy machine inflates times; the ratios are measured "
          f"in the same run, alternating)")
    fam = bench_families.main((["--steps", "100", "--rounds", "1"] if args.quick else []) + extra)
    print()
    tf = bench_transformer_step.main((["--steps", "20", "--rounds", "2"] if args.quick else []) + extra)
    print()
    bench_chapters.main(["--chapters", "00", "01", "--steps", "20", "--rounds", "1"] if args.quick else [])
    print()
    print("summary")
    print(f"  families: {fam['speedup']:.2f}x vs {fam['baseline']} ({fam['headline']}; target 3x: "
          f"{'met' if fam['target_met'] else 'NOT met'}); batching alone, one process: "
          f"{fam['speedup_one_process']:.2f}x")
    print(f"  transformer step: {tf['ratio']:.2f}x the reference's tokens/s, "
          f"{tf['scalinglab_tokens_s']:.0f} tokens/s, MFU {tf['mfu']:.1%} of {tf['matmul_gflops']:.0f} GFLOP/s")


if __name__ == "__main__":
    main()

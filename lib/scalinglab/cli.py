"""``python -m scalinglab``: the library's command line.

    python -m scalinglab fit RUNS.csv --law chinchilla            # L(N, D) = E + A/N^α + B/D^β
    python -m scalinglab fit RUNS.csv --law power                 # L(N) = E + A·N^(−α)
    python -m scalinglab fit RUNS.csv --law chinchilla --column N=params --column D=tokens --column loss=loss_c4_val
    python -m scalinglab fit RUNS.csv --law power --group seed --json

``fit`` reads a CSV of runs (one row per trained model), checks it (every needed column present, numeric
and positive; enough rows — a bad table is refused with its row and column named), fits the law and prints
every parameter with a 95 % delete-one-group jackknife interval (:func:`scalinglab.runtable.fit_law`).

Used by: readers with their own runs; the book's "Bring your own runs" page shows the same in Python.
"""

from __future__ import annotations

import argparse
import json
import sys

from . import runtable


def _mapping(values: list[str] | None) -> dict:
    out = {}
    for item in values or []:
        if "=" not in item:
            raise SystemExit(f"--column expects LAW_NAME=TABLE_NAME (e.g. N=params), got {item!r}")
        law_name, table_name = item.split("=", 1)
        out[table_name] = law_name
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scalinglab", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser(
        "fit", help="fit a scaling law to a CSV table of runs, with 95 % jackknife intervals",
        description="Fit a scaling law to a CSV table of runs (one row per trained model) and print every "
                    "parameter with a 95 % delete-one-group jackknife interval. Columns: N (parameters) and "
                    "loss for --law power; N, D (training tokens) and loss for --law chinchilla.")
    fit.add_argument("table", help="CSV file, one row per run")
    fit.add_argument("--law", choices=sorted(runtable.LAWS), default="chinchilla",
                     help="power: L(N) = E + A·N^(−α); chinchilla: L(N, D) = E + A/N^α + B/D^β (default)")
    fit.add_argument("--column", action="append", metavar="LAW_NAME=TABLE_NAME",
                     help="use the table's column TABLE_NAME as N, D or loss (repeatable)")
    fit.add_argument("--group", default=None,
                     help="column of replicate ids (seeds); the jackknife leaves one group out at a time "
                          "(default: one group per model size N)")
    fit.add_argument("--json", action="store_true", help="print the fit as JSON")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "fit":
        try:
            frame = runtable.load_runs(args.table, args.law, rename=_mapping(args.column), group=args.group)
            result = runtable.fit_law(frame, args.law)
        except runtable.RunTableError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            print(f"{runtable.LAWS[args.law]['form']} fitted to {result.rows} runs; 95 % intervals: delete-one-"
                  f"{result.grouped_by} jackknife over {result.groups} groups (Student's t, {result.groups - 1} df); "
                  f"RMSE of log loss {result.rmse_log:.4f}")
            for name, value in result.estimates.items():
                lo, hi = result.intervals[name]
                print(f"  {name:>6} = {value:.4g}   [{lo:.4g}, {hi:.4g}]")
    return 0

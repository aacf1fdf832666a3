"""`python -m bench [registry|ui|deployer ...]`: run the benchmarks and print their figures."""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("which", nargs="*", default=["registry", "deployer"])
    parser.add_argument("--history", type=int, default=10_000, help="long history length")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="deployer: alternating rounds")
    args = parser.parse_args()
    if "registry" in args.which:
        from bench import registry

        print(json.dumps(registry.run(args.history, args.samples)["targets"], indent=2))
    if "ui" in args.which:
        from bench import ui

        print(json.dumps(ui.run(args.history)["targets"], indent=2))
    if "deployer" in args.which:
        from bench import deployer

        print(json.dumps(deployer.run(args.rounds)["targets"], indent=2))


if __name__ == "__main__":
    main()

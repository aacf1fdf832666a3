"""`python -m bench [registry|scale|housekeeping|soak|ledger|oci|ui|events|deployer|
 deployer-rollback|swarm|plan|bisect|verify|verify-swarm ...]`:
run the benchmarks and print their figures (`deployer-rollback` is the deployer's failure
certainty -> rollback start measurement alone; `swarm` compares stacks with `docker stack
deploy`; `plan` times `consign deploy --plan` for 50 services; `verify` the verification's
overhead beyond its tests' run time (`verify-swarm`: on a swarm, as one-shot services);
`soak` runs the registry under publishers and readers for --minutes with a worker
killed every --kill-every seconds)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("which", nargs="*", default=["registry", "ledger", "deployer", "swarm"])
    parser.add_argument("--history", type=int, default=10_000, help="long history length")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="deployer: alternating rounds")
    parser.add_argument(
        "--scale-to", type=int, default=100_000, help="scale, housekeeping: versions to grow to"
    )
    parser.add_argument(
        "--scale-repo",
        type=Path,
        default=None,
        help="scale: keep the grown repository here and reuse it (stages below its size skipped)",
    )
    parser.add_argument("--slow", type=int, default=50, help="slowclients: slow connections")
    parser.add_argument("--seconds", type=float, default=20, help="slowclients: probe time")
    parser.add_argument(
        "--ui-repo", type=Path, default=None, help="ui: a folder to fill once and reuse"
    )
    parser.add_argument("--oci-versions", type=int, default=300, help="oci: versions to fill")
    parser.add_argument(
        "--bound", type=float, default=120.0, help="swarm: seconds before a deploy counts as hung"
    )
    parser.add_argument("--minutes", type=float, default=10, help="soak: duration")
    parser.add_argument("--publishers", type=int, default=4, help="soak: publisher threads")
    parser.add_argument("--readers", type=int, default=8, help="soak: reader threads")
    parser.add_argument(
        "--kill-every", type=float, default=30, help="soak: seconds between worker SIGKILLs"
    )
    args = parser.parse_args()
    if "registry" in args.which:
        from bench import registry

        print(json.dumps(registry.run(args.history, args.samples)["targets"], indent=2))
    if "scale" in args.which:
        from bench import scale

        print(
            json.dumps(
                scale.run(args.scale_to, args.samples, repo=args.scale_repo)["targets"], indent=2
            )
        )
    if "housekeeping" in args.which:
        from bench import housekeeping

        print(json.dumps(housekeeping.run(args.scale_to)["targets"], indent=2))
    if "slowclients" in args.which:
        from bench import slowclients

        print(json.dumps(slowclients.run(args.slow, args.seconds)["targets"], indent=2))
    if "soak" in args.which:
        from bench import soak

        figures = soak.run(args.minutes, args.publishers, args.readers, args.kill_every)
        print(json.dumps(figures["targets"], indent=2))
    if "ledger" in args.which:
        from bench import ledger

        print(json.dumps(ledger.run(args.samples)["targets"], indent=2))
    if "oci" in args.which:
        from bench import oci

        print(
            json.dumps(
                oci.run(args.oci_versions, min(args.samples, args.oci_versions))["targets"],
                indent=2,
            )
        )
    if "ui" in args.which:
        from bench import ui

        print(json.dumps(ui.run(args.history, repo=args.ui_repo)["targets"], indent=2))
    if "events" in args.which:
        from bench import events

        print(json.dumps(events.run(args.samples)["targets"], indent=2))
    if "deployer" in args.which:
        from bench import deployer

        print(json.dumps(deployer.run(args.rounds)["targets"], indent=2))
    if "deployer-rollback" in args.which:
        from bench import deployer

        print(json.dumps(deployer.run_rollback_start(args.rounds)["targets"], indent=2))
    if "verify" in args.which:
        from bench import verify

        print(json.dumps(verify.run(max(args.rounds, 10))["targets"], indent=2))
    if "verify-swarm" in args.which:
        from bench import swarmverify

        print(json.dumps(swarmverify.run(max(args.rounds, 10))["targets"], indent=2))
    if "bisect" in args.which:
        from bench import bisect

        print(json.dumps(bisect.run(args.rounds)["targets"], indent=2))
    if "swarm" in args.which:
        from bench import swarm

        print(json.dumps(swarm.run(args.rounds, args.bound)["targets"], indent=2))
    if "plan" in args.which:
        from bench import plan

        print(json.dumps(plan.run(min(args.samples, 20))["targets"], indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The side-by-side benchmark: nbd-streaming against nbdkit null and memory, in plaintext and over TLS, and
against the bare pipe, in one run, contestants alternating round by round, medians of the rounds. Writes
docs/benchmark.md and docs/benchmark.svg. Needs the packages of scripts/install-debian-packages.sh; Python 3
standard library only.

    bench/run.py                             # 1 GiB streams, 2 GiB images, 3 rounds (about 7 minutes on 2 cores)
    bench/run.py --quick                     # a smoke run, under a minute
    bench/run.py --only tls --out /tmp/tls   # one table only, written elsewhere
"""
import argparse
import os
import shutil
import sys
import tempfile
from statistics import median

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import environment  # noqa: E402
import plan  # noqa: E402
import plot  # noqa: E402
import report  # noqa: E402
import tlskeys  # noqa: E402
from lab import MIB, Lab, Shape  # noqa: E402
from processes import BenchError, Child, install_cleanup  # noqa: E402
from summary import summarize  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    args = parse_arguments()
    install_cleanup()
    if args.cpus:
        # Children inherit the mask: every server, client and pipe end runs on these CPUs only.
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    for tool in ("nbdkit", "nbdcopy", "qemu-img", "psktool", "certtool"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-debian-packages.sh first")
    work = tempfile.mkdtemp(prefix="nbd-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        bin_dir = os.path.join(REPO, ".build", "release") if args.no_build else build(work, args.server is None)
        server = os.path.abspath(args.server) if args.server else os.path.join(bin_dir, "nbd-streaming")
        baseline = os.path.abspath(args.baseline) if args.baseline else None
        lab = Lab(os.path.join(bin_dir, "nbd-bench"), server, work, baseline=baseline,
                  keys=tlskeys.make(os.path.join(work, "tls")))
        facts = environment.describe(lab.server)
        facts["load"] = [("start", os.getloadavg())]
        image = make_image(work, args.image_size)
        cases = [case for case in plan.cases(lab, args.size, image, args.image_size)
                 if not args.only or case.group in args.only]
        meter = environment.CompetitionMeter()
        samples, errors = run_rounds(cases, args.rounds, facts)
        extras = {} if args.only else measure_extras(lab, args)
        facts["others"] = meter.others_share()
        facts["load"].append(("end", os.getloadavg()))
        rows = summarize(cases, samples, errors)
        settings = {"stream": args.size, "image": args.image_size, "rounds": args.rounds,
                    "rss stream": args.rss_size, "startup runs": args.startup_runs, "cpus": args.cpus,
                    "name": args.name, "baseline": baseline,
                    "command": " ".join(["bench/run.py"] + sys.argv[1:])}
        os.makedirs(args.out, exist_ok=True)
        markdown = report.markdown(rows, extras, facts, settings)
        with open(os.path.join(args.out, f"{args.name}.md"), "w") as out:
            out.write(markdown)
        with open(os.path.join(args.out, f"{args.name}.svg"), "w") as out:
            out.write(plot.svg(rows, extras, facts, settings))
        print(report.targets_table(rows, extras))
        print(f"\nwrote {args.out}/{args.name}.md and {args.out}/{args.name}.svg")
        if any(errors.values()):
            sys.exit("some runs failed; see the tables")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=size, default=1 << 30, help="bytes per stream (default 1G)")
    parser.add_argument("--image-size", type=size, default=2 << 30, help="image for qemu-img and nbdcopy (2G)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the tables show medians (3)")
    parser.add_argument("--rss-size", type=size, default=8 << 30, help="stream for the peak-RSS run (8G)")
    parser.add_argument("--startup-runs", type=int, default=50, help="--run true start-ups timed (50)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64M streams, 256M image, 1 round")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in .build/release")
    parser.add_argument("--server", help="measure this nbd-streaming binary instead of building one (e.g. one "
                                         "built from another commit, to compare); its git checkout names it")
    parser.add_argument("--baseline", help="also measure this nbd-streaming binary (e.g. one built from the commit "
                                           "before a change) in the same rounds, and give every row the ratio to it")
    parser.add_argument("--cpus", help="pin every process to these CPUs, e.g. 0 (a pipe between two CPUs is much "
                                       "slower here than within one; pinning makes runs comparable)")
    parser.add_argument("--only", action="append", choices=("write", "read", "tls", "pipe", "copy"),
                        help="run only this table's cases (repeatable), without the memory and start-up runs: "
                             "a partial run, for a quick look at one part")
    parser.add_argument("--out", default=os.path.join(REPO, "docs"), help="directory for the results (docs)")
    parser.add_argument("--name", default="benchmark", help="file name of the .md and .svg (benchmark)")
    args = parser.parse_args()
    if args.quick:
        args.size, args.image_size, args.rounds, args.rss_size, args.startup_runs = \
            64 * MIB, 256 * MIB, 1, 256 * MIB, 10
    return args


def size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper()
    return int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)


def build(work, with_server):
    """Release binaries built as shipped (scripts/swift-release.sh: the Swift runtime linked in; scripts/install.sh
    installs the same binary stripped); SwiftPM's lock serializes this with other builds of the tree."""
    logs = os.path.join(work, "build-logs")
    os.makedirs(logs)
    release = os.path.join(REPO, "scripts", "swift-release.sh")
    for product in ("nbd-bench", "nbd-streaming") if with_server else ("nbd-bench",):
        log(f"building {product} (release, as shipped)")
        Child(f"build-{product}", [release, "--product", product], logs).wait_ok(1800)
    done = Child("bin-path", [release, "--show-bin-path"], logs).wait_ok(120)
    return done.stdout.strip().splitlines()[-1]


def make_image(work, nbytes):
    """Incompressible data with no zero blocks, so qemu-img and nbdcopy send every byte as a WRITE."""
    path = os.path.join(work, "image.raw")
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(nbytes // MIB):
            out.write(block)
        out.write(block[: nbytes % MIB])
    return path


def run_rounds(cases, rounds, facts):
    """Every case once per round; within a shape the contestants' order rotates, so none always goes first."""
    blocks = {}
    for case in cases:
        blocks.setdefault((case.group, case.shape), []).append(case)
    samples, errors = {}, {}
    for number in range(rounds):
        facts["load"].append((f"round {number + 1}", os.getloadavg()))
        for block in blocks.values():
            turn = number % len(block)
            for case in block[turn:] + block[:turn]:
                try:
                    sample = case.run()
                except BenchError as error:
                    errors.setdefault(case.key, []).append(str(error))
                    log(f"[{number + 1}/{rounds}] {case.group} {case.shape} {case.contestant}: FAILED {error}")
                    continue
                samples.setdefault(case.key, []).append(sample)
                rate = f", {sample.requests_per_s:.0f} req/s" if sample.requests else ""
                log(f"[{number + 1}/{rounds}] {case.group} {case.shape} {case.contestant}: "
                    f"{sample.mib_per_s:.0f} MiB/s{rate}")
    return samples, errors


def measure_extras(lab, args):
    """Peak RSS on a long stream, and start-up time against nbdkit's, alternating."""
    extras = {}
    log(f"peak RSS: nbd-streaming write mode, {args.rss_size // MIB} MiB stream, 32 MiB x4")
    try:
        rss = lab.nbd("streaming", args.rss_size, Shape(32 * MIB, 4), "write")
        extras["rss"] = {"bytes": args.rss_size, "mib": rss.server_rss_kib / 1024, "mib_per_s": rss.mib_per_s}
    except BenchError as error:
        log(f"peak RSS run FAILED: {error}")
    starts = {"nbd-streaming": [], "nbdkit null": []}
    commands = {"nbd-streaming": [lab.server, "-U", "-", f"write={lab.fifo}", "--run", "true"],
                "nbdkit null": ["nbdkit", "-U", "-", "null", "--run", "true"]}
    log(f"start-up: {args.startup_runs} runs of --run true each")
    try:
        for _ in range(args.startup_runs):
            for name, argv in commands.items():
                starts[name].append(lab.startup(argv))
        extras["startup_ms"] = {name: (median(t) * 1000, min(t) * 1000) for name, t in starts.items()}
    except BenchError as error:
        log(f"start-up runs FAILED: {error}")
    return extras


def log(message):
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

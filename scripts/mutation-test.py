#!/usr/bin/env python3
"""Mutation testing of the library's CPU build.

Applies each mutant of MUTANTS below (a plausible one-line bug: file, original
text, mutated text) alone to the source tree, rebuilds the test binaries in a
CPU-only build folder of its own (build-mutation/, with ccache when present:
only what the mutated file feeds recompiles), and runs the fast CPU tests with
ctest. A mutant is killed when some test fails (or times out), survived when
all pass. The source is restored after each mutant, also on Ctrl-C and
SIGTERM; a run ended by SIGKILL leaves a journal that the next run restores
first. A mutant whose original text is no longer found exactly once (the code
changed) is reported "not applied" and left out of the score.

Mutants marked `equivalent` cannot change any result (the reason is given);
every other survivor fails the run (exit 1). The score and the survivors are
recorded in docs/reliability.md, "Mutation testing".

Usage: scripts/mutation-test.py [--list | --check] [--only NAME ...] [--build-dir DIR]
                                [--jobs N] [--timeout S] [--report FILE] [--full]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The test binaries built for each mutant and the ctest selection run on it:
# the library's CPU tests (no tool, examples or installed package).
TARGETS = ["reference_test", "scenarios_test", "invalid_input_test", "population_api_test",
           "postsynaptic_test", "checkpoint_test", "parameters_test"]
CTEST_SELECT = r"^(" + "|".join(TARGETS) + r")\."


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    original: str
    mutated: str
    what: str
    equivalent: str = ""  # why the mutant cannot change a result; empty: it must be killed
    owner: str = ""       # who holds the test that kills it, when it is not in this branch


KIN = "include/bionmda/detail/kinetics.hpp"
ARGS = "include/bionmda/detail/step_args.hpp"
SETUP = "src/host/model_setup.cpp"
CPU = "src/host/cpu/cpu_kernels.cpp"
ENGINE = "src/host/cpu/cpu_engine.cpp"
REF = "src/host/reference.cpp"
POST = "src/host/postsynaptic.cpp"
POP = "src/host/population.cpp"

MUTANTS = [
    # --- the pulse length: the 1e-9 rule (model_setup.cpp) ---------------------------------
    Mutant("pulse-ceil", SETUP,
           "const double n = std::abs(ratio - nearest) <= 1e-9 * ratio ? nearest : std::ceil(ratio);",
           "const double n = false && std::abs(ratio - nearest) <= 1e-9 * ratio ? nearest : std::ceil(ratio);",
           "pulse length ceil(T_dur/dt), without the 1e-9 rule"),
    Mutant("pulse-tolerance-1e-3", SETUP, "<= 1e-9 * ratio ? nearest", "<= 1e-3 * ratio ? nearest",
           "pulse length with a 1e-3 relative tolerance"),
    Mutant("pulse-tolerance-absolute", SETUP, "<= 1e-9 * ratio ? nearest", "<= 1e-9 ? nearest",
           "pulse length with an absolute 1e-9 tolerance"),
    Mutant("pulse-floor", SETUP, "nearest : std::ceil(ratio)", "nearest : std::floor(ratio)",
           "pulse length rounded down off the grid"),
    Mutant("pulse-round-ceil", SETUP, "const double nearest = std::round(ratio);",
           "const double nearest = std::ceil(ratio);",
           "the nearest whole step taken as ceil"),
    Mutant("pulse-round-floor", SETUP, "const double nearest = std::round(ratio);",
           "const double nearest = std::floor(ratio);",
           "the nearest whole step taken as floor",
           equivalent="within the 1e-9 band floor(ratio) differs from round(ratio) only just below an "
                      "integer, where the rule takes ceil(ratio), that same integer"),
    Mutant("pulse-zero-ratio", SETUP, "if (ratio <= 0) return 0;", "if (ratio < 0) return 0;",
           "T_dur = 0 goes through the rule",
           equivalent="at ratio 0 the rule gives round(0) = 0 too (|0 - 0| <= 0)"),
    Mutant("pulse-max-off-by-one", SETUP, "BIONMDA_EXPECTS(n <= std::numeric_limits<countdown_t>::max(),",
           "BIONMDA_EXPECTS(n < std::numeric_limits<countdown_t>::max(),",
           "a pulse of exactly 65535 steps refused"),
    # --- validation (model_setup.cpp) --------------------------------------------------------
    Mutant("dt-zero-accepted", SETUP, "std::isfinite(dt) && dt > 0, \"dt must", "std::isfinite(dt) && dt >= 0, \"dt must",
           "dt = 0 passes the dt check (and is refused later, for another reason)"),
    Mutant("dt-infinite-accepted", SETUP, "BIONMDA_EXPECTS(std::isfinite(dt) && dt > 0,",
           "BIONMDA_EXPECTS(dt > 0,", "an infinite dt accepted"),
    Mutant("rate-infinite-accepted", SETUP, "if (std::isfinite(v) && v >= info.minimum) return;",
           "if (!std::isnan(v) && v >= info.minimum) return;", "an infinite rate or T_dur accepted"),
    Mutant("rate-zero-refused", SETUP, "if (std::isfinite(v) && v >= info.minimum) return;",
           "if (std::isfinite(v) && v > info.minimum) return;", "a rate of 0 (or T_dur = 0) refused"),
    Mutant("per-unit-length-longer", SETUP, "static_cast<std::int64_t>(a.size()) == units,",
           "static_cast<std::int64_t>(a.size()) >= units,", "a per-unit array longer than N accepted"),
    Mutant("initial-one-refused", SETUP, "std::isfinite(a) && a >= 0 && a <= 1;",
           "std::isfinite(a) && a >= 0 && a < 1;", "an initial value of exactly 1 refused"),
    # --- the per-unit update (kinetics.hpp) ------------------------------------------------
    Mutant("clamp-no-lower", KIN, "return v < Real(0) ? Real(0) : (v > Real(1) ? Real(1) : v);",
           "return v > Real(1) ? Real(1) : v;", "the [0, 1] clamp without its lower side"),
    Mutant("clamp-no-upper", KIN, "return v < Real(0) ? Real(0) : (v > Real(1) ? Real(1) : v);",
           "return v < Real(0) ? Real(0) : v;", "the [0, 1] clamp without its upper side"),
    Mutant("clamp-x-missing", KIN, "const Real x_new = clamp_unit_interval(x + hx * (ax * (Real(1) - x) - c.beta2 * x));",
           "const Real x_new = x + hx * (ax * (Real(1) - x) - c.beta2 * x);", "x not clamped"),
    Mutant("clamp-g-missing", KIN, "g = clamp_unit_interval(g + factor * fg);",
           "g = g + factor * fg;", "g not clamped"),
    Mutant("g-uses-old-x", KIN, "const Real ag = c.alpha1 * x_new;", "const Real ag = c.alpha1 * x;",
           "g updated with the old x"),
    Mutant("spike-no-restart", KIN, "const countdown_t start = spike ? pulse_steps : remaining;",
           "const countdown_t start = spike && remaining == 0 ? pulse_steps : remaining;",
           "a spike during a pulse does not restart it"),
    Mutant("pulse-never-ends", KIN, "return static_cast<countdown_t>(on ? start - 1 : 0);",
           "return static_cast<countdown_t>(on ? start : 0);", "the countdown never decreases"),
    Mutant("hx-always-on", KIN, "const Real hx = on ? c.hx_on : c.hx_off;", "const Real hx = c.hx_on;",
           "x's Euler factor of the pulse used between pulses"),
    Mutant("hx-on-without-beta2", KIN, "static_cast<Real>(euler_factor(dt, -(ax_on + beta2), j_fast)),",
           "static_cast<Real>(euler_factor(dt, -ax_on, j_fast)),", "x's factor during a pulse forgets beta2"),
    Mutant("euler-factor-limit", KIN, "return z == Real(0) ? dt : dt * (expm1(z) / z);",
           "return z == Real(0) ? Real(0) : dt * (expm1(z) / z);", "the factor's J = 0 limit set to 0",
           equivalent="J = 0 only where every rate of the update is 0, and then the factor multiplies f = 0"),
    # --- spike gates (step_args.hpp) ----------------------------------------------------------
    Mutant("poisson-threshold-le", ARGS, "draw_bits(key, static_cast<std::uint64_t>(e)) < threshold;",
           "draw_bits(key, static_cast<std::uint64_t>(e)) <= threshold;",
           "Poisson spike when the draw equals the threshold", owner="issue 10 item 15 (the Poisson threshold edge)"),
    Mutant("poisson-always-gt", ARGS, "gate.always = p >= poisson_certain;", "gate.always = p > poisson_certain;",
           "Poisson p = 1 exactly not 'every step'", owner="issue 10 item 15 (Poisson at rate x dt = 1)"),
    Mutant("presynaptic-ignores-batch", ARGS, "return mask[b * n_pre + sources[i]] != 0;",
           "return mask[b + sources[i]] != 0;", "presynaptic gate forgets the row stride n_pre"),
    # --- the CPU step (cpu_kernels.cpp) -----------------------------------------------------
    Mutant("tile-count-short", CPU, "const std::int64_t tiles_per_row = (N + tile - 1) / tile;",
           "const std::int64_t tiles_per_row = (N + tile - 2) / tile;",
           "a row of k * 8192 + 1 units loses its last tile"),
    Mutant("tile-tail-last-unit", CPU, "const std::int64_t i1 = std::min(N, i0 + tile);",
           "const std::int64_t i1 = std::min(N - 1, i0 + tile);", "the last unit of a row never updated"),
    Mutant("tile-flags-offset", CPU, "update_row<Real, PerUnit, Wide>(g, x, cd, i0, i1, m, byte_mask{flags, i0});",
           "update_row<Real, PerUnit, Wide>(g, x, cd, i0, i1, m, byte_mask{flags, 0});",
           "resolved spikes of a tile after the first read at the wrong offset"),
    Mutant("gate-row-ignored", CPU, "flags[i - i0] = spikes(row + i, b, i) ? 1 : 0;",
           "flags[i - i0] = spikes(i, b, i) ? 1 : 0;", "resolved gates see batch 0's element index"),
    Mutant("fused-sum-without-gmax", CPU, "acc += a.gmax[k] * g[k];", "acc += g[k];",
           "per-synapse sum without gmax"),
    # --- the CPU per-presynaptic sum (cpu_engine.cpp) ---------------------------------------
    Mutant("post-sum-batch-stride", ENGINE, "const Real* gb = g + b * a.units;", "const Real* gb = g + b * a.n_post;",
           "per-presynaptic sum reads the wrong batch row"),
    Mutant("post-sum-last-item", ENGINE,
           "parallel_for(c.exec(rows, post_parallel_threshold), (rows + rows_per_item - 1) / rows_per_item,",
           "parallel_for(c.exec(rows, post_parallel_threshold), rows / rows_per_item,",
           "per-presynaptic sum drops the last partial block of 512 rows"),
    Mutant("post-sum-row-start", ENGINE, "for (std::int64_t k = a.row_offsets[j]; k < a.row_offsets[j + 1]; ++k) {",
           "for (std::int64_t k = a.row_offsets[j] + 1; k < a.row_offsets[j + 1]; ++k) {",
           "per-presynaptic sum skips each row's first synapse"),
    # --- the float64 reference (reference.cpp) --------------------------------------------
    Mutant("reference-tolerance-1e-3", REF, "std::fabs(kd - ratio) <= 1e-9 * ratio;",
           "std::fabs(kd - ratio) <= 1e-3 * ratio;", "the reference's pulse rule with a 1e-3 tolerance"),
    Mutant("reference-below-le", REF, "const bool below = kd < ratio;", "const bool below = kd <= ratio;",
           "the reference counts k = T_dur/dt",
           equivalent="k = ratio exactly is also within the 1e-9 band, which stops the count first"),
    Mutant("reference-x-without-beta2", REF, "const double J = -(alpha2 * TT + beta2);",
           "const double J = -(alpha2 * TT);", "the reference's x factor forgets beta2"),
    # --- connectivity and state validation (postsynaptic.cpp, population.cpp) -------------------
    Mutant("csr-empty-row-refused", POST,
           "BIONMDA_EXPECTS(c.row_offsets[static_cast<std::size_t>(j + 1)] >= c.row_offsets[static_cast<std::size_t>(j)],",
           "BIONMDA_EXPECTS(c.row_offsets[static_cast<std::size_t>(j + 1)] > c.row_offsets[static_cast<std::size_t>(j)],",
           "an empty postsynaptic row refused"),
    Mutant("csr-source-out-of-range", POST, "BIONMDA_EXPECTS(c.source[k] >= 0 && c.source[k] < units,",
           "BIONMDA_EXPECTS(c.source[k] >= 0 && c.source[k] <= units,", "a source index = units accepted"),
    Mutant("mg-beta-zero-accepted", POST, "std::isfinite(mg.beta) && mg.beta > 0,", "std::isfinite(mg.beta) && mg.beta >= 0,",
           "Mg block beta = 0 accepted"),
    Mutant("presynaptic-source-out-of-range", POP, "BIONMDA_EXPECTS(s >= 0 && s < n_pre,",
           "BIONMDA_EXPECTS(s >= 0 && s <= n_pre,", "a presynaptic source = n_pre accepted"),
    Mutant("spike-event-out-of-range", POP, "BIONMDA_EXPECTS(e >= 0 && e < n, \"spike event",
           "BIONMDA_EXPECTS(e >= 0 && e <= n, \"spike event", "a spike event = N*B accepted"),
    Mutant("set-state-one-refused", POP,
           "BIONMDA_EXPECTS(std::isfinite(v.data[i]) && v.data[i] >= 0 && v.data[i] <= 1,",
           "BIONMDA_EXPECTS(std::isfinite(v.data[i]) && v.data[i] >= 0 && v.data[i] < 1,",
           "set_g / set_x refuse exactly 1"),
]


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def run(cmd, log, timeout=None, cwd=ROOT):
    """Runs cmd with output to log; returns its exit code (124 on timeout)."""
    with open(log, "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return 124
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


class Journal:
    """Original contents of the file under mutation, kept until it is restored."""

    def __init__(self, build: Path):
        self.path = build / "mutation-journal.json"

    def restore_leftover(self):
        if not self.path.exists():
            return
        entry = json.loads(self.path.read_text())
        target = ROOT / entry["file"]
        target.write_bytes(bytes.fromhex(entry["original"]))
        print(f"mutation-test: restored {entry['file']} left mutated by an interrupted run", file=sys.stderr)
        self.path.unlink()

    def hold(self, file: str, original: bytes):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"file": file, "original": original.hex()}))
        os.replace(tmp, self.path)

    def release(self):
        self.path.unlink(missing_ok=True)


def configure(build: Path, log: Path):
    cmd = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DBIONMDA_ENABLE_CUDA=OFF",
           "-DBIONMDA_BUILD_TESTS=ON", "-DBIONMDA_BUILD_TOOLS=OFF", "-DBIONMDA_BUILD_EXAMPLES=OFF",
           "-DBIONMDA_BUILD_BENCHMARKS=OFF", "-DBIONMDA_BUILD_FUZZERS=OFF", "-DBIONMDA_SANITIZE=",
           "-DBIONMDA_WERROR=ON"]
    if shutil.which("ccache"):
        cmd.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    if shutil.which("ninja") and not (build / "CMakeCache.txt").exists():
        cmd += ["-G", "Ninja"]
    if run(cmd, log) != 0:
        sys.exit(f"mutation-test: configuring {build} failed; see {log}")


def build_and_test(build: Path, log: Path, jobs: int, timeout: int, full: bool = False) -> tuple[str, list[str]]:
    """'build-failed', 'killed' or 'survived', and the failing tests (with full, all of them)."""
    if run(["cmake", "--build", str(build), "-j", str(jobs), "--target", *TARGETS], log) != 0:
        return "build-failed", []
    start = log.stat().st_size
    stop = [] if full else ["--stop-on-failure"]
    rc = run(["ctest", "--test-dir", str(build), "-R", CTEST_SELECT, "-LE", "gpu", "--no-tests=error", *stop,
              "--timeout", str(timeout), "-j", str(jobs), "--output-on-failure"], log)
    if rc == 0:
        return "survived", []
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    failed = re.findall(r"^\s*\d+ - (\S+) \((?:Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)[^)]*\)", text, re.M)
    return "killed", failed or ["(ctest exit %d)" % rc]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that each original text is found exactly once (builds nothing)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutants")
    ap.add_argument("--build-dir", default=str(ROOT / "build-mutation"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per test (a timeout kills the mutant)")
    ap.add_argument("--report", help="also write the results as a Markdown table to this file")
    ap.add_argument("--full", action="store_true",
                    help="run every selected test on each mutant and name all that fail (slower; the default "
                         "stops at the first failure)")
    args = ap.parse_args()

    names = [m.name for m in MUTANTS]
    assert len(set(names)) == len(names), "mutant names must be unique"
    if args.list:
        for m in MUTANTS:
            tag = " [equivalent]" if m.equivalent else ""
            print(f"{m.name:32} {m.file}: {m.what}{tag}")
        return 0
    if args.check:
        bad = 0
        for m in MUTANTS:
            path = ROOT / m.file
            hits = path.read_text().count(m.original) if path.exists() else 0
            if hits != 1:
                bad += 1
                print(f"{m.name}: original text found {hits} times in {m.file}")
        print(f"{len(MUTANTS) - bad} of {len(MUTANTS)} mutants apply")
        return 1 if bad else 0
    mutants = MUTANTS
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            sys.exit(f"mutation-test: unknown mutant(s): {' '.join(sorted(unknown))}")
        mutants = [m for m in MUTANTS if m.name in args.only]

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    build = Path(args.build_dir)
    build.mkdir(parents=True, exist_ok=True)
    journal = Journal(build)
    journal.restore_leftover()
    logs = build / "mutation-logs"
    logs.mkdir(exist_ok=True)
    os.environ.setdefault("CCACHE_BASEDIR", str(ROOT.parent))

    t0 = time.monotonic()
    (logs / "baseline.log").unlink(missing_ok=True)
    configure(build, logs / "baseline.log")
    status, failed = build_and_test(build, logs / "baseline.log", args.jobs, args.timeout)
    if status != "survived":
        sys.exit(f"mutation-test: the unmutated tree does not pass ({status} {failed}); see {logs / 'baseline.log'}")
    print(f"baseline: build and tests pass ({time.monotonic() - t0:.0f} s)", flush=True)

    results = []
    try:
        for m in mutants:
            path = ROOT / m.file
            original = path.read_bytes() if path.exists() else b""
            hits = original.count(m.original.encode())
            if hits != 1:
                why = "original text not found" if hits == 0 else f"original text found {hits} times"
                results.append((m, "not applied", [why], 0.0))
                print(f"{m.name:32} not applied ({why})", flush=True)
                continue
            log = logs / f"{m.name}.log"
            log.unlink(missing_ok=True)
            t = time.monotonic()
            journal.hold(m.file, original)
            try:
                path.write_bytes(original.replace(m.original.encode(), m.mutated.encode()))
                status, failed = build_and_test(build, log, args.jobs, args.timeout, args.full)
            finally:
                path.write_bytes(original)
                journal.release()
            secs = time.monotonic() - t
            results.append((m, status, failed, secs))
            detail = ", ".join(failed if args.full else failed[:3]) + (" ..." if len(failed) > 3 and not args.full else "")
            print(f"{m.name:32} {status:12} {secs:5.0f} s  {detail}", flush=True)
    except Interrupted as e:
        print(f"mutation-test: interrupted ({e}); source restored", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    applied = [r for r in results if r[1] in ("killed", "survived")]
    equivalent = [r for r in applied if r[0].equivalent]
    counted = [r for r in applied if not r[0].equivalent]
    killed = [r for r in counted if r[1] == "killed"]
    survivors = [r for r in counted if r[1] == "survived"]
    wrongly_equivalent = [r for r in equivalent if r[1] == "killed"]
    print()
    print(f"score: {len(killed)} of {len(counted)} non-equivalent mutants killed; "
          f"{len(equivalent)} equivalent, {len(results) - len(applied)} not applied or not built; "
          f"{time.monotonic() - t0:.0f} s in all")
    for m, status, failed, _ in results:
        if status in ("not applied", "build-failed"):
            print(f"  {status}: {m.name} ({', '.join(failed) or m.file})")
    for m, *_ in survivors:
        print(f"  SURVIVED: {m.name}: {m.what}" + (f" (killed by the test of {m.owner})" if m.owner else ""))
    for m, *_ in [r for r in equivalent if r[1] == "survived"]:
        print(f"  equivalent, survived: {m.name}: {m.equivalent}")
    for m, *_ in wrongly_equivalent:
        print(f"  KILLED though marked equivalent (revise the list): {m.name}")
    if args.report:
        with open(args.report, "w") as f:
            f.write("| mutant | file | what | result | killed by |\n|---|---|---|---|---|\n")
            for m, status, failed, _ in results:
                shown = status + (" (equivalent)" if m.equivalent else "")
                f.write(f"| {m.name} | {m.file} | {m.what} | {shown} | {', '.join(failed if args.full else failed[:2])} |\n")
    return 1 if survivors or wrongly_equivalent or any(r[1] == "build-failed" for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Interrupted as e:  # before or after the mutants: no source is mutated then
        print(f"mutation-test: interrupted ({e})", file=sys.stderr)
        sys.exit(130)

#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the test suite. Extra arguments go to pytest.
# Exit code 5 from pytest (no test collected) is a failure here, never a silent pass.
#
# The suite runs on two pytest-xdist workers: most of its time is XLA compiling, which is single-threaded, so one
# process leaves the second core of the 2-core CI machine mostly idle. Two workers, not `-n auto`: on a bigger
# machine each worker's XLA already spreads its computations over the cores, and more workers mostly add memory
# (each holds its own JAX runtime with 8 fake devices) and repeat the module-scoped fixtures. `--dist worksteal`
# evens out the tail: a worker that runs out of tests takes half of the other's queue. Pass `-n 0` (the last -n
# wins) to run in one process, e.g. under a debugger.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/python -m pytest -q -m "not slow" -n 2 --dist worksteal "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "[test] pytest collected no tests: failing." >&2; exit 1; fi
exit $rc

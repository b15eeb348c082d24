#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the test suite. Extra arguments go to pytest.
# Exit code 5 from pytest (no test collected) is a failure here, never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
.venv/bin/python -m pytest -q -m "not slow" "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "[test] pytest collected no tests: failing." >&2; exit 1; fi
exit $rc

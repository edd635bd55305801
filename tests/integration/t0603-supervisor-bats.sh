#!/bin/sh
# The supervisor (scripts/sensorpipe): shellcheck-clean, and its bats tests
# (tests/bats/*.bats: start/status/stop, the graph's arguments, permanent
# exits, restart backoff, the lock, ensure, stop order) against stand-in
# stages and the real sp-journal.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v bats >/dev/null || fail "bats is not installed (scripts/install-deps)"
command -v shellcheck >/dev/null || fail "shellcheck is not installed"
shellcheck "$SP_ROOT/scripts/sensorpipe" "$SP_ROOT/tests/bats/fake-stage" ||
	fail "shellcheck found problems"
[ -x "$SP_BIN/sp-journal" ] || fail "sp-journal not built in $SP_BIN"
TMPDIR=$TMP bats "$SP_ROOT/tests/bats" || fail "bats tests failed"

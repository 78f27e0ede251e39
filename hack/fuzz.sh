#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZTIME, default 20s each) and
# prints executions and crashes per target. Writes a machine-readable summary
# (FUZZ_SUMMARY, default build/fuzz-summary.json) that the reliability report
# reads. Also proves that the resolver's tests build for Windows.
# Exit status: non-zero when any target found a crash or failed to run.
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-20s}
SUMMARY=${FUZZ_SUMMARY:-build/fuzz-summary.json}
LOGDIR=${FUZZ_LOGDIR:-build/fuzz}
mkdir -p "$(dirname "$SUMMARY")" "$LOGDIR"

# package:target
TARGETS=(
	./api/fsroot:FuzzClean
	./api/ziputil:FuzzValidateExtract
	./driver:FuzzParseDuration
	./driver:FuzzPlanTask
	./ps:FuzzDecodeResponse
)

status=0
entries=()
for t in "${TARGETS[@]}"; do
	pkg=${t%%:*}
	name=${t##*:}
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1
	rc=$?
	retried=0
	# A finding always writes its input under testdata/fuzz, and a failing
	# seed fails again. A failure with neither is the fuzzing engine itself
	# (a worker lost on a loaded machine): show it and run the target once more.
	if [ $rc -ne 0 ] && ! grep -q 'Failing input written to' "$log"; then
		echo "  $name exited $rc without a failing input; its log ends:"
		tail -n 15 "$log" | sed 's/^/    /'
		cp "$log" "$log.first"
		retried=1
		"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1
		rc=$?
	fi
	secs=$(( $(date +%s) - start ))
	# The last "fuzz: elapsed: ..., execs: N (...)" line has the total.
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}')
	execs=${execs:-0}
	crashes=0
	failing=""
	if [ $rc -ne 0 ]; then
		status=1
		if grep -q 'Failing input written to' "$log"; then
			crashes=1
			failing=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | tail -1)
		fi
	fi
	printf '%-22s %-16s execs=%-10s crashes=%s rc=%s (%ss)\n' "$name" "$pkg" "$execs" "$crashes" "$rc" "$secs"
	[ -n "$failing" ] && echo "  failing input: $pkg/$failing"
	[ $rc -ne 0 ] && tail -n 30 "$log" | sed 's/^/    /'
	entries+=("$(printf '{"target":"%s","package":"%s","fuzztime":"%s","seconds":%d,"execs":%d,"crashes":%d,"exit":%d,"retried":%d,"failing_input":"%s"}' \
		"$name" "$pkg" "$FUZZTIME" "$secs" "$execs" "$crashes" "$rc" "$retried" "$failing")")
done

# The resolver's Windows rules are string rules tested on every OS; its
# test binary must also build for Windows (it has Windows-only files).
win_rc=0
GOOS=windows GOARCH=amd64 "$GO" test -c -o /dev/null ./api/fsroot ./api/ziputil >"$LOGDIR/windows-build.log" 2>&1 || win_rc=$?
[ $win_rc -ne 0 ] && status=1
echo "GOOS=windows go test -c ./api/fsroot ./api/ziputil: exit $win_rc"

{
	printf '{"go":"%s","date":"%s","fuzztime":"%s","windows_test_build_exit":%d,"targets":[' \
		"$("$GO" env GOVERSION)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$FUZZTIME" "$win_rc"
	(IFS=,; printf '%s' "${entries[*]}")
	printf ']}\n'
} >"$SUMMARY"
echo "summary: $SUMMARY"
exit $status

#!/bin/sh
# sp-journal against real journals: append with rotation, register, list
# (lag in lines and bytes), follow as a consumer in another process, resume
# after kill -9 without losing a line, cat from a cursor and from a time,
# reset to replay, the writer lock, a torn line cut by the next writer,
# verify (ok, then 65 on damage), and the max-size drop (logged, counted,
# the consumer's lost bytes reported).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

J=$TMP/j
SPJ=$SP_BIN/sp-journal

# kv FILE KEY [LINE-PATTERN]: the value of KEY= on the first matching line
kv() {
	sed -n "/${3:-.}/{s/.*[ ^]$2=\\([^ ]*\\).*/\\1/p;q}" "$1"
}

gen() {	# gen FROM TO: readings with increasing times
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
		printf "{\"time\":\"2026-11-26T04:%02d:%02dZ\",\"measurement\":\"env\",\"tags\":{\"sensor_id\":\"s-%d\"},\"fields\":{\"n\":%d}}\n",
			int(i / 60) % 60, i % 60, i % 7, i }'
}

# -- usage and a missing journal
status=0
"$SPJ" >/dev/null 2>&1 || status=$?
assert_eq 64 "$status" "no command"
status=0
"$SPJ" list "$TMP/none" >/dev/null 2>&1 || status=$?
assert_eq 66 "$status" "list of a missing journal"

# -- register before the writer exists, append 3000 lines into 16 KiB
# segments, list the lag
"$SPJ" register "$J" sink >"$TMP/reg.out"
assert_eq "new" "$(kv "$TMP/reg.out" registered)" "register"
"$SPJ" register "$J" sink >"$TMP/reg2.out"
assert_eq "already" "$(kv "$TMP/reg2.out" registered)" "register again"
gen 0 2999 >"$TMP/all.ndjson"
"$SPJ" append "$J" --segment-size 16KiB <"$TMP/all.ndjson"
bytes=$(wc -c <"$TMP/all.ndjson" | tr -d ' ')
"$SPJ" list "$J" >"$TMP/list.out"
segs=$(kv "$TMP/list.out" segments '^journal=')
[ "$segs" -ge 10 ] || fail "expected rotation into >=10 segments, got $segs"
assert_eq "$bytes" "$(kv "$TMP/list.out" bytes '^journal=')" "journal bytes"
assert_eq 3000 "$(kv "$TMP/list.out" lag_lines 'consumer=sink')" "sink lag lines"
assert_eq "$bytes" "$(kv "$TMP/list.out" lag_bytes 'consumer=sink')" \
	"sink lag bytes"
"$SPJ" list "$J" --no-lines >"$TMP/list-fast.out"
assert_eq "$bytes" "$(kv "$TMP/list-fast.out" lag_bytes 'consumer=sink')" \
	"sink lag bytes (--no-lines)"
grep -q lag_lines "$TMP/list-fast.out" && fail "--no-lines printed lag_lines"
"$SPJ" cat "$J" >"$TMP/cat.out"
assert_file_eq "$TMP/all.ndjson" "$TMP/cat.out"

# -- follow as consumer 'sink' in the background, kill -9 it, append more,
# restart it: it resumes from its cursor; the two outputs together hold
# every line, and the second ends with exactly the new ones (at-least-once)
spawn "$SPJ" follow "$J" sink >"$TMP/f1.out" 2>"$TMP/f1.err"
f1=$LAST_PID
wait_lines "$TMP/f1.out" 3000 10
kill -KILL "$f1"
stop_pid "$f1" 1
gen 3000 3999 >"$TMP/more.ndjson"
"$SPJ" append "$J" --segment-size 16KiB <"$TMP/more.ndjson"
"$SPJ" follow "$J" sink --idle-exit 500ms >"$TMP/f2.out" 2>"$TMP/f2.err"
cat "$TMP/all.ndjson" "$TMP/more.ndjson" >"$TMP/expect.ndjson"
tail -n 1000 "$TMP/f2.out" >"$TMP/f2.tail"
assert_file_eq "$TMP/more.ndjson" "$TMP/f2.tail"
first=$(head -n 1 "$TMP/f2.out")
grep -qxF "$first" "$TMP/all.ndjson" "$TMP/more.ndjson" ||
	fail "resumed at a line that was never written: $first"
sort -u "$TMP/f1.out" "$TMP/f2.out" | wc -l >"$TMP/distinct"
assert_eq 4000 "$(tr -d ' ' <"$TMP/distinct")" "distinct lines followed"
note "after kill -9 the follower read $(wc -l <"$TMP/f2.out") lines, from: $first"
# the consumer has read everything: its lag is 0 and old segments are gone
"$SPJ" list "$J" >"$TMP/list2.out"
assert_eq 0 "$(kv "$TMP/list2.out" lag_lines 'consumer=sink')" "lag after"
assert_eq 1 "$(kv "$TMP/list2.out" segments '^journal=')" \
	"segments left once every consumer passed them"

# -- follow latency across processes: a line appended while a follower
# waits reaches its output within a second (inotify; typically ~1 ms)
spawn "$SPJ" follow "$J" live >"$TMP/live.out" 2>"$TMP/live.err"
live=$LAST_PID
wait_for 5 test -f "$J/cursor.live"
status=0
"$SPJ" reset "$J" live --to-end >/dev/null 2>"$TMP/reset-busy.err" || status=$?
assert_eq 75 "$status" "reset of a running consumer"
t0=$(date +%s%3N)
echo '{"time":"2026-11-26T05:00:00Z","live":1}' | "$SPJ" append "$J"
wait_for 5 grep -q '"live":1' "$TMP/live.out"
t1=$(date +%s%3N)
note "follow latency through a process boundary: $((t1 - t0)) ms"
[ $((t1 - t0)) -lt 1000 ] || fail "follow took $((t1 - t0)) ms"
stop_pid "$live" 5
assert_eq 0 "$LAST_STATUS" "follow exit status on SIGTERM"

# -- the writer lock: a second writer is refused with 75
mkfifo "$TMP/fifo"
exec 7<>"$TMP/fifo"
spawn "$SPJ" append "$J" <"$TMP/fifo" 7>&- 2>"$TMP/w1.err"
w1=$LAST_PID
wait_for 5 sh -c "'$SPJ' list '$J' | grep -q writer=running"
status=0
echo '{}' | "$SPJ" append "$J" 2>"$TMP/w2.err" || status=$?
assert_eq 75 "$status" "second writer"
grep -q "has another writer (pid $w1)" "$TMP/w2.err" ||
	fail "second writer message: $(cat "$TMP/w2.err")"
exec 7>&-
wait_for 5 sh -c "! kill -0 $w1 2>/dev/null"

# -- cat --since starts at the first line at or after the time;
# cat --from-consumer prints what that consumer has not handled
"$SPJ" cat "$J" --since 2026-11-26T04:59:59Z >"$TMP/since.out"
assert_eq '{"time":"2026-11-26T05:00:00Z","live":1}' "$(cat "$TMP/since.out")" \
	"cat --since"
"$SPJ" register "$J" late >/dev/null
"$SPJ" cat "$J" --from-consumer sink >"$TMP/from.out"
assert_eq 1 "$(wc -l <"$TMP/from.out" | tr -d ' ')" "lines after sink's cursor"

# -- reset --to-start replays what the journal holds
"$SPJ" reset "$J" sink --to-start >"$TMP/reset.out"
"$SPJ" cat "$J" --from-consumer sink >"$TMP/replay.out"
"$SPJ" cat "$J" >"$TMP/whole.out"
assert_file_eq "$TMP/whole.out" "$TMP/replay.out"

# -- a crash mid-write leaves a torn line: readers never see it, the next
# writer cuts it with a warning, verify is clean afterwards
for last in "$J"/*.ndjson; do :; done
printf '{"time":"2026-11-26T05:00:01Z","torn' >>"$last"
"$SPJ" verify "$J" >"$TMP/verify-torn.out" || true
grep -q 'incomplete last line' "$TMP/verify-torn.out" ||
	fail "verify did not report the torn line"
echo '{"time":"2026-11-26T05:00:02Z","after":1}' |
	"$SPJ" append "$J" 2>"$TMP/cut.err"
grep -q 'cut a torn last line' "$TMP/cut.err" || fail "no cut warning"
"$SPJ" verify "$J" >"$TMP/verify.out"
grep -q '^ok ' "$TMP/verify.out" || fail "verify: $(cat "$TMP/verify.out")"
tail -n 1 "$last" >"$TMP/lastline"
assert_eq '{"time":"2026-11-26T05:00:02Z","after":1}' "$(cat "$TMP/lastline")" \
	"line after the cut"

# -- verify finds a line that is no JSON: exit 65
echo 'not json' >>"$last"
status=0
"$SPJ" verify "$J" >"$TMP/verify-bad.out" || status=$?
assert_eq 65 "$status" "verify exit status on damage"
grep -q 'invalid JSON' "$TMP/verify-bad.out" || fail "verify detail missing"

# -- JOURNAL_MAX_SIZE: past 64 KiB the oldest segments go, logged at error
# level with a count; the consumer that needed them reports its loss
J2=$TMP/j2
"$SPJ" register "$J2" slow >/dev/null
gen 0 2999 | JOURNAL_MAX_SIZE=64KiB "$SPJ" append "$J2" \
	--segment-size 16KiB 2>"$TMP/drop.err"
grep -q 'error: JOURNAL_MAX_SIZE reached: dropped the oldest segment' \
	"$TMP/drop.err" || fail "no drop error logged: $(cat "$TMP/drop.err")"
dropped_lines=$(sed -n 's/.* lines=\([0-9]*\)$/\1/p' "$TMP/drop.err" |
	awk '{ s += $1 } END { print s }')
"$SPJ" list "$J2" >"$TMP/list3.out"
total=$(kv "$TMP/list3.out" bytes '^journal=')
[ "$total" -le 65536 ] || fail "journal holds $total bytes past 64 KiB"
"$SPJ" follow "$J2" slow --idle-exit 300ms >"$TMP/slow.out" 2>"$TMP/slow.err"
grep -q 'lost_bytes=[1-9]' "$TMP/slow.err" ||
	fail "no loss reported: $(cat "$TMP/slow.err")"
got=$(wc -l <"$TMP/slow.out" | tr -d ' ')
assert_eq 3000 "$((got + dropped_lines))" "lines kept + lines dropped"
note "max size: dropped $dropped_lines lines, consumer read $got"

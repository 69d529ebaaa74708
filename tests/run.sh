#!/bin/sh
# tests/run.sh TEST... -- REPLAY...
# Runs each test binary (from the repository root) and each fuzz replay on its seed corpus
# (fuzz/corpus/<name>/), sums the per-binary counts and ends with "N passed, N failed".
passed=0; failed=0; skipped=0; bad=""
mode=test
for t in "$@"; do
    if [ "$t" = "--" ]; then mode=replay; continue; fi
    if [ $mode = test ]; then
        out=$("$t" 2>&1); rc=$?
    else
        name=$(basename "$t" | sed 's/^replay_fuzz_//')
        out=$("$t" "fuzz/corpus/$name" 2>&1); rc=$?
    fi
    line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "$t: crashed or printed no summary (exit $rc)"
        failed=$((failed + 1)); bad="$bad $t"; continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then printf '%s\n' "$out" | grep -v '^SKIP' | tail -n 40; bad="$bad $t"; fi
    printf '%s\n' "$out" | grep '^SKIP' | sort -u
    echo "$line"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
done
[ -n "$bad" ] && echo "failing:$bad"
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]

#!/bin/bash
# tests/compat/run.sh — real clients that no one here wrote, pointed at `finerank serve`:
# the Cohere TypeScript SDK (cohere_sdk.js) and LangChain JS's CohereRerank (langchain.js),
# against the tiny random-weight model in tests/data/models/bert-gelu.
# The pinned npm packages (tests/compat/package.json) are installed into
# $FR_COMPAT_CACHE (default ~/.cache/finerank-compat) when missing; when node/npm or the npm
# registry is unreachable the test is skipped with a message (exit 0).
# Ends with "compat: N passed, N failed[, N skipped]". Run from anywhere after `make`.
set -u
cd "$(dirname "$0")/../.."
BUILD=${FR_BUILD:-build}
CACHE=${FR_COMPAT_CACHE:-$HOME/.cache/finerank-compat}
skip() { echo "SKIP compat: $1"; echo "compat: 0 passed, 0 failed, 1 skipped"; exit 0; }

[ -x "$BUILD/finerank" ] || { echo "compat: $BUILD/finerank missing (run make)"; echo "compat: 0 passed, 1 failed"; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed"
if ! cmp -s tests/compat/package.json "$CACHE/package.json" ||
   [ ! -d "$CACHE/node_modules/cohere-ai" ] || [ ! -d "$CACHE/node_modules/@langchain/cohere" ]; then
    echo "compat: installing pinned npm packages into $CACHE"
    mkdir -p "$CACHE" && cp tests/compat/package.json "$CACHE/package.json"
    (cd "$CACHE" && timeout 600 npm install --no-audit --no-fund --loglevel=error) ||
        { rm -f "$CACHE/package.json"; skip "npm install failed (registry unreachable?)"; }
fi

tmp=$(mktemp -d)
trap 'kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
"$BUILD/finerank" serve --model tests/data/models/bert-gelu --port 0 >"$tmp/out" 2>"$tmp/err" &
srv=$!
port=
for _ in $(seq 1 300); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
    [ -n "$port" ] && break
    kill -0 $srv 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    cat "$tmp/err"; echo "compat: server did not start"; echo "compat: 0 passed, 1 failed"; exit 1
fi
base="http://127.0.0.1:$port"
passed=0; failed=0
for t in cohere_sdk langchain; do
    out=$(NODE_PATH="$CACHE/node_modules" timeout 120 node "tests/compat/$t.js" "$base" 2>&1)
    rc=$?
    echo "$out"
    line=$(echo "$out" | grep -E "^compat_$t: [0-9]+ passed, [0-9]+ failed" | tail -n 1)
    if [ -z "$line" ]; then failed=$((failed + 1)); continue; fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
done
kill -TERM $srv
wait $srv; rc=$?
if [ $rc -eq 0 ]; then passed=$((passed + 1)); else echo "compat: server exit status $rc after SIGTERM"; failed=$((failed + 1)); fi
echo "compat: $passed passed, $failed failed"
[ $failed -eq 0 ]

# bench/serve/common.sh — sourced by run.sh, soak.sh and ab.sh: makes the scratch dir $tmp,
# builds the load client, writes the request bodies, starts `finerank serve` on an ephemeral
# port and reads its RSS. At exit it stops every server it started (those the caller has
# not) and removes $tmp. Needs: BUILD (build dir), MODEL; sets tmp, srv and port.

tmp=$(mktemp -d)
serve_pids=
trap 'for p in $serve_pids; do kill $p 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

# The load client (bench/serve/load.c) against the built library, into $tmp/load.
serve_build_load() {
    make -s "$BUILD/finerank" "$BUILD/libfinerank.a"
    cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/serve/load.c "$BUILD/libfinerank.a" \
        $(pkg-config --cflags --libs jansson libutf8proc libpcre2-8 openblas libcurl libmicrohttpd libcrypto) \
        -lstemmer -lz -lm -lpthread -o "$tmp/load"
}

# $tmp/rerank.json (100 documents of WORDS random data/sample words, seeded) and
# $tmp/search.json; and the index of data/sample in $tmp/ix.
serve_make_inputs() {
    /usr/bin/python3 - "$tmp" "$1" <<'PY'
import json, random, sys
out = sys.argv[1]
words = " ".join(json.loads(l)["text"] for l in open("data/sample/corpus.jsonl")).split()
rng = random.Random(5)
n_words = int(sys.argv[2])
docs = [" ".join(rng.choice(words) for _ in range(n_words)) for _ in range(100)]
json.dump({"query": "how should people with diabetes control blood sugar", "documents": docs},
          open(out + "/rerank.json", "w"))
json.dump({"query": "diabetes blood sugar diet exercise", "k": 10}, open(out + "/search.json", "w"))
PY
    "$BUILD/finerank" index build --corpus data/sample/corpus.jsonl --index "$tmp/ix" >/dev/null
}

# Starts the server (extra flags in "$@") with OpenBLAS's environment overrides removed;
# waits for its port. FINERANK: the binary (default $BUILD/finerank).
serve_start() {
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${FINERANK:-$BUILD/finerank}" serve --model "$MODEL" \
        --index "$tmp/ix" --port 0 "$@" >"$tmp/out" 2>"$tmp/err" &
    srv=$!
    serve_pids="$serve_pids $srv"
    port=
    for _ in $(seq 1 600); do
        port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$tmp/err"; exit 1; }
}

# The server's resident set in kB.
serve_rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$srv/status"; }

# CPU milliseconds (user + system) the process $1 has used so far.
serve_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$1/stat"; }

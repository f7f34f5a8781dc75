#!/bin/sh
# The openai embedding provider (t/unit/embed_openai.c) against the stand-in
# t/stand-ins/openai-embeddings: this starts the stand-in on a free loopback
# port with an API key, runs the C test, which prints TAP itself, and stops
# the stand-in whatever happens.  No stack needed.
bin="${BUILD_DIR:-build/asan}/t/embed_openai"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aiget-openai.XXXXXX") || exit 1
stop() {
	[ -s "$tmp/pid" ] && kill "$(cat "$tmp/pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 130' INT TERM

port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport')
key="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
t/stand-ins/openai-embeddings --port "$port" --api-key "$key" --pidfile "$tmp/pid" 2>"$tmp/log" &
for _ in $(seq 100); do [ -s "$tmp/pid" ] && break; sleep 0.05; done
if [ ! -s "$tmp/pid" ]; then
	echo "1..0 # SKIP the stand-in did not start: $(cat "$tmp/log")"
	exit 0
fi

AIGET_OPENAI_URL="http://127.0.0.1:$port" AIGET_OPENAI_KEY="$key" "$bin"

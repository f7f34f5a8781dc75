#!/bin/sh
# The C unit test of shared/ for the local embedder (t/unit/embed_local.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/embed_local"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

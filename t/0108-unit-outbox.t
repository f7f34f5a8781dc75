#!/bin/sh
# The C unit test of shared/ for outbox (t/unit/outbox.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/outbox"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

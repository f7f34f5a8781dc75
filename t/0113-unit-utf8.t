#!/bin/sh
# The C unit test of shared/ for utf8 (t/unit/utf8.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/utf8"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

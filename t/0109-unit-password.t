#!/bin/sh
# The C unit test of shared/ for password and email (t/unit/password.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/password"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

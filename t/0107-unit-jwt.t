#!/bin/sh
# The C unit test of shared/ for jwt (t/unit/jwt.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/jwt"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

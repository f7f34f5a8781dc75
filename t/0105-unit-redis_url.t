#!/bin/sh
# The C unit test of shared/ for redis_url (t/unit/redis_url.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/redis_url"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

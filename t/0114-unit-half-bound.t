#!/bin/sh
# The C unit test of shared/memory_vectors.c's half-precision bound (t/unit/half_bound.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/half_bound"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

#!/bin/sh
# The C unit test of shared/embed.c's vector text (t/unit/embed_text.c), which prints TAP itself.
bin="${BUILD_DIR:-build/asan}/t/embed_text"
[ -x "$bin" ] || { echo "1..0 # SKIP $bin not built (run make test)"; exit 0; }
exec "$bin"

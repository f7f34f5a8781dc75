#!/usr/bin/perl
# The console in a real browser: node's test runner over t/browser/*.test.mjs
# (Debian's chromium driven by playwright-core, t/browser/lib.mjs), against
# the harness's stack.  t/browser/tap.mjs turns node's events into plain
# TAP on this script's stdout, so prove counts each top-level browser test
# as a test, and a failing one (or a file that does not load) fails this
# script; the failures' messages go to stderr.  The pinned npm packages
# are installed first when missing or stale (t/browser/setup).
#
# AIGET_BROWSER_TESTS names the files to run instead of all of them
# (space-separated, relative to the source tree), e.g.
#   AIGET_BROWSER_TESTS=t/browser/smoke.test.mjs t/harness t/6000-console-browser.t
# Without chromium or node the script fails: make test installs both, and a
# skip here would hide every browser test.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();
my $src = $ENV{AIGET_SRC} // '.';
my $chromium = $ENV{AIGET_CHROMIUM} || '/usr/bin/chromium';
BAIL_OUT("no chromium at $chromium (make deps installs it)") unless -x $chromium;
BAIL_OUT('no node on PATH (make deps installs it)') unless system('node --version >/dev/null 2>&1') == 0;

my @files = $ENV{AIGET_BROWSER_TESTS} ? map { m{^/} ? $_ : "$src/$_" } split ' ', $ENV{AIGET_BROWSER_TESTS}
                                      : glob("$src/t/browser/*.test.mjs");
BAIL_OUT('no browser tests in t/browser') unless @files;
-f $_ or BAIL_OUT("no such browser test: $_") for @files;

# This run's screenshots only: a picture left by an earlier run (a failed
# step's) would say something this run did not.
unlink glob("$src/t/browser/artifacts/*.png") unless $ENV{AIGET_BROWSER_TESTS};

# The pinned packages, installed once per lock file; npm speaks on stderr.
system("$src/t/browser/setup") == 0 or BAIL_OUT('t/browser/setup (npm ci) failed');

# Node's TAP goes straight to prove; nothing of this script's precedes it.
exec('node', '--test', "--test-reporter=$src/t/browser/tap.mjs", @files) or BAIL_OUT("node: $!");

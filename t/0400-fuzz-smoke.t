#!/usr/bin/perl
# The libFuzzer harnesses of fuzz/ (make fuzz-smoke): each is built (clang,
# BUILD=fuzz: libFuzzer, ASan, UBSan) and run for FUZZ_SMOKE_SECONDS (3)
# from its seeds, which it replays first, so that every input a fuzzer ever
# broke the code with (fuzz/corpus/<name>/) is tried again.  A crash, a
# leak, a broken property or a timeout fails the harness's test, which shows
# fuzz/run's report: the kind of failure, the reproducer's path under
# build/fuzz/artifacts/ and the command that runs it again.  Every harness
# has a handful of seeds.  The stack is not needed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;

my $src = $ENV{AIGET_SRC} // '.';
my $seconds = $ENV{FUZZ_SMOKE_SECONDS} // 3;
my @harnesses = map { m{/fuzz/(\w+)\.c$} ? $1 : () } glob("$src/fuzz/*.c");
cmp_ok(scalar @harnesses, '>=', 10, 'the harnesses of fuzz/ were found (' . scalar(@harnesses) . ')');

# Never skipped: make test installs clang and its runtimes (spawn/dev/install-deps).
my $build = `make -s -C '$src' -j2 BUILD=fuzz fuzz-bin 2>&1`;
is($?, 0, 'make BUILD=fuzz fuzz-bin builds every harness') or diag($build);

for my $name (@harnesses) {
	my @seeds = glob("$src/fuzz/corpus/$name/*");
	cmp_ok(scalar @seeds, '>=', 3, "$name: has seeds in fuzz/corpus/$name");
	my $out = `'$src/fuzz/run' --smoke --seconds $seconds '$name' 2>&1`;
	ok($? == 0, "$name: no crash, leak, broken property or timeout in $seconds s") or diag($out);
	note($out =~ s/\n\z//r);
}

done_testing();

#!/usr/bin/perl
# The GNUmakefile's promises about flags and the version:
#  - CFLAGS adds to a build's flags and never replaces them: with CFLAGS in
#    the environment or on the command line, BUILD=asan still compiles and
#    links with the sanitizers (else the sweep of t/9990 would pass on code
#    that was never instrumented);
#  - the responders' --version is `git describe` of the tree they were built
#    from, and a new version rebuilds the objects that include version.h and
#    no others (checked in a scratch build directory of the test's own).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);

my $src = $ENV{AIGET_SRC} // '.';
my $build = $ENV{BUILD_DIR} // 'build/asan';
my $san = qr/(?:^|\s)-fsanitize=address,undefined(?:\s|$)/;

# --- the sanitizers stay, whatever CFLAGS says
for my $how ('environment', 'command line') {
	local $ENV{CFLAGS} = $how eq 'environment' ? '-O0' : undef;
	my @cmd = ('make', '-s', '-C', $src, '-n', '-B', 'BUILD=asan', ($how eq 'command line' ? ('CFLAGS=-O0') : ()),
		'build/asan/shared/arena.o', 'build/asan/t/arena');
	open(my $fh, '-|', @cmd) or die "make: $!";
	my @lines = <$fh>;
	close $fh;
	is($?, 0, "CFLAGS=-O0 in the $how: make -n runs");
	my ($compile) = grep { /-c -o build\/asan\/shared\/arena\.o / } @lines;
	my ($link) = grep { /-o build\/asan\/t\/arena / } @lines;
	like($compile // '', $san, "CFLAGS in the $how: the compile keeps the sanitizers");
	like($compile // '', qr/ -O1 .* -O0 /, "and CFLAGS comes after the build's flags, so it wins");
	like($link // '', $san, "CFLAGS in the $how: the link has them too");
}

# --- --version is git describe
SKIP: {
	my $describe = `git -C '$src' describe --always --dirty 2>/dev/null`;
	skip 'not a git checkout', 4 unless $? == 0 && $describe ne '';
	chomp $describe;
	for my $area (qw(auth keys tenants memox)) {
		my $v = `'$build/bin/$area.fcgi' --version`;
		chomp $v;
		is($v, "$area $describe", "$area.fcgi --version is git describe");
	}
}

# --- a new version rebuilds what includes version.h, and only that
my $out = tempdir(CLEANUP => 1);
sub make_objects {
	my $version = shift;
	my $text = `make -C '$src' BUILD=release OUT='$out' CFLAGS=-O0 VERSION=$version '$out/shared/health.o' '$out/shared/arena.o' 2>&1`;
	is($?, 0, "make with version $version") or diag($text);
	return join ' ', sort map { m{-o \Q$out\E/(\S+)} ? $1 : () } split /\n/, $text;
}
sub object_has { open(my $fh, '<:raw', "$out/shared/$_[0]") or return 0; local $/; return index(<$fh>, $_[1]) >= 0 }
is(make_objects('t0300-one'), 'shared/arena.o shared/health.o', 'the first build compiles both objects');
ok(object_has('health.o', 't0300-one'), 'health.o has the version');
is(make_objects('t0300-one'), '', 'the same version again: nothing is compiled');
is(make_objects('t0300-two'), 'shared/health.o', 'another version: only the object that includes version.h');
ok(object_has('health.o', 't0300-two'), 'which now has the new version');

done_testing();

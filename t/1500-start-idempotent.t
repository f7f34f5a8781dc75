#!/usr/bin/perl
# A second start while the stack runs is a no-op: nothing is restarted.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

sub pids {
	my %p;
	for my $f (glob var_dir() . '/run/*.pid') {
		open(my $fh, '<', $f) or next;
		chomp(my $pid = <$fh> // '');
		$p{$f} = $pid;
	}
	return \%p;
}

my $before = pids();
ok(keys(%$before) >= 6, 'the stack has its pid files');
is(system("$ENV{AIGET_SRC}/spawn/aiget-dev start >/dev/null 2>&1"), 0, 'start again exits 0');
is_deeply(pids(), $before, 'no process was replaced');
is(api(GET => '/api/v1/memox/health')->{status}, 200, 'the stack still answers');

done_testing();

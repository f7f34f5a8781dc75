#!/usr/bin/perl
# `make stop` (spawn/aiget-dev stop) leaves no process of the stack behind.
# Runs last but one: after it the stack is gone.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $var = var_dir();
# Every process the supervisor started carries AIGET_STACK=$VAR in its
# environment or the state directory on its command line.
sub slurp {
	my $path = shift;
	open(my $fh, '<', $path) or return '';
	local $/;
	return <$fh> // '';
}

sub stack_processes {
	my @found;
	for my $dir (glob '/proc/[0-9]*') {
		my ($pid) = $dir =~ /(\d+)$/;
		next if $pid == $$;
		my $cmd = slurp("$dir/cmdline");
		my $env = slurp("$dir/environ");
		my $stat = slurp("$dir/stat");
		next if $stat =~ /^\d+ \(.*\) Z/;
		next if $cmd =~ m{t/stand-ins/}; # the harness's own, stopped by it afterwards
		push @found, "$pid: " . ($cmd =~ s/\0/ /gr)
			if index($cmd, $var) >= 0 || index($env, "AIGET_STACK=$var\0") >= 0;
	}
	return @found;
}

ok(scalar(stack_processes()) >= 10, 'the stack is running before the stop');
is(system("$ENV{AIGET_SRC}/spawn/aiget-dev", 'stop'), 0, 'stop exits 0');
for my $name (areas(), 'worker') {
	like(slurp("$var/log/$name.log"), qr/ stopping/, "$name: stopped through its graceful path");
}
my @left = stack_processes();
is(scalar @left, 0, 'no process left behind') or diag(join("\n", @left));
ok(!glob("$var/run/*.sock"), 'no socket left behind');
isnt(api(GET => '/api/v1/auth/health')->{status}, 200, 'nothing answers any more');
is(system("$ENV{AIGET_SRC}/spawn/aiget-dev", 'stop'), 0, 'a second stop is a no-op');

done_testing();

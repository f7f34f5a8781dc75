#!/usr/bin/perl
# A service a test stops is running again for the next script, however the
# test ends.  Each case is a child perl that stops Redis with
# with_service_stopped (t/lib/Aiget.pm) and then ends badly inside the
# block: it dies, fails and bails out, exits, or is sent SIGTERM.  Once the
# child is gone, Redis answers and every area is healthy at once, without
# waiting here: the helper waited before the child could end.  A control
# child stops Redis by hand and dies, and leaves it down, so the checks
# below do see a service that is down.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

# Runs perl code in a child with Aiget loaded; returns its wait status (a
# signal's death is not 0 either) and its output (stdout and stderr: the
# child's TAP is not ours).
sub child {
	my ($code) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if (!$pid) {
		open(STDERR, '>&', \*STDOUT);
		exec($^X, '-It/lib', '-MTest::More', '-MAiget', '-e', $code) or POSIX::_exit(127);
	}
	local $/;
	my $out = <$fh> // '';
	close $fh;
	return ($?, $out);
}

# The child notes from inside the block that Redis is down, so that a case
# passes only when the block really ran with Redis stopped.
my $inside = q{print STDERR "inside: redis ", (Aiget::service_answers('redis') ? 'up' : 'down'), "\n";};

sub up_again {
	my ($name) = @_;
	ok(Aiget::service_answers('redis'), "$name: Redis answers as soon as the child is gone");
	ok(Aiget::areas_healthy(), "$name: every area is healthy");
}

ok(Aiget::service_answers('redis') && Aiget::areas_healthy(), 'Redis and every area are up to begin with');

my @cases = (
	['a die in the block', qq{with_service_stopped(redis => sub { $inside die "the test died\\n" });},
	 qr/the test died/, 'the error is passed on'],
	['a failed test and BAIL_OUT in the block', qq{with_service_stopped(redis => sub { $inside ok(0, 'fails');
		BAIL_OUT('given up') });}, qr/left stopped by an exit inside with_service_stopped/, 'restored from END'],
	['exit in the block', qq{with_service_stopped(redis => sub { $inside exit 3 });},
	 qr/left stopped by an exit inside with_service_stopped/, 'restored from END'],
	['SIGTERM in the block', qq{with_service_stopped(redis => sub { $inside kill 'TERM', \$\$; sleep 30 });},
	 qr/killed by SIGTERM/, 'the signal ends the block'],
);
for my $c (@cases) {
	my ($name, $code, $says, $what) = @$c;
	subtest $name => sub {
		my ($rc, $out) = child($code);
		isnt($rc, 0, "the child failed (wait status $rc)");
		like($out, qr/^inside: redis down$/m, 'Redis was down inside the block') or diag($out);
		like($out, $says, $what) or diag($out);
		up_again($name);
	};
}

# The control: without the helper, the same death leaves Redis down.
subtest 'control: a stop by hand and a die' => sub {
	my ($rc, $out) = child(qq{dev_service(redis => 'stop') or exit 9; $inside die "the test died\\n";});
	isnt($rc, 0, "the child failed (wait status $rc)");
	like($out, qr/^inside: redis down$/m, 'Redis was down after the stop') or diag($out);
	ok(!Aiget::service_answers('redis'), 'Redis is still down once the child is gone');
	# Started again here the helper's way (stop, start, wait, as tests).
	Aiget::restore_service('redis', 1);
	up_again('after the control');
};

done_testing();

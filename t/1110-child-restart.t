#!/usr/bin/perl
# A killed responder child is replaced by its supervisor (multiwatch) and the
# area answers again within a few seconds; the other areas never notice.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

open(my $fh, '<', var_dir() . '/run/memox.pid') or BAIL_OUT("no memox pid file: $!");
chomp(my $supervisor = <$fh>);
my @before = children_of($supervisor);
is(scalar @before, 2, 'memox runs two children') or diag("children: @before");

ok(kill('KILL', $before[0]), "killed child $before[0]");
my $replaced = wait_until(10, sub {
	my @now = children_of($supervisor);
	return @now == 2 && !grep { $_ == $before[0] } @now;
});
ok($replaced, 'a new child took its place');

my $answers = wait_until(10, sub {
	for (1 .. 8) { return 0 unless api(GET => '/api/v1/memox/health')->{status} == 200 }
	return 1;
});
ok($answers, 'memox answers 200 again, from every child');
is(api(GET => '/api/v1/auth/health')->{status}, 200, 'auth was never affected');

done_testing();

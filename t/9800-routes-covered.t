#!/usr/bin/perl
# Every route of every responder's --routes table was requested by some test
# of this run: a route no test asks for is a route whose regressions no test
# can see.  Runs after all the others but t/99xx, on the whole run's
# counts: the per-route request counters of each area's metrics (one file
# its children share), plus the counts with_service_stopped kept in
# $VAR/routes-requested before it stopped an area (an area starts counting
# from zero).  A request counts whatever its answer (a 401 or a 415 still
# went through the route's checks).  Run alone, or with a few scripts, it
# fails: it is a check of the whole run (`make test`).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

# Routes no test needs to request, each with its reason.  Keep it empty:
# a route without a test gets a small one instead.
my %exempt = (
	# 'METHOD /api/v1/...' => 'why',
);

# The counts of the areas stopped during the run.
my %kept;
if (open(my $fh, '<', var_dir() . '/routes-requested')) {
	while (my $line = <$fh>) {
		my ($area, $method, $route, $n) = $line =~ /^(\S+) (\S+) (\S+) (\d+)$/ or next;
		$kept{$area}{"$method $route"} += $n;
	}
}

for my $area (areas()) {
	my @routes = eval { route_table($area) };
	ok(scalar @routes, "$area: its route table (" . scalar(@routes) . ' routes)') or diag($@);

	# The counting is live: a request of this script is in the next scrape.
	my $before = eval { route_counts($area) } // {};
	is(api(GET => "/api/v1/$area/health")->{status}, 200, "$area: health answers");
	my $now = eval { route_counts($area) };
	ok($now, "$area: its metrics answer") or diag($@);
	$now //= {};
	cmp_ok($now->{"GET /api/v1/$area/health"} // 0, '>', $before->{"GET /api/v1/$area/health"} // 0,
		"$area: a request shows in its route's counter");
	like(api(GET => "/api/v1/$area/metrics")->{content}, qr/^aiget_metrics_shared\{area="\Q$area\E"\} 1$/m,
		"$area: counted in the file its children share (one child's counts would fall short)");

	my %seen = %{$kept{$area} || {}};
	$seen{$_} += $now->{$_} for keys %$now;
	my @unrequested = grep { !$seen{$_} && !$exempt{$_} } map { "$_->{method} $_->{pattern}" } @routes;
	is_deeply(\@unrequested, [], "$area: every route was requested by a test")
		or diag("no test requested:\n" . join('', map { "  $_\n" } @unrequested));
}

# An exemption names a route that exists and states why.
my %all = map { my $a = $_; map { ("$_->{method} $_->{pattern}" => 1) } eval { route_table($a) } } areas();
for my $route (sort keys %exempt) {
	ok($all{$route}, "exempt $route is a route");
	like($exempt{$route}, qr/\w/, "exempt $route says why");
}

done_testing();

#!/usr/bin/perl
# A dependency down: health answers 503 "degraded" naming Redis, and only
# naming it (the reason, with hosts and ports, goes to the log), the
# responders stay up, and health is 200 again once Redis is back, with no
# restart.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

sub health { my $area = shift; my $r = api(GET => "/api/v1/$area/health"); ($r, eval { JSON::PP::decode_json($r->{content}) } || {}) }

with_service_stopped(redis => sub {
	for my $area (areas()) {
		my ($res, $body) = health($area);
		is($res->{status}, 503, "$area: 503 while Redis is down");
		is($res->{headers}{'retry-after'}, '5', "$area: Retry-After");
		is($body->{status}, 'degraded', "$area: degraded");
		is($body->{dependencies}{redis}{status}, 'down', "$area: names Redis as down");
		ok(!exists $body->{dependencies}{redis}{error}, "$area: without the reason");
		is_deeply([sort keys %{$body->{dependencies}{redis}}], [qw(latencyMs status)], "$area: status and latency only");
		unlike($res->{content}, qr/refused|127\.0\.0\.1|\bport\b/i, "$area: no address in the answer");
		is($body->{dependencies}{postgres}{status}, 'ok', "$area: PostgreSQL still ok");
		unlike($res->{content}, qr/AIGET|password|[0-9a-f]{48}/i, "$area: no secret in the answer");
	}

	my $log = do { local (@ARGV, $/) = (var_dir() . '/log/keys.log'); <> // '' };
	like($log, qr/health: redis is down: \S/, 'the reason is in the log');
});

for my $area (areas()) {
	# Both children of the area must come back, so ask several times.
	my $ok = wait_until(10, sub {
		for (1 .. 6) { my ($r) = health($area); return 0 unless $r->{status} == 200 }
		return 1;
	});
	ok($ok, "$area: 200 again without a restart");
}

done_testing();

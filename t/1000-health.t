#!/usr/bin/perl
# Health of every area through nginx: 200, status ok, each dependency ok with a latency.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my %deps = (auth => [qw(postgres redis)], keys => [qw(postgres redis)],
            tenants => [qw(postgres redis)], memox => [qw(postgres redis vector)]);

for my $area (areas()) {
	my $res = api(GET => "/api/v1/$area/health");
	is($res->{status}, 200, "$area: health is 200") or diag($res->{content});
	like($res->{headers}{'content-type'}, qr{^application/json; charset=utf-8}, "$area: JSON");
	like($res->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/, "$area: generated request id");
	my $body = decode_json_ok($res, $area);
	is($body->{status}, 'ok', "$area: status ok");
	is($body->{area}, $area, "$area: names its area");
	ok(length($body->{version} // '') > 0, "$area: has a version");
	like($body->{uptimeSeconds} // '', qr/^\d+$/, "$area: uptime in whole seconds");
	is_deeply([sort keys %{$body->{dependencies}}], [sort @{$deps{$area}}], "$area: exactly its dependencies");
	for my $dep (@{$deps{$area}}) {
		my $d = $body->{dependencies}{$dep};
		is($d->{status}, 'ok', "$area: $dep ok");
		ok(defined $d->{latencyMs} && $d->{latencyMs} >= 0 && $d->{latencyMs} < 1000, "$area: $dep latency measured");
	}
}

done_testing();

#!/usr/bin/perl
# A whole area down: nginx answers 503 "unavailable" in the contract's format
# with Retry-After (and no-store), the other areas keep answering, and the area comes back.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

with_service_stopped(keys => sub {
	my $res = api(GET => '/api/v1/keys/health', {headers => {'X-Request-Id' => 'down-1'}});
	my $body = error_is($res, 503, 'unavailable', 'keys down');
	is($res->{headers}{'retry-after'}, '5', 'with Retry-After');
	is($res->{headers}{'cache-control'}, 'no-store', 'and Cache-Control: no-store, as every answer');
	is($res->{headers}{'x-request-id'}, 'down-1', 'echoing the request id');
	like($res->{headers}{'content-type'}, qr/charset=utf-8/, 'JSON in UTF-8');
	is(api(GET => "/api/v1/$_/health")->{status}, 200, "$_ unaffected") for qw(auth tenants memox);
});
ok(wait_until(10, sub { api(GET => '/api/v1/keys/health')->{status} == 200 }), 'keys answers 200 again');

done_testing();

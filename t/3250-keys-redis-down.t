#!/usr/bin/perl
# Keys while Redis is down (RATELIMIT_REDIS_DOWN defaults to allow): a key is
# still checked, against the database, and admitted without rate limits, so
# its answers carry no RateLimit headers and /keys/verify reports no
# ratelimit; a disabled key stays refused (no process caches a key while its
# invalidation channel is down).  Managing keys needs a user token, which
# cannot be checked without Redis: 503.  Once Redis is back the limits apply
# again, with no restart.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my (undef, undef, $reg) = register_user(tag => 'keys-redis');
my $tok = $reg->{accessToken};
my $tenant = tenants_new($tok, 'redis down')->{id};
my $k = keys_make($tok, $tenant, name => 'steady');
my $kd = keys_make($tok, $tenant, name => 'disabled');
is(api(POST => "/api/v1/keys/$kd->{id}/disable", {headers => bearer($tok)})->{status}, 200, 'one key disabled');
my $itok = stack_env('KEYS_INTERNAL_TOKEN');
sub verify { call(undef, POST => '/api/v1/keys/verify', {key => $_[0]}, bearer($itok)) }

my $res = keys_self($k->{key});
is($res->{status}, 200, 'Redis up: 200');
ok(defined $res->{headers}{'ratelimit-limit'}, 'Redis up: RateLimit headers');

with_service_stopped(redis => sub {
	for my $try (1 .. 4) {    # both responder children
		$res = keys_self($k->{key});
		is($res->{status}, 200, "Redis down #$try: the key still works");
		ok(!defined $res->{headers}{'ratelimit-limit'}, "Redis down #$try: no RateLimit headers (limits unchecked)");
		ok(exists decode_json_ok($res, 'self')->{ratelimit} && !defined decode_json_ok($res, 'self')->{ratelimit},
			"Redis down #$try: ratelimit null");
		is(keys_self($kd->{key})->{status}, 401, "Redis down #$try: the disabled key stays refused");
	}
	$res = verify($k->{key});
	is($res->{status}, 200, 'verify with Redis down: 200');
	my $v = decode_json_ok($res, 'verify');
	is($v->{code}, 'VALID', 'verify with Redis down: VALID');
	ok(exists $v->{ratelimit} && !defined $v->{ratelimit}, 'verify with Redis down: ratelimit null');
	is(decode_json_ok(verify($kd->{key}), 'verify disabled')->{code}, 'DISABLED', 'verify with Redis down: DISABLED');
	$res = api(GET => "/api/v1/keys?tenantId=$tenant", {headers => bearer($tok)});
	error_is($res, 503, 'unavailable', 'managing keys with Redis down');
	is($res->{headers}{'retry-after'}, '5', 'with Retry-After');
});
ok(wait_until(10, sub {
	for (1 .. 4) { return 0 unless defined keys_self($k->{key})->{headers}{'ratelimit-limit'} }
	return 1;
}), 'Redis back: RateLimit headers again, no restart');
is(api(GET => "/api/v1/keys?tenantId=$tenant", {headers => bearer($tok)})->{status}, 200, 'Redis back: managing works');

done_testing();

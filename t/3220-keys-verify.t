#!/usr/bin/perl
# POST /api/v1/keys/verify: internal services ask about a key they were given.
# Guarded by KEYS_INTERNAL_TOKEN (401 without it, 503 when it is not
# configured); otherwise always 200 with a code: VALID, NOT_FOUND, DISABLED,
# EXPIRED, FORBIDDEN (suspended tenant, missing scope), RATE_LIMITED and
# USAGE_EXCEEDED (the tenant's limits, area "verify", no concurrency slot kept).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my $itok = stack_env('KEYS_INTERNAL_TOKEN');
ok(defined $itok && length $itok >= 32, 'the test stack has an internal token');

my (undef, undef, $reg) = register_user(tag => 'keys-verify');
my $tok = $reg->{accessToken};
my $tenant = tenants_new($tok, 'verify')->{id};
keys_limits($tenant);

sub verify {
	my ($body, $headers) = @_;
	return call(undef, POST => '/api/v1/keys/verify', $body, $headers // bearer($itok));
}
# The verify answer for a key (and scope): its body, after checking it is a 200.
sub code_of {
	my ($key, $scope, $name) = @_;
	my $res = verify({key => $key, defined $scope ? (scope => $scope) : ()});
	is($res->{status}, 200, "$name: 200") or diag($res->{content});
	return decode_json_ok($res, $name);
}
sub manage { api(POST => "/api/v1/keys/$_[0]/$_[1]", {headers => bearer($tok)}) }

# ------------------------------------------------------------- VALID
my $k = keys_make($tok, $tenant, name => 'verify me');
my $v = code_of($k->{key}, undef, 'valid');
is($v->{code}, 'VALID', 'a working key: VALID');
ok($v->{valid} && JSON::PP::is_bool($v->{valid}), 'valid: true');
is($v->{tenantId}, $tenant, 'tenantId');
is($v->{keyId}, $k->{id}, 'keyId');
is_deeply($v->{scopes}, ['memox:read', 'memox:write'], 'scopes');
is($v->{ratelimit}{limit}, 1000, 'ratelimit.limit: the burst');
ok(defined $v->{ratelimit}{$_}, "ratelimit.$_") for qw(remaining reset);
is(code_of($k->{key}, 'memox:write', 'scope')->{code}, 'VALID', 'with a scope it has: VALID');

my $ro = keys_make($tok, $tenant, name => 'read only', scopes => ['memox:read']);
is(code_of($ro->{key}, 'memox:read', 'ro read')->{code}, 'VALID', 'a read-only key asked for memox:read: VALID');
$v = code_of($ro->{key}, 'memox:write', 'ro write');
is($v->{code}, 'FORBIDDEN', 'asked for memox:write: FORBIDDEN');
ok(!$v->{valid}, 'valid: false');
is($v->{keyId}, $ro->{id}, 'naming the key that lacks the scope');

# ------------------------------------------------------------- NOT_FOUND
my $ghost = 'agk_' . ('A' x 43);
$v = code_of($ghost, undef, 'unknown');
is($v->{code}, 'NOT_FOUND', 'an unknown key: NOT_FOUND');
ok(!$v->{valid}, 'valid: false');
ok(exists $v->{tenantId} && !defined $v->{tenantId}, 'tenantId null');
ok(exists $v->{keyId} && !defined $v->{keyId}, 'keyId null');
is_deeply($v->{scopes}, [], 'no scopes');
ok(exists $v->{ratelimit} && !defined $v->{ratelimit}, 'ratelimit null');
is(code_of('not a key at all', undef, 'malformed')->{code}, 'NOT_FOUND', 'a malformed key: NOT_FOUND');
is(code_of(substr($k->{key}, 0, 46), undef, 'short')->{code}, 'NOT_FOUND', 'a key cut short: NOT_FOUND');

# ------------------------------------------------------------- DISABLED, EXPIRED, deleted
my $kd = keys_make($tok, $tenant, name => 'to disable');
code_of($kd->{key}, undef, 'warm');
manage($kd->{id}, 'disable');
is(code_of($kd->{key}, undef, 'disabled')->{code}, 'DISABLED', 'a disabled key: DISABLED');
manage($kd->{id}, 'enable');
is(code_of($kd->{key}, undef, 'enabled')->{code}, 'VALID', 'enabled again: VALID');

my $kr = keys_make($tok, $tenant, name => 'to rotate');
code_of($kr->{key}, undef, 'warm');
my $res = manage($kr->{id}, 'rotate');
is(code_of($kr->{key}, undef, 'rotated')->{code}, 'EXPIRED', 'a rotated-away key: EXPIRED');
is(code_of(decode_json_ok($res, 'rotate')->{key}, undef, 'new')->{code}, 'VALID', 'its replacement: VALID');

my $exp = int(time) + 2;
my $ke = keys_make($tok, $tenant, name => 'expiring', expiresAt => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $exp));
is(code_of($ke->{key}, undef, 'before')->{code}, 'VALID', 'an expiring key before its time: VALID');
sleep($exp - time + 0.05) if $exp > time;
is(code_of($ke->{key}, undef, 'expired')->{code}, 'EXPIRED', 'after expiresAt: EXPIRED');

my $kx = keys_make($tok, $tenant, name => 'to delete');
code_of($kx->{key}, undef, 'warm');
api(DELETE => "/api/v1/keys/$kx->{id}", {headers => bearer($tok)});
is(code_of($kx->{key}, undef, 'deleted')->{code}, 'NOT_FOUND', 'a deleted key: NOT_FOUND');

# ------------------------------------------------------------- FORBIDDEN: suspended tenant
my $ts = tenants_new($tok, 'to suspend')->{id};
my $ks = keys_make($tok, $ts, name => 'suspended');
code_of($ks->{key}, undef, 'warm');
keys_suspend($ts, 1);
$v = code_of($ks->{key}, undef, 'suspended');
is($v->{code}, 'FORBIDDEN', "a suspended tenant's key: FORBIDDEN");
ok(!$v->{valid}, 'valid: false');
keys_suspend($ts, 0);
is(code_of($ks->{key}, undef, 'resumed')->{code}, 'VALID', 'resumed: VALID');

# ------------------------------------------------------------- RATE_LIMITED
my $tr = tenants_new($tok, 'rate limited')->{id};
keys_limits($tr, qps => 1, burst => 2);
my $kq = keys_make($tok, $tr, name => 'busy');
my @codes = map { code_of($kq->{key}, undef, "rate $_") } 1 .. 3;
is_deeply([map { $_->{code} } @codes], [qw(VALID VALID RATE_LIMITED)], 'burst 2: VALID, VALID, RATE_LIMITED');
ok(!$codes[2]{valid}, 'rate limited: valid false');
is($codes[2]{keyId}, $kq->{id}, 'rate limited: naming the key');
is($codes[2]{ratelimit}{remaining}, 0, 'rate limited: remaining 0');
ok(($codes[2]{ratelimit}{retryAfter} // 0) >= 1 && $codes[2]{ratelimit}{retryAfter} <= 2, 'rate limited: retryAfter 1..2 s');
sleep 1.1;
is(code_of($kq->{key}, undef, 'refilled')->{code}, 'VALID', 'a second later: VALID again');
keys_limits($tr);

# ------------------------------------------------------------- USAGE_EXCEEDED
my $tm = tenants_new($tok, 'monthly')->{id};
keys_limits($tm, monthlyRequests => 2);
my $km = keys_make($tok, $tm, name => 'thrifty');
@codes = map { code_of($km->{key}, undef, "month $_")->{code} } 1 .. 3;
is_deeply(\@codes, [qw(VALID VALID USAGE_EXCEEDED)], 'monthly quota 2: VALID, VALID, USAGE_EXCEEDED');
my $month = strftime('%Y-%m', gmtime);
is(redis_cli('HGET', "usage:{$tm}:$month", 'verify'), 2, 'verifications count in the usage as area "verify"');

# ------------------------------------------------------------- no slot kept
my $tc = tenants_new($tok, 'concurrency')->{id};
keys_limits($tc, concurrency => 1);
my $kc = keys_make($tok, $tc, name => 'one at a time');
@codes = map { code_of($kc->{key}, undef, "slot $_")->{code} } 1 .. 4;
is_deeply(\@codes, [('VALID') x 4], 'concurrency 1: one verification after another are all VALID');
is(redis_cli('ZCARD', "rl:{$tc}:slots"), 0, 'no concurrency slot is left taken');
redis_cli('ZADD', "rl:{$tc}:slots", (split /\n/, redis_cli('TIME'))[0] * 1000 + 60000, 'held-elsewhere');
is(code_of($kc->{key}, undef, 'held')->{code}, 'RATE_LIMITED', 'the only slot held by a request in flight: RATE_LIMITED');
redis_cli('DEL', "rl:{$tc}:slots");

# ------------------------------------------------------------- the internal token
my $key = {key => $k->{key}};
error_is(verify($key, {}), 401, 'unauthorized', 'no internal token');
error_is(verify($key, bearer('x' x length $itok)), 401, 'unauthorized', 'a wrong token of the same length');
error_is(verify($key, bearer(substr($itok, 0, -1))), 401, 'unauthorized', 'the token cut short');
error_is(verify($key, bearer("${itok}x")), 401, 'unauthorized', 'the token with more');
error_is(verify($key, {Authorization => "Basic $itok"}), 401, 'unauthorized', 'not a Bearer');
error_is(verify($key, bearer($tok)), 401, 'unauthorized', 'a user access token');
error_is(verify($key, bearer($k->{key})), 401, 'unauthorized', 'an API key');
like(verify($key, {})->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'with WWW-Authenticate');

# ------------------------------------------------------------- bad input
error_is(verify({}), 400, 'invalid_request', 'no key');
error_is(verify({key => ''}), 400, 'invalid_request', 'an empty key');
error_is(verify({key => 42}), 400, 'invalid_request', 'a number for key');
error_is(verify({key => [$k->{key}]}), 400, 'invalid_request', 'an array for key');
error_is(verify({key => 'agk_' . ('a' x 300)}), 400, 'invalid_request', 'an oversized key');
error_is(verify({key => $k->{key}, scope => 'memox:admin'}), 400, 'invalid_request', 'an unknown scope');
error_is(verify({key => $k->{key}, scope => ['memox:read']}), 400, 'invalid_request', 'an array for scope');
error_is(verify({key => $k->{key}, tenantId => $tenant}), 400, 'invalid_request', 'an unknown field');
error_is(verify('[]'), 400, 'invalid_request', 'not an object');
error_is(verify('{"key": "agk_'), 400, 'invalid_request', 'malformed JSON');
error_is(verify(qq({"key": "agk_\xff\xfe"})), 400, 'invalid_request', 'invalid UTF-8');
error_is(api(POST => '/api/v1/keys/verify', {headers => {%{bearer($itok)}, 'Content-Type' => 'text/plain'},
	content => '{"key":"x"}'}), 415, 'unsupported_media_type', 'text/plain');
error_is(api(POST => '/api/v1/keys/verify', {headers => {%{bearer($itok)}, 'Content-Type' => 'application/json'},
	content => '{"key":"' . ('a' x 1_100_000) . '"}'}), 413, 'payload_too_large', 'an oversized body');

# ------------------------------------------------------------- not configured
# The responder restarted without KEYS_INTERNAL_TOKEN (an empty variable in
# its environment wins over the env file, and empty means unset); the
# helper starts it again with its configuration.
with_service_stopped(keys => sub {
	{
		local $ENV{KEYS_INTERNAL_TOKEN} = '';
		ok(dev_service(keys => 'start'), 'keys started without an internal token');
	}
	ok(wait_until(10, sub { api(GET => '/api/v1/keys/health')->{status} == 200 }), 'keys is up');
	$res = verify($key);
	error_is($res, 503, 'unavailable', 'no internal token configured');
	like($res->{headers}{'retry-after'} // '', qr/^\d+$/, 'with Retry-After');
	like(decode_json_ok($res, '503')->{error}{message}, qr/not configured/, 'saying it is not configured');
	is(keys_self($k->{key})->{status}, 200, 'keys themselves still work');
});
ok(wait_until(10, sub { api(GET => '/api/v1/keys/health')->{status} == 200 }), 'keys is up');
is(code_of($k->{key}, undef, 'configured')->{code}, 'VALID', 'and verifies again');

done_testing();

#!/usr/bin/perl
# A key from creation to its end.  The secret is shown once and only its
# SHA-256 stored; the key works at once; disable, rotation, deletion, expiry
# and tenant suspension stop it within one second (each cut-off is measured
# from the answer of the change to the first refused request, and printed);
# enable and resume bring it back; a rotation's overlap keeps the old secret
# working until its revokeAt.  Every change lands in tenant_audit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my $RFC3339 = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

my (undef, undef, $reg) = register_user(tag => 'keys-life');
my $tok = $reg->{accessToken};
my $uid = $reg->{user}{id};
my $tenant = tenants_new($tok, 'lifecycle')->{id};
keys_limits($tenant);    # generous: the polling below is fast

sub self_status { keys_self($_[0])->{status} }
sub manage {
	my ($method, $path, $body, $headers) = @_;
	my %h = (%{bearer($tok)}, %{$headers || {}});
	return defined $body ? api($method => $path, {headers => {%h, 'Content-Type' => 'application/json'},
		content => JSON::PP->new->encode($body)}) : api($method => $path, {headers => \%h});
}
# Uses a key a few times so that both responder children and Redis hold it.
sub warm { self_status($_[0]) for 1 .. 6 }

# Polls with the key until it gets something other than $ok; returns the
# seconds from $since to the start of that request (0 when the very first
# one after the change was refused) and the status it got.
sub cutoff {
	my ($secret, $since, $ok, $max) = @_;
	my $deadline = time + ($max // 5);
	while (time < $deadline) {
		my $t = time;
		my $s = self_status($secret);
		return ($t - $since < 0 ? 0 : $t - $since, $s) if $s != $ok;
		sleep 0.01;
	}
	return (undef, $ok);
}
sub ms { defined $_[0] ? sprintf('%.0f ms', 1000 * $_[0]) : 'never' }

# ------------------------------------------------------------- create
my $res = call(undef, POST => '/api/v1/keys', {tenantId => $tenant, name => 'production'}, {%{bearer($tok)}, 'X-Request-Id' => "keys-create-$$"});
is($res->{status}, 201, 'create: 201') or diag($res->{content});
my $k = decode_json_ok($res, 'create');
like($k->{id}, $UUID, 'create: an id');
like($k->{key}, qr/^agk_[A-Za-z0-9_-]{43}$/, 'create: the secret has the agk_ prefix and 256 bits');
is($k->{prefix}, substr($k->{key}, 0, 12), 'create: the visible prefix is its start');
is($k->{name}, 'production', 'create: the name');
is($k->{tenantId}, $tenant, 'create: the tenant');
is_deeply($k->{scopes}, ['memox:read', 'memox:write'], 'create: both memox scopes by default');
is($k->{status}, 'active', 'create: active');
like($k->{createdAt}, $RFC3339, 'create: createdAt');
ok(exists $k->{expiresAt} && !defined $k->{expiresAt}, 'create: no expiry');
ok(exists $k->{lastUsedAt} && !defined $k->{lastUsedAt}, 'create: never used');
is($res->{headers}{location}, "/api/v1/keys/$k->{id}", 'create: Location');
like($res->{headers}{'cache-control'} // '', qr/no-store/, 'create: not cacheable');
is(psql("SELECT encode(key_hash, 'hex') || ' ' || prefix FROM api_keys WHERE id = '$k->{id}'"),
	sha256_hex($k->{key}) . " $k->{prefix}", 'create: only the SHA-256 and the prefix are stored');
is(psql("SELECT count(*) FROM api_keys WHERE row_to_json(api_keys)::text LIKE '%" . substr($k->{key}, 12) . "%'"),
	0, 'create: the secret is nowhere in the row');

# ------------------------------------------------------------- use
$res = keys_self($k->{key});
is($res->{status}, 200, 'self: 200 with the new key') or diag($res->{content});
my $self = decode_json_ok($res, 'self');
is($self->{keyId}, $k->{id}, 'self: keyId');
is($self->{tenantId}, $tenant, 'self: tenantId');
is_deeply($self->{scopes}, ['memox:read', 'memox:write'], 'self: scopes');
ok(defined $self->{ratelimit}{$_}, "self: ratelimit.$_") for qw(limit remaining reset);
is($self->{limits}{qps}, 1000, 'self: the tenant limits');
ok(defined $res->{headers}{lc $_}, "self: $_ header") for qw(RateLimit-Limit RateLimit-Remaining RateLimit-Reset);
is($res->{headers}{'ratelimit-limit'}, $self->{ratelimit}{limit}, 'self: header and body agree');
my $got = wait_until(3, sub { decode_json_ok(manage(GET => "/api/v1/keys/$k->{id}"), 'get')->{lastUsedAt} });
like($got // '', $RFC3339, 'lastUsedAt is set after use');
# Only a successful use counts: a key refused for its scope (a 403 of memox,
# FORBIDDEN of /keys/verify) stays never used.  (It did not: the use was
# noted as soon as the key was found, whatever became of the request.)
my $wo = keys_make($tok, $tenant, name => 'write only', scopes => ['memox:write']);
error_is(call($wo->{key}, GET => '/api/v1/memox/memories?namespace=n&externalUserId=u'), 403, 'forbidden',
	'a write-only key on a read route');
my $internal = stack_env('KEYS_INTERNAL_TOKEN');
is(decode_json_ok(call($internal, POST => '/api/v1/keys/verify', {key => $wo->{key}, scope => 'memox:read'}),
	'verify')->{code}, 'FORBIDDEN', '/keys/verify: FORBIDDEN for the scope it lacks');
sleep 0.5;
ok(!defined decode_json_ok(manage(GET => "/api/v1/keys/$wo->{id}"), 'refused')->{lastUsedAt},
	'a key only ever refused for its scope: lastUsedAt stays null');
is(psql("SELECT last_used_at IS NULL FROM api_keys WHERE id = '$wo->{id}'"), 't', 'in the database too');

$res = manage(GET => "/api/v1/keys?tenantId=$tenant");
is($res->{status}, 200, 'list: 200');
my $list = decode_json_ok($res, 'list')->{keys};
is(scalar(grep { $_->{id} eq $k->{id} } @$list), 1, 'list: the key is there');
ok(!grep({ exists $_->{key} } @$list), 'list: never a secret');
$res = manage(GET => "/api/v1/keys/$k->{id}");
is($res->{status}, 200, 'get: 200');
ok(!exists decode_json_ok($res, 'get')->{key}, 'get: no secret');

# ------------------------------------------------- disable and enable
my @cut;
for my $try (1 .. 5) {
	warm($k->{key});
	is(self_status($k->{key}), 200, "disable #$try: works before");
	$res = manage(POST => "/api/v1/keys/$k->{id}/disable");
	my $t0 = time;
	is($res->{status}, 200, "disable #$try: 200");
	is(decode_json_ok($res, 'disable')->{status}, 'disabled', "disable #$try: status disabled");
	my ($cut, $st) = cutoff($k->{key}, $t0, 200);
	push @cut, $cut;
	ok(defined $cut && $cut <= 1, "disable #$try: refused within a second (" . ms($cut) . ')');
	is($st, 401, "disable #$try: 401");
	$res = manage(POST => "/api/v1/keys/$k->{id}/enable");
	$t0 = time;
	is($res->{status}, 200, "enable #$try: 200");
	is(decode_json_ok($res, 'enable')->{status}, 'active', "enable #$try: status active");
	my ($back) = cutoff($k->{key}, $t0, 401);
	ok(defined $back && $back <= 1, "enable #$try: works again within a second (" . ms($back) . ')');
}
diag('cut-off after disable: ' . join(', ', map { ms($_) } @cut));
$res = manage(POST => "/api/v1/keys/$k->{id}/disable");
is(manage(POST => "/api/v1/keys/$k->{id}/disable")->{status}, 200, 'disabling a disabled key is fine');
manage(POST => "/api/v1/keys/$k->{id}/enable");

# ------------------------------------------------- rotate, overlap 0
warm($k->{key});
$res = manage(POST => "/api/v1/keys/$k->{id}/rotate");
my $t0 = time;
is($res->{status}, 200, 'rotate (no body): 200') or diag($res->{content});
my $k2 = decode_json_ok($res, 'rotate');
like($k2->{key}, qr/^agk_[A-Za-z0-9_-]{43}$/, 'rotate: a new secret');
isnt($k2->{key}, $k->{key}, 'rotate: not the old one');
isnt($k2->{id}, $k->{id}, 'rotate: a new key id');
is($k2->{$_}, $k->{$_}, "rotate: same $_") for qw(name tenantId);
is_deeply($k2->{scopes}, $k->{scopes}, 'rotate: same scopes');
my ($cut) = cutoff($k->{key}, $t0, 200);
ok(defined $cut && $cut <= 1, 'rotate, overlap 0: the old secret stops within a second (' . ms($cut) . ')');
diag('cut-off after rotation without overlap: ' . ms($cut));
is(self_status($k2->{key}), 200, 'rotate: the new secret works');
my $old = decode_json_ok(manage(GET => "/api/v1/keys/$k->{id}"), 'old key');
is($old->{status}, 'revoked', 'the rotated-away key shows as revoked');
is($old->{rotatedTo}, $k2->{id}, 'and names its replacement');
like($old->{revokeAt}, $RFC3339, 'and when it stopped');
error_is(manage(POST => "/api/v1/keys/$k->{id}/enable"), 409, 'conflict', 'enable a rotated-away key');
error_is(manage(POST => "/api/v1/keys/$k->{id}/rotate"), 409, 'conflict', 'rotate a rotated-away key');

# ------------------------------------------------- rotate, overlap 3 s
warm($k2->{key});
$res = manage(POST => "/api/v1/keys/$k2->{id}/rotate", {overlapSeconds => 3});
$t0 = time;
is($res->{status}, 200, 'rotate with overlapSeconds 3: 200') or diag($res->{content});
my $k3 = decode_json_ok($res, 'rotate 3');
is(self_status($k3->{key}), 200, 'overlap: the new secret works at once');
is(self_status($k2->{key}), 200, 'overlap: the old one still works');
my $mid = decode_json_ok(manage(GET => "/api/v1/keys/$k2->{id}"), 'old key in overlap');
is($mid->{status}, 'active', 'overlap: the old key is active until its revokeAt');
like($mid->{revokeAt}, $RFC3339, 'overlap: revokeAt');
sleep 1.5 - (time - $t0);
is(self_status($k2->{key}), 200, 'overlap: the old one still works after 1.5 s');
($cut) = cutoff($k2->{key}, $t0, 200, 6);
ok(defined $cut && $cut >= 2.9 && $cut <= 4.5, 'overlap: the old secret stops 3 to 4 s after the rotation (' . ms($cut) . ')');
diag('overlap of 3 s: the old secret stopped after ' . ms($cut));
is(self_status($k3->{key}), 200, 'overlap: the new one goes on');

# ------------------------------------------------- delete
warm($k3->{key});
$res = manage(DELETE => "/api/v1/keys/$k3->{id}");
$t0 = time;
is($res->{status}, 204, 'delete: 204');
is($res->{content} // '', '', 'delete: no body');
($cut) = cutoff($k3->{key}, $t0, 200);
ok(defined $cut && $cut <= 1, 'delete: the key stops within a second (' . ms($cut) . ')');
diag('cut-off after delete: ' . ms($cut));
error_is(manage(GET => "/api/v1/keys/$k3->{id}"), 404, 'not_found', 'get a deleted key');
error_is(manage(DELETE => "/api/v1/keys/$k3->{id}"), 404, 'not_found', 'delete it again');
error_is(manage(POST => "/api/v1/keys/$k3->{id}/disable"), 404, 'not_found', 'disable a deleted key');
error_is(manage(POST => "/api/v1/keys/$k3->{id}/rotate"), 404, 'not_found', 'rotate a deleted key');
error_is(manage(POST => "/api/v1/keys/$k3->{id}/enable"), 409, 'conflict', 'enable a deleted key');
$list = decode_json_ok(manage(GET => "/api/v1/keys?tenantId=$tenant"), 'list')->{keys};
ok(!grep({ $_->{id} eq $k3->{id} } @$list), 'list: no deleted key');
is(psql("SELECT status FROM api_keys WHERE id = '$k3->{id}'"), 'deleted', 'the row stays, marked deleted');

# ------------------------------------------------- a disabled key may be rotated
my $kd = keys_make($tok, $tenant, name => 'leaked');
manage(POST => "/api/v1/keys/$kd->{id}/disable");
$res = manage(POST => "/api/v1/keys/$kd->{id}/rotate", {});
is($res->{status}, 200, 'rotate a disabled key (a leak: disable, then rotate): 200');
my $kd2 = decode_json_ok($res, 'rotate disabled');
is($kd2->{status}, 'active', 'its replacement is active');
is(self_status($kd2->{key}), 200, 'and works');
is(self_status($kd->{key}), 401, 'the disabled one stays refused');

# ------------------------------------------------- expiry
my $exp = int(time) + 3;
my $ke = keys_make($tok, $tenant, name => 'short-lived', expiresAt => strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $exp));
is($ke->{expiresAt}, strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $exp), 'expiresAt is kept');
warm($ke->{key});
is(self_status($ke->{key}), 200, 'an expiring key works before its time');
($cut, my $st) = cutoff($ke->{key}, $exp, 200, 6);
ok(defined $cut && $cut <= 1, 'expiry: the key stops within a second of expiresAt (' . ms($cut) . ')');
ok(time >= $exp - 1, 'expiry: and not long before it');
is($st, 401, 'expiry: 401');
diag('cut-off after expiresAt: ' . ms($cut));
is(decode_json_ok(manage(GET => "/api/v1/keys/$ke->{id}"), 'expired')->{status}, 'expired', 'the key shows as expired');
error_is(manage(POST => "/api/v1/keys/$ke->{id}/rotate"), 409, 'conflict', 'rotate an expired key');

# An expiry moved into the past behind the API's back (SQL): nothing tells
# the caches, so their lifetimes bound how long the key goes on.  The Redis
# copy's (API_KEY_REDIS_TTL_S, 30 s) is too long to wait for here, so the
# test checks the bound and then brings the copy's expiry forward: without
# it, the key stops within the one second a process keeps its own copy.
# (This was a TODO test that the key stops within a second of the edit,
# which cannot fail a run; the edit not being seen sooner is the design.)
my $kx = keys_make($tok, $tenant, name => 'edited');
warm($kx->{key});
psql("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '$kx->{id}'");
$t0 = time;
($cut) = cutoff($kx->{key}, $t0, 200, 2);
diag('expiry set in the past with SQL, no invalidation: the key stopped after ' . ms($cut) . ' (waited 2 s)');
my $copy = 'apikey:' . sha256_hex($kx->{key});
my $ttl = redis_cli('TTL', $copy);
ok($ttl > 0 && $ttl <= 30, "expiry set with SQL: the Redis copy of the key lives at most 30 s more (TTL $ttl)");
is(redis_cli('DEL', $copy), 1, 'the Redis copy removed, as its expiry would');
$t0 = time;
($cut, $st) = cutoff($kx->{key}, $t0, 200, 3);
ok(defined $cut && $cut <= 1, 'expiry set with SQL: without the Redis copy, the key stops within a second (' . ms($cut) . ')');
is($st, 401, 'expiry set with SQL: 401');

# ------------------------------------------------- tenant suspension
my $ks = keys_make($tok, $tenant, name => 'suspended');
warm($ks->{key});
keys_suspend($tenant, 1);
$t0 = time;
($cut, $st) = cutoff($ks->{key}, $t0, 200);
ok(defined $cut && $cut <= 1, 'suspension: the key stops within a second (' . ms($cut) . ')');
is($st, 403, 'suspension: 403');
my $body = decode_json_ok(keys_self($ks->{key}), 'suspended');
is($body->{error}{code}, 'forbidden', 'suspension: the error code forbidden');
diag('cut-off after suspension: ' . ms($cut));
keys_suspend($tenant, 0);
$t0 = time;
my ($back) = cutoff($ks->{key}, $t0, 403);
ok(defined $back && $back <= 1, 'resume: the key works again within a second (' . ms($back) . ')');

# ------------------------------------------------- audit
my $audit = psql("SELECT action || ' ' || target || ' ' || actor_id FROM tenant_audit WHERE tenant_id = '$tenant'"
	. " AND action LIKE 'key.%' ORDER BY id");
like($audit, qr/^key\.create $k->{id} $uid$/m, 'audit: key.create');
like($audit, qr/^key\.disable $k->{id} $uid$/m, 'audit: key.disable');
like($audit, qr/^key\.enable $k->{id} $uid$/m, 'audit: key.enable');
like($audit, qr/^key\.rotate $k->{id} $uid$/m, 'audit: key.rotate');
like($audit, qr/^key\.delete $k3->{id} $uid$/m, 'audit: key.delete');
is(psql("SELECT action FROM tenant_audit WHERE request_id = 'keys-create-$$'"), 'key.create', 'audit: with the request id');
is(psql("SELECT detail->>'newKeyId' || ' ' || (detail->>'overlapSeconds') FROM tenant_audit WHERE action = 'key.rotate'"
	. " AND target = '$k2->{id}'"), "$k3->{id} 3", 'audit: a rotation names the new key and the overlap');
unlike(psql("SELECT string_agg(coalesce(detail::text, ''), ' ') FROM tenant_audit WHERE tenant_id = '$tenant'"),
	qr/\Q$k->{key}\E|\Q$k2->{key}\E/, 'audit: no secret');

done_testing();

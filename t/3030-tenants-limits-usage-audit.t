#!/usr/bin/perl
# A tenant's limits (defaults from the configuration, set by owners up to
# the tenant's ceilings, reset with null, in force within a second), its
# usage this month, and its audit log (owners and admins only, newest
# first, paged).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Aiget;

Aiget::require_stack();

my %u = map { $_ => tenants_user("lim-$_") } qw(owner admin member outsider);
my $t = tenants_new($u{owner}, 'Limited');
my $TP = "/api/v1/tenants/$t->{id}";
tenants_join($u{owner}, $t->{id}, $u{admin}, 'admin');
tenants_join($u{owner}, $t->{id}, $u{member}, 'member');

my %default = (
	qps => stack_env('TENANT_DEFAULT_QPS') // 20,
	burst => stack_env('TENANT_DEFAULT_BURST') // 40,
	concurrency => stack_env('TENANT_DEFAULT_CONCURRENCY') // 10,
	monthlyRequests => stack_env('TENANT_DEFAULT_MONTHLY_REQUESTS') // 1000000,
	maxMemories => stack_env('TENANT_DEFAULT_MAX_MEMORIES') // 100000,
);
my %ceiling = (
	qps => stack_env('TENANT_CEILING_QPS') // 200,
	burst => stack_env('TENANT_CEILING_BURST') // 400,
	concurrency => stack_env('TENANT_CEILING_CONCURRENCY') // 100,
	monthlyRequests => stack_env('TENANT_CEILING_MONTHLY_REQUESTS') // 10_000_000,
	maxMemories => stack_env('TENANT_CEILING_MAX_MEMORIES') // 1_000_000,
);
my @names = sort keys %default;
sub put_limits { call($_[0], PUT => "$TP/limits", $_[1]) }

subtest 'defaults' => sub {
	my $res = call($u{member}, GET => "$TP/limits");
	is($res->{status}, 200, 'a member reads them');
	my $b = decode_json_ok($res, 'limits');
	is($b->{tenantId}, $t->{id}, 'the tenant');
	is_deeply($b->{limits}, \%default, 'the configured defaults');
	is_deeply($b->{isDefault}, {map { $_ => JSON::PP::true } @names}, 'each marked default');
	ok(exists $b->{updatedAt} && !defined $b->{updatedAt}, 'never set');
	error_is(call($u{outsider}, GET => "$TP/limits"), 404, 'not_found', 'a non-member gets 404');
};

subtest 'set and reset' => sub {
	error_is(put_limits($u{member}, {qps => 5}), 403, 'forbidden', 'a member may not set them');
	error_is(put_limits($u{admin}, {qps => 5}), 403, 'forbidden', 'nor an admin');
	error_is(put_limits($u{outsider}, {qps => 5}), 404, 'not_found', 'a non-member gets 404');
	my $res = put_limits($u{owner}, {qps => 5, burst => 10, monthlyRequests => 5_000_000});
	is($res->{status}, 200, 'the owner sets some') or diag($res->{content});
	my $b = decode_json_ok($res, 'put');
	is_deeply($b->{limits}, {%default, qps => 5, burst => 10, monthlyRequests => 5_000_000}, 'in force');
	is_deeply($b->{isDefault}, {(map { $_ => JSON::PP::true } @names), qps => JSON::PP::false,
		burst => JSON::PP::false, monthlyRequests => JSON::PP::false}, 'the others are defaults');
	like($b->{updatedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'updatedAt');
	is(psql("SELECT qps || ' ' || burst || ' ' || coalesce(concurrency::text, 'null') || ' ' || monthly_requests"
		. " FROM tenant_limits WHERE tenant_id = '$t->{id}'"), '5 10 null 5000000', 'stored, defaults as NULL');
	is_deeply(decode_json_ok(call($u{member}, GET => "$TP/limits"), 'get')->{limits}, $b->{limits},
		'GET shows the same');

	$res = put_limits($u{owner}, {qps => undef, concurrency => 3});
	is($res->{status}, 200, 'null resets one, another is set') or diag($res->{content});
	$b = decode_json_ok($res, 'reset');
	is_deeply($b->{limits}, {%default, burst => 10, concurrency => 3, monthlyRequests => 5_000_000},
		'qps back to the default, burst and the rest kept');
	ok($b->{isDefault}{qps} && !$b->{isDefault}{burst}, 'qps default again');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'limits.set'"), 2, 'audited');
	is(psql("SELECT detail->'changes'->>'concurrency' FROM tenant_audit WHERE tenant_id = '$t->{id}'"
		. " AND action = 'limits.set' ORDER BY id DESC LIMIT 1"), 3, 'with what changed');
	$res = put_limits($u{owner}, {map { $_ => undef } @names});
	is_deeply(decode_json_ok($res, 'all')->{limits}, \%default, 'all reset');
};

# Issue: owners set their own limits up to 10^6 qps and 10^12 memories.
subtest 'owners stay under the ceilings; raising above one needs an admin' => sub {
	my $admin = site_admin();
	my $AP = "/api/v1/admin/tenants/$t->{id}";
	my $lim = sub { decode_json_ok(call($u{member}, GET => "$TP/limits"), 'limits') };
	is_deeply($lim->()->{ceilings}, \%ceiling, 'the limits show the ceilings, the configured ones');
	my $before = $lim->()->{limits};
	my $audited = sub { psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'limits.set'") };
	my $audit_before = $audited->();
	for my $f (@names) {
		my $res = put_limits($u{owner}, {$f => $ceiling{$f} + 1});
		my $e = error_is($res, 403, 'forbidden', "$f one over its ceiling");
		like($e->{error}{message}, qr/\b\Q$f\E\b.*\b$ceiling{$f}\b/, "$f: the message names the field and the ceiling");
	}
	error_is(put_limits($u{owner}, {burst => 7, maxMemories => $ceiling{maxMemories} * 10}), 403, 'forbidden',
		'one over among others');
	is_deeply($lim->()->{limits}, $before, 'the tenant is unchanged');
	is($audited->(), $audit_before, 'and nothing audited');

	my $res = put_limits($u{owner}, {map { $_ => $ceiling{$_} } @names});
	is($res->{status}, 200, 'every limit at its ceiling is fine') or diag($res->{content});
	$res = call($admin, PUT => "$AP/limits", {qps => $ceiling{qps} + 100});
	is($res->{status}, 200, 'an admin sets qps above the ceiling') or diag($res->{content});
	is(put_limits($u{owner}, {qps => $ceiling{qps} + 50})->{status}, 200, 'the owner may lower it, still above');
	error_is(put_limits($u{owner}, {qps => $ceiling{qps} + 60}), 403, 'forbidden', 'but not raise it again');
	is($lim->()->{limits}{qps}, $ceiling{qps} + 50, 'qps as the owner lowered it');

	$res = call($admin, PUT => "$AP/ceilings", {qps => $ceiling{qps} + 1000, maxMemories => 5});
	is($res->{status}, 200, "an admin raises the tenant's own qps ceiling and lowers another") or diag($res->{content});
	is($lim->()->{ceilings}{qps}, $ceiling{qps} + 1000, 'the owner sees the new ceiling');
	is(put_limits($u{owner}, {qps => $ceiling{qps} + 1000})->{status}, 200, 'and may go up to it');
	my $e = error_is(put_limits($u{owner}, {qps => $ceiling{qps} + 1001}), 403, 'forbidden', 'not beyond');
	like($e->{error}{message}, qr/\bqps\b.*\b@{[$ceiling{qps} + 1000]}\b/, "naming the tenant's ceiling");
	is(put_limits($u{owner}, {maxMemories => 5})->{status}, 200, 'a lowered ceiling: up to it');
	error_is(put_limits($u{owner}, {maxMemories => undef}), 403, 'forbidden',
		'not even back to a default above it');
	is(call($admin, PUT => "$AP/ceilings", {map { $_ => undef } @names})->{status}, 200,
		'the admin resets the ceilings');
	is_deeply($lim->()->{ceilings}, \%ceiling, 'the configured ones again');
	is(call($admin, PUT => "$AP/limits", {map { $_ => undef } @names})->{status}, 200, 'and the limits');
};

subtest 'bad input' => sub {
	my @bad = (
		[{}, 'no limit named'],
		[{qps => 0}, 'zero'], [{qps => -1}, 'negative'], [{qps => 1.5}, 'a fraction'], ['{"burst":2.0}', 'a float'],
		[{qps => '5'}, 'a string'], [{qps => JSON::PP::true}, 'a boolean'], [{qps => [5]}, 'an array'],
		[{concurrency => {n => 1}}, 'an object'],
		[{qps => 1_000_001}, 'qps over its bound'], [{concurrency => 100_001}, 'concurrency over its bound'],
		[{monthlyRequests => 1_000_000_000_001}, 'monthlyRequests over its bound'],
		['{"maxMemories":123456789012345678901234567890}', 'a number beyond 64 bits'],
		['{"qps":1e3}', 'an exponent'],
		[{qps => 5, rps => 5}, 'an unknown field'],
		[{tenantId => $t->{id}}, 'tenantId is not a limit'],
		['[1]', 'an array body'], ['{"qps":', 'truncated JSON'], [qq({"qps":5,"\xff":1}), 'invalid UTF-8'],
	);
	error_is(put_limits($u{owner}, $_->[0]), 400, 'invalid_request', $_->[1]) for @bad;
	my $res = api(PUT => "$TP/limits", {headers => {%{bearer($u{owner}{token})}, 'Content-Type' => 'text/plain'},
		content => '{"qps":5}'});
	error_is($res, 415, 'unsupported_media_type', 'text/plain');
	is(psql("SELECT coalesce(qps::text, 'null') FROM tenant_limits WHERE tenant_id = '$t->{id}'"), 'null',
		'nothing changed by the refusals');
};

subtest 'new limits apply within a second' => sub {
	my $key = answer_is(call($u{owner}, POST => '/api/v1/keys', {tenantId => $t->{id}, name => 'limits'}), 201,
		'a key of the tenant')->{key} // '';
	my $self = sub { my $r = api(GET => '/api/v1/keys/self', {headers => bearer($key)});
		$r->{status} == 200 ? JSON::PP::decode_json($r->{content})->{limits} : {} };
	is($self->()->{qps}, $default{qps}, 'the key carries the default qps (and is cached)');
	put_limits($u{owner}, {qps => 7});
	my $t0 = time;
	my $ok = wait_until(2, sub { ($self->()->{qps} // 0) == 7 });
	my $took = time - $t0;
	ok($ok && $took < 1.0, sprintf('the key sees qps 7 after %.3f s', $took));
	put_limits($u{owner}, {qps => undef});
	ok(wait_until(2, sub { ($self->()->{qps} // 0) == $default{qps} }), 'and the default after the reset');
};

subtest 'usage' => sub {
	my $res = call($u{member}, GET => "$TP/usage");
	is($res->{status}, 200, 'a member reads it') or diag($res->{content});
	my $b = decode_json_ok($res, 'usage');
	is($b->{tenantId}, $t->{id}, 'the tenant');
	my @now = gmtime;
	is($b->{month}, sprintf('%04d-%02d', $now[5] + 1900, $now[4] + 1), 'this month');
	is(ref $b->{requests}, 'HASH', 'requests by area');
	ok(defined $b->{total}, 'a total');
	is($b->{memoriesStored}, 0, 'memoriesStored (no memories yet)');
	is($b->{embeddingCalls}, 0, 'embeddingCalls (none yet)');
	error_is(call($u{outsider}, GET => "$TP/usage"), 404, 'not_found', 'a non-member gets 404');
	error_is(call(undef, GET => "$TP/usage"), 401, 'unauthorized', 'no token');

	my $u2 = tenants_user('lim-usage');
	my $t2 = tenants_new($u2, 'Counted');
	my $key = answer_is(call($u2, POST => '/api/v1/keys', {tenantId => $t2->{id}, name => 'usage'}), 201,
		'a key of the second tenant')->{key} // '';
	is(api(GET => '/api/v1/keys/self', {headers => bearer($key)})->{status}, 200, "the key's request $_")
		for 1 .. 3;
	my $c = decode_json_ok(call($u2, GET => "/api/v1/tenants/$t2->{id}/usage"), 'counted');
	is($c->{total}, 3, 'three key-authenticated requests counted');
	is($c->{requests}{keys}, 3, 'in the keys area');
};

subtest 'audit' => sub {
	error_is(call($u{member}, GET => "$TP/audit"), 403, 'forbidden', 'a member may not read it');
	error_is(call($u{outsider}, GET => "$TP/audit"), 404, 'not_found', 'a non-member gets 404');
	my $res = call($u{admin}, GET => "$TP/audit");
	is($res->{status}, 200, 'an admin reads it');
	my $body = decode_json_ok($res, 'audit');
	my @e = @{$body->{entries}};
	my $n = psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}'");
	is(scalar @e, $n, "all $n entries on one page");
	is($e[-1]{action}, 'tenant.create', 'the oldest last');
	is($e[-1]{actorId}, $u{owner}{id}, 'with its actor');
	is($e[-1]{actorEmail}, $u{owner}{email}, 'and their email');
	is($e[-1]{target}, $t->{id}, 'its target');
	is($e[-1]{detail}{name}, 'Limited', 'its detail');
	like($e[-1]{requestId}, qr/^\S+$/, 'its request id');
	like($e[-1]{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'its time');
	is($e[0]{action}, 'limits.set', 'the newest first');
	my @ids = map { $_->{id} } @e;
	is_deeply(\@ids, [sort { $b <=> $a } @ids], 'ordered newest first');
	ok(!defined $body->{nextCursor}, 'no further page');

	my (@paged, $cursor);
	for (1 .. 20) {
		my $p = decode_json_ok(call($u{owner}, GET => "$TP/audit?limit=2" . ($cursor ? "&cursor=$cursor" : '')), 'page');
		push @paged, map { $_->{id} } @{$p->{entries}};
		last unless defined($cursor = $p->{nextCursor});
	}
	is_deeply(\@paged, \@ids, 'pages of two give the same entries');
	error_is(call($u{owner}, GET => "$TP/audit?cursor=abc"), 400, 'invalid_request', 'a bad cursor');
	error_is(call($u{owner}, GET => "$TP/audit?limit=500"), 400, 'invalid_request', 'a bad limit');
	error_is(call($u{owner}, GET => "$TP/audit?action=x"), 400, 'invalid_request', 'an unknown parameter');
};

done_testing();

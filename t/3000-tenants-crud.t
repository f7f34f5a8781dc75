#!/usr/bin/perl
# A user's tenants: create (the caller becomes owner, audited), list with
# keyset paging and the caller's role, get, rename (admins), delete (owners
# only: 204, status 'deleted', invisible afterwards, its keys stop, an erase
# job queued).  Names are 1..128 bytes once trimmed, without control
# characters; every other input is refused with 400.  A user creates at most
# TENANT_MAX_PER_USER tenants that are not deleted.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $T = '/api/v1/tenants';
my $owner = tenants_user('crud-owner');
my $other = tenants_user('crud-other');

subtest 'create' => sub {
	my $res = call($owner, POST => $T, {name => '  Acme Corp  '});
	is($res->{status}, 201, 'answers 201') or diag($res->{content});
	my $t = decode_json_ok($res, 'create')->{tenant};
	like($t->{id}, qr/^[0-9a-f-]{36}$/, 'an id');
	is($t->{name}, 'Acme Corp', 'the name, trimmed');
	is($t->{status}, 'active', 'active');
	is($t->{role}, 'owner', 'the caller is owner');
	like($t->{createdAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'createdAt in RFC 3339 UTC');
	ok(exists $t->{suspendedAt} && !defined $t->{suspendedAt}, 'suspendedAt null');
	is(psql("SELECT role FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$owner->{id}'"), 'owner',
		'the owner row exists');
	is(psql("SELECT action || ' ' || actor_id || ' ' || (detail->>'name') FROM tenant_audit WHERE tenant_id = '$t->{id}'"),
		"tenant.create $owner->{id} Acme Corp", 'audited');
	my $rid = $res->{headers}{'x-request-id'};
	is(psql("SELECT request_id FROM tenant_audit WHERE tenant_id = '$t->{id}'"), $rid, 'with the request id');

	my $name = 'é' x 64;    # 128 bytes, 64 characters
	$res = call($owner, POST => $T, qq({"name":"$name"}));
	is($res->{status}, 201, 'a 128-byte UTF-8 name') or diag($res->{content});
	is(decode_json_ok($res, 'utf8')->{tenant}{name}, JSON::PP->new->decode(qq("$name")), 'kept as given');
};

subtest 'bad names and bodies' => sub {
	my @bad = (
		[{}, 'name missing'],
		[{name => undef}, 'name null'],
		[{name => ''}, 'name empty'],
		[{name => "   \t "}, 'name blank'],
		[{name => 'x' x 129}, 'name of 129 bytes'],
		[{name => "\x{e9}" x 65}, 'name of 130 bytes (65 characters)'],    # é: call() sends UTF-8
		[{name => 42}, 'name a number'],
		[{name => ['a']}, 'name an array'],
		[{name => JSON::PP::true}, 'name a boolean'],
		[{name => "a\x01b"}, 'a control character'],
		[{name => 'ok', extra => 1}, 'an unknown field'],
		['[]', 'an array body'],
		['"name"', 'a string body'],
		[qq({"name":"\xff\xfe"}), 'invalid UTF-8'],
		['{"name":"\ud800"}', 'an unpaired surrogate escape'],
		['{"name":"a\u0000b"}', 'an escaped NUL'],
		['{"name":"a"', 'truncated JSON'],
	);
	for my $b (@bad) {
		error_is(call($owner, POST => $T, $b->[0]), 400, 'invalid_request', $b->[1]);
	}
	my $res = api(POST => $T, {headers => {%{bearer($owner->{token})}, 'Content-Type' => 'text/plain'},
		content => '{"name":"x"}'});
	error_is($res, 415, 'unsupported_media_type', 'text/plain');
	$res = api(POST => $T, {headers => {%{bearer($owner->{token})}, 'Content-Type' => 'application/json'},
		content => '{"name":"' . ('x' x (2 * 1024 * 1024)) . '"}'});
	error_is($res, 413, 'payload_too_large', 'a body over the limit');
	error_is(call(undef, POST => $T, {name => 'x'}), 401, 'unauthorized', 'no token');
	is(psql("SELECT count(*) FROM tenants WHERE created_by = '$owner->{id}'"), 2, 'nothing made by the failures');
};

subtest 'list and paging' => sub {
	my $u = tenants_user('crud-pager');
	my %made;
	for my $i (1 .. 7) {
		my $t = tenants_new($u, "pager $i");
		$made{$t->{id}} = $t->{name};
	}
	my $res = call($u, GET => $T);
	is($res->{status}, 200, 'answers 200');
	my $b = decode_json_ok($res, 'list');
	is(scalar @{$b->{tenants}}, 7, 'all seven on one default page');
	ok(exists $b->{nextCursor} && !defined $b->{nextCursor}, 'nextCursor null on the last page');
	is_deeply([map { $_->{name} } @{$b->{tenants}}], [map { "pager $_" } 1 .. 7], 'oldest first');
	ok(!(grep { $_->{role} ne 'owner' } @{$b->{tenants}}), 'each with the role');

	my (@seen, $cursor, $pages);
	do {
		my $q = "?limit=3" . (defined $cursor ? "&cursor=$cursor" : '');
		my $p = decode_json_ok(call($u, GET => "$T$q"), "page $q");
		ok(@{$p->{tenants}} <= 3, 'at most limit rows');
		push @seen, map { $_->{id} } @{$p->{tenants}};
		$cursor = $p->{nextCursor};
		$pages++;
	} while (defined $cursor && $pages < 10);
	is($pages, 3, 'three pages of 3, 3, 1');
	is_deeply([sort @seen], [sort keys %made], 'every tenant once');

	my $p = decode_json_ok(call($u, GET => "$T?limit=7"), 'exact');
	ok(!defined $p->{nextCursor}, 'a page that ends exactly at the end has no next cursor');

	for my $q ('limit=0', 'limit=101', 'limit=x', 'limit=-1', 'limit=1.5', 'cursor=abc', 'cursor=1.nope',
		'cursor=12345678901234567890.00000000-0000-4000-8000-000000000000', 'bogus=1', 'limit=1&limit=2',
		'cursor=%FF') {
		error_is(call($u, GET => "$T?$q"), 400, 'invalid_request', "?$q");
	}
	is(scalar @{decode_json_ok(call($other, GET => $T), 'other')->{tenants}}, 0,
		"another user sees none of them");
};

my $t = tenants_new($owner, 'Renamable');
my $id = $t->{id};

subtest 'get' => sub {
	my $res = call($owner, GET => "$T/$id");
	is($res->{status}, 200, 'answers 200');
	my $g = decode_json_ok($res, 'get')->{tenant};
	is($g->{id}, $id, 'the tenant');
	is($g->{role}, 'owner', 'with the role');
	is(decode_json_ok(call($owner, GET => "$T/" . uc $id), 'upper')->{tenant}{id}, $id,
		'an upper-case id is the same tenant');
	error_is(call($other, GET => "$T/$id"), 404, 'not_found', 'a non-member: 404');
	error_is(call($owner, GET => "$T/00000000-0000-4000-8000-000000000000"), 404, 'not_found', 'no such tenant');
	error_is(call($owner, GET => "$T/not-a-uuid"), 404, 'not_found', 'a malformed id');
	error_is(call($owner, GET => "$T/${id}0"), 404, 'not_found', 'an id too long');
};

subtest 'rename' => sub {
	my $res = call($owner, PATCH => "$T/$id", {name => 'Renamed'});
	is($res->{status}, 200, 'answers 200') or diag($res->{content});
	is(decode_json_ok($res, 'rename')->{tenant}{name}, 'Renamed', 'the new name');
	is(psql("SELECT detail->>'from' || '>' || (detail->>'to') FROM tenant_audit WHERE tenant_id = '$id' AND action = 'tenant.rename'"),
		'Renamable>Renamed', 'audited with both names');
	is(call($owner, PATCH => "$T/$id", {name => 'Renamed'})->{status}, 200, 'the same name again: 200');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$id' AND action = 'tenant.rename'"), 1,
		'and no audit row for no change');
	error_is(call($owner, PATCH => "$T/$id", {name => 'x' x 129}), 400, 'invalid_request', 'too long');
	error_is(call($owner, PATCH => "$T/$id", {}), 400, 'invalid_request', 'no name');
	error_is(call($owner, PATCH => "$T/$id", {name => 'a', status => 'deleted'}), 400, 'invalid_request',
		'an unknown field');
	error_is(call($other, PATCH => "$T/$id", {name => 'Hijack'}), 404, 'not_found', 'a non-member');
	is(decode_json_ok(call($owner, GET => "$T/$id"), 'after')->{tenant}{name}, 'Renamed', 'unchanged by them');
};

subtest 'delete' => sub {
	my $d = tenants_new($owner, 'Doomed');
	my $did = $d->{id};
	error_is(call($other, DELETE => "$T/$did"), 404, 'not_found', 'a non-member: 404');
	# The worker is stopped meanwhile, so that the job stays in the queue to be seen.
	with_service_stopped(worker => sub {
		my $res = call($owner, DELETE => "$T/$did");
		is($res->{status}, 204, 'answers 204') or diag($res->{content});
		is($res->{content} // '', '', 'no body');
		is(psql("SELECT status || ' ' || (deleted_at IS NOT NULL) FROM tenants WHERE id = '$did'"), 'deleted true',
			'status deleted, deleted_at set');
		error_is(call($owner, GET => "$T/$did"), 404, 'not_found', 'gone for its owner');
		error_is(call($owner, DELETE => "$T/$did"), 404, 'not_found', 'deleting again: 404');
		error_is(call($owner, GET => "$T/$did/members"), 404, 'not_found', 'its members are gone too');
		ok(!(grep { $_->{id} eq $did } @{decode_json_ok(call($owner, GET => "$T?limit=100"), 'l')->{tenants}}),
			'not listed');
		is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$did' AND action = 'tenant.delete'"), 1, 'audited');
		my @jobs = map { eval { JSON::PP::decode_json($_) } // {} } split /\n/, redis_cli('LRANGE', '{memox}:jobs', 0, -1);
		my ($job) = grep { ($_->{tenantId} // '') eq $did } @jobs;
		ok($job, 'an erase job was queued');
		is($job->{type}, 'tenant.erase', 'of type tenant.erase');
	});
};

# Issue: any user could create unlimited tenants (to probe from).
subtest 'at most TENANT_MAX_PER_USER tenants a user creates' => sub {
	my $max = stack_env('TENANT_MAX_PER_USER') // 20;
	my $u = tenants_user('crud-cap');
	my @made = map { tenants_new($u, "cap $_") } 1 .. $max;
	my $res = call($u, POST => $T, {name => 'one too many'});
	my $e = error_is($res, 409, 'conflict', "the tenant after $max");
	like($e->{error}{message}, qr/\b$max\b/, 'the message names the cap');
	is(psql("SELECT count(*) FROM tenants WHERE created_by = '$u->{id}'"), $max, 'none was made');
	my $x = tenants_new($other, 'not counted');
	tenants_join($other, $x->{id}, $u, 'owner');
	error_is(call($u, POST => $T, {name => 'still too many'}), 409, 'conflict',
		'owning one made by someone else changes nothing');
	is(call($u, DELETE => "$T/$made[0]{id}")->{status}, 204, 'one is deleted');
	$res = call($u, POST => $T, {name => 'in its place'});
	is($res->{status}, 201, 'a deleted tenant does not count') or diag($res->{content});
	error_is(call($u, POST => $T, {name => 'and again too many'}), 409, 'conflict', 'the cap again');
};

subtest 'delete stops the keys' => sub {
	my $d = tenants_new($owner, 'Keyed');
	my $key = answer_is(call($owner, POST => '/api/v1/keys', {tenantId => $d->{id}, name => 'k'}), 201,
		'a key of the tenant')->{key} // '';
	is(api(GET => '/api/v1/keys/self', {headers => bearer($key)})->{status}, 200, 'the key works');
	is(call($owner, DELETE => "/api/v1/tenants/$d->{id}")->{status}, 204, 'tenant deleted');
	my $t0 = time;
	my $st = wait_until(3, sub { my $s = api(GET => '/api/v1/keys/self', {headers => bearer($key)})->{status};
		$s == 200 ? 0 : $s });
	ok($st && $st != 200, "the key stops ($st) at once") or diag('still 200 after ' . (time - $t0) . 's');
};

done_testing();

#!/usr/bin/perl
# The back office, for users with the admin role only: find tenants (by name
# or id, by status, paged) and users (by email or id, paged), see any
# tenant, suspend and resume it (its keys get 403 within a second, and work
# again after the resume), set its limits and its ceilings (what its owners
# may set themselves), read its usage and audit log.  Admins' changes are
# audited in the tenant's log with the admin as actor.  The admin role is
# read from the database on every request: a demoted admin's token is
# refused at once.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/admin';
my $admin = site_admin();
my $owner = tenants_user('admin-owner');
my $tag = "adm$$" . int(rand(1e6));
my @made = map { tenants_new($owner, "Findable $tag $_") } 1 .. 5;
my $t = $made[0];

subtest 'only admins' => sub {
	for my $p ("$A/tenants", "$A/users", "$A/tenants/$t->{id}", "$A/tenants/$t->{id}/usage", "$A/tenants/$t->{id}/audit",
		"$A/tenants/$t->{id}/limits") {
		error_is(call($owner, GET => $p), 403, 'forbidden', "GET $p as a user");
		error_is(call(undef, GET => $p), 401, 'unauthorized', "GET $p without a token");
	}
	for my $p ("$A/tenants/$t->{id}/suspend", "$A/tenants/$t->{id}/resume") {
		error_is(call($owner, POST => $p), 403, 'forbidden', "POST $p as a user");
	}
	error_is(call($owner, PUT => "$A/tenants/$t->{id}/limits", {qps => 1}), 403, 'forbidden', 'PUT limits as a user');
	is(psql("SELECT status FROM tenants WHERE id = '$t->{id}'"), 'active', 'still active');
};

subtest 'find tenants' => sub {
	my $res = call($admin, GET => "$A/tenants?query=" . uc("findable+$tag"));
	is($res->{status}, 200, 'a search') or diag($res->{content});
	my $b = decode_json_ok($res, 'search');
	is_deeply([map { $_->{id} } @{$b->{tenants}}], [map { $_->{id} } reverse @made], 'the five, newest first, any case');
	my $one = $b->{tenants}[-1];
	is($one->{memberCount}, 1, 'with a member count');
	is($one->{createdBy}, $owner->{id}, 'and its creator');
	is($one->{status}, 'active', 'and status');

	my (@paged, $cursor);
	for (1 .. 10) {
		my $p = decode_json_ok(call($admin, GET => "$A/tenants?query=$tag&limit=2" . ($cursor ? "&cursor=$cursor" : '')), 'p');
		ok(@{$p->{tenants}} <= 2, 'pages of at most 2');
		push @paged, map { $_->{id} } @{$p->{tenants}};
		last unless defined($cursor = $p->{nextCursor});
	}
	is_deeply(\@paged, [map { $_->{id} } reverse @made], 'paging gives each once, in order');

	is_deeply([map { $_->{id} } @{decode_json_ok(call($admin, GET => "$A/tenants?query=$t->{id}"), 'id')->{tenants}}],
		[$t->{id}], 'by id');
	is(scalar @{decode_json_ok(call($admin, GET => "$A/tenants?query=%25$tag"), 'pct')->{tenants}}, 0,
		'% is no wildcard');
	ok(scalar @{decode_json_ok(call($admin, GET => "$A/tenants"), 'all')->{tenants}} >= 5, 'no query: all');
	error_is(call($admin, GET => "$A/tenants?status=gone"), 400, 'invalid_request', 'an unknown status');
	error_is(call($admin, GET => "$A/tenants?query=" . ('x' x 255)), 400, 'invalid_request', 'a query too long');
	error_is(call($admin, GET => "$A/tenants?query=%FF"), 400, 'invalid_request', 'a query not UTF-8');
	error_is(call($admin, GET => "$A/tenants?name=x"), 400, 'invalid_request', 'an unknown parameter');
	error_is(call($admin, GET => "$A/tenants?limit=0"), 400, 'invalid_request', 'a bad limit');
	error_is(call($admin, GET => "$A/tenants?cursor=1"), 400, 'invalid_request', 'a bad cursor');
};

subtest 'find users' => sub {
	my @users = map { tenants_user("admin-find-$tag-$_") } 1 .. 3;
	tenants_join($owner, $t->{id}, $users[0]);
	my $res = call($admin, GET => "$A/users?query=ADMIN-FIND-$tag");
	is($res->{status}, 200, 'a search') or diag($res->{content});
	my $b = decode_json_ok($res, 'users');
	is_deeply([map { $_->{id} } @{$b->{users}}], [map { $_->{id} } reverse @users], 'the three, newest first');
	my $u0 = $b->{users}[-1];
	is($u0->{email}, $users[0]{email}, 'with the email');
	is($u0->{role}, 'user', 'the role');
	is($u0->{tenantCount}, 1, 'and the number of tenants');
	ok(exists $u0->{emailVerified}, 'and whether the email is verified');
	my $p1 = decode_json_ok(call($admin, GET => "$A/users?query=admin-find-$tag&limit=2"), 'p1');
	is(scalar @{$p1->{users}}, 2, 'a page of two');
	my $p2 = decode_json_ok(call($admin, GET => "$A/users?query=admin-find-$tag&limit=2&cursor=$p1->{nextCursor}"), 'p2');
	is_deeply([map { $_->{id} } @{$p2->{users}}], [$users[0]{id}], 'then the last');
	ok(!defined $p2->{nextCursor}, 'and no cursor');
	is_deeply([map { $_->{email} } @{decode_json_ok(call($admin, GET => "$A/users?query=$admin->{email}"), 'a')->{users}}],
		[$admin->{email}], 'the admin finds themself');
	is_deeply([map { $_->{id} } @{decode_json_ok(call($admin, GET => "$A/users?query=$users[1]{id}"), 'id')->{users}}],
		[$users[1]{id}], 'by id');
	error_is(call($admin, GET => "$A/users?status=active"), 400, 'invalid_request', 'an unknown parameter');
	error_is(call($admin, GET => "$A/users?query=a&query=b"), 400, 'invalid_request', 'a parameter twice');
};

subtest 'see a tenant' => sub {
	my $res = call($admin, GET => "$A/tenants/$t->{id}");
	is($res->{status}, 200, 'any tenant') or diag($res->{content});
	is(decode_json_ok($res, 'get')->{tenant}{id}, $t->{id}, 'the tenant');
	error_is(call($admin, GET => "$A/tenants/00000000-0000-4000-8000-000000000000"), 404, 'not_found', 'no such tenant');
	error_is(call($admin, GET => "$A/tenants/zzz"), 404, 'not_found', 'a malformed id');
};

# A key of the tenant, when the keys responder is there.
my $key;
{
	my $res = call(undef, POST => '/api/v1/keys', {tenantId => $t->{id}, name => 'admin test'}, bearer($owner->{token}));
	$key = JSON::PP::decode_json($res->{content})->{key} if $res->{status} == 201;
}
sub key_status { api(GET => '/api/v1/keys/self', {headers => bearer($key)})->{status} }

subtest 'suspend and resume' => sub {
	is(key_status(), 200, 'the key works') if $key;
	my $res = call($admin, POST => "$A/tenants/$t->{id}/suspend");
	my $t0 = time;
	is($res->{status}, 200, 'suspended') or diag($res->{content});
	my $b = decode_json_ok($res, 'suspend')->{tenant};
	is($b->{status}, 'suspended', 'status suspended');
	like($b->{suspendedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'suspendedAt');
	if ($key) {
		my $st = wait_until(2, sub { my $s = key_status(); $s == 403 ? $s : 0 });
		my $took = time - $t0;
		ok($st && $took < 1.0, sprintf('the key gets 403 after %.3f s', $took));
	}
	is(decode_json_ok(call($owner, GET => "/api/v1/tenants/$t->{id}"), 'owner')->{tenant}{status}, 'suspended',
		'the owner sees it suspended');
	is(psql("SELECT actor_id || ' ' || (detail->>'from') FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'tenant.suspend'"),
		"$admin->{id} active", 'audited with the admin as actor');
	is(call($admin, POST => "$A/tenants/$t->{id}/suspend")->{status}, 200, 'suspending again: 200');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'tenant.suspend'"), 1,
		'no second audit row');

	$res = call($admin, POST => "$A/tenants/$t->{id}/resume");
	$t0 = time;
	is($res->{status}, 200, 'resumed') or diag($res->{content});
	$b = decode_json_ok($res, 'resume')->{tenant};
	is($b->{status}, 'active', 'active');
	ok(!defined $b->{suspendedAt}, 'suspendedAt cleared');
	if ($key) {
		my $st = wait_until(2, sub { key_status() == 200 });
		ok($st && time - $t0 < 1.0, sprintf('the key works again after %.3f s', time - $t0));
	}
	is(decode_json_ok(call($owner, GET => "/api/v1/tenants/$t->{id}"), 'owner')->{tenant}{status}, 'active',
		'the owner sees it active');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'tenant.resume'"), 1, 'audited');
	is(call($admin, POST => "$A/tenants/$t->{id}/resume")->{status}, 200, 'resuming an active one: 200');

	error_is(call($admin, POST => "$A/tenants/00000000-0000-4000-8000-000000000000/suspend"), 404, 'not_found',
		'no such tenant');
	error_is(call($admin, POST => "$A/tenants/nope/resume"), 404, 'not_found', 'a malformed id');
	my $d = $made[4];
	call($owner, DELETE => "/api/v1/tenants/$d->{id}");
	error_is(call($admin, POST => "$A/tenants/$d->{id}/suspend"), 409, 'conflict', 'a deleted tenant cannot be suspended');
	error_is(call($admin, POST => "$A/tenants/$d->{id}/resume"), 409, 'conflict', 'nor resumed');
	is(decode_json_ok(call($admin, GET => "$A/tenants/$d->{id}"), 'deleted')->{tenant}{status}, 'deleted',
		'but is still seen by admins');
	is_deeply([map { $_->{id} } @{decode_json_ok(call($admin, GET => "$A/tenants?query=$tag&status=deleted"), 's')->{tenants}}],
		[$d->{id}], 'and found by status');
};

subtest 'limits' => sub {
	my $P = "$A/tenants/$t->{id}/limits";
	my $res = call($admin, PUT => $P, {qps => 500, concurrency => 50, maxMemories => 10_000_000});
	is($res->{status}, 200, 'an admin sets any tenant\'s limits') or diag($res->{content});
	my $b = decode_json_ok($res, 'put');
	is($b->{limits}{qps}, 500, 'qps');
	is($b->{limits}{maxMemories}, 10_000_000, 'maxMemories');
	is_deeply(decode_json_ok(call($owner, GET => "/api/v1/tenants/$t->{id}/limits"), 'owner')->{limits},
		$b->{limits}, 'the owner sees them');
	is_deeply(decode_json_ok(call($admin, GET => $P), 'admin')->{limits}, $b->{limits}, 'and the admin');
	is(psql("SELECT actor_id || ' ' || (detail->>'by') FROM tenant_audit WHERE tenant_id = '$t->{id}'"
		. " AND action = 'limits.set' ORDER BY id DESC LIMIT 1"), "$admin->{id} admin", 'audited as the admin');
	if ($key) {
		ok(wait_until(2, sub { my $r = api(GET => '/api/v1/keys/self', {headers => bearer($key)});
			$r->{status} == 200 && JSON::PP::decode_json($r->{content})->{limits}{qps} == 500 }), 'the key has them');
	}
	error_is(call($admin, PUT => $P, {qps => 0}), 400, 'invalid_request', 'a bad value');
	error_is(call($admin, PUT => $P, {qps => 5, x => 1}), 400, 'invalid_request', 'an unknown field');
	error_is(call($admin, PUT => $P, {}), 400, 'invalid_request', 'nothing named');
	error_is(call($admin, PUT => "$A/tenants/$made[4]{id}/limits", {qps => 5}), 409, 'conflict', 'a deleted tenant');
	error_is(call($admin, PUT => "$A/tenants/00000000-0000-4000-8000-000000000000/limits", {qps => 5}), 404,
		'not_found', 'no such tenant');
	is(decode_json_ok(call($admin, PUT => $P, {qps => undef, concurrency => undef, maxMemories => undef}), 'r')
		->{isDefault}{qps}, JSON::PP::true, 'reset');
};

subtest 'ceilings' => sub {
	my $P = "$A/tenants/$t->{id}/ceilings";
	my %site = (qps => stack_env('TENANT_CEILING_QPS') // 200, burst => stack_env('TENANT_CEILING_BURST') // 400,
		concurrency => stack_env('TENANT_CEILING_CONCURRENCY') // 100,
		monthlyRequests => stack_env('TENANT_CEILING_MONTHLY_REQUESTS') // 10_000_000,
		maxMemories => stack_env('TENANT_CEILING_MAX_MEMORIES') // 1_000_000);
	error_is(call($owner, GET => $P), 403, 'forbidden', 'GET as a user');
	error_is(call($owner, PUT => $P, {qps => 5000}), 403, 'forbidden', 'PUT as a user');
	my $res = call($admin, GET => $P);
	is($res->{status}, 200, 'an admin reads them') or diag($res->{content});
	my $b = decode_json_ok($res, 'get');
	is($b->{tenantId}, $t->{id}, 'of the tenant');
	is_deeply($b->{ceilings}, \%site, 'the configured ones');
	ok($b->{isDefault}{qps}, 'marked default');
	$res = call($admin, PUT => $P, {qps => 5000, monthlyRequests => 1_000_000_000_000});
	is($res->{status}, 200, 'an admin sets two') or diag($res->{content});
	$b = decode_json_ok($res, 'put');
	is_deeply($b->{ceilings}, {%site, qps => 5000, monthlyRequests => 1_000_000_000_000}, 'in force');
	ok(!$b->{isDefault}{qps} && $b->{isDefault}{burst}, 'qps its own, burst the default');
	is(decode_json_ok(call($owner, GET => "/api/v1/tenants/$t->{id}/limits"), 'owner')->{ceilings}{qps}, 5000,
		'the owner sees them with the limits');
	is(call($owner, PUT => "/api/v1/tenants/$t->{id}/limits", {qps => 5000})->{status}, 200,
		'and may set qps up to the new ceiling');
	is(psql("SELECT actor_id || ' ' || (detail->>'by') || ' ' || (detail->'changes'->>'qps') FROM tenant_audit"
		. " WHERE tenant_id = '$t->{id}' AND action = 'ceilings.set' ORDER BY id DESC LIMIT 1"), "$admin->{id} admin 5000",
		'audited as the admin, with the changes');
	error_is(call($admin, PUT => $P, {qps => 0}), 400, 'invalid_request', 'a bad value');
	error_is(call($admin, PUT => $P, {qps => 1_000_001}), 400, 'invalid_request', 'over the bound');
	error_is(call($admin, PUT => $P, {rps => 5}), 400, 'invalid_request', 'an unknown field');
	error_is(call($admin, PUT => $P, {}), 400, 'invalid_request', 'nothing named');
	error_is(call($admin, PUT => "$A/tenants/$made[4]{id}/ceilings", {qps => 5}), 409, 'conflict', 'a deleted tenant');
	error_is(call($admin, GET => "$A/tenants/00000000-0000-4000-8000-000000000000/ceilings"), 404, 'not_found',
		'no such tenant');
	$b = decode_json_ok(call($admin, PUT => $P, {qps => undef, monthlyRequests => undef}), 'reset');
	is_deeply($b->{ceilings}, \%site, 'reset to the configured ones');
	call($admin, PUT => "$A/tenants/$t->{id}/limits", {qps => undef});
};

# Issue: a demoted admin kept admin access until the access token expired.
subtest 'a demoted admin is refused at once' => sub {
	my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl --env-file " . var_dir() . '/aiget.env';
	my $email = unique_email('admin-demoted');
	my $out = `$ctl admin create $email --json 2>/dev/null`;
	is($? >> 8, 0, 'aigetctl admin create makes an admin');
	my $pw = eval { JSON::PP::decode_json($out)->{password} } // '';
	my $res = call(undef, POST => '/api/v1/auth/login', {email => $email, password => $pw});
	is($res->{status}, 200, 'who signs in') or diag($res->{content});
	my $token = decode_json_ok($res, 'login')->{accessToken};
	is(call($token, GET => "$A/tenants?limit=1")->{status}, 200, 'and uses an admin route');
	psql("UPDATE users SET role = 'user' WHERE lower(email) = lower('$email')");
	error_is(call($token, GET => "$A/tenants?limit=1"), 403, 'forbidden', 'demoted: the same token is refused');
	error_is(call($token, POST => "$A/tenants/$t->{id}/suspend"), 403, 'forbidden', 'on every admin route');
	is(psql("SELECT status FROM tenants WHERE id = '$t->{id}'"), 'active', 'which changed nothing');
	is(call($token, GET => '/api/v1/tenants')->{status}, 200, 'the token still works as a user');
	psql("UPDATE users SET role = 'admin' WHERE lower(email) = lower('$email')");
	is(call($token, GET => "$A/tenants?limit=1")->{status}, 200, 'promoted again: at once too');
	psql("DELETE FROM users WHERE lower(email) = lower('$email')");
	error_is(call($token, GET => "$A/tenants?limit=1"), 403, 'forbidden', 'an account that is gone');
};

subtest 'usage and audit' => sub {
	my $res = call($admin, GET => "$A/tenants/$t->{id}/usage");
	is($res->{status}, 200, 'usage') or diag($res->{content});
	my $u = decode_json_ok($res, 'usage');
	is($u->{tenantId}, $t->{id}, 'of the tenant');
	ok(exists $u->{requests} && exists $u->{memoriesStored} && exists $u->{embeddingCalls}, 'in the same shape');
	$res = call($admin, GET => "$A/tenants/$t->{id}/audit?limit=100");
	is($res->{status}, 200, 'audit');
	my @e = @{decode_json_ok($res, 'audit')->{entries}};
	my %actions = map { $_->{action} => 1 } @e;
	ok($actions{$_}, "has $_") for qw(tenant.create tenant.suspend tenant.resume limits.set ceilings.set
		invitation.create invitation.accept);
	my ($s) = grep { $_->{action} eq 'tenant.suspend' } @e;
	is($s->{actorEmail}, $admin->{email}, "the admin's email on their entry");
	is(decode_json_ok(call($owner, GET => "/api/v1/tenants/$t->{id}/audit?limit=100"), 'o')->{entries}[0]{id},
		$e[0]{id}, 'the owner reads the same log');
	is(call($admin, GET => "$A/tenants/$made[4]{id}/audit")->{status}, 200, "a deleted tenant's audit");
	error_is(call($admin, GET => "$A/tenants/00000000-0000-4000-8000-000000000000/usage"), 404, 'not_found',
		'usage of no tenant');
	error_is(call($admin, GET => "$A/tenants/x/audit"), 404, 'not_found', 'audit of a malformed id');
	error_is(call($admin, GET => "$A/tenants/$t->{id}/audit?cursor=z"), 400, 'invalid_request', 'a bad cursor');
};

done_testing();

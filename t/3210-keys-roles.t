#!/usr/bin/perl
# Who may manage keys: a tenant's owners and admins.  A member gets 403 on
# every route; a user outside the tenant gets 404, as for a key or tenant
# that does not exist, so another tenant's keys are not even revealed; a key
# id of another tenant is a 404 on every route, whoever asks.  Without a user
# token every management route is a 401, and an API key is not a user token
# (nor the other way round).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my %u = map { $_ => tenants_user("keys-$_") } qw(owner admin member outsider);
my $ta = tenants_new($u{owner}, 'tenant A')->{id};
tenants_join($u{owner}, $ta, $u{admin}, 'admin');
tenants_join($u{owner}, $ta, $u{member}, 'member');
my $tb = tenants_new($u{outsider}, 'tenant B')->{id};
my $ka = keys_make($u{owner}{token}, $ta, name => 'A key');
my $kb = keys_make($u{outsider}{token}, $tb, name => 'B key');

sub as {
	my ($who, $method, $path, $body) = @_;
	my %h = $who ? %{bearer(ref $who ? $$who : $u{$who}{token})} : ();
	return defined $body ? api($method => $path, {headers => {%h, 'Content-Type' => 'application/json'},
		content => JSON::PP->new->encode($body)}) : api($method => $path, {headers => \%h});
}

# Every management route, for a key id and a tenant id.
sub routes {
	my ($key, $tenant) = @_;
	return (
		['POST', '/api/v1/keys', {tenantId => $tenant, name => 'x'}],
		['GET', "/api/v1/keys?tenantId=$tenant"],
		['GET', "/api/v1/keys/$key"],
		['POST', "/api/v1/keys/$key/disable"],
		['POST', "/api/v1/keys/$key/enable"],
		['POST', "/api/v1/keys/$key/rotate", {overlapSeconds => 0}],
		['DELETE', "/api/v1/keys/$key"],
	);
}

for my $r (routes($ka->{id}, $ta)) {
	my ($m, $p, $b) = @$r;
	error_is(as('member', $m, $p, $b), 403, 'forbidden', "member: $m $p");
	error_is(as('outsider', $m, $p, $b), 404, 'not_found', "non-member: $m $p");
	error_is(as(undef, $m, $p, $b), 401, 'unauthorized', "no token: $m $p");
	error_is(as(\$ka->{key}, $m, $p, $b), 401, 'unauthorized', "an API key as user token: $m $p");
	error_is(as(\'not.a.jwt', $m, $p, $b), 401, 'unauthorized', "a bad token: $m $p");
}
# Cross-tenant: the owner of B names A's key, and A's owner names B's key.
for my $r (grep { $_->[1] =~ m{/keys/} } routes($ka->{id}, $ta)) {
	my ($m, $p, $b) = @$r;
	error_is(as('outsider', $m, $p, $b), 404, 'not_found', "another tenant's key: $m $p");
}
for my $r (grep { $_->[1] =~ m{/keys/} } routes($kb->{id}, $tb)) {
	my ($m, $p, $b) = @$r;
	error_is(as('admin', $m, $p, $b), 404, 'not_found', "an admin of A, B's key: $m $p");
}
error_is(as('outsider', POST => '/api/v1/keys', {tenantId => $ta, name => 'x'}), 404, 'not_found',
	'create a key in a tenant one is not in');
my $unknown = '00000000-0000-4000-8000-000000000000';
error_is(as('owner', GET => "/api/v1/keys/$unknown"), 404, 'not_found', 'a key that does not exist');
error_is(as('owner', GET => "/api/v1/keys?tenantId=$unknown"), 404, 'not_found', 'a tenant that does not exist');

# Nothing the member or the outsider tried changed anything.
my $res = as('owner', GET => "/api/v1/keys?tenantId=$ta");
is($res->{status}, 200, 'owner: list');
my @keys = @{decode_json_ok($res, 'list')->{keys}};
is(scalar @keys, 1, 'the refused creations made no key');
is($keys[0]{status}, 'active', 'the refused changes left the key active');
is(keys_self($ka->{key})->{status}, 200, 'and working');
is(keys_self($kb->{key})->{status}, 200, "B's key too");
is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$ta' AND actor_id IN ('$u{member}{id}', '$u{outsider}{id}')"
	. " AND action LIKE 'key.%'"), 0, 'and nothing was audited for them');

# The admin of the tenant may do everything.
$res = as('admin', POST => '/api/v1/keys', {tenantId => $ta, name => 'by the admin'});
is($res->{status}, 201, 'admin: create');
my $k = decode_json_ok($res, 'admin create');
is(as('admin', GET => "/api/v1/keys?tenantId=$ta")->{status}, 200, 'admin: list');
is(as('admin', GET => "/api/v1/keys/$k->{id}")->{status}, 200, 'admin: get');
is(as('admin', POST => "/api/v1/keys/$k->{id}/disable")->{status}, 200, 'admin: disable');
is(as('admin', POST => "/api/v1/keys/$k->{id}/enable")->{status}, 200, 'admin: enable');
$res = as('admin', POST => "/api/v1/keys/$k->{id}/rotate");
is($res->{status}, 200, 'admin: rotate');
my $k2 = decode_json_ok($res, 'admin rotate');
is(as('admin', DELETE => "/api/v1/keys/$k2->{id}")->{status}, 204, 'admin: delete');
is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$ta' AND actor_id = '$u{admin}{id}' AND action LIKE 'key.%'"),
	5, "the admin's five changes are audited as theirs");
# The member's view: the key works for the tenant, but the member cannot see it.
is(as('owner', GET => "/api/v1/keys/$ka->{id}")->{status}, 200, 'the owner sees the key');

# An access token is not an API key.
$res = api(GET => '/api/v1/keys/self', {headers => bearer($u{owner}{token})});
error_is($res, 401, 'unauthorized', 'a user token on /keys/self');
error_is(api(GET => '/api/v1/keys/self'), 401, 'unauthorized', 'no key on /keys/self');
like(api(GET => '/api/v1/keys/self')->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'with WWW-Authenticate');
is(decode_json_ok(keys_self($kb->{key}), 'self B')->{tenantId}, $tb, "a key answers for its own tenant only");

done_testing();

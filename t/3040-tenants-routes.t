#!/usr/bin/perl
# Every route of the tenants responder, as tenants.fcgi --routes prints its
# route table with each route's flags: another method is a 405 with Allow;
# without a valid access token a 401; an admin route is a 403 for a user
# without the admin role; a tenant route is a 404 for a user outside the
# tenant, for a tenant that does not exist and for a malformed id, and a 403
# for a member whose role is too low; JSON routes refuse other media types
# (415), broken or invalid JSON (400), unknown fields (400) and oversized
# bodies (413).
# None of the refusals changes anything.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my @routes = route_table('tenants');
cmp_ok(scalar @routes, '>=', 29, 'the route table was read (' . scalar(@routes) . ' routes)');
my %methods;
push @{$methods{$_->{pattern}}}, $_->{method} for @routes;

my %u = map { $_ => tenants_user("routes-$_") } qw(owner admin member outsider);
my $t = tenants_new($u{owner}, 'Routes');
my $TP = "/api/v1/tenants/$t->{id}";
tenants_join($u{owner}, $t->{id}, $u{admin}, 'admin');
tenants_join($u{owner}, $t->{id}, $u{member}, 'member');
my $inv = decode_json_ok(call($u{owner}, POST => "$TP/members", {email => unique_email('routes-inv')}),
	'invite')->{invitation};

# Real ids for the placeholders, so that a refusal comes from the check under test.
my %id = (tenantId => $t->{id}, userId => $u{admin}{id}, invitationId => $inv->{id});
sub path_of { my ($p, %o) = @_; $p =~ s/\{(\w+)\}/$o{$1} \/\/ $id{$1}/ge; $p }

# A valid body for each JSON route.
my %body = (
	'POST /api/v1/tenants' => {name => 'x'},
	'PATCH /api/v1/tenants/{tenantId}' => {name => 'Routes'},
	'POST /api/v1/tenants/{tenantId}/members' => {email => unique_email('routes-x')},
	'PATCH /api/v1/tenants/{tenantId}/members/{userId}' => {role => 'admin'},
	'PUT /api/v1/tenants/{tenantId}/limits' => {qps => 5},
	'PUT /api/v1/admin/tenants/{tenantId}/limits' => {qps => 5},
	'PUT /api/v1/admin/tenants/{tenantId}/ceilings' => {qps => 5},
);
# What a member and an admin of the tenant get, where their role is too low.
my %member_forbidden = map { $_ => 1 } (
	'PATCH /api/v1/tenants/{tenantId}', 'DELETE /api/v1/tenants/{tenantId}',
	'POST /api/v1/tenants/{tenantId}/members', 'PATCH /api/v1/tenants/{tenantId}/members/{userId}',
	'DELETE /api/v1/tenants/{tenantId}/members/{userId}', 'GET /api/v1/tenants/{tenantId}/invitations',
	'DELETE /api/v1/tenants/{tenantId}/invitations/{invitationId}', 'PUT /api/v1/tenants/{tenantId}/limits',
	'GET /api/v1/tenants/{tenantId}/audit',
);
my %admin_forbidden = map { $_ => 1 } ('DELETE /api/v1/tenants/{tenantId}', 'PUT /api/v1/tenants/{tenantId}/limits');

sub call_route {
	my ($who, $r, $path) = @_;
	my $b = $body{"$r->{method} $r->{pattern}"};
	return call($who, $r->{method} => $path // path_of($r->{pattern}), $b);
}
sub fingerprint {
	psql("SELECT (SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}') || ' ' ||"
		. " (SELECT string_agg(user_id || role, ',' ORDER BY user_id) FROM tenant_members WHERE tenant_id = '$t->{id}') || ' ' ||"
		. " (SELECT name || status FROM tenants WHERE id = '$t->{id}') || ' ' ||"
		. " (SELECT count(*) FROM tenant_invitations WHERE tenant_id = '$t->{id}' AND revoked_at IS NULL) || ' ' ||"
		. " (SELECT count(*) FROM tenant_limits WHERE tenant_id = '$t->{id}')");
}
my $before = fingerprint();
my $huge = '{"name":"' . ('x' x (1024 * 1024 + 10)) . '"}';

# Health needs no token; metrics neither, and t/1700 tests their guard.
for my $r (grep { $_->{pattern} !~ m{/(?:health|metrics)$} } @routes) {
	my $key = "$r->{method} $r->{pattern}";
	subtest $key => sub {
		my $path = path_of($r->{pattern});
		my %has = map { $_ => 1 } @{$methods{$r->{pattern}}};
		my ($wrong) = grep { !$has{$_} } qw(PUT PATCH POST DELETE);
		my $res = call($u{owner}, $wrong => $path);
		error_is($res, 405, 'method_not_allowed', "$wrong instead");
		my @allow = sort split /,\s*/, $res->{headers}{allow} // '';
		# Only this pattern's: /tenants/invitations is never /tenants/{tenantId} (t/1011).
		my @want = sort @{$methods{$r->{pattern}}};
		is_deeply(\@allow, \@want, 'Allow lists the methods of the path');

		my $no = call_route(undef, $r);
		error_is($no, 401, 'unauthorized', 'no access token');
		is($no->{headers}{'www-authenticate'}, 'Bearer', 'WWW-Authenticate: Bearer');
		error_is(call_route('not.a.jwt', $r), 401, 'unauthorized', 'a bad access token');

		if ($r->{flags}{ADMIN}) {
			error_is(call_route($u{owner}, $r), 403, 'forbidden', 'a user without the admin role');
		} elsif ($r->{pattern} =~ /\{tenantId\}/) {
			error_is(call_route($u{outsider}, $r), 404, 'not_found', 'a user outside the tenant');
			error_is(call_route($u{owner}, $r, path_of($r->{pattern}, tenantId => '00000000-0000-4000-8000-000000000000')),
				404, 'not_found', 'a tenant that does not exist');
			error_is(call_route($u{owner}, $r, path_of($r->{pattern}, tenantId => 'x' . substr($t->{id}, 1) . 'x')),
				404, 'not_found', 'a malformed tenant id');
			error_is(call_route($u{member}, $r), 403, 'forbidden', 'a member') if $member_forbidden{$key};
			error_is(call_route($u{admin}, $r), 403, 'forbidden', 'an admin') if $admin_forbidden{$key};
		}
		for my $p (grep { $_ ne 'tenantId' } $r->{pattern} =~ /\{(\w+)\}/g) {
			my $who = $r->{flags}{ADMIN} ? site_admin() : $u{owner};
			error_is(call_route($who, $r, path_of($r->{pattern}, $p => 'not-a-uuid')), 404, 'not_found', "a malformed $p");
		}
		return unless $r->{flags}{JSON};
		my $who = $r->{flags}{ADMIN} ? site_admin() : $u{owner};
		my %h = %{bearer($who->{token})};
		error_is(api($r->{method} => $path, {headers => {%h, 'Content-Type' => 'text/plain'}, content => '{}'}),
			415, 'unsupported_media_type', 'text/plain');
		error_is(api($r->{method} => $path, {headers => \%h, content => '{}'}), 415, 'unsupported_media_type',
			'no Content-Type');
		my %j = (%h, 'Content-Type' => 'application/json');
		error_is(api($r->{method} => $path, {headers => \%j, content => ''}), 400, 'invalid_request', 'an empty body');
		error_is(api($r->{method} => $path, {headers => \%j, content => '{"name":'}), 400, 'invalid_request', 'truncated JSON');
		error_is(api($r->{method} => $path, {headers => \%j, content => '[]'}), 400, 'invalid_request', 'an array');
		error_is(api($r->{method} => $path, {headers => \%j, content => qq({"name":"\xc3\x28"})}), 400,
			'invalid_request', 'invalid UTF-8');
		error_is(api($r->{method} => $path, {headers => \%j, content => '{"unexpected":true}'}), 400,
			'invalid_request', 'an unknown field');
		error_is(api($r->{method} => $path, {headers => \%j, content => $huge}), 413, 'payload_too_large',
			'a body over 1 MiB');
	};
}
is(fingerprint(), $before, 'none of the refusals changed the tenant, its members, invitations, limits or audit');

done_testing();

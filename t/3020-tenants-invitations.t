#!/usr/bin/perl
# Invitations: adding any address makes an invitation (202) that expires
# after TENANT_INVITATION_HOURS; the account with that address (in any case)
# sees it and accepts it once its address is verified (before, both are
# 403), and becomes a member with the invited role.  Nobody else can accept
# it (404); an expired one is a 410; a revoked, accepted or deleted tenant's
# one is a 404.  Admins list and revoke a tenant's invitations.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $I = '/api/v1/tenants/invitations';
my %u = map { $_ => tenants_user("inv-$_") } qw(owner admin member outsider);
my $t = tenants_new($u{owner}, 'Inviting');
my $TP = "/api/v1/tenants/$t->{id}";
tenants_join($u{owner}, $t->{id}, $u{admin}, 'admin');
tenants_join($u{owner}, $t->{id}, $u{member}, 'member');

sub invite { my ($who, $tp, $email, $role) = @_; call($who, POST => "$tp/members", {email => $email, role => $role // 'member'}) }
sub accept_inv { call($_[0], POST => "$I/$_[1]/accept") }
sub mine { decode_json_ok(call($_[0], GET => $I), 'mine')->{invitations} }
sub signup {
	my ($email, $tag) = @_;
	my (undef, $password, $reg) = register_user(email => $email, tag => $tag);
	return {email => $email, token => $reg->{accessToken}, id => $reg->{user}{id}};
}

my $new_email = unique_email('inv-new');
my $inv;

subtest 'an unknown address gets an invitation' => sub {
	my $res = invite($u{admin}, $TP, $new_email, 'admin');
	is($res->{status}, 202, 'answers 202') or diag($res->{content});
	$inv = decode_json_ok($res, 'invite')->{invitation};
	like($inv->{id}, qr/^[0-9a-f-]{36}$/, 'an id');
	is($inv->{email}, $new_email, 'the address');
	is($inv->{role}, 'admin', 'the role');
	is($inv->{tenantId}, $t->{id}, 'the tenant');
	is($inv->{tenantName}, 'Inviting', 'its name');
	is($inv->{invitedBy}, $u{admin}{id}, 'who invited');
	is($inv->{status}, 'pending', 'pending');
	my $hours = stack_env('TENANT_INVITATION_HOURS') // 48;
	is(psql("SELECT (extract(epoch FROM expires_at - created_at) / 3600)::int FROM tenant_invitations WHERE id = '$inv->{id}'"),
		$hours, "expires after $hours hours");
	is(psql("SELECT action || ' ' || actor_id FROM tenant_audit WHERE target = '$inv->{id}'"),
		"invitation.create $u{admin}{id}", 'audited');
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$t->{id}'"), 3, 'no member yet');
};

subtest 'the tenant lists its invitations' => sub {
	my $res = call($u{admin}, GET => "$TP/invitations");
	is($res->{status}, 200, 'an admin lists');
	my $list = decode_json_ok($res, 'list')->{invitations};
	is_deeply([map { $_->{id} } @$list], [$inv->{id}], 'the invitation');
	error_is(call($u{member}, GET => "$TP/invitations"), 403, 'forbidden', 'a member may not');
	error_is(call($u{outsider}, GET => "$TP/invitations"), 404, 'not_found', 'a non-member gets 404');
	error_is(call($u{admin}, GET => "$TP/invitations?limit=0"), 400, 'invalid_request', 'a bad limit');
};

subtest 'accepting' => sub {
	my $who = signup(uc($new_email) =~ s/EXAMPLE\.COM$/example.com/r, 'inv-new');
	error_is(call($who, GET => $I), 403, 'forbidden', 'the invitee does not see it before the address is verified');
	error_is(accept_inv($who, $inv->{id}), 403, 'forbidden', 'nor accept it');

	# The address verified through the real one-time code flow, from the
	# invitee's session (without it, proving the address would claim the
	# account and end that session: t/2040).
	my $res = call(undef, POST => '/api/v1/auth/otp/send', {email => $new_email, purpose => 'verify_email'});
	is($res->{status}, 202, 'a code is sent');
	my $code = last_code($new_email);
	ok($code, 'and arrives');
	$res = call(undef, POST => '/api/v1/auth/otp/verify', {email => $new_email, code => $code, purpose => 'verify_email'},
		{%{client_ip()}, %{bearer($who->{token})}});
	is($res->{status}, 200, 'the address is verified') or diag($res->{content});
	my $list = mine($who);
	is_deeply([map { $_->{id} } @$list], [$inv->{id}], 'then the invitee sees it (address in another case)');
	tenants_verify_email($u{outsider});
	is_deeply(mine($u{outsider}), [], 'nobody else does');

	error_is(accept_inv($u{outsider}, $inv->{id}), 404, 'not_found', 'another verified user cannot accept it');
	$res = accept_inv($who, $inv->{id});
	is($res->{status}, 200, 'the invitee accepts') or diag($res->{content});
	my $b = decode_json_ok($res, 'accept');
	is($b->{tenant}{id}, $t->{id}, 'the tenant');
	is($b->{tenant}{role}, 'admin', 'with the invited role');
	is($b->{member}{userId}, $who->{id}, 'the member');
	is(psql("SELECT role FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$who->{id}'"), 'admin',
		'a member now');
	is(psql("SELECT accepted_at IS NOT NULL FROM tenant_invitations WHERE id = '$inv->{id}'"), 't', 'accepted');
	is(psql("SELECT actor_id FROM tenant_audit WHERE target = '$inv->{id}' AND action = 'invitation.accept'"),
		$who->{id}, 'audited with the invitee as actor');
	error_is(accept_inv($who, $inv->{id}), 404, 'not_found', 'accepting again: 404');
	is_deeply(mine($who), [], 'no longer listed');
	is(decode_json_ok(call($who, GET => $TP), 'get')->{tenant}{role}, 'admin', 'and the tenant is visible');
	is_deeply(decode_json_ok(call($u{owner}, GET => "$TP/invitations"), 'l')->{invitations}, [],
		"gone from the tenant's list");
};

subtest 'expiry' => sub {
	my $email = unique_email('inv-late');
	my $x = decode_json_ok(invite($u{owner}, $TP, $email), 'invite')->{invitation};
	my $who = signup($email, 'inv-late');
	tenants_verify_email($who);
	psql("UPDATE tenant_invitations SET expires_at = now() - interval '1 second' WHERE id = '$x->{id}'");
	is_deeply(mine($who), [], 'an expired invitation is not listed for the invitee');
	my ($listed) = grep { $_->{id} eq $x->{id} } @{decode_json_ok(call($u{owner}, GET => "$TP/invitations"), 'l')->{invitations}};
	is($listed->{status}, 'expired', 'and is listed as expired for the tenant');
	error_is(accept_inv($who, $x->{id}), 410, 'gone', 'accepting it: 410');
	error_is(accept_inv($u{outsider}, $x->{id}), 404, 'not_found', 'for anyone else still a 404');
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$who->{id}'"), 0, 'no member');
	my $again = invite($u{owner}, $TP, $email);
	is($again->{status}, 202, 'invited again once signed up: a new invitation');
	is(decode_json_ok(accept_inv($who, decode_json_ok($again, 'again')->{invitation}{id}), 'accept')->{member}{userId},
		$who->{id}, 'which the invitee accepts');
};

subtest 'revoking' => sub {
	my $email = unique_email('inv-revoked');
	my $x = decode_json_ok(invite($u{owner}, $TP, $email), 'invite')->{invitation};
	error_is(call($u{member}, DELETE => "$TP/invitations/$x->{id}"), 403, 'forbidden', 'a member may not');
	error_is(call($u{outsider}, DELETE => "$TP/invitations/$x->{id}"), 404, 'not_found', 'a non-member gets 404');
	my $b = tenants_new($u{outsider}, 'Other');
	error_is(call($u{outsider}, DELETE => "/api/v1/tenants/$b->{id}/invitations/$x->{id}"), 404, 'not_found',
		"another tenant's owner, through their own tenant");
	error_is(call($u{admin}, DELETE => "$TP/invitations/bogus"), 404, 'not_found', 'a malformed id');
	my $res = call($u{admin}, DELETE => "$TP/invitations/$x->{id}");
	is($res->{status}, 204, 'an admin revokes') or diag($res->{content});
	is(psql("SELECT action || ' ' || actor_id FROM tenant_audit WHERE target = '$x->{id}' AND action = 'invitation.revoke'"),
		"invitation.revoke $u{admin}{id}", 'audited');
	error_is(call($u{admin}, DELETE => "$TP/invitations/$x->{id}"), 404, 'not_found', 'revoking again: 404');
	my $who = signup($email, 'inv-revoked');
	tenants_verify_email($who);
	is_deeply(mine($who), [], 'not listed for the invitee');
	error_is(accept_inv($who, $x->{id}), 404, 'not_found', 'and cannot be accepted');
};

subtest 'a new invitation replaces the pending one' => sub {
	my $email = unique_email('inv-twice');
	my $x1 = decode_json_ok(invite($u{owner}, $TP, $email, 'member'), 'one')->{invitation};
	my $x2 = decode_json_ok(invite($u{owner}, $TP, $email, 'admin'), 'two')->{invitation};
	isnt($x2->{id}, $x1->{id}, 'a new invitation');
	is(psql("SELECT revoked_at IS NOT NULL FROM tenant_invitations WHERE id = '$x1->{id}'"), 't', 'the first is revoked');
	my $who = signup($email, 'inv-twice');
	tenants_verify_email($who);
	is_deeply([map { $_->{role} } @{mine($who)}], ['admin'], 'one invitation, the newer role');
};

subtest 'owner invitations and roles' => sub {
	error_is(invite($u{admin}, $TP, unique_email('inv-own'), 'owner'), 403, 'forbidden', 'an admin cannot invite an owner');
	error_is(invite($u{member}, $TP, unique_email('inv-m')), 403, 'forbidden', 'a member cannot invite');
	error_is(invite($u{outsider}, $TP, unique_email('inv-o')), 404, 'not_found', 'a non-member gets 404');
	my $email = unique_email('inv-owner');
	my $x = decode_json_ok(invite($u{owner}, $TP, $email, 'owner'), 'owner')->{invitation};
	my $who = signup($email, 'inv-owner');
	tenants_verify_email($who);
	is(decode_json_ok(accept_inv($who, $x->{id}), 'accept')->{tenant}{role}, 'owner', 'an owner invitation makes an owner');
	my $ox = decode_json_ok(invite($u{owner}, $TP, unique_email('inv-owner2'), 'owner'), 'owner2')->{invitation};
	is(call($u{admin}, DELETE => "$TP/invitations/$ox->{id}")->{status}, 204,
		'an admin may revoke an owner invitation (revoking grants nothing)');
};

subtest 'signed up meanwhile, invited again, or a member already' => sub {
	my $email = unique_email('inv-direct');
	my $x = decode_json_ok(invite($u{owner}, $TP, $email), 'invite')->{invitation};
	my $who = signup($email, 'inv-direct');
	tenants_verify_email($who);
	my $again = invite($u{owner}, $TP, $email);
	is($again->{status}, 202, 'adding the new, verified account: an invitation all the same');
	is(psql("SELECT revoked_at IS NOT NULL FROM tenant_invitations WHERE id = '$x->{id}'"), 't',
		'the pending invitation is revoked');
	error_is(accept_inv($who, $x->{id}), 404, 'not_found', 'and cannot be accepted');
	is(accept_inv($who, decode_json_ok($again, 'again')->{invitation}{id})->{status}, 200, 'the new one can');
	my $id = psql("INSERT INTO tenant_invitations (tenant_id, email, role, expires_at)"
		. " VALUES ('$t->{id}', '$email', 'owner', now() + interval '1 hour') RETURNING id");
	error_is(accept_inv($who, $id), 409, 'conflict', 'a member already: 409');
	is(psql("SELECT role FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$who->{id}'"), 'member',
		'the role is unchanged');
};

subtest 'a deleted tenant' => sub {
	my $d = tenants_new($u{owner}, 'Short-lived');
	my $email = unique_email('inv-deleted');
	my $x = decode_json_ok(invite($u{owner}, "/api/v1/tenants/$d->{id}", $email), 'invite')->{invitation};
	my $who = signup($email, 'inv-deleted');
	tenants_verify_email($who);
	is(scalar @{mine($who)}, 1, 'listed while the tenant lives');
	is(call($u{owner}, DELETE => "/api/v1/tenants/$d->{id}")->{status}, 204, 'the tenant is deleted');
	is_deeply(mine($who), [], 'no longer listed');
	error_is(accept_inv($who, $x->{id}), 404, 'not_found', 'and cannot be accepted');
};

subtest 'paging and bad input' => sub {
	my $email = unique_email('inv-pages');
	my @ids;
	for my $n (1 .. 3) {
		my $tn = tenants_new($u{owner}, "pages $n");
		push @ids, decode_json_ok(invite($u{owner}, "/api/v1/tenants/$tn->{id}", $email), 'i')->{invitation}{id};
	}
	my $who = signup($email, 'inv-pages');
	tenants_verify_email($who);
	my $p1 = decode_json_ok(call($who, GET => "$I?limit=2"), 'p1');
	is(scalar @{$p1->{invitations}}, 2, 'a page of two');
	my $p2 = decode_json_ok(call($who, GET => "$I?limit=2&cursor=$p1->{nextCursor}"), 'p2');
	is_deeply([map { $_->{id} } @{$p1->{invitations}}, @{$p2->{invitations}}], [reverse @ids], 'newest first, each once');
	ok(!defined $p2->{nextCursor}, 'then no cursor');
	error_is(call($who, GET => "$I?cursor=x"), 400, 'invalid_request', 'a bad cursor');
	error_is(call($who, GET => "$I?email=x"), 400, 'invalid_request', 'an unknown parameter');
	error_is(call(undef, GET => $I), 401, 'unauthorized', 'no token');
	error_is(accept_inv($who, 'not-a-uuid'), 404, 'not_found', 'a malformed invitation id');
	error_is(accept_inv($who, '00000000-0000-4000-8000-000000000000'), 404, 'not_found', 'no such invitation');
	error_is(call($who, PUT => $I), 405, 'method_not_allowed', 'PUT on the list');
	error_is(accept_inv(undef, $ids[0]), 401, 'unauthorized', 'accepting without a token');
};

subtest 'at most 100 pending invitations per tenant' => sub {
	my $c = tenants_new($u{owner}, 'Crowded');
	psql("INSERT INTO tenant_invitations (tenant_id, email, role, expires_at) SELECT '$c->{id}',"
		. " 'crowd' || n || '\@example.com', 'member', now() + interval '1 hour' FROM generate_series(1, 100) n");
	error_is(invite($u{owner}, "/api/v1/tenants/$c->{id}", unique_email('inv-101')), 409, 'conflict', 'the 101st');
	is(invite($u{owner}, "/api/v1/tenants/$c->{id}", 'crowd7@example.com')->{status}, 202,
		'renewing one of the hundred is fine');
	psql("UPDATE tenant_invitations SET expires_at = now() - interval '1 second' WHERE tenant_id = '$c->{id}'"
		. " AND email = 'crowd1\@example.com'");
	is(invite($u{owner}, "/api/v1/tenants/$c->{id}", unique_email('inv-102'))->{status}, 202,
		'an expired one does not count');
};

done_testing();

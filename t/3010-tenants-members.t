#!/usr/bin/perl
# A tenant's members: adding by email is always an invitation (202), whoever
# has the address, so the answer tells nothing about accounts; it is rate
# limited per user and per client address.  Members are listed with paging,
# change roles, are removed, leave.  Admins manage members; only owners
# grant, revoke or remove the owner role; members only look and leave.  A
# tenant always keeps an owner, also when two owners leave at the same
# moment.  Another tenant's members are out of reach from every route.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my %u = map { $_ => tenants_user("members-$_") } qw(owner admin member outsider extra);
my $t = tenants_new($u{owner}, 'Members A');
my $M = "/api/v1/tenants/$t->{id}/members";

sub add { my ($who, $path, $email, $role) = @_; call($who, POST => $path, {email => $email, defined $role ? (role => $role) : ()}) }

# Issue: an existing account was added at once (201 with its id and name),
# even with its address unverified, and any other address got 202: whoever
# registered alice@corp.com first got her seat, and the answer told anyone
# whether an address has an account.
subtest 'one answer whoever has the address: an invitation' => sub {
	my $p = tenants_new($u{owner}, 'Members probe');
	my $PM = "/api/v1/tenants/$p->{id}/members";
	my $verified = tenants_user('members-verified');
	tenants_verify_email($verified);
	my $squatter = tenants_user('members-squatter');    # registered the address, never proved it
	my %shape;
	for my $case ([$verified, 'a verified account'], [$squatter, 'an unverified account'],
		[{email => unique_email('members-nobody')}, 'no account']) {
		my ($who, $name) = @$case;
		my $res = add($u{owner}, $PM, $who->{email}, 'admin');
		is($res->{status}, 202, "$name: 202") or diag($res->{content});
		my $b = decode_json_ok($res, $name);
		is_deeply([sort keys %$b], ['invitation'], "$name: an invitation and nothing else");
		is($b->{invitation}{email}, $who->{email}, "$name: to the address");
		is($b->{invitation}{status}, 'pending', "$name: pending");
		$shape{join ',', sort keys %{$b->{invitation} || {}}}++;
		is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$p->{id}' AND user_id::text = '"
			. ($who->{id} // 'none') . "'"), 0, "$name: not a member");
	}
	is(scalar keys %shape, 1, 'the three invitations have the same fields');
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$p->{id}'"), 1, 'the owner is the only member');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$p->{id}' AND action = 'invitation.create'"), 3,
		'three invitations audited');
	error_is(call($squatter, GET => '/api/v1/tenants/invitations'), 403, 'forbidden',
		'the unverified holder of the address does not see its invitation');
	my ($inv) = psql("SELECT id FROM tenant_invitations WHERE tenant_id = '$p->{id}' AND email = '$squatter->{email}'");
	error_is(call($squatter, POST => "/api/v1/tenants/invitations/$inv/accept"), 403, 'forbidden',
		'nor can accept it');
	my $seen = decode_json_ok(call($verified, GET => '/api/v1/tenants/invitations'), 'verified');
	is(scalar @{$seen->{invitations}}, 1, 'the verified account sees its invitation');
	is(decode_json_ok(call($verified, POST => "/api/v1/tenants/invitations/$seen->{invitations}[0]{id}/accept"),
		'accept')->{member}{role}, 'admin', 'and becomes a member by accepting it');
};

subtest 'members join by accepting' => sub {
	my $b = tenants_join($u{owner}, $t->{id}, $u{admin}, 'admin');
	my $m = $b->{member};
	is($m->{userId}, $u{admin}{id}, 'the user');
	is($m->{email}, $u{admin}{email}, 'their email');
	is($m->{role}, 'admin', 'the role');
	like($m->{joinedAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'joinedAt');
	my $res = add($u{admin}, $M, uc $u{member}{email});
	is($res->{status}, 202, 'an admin invites, by an address in another case') or diag($res->{content});
	my $inv = decode_json_ok($res, 'invite')->{invitation};
	is($inv->{role}, 'member', 'role member by default');
	tenants_verify_email($u{member});
	is(decode_json_ok(call($u{member}, POST => "/api/v1/tenants/invitations/$inv->{id}/accept"), 'a')
		->{member}{role}, 'member', 'a member');
	error_is(add($u{owner}, $M, $u{member}{email}, 'admin'), 409, 'conflict', 'a member already');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'invitation.accept'"), 2,
		'audited');
	is(psql("SELECT actor_id FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'invitation.create' AND target = '$inv->{id}'"),
		$u{admin}{id}, 'the invitation with the admin as actor');
};

# Issue: the route was unthrottled.  30 a user and 60 an address in 10 minutes.
subtest 'inviting is rate limited per user and per client address' => sub {
	my $r = tenants_user('members-rl');
	my $rt = tenants_new($r, 'Rate limited');
	my $RM = "/api/v1/tenants/$rt->{id}/members";
	my @st = map { add($r, $RM, unique_email('rl-user'))->{status} } 1 .. 30;
	is_deeply([grep { $_ != 202 } @st], [], '30 invitations from one user (from other addresses each)');
	my $res = add($r, $RM, unique_email('rl-user'));
	error_is($res, 429, 'rate_limited', 'the 31st');
	like($res->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'with Retry-After');
	is(psql("SELECT count(*) FROM tenant_invitations WHERE tenant_id = '$rt->{id}'"), 30, 'and no invitation');
	error_is(add($r, "/api/v1/tenants/00000000-0000-4000-8000-000000000000/members", unique_email('rl-user')), 429,
		'rate_limited', 'whatever the tenant');

	my $ip = client_ip(3010);
	my $from = sub { my ($who, $path) = @_;
		api(POST => $path, {headers => {%$ip, %{bearer($who->{token})}, 'Content-Type' => 'application/json'},
			content => JSON::PP->new->encode({email => unique_email('rl-ip')})}) };
	my @others = map { my $o = tenants_user("members-rl-ip-$_"); [$o, "/api/v1/tenants/" . tenants_new($o, "ip $_")->{id} . '/members'] } 1 .. 4;
	@st = map { my $o = $others[$_ % 3]; $from->(@$o)->{status} } 0 .. 59;
	is_deeply([grep { $_ != 202 } @st], [], '60 invitations from one address (three users)');
	$res = $from->(@{$others[3]});
	error_is($res, 429, 'rate_limited', 'the 61st, from a fourth user');
	like($res->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/, 'with Retry-After');
	is(add($others[3][0], $others[3][1], unique_email('rl-ip'))->{status}, 202, 'that user from another address: 202');
};

subtest 'who may add' => sub {
	error_is(add($u{admin}, $M, $u{extra}{email}, 'owner'), 403, 'forbidden', 'an admin cannot grant owner');
	error_is(add($u{member}, $M, $u{extra}{email}), 403, 'forbidden', 'a member cannot add');
	error_is(add($u{outsider}, $M, $u{extra}{email}), 404, 'not_found', 'a non-member gets 404');
	error_is(add(undef, $M, $u{extra}{email}), 401, 'unauthorized', 'no token');
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$u{extra}{id}'"), 0,
		'none of that added anyone');
};

subtest 'bad input' => sub {
	my @bad = (
		[{}, 'email missing'], [{email => 'not-an-address'}, 'not an address'], [{email => 42}, 'email a number'],
		[{email => ['a@b.c']}, 'email an array'], [{email => ('x' x 600) . '@example.com'}, 'email too long'],
		[{email => $u{extra}{email}, role => 'superuser'}, 'an unknown role'],
		[{email => $u{extra}{email}, role => 1}, 'role a number'],
		[{email => $u{extra}{email}, role => 'Owner'}, 'a role in another case'],
		[{email => $u{extra}{email}, tenantId => $t->{id}}, 'an unknown field'],
		[qq({"email":"\xff\@example.com"}), 'invalid UTF-8'],
		['{"email":', 'truncated JSON'],
	);
	error_is(call($u{owner}, POST => $M, $_->[0]), 400, 'invalid_request', $_->[1]) for @bad;
	my $res = api(POST => $M, {headers => {%{bearer($u{owner}{token})}, 'Content-Type' => 'application/xml'},
		content => '{}'});
	error_is($res, 415, 'unsupported_media_type', 'another media type');
};

subtest 'list' => sub {
	tenants_join($u{owner}, $t->{id}, $u{extra});
	my $res = call($u{member}, GET => $M);
	is($res->{status}, 200, 'a member may list');
	my $b = decode_json_ok($res, 'list');
	is_deeply([map { $_->{userId} } @{$b->{members}}], [map { $u{$_}{id} } qw(owner admin member extra)],
		'everyone, in the order they joined');
	is_deeply([map { $_->{role} } @{$b->{members}}], [qw(owner admin member member)], 'with their roles');
	my $p1 = decode_json_ok(call($u{member}, GET => "$M?limit=3"), 'p1');
	is(scalar @{$p1->{members}}, 3, 'a page of 3');
	ok(defined $p1->{nextCursor}, 'and a cursor');
	my $p2 = decode_json_ok(call($u{member}, GET => "$M?limit=3&cursor=$p1->{nextCursor}"), 'p2');
	is_deeply([map { $_->{userId} } @{$p2->{members}}], [$u{extra}{id}], 'the rest');
	ok(!defined $p2->{nextCursor}, 'the last page');
	error_is(call($u{outsider}, GET => $M), 404, 'not_found', 'a non-member');
	error_is(call($u{member}, GET => "$M?limit=1000"), 400, 'invalid_request', 'a limit too big');
	error_is(call($u{member}, GET => "$M?role=owner"), 400, 'invalid_request', 'an unknown parameter');
};

sub role { call($_[0], PATCH => "$M/$_[1]{id}", {role => $_[2]}) }
sub member_role { psql("SELECT coalesce((SELECT role FROM tenant_members WHERE tenant_id = '$t->{id}' AND user_id = '$_[0]{id}'), 'none')") }

subtest 'change roles' => sub {
	error_is(role($u{member}, $u{extra}, 'admin'), 403, 'forbidden', 'a member cannot change roles');
	error_is(role($u{member}, $u{member}, 'admin'), 403, 'forbidden', 'not even their own');
	error_is(role($u{admin}, $u{extra}, 'owner'), 403, 'forbidden', 'an admin cannot grant owner');
	error_is(role($u{admin}, $u{admin}, 'owner'), 403, 'forbidden', 'not to themself either');
	error_is(role($u{admin}, $u{owner}, 'member'), 403, 'forbidden', 'an admin cannot demote an owner');
	error_is(role($u{outsider}, $u{extra}, 'admin'), 404, 'not_found', 'a non-member gets 404');
	my $res = role($u{admin}, $u{extra}, 'admin');
	is($res->{status}, 200, 'an admin makes a member admin') or diag($res->{content});
	is(decode_json_ok($res, 'role')->{member}{role}, 'admin', 'the new role');
	is(psql("SELECT detail->>'from' || '>' || (detail->>'to') FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'member.role'"),
		'member>admin', 'audited');
	is(role($u{owner}, $u{extra}, 'admin')->{status}, 200, 'the same role again: 200');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'member.role'"), 1,
		'no audit row for no change');
	is(role($u{extra}, $u{extra}, 'member')->{status}, 200, 'an admin may step down');
	is(member_role($u{extra}), 'member', 'and is a member');
	error_is(role($u{owner}, $u{outsider}, 'admin'), 404, 'not_found', 'someone not a member');
	error_is(call($u{owner}, PATCH => "$M/not-a-uuid", {role => 'admin'}), 404, 'not_found', 'a malformed user id');
	error_is(call($u{owner}, PATCH => "$M/$u{extra}{id}", {}), 400, 'invalid_request', 'no role');
	error_is(call($u{owner}, PATCH => "$M/$u{extra}{id}", {role => 'boss'}), 400, 'invalid_request', 'a bad role');
	error_is(call($u{owner}, PATCH => "$M/$u{extra}{id}", {role => undef}), 400, 'invalid_request', 'role null');
	error_is(call($u{owner}, PATCH => "$M/$u{extra}{id}", {role => 'admin', email => 'x'}), 400,
		'invalid_request', 'an unknown field');
	is(member_role($u{extra}), 'member', 'nothing changed by the refusals');
};

subtest 'the last owner' => sub {
	error_is(role($u{owner}, $u{owner}, 'admin'), 409, 'conflict', 'the only owner cannot step down');
	error_is(call($u{owner}, DELETE => "$M/$u{owner}{id}"), 409, 'conflict', 'nor leave');
	is(member_role($u{owner}), 'owner', 'still owner');
	is(role($u{owner}, $u{admin}, 'owner')->{status}, 200, 'an owner makes an admin owner');
	is(role($u{owner}, $u{owner}, 'admin')->{status}, 200, 'then may step down');
	error_is(role($u{owner}, $u{admin}, 'member'), 403, 'forbidden', 'and, as admin, cannot demote the owner');
	is(role($u{admin}, $u{owner}, 'owner')->{status}, 200, 'the new owner makes them owner again');
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$t->{id}' AND role = 'owner'"), 2, 'two owners');
};

subtest 'remove and leave' => sub {
	error_is(call($u{member}, DELETE => "$M/$u{extra}{id}"), 403, 'forbidden', 'a member cannot remove others');
	role($u{owner}, $u{extra}, 'admin');
	error_is(call($u{extra}, DELETE => "$M/$u{owner}{id}"), 403, 'forbidden', 'an admin cannot remove an owner');
	error_is(call($u{outsider}, DELETE => "$M/$u{member}{id}"), 404, 'not_found', 'a non-member gets 404');
	error_is(call($u{owner}, DELETE => "$M/$u{outsider}{id}"), 404, 'not_found', 'someone not a member');
	error_is(call($u{owner}, DELETE => "$M/nope"), 404, 'not_found', 'a malformed user id');
	my $res = call($u{extra}, DELETE => "$M/$u{member}{id}");
	is($res->{status}, 204, 'an admin removes a member') or diag($res->{content});
	is(member_role($u{member}), 'none', 'gone');
	error_is(call($u{member}, GET => "/api/v1/tenants/$t->{id}"), 404, 'not_found', 'and cannot see the tenant');
	is(psql("SELECT actor_id || ' ' || (detail->>'role') FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'member.remove'"),
		"$u{extra}{id} member", 'audited');
	is(call($u{extra}, DELETE => "$M/$u{extra}{id}")->{status}, 204, 'an admin leaves');
	is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'member.leave' AND target = '$u{extra}{id}'"),
		1, 'audited as leave');
	tenants_join($u{owner}, $t->{id}, $u{member});
	is(call($u{member}, DELETE => "$M/" . uc $u{member}{id})->{status}, 204, 'a member leaves (an upper-case id)');
	is(call($u{owner}, DELETE => "$M/$u{admin}{id}")->{status}, 204, 'an owner removes another owner');
	error_is(call($u{owner}, DELETE => "$M/$u{owner}{id}"), 409, 'conflict', 'the last owner cannot leave');
};

subtest 'cross-tenant' => sub {
	my $b = tenants_new($u{outsider}, 'Members B');
	my $MB = "/api/v1/tenants/$b->{id}/members";
	tenants_join($u{outsider}, $b->{id}, $u{extra}, 'member');
	tenants_join($u{owner}, $t->{id}, $u{admin}, 'admin');
	# The owner of A on B's members, and A's admin naming B's member in A.
	error_is(call($u{owner}, GET => $MB), 404, 'not_found', "A's owner lists B's members");
	error_is(add($u{owner}, $MB, $u{member}{email}), 404, 'not_found', "A's owner adds to B");
	error_is(role($u{owner}, $u{extra}, 'admin'), 404, 'not_found', "A's owner names B's member in A");
	error_is(call($u{owner}, PATCH => "$MB/$u{extra}{id}", {role => 'admin'}), 404, 'not_found',
		"A's owner changes a role in B");
	error_is(call($u{admin}, DELETE => "$MB/$u{extra}{id}"), 404, 'not_found', "A's admin removes B's member");
	error_is(call($u{admin}, DELETE => "$M/$u{extra}{id}"), 404, 'not_found', "A's admin names B's member in A");
	error_is(call($u{outsider}, DELETE => "$M/$u{admin}{id}"), 404, 'not_found', "B's owner removes A's admin");
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$b->{id}'"), 2, "B's members unchanged");
	is(member_role($u{admin}), 'admin', "A's admin unchanged");
};

subtest 'two owners leave at the same moment' => sub {
	my ($x, $y) = (tenants_user('race-x'), tenants_user('race-y'));
	for my $round (1 .. 8) {
		my $r = tenants_new($x, "race $round");
		my $RM = "/api/v1/tenants/$r->{id}/members";
		tenants_join($x, $r->{id}, $y, 'owner');
		my @pids;
		for my $who ($x, $y) {
			pipe(my $rd, my $wr) or die "pipe: $!";
			my $pid = fork // die "fork: $!";
			if ($pid == 0) {
				close $rd;
				my $res = call($who, DELETE => "$RM/$who->{id}");
				print $wr $res->{status};
				close $wr;
				exit 0;
			}
			close $wr;
			push @pids, [$pid, $rd];
		}
		my @st = sort map { my $rd = $_->[1]; local $/; my $s = <$rd>; waitpid($_->[0], 0); $s } @pids;
		is_deeply(\@st, [204, 409], "round $round: one leaves, the other is refused");
		is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$r->{id}' AND role = 'owner'"), 1,
			"round $round: one owner stays");
	}
};

done_testing();

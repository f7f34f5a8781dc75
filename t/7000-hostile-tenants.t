#!/usr/bin/perl
# Tenants cannot attack each other: a randomised, seeded run (AIGET_SEED
# replays one) of thousands of requests over every route of every area,
# each made by one principal with the ids, keys, tokens and cursors of the
# others.
#
# The world: four users, each the owner of a tenant, and the fourth also a
# plain member of the first's; per tenant, keys of every scope (read and
# write, read only, write only) and a disabled one, end users in two
# namespaces whose names every tenant shares (notes and chat, alice and
# bob), memories in each scope, an erasure, invitations, several sessions
# per user, and paging cursors of every list.  Every such thing carries a
# marker of its owner (a word in a memory's content and metadata, a
# tenant's name, a key's name, an invitee's address, or its id).
#
# Each request: a route (every route of each binary's --routes, by turns),
# a principal (a user's access token, a tenant's key, none, or a token that
# is no good: garbage, an unsigned JWT naming another user, another user's
# revoked token, a key where a token belongs), and ids, tokens and cursors
# belonging to someone else.  Each answer is judged:
#  - as the contract says (t/lib/Hostile.pm): never a 5xx or HTML, an error
#    only as the JSON error object with its status's code, a status the
#    document lists for the route;
#  - a refusal where the target belongs to someone else: a caller who is no
#    member gets 404, never a 403 that would say the tenant exists; memox
#    finds no other tenant's memory or erasure;
#  - no marker the principal may not see (its own tenants', their members',
#    its own sessions', or what the request itself carried), and a list or
#    search of one end user holds only that end user's markers.
# Afterwards every foreign scope is as it was: each memory of the setup
# with its content, metadata and version, each key with its status and
# secret working, each tenant's name, members and invitations, each
# user's sessions; and no tenant's memories hold another tenant's marker.
# The figures: requests sent, answers by status.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use List::Util qw(shuffle);
use Aiget;
use Hostile;

Aiget::require_stack();
my $seed = $ENV{AIGET_SEED} // int(rand(2**31));
diag("seed $seed (AIGET_SEED=$seed t/harness $0 replays this run)");
srand($seed);
my $REQUESTS = $ENV{AIGET_HOSTILE_REQUESTS} // 4000;

sub body_of { my $b = eval { JSON::PP::decode_json($_[0]{content}) }; ref $b eq 'HASH' ? $b : {} }
my $mk_serial = 0;
sub marker { sprintf 'mk%04x%06x', ++$mk_serial, int(rand(0xffffff)) }

# marker or id => owner tag; the tags are
#   mem:T/NS/U (a memory, by scope), mem:T (an erasure), tenant:T,
#   keys:T (a key of T), inv:T (an invitation of T), user:U, session:U.
my %owner_of;
sub mark { my ($value, $tag) = @_; $owner_of{$value} = $tag; return $value }

# ------------------------------------------------------------- the world
my @users = map { tenants_user('h7000') } 0 .. 3;
tenants_verify_email($_) for @users;
mark($users[$_]{email}, "user:$_"), mark($users[$_]{id}, "user:$_") for 0 .. 3;
my (@tenants, %role);    # $role{user index}{tenant index}
for my $i (0 .. 3) {
	my $m = marker();
	my $t = tenants_new($users[$i], "tenant $m");
	mark($m, "tenant:$i");
	mark($t->{id}, "tenant:$i");
	keys_limits($t->{id});
	push @tenants, {id => $t->{id}, name => "tenant $m", index => $i};
	$role{$i}{$i} = 'owner';
}
tenants_join($users[0], $tenants[0]{id}, $users[3], 'member');
$role{3}{0} = 'member';

# Keys: read and write, read only, write only, disabled.
my %kinds = (rw => ['memox:read', 'memox:write'], ro => ['memox:read'], wo => ['memox:write'], off => ['memox:read', 'memox:write']);
for my $t (@tenants) {
	for my $kind (sort keys %kinds) {
		my $m = marker();
		my $k = keys_make($users[$t->{index}]{token}, $t->{id}, name => "key $m", scopes => $kinds{$kind});
		mark($m, "keys:$t->{index}");
		mark($k->{id}, "keys:$t->{index}");
		if ($kind eq 'off') {
			my $res = call($users[$t->{index}], POST => "/api/v1/keys/$k->{id}/disable");
			die "disable: $res->{status}" unless $res->{status} == 200;
		}
		$t->{keys}{$kind} = $k;
	}
}

# Memories: three in each of the four scopes every tenant has.
my @namespaces = qw(notes chat);
my @end_users = qw(alice bob);
my @words = qw(apple river stone cloud piano garden rocket violet harbor candle);
my (%setup_memory, %scope_marker);    # id => {tenant, content, metadata text}; "T/NS/U" => marker
for my $t (@tenants) {
	my (@batch, @scopes);
	for my $ns (@namespaces) {
		for my $u (@end_users) {
			my $sc = "$t->{index}/$ns/$u";
			my $m = mark(marker(), "mem:$sc");
			$scope_marker{$sc} = $m;
			for my $n (1 .. 3) {
				push @batch, {namespace => $ns, externalUserId => $u, metadata => {mark => $m, n => $n},
					content => join(' ', $m, map { $words[rand @words] } 1 .. 4) . " $n"};
				push @scopes, $sc;
			}
		}
	}
	my $res = call($t->{keys}{rw}{key}, POST => '/api/v1/memox/memories/batch', {memories => \@batch},
		{'Idempotency-Key' => "h7000-idem-$t->{index}-$$"});
	die "batch: $res->{status} $res->{content}" unless $res->{status} == 202;
	my @ids = map { $_->{id} } @{body_of($res)->{memories}};
	for my $j (0 .. $#ids) {
		mark($ids[$j], "mem:$scopes[$j]");
		$setup_memory{$ids[$j]} = {tenant => $t->{index}, scope => $scopes[$j], content => $batch[$j]{content}};
	}
	$t->{memories} = \@ids;
	# A write with an Idempotency-Key, which other tenants send too.
	my $one = call($t->{keys}{rw}{key}, POST => '/api/v1/memox/memories', {namespace => 'notes', externalUserId => 'alice',
		content => "$scope_marker{\"$t->{index}/notes/alice\"} idempotent", metadata => {mark => $scope_marker{"$t->{index}/notes/alice"}}},
		{'Idempotency-Key' => "h7000-single-$t->{index}-$$"});
	die "idempotent write: $one->{status}" unless $one->{status} == 202;
	my $oid = body_of($one)->{id};
	mark($oid, "mem:$t->{index}/notes/alice");
	$setup_memory{$oid} = {tenant => $t->{index}, scope => "$t->{index}/notes/alice",
		content => "$scope_marker{\"$t->{index}/notes/alice\"} idempotent"};
	push @ids, $oid;
	# An erasure of a scope of its own.
	call($t->{keys}{rw}{key}, POST => '/api/v1/memox/memories', {namespace => 'gone', externalUserId => 'carol',
		content => 'to be erased ' . marker()});
	my $er = body_of(call($t->{keys}{rw}{key}, DELETE => '/api/v1/memox/memories?namespace=gone&externalUserId=carol'));
	die 'no erasure' unless $er->{id};
	$t->{erasure} = mark($er->{id}, "mem:$t->{index}");
	# Invitations to addresses of nobody here.
	for (1 .. 2) {
		my $m = marker();
		my $inv = body_of(call($users[$t->{index}], POST => "/api/v1/tenants/$t->{id}/members",
			{email => "invitee-$m\@example.com", role => 'member'}))->{invitation}{id} or die 'no invitation';
		mark("invitee-$m", "inv:$t->{index}");
		push @{$t->{invitations}}, mark($inv, "inv:$t->{index}");
	}
}
for my $t (@tenants) {
	is(memox_wait($t->{keys}{rw}{key}, 60, @{$t->{memories}}), scalar @{$t->{memories}}, "tenant $t->{index}: memories ready");
}

# Sessions: each user signs in twice more; one more session is ended, so
# its access token is a revoked one.
for my $i (0 .. 3) {
	my $u = $users[$i];
	for (1 .. 2) {
		my $res = call(undef, POST => '/api/v1/auth/login', {email => $u->{email}, password => $u->{password}});
		die "login: $res->{status}" unless $res->{status} == 200;
		push @{$u->{pairs}}, body_of($res);
	}
	my $gone = body_of(call(undef, POST => '/api/v1/auth/login', {email => $u->{email}, password => $u->{password}}));
	call(undef, POST => '/api/v1/auth/logout', {refreshToken => $gone->{refreshToken}});
	$u->{revoked} = $gone->{accessToken};
	my $s = body_of(call($u, GET => '/api/v1/auth/sessions'));
	$u->{sessions} = [map { mark($_->{id}, "session:$i") } @{$s->{sessions} || []}];
	mark((jwt_decode_unverified($gone->{accessToken}))[1]{sid}, "session:$i");
}

# Cursors of every list, each with its owner's tag.
my @cursors;
sub cursor_of {
	my ($who, $path, $tag) = @_;
	my $c = body_of(call($who, GET => $path))->{nextCursor};
	push @cursors, {value => $c, tag => $tag, path => $path} if defined $c;
}
for my $t (@tenants) {
	my $i = $t->{index};
	for my $ns (@namespaces) {
		for my $u (@end_users) {
			cursor_of($t->{keys}{rw}{key}, "/api/v1/memox/memories?namespace=$ns&externalUserId=$u&limit=1", "mem:$i/$ns/$u");
		}
	}
	cursor_of($users[$i], "/api/v1/keys?tenantId=$t->{id}&limit=1", "keys:$i");
	cursor_of($users[$i], "/api/v1/tenants/$t->{id}/audit?limit=1", "tenant:$i");
	cursor_of($users[$i], "/api/v1/tenants/$t->{id}/invitations?limit=1", "inv:$i");
}
cursor_of($users[0], "/api/v1/tenants/$tenants[0]{id}/members?limit=1", 'tenant:0');
cursor_of($users[3], '/api/v1/tenants?limit=1', 'user:3');
cursor_of(site_admin(), '/api/v1/admin/tenants?limit=1', 'admin');
cursor_of(site_admin(), '/api/v1/admin/users?limit=1', 'admin');
cmp_ok(scalar @cursors, '>=', 20, scalar(@cursors) . ' paging cursors of other scopes');

# What each user may see: its own sessions and account, and of each tenant
# it belongs to the tenant and its members, and the keys and invitations
# too where its role is admin or owner.
my %visible;
for my $i (0 .. 3) {
	my %v = ("user:$i" => 1, "session:$i" => 1);
	for my $ti (keys %{$role{$i}}) {
		$v{"tenant:$ti"} = 1;
		$v{"user:$_"} = 1 for grep { $role{$_}{$ti} } keys %role;
		@v{"keys:$ti", "inv:$ti"} = (1, 1) if $role{$i}{$ti} ne 'member';
	}
	$visible{"user $i"} = \%v;
}
our $marker_re;
$marker_re = do { my $alt = join '|', map { quotemeta } sort { length $b <=> length $a } keys %owner_of; qr/($alt)/ };
my $before = state_snapshot();

# ------------------------------------------------------------- principals
my @b64 = ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_');
sub random_key { 'agk_' . join('', map { $b64[rand @b64] } 1 .. 43) }
sub unsigned_jwt {
	my $i = shift;
	my $h = encode_base64url(JSON::PP::encode_json({alg => 'none', typ => 'JWT'}));
	my $p = encode_base64url(JSON::PP::encode_json({sub => $users[$i]{id}, sid => $users[$i]{sessions}[0],
		role => 'admin', exp => time + 600, iat => time, iss => stack_env('AUTH_JWT_ISSUER') // 'aiget',
		aud => stack_env('AUTH_JWT_AUDIENCE') // 'aiget-api'}));
	return "$h.$p.";
}
sub pick { $_[rand @_] }
# A principal: {name, token (or undef), user (index) | tenant (index) and
# key kind, good (1 when the credential is a working one)}.
sub user_principal {
	my $i = int rand 4;
	return {name => "user $i", token => $users[$i]{token}, user => $i, good => 1} if rand() < 0.85;
	my $v = int rand 4;
	return pick({name => 'garbage token', token => 'x.y.z'}, {name => "unsigned JWT of user $v", token => unsigned_jwt($v)},
		{name => "revoked token of user $v", token => $users[$v]{revoked}},
		{name => "a key as a token", token => $tenants[$v]{keys}{rw}{key}}, {name => 'no credentials'});
}
sub key_principal {
	my $ti = int rand 4;
	if (rand() < 0.85) {
		my $kind = pick(qw(rw rw ro wo));
		return {name => "key $kind of tenant $ti", token => $tenants[$ti]{keys}{$kind}{key}, tenant => $ti, kind => $kind,
			good => 1};
	}
	my $v = int rand 4;
	return pick({name => "disabled key of tenant $ti", token => $tenants[$ti]{keys}{off}{key}, tenant => $ti},
		{name => 'unknown key', token => random_key()}, {name => "token of user $v as a key", token => $users[$v]{token}, user_token => 1},
		{name => 'no credentials'});
}
sub any_principal { rand() < 0.5 ? user_principal() : key_principal() }
# Tags a principal may see.
sub visible_of {
	my $p = shift;
	return $visible{$p->{name}} if defined $p->{user} && $p->{good};
	return {"mem:$p->{tenant}" => 1, "tenant:$p->{tenant}" => 1, "keys:$p->{tenant}" => 1,
		map { ("mem:$_" => 1) } grep { m{^$p->{tenant}/} } keys %scope_marker} if defined $p->{tenant} && $p->{good};
	return {};
}

# ------------------------------------------------------------- ids of others
# The tenants a principal has no role in, and the role of a user in a tenant.
sub foreign_tenant {
	my $p = shift;
	my @t = grep { !defined $p->{user} || !$role{$p->{user}}{$_} } 0 .. 3;
	@t = grep { !defined $p->{tenant} || $_ != $p->{tenant} } @t;
	return $tenants[pick(@t)];
}
# A tenant that is someone else's: no role, or (for user 3 and tenant 0) a
# member's only.
sub other_tenant {
	my $p = shift;
	my @t = grep { !defined $p->{user} || ($role{$p->{user}}{$_} // '') ne 'owner' } 0 .. 3;
	@t = grep { !defined $p->{tenant} || $_ != $p->{tenant} } @t;
	return $tenants[pick(@t)];
}
sub role_in { my ($p, $t) = @_; defined $p->{user} && $p->{good} ? ($role{$p->{user}}{$t->{index}} // 'none') : 'none' }
sub foreign_memory { my $t = foreign_tenant(shift); pick(@{$t->{memories}}) }
sub foreign_user { my $p = shift; my @u = grep { !defined $p->{user} || $_ != $p->{user} } 0 .. 3; $users[pick(@u)] }
# An id that is nobody's, or another's in capitals (the same id).
sub garbage_id { my $p = shift; pick('00000000-0000-4000-8000-000000000000', 'not-a-uuid', uc(foreign_memory($p)), 'x' x 40) }
sub some_cursor { pick(@cursors)->{value} }

# The statuses of a refusal for a target the caller has no role in (no
# 403: that would say it exists), with what refuses before the target is
# looked at: a bad body or query (400), bad credentials (401), an abuse
# limit (429).
my @NOT_YOURS = (400, 401, 404, 429);

# ------------------------------------------------------------- the routes
my %route;    # "METHOD PATTERN" => sub returning a request
# A request: {principal, method, path, body, headers, allowed (statuses),
# scope (for lists and searches of one end user), memox_tenant}.
sub req { my %r = @_; return \%r }

# --- health, metrics, keys of the signers, providers: nothing of anyone's
for my $area (areas()) {
	$route{"GET /api/v1/$area/health"} = sub { req(principal => any_principal(), method => 'GET', path => "/api/v1/$area/health",
		allowed => [200]) };
	# The metrics answer loopback only; these calls come as other clients.
	$route{"GET /api/v1/$area/metrics"} = sub { req(principal => any_principal(), method => 'GET',
		path => "/api/v1/$area/metrics", allowed => [403]) };
}
$route{'GET /api/v1/auth/jwks'} = sub { req(principal => any_principal(), method => 'GET', path => '/api/v1/auth/jwks', allowed => [200]) };
$route{'GET /api/v1/auth/providers'} = sub { req(principal => any_principal(), method => 'GET', path => '/api/v1/auth/providers',
	allowed => [200]) };

# --- auth
my %login_tries;    # login-email allows 10 in 5 minutes: a victim's address is tried 6 times at most
$route{'POST /api/v1/auth/register'} = sub {
	my $v = foreign_user({});
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/register',
		body => {email => pick($v->{email}, uc $v->{email}), password => 'taking over ' . marker()}, allowed => [409, 429]);
};
$route{'POST /api/v1/auth/login'} = sub {
	my ($v) = grep { ($login_tries{$_->{email}} // 0) < 6 } shuffle(@users);
	return req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/login',
		body => {email => unique_email('h7000-nobody'), password => 'guess ' . marker()}, allowed => [401]) unless $v;
	$login_tries{$v->{email}}++;
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/login',
		body => {email => $v->{email}, password => pick($users[int rand 4]{password} . 'x', 'guess ' . marker())},
		allowed => [401, 429]);
};
$route{'GET /api/v1/auth/me'} = sub { my $p = user_principal(); req(principal => $p, method => 'GET', path => '/api/v1/auth/me',
	allowed => $p->{good} ? [200] : [401]) };
$route{'POST /api/v1/auth/password/change'} = sub {
	my $p = user_principal();
	# Another user's password as the current one: never the caller's own.
	my $v = foreign_user($p);
	req(principal => $p, method => 'POST', path => '/api/v1/auth/password/change',
		body => {currentPassword => $v->{password}, newPassword => 'taken over ' . marker()},
		allowed => $p->{good} ? [403, 429] : [401]);
};
$route{'POST /api/v1/auth/password/reset'} = sub {
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/password/reset',
		body => {email => foreign_user({})->{email}, code => sprintf('%06d', rand 1e6), newPassword => 'taken over ' . marker()},
		allowed => [400, 429]);
};
$route{'POST /api/v1/auth/otp/send'} = sub {
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/otp/send',
		body => {email => foreign_user({})->{email}, purpose => pick(qw(login verify_email reset_password))},
		allowed => [202, 429]);
};
my %otp_tries;
$route{'POST /api/v1/auth/otp/verify'} = sub {
	my ($v) = grep { ($otp_tries{$_->{email}} // 0) < 4 } shuffle(@users);
	my $email = $v ? $v->{email} : unique_email('h7000-nobody');
	$otp_tries{$email}++;
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/otp/verify',
		body => {email => $email, code => sprintf('%06d', rand 1e6), purpose => pick(qw(login verify_email))},
		allowed => [400, 429]);
};
$route{'POST /api/v1/auth/refresh'} = sub {
	my $v = foreign_user({});
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/refresh',
		body => {refreshToken => pick($v->{token}, $v->{revoked}, 'r' x 43, $tenants[0]{keys}{rw}{key})}, allowed => [400, 401]);
};
$route{'POST /api/v1/auth/logout'} = sub {
	my $v = foreign_user({});
	req(principal => {name => 'no credentials'}, method => 'POST', path => '/api/v1/auth/logout',
		body => {refreshToken => pick($v->{token}, $v->{revoked}, 'r' x 43)}, allowed => [204, 400, 401]);
};
$route{'GET /api/v1/auth/sessions'} = sub { my $p = user_principal(); req(principal => $p, method => 'GET',
	path => '/api/v1/auth/sessions', allowed => $p->{good} ? [200] : [401]) };
# Ending all of one's own sessions is no attack on anyone: only tokens
# that are no good try it.
$route{'DELETE /api/v1/auth/sessions'} = sub {
	my $p;
	do { $p = user_principal() } while ($p->{good});
	req(principal => $p, method => 'DELETE', path => '/api/v1/auth/sessions', allowed => [401]);
};
$route{'DELETE /api/v1/auth/sessions/{sessionId}'} = sub {
	my $p = user_principal();
	my $v = foreign_user($p);
	req(principal => $p, method => 'DELETE', path => '/api/v1/auth/sessions/' . pick(@{$v->{sessions}}),
		allowed => $p->{good} ? [404] : [401]);
};
for my $provider (qw(google apple)) {
	$route{"POST /api/v1/auth/$provider/start"} = sub { req(principal => {name => 'no credentials'}, method => 'POST',
		path => "/api/v1/auth/$provider/start", allowed => [200, 429]) };
	$route{"POST /api/v1/auth/$provider/token"} = sub {
		req(principal => {name => 'no credentials'}, method => 'POST', path => "/api/v1/auth/$provider/token",
			body => pick({code => 'stolen-' . marker(), state => 'state-' . marker()},
				{idToken => unsigned_jwt(int rand 4), nonce => 'n'}), allowed => [400, 401, 429]);
	};
}
$route{'GET /api/v1/auth/google/callback'} = sub { req(principal => {name => 'no credentials'}, method => 'GET',
	path => '/api/v1/auth/google/callback?code=c' . marker() . '&state=s', allowed => [303, 400]) };
$route{'POST /api/v1/auth/apple/callback'} = sub { req(principal => {name => 'no credentials'}, method => 'POST',
	path => '/api/v1/auth/apple/callback', body => 'code=c' . marker() . '&state=s', content_type => 'application/x-www-form-urlencoded',
	allowed => [303, 400]) };

# --- keys
$route{'POST /api/v1/keys/verify'} = sub {
	my $p = any_principal();
	req(principal => $p, method => 'POST', path => '/api/v1/keys/verify',
		body => {key => $tenants[int rand 4]{keys}{rw}{key}, scope => 'memox:read'}, allowed => [401]);
};
$route{'GET /api/v1/keys/self'} = sub { my $p = key_principal(); req(principal => $p, method => 'GET', path => '/api/v1/keys/self',
	allowed => $p->{good} ? [200] : [401]) };
$route{'POST /api/v1/keys'} = sub {
	my $p = user_principal();
	my $t = other_tenant($p);
	my $member = role_in($p, $t) eq 'member';
	req(principal => $p, method => 'POST', path => '/api/v1/keys',
		body => {tenantId => pick($t->{id}, uc $t->{id}), name => 'stolen key ' . marker(), scopes => ['memox:read', 'memox:write']},
		allowed => !$p->{good} ? [401] : $member ? [403] : [404]);
};
$route{'GET /api/v1/keys'} = sub {
	my $p = user_principal();
	my $t = other_tenant($p);
	my $member = role_in($p, $t) eq 'member';
	my $q = "tenantId=$t->{id}" . (rand() < 0.5 ? '&cursor=' . some_cursor() : '');
	req(principal => $p, method => 'GET', path => "/api/v1/keys?$q", allowed => !$p->{good} ? [401] : $member ? [400, 403] : [400, 404]);
};
for my $op (['GET', ''], ['DELETE', ''], ['POST', '/disable'], ['POST', '/enable'], ['POST', '/rotate']) {
	my ($m, $suffix) = @$op;
	$route{"$m /api/v1/keys/{keyId}$suffix"} = sub {
		my $p = user_principal();
		my $t = other_tenant($p);
		my $member = role_in($p, $t) eq 'member';
		my $k = $t->{keys}{pick(sort keys %kinds)};
		req(principal => $p, method => $m, path => "/api/v1/keys/$k->{id}$suffix",
			body => $suffix eq '/rotate' && rand() < 0.5 ? {overlapSeconds => 60} : undef,
			allowed => !$p->{good} ? [401] : $member ? [403] : [404]);
	};
}

# --- tenants
$route{'POST /api/v1/tenants'} = sub {
	my $p = user_principal();
	# A tenant of one's own is no attack: only bad tokens, and foreign
	# fields (refused as unknown).
	my $body = $p->{good} ? {name => 'mine ' . marker(), tenantId => other_tenant($p)->{id}} : {name => 'x'};
	req(principal => $p, method => 'POST', path => '/api/v1/tenants', body => $body, allowed => $p->{good} ? [400] : [401]);
};
$route{'GET /api/v1/tenants'} = sub { my $p = user_principal(); req(principal => $p, method => 'GET',
	path => '/api/v1/tenants' . (rand() < 0.7 ? '?limit=1&cursor=' . some_cursor() : ''), allowed => $p->{good} ? [200, 400] : [401]) };
$route{'GET /api/v1/tenants/invitations'} = sub { my $p = user_principal(); req(principal => $p, method => 'GET',
	path => '/api/v1/tenants/invitations' . (rand() < 0.7 ? '?cursor=' . some_cursor() : ''), allowed => $p->{good} ? [200, 400] : [401]) };
$route{'POST /api/v1/tenants/invitations/{invitationId}/accept'} = sub {
	my $p = user_principal();
	my $t = other_tenant($p);
	req(principal => $p, method => 'POST', path => '/api/v1/tenants/invitations/' . pick(@{$t->{invitations}}) . '/accept',
		allowed => $p->{good} ? [404] : [401]);
};
# The routes of one tenant: a member may read some of them (allowed
# then: 200), an admin's or owner's (403 for the member); nobody else
# learns the tenant exists (404).
sub tenant_route {
	my ($method, $suffix, $member_may, $body) = @_;
	return sub {
		my $p = user_principal();
		my $t = other_tenant($p);
		my $role = role_in($p, $t);
		my $path = "/api/v1/tenants/$t->{id}$suffix";
		# Never the caller itself: leaving a tenant is its own business.
		$path =~ s/\{userId\}/pick(map { $_->{id} } grep { !defined $p->{user} || $_ != $users[$p->{user}] } @users)/e;
		$path =~ s/\{invitationId\}/pick(map { @{$_->{invitations}} } @tenants)/e;
		$path .= (rand() < 0.5 ? '?limit=1&cursor=' . some_cursor() : '') if $method eq 'GET' && $suffix =~ /members|invitations|audit/;
		my $allowed = !$p->{good} ? [401] : $role eq 'none' ? [400, 404] : $member_may ? [200, 400] : [400, 403, 404];
		req(principal => $p, method => $method, path => $path, body => ref $body ? $body->() : undef, allowed => $allowed);
	};
}
$route{'GET /api/v1/tenants/{tenantId}'} = tenant_route('GET', '', 1);
$route{'PATCH /api/v1/tenants/{tenantId}'} = tenant_route('PATCH', '', 0, sub { {name => 'renamed ' . marker()} });
$route{'DELETE /api/v1/tenants/{tenantId}'} = tenant_route('DELETE', '', 0);
$route{'GET /api/v1/tenants/{tenantId}/members'} = tenant_route('GET', '/members', 1);
my $invite_elsewhere = tenant_route('POST', '/members', 0,
	sub { {email => pick(map { $_->{email} } @users), role => pick(qw(owner admin member))} });
# Or an owner invites another user's address into its own tenant: the
# answer is the same for every address (202), and says nothing of the
# account (its id is a marker the inviter may not see).  The invitee may
# see the inviting tenant from then on.
$route{'POST /api/v1/tenants/{tenantId}/members'} = sub {
	my $p = user_principal();
	my @mine = defined $p->{user} && $p->{good} ? grep { $role{$p->{user}}{$_} eq 'owner' } keys %{$role{$p->{user}}} : ();
	return $invite_elsewhere->() unless @mine && rand() < 0.3;
	my $t = $tenants[pick(@mine)];
	my $v = foreign_user($p);
	req(principal => $p, method => 'POST', path => "/api/v1/tenants/$t->{id}/members", body => {email => $v->{email}, role => 'member'},
		allowed => [202, 409, 429], invited => [$t->{index}, $v]);
};
$route{'PATCH /api/v1/tenants/{tenantId}/members/{userId}'} = tenant_route('PATCH', '/members/{userId}', 0,
	sub { {role => pick(qw(owner admin member))} });
$route{'DELETE /api/v1/tenants/{tenantId}/members/{userId}'} = tenant_route('DELETE', '/members/{userId}', 0);
$route{'GET /api/v1/tenants/{tenantId}/invitations'} = tenant_route('GET', '/invitations', 0);
$route{'DELETE /api/v1/tenants/{tenantId}/invitations/{invitationId}'} = tenant_route('DELETE', '/invitations/{invitationId}', 0);
$route{'GET /api/v1/tenants/{tenantId}/limits'} = tenant_route('GET', '/limits', 1);
$route{'PUT /api/v1/tenants/{tenantId}/limits'} = tenant_route('PUT', '/limits', 0, sub { {qps => 1, burst => 1} });
$route{'GET /api/v1/tenants/{tenantId}/usage'} = tenant_route('GET', '/usage', 1);
$route{'GET /api/v1/tenants/{tenantId}/audit'} = tenant_route('GET', '/audit', 0);
# User 3 is a member of tenant 0: PATCH and DELETE of a member of its own
# tenant's other members are refused for its role; of itself (leaving, a
# role change) they would be its own business, so never asked.

# --- the admin back office: for no one here
for my $r (grep { $_->{pattern} =~ m{^/api/v1/admin/} } route_table('tenants')) {
	$route{"$r->{method} $r->{pattern}"} = sub {
		my $p = any_principal();
		(my $path = $r->{pattern}) =~ s/\{tenantId\}/$tenants[int rand 4]{id}/;
		$path .= '?cursor=' . some_cursor() if $r->{method} eq 'GET' && $path =~ m{/(tenants|users|audit)$} && rand() < 0.5;
		my $body = $r->{flags}{JSON} ? {qps => 1, burst => 1} : undef;
		my $a_user = ($p->{good} && defined $p->{user}) || $p->{user_token};
		req(principal => $p, method => $r->{method}, path => $path, body => $body, allowed => $a_user ? [403] : [401]);
	};
}

# --- memox: a tenant's key, another tenant's ids
sub key_allowed {
	my ($p, $scope, @rest) = @_;
	return [401] unless $p->{good};
	return [403] unless grep { $_ eq $scope } @{$kinds{$p->{kind}}};
	return [@rest];
}
my %idem_used;    # "tenant key" => body text
$route{'POST /api/v1/memox/memories'} = sub {
	my $p = key_principal();
	my ($ns, $u) = (pick(@namespaces), pick(@end_users));
	# The tenant's own write into the scope every tenant has, with an
	# Idempotency-Key another tenant used, or naming another tenant.
	my $own = defined $p->{tenant} ? $scope_marker{"$p->{tenant}/$ns/$u"} : 'none';
	my $other = foreign_tenant($p);
	if (rand() < 0.3) {
		return req(principal => $p, method => 'POST', path => '/api/v1/memox/memories', allowed => key_allowed($p, 'memox:write', 400),
			body => {tenantId => $other->{id}, namespace => $ns, externalUserId => $u, content => "$own hostile"});
	}
	# Another tenant's key is no replay of its answer (200) nor a
	# conflict (409) that would say it was used: a new write (202), and a
	# conflict only from the caller's own earlier use of it.
	my $idem = "h7000-single-$other->{index}-$$";
	my $body = {namespace => $ns, externalUserId => $u, content => "$own written by its own tenant " . marker(), metadata => {mark => $own}};
	my $used = defined $p->{tenant} && $idem_used{"$p->{tenant} $idem"};
	$idem_used{"$p->{tenant} $idem"} = 1 if $p->{good} && grep { $_ eq 'memox:write' } @{$kinds{$p->{kind}}};
	return req(principal => $p, method => 'POST', path => '/api/v1/memox/memories', body => $body, headers => {'Idempotency-Key' => $idem},
		allowed => key_allowed($p, 'memox:write', $used ? 409 : 202));
};
$route{'POST /api/v1/memox/memories/batch'} = sub {
	my $p = key_principal();
	my $other = foreign_tenant($p);
	req(principal => $p, method => 'POST', path => '/api/v1/memox/memories/batch', allowed => key_allowed($p, 'memox:write', 400),
		body => {memories => [{namespace => 'notes', externalUserId => 'alice', content => 'hostile ' . marker(), tenantId => $other->{id}}]});
};
$route{'GET /api/v1/memox/memories'} = sub {
	my $p = key_principal();
	my ($ns, $u) = (pick(@namespaces), pick(@end_users));
	my $q = "namespace=$ns&externalUserId=$u&limit=" . (1 + int rand 5);
	$q .= '&cursor=' . some_cursor() if rand() < 0.6;
	$q .= '&tenantId=' . foreign_tenant($p)->{id} if rand() < 0.1;
	req(principal => $p, method => 'GET', path => "/api/v1/memox/memories?$q", allowed => key_allowed($p, 'memox:read', 200, 400),
		scope => defined $p->{tenant} ? "$p->{tenant}/$ns/$u" : undef);
};
$route{'DELETE /api/v1/memox/memories'} = sub {
	my $p = key_principal();
	# Erasing an end user of one's own is one's own business: only the
	# scratch end user, or a foreign tenant named in the query (400).
	my $q = rand() < 0.5 ? 'namespace=scratch&externalUserId=' . marker()
		: 'namespace=notes&externalUserId=alice&tenantId=' . foreign_tenant($p)->{id};
	req(principal => $p, method => 'DELETE', path => "/api/v1/memox/memories?$q",
		allowed => key_allowed($p, 'memox:write', $q =~ /tenantId/ ? (400) : (202)));
};
for my $m (qw(GET PATCH DELETE)) {
	$route{"$m /api/v1/memox/memories/{id}"} = sub {
		my $p = key_principal();
		my $id = rand() < 0.9 ? foreign_memory($p) : garbage_id($p);
		req(principal => $p, method => $m, path => "/api/v1/memox/memories/$id",
			body => $m eq 'PATCH' ? {content => 'overwritten ' . marker(), metadata => {mark => 'overwritten'}} : undef,
			allowed => key_allowed($p, $m eq 'GET' ? 'memox:read' : 'memox:write', 404));
	};
}
$route{'GET /api/v1/memox/memories/{id}/history'} = sub {
	my $p = key_principal();
	my $id = rand() < 0.9 ? foreign_memory($p) : garbage_id($p);
	my $q = rand() < 0.3 ? '?limit=' . (1 + int rand 5) . '&cursor=' . (1 + int rand 3) : '';
	req(principal => $p, method => 'GET', path => "/api/v1/memox/memories/$id/history$q",
		allowed => key_allowed($p, 'memox:read', 404));
};
# What a tenant holds: names and counts of its own only (no content, so no
# marker of anyone's), whatever cursor or tenantId is sent.
for my $path ('/api/v1/memox/namespaces', '/api/v1/memox/users') {
	$route{"GET $path"} = sub {
		my $p = key_principal();
		my $q = 'limit=' . (1 + int rand 5);
		$q .= '&namespace=' . pick(@namespaces) if $path =~ /users/;
		$q .= '&cursor=' . some_cursor() if rand() < 0.3;
		$q .= '&tenantId=' . foreign_tenant($p)->{id} if rand() < 0.2;
		req(principal => $p, method => 'GET', path => "$path?$q", allowed => key_allowed($p, 'memox:read', 200, 400));
	};
}
$route{'POST /api/v1/memox/search'} = sub {
	my $p = key_principal();
	my ($ns, $u) = (pick(@namespaces), pick(@end_users));
	my $other = foreign_tenant($p);
	# The other tenant's marker of the same scope, as the query and as a filter.
	my $theirs = $scope_marker{"$other->{index}/$ns/$u"};
	my $body = {namespace => $ns, externalUserId => $u, query => pick($theirs, join(' ', map { pick(@words) } 1 .. 3)), topK => 50};
	$body->{filter} = {mark => $theirs} if rand() < 0.3;
	# Keyword and hybrid modes look the marker up by its words.
	$body->{mode} = pick('semantic', 'keyword', 'hybrid') if rand() < 0.7;
	$body->{exact} = JSON::PP::true if rand() < 0.3 && ($body->{mode} // '') ne 'keyword';
	req(principal => $p, method => 'POST', path => '/api/v1/memox/search', body => $body, allowed => key_allowed($p, 'memox:read', 200),
		scope => defined $p->{tenant} ? "$p->{tenant}/$ns/$u" : undef);
};
# MCP: each tool with another tenant's memory in the scope every tenant
# has, or a list or search there; a working key gets 200 whatever the
# tool says (a refusal is a result with isError), and no foreign marker.
$route{'POST /api/v1/memox/mcp'} = sub {
	my $p = key_principal();
	my ($ns, $u) = (pick(@namespaces), pick(@end_users));
	my $other = foreign_tenant($p);
	my %scope = (namespace => $ns, externalUserId => $u);
	my $id = rand() < 0.9 ? foreign_memory($p) : garbage_id($p);
	my $call = pick(['memory_get', {id => $id, %scope}], ['memory_update', {id => $id, %scope, content => 'overwritten ' . marker()}],
		['memory_delete', {id => $id, %scope}], ['memory_list', {%scope, limit => 5}],
		['memory_search', {%scope, query => $scope_marker{"$other->{index}/$ns/$u"}, topK => 50,
			mode => pick('semantic', 'keyword', 'hybrid')}],
		['memory_list', {%scope, tenantId => $other->{id}}]);
	req(principal => $p, method => 'POST', path => '/api/v1/memox/mcp',
		body => {jsonrpc => '2.0', id => 1, method => 'tools/call', params => {name => $call->[0], arguments => $call->[1]}},
		allowed => $p->{good} ? [200] : [401], scope => defined $p->{tenant} ? "$p->{tenant}/$ns/$u" : undef);
};
$route{'GET /api/v1/memox/erasures/{id}'} = sub {
	my $p = key_principal();
	req(principal => $p, method => 'GET', path => '/api/v1/memox/erasures/' . foreign_tenant($p)->{erasure},
		allowed => key_allowed($p, 'memox:read', 404));
};

# ------------------------------------------------------------- every route has its attack
my %documented = map { ("$_->{method} $_->{path}" => $_->{documented}) } operations();
my @all_routes;
for my $area (areas()) {
	push @all_routes, map { "$_->{method} $_->{pattern}" } route_table($area);
}
my @missing = grep { !$route{$_} } @all_routes;
is_deeply(\@missing, [], 'every route of every binary has its hostile requests here') or diag("missing: @missing");

# ------------------------------------------------------------- the run
my ($sent, $leaks, %by_route, %by_principal) = (0, 0);
my @leaks;
my @order = map { $all_routes[$_ % @all_routes] } 0 .. $REQUESTS - 1;
@order = shuffle(@order);
for my $rid (@order) {
	my $gen = $route{$rid} or next;
	my $r = $gen->();
	my $p = $r->{principal};
	my %h = %{$r->{headers} || {}};
	$h{'Content-Type'} = $r->{content_type} if $r->{content_type};
	my $res = call($p->{token}, $r->{method} => $r->{path}, $r->{body}, \%h);
	$sent++;
	$by_route{$rid}++;
	my $name = "$rid as $p->{name}: $r->{method} $r->{path}";
	judge_answer($res, $name, documented => $documented{$rid}, allowed => $r->{allowed});
	if ($r->{invited} && $res->{status} == 202) {
		my ($ti, $v) = @{$r->{invited}};
		my ($vi) = grep { $users[$_] == $v } 0 .. 3;
		$visible{"user $vi"}{$_} = 1 for "tenant:$ti", "inv:$ti", "user:$ti";
		mark(body_of($res)->{invitation}{id}, "inv:$ti");
		$marker_re = do { my $alt = join '|', map { quotemeta } sort { length $b <=> length $a } keys %owner_of; qr/($alt)/ };
	}
	# Markers: what the principal may see, or what the request carried.
	my $request_text = join ' ', $r->{path}, ref $r->{body} ? JSON::PP->new->canonical->encode($r->{body}) : $r->{body} // '',
		values %h, $p->{token} // '';
	my $vis = visible_of($p);
	my %found;
	$found{$1} = 1 while ($res->{content} // '') =~ /$marker_re/g;
	for my $m (sort keys %found) {
		my $tag = $owner_of{$m};
		next if index($request_text, $m) >= 0;
		my $ok = $vis->{$tag};
		# One end user's list or search: that end user's markers only.
		$ok = 0 if $r->{scope} && $tag =~ m{^mem:\d/} && $tag ne "mem:$r->{scope}";
		push @leaks, "$name: $m of $tag in the answer" unless $ok;
	}
}
my @failures = judge_failures();
is(scalar @failures, 0, "every one of $sent answers was a contract answer, and every refusal the right one");
diag($_) for @failures[0 .. ($#failures < 30 ? $#failures : 29)];
is(scalar @leaks, 0, 'no answer held a marker of someone else');
diag($_) for @leaks[0 .. ($#leaks < 30 ? $#leaks : 29)];
my @unsent = grep { !$by_route{$_} } @all_routes;
is_deeply(\@unsent, [], 'every route was attacked');

# ------------------------------------------------------------- afterwards
my $after = state_snapshot();
# The tenants' own writes (memories, scratch erasures) and the refused
# logins' audit rows are theirs; everything else is as it was.
# The owners' own invitations of other users' addresses are theirs too: the
# setup's invitations are checked one by one.
delete @$_{qw(memories memox_erasures tenant_invitations)} for $before, $after;
is_deeply($after, $before, 'users, sessions, tenants, members, limits and keys are as they were');
my @setup_invitations = map { @{$_->{invitations}} } @tenants;
is(psql("SELECT count(*) FROM tenant_invitations WHERE accepted_at IS NULL AND revoked_at IS NULL AND id IN ("
	. join(',', map { "'$_'" } @setup_invitations) . ')'), scalar @setup_invitations, 'every invitation of the setup is pending still');
my %now = map { my ($id, $c, $md, $v) = split /\|/, $_, 4; ($id => [$c, $md, $v]) }
	split /\n/, psql("SELECT id, content, metadata->>'mark', version FROM memories WHERE id IN ("
		. join(',', map { "'$_'" } sort keys %setup_memory) . ')');
my @changed = grep { !$now{$_} || $now{$_}[0] ne $setup_memory{$_}{content} || $now{$_}[2] != 1
	|| $now{$_}[1] ne $scope_marker{$setup_memory{$_}{scope}} } sort keys %setup_memory;
is(scalar @changed, 0, 'every memory of the setup is there, with its content, metadata and version') or diag("changed: @changed");
my $mixed = 0;
for my $row (split /\n/, psql("SELECT t.rn, m.content || ' ' || m.metadata::text FROM memories m JOIN"
	. " (SELECT id, CASE id " . join(' ', map { "WHEN '$tenants[$_]{id}' THEN $_" } 0 .. 3) . " END AS rn FROM tenants"
	. " WHERE id IN (" . join(',', map { "'$_->{id}'" } @tenants) . ")) t ON t.id = m.tenant_id")) {
	my ($ti, $text) = split /\|/, $row, 2;
	while ($text =~ /$marker_re/g) {
		my $tag = $owner_of{$1};
		$mixed++, diag("tenant $ti holds $1 of $tag") if $tag =~ /^mem:(\d)/ && $1 != $ti;
	}
}
is($mixed, 0, 'no tenant\'s memories hold another tenant\'s marker');
for my $t (@tenants) {
	for my $kind (qw(rw ro wo)) {
		is(keys_self($t->{keys}{$kind}{key})->{status}, 200, "tenant $t->{index}: its $kind key works");
	}
	is(keys_self($t->{keys}{off}{key})->{status}, 401, "tenant $t->{index}: its disabled key stays disabled");
	my $l = body_of(call($t->{keys}{rw}{key}, GET => '/api/v1/memox/memories?namespace=notes&externalUserId=alice&limit=100'));
	my @setup_here = grep { $setup_memory{$_}{scope} eq "$t->{index}/notes/alice" } keys %setup_memory;
	my %listed = map { $_->{id} => 1 } @{$l->{memories} || []};
	is(scalar(grep { $listed{$_} } @setup_here), scalar @setup_here, "tenant $t->{index}: notes/alice lists its memories");
	is(body_of(call($t->{keys}{rw}{key}, GET => "/api/v1/memox/erasures/$t->{erasure}"))->{id}, $t->{erasure},
		"tenant $t->{index}: its erasure is there");
}
for my $i (0 .. 3) {
	is(call($users[$i], GET => '/api/v1/auth/me')->{status}, 200, "user $i: signed in still");
	is(call($users[$i]{pairs}[0]{accessToken}, GET => '/api/v1/auth/me')->{status}, 200, "user $i: its other session too");
}

my $counts = judge_counts();
note(sprintf '%d requests over %d routes (seed %d); answers by status: %s', $sent, scalar @all_routes, $seed,
	join(', ', map { "$_: $counts->{$_}" } sort keys %$counts));
done_testing();

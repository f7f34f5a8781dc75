#!/usr/bin/perl
# Refresh tokens: rotation, the grace retry, reuse revoking the family,
# concurrent refreshes; sessions: listing, revoking one, revoking all.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use POSIX ();
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/auth';
my $GRACE = stack_env('AUTH_REFRESH_GRACE_SECONDS') // 20;

sub body { my $b = eval { JSON::PP->new->decode($_[0]{content}) }; $b || {} }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub refresh { call(undef, POST => "$A/refresh", {refreshToken => $_[0]}) }
sub login {
	my ($email, $pw, $ua) = @_;
	my $ip = client_ip();
	my $res = call(undef, POST => "$A/login", {email => $email, password => $pw}, {%$ip, 'User-Agent' => $ua // 'aiget-test'});
	die "login: $res->{status} $res->{content}" unless $res->{status} == 200;
	return {%{body($res)}, ip => $ip->{'X-Forwarded-For'}};
}
sub sid_of { (jwt_decode_unverified($_[0]))[1]{sid} }
sub row_of { my $t = shift; "token_hash = decode('" . sha256_hex($t) . "', 'hex')" }

my ($email, $password) = register_user(tag => 'refresh');

subtest 'rotation' => sub {
	my $s = login($email, $password);
	my $res = refresh($s->{refreshToken});
	is($res->{status}, 200, 'refresh: 200') or return diag($res->{content});
	is($res->{headers}{'cache-control'}, 'no-store', 'not cached');
	my $b = body($res);
	like($b->{refreshToken} // '', qr/^[A-Za-z0-9_-]{40,128}$/, 'a new refresh token in the body');
	isnt($b->{refreshToken}, $s->{refreshToken}, 'it differs from the old one');
	isnt($b->{accessToken}, $s->{accessToken}, 'a new access token');
	is($b->{expiresIn}, 900, 'expiresIn 900');
	is($b->{user}{email}, $email, 'the user');
	is(sid_of($b->{accessToken}), sid_of($s->{accessToken}), 'the same session');
	is(me($b->{accessToken})->{status}, 200, 'the new access token works');
	is(me($s->{accessToken})->{status}, 200, 'the old access token lives on until it expires');
	is(psql('SELECT rotated_at IS NOT NULL FROM refresh_tokens WHERE ' . row_of($s->{refreshToken})), 't',
		'the old refresh token is marked spent');
	is(psql('SELECT rotated_at IS NULL FROM refresh_tokens WHERE ' . row_of($b->{refreshToken})), 't',
		'the new one is live');
	is(psql("SELECT count(*) FROM refresh_tokens WHERE token_hash = convert_to('$b->{refreshToken}', 'UTF8')"), 0,
		'tokens are stored hashed only');
	my $next = refresh($b->{refreshToken});
	is($next->{status}, 200, 'the new refresh token refreshes in turn');
};

subtest 'a retry within the grace window gets the same pair' => sub {
	plan skip_all => 'AUTH_REFRESH_GRACE_SECONDS is 0' unless $GRACE > 0;
	my $s = login($email, $password);
	my $first = body(refresh($s->{refreshToken}));
	my $retry = refresh($s->{refreshToken});
	is($retry->{status}, 200, 'the retry: 200') or return diag($retry->{content});
	my $b = body($retry);
	is($b->{accessToken}, $first->{accessToken}, 'the very same access token');
	is($b->{refreshToken}, $first->{refreshToken}, 'the very same refresh token');
	is(body(refresh($s->{refreshToken}))->{refreshToken}, $first->{refreshToken}, 'and again');
	is(psql("SELECT revoked_at IS NULL FROM sessions WHERE id = '" . sid_of($s->{accessToken}) . "'"), 't',
		'the session is not revoked');
	my $next = refresh($first->{refreshToken});
	is($next->{status}, 200, 'the pair handed out works') or diag($next->{content});
	my $keys = redis_cli('--scan', '--pattern', 'auth:grace:*');
	unlike($keys . redis_cli('GET', 'auth:grace:' . sha256_hex($s->{refreshToken})), qr/\Q$first->{refreshToken}\E/,
		'Redis holds the grace copy sealed, not the token');
};

subtest 'concurrent refreshes with one token' => sub {
	my $s = login($email, $password);
	my @pipes;
	for (1 .. 2) {
		pipe(my $r, my $w) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			close $r;
			my $res = refresh($s->{refreshToken});
			print $w "$res->{status} " . (body($res)->{refreshToken} // '-') . ' ' . (body($res)->{accessToken} // '-');
			close $w;
			POSIX::_exit(0);
		}
		close $w;
		push @pipes, [$pid, $r];
	}
	my @got = map { my $fh = $_->[1]; local $/; my $line = <$fh>; waitpid($_->[0], 0); [split ' ', $line // ''] } @pipes;
	is("$got[0][0] $got[1][0]", '200 200', 'both answered 200');
	is($got[0][1], $got[1][1], 'with the same refresh token');
	is($got[0][2], $got[1][2], 'and the same access token');
	is(psql("SELECT count(*) FROM refresh_tokens WHERE session_id = '" . sid_of($s->{accessToken}) . "'"), 2,
		'the family grew by one token, not two');
};

subtest 'reuse after the grace window revokes the family' => sub {
	my $s = login($email, $password);
	my $bystander = login($email, $password);
	my $r1 = body(refresh($s->{refreshToken}));
	my $r2 = body(refresh($r1->{refreshToken}));
	ok($r2->{refreshToken}, 'two rotations') or return;
	if ($GRACE <= 5) {
		note("waiting out the grace window of $GRACE s");
		sleep($GRACE + 2);
	} else {
		# Not worth a wait of $GRACE s: the spent token is made older instead.
		note("AUTH_REFRESH_GRACE_SECONDS is $GRACE: backdating the spent token rather than waiting");
		is(psql("UPDATE refresh_tokens SET rotated_at = now() - interval '" . ($GRACE + 10) . " seconds' WHERE "
			. row_of($s->{refreshToken}) . ' RETURNING 1'), 1, 'the spent token is made older than the window');
	}
	my $res = refresh($s->{refreshToken});
	my $b = error_is($res, 401, 'unauthorized', 'the replayed token');
	unlike($res->{content}, qr/accessToken/, 'no tokens in the answer');
	error_is(refresh($r2->{refreshToken}), 401, 'unauthorized', "the family's newest refresh token");
	error_is(me($r2->{accessToken}), 401, 'unauthorized', "the family's newest access token");
	error_is(me($s->{accessToken}), 401, 'unauthorized', "the family's first access token");
	my $sid = sid_of($s->{accessToken});
	is(psql("SELECT revoked_reason FROM sessions WHERE id = '$sid'"), 'refresh_reuse', 'the session is revoked');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'refresh_reuse_detected' AND detail = to_jsonb('$sid'::text)"),
		1, 'audited');
	is(me($bystander->{accessToken})->{status}, 200, "the user's other session goes on");
	is(refresh($bystander->{refreshToken})->{status}, 200, 'and refreshes');
};

subtest 'refresh: refused tokens' => sub {
	my $s = login($email, $password);
	is(psql("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE " . row_of($s->{refreshToken})
		. ' RETURNING 1'), 1, 'a refresh token made expired');
	error_is(refresh($s->{refreshToken}), 401, 'unauthorized', 'an expired refresh token');

	error_is(refresh('x' x 43), 401, 'unauthorized', 'an unknown refresh token');
	# Malformed input is a 400, as everywhere; only a well-formed token that
	# is not (or no longer) valid is a 401.
	error_is(refresh('x' x 129), 400, 'invalid_request', 'an over-long refresh token');
	error_is(refresh(''), 400, 'invalid_request', 'an empty refresh token');
	error_is(call(undef, POST => "$A/refresh", {refreshToken => 12345}), 400, 'invalid_request', 'a number');
	error_is(call(undef, POST => "$A/refresh", {refreshToken => 'x' x 43, extra => 1}), 400, 'invalid_request',
		'an unknown field');
	error_is(call(undef, POST => "$A/refresh", {}), 401, 'unauthorized', 'no refreshToken');
	error_is(api(POST => "$A/refresh", {headers => client_ip()}), 401, 'unauthorized', 'no body at all');
	error_is(call(undef, POST => "$A/refresh", '{"refreshToken":'), 400, 'invalid_request', 'broken JSON');
	error_is(api(POST => "$A/refresh", {headers => {'Content-Type' => 'text/plain', %{client_ip()}},
		content => '{"refreshToken":"x"}'}), 415, 'unsupported_media_type', 'text/plain');
	my $live = login($email, $password);
	error_is(api(POST => "$A/refresh", {headers => {%{client_ip()}, Cookie => "aiget_refresh=$live->{refreshToken}"}}),
		401, 'unauthorized', 'the cookie without an Origin is not read');
	is(refresh($live->{refreshToken})->{status}, 200, 'the same token in the body works');
};

subtest 'sessions: list' => sub {
	my ($e, $pw) = register_user(tag => 'sessions');
	my @s = map { login($e, $pw, "agent-$_/1.0") } 1 .. 3;
	my $res = api(GET => "$A/sessions", {headers => bearer($s[0]{accessToken})});
	is($res->{status}, 200, 'status 200') or return diag($res->{content});
	my $list = decode_json_ok($res, 'sessions')->{sessions};
	is(scalar @$list, 4, 'the three sign-ins and the registration');
	my @current = grep { $_->{current} } @$list;
	is(scalar @current, 1, 'one is current');
	is($current[0]{id}, sid_of($s[0]{accessToken}), "the caller's");
	ok(JSON::PP::is_bool($_->{current}), 'current is a boolean') for $list->[0];
	my %by_id = map { $_->{id} => $_ } @$list;
	for my $i (0 .. 2) {
		my $row = $by_id{sid_of($s[$i]{accessToken})};
		ok($row, "sign-in $i listed") or next;
		is($row->{userAgent}, 'agent-' . ($i + 1) . '/1.0', "sign-in $i: user agent");
		is($row->{ip}, $s[$i]{ip}, "sign-in $i: the client address nginx saw");
		like($row->{$_} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "sign-in $i: $_") for qw(createdAt lastUsedAt expiresAt);
	}
	unlike($res->{content}, qr/\Q$s[1]{refreshToken}\E|token_?hash/i, 'no tokens in the list');
	my ($oe, $opw) = register_user(tag => 'stranger');
	my $theirs = body(api(GET => "$A/sessions", {headers => bearer(login($oe, $opw)->{accessToken})}))->{sessions} // [];
	is(scalar @$theirs, 2, 'another user sees only their own two');
	ok(!grep({ $by_id{$_->{id}} } @$theirs), 'none of these');
};

subtest 'sessions: revoke one' => sub {
	my ($e, $pw) = register_user(tag => 'revoke-one');
	my ($me, $victim) = (login($e, $pw), login($e, $pw));
	my $vsid = sid_of($victim->{accessToken});
	my $h = bearer($me->{accessToken});
	my $res = api(DELETE => "$A/sessions/$vsid", {headers => $h});
	is($res->{status}, 204, 'DELETE /sessions/{id}: 204') or diag($res->{content});
	error_is(refresh($victim->{refreshToken}), 401, 'unauthorized', "the revoked session's refresh token");
	error_is(me($victim->{accessToken}), 401, 'unauthorized', "the revoked session's access token");
	is(me($me->{accessToken})->{status}, 200, "the caller's session goes on");
	my $ids = join ' ', map { $_->{id} } @{body(api(GET => "$A/sessions", {headers => $h}))->{sessions}};
	unlike($ids, qr/\Q$vsid\E/, 'no longer listed');
	is(psql("SELECT revoked_reason FROM sessions WHERE id = '$vsid'"), 'revoked_by_user', 'revoked in the database');

	error_is(api(DELETE => "$A/sessions/$vsid", {headers => $h}), 404, 'not_found', 'the same session again');
	error_is(api(DELETE => "$A/sessions/00000000-0000-4000-8000-000000000000", {headers => $h}), 404, 'not_found',
		'an unknown session');
	for my $bad ('not-a-uuid', '1234', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', "$vsid-1", '%41', "'%20OR%201=1--") {
		error_is(api(DELETE => "$A/sessions/$bad", {headers => $h}), 404, 'not_found', "malformed id '$bad'");
	}
	my ($oe, $opw) = register_user(tag => 'someone-else');
	my $theirs = login($oe, $opw);
	error_is(api(DELETE => "$A/sessions/" . sid_of($theirs->{accessToken}), {headers => $h}), 404, 'not_found',
		"another user's session");
	is(refresh($theirs->{refreshToken})->{status}, 200, 'which goes on');

	my $self = api(DELETE => "$A/sessions/" . sid_of($me->{accessToken}), {headers => $h});
	is($self->{status}, 204, 'a session may revoke itself');
	error_is(me($me->{accessToken}), 401, 'unauthorized', 'and its token stops working');
};

subtest 'sessions: revoke all' => sub {
	my ($e, $pw) = register_user(tag => 'revoke-all');
	my @s = map { login($e, $pw) } 1 .. 3;
	my ($oe, $opw) = register_user(tag => 'unrelated');
	my $other = login($oe, $opw);
	my $res = api(DELETE => "$A/sessions", {headers => bearer($s[0]{accessToken})});
	is($res->{status}, 204, 'DELETE /sessions: 204') or diag($res->{content});
	for my $i (0 .. 2) {
		error_is(refresh($s[$i]{refreshToken}), 401, 'unauthorized', "session $i: refresh token");
		error_is(me($s[$i]{accessToken}), 401, 'unauthorized', "session $i: access token");
	}
	is(psql("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = '$e' AND revoked_at IS NULL"),
		0, 'none left in the database');
	is(me($other->{accessToken})->{status}, 200, "another user's session is untouched");
	my $again = login($e, $pw);
	is(me($again->{accessToken})->{status}, 200, 'signing in again works');
};

done_testing();

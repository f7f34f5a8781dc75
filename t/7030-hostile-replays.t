#!/usr/bin/perl
# Replays raced: what may be spent once is spent once, however many
# copies of the request arrive at the same moment.  t/2020 and t/2040 replay
# one request after another (and race two refreshes); here 8 processes
# send the same request together, released by one barrier:
#  - a refresh token inside the grace window: every copy gets the same new
#    pair and the session's family grows by one token;
#  - a spent refresh token after the grace window: every copy is refused,
#    the session is revoked, and no pair handed out during the race works;
#    raced against the newest token's own refresh, too;
#  - a login code: one sign-in, one new session, every other copy refused;
#  - a password-reset code: one new password, every other copy refused;
#  - an invitation: one acceptance, one membership row;
#  - a key's rotation: one replacement key;
#  - a write with an Idempotency-Key: one memory, the same id in every
#    answer.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use POSIX ();
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/auth';
my $GRACE = stack_env('AUTH_REFRESH_GRACE_SECONDS') // 20;
my $N = 8;

sub body { my $b = eval { JSON::PP->new->decode($_[0]{content}) }; $b || {} }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub refresh { call(undef, POST => "$A/refresh", {refreshToken => $_[0]}) }
sub login {
	my ($email, $pw) = @_;
	my $res = call(undef, POST => "$A/login", {email => $email, password => $pw});
	die "login: $res->{status} $res->{content}" unless $res->{status} == 200;
	return body($res);
}
sub sid_of { (jwt_decode_unverified($_[0]))[1]{sid} }
sub row_of { "token_hash = decode('" . sha256_hex($_[0]) . "', 'hex')" }

# Runs each code in a process of its own, all released at once; returns
# their answers ({status, content}) in order.
sub race {
	my @codes = @_;
	pipe(my $gate_r, my $gate_w) or die "pipe: $!";
	my @kids;
	for my $code (@codes) {
		pipe(my $r, my $w) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			close $r;
			close $gate_w;
			sysread($gate_r, my $go, 1);
			my $res = eval { $code->() } // {status => 0, content => $@};
			print $w JSON::PP->new->encode({status => $res->{status}, content => $res->{content}});
			close $w;
			POSIX::_exit(0);
		}
		close $w;
		push @kids, [$pid, $r];
	}
	close $gate_r;
	select(undef, undef, undef, 0.3);    # every child waits at the gate
	syswrite($gate_w, 'x' x @codes);
	close $gate_w;
	return map {
		my ($pid, $fh) = @$_;
		local $/;
		my $text = <$fh>;
		waitpid($pid, 0);
		eval { JSON::PP->new->decode($text) } // {status => 0, content => $text // ''};
	} @kids;
}
sub statuses { join ' ', sort map { $_->{status} } @_ }
sub spent_window {
	my $token = shift;
	# Not worth a wait of the window: the spent token is made older instead.
	return psql("UPDATE refresh_tokens SET rotated_at = now() - interval '" . ($GRACE + 10) . " seconds' WHERE "
		. row_of($token) . ' RETURNING 1');
}

my ($email, $password) = register_user(tag => 'replays');

subtest "$N copies of a refresh inside the grace window" => sub {
	plan skip_all => 'AUTH_REFRESH_GRACE_SECONDS is 0' unless $GRACE > 0;
	my $s = login($email, $password);
	my @got = race(map { my $t = $s->{refreshToken}; sub { refresh($t) } } 1 .. $N);
	is(statuses(@got), join(' ', ('200') x $N), 'every copy: 200');
	my %pairs = map { (body($_)->{refreshToken} // '-') . ' ' . (body($_)->{accessToken} // '-') => 1 } @got;
	is(scalar keys %pairs, 1, 'every copy got the same pair');
	my $sid = sid_of($s->{accessToken});
	is(psql("SELECT count(*) FROM refresh_tokens WHERE session_id = '$sid'"), 2, 'the family grew by one token');
	is(psql("SELECT revoked_at IS NULL FROM sessions WHERE id = '$sid'"), 't', 'the session lives');
	my ($pair) = keys %pairs;
	my ($rt, $at) = split ' ', $pair;
	is(me($at)->{status}, 200, 'the pair works');
	is(refresh($rt)->{status}, 200, 'and refreshes');
};

subtest "$N copies of a spent refresh token after the grace window" => sub {
	my $s = login($email, $password);
	my $bystander = login($email, $password);
	my $r1 = body(refresh($s->{refreshToken}));
	is(spent_window($s->{refreshToken}), 1, 'the spent token is older than the window');
	my @got = race(map { my $t = $s->{refreshToken}; sub { refresh($t) } } 1 .. $N);
	is(statuses(@got), join(' ', ('401') x $N), 'every copy: 401');
	ok(!grep({ $_->{content} =~ /accessToken/ } @got), 'no tokens in any answer');
	my $sid = sid_of($s->{accessToken});
	is(psql("SELECT revoked_reason FROM sessions WHERE id = '$sid'"), 'refresh_reuse', 'the session is revoked');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'refresh_reuse_detected' AND detail = to_jsonb('$sid'::text)"),
		1, 'audited once');
	error_is(refresh($r1->{refreshToken}), 401, 'unauthorized', "the family's newest refresh token");
	error_is(me($r1->{accessToken}), 401, 'unauthorized', "the family's newest access token");
	is(me($bystander->{accessToken})->{status}, 200, "the user's other session goes on");
};

subtest 'a replay after the window raced against the newest token\'s refresh' => sub {
	my $s = login($email, $password);
	my $r1 = body(refresh($s->{refreshToken}));
	is(spent_window($s->{refreshToken}), 1, 'the first token is spent and older than the window');
	my ($old, $new) = ($s->{refreshToken}, $r1->{refreshToken});
	my @got = race((map { sub { refresh($old) } } 1 .. $N / 2), (map { sub { refresh($new) } } 1 .. $N / 2));
	ok(!grep({ $_->{status} == 200 } @got[0 .. $N / 2 - 1]), 'every replay of the spent token refused');
	my $sid = sid_of($s->{accessToken});
	is(psql("SELECT revoked_reason FROM sessions WHERE id = '$sid'"), 'refresh_reuse', 'the session is revoked');
	my @pairs = grep { $_->{accessToken} } map { body($_) } @got;
	note(scalar(@pairs) . ' of the newest token\'s refreshes won the race');
	my $working = grep { me($_->{accessToken})->{status} == 200 || refresh($_->{refreshToken})->{status} == 200 } @pairs;
	is($working, 0, 'no pair handed out during the race works afterwards');
};

subtest "$N copies of a login code" => sub {
	my ($e) = register_user(tag => 'replays-otp');
	is(call(undef, POST => "$A/otp/send", {email => $e, purpose => 'login'})->{status}, 202, 'a code sent');
	my $code = last_code($e);
	ok($code, 'the code arrived') or return;
	my $uid = psql("SELECT id FROM users WHERE lower(email) = lower('$e')");
	my $before = psql("SELECT count(*) FROM sessions WHERE user_id = '$uid'");
	my @got = race(map { sub { call(undef, POST => "$A/otp/verify", {email => $e, code => $code, purpose => 'login'}) } } 1 .. $N);
	is(statuses(@got), join(' ', '200', ('400') x ($N - 1)), 'one copy signs in, the others are refused');
	is(psql("SELECT count(*) FROM sessions WHERE user_id = '$uid'") - $before, 1, 'one session more');
	error_is(call(undef, POST => "$A/otp/verify", {email => $e, code => $code, purpose => 'login'}), 400,
		'invalid_request', 'and once more afterwards');
};

subtest "$N copies of a password-reset code, each with its own new password" => sub {
	my ($e, $old) = register_user(tag => 'replays-reset');
	is(call(undef, POST => "$A/otp/send", {email => $e, purpose => 'reset_password'})->{status}, 202, 'a code sent');
	my $code = last_code($e);
	ok($code, 'the code arrived') or return;
	my @new = map { "a brand new password $_ $$" } 1 .. $N;
	my @got = race(map { my $pw = $_; sub { call(undef, POST => "$A/password/reset",
		{email => $e, code => $code, newPassword => $pw}) } } @new);
	is(statuses(@got), join(' ', '200', ('400') x ($N - 1)), 'one copy resets, the others are refused');
	my ($won) = grep { $got[$_]{status} == 200 } 0 .. $#got;
	is(call(undef, POST => "$A/login", {email => $e, password => $new[$won // 0]})->{status}, 200,
		'the winner\'s password signs in');
	my $others = grep { call(undef, POST => "$A/login", {email => $e, password => $new[$_]})->{status} == 200 }
		grep { $_ != ($won // 0) } 0 .. $#new;
	is($others, 0, 'no other copy\'s password does');
	is(call(undef, POST => "$A/login", {email => $e, password => $old})->{status}, 401, 'nor the old one');
};

subtest "$N copies of an invitation's acceptance" => sub {
	my $owner = tenants_user('replays-owner');
	my $tenant = tenants_new($owner, 'replays')->{id};
	my $invitee = tenants_user('replays-invitee');
	tenants_verify_email($invitee);
	my $inv = body(call($owner, POST => "/api/v1/tenants/$tenant/members", {email => $invitee->{email}, role => 'admin'}))
		->{invitation}{id};
	ok($inv, 'invited') or return;
	my @got = race(map { sub { call($invitee, POST => "/api/v1/tenants/invitations/$inv/accept") } } 1 .. $N);
	my @ok = grep { $_->{status} == 200 } @got;
	is(scalar @ok, 1, 'one copy accepts');
	ok(!grep({ $_->{status} >= 500 } @got), 'no copy fails on the server: ' . statuses(@got));
	is(psql("SELECT count(*) FROM tenant_members WHERE tenant_id = '$tenant' AND user_id = '$invitee->{id}'"), 1,
		'one membership');
	is(psql("SELECT role FROM tenant_members WHERE tenant_id = '$tenant' AND user_id = '$invitee->{id}'"), 'admin',
		'with the invited role');
};

subtest "$N copies of a key's rotation" => sub {
	my $owner = tenants_user('replays-keys');
	my $tenant = tenants_new($owner, 'replays keys')->{id};
	my $k = keys_make($owner->{token}, $tenant, name => 'raced');
	my @got = race(map { sub { call($owner, POST => "/api/v1/keys/$k->{id}/rotate", {overlapSeconds => 60}) } } 1 .. $N);
	is(scalar(grep { $_->{status} == 200 } @got), 1, 'one copy rotates');
	ok(!grep({ $_->{status} != 200 && $_->{status} != 409 } @got), 'the others: 409 (' . statuses(@got) . ')');
	is(psql("SELECT count(*) FROM api_keys WHERE tenant_id = '$tenant'"), 2, 'one replacement key');
	my ($new) = map { body($_) } grep { $_->{status} == 200 } @got;
	is(keys_self($new->{key})->{status}, 200, 'which works');
};

subtest "$N copies of a write with one Idempotency-Key" => sub {
	my $m = memox_tenant(name => 'replays idempotency');
	my $memory = {namespace => 'replays', externalUserId => 'u', content => "raced write $$"};
	my @got = race(map { sub { call($m->{key}, POST => '/api/v1/memox/memories', $memory, {'Idempotency-Key' => "race-$$"}) } }
		1 .. $N);
	ok(!grep({ $_->{status} != 202 && $_->{status} != 200 && $_->{status} != 409 } @got), 'every copy: 202, 200 or 409 ('
		. statuses(@got) . ')');
	my %ids = map { body($_)->{id} => 1 } grep { $_->{status} < 300 } @got;
	is(scalar keys %ids, 1, 'every copy that was answered names the same memory');
	is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$m->{tenant}'"), 1, 'one memory');
};

done_testing();

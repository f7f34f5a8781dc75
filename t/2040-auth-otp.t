#!/usr/bin/perl
# One-time email codes: sending without telling which accounts exist, the
# code working once per purpose, five wrong tries voiding it, the resend
# cooldown, the daily cap of wrong codes, email verification and the claim of
# an unverified account by whoever reads its mail, password reset, expiry,
# bad input.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Digest::SHA qw(sha256_hex);
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/auth';

sub body { my $b = eval { JSON::PP->new->decode($_[0]{content}) }; $b || {} }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub send_code { my ($email, $purpose) = @_; call(undef, POST => "$A/otp/send", {email => $email, purpose => $purpose // 'login'}) }
sub verify {
	my ($email, $code, $purpose, $token) = @_;
	call(undef, POST => "$A/otp/verify", {email => $email, code => $code, purpose => $purpose // 'login'},
		{%{client_ip()}, $token ? %{bearer($token)} : ()});
}
sub reset_pw {
	my ($email, $code, $pw) = @_;
	call(undef, POST => "$A/password/reset", {email => $email, code => $code, newPassword => $pw});
}
sub login { my ($e, $pw) = @_; call(undef, POST => "$A/login", {email => $e, password => $pw}) }
sub refresh { call(undef, POST => "$A/refresh", {refreshToken => $_[0]}) }
# A wrong code near the right one.  Arithmetic on a copy: JSON::PP would
# send a string once used as a number as a number.
sub other_code { my ($code, $n) = @_; my $c = "$code"; sprintf('%06d', ($c + ($n // 1)) % 1000000) }
sub code_key { my ($purpose, $email) = @_; "auth:otp:$purpose:" . sha256_hex(lc $email) }

# Sends a code and reads it from the outbox; () when none came.
sub code_for {
	my ($email, $purpose) = @_;
	my $before = () = mails_to($email);
	my $res = send_code($email, $purpose);
	is($res->{status}, 202, "send a $purpose code: 202") or diag($res->{content});
	wait_until(5, sub { mails_to($email) > $before });
	return last_code($email);
}

subtest 'send: the same answer whether or not the account exists' => sub {
	my ($email) = register_user(tag => 'otp-send');
	my $nobody = unique_email('otp-nobody');
	my $r_nobody = send_code($nobody);
	my $r_known = send_code($email);
	is($r_known->{status}, 202, 'an account: 202') or diag($r_known->{content});
	is($r_nobody->{status}, 202, 'no account: 202') or diag($r_nobody->{content});
	is($r_known->{content}, $r_nobody->{content}, 'identical bodies');
	my $b = body($r_known);
	ok($b->{sent}, 'sent: true');
	is($b->{expiresIn}, 300, 'expiresIn 300');
	is(join(',', sort grep { !/^(date|x-request-id)$/ } keys %{$r_known->{headers}}),
	   join(',', sort grep { !/^(date|x-request-id)$/ } keys %{$r_nobody->{headers}}), 'the same headers');

	ok(wait_until(5, sub { scalar mails_to($email) }), 'a mail reaches the account');
	my ($mail) = mails_to($email);
	like($mail, qr/^Subject: .*sign-in code/mi, 'the sign-in subject');
	my ($code) = $mail =~ /code is (\d{6})/;
	like($code // '', qr/^\d{6}$/, 'a 6-digit code');
	select(undef, undef, undef, 0.5);
	is(scalar(mails_to($nobody)), 0, 'no mail for an address without an account');
	is(psql("SELECT count(*) FROM users WHERE lower(email) = lower('$nobody')"), 0, 'and no account made');

	my $stored = redis_cli('GET', code_key('login', $email));
	like($stored, qr/^[0-9a-f]{64}$/, 'Redis holds a digest of the code');
	isnt($stored, $code, 'not the code');
	my $ttl = redis_cli('TTL', code_key('login', $email));
	ok($ttl > 250 && $ttl <= 300, 'which lives 5 minutes') or diag("TTL $ttl");
	unlike(redis_cli('--scan', '--pattern', 'auth:otp*'), qr/\@/, 'no email address in Redis keys');
};

subtest 'login code: works once' => sub {
	my ($email, $pw, $reg) = register_user(tag => 'otp-login');
	my $code = code_for($email, 'login');
	ok($code, 'got a code') or return;
	error_is(verify($email, $code, 'verify_email'), 400, 'invalid_request', 'not valid for another purpose');
	error_is(verify(unique_email('otp-other'), $code), 400, 'invalid_request', 'not valid for another address');
	my $res = verify(uc $email, $code);
	is($res->{status}, 200, 'verified: 200 (the address in any case)') or return diag($res->{content});
	my $b = body($res);
	is($b->{user}{id}, $reg->{user}{id}, 'the account');
	ok($b->{accessToken} && $b->{refreshToken}, 'a token pair');
	is($b->{expiresIn}, 900, 'expiresIn 900');
	ok(body(me($b->{accessToken}))->{user}{emailVerified}, 'reading the code verified the address');
	is(refresh($b->{refreshToken})->{status}, 200, 'the refresh token works');
	error_is(verify($email, $code), 400, 'invalid_request', 'the same code a second time');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'otp_verified' AND user_id = '$reg->{user}{id}'"), 1,
		'audited');
};

subtest 'five wrong codes void it' => sub {
	my ($email) = register_user(tag => 'otp-wrong');
	my $code = code_for($email, 'login');
	ok($code, 'got a code') or return;
	for my $n (1 .. 5) {
		my $b = error_is(verify($email, other_code($code, $n)), 400, 'invalid_request', "wrong code $n");
		like($b->{error}{message}, qr/wrong or has expired/, "wrong code $n: the one message for every failure");
	}
	error_is(verify($email, $code), 400, 'invalid_request', 'the right code after five wrong ones');
	is(redis_cli('EXISTS', code_key('login', $email)), 0, 'the code is gone from Redis');

	my ($e2) = register_user(tag => 'otp-four');
	my $c2 = code_for($e2, 'login');
	error_is(verify($e2, other_code($c2)), 400, 'invalid_request', "wrong code $_") for 1 .. 4;
	is(verify($e2, $c2)->{status}, 200, 'four wrong tries leave the right code usable');
};

subtest 'daily cap of wrong codes' => sub {
	# AUTH_OTP_DAILY_WRONG_MAX (20 on this stack) wrong codes for one
	# address within a day lock its codes until the day is over: verify
	# refuses even a right one, send answers 202 and sends nothing, and the
	# address's owner gets one notice.  The cooldown and the hourly send cap
	# are cleared in Redis to get there without waiting.
	my $max = stack_env('AUTH_OTP_DAILY_WRONG_MAX') // 20;
	my ($email, $pw, $reg) = register_user(tag => 'otp-daily');
	my $h = sha256_hex(lc $email);
	my $right = code_for($email, 'verify_email');
	ok($right, 'a confirmation code, kept for later') or return;
	my $wrong = 0;
	while ($wrong < $max) {
		redis_cli('DEL', "auth:otpcd:login:$h", "rl:auth:otp-send-email:$h");
		my $code = code_for($email, 'login');
		ok($code, 'a sign-in code') or return;
		for (1 .. 5) {
			last if $wrong >= $max;
			$wrong++;
			error_is(verify($wrong % 2 ? $email : uc $email, other_code($code)), 400, 'invalid_request',
				"wrong code $wrong of $max");
		}
	}
	my $notice = qr/^Subject: .*paused/mi;
	ok(wait_until(5, sub { grep { /$notice/ } mails_to($email) }), 'the owner is told the codes are paused');
	my ($mail) = grep { /$notice/ } mails_to($email);
	like($mail // '', qr/$max wrong/, 'the notice says why');
	unlike($mail // '', qr/code is \d{6}/, 'and carries no code');
	my $ttl = redis_cli('TTL', "auth:otpwrong:$h");
	ok($ttl > 86000 && $ttl <= 86400, "the lockout lasts the day from the first wrong code (TTL $ttl)");

	my $b = error_is(verify($email, $right, 'verify_email', $reg->{accessToken}), 400, 'invalid_request',
		'the right code during the lockout');
	like($b->{error}{message}, qr/wrong or has expired/, 'with the message of every failure (no enumeration)');
	error_is(verify($email, other_code($right), 'verify_email'), 400, 'invalid_request', 'a wrong one too');

	redis_cli('DEL', "auth:otpcd:login:$h", "rl:auth:otp-send-email:$h");
	my $codes = grep { /code is \d{6}/ } mails_to($email);
	my $nobody = unique_email('otp-daily-nobody');
	my $res = send_code($email);
	is($res->{status}, 202, 'send during the lockout: 202 as always');
	is($res->{content}, send_code($nobody)->{content}, 'the same body as for an address without an account');
	select(undef, undef, undef, 1);
	is(scalar(grep { /code is \d{6}/ } mails_to($email)), $codes, 'and no code went out');
	is(redis_cli('EXISTS', code_key('login', $email)), 0, 'nor was one stored');
	is(scalar(grep { /$notice/ } mails_to($email)), 1, 'exactly one notice for the lockout');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'otp_locked' AND user_id = '$reg->{user}{id}'"), 1,
		'the lockout is audited once');
	is(login($email, $pw)->{status}, 200, 'the password still signs in');
	ok(!body(me($reg->{accessToken}))->{user}{emailVerified}, 'and the address is still unverified');
};

subtest 'resend cooldown' => sub {
	my ($email) = register_user(tag => 'otp-cool');
	my $nobody = unique_email('otp-cool-nobody');
	is(send_code($email)->{status}, 202, 'first send, an account');
	is(send_code($nobody)->{status}, 202, 'first send, no account');
	my $k = error_is(send_code($email), 429, 'rate_limited', 'a resend within 60 s, an account');
	my $r_known = send_code($email);
	my $r_nobody = send_code($nobody);
	my $u = error_is($r_nobody, 429, 'rate_limited', 'a resend within 60 s, no account');
	for my $res ($r_known, $r_nobody) {
		my $ra = $res->{headers}{'retry-after'} // '';
		ok($ra =~ /^\d+$/ && $ra >= 1 && $ra <= 60, "Retry-After within the cooldown ($ra)");
	}
	(my $mk = $k->{error}{message}) =~ s/\d+/N/g;
	(my $mu = $u->{error}{message}) =~ s/\d+/N/g;
	is($mk, $mu, 'the same message either way');
	is(send_code($email, 'verify_email')->{status}, 202, 'another purpose has its own cooldown');
	wait_until(5, sub { grep { /Confirm your email/ } mails_to($email) });
	is(scalar(grep { /sign-in code/ } mails_to($email)), 1, 'one sign-in mail went out, not three');
};

subtest 'hourly cap per address' => sub {
	# Five codes an hour per address, whatever the purpose or the spelling;
	# the 60 s cooldown is cleared in Redis to get there without waiting.
	my ($email) = register_user(tag => 'otp-cap');
	my $nobody = unique_email('otp-cap-nobody');
	for my $who ([$email, 'an account'], [$nobody, 'no account']) {
		my ($e, $name) = @$who;
		my @status = map {
			redis_cli('DEL', "auth:otpcd:login:" . sha256_hex(lc $e));
			send_code($_ % 2 ? $e : uc $e)->{status};
		} 1 .. 5;
		is("@status", '202 202 202 202 202', "$name: five codes");
		redis_cli('DEL', "auth:otpcd:login:" . sha256_hex(lc $e));
		my $res = send_code($e);
		error_is($res, 429, 'rate_limited', "$name: the sixth");
		cmp_ok($res->{headers}{'retry-after'} // 0, '>', 60, "$name: Retry-After counts in the hour");
		error_is(send_code(ucfirst $e, 'verify_email'), 429, 'rate_limited', "$name: in another spelling and purpose");
	}
	wait_until(5, sub { mails_to($email) >= 5 });
	is(scalar(mails_to($email)), 5, 'five mails went out');
};

subtest 'verify_email from its own session keeps it' => sub {
	# The registrant, signed in, confirms the address: they hold both the
	# password and the mailbox, so nothing of theirs ends.
	my ($email, $pw, $reg) = register_user(tag => 'otp-verify');
	ok(!body(me($reg->{accessToken}))->{user}{emailVerified}, 'not verified at first');
	my $code = code_for($email, 'verify_email');
	ok($code, 'got a code') or return;
	like((mails_to($email))[-1], qr/^Subject: Confirm your email/mi, 'the confirmation subject');
	error_is(verify($email, $code, 'verify_email', 'not.a.token'), 401, 'unauthorized',
		'an access token that does not check out');
	my $res = verify($email, $code, 'verify_email', $reg->{accessToken});
	is($res->{status}, 200, 'verified with the access token: 200 (the bad token did not spend the code)')
		or return diag($res->{content});
	is_deeply(body($res), {verified => JSON::PP::true}, 'the body is {verified: true}, no tokens');
	ok(body(me($reg->{accessToken}))->{user}{emailVerified}, '/me shows emailVerified: the session goes on');
	is(login($email, $pw)->{status}, 200, 'the password still signs in');
	is(refresh($reg->{refreshToken})->{status}, 200, 'the refresh token still works');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'unverified_account_claimed' AND user_id = '$reg->{user}{id}'"),
		0, 'no claim');
	error_is(verify($email, $code, 'verify_email', $reg->{accessToken}), 400, 'invalid_request', 'the code works once');
};

# Anyone may register any address without reading its mail.  Whoever proves
# the mailbox takes the account over, and what its previous holder had (the
# password, every session and their access tokens) ends at once.
sub claim_ok {
	my ($name, $email, $pw, $reg, $live) = @_;
	error_is(login($email, $pw), 401, 'unauthorized', "$name: the old password no longer signs in");
	error_is(refresh($reg->{refreshToken}), 401, 'unauthorized', "$name: the old refresh token is refused");
	error_is(me($reg->{accessToken}), 401, 'unauthorized', "$name: the old access token is refused at once");
	is(psql("SELECT password_hash IS NULL AND email_verified FROM users WHERE id = '$reg->{user}{id}'"), 't',
		"$name: no password, address verified");
	is(psql("SELECT count(*) FROM sessions WHERE user_id = '$reg->{user}{id}' AND revoked_at IS NULL"), $live,
		"$name: sessions left: $live (the new owner's)");
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'unverified_account_claimed' AND user_id = '$reg->{user}{id}'"),
		1, "$name: the claim is audited");
}

subtest 'a login code claims an unverified account' => sub {
	my ($email, $pw, $reg) = register_user(tag => 'otp-claim');
	my $second = body(login($email, $pw));
	ok($second->{refreshToken}, 'the registrant has a second session');
	my $code = code_for($email, 'login');
	ok($code, 'the mailbox owner asks for a sign-in code') or return;
	my $res = verify($email, $code, 'login');
	is($res->{status}, 200, 'and signs in with it') or return diag($res->{content});
	my $owner = body($res);
	is($owner->{user}{id}, $reg->{user}{id}, 'into the account');
	ok($owner->{user}{emailVerified}, 'now verified');
	claim_ok('login code', $email, $pw, $reg, 1);
	error_is(refresh($second->{refreshToken}), 401, 'unauthorized', 'the second session is revoked too');
	error_is(me($second->{accessToken}), 401, 'unauthorized', 'and its access token');
	is(me($owner->{accessToken})->{status}, 200, "the new owner's session works");
	is(refresh($owner->{refreshToken})->{status}, 200, 'and refreshes');
};

subtest 'verify_email without the account\'s session claims it' => sub {
	my ($email, $pw, $reg) = register_user(tag => 'otp-claim-verify');
	my (undef, undef, $other) = register_user(tag => 'otp-claim-other');
	my $code = code_for($email, 'verify_email');
	ok($code, 'the mailbox owner asks for a confirmation code') or return;
	my $res = verify($email, $code, 'verify_email', $other->{accessToken});
	is($res->{status}, 200, "verified with another account's access token: 200") or return diag($res->{content});
	is_deeply(body($res), {verified => JSON::PP::true}, '{verified: true}');
	claim_ok('verify_email', $email, $pw, $reg, 0);
	is(me($other->{accessToken})->{status}, 200, "the other account's session is untouched");
};

subtest 'reset_password' => sub {
	my ($email, $old, $reg) = register_user(tag => 'otp-reset');
	my $other = body(login($email, $old));
	my $code = code_for($email, 'reset_password');
	ok($code, 'got a code') or return;
	like((mails_to($email))[-1], qr/^Subject: .*password reset/mi, 'the reset subject');

	my $res = verify($email, $code, 'reset_password');
	is($res->{status}, 200, 'otp/verify checks a reset code: 200') or diag($res->{content});
	is_deeply(body($res), {verified => JSON::PP::true}, '{verified: true}, no tokens');
	is(verify($email, $code, 'reset_password')->{status}, 200, 'without spending it');
	error_is(verify($email, $code, 'login'), 400, 'invalid_request', 'not a login code');

	error_is(reset_pw($email, $code, 'password1'), 400, 'invalid_request', 'a common new password');
	error_is(reset_pw($email, $code, 'short'), 400, 'invalid_request', 'a short new password');
	error_is(reset_pw($email, other_code($code), 'a brand new password 1'), 400, 'invalid_request', 'a wrong code');
	$res = reset_pw($email, $code, 'a brand new password 1');
	is($res->{status}, 200, 'reset: 200 (the weak tries did not spend the code)') or return diag($res->{content});
	is_deeply(body($res), {reset => JSON::PP::true}, 'the body is {reset: true}');

	error_is(login($email, $old), 401, 'unauthorized', 'the old password no longer works');
	is(login($email, 'a brand new password 1')->{status}, 200, 'the new one does');
	error_is(refresh($reg->{refreshToken}), 401, 'unauthorized', 'the registration session is revoked');
	error_is(refresh($other->{refreshToken}), 401, 'unauthorized', 'another session too');
	error_is(me($other->{accessToken}), 401, 'unauthorized', 'and its access token');
	error_is(reset_pw($email, $code, 'yet another password 2'), 400, 'invalid_request', 'the code works once');
	is(login($email, 'a brand new password 1')->{status}, 200, 'the password from the reset stands');
	is(psql("SELECT email_verified FROM users WHERE id = '$reg->{user}{id}'"), 't', 'the reset verified the address');

	my $nobody = unique_email('otp-reset-nobody');
	is(send_code($nobody, 'reset_password')->{status}, 202, 'a reset code for no account: 202');
	error_is(reset_pw($nobody, '123456', 'a brand new password 1'), 400, 'invalid_request', 'and no reset');
};

subtest 'expiry' => sub {
	my ($email) = register_user(tag => 'otp-expiry');
	my $code = code_for($email, 'login');
	ok($code, 'got a code') or return;
	is(redis_cli('EXPIRE', code_key('login', $email), 1), 1, 'its key is made to expire in a second');
	ok(wait_until(5, sub { redis_cli('EXISTS', code_key('login', $email)) eq '0' }), 'and is gone');
	error_is(verify($email, $code), 400, 'invalid_request', 'the expired code');
};

subtest 'bad input' => sub {
	my $email = unique_email('otp-bad');
	my @verify = (
		['code of 5 digits',   {email => $email, purpose => 'login', code => '12345'}],
		['code of 7 digits',   {email => $email, purpose => 'login', code => '1234567'}],
		['code with letters',  {email => $email, purpose => 'login', code => '12a456'}],
		['code with a space',  {email => $email, purpose => 'login', code => '123 56'}],
		['code a number',      {email => $email, purpose => 'login', code => 123456}],
		['code missing',       {email => $email, purpose => 'login'}],
		['email missing',      {purpose => 'login', code => '123456'}],
		['purpose missing',    {email => $email, code => '123456'}],
		['purpose unknown',    {email => $email, purpose => 'admin', code => '123456'}],
		['purpose a number',   {email => $email, purpose => 1, code => '123456'}],
		['email invalid',      {email => 'nope', purpose => 'login', code => '123456'}],
		['unknown field',      {email => $email, purpose => 'login', code => '123456', extra => 1}],
	);
	error_is(call(undef, POST => "$A/otp/verify", $_->[1]), 400, 'invalid_request', "verify: $_->[0]") for @verify;
	my @send = (
		['purpose unknown', {email => $email, purpose => 'signup'}],
		['purpose missing', {email => $email}],
		['email missing',   {purpose => 'login'}],
		['email invalid',   {email => 'a@b', purpose => 'login'}],
		['email a list',    {email => [$email], purpose => 'login'}],
		['unknown field',   {email => $email, purpose => 'login', code => '123456'}],
	);
	error_is(call(undef, POST => "$A/otp/send", $_->[1]), 400, 'invalid_request', "send: $_->[0]") for @send;
	my @reset = (
		['newPassword missing', {email => $email, code => '123456'}],
		['code missing',        {email => $email, newPassword => 'a fine password 1'}],
		['code of 5 digits',    {email => $email, code => '12345', newPassword => 'a fine password 1'}],
		['unknown field',       {email => $email, code => '123456', newPassword => 'a fine password 1', x => 1}],
	);
	error_is(call(undef, POST => "$A/password/reset", $_->[1]), 400, 'invalid_request', "reset: $_->[0]") for @reset;
	is(scalar(mails_to($email)), 0, 'no mail went out');
};

done_testing();

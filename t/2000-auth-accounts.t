#!/usr/bin/perl
# Accounts: register, login, /me, password change, the password policy, the
# first admin, bad register input and the per-IP login limit.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/auth';
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my $TIME = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
my $JWT = qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

sub body { JSON::PP->new->decode($_[0]{content}) }
sub login { my ($email, $pw, $ip) = @_; call(undef, POST => "$A/login", {email => $email, password => $pw}, $ip || client_ip()) }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub refresh { call(undef, POST => "$A/refresh", {refreshToken => $_[0]}) }

# Every field of a token answer: the user, the pair, and no cookie (no Origin).
sub token_answer_ok {
	my ($res, $status, $email, $name) = @_;
	is($res->{status}, $status, "$name: status $status") or diag($res->{content});
	like($res->{headers}{'content-type'} // '', qr{^application/json; charset=utf-8}, "$name: JSON");
	is($res->{headers}{'cache-control'}, 'no-store', "$name: tokens are not cached");
	ok(!defined $res->{headers}{'set-cookie'}, "$name: no cookie without an Origin");
	my $b = decode_json_ok($res, $name);
	like($b->{user}{id} // '', $UUID, "$name: user id is a UUID");
	is($b->{user}{email}, $email, "$name: user email");
	like($b->{user}{createdAt} // '', $TIME, "$name: createdAt is RFC 3339 UTC");
	ok(JSON::PP::is_bool($b->{user}{emailVerified}), "$name: emailVerified is a boolean");
	ok(!exists $b->{user}{passwordHash} && $res->{content} !~ /\$s1\$/, "$name: no password hash");
	like($b->{accessToken} // '', $JWT, "$name: accessToken is a JWT");
	is($b->{tokenType}, 'Bearer', "$name: tokenType Bearer");
	is($b->{expiresIn}, 900, "$name: expiresIn 900");
	like($b->{refreshToken} // '', qr/^[A-Za-z0-9_-]{40,128}$/, "$name: refreshToken in the body");
	ok(($b->{refreshExpiresIn} // 0) > 900, "$name: refreshExpiresIn outlives the access token");
	return $b;
}

sub median { my @s = sort { $a <=> $b } @_; return $s[@s / 2] }

subtest 'register' => sub {
	my $email = unique_email('reg');
	my $res = call(undef, POST => "$A/register", {email => $email, password => 'a fine password 1', name => 'Ada Lovelace'});
	my $b = token_answer_ok($res, 201, $email, 'register');
	is($b->{user}{name}, 'Ada Lovelace', 'name kept');
	is($b->{user}{role}, 'user', 'a new account is a user');
	ok(!$b->{user}{emailVerified}, 'email not verified yet');
	is(psql("SELECT count(*) FROM users WHERE id = '$b->{user}{id}'"), 1, 'one row in users');
	like(psql("SELECT password_hash FROM users WHERE id = '$b->{user}{id}'"), qr/^\$s1\$/,
		'stored as a scrypt hash, not in clear');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'register' AND user_id = '$b->{user}{id}'"), 1,
		'audited');

	my $bare = call(undef, POST => "$A/register", {email => unique_email('noname'), password => 'a fine password 2'});
	is($bare->{status}, 201, 'name is optional');
	ok(exists body($bare)->{user}{name} && !defined body($bare)->{user}{name}, 'absent name is null');

	my $me = me($b->{accessToken});
	is($me->{status}, 200, 'the new access token works on /me') or diag($me->{content});
};

subtest 'duplicate email, whatever its case' => sub {
	my $email = unique_email('Dup');
	is(call(undef, POST => "$A/register", {email => $email, password => 'a fine password 1'})->{status}, 201,
		'first registration');
	(my $upper_domain = $email) =~ s/\@(.*)/'@' . uc $1/e;
	for my $again ($email, lc $email, uc $email, $upper_domain, "  $email  ") {
		error_is(call(undef, POST => "$A/register", {email => $again, password => 'another password 2'}),
			409, 'conflict', "register '$again' again");
	}
	is(psql("SELECT count(*) FROM users WHERE lower(email) = lower('$email')"), 1, 'still one account');
};

subtest 'email normalisation' => sub {
	my $local = 'Mixed.Case+tag-' . $$ . '-' . int(rand 1e9);
	my $res = call(undef, POST => "$A/register", {email => " \t$local\@Example.COM \n", password => 'a fine password 1'});
	is($res->{status}, 201, 'registered with spaces and an upper-case domain') or diag($res->{content});
	my $stored = "$local\@example.com";
	is(body($res)->{user}{email}, $stored, 'trimmed, domain lower-cased, local part kept');
	is(psql("SELECT email FROM users WHERE id = '" . body($res)->{user}{id} . "'"), $stored,
		'stored in that form');
	is(login(lc($local) . '@EXAMPLE.com', 'a fine password 1')->{status}, 200, 'login matches without regard to case');

	for my $bad ('no-at-sign', 'a@b', '@example.com', 'a@', 'a..b@example.com', '.a@example.com',
	             'a b@example.com', 'a@-x.example.com', 'a@x..com', ('x' x 65) . '@example.com', '   ') {
		error_is(call(undef, POST => "$A/register", {email => $bad, password => 'a fine password 1'}),
			400, 'invalid_request', "email '$bad'");
	}
};

my ($email, $password, $reg) = register_user(tag => 'login');

subtest 'login' => sub {
	my $res = login($email, $password);
	my $b = token_answer_ok($res, 200, $email, 'login');
	is($b->{user}{id}, $reg->{user}{id}, 'the same account');
	isnt($b->{accessToken}, $reg->{accessToken}, 'a new access token');
	isnt($b->{refreshToken}, $reg->{refreshToken}, 'a new refresh token');
	my $me = me($b->{accessToken});
	is($me->{status}, 200, '/me with the login token');
	is(psql("SELECT count(*) FROM sessions WHERE user_id = '$b->{user}{id}' AND revoked_at IS NULL"), 2,
		'a session per sign-in');
};

subtest 'wrong password and unknown email look the same' => sub {
	my $wrong = login($email, 'not the password');
	my $unknown = login(unique_email('nobody'), 'not the password');
	my $wb = error_is($wrong, 401, 'unauthorized', 'wrong password');
	my $ub = error_is($unknown, 401, 'unauthorized', 'unknown email');
	delete $_->{error}{requestId} for $wb, $ub;
	is_deeply($wb, $ub, 'the same body but for the request id');
	is(join(',', sort grep { !/^(date|x-request-id)$/ } keys %{$wrong->{headers}}),
	   join(',', sort grep { !/^(date|x-request-id)$/ } keys %{$unknown->{headers}}), 'the same headers');
	ok(!defined $wrong->{headers}{'www-authenticate'}, 'no WWW-Authenticate on a failed login');

	# Both pay a scrypt verification; measured alternately, medians compared.
	my ($t_email) = register_user(tag => 'timing');
	my (@known, @nobody);
	for (1 .. 5) {
		my $t0 = time;
		my $r1 = login($t_email, 'not the password');
		push @known, time - $t0;
		$t0 = time;
		my $r2 = login(unique_email('nobody'), 'not the password');
		push @nobody, time - $t0;
		is("$r1->{status} $r2->{status}", '401 401', "round $_: both refused");
	}
	my ($mk, $mu) = (median(@known), median(@nobody));
	note(sprintf('median: wrong password %.1f ms, unknown email %.1f ms', $mk * 1000, $mu * 1000));
	cmp_ok($mk, '>=', 0.015, 'a wrong password costs a scrypt verification');
	cmp_ok($mu, '>=', 0.015, 'an unknown email costs one too');
	my $ratio = $mk > $mu ? $mk / $mu : $mu / $mk;
	cmp_ok($ratio, '<', 3, 'the two take about as long');
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'login_failed' AND lower(email) = lower('$t_email')"), 5,
		'failed logins audited');
};

subtest '/me' => sub {
	my $res = me($reg->{accessToken});
	is($res->{status}, 200, 'status 200');
	my $b = decode_json_ok($res, '/me');
	is_deeply([sort keys %$b], ['user'], 'the body is {user}');
	is($b->{user}{id}, $reg->{user}{id}, 'the right user');
	is($b->{user}{email}, $email, 'the right email');
	is($b->{user}{role}, 'user', 'role user');

	$res = api(GET => "$A/me");
	error_is($res, 401, 'unauthorized', '/me without a token');
	like($res->{headers}{'www-authenticate'} // '', qr/^Bearer\b/, 'WWW-Authenticate: Bearer');

	$res = me('garbage');
	error_is($res, 401, 'unauthorized', '/me with a garbage token');
	like($res->{headers}{'www-authenticate'} // '', qr/^Bearer error="invalid_token"/, 'says invalid_token');

	$res = api(GET => "$A/me", {headers => {Authorization => "Basic $reg->{accessToken}"}});
	error_is($res, 401, 'unauthorized', '/me with another scheme');
};

subtest 'password change' => sub {
	my ($e, $old, $first) = register_user(tag => 'change');
	my $second = body(login($e, $old));    # another device's session
	my $path = "$A/password/change";
	my $h = {%{bearer($first->{accessToken})}, %{client_ip()}};

	error_is(call(undef, POST => $path, {currentPassword => 'not it at all', newPassword => 'a new password 1'}, $h),
		403, 'forbidden', 'wrong current password');
	error_is(call(undef, POST => $path, {currentPassword => $old, newPassword => 'short'}, $h),
		400, 'invalid_request', 'new password too short');
	error_is(call(undef, POST => $path, {currentPassword => $old, newPassword => 'password1'}, $h),
		400, 'invalid_request', 'new password too common');
	error_is(call(undef, POST => $path, {currentPassword => $old}, $h), 400, 'invalid_request', 'newPassword missing');
	error_is(call(undef, POST => $path, {newPassword => 'a new password 1'}, $h), 400, 'invalid_request',
		'currentPassword missing');
	error_is(call(undef, POST => $path, {currentPassword => $old, newPassword => 'a new password 1', x => 1}, $h),
		400, 'invalid_request', 'unknown field');
	error_is(call(undef, POST => $path, {currentPassword => $old, newPassword => 'a new password 1'}),
		401, 'unauthorized', 'no access token');
	is(login($e, $old)->{status}, 200, 'nothing changed so far');

	my $res = call(undef, POST => $path, {currentPassword => $old, newPassword => 'a new password 1'}, $h);
	is($res->{status}, 204, 'changed: 204') or diag($res->{content});
	is($res->{content} // '', '', 'no body');
	error_is(login($e, $old), 401, 'unauthorized', 'the old password no longer works');
	is(login($e, 'a new password 1')->{status}, 200, 'the new one does');

	error_is(refresh($second->{refreshToken}), 401, 'unauthorized', "the other session's refresh token");
	error_is(me($second->{accessToken}), 401, 'unauthorized', "the other session's access token");
	is(me($first->{accessToken})->{status}, 200, "the changing session's access token still works");
	is(refresh($first->{refreshToken})->{status}, 200, "and its refresh token too");
	is(psql("SELECT count(*) FROM auth_audit WHERE event = 'password_change_failed' AND user_id = '$first->{user}{id}'"),
		1, 'the wrong current password audited');
};

subtest 'the first admin' => sub {
	plan skip_all => 'ADMIN_EMAIL/ADMIN_PASSWORD not set' unless $ENV{ADMIN_EMAIL} && $ENV{ADMIN_PASSWORD};
	my $res = login($ENV{ADMIN_EMAIL}, $ENV{ADMIN_PASSWORD});
	is($res->{status}, 200, 'the admin logs in') or diag($res->{content});
	my $b = body($res);
	is($b->{user}{role}, 'admin', 'role admin');
	ok($b->{user}{emailVerified}, 'email verified');
	is(body(me($b->{accessToken}))->{user}{role}, 'admin', '/me says admin');
	my (undef, $claims) = jwt_decode_unverified($b->{accessToken});
	is($claims->{role}, 'admin', 'the token says admin');
};

subtest 'password policy' => sub {
	my %bad = ('7 bytes' => 'x' x 7, '129 bytes' => 'y' x 129, 'common' => 'password1',
	           'common, any case' => 'PassWord1', 'common digits' => '12345678');
	for my $name (sort keys %bad) {
		my $b = error_is(call(undef, POST => "$A/register", {email => unique_email('weak'), password => $bad{$name}}), 400, 'invalid_request', "password $name");
		like($b->{error}{message}, qr/^password (must be|is too common)/, "$name: the message names the field");
	}
	for my $len (8, 128) {
		my $res = call(undef, POST => "$A/register", {email => unique_email('edge'), password => 'z' x ($len - 1) . '!'});
		is($res->{status}, 201, "$len bytes accepted") or diag($res->{content});
	}
	is(psql("SELECT count(*) FROM users WHERE email LIKE 'weak-%'"), 0, 'no account made with a weak password');
};

subtest 'register: bad input' => sub {
	my %ok = (email => unique_email('bad'), password => 'a fine password 1');
	my @cases = (
		['email a number',       {%ok, email => 12345}],
		['email true',           {%ok, email => JSON::PP::true}],
		['email an array',       {%ok, email => [$ok{email}]}],
		['email an object',      {%ok, email => {a => 1}}],
		['email null',           {%ok, email => undef}],
		['email empty',          {%ok, email => ''}],
		['email missing',        {password => $ok{password}}],
		['password a number',    {%ok, password => 123456789}],
		['password an array',    {%ok, password => ['a fine password 1']}],
		['password null',        {%ok, password => undef}],
		['password missing',     {email => $ok{email}}],
		['name a number',        {%ok, name => 5}],
		['name an object',       {%ok, name => {first => 'Ada'}}],
		['name too long',        {%ok, name => 'n' x 257}],
		['unknown field',        {%ok, role => 'admin'}],
		['email over 320 bytes', {%ok, email => ('e' x 312) . '@example.com'}],
		['password over 1 KiB',  {%ok, password => 'p' x 1025}],
	);
	for my $c (@cases) {
		error_is(call(undef, POST => "$A/register", $c->[1]), 400, 'invalid_request', $c->[0]);
	}
	my $b = error_is(call(undef, POST => "$A/register", {%ok, role => 'admin'}), 400, 'invalid_request', 'role');
	like($b->{error}{message}, qr/unknown field: role/, 'names the unknown field');

	error_is(call(undef, POST => "$A/register", qq({"email":"\xff\xfe\@example.com","password":"a fine password 1"})),
		400, 'invalid_request', 'invalid UTF-8');
	error_is(call(undef, POST => "$A/register", qq({"email":"$ok{email}","password":"a fine password 1\\u0000x"})),
		400, 'invalid_request', 'a NUL in a string (it would cut the password short)');
	error_is(call(undef, POST => "$A/register", 'email=a@b.com&password=x'), 400, 'invalid_request', 'not JSON');
	error_is(call(undef, POST => "$A/register", '[]'), 400, 'invalid_request', 'a JSON array');
	error_is(api(POST => "$A/register", {headers => {'Content-Type' => 'text/plain', %{client_ip()}},
		content => JSON::PP::encode_json(\%ok)}), 415, 'unsupported_media_type', 'text/plain');
	error_is(api(POST => "$A/register", {headers => {'Content-Type' => 'application/x-www-form-urlencoded',
		%{client_ip()}}, content => 'email=a@b.com'}), 415, 'unsupported_media_type', 'a form');

	my $name = 'n' x 256;
	my $res = call(undef, POST => "$A/register", {%ok, name => $name});
	is($res->{status}, 201, 'a 256-byte name is accepted') or diag($res->{content});
	is(body($res)->{user}{name}, $name, 'and kept whole');
	is(psql("SELECT count(*) FROM users WHERE lower(email) = lower('$ok{email}')"), 1,
		'only the valid request made an account');
};

subtest 'login: bad input' => sub {
	error_is(call(undef, POST => "$A/login", {email => $email}), 400, 'invalid_request', 'password missing');
	error_is(call(undef, POST => "$A/login", {password => 'x'}), 400, 'invalid_request', 'email missing');
	error_is(call(undef, POST => "$A/login", {email => $email, password => 1}), 400, 'invalid_request',
		'password a number');
	error_is(call(undef, POST => "$A/login", {email => $email, password => 'x', remember => JSON::PP::true}),
		400, 'invalid_request', 'unknown field');
	error_is(call(undef, POST => "$A/login", {email => 'not-an-email', password => 'whatever1'}),
		400, 'invalid_request', 'malformed email');
};

subtest 'login limit per client address' => sub {
	# An address no other test uses (TEST-NET-2), so the count is this test's.
	# Cleared first, so that a rerun on a kept stack starts from zero too.
	my $ip = {'X-Forwarded-For' => '198.51.100.30'};
	like(redis_cli('DEL', 'rl:auth:login-ip:198.51.100.30'), qr/^\d+$/, 'the counter starts from zero');
	my @status = map { login(unique_email('flood'), 'not the password', $ip)->{status} } 1 .. 30;
	is(scalar(grep { $_ == 401 } @status), 30, '30 failed logins in a minute are answered');
	my $res = login($email, $password, $ip);
	my $b = error_is($res, 429, 'rate_limited', 'the 31st, even with the right password');
	like($res->{headers}{'retry-after'} // '', qr/^\d+$/, 'Retry-After in seconds');
	ok($res->{headers}{'retry-after'} >= 1 && $res->{headers}{'retry-after'} <= 60, 'within the minute window');
	like($b->{error}{message}, qr/retry in \d+ seconds/, 'the message says when');
	is(login($email, $password, {'X-Forwarded-For' => '198.51.100.31'})->{status}, 200,
		'another address is not affected');
};

subtest 'login limit per account' => sub {
	# Guesses at one account from many addresses are counted together.
	my ($e, $pw) = register_user(tag => 'guessed');
	my @status = map { login($e, "guess number $_")->{status} } 1 .. 10;
	is(scalar(grep { $_ == 401 } @status), 10, '10 wrong guesses from 10 addresses are answered');
	my $res = login($e, $pw);
	error_is($res, 429, 'rate_limited', 'the 11th, from a fresh address, with the right password');
	like($res->{headers}{'retry-after'} // '', qr/^\d+$/, 'Retry-After');
	is(login($email, $password)->{status}, 200, 'another account is not affected');

	# Login matches the address without regard to case, so must the count.
	my ($e2, $pw2) = register_user(tag => 'guessed-case');
	my ($local, $domain) = split /\@/, $e2;
	my @variants = map { my $i = $_; join('', map { $i >> ($_ % 8) & 1 ? uc substr($local, $_, 1) : substr($local, $_, 1) }
		0 .. length($local) - 1) . '@' . ($i & 1 ? uc $domain : $domain) } 1 .. 10;
	@status = map { login($_, 'a wrong guess')->{status} } @variants;
	is(scalar(grep { $_ == 401 } @status), 10, '10 wrong guesses, each spelling the address differently');
	error_is(login($e2, $pw2), 429, 'rate_limited', 'the 11th is refused all the same');
};

done_testing();

#!/usr/bin/perl
# Sign-in with Google and Apple against the harness's stand-in providers:
# the code flow with state, nonce and PKCE (Apple's client secret a JWT we
# sign), a browser's state bound to that browser by a cookie, the native
# ID-token flow, account linking (one account per provider per address), the
# name of a new account, and every refusal of an ID token the issue names
# (audience, authorized party, nonce, expiry, signature, unverified email,
# issuer).
use strict;
use warnings;
use lib 't/lib';
use Digest::SHA qw(sha256_hex);
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use URI;
use URI::QueryParam;
use Aiget;

Aiget::require_stack();
plan skip_all => 'no stand-in providers' unless $ENV{AIGET_GOOGLE_PORT} && $ENV{AIGET_APPLE_PORT};

my $raw = HTTP::Tiny->new(max_redirect => 0, timeout => 10);
my %port = (google => $ENV{AIGET_GOOGLE_PORT}, apple => $ENV{AIGET_APPLE_PORT});
sub provider { my ($p, $method, $path, $body) = @_;
	my $res = $raw->request($method, "http://127.0.0.1:$port{$p}$path",
		$body ? {headers => {'Content-Type' => 'application/json'}, content => encode_json($body)} : {});
	return $res->{content} =~ /^[\[{]/ ? decode_json($res->{content}) : $res }
sub id_token { my ($p, %claims) = @_; provider($p, POST => '/test/id-token', \%claims)->{id_token} }
sub token_call { my ($p, $body) = @_; call(undef, POST => "/api/v1/auth/$p/token", $body) }

# The provider's consent page for an authorization URL: the code and state
# it sends back, by redirect (Google) or by form post (Apple).
sub consent {
	my $url = shift;
	my $consent = $raw->get("$url");
	if ($consent->{status} == 302) {
		my $back = URI->new($consent->{headers}{location});
		return ($back->query_param('code'), $back->query_param('state'));
	}
	my ($code) = $consent->{content} =~ /name="code" value="([^"]+)"/;
	my ($state) = $consent->{content} =~ /name="state" value="([^"]+)"/;
	return ($code, $state);
}

# The code flow: start, the provider's consent (the stand-in signs in the
# user named by login_hint), then the code and state back to us.
sub code_flow {
	my ($p, $email) = @_;
	my $start = call(undef, POST => "/api/v1/auth/$p/start", '');
	my $s = decode_json_ok($start, "$p start");
	my $url = URI->new($s->{authorizationUrl});
	$url->query_param(login_hint => $email);
	my ($code, $state) = consent($url);
	return ($s, $url, $code, $state);
}

# ------------------------------------------------------------- Google, code
my $gmail = unique_email('google');
my ($s, $url, $code, $state) = code_flow(google => $gmail);
is($url->query_param('client_id'), 'web-1.apps.googleusercontent.com', 'Google: the web client id');
is($url->query_param('code_challenge_method'), 'S256', 'Google: PKCE S256');
ok(length($url->query_param('nonce') // '') >= 32, 'Google: a nonce');
is($url->query_param('state'), $s->{state}, 'Google: the state we were given');
ok($code && $state, 'Google: the provider redirected back with a code');
provider(google => DELETE => '/test/requests');
my $res = token_call(google => {code => $code, state => $state});
is($res->{status}, 200, 'Google code flow signs in') or diag($res->{content});
my $g = decode_json_ok($res, 'google token');
is($g->{user}{email}, $gmail, 'the account has the Google email');
ok($g->{user}{emailVerified}, 'and it is verified');
ok($g->{accessToken} && $g->{refreshToken}, 'a token pair');
my ($exchange) = grep { $_->{path} eq '/token' } @{provider(google => GET => '/test/requests')};
ok($exchange->{pkce_verified}, 'the code exchange carried the PKCE verifier');
ok($exchange->{client_secret_verified}, 'and our client secret');
error_is(token_call(google => {code => $code, state => $state}), 400, 'invalid_request', 'a state works once');

($s, $url, $code, $state) = code_flow(google => $gmail);
$res = token_call(google => {code => $code, state => $state});
is(decode_json_ok($res, 'second')->{user}{id}, $g->{user}{id}, 'signing in again finds the same user');

# An existing password account whose email was verified is linked.
my ($email, $password, $reg) = register_user(tag => 'linked');
is(call(undef, POST => '/api/v1/auth/otp/send', {email => $email, purpose => 'verify_email'})->{status}, 202,
	'a verification code is sent');
my $vcode = last_code($email);
is(call(undef, POST => '/api/v1/auth/otp/verify', {email => $email, code => $vcode, purpose => 'verify_email'},
	{%{client_ip()}, %{bearer($reg->{accessToken})}})->{status}, 200, 'and the email verified from its session');
($s, $url, $code, $state) = code_flow(google => $email);
$res = token_call(google => {code => $code, state => $state});
is(decode_json_ok($res, 'link')->{user}{id}, $reg->{user}{id}, 'a verified account is linked, not duplicated');
is(call(undef, POST => '/api/v1/auth/login', {email => $email, password => $password})->{status}, 200,
	'its password still works');

# An unverified account with the provider's verified email: whoever
# registered it never proved owning the address, so the provider's owner
# takes it and the password and sessions set before stop working.
my ($squat, $squat_pw, $squatted) = register_user(tag => 'squat');
($s, $url, $code, $state) = code_flow(google => $squat);
$res = token_call(google => {code => $code, state => $state});
my $owner = decode_json_ok($res, 'claim');
is($owner->{user}{id}, $squatted->{user}{id}, 'an unverified account goes to the verified owner');
ok($owner->{user}{emailVerified}, 'now verified');
is(call(undef, POST => '/api/v1/auth/login', {email => $squat, password => $squat_pw})->{status}, 401,
	'the earlier password no longer signs in');
is(call(undef, POST => '/api/v1/auth/refresh', {refreshToken => $squatted->{refreshToken}})->{status}, 401,
	'the earlier session is revoked');
is(api(GET => '/api/v1/auth/me', {headers => bearer($squatted->{accessToken})})->{status}, 401,
	'and its access token too');

# -------------------------------------------------------------- Apple, code
my $amail = unique_email('apple');
($s, $url, $code, $state) = code_flow(apple => $amail);
is($url->query_param('response_mode'), 'form_post', 'Apple: form_post');
ok($code && $state, 'Apple: the provider posted back a code');
provider(apple => DELETE => '/test/requests');
$res = token_call(apple => {code => $code, state => $state, name => 'Ann Apple'});
is($res->{status}, 200, 'Apple code flow signs in') or diag($res->{content});
is(decode_json_ok($res, 'apple')->{user}{email}, $amail, 'with the Apple email');
($exchange) = grep { $_->{path} eq '/token' } @{provider(apple => GET => '/test/requests')};
ok($exchange->{client_secret_verified}, 'Apple accepted our ES256 client secret');
error_is(token_call(google => {code => $code, state => $state}), 400, 'invalid_request', "a state of Apple's is not Google's");

# ------------------------------------------------------ native ID tokens
my $nmail = unique_email('native');
$res = token_call(google => {idToken => id_token(google => email => $nmail, aud => 'ios-1.apps.googleusercontent.com',
	nonce => 'n-1'), nonce => 'n-1'});
is($res->{status}, 200, 'Google ID token from the iOS client id') or diag($res->{content});

$res = token_call(google => {idToken => id_token(google => email => unique_email('arr'),
	aud => ['another-app', 'ios-1.apps.googleusercontent.com'], nonce => 'n-8'), nonce => 'n-8'});
is($res->{status}, 200, 'an audience array holding one of our client ids') or diag($res->{content});

# A native ID token signs in once.
my $once = id_token(google => email => unique_email('once'), aud => 'web-1.apps.googleusercontent.com', nonce => 'n-9');
is(token_call(google => {idToken => $once, nonce => 'n-9'})->{status}, 200, 'a native ID token signs in');
error_is(token_call(google => {idToken => $once, nonce => 'n-9'}), 401, 'unauthorized', 'and cannot be replayed');

my %bad = (
	'wrong audience'     => [google => {aud => 'someone-else'}, 'n-2'],
	'wrong nonce'        => [google => {nonce => 'other'}, 'n-2'],
	'expired'            => [google => {exp_offset => -3600}, 'n-2'],
	'unknown signer'     => [google => {sign_with => 'unknown'}, 'n-2'],
	'unverified email'   => [google => {email_verified => JSON::PP::false}, 'n-2'],
	'wrong issuer'       => [google => {iss => 'https://evil.example'}, 'n-2'],
	'Apple raw nonce'    => [apple => {nonce => 'n-2'}, 'n-2'],
	# The client's nonce whole, not its first 64 bytes (fuzz/id_token.c).
	'nonce a prefix'     => [google => {nonce => 'n' x 64}, 'n' x 65],
);
for my $case (sort keys %bad) {
	my ($p, $claims, $nonce) = @{$bad{$case}};
	my %c = (email => unique_email('bad'), aud => $p eq 'google' ? 'web-1.apps.googleusercontent.com' : 'test.aiget.app',
		nonce => $p eq 'apple' ? sha256_hex($nonce) : $nonce, %$claims);
	error_is(token_call($p => {idToken => id_token($p => %c), nonce => $nonce}), 401, 'unauthorized', "refused: $case");
}
$res = token_call(apple => {idToken => id_token(apple => email => unique_email('an'), aud => 'test.aiget.app',
	nonce => sha256_hex('raw-nonce')), nonce => 'raw-nonce'});
is($res->{status}, 200, 'Apple ID token with the SHA-256 of the nonce') or diag($res->{content});

# The provider rotates its keys: an unknown kid makes us fetch the set again.
provider(google => POST => '/test/rotate');
$res = token_call(google => {idToken => id_token(google => email => unique_email('rot'),
	aud => 'web-1.apps.googleusercontent.com', nonce => 'n-3'), nonce => 'n-3'});
is($res->{status}, 200, 'a token of a rotated provider key verifies') or diag($res->{content});

# ------------------------------------------------- the browser's state
# A /start from a browser (with Origin) sets a short-lived cookie bound to
# the state; /token takes that state only with the cookie, so a code and
# state carried to another browser, or to a client without one, sign nobody in.
my ($ORIGIN) = split /,/, stack_env('ALLOWED_ORIGINS') // '';
sub set_cookies { my $sc = $_[0]{headers}{'set-cookie'}; ref $sc ? @$sc : defined $sc ? ($sc) : () }
sub cookie_named {
	my ($res, $name) = @_;
	my @c = grep { /^\Q$name\E=/ } set_cookies($res);
	return unless @c == 1;
	my ($pair, @attrs) = split /;\s*/, $c[0];
	return ((split /=/, $pair, 2)[1], {map { my ($k, $v) = split /=/, $_, 2; (lc $k => $v // 1) } @attrs});
}
# The code flow from a browser: (start answer, its binding cookie, code, state).
sub browser_flow {
	my ($p, $email) = @_;
	my $start = call(undef, POST => "/api/v1/auth/$p/start", '', {Origin => $ORIGIN, %{client_ip()}});
	my $s = decode_json_ok($start, "$p browser start");
	my ($cookie) = cookie_named($start, 'aiget_oauth');
	my $url = URI->new($s->{authorizationUrl});
	$url->query_param(login_hint => $email);
	my ($code, $state) = consent($url);
	return ($start, $cookie, $code, $state);
}
sub browser_token {
	my ($p, $body, $cookie) = @_;
	call(undef, POST => "/api/v1/auth/$p/token", $body,
		{Origin => $ORIGIN, %{client_ip()}, defined $cookie ? (Cookie => "aiget_oauth=$cookie") : ()});
}

subtest 'web sign-in: the state is bound to the browser that started it' => sub {
	plan skip_all => 'ALLOWED_ORIGINS is not set' unless $ORIGIN;
	my $email = unique_email('bound');
	my ($start, $a) = browser_flow(google => $email);
	my (undef, $attr) = cookie_named($start, 'aiget_oauth');
	ok(defined $a && length $a >= 40, 'a browser start sets the aiget_oauth cookie');
	is($attr->{path}, '/api/v1/auth', 'Path=/api/v1/auth');
	ok($attr->{httponly}, 'HttpOnly');
	is($attr->{samesite}, 'Lax', 'SameSite=Lax');
	is($attr->{'max-age'}, 600, 'Max-Age: the life of the state');
	ok(!exists $attr->{secure}, 'no Secure on this COOKIE_SECURE=0 stack');
	is(scalar(grep { /^aiget_oauth=/ } set_cookies(call(undef, POST => '/api/v1/auth/google/start', ''))), 0,
		'a native start sets no cookie');

	my (undef, $cookie_a, $code, $state) = browser_flow(google => $email);
	my $b = error_is(browser_token(google => {code => $code, state => $state}), 400, 'invalid_request',
		'browser B without the cookie');
	like($b->{error}{message}, qr/another browser/, 'the message says why');
	my (undef, $cookie_b) = browser_flow(google => unique_email('bound-b'));
	(undef, undef, $code, $state) = browser_flow(google => $email);
	error_is(browser_token(google => {code => $code, state => $state}, $cookie_b), 400, 'invalid_request',
		"browser B with a cookie of its own");
	(undef, undef, $code, $state) = browser_flow(google => $email);
	error_is(token_call(google => {code => $code, state => $state}), 400, 'invalid_request',
		'a client without Origin or cookie');
	my (undef, undef, $ncode, $nstate) = code_flow(google => $email);
	error_is(browser_token(google => {code => $ncode, state => $nstate}, $cookie_a), 400, 'invalid_request',
		'a state made without a browser, redeemed by one');

	my ($ok_start, $cookie, $c2, $s2) = browser_flow(google => $email);
	my $res = browser_token(google => {code => $c2, state => $s2}, $cookie);
	is($res->{status}, 200, 'the same browser signs in') or diag($res->{content});
	my $signed = decode_json_ok($res, 'bound token');
	is($signed->{user}{email}, $email, 'as the Google account');
	ok(!exists $signed->{refreshToken}, 'the refresh token only as the cookie');
	ok(defined((cookie_named($res, 'aiget_refresh'))[0]), 'which is set');
	my ($gone, $gattr) = cookie_named($res, 'aiget_oauth');
	is($gattr && $gattr->{'max-age'}, 0, 'and the binding cookie is deleted');

	my ($as, $acookie, $acode, $astate) = browser_flow(apple => unique_email('bound-apple'));
	error_is(browser_token(apple => {code => $acode, state => $astate}, $cookie_b), 400, 'invalid_request',
		'Apple: another browser');
	(undef, $acookie, $acode, $astate) = browser_flow(apple => unique_email('bound-apple'));
	is(browser_token(apple => {code => $acode, state => $astate}, $acookie)->{status}, 200, 'Apple: the same browser');
};

# ------------------------------------------------- one account per provider
subtest 'a second provider account for an address already linked is refused' => sub {
	my $email = unique_email('second');
	my ($s1, $u1, $code1, $state1) = code_flow(google => $email);
	my $first = decode_json_ok(token_call(google => {code => $code1, state => $state1}), 'first Google account');
	ok($first->{user}{id}, 'a first Google account signs in') or return;
	my $b = error_is(token_call(google => {idToken => id_token(google => email => $email, sub => "g-second-$$",
		aud => 'web-1.apps.googleusercontent.com', nonce => 'n-2nd'), nonce => 'n-2nd'}), 409, 'conflict',
		'a second Google subject with the same email');
	like($b->{error}{message}, qr/already linked to another Google account/, 'the message says so');
	is(psql("SELECT count(*) FROM identities WHERE provider = 'google' AND subject = 'g-second-$$'"), 0, 'not linked');
	(undef, undef, $code1, $state1) = code_flow(google => $email);
	is(decode_json_ok(token_call(google => {code => $code1, state => $state1}), 'again')->{user}{id}, $first->{user}{id},
		'the first one still signs in');

	my $amail = unique_email('second-apple');
	my $t1 = id_token(apple => email => $amail, sub => "a-first-$$", aud => 'test.aiget.app', nonce => sha256_hex('n-a1'));
	is(token_call(apple => {idToken => $t1, nonce => 'n-a1'})->{status}, 200, 'a first Apple account');
	my $t2 = id_token(apple => email => $amail, sub => "a-second-$$", aud => 'test.aiget.app', nonce => sha256_hex('n-a2'));
	error_is(token_call(apple => {idToken => $t2, nonce => 'n-a2'}), 409, 'conflict', 'Apple: a second subject');
	is(psql("SELECT count(*) FROM identities WHERE provider = 'apple' AND subject = 'a-second-$$'"), 0, 'not linked');
	my $t3 = id_token(google => email => $amail, aud => 'web-1.apps.googleusercontent.com', nonce => 'n-a3');
	is(token_call(google => {idToken => $t3, nonce => 'n-a3'})->{status}, 200, 'a Google account beside the Apple one is fine');
};

# ------------------------------------------------------------------- azp
subtest 'azp: the authorized party must be one of our client ids' => sub {
	my $g = sub { my ($name, %c) = @_;
		token_call(google => {idToken => id_token(google => email => unique_email('azp'), nonce => "n-$name", %c),
			nonce => "n-$name"}) };
	my $b = error_is($g->('foreign', aud => 'web-1.apps.googleusercontent.com', azp => 'evil.apps.googleusercontent.com'),
		401, 'unauthorized', 'an azp that is not ours');
	like($b->{error}{message}, qr/authorized party/, 'the message names the check');
	error_is($g->('none', aud => ['another-app', 'ios-1.apps.googleusercontent.com'], azp => undef), 401, 'unauthorized',
		'several audiences and no azp');
	error_is($g->('arr-foreign', aud => ['another-app', 'ios-1.apps.googleusercontent.com'], azp => 'another-app'), 401,
		'unauthorized', 'several audiences, azp the foreign one');
	is($g->('arr-ours', aud => ['another-app', 'ios-1.apps.googleusercontent.com'],
		azp => 'ios-1.apps.googleusercontent.com')->{status}, 200, 'several audiences, azp ours');
	is($g->('other-ours', aud => 'ios-1.apps.googleusercontent.com', azp => 'web-1.apps.googleusercontent.com')->{status},
		200, 'azp another client id of ours');
	is($g->('single', aud => 'ios-1.apps.googleusercontent.com', azp => undef)->{status}, 200, 'one audience, no azp');
	my $tok = id_token(apple => email => unique_email('azp-apple'), aud => ['test.aiget.app', 'another-app'],
		nonce => sha256_hex('n-aa'));
	error_is(token_call(apple => {idToken => $tok, nonce => 'n-aa'}), 401, 'unauthorized', 'Apple: several audiences, no azp');
};

# ------------------------------------------------------------------ name
subtest "the ID token's name names a new account" => sub {
	my $email = unique_email('named');
	my (undef, undef, $code, $state) = code_flow(google => $email);
	my $b = decode_json_ok(token_call(google => {code => $code, state => $state}), 'named');
	my ($local) = $email =~ /^([^@]+)/;
	is($b->{user}{name}, "Test $local", 'the code flow: the name claim');
	$b = decode_json_ok(token_call(google => {idToken => id_token(google => email => unique_email('named-n'),
		aud => 'ios-1.apps.googleusercontent.com', name => 'Ann Native', nonce => 'n-nm'), nonce => 'n-nm'}), 'native');
	is($b->{user}{name}, 'Ann Native', 'a native ID token: its name claim');
	$b = decode_json_ok(token_call(google => {idToken => id_token(google => email => unique_email('named-b'),
		aud => 'ios-1.apps.googleusercontent.com', name => 'Claim Name', nonce => 'n-nb'), nonce => 'n-nb',
		name => 'Given Name'}), 'both');
	is($b->{user}{name}, 'Given Name', "the client's name, when it sends one, comes first");
	my ($reg_email, undef, $reg) = register_user(tag => 'named-existing');
	psql("UPDATE users SET email_verified = true WHERE id = '$reg->{user}{id}'");
	$b = decode_json_ok(token_call(google => {idToken => id_token(google => email => $reg_email,
		aud => 'ios-1.apps.googleusercontent.com', name => 'Other Name', nonce => 'n-ne'), nonce => 'n-ne'}), 'existing');
	is($b->{user}{name}, undef, 'an existing account keeps its own (here none)');
};

# ---------------------------------------------------------------- bad input
error_is(token_call(google => {}), 400, 'invalid_request', 'neither code nor idToken');
error_is(token_call(google => {code => 'c', state => 's', idToken => 'x', nonce => 'n'}), 400, 'invalid_request', 'both');
error_is(token_call(google => {code => 'c'}), 400, 'invalid_request', 'code without state');
error_is(token_call(google => {idToken => 'x'}), 400, 'invalid_request', 'idToken without nonce');
error_is(token_call(google => {code => 'c', state => 'no-such-state'}), 400, 'invalid_request', 'unknown state');
error_is(token_call(google => {code => 1, state => 's'}), 400, 'invalid_request', 'code of the wrong type');
error_is(token_call(google => {idToken => 'x', nonce => 'n', extra => 1}), 400, 'invalid_request', 'unknown field');
error_is(token_call(google => {idToken => 'not.a.jwt', nonce => 'n'}), 401, 'unauthorized', 'garbage ID token');

done_testing();

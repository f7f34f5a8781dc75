#!/usr/bin/perl
# Browsers: a request with an allowed Origin gets the refresh token only as an
# httpOnly cookie, with CORS headers; the cookie refreshes and logs out; an
# Origin not on ALLOWED_ORIGINS is refused (CSRF), cookie or not.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $A = '/api/v1/auth';
my ($ORIGIN, $ORIGIN2) = split /,/, stack_env('ALLOWED_ORIGINS') // '';
my $EVIL = 'http://evil.example';
my $TTL = stack_env('AUTH_REFRESH_TTL_SECONDS') // 2592000;

sub body { my $b = eval { JSON::PP->new->decode($_[0]{content}) }; $b || {} }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub browser { my ($origin, %h) = @_; return {Origin => $origin, %{client_ip()}, %h} }

# The refresh cookie of a response: (value, attributes) or () when none.
sub refresh_cookie {
	my $res = shift;
	my $sc = $res->{headers}{'set-cookie'};
	my @all = ref $sc ? @$sc : defined $sc ? ($sc) : ();
	my @ours = grep { /^aiget_refresh=/ } @all;
	return unless @ours == 1;
	my ($pair, @attrs) = split /;\s*/, $ours[0];
	my %attr = map { my ($k, $v) = split /=/, $_, 2; (lc $k => $v // 1) } @attrs;
	return ((split /=/, $pair, 2)[1], \%attr, $ours[0]);
}

sub cors_ok {
	my ($res, $origin, $name) = @_;
	is($res->{headers}{'access-control-allow-origin'}, $origin, "$name: Access-Control-Allow-Origin echoes the origin");
	is($res->{headers}{'access-control-allow-credentials'}, 'true', "$name: Allow-Credentials true");
	like($res->{headers}{vary} // '', qr/\bOrigin\b/, "$name: Vary: Origin");
}

sub cookie_ok {
	my ($res, $name) = @_;
	my ($value, $attr, $raw) = refresh_cookie($res);
	ok(defined $value, "$name: one aiget_refresh cookie") or return;
	like($value, qr/^[A-Za-z0-9_-]{40,128}$/, "$name: an opaque token");
	is($attr->{path}, '/api/v1/auth', "$name: Path=/api/v1/auth");
	is($attr->{'max-age'}, $TTL, "$name: Max-Age is the refresh lifetime");
	ok($attr->{httponly}, "$name: HttpOnly");
	is($attr->{samesite}, 'Lax', "$name: SameSite=Lax");
	# COOKIE_SECURE=0 is the dev stack's plain-http loopback setting; with
	# the default (1) the cookie carries Secure, which this stack cannot show.
	ok(!exists $attr->{secure}, "$name: no Secure on this COOKIE_SECURE=0 stack") or diag($raw);
	ok(!exists $attr->{domain}, "$name: no Domain without COOKIE_DOMAIN");
	return $value;
}

plan skip_all => 'ALLOWED_ORIGINS is not set' unless $ORIGIN;
is(stack_env('COOKIE_SECURE'), '0', 'this stack runs with COOKIE_SECURE=0');

my ($email, $password) = register_user(tag => 'cookies');

subtest 'login from an allowed origin' => sub {
	my $res = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN));
	is($res->{status}, 200, 'status 200') or return diag($res->{content});
	my $b = body($res);
	ok(!exists $b->{refreshToken}, 'no refreshToken in the body');
	ok($b->{accessToken}, 'the access token in the body');
	is($b->{expiresIn}, 900, 'expiresIn');
	cookie_ok($res, 'login');
	cors_ok($res, $ORIGIN, 'login');
	is(me($b->{accessToken})->{status}, 200, 'the access token works');

	my $other = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN2));
	is($other->{status}, 200, 'the second allowed origin too');
	cors_ok($other, $ORIGIN2, 'second origin');

	my $native = call(undef, POST => "$A/login", {email => $email, password => $password});
	ok(body($native)->{refreshToken}, 'without an Origin the token is in the body');
	ok(!defined refresh_cookie($native), 'and no cookie is set');
	ok(!defined $native->{headers}{'access-control-allow-origin'}, 'nor CORS headers');

	my $reg = call(undef, POST => "$A/register", {email => unique_email('cookie-reg'), password => 'a fine password 1'},
		browser($ORIGIN));
	is($reg->{status}, 201, 'register from a browser');
	ok(!exists body($reg)->{refreshToken}, 'register: no refreshToken in the body');
	cookie_ok($reg, 'register');
};

subtest 'refresh with the cookie' => sub {
	my $login = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN));
	my ($c0) = refresh_cookie($login);
	my $res = api(POST => "$A/refresh", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$c0")});
	is($res->{status}, 200, 'status 200') or return diag($res->{content});
	my $c1 = cookie_ok($res, 'refresh');
	isnt($c1, $c0, 'the cookie is rotated');
	cors_ok($res, $ORIGIN, 'refresh');
	my $b = body($res);
	ok(!exists $b->{refreshToken}, 'no refreshToken in the body');
	is(me($b->{accessToken})->{status}, 200, 'the new access token works');

	$res = api(POST => "$A/refresh", {headers => browser($ORIGIN,
		Cookie => "theme=dark; aiget_refresh=$c1; other=1")});
	is($res->{status}, 200, 'the cookie is found among others') or diag($res->{content});
	my ($c2) = refresh_cookie($res);

	$res = api(POST => "$A/refresh", {headers => {%{browser($ORIGIN)}, 'Content-Type' => 'application/json'},
		content => JSON::PP::encode_json({refreshToken => $c2})});
	error_is($res, 401, 'unauthorized', 'a browser cannot use a body token');

	$res = api(POST => "$A/refresh", {headers => browser($ORIGIN)});
	error_is($res, 401, 'unauthorized', 'an Origin but no cookie');
	cors_ok($res, $ORIGIN, 'no cookie');

	$res = api(POST => "$A/refresh", {headers => browser($ORIGIN, Cookie => 'aiget_refresh=' . ('A' x 43))});
	error_is($res, 401, 'unauthorized', 'an unknown cookie');
	my (undef, $attr) = refresh_cookie($res);
	is($attr && $attr->{'max-age'}, 0, 'which is cleared (Max-Age=0)');

	is(api(POST => "$A/refresh", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$c2")})->{status}, 200,
		'the live cookie still works');
};

subtest 'an origin not on the list' => sub {
	my $login = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN));
	my ($cookie) = refresh_cookie($login);
	my $access = body($login)->{accessToken};
	for my $evil ($EVIL, "$ORIGIN/", "${ORIGIN}0", uc($ORIGIN), 'null', "$ORIGIN $EVIL", "$ORIGIN,$EVIL") {
		my $res = api(POST => "$A/refresh", {headers => browser($evil, Cookie => "aiget_refresh=$cookie")});
		error_is($res, 403, 'forbidden', "refresh from '$evil'");
		ok(!defined $res->{headers}{'access-control-allow-origin'}, "'$evil': no CORS headers");
		ok(!defined refresh_cookie($res), "'$evil': no cookie");
	}
	error_is(api(POST => "$A/logout", {headers => browser($EVIL, Cookie => "aiget_refresh=$cookie", %{bearer($access)})}),
		403, 'forbidden', 'logout from the evil origin');
	error_is(call(undef, POST => "$A/login", {email => $email, password => $password}, browser($EVIL)), 403, 'forbidden',
		'login from the evil origin');
	error_is(call(undef, POST => "$A/register", {email => unique_email('evil'), password => 'a fine password 1'}, browser($EVIL)),
		403, 'forbidden', 'register from the evil origin');
	error_is(call(undef, POST => "$A/otp/send", {email => $email, purpose => 'login'}, browser($EVIL)), 403, 'forbidden',
		'otp/send from the evil origin');
	error_is(call(undef, POST => "$A/otp/verify", {email => $email, purpose => 'login', code => '123456'}, browser($EVIL)), 403,
		'forbidden', 'otp/verify from the evil origin');
	error_is(call(undef, POST => "$A/password/reset", {email => $email, code => '123456', newPassword => 'a new password 9'},
		browser($EVIL)), 403, 'forbidden', 'password/reset from the evil origin');

	is(me($access)->{status}, 200, 'the session was not ended by the refused logout');
	my $res = api(POST => "$A/refresh", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$cookie")});
	is($res->{status}, 200, 'nor was the cookie spent by the refused refreshes') or diag($res->{content});
};

subtest 'preflight' => sub {
	my %pre = ('Access-Control-Request-Method' => 'POST', 'Access-Control-Request-Headers' => 'content-type');
	my $res = api(OPTIONS => "$A/refresh", {headers => {Origin => $ORIGIN, %pre}});
	is($res->{status}, 204, 'an allowed origin: 204') or diag($res->{content});
	cors_ok($res, $ORIGIN, 'preflight');
	like($res->{headers}{'access-control-allow-methods'} // '', qr/\bPOST\b/, 'allows POST');
	like($res->{headers}{'access-control-allow-headers'} // '', qr/\bContent-Type\b/i, 'allows Content-Type');
	$res = api(OPTIONS => "$A/me", {headers => {Origin => $ORIGIN, 'Access-Control-Request-Method' => 'GET',
		'Access-Control-Request-Headers' => 'authorization'}});
	is($res->{status}, 204, '/me: 204 without a token');
	like($res->{headers}{'access-control-allow-headers'} // '', qr/\bAuthorization\b/i, 'allows Authorization');
	$res = api(OPTIONS => "$A/refresh", {headers => {Origin => $EVIL, %pre}});
	error_is($res, 403, 'forbidden', 'the evil origin');
	ok(!defined $res->{headers}{'access-control-allow-origin'}, 'no CORS headers for it');
};

subtest 'CORS headers on every answer to an allowed origin' => sub {
	# A web client on an allowed origin reads /me, its sessions, and the
	# errors it must react to (an expired token, a bad body) across origins.
	my $b = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	my $h = {Origin => $ORIGIN, %{bearer($b->{accessToken})}};
	cors_ok(api(GET => "$A/me", {headers => $h}), $ORIGIN, 'GET /me');
	cors_ok(api(GET => "$A/sessions", {headers => $h}), $ORIGIN, 'GET /sessions');
	cors_ok(api(GET => "$A/jwks", {headers => {Origin => $ORIGIN}}), $ORIGIN, 'GET /jwks');
	my $res = api(GET => "$A/me", {headers => {Origin => $ORIGIN, %{bearer('expired.or.bad')}}});
	is($res->{status}, 401, 'a refused token: 401');
	cors_ok($res, $ORIGIN, 'the 401');
	$res = api(POST => "$A/login", {headers => {Origin => $ORIGIN, 'Content-Type' => 'application/json'}, content => '{'});
	is($res->{status}, 400, 'broken JSON: 400');
	cors_ok($res, $ORIGIN, 'the 400');
	$res = api(PUT => "$A/me", {headers => {Origin => $ORIGIN}});
	is($res->{status}, 405, 'a wrong method: 405');
	cors_ok($res, $ORIGIN, 'the 405');
	$res = api(POST => "$A/login", {headers => {Origin => $ORIGIN, 'Content-Type' => 'application/json'},
		content => '{"email":"x@example.com","password":"not the password"}'});
	is($res->{status}, 401, 'a failed login: 401');
	my @acao = grep { defined } ref $res->{headers}{'access-control-allow-origin'}
		? @{$res->{headers}{'access-control-allow-origin'}} : $res->{headers}{'access-control-allow-origin'};
	is(scalar @acao, 1, 'one Access-Control-Allow-Origin, not two');
	$res = api(GET => "$A/me", {headers => {Origin => $EVIL, %{bearer($b->{accessToken})}}});
	ok(!defined $res->{headers}{'access-control-allow-origin'}, 'none for an origin not on the list');
};

subtest 'logout with the cookie' => sub {
	my $login = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN));
	my ($cookie) = refresh_cookie($login);
	my $access = body($login)->{accessToken};
	my $res = api(POST => "$A/logout", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$cookie", %{bearer($access)})});
	is($res->{status}, 204, 'logout: 204') or diag($res->{content});
	cors_ok($res, $ORIGIN, 'logout');
	my ($value, $attr) = refresh_cookie($res);
	is($value, '', 'the cookie is emptied');
	is($attr && $attr->{'max-age'}, 0, 'Max-Age=0');
	is($attr && $attr->{path}, '/api/v1/auth', 'on the same path');
	error_is(api(POST => "$A/refresh", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$cookie")}),
		401, 'unauthorized', 'the old cookie no longer refreshes');
	error_is(me($access), 401, 'unauthorized', 'the access token is revoked');

	my $l2 = call(undef, POST => "$A/login", {email => $email, password => $password}, browser($ORIGIN));
	my ($c2) = refresh_cookie($l2);
	$res = api(POST => "$A/logout", {headers => browser($ORIGIN, Cookie => "aiget_refresh=$c2")});
	is($res->{status}, 204, 'logout with the cookie alone');
	error_is(me(body($l2)->{accessToken}), 401, 'unauthorized', "its session's access token");
};

done_testing();

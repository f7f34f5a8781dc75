#!/usr/bin/perl
# GET /api/v1/auth/providers: which web sign-ins are configured.  On the
# stack (both stand-ins configured) both are true, for any caller and any
# Origin; on responders of the test's own with parts of a provider's
# configuration taken away, a provider is true exactly when its /start
# begins a flow rather than answering "not configured": the one rule both
# routes read.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use Aiget;

Aiget::require_stack();
plan skip_all => 'no stand-in providers' unless $ENV{AIGET_GOOGLE_PORT} && $ENV{AIGET_APPLE_PORT};

# ------------------------------------------------------------- the stack
my $res = call(undef, GET => '/api/v1/auth/providers');
my $body = answer_is($res, 200, 'providers');
like($res->{headers}{'content-type'} // '', qr{^application/json}, 'JSON media type');
is_deeply($body, {google => JSON::PP::true, apple => JSON::PP::true}, 'both providers are configured');
ok(JSON::PP::is_bool($body->{google}) && JSON::PP::is_bool($body->{apple}), 'as JSON booleans');
is($res->{headers}{'cache-control'}, 'no-store', 'Cache-Control: no-store, as every answer');
like($res->{headers}{'x-request-id'} // '', qr/\S/, 'X-Request-Id');

# No Origin rule: an allowed origin gets the CORS headers, another the answer without them.
my $own = base_url();
$res = call(undef, GET => '/api/v1/auth/providers', undef, {Origin => $own});
answer_is($res, 200, 'from an allowed origin');
is($res->{headers}{'access-control-allow-origin'}, $own, 'with Access-Control-Allow-Origin');
is($res->{headers}{'access-control-allow-credentials'}, 'true', 'and credentials');
$res = call(undef, GET => '/api/v1/auth/providers', undef, {Origin => 'https://elsewhere.example'});
answer_is($res, 200, 'from an origin not allowed: still answered');
ok(!exists $res->{headers}{'access-control-allow-origin'}, 'without CORS headers');

$res = call(undef, POST => '/api/v1/auth/providers', '');
error_is($res, 405, 'method_not_allowed', 'POST');
is($res->{headers}{allow}, 'GET', 'Allow: GET');

# ------------------------------------------------ unconfigured, one part at a time
# Each case is a responder of its own with the stack's env file and these
# variables over it (an empty one is unset).
my @cases = (
	['no client ids'            => {GOOGLE_CLIENT_IDS => '', APPLE_CLIENT_IDS => ''}, 0, 0],
	['no redirect URIs'         => {GOOGLE_REDIRECT_URI => '', APPLE_REDIRECT_URI => ''}, 0, 0],
	['no client secrets'        => {GOOGLE_CLIENT_SECRET => '', APPLE_PRIVATE_KEY_FILE => ''}, 0, 0],
	['Apple without a team'     => {APPLE_TEAM_ID => ''}, 1, 0],
	['Apple without a key id'   => {APPLE_KEY_ID => ''}, 1, 0],
	['Google over plain http'   => {GOOGLE_AUTHORIZATION_URL => 'http://accounts.example.com/auth'}, 0, 1],
	['a token URL over http'    => {GOOGLE_TOKEN_URL => 'http://oauth2.example.com/token'}, 0, 1],
	['no key set over https'    => {APPLE_JWKS_URL => 'http://appleid.example.com/keys'}, 1, 0],
	['everything'               => {}, 1, 1],
);
my ($n, $calls) = (0, 0);
for my $case (@cases) {
	my ($name, $env, $google, $apple) = @$case;
	my $sock = var_dir() . "/run/auth-providers-$$-" . ++$n . '.sock';
	fcgi_spawn("$ENV{BUILD_DIR}/bin/auth.fcgi", $sock, 'auth-providers', %$env);
	ok(-S $sock, "$name: a responder of its own listens") or next;
	my ($status, $b) = fcgi($sock, GET => '/api/v1/auth/providers');
	is($status, 200, "$name: providers answers");
	is_deeply($b, {google => ($google ? JSON::PP::true : JSON::PP::false),
		apple => ($apple ? JSON::PP::true : JSON::PP::false)}, "$name: google $google, apple $apple");
	# The same rule as /start: true exactly when it begins a flow.
	for my $p (qw(google apple)) {
		my ($st, $sb) = fcgi($sock, POST => "/api/v1/auth/$p/start");
		if ($b->{$p}) {
			is($st, 200, "$name: $p/start begins a flow");
			like($sb->{authorizationUrl} // '', qr{^https?://}, "$name: $p/start answers its URL");
		} else {
			is($st, 503, "$name: $p/start is unavailable");
			like($sb->{error}{message} // '', qr/not configured/, "$name: $p/start says it is not configured");
		}
	}
}

# One request straight to a socket: (status, decoded body or {}).
sub fcgi {
	my ($sock, $method, $path) = @_;
	my $out = fcgi_call($sock, {REQUEST_METHOD => $method, REQUEST_URI => $path,
		REMOTE_ADDR => sprintf('2001:db8::%x:%x', $$ & 0xffff, ++$calls)});
	my ($head, $text) = split /\r?\n\r?\n/, $out, 2;
	my ($status) = ($head // '') =~ /^Status: (\d+)/m;
	return ($status // 0, eval { decode_json($text // '') } // {});
}

done_testing();

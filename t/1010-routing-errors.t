#!/usr/bin/perl
# The dispatcher's answers in the contract's error format: 404, 405 with Allow,
# 415, 413 (nginx's and the responder's own), and 400 for bad JSON bodies.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

# Routes that need a user are checked with one: the token comes before the body.
my (undef, undef, $user) = register_user(tag => 'routing');
my %credentials = (keys => bearer($user->{accessToken}), tenants => bearer($user->{accessToken}));
# Memox routes take a tenant API key.
my $memox_tenant = tenants_new($user->{accessToken}, 'routing')->{id};
$credentials{memox} = bearer(keys_make($user->{accessToken}, $memox_tenant)->{key});
my $creds = {};
sub post_json { my ($path, $body) = @_;
	api(POST => $path, {headers => {'Content-Type' => 'application/json', %$creds}, content => $body}) }

# A JSON route of each area, to run the same checks everywhere.
my %json_route = (auth => '/api/v1/auth/login', keys => '/api/v1/keys',
                  tenants => '/api/v1/tenants', memox => '/api/v1/memox/search');

for my $area (areas()) {
	error_is(api(GET => "/api/v1/$area/no/such/thing/here"), 404, 'not_found', "$area unknown path");
	my $path = $json_route{$area};
	$creds = $credentials{$area} || {};

	my $res = api(DELETE => $path);
	error_is($res, 405, 'method_not_allowed', "$area wrong method");
	like($res->{headers}{allow} // '', qr/\bPOST\b/, "$area: Allow lists POST");

	error_is(api(POST => $path, {headers => {'Content-Type' => 'text/plain', %$creds}, content => '{}'}),
		415, 'unsupported_media_type', "$area text/plain");
	error_is(api(POST => $path, {headers => {%$creds}, content => '{}'}), 415, 'unsupported_media_type',
		"$area no Content-Type");

	error_is(post_json($path, '{"email": '), 400, 'invalid_request', "$area truncated JSON");
	error_is(post_json($path, "{\"s\":\"\xc3\x28\"}"), 400, 'invalid_request', "$area invalid UTF-8");
	error_is(post_json($path, '[1,2]'), 400, 'invalid_request', "$area JSON array");
	# Found by fuzz/json.c: a number alone, which json-c took for a text cut
	# short, and null, which it holds as NULL, had other messages than this.
	for my $scalar ('667', 'null', '"text"') {
		my $body = error_is(post_json($path, $scalar), 400, 'invalid_request', "$area JSON $scalar");
		is($body->{error}{message}, 'request body must be a JSON object', "$area JSON $scalar: says it is no object");
	}
	# 32 levels are allowed, a value at the deepest included (json-c counted
	# it as a 33rd: fuzz/json.c): the route itself refuses the field.
	my $deep = '{"deep":' . ('[' x 31) . '1' . (']' x 31) . '}';
	my $body = error_is(post_json($path, $deep), 400, 'invalid_request', "$area 32 levels");
	unlike($body->{error}{message} // '', qr/nest/i, "$area 32 levels: not refused for its depth");
	# A message that quotes a field name cuts it at 64 bytes, maybe inside a
	# character; the answer is still UTF-8 (found by fuzz/request.c).
	my $res = post_json($path, '{"' . ('a' x 63) . "\xc3\xa9\":1}");
	is($res->{status}, 400, "$area a long field name: 400");
	ok(eval { JSON::PP->new->utf8->decode($res->{content}) }, "$area a long field name cut: still UTF-8 JSON")
		or diag($res->{content});
	error_is(post_json($path, "{'a':1}"), 400, 'invalid_request', "$area single quotes");
	error_is(post_json($path, '{"a":1} trailing'), 400, 'invalid_request', "$area trailing garbage");
	error_is(post_json($path, '[' x 1000 . ']' x 1000), 400, 'invalid_request', "$area deep nesting");
	error_is(post_json($path, ''), 400, 'invalid_request', "$area empty body");

	# Over nginx's client_max_body_size (1 MiB): nginx answers, in our format.
	error_is(post_json($path, '{"a":"' . ('x' x (1024 * 1024 + 10)) . '"}'), 413, 'payload_too_large',
		"$area oversized body");
}

# The wrong method on a route with a path parameter, and several methods in Allow.
my $res = api(PUT => '/api/v1/keys/abc');
error_is($res, 405, 'method_not_allowed', 'PUT on a key');
like($res->{headers}{allow}, qr/GET/, 'Allow has GET');
like($res->{headers}{allow}, qr/DELETE/, 'Allow has DELETE');

# A URI nginx itself cannot parse is refused by nginx, in our format.
error_is(api(GET => '/api/v1/auth/sessions/%zz'), 400, 'invalid_request', 'a malformed escape in the path');
error_is(api(GET => '/api/v1/auth/sessions/a%00b'), 400, 'invalid_request', 'an encoded NUL in the path');

# A path outside every area is nginx's, still in our format.
error_is(api(GET => '/nowhere'), 404, 'not_found', 'path outside the API');

# The responder's own cap, behind nginx's: talk FastCGI to the socket directly.
SKIP: {
	skip 'cgi-fcgi not installed', 6 unless -x '/usr/bin/cgi-fcgi';
	my $sock = var_dir() . '/run/auth.sock';
	local %ENV = (%ENV, REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/auth/login',
		CONTENT_TYPE => 'application/json', CONTENT_LENGTH => '99999999999', SERVER_PROTOCOL => 'HTTP/1.1');
	my $out = `cgi-fcgi -bind -connect $sock </dev/null 2>/dev/null`;
	like($out, qr/^Status: 413/m, 'responder refuses an announced oversized body unread');
	like($out, qr/"code":"payload_too_large"/, 'in the error format');

	$ENV{CONTENT_LENGTH} = '12abc';
	$out = `cgi-fcgi -bind -connect $sock </dev/null 2>/dev/null`;
	like($out, qr/^Status: 400/m, 'a malformed Content-Length is a 400');

	$ENV{CONTENT_LENGTH} = '-5';
	$out = `cgi-fcgi -bind -connect $sock </dev/null 2>/dev/null`;
	like($out, qr/^Status: 400/m, 'a negative Content-Length is a 400');

	$ENV{CONTENT_LENGTH} = '100';
	$out = `printf '{"a":1}' | cgi-fcgi -bind -connect $sock 2>/dev/null`;
	like($out, qr/^Status: 400/m, 'a body shorter than its Content-Length is a 400');
	like($out, qr/shorter than its Content-Length/, 'saying so');
}

done_testing();

#!/usr/bin/perl
# The redirect URIs of the web code flow: GET /api/v1/auth/google/callback
# (code and state in the query string) and POST /api/v1/auth/apple/callback
# (a form post, with the name as JSON in `user`) answer 303 to
# OAUTH_RETURN_URL with provider, code, state (and name), or the provider's
# error; they refuse what /token would not take, and without a return page
# they are 503.  The whole flow through them, in a browser, is the
# console's journey (t/browser/journey.test.mjs).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use URI;
use URI::QueryParam;
use Aiget;

Aiget::require_stack();

my $return = base_url() . '/console/';
my $form = {'Content-Type' => 'application/x-www-form-urlencoded'};

# The Location of a 303, as (URL without the query, {query}).
sub back_to {
	my ($res, $name) = @_;
	is($res->{status}, 303, "$name: 303 See Other") or diag($res->{content});
	is($res->{headers}{'cache-control'}, 'no-store', "$name: not kept by a cache");
	my $u = URI->new($res->{headers}{location} // '');
	my %q = map { $_ => scalar $u->query_param($_) } $u->query_param;
	$u->query(undef);
	return ($u->as_string, \%q);
}

my ($to, $q) = back_to(call(undef, GET => '/api/v1/auth/google/callback?code=4%2Fabc+d&state=st-1&scope=openid&authuser=0'), 'google');
is($to, $return, 'google: to OAUTH_RETURN_URL');
is_deeply($q, {provider => 'google', code => '4/abc d', state => 'st-1'}, 'google: provider, code and state, decoded and encoded again; the rest dropped');

($to, $q) = back_to(call(undef, POST => '/api/v1/auth/apple/callback',
	'state=st-2&code=c123&user=' . uri_escape('{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"ada@example.com"}'),
	{%$form, Origin => 'https://appleid.apple.com'}), 'apple');
is($to, $return, 'apple: to OAUTH_RETURN_URL, from Apple\'s origin (no Origin rule)');
is_deeply($q, {provider => 'apple', code => 'c123', state => 'st-2', name => 'Ada Lovelace'}, 'apple: with the name from `user`, not the email');

(undef, $q) = back_to(call(undef, POST => '/api/v1/auth/apple/callback', 'state=st-3&code=c4&user=not%20json', $form), 'apple, a user that is not JSON');
ok(!exists $q->{name}, 'apple: no name from a user that is not JSON');

(undef, $q) = back_to(call(undef, GET => '/api/v1/auth/google/callback?error=access_denied&state=st-4'), 'google, refused');
is_deeply($q, {provider => 'google', error => 'access_denied', state => 'st-4'}, 'google: the refusal is passed on');

# What /token would not take is refused here.
for my $case (['no code' => 'state=s'], ['no state' => 'code=c'], ['empty code' => 'code=&state=s'],
	      ['a code over 2048 bytes' => 'state=s&code=' . ('x' x 2049)], ['a state over 256 bytes' => 'code=c&state=' . ('s' x 257)],
	      ['a malformed escape' => 'code=%zz&state=s']) {
	my ($name, $query) = @$case;
	error_is(call(undef, GET => "/api/v1/auth/google/callback?$query"), 400, 'invalid_request', "google: $name");
	error_is(call(undef, POST => '/api/v1/auth/apple/callback', $query, $form), 400, 'invalid_request', "apple: $name");
}
error_is(call(undef, POST => '/api/v1/auth/apple/callback', '{"code":"c","state":"s"}'), 415, 'unsupported_media_type', 'apple: JSON is not the form');
error_is(call(undef, POST => '/api/v1/auth/apple/callback', 'code=c&state=s&pad=' . ('p' x 9000), $form), 413, 'payload_too_large', 'apple: over the small body cap');
error_is(call(undef, POST => '/api/v1/auth/google/callback', 'code=c&state=s', $form), 405, 'method_not_allowed', 'google comes back with GET only');
error_is(call(undef, GET => '/api/v1/auth/apple/callback?code=c&state=s'), 405, 'method_not_allowed', 'apple with POST only');

# Without a return page: 503, on a responder of the test's own.
my $sock = var_dir() . "/run/auth-return-$$.sock";
fcgi_spawn("$ENV{BUILD_DIR}/bin/auth.fcgi", $sock, 'auth-return', OAUTH_RETURN_URL => '');
my $out = fcgi_call($sock, {REQUEST_METHOD => 'GET', REQUEST_URI => '/api/v1/auth/google/callback?code=c&state=s', REMOTE_ADDR => '127.0.0.1'});
like($out, qr/^Status: 503/m, 'without OAUTH_RETURN_URL: 503');
like($out, qr/OAUTH_RETURN_URL is not set/, 'saying what is missing');
like($out, qr/^Retry-After: 3600/mi, 'with a long Retry-After');

sub uri_escape { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; $s }

done_testing();

#!/usr/bin/perl
# Every auth route, as auth.fcgi --routes prints the route table: a
# wrong method is a 405 with Allow, a preflight from an allowed origin is a
# 204; JSON routes refuse other media types (415), broken JSON (400) and
# oversized bodies (413); user routes refuse a missing token (401).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my @routes = map {
	+{method => $_->{method}, pattern => $_->{pattern},
	 path => $_->{pattern} =~ s/\{[^}]+\}/00000000-0000-4000-8000-000000000000/gr,
	 json => $_->{flags}{JSON} ? 1 : 0, json_optional => $_->{flags}{JSON_OPTIONAL} ? 1 : 0,
	 user => $_->{flags}{USER} ? 1 : 0}
} route_table('auth');
cmp_ok(scalar @routes, '>=', 18, 'the route table was read (' . scalar(@routes) . ' routes)');
my %methods;
push @{$methods{$_->{pattern}}}, $_->{method} for @routes;

my ($email, $password, $reg) = register_user(tag => 'bad-input');
my $token = $reg->{accessToken};
my $ORIGIN = (split /,/, stack_env('ALLOWED_ORIGINS') // '')[0];
my $huge = '{"email":"' . ('x' x (1024 * 1024 + 10)) . '"}';

# The metrics route answers only loopback clients through nginx's guard
# (these requests come as client_ip()'s addresses); t/1700 tests it.
for my $r (grep { $_->{pattern} !~ m{/metrics$} } @routes) {
	my $name = "$r->{method} $r->{pattern}";
	subtest $name => sub {
		my $auth = $r->{user} ? bearer($token) : {};
		my $wrong = $r->{method} eq 'PUT' ? 'PATCH' : 'PUT';
		my $res = api($wrong => $r->{path}, {headers => {%$auth, %{client_ip()}}});
		error_is($res, 405, 'method_not_allowed', "$wrong instead");
		my @allow = sort split /,\s*/, $res->{headers}{allow} // '';
		is_deeply(\@allow, [sort @{$methods{$r->{pattern}}}], 'Allow lists the methods of the path');

		if ($ORIGIN) {
			$res = api(OPTIONS => $r->{path}, {headers => {Origin => $ORIGIN,
				'Access-Control-Request-Method' => $r->{method}}});
			is($res->{status}, 204, 'a preflight from an allowed origin: 204');
			like($res->{headers}{'access-control-allow-methods'} // '', qr/\b$r->{method}\b/, 'allows the method');
		}

		error_is(api($wrong => "$r->{path}/", {headers => {%$auth, %{client_ip()}}}), 405, 'method_not_allowed',
			'with a trailing slash, the same route');
		error_is(api($r->{method} => "$r->{path}x", {headers => {%$auth, %{client_ip()}}}), 404, 'not_found',
			'a longer path is not the route');

		if ($r->{user}) {
			$res = api($r->{method} => $r->{path}, {headers => {'Content-Type' => 'application/json', %{client_ip()}},
				content => '{}'});
			error_is($res, 401, 'unauthorized', 'no access token');
			is($res->{headers}{'www-authenticate'}, 'Bearer', 'WWW-Authenticate: Bearer');
			error_is(api($r->{method} => $r->{path}, {headers => {%{bearer('x.y.z')}, %{client_ip()}}}),
				401, 'unauthorized', 'a bad access token');
		}

		return unless $r->{json} || $r->{json_optional};
		my %h = (%$auth, %{client_ip()});
		error_is(api($r->{method} => $r->{path}, {headers => {%h, 'Content-Type' => 'text/plain'}, content => '{}'}),
			415, 'unsupported_media_type', 'text/plain');
		error_is(api($r->{method} => $r->{path}, {headers => {%h, 'Content-Type' => 'application/json; charset=latin1'},
			content => '{}'}), 415, 'unsupported_media_type', 'a charset other than UTF-8');
		error_is(api($r->{method} => $r->{path}, {headers => \%h, content => '{}'}), 415, 'unsupported_media_type',
			'a body without Content-Type');
		my %j = (%h, 'Content-Type' => 'application/json');
		error_is(api($r->{method} => $r->{path}, {headers => \%j, content => '{"email":'}), 400, 'invalid_request',
			'truncated JSON');
		error_is(api($r->{method} => $r->{path}, {headers => \%j, content => '{"a":1}{"b":2}'}), 400,
			'invalid_request', 'two JSON values');
		error_is(api($r->{method} => $r->{path}, {headers => \%j, content => '"a string"'}), 400, 'invalid_request',
			'a JSON string');
		error_is(api($r->{method} => $r->{path}, {headers => \%j, content => qq({"email":"\xc3\x28"})}), 400,
			'invalid_request', 'invalid UTF-8');
		error_is(api($r->{method} => $r->{path}, {headers => \%j, content => $huge}), 413, 'payload_too_large',
			'a body over 1 MiB');
		if ($r->{json}) {
			error_is(api($r->{method} => $r->{path}, {headers => \%j, content => ''}), 400, 'invalid_request',
				'an empty body');
			error_is(api($r->{method} => $r->{path}, {headers => \%j, content => '{"unexpected":true}'}), 400,
				'invalid_request', 'an unknown field');
		}
	};
}

done_testing();

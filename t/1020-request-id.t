#!/usr/bin/perl
# X-Request-Id on every response: a sane incoming one is echoed, anything else
# is replaced by a fresh id; responders and nginx's own errors alike.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my @cases = (
	[GET  => '/api/v1/memox/health', 200],
	[GET  => '/api/v1/auth/nope', 404],
	[POST => '/api/v1/auth/health', 405],
	[GET  => '/outside', 404],
);
for my $c (@cases) {
	my ($method, $path, $status) = @$c;
	my $res = api($method => $path, {headers => {'X-Request-Id' => 'client-id_1.2:3'}});
	is($res->{status}, $status, "$method $path: $status");
	is($res->{headers}{'x-request-id'}, 'client-id_1.2:3', "$method $path: sane id echoed");

	$res = api($method => $path, {headers => {'X-Request-Id' => 'bad id; <script>'}});
	like($res->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/, "$method $path: insane id replaced");

	$res = api($method => $path, {headers => {'X-Request-Id' => 'a' x 129}});
	like($res->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/, "$method $path: overlong id replaced");
}

my %seen;
$seen{api(GET => '/api/v1/auth/health')->{headers}{'x-request-id'}}++ for 1 .. 20;
is(scalar(keys %seen), 20, 'generated ids are distinct');

# An oversized body refused by nginx still carries the id.
my $res = api(POST => '/api/v1/memox/search', {headers => {'Content-Type' => 'application/json',
	'X-Request-Id' => 'big-body'}, content => 'x' x (2 * 1024 * 1024)});
is($res->{status}, 413, 'oversized: 413');
is($res->{headers}{'x-request-id'}, 'big-body', 'oversized: id echoed');

done_testing();

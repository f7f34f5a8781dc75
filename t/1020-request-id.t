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

# The area's log has one line for the request: its id, route, status,
# latency and tenant, and never the credential or the body.
my $t = memox_tenant(name => 'access log');
my $rid = "log-line-$$";
my $secret = "never-logged-$$";
is(call($t->{key}, POST => '/api/v1/memox/search', {namespace => 'n', externalUserId => 'u', query => $secret},
	{'X-Request-Id' => $rid})->{status}, 200, 'a key-authenticated search');
my @lines;
ok(wait_until(5, sub {
	open(my $log, '<', var_dir() . '/log/memox.log') or return 0;
	@lines = grep { /rid=\Q$rid\E / } <$log>;
	return @lines;
}), 'its line is in memox.log');
is(scalar @lines, 1, 'exactly one line') or diag(@lines);
like($lines[0] // '', qr{ memox\[\d+\] rid=\Q$rid\E POST /api/v1/memox/search 200 [\d.]+ms route=/api/v1/memox/search tenant=\Q$t->{tenant}\E$},
	'request id, area, route, status, latency and tenant');
unlike($lines[0] // '', qr/\Q$t->{key}\E|\Q$secret\E/, 'neither the key nor the query text');

done_testing();

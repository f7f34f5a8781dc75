#!/usr/bin/perl
# What one request body may cost a child, bounded before the parse
# (shared/json_check.c, shared/body.c, shared/router.c, shared/app.c):
#  - routes that take small documents (logins, codes, key checks) refuse a
#    body over MAX_SMALL_BODY_BYTES unread, so 1 MiB of {} never reaches
#    json-c there (it would cost about 266 MB);
#  - a document route counts values and containers in the validating pass
#    and refuses a body over JSON_MAX_VALUES / JSON_MAX_CONTAINERS;
#  - after an unusually large request a child gives the memory back.
# The resident size of the children is printed before and after, both for
# the stack's sanitizer build (through nginx) and for a release build of
# memox spawned here, whose allocator is the one production runs.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();
$SIG{PIPE} = 'IGNORE';

sub rss_kib {
	my $pid = shift;
	open(my $fh, '<', "/proc/$pid/status") or return 0;
	while (my $line = <$fh>) { return $1 if $line =~ /^VmRSS:\s+(\d+) kB/ }
	return 0;
}
sub area_children {
	my $area = shift;
	my $pidfile = var_dir() . "/run/$area.pid";
	open(my $fh, '<', $pidfile) or BAIL_OUT("no $pidfile");
	chomp(my $pid = <$fh>);
	return children_of($pid);
}
sub mib { sprintf '%.1f MiB', $_[0] / 1024 }

# A body of about $bytes: {"a":[{},{},...]}.
sub empty_objects {
	my $bytes = shift;
	my $n = int(($bytes - 10) / 3);
	return '{"a":[' . join(',', ('{}') x $n) . ']}';
}
my $hostile = empty_objects(1024 * 1024 - 100);

# --- small-document routes: 413 unread
my $key_token = stack_env('KEYS_INTERNAL_TOKEN');
my @small = (
	['/api/v1/auth/login', {}], ['/api/v1/auth/register', {}], ['/api/v1/auth/otp/send', {}],
	['/api/v1/auth/otp/verify', {}],
	['/api/v1/keys/verify', $key_token ? {Authorization => "Bearer $key_token"} : {}],
);
for my $r (@small) {
	error_is(call(undef, POST => $r->[0], $hostile, {%{$r->[1]}, %{client_ip()}}), 413, 'payload_too_large',
		"1 MiB of {} to $r->[0]");
}
my $res = call(undef, POST => '/api/v1/auth/login', empty_objects(8000));
my $err = error_is($res, 400, 'invalid_request', 'a body of 8000 bytes of {} to /login is parsed, then refused');
is(scalar(@{[area_children('auth')]}) > 0, 1, 'auth has children');

# --- the sanitizer build through nginx: 50 hostile bodies to every small route's area
my %idle;
for my $area (qw(auth keys memox)) {
	$idle{$area}{$_} = rss_kib($_) for area_children($area);
}
my $m = memox_tenant(limits => {qps => 1000, burst => 1000});
my $batch_hostile = '{"memories":[' . join(',', ('{}') x 340_000) . ']}';
for my $i (1 .. 50) {
	call(undef, POST => '/api/v1/auth/login', $hostile);
	call(undef, POST => '/api/v1/keys/verify', $hostile, $key_token ? {Authorization => "Bearer $key_token"} : {});
	call($m->{key}, POST => '/api/v1/memox/memories/batch', $batch_hostile);
}
$res = call($m->{key}, POST => '/api/v1/memox/memories/batch', $batch_hostile);
$err = error_is($res, 400, 'invalid_request', '1 MiB of {} to /memories/batch: refused before the parse');
like($err->{error}{message}, qr/too many objects and arrays/, 'the message says why');
# auth and keys refuse the body unread; memox reads it (its routes take
# 1 MiB) and the sanitizer keeps freed buffers in its quarantine to catch
# use after free, which is its growth, not ours: before the caps, each of
# these bodies cost the parse some 266 MB.
my %bound = (auth => 16, keys => 16, memox => 96);
for my $area (qw(auth keys memox)) {
	for my $pid (sort keys %{$idle{$area}}) {
		my ($before, $after) = ($idle{$area}{$pid}, rss_kib($pid));
		next unless $after;    # replaced meanwhile: the others are measured
		note(sprintf '%s child %d (sanitizer build): idle %s, after 50 hostile 1 MiB bodies %s', $area, $pid,
			mib($before), mib($after));
		cmp_ok($after - $before, '<', $bound{$area} * 1024, "$area child $pid grew by less than $bound{$area} MiB");
	}
}

# --- the release allocator: a memox child of the release build, spawned here
my $src = $ENV{AIGET_SRC};
my $build = system("make -s -C '$src' BUILD=release build/release/bin/memox.fcgi >/dev/null 2>&1");
is($build, 0, 'the release memox.fcgi builds');
my $sock = var_dir() . "/run/memox-release-$$.sock";
my $pid = fcgi_spawn("$src/build/release/bin/memox.fcgi", $sock, 'memox-release');
ok(-S $sock, 'the release child listens');
sub fcgi_post {
	my ($path, $body) = @_;
	return fcgi_call($sock, {REQUEST_METHOD => 'POST', REQUEST_URI => "/api/v1/memox$path",
		CONTENT_TYPE => 'application/json', HTTP_AUTHORIZATION => "Bearer $m->{key}", REMOTE_ADDR => '127.0.0.1'},
		$body);
}
# Large, yet within every cap: 9,000 objects of a short string each, about
# 0.9 MiB, which json-c turns into some 10 MB before the handler refuses
# the batch as too long.
my $costly = '{"memories":[' . join(',', map { sprintf '{"k%d":"%s"}', $_, 'v' x 80 } 1 .. 9000) . ']}';
cmp_ok(length $costly, '<', 1024 * 1024, 'the costly body is within MAX_BODY_BYTES');
like(fcgi_post('/memories', '{"namespace":"n","externalUserId":"u","content":"warm up"}'), qr/^Status: 202/m,
	'the release child answers');
my $idle = rss_kib($pid);
my $first = fcgi_post('/memories/batch', $costly);
like($first, qr/^Status: 4\d\d/m, 'a costly batch is answered with an error');
fcgi_post('/memories/batch', $costly) for 2 .. 50;
# The child trims after it has answered: its answer to one more request
# says that the last costly one is behind it.
like(fcgi_post('/memories', '{"namespace":"n","externalUserId":"u","content":"afterwards"}'), qr/^Status: 202/m,
	'the release child answers afterwards');
my $after = rss_kib($pid);
note(sprintf 'memox child %d (release build): idle %s, after 50 costly 0.9 MiB bodies %s (%+.1f MiB)', $pid,
	mib($idle), mib($after), ($after - $idle) / 1024);
cmp_ok($after - $idle, '<', 4 * 1024, 'the release child is back within 4 MiB of its idle size');

done_testing();

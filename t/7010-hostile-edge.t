#!/usr/bin/perl
# Hostile clients at the edge: what nginx refuses itself is answered in the
# contract's JSON error format, never nginx's HTML page, and slow clients
# cost nginx a connection, never a responder child.
#  - raw requests nginx cannot or will not serve: a header, a cookie or all
#    headers beyond large_client_header_buffers (494, sent as 400), a request
#    line beyond them (414), TRACE (405), an unknown Transfer-Encoding
#    (501), HTTP/2.0 on the plain listener (505), a malformed request line,
#    a missing Host, a bad or repeated Content-Length, a bad chunk, a NUL in
#    a header or the URI (400);
#  - slow clients: on every area, clients that dribble their headers, and
#    clients that dribble their body, a byte every 0.2 s, plus clients that
#    ask for a large answer and never read it.  There are more of them than
#    the area has children.  While they dribble, every child of every area is
#    seen waiting in accept() and ordinary requests on every area are served
#    at once; when they finish, each gets its answer.
# nginx closes a connection that stalls longer than client_header_timeout or
# client_body_timeout (60 s, nginx's default) without an answer; that wait is
# not made here.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Aiget;
use Hostile;

Aiget::require_stack();
$SIG{PIPE} = 'IGNORE';

sub connect_nginx { nginx_connect() }

# ------------------------------------------------------------- nginx's own refusals
my $big = 'a' x 9000;
my $fwd = "X-Forwarded-For: 2001:db8::7010\r\n";
my @refused = (
	['a header over 8 KiB', "GET /api/v1/auth/health HTTP/1.1\r\nHost: x\r\n${fwd}X-Big: $big\r\n\r\n", 400],
	['a cookie over 8 KiB', "GET /api/v1/tenants HTTP/1.1\r\nHost: x\r\n${fwd}Cookie: aiget_refresh=$big\r\n\r\n", 400],
	['headers over 32 KiB in all', "GET /api/v1/keys/self HTTP/1.1\r\nHost: x\r\n$fwd"
		. join('', map { "X-Pad-$_: " . ('b' x 7000) . "\r\n" } 1 .. 6) . "\r\n", 400],
	['an Authorization over 8 KiB', "GET /api/v1/memox/memories HTTP/1.1\r\nHost: x\r\n${fwd}Authorization: Bearer agk_$big\r\n\r\n",
		400],
	['a path over 8 KiB', "GET /api/v1/keys/$big HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 414],
	['a query over 8 KiB', "GET /api/v1/memox/memories?namespace=$big HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 414],
	(map { ["TRACE on $_", "TRACE /api/v1/$_/health HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 405] } areas()),
	['TRACE outside the API', "TRACE /nowhere HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 405],
	['Transfer-Encoding: gzip', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Transfer-Encoding: gzip\r\n"
		. "Content-Type: application/json\r\n\r\n", 501],
	['HTTP/2.0 on the plain listener', "GET /api/v1/memox/health HTTP/2.0\r\nHost: x\r\n$fwd\r\n", 505],
	['a malformed request line', "GARBAGE\r\n\r\n", 400],
	['a lower-case method', "get /api/v1/auth/health HTTP/1.1\r\nHost: x\r\n\r\n", 400],
	['HTTP/1.1 without Host', "GET /api/v1/auth/health HTTP/1.1\r\n$fwd\r\n", 400],
	['two Host headers', "GET /api/v1/auth/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n$fwd\r\n", 400],
	['a Host with a slash', "GET /api/v1/auth/health HTTP/1.1\r\nHost: a/b\r\n$fwd\r\n", 400],
	['a Content-Length that is not a number', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Content-Length: 1x\r\n"
		. "Content-Type: application/json\r\n\r\n{}", 400],
	['a negative Content-Length', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Content-Length: -1\r\n\r\n", 400],
	['a Content-Length beyond 64 bits', "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\n$fwd"
		. "Content-Length: 99999999999999999999999\r\n\r\n", 400],
	['two Content-Length headers', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Content-Length: 2\r\n"
		. "Content-Length: 3\r\nContent-Type: application/json\r\n\r\n{}", 400],
	['Content-Length and chunked', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Transfer-Encoding: chunked\r\n"
		. "Content-Length: 5\r\nContent-Type: application/json\r\n\r\n0\r\n\r\n", 400],
	['a chunk size that is not hex', "POST /api/v1/memox/search HTTP/1.1\r\nHost: x\r\n${fwd}Transfer-Encoding: chunked\r\n"
		. "Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400],
	['a chunk size beyond 64 bits', "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n${fwd}Transfer-Encoding: chunked\r\n"
		. "Content-Type: application/json\r\n\r\nfffffffffffffffffff\r\n{}\r\n0\r\n\r\n", 400],
	['a NUL in a header', "GET /api/v1/auth/health HTTP/1.1\r\nHost: x\r\n${fwd}X-A: a\0b\r\n\r\n", 400],
	['a NUL in the URI', "GET /api/v1/auth/he\0alth HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 400],
	['a path above the root', "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n$fwd\r\n", 400],
);
for my $c (@refused) {
	my ($name, $bytes, $status) = @$c;
	my $res = raw_request($bytes);
	error_is($res, $status, $status == 405 ? 'method_not_allowed' : 'invalid_request', $name);
	unlike($res->{content}, qr/<html/i, "$name: no HTML");
	is($res->{headers}{'cache-control'}, 'no-store', "$name: Cache-Control: no-store");
}
# The responders' own 405 keeps its Allow header: nginx's page is only for TRACE.
my $res = api(PUT => '/api/v1/keys', {headers => client_ip()});
error_is($res, 405, 'method_not_allowed', "a responder's 405");
is($res->{headers}{allow}, 'POST, GET', 'with the Allow of the path');

# ------------------------------------------------------------- slow clients
# Each area's children: the pids under its multiwatch, and whether each
# is waiting in accept() (its current system call, /proc/PID/syscall).
my %accept_calls = (x86_64 => [43, 288], aarch64 => [202, 242], i686 => [102]);
chomp(my $arch = `uname -m`);
my %accepting = map { $_ => 1 } @{$accept_calls{$arch} || []};
sub area_children {
	my $area = shift;
	open(my $fh, '<', var_dir() . "/run/$area.pid") or return ();
	chomp(my $pid = <$fh> // '');
	return children_of($pid);
}
sub in_accept {
	my $pid = shift;
	open(my $fh, '<', "/proc/$pid/syscall") or return undef;
	my ($nr) = (<$fh> // '') =~ /^(\d+)/;
	return defined $nr && $accepting{$nr} ? 1 : 0;
}
my %children = map { $_ => [area_children($_)] } areas();
my $nchildren = 0;
$nchildren += @{$children{$_}} for areas();
my $per_kind = 1 + int(($children{auth} ? scalar @{$children{auth}} : 2) * 2);
cmp_ok($nchildren, '>=', 4, "the areas have $nchildren children");

# A tenant with a large page of memories: its list is the large answer
# that slow readers never read (100 memories of 15 KiB: about 1.5 MiB).
my $m = memox_tenant(name => 'slow readers', limits => {qps => 1000, burst => 1000});
for my $b (0 .. 9) {
	my @batch = map { {namespace => 'slow', externalUserId => 'reader', content => "memory $b.$_ " . ('z' x 15_000)} } 1 .. 10;
	is(call($m->{key}, POST => '/api/v1/memox/memories/batch', {memories => \@batch})->{status}, 202, "batch $b written");
}
my $large = '/api/v1/memox/memories?namespace=slow&externalUserId=reader&limit=100';
cmp_ok(length(call($m->{key}, GET => $large)->{content}), '>', 1_400_000, 'the large answer is over 1.4 MiB');

# The dribblers: [socket, bytes still to send, what the answer must be].
my %json_route = (auth => '/api/v1/auth/login', keys => '/api/v1/keys', tenants => '/api/v1/tenants',
	memox => '/api/v1/memox/search');
my $owner = tenants_user('slow');
my %credentials = (keys => $owner->{token}, tenants => $owner->{token}, memox => $m->{key});
my (@dribblers, @readers);
my $serial = 0;
for my $area (areas()) {
	for (1 .. $per_kind) {
		my $s = connect_nginx() or BAIL_OUT("connect: $!");
		my $ip = sprintf('2001:db8::7010:%x', ++$serial);
		print $s "GET /api/v1/$area/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: $ip\r\n";
		push @dribblers, {sock => $s, left => 'X-Slow: ' . ('s' x 24) . "\r\nConnection: close\r\n\r\n",
			name => "slow headers to $area", status => 200};
	}
	for (1 .. $per_kind) {
		my $s = connect_nginx() or BAIL_OUT("connect: $!");
		my $ip = sprintf('2001:db8::7010:%x', ++$serial);
		my $body = qq({"email":"slow-$serial\@example.com","password":"slow body $serial"});
		print $s "POST $json_route{$area} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: $ip\r\nConnection: close\r\n"
			. ($credentials{$area} ? "Authorization: Bearer $credentials{$area}\r\n" : '')
			. "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n";
		# With credentials, so that each responder reads the body: auth
		# refuses the login, the others the fields they do not know.
		push @dribblers, {sock => $s, left => $body, name => "slow body to $area", status => $area eq 'auth' ? 401 : 400};
	}
}
for (1 .. $per_kind) {
	my $s = connect_nginx() or BAIL_OUT("connect: $!");
	setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
	print $s "GET $large HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8::7010:ffff\r\n"
		. "Authorization: Bearer $m->{key}\r\nConnection: close\r\n\r\n";
	push @readers, $s;
}
# Each reader reads the head of its answer, and no more: by then memox has
# handed the whole answer to nginx (the readers' small windows hold back
# the rest for many seconds).
my $heads = 0;
for my $s (@readers) {
	my ($buf, $deadline) = ('', time + 10);
	while ($buf !~ /\r\n\r\n/ && time < $deadline && IO::Select->new($s)->can_read($deadline - time)) {
		sysread($s, $buf, 512, length $buf) or last;
	}
	$heads++ if $buf =~ m{^HTTP/1\.1 200 } && ($buf =~ /^Content-Length: (\d+)/mi)[0] > 1_400_000;
}
is($heads, scalar @readers, 'each slow reader has the head of a 200 of over 1.4 MiB');
note(sprintf '%d clients dribble (%d a kind and area), %d read only the head of a 1.5 MiB answer; %d children in all',
	scalar @dribblers, $per_kind, scalar @readers, $nchildren);

my ($samples, $busy_samples, $probes, $slow_probes, $worst) = (0, 0, 0, 0, 0);
my $step = 0.2;
my $next = time;
while (grep { length $_->{left} } @dribblers) {
	for my $d (grep { length $_->{left} } @dribblers) {
		syswrite($d->{sock}, substr($d->{left}, 0, 1, ''));
	}
	# Every child waits in accept(), re-read a few times: one may be
	# finishing a probe's request of the step before.  Only while every
	# dribbler has more to send: a complete request is real work.
	if (%accepting && !grep { !length $_->{left} } @dribblers) {
		$samples++;
		my @busy;
		for my $area (areas()) {
			for my $pid (@{$children{$area}}) {
				my $ok = 0;
				for (1 .. 5) { last if $ok = in_accept($pid) // 1; sleep 0.02 }
				push @busy, "$area $pid" unless $ok;
			}
		}
		$busy_samples++, diag("busy: @busy") if @busy;
	}
	# Ordinary requests on every area, one after another.
	for my $area (areas()) {
		my $t0 = time;
		my $r = call(undef, GET => "/api/v1/$area/health");
		my $took = time - $t0;
		$probes++;
		$worst = $took if $took > $worst;
		$slow_probes++ if $r->{status} != 200 || $took > 2;
	}
	$next += $step;
	sleep($next - time) if $next > time;
}
note(sprintf '%d rounds of ordinary requests on every area: %d requests, the slowest %.0f ms', $samples || $probes / 4,
	$probes, $worst * 1000);
is($slow_probes, 0, 'while slow clients dribbled, every ordinary request was answered 200 within 2 s');
SKIP: {
	skip "no accept() system call numbers known for $arch", 2 unless %accepting;
	cmp_ok($samples, '>=', 10, "$samples samples of every child's system call");
	is($busy_samples, 0, 'in every one, every child of every area waited in accept(): no slow client held one');
}

for my $d (@dribblers) {
	my $t0 = time;
	my $answer = read_answer($d->{sock}, 5);
	close $d->{sock};
	is($answer->{status}, $d->{status}, "$d->{name}: answered $d->{status} once complete")
		or diag($answer->{raw});
	like($answer->{headers}{'content-type'} // '', qr{^application/json}, "$d->{name}: in JSON");
	cmp_ok(time - $t0, '<', 2, "$d->{name}: at once");
}
close $_ for @readers;

done_testing();

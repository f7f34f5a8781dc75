#!/usr/bin/perl
# bench.pl - the driver of `make bench`: loads a running stack with wrk and
# writes the report (<out>/<date>-<host>.json and .md).
#
# bench/run starts the stack and calls this; it can also run against any
# stack started by spawn/aiget-dev (make start, the test harness) when given
# its URL and state directory.  Every figure comes with its baselines from
# the same run, measured the same way: nginx's own `return 200`
# (/nginx-baseline) and the health route of the figure's area.
#
# Setup, all through the API except two shortcuts in SQL, both documented in
# docs/performance.md: the refresh tokens (one spent per request, so a pool
# of sessions is written straight into the tables as /login would leave
# them) and the login accounts (copies of one registered account's scrypt
# hash, since the per-email abuse limit allows 10 logins in 5 minutes).
#
#   perl bench/bench.pl --url URL --var DIR [--out bench/results] [--seconds 5]
#        [--connections 8] [--threads 1] [--sizes 1000,10000] [--queries 200]
#        [--workers N] [--children N] [--tag NAME] [--wide SCOPESxMEMORIES]
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Path qw(make_path);
use Getopt::Long;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url);
use POSIX qw(strftime);
use Sys::Hostname qw(hostname);
use Time::HiRes qw(time);
use lib "t/lib", "bench/lib";
use MemoxBench qw(ingest ingest_scopes search_quality vector_floor);
use MemoxCorpus;

my %o = (out => 'bench/results', seconds => 5, connections => 8, threads => 1, sizes => '1000,10000',
	queries => 200, workers => 1, children => 2);
GetOptions(\%o, 'url=s', 'var=s', 'out=s', 'seconds=i', 'connections=i', 'threads=i', 'sizes=s', 'queries=i',
	'workers=i', 'children=i', 'tag=s', 'wide=s') && $o{url} && $o{var} or die "usage: see the header of $0\n";
my ($wide_scopes, $wide_each) = ($o{wide} // '') =~ /^([1-9]\d*)x([1-9]\d*)$/;
!$o{wide} || $wide_scopes or die "--wide is SCOPESxMEMORIES, as 1000x1000\n";
$ENV{AIGET_TEST_URL} = $o{url};
$ENV{VAR} = $o{var};
require Aiget;
Aiget->import;

my $started = time;
# Now, before anything changes in the tree during the run: the commit measured.
chomp(my $describe = `git describe --always --dirty 2>/dev/null` || 'unknown');
my $tmp = "$o{var}/bench";
make_path($tmp, $o{out});
sub say_ { printf STDERR "bench: %s\n", join '', @_ }

# What autovacuum would soon do after a burst of writes, to both tables a
# search reads: the float32 vectors and their half-precision copy.
sub vacuum_vectors { psql_vector('VACUUM (ANALYZE) memory_vectors, memory_vectors_half') }

# ------------------------------------------------------------ processes

sub pid_file { open(my $fh, '<', $_[0]) or return; my $p = <$fh>; chomp $p if defined $p; return $p }

# The children of an area: multiwatch's (the supervisor's pid file names it).
sub area_children {
	my $mw = pid_file("$o{var}/run/$_[0].pid") or return ();
	open(my $fh, '<', "/proc/$mw/task/$mw/children") or return ();
	return split ' ', (<$fh> // '');
}

sub worker_pids {
	return grep { defined && -d "/proc/$_" } map { pid_file($_) } "$o{var}/run/worker.pid",
		glob("$o{var}/run/bench-worker-*.pid");
}

sub rss_kib {
	open(my $fh, '<', "/proc/$_[0]/status") or return undef;
	while (my $l = <$fh>) { return $1 + 0 if $l =~ /^VmRSS:\s+(\d+)\s+kB/ }
	return undef;
}

# {auth => [kib, kib], ..., worker => [...]}
sub rss_snapshot {
	my %r = map { $_ => [map { rss_kib($_) } area_children($_)] } areas();
	$r{worker} = [map { rss_kib($_) } worker_pids()];
	return \%r;
}

# ------------------------------------------------------------------ wrk

# wrk_run(name, path, {headers => {...}, method, body, pool, wrap, xff})
# -> {rps, p50Ms, p90Ms, p99Ms, maxMs, requests, errors, errorDetail, ...}
sub wrk_run {
	my ($name, $path, $w) = @_;
	my @cmd = ('wrk', '-t', $o{threads}, '-c', $o{connections}, '-d', "$o{seconds}s", '--latency', '--timeout', '10s',
		'-s', 'bench/wrk/bench.lua');
	push @cmd, '-H', "$_: $w->{headers}{$_}" for sort keys %{$w->{headers} || {}};
	push @cmd, "$o{url}$path", '--', "threads=$o{threads}";
	push @cmd, "method=$w->{method}" if $w->{method};
	for my $k (qw(body pool)) {
		next unless defined $w->{$k};
		my $file = "$tmp/$name.$k";
		open(my $fh, '>', $file) or die "$file: $!";
		print $fh ref $w->{$k} ? join("\n", @{$w->{$k}}) . "\n" : $w->{$k};
		close $fh;
		push @cmd, "$k=$file";
	}
	push @cmd, 'wrap=1' if $w->{wrap};
	push @cmd, 'xff=1' if $w->{xff};
	open(my $fh, '-|', @cmd) or die "wrk: $!";
	my $out = do { local $/; <$fh> };
	close $fh or die "wrk failed for $name:\n$out";
	my ($json) = $out =~ /^BENCH-JSON (\{.*\})$/m or die "no summary from wrk for $name:\n$out";
	my $s = JSON::PP::decode_json($json);
	my $e = $s->{errors};
	my $errors = 0;
	$errors += $e->{$_} for keys %$e;
	my $r = {rps => $s->{requests} / ($s->{durationUs} / 1e6), requests => $s->{requests}, errors => $errors + 0,
		errorDetail => $e, poolExhausted => $s->{poolExhausted},
		map { ("${_}Ms" => $s->{latencyUs}{$_} / 1000) } qw(p50 p90 p99 max)};
	say_(sprintf '%-22s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d', $name, $r->{rps}, $r->{p50Ms},
		$r->{p99Ms}, $errors);
	return $r;
}

# ---------------------------------------------------------------- setup

sub psql_file {
	my ($sql) = @_;
	my $file = "$tmp/setup.sql";
	open(my $fh, '>', $file) or die "$file: $!";
	print $fh $sql;
	close $fh;
	system('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', stack_env('DATABASE_URL'), '-f', $file) == 0
		or die "psql failed on $file";
}

sub random_uuid {
	my @b = map { int rand 256 } 1 .. 16;
	$b[6] = ($b[6] & 0x0f) | 0x40;
	$b[8] = ($b[8] & 0x3f) | 0x80;
	return join '-', map { unpack 'H*', pack 'C*', @b[@$_] } [0 .. 3], [4, 5], [6, 7], [8, 9], [10 .. 15];
}

# $n refresh tokens of $user, each in a session of its own, as /login writes
# them (tokens.c: SHA-256 of 32 random bytes in base64url).
sub refresh_pool {
	my ($user, $n) = @_;
	my $expires = strftime('%Y-%m-%d %H:%M:%S+00', gmtime(time + 30 * 86400));
	my (@sessions, @tokens, @bodies);
	for (1 .. $n) {
		my $token = encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
		my $sid = random_uuid();
		push @sessions, "$sid\t$user\t$expires\tbench\t127.0.0.1";
		push @tokens, '\\\\x' . sha256_hex($token) . "\t$sid\t$expires";
		push @bodies, qq({"refreshToken":"$token"});
	}
	psql_file(join "\n", 'COPY sessions (id, user_id, expires_at, user_agent, ip) FROM STDIN;', @sessions, '\.',
		'COPY refresh_tokens (token_hash, session_id, expires_at) FROM STDIN;', @tokens, '\.', '');
	return \@bodies;
}

# $n accounts that share one registered account's password (and so its hash).
sub login_pool {
	my ($n) = @_;
	my ($email, $password, $reg) = register_user(tag => 'bench-login');
	(my $tag = $email) =~ s/\@.*//;
	psql_file("INSERT INTO users (email, password_hash, email_verified)"
		. " SELECT '$tag-' || i || '\@example.com', u.password_hash, true FROM users u, generate_series(1, $n) i"
		. " WHERE u.id = '$reg->{user}{id}';\n");
	my $pw = JSON::PP->new->encode($password);
	return [map { qq({"email":"$tag-$_\@example.com","password":$pw}) } 1 .. $n];
}

# Parameters of the configuration: the stack's environment, else the
# default in shared/config.c.
sub config_value {
	my ($name) = @_;
	return $ENV{$name} if defined $ENV{$name} && $ENV{$name} ne '';
	my $v = stack_env($name);
	return $v if defined $v;
	open(my $fh, '<', 'shared/config.c') or return undef;
	while (my $l = <$fh>) { return $1 if $l =~ /\{\s*"\Q$name\E",\s*\w+,\s*OFF\(\w+\),\s*"([^"]*)"/ }
	return undef;
}

# ------------------------------------------------------------------ run

my $rss_idle = rss_snapshot();
my %base;
say_('baselines');
$base{nginx} = wrk_run('nginx', '/nginx-baseline');
$base{"health:$_"} = wrk_run("health-$_", "/api/v1/$_/health") for areas();

say_('setup: tenant, key, memory, token pools');
my $t = memox_tenant(name => 'bench', limits => {qps => 1_000_000, burst => 1_000_000, concurrency => 100_000,
	monthlyRequests => 1_000_000_000_000, maxMemories => 1_000_000_000});
my $mem = call($t->{key}, POST => '/api/v1/memox/memories',
	{namespace => 'bench', externalUserId => 'get', content => 'Ada lives in Lyon'});
$mem->{status} == 202 or die "memory: $mem->{status} $mem->{content}";
my $mem_id = JSON::PP::decode_json($mem->{content})->{id};
memox_wait($t->{key}, 30, $mem_id) == 1 or die "the memory did not become ready";
my $user_id = (jwt_decode_unverified($t->{token}))[1]{sub};
my $refresh = refresh_pool($user_id, 3000 * $o{seconds} + 1000);
my $logins = login_pool(40 * $o{seconds} + 100);

my %fig;
my %key_h = (Authorization => "Bearer $t->{key}");
my %json_h = ('Content-Type' => 'application/json');
say_('figures');
$fig{keys_self} = {area => 'keys', label => 'GET /api/v1/keys/self (API key: check + rate limit)',
	%{wrk_run('keys-self', '/api/v1/keys/self', {headers => \%key_h})}};
$fig{memox_get} = {area => 'memox', label => 'GET /api/v1/memox/memories/{id}',
	%{wrk_run('memox-get', "/api/v1/memox/memories/$mem_id", {headers => \%key_h})}};
$fig{auth_me} = {area => 'auth', label => 'GET /api/v1/auth/me (access token)',
	%{wrk_run('auth-me', '/api/v1/auth/me', {headers => {Authorization => "Bearer $t->{token}"}})}};
$fig{auth_refresh} = {area => 'auth', label => 'POST /api/v1/auth/refresh (a fresh token each)',
	%{wrk_run('auth-refresh', '/api/v1/auth/refresh', {method => 'POST', headers => \%json_h, pool => $refresh,
		xff => 1})}};
$fig{auth_login} = {area => 'auth', label => 'POST /api/v1/auth/login (scrypt)',
	%{wrk_run('auth-login', '/api/v1/auth/login', {method => 'POST', headers => \%json_h, pool => $logins,
		wrap => 1, xff => 1})}};

say_('memox search');
my $corpus = MemoxCorpus->new(seed => 7);
my @search;
for my $n (split /,/, $o{sizes}) {
	my %scope = (namespace => 'bench', externalUserId => "scope-$n");
	my $t0 = time;
	my $in = ingest($t, \%scope, $n, $corpus);
	say_(sprintf 'scope %d: accepted %.0f/s, searchable %.0f/s', $n, $n / $in->{accepted_s}, $n / $in->{searchable_s});
	my $recall_queries = $o{queries} < 50 ? $o{queries} : 50;
	# Right after a burst of writes searches are slower for a while (by
	# hand: 10k scope, server p50/p99 16.6/21.2 ms at once, 11.0/14.8 ms
	# 45 s later).  Measured at once, then after VACUUM (ANALYZE), which
	# autovacuum would do soon anyway; that alone has not been enough to
	# settle it here, so the cause is still open (docs/performance.md).
	my $fresh = search_quality($t->{key}, \%scope, $corpus, $o{queries}, 0);
	vacuum_vectors();
	# The settled figures and the vector database's floor take the same queries.
	my @queries = map { $corpus->query } 1 .. $o{queries};
	my $q = search_quality($t->{key}, \%scope, FixedQueries->new(@queries), $o{queries}, $recall_queries);
	my $floor = vector_floor($t, \%scope, \@queries);
	say_(sprintf 'scope %d: the vector database alone (floor) p50 %.2f ms p99 %.2f ms; server time / floor: p50 %.2f×, p99 %.2f×',
		$n, $floor->{p50}, $floor->{p99}, $q->{server_ms}{p50} / $floor->{p50}, $q->{server_ms}{p99} / $floor->{p99});
	say_(sprintf 'scope %d: just ingested, server p50 %.2f ms p99 %.2f ms', $n, $fresh->{server_ms}{p50},
		$fresh->{server_ms}{p99});
	say_(sprintf 'scope %d: %s, sequential p50 %.2f ms p99 %.2f ms, recall@10 %.3f', $n, $q->{mode},
		$q->{latency_ms}{p50}, $q->{latency_ms}{p99}, $q->{recall_at_10});
	my $enc = JSON::PP->new->canonical;
	my $w = wrk_run("search-$n", '/api/v1/memox/search', {method => 'POST', headers => {%key_h, %json_h}, wrap => 1,
		pool => [map { $enc->encode({%scope, query => $corpus->query, topK => 10}) } 1 .. 1000]});
	# The keyword and hybrid modes on the same scope and queries, right
	# after the semantic figures: the same state of both databases.
	my %modes;
	for my $mode (qw(keyword hybrid)) {
		my $m = search_quality($t->{key}, \%scope, $corpus, $o{queries}, 0, $mode);
		say_(sprintf 'scope %d: %s, sequential p50 %.2f ms p99 %.2f ms, server p50 %.2f ms p99 %.2f ms', $n, $mode,
			$m->{latency_ms}{p50}, $m->{latency_ms}{p99}, $m->{server_ms}{p50}, $m->{server_ms}{p99});
		$modes{$mode} = {sequential => {p50Ms => $m->{latency_ms}{p50}, p99Ms => $m->{latency_ms}{p99},
				serverP50Ms => $m->{server_ms}{p50}, serverP99Ms => $m->{server_ms}{p99}, queries => $o{queries}},
			wrk => wrk_run("search-$n-$mode", '/api/v1/memox/search', {method => 'POST', headers => {%key_h, %json_h},
				wrap => 1, pool => [map { $enc->encode({%scope, query => $corpus->query, topK => 10, mode => $mode}) } 1 .. 1000]})};
	}
	push @search, {scope => $n, acceptedPerSecond => $n / $in->{accepted_s}, modes => \%modes, retried503 => $in->{retried},
		searchablePerSecond => $n / $in->{searchable_s}, searchMode => $q->{mode},
		sequential => {p50Ms => $q->{latency_ms}{p50}, p99Ms => $q->{latency_ms}{p99},
			serverP50Ms => $q->{server_ms}{p50}, serverP99Ms => $q->{server_ms}{p99}, queries => $o{queries}},
		justIngested => {serverP50Ms => $fresh->{server_ms}{p50}, serverP99Ms => $fresh->{server_ms}{p99}},
		floor => {p50Ms => $floor->{p50}, p99Ms => $floor->{p99}, queries => $floor->{n}},
		recallAt10 => $q->{recall_at_10}, recallQueries => $recall_queries, wrk => $w, area => 'memox'};
}

# A tenant of many small scopes (--wide SxM: S scopes of M memories): one
# scope's searches alone in the tenant, then the same scope and queries once
# the other S-1 are written, each after VACUUM (ANALYZE).  What the other
# scopes cost the one searched is the ratio.  Five times the searches of a
# scope figure: the p99 of 200 is their second-worst, and on 2 shared cores
# it moved 1.3-4.5× between runs of the same work (docs/performance.md).
my $wide;
if ($wide_scopes) {
	say_("memox: a tenant of $wide_scopes scopes of $wide_each memories");
	my $wt = memox_tenant(name => 'bench-wide', limits => {qps => 1_000_000, burst => 1_000_000, concurrency => 100_000,
		monthlyRequests => 1_000_000_000_000, maxMemories => 1_000_000_000});
	my %first = (namespace => 'wide', externalUserId => 'scope-0');
	ingest($wt, \%first, $wide_each, $corpus);
	vacuum_vectors();
	my $n = 5 * $o{queries};
	my @queries = map { $corpus->query } 1 .. $n;
	my $alone = search_quality($wt->{key}, \%first, FixedQueries->new(@queries), $n, 0);
	my $in = ingest_scopes($wt, [map { {namespace => 'wide', externalUserId => "scope-$_"} } 1 .. $wide_scopes - 1], $wide_each, $corpus);
	vacuum_vectors();
	my $among = search_quality($wt->{key}, \%first, FixedQueries->new(@queries), $n, 0);
	my $total = $wide_scopes * $wide_each;
	$wide = {scopes => $wide_scopes + 0, memoriesPerScope => $wide_each + 0, memories => $total, searchMode => $among->{mode},
		acceptedPerSecond => ($total - $wide_each) / $in->{accepted_s}, searchablePerSecond => ($total - $wide_each) / $in->{searchable_s},
		retried503 => $in->{retried},
		alone => {serverP50Ms => $alone->{server_ms}{p50}, serverP99Ms => $alone->{server_ms}{p99}},
		among => {serverP50Ms => $among->{server_ms}{p50}, serverP99Ms => $among->{server_ms}{p99}}, queries => $n};
	say_(sprintf 'wide tenant: %d memories, %.0f searchable/s; scope of %d alone p50 %.2f p99 %.2f ms, among the rest '
		. 'p50 %.2f p99 %.2f ms (p99 %.2f×)', $total, $wide->{searchablePerSecond}, $wide_each, $alone->{server_ms}{p50},
		$alone->{server_ms}{p99}, $among->{server_ms}{p50}, $among->{server_ms}{p99},
		$among->{server_ms}{p99} / $alone->{server_ms}{p99});
}

my $rss_after = rss_snapshot();

# --------------------------------------------------------------- report

my %cfg = map { $_ => config_value($_) } qw(AUTH_SCRYPT_N AUTH_SCRYPT_R AUTH_SCRYPT_P EMBEDDING_BATCH_SIZE
	EMBEDDING_PROVIDER MEMOX_EXACT_SCAN_MAX MEMOX_HNSW_EF_SEARCH WORKER_BLOCK_SECONDS);

my ($wrk_version) = (`wrk -v 2>&1` // "") =~ /^(wrk \S+)/m;
my ($cpu_model) = do { local @ARGV = '/proc/cpuinfo'; map { /^model name\s*:\s*(.*)/ ? $1 : () } <> };
my $host = hostname();
my $date = strftime('%Y-%m-%d', localtime $started);
my $report = {
	date => strftime('%Y-%m-%dT%H:%M:%S%z', localtime $started), host => $host, gitDescribe => $describe,
	cpus => scalar(() = do { local @ARGV = '/proc/cpuinfo'; grep { /^processor\s*:/ } <> }), cpuModel => $cpu_model,
	wrk => $wrk_version, durationSeconds => int(time - $started),
	parameters => {seconds => $o{seconds}, connections => $o{connections}, threads => $o{threads},
		sizes => [map { $_ + 0 } split /,/, $o{sizes}], queries => $o{queries}, workers => $o{workers}, wide => $o{wide},
		childrenPerArea => $o{children}, build => 'release (-O2 -g, no sanitizers)'},
	config => \%cfg,
	baselines => \%base, figures => \%fig, search => \@search, ($wide ? (wideTenant => $wide) : ()),
	rssKiB => {idle => $rss_idle, after => $rss_after},
};
my $stem = "$o{out}/$date-$host" . ($o{tag} ? "-$o{tag}" : '');
open(my $jf, '>', "$stem.json") or die "$stem.json: $!";
print $jf JSON::PP->new->canonical->pretty->encode($report);
close $jf;
require "./bench/report-md.pl";
open(my $mf, '>', "$stem.md") or die "$stem.md: $!";
print $mf report_markdown($report);
close $mf;
say_("wrote $stem.json and $stem.md in ", int(time - $started), ' s');

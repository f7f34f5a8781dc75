#!/usr/bin/perl
# GET /api/v1/<area>/metrics: Prometheus text 0.0.4 that a strict parser
# accepts (histograms cumulative, ending in +Inf equal to _count); request
# counters that add up across an area's prefork children (requests served by
# both children, then every scrape, whichever child answers it, shows them
# all); 404s under route "unmatched"; 429s of the tenant rate limit counted;
# a Redis outage counted as a dependency error; memox's queue gauges and the
# workers' job counts from Redis; and nginx's guard refusing a client that is
# not on the allow list.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX ();
use Aiget;

Aiget::require_stack();

my $CT = 'text/plain; version=0.0.4; charset=utf-8';

# ------------------------------------------------------------ the parser
# Returns ({series key => value}, {family => type}, [errors]).  A series key
# is name{label="value",...} with the labels sorted.
sub parse_metrics {
	my ($text) = @_;
	my (%v, %type, %help, @err, %seen_family_samples);
	my $label_re = qr/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"/;
	my $n = 0;
	for my $line (split /\n/, $text, -1) {
		$n++;
		next if $line eq '' && $n > 1 && $text =~ /\n\z/;   # the final newline
		if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/) {
			push @err, "line $n: second HELP for $1" if $help{$1}++;
			next;
		}
		if ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/) {
			push @err, "line $n: second TYPE for $1" if $type{$1};
			push @err, "line $n: TYPE of $1 after its samples" if $seen_family_samples{$1};
			$type{$1} = $2;
			next;
		}
		if ($line =~ /^#/) {
			push @err, "line $n: a comment that is neither HELP nor TYPE: $line";
			next;
		}
		my ($name, $labels, $value) = $line =~
			/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:$label_re(?:,$label_re)*)?)\})? ([^ ]+)(?: -?\d+)?$/;
		if (!defined $name) {
			push @err, "line $n: not a sample: $line";
			next;
		}
		if ($value !~ /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/) {
			push @err, "line $n: bad value $value";
			next;
		}
		my %l;
		while (($labels // '') =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) {
			push @err, "line $n: label $1 twice" if exists $l{$1};
			$l{$1} = $2;
		}
		my $family = $name;
		if (!$type{$name} && $name =~ /^(.*)_(?:bucket|sum|count)$/) {
			my $base = $1;
			$family = $base if ($type{$base} // '') =~ /^(?:histogram|summary)$/;
		}
		push @err, "line $n: sample of $name without a TYPE" unless $type{$family};
		$seen_family_samples{$family} = 1;
		my $key = $name . '{' . join(',', map { "$_=\"$l{$_}\"" } sort keys %l) . '}';
		push @err, "line $n: series $key twice" if exists $v{$key};
		$v{$key} = $value eq '+Inf' ? 9**9**9 : $value + 0;
	}
	push @err, 'no final newline' unless $text =~ /\n\z/;
	return (\%v, \%type, \@err);
}

# Histogram rules: per series (labels but le), buckets ascending, cumulative,
# the last +Inf and equal to _count; a _sum beside it.
sub histogram_errors {
	my ($v, $name) = @_;
	my (%buckets, @err);
	for my $k (keys %$v) {
		next unless $k =~ /^\Q$name\E_bucket\{(.*)\}$/;
		my $labels = $1;
		my ($le) = $labels =~ /(?:^|,)le="([^"]*)"/;
		(my $rest = $labels) =~ s/(?:^|,)le="[^"]*"//;
		$rest =~ s/^,//;
		push @{$buckets{$rest}}, [$le eq '+Inf' ? 9**9**9 : $le, $v->{$k}, $le];
	}
	push @err, "$name: no buckets" unless %buckets;
	for my $series (sort keys %buckets) {
		my @b = sort { $a->[0] <=> $b->[0] } @{$buckets{$series}};
		push @err, "$name\{$series}: last bucket is not +Inf" unless $b[-1][2] eq '+Inf';
		for my $i (1 .. $#b) {
			push @err, "$name\{$series}: le=$b[$i][2] below le=$b[$i-1][2]" if $b[$i][1] < $b[$i-1][1];
		}
		my $count = $v->{"${name}_count\{$series}"};
		push @err, "$name\{$series}: no _count" unless defined $count;
		push @err, "$name\{$series}: +Inf $b[-1][1] != _count $count" if defined $count && $count != $b[-1][1];
		push @err, "$name\{$series}: no _sum" unless defined $v->{"${name}_sum\{$series}"};
	}
	return @err;
}

# The parsed metrics of an area (dies on anything but a clean 200).
sub scrape {
	my ($area) = @_;
	my $res = api(GET => "/api/v1/$area/metrics");
	die "scrape $area: $res->{status} $res->{content}" unless $res->{status} == 200;
	my ($v, undef, $err) = parse_metrics($res->{content});
	die "scrape $area: @$err[0 .. ($#$err < 4 ? $#$err : 4)]" if @$err;
	return $v;
}

sub series { my ($name, %l) = @_; $name . '{' . join(',', map { "$_=\"$l{$_}\"" } sort keys %l) . '}' }

# The parser itself refuses what it must (a parser that accepts anything
# would make every check below pass).
{
	my @bad = ("x 1\n", "# TYPE x counter\nx{a=\"1\" 1\n", "# TYPE x counter\nx one\n",
		"# TYPE x counter\nx 1\nx 2\n", "# TYPE x counter\nx 1");
	for my $t (@bad) { my (undef, undef, $e) = parse_metrics($t); ok(@$e, 'the parser refuses ' . join('\n', split /\n/, $t)) }
	my ($v) = parse_metrics("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n");
	ok(scalar(histogram_errors($v, 'h')), 'histogram check refuses a non-cumulative histogram');
}

# ---------------------------------------------------------- every area
for my $area (areas()) {
	my $res = api(GET => "/api/v1/$area/metrics");
	is($res->{status}, 200, "$area: metrics 200") or diag($res->{content});
	is($res->{headers}{'content-type'}, $CT, "$area: Prometheus text 0.0.4");
	my ($v, $type, $err) = parse_metrics($res->{content});
	is_deeply($err, [], "$area: parses strictly") or diag($res->{content});
	is($type->{aiget_http_requests_total}, 'counter', "$area: requests counter");
	is($type->{aiget_http_request_duration_seconds}, 'histogram', "$area: duration histogram");
	is($type->{aiget_dependency_errors_total}, 'counter', "$area: dependency errors");
	is($type->{aiget_rate_limit_rejections_total}, 'counter', "$area: rate-limit rejections");
	is_deeply([histogram_errors($v, 'aiget_http_request_duration_seconds')], [], "$area: histograms are well formed");
	ok(defined $v->{series('aiget_http_request_duration_seconds_count', area => $area, route => "/api/v1/$area/health")},
		"$area: a histogram per route pattern");
	my ($build) = grep { /^aiget_build_info\{area="\Q$area\E",version="[^"]+"\}$/ } keys %$v;
	ok($build && $v->{$build} == 1, "$area: build info");
	is($v->{series('aiget_metrics_shared', area => $area)}, 1, "$area: counted in the area's shared file");
	ok(defined $v->{series('aiget_dependency_errors_total', area => $area, dependency => 'postgres')},
		"$area: postgres errors");
	my @raw = grep { /route="(?!\/api\/v1\/|unmatched")/ } keys %$v;
	is_deeply(\@raw, [], "$area: every route label is a pattern or unmatched");
}

# ------------------------------------------ counters add up across children
# Requests from several processes at once, so that both children of the
# area serve some; a counter of one child would then fall short.
sub concurrently {
	my ($procs, $each, $code) = @_;
	my @pids;
	for (1 .. $procs) {
		my $pid = fork // die "fork: $!";
		if (!$pid) { $code->() for 1 .. $each; POSIX::_exit(0) }
		push @pids, $pid;
	}
	waitpid($_, 0) for @pids;
}

{
	my $k404 = series('aiget_http_requests_total', area => 'keys', route => 'unmatched', method => 'GET', status => 404);
	my $khealth = series('aiget_http_requests_total', area => 'keys', route => '/api/v1/keys/health', method => 'GET',
		status => 200);
	my $before = scrape('keys');
	my ($n404, $nhealth) = (0 + ($before->{$k404} // 0), 0 + ($before->{$khealth} // 0));
	# Deeper than any keys pattern: /api/v1/keys/{keyId} would take one segment.
	my $res = api(GET => '/api/v1/keys/no/such/route/' . int(rand(1e9)));
	is($res->{status}, 404, 'an unknown path: 404');
	concurrently(4, 10, sub { api(GET => '/api/v1/keys/health') });
	concurrently(4, 5, sub { api(GET => '/api/v1/keys/nothing/here/' . int(rand(1e9))) });
	# Every one of several scrapes (landing on either child) sees all of them.
	my @seen;
	for (1 .. 8) {
		my $v = scrape('keys');
		push @seen, [($v->{$khealth} // 0) - $nhealth, ($v->{$k404} // 0) - $n404];
	}
	is_deeply([grep { $_->[0] != 40 } @seen], [], 'every scrape counts all 40 health requests of both children')
		or diag(explain(\@seen));
	is_deeply([grep { $_->[1] != 21 } @seen], [], 'every scrape counts the 21 404s under route "unmatched"')
		or diag(explain(\@seen));
	my $v = scrape('keys');
	ok(!grep({ /nothing\/here|no\/such/ } keys %$v), 'the raw paths appear nowhere');
	my $cnt = series('aiget_http_request_duration_seconds_count', area => 'keys', route => '/api/v1/keys/health');
	cmp_ok($v->{$cnt}, '>=', 40, 'the health histogram counted them too');
}

# ------------------------------------------------------------ a 405
{
	my $r = series('aiget_http_requests_total', area => 'keys', route => '/api/v1/keys/self', method => 'PUT',
		status => 405);
	my $before = scrape('keys')->{$r} // 0;
	is(api(PUT => '/api/v1/keys/self')->{status}, 405, 'PUT /keys/self: 405');
	is(scrape('keys')->{$r} // 0, $before + 1, 'a 405 counts under the route pattern its path matched');
}

# ---------------------------------------------------- rate-limit rejections
{
	my (undef, undef, $reg) = register_user(tag => 'metrics-rate');
	my $tenant = tenants_new($reg->{accessToken}, 'metrics rate')->{id};
	my $k = keys_make($reg->{accessToken}, $tenant, name => 'metrics');
	keys_limits($tenant, qps => 1, burst => 1);
	my $rej = series('aiget_rate_limit_rejections_total', area => 'keys', limit => 'rate');
	my $r429 = series('aiget_http_requests_total', area => 'keys', route => '/api/v1/keys/self', method => 'GET',
		status => 429);
	# The new limits reach the key within a second.
	wait_until(3, sub { (keys_self($k->{key})->{headers}{'ratelimit-limit'} // '') eq '1' });
	my $before = scrape('keys');
	my $limited = 0;
	for (1 .. 6) { $limited++ if keys_self($k->{key})->{status} == 429 }
	ok($limited >= 3, "qps 1, burst 1: $limited of 6 got 429");
	my $after = scrape('keys');
	is(($after->{$rej} // 0) - ($before->{$rej} // 0), $limited, 'each 429 counted as a rate-limit rejection');
	cmp_ok(($after->{$r429} // 0) - ($before->{$r429} // 0), '>=', $limited, 'and as a 429 of its route');
}

# ----------------------------------------------------------------- memox
{
	my $t = memox_tenant(name => 'metrics');
	my $ok = series('aiget_memox_jobs_total', area => 'memox', kind => 'embed', outcome => 'ok');
	my $queued = series('aiget_memox_queue_queued', area => 'memox');
	my $v = scrape('memox');
	is($v->{series('aiget_memox_queue_up', area => 'memox')}, 1, 'memox: the queue is readable');
	for my $g (qw(queued processing delayed dead oldest_age_seconds)) {
		ok(defined $v->{series("aiget_memox_queue_$g", area => 'memox')}, "memox: queue gauge $g");
	}
	my $ok_before = $v->{$ok} // 0;

	# With the worker stopped, written memories wait in the queue.
	my @ids;
	with_service_stopped(worker => sub {
		my $q0 = scrape('memox')->{$queued};
		for my $i (1 .. 3) {
			my $b = answer_is(call($t->{key}, POST => '/api/v1/memox/memories', {namespace => 'metrics',
				externalUserId => 'u1', content => "metrics memory $i " . rand()}), 202, "memory $i");
			push @ids, $b->{id};
		}
		$v = scrape('memox');
		is($v->{$queued} - $q0, 3, 'memox: the three jobs show as queued');
		cmp_ok($v->{series('aiget_memox_queue_oldest_age_seconds', area => 'memox')}, '>=', 0,
			'memox: the oldest has an age');
	});
	is(memox_wait($t->{key}, 20, @ids), 3, 'the worker embedded them');
	my $done = wait_until(10, sub { my $x = scrape('memox'); ($x->{$ok} // 0) - $ok_before >= 3 ? $x : undef });
	ok($done, 'memox: the workers\' embed jobs counted as ok in Redis');
	is($done && $done->{$queued}, 0, 'memox: the queue is empty again') if $done;
}

# ---------------------------------------------------------------- the guard
# nginx judges the address after the real-ip module, as in production: a
# client the proxy (here: the test, from loopback) names in X-Forwarded-For.
for my $area (areas()) {
	my $outside = {headers => {'X-Forwarded-For' => '203.0.113.77'}};
	my $res = api(GET => "/api/v1/$area/metrics", $outside);
	error_is($res, 403, 'forbidden', "$area: metrics refused to a client not on the allow list");
	unlike($res->{content}, qr/aiget_/, "$area: and nothing of them leaks");
	# The responder drops a trailing slash; the guard must cover that spelling too.
	for my $path ("/api/v1/$area/metrics/", "/api/v1/$area//metrics", "/api/v1/$area/%6detrics") {
		my $r = api(GET => $path, $outside);
		ok($r->{status} == 403 || ($r->{status} == 404 && $r->{content} !~ /aiget_/),
			"$area: $path is refused too ($r->{status})");
	}
	is(api(GET => "/api/v1/$area/health", $outside)->{status}, 200, "$area: the same client reaches health");
	my $inside = {headers => {'X-Forwarded-For' => '127.0.0.1'}};
	is(api(GET => "/api/v1/$area/metrics", $inside)->{status}, 200, "$area: a loopback client reaches metrics");
}

# --------------------------------------------------------- dependency errors
{
	my $dep = series('aiget_dependency_errors_total', area => 'tenants', dependency => 'redis');
	my $before = scrape('tenants')->{$dep};
	with_service_stopped(redis => sub {
		is(api(GET => '/api/v1/tenants/health')->{status}, 503, 'tenants health: 503 without Redis');
	});
	my $after = wait_until(10, sub {
		my $v = eval { scrape('tenants') };
		diag("scrape: $@") if $@;
		$v && $v->{$dep} > $before ? $v->{$dep} : 0;
	});
	ok($after > $before, "a failed Redis command counts as a redis dependency error ($before -> $after)");
	# Every child of every area reconnected, for the scripts after this one.
	for my $area (areas()) {
		ok(wait_until(10, sub {
			for (1 .. 6) { return 0 unless api(GET => "/api/v1/$area/health")->{status} == 200 }
			return 1;
		}), "$area: healthy again");
	}
}

done_testing();

#!/usr/bin/perl
# report-md.pl - the Markdown table of a `make bench` report.
#
# bench/bench.pl loads it for report_markdown($report); run on its own it
# prints the table of a saved report:  perl bench/report-md.pl REPORT.json
#
# Ratios are to the baselines of the same run: "vs nginx" and "vs health"
# are throughput shares (figure's req/s over the baseline's), "time vs
# health" is how many health requests' time one request costs (health's
# req/s over the figure's; issue 7's target for a key request is <= 1.5).
use strict;
use warnings;
use JSON::PP ();

sub report_markdown {
	my ($r) = @_;
	my $p = $r->{parameters};
	my $c = $r->{config};
	my $nginx = $r->{baselines}{nginx}{rps};
	my @out;
	my $line = sub { push @out, join('', @_) . "\n" };
	my $ms = sub { defined $_[0] ? sprintf('%.2f', $_[0]) : '-' };
	my $pct = sub { sprintf '%.0f%%', 100 * $_[0] };
	$line->("# make bench: $r->{date} on $r->{host}");
	$line->('');
	$line->("Commit `$r->{gitDescribe}`, $r->{cpus} CPUs ($r->{cpuModel}), $r->{wrk}, $p->{build} build, "
		. "$p->{childrenPerArea} children per area. wrk: $p->{seconds} s a figure, $p->{connections} connections, "
		. "$p->{threads} thread(s), from the same machine. Errors are socket errors plus answers >= 400. "
		. "Whole run: $r->{durationSeconds} s.");
	$line->('');
	$line->('| Figure | req/s | p50 ms | p99 ms | errors | vs nginx | vs health | time vs health |');
	$line->('|---|---:|---:|---:|---:|---:|---:|---:|');
	my $row = sub {
		my ($label, $f, $health) = @_;
		$line->("| $label | ", sprintf('%.0f', $f->{rps}), ' | ', $ms->($f->{p50Ms}), ' | ', $ms->($f->{p99Ms}), ' | ',
			$f->{errors}, ' | ', $pct->($f->{rps} / $nginx), ' | ',
			$health ? ($pct->($f->{rps} / $health->{rps}), ' | ', sprintf('%.2f×', $health->{rps} / $f->{rps}))
			        : ('-', ' | ', '-'), ' |');
	};
	$row->('nginx `return 200` (baseline)', $r->{baselines}{nginx});
	for my $a (qw(auth keys tenants memox)) {
		$row->("GET /api/v1/$a/health (baseline)", $r->{baselines}{"health:$a"}) if $r->{baselines}{"health:$a"};
	}
	for my $k (qw(keys_self memox_get auth_me auth_refresh auth_login)) {
		my $f = $r->{figures}{$k} or next;
		$row->($f->{label}, $f, $r->{baselines}{"health:$f->{area}"});
	}
	for my $s (@{$r->{search}}) {
		$row->("POST /api/v1/memox/search, $s->{scope} memories ($s->{searchMode})", $s->{wrk},
			$r->{baselines}{'health:memox'});
		for my $mode (qw(keyword hybrid)) {
			my $m = $s->{modes}{$mode} or next;
			$row->("POST /api/v1/memox/search, $s->{scope} memories, mode $mode", $m->{wrk},
				$r->{baselines}{'health:memox'});
		}
	}
	$line->('');
	$line->("Login hashes with scrypt N=$c->{AUTH_SCRYPT_N}, r=$c->{AUTH_SCRYPT_R}, p=$c->{AUTH_SCRYPT_P} "
		. sprintf('(%d MiB a hash).', 128 * $c->{AUTH_SCRYPT_N} * $c->{AUTH_SCRYPT_R} / 1048576));
	$line->('');
	$line->("## memox: ingestion and search quality");
	$line->('');
	$line->("Local embedder (`$c->{EMBEDDING_PROVIDER}`), $p->{workers} memox-worker process(es), worker batch "
		. "$c->{EMBEDDING_BATCH_SIZE} jobs, exact plan up to $c->{MEMOX_EXACT_SCAN_MAX} vectors a scope. "
		. "Ingestion: batches of 100 from one client; searchable = status ready, timed from the first batch. "
		. "Sequential: one search at a time ($p->{queries} queries; recall\@10 of the default plan against "
		. "`exact: true` over the first " . ($r->{search}[0]{recallQueries} // 50) . '), after `VACUUM (ANALYZE) '
		. 'memory_vectors`; *just ingested*: the same number of searches before it, right after the writes; '
		. '*floor*: the vector database alone, the exact top ten of the same query vectors among a copy of the '
		. 'scope\'s vectors in a table of nothing else, timed in the server.');
	$line->('');
	$line->('| Scope | accepted/s | searchable/s | plan | p50 ms | p99 ms | server p50 ms | server p99 ms | recall@10 '
		. '| just ingested: server p50 / p99 ms | floor p50 / p99 ms | server / floor p50, p99 |');
	$line->('|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
	# The vector database's own cost of the same searches (bench/lib/MemoxBench.pm vector_floor).
	my $floor_cells = sub {
		my $s = shift;
		my $fl = $s->{floor} or return '- | -';
		return $ms->($fl->{p50Ms}) . ' / ' . $ms->($fl->{p99Ms}) . ' | '
			. sprintf('%.2f×, %.2f×', $s->{sequential}{serverP50Ms} / $fl->{p50Ms}, $s->{sequential}{serverP99Ms} / $fl->{p99Ms});
	};
	for my $s (@{$r->{search}}) {
		my $q = $s->{sequential};
		my $f = $s->{justIngested} // {};
		$line->("| $s->{scope} | ", sprintf('%.0f | %.0f', $s->{acceptedPerSecond}, $s->{searchablePerSecond}),
			" | $s->{searchMode} | ", join(' | ', map { $ms->($q->{$_}) } qw(p50Ms p99Ms serverP50Ms serverP99Ms)),
			' | ', sprintf('%.3f', $s->{recallAt10}), ' | ', $ms->($f->{serverP50Ms}), ' / ',
			$ms->($f->{serverP99Ms}), ' | ', $floor_cells->($s), ' |');
	}
	$line->('');
	$line->('Search modes on the same scopes and queries, right after the semantic figures: one search at a time '
		. '(server p50 / p99 ms, and each as a ratio to the semantic mode\'s of the same scope), and under load '
		. '(wrk req/s, and the ratio to semantic\'s).');
	$line->('');
	$line->('| Scope | mode | server p50 ms | server p99 ms | p50 vs semantic | req/s loaded | req/s vs semantic |');
	$line->('|---:|---|---:|---:|---:|---:|---:|');
	for my $s (@{$r->{search}}) {
		my $q = $s->{sequential};
		$line->("| $s->{scope} | semantic ($s->{searchMode}) | ", $ms->($q->{serverP50Ms}), ' | ', $ms->($q->{serverP99Ms}),
			' | 1.00× | ', sprintf('%.0f', $s->{wrk}{rps}), ' | 1.00× |');
		for my $mode (qw(keyword hybrid)) {
			my $m = $s->{modes}{$mode} or next;
			my $mq = $m->{sequential};
			$line->("| $s->{scope} | $mode | ", $ms->($mq->{serverP50Ms}), ' | ', $ms->($mq->{serverP99Ms}), ' | ',
				$q->{serverP50Ms} ? sprintf('%.2f×', $mq->{serverP50Ms} / $q->{serverP50Ms}) : '-', ' | ',
				sprintf('%.0f', $m->{wrk}{rps}), ' | ',
				$s->{wrk}{rps} ? sprintf('%.2f×', $m->{wrk}{rps} / $s->{wrk}{rps}) : '-', ' |');
		}
	}
	if (my $w = $r->{wideTenant}) {
		$line->('');
		$line->("## memox: a tenant of $w->{memories} memories over $w->{scopes} scopes");
		$line->('');
		$line->("One scope of $w->{memoriesPerScope} searched alone in its tenant, then again with the same "
			. "$w->{queries} queries once the other scopes are written (each after `VACUUM (ANALYZE)`); "
			. 'server time, one search at a time.');
		$line->('');
		$line->('| memories | scopes | accepted/s | searchable/s | plan | alone p50 / p99 ms | among the rest p50 / p99 ms | p99 among / alone |');
		$line->('|---:|---:|---:|---:|---|---:|---:|---:|');
		$line->("| $w->{memories} | $w->{scopes} | ", sprintf('%.0f | %.0f', $w->{acceptedPerSecond}, $w->{searchablePerSecond}),
			" | $w->{searchMode} | ", $ms->($w->{alone}{serverP50Ms}), ' / ', $ms->($w->{alone}{serverP99Ms}), ' | ',
			$ms->($w->{among}{serverP50Ms}), ' / ', $ms->($w->{among}{serverP99Ms}), ' | ',
			sprintf('%.2f×', $w->{among}{serverP99Ms} / $w->{alone}{serverP99Ms}), ' |');
	}
	my @retried = grep { $_->{retried503} } @{$r->{search}}, $r->{wideTenant} // ();
	if (@retried) {
		$line->('');
		$line->('Batches answered 503 and retried after Retry-After: '
			. join(', ', map { ($_->{scope} ? "scope $_->{scope}" : 'wide tenant') . ": $_->{retried503}" } @retried) . '.');
	}
	$line->('');
	$line->('## Resident memory (VmRSS, MiB)');
	$line->('');
	$line->('Idle: each process right after the stack started (it has answered the start-up health checks). '
		. 'After: at the end of the run.');
	$line->('');
	$line->('| Process | idle | after the run |');
	$line->('|---|---|---|');
	my $mib = sub { join ', ', map { defined $_ ? sprintf('%.1f', $_ / 1024) : '?' } @{$_[0] || []} };
	for my $a (qw(auth keys tenants memox worker)) {
		$line->("| $a" . ($a eq 'worker' ? '' : ' children') . ' | ', $mib->($r->{rssKiB}{idle}{$a}), ' | ',
			$mib->($r->{rssKiB}{after}{$a}), ' |');
	}
	return join '', @out;
}

unless (caller) {
	my $file = shift or die "usage: $0 REPORT.json\n";
	open(my $fh, '<', $file) or die "$file: $!";
	print report_markdown(JSON::PP::decode_json(do { local $/; <$fh> }));
}

1;

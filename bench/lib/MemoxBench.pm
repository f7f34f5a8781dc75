package MemoxBench;
# MemoxBench.pm - memox ingestion and search quality, shared by
# bench/memox-search.pl and the `make bench` driver (bench/bench.pl).
#
# ingest() writes one scope of synthetic memories (t/lib/MemoxCorpus.pm)
# through POST /memories/batch from one sequential client and times two
# moments from the first request: all accepted (202), and all searchable
# (status ready in the main database: embedded and in pgvector).
# search_quality() runs queries one at a time (unloaded latency, client side
# and the server's own tookMs) and measures recall@10 of the default plan
# against exact: true.  Both talk to the stack through t/lib/Aiget.pm, which
# the caller has loaded with AIGET_TEST_URL and VAR set.
use strict;
use warnings;
use Exporter 'import';
use JSON::PP ();
use Time::HiRes qw(time);

our @EXPORT_OK = qw(ingest ingest_scopes search_quality percentile vector_floor FixedQueries);

# percentile([sorted numbers], 0.99)
sub percentile {
	my ($a, $p) = @_;
	return undef unless @$a;
	return $a->[int($p * $#$a + 0.5)];
}

# write_batches($tenant, \%scope, $n, $corpus) -> the number of 503s met:
# the scope's $n memories in batches of 100.  A 503 is retried after its
# Retry-After, as a client should; more than five in a row end the run.
sub write_batches {
	my ($t, $scope, $n, $corpus) = @_;
	my ($retried, $row) = (0, 0);
	for (my $i = 0; $i < $n; $i += 100) {
		my $k = $n - $i < 100 ? $n - $i : 100;
		my $body = {memories => [map { {%$scope, content => $corpus->memory . " #$_", metadata => {b => $_ % 100}} } $i .. $i + $k - 1]};
		my $res = Aiget::call($t->{key}, POST => '/api/v1/memox/memories/batch', $body);
		if ($res->{status} == 503 && ++$row <= 5) {
			$retried++;
			print STDERR "bench: batch answered 503 (retried): $res->{content}\n";
			select(undef, undef, undef, $res->{headers}{'retry-after'} // 1);
			redo;
		}
		die "batch: $res->{status} $res->{content}" unless $res->{status} == 202;
		$row = 0;
	}
	return $retried;
}

# ingest($tenant, \%scope, $n, $corpus) -> {accepted_s, searchable_s, retried}
sub ingest {
	my ($t, $scope, $n, $corpus) = @_;
	my $t0 = time;
	my $retried = write_batches($t, $scope, $n, $corpus);
	my $accepted = time - $t0;
	my $sql = "SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND external_user_id = '$scope->{externalUserId}'"
		. " AND status = 'ready'";
	# Polled four times a second, not ten: each poll is a psql process,
	# which at ten a second took 13% of a 2-core machine's CPU (perf).
	my $deadline = time + 3600;
	until (Aiget::psql($sql) == $n) {
		die "not all $n memories became ready" if time > $deadline;
		select(undef, undef, undef, 0.25);
	}
	return {accepted_s => $accepted, searchable_s => time - $t0, retried => $retried};
}

# ingest_scopes($tenant, [\%scope, ...], $n, $corpus) -> {accepted_s,
# searchable_s, retried}: $n memories in each scope, one scope after the
# other, then until none of the tenant's memories is pending (counted on
# the partial index of pending memories, so the poll stays cheap however
# large the tenant).
sub ingest_scopes {
	my ($t, $scopes, $n, $corpus) = @_;
	my $t0 = time;
	my $retried = 0;
	$retried += write_batches($t, $_, $n, $corpus) for @$scopes;
	my $accepted = time - $t0;
	my $deadline = time + 3600;
	until (Aiget::psql("SELECT count(*) FROM memories WHERE status = 'pending' AND tenant_id = '$t->{tenant}'") == 0) {
		die 'the scopes\' memories did not all become ready' if time > $deadline;
		select(undef, undef, undef, 0.5);
	}
	return {accepted_s => $accepted, searchable_s => time - $t0, retried => $retried};
}

# search_quality($key, \%scope, $corpus, $queries, $recall_queries)
#   -> {mode, latency_ms => {p50, p99}, server_ms => {p50, p99}, recall_at_10}
# A result counts as a hit when the exact plan has it too, or when its score
# ties the exact plan's tenth (equal scores may come in either order).
sub search_quality {
	my ($key, $scope, $corpus, $queries, $recall_queries, $mode) = @_;
	$recall_queries //= 50;
	# Recall is the semantic plan's against the exact one; other modes
	# rank by other measures, so only their time is taken.
	$recall_queries = 0 if $mode && $mode ne 'semantic';
	my %extra = $mode ? (mode => $mode) : ();
	my (@lat, @took, $hits, $total, $plan);
	for my $q (1 .. $queries) {
		my $query = $corpus->query;
		my $s0 = time;
		my $res = Aiget::call($key, POST => '/api/v1/memox/search', {%$scope, query => $query, topK => 10, %extra});
		push @lat, (time - $s0) * 1000;
		die "search: $res->{status} $res->{content}" unless $res->{status} == 200;
		my $r = JSON::PP::decode_json($res->{content});
		$plan = $r->{searchMode};
		push @took, $r->{tookMs};
		next if $q > $recall_queries;
		my $ex = JSON::PP::decode_json(Aiget::call($key, POST => '/api/v1/memox/search',
			{%$scope, query => $query, topK => 10, exact => JSON::PP::true})->{content});
		my %truth = map { $_->{id} => 1 } @{$ex->{results}};
		my $last = @{$ex->{results}} ? $ex->{results}[-1]{score} : 1;
		$hits += grep { $truth{$_->{id}} || $_->{score} >= $last - 1e-6 } @{$r->{results}};
		$total += @{$ex->{results}};
	}
	@lat = sort { $a <=> $b } @lat;
	@took = sort { $a <=> $b } @took;
	return {mode => $plan,
		latency_ms => {p50 => percentile(\@lat, 0.5), p99 => percentile(\@lat, 0.99)},
		server_ms => {p50 => percentile(\@took, 0.5), p99 => percentile(\@took, 0.99)},
		recall_at_10 => $total ? $hits / $total : 0};
}

# vector_floor($tenant, \%scope, \@queries) -> {p50, p99, n}: what the vector
# database alone takes for the same work as a search of the scope: the exact
# top ten by cosine distance of each query's vector among the scope's
# vectors, in a table that holds nothing but the scope and the vector (a
# copy of them), timed in the server with clock_timestamp() around each
# statement, in one process as memox's searches are (no parallel workers:
# fcgi-apps/memox/search.c says why).  The queries' vectors are the stack's own: the texts are
# written as memories of a side scope and the worker embeds them, as the
# search embeds them.
sub vector_floor {
	my ($t, $scope, $queries) = @_;
	my %side = (namespace => 'bench-floor', externalUserId => "queries-of-$scope->{externalUserId}");
	my %distinct = map { $_ => 1 } @$queries;
	my @texts = sort keys %distinct;
	for (my $i = 0; $i < @texts; $i += 100) {
		my $last = $i + 99 < $#texts ? $i + 99 : $#texts;
		my $res = Aiget::call($t->{key}, POST => '/api/v1/memox/memories/batch',
			{memories => [map { {%side, content => $_} } @texts[$i .. $last]]});
		die "batch: $res->{status} $res->{content}" unless $res->{status} == 202;
	}
	my $ready = "SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND namespace = 'bench-floor'"
		. " AND external_user_id = '$side{externalUserId}' AND status = 'ready'";
	my $deadline = time + 600;
	until (Aiget::psql($ready) == @texts) {
		die 'the floor\'s query vectors were not embedded' if time > $deadline;
		select(undef, undef, undef, 0.25);
	}
	my $dims = Aiget::psql_vector("SELECT dimensions FROM memory_vectors WHERE tenant_id = '$t->{tenant}' LIMIT 1");
	my $where = "tenant_id = '$t->{tenant}' AND namespace = '$scope->{namespace}' AND external_user_id = '$scope->{externalUserId}'";
	Aiget::psql_vector("DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor AS SELECT tenant_id, namespace,"
		. " external_user_id, embedding::vector($dims) AS embedding FROM memory_vectors WHERE $where;"
		. ' CREATE INDEX ON bench_floor (tenant_id, namespace, external_user_id)');
	Aiget::psql_vector('VACUUM (ANALYZE) bench_floor');
	my $out = Aiget::psql_vector(<<"SQL");
SET max_parallel_workers_per_gather = 0;
CREATE OR REPLACE FUNCTION pg_temp.floor_ms() RETURNS SETOF double precision LANGUAGE plpgsql AS \$\$
DECLARE q vector($dims); t0 timestamptz;
BEGIN
	FOR q IN SELECT embedding::vector($dims) FROM memory_vectors WHERE tenant_id = '$t->{tenant}'
	          AND namespace = 'bench-floor' AND external_user_id = '$side{externalUserId}' LOOP
		t0 := clock_timestamp();
		PERFORM 1 FROM (SELECT 1 FROM bench_floor WHERE $where ORDER BY embedding <=> q LIMIT 10) top;
		RETURN NEXT extract(epoch FROM clock_timestamp() - t0) * 1000;
	END LOOP;
END \$\$;
SELECT * FROM pg_temp.floor_ms();
SQL
	Aiget::psql_vector('DROP TABLE bench_floor');
	my @ms = sort { $a <=> $b } split /\n/, $out;
	return {p50 => percentile(\@ms, 0.5), p99 => percentile(\@ms, 0.99), n => scalar @ms};
}

# A corpus of a fixed list of queries, taken in turn: the same queries for
# two measurements (search_quality() asks its corpus for ->query).
package FixedQueries;
sub new { my ($class, @q) = @_; return bless {q => \@q, i => 0}, $class }
sub query { my $s = shift; return $s->{q}[$s->{i}++ % @{$s->{q}}] }
package MemoxBench;

1;

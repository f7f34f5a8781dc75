#!/usr/bin/perl
# HNSW against exact search on one scope of 20,000 memories (more than
# MEMOX_EXACT_SCAN_MAX, which t/harness sets to 10000 for this, so search
# uses the index): recall@10 of the index plan against the exact scan stays
# at or above 0.95, and a filter that leaves few matches still gets every one
# of them (never fewer than topK).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use Aiget;
use MemoxCorpus;

Aiget::require_stack();

my $N = $ENV{AIGET_RECALL_N} // 20000;
my $t = memox_tenant(name => 'recall', limits => {qps => 100000, burst => 100000, maxMemories => 1_000_000});
my $key = $t->{key};
my %scope = (namespace => 'recall', externalUserId => 'big');

# Memories about topics, as real ones are (t/lib/MemoxCorpus.pm); AIGET_RECALL_UNIFORM=1
# takes the worst case instead, which bench/memox-search.pl --corpus uniform reports.
my $corpus = MemoxCorpus->new(seed => 4030, uniform => $ENV{AIGET_RECALL_UNIFORM});

my $started = time;
my @ids;
for (my $i = 0; $i < $N; $i += 100) {
	my @batch = map { {%scope, content => $corpus->memory . " #$_", metadata => {bucket => $_ % 100}} } $i .. $i + 99;
	my $res = call($key, POST => '/api/v1/memox/memories/batch', {memories => \@batch});
	die "batch: $res->{status} $res->{content}" unless $res->{status} == 202;
	push @ids, map { $_->{id} } @{JSON::PP::decode_json($res->{content})->{memories}};
}
my $accepted = time - $started;
ok(wait_until(900, sub { psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND status = 'ready'") == $N }),
	"all $N memories ready");
my $ready = time - $started;
diag(sprintf('%d memories accepted in %.1f s, searchable after %.1f s (%.0f/s end to end, sanitizer build)',
	$N, $accepted, $ready, $N / $ready));

# Only large scopes are indexed (sql/vector/0003): this one was listed when
# it passed 10,000 vectors, and the workers index its older vectors; search
# takes the index plan only once they are all in (until then, the exact one).
my $scope_sql = "tenant_id = '$t->{tenant}' AND namespace = 'recall' AND external_user_id = 'big'";
ok(wait_until(600, sub { psql_vector("SELECT count(*) FROM indexed_scopes WHERE $scope_sql AND complete") == 1 }),
	'the large scope is listed and its older vectors indexed');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE $scope_sql AND NOT in_index"), 0, 'every vector of it is in the index');

my ($hits, $total, @took) = (0, 0);
for my $q (1 .. 40) {
	my $query = $corpus->query;
	my $idx = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $query, topK => 10})->{content});
	my $ex = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $query, topK => 10, exact => JSON::PP::true})->{content});
	is($idx->{searchMode}, 'index', "query $q: the index plan") if $q == 1;
	is(scalar @{$idx->{results}}, 10, "query $q: topK results") if $q <= 3;
	my %truth = map { $_->{id} => 1 } @{$ex->{results}};
	# Ties at the cut-off score are equally right answers.
	my $last = @{$ex->{results}} ? $ex->{results}[-1]{score} : 1;
	$hits += grep { $truth{$_->{id}} || $_->{score} >= $last - 1e-6 } @{$idx->{results}};
	$total += scalar @{$ex->{results}};
	push @took, $idx->{tookMs};
}
my $recall = $total ? $hits / $total : 0;
@took = sort { $a <=> $b } @took;
diag(sprintf('recall@10 %.3f over 40 queries; index plan p50 %.1f ms, max %.1f ms (sanitizer build)',
	$recall, $took[@took / 2], $took[-1]));
ok($recall >= 0.95, "recall\@10 >= 0.95 (got $recall)");


# A vector not in the index yet (as while the workers index a scope) is
# still found: the index plan merges in the scope's unindexed vectors.
{
	my $query = $corpus->query;
	my $ex = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $query, topK => 3, exact => JSON::PP::true})->{content});
	my $best = $ex->{results}[0]{id};
	psql_vector("UPDATE memory_vectors SET in_index = false WHERE memory_id = '$best'");
	my $idx = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $query, topK => 3})->{content});
	is($idx->{searchMode}, 'index', 'a vector out of the index: the index plan');
	is($idx->{results}[0]{id}, $best, 'a vector out of the index: still found, first');
	psql_vector("UPDATE memory_vectors SET in_index = true WHERE memory_id = '$best'");
}

# While a large scope's index is not complete (the workers are still putting
# its older vectors in), search keeps the exact plan: each process looks
# again within 10 s.  The worker is stopped meanwhile, or it would find
# nothing left to index and mark the scope complete again at once.
{
	ok(dev_service(worker => 'stop'), 'the worker stops');
	psql_vector("UPDATE indexed_scopes SET complete = false WHERE $scope_sql");
	my $plan = sub { JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search',
		{%scope, query => 'green tea', topK => 3})->{content})->{searchMode} };
	ok(wait_until(30, sub { $plan->() eq 'exact' && $plan->() eq 'exact' }),
		'an index not complete yet: the exact plan answers');
	ok(dev_service(worker => 'start'), 'the worker starts again');
	ok(wait_until(60, sub { psql_vector("SELECT complete FROM indexed_scopes WHERE $scope_sql") eq 't' }),
		'the worker finds nothing left to index: complete again');
	ok(wait_until(30, sub { $plan->() eq 'index' && $plan->() eq 'index' }), 'and the index plan answers');
}

# A filter that only 1% of the scope passes: the iterative scan or the
# exact fallback must still find topK of them.
my $f = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $corpus->query, topK => 10, filter => {bucket => 42}})->{content});
is(scalar @{$f->{results}}, 10, 'a selective filter still gets topK results');
ok(!grep({ $_->{metadata}{bucket} != 42 } @{$f->{results}}), 'all of them pass the filter');
my $rare = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => $corpus->query, topK => 10,
	filter => {bucket => 7, '$or' => [{bucket => 7}]}})->{content});
is(scalar @{$rare->{results}}, 10, 'a filter in $or form too');

done_testing();

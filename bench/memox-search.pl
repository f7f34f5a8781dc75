#!/usr/bin/perl
# memox-search.pl - ingestion throughput and search latency/recall of memox
# against a running stack (make start), local embedder.
#
# For each scope size (default 1000, 10000, 100000) it writes that many
# memories to one end user through POST /memories/batch, times how long they
# take to become searchable (status ready, i.e. embedded and in pgvector),
# then runs --queries searches and reports the client-side latency p50/p99
# and recall@10 of the default plan against exact: true.  Prints one JSON
# object per scope on stdout.
#
# --corpus picks the synthetic texts (t/lib/MemoxCorpus.pm): topical, the
# realistic default, or uniform, the worst case for an approximate index.
#
#   perl bench/memox-search.pl [--url http://127.0.0.1:8080] [--var var] [--sizes 1000,10000]
#                              [--queries 200] [--corpus topical|uniform]
use strict;
use warnings;
use Getopt::Long;
use Time::HiRes qw(time);
use lib "t/lib", "bench/lib";
use JSON::PP ();
use MemoxCorpus;
use MemoxBench qw(ingest search_quality);

my %o = (url => 'http://127.0.0.1:8080', var => 'var', sizes => '1000,10000,100000', queries => 200, corpus => 'topical');
GetOptions(\%o, 'url=s', 'var=s', 'sizes=s', 'queries=i', 'corpus=s') or die "usage: see the header\n";
$o{corpus} =~ /^(topical|uniform)$/ or die "--corpus is topical or uniform\n";
$ENV{AIGET_TEST_URL} = $o{url};
$ENV{VAR} = $o{var};
require Aiget;
Aiget->import;
require Test::More;
Test::More->import(tests => 1);    # Aiget's helpers speak TAP; keep it quiet

my $corpus = MemoxCorpus->new(seed => 7, uniform => $o{corpus} eq 'uniform');

my $t = memox_tenant(name => 'bench', limits => {qps => 1_000_000, burst => 1_000_000, concurrency => 1000,
	maxMemories => 10_000_000});
my $key = $t->{key};
for my $n (split /,/, $o{sizes}) {
	my %scope = (namespace => 'bench', externalUserId => "scope-$n-" . time);
	my $in = ingest($t, \%scope, $n, $corpus);
	my $q = search_quality($key, \%scope, $corpus, $o{queries}, 50);
	printf "{\"corpus\":\"%s\",\"scope\":%d,\"acceptedPerSecond\":%.0f,\"searchablePerSecond\":%.0f,\"searchMode\":\"%s\","
		. "\"latencyMs\":{\"p50\":%.2f,\"p99\":%.2f},\"serverMs\":{\"p50\":%.2f,\"p99\":%.2f},\"recallAt10\":%.3f}\n",
		$o{corpus}, $n, $n / $in->{accepted_s}, $n / $in->{searchable_s}, $q->{mode}, $q->{latency_ms}{p50},
		$q->{latency_ms}{p99}, $q->{server_ms}{p50}, $q->{server_ms}{p99}, $q->{recall_at_10};
}
Test::More::pass('bench done');

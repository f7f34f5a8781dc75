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
use lib "t/lib";
use JSON::PP ();
use MemoxCorpus;

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
	my $t0 = time;
	for (my $i = 0; $i < $n; $i += 100) {
		my $k = $n - $i < 100 ? $n - $i : 100;
		my $res = mx(POST => '/memories/batch', $key,
			{memories => [map { {%scope, content => $corpus->memory . " #$_", metadata => {b => $_ % 100}} } $i .. $i + $k - 1]});
		die "batch: $res->{status} $res->{content}" unless $res->{status} == 202;
	}
	my $accepted = time - $t0;
	my $sql = "SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND external_user_id = '$scope{externalUserId}'"
		. " AND status = 'ready'";
	wait_until(3600, sub { psql($sql) == $n }) or die "not all ready";
	my $ready = time - $t0;
	my (@lat, @took, $hits, $total, $mode);
	for my $q (1 .. $o{queries}) {
		my $query = $corpus->query;
		my $s0 = time;
		my $res = mx(POST => '/search', $key, {%scope, query => $query, topK => 10});
		push @lat, (time - $s0) * 1000;
		my $r = JSON::PP::decode_json($res->{content});
		$mode = $r->{searchMode};
		push @took, $r->{tookMs};
		next if $q > 50;
		my $ex = JSON::PP::decode_json(mx(POST => '/search', $key, {%scope, query => $query, topK => 10, exact => JSON::PP::true})->{content});
		my %truth = map { $_->{id} => 1 } @{$ex->{results}};
		my $last = @{$ex->{results}} ? $ex->{results}[-1]{score} : 1;
		$hits += grep { $truth{$_->{id}} || $_->{score} >= $last - 1e-6 } @{$r->{results}};
		$total += @{$ex->{results}};
	}
	@lat = sort { $a <=> $b } @lat;
	@took = sort { $a <=> $b } @took;
	my $pct = sub { my ($a, $p) = @_; $a->[int($p * $#$a + 0.5)] };
	printf "{\"corpus\":\"%s\",\"scope\":%d,\"acceptedPerSecond\":%.0f,\"searchablePerSecond\":%.0f,\"searchMode\":\"%s\","
		. "\"latencyMs\":{\"p50\":%.2f,\"p99\":%.2f},\"serverMs\":{\"p50\":%.2f,\"p99\":%.2f},\"recallAt10\":%.3f}\n",
		$o{corpus}, $n, $n / $accepted, $n / $ready, $mode, $pct->(\@lat, 0.5), $pct->(\@lat, 0.99), $pct->(\@took, 0.5),
		$pct->(\@took, 0.99), $total ? $hits / $total : 0;
}
Test::More::pass('bench done');

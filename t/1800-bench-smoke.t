#!/usr/bin/perl
# 1800-bench-smoke: make bench's driver (bench/bench.pl) runs against the
# test stack with tiny sizes and one-second figures and writes a complete
# report.  The figures themselves are not checked: a sanitizer build under a
# test suite says nothing about speed.
use strict;
use warnings;
use lib 't/lib';
use Aiget;
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;

Aiget::require_stack();
plan skip_all => 'wrk is not installed (spawn/dev/install-deps installs it)' unless grep { -x "$_/wrk" } split(/:/, $ENV{PATH});
chdir $ENV{AIGET_SRC} or die "chdir: $!";

my $out = tempdir(CLEANUP => 1);
my $rc = system("perl bench/bench.pl --url '" . base_url() . "' --var '" . var_dir() . "' --out '$out'"
	. " --seconds 1 --connections 2 --sizes 50 --queries 5 --wide 3x20 --tag smoke 2>'$out/log'");
is($rc, 0, 'the driver ran') or diag(`cat '$out/log'`);
my ($json) = glob("$out/*-smoke.json");
my ($md) = glob("$out/*-smoke.md");
ok($json && -s $json, 'a JSON report');
ok($md && -s $md, 'a Markdown table');
my $r = eval { open(my $fh, '<', $json) or die; JSON::PP::decode_json(do { local $/; <$fh> }) } || {};

ok($r->{gitDescribe} && $r->{cpus} > 0, 'the report names the commit and the CPUs');
is($r->{parameters}{seconds}, 1, 'and the parameters');
like($r->{config}{AUTH_SCRYPT_N} // '', qr/^\d+$/, 'and the scrypt parameters');
for my $b ('nginx', map { "health:$_" } areas()) {
	my $f = $r->{baselines}{$b} || {};
	ok(($f->{requests} // 0) > 0 && $f->{errors} == 0, "baseline $b: requests, no errors");
}
for my $k (qw(keys_self memox_get auth_me auth_refresh auth_login)) {
	my $f = $r->{figures}{$k} || {};
	ok(($f->{requests} // 0) > 0 && $f->{errors} == 0 && !$f->{poolExhausted}, "$k: requests, no errors")
		or diag(JSON::PP->new->canonical->encode($f));
	ok(defined $f->{p50Ms} && defined $f->{p99Ms} && defined $f->{rps}, "$k: req/s, p50, p99");
}
my ($s) = @{$r->{search} || []};
is($s->{scope}, 50, 'a search scope of 50');
is($s->{recallAt10}, 1, 'recall@10 of the exact plan is 1');
ok($s->{searchablePerSecond} > 0 && $s->{wrk}{requests} > 0 && $s->{wrk}{errors} == 0, 'ingestion and loaded search measured');
ok($s->{justIngested}{serverP50Ms} > 0 && $s->{sequential}{serverP50Ms} > 0, 'search measured just after the writes and settled');
ok(($s->{floor}{p50Ms} // 0) > 0 && $s->{floor}{p99Ms} >= $s->{floor}{p50Ms} && $s->{floor}{queries} > 0,
	'the vector database\'s floor measured for the same queries');
for my $mode (qw(keyword hybrid)) {
	my $m = $s->{modes}{$mode} || {};
	ok(($m->{sequential}{serverP50Ms} // 0) > 0 && ($m->{wrk}{requests} // 0) > 0 && $m->{wrk}{errors} == 0,
		"search mode $mode measured one at a time and loaded, no errors") or diag(JSON::PP->new->canonical->encode($m));
}
my $w = $r->{wideTenant} || {};
is($w->{memories}, 60, 'a wide tenant of 3 scopes of 20');
ok(($w->{alone}{serverP99Ms} // 0) > 0 && ($w->{among}{serverP99Ms} // 0) > 0 && $w->{searchablePerSecond} > 0,
	'one scope searched alone and among the others, ingestion measured') or diag(JSON::PP->new->canonical->encode($w));
is($w->{searchMode}, 'exact', 'small scopes: the exact plan');
for my $a (areas(), 'worker') {
	ok(@{$r->{rssKiB}{after}{$a} || []} && !grep({ !defined } @{$r->{rssKiB}{after}{$a}}), "resident memory of $a");
}
like(do { open(my $fh, '<', $md); local $/; <$fh> // '' }, qr/\| GET \/api\/v1\/keys\/self .*\| \d+% \| \d+% \|/,
	'the table has the key request with its ratios');
like(do { open(my $fh, '<', $md); local $/; <$fh> // '' }, qr/\| 50 \| hybrid \| [\d.]+ \| [\d.]+ \| [\d.]+× \|/,
	'and the hybrid mode beside the semantic one');
like(do { open(my $fh, '<', $md); local $/; <$fh> // '' }, qr/\| 60 \| 3 \| \d+ \| \d+ \| exact \| [\d.]+ \/ [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+× \|/,
	'and the wide tenant\'s row');
done_testing;

#!/usr/bin/perl
# Keyword and hybrid search: POST /search with mode keyword ranks the scope's
# memories by the words they share with the query (rare words first), finds
# a memory the worker has not embedded yet, applies the filter and expiry,
# splits text of several scripts into words; hybrid fuses the semantic and
# keyword rankings by reciprocal rank exactly as documented (checked
# against both legs' own answers), with rrfK and keywordWeight; another
# tenant or end user finds nothing; bad mode fields are refused.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'keyword');
my $key = $t->{key};
my %scope = (namespace => 'kw', externalUserId => 'u1');
my $M = '/api/v1/memox/memories';
my $S = '/api/v1/memox/search';

sub body { decode_json_ok($_[0], $_[1] // 'answer') }
sub search { body(call($key, POST => $S, {%scope, @_})) }
sub ids { [map { $_->{id} } @{$_[0]{results}}] }
sub write_memory {
	my ($content, %o) = @_;
	my $res = call($key, POST => $M, {%scope, content => $content, %o});
	die "write: $res->{status} $res->{content}" unless $res->{status} == 202;
	return body($res)->{id};
}

my %id;
$id{invoice} = write_memory('Invoice INV-20931 from Northwind was paid on the third of March', metadata => {topic => 'money'});
$id{cat} = write_memory('The name of the cat is Miso', metadata => {topic => 'pets'});
$id{dentist} = write_memory('The dentist appointment moved to Friday at the clinic', metadata => {topic => 'health'});
$id{car} = write_memory('The car is parked on the second floor of the garage', metadata => {topic => 'car'});
$id{keys} = write_memory('Die Schlüssel liegen unter der Fußmatte', metadata => {topic => 'home'});
$id{ru} = write_memory('Ключи лежат под ковриком у двери', metadata => {topic => 'home'});
$id{greek} = write_memory('Το κλειδί είναι στη ΓΛΑΣΤΡΑ', metadata => {topic => 'home'});
$id{"filler$_"} = write_memory("the plan of the day number $_ is on the list of the week") for 1 .. 12;
is(memox_wait($key, 60, values %id), scalar(keys %id), 'all memories ready');

# ------------------------------------------------------------ keyword mode
my $r = search(query => 'INV-20931', mode => 'keyword');
is($r->{mode}, 'keyword', 'the answer names the mode');
is($r->{searchMode}, 'keyword', 'and searchMode says keyword');
ok(!exists $r->{model}, 'no embedding model in keyword mode');
is($r->{results}[0]{id}, $id{invoice}, 'an invoice number finds its memory first');
is(scalar @{$r->{results}}, 1, 'and only it: no other memory holds those words');
my $first = $r->{results}[0];
ok($first->{score} > 0, 'a positive score');
is_deeply([@{$first}{qw(version matchedVersion status)}], [1, 1, 'ready'], 'version, matchedVersion and status');
is_deeply($first->{metadata}, {topic => 'money'}, 'its metadata');
like($first->{createdAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'createdAt');

$r = search(query => 'what is the name of the cat', mode => 'keyword');
is($r->{results}[0]{id}, $id{cat}, 'common words weigh little: the memory with "name" and "cat" comes first');
ok(scalar(@{$r->{results}}) > 5, 'memories sharing only "the" and "of" match too, ranked below')
	or diag explain ids($r);
my @scores = map { $_->{score} } @{$r->{results}};
is_deeply(\@scores, [sort { $b <=> $a } @scores], 'best first');

is_deeply(ids(search(query => 'MISO', mode => 'keyword')), [$id{cat}], 'case does not matter');
is_deeply(ids(search(query => 'appointments', mode => 'keyword')), [],
	'a word matches only itself: no stemming in keyword mode ...');
ok((grep { $_ eq $id{dentist} } @{ids(search(query => 'appointments'))}), '... which the semantic mode finds');
is_deeply(ids(search(query => 'fußmatte', mode => 'keyword')), [$id{keys}], 'German');
is_deeply(ids(search(query => 'КОВРИКОМ', mode => 'keyword')), [$id{ru}], 'Russian, upper case');
is_deeply(ids(search(query => 'γλαστρα', mode => 'keyword')), [$id{greek}], 'Greek, written in capitals');
is_deeply(ids(search(query => 'γλάστρα', mode => 'keyword')), [], 'accents are kept: γλάστρα is not ΓΛΑΣΤΡΑ');
is_deeply(ids(search(query => 'cat', mode => 'keyword', filter => {topic => 'money'})), [], 'the filter applies');
is_deeply(ids(search(query => 'the cat', mode => 'keyword', filter => {topic => {'$in' => ['pets', 'car']}})),
	[$id{cat}, $id{car}], 'a filter keeps its memories only, ranked');
is(scalar @{search(query => 'the', mode => 'keyword', topK => 3)->{results}}, 3, 'topK bounds the results');
for my $q ("a & b | !c <-> 'd' :* (", '!!! ,,, ???', "\\' '' \\\\") {
	my $res = call($key, POST => $S, {%scope, query => $q, mode => 'keyword'});
	is($res->{status}, 200, "query '$q': operators and quotes are words or nothing, never syntax");
}
is_deeply(ids(search(query => '!!! ,,, ???', mode => 'keyword')), [], 'a query without words finds nothing');
my $long = join ' ', map { "word$_" } 1 .. 700;
is(call($key, POST => $S, {%scope, query => substr("Miso $long", 0, 4096), mode => 'keyword'})->{status}, 200,
	'a query of 700 words (4 KB) is answered');
is(search(query => substr("Miso $long", 0, 4096), mode => 'keyword')->{results}[0]{id}, $id{cat},
	'its first words count');

# ------------------------------------------------------------ pending and expired
my $boat;
with_service_stopped(worker => sub {
	$boat = write_memory('The boat is called Sea Breeze');
	my $k = search(query => 'sea breeze', mode => 'keyword');
	is_deeply(ids($k), [$boat], 'a memory not embedded yet is found by its words');
	is($k->{results}[0]{status}, 'pending', 'its status says pending');
	ok(!(grep { $_ eq $boat } @{ids(search(query => 'sea breeze'))}), 'semantic search does not find it yet');
	# The semantic leg ranks the scope's nearest whatever they say, so the
	# boat, first of the keyword leg only, ties with its first.
	my ($b) = grep { $_->{id} eq $boat } @{search(query => 'sea breeze', mode => 'hybrid')->{results}};
	ok($b, 'hybrid search finds it by the keyword leg');
	is($b->{semanticScore}, undef, 'semanticScore null: the semantic leg did not find it');
	ok($b->{keywordScore} > 0, 'keywordScore given');
	is($b->{status}, 'pending', 'status pending');
});
is(memox_wait($key, 30, $boat), 1, 'embedded once the worker is back');

my $gone = write_memory('The spare key is in the blue flowerpot');
is(memox_wait($key, 30, $gone), 1, 'a memory to expire');
is_deeply(ids(search(query => 'flowerpot', mode => 'keyword')), [$gone], 'found while alive');
psql("UPDATE memories SET expires_at = now() - interval '1 second' WHERE id = '$gone'");
is_deeply(ids(search(query => 'flowerpot', mode => 'keyword')), [], 'expired: absent from keyword search');
ok(!(grep { $_ eq $gone } @{ids(search(query => 'flowerpot', mode => 'hybrid'))}), 'and from hybrid search');

# ------------------------------------------------------------ hybrid: the fusion as documented
# Each leg ranks 20 for topK 10; a memory's score is (1 - w) / (k + semantic
# rank) + w / (k + keyword rank), summed over the legs that found it.
for my $case ([{}, 60, 0.5], [{rrfK => 5}, 5, 0.5], [{rrfK => 1, keywordWeight => 0.8}, 1, 0.8]) {
	my ($extra, $k, $w) = @$case;
	my $query = 'the cat is parked on the list';
	my @sem = @{ids(search(query => $query, topK => 20))};
	my @kw = @{ids(search(query => $query, mode => 'keyword', topK => 20))};
	my %fused;
	$fused{$sem[$_]} += (1 - $w) / ($k + $_ + 1) for 0 .. $#sem;
	$fused{$kw[$_]} += $w / ($k + $_ + 1) for 0 .. $#kw;
	my $h = search(query => $query, mode => 'hybrid', %$extra);
	is($h->{mode}, 'hybrid', "k $k, w $w: mode hybrid");
	is($h->{rrfK}, $k, "rrfK $k in the answer");
	is(scalar @{$h->{results}}, 10, 'topK results');
	my $ok = 1;
	for my $res (@{$h->{results}}) {
		$ok &&= abs($res->{score} - $fused{$res->{id}}) < 1e-7 or diag "$res->{id}: $res->{score} vs $fused{$res->{id}}";
	}
	ok($ok, 'each score is the documented fusion of its ranks in both legs');
	my @want = sort { $fused{$b} <=> $fused{$a} } keys %fused;
	is_deeply([map { sprintf '%.7f', $fused{$_} } @{ids($h)}], [map { sprintf '%.7f', $fused{$_} } @want[0 .. 9]],
		'the ten best fused scores, best first');
}
my $query = 'the cat is parked on the list';
is_deeply(ids(search(query => $query, mode => 'hybrid', keywordWeight => 0)), ids(search(query => $query)),
	'keywordWeight 0: the semantic ranking');
is_deeply(ids(search(query => $query, mode => 'hybrid', keywordWeight => 1)), ids(search(query => $query, mode => 'keyword')),
	'keywordWeight 1: the keyword ranking');
my $h = search(query => 'INV-20931 Miso', mode => 'hybrid', filter => {topic => 'pets'});
is_deeply(ids($h), [$id{cat}], 'the filter applies to both legs');
$h = search(query => 'Miso', mode => 'hybrid', minScore => 0.99);
is($h->{results}[0]{id}, $id{cat}, 'minScore cuts the semantic leg only: still found by its word');
is($h->{results}[0]{semanticScore}, undef, 'not by its meaning');
ok($h->{belowMinScore} > 0, 'belowMinScore counts the semantic leg\'s cuts');

# ------------------------------------------------------------ isolation
my $other = memox_tenant(name => 'keyword other');
for my $mode (qw(keyword hybrid)) {
	my $res = body(call($other->{key}, POST => $S, {%scope, query => 'Miso INV-20931 the', mode => $mode}));
	is_deeply($res->{results}, [], "$mode: another tenant's key with the same scope names finds nothing");
	$res = search(query => 'Miso INV-20931 the', mode => $mode, externalUserId => 'u2');
	is_deeply($res->{results}, [], "$mode: another end user of the tenant finds nothing");
}

# ------------------------------------------------------------ bad input
my $before = psql("SELECT count(*) || ':' || sum(version) FROM memories WHERE tenant_id = '$t->{tenant}'");
my @bad = (
	[{mode => 'fuzzy'}, 'mode'], [{mode => 1}, 'mode'], [{mode => ''}, 'mode'], [{mode => JSON::PP::true}, 'mode'],
	[{mode => 'KEYWORD'}, 'mode'],
	[{mode => 'keyword', minScore => 0.5}, 'minScore'], [{mode => 'keyword', exact => JSON::PP::true}, 'exact'],
	[{rrfK => 60}, 'rrfK'], [{mode => 'keyword', keywordWeight => 0.5}, 'keywordWeight'],
	[{mode => 'hybrid', rrfK => 0}, 'rrfK'], [{mode => 'hybrid', rrfK => 1001}, 'rrfK'],
	[{mode => 'hybrid', rrfK => 1.5}, 'rrfK'], [{mode => 'hybrid', rrfK => '60'}, 'rrfK'],
	[{mode => 'hybrid', keywordWeight => -0.1}, 'keywordWeight'], [{mode => 'hybrid', keywordWeight => 1.5}, 'keywordWeight'],
	[{mode => 'hybrid', keywordWeight => '0.5'}, 'keywordWeight'],
	[{mode => 'keyword', topK => 0}, 'topK'], [{mode => 'keyword', filter => {'$bad' => 1}}, 'bad'],
	[{mode => 'keyword', query => '   '}, 'query'],
);
for my $case (@bad) {
	my ($fields, $named) = @$case;
	my $res = call($key, POST => $S, {%scope, query => 'cat', %$fields});
	error_is($res, 400, 'invalid_request', 'refused: ' . JSON::PP->new->canonical->allow_nonref->encode($fields));
	like(body($res)->{error}{message}, qr/\Q$named\E/, "the message names $named");
}
is(psql("SELECT count(*) || ':' || sum(version) FROM memories WHERE tenant_id = '$t->{tenant}'"), $before,
	'nothing changed');

# The keyword index has no pending list (sql/main/0012): with one, the
# statement that found it past 4 MB merged all of it, and a batch POST into
# a large scope ran past the statement timeout.
is(psql("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'memories_words_idx'"),
	'fastupdate=off', 'the keyword index writes each entry with its own statement (no pending list to flush)');

done_testing;

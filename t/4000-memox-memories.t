#!/usr/bin/perl
# Memories through the memox API with a tenant key: write (202, pending, then
# ready once the worker embedded it), read, list in keyset pages, dedup of the
# same content, Idempotency-Key replays, PATCH re-embeds, DELETE removes from
# reads and search at once, and an end user's erasure runs in the background
# with its progress visible.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'memories');
my $key = $t->{key};
my %scope = (namespace => 'notes', externalUserId => 'user-1');
sub search {
	my (%o) = @_;
	my $res = call($key, POST => '/api/v1/memox/search', {%scope, %o});
	return answer_is($res, 200, "search '$o{query}'");
}

# ------------------------------------------------------------- write, read
my $res = call($key, POST => '/api/v1/memox/memories', {%scope, content => 'My dog is called Biscuit and loves the beach',
	metadata => {topic => 'pets', n => 3}});
my $w = answer_is($res, 202, 'write');
like($w->{id}, qr/^[0-9a-f-]{36}$/, 'write: an id');
is($w->{status}, 'pending', 'write: pending');
is($w->{duplicate}, JSON::PP::false, 'write: not a duplicate');
is(memox_wait($key, 20, $w->{id}), 1, 'the worker makes it ready');
my $m = answer_is(call($key, GET => "/api/v1/memox/memories/$w->{id}"), 200, 'read');
is($m->{content}, 'My dog is called Biscuit and loves the beach', 'read: content');
is_deeply($m->{metadata}, {topic => 'pets', n => 3}, 'read: metadata');
is($m->{$_}, $scope{$_}, "read: $_") for qw(namespace externalUserId);
is($m->{status}, 'ready', 'read: ready');
is($m->{model}, 'local-hash-v1', 'read: the model');
is($m->{dimensions}, 384, 'read: its dimensions');
is($m->{version}, 1, 'read: version 1');
like($m->{$_}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, "read: $_ is RFC 3339 UTC") for qw(createdAt updatedAt embeddedAt);
is($m->{error}, undef, 'read: no error');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id = '$w->{id}' AND dimensions = 384"), 1,
	'one vector row in the vector database');

# Non-ASCII text goes in and out unchanged.
my $u = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'Café con leche ☕ — naïve résumé'}), 202, 'UTF-8 write');
is(memox_wait($key, 20, $u->{id}), 1, 'UTF-8 memory ready');
is(answer_is(call($key, GET => "/api/v1/memox/memories/$u->{id}"), 200, 'UTF-8 read')->{content}, 'Café con leche ☕ — naïve résumé',
	'UTF-8 content round-trips');

# ------------------------------------------------------------- search finds it first
my @filler = map { "Filler note number $_ about groceries, weather and trains" } 1 .. 12;
my $fb = answer_is(call($key, POST => "/api/v1/memox/memories/batch", {memories => [map { {%scope, content => $_} } @filler]}), 202, "batch");
is(scalar @{$fb->{memories}}, 12, 'batch: one answer per item');
is(memox_wait($key, 20, map { $_->{id} } @{$fb->{memories}}), 12, 'batch: all ready');
my $s = search(query => 'what is my dog called?');
is($s->{results}[0]{id}, $w->{id}, 'search: the memory that shares the words comes first');
ok($s->{results}[0]{score} > ($s->{results}[1]{score} // -1), 'search: ranked by score');
is($s->{results}[0]{content}, 'My dog is called Biscuit and loves the beach', 'search: content');
is_deeply($s->{results}[0]{metadata}, {topic => 'pets', n => 3}, 'search: metadata');
like($s->{results}[0]{createdAt}, qr/Z$/, 'search: createdAt');
ok(defined $s->{tookMs} && $s->{tookMs} >= 0, 'search: the time it took');
is(scalar @{search(query => 'groceries', topK => 5)->{results}}, 5, 'search: at most topK');
is(scalar @{search(query => 'groceries', topK => 50)->{results}}, 14, 'search: every memory of the scope when topK allows');
my $other = answer_is(call($key, POST => '/api/v1/memox/search', {namespace => 'notes', externalUserId => 'user-2', query => 'dog Biscuit'}),
	200, 'search of another end user');
is(scalar @{$other->{results}}, 0, 'search: another end user sees none of these');

# ------------------------------------------------------------- dedup
my $d = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'My dog is called Biscuit and loves the beach'}), 200,
	'same content again');
is($d->{id}, $w->{id}, 'dedup: the existing memory');
is($d->{duplicate}, JSON::PP::true, 'dedup: marked duplicate');
is($d->{status}, 'ready', 'dedup: its status');
my $in = answer_is(call($key, POST => '/api/v1/memox/memories/batch', {memories => [{%scope, content => 'twin text'}, {%scope, content => 'twin text'},
	{%scope, content => 'My dog is called Biscuit and loves the beach'}]}), 202, 'batch with duplicates');
is($in->{memories}[0]{id}, $in->{memories}[1]{id}, 'dedup: the same content twice in a batch is one memory');
is_deeply([map { $_->{duplicate} ? 1 : 0 } @{$in->{memories}}], [0, 1, 1], 'dedup: later copies are duplicates');
is($in->{memories}[2]{id}, $w->{id}, 'dedup: an existing memory in a batch');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND content = 'twin text'"), 1, 'dedup: one row');
my $ns2 = answer_is(call($key, POST => '/api/v1/memox/memories', {namespace => 'other-ns', externalUserId => 'user-1', content => 'twin text'}),
	202, 'same content in another namespace');
isnt($ns2->{id}, $in->{memories}[0]{id}, 'dedup is per scope');

# ------------------------------------------------------------- Idempotency-Key
my $ik = "idem-$$-" . time;
my $i1 = call($key, POST => '/api/v1/memox/memories', {%scope, content => 'idempotent write one'}, {'Idempotency-Key' => $ik});
my $i1b = answer_is($i1, 202, 'idempotent write');
my $i2 = call($key, POST => '/api/v1/memox/memories', {%scope, content => 'idempotent write one'}, {'Idempotency-Key' => $ik});
is($i2->{status}, 202, 'replay: the first status again');
is($i2->{content}, $i1->{content}, 'replay: the first body again');
is($i2->{headers}{'idempotent-replayed'}, 'true', 'replay: marked');
error_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'something else'}, {'Idempotency-Key' => $ik}), 409, 'conflict',
	'the same key with another body');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND content = 'something else'"), 0,
	'the conflicting request wrote nothing');
my $ib = call($key, POST => '/api/v1/memox/memories/batch', {memories => [{%scope, content => 'idempotent batch'}]}, {'Idempotency-Key' => $ik});
is($ib->{status}, 202, 'the same key on another route is another key');
my @ttl = grep { /^idem:/ } split /\n/, redis_cli('--scan', '--pattern', "idem:{$t->{tenant}}:*");
ok(@ttl >= 2, 'answers kept in Redis');
my $ttl = redis_cli('TTL', $ttl[0]);
ok($ttl > 86000 && $ttl <= 86400, "kept 24 hours (ttl $ttl)");
error_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'x'}, {'Idempotency-Key' => 'a' x 300}), 400, 'invalid_request',
	'an Idempotency-Key too long');

# ------------------------------------------------------------- paging
my %big = (namespace => 'paging', externalUserId => 'many');
my @all;
for my $chunk (0 .. 2) {
	my $r = answer_is(call($key, POST => '/api/v1/memox/memories/batch', {memories => [map { {%big, content => "paged memory $chunk-$_"} } 1 .. 40]}),
		202, "paging batch $chunk");
	push @all, map { $_->{id} } @{$r->{memories}};
}
my (%seen, $cursor, $pages);
do {
	my $q = "/memories?namespace=paging&externalUserId=many&limit=50" . ($cursor ? "&cursor=$cursor" : '');
	my $p = answer_is(call($key, GET => "/api/v1/memox$q"), 200, 'page ' . ++$pages);
	ok(@{$p->{memories}} <= 50, "page $pages: at most the limit");
	$seen{$_->{id}}++ for @{$p->{memories}};
	$cursor = $p->{nextCursor};
} while ($cursor && $pages < 10);
is($pages, 3, '120 memories are 3 pages of 50');
is(scalar(keys %seen), 120, 'every memory listed');
ok(!grep({ $_ != 1 } values %seen), 'none twice');
my $first = answer_is(call($key, GET => '/api/v1/memox/memories?namespace=paging&externalUserId=many&limit=5'), 200, 'newest first');
my @times = map { $_->{createdAt} } @{$first->{memories}};
is_deeply(\@times, [sort { $b cmp $a } @times], 'newest first');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=paging&externalUserId=many&limit=1000'), 400, 'invalid_request', 'limit over 100');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=paging&externalUserId=many&cursor=nonsense'), 400, 'invalid_request', 'a bad cursor');
is(memox_wait($key, 30, @all), 120, 'the paging scope all ready');
my $ready = answer_is(call($key, GET => '/api/v1/memox/memories?namespace=paging&externalUserId=many&status=ready&limit=100'), 200, 'status filter');
is(scalar @{$ready->{memories}}, 100, 'list by status');

# ------------------------------------------------------------- PATCH re-embeds
my $p = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'The spare key hides under the blue flowerpot'}), 202, 'to change');
is(memox_wait($key, 20, $p->{id}), 1, 'ready before the change');
is(search(query => 'blue flowerpot')->{results}[0]{id}, $p->{id}, 'found by its old words');
my $pa = answer_is(call($key, PATCH => "/api/v1/memox/memories/$p->{id}", {content => 'The spare key is with the neighbour Ingrid',
	metadata => {moved => JSON::PP::true}}), 202, 'PATCH');
is($pa->{status}, 'pending', 'PATCH: pending again');
is($pa->{version}, 2, 'PATCH: version 2');
is(memox_wait($key, 20, $p->{id}), 1, 'PATCH: embedded again');
my $after = search(query => 'blue flowerpot');
ok(!grep({ $_->{id} eq $p->{id} && $_->{score} > 0.2 } @{$after->{results}}), 'old words no longer find it')
	or diag explain $after;
is(search(query => 'neighbour Ingrid')->{results}[0]{id}, $p->{id}, 'new words find it');
is_deeply(answer_is(call($key, GET => "/api/v1/memox/memories/$p->{id}"), 200, 'read after PATCH')->{metadata}, {moved => JSON::PP::true},
	'PATCH replaced the metadata');
is(psql_vector("SELECT string_agg(version::text, ',') FROM memory_vectors WHERE memory_id = '$p->{id}'"), '2',
	'one vector, of version 2');
my $pm = answer_is(call($key, PATCH => "/api/v1/memox/memories/$p->{id}", {metadata => {moved => JSON::PP::false}}), 202, 'PATCH metadata only');
is($pm->{content}, 'The spare key is with the neighbour Ingrid', 'metadata-only PATCH keeps the content');
error_is(call($key, PATCH => "/api/v1/memox/memories/$p->{id}", {content => 'twin text'}), 409, 'conflict',
	'PATCH to the content of another memory of the scope');
error_is(call($key, PATCH => "/api/v1/memox/memories/$p->{id}", {}), 400, 'invalid_request', 'PATCH with nothing to change');

# ------------------------------------------------------------- DELETE
my $gone = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'Temporary secret phrase zebra umbrella'}), 202, 'to delete');
is(memox_wait($key, 20, $gone->{id}), 1, 'ready before delete');
is(search(query => 'zebra umbrella')->{results}[0]{id}, $gone->{id}, 'found before delete');
is(call($key, DELETE => "/api/v1/memox/memories/$gone->{id}")->{status}, 204, 'DELETE: 204');
error_is(call($key, GET => "/api/v1/memox/memories/$gone->{id}"), 404, 'not_found', 'deleted: GET');
ok(!grep({ $_->{id} eq $gone->{id} } @{search(query => 'zebra umbrella')->{results}}), 'deleted: never in search');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id = '$gone->{id}'"), 0, 'deleted: its vector too');
error_is(call($key, DELETE => "/api/v1/memox/memories/$gone->{id}"), 404, 'not_found', 'DELETE twice');

# ------------------------------------------------------------- erase one end user
my %eu = (namespace => 'notes', externalUserId => 'leaving-user');
my $e = answer_is(call($key, POST => '/api/v1/memox/memories/batch', {memories => [map { {%eu, content => "leaving note $_"} } 1 .. 7]}), 202,
	'the leaving user writes');
is(memox_wait($key, 20, map { $_->{id} } @{$e->{memories}}), 7, 'leaving user: ready');
my $er = call($key, DELETE => '/api/v1/memox/memories?namespace=notes&externalUserId=leaving-user');
my $erb = answer_is($er, 202, 'erase');
like($er->{headers}{location} // '', qr{^/api/v1/memox/erasures/$erb->{id}$}, 'erase: Location of its progress');
ok($erb->{status} eq 'pending' || $erb->{status} eq 'running', 'erase: not done yet when answered');
my $done = wait_until(20, sub {
	my $g = call($key, GET => "/api/v1/memox/erasures/$erb->{id}");
	my $j = eval { JSON::PP::decode_json($g->{content}) } // {};
	return $j->{status} eq 'done' ? $j : undef;
});
ok($done, 'erase: done');
is($done->{deleted}, 7, 'erase: counts what it deleted');
like($done->{finishedAt} // '', qr/Z$/, 'erase: finishedAt');
is(scalar @{answer_is(call($key, GET => '/api/v1/memox/memories?namespace=notes&externalUserId=leaving-user'), 200, 'list after erase')->{memories}},
	0, 'erase: nothing left to list');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t->{tenant}' AND external_user_id = 'leaving-user'"), 0,
	'erase: no vector left');
is(call($key, GET => "/api/v1/memox/memories/$w->{id}")->{status}, 200, 'erase: other end users keep theirs');

# ------------------------------------------------------------- usage
my $usage = JSON::PP::decode_json(api(GET => "/api/v1/tenants/$t->{tenant}/usage", {headers => bearer($t->{token})})->{content});
is($usage->{memoriesStored}, psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}'"), 'usage: memories stored');
ok($usage->{embeddingCalls} >= 140, "usage: embedding calls counted ($usage->{embeddingCalls})");
ok($usage->{requests}{memox} > 0, 'usage: memox requests counted');

done_testing();

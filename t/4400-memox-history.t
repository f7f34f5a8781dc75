#!/usr/bin/perl
# A memory's history: every PATCH keeps the version it replaces (content,
# metadata, when, which key), GET /memories/{id}/history lists them newest
# first in keyset pages; search keeps finding a changed memory by its
# previous embedding until the new one is ready, and says which version
# matched; deleting the memory, erasing its end user or deleting its tenant
# deletes its history; bad input on the route is refused and changes nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'history');
my $key = $t->{key};
my $other = keys_make($t->{token}, $t->{tenant}, name => 'second key', scopes => ['memox:read', 'memox:write']);
my %scope = (namespace => 'hist', externalUserId => 'user-1');
sub history {
	my ($id, $q, $what) = @_;
	return answer_is(call($key, GET => "/api/v1/memox/memories/$id/history" . ($q // '')), 200, $what // "history of $id");
}
sub search {
	my (%o) = @_;
	return answer_is(call($key, POST => '/api/v1/memox/search', {%scope, topK => 5, %o}), 200, "search '$o{query}'")->{results};
}
sub versions_kept { psql("SELECT count(*) FROM memory_versions WHERE memory_id = '$_[0]'") }

# ------------------------------------------------------------- versions of several changes
my $w = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'The boat is moored at pier seven',
	metadata => {place => 'harbour'}}), 202, 'write');
my $id = $w->{id};
is(memox_wait($key, 20, $id), 1, 'ready');
my $h = history($id, '', 'history of a memory never changed');
is(scalar @{$h->{versions}}, 1, 'one version: the current one');
is($h->{versions}[0]{version}, 1, 'version 1');
is($h->{versions}[0]{keyId}, $t->{key_id}, 'made by the key that wrote it');
is($h->{versions}[0]{replacedAt}, undef, 'the current version is not replaced');
is($h->{nextCursor}, undef, 'one page');
my $created = answer_is(call($key, GET => "/api/v1/memox/memories/$id"), 200, 'read')->{createdAt};
is($h->{versions}[0]{createdAt}, $created, 'version 1 was made when the memory was written');

answer_is(call($other->{key}, PATCH => "/api/v1/memox/memories/$id", {content => 'The boat is moored at pier nine'}), 202,
	'PATCH content with the second key');
answer_is(call($key, PATCH => "/api/v1/memox/memories/$id", {metadata => {place => 'marina'}}), 202, 'PATCH metadata');
my $p4 = answer_is(call($other->{key}, PATCH => "/api/v1/memox/memories/$id", {content => 'The boat is sold',
	metadata => {place => 'none', sold => JSON::PP::true}}), 202, 'PATCH both');
is($p4->{version}, 4, 'version 4');
is(versions_kept($id), 3, 'three replaced versions kept');
error_is(call($key, PATCH => "/api/v1/memox/memories/$id", {content => 'x' x 10, metadata => 'not an object'}), 400,
	'invalid_request', 'a refused PATCH');
is(versions_kept($id), 3, 'a refused PATCH keeps no version');

$h = history($id);
my @v = @{$h->{versions}};
is_deeply([map { $_->{version} } @v], [4, 3, 2, 1], 'newest first, the current one first');
is_deeply([map { $_->{content} } @v], ['The boat is sold', 'The boat is moored at pier nine', 'The boat is moored at pier nine',
	'The boat is moored at pier seven'], 'the content of each version');
is_deeply([map { $_->{metadata} } @v], [{place => 'none', sold => JSON::PP::true}, {place => 'marina'}, {place => 'harbour'},
	{place => 'harbour'}], 'the metadata of each version');
is_deeply([map { $_->{keyId} } @v], [$other->{id}, $t->{key_id}, $other->{id}, $t->{key_id}], 'the key that made each version');
is($v[0]{replacedAt}, undef, 'the current version: replacedAt null');
like($_->{replacedAt} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/, "version $_->{version}: replacedAt") for @v[1 .. 3];
is($v[$_ + 1]{replacedAt}, $v[$_]{createdAt}, "version $v[$_ + 1]{version} was replaced when version $v[$_]{version} was made")
	for 0 .. 2;
is($v[3]{createdAt}, $created, 'version 1: still its write time');

# Pages of 3, then 1, then every page of 1.
my $p1 = history($id, '?limit=3', 'a page of 3');
is_deeply([map { $_->{version} } @{$p1->{versions}}], [4, 3, 2], 'page 1');
ok(defined $p1->{nextCursor}, 'page 1: a next cursor');
my $p2 = history($id, "?limit=3&cursor=$p1->{nextCursor}", 'page 2');
is_deeply([map { $_->{version} } @{$p2->{versions}}], [1], 'page 2: the rest');
is($p2->{nextCursor}, undef, 'page 2: the last');
my ($cursor, @walk, $pages) = (undef);
do {
	my $p = history($id, '?limit=1' . ($cursor ? "&cursor=$cursor" : ''), 'a page of 1');
	push @walk, map { $_->{version} } @{$p->{versions}};
	$cursor = $p->{nextCursor};
} while ($cursor && ++$pages < 10);
is_deeply(\@walk, [4, 3, 2, 1], 'pages of 1: each version once, in order');
my $past = history($id, '?cursor=1', 'a cursor past the oldest version');
is_deeply($past->{versions}, [], 'an empty page, not a 404');

# ------------------------------------------------------------- search while a change is embedded
is(memox_wait($key, 20, $id), 1, 'version 4 ready');
my $s = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'Grandmother bakes rhubarb pie on Sundays',
	metadata => {topic => 'family'}}), 202, 'a memory to change while the worker is stopped');
is(memox_wait($key, 20, $s->{id}), 1, 'ready');
my ($r) = grep { $_->{id} eq $s->{id} } @{search(query => 'rhubarb pie')};
is($r->{version}, 1, 'ready: version 1');
is($r->{matchedVersion}, 1, 'ready: matched by version 1');
is($r->{status}, 'ready', 'ready: status');
with_service_stopped(worker => sub {
	answer_is(call($key, PATCH => "/api/v1/memox/memories/$s->{id}", {content => 'Grandmother now bakes plum cake',
		metadata => {topic => 'cakes'}}), 202, 'PATCH while the worker is stopped');
	is(psql_vector("SELECT string_agg(version::text, ',') FROM memory_vectors WHERE memory_id = '$s->{id}'"), '1',
		'the vector of version 1 stays');
	my ($m) = grep { $_->{id} eq $s->{id} } @{search(query => 'rhubarb pie')};
	ok($m, 'still found by what it said before') or return;
	is($m->{matchedVersion}, 1, 'matched by version 1');
	is($m->{version}, 2, 'shown at its current version');
	is($m->{status}, 'pending', 'status pending');
	is($m->{content}, 'Grandmother now bakes plum cake', 'its current content');
	is_deeply($m->{metadata}, {topic => 'cakes'}, 'its current metadata');
	ok(grep({ $_->{id} eq $s->{id} } @{search(query => 'rhubarb pie', filter => {topic => 'family'})}),
		'a filter applies to the metadata of the matched version');
	ok(!grep({ $_->{id} eq $s->{id} } @{search(query => 'rhubarb pie', filter => {topic => 'cakes'})}),
		'not to the metadata its embedding does not have yet');
	my $n = answer_is(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'Rhubarb pie recipe needs sugar'}), 202,
		'a new memory while the worker is stopped');
	ok(!grep({ $_->{id} eq $n->{id} } @{search(query => 'rhubarb pie')}), 'a new memory is not found before its embedding');
	# The worker's moment between writing the new vector and marking the
	# memory ready (here the old embedding relabelled as version 2).
	psql_vector("UPDATE memory_vectors SET version = 2 WHERE memory_id = '$s->{id}'");
	($m) = grep { $_->{id} eq $s->{id} } @{search(query => 'rhubarb pie')};
	ok($m, 'found between its new vector and its ready mark') or return;
	is($m->{matchedVersion}, 2, 'then matched by version 2');
	is($m->{status}, 'pending', 'still pending');
});
is(memox_wait($key, 30, $s->{id}), 1, 'embedded once the worker is back');
($r) = grep { $_->{id} eq $s->{id} } @{search(query => 'plum cake')};
ok($r, 'found by its new words');
is($r->{matchedVersion}, 2, 'matched by version 2');
is($r->{status}, 'ready', 'ready');
is(psql_vector("SELECT string_agg(version::text, ',') FROM memory_vectors WHERE memory_id = '$s->{id}'"), '2',
	'one vector, of version 2');

# ------------------------------------------------------------- bad input changes nothing
my $base = "/api/v1/memox/memories/$id/history";
error_is(call($key, GET => '/api/v1/memox/memories/not-a-uuid/history'), 404, 'not_found', 'an id that is no uuid');
error_is(call($key, GET => '/api/v1/memox/memories/00000000-0000-4000-8000-000000000000/history'), 404, 'not_found', 'an unknown id');
error_is(call($key, GET => "$base?namespace=hist"), 400, 'invalid_request', 'an unknown query parameter');
error_is(call($key, GET => "$base?tenantId=$t->{tenant}"), 400, 'invalid_request', 'tenantId in the query');
error_is(call($key, GET => "$base?limit=$_"), 400, 'invalid_request', "limit=$_") for ('0', '101', 'abc', '-1', '');
error_is(call($key, GET => "$base?cursor=$_"), 400, 'invalid_request', "cursor=$_") for ('abc', '1.5', '-3');
error_is(call($key, GET => "$base?limit=1&limit=2"), 400, 'invalid_request', 'limit twice');
my $writer = keys_make($t->{token}, $t->{tenant}, name => 'write only', scopes => ['memox:write']);
error_is(call($writer->{key}, GET => $base), 403, 'forbidden', 'a key without memox:read');
my $stranger = memox_tenant(name => 'history stranger');
error_is(call($stranger->{key}, GET => $base), 404, 'not_found', "another tenant's memory");
is(versions_kept($id), 3, 'nothing changed');

# ------------------------------------------------------------- deletion takes the history
is(call($key, DELETE => "/api/v1/memox/memories/$id")->{status}, 204, 'DELETE');
is(versions_kept($id), 0, 'DELETE: its versions are gone');
error_is(call($key, GET => $base), 404, 'not_found', 'DELETE: its history is a 404');

my %eu = (namespace => 'hist', externalUserId => 'leaving');
my $e = answer_is(call($key, POST => '/api/v1/memox/memories', {%eu, content => 'leaving note one'}), 202, 'the leaving user writes');
answer_is(call($key, PATCH => "/api/v1/memox/memories/$e->{id}", {content => "leaving note $_"}), 202, "PATCH $_") for 2 .. 3;
is(versions_kept($e->{id}), 2, 'the leaving user: two versions kept');
my $er = answer_is(call($key, DELETE => '/api/v1/memox/memories?namespace=hist&externalUserId=leaving'), 202, 'erase the end user');
ok(wait_until(30, sub { JSON::PP::decode_json(call($key, GET => "/api/v1/memox/erasures/$er->{id}")->{content})->{status} eq 'done' }),
	'erasure done');
is(versions_kept($e->{id}), 0, 'erasure: the versions are gone');
is(psql("SELECT count(*) FROM memory_versions WHERE tenant_id = '$t->{tenant}' AND memory_id = '$s->{id}'"), 1,
	"erasure: another end user's versions stay");

my $g = memox_tenant(name => 'history gone');
my $gm = answer_is(call($g->{key}, POST => '/api/v1/memox/memories', {%scope, content => 'a tenant about to go'}), 202, 'its memory');
answer_is(call($g->{key}, PATCH => "/api/v1/memox/memories/$gm->{id}", {content => 'a tenant about to go, changed'}), 202, 'changed');
is(psql("SELECT count(*) FROM memory_versions WHERE tenant_id = '$g->{tenant}'"), 1, 'the tenant: one version kept');
is(api(DELETE => "/api/v1/tenants/$g->{tenant}", {headers => bearer($g->{token})})->{status}, 204, 'tenant deleted');
ok(wait_until(30, sub { psql("SELECT count(*) FROM memories WHERE tenant_id = '$g->{tenant}'") == 0 }), 'tenant.erase: memories gone');
is(psql("SELECT count(*) FROM memory_versions WHERE tenant_id = '$g->{tenant}'"), 0, 'tenant.erase: its versions are gone');

done_testing();

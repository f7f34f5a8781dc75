#!/usr/bin/perl
# Search: metadata filters (equality, $in, $ne, $nin, numeric ranges, $exists,
# $and/$or, nested fields, array fields), minScore and topK, pending and
# failed memories never returned, and filters that are refused.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'search');
my $key = $t->{key};
my %scope = (namespace => 'kb', externalUserId => 'reader');
my @docs = (
	['travel plans for the summer holiday in Portugal', {topic => 'travel', year => 2024, tags => ['beach', 'family']}],
	['travel budget spreadsheet for the summer',       {topic => 'travel', year => 2023, rating => 4.5}],
	['summer reading list of novels',                   {topic => 'books', year => 2024, doc => {lang => 'en'}}],
	['winter reading list of poems',                    {topic => 'books', year => 2022, doc => {lang => 'fr'}}],
	['summer barbecue recipe with peppers',             {topic => 'food', year => 2024, draft => JSON::PP::true}],
	['notes about the summer team offsite',             {}],
);
my $written = JSON::PP::decode_json(call($key, POST => "/api/v1/memox/memories/batch", {memories => [map { {%scope, content => $_->[0], metadata => $_->[1]} } @docs]})->{content});
my @id = map { $_->{id} } @{$written->{memories}};
is(memox_wait($key, 30, @id), scalar @docs, 'all ready');

sub found {
	my ($filter, %o) = @_;
	my $res = call($key, POST => '/api/v1/memox/search', {%scope, query => $o{query} // 'summer travel reading', topK => 50,
		defined $filter ? (filter => $filter) : (), %o});
	is($res->{status}, 200, 'search ' . JSON::PP->new->canonical->encode($filter // {})) or diag $res->{content};
	my $r = JSON::PP::decode_json($res->{content});
	return join ',', sort map { my $x = $_->{id}; (grep { $id[$_] eq $x } 0 .. $#id)[0] } @{$r->{results}};
}
is(found(undef, query => 'summer'), '0,1,2,3,4,5', 'no filter: every memory');
is(found({topic => 'travel'}), '0,1', 'equality');
is(found({topic => {'$eq' => 'books'}}), '2,3', '$eq');
is(found({topic => {'$in' => ['food', 'books']}}), '2,3,4', '$in');
is(found({topic => {'$ne' => 'travel'}}), '2,3,4,5', '$ne matches a missing field too');
is(found({topic => {'$nin' => ['travel', 'books']}}), '4,5', '$nin');
is(found({year => {'$gte' => 2024}}), '0,2,4', '$gte');
is(found({year => {'$gt' => 2022, '$lt' => 2024}}), '1', '$gt and $lt together');
is(found({year => {'$lte' => 2022}}), '3', '$lte');
is(found({rating => {'$gt' => 4}}), '1', 'a decimal number');
is(found({year => 2024, topic => 'books'}), '2', 'two fields are ANDed');
is(found({'$or' => [{topic => 'food'}, {year => 2023}]}), '1,4', '$or');
is(found({'$and' => [{topic => 'travel'}, {'$or' => [{year => 2023}, {tags => 'family'}]}]}), '0,1', '$and with $or');
is(found({'doc.lang' => 'fr'}), '3', 'a nested field');
is(found({tags => 'beach'}), '0', 'an array field matches any element');
is(found({draft => JSON::PP::true}), '4', 'a boolean');
is(found({draft => {'$exists' => JSON::PP::false}, topic => {'$exists' => JSON::PP::true}}), '0,1,2,3', '$exists');
is(found({year => '2024'}), '', 'a string does not equal a number');
is(found({topic => 'nothing'}), '', 'no match: no results');
is(found({}), '0,1,2,3,4,5', 'an empty filter matches everything');

# minScore and topK
my $all = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer reading list', topK => 50})->{content})->{results};
my @scores = map { $_->{score} } @$all;
is_deeply(\@scores, [sort { $b <=> $a } @scores], 'results in score order');
ok($scores[0] > $scores[-1], 'scores differ');
my $cut = ($scores[0] + $scores[-1]) / 2;
my $floored = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer reading list', topK => 50, minScore => $cut})->{content});
my $above = $floored->{results};
is(scalar @$above, scalar(grep { $_ >= $cut } @scores), 'minScore drops what scores lower');
ok(!grep({ $_->{score} < $cut } @$above), 'no result below minScore');
is($floored->{belowMinScore}, scalar(grep { $_ < $cut } @scores), 'belowMinScore: how many minScore cut');
is(JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer reading list', topK => 2,
	minScore => $scores[1] + 1e-6})->{content})->{belowMinScore}, 1, 'belowMinScore: of the topK only');
my $none = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer reading list', topK => 50})->{content});
is($none->{belowMinScore}, 0, 'belowMinScore: 0 without minScore');
is(scalar @{JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer', topK => 2})->{content})->{results}}, 2, 'topK');
my $ex = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'summer', exact => JSON::PP::true})->{content});
is($ex->{searchMode}, 'exact', 'exact: true asks for the exact scan');

# Pending and failed memories never appear, whatever they say.
my $pend = psql("INSERT INTO memories (tenant_id, namespace, external_user_id, content, content_hash, status)"
	. " VALUES ('$t->{tenant}', 'kb', 'reader', 'summer pending memory', sha256('p'), 'pending') RETURNING id");
my $fail = psql("INSERT INTO memories (tenant_id, namespace, external_user_id, content, content_hash, status, error)"
	. " VALUES ('$t->{tenant}', 'kb', 'reader', 'summer failed memory', sha256('f'), 'failed', 'boom') RETURNING id");
# Give both a vector, as a crash between the databases could.
for my $m ($pend, $fail) {
	psql_vector("INSERT INTO memory_vectors SELECT '$m', model, tenant_id, namespace, external_user_id, metadata, dimensions,"
		. " 1, embedding, created_at FROM memory_vectors WHERE memory_id = '$id[0]'");
}
my $r = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/search', {%scope, query => 'travel plans summer holiday Portugal', topK => 50})->{content})->{results};
ok(!grep({ $_->{id} eq $pend || $_->{id} eq $fail } @$r), 'pending and failed memories are never returned');
is(scalar @$r, 6, 'and they take no place of a ready one');
my $f = JSON::PP::decode_json(call($key, GET => "/api/v1/memox/memories/$fail")->{content});
is($f->{status}, 'failed', 'a failed memory shows its status');
is($f->{error}, 'boom', 'and its error');
psql("DELETE FROM memories WHERE id IN ('$pend', '$fail')");

# Refused filters: 400 naming the problem, in the contract's format.
my @bad = (
	[{topic => {'$regex' => 'x'}},              qr/unknown operator/],
	[{'$not' => {topic => 'x'}},                qr/unknown operator/],
	[{year => {'$gt' => 'x'}},                  qr/number/],
	[{topic => {'$in' => []}},                  qr/array/],
	[{topic => {'$in' => 'x'}},                 qr/array/],
	[{topic => {'$in' => [[1]]}},               qr/values/],
	[{topic => [1, 2]},                         qr/string, number, boolean or null/],
	[{topic => {}},                             qr/empty/],
	[{'$or' => []},                             qr/non-empty array/],
	[{'$or' => [1]},                            qr/object/],
	[{'bad field!' => 1},                       qr/field name/],
	[{'a.b.c.d.e' => 1},                        qr/field name/],
	[{'a..b' => 1},                             qr/field name/],
	[{('f' x 65) => 1},                         qr/field name/],
	[{map { ("f$_" => $_) } 1 .. 33},           qr/more than 32/],
	[{topic => {'$in' => [1 .. 101]}},          qr/1-100/],
	[{'$and' => [{'$and' => [{'$and' => [{'$and' => [{'$and' => [{a => 1}]}]}]}]}]}, qr/nested/],
	['x',                                       qr/object/],
	[[1],                                       qr/object/],
);
for my $case (@bad) {
	my ($filter, $why) = @$case;
	my $name = 'filter ' . JSON::PP->new->canonical->encode($filter);
	my $body = error_is(call($key, POST => '/api/v1/memox/search', {%scope, query => 'x', filter => $filter}), 400, 'invalid_request',
		substr($name, 0, 60));
	like($body->{error}{message}, $why, "$name: says why");
}

done_testing();

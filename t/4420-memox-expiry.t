#!/usr/bin/perl
# Expiry: a memory written with ttlSeconds or expiresAt is absent from get,
# list, search, change and delete from that moment, the worker deletes its
# row and vectors soon after (t/harness sweeps every 2 s; the default is 30 s)
# and counts it in the tenant's usage; the same content written again after
# expiry is a new memory; bad expiries are refused and write nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(strftime);
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'expiry');
my $key = $t->{key};
my %scope = (namespace => 'exp', externalUserId => 'u1');
my $M = '/api/v1/memox/memories';

sub body { decode_json_ok($_[0], $_[1] // 'answer') }
sub memories_of_tenant { psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}'") }
sub listed { [map { $_->{id} } @{body(call($key, GET => "$M?namespace=exp&externalUserId=u1&limit=100"))->{memories}}] }
sub searched {
	my $r = body(call($key, POST => '/api/v1/memox/search', {%scope, query => shift, topK => 50}));
	return [map { $_->{id} } @{$r->{results}}];
}

# ------------------------------------------------------------ living, then expired
my $res = call($key, POST => $M, {%scope, content => 'the parking code is 4411', ttlSeconds => 4});
is($res->{status}, 202, 'a write with ttlSeconds is accepted');
my $short = body($res)->{id};
my $long = body(call($key, POST => $M, {%scope, content => 'the office opens at nine', expiresAt => '2999-01-31T12:00:00.25+02:00'}))->{id};
my $never = body(call($key, POST => $M, {%scope, content => 'the office is on the third floor'}))->{id};
is(memox_wait($key, 30, $short, $long, $never), 3, 'all three ready');

my $got = body(call($key, GET => "$M/$short"));
ok($got->{expiresAt} && $got->{expiresAt} =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'expiresAt is shown in UTC')
	or diag explain $got;
is(body(call($key, GET => "$M/$long"))->{expiresAt}, '2999-01-31T10:00:00.250000Z', 'expiresAt as written, in UTC, with its fraction');
is(body(call($key, GET => "$M/$never"))->{expiresAt}, undef, 'no expiry: expiresAt null');
ok((grep { $_ eq $short } @{listed()}), 'listed while alive');
ok((grep { $_ eq $short } @{searched('parking code')}), 'found by search while alive');

ok(wait_until(10, sub { call($key, GET => "$M/$short")->{status} == 404 }), 'once expired, get answers 404');
ok(!(grep { $_ eq $short } @{listed()}), 'not listed');
ok(!(grep { $_ eq $short } @{searched('parking code')}), 'not found by search');
ok((grep { $_ eq $long } @{listed()}) && (grep { $_ eq $never } @{listed()}), 'the others are still listed');
error_is(call($key, PATCH => "$M/$short", {content => 'changed'}), 404, 'not_found', 'an expired memory cannot be changed');

ok(wait_until(15, sub { psql("SELECT count(*) FROM memories WHERE id = '$short'") == 0 }), 'the worker deletes its row');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id = '$short'"), 0, 'and its vectors');
is(body(call($t->{token}, GET => "/api/v1/tenants/$t->{tenant}/usage"))->{expiredMemories}, 1,
	'the tenant\'s usage counts one expired memory');
error_is(call($key, DELETE => "$M/$short"), 404, 'not_found', 'deleting it: 404');

# ------------------------------------------------------------ the same content after expiry
my $first = body(call($key, POST => $M, {%scope, content => 'the wifi password is hunter2', ttlSeconds => 3600}))->{id};
my $dup = call($key, POST => $M, {%scope, content => 'the wifi password is hunter2', ttlSeconds => 60});
is($dup->{status}, 200, 'the same content again while alive: the duplicate ...');
is(body($dup)->{id}, $first, '... names the same memory');
# Expired a moment ago, before any sweep could delete it.
psql("UPDATE memories SET expires_at = now() - interval '1 millisecond' WHERE id = '$first'");
my $again = call($key, POST => $M, {%scope, content => 'the wifi password is hunter2'});
is($again->{status}, 202, 'written again after its expiry: a new memory (202)');
isnt(body($again)->{id}, $first, 'with a new id');
is(body($again)->{duplicate}, JSON::PP::false, 'not a duplicate');
is(psql("SELECT count(*) FROM memories WHERE id = '$first'"), 0, 'the expired one is gone');
is(body(call($key, GET => '/api/v1/memox/memories/' . body($again)->{id}))->{expiresAt}, undef, 'the new one does not expire');

# ------------------------------------------------------------ batches
my $batch = body(call($key, POST => "$M/batch", {memories => [
	{%scope, content => 'batch item that expires', ttlSeconds => 120},
	{%scope, content => 'batch item that stays'}]}));
my @b = map { $_->{id} } @{$batch->{memories}};
ok(body(call($key, GET => "$M/$b[0]"))->{expiresAt}, 'a batch item keeps its own expiry');
is(body(call($key, GET => "$M/$b[1]"))->{expiresAt}, undef, 'and the next has none');

# ------------------------------------------------------------ bad expiries
my $before = memories_of_tenant();
my $past = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 60));
my @bad = (
	[{expiresAt => 'tomorrow'}, 'expiresAt a word'],
	[{expiresAt => '2030-13-01T00:00:00Z'}, 'expiresAt month 13'],
	[{expiresAt => '2030-02-30T00:00:00Z'}, 'expiresAt 30 February'],
	[{expiresAt => '2030-01-01 00:00:00'}, 'expiresAt without T and zone'],
	[{expiresAt => 1893456000}, 'expiresAt a number'],
	[{expiresAt => $past}, 'expiresAt in the past'],
	[{expiresAt => '2030-01-01T00:00:00Z', ttlSeconds => 60}, 'both expiresAt and ttlSeconds'],
	[{ttlSeconds => 0}, 'ttlSeconds 0'],
	[{ttlSeconds => -5}, 'ttlSeconds negative'],
	[{ttlSeconds => 1.5}, 'ttlSeconds a fraction'],
	[{ttlSeconds => '60'}, 'ttlSeconds a string'],
	[{ttlSeconds => 3153600001}, 'ttlSeconds over 100 years'],
	[{ttlSeconds => JSON::PP::true}, 'ttlSeconds a boolean'],
);
for my $case (@bad) {
	my ($extra, $name) = @$case;
	my $b = error_is(call($key, POST => $M, {%scope, content => "bad expiry $name", %$extra}), 400, 'invalid_request', $name);
	like($b->{error}{message}, qr/expiresAt|ttlSeconds/, "$name: names the field");
}
my $e = error_is(call($key, POST => "$M/batch", {memories => [{%scope, content => 'fine'}, {%scope, content => 'bad', ttlSeconds => 0}]}),
	400, 'invalid_request', 'a batch with one bad expiry');
like($e->{error}{message}, qr/memories\[1\]\.ttlSeconds/, 'the batch error names the item');
is(memories_of_tenant(), $before, 'no bad expiry wrote anything');

# ------------------------------------------------------------ changing the expiry
sub state_of { psql("SELECT version || ':' || status || ':' || coalesce(expires_at::text, 'never') FROM memories WHERE id = '$_[0]'") }
sub versions_of { psql("SELECT count(*) FROM memory_versions WHERE memory_id = '$_[0]'") }
my $p = body(call($key, POST => $M, {%scope, content => 'the gate code changes weekly'}))->{id};
is(memox_wait($key, 30, $p), 1, 'a memory without expiry, ready');
my $res = call($key, PATCH => "$M/$p", {ttlSeconds => 3});
is($res->{status}, 200, 'PATCH ttlSeconds alone: 200, nothing to embed');
ok(body($res)->{expiresAt}, 'the answer shows the new expiry');
is_deeply([@{body($res)}{qw(version status)}], [1, 'ready'], 'the same version, still ready');
is(versions_of($p), 0, 'no version kept in the history');
ok(wait_until(10, sub { call($key, GET => "$M/$p")->{status} == 404 }), 'and it expires');
error_is(call($key, PATCH => "$M/$p", {expiresAt => undef}), 404, 'not_found', 'an expired memory\'s expiry cannot be changed');

my $q = body(call($key, POST => $M, {%scope, content => 'the boiler is serviced in May', ttlSeconds => 2}))->{id};
$res = call($key, PATCH => "$M/$q", {expiresAt => undef});
is($res->{status}, 200, 'PATCH expiresAt null: 200');
is(body($res)->{expiresAt}, undef, 'the memory no longer expires');
sleep 3;
is(call($key, GET => "$M/$q")->{status}, 200, 'still there after its old expiry');
like(state_of($q), qr/:never$/, 'expires_at is null in the database');

$res = call($key, PATCH => "$M/$q", {expiresAt => '2999-06-01T00:00:00Z'});
is(body($res)->{expiresAt}, '2999-06-01T00:00:00.000000Z', 'PATCH expiresAt sets it');
$res = call($key, PATCH => "$M/$q", {content => 'the boiler is serviced in June', ttlSeconds => 3600});
is($res->{status}, 202, 'with content too: a new version (202)');
is(body($res)->{version}, 2, 'version 2');
my $until = body($res)->{expiresAt};
ok($until && $until lt '2999', 'and the expiry of ttlSeconds, an hour from now');
is(versions_of($q), 1, 'the replaced version is in the history');
$res = call($key, PATCH => "$M/$q", {metadata => {room => 'cellar'}});
is(body($res)->{expiresAt}, $until, 'a change without expiry fields keeps the expiry');

my $kept = state_of($q);
for my $case ([{expiresAt => $past}, 'a past expiresAt'], [{expiresAt => 'soon'}, 'a malformed expiresAt'],
	[{expiresAt => '2999-01-01T00:00:00Z', ttlSeconds => 60}, 'both fields'], [{ttlSeconds => 0}, 'ttlSeconds 0'],
	[{ttlSeconds => '60'}, 'ttlSeconds a string'], [{content => 'the boiler is new', ttlSeconds => -1}, 'content and a bad ttlSeconds'],
	[{}, 'no field at all'], [{expires => undef}, 'an unknown field']) {
	my ($fields, $name) = @$case;
	my $b = error_is(call($key, PATCH => "$M/$q", $fields), 400, 'invalid_request', "PATCH with $name");
}
is(state_of($q), $kept, 'no refused PATCH changed the memory');
is(versions_of($q), 2, 'nor its history');

done_testing();

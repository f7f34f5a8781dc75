#!/usr/bin/perl
# No tenant ever sees another's data: randomised writes across three tenants,
# two namespaces and three end users each, then searches and lists in every
# scope return only that scope's memories, and each tenant's namespaces and
# end users are counted from its own memories only; another tenant's memory
# or erasure id is a 404 on every route, and tenantId in a request is refused.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();
srand(4010);

my @tenants = map { memox_tenant(name => "isolation $_") } 1 .. 3;
my @words = qw(apple river stone cloud piano garden rocket violet harbor candle meadow silver);
my (%owner, %scope_of, %ids_in);   # memory id -> tenant index; id -> scope; scope -> ids
for my $round (1 .. 4) {
	for my $ti (0 .. $#tenants) {
		my @batch;
		for (1 .. 15) {
			my %s = (namespace => 'ns' . int(rand(2)), externalUserId => 'user' . int(rand(3)));
			my $text = join(' ', map { $words[rand @words] } 1 .. 5) . " r$round t$ti " . rand();
			push @batch, {%s, content => $text, metadata => {tenant => $ti}};
		}
		my $res = call($tenants[$ti]{key}, POST => '/api/v1/memox/memories/batch', {memories => \@batch});
		is($res->{status}, 202, "tenant $ti round $round: batch accepted") or diag $res->{content};
		my $body = JSON::PP::decode_json($res->{content});
		for my $i (0 .. $#batch) {
			my $id = $body->{memories}[$i]{id};
			my $sc = "$ti/$batch[$i]{namespace}/$batch[$i]{externalUserId}";
			$owner{$id} = $ti;
			$scope_of{$id} = $sc;
			push @{$ids_in{$sc}}, $id;
		}
	}
}
for my $ti (0 .. $#tenants) {
	my @mine = grep { $owner{$_} == $ti } keys %owner;
	is(memox_wait($tenants[$ti]{key}, 60, @mine), scalar @mine, "tenant $ti: all ready");
}

my $leaks = 0;
for my $ti (0 .. $#tenants) {
	for my $ns ('ns0', 'ns1') {
		for my $user ('user0', 'user1', 'user2') {
			my $sc = "$ti/$ns/$user";
			for my $q (1 .. 3) {
				my $query = join(' ', map { $words[rand @words] } 1 .. 3);
				my $res = call($tenants[$ti]{key}, POST => '/api/v1/memox/search',
					{namespace => $ns, externalUserId => $user, query => $query, topK => 50});
				my $r = JSON::PP::decode_json($res->{content});
				for (@{$r->{results}}) {
					$leaks++, diag("leak: $_->{id} of $scope_of{$_->{id}} in $sc") if ($scope_of{$_->{id}} // '') ne $sc;
				}
				is(scalar @{$r->{results}}, scalar @{$ids_in{$sc} || []}, "search $sc: the whole scope, nothing else")
					if $q == 1;
			}
			my $l = JSON::PP::decode_json(call($tenants[$ti]{key}, GET => "/api/v1/memox/memories?namespace=$ns&externalUserId=$user&limit=100")->{content});
			is_deeply([sort map { $_->{id} } @{$l->{memories}}], [sort @{$ids_in{$sc} || []}], "list $sc: exactly the scope");
		}
	}
}
is($leaks, 0, 'no search result ever outside the caller\'s scope');

# What a tenant holds: each lists its own namespaces and end users, counted
# from its own memories only (all three use the same names).
for my $ti (0 .. $#tenants) {
	my %mine;
	$mine{$_}++ for map { join '/', (split m{/})[1, 2] } grep { /^$ti\// } values %scope_of;
	my $n = JSON::PP::decode_json(call($tenants[$ti]{key}, GET => '/api/v1/memox/namespaces')->{content});
	my %want_ns;
	for (keys %mine) { my ($ns) = split m{/}; $want_ns{$ns}{users}++; $want_ns{$ns}{memories} += $mine{$_} }
	is_deeply({map { $_->{namespace} => {users => $_->{users}, memories => $_->{memories}} } @{$n->{namespaces}}}, \%want_ns,
		"tenant $ti: GET /namespaces counts its own memories only");
	for my $ns ('ns0', 'ns1') {
		my $u = JSON::PP::decode_json(call($tenants[$ti]{key}, GET => "/api/v1/memox/users?namespace=$ns")->{content});
		is_deeply({map { $_->{externalUserId} => $_->{memories} } @{$u->{users}}},
			{map { (split m{/})[1] => $mine{$_} } grep { m{^$ns/} } keys %mine}, "tenant $ti: GET /users?namespace=$ns its own only");
	}
}
my $fresh = memox_tenant(name => 'isolation empty');
is_deeply(JSON::PP::decode_json(call($fresh->{key}, GET => '/api/v1/memox/namespaces')->{content})->{namespaces}, [],
	'a tenant without memories lists no namespace, whatever others hold');
is_deeply(JSON::PP::decode_json(call($fresh->{key}, GET => '/api/v1/memox/users?namespace=ns0')->{content})->{users}, [],
	'nor end users of a namespace others use');
error_is(call($fresh->{key}, GET => "/api/v1/memox/namespaces?tenantId=$tenants[0]{tenant}"), 400, 'invalid_request',
	'tenantId in GET /namespaces');
error_is(call($fresh->{key}, GET => "/api/v1/memox/users?namespace=ns0&tenantId=$tenants[0]{tenant}"), 400, 'invalid_request',
	'tenantId in GET /users');

# Another tenant's ids: 404 on every route, and nothing changes.
my ($victim) = grep { $owner{$_} == 0 } sort keys %owner;
my $intruder = $tenants[1]{key};
error_is(call($intruder, GET => "/api/v1/memox/memories/$victim"), 404, 'not_found', 'GET another tenant\'s memory');
error_is(call($intruder, PATCH => "/api/v1/memox/memories/$victim", {content => 'overwritten'}), 404, 'not_found',
	'PATCH another tenant\'s memory');
error_is(call($intruder, DELETE => "/api/v1/memox/memories/$victim"), 404, 'not_found', 'DELETE another tenant\'s memory');
error_is(call($intruder, GET => "/api/v1/memox/memories/$victim/history"), 404, 'not_found', 'another tenant\'s memory\'s history');
# The same through MCP's tools, in the victim's own scope: not found.
my ($vns, $vuser) = (split m{/}, $scope_of{$victim})[1, 2];
for my $tool (['memory_get', {}], ['memory_update', {content => 'overwritten'}], ['memory_delete', {}]) {
	my $res = call($intruder, POST => '/api/v1/memox/mcp', {jsonrpc => '2.0', id => 1, method => 'tools/call',
		params => {name => $tool->[0], arguments => {id => $victim, namespace => $vns, externalUserId => $vuser, %{$tool->[1]}}}});
	my $r = eval { JSON::PP::decode_json($res->{content})->{result} } // {};
	ok($r->{isError} && $r->{content}[0]{text} eq 'no such memory', "MCP $tool->[0] of another tenant's memory: not found")
		or diag($res->{content});
}
my $mcp_list = call($intruder, POST => '/api/v1/memox/mcp', {jsonrpc => '2.0', id => 1, method => 'tools/call',
	params => {name => 'memory_list', arguments => {namespace => $vns, externalUserId => $vuser, limit => 100}}});
my @seen = map { $_->{id} } @{(eval { JSON::PP::decode_json($mcp_list->{content})->{result}{structuredContent}{memories} }) || []};
is_deeply([sort @seen], [sort @{$ids_in{"1/$vns/$vuser"} || []}], "MCP memory_list in the victim's scope: the intruder's own only");
my $m = JSON::PP::decode_json(call($tenants[0]{key}, GET => "/api/v1/memox/memories/$victim")->{content});
isnt($m->{content}, 'overwritten', 'the memory is unchanged');
is($m->{version}, 1, 'and still at version 1');
my ($ns, $user) = (split m{/}, $scope_of{$victim})[1, 2];
my $er = JSON::PP::decode_json(call($tenants[2]{key}, DELETE => "/api/v1/memox/memories?namespace=$ns&externalUserId=$user")->{content});
error_is(call($intruder, GET => "/api/v1/memox/erasures/$er->{id}"), 404, 'not_found', 'another tenant\'s erasure');
ok(wait_until(20, sub { JSON::PP::decode_json(call($tenants[2]{key}, GET => "/api/v1/memox/erasures/$er->{id}")->{content})->{status} eq 'done' }),
	'tenant 2 erased its own end user');
is(call($tenants[0]{key}, GET => "/api/v1/memox/memories/$victim")->{status}, 200,
	'the same namespace and end user of another tenant are untouched');

# The tenant comes from the key only.
error_is(call($intruder, POST => '/api/v1/memox/memories', {tenantId => $tenants[0]{tenant}, namespace => 'a', externalUserId => 'b',
	content => 'x'}), 400, 'invalid_request', 'tenantId in a write');
error_is(call($intruder, POST => '/api/v1/memox/search', {tenantId => $tenants[0]{tenant}, namespace => 'a', externalUserId => 'b',
	query => 'x'}), 400, 'invalid_request', 'tenantId in a search');
error_is(call($intruder, GET => "/api/v1/memox/memories?namespace=a&externalUserId=b&tenantId=$tenants[0]{tenant}"), 400,
	'invalid_request', 'tenantId in a list query');
error_is(call($intruder, POST => '/api/v1/memox/memories/batch', {memories => [{tenantId => $tenants[0]{tenant}, namespace => 'a',
	externalUserId => 'b', content => 'x'}]}), 400, 'invalid_request', 'tenantId in a batch item');

# A deleted tenant's keys stop, and its data is erased by the worker.
my $gone = $tenants[2];
my @its = grep { $owner{$_} == 2 } keys %owner;
is(api(DELETE => "/api/v1/tenants/$gone->{tenant}", {headers => bearer($gone->{token})})->{status}, 204, 'tenant deleted');
error_is(call($gone->{key}, GET => "/api/v1/memox/memories/$its[0]"), 401, 'unauthorized', 'its key stops');
ok(wait_until(30, sub { psql("SELECT count(*) FROM memories WHERE tenant_id = '$gone->{tenant}'") == 0 }),
	'tenant.erase: its memories are erased');
ok(wait_until(30, sub { psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$gone->{tenant}'") == 0 }),
	'tenant.erase: and its vectors');
is(psql("SELECT count(*) FROM memox_scopes WHERE tenant_id = '$gone->{tenant}'") + psql("SELECT count(*) FROM memox_namespaces"
	. " WHERE tenant_id = '$gone->{tenant}'"), 0, 'tenant.erase: and its namespaces and end users');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$tenants[0]{tenant}'"), scalar(grep { $owner{$_} == 0 } keys %owner),
	'other tenants keep theirs');

done_testing();

#!/usr/bin/perl
# The MCP endpoint (POST /api/v1/memox/mcp): first an agent's session through
# the official TypeScript SDK (t/mcp/client.mjs: initialize, list the tools,
# call each one, then with another tenant's key and a read-only key), then
# the transport and protocol by hand: JSON-RPC errors for bad messages
# (HTTP 400 with id null for what is no request, 200 for an unknown method
# or bad params), the contract's errors for what stops the HTTP request (no
# key, a foreign Origin, another media type), notifications 202, GET 405,
# the protocol version negotiated and its header checked, and tool refusals
# as results with isError and the REST route's words, which change nothing.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();
my $src = $ENV{AIGET_SRC} // '.';
BAIL_OUT('no node on PATH (make deps installs it)') unless system('node --version >/dev/null 2>&1') == 0;
system("$src/t/mcp/setup") == 0 or BAIL_OUT('t/mcp/setup (npm ci) failed');

my $t = memox_tenant(name => 'mcp');
my $other = memox_tenant(name => 'mcp other');
my $ro = keys_make($t->{token}, $t->{tenant}, name => 'mcp read-only', scopes => ['memox:read'])->{key};
my $path = '/api/v1/memox/mcp';
my $tf = JSON::PP::false;
my $tt = JSON::PP::true;

# ------------------------------------------------------------- through the SDK
my $json = do {
	local $ENV{MCP_URL} = base_url() . $path;
	local $ENV{MCP_KEY} = $t->{key};
	local $ENV{MCP_OTHER_KEY} = $other->{key};
	local $ENV{MCP_READ_KEY} = $ro;
	`node $src/t/mcp/client.mjs`;
};
is($?, 0, 'the SDK client ran to its end') or diag($json);
my $s = eval { JSON::PP::decode_json($json) } // {};
ok(%$s, 'it printed its steps as JSON') or diag($json);

is($s->{server}{name}, 'aiget-memox', 'initialize: serverInfo names the server');
ok(exists $s->{capabilities}{tools}, 'initialize: the tools capability');
is($s->{protocolVersion}, '2025-11-25', "initialize: the SDK's latest version is agreed");
is($s->{sessionId}, undef, 'stateless: no Mcp-Session-Id');
like($s->{instructions} // '', qr/namespace/, 'initialize: instructions name the scope');
is_deeply($s->{ping}, {}, 'ping answers {}');
my %tools = map { $_->{name} => $_ } @{$s->{tools}{tools} || []};
is_deeply([sort keys %tools], [sort qw(memory_add memory_search memory_list memory_get memory_update memory_history memory_delete)],
	'tools/list: the memory tools');
for my $name (sort keys %tools) {
	my $schema = $tools{$name}{inputSchema};
	is($schema->{type}, 'object', "$name: an object schema");
	ok((grep { $_ eq 'namespace' } @{$schema->{required}}) && (grep { $_ eq 'externalUserId' } @{$schema->{required}}),
		"$name: namespace and externalUserId required");
	is($schema->{additionalProperties}, $tf, "$name: no other arguments");
}
is($tools{memory_get}{annotations}{readOnlyHint}, $tt, 'memory_get is read-only');
is($tools{memory_delete}{annotations}{destructiveHint}, $tt, 'memory_delete is destructive');

sub refused {
	my ($r, $re, $name) = @_;
	is($r->{isError}, $tt, "$name: isError") or diag(explain($r));
	like($r->{content}[0]{text} // '', $re, "$name: the route's message");
	ok($r->{structuredContent}{error}{code}, "$name: the contract's error object");
}
my $id = $s->{id};
like($id // '', qr/^[0-9a-f-]{36}$/, 'memory_add: an id');
is($s->{add}{structuredContent}{status}, 'pending', 'memory_add: pending');
ok(!$s->{add}{isError}, 'memory_add: no error');
like($s->{add}{content}[0]{text}, qr/"id":"\Q$id\E"/, 'memory_add: the answer as text too');
is($s->{addAgain}{structuredContent}{duplicate}, $tt, 'memory_add again: a duplicate');
is($s->{addAgain}{structuredContent}{id}, $id, 'memory_add again: the same memory');
refused($s->{addNoContent}, qr/^content is required$/, 'memory_add without content');
refused($s->{addTenant}, qr/tenantId is not accepted/, 'memory_add naming a tenantId');
refused($s->{noScope}, qr/^externalUserId is required$/, 'memory_list without externalUserId');
is($s->{get}{structuredContent}{status}, 'ready', 'memory_get: the worker made it ready');
is($s->{get}{structuredContent}{content}, 'The agent parked the blue bicycle by the lighthouse', 'memory_get: its content');
is_deeply($s->{get}{structuredContent}{metadata}, {via => 'mcp'}, 'memory_get: its metadata');
refused($s->{getOtherUser}, qr/^no such memory$/, "memory_get in another end user's scope");
refused($s->{getBadId}, qr/^no such memory$/, 'memory_get of a malformed id');
is_deeply([map { $_->{id} } @{$s->{list}{structuredContent}{memories} || []}], [$id], 'memory_list: the memory');
ok(exists $s->{list}{structuredContent}{nextCursor}, 'memory_list: its page cursor');
refused($s->{listBadLimit}, qr/limit/, 'memory_list with limit 0');
is($s->{search}{structuredContent}{results}[0]{id}, $id, 'memory_search: finds it');
is($s->{searchKeyword}{structuredContent}{results}[0]{id}, $id, 'memory_search mode keyword: finds it by its word');
is($s->{searchKeyword}{structuredContent}{mode}, 'keyword', 'the answer says keyword');
is($s->{searchHybrid}{structuredContent}{results}[0]{id}, $id, 'memory_search mode hybrid: finds it');
is($s->{searchHybrid}{structuredContent}{rrfK}, 10, 'with the rrfK asked');
refused($s->{searchBadMode}, qr/mode/, 'memory_search with an unknown mode');
refused($s->{searchNoQuery}, qr/query/, 'memory_search without a query');
like($s->{unknownTool}{thrown} // '', qr/unknown tool/, 'an unknown tool: a protocol error (-32602)');
is($s->{unknownTool}{code}, -32602, 'an unknown tool: -32602');

refused($s->{other}{get}, qr/^no such memory$/, "another tenant's key: memory_get does not find it");
is_deeply($s->{other}{list}{structuredContent}{memories}, [], "another tenant's key: memory_list is empty");
is_deeply($s->{other}{search}{structuredContent}{results}, [], "another tenant's key: memory_search finds nothing");
is_deeply($s->{other}{searchHybrid}{structuredContent}{results}, [], "another tenant's key: hybrid memory_search finds nothing");
refused($s->{other}{update}, qr/^no such memory$/, "another tenant's key: memory_update does not find it");
refused($s->{other}{delete}, qr/^no such memory$/, "another tenant's key: memory_delete does not find it");

refused($s->{readOnly}{add}, qr/^the API key lacks the memox:write scope$/, 'a read-only key: memory_add refused');
refused($s->{readOnly}{delete}, qr/memox:write/, 'a read-only key: memory_delete refused');
is(scalar @{$s->{readOnly}{list}{structuredContent}{memories} || []}, 1, 'a read-only key: memory_list reads');

is($s->{update}{structuredContent}{content}, 'The agent moved the blue bicycle to the harbour', 'memory_update: changed');
is($s->{update}{structuredContent}{version}, 2, 'memory_update: version 2');
refused($s->{updateNothing}, qr/name content, metadata, expiresAt or ttlSeconds/, 'memory_update without a change');
is($s->{afterUpdate}{structuredContent}{content}, 'The agent moved the blue bicycle to the harbour', 'memory_get after the change');
is_deeply($s->{delete}{structuredContent}, {id => $id, deleted => $tt}, 'memory_delete: deleted');
refused($s->{afterDelete}, qr/^no such memory$/, 'memory_get after the delete');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}' AND content LIKE '%read-only key%'"), 0,
	'the read-only key wrote nothing');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$other->{tenant}'"), 0, "the other tenant's store stayed empty");

# ------------------------------------------------------------- by hand
my %mcp_headers = (Accept => 'application/json, text/event-stream');
sub rpc {
	my ($key, $body, %h) = @_;
	return call($key, POST => $path, $body, {%mcp_headers, %h});
}
sub rpc_error_is {
	my ($res, $status, $code, $id, $name) = @_;
	is($res->{status}, $status, "$name: status $status") or diag($res->{content});
	like($res->{headers}{'content-type'} // '', qr{^application/json}, "$name: JSON");
	my $b = eval { JSON::PP::decode_json($res->{content}) } // {};
	is($b->{jsonrpc}, '2.0', "$name: a JSON-RPC message");
	is($b->{error}{code}, $code, "$name: error $code");
	ok(length($b->{error}{message} // ''), "$name: a message");
	is($b->{id}, $id, "$name: id " . ($id // 'null'));
	is($b->{error}{data}{requestId}, $res->{headers}{'x-request-id'}, "$name: the request id");
	return $b;
}
my $init = {jsonrpc => '2.0', id => 1, method => 'initialize',
	params => {protocolVersion => '2025-06-18', capabilities => {}, clientInfo => {name => 't', version => '1'}}};
my $b = answer_is(rpc($t->{key}, $init), 200, 'initialize by hand');
is($b->{result}{protocolVersion}, '2025-06-18', "initialize: the client's version when supported");
$init->{params}{protocolVersion} = '2024-01-01';
is(answer_is(rpc($t->{key}, $init), 200, 'initialize, an old version')->{result}{protocolVersion}, '2025-11-25',
	'initialize: our latest for a version we do not speak');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 2, method => 'initialize', params => {}}), 200, -32602, 2,
	'initialize without protocolVersion');

my $res = rpc($t->{key}, {jsonrpc => '2.0', method => 'notifications/initialized'});
is($res->{status}, 202, 'a notification: 202');
is($res->{content}, '', 'a notification: no body');
is(rpc($t->{key}, {jsonrpc => '2.0', id => 9, result => {}})->{status}, 202, 'a response from the client: 202');

rpc_error_is(rpc($t->{key}, '{"jsonrpc":"2.0","id":1,"method":'), 400, -32700, undef, 'malformed JSON');
rpc_error_is(rpc($t->{key}, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"\xff\"}"), 400, -32700, undef,
	'invalid UTF-8');
rpc_error_is(rpc($t->{key}, ('{"a":' x 1200) . '1' . ('}' x 1200)), 400, -32700, undef, 'a body 1,200 levels deep');
rpc_error_is(rpc($t->{key}, '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":"x\\u0000y"}}'), 400, -32700, undef,
	'an escaped NUL');
rpc_error_is(rpc($t->{key}, '{"jsonrpc":"2.0","id":1,"method":"ping"} {}'), 400, -32700, undef, 'something after the message');
rpc_error_is(rpc($t->{key}, ''), 400, -32700, undef, 'an empty body');
rpc_error_is(rpc($t->{key}, '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'), 400, -32600, undef, 'a batch');
rpc_error_is(rpc($t->{key}, '"ping"'), 400, -32600, undef, 'a string, not a message');
rpc_error_is(rpc($t->{key}, {jsonrpc => '1.0', id => 3, method => 'ping'}), 400, -32600, 3, 'jsonrpc 1.0');
rpc_error_is(rpc($t->{key}, {jsonrpc => 2, id => 3, method => 'ping'}), 400, -32600, 3, 'jsonrpc a number');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => {}, method => 'ping'}), 400, -32600, undef, 'an object id');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 4, method => 7}), 400, -32600, 4, 'a numeric method');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 5, method => 'ping', params => [1]}), 400, -32600, 5, 'array params');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 'u', method => 'resources/list'}), 200, -32601, 'u', 'an unknown method');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 6, method => 'tools/call', params => {arguments => {}}}), 200, -32602, 6,
	'tools/call without a name');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 7, method => 'tools/call', params => {name => 'memory_list', arguments => []}}),
	200, -32602, 7, 'tools/call with array arguments');
rpc_error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 8, method => 'ping'}, 'MCP-Protocol-Version' => '1900-01-01'), 400, -32600,
	undef, 'an unsupported MCP-Protocol-Version');
is(answer_is(rpc($t->{key}, {jsonrpc => '2.0', id => 8, method => 'ping'}, 'MCP-Protocol-Version' => '2025-03-26'), 200,
	'a supported MCP-Protocol-Version')->{id}, 8, 'ping answered');

error_is(call(undef, POST => $path, {jsonrpc => '2.0', id => 1, method => 'ping'}, \%mcp_headers), 401, 'unauthorized',
	'no key');
error_is(call('agk_' . ('A' x 43), POST => $path, {jsonrpc => '2.0', id => 1, method => 'ping'}, \%mcp_headers), 401,
	'unauthorized', 'an unknown key');
error_is(rpc($t->{key}, {jsonrpc => '2.0', id => 1, method => 'ping'}, Origin => 'https://evil.example'), 403, 'forbidden',
	'a foreign Origin');
my ($allowed) = split /\s*,\s*/, stack_env('ALLOWED_ORIGINS') // '';
is(rpc($t->{key}, {jsonrpc => '2.0', id => 1, method => 'ping'}, Origin => $allowed)->{status}, 200,
	"an Origin on ALLOWED_ORIGINS ($allowed)");
error_is(rpc($t->{key}, '{"jsonrpc":"2.0","id":1,"method":"ping"}', 'Content-Type' => 'text/plain'), 415,
	'unsupported_media_type', 'text/plain');
error_is(call($t->{key}, GET => $path, undef, {Accept => 'text/event-stream'}), 405, 'method_not_allowed',
	'GET: no server stream');

# Only an event stream accepted: the answer is one event.
$res = rpc($t->{key}, {jsonrpc => '2.0', id => 'sse', method => 'ping'}, Accept => 'text/event-stream');
is($res->{status}, 200, 'Accept: text/event-stream only: 200');
like($res->{headers}{'content-type'}, qr{^text/event-stream}, 'an event stream');
like($res->{content}, qr/^event: message\ndata: \{.*"id":"sse".*\}\n\n\z/s, 'one message event');

# Tool refusals change nothing, and say what the REST route says.
my $before = psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}'");
my %scope = (namespace => 'mcp', externalUserId => 'raw');
sub tool {
	my ($key, $name, $args) = @_;
	my $r = answer_is(rpc($key, {jsonrpc => '2.0', id => 1, method => 'tools/call', params => {name => $name, arguments => $args}}),
		200, "tools/call $name");
	return $r->{result} // {};
}
my %rest_says = (
	'content is required' => {%scope},
	'content must be a string' => {%scope, content => 5},
	'metadata must be a JSON object' => {%scope, content => 'x', metadata => [1]},
	'namespace must be 1-128 characters of A-Z a-z 0-9 _ - . : @ /' => {%scope, namespace => 'a b', content => 'x'},
	'colour is not a known field' => {%scope, content => 'x', colour => 'red'},
);
for my $msg (sort keys %rest_says) {
	my $r = tool($t->{key}, 'memory_add', $rest_says{$msg});
	is($r->{isError}, $tt, "memory_add refused: $msg");
	is($r->{content}[0]{text}, $msg, "memory_add: the REST route's words: $msg");
	my $rest = call($t->{key}, POST => '/api/v1/memox/memories', $rest_says{$msg});
	is(eval { JSON::PP::decode_json($rest->{content})->{error}{message} }, $msg, "POST /memories says the same: $msg");
}
# memory_history: the versions of a changed memory, in its scope only; and
# memory_add's expiry fields, refused as the route refuses them.
{
	my $added = tool($t->{key}, 'memory_add', {%scope, content => 'history via mcp, first', ttlSeconds => 3600});
	my $hid = $added->{structuredContent}{id};
	ok(!$added->{isError} && $hid, 'memory_add with ttlSeconds');
	ok(call($t->{key}, GET => "/api/v1/memox/memories/$hid")->{content} =~ /"expiresAt":"\d{4}-/, 'the memory expires');
	is(tool($t->{key}, 'memory_add', {%scope, content => 'x', ttlSeconds => 0})->{content}[0]{text},
		'ttlSeconds must be an integer from 1 to 3153600000', 'memory_add: a bad ttlSeconds in the route\'s words');
	ok(!tool($t->{key}, 'memory_update', {%scope, id => $hid, content => 'history via mcp, second'})->{isError}, 'memory_update');
	my $h = tool($t->{key}, 'memory_history', {%scope, id => $hid});
	is_deeply([map { $_->{version} } @{$h->{structuredContent}{versions} || []}], [2, 1], 'memory_history: both versions, newest first')
		or diag explain $h;
	is($h->{structuredContent}{versions}[1]{content}, 'history via mcp, first', 'memory_history: the replaced content');
	like(tool($t->{key}, 'memory_history', {%scope, externalUserId => 'someone-else', id => $hid})->{content}[0]{text},
		qr/^no such memory$/, 'memory_history in another scope: not found');
	is(tool($t->{key}, 'memory_history', {%scope, id => $hid, limit => 0})->{isError}, $tt, 'memory_history: a bad limit refused');
	call($t->{key}, DELETE => "/api/v1/memox/memories/$hid");
}
my $r = tool($t->{key}, 'memory_list', {%scope, limit => 'many'});
is($r->{isError}, $tt, 'memory_list with a bad limit refused');
$r = tool($t->{key}, 'memory_list', {%scope, limit => JSON::PP::true});
like($r->{content}[0]{text}, qr/^limit must be an integer$/, 'memory_list: limit a boolean, named');
$r = tool($t->{key}, 'memory_list', {%scope, colour => 'red'});
is($r->{isError}, $tt, 'memory_list with an unknown argument refused');
$r = tool($t->{key}, 'memory_get', {%scope});
is($r->{content}[0]{text}, 'id is required', 'memory_get without an id');
$r = tool($t->{key}, 'memory_get', {%scope, id => '00000000-0000-4000-8000-000000000000', extra => 1});
is($r->{isError}, $tt, 'memory_get with an extra argument refused');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$t->{tenant}'"), $before, 'the refusals wrote nothing');

done_testing();

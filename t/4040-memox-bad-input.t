#!/usr/bin/perl
# Bad input on every memox route: a clear error in the contract's format
# (400, 401, 403, 404, 413, 415) and nothing changed.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'bad input');
my $key = $t->{key};
my $reader = keys_make($t->{token}, $t->{tenant}, scopes => ['memox:read'])->{key};
my $writer = keys_make($t->{token}, $t->{tenant}, scopes => ['memox:write'])->{key};
my %scope = (namespace => 'ns', externalUserId => 'u');
my $m = JSON::PP::decode_json(call($key, POST => '/api/v1/memox/memories', {%scope, content => 'the one memory'})->{content});
sub count { psql("SELECT count(*) || '/' || coalesce(max(version), 0) FROM memories WHERE tenant_id = '$t->{tenant}'") }
my $before = count();

my @routes = (
	[POST => '/memories', {%scope, content => 'x'}],
	[POST => '/memories/batch', {memories => [{%scope, content => 'x'}]}],
	[GET => '/memories?namespace=ns&externalUserId=u'],
	[DELETE => '/memories?namespace=ns&externalUserId=u'],
	[GET => "/memories/$m->{id}"],
	[PATCH => "/memories/$m->{id}", {content => 'y'}],
	[DELETE => "/memories/$m->{id}"],
	[POST => '/search', {%scope, query => 'x'}],
	[GET => '/erasures/00000000-0000-4000-8000-000000000000'],
);
# ------------------------------------------------------------- credentials
for my $r (@routes) {
	my ($method, $path, $body) = @$r;
	my $res = error_is(call(undef, $method => "/api/v1/memox$path", $body), 401, 'unauthorized', "$method $path without a key");
	like(call(undef, $method => "/api/v1/memox$path", $body)->{headers}{'www-authenticate'} // '', qr/^Bearer/, "$method $path: WWW-Authenticate");
	error_is(call('agk_' . ('A' x 43), $method => "/api/v1/memox$path", $body), 401, 'unauthorized', "$method $path with an unknown key");
	error_is(call('not-a-key', $method => "/api/v1/memox$path", $body), 401, 'unauthorized', "$method $path with garbage");
	error_is(call($t->{token}, $method => "/api/v1/memox$path", $body), 401, 'unauthorized', "$method $path with a user's access token");
	my $write = $method ne 'GET' && $path !~ m{^/search};
	error_is(call($write ? $reader : $writer, $method => "/api/v1/memox$path", $body), 403, 'forbidden',
		"$method $path without the " . ($write ? 'memox:write' : 'memox:read') . ' scope');
}
is(count(), $before, 'refused credentials changed nothing');

# ------------------------------------------------------------- bodies
my %bodies = (
	'malformed JSON'          => '{"namespace": "ns",',
	'not an object'           => '[1,2]',
	'single quotes'           => "{'namespace':'ns'}",
	'invalid UTF-8'           => qq({"namespace":"ns","externalUserId":"u","content":"\xff\xfe"}),
	'a NUL escape'            => '{"namespace":"ns","externalUserId":"u","content":"a\u0000b"}',
	'a lone surrogate'        => '{"namespace":"ns","externalUserId":"u","content":"\ud800"}',
	'trailing garbage'        => '{"namespace":"ns","externalUserId":"u","content":"x"} x',
	'NaN'                     => '{"namespace":"ns","externalUserId":"u","content":"x","metadata":{"n":NaN}}',
);
for my $path ('/memories', '/memories/batch', '/search', "/memories/$m->{id}") {
	my $method = $path =~ /-/ ? 'PATCH' : 'POST';
	for my $name (sort keys %bodies) {
		error_is(api($method, "/api/v1/memox$path", {headers => {Authorization => "Bearer $key", 'Content-Type' => 'application/json'},
			content => $bodies{$name}}), 400, 'invalid_request', "$method $path: $name");
	}
	error_is(api($method, "/api/v1/memox$path", {headers => {Authorization => "Bearer $key", 'Content-Type' => 'text/plain'},
		content => '{}'}), 415, 'unsupported_media_type', "$method $path: text/plain");
	error_is(api($method, "/api/v1/memox$path", {headers => {Authorization => "Bearer $key", 'Content-Type' => 'application/json'},
		content => '{"a":"' . ('x' x (2 << 20)) . '"}'}), 413, 'payload_too_large', "$method $path: a body over the cap");
}

sub write_is {
	my ($body, $status, $name, $why) = @_;
	my $b = error_is(call($key, POST => '/api/v1/memox/memories', $body), $status, $status == 413 ? 'payload_too_large' : 'invalid_request', $name);
	like($b->{error}{message}, $why, "$name: says why") if $why;
}
write_is({externalUserId => 'u', content => 'x'}, 400, 'namespace missing', qr/namespace is required/);
write_is({namespace => 'ns', content => 'x'}, 400, 'externalUserId missing', qr/externalUserId is required/);
write_is({%scope}, 400, 'content missing', qr/content is required/);
write_is({%scope, content => ''}, 400, 'empty content', qr/empty/);
write_is({%scope, content => "  \n\t "}, 400, 'blank content', qr/empty/);
write_is({%scope, content => 42}, 400, 'content a number', qr/string/);
write_is({%scope, content => 'x' x 16385}, 413, 'content over 16 KiB', qr/16384/);
write_is({%scope, namespace => 'has space', content => 'x'}, 400, 'namespace with a space', qr/A-Z/);
write_is({%scope, namespace => 'x' x 129, content => 'x'}, 400, 'namespace over 128', qr/1-128/);
write_is({%scope, externalUserId => 'ü', content => 'x'}, 400, 'externalUserId outside the alphabet', qr/A-Z/);
write_is({%scope, externalUserId => 7, content => 'x'}, 400, 'externalUserId a number', qr/string/);
write_is({%scope, content => 'x', metadata => [1]}, 400, 'metadata an array', qr/object/);
write_is({%scope, content => 'x', metadata => 'x'}, 400, 'metadata a string', qr/object/);
write_is({%scope, content => 'x', metadata => {a => {b => {c => {d => {e => 1}}}}}}, 400, 'metadata too deep', qr/deeper/);
write_is({%scope, content => 'x', metadata => {a => 'y' x 9000}}, 413, 'metadata over 8 KiB', qr/8192/);
write_is({%scope, content => 'x', colour => 'red'}, 400, 'an unknown field', qr/colour/);
ok(call($key, POST => '/api/v1/memox/memories', {%scope, content => "x\x{2028}y 日本語"})->{status} == 202, 'any UTF-8 text is fine');

my $batch = sub { error_is(call($key, POST => '/api/v1/memox/memories/batch', $_[0]), $_[1], $_[1] == 413 ? 'payload_too_large' : 'invalid_request', $_[2]) };
$batch->({}, 400, 'batch without memories');
$batch->({memories => []}, 400, 'an empty batch');
$batch->({memories => {}}, 400, 'memories not an array');
$batch->({memories => [map { {%scope, content => "item $_"} } 1 .. 101]}, 413, 'a batch of 101');
$batch->({memories => [{%scope, content => 'fine'}, 'x']}, 400, 'a batch item not an object');
my $bi = $batch->({memories => [{%scope, content => 'fine'}, {%scope}]}, 400, 'a batch item without content');
like($bi->{error}{message}, qr/memories\[1\]\.content/, 'the error names the item');
$batch->({memories => [{%scope, content => 'x'}], extra => 1}, 400, 'an unknown field beside memories');

# ------------------------------------------------------------- search
my $search = sub { error_is(call($key, POST => '/api/v1/memox/search', {%scope, query => 'x', %{$_[0]}}), 400, 'invalid_request', $_[1]) };
$search->({topK => 0}, 'topK 0');
$search->({topK => 51}, 'topK over the cap');
$search->({topK => '5'}, 'topK a string');
$search->({topK => 2.5}, 'topK not an integer');
$search->({minScore => 2}, 'minScore over 1');
$search->({minScore => 'high'}, 'minScore a string');
$search->({query => ''}, 'an empty query');
$search->({query => '   '}, 'a blank query');
$search->({query => 'x' x 4097}, 'a query over 4 KiB');
$search->({query => 5}, 'a number as query');
$search->({exact => 'yes'}, 'exact not a boolean');
$search->({namespace => 'bad ns'}, 'a bad namespace');
$search->({limit => 5}, 'an unknown field');
error_is(call($key, POST => '/api/v1/memox/search', {namespace => 'ns', query => 'x'}), 400, 'invalid_request', 'search without externalUserId');

# ------------------------------------------------------------- ids, queries
error_is(call($key, GET => '/api/v1/memox/memories/not-a-uuid'), 404, 'not_found', 'a malformed id');
error_is(call($key, GET => '/api/v1/memox/memories/00000000-0000-4000-8000-000000000000'), 404, 'not_found', 'an unknown id');
error_is(call($key, PATCH => '/api/v1/memox/memories/nope', {content => 'y'}), 404, 'not_found', 'PATCH a malformed id');
error_is(call($key, DELETE => '/api/v1/memox/memories/nope'), 404, 'not_found', 'DELETE a malformed id');
error_is(call($key, GET => '/api/v1/memox/erasures/nope'), 404, 'not_found', 'a malformed erasure id');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=ns'), 400, 'invalid_request', 'list without externalUserId');
error_is(call($key, GET => '/api/v1/memox/memories?externalUserId=u'), 400, 'invalid_request', 'list without namespace');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=ns&externalUserId=u&colour=red'), 400, 'invalid_request', 'list with an unknown parameter');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=ns&namespace=x&externalUserId=u'), 400, 'invalid_request', 'a parameter twice');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=ns&externalUserId=u&status=gone'), 400, 'invalid_request', 'an unknown status');
error_is(call($key, GET => '/api/v1/memox/memories?namespace=%ff&externalUserId=u'), 400, 'invalid_request', 'a query that is not UTF-8');
error_is(call($key, DELETE => '/api/v1/memox/memories?namespace=ns'), 400, 'invalid_request', 'erase without externalUserId');
error_is(call($key, DELETE => '/api/v1/memox/memories'), 400, 'invalid_request', 'erase without a scope');
error_is(call($key, PATCH => "/api/v1/memox/memories/$m->{id}", {content => 'y', version => 3}), 400, 'invalid_request', 'PATCH an unknown field');
error_is(call($key, PATCH => "/api/v1/memox/memories/$m->{id}", {content => ''}), 400, 'invalid_request', 'PATCH to empty content');
error_is(call($key, PATCH => "/api/v1/memox/memories/$m->{id}", {metadata => 5}), 400, 'invalid_request', 'PATCH metadata not an object');
error_is(call($key, PUT => "/api/v1/memox/memories/$m->{id}", {content => 'y'}), 405, 'method_not_allowed', 'PUT');
is(JSON::PP::decode_json(call($key, GET => "/api/v1/memox/memories/$m->{id}")->{content})->{content}, 'the one memory', 'the memory is unchanged');

done_testing();

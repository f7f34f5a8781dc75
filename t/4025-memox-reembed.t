#!/usr/bin/perl
# Switching embedding models: `aigetctl memox reembed` embeds every ready
# memory with a new model (here an OpenAI-compatible stand-in of 64
# dimensions, reached through the openai provider) beside the vectors in
# use, makes the model's HNSW index, and is idempotent; search keeps
# answering from the configured model all along; `drop-model` removes an old
# model's vectors and index but never the one in use.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Test::More;
use Aiget;

Aiget::require_stack();

my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
my $dir = tempdir(CLEANUP => 1);
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
my $api_key = 'sk-test-reembed-' . $$;
my $standin = fork // die "fork: $!";
if ($standin == 0) {
	open(STDERR, '>', "$dir/standin.log");
	exec('t/stand-ins/openai-embeddings', '--port', $port, '--dims', 64, '--api-key', $api_key, '--pidfile', "$dir/pid");
	die "exec: $!";
}
END { kill 'TERM', $standin if $standin }
ok(wait_until(10, sub { -s "$dir/pid" }), 'the OpenAI stand-in runs');

my %new = (EMBEDDING_PROVIDER => 'openai', EMBEDDING_MODEL => 'standin-64', EMBEDDING_DIMENSIONS => 64,
	EMBEDDING_BASE_URL => "http://127.0.0.1:$port/v1", EMBEDDING_API_KEY => $api_key, EMBEDDING_BATCH_SIZE => 50);
sub ctl {
	my ($env, @args) = @_;
	local %ENV = (%ENV, AIGET_ENV_FILE => var_dir() . '/aiget.env', %$env);
	my $out = `$ctl @args 2>$dir/err`;
	my $rc = $? >> 8;
	open(my $fh, '<', "$dir/err");
	local $/;
	my $err = <$fh> // '';
	return ($rc, $out, $err);
}

my $t = memox_tenant(name => 'reembed');
my %scope = (namespace => 'switch', externalUserId => 'u');
my $w = JSON::PP::decode_json(call($t->{key}, POST => '/api/v1/memox/memories/batch',
	{memories => [map { {%scope, content => "switching models note $_ about lighthouses"} } 1 .. 30]})->{content});
my @ids = map { $_->{id} } @{$w->{memories}};
is(memox_wait($t->{key}, 30, @ids), 30, 'memories ready with the local model');

my ($rc, $out, $err) = ctl(\%new, 'memox', 'reembed', '--json');
is($rc, 0, 'reembed: exit 0') or diag $err;
my $r = eval { JSON::PP::decode_json($out) } // {};
is($r->{model}, 'standin-64', 'reembed: the new model');
ok($r->{embedded} >= 30, "reembed: embedded the ready memories ($r->{embedded})");
my $count = sub { psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t->{tenant}' AND model = '$_[0]'") };
is($count->('standin-64'), 30, 'a vector of the new model for every memory');
is(psql_vector("SELECT DISTINCT dimensions FROM memory_vectors WHERE model = 'standin-64'"), 64, 'of its dimensions');
is($count->('local-hash-v1'), 30, 'the vectors in use stay');
is(psql_vector("SELECT count(*) FROM pg_indexes WHERE indexname = 'memory_vectors_hnsw_standin_64'"), 1,
	'the new model has its HNSW index');
my $s = JSON::PP::decode_json(call($t->{key}, POST => '/api/v1/memox/search', {%scope, query => 'lighthouses note 7'})->{content});
is($s->{model}, 'local-hash-v1', 'search keeps answering from the configured model');
is(scalar @{$s->{results}}, 10, 'with results');

# The second run names the model with options instead of EMBEDDING_* variables.
($rc, $out) = ctl({EMBEDDING_API_KEY => $api_key}, 'memox', 'reembed', '--provider', 'openai', '--model', 'standin-64',
	'--dimensions', 64, '--base-url', "http://127.0.0.1:$port/v1", '--json');
is(eval { JSON::PP::decode_json($out)->{model} }, 'standin-64', 'reembed --model: that model');
is(eval { JSON::PP::decode_json($out)->{embedded} }, 0, 'a second run embeds nothing: idempotent');
is(call($t->{key}, PATCH => "/api/v1/memox/memories/$ids[0]", {content => 'changed lighthouse keeper'})->{status}, 202, 'a memory changes');
is(memox_wait($t->{key}, 30, $ids[0]), 1, 'and is ready again');
($rc, $out) = ctl(\%new, 'memox', 'reembed', '--json');
is(eval { JSON::PP::decode_json($out)->{embedded} }, 1, 'the next run embeds just the changed memory');
is(psql_vector("SELECT version FROM memory_vectors WHERE memory_id = '$ids[0]' AND model = 'standin-64'"), 2,
	'at its new version');

($rc, undef, $err) = ctl({%new, EMBEDDING_BASE_URL => 'http://127.0.0.1:1/v1', EMBEDDING_MAX_RETRIES => 0,
	EMBEDDING_TIMEOUT_MS => 500}, 'memox', 'reembed');
is($rc, 0, 'nothing left to embed: an unreachable provider is not even asked');
psql("UPDATE memories SET version = version + 1 WHERE id = '$ids[1]'");
($rc, undef, $err) = ctl({%new, EMBEDDING_BASE_URL => 'http://127.0.0.1:1/v1', EMBEDDING_MAX_RETRIES => 0,
	EMBEDDING_TIMEOUT_MS => 500}, 'memox', 'reembed');
is($rc, 1, 'a provider that cannot be reached: exit 1');
like($err, qr/embedding provider/, 'and says so');
unlike($err, qr/\Q$api_key\E/, 'never showing the API key');

($rc) = ctl({}, 'memox', 'reembed', 'extra');
is($rc, 64, 'bad arguments: 64');
($rc) = ctl({}, 'memox', 'reembed', '--model');
is($rc, 64, 'an option without its value: 64');
($rc, undef, $err) = ctl({}, 'memox', 'drop-model', 'local-hash-v1');
is($rc, 64, 'drop-model refuses the model in use');
like($err, qr/in use/, 'and says why');
($rc, $out) = ctl({}, 'memox', 'drop-model', 'standin-64', '--json');
is($rc, 0, 'drop-model of the old model');
ok(eval { JSON::PP::decode_json($out)->{vectorsDeleted} } >= 30, 'counts the vectors it deleted');
is(psql_vector("SELECT count(*) FROM memory_vectors WHERE model = 'standin-64'"), 0, 'its vectors are gone');
is(psql_vector("SELECT count(*) FROM pg_indexes WHERE indexname = 'memory_vectors_hnsw_standin_64'"), 0, 'and its index');
is($count->('local-hash-v1'), 30, 'the model in use is untouched');

done_testing();

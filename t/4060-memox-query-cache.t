#!/usr/bin/perl
# The query-embedding cache (fcgi-apps/memox/search.c) is kept per tenant:
# were it shared, a tenant could tell from a search's time (tookMs counts
# the embedding) whether any other tenant had searched the same words in
# the last hour.  A memox child of the test's own is pointed at the OpenAI
# stand-in (the cache is used only for remote providers); the stand-in
# counts the embeddings asked of it.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Aiget;

Aiget::require_stack();
$SIG{PIPE} = 'IGNORE';

my $dir = tempdir(CLEANUP => 1);
my $port = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport;
my $standin = fork // die "fork: $!";
if ($standin == 0) {
	open(STDERR, '>', "$dir/standin.log");
	exec('t/stand-ins/openai-embeddings', '--port', $port, '--dims', 64, '--pidfile', "$dir/pid");
	die "exec: $!";
}
END { kill 'TERM', $standin if $standin }
ok(wait_until(10, sub { -s "$dir/pid" }), 'the OpenAI stand-in runs');
my $http = HTTP::Tiny->new(timeout => 5);
sub embedded { JSON::PP::decode_json($http->get("http://127.0.0.1:$port/test/requests")->{content})->{count} }

my $sock = var_dir() . "/run/memox-qcache-$$.sock";
my $child = fcgi_spawn("$ENV{BUILD_DIR}/bin/memox.fcgi", $sock, 'memox-qcache', EMBEDDING_PROVIDER => 'openai',
	EMBEDDING_MODEL => 'standin-64', EMBEDDING_DIMENSIONS => 64, EMBEDDING_BASE_URL => "http://127.0.0.1:$port/v1",
	MEMOX_QUERY_CACHE_SECONDS => 3600);
ok(-S $sock, 'a memox child with the openai provider listens');

sub search {
	my ($key, $query) = @_;
	my $body = JSON::PP->new->canonical->encode({namespace => 'n', externalUserId => 'u', query => $query});
	return fcgi_call($sock, {REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/memox/search',
		CONTENT_TYPE => 'application/json', HTTP_AUTHORIZATION => "Bearer $key", REMOTE_ADDR => '127.0.0.1'}, $body);
}
my $a = memox_tenant(name => 'qcache a');
my $b = memox_tenant(name => 'qcache b');
my $words = "merger talks with initech $$";
my $start = embedded();
like(search($a->{key}, $words), qr/^Status: 200/m, 'tenant A searches');
is(embedded() - $start, 1, "A's query was embedded");
like(search($a->{key}, $words), qr/^Status: 200/m, 'tenant A searches the same words again');
is(embedded() - $start, 1, "A's second search used A's cache");
like(search($b->{key}, $words), qr/^Status: 200/m, 'tenant B searches the same words');
is(embedded() - $start, 2, "B's search did not use A's cache: embedded anew");
like(redis_cli('--scan', '--pattern', "{memox}:qcache:$b->{tenant}:*"), qr/\Q$b->{tenant}\E/,
	"B's entry is under B's tenant");

done_testing();

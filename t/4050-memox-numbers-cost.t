#!/usr/bin/perl
# Numbers that cannot be kept exactly, the cost of a filter, and how long a
# statement may run (shared/json_check.c, fcgi-apps/memox/filter.c,
# shared/pg.c):
#  - an integer beyond 64 bits (which json-c would silently turn into
#    18446744073709551615) or a number whose double overflows is a 400
#    naming the field, in metadata, in a batch (which then writes nothing)
#    and in a filter; numbers that can be kept come back as written;
#  - a filter's $in/$nin values count towards a budget of comparisons a row;
#  - a statement that waits longer than PG_STATEMENT_TIMEOUT_MS is cancelled
#    by the server and answered with a 503 that says so, long before nginx
#    would give up on the child.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Aiget;

Aiget::require_stack();

my $m = memox_tenant(limits => {qps => 1000, burst => 1000});
my $key = $m->{key};
my %scope = (namespace => 'numbers', externalUserId => "u-$$");

sub refused_naming {
	my ($res, $field, $name) = @_;
	my $err = error_is($res, 400, 'invalid_request', $name);
	like($err->{error}{message} // '', qr/\Q$field\E cannot be kept exactly/, "$name: names $field");
}

# Bodies are written by hand: Perl would round these numbers itself.
my $big = '123456789012345678901234567890';
refused_naming(call($key, POST => '/api/v1/memox/memories',
	qq({"namespace":"numbers","externalUserId":"u-$$","content":"big int","metadata":{"n":$big}})),
	'metadata.n', 'a 30-digit integer in metadata');
refused_naming(call($key, POST => '/api/v1/memox/memories',
	qq({"namespace":"numbers","externalUserId":"u-$$","content":"huge","metadata":{"d":{"x":1e1001}}})),
	'metadata.d.x', 'a number beyond a double in metadata');
refused_naming(call($key, POST => '/api/v1/memox/memories/batch',
	qq({"memories":[{"namespace":"numbers","externalUserId":"u-$$","content":"fine one"},)
	. qq({"namespace":"numbers","externalUserId":"u-$$","content":"bad one","metadata":{"x":-1e-400}}]})),
	'memories[1].metadata.x', 'one bad number in a batch');
my $list = answer_is(call($key, GET => "/api/v1/memox/memories?namespace=numbers&externalUserId=u-$$"), 200, 'list the scope');
is(scalar @{$list->{memories} // $list->{items} // []}, 0, 'the refused batch wrote nothing');

my $res = call($key, POST => '/api/v1/memox/memories', qq({"namespace":"numbers","externalUserId":"u-$$","content":"exact numbers",)
	. qq("metadata":{"i":9223372036854775807,"j":-9223372036854775808,"d":0.1,"e":1.5e300}}));
my $id = answer_is($res, 202, 'numbers that can be kept are accepted')->{id};
my $got = call($key, GET => "/api/v1/memox/memories/$id");
like($got->{content}, qr/"i":\s*9223372036854775807\b/, 'INT64_MAX comes back as written');
like($got->{content}, qr/"j":\s*-9223372036854775808\b/, 'INT64_MIN comes back as written');
like($got->{content}, qr/"d":\s*0\.1\b/, '0.1 comes back as 0.1');
# PostgreSQL writes 1.5e300 as 301 digits, which json-c would have read back
# as 18446744073709551615: stored metadata is copied into answers unparsed.
like($got->{content}, qr/"e":\s*15(0{299})\b/, '1.5e300 comes back as its 301 digits');
unlike($got->{content}, qr/18446744073709551615/, 'nothing saturated');

refused_naming(call($key, POST => '/api/v1/memox/search', qq({"namespace":"numbers","externalUserId":"u-$$","query":"q",)
	. qq("filter":{"n":$big}})), 'filter.n', 'a 30-digit integer in a filter');
refused_naming(call($key, POST => '/api/v1/memox/search', qq({"namespace":"numbers","externalUserId":"u-$$","query":"q",)
	. qq("filter":{"n":{"\$gt":1e1001}}})), 'filter.n.$gt', 'a number beyond a double in a filter');

# --- the filter's budget: each $in value is a comparison on every row
my @hundred = map { "v$_" } 1 .. 100;
my $two = {%scope, query => 'q', filter => {a => {'$in' => \@hundred}, b => {'$nin' => \@hundred}}};
answer_is(call($key, POST => '/api/v1/memox/search', $two), 200, 'two lists of 100 values: within the budget');
my $three = {%scope, query => 'q', filter => {a => {'$in' => \@hundred}, b => {'$nin' => \@hundred},
	c => {'$in' => \@hundred}}};
my $err = error_is(call($key, POST => '/api/v1/memox/search', $three), 400, 'invalid_request', 'three lists of 100 values');
like($err->{error}{message}, qr/more than 200 comparisons/, 'the message names the budget');
my $many = {%scope, query => 'q', filter => {'$or' => [map { {"f$_" => {'$in' => [1 .. 10]}} } 1 .. 21]}};
error_is(call($key, POST => '/api/v1/memox/search', $many), 400, 'invalid_request', '21 lists of 10 values, spread over $or');

# --- a statement waiting on a lock runs out of time
my $timeout_ms = stack_env('PG_STATEMENT_TIMEOUT_MS') // 5000;
my $pid = fork // BAIL_OUT("fork: $!");
if ($pid == 0) {
	open(STDOUT, '>', '/dev/null');
	exec('psql', '-X', '-qAt', '-d', stack_env('DATABASE_URL'), '-c',
		"BEGIN; SELECT id FROM memories WHERE id = '$id' FOR UPDATE; SELECT pg_sleep(" . ($timeout_ms / 1000 + 4)
		. '); COMMIT;') or exit 127;
}
ok(wait_until(5, sub { psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
	. " WHERE a.query LIKE '%pg_sleep%' AND l.locktype = 'transactionid'") > 0 }), 'a session holds the row');
my $t0 = time;
$res = call($key, PATCH => "/api/v1/memox/memories/$id", {content => 'changed while locked'});
my $took = time - $t0;
$err = error_is($res, 503, 'unavailable', 'PATCH of a row locked longer than the statement timeout');
like($err->{error}{message}, qr/ran longer than the database allows \($timeout_ms ms\)/, 'the message says why');
ok($res->{headers}{'retry-after'}, 'with Retry-After');
cmp_ok($took, '<', $timeout_ms / 1000 + 3, sprintf('answered after %.1f s, not when nginx gives up', $took));
waitpid($pid, 0);
answer_is(call($key, PATCH => "/api/v1/memox/memories/$id", {content => 'changed once free'}), 202, 'the same PATCH once the lock is gone');

done_testing();

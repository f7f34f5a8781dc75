#!/usr/bin/perl
# The memox worker: takes jobs with BLMOVE through its processing list, dead-
# letters what it cannot run, drains and exits with --once, stops on SIGTERM.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $env = var_dir() . '/aiget.env';

my ($password, $port) = `grep ^REDIS_URL= $env` =~ m{redis://:([^\@]+)\@127\.0\.0\.1:(\d+)/0};
sub redis { local $ENV{REDISCLI_AUTH} = $password; my $o = `redis-cli --no-auth-warning -p $port @_`; chomp $o; $o }

my $dead0 = redis('LLEN', '{memox}:dead');
redis('LPUSH', '{memox}:jobs', qq('{"type":"no-such-job","n":1}'));
ok(wait_until(10, sub { redis('LLEN', '{memox}:dead') == $dead0 + 1 }), 'the running worker dead-letters an unknown job');
is(redis('LLEN', '{memox}:jobs'), 0, 'the queue is empty');
is(redis('LLEN', '{memox}:processing:dev-1'), 0, 'and so is its processing list');
like(redis('LINDEX', '{memox}:dead', -1), qr/"error":"unknown job type"/, 'the dead entry keeps the error');

my $worker = "$ENV{BUILD_DIR}/bin/memox-worker";
my $rc = system("$worker --env-file $env --once --id test-once >/dev/null 2>&1");
is($rc >> 8, 0, '--once on an empty queue exits 0');

# SIGTERM: a blocking worker stops promptly and cleanly.
my $pid = fork // die;
if (!$pid) { open(STDOUT, '>', '/dev/null'); open(STDERR, '>', '/dev/null'); exec($worker, '--env-file', $env, '--id', 'test-term') }
sleep 1;
kill 'TERM', $pid;
my $t0 = time;
waitpid($pid, 0);
is($? >> 8, 0, 'SIGTERM: exit status 0');
ok(time - $t0 <= 3, 'SIGTERM: gone within the block timeout');

done_testing();

#!/usr/bin/perl
# PostgreSQL failover after a crash, with synchronous replication: as
# t/8010 (a streaming replica of each database, the areas and the worker on
# multi-host URLs, a mixed load), but both primaries wait for their replica
# to flush every commit (synchronous_standby_names = '*',
# synchronous_commit = on) and then crash (SIGQUIT: an immediate shutdown,
# no WAL sent at the end) before the replicas are promoted:
#   - the load goes on within a few seconds, with no 5xx other than 503
#     with Retry-After;
#   - every memory write answered 202 is on the new primary, ready and
#     found by search: a commit is answered only once the replica has it.
# The time from the crash to the load's last failed answer is printed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Aiget;
use MixedLoad;
use PgReplicas;

Aiget::require_stack();
pg_replicas_start('pgcrash') or plan skip_all => 'the vector database is not the stack\'s own';
my $dir = var_dir() . "/pgcrash-$$";
my %port = map { $_ => pg_replica($_)->{port} } qw(main vector);
my %primary = map { $_ => pg_replica($_)->{of} } qw(main vector);

# Synchronous replication on both primaries, for this script only:
# ALTER SYSTEM writes the primary's own postgresql.auto.conf, which the
# replicas (copied before) do not have.  Without a standby a primary with
# these settings would hold every commit, so they go whenever the script
# ends with the primaries still the stack's.
sub synchronous {
	my ($on) = @_;
	for my $w (qw(main vector)) {
		sql_at($primary{$w}, $on ? "ALTER SYSTEM SET synchronous_standby_names = '*'"
			: 'ALTER SYSTEM RESET synchronous_standby_names');
		sql_at($primary{$w}, $on ? 'ALTER SYSTEM SET synchronous_commit = on' : 'ALTER SYSTEM RESET synchronous_commit');
		sql_at($primary{$w}, 'SELECT pg_reload_conf()');
	}
}
# (Before the replicas go, so that no commit waits for one; and after, for
# primaries the restore started again.)
END { local ($?, $!, $@); return unless %primary; synchronous(0); pg_replicas_restore(); synchronous(0) }

synchronous(1);
for my $w (qw(main vector)) {
	ok(wait_until(10, sub { sql_at($primary{$w}, "SELECT sync_state FROM pg_stat_replication") eq 'sync' }),
		"$w: the replica is a synchronous standby");
}

my $url = sub { pg_replica_url('target_session_attrs=read-write', $primary{$_[0]}, $port{$_[0]}) };
with_services_env({DATABASE_URL => $url->('main'), VECTOR_DATABASE_URL => $url->('vector'), MEMOX_PENDING_SWEEP_SECONDS => 5},
	[areas(), 'worker'], \&scenario);

sub scenario {
	my @clients = load_clients(3, 'pgcrash');
	my $tenant = $clients[0]{tenant};
	keys_limits($tenant, qps => 2000, burst => 2000, concurrency => 50);

	my @pids = load_start(\@clients, 20, $dir);
	sleep 5;
	my $crashed = time;
	my @postmasters = map { postmaster($_) } qw(main vector);
	ok(@postmasters == 2 && kill('QUIT', @postmasters) == 2, 'both primaries crash (SIGQUIT)');
	ok(wait_until(10, sub { sql_at($primary{main}, 'SELECT 1') . sql_at($primary{vector}, 'SELECT 1') eq '' }),
		'neither answers');
	pg_replicas_promote();
	my $switched = time - $crashed;
	waitpid($_, 0) for @pids;

	my @log = load_log(\@clients, $dir);
	load_check_answers(\@log, 100);
	my ($recovered, $failed) = load_check_recovery(\@log, $crashed, 'on the promoted servers', 'the crash');
	note(sprintf('crash: both replicas promoted %.2f s after the primaries crashed; the last failed answer ended %.2f s'
		. ' after it; %d answers failed with 503', $switched, $recovered, $failed));

	my @unique = load_accepted(\@log);
	my $states = sub { +{ map { split /\|/ } split /\n/,
		sql_at($port{main}, "SELECT id, status FROM memories WHERE tenant_id = '$tenant'") } };
	load_check_accepted(\@log, \@clients, \@unique, $states, 60);
	pg_replicas_restore();
	ok(wait_until(30, \&areas_healthy), 'every area is healthy on the stack\'s own ports again');
}

# The postmaster's pid of the stack's main or vector server.
sub postmaster {
	my ($which) = @_;
	open(my $fh, '<', var_dir() . ($which eq 'main' ? '/pg-main' : '/pg-vector') . '/postmaster.pid') or return;
	my $pid = <$fh>;
	chomp $pid;
	return $pid;
}

done_testing();

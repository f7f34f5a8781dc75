#!/usr/bin/perl
# PostgreSQL failover: a streaming replica of the stack's main database and
# one of its vector database (pg_basebackup, real servers on loopback), and
# the four areas and the worker on libpq multi-host URLs with
# target_session_attrs=read-write.  Under a mixed load both primaries stop
# (a planned switchover: a fast shutdown, which sends the replica all WAL
# first) and both replicas are promoted:
#   - the load goes on within a few seconds, with no 5xx other than 503
#     with Retry-After, and no process restarted;
#   - every memory write answered 202 is on the new primary, ready and
#     found by search.
# Then the promoted data directories take the old ones' places, so that the
# stack goes on with every write of the run.  The time from the stop to the
# load's last failed answer is printed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use Aiget;
use MixedLoad;
use PgReplicas;

Aiget::require_stack();
pg_replicas_start('pgfail') or plan skip_all => 'the vector database is not the stack\'s own';
my $dir = var_dir() . "/pgfail-$$";
my %port = map { $_ => pg_replica($_)->{port} } qw(main vector);
my %primary = map { $_ => pg_replica($_)->{of} } qw(main vector);

my $url = sub { pg_replica_url('target_session_attrs=read-write', $primary{$_[0]}, $port{$_[0]}) };
with_services_env({DATABASE_URL => $url->('main'), VECTOR_DATABASE_URL => $url->('vector'), MEMOX_PENDING_SWEEP_SECONDS => 5},
	[areas(), 'worker'], \&scenario);

sub scenario {
	my @clients = load_clients(3, 'pgfail');
	my $tenant = $clients[0]{tenant};
	keys_limits($tenant, qps => 2000, burst => 2000, concurrency => 50);
	my %pids_before = map { $_ => children_pids($_) } areas();

	my @pids = load_start(\@clients, 20, $dir);
	sleep 5;
	my $started = time;
	ok(stack_db_service('pg-main' => 'stop') && stack_db_service('pg-vector' => 'stop'), 'both primaries stop');
	is(sql_at($primary{main}, 'SELECT 1') . sql_at($primary{vector}, 'SELECT 1'), '', 'neither answers');
	pg_replicas_promote();
	my $switched = time - $started;
	waitpid($_, 0) for @pids;

	my @log = load_log(\@clients, $dir);
	load_check_answers(\@log, 100);
	my ($recovered, $failed) = load_check_recovery(\@log, $started, 'on the promoted servers', 'the stop');
	note(sprintf('switchover: both replicas promoted %.2f s after the primaries began to stop; the last failed answer '
		. 'ended %.2f s after it; %d answers failed with 503', $switched, $recovered, $failed));
	is_deeply({map { $_ => children_pids($_) } areas()}, \%pids_before, 'no responder child restarted');

	my @unique = load_accepted(\@log);
	my $states = sub { +{ map { split /\|/ } split /\n/,
		sql_at($port{main}, "SELECT id, status FROM memories WHERE tenant_id = '$tenant'") } };
	load_check_accepted(\@log, \@clients, \@unique, $states, 60);
	pg_replicas_restore();
	ok(wait_until(30, \&areas_healthy), 'every area is healthy on the stack\'s own ports again');
}

sub children_pids {
	open(my $fh, '<', var_dir() . "/run/$_[0].pid") or return '';
	my $parent = <$fh>;
	chomp $parent;
	return join ',', sort split /\n/, `pgrep -P $parent`;
}

done_testing();

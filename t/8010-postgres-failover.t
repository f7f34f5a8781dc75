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
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Aiget;
use MixedLoad;

Aiget::require_stack();

my ($password, $main_port) = stack_env('DATABASE_URL') =~ m{^postgresql://aiget:([^@]+)\@127\.0\.0\.1:(\d+)/aiget$}
	or BAIL_OUT('the stack\'s DATABASE_URL is not understood');
my ($vector_port) = stack_env('VECTOR_DATABASE_URL') =~ m{^postgresql://aiget:[^@]+\@127\.0\.0\.1:(\d+)/aiget$}
	or plan skip_all => 'the vector database is not the stack\'s own';
my $dir = var_dir() . "/pgfail-$$";
mkdir $dir or die "$dir: $!";
chmod 0755, $dir;
sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport }
my %replica = (main => {port => free_port(), of => $main_port, script => 'pg-main', service => 'pg-main'},
	vector => {port => free_port(), of => $vector_port, script => 'pg-vector', service => 'pg-vector'});

sub server {
	my ($which, $action) = @_;
	my $r = $replica{$which};
	local $ENV{AIGET_DB_PASSWORD} = $password;
	local $ENV{AIGET_PG_PRIMARY_PORT} = $r->{of};
	return system("$ENV{AIGET_SRC}/spawn/dev/$r->{script}", $action, "$dir/$which", $r->{port}) == 0;
}
sub sql_at {
	my ($port, $sql) = @_;
	local $ENV{PGPASSWORD} = $password;
	my $out = `psql -X -qAt -h 127.0.0.1 -p $port -U aiget -d aiget -c "$sql" 2>/dev/null`;
	chomp $out;
	return $out;
}

# The stack's own database servers: aiget-dev leaves alone a vector
# database that VECTOR_DATABASE_URL names, and the services run here with
# the multi-host URLs in their environment.
sub stack_service {
	my ($name, $action) = @_;
	local %ENV = %ENV;
	delete @ENV{qw(DATABASE_URL VECTOR_DATABASE_URL)};
	return dev_service($name => $action);
}

# However the script ends the stack has its two databases back: promoted
# replicas take the stopped primaries' places, replicas never promoted go.
my $promoted = 0;
sub restore {
	for my $which (sort keys %replica) {
		my $r = $replica{$which};
		next unless -d "$dir/$which";
		server($which, 'stop');
		if ($promoted) {
			stack_service($r->{service} => 'stop');
			my $data = var_dir() . "/$r->{service}";
			rename($data, "$data.old") or die "$data: $!";
			rename("$dir/$which", $data) or die "$dir/$which: $!";
		} else {
			system('rm', '-rf', "$dir/$which");
		}
		stack_service($r->{service} => 'start');
	}
}
END { restore() if -d "$dir/main" || -d "$dir/vector" }

for my $which (qw(main vector)) {
	ok(server($which, 'start'), "a streaming replica of the $which database starts");
	is(sql_at($replica{$which}{port}, 'SELECT pg_is_in_recovery()'), 't', "$which replica: in recovery");
}
ok(wait_until(20, sub { sql_at($main_port, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") eq '1'
	&& sql_at($vector_port, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") eq '1' }),
	'both primaries stream to their replica');

my $url = sub { my $w = shift; "postgresql://aiget:$password\@127.0.0.1:$replica{$w}{of},127.0.0.1:$replica{$w}{port}/aiget"
	. '?target_session_attrs=read-write' };
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
	ok(stack_service('pg-main' => 'stop') && stack_service('pg-vector' => 'stop'), 'both primaries stop');
	is(sql_at($main_port, 'SELECT 1') . sql_at($vector_port, 'SELECT 1'), '', 'neither answers');
	for my $which (qw(main vector)) {
		is(sql_at($replica{$which}{port}, 'SELECT pg_promote()'), 't', "the $which replica is promoted");
	}
	$promoted = 1;
	my $switched = time - $started;
	waitpid($_, 0) for @pids;

	my @log = load_log(\@clients, $dir);
	load_check_answers(\@log, 100);
	my @server = grep { $_->{status} >= 500 && $_->{status} != 503 } @log;
	is(scalar @server, 0, 'no 5xx other than 503') or diag(explain([@server[0 .. ($#server < 4 ? $#server : 4)]]));
	my @failed = grep { $_->{status} >= 500 && $_->{at} >= $started } @log;
	my $recovered = @failed ? $failed[-1]{at} + $failed[-1]{ms} / 1000 - $started : 0;
	my @after = grep { $_->{at} >= $started + $recovered } @log;
	cmp_ok(scalar(grep { $_->{status} < 400 } @after), '>', 20, 'the load goes on on the promoted servers');
	cmp_ok($recovered, '<', 10, 'within a few seconds of the stop');
	note(sprintf('switchover: both replicas promoted %.2f s after the primaries began to stop; the last failed answer '
		. 'ended %.2f s after it; %d answers failed with 503', $switched, $recovered, scalar @failed));
	is_deeply({map { $_ => children_pids($_) } areas()}, \%pids_before, 'no responder child restarted');

	my @unique = load_accepted(\@log);
	my $states = sub { +{ map { split /\|/ } split /\n/,
		sql_at($replica{main}{port}, "SELECT id, status FROM memories WHERE tenant_id = '$tenant'") } };
	load_check_accepted(\@log, \@clients, \@unique, $states, 60);
	restore();
	ok(wait_until(30, \&areas_healthy), 'every area is healthy on the stack\'s own ports again');
}

sub children_pids {
	open(my $fh, '<', var_dir() . "/run/$_[0].pid") or return '';
	my $parent = <$fh>;
	chomp $parent;
	return join ',', sort split /\n/, `pgrep -P $parent`;
}

done_testing();

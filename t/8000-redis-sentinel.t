#!/usr/bin/perl
# Redis with Sentinel: the stack's Redis as the master, a replica of it and
# three sentinels on loopback, and every process (the four areas and the
# worker) pointed at the sentinels with a redis+sentinel:// URL.  Under a
# mixed load `SENTINEL FAILOVER` makes the replica the master:
#   - the load goes on within a few seconds, and no answer is a 5xx other
#     than 503 with Retry-After;
#   - every memory write answered 202 becomes ready and searchable (a job
#     pushed to the old master in the moment before Sentinel turned it into
#     a replica is lost with it: the worker's sweep of pending memories
#     queues it again);
#   - an access token logged out before the switch is still refused after
#     it (the blacklist was replicated), a one-time code sent after it
#     signs in, and a key revoked after it is refused at once by every
#     memox child (their key caches hear the invalidation on the new
#     master);
# then a second failover gives the stack its own master back.  Last the
# master freezes (SIGSTOP: it cannot close its clients' connections, as a
# master cut off from the sentinels cannot): once the sentinels have
# failed over, every area answers at once, without waiting out
# REDIS_TIMEOUT_MS on the frozen server (each process heard
# +switch-master); thawed, it becomes a replica and a failover makes it the
# master again.  The times
# from the command to the sentinels naming the new master, and to the
# load's last failed answer, are printed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);
use Aiget;
use MixedLoad;

Aiget::require_stack();

my ($password, $master_port) = stack_env('REDIS_URL') =~ m{^redis://:([^@]*)\@127\.0\.0\.1:(\d+)}
	or BAIL_OUT('the stack\'s REDIS_URL is not understood');
my $dir = var_dir() . "/sentinel-$$";
mkdir $dir or die "$dir: $!";
sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport }

# redis-cli against one server of ours; the data servers take the password.
sub cli {
	my ($port, @cmd) = @_;
	local $ENV{REDISCLI_AUTH} = $password unless $port =~ s/^s//;
	open(my $fh, '-|', 'redis-cli', '-h', '127.0.0.1', '-p', $port, @cmd) or die "redis-cli: $!";
	local $/;
	my $out = <$fh> // '';
	close $fh;
	$out =~ s/\n\z//;
	return $out;
}
sub role { (split /\n/, cli($_[0], 'ROLE'))[0] // '' }
sub synced { role($_[0]) eq 'slave' && cli($_[0], 'INFO', 'replication') =~ /master_link_status:up/ }
sub master_named { (split /\n/, cli("s$_[0]", 'SENTINEL', 'get-master-addr-by-name', 'aiget'))[1] // '' }

# ------------------------------------------------------------ the servers
my $replica_port = free_port();
my @sentinel_ports = map { free_port() } 1 .. 3;
my @pidfiles;
sub start_server {
	my ($name, $conf, @args) = @_;
	open(my $fh, '>', "$dir/$name.conf") or die;
	print $fh "bind 127.0.0.1\ndaemonize yes\ndir \"$dir\"\npidfile \"$dir/$name.pid\"\nlogfile \"$dir/$name.log\"\n$conf";
	close $fh;
	chmod 0600, "$dir/$name.conf";
	push @pidfiles, "$dir/$name.pid";
	return system('redis-server', "$dir/$name.conf", @args) == 0 && wait_until(10, sub { -s "$dir/$name.pid" });
}
# Stops the servers of these pid files, last started first.
sub stop_servers {
	for my $f (reverse @_) {
		open(my $fh, '<', $f) or next;
		my $pid = <$fh>;
		chomp $pid;
		kill 'TERM', $pid;
		wait_until(5, sub { !kill 0, $pid });
	}
}
# However the script ends, the stack's Redis is a master with no replica
# again: the sentinels go first, so that none reconfigures it afterwards.
sub restore_master {
	stop_servers(grep { /sentinel/ } @pidfiles);
	cli($master_port, 'REPLICAOF', 'NO', 'ONE') if role($master_port) ne 'master';
	cli($master_port, 'CONFIG', 'SET', 'masterauth', '');
	stop_servers(grep { !/sentinel/ } @pidfiles);
	@pidfiles = ();
}
my $frozen_pid;
END { kill 'CONT', $frozen_pid if $frozen_pid; restore_master() if @pidfiles }

# The stack's Redis may become a replica: it then authenticates to the new master.
is(cli($master_port, 'CONFIG', 'SET', 'masterauth', $password), 'OK', 'the stack\'s Redis knows the password of a master');
ok(start_server(replica => "port $replica_port\nsave \"\"\nappendonly no\nrequirepass \"$password\"\n"
	. "masterauth \"$password\"\nreplicaof 127.0.0.1 $master_port\n"), 'a replica of the stack\'s Redis starts');
ok(wait_until(15, sub { cli($replica_port, 'INFO', 'replication') =~ /master_link_status:up/ }), 'the replica is in sync');
for my $i (0 .. 2) {
	ok(start_server("sentinel-$i", "port $sentinel_ports[$i]\nsentinel monitor aiget 127.0.0.1 $master_port 2\n"
		. "sentinel auth-pass aiget \"$password\"\nsentinel down-after-milliseconds aiget 2000\n"
		. "sentinel failover-timeout aiget 20000\n", '--sentinel'), "sentinel $i starts");
}
# Each sentinel has found the replica (from the master's INFO) and the two
# other sentinels (from their hellos), so that any one can lead a failover.
ok(wait_until(30, sub {
	for my $p (@sentinel_ports) {
		return 0 unless cli("s$p", 'SENTINEL', 'replicas', 'aiget') =~ /\b$replica_port\b/;
		my $others = () = cli("s$p", 'SENTINEL', 'sentinels', 'aiget') =~ /^name$/mg;
		return 0 unless $others == 2;
	}
	return 1;
}), 'the sentinels know the replica and each other');
is(master_named($sentinel_ports[0]), $master_port, 'the sentinels name the stack\'s Redis as the master');

my $url = "redis+sentinel://:$password\@" . join(',', map { "127.0.0.1:$_" } @sentinel_ports) . '/aiget/0';
# REDIS_TIMEOUT_MS: a command sent to the frozen master would take 3 s.
with_services_env({REDIS_URL => $url, MEMOX_PENDING_SWEEP_SECONDS => 5, REDIS_TIMEOUT_MS => 3000},
	[areas(), 'worker'], \&scenario);
restore_master();
is(role($master_port), 'master', 'the stack\'s Redis is a master again');

sub failover {
	my ($to) = @_;
	my $t0 = time;
	is(cli("s$sentinel_ports[0]", 'SENTINEL', 'failover', 'aiget'), 'OK', "SENTINEL FAILOVER towards $to");
	my $named = wait_until(30, sub { master_named($sentinel_ports[1]) eq $to && role($to) eq 'master' });
	ok($named, "the sentinels name $to as the master");
	my $seconds = time - $t0;
	my $old = $to == $master_port ? $replica_port : $master_port;
	ok(wait_until(30, sub { synced($old) }), "the old master $old is a replica in sync with it");
	return $seconds;
}

sub scenario {
	my @clients = load_clients(3, 'sentinel');
	my $tenant = $clients[0]{tenant};
	keys_limits($tenant, qps => 2000, burst => 2000, concurrency => 50);
	my $c = $clients[0];

	# Logged out before the switch; the blacklist entry is on the replica
	# too once WAIT says so.
	my $out = call(undef, POST => '/api/v1/auth/login', {email => $c->{email}, password => $c->{password}});
	my $session = JSON::PP::decode_json($out->{content});
	is(call(undef, POST => '/api/v1/auth/logout', {refreshToken => $session->{refreshToken}},
		{%{bearer($session->{accessToken})}})->{status}, 204, 'a session logs out before the failover');
	is(cli($master_port, 'WAIT', 1, 2000), 1, 'the replica has every write so far');

	my $seconds = 20;
	my @pids = load_start(\@clients, $seconds, $dir);
	sleep 5;
	my $started = time;
	my $switch = failover($replica_port);
	waitpid($_, 0) for @pids;

	my @log = load_log(\@clients, $dir);
	load_check_answers(\@log, 100);
	my ($recovered, $failed) = load_check_recovery(\@log, $started, 'after the failover', 'the command');
	note(sprintf('failover: the sentinels named the new master %.2f s after the command; the last failed answer '
		. 'ended %.2f s after it; %d answers were 503 during the switch', $switch, $recovered, $failed));

	my @unique = load_accepted(\@log);
	my $states = sub { +{ map { split /\|/ } split /\n/, psql("SELECT id, status FROM memories WHERE tenant_id = '$tenant'") } };
	load_check_accepted(\@log, \@clients, \@unique, $states, 60);

	# What lives in Redis, after the switch.
	is(api(GET => '/api/v1/auth/me', {headers => bearer($session->{accessToken})})->{status}, 401,
		'the token logged out before the failover is still refused');
	my $sent = call(undef, POST => '/api/v1/auth/otp/send', {email => $c->{email}, purpose => 'login'});
	ok($sent->{status} >= 200 && $sent->{status} < 300, 'a one-time code is sent on the new master') or diag($sent->{content});
	my $code = last_code($c->{email});
	is(call(undef, POST => '/api/v1/auth/otp/verify', {email => $c->{email}, code => $code, purpose => 'login'})->{status},
		200, 'and signs in');
	my $k = keys_make($c->{owner}{token}, $tenant, name => 'revoked after the failover', scopes => ['memox:read']);
	my %scope = (namespace => 'faults', externalUserId => 'revoked');
	# Every memox child has the key in its cache before the revocation.
	for (1 .. 6) { call($k->{key}, POST => '/api/v1/memox/search', {%scope, query => 'x'}) }
	is(call($c->{owner}{token}, DELETE => "/api/v1/keys/$k->{id}")->{status}, 204, 'a key is revoked');
	my @after_revoke = map { call($k->{key}, POST => '/api/v1/memox/search', {%scope, query => 'x'})->{status} } 1 .. 6;
	is_deeply(\@after_revoke, [(401) x 6], 'every memox child refuses it at once');

	my $back = failover($master_port);
	ok(wait_until(10, \&areas_healthy), 'every area is healthy after the failover back');
	is(call($c->{key}, GET => '/api/v1/keys/self')->{status}, 200, 'a key checks out against the stack\'s Redis again');
	note(sprintf('failover back: the sentinels named the stack\'s Redis %.2f s after the command', $back));

	frozen_master();
}

sub frozen_master {
	($frozen_pid) = cli($master_port, 'INFO', 'server') =~ /^process_id:(\d+)/m;
	ok($frozen_pid, 'the master\'s process id');
	ok(wait_until(10, \&areas_healthy), 'every area has its connections to the master');
	my $t0 = time;
	kill 'STOP', $frozen_pid;
	ok(wait_until(30, sub { master_named($sentinel_ports[1]) eq $replica_port && role($replica_port) eq 'master' }),
		'the master frozen, the sentinels fail over to the replica');
	note(sprintf('frozen master: the sentinels named the replica %.2f s after the freeze', time - $t0));
	my @slow;
	for my $area (areas()) {
		for (1 .. 8) {
			my $t1 = time;
			my $res = api(GET => "/api/v1/$area/health");
			my $ms = (time - $t1) * 1000;
			push @slow, sprintf('%s: %d in %.0f ms', $area, $res->{status}, $ms) if $res->{status} != 200 || $ms > 1500;
		}
	}
	is_deeply(\@slow, [], 'every area answers at once: no command waited on the frozen master');
	kill 'CONT', $frozen_pid;
	undef $frozen_pid;
	ok(wait_until(30, sub { synced($master_port) }), 'thawed, the old master is made a replica and syncs');
	failover($master_port);
	ok(wait_until(10, \&areas_healthy), 'every area is healthy on the stack\'s Redis again');
}

done_testing();

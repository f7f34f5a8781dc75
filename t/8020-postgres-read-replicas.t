#!/usr/bin/perl
# Read replicas: a streaming replica of the stack's main database and one of
# its vector database (real servers on loopback), and memox started with
# DATABASE_READ_URL and VECTOR_DATABASE_READ_URL naming them.
#   - searches, lists and gets run on the replicas: with replay paused on
#     both, a new memory is missing from lists and searches, seen there once
#     replay resumes, and the replicas' backends show memox's statements;
#   - what must not lag does not: the write's answer, and a get of the new
#     memory (a row the replica lacks is asked of the primary);
#   - with both replicas stopped under a steady read load every answer is
#     still 200 (the primaries answer), and once they are back the reads go
#     to them again;
#   - `aigetctl check` reports the replicas, and fails while they are down.
# Under a mixed load the replicas' replay lag is sampled and printed: how
# far behind a search on a replica can be.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);
use Aiget;
use MixedLoad;
use PgReplicas;

Aiget::require_stack();
pg_replicas_start('pgread') or plan skip_all => 'the vector database is not the stack\'s own';
my $dir = var_dir() . "/pgread-$$";
my %port = map { $_ => pg_replica($_)->{port} } qw(main vector);
my %primary = map { $_ => pg_replica($_)->{of} } qw(main vector);
my %read_env = (DATABASE_READ_URL => pg_replica_url('', $port{main}),
	VECTOR_DATABASE_READ_URL => pg_replica_url('', $port{vector}));

with_services_env(\%read_env, ['memox'], \&scenario);

sub scenario {
	my $t = memox_tenant(limits => {qps => 2000, burst => 2000, concurrency => 50});
	my %scope = (namespace => 'replicas', externalUserId => 'reader');
	my @ids = map { answer_is(call($t->{key}, POST => '/api/v1/memox/memories',
		{%scope, content => "replica note $_ about " . ('a' .. 'z')[$_ % 26] x 3}), 202, "write $_")->{id} } 1 .. 30;
	is(memox_wait($t->{key}, 60, @ids), 30, 'the 30 memories are ready');
	ok(caught_up(), 'both replicas have replayed everything their primary wrote');

	my $search = sub { call($t->{key}, POST => '/api/v1/memox/search', {%scope, query => $_[0], topK => 10}) };
	my $list = sub { call($t->{key}, GET => "/api/v1/memox/memories?namespace=replicas&externalUserId=reader&limit=100") };
	my $has = sub { my ($res, $id, $key) = @_; my $b = eval { decode_json($res->{content}) } // {};
		scalar grep { $_->{id} eq $id } @{ $b->{$key} // [] } };
	is(scalar(grep { $_->{status} == 200 } map { $search->("replica note $_") } 1 .. 12), 12, '12 searches answer 200');
	like(sql_at($port{vector}, "SELECT string_agg(query, ' ') FROM pg_stat_activity WHERE application_name = 'aiget'"),
		qr/memory_vectors_half/, 'the vector replica ran the searches (its backends\' last statements)');
	like(sql_at($port{main}, "SELECT string_agg(query, ' ') FROM pg_stat_activity WHERE application_name = 'aiget'"),
		qr/WITH ORDINALITY/, 'the main replica fetched their memories');

	# Replay paused on both: the replicas stay where they are.
	paused(1, qw(main vector));
	my $new = answer_is(call($t->{key}, POST => '/api/v1/memox/memories', {%scope, content => 'a fresh memory written while replay waits'}),
		202, 'a write while replay is paused: accepted by the primary');
	my $got = answer_is(call($t->{key}, GET => "/api/v1/memox/memories/$new->{id}"), 200,
		'a get of it at once: found (the primary confirms what the replica lacks)');
	is($got->{id}, $new->{id}, 'the get answers that memory');
	ok(wait_until(30, sub { sql_at($primary{main}, "SELECT status FROM memories WHERE id = '$new->{id}'") eq 'ready' }),
		'the worker makes it ready on the primary');
	is(scalar(grep { $has->($list->(), $new->{id}, 'memories') } 1 .. 10), 0,
		'ten lists: none shows it (they read the main replica)');
	# The main replica replays: lists and the search's fetch see it ready;
	# only the vector replica still lacks its vector.
	paused(0, 'main');
	ok(caught_up('main'), 'the main replica catches up');
	is(scalar(grep { $has->($list->(), $new->{id}, 'memories') } 1 .. 10), 10, 'ten lists: each shows it now');
	is(scalar(grep { $has->($search->('a fresh memory written while replay waits'), $new->{id}, 'results') } 1 .. 10), 0,
		'ten searches by its own text: none finds it (they read the vector replica)');
	paused(0, 'vector');
	my $t0 = time;
	ok(wait_until(10, sub { $has->($search->('a fresh memory written while replay waits'), $new->{id}, 'results') }),
		'the vector replica replays: search finds it');
	note(sprintf('found by search %.0f ms after replay resumed', (time - $t0) * 1000));

	my $check = ctl(\%read_env, 'check');
	is($check->{rc}, 0, 'aigetctl check with the read URLs: exit 0') or diag($check->{out});
	like($check->{out}, qr/^replicas\s+ok\s+\S+ ms\s+main: a standby, \d+ bytes .*; vector: a standby/m,
		'check: both read URLs are standbys');

	measure_lag($t);

	# Both replicas stopped under a steady read load.
	my $log = "$dir/reads.log";
	my $reader = fork // die "fork: $!";
	if (!$reader) {
		open(my $fh, '>', $log) or die;
		$fh->autoflush(1);
		my $until = time + 8;
		my $i = 0;
		while (time < $until) {
			my $res = (++$i % 3 == 0 ? $list->() : $i % 3 == 1 ? $search->("replica note $i")
				: call($t->{key}, GET => "/api/v1/memox/memories/$ids[$i % 30]"));
			print $fh join(' ', time, $res->{status}), "\n";
		}
		POSIX::_exit(0);
	}
	sleep 2;
	ok(pg_replica_server('main', 'stop') && pg_replica_server('vector', 'stop'), 'both replicas stop under the reads');
	waitpid($reader, 0);
	my @answers = do { open(my $fh, '<', $log) or die; map { [split] } <$fh> };
	my @failed = grep { $_->[1] != 200 } @answers;
	cmp_ok(scalar @answers, '>', 30, sprintf('a steady read load was sent (%d reads)', scalar @answers));
	is(scalar @failed, 0, 'every read answered 200: the primaries took over') or diag(explain([@failed[0 .. ($#failed < 4 ? $#failed : 4)]]));
	my $later = answer_is(call($t->{key}, POST => '/api/v1/memox/memories', {%scope, content => 'written while the replicas are down'}),
		202, 'a write while the replicas are down');
	is(memox_wait($t->{key}, 30, $later->{id}), 1, 'it becomes ready');
	ok($has->($search->('written while the replicas are down'), $later->{id}, 'results'), 'search finds it, on the primary');
	$check = ctl(\%read_env, 'check');
	is($check->{rc}, 1, 'aigetctl check while the replicas are down: exit 1');
	like($check->{out}, qr/^replicas\s+FAILED\s.*main: .*vector: .*responders read from the primary/m,
		'check: names both and says the primary answers meanwhile');

	# Back: each responder child tries its replica again within 5 s.
	ok(pg_replica_server('main', 'start') && pg_replica_server('vector', 'start'), 'both replicas start again');
	ok(wait_until(30, sub { caught_up() }), 'and catch up');
	sleep 6;
	paused(1, qw(main vector));
	my $back = answer_is(call($t->{key}, POST => '/api/v1/memox/memories', {%scope, content => 'written once the replicas are back'}),
		202, 'a write with replay paused again');
	ok(wait_until(30, sub { sql_at($primary{main}, "SELECT status FROM memories WHERE id = '$back->{id}'") eq 'ready' }),
		'ready on the primary');
	is(scalar(grep { $has->($list->(), $back->{id}, 'memories') } 1 .. 10), 0, 'ten lists: the main replica serves them again');
	paused(0, 'main');
	ok(caught_up('main'), 'the main replica catches up');
	is(scalar(grep { $has->($search->('written once the replicas are back'), $back->{id}, 'results') } 1 .. 10), 0,
		'ten searches: the vector replica serves them again');
	paused(0, 'vector');
	ok(wait_until(10, sub { $has->($search->('written once the replicas are back'), $back->{id}, 'results') }),
		'replay resumed: found');
}

# The replicas (both unless named) have replayed what their primary has written.
sub caught_up {
	for my $w (@_ ? @_ : qw(main vector)) {
		my $lsn = sql_at($primary{$w}, 'SELECT pg_current_wal_lsn()');
		return 0 unless $lsn && wait_until(10, sub {
			sql_at($port{$w}, "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn") eq 't' });
	}
	return 1;
}

# paused(ON, REPLICAS): replay paused (1) or resumed (0) on each.
sub paused {
	my ($on, @which) = @_;
	my $f = $on ? 'pg_wal_replay_pause()' : 'pg_wal_replay_resume()';
	for my $w (@which) {
		sql_at($port{$w}, "SELECT $f");
		my $want = $on ? 'paused' : 'not paused';
		ok(wait_until(10, sub { sql_at($port{$w}, 'SELECT pg_get_wal_replay_pause_state()') eq $want }),
			"$w replica: replay $want");
	}
}

# How far behind the replicas are under a mixed load of three clients
# (writes, batches, searches, logins): every 50 ms, the primary's WAL
# position, then the time until the replica has replayed up to it (what a
# read there sees of every write committed before).  First with the
# stack's synchronous_commit = off (a commit's WAL leaves when the WAL
# writer flushes it, every wal_writer_delay), then with on, the default.
sub measure_lag {
	my @clients = load_clients(3, 'pgread');
	keys_limits($clients[0]{tenant}, qps => 2000, burst => 2000, concurrency => 50);
	my %on = map { $_ => {primary => pg_session($primary{$_}), replica => pg_session($port{$_})} } qw(main vector);
	my @pids = load_start(\@clients, 16, $dir);
	my %lag;
	for my $commit (qw(off on)) {
		synchronous_commit($commit);
		my $until = time + 8;
		while (time < $until) {
			for my $w (qw(main vector)) {
				my $lsn = $on{$w}{primary}->('SELECT pg_current_wal_lsn()');
				my $t0 = time;
				1 until $on{$w}{replica}->("SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn") eq 't' || time - $t0 > 5;
				push @{ $lag{$commit}{$w} }, (time - $t0) * 1000;
			}
			sleep 0.05;
		}
	}
	synchronous_commit('');
	waitpid($_, 0) for @pids;
	my @log = load_log(\@clients, $dir);
	load_check_answers(\@log, 50);
	my @unique = load_accepted(\@log);
	# Ready by the primary, found by searches that read the replicas.
	my $states = sub { +{ map { split /\|/ } split /\n/,
		sql_at($primary{main}, "SELECT id, status FROM memories WHERE tenant_id = '$clients[0]{tenant}'") } };
	load_check_accepted(\@log, \@clients, \@unique, $states, 60);
	for my $commit (qw(off on)) {
		for my $w (qw(main vector)) {
			my @ms = sort { $a <=> $b } @{ $lag{$commit}{$w} };
			note(sprintf('%s replica, synchronous_commit %s, under the mixed load (%d samples): behind its primary by'
				. ' p50 %.1f ms, p99 %.1f ms, max %.1f ms', $w, $commit, scalar @ms, $ms[$#ms / 2], $ms[int($#ms * 0.99)],
				$ms[-1]));
			cmp_ok(scalar @ms, '>', 10, "$w replica, synchronous_commit $commit: its lag was sampled");
			cmp_ok($ms[-1], '<', 5000, "$w replica, synchronous_commit $commit: never 5 s behind");
		}
	}
}

# synchronous_commit on both primaries for every session, '' back to the
# stack's own (ALTER SYSTEM overrides the stack's aiget.conf until reset).
sub synchronous_commit {
	my ($value) = @_;
	for my $w (qw(main vector)) {
		sql_at($primary{$w}, $value ? "ALTER SYSTEM SET synchronous_commit = $value" : 'ALTER SYSTEM RESET synchronous_commit');
		sql_at($primary{$w}, 'SELECT pg_reload_conf()');
	}
}
END { synchronous_commit('') if %primary }

# `aigetctl check` with ENV over the stack's env file: {rc, out}.
sub ctl {
	my ($env, @args) = @_;
	local @ENV{keys %$env} = values %$env;
	my $env_file = var_dir() . '/aiget.env';
	my $out = `"$ENV{BUILD_DIR}/bin/aigetctl" --env-file "$env_file" @args 2>&1`;
	return {rc => $? >> 8, out => $out};
}

done_testing();

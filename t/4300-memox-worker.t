#!/usr/bin/perl
# The memox worker's jobs: embed batches make memories ready with their
# vector, a stale job never overwrites a newer vector, failures are retried
# with backoff and then dead-lettered (and requeued by aigetctl), a killed
# worker's jobs are reaped, several workers lose nothing, SIGTERM finishes the
# batch, erasures and tenant erasures delete what they must and nothing else,
# and the sweeper finds a memory whose job was lost.
#
# Memories are made the way the memox responder makes them (a row in
# 'pending' and a job on the queue), with psql and redis-cli.  The stack's
# own worker is stopped for the whole script so that each step's worker is
# the only one taking jobs; it is started again at the end.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use POSIX ':sys_wait_h';
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my $env = var_dir() . '/aiget.env';
my $worker = "$ENV{BUILD_DIR}/bin/memox-worker";
my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
my $json = JSON::PP->new->canonical;
my $model = 'local-hash-v1';

my $serial = 0;
sub new_tenant { psql("INSERT INTO tenants (name) VALUES ('worker test " . ++$serial . "') RETURNING id") }

# n new pending memories of a scope, as the responder inserts them; returns their ids.
sub new_memories {
	my ($tenant, $n, %o) = @_;
	my ($ns, $user) = ($o{namespace} // 'notes', $o{user} // 'user-1');
	my $tag = 'm' . ++$serial;
	return split /\n/, psql(<<~SQL);
		INSERT INTO memories (tenant_id, namespace, external_user_id, content, content_hash, metadata)
		SELECT '$tenant', '$ns', '$user', c, sha256(convert_to(c, 'UTF8')), jsonb_build_object('i', i)
		  FROM (SELECT i, '$tag note ' || i || ' about green tea and ' || md5(i::text) AS c
		          FROM generate_series(1, $n) i) s
		RETURNING id
		SQL
}

sub embed_job { my ($id, $v) = @_; $json->encode({type => 'embed', id => $id, version => $v // 1, attempt => 0,
	enqueuedAt => int(time * 1000)}) }
sub queue_jobs { redis_cli('LPUSH', '{memox}:jobs', @_) if @_ }
sub queue_embeds { queue_jobs(map { embed_job($_) } @_) }

sub status_of { psql("SELECT status FROM memories WHERE id = '$_[0]'") }
sub count_where { psql("SELECT count(*) FROM memories WHERE $_[0]") }
sub ids_in { "id IN (" . join(',', map {"'$_'"} @_) . ")" }
sub llen { redis_cli('LLEN', $_[0]) }

# Runs `memox-worker --once` with extra environment; returns its exit status.
sub run_once {
	my ($id, %extra) = @_;
	local @ENV{keys %extra} = values %extra;
	system("$worker --env-file $env --once --id $id >>" . var_dir() . "/log/test-worker-$id.log 2>&1");
	return $? >> 8;
}

# Starts a daemon worker with extra environment; returns its pid.
sub start_worker {
	my ($id, %extra) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		@ENV{keys %extra} = values %extra;
		open(STDOUT, '>>', var_dir() . "/log/test-worker-$id.log");
		open(STDERR, '>&', \*STDOUT);
		exec($worker, '--env-file', $env, '--id', $id) or die "exec: $!";
	}
	return $pid;
}

sub stop_worker {
	my ($pid, $signal) = @_;
	kill $signal // 'TERM', $pid;
	waitpid($pid, 0);
	return $? & 127 ? -($? & 127) : $? >> 8;
}

# Freezes the worker (SIGSTOP) at a moment it holds jobs in its processing
# list; returns true with the worker left stopped, false if that never came.
sub freeze_busy {
	my ($pid, $list, $seconds) = @_;
	my $deadline = time + $seconds;
	while (time < $deadline) {
		if (llen($list) > 0) {
			kill 'STOP', $pid;
			wait_until(2, sub { (split ' ', (`cat /proc/$pid/stat` =~ s/^.*\) //r))[0] eq 'T' });
			return 1 if llen($list) > 0;
			kill 'CONT', $pid;
		}
		sleep 0.01;
	}
	return 0;
}

sub ctl_json {
	my $out = `$ctl --env-file $env memox @_ --json`;
	return eval { decode_json($out) } // {};
}

# The stack's worker is stopped for this script: its own workers take the jobs.
with_service_stopped(worker => sub {
	redis_cli('DEL', '{memox}:jobs', '{memox}:delayed', '{memox}:dead');

	# ------------------------------------------------------------ embed jobs
	{
		my $t = new_tenant();
		my @ids = new_memories($t, 3);
		queue_embeds(@ids);
		is(run_once('embed'), 0, 'embed: --once exits 0');
		is(count_where(ids_in(@ids) . " AND status = 'ready' AND model = '$model' AND dimensions = 384"
			. " AND embedded_at IS NOT NULL AND error IS NULL"), 3, 'embed: the memories are ready, with model and dimensions');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id IN (" . join(',', map {"'$_'"} @ids) . ")"
			. " AND model = '$model' AND dimensions = 384 AND vector_dims(embedding) = 384 AND version = 1"
			. " AND tenant_id = '$t' AND namespace = 'notes' AND external_user_id = 'user-1'"), 3,
			'embed: one vector each, 384 dimensions, version 1, in the memory scope');
		my ($main) = psql("SELECT metadata::text || '|' || created_at::text FROM memories WHERE id = '$ids[0]'");
		is(psql_vector("SELECT metadata::text || '|' || created_at::text FROM memory_vectors WHERE memory_id = '$ids[0]'"),
			$main, 'embed: the vector carries the metadata and creation time');
		is(llen('{memox}:jobs') + llen('{memox}:processing:embed'), 0, 'embed: queue and processing list are empty');
		my $month = `date -u +%Y-%m`; chomp $month;
		is(redis_cli('HGET', "usage:{$t}:$month", 'embeddingCalls'), 3, 'embed: three embedding calls counted on the tenant');

		# A job for a memory gone or no longer pending is simply done.
		queue_embeds($ids[0], '00000000-0000-4000-8000-000000000000');
		my $before = psql_vector("SELECT updated_at FROM memory_vectors WHERE memory_id = '$ids[0]'");
		is(run_once('embed'), 0, 'embed: jobs of ready or missing memories');
		is(psql_vector("SELECT updated_at FROM memory_vectors WHERE memory_id = '$ids[0]'"), $before, 'embed: a ready memory is not embedded again');
		is(llen('{memox}:dead'), 0, 'embed: and neither job is dead');

		# A change (the responder's PATCH): version 2, pending again.  The old
		# job and the new both embed the current version.
		psql("UPDATE memories SET content = 'changed to black coffee', version = 2, status = 'pending', attempts = 0,"
			. " error = NULL, updated_at = now() WHERE id = '$ids[1]'");
		queue_jobs(embed_job($ids[1], 1), embed_job($ids[1], 2));
		is(run_once('embed'), 0, 'stale: old and new job run');
		is(psql("SELECT status || ' ' || version FROM memories WHERE id = '$ids[1]'"), 'ready 2', 'stale: ready at version 2');
		is(psql_vector("SELECT version FROM memory_vectors WHERE memory_id = '$ids[1]'"), 2, 'stale: the vector is of version 2');

		# The upsert never lowers a vector's version: a worker holding an older
		# version (read before a newer one was embedded) cannot overwrite it.
		psql_vector("UPDATE memory_vectors SET version = 9 WHERE memory_id = '$ids[2]'");
		my $vec = psql_vector("SELECT md5(embedding::text) FROM memory_vectors WHERE memory_id = '$ids[2]'");
		psql("UPDATE memories SET content = 'an older text', version = 3, status = 'pending' WHERE id = '$ids[2]'");
		queue_jobs(embed_job($ids[2], 3));
		is(run_once('embed'), 0, 'stale: the job of version 3 runs');
		is(psql_vector("SELECT version || ' ' || md5(embedding::text) FROM memory_vectors WHERE memory_id = '$ids[2]'"),
			"9 $vec", 'stale: the newer vector (version 9) is left as it was');
	}

	# ------------------------------------------------------------ batches
	{
		my $t = new_tenant();
		my @ids = new_memories($t, 200);
		queue_embeds(@ids);
		my $t0 = time;
		is(run_once('batch', EMBEDDING_BATCH_SIZE => 64), 0, 'batch: --once exits 0');
		is(count_where("tenant_id = '$t' AND status = 'ready'"), 200, 'batch: 200 jobs, all ready');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t'"), 200, 'batch: 200 vectors');
		is(llen('{memox}:jobs') + llen('{memox}:processing:batch'), 0, 'batch: nothing left in the queue');
		diag(sprintf('200 embed jobs in %.2f s', time - $t0));
	}

	# ------------------------------------------------------------ retries, dead letters
	{
		my $t = new_tenant();
		my ($id) = new_memories($t, 1);
		my $bad = 'postgresql://aiget:nothing@127.0.0.1:1/aiget';

		# One failed attempt: the job waits in the delayed set, the memory keeps its
		# attempt and error while staying pending.
		queue_embeds($id);
		my $updated = psql("SELECT updated_at FROM memories WHERE id = '$id'");
		is(run_once('retry', VECTOR_DATABASE_URL => $bad, MEMOX_JOB_MAX_ATTEMPTS => 3, MEMOX_RETRY_BASE_MS => 3000), 0,
			'retry: --once exits 0 although the job failed');
		is(psql("SELECT status || ' ' || attempts FROM memories WHERE id = '$id'"), 'pending 1', 'retry: pending, one attempt');
		like(psql("SELECT error FROM memories WHERE id = '$id'"), qr/vector database/, 'retry: the error is kept');
		unlike(psql("SELECT error FROM memories WHERE id = '$id'"), qr/127\.0\.0\.1|port/, 'retry: without the host');
		isnt(psql("SELECT updated_at FROM memories WHERE id = '$id'"), $updated, 'retry: updated_at moves (no needless sweep)');
		my @delayed = split /\n/, redis_cli('ZRANGE', '{memox}:delayed', 0, -1);
		is(scalar @delayed, 1, 'retry: the job is in the delayed set');
		is(eval { decode_json($delayed[0])->{attempt} }, 1, 'retry: with its attempt counted');
		my $q = ctl_json('queue');
		is($q->{delayed}, 1, 'queue --json: one delayed');
		ok(defined $q->{nextDueInMs} && $q->{nextDueInMs} > 1000 && $q->{nextDueInMs} <= 3300,
			'queue --json: due in about 3 s') or diag(explain $q);
		is($q->{queued}, 0, 'queue --json: none queued');

		# --once drains the queue, not the delayed jobs not yet due.
		is(run_once('retry'), 0, '--once with only a delayed job');
		is(status_of($id), 'pending', '--once: a delayed job not yet due is left alone');
		ok(wait_until(5, sub { redis_cli('ZCOUNT', '{memox}:delayed', '-inf', int(time * 1000)) == 1 }), 'retry: due');
		is(run_once('retry'), 0, '--once with a due delayed job');
		is(status_of($id), 'ready', 'retry: the due job ran and the memory is ready');
		is(redis_cli('ZCARD', '{memox}:delayed'), 0, 'retry: the delayed set is empty');

		# Out of attempts: failed and dead-lettered, then requeued once mended.
		my ($id2) = new_memories($t, 1);
		queue_embeds($id2);
		my $pid = start_worker('dead', VECTOR_DATABASE_URL => $bad, MEMOX_JOB_MAX_ATTEMPTS => 2, MEMOX_RETRY_BASE_MS => 50);
		ok(wait_until(10, sub { status_of($id2) eq 'failed' }), 'dead: the memory ends failed');
		is(stop_worker($pid), 0, 'dead: the worker stops with status 0');
		is(psql("SELECT attempts FROM memories WHERE id = '$id2'"), 2, 'dead: after two attempts');
		like(psql("SELECT error FROM memories WHERE id = '$id2'"), qr/vector database/, 'dead: the error is kept');
		my @dead = map { decode_json($_) } split /\n/, redis_cli('LRANGE', '{memox}:dead', 0, -1);
		my ($entry) = grep { $_->{job} =~ /\Q$id2\E/ } @dead;
		ok($entry, 'dead: the job is in {memox}:dead');
		like($entry->{error} // '', qr/after 2 attempts/, 'dead: with its error');
		ok($entry->{failedAt}, 'dead: and the time');
		is(redis_cli('ZCARD', '{memox}:delayed') + llen('{memox}:jobs') + llen('{memox}:processing:dead'), 0,
			'dead: the job is nowhere else');
		is(ctl_json('queue')->{dead}, scalar @dead, 'queue --json: the dead count');

		my $r = ctl_json('requeue-dead');
		is($r->{requeued}, scalar @dead, 'requeue-dead: every dead job requeued');
		is($r->{memoriesPending}, 1, 'requeue-dead: one memory pending again');
		is(psql("SELECT status || ' ' || attempts || ' ' || coalesce(error, '-') FROM memories WHERE id = '$id2'"), 'pending 0 -',
			'requeue-dead: the memory is pending, attempts and error cleared');
		is(llen('{memox}:dead'), 0, 'requeue-dead: the dead list is empty');
		like(redis_cli('LRANGE', '{memox}:jobs', 0, -1), qr/"attempt":0/, 'requeue-dead: the job starts again at attempt 0');
		is(run_once('requeued'), 0, 'requeue-dead: a good worker runs it');
		is(status_of($id2), 'ready', 'requeue-dead: the memory is ready');

		# By default a job outlasts a long outage: 20 attempts, which with the
		# default waits (1 s doubling to 5 min) span about an hour. Here the
		# waits are 20 ms, the attempts the default.
		my ($id3) = new_memories($t, 1);
		queue_embeds($id3);
		$pid = start_worker('outage', VECTOR_DATABASE_URL => $bad, MEMOX_RETRY_BASE_MS => 20, MEMOX_RETRY_MAX_MS => 20);
		ok(wait_until(30, sub { psql("SELECT attempts FROM memories WHERE id = '$id3'") >= 12 }),
			'outage: a dozen failed attempts ...');
		is(stop_worker($pid), 0, 'outage: the worker stops with status 0');
		is(status_of($id3), 'pending', 'outage: ... and the memory is still pending, not failed');
		is(redis_cli('ZCARD', '{memox}:delayed') + llen('{memox}:jobs'), 1, 'outage: the job waits for its next try');
		select(undef, undef, undef, 0.1);    # past its 20 ms
		is(run_once('mended'), 0, 'outage: once mended, a worker runs it');
		is(status_of($id3), 'ready', 'outage: the memory is ready');
	}

	# ------------------------------------------------------------ kill -9 and the reaper
	{
		my $t = new_tenant();
		my @ids = new_memories($t, 1500);
		queue_embeds(@ids);
		my %fast = (MEMOX_WORKER_HEARTBEAT_SECONDS => 2, EMBEDDING_BATCH_SIZE => 32);
		my $pid = start_worker('doomed', %fast);
		wait_until(20, sub { count_where("tenant_id = '$t' AND status = 'ready'") > 0 });
		my $busy = freeze_busy($pid, '{memox}:processing:doomed', 20);
		kill 'KILL', $pid;
		waitpid($pid, 0);
		my $held = llen('{memox}:processing:doomed');
		ok($busy && $held > 0, "kill -9: the worker died holding $held jobs");
		is(redis_cli('SISMEMBER', '{memox}:workers', 'doomed'), 1, 'kill -9: still registered');
		my $q;
		ok(wait_until(5, sub { $q = ctl_json('queue'); grep { $_->{id} eq 'doomed' && !$_->{alive} } @{$q->{workers} || []} }),
			'queue --json: the dead worker shows without heartbeat');
		my ($w) = grep { $_->{id} eq 'doomed' } @{$q->{workers} || []};
		is($w->{processing}, $held, 'queue --json: with the jobs it holds');
		cmp_ok(count_where("tenant_id = '$t' AND status = 'pending'"), '>', 0, 'kill -9: memories left pending');

		my $reaper = start_worker('reaper', %fast);
		ok(wait_until(40, sub { count_where("tenant_id = '$t' AND status = 'pending'") == 0 }),
			'kill -9: another worker reaps the jobs and finishes them all');
		is(stop_worker($reaper), 0, 'the reaper stops cleanly');
		is(count_where("tenant_id = '$t' AND status = 'ready'"), 1500, 'kill -9: all 1500 memories ready');
		is(llen('{memox}:processing:doomed'), 0, "kill -9: the dead worker's list is empty");
		is(redis_cli('SISMEMBER', '{memox}:workers', 'doomed'), 0, 'kill -9: and it is no longer registered');
		is(redis_cli('SISMEMBER', '{memox}:workers', 'reaper'), 0, 'clean stop: the reaper deregistered');
		is(redis_cli('EXISTS', '{memox}:heartbeat:reaper'), 0, 'clean stop: and removed its heartbeat');
		is(llen('{memox}:jobs') + llen('{memox}:dead'), 0, 'kill -9: no job left over or dead');
	}

	# ------------------------------------------------------------ several workers
	{
		my $t = new_tenant();
		my @ids = new_memories($t, 1000);
		queue_embeds(@ids);
		my @pids;
		for my $n (1 .. 3) {
			my $pid = fork // die;
			if (!$pid) {
				open(STDOUT, '>>', var_dir() . "/log/test-worker-many-$n.log");
				open(STDERR, '>&', \*STDOUT);
				exec($worker, '--env-file', $env, '--once', '--id', "many-$n") or die;
			}
			push @pids, $pid;
		}
		my @rc = map { waitpid($_, 0); $? >> 8 } @pids;
		is("@rc", '0 0 0', 'three workers: each exits 0 once the queue is drained');
		is(count_where("tenant_id = '$t' AND status = 'ready'"), 1000, 'three workers: all 1000 memories ready');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t'"), 1000, 'three workers: 1000 vectors');
		is(llen('{memox}:jobs') + llen('{memox}:dead') + llen('{memox}:processing:many-1') + llen('{memox}:processing:many-2')
			+ llen('{memox}:processing:many-3'), 0, 'three workers: no job left anywhere');
	}

	# ------------------------------------------------------------ --once, SIGTERM
	{
		is(run_once('empty'), 0, '--once on an empty queue exits 0');
		my $t = new_tenant();
		my @ids = new_memories($t, 600);
		queue_embeds(@ids);
		my $pid = start_worker('term', EMBEDDING_BATCH_SIZE => 32);
		my $busy = freeze_busy($pid, '{memox}:processing:term', 20);
		my $t0 = time;
		kill 'TERM', $pid;
		kill 'CONT', $pid;
		my $rc = stop_worker($pid, 'TERM');
		ok($busy, 'SIGTERM: sent while the worker held a batch');
		is($rc, 0, 'SIGTERM: exit status 0');
		ok(time - $t0 < 5, 'SIGTERM: gone promptly');
		is(llen('{memox}:processing:term'), 0, 'SIGTERM: the batch in hand was finished');
		my $ready = count_where("tenant_id = '$t' AND status = 'ready'");
		is($ready + llen('{memox}:jobs'), 600, "SIGTERM: $ready ready, the rest still queued: nothing lost");
		is(run_once('term'), 0, 'SIGTERM: the rest drained');
		is(count_where("tenant_id = '$t' AND status = 'ready'"), 600, 'SIGTERM: all ready in the end');
	}

	# ------------------------------------------------------------ vectors.delete
	{
		my $t = new_tenant();
		my ($id) = new_memories($t, 1);
		queue_embeds($id);
		run_once('vectors');
		queue_jobs($json->encode({type => 'vectors.delete', id => $id}));
		is(run_once('vectors'), 0, 'vectors.delete: runs');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id = '$id'"), 1, 'vectors.delete: kept while the memory exists');
		psql("DELETE FROM memories WHERE id = '$id'");
		queue_jobs($json->encode({type => 'vectors.delete', id => $id}));
		is(run_once('vectors'), 0, 'vectors.delete: runs again');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE memory_id = '$id'"), 0, 'vectors.delete: gone with the memory');
	}

	# ------------------------------------------------------------ erase one end user
	{
		my $t = new_tenant();
		my @u1 = new_memories($t, 3, user => 'alice');
		my @u2 = new_memories($t, 2, user => 'bob');
		my @ns2 = new_memories($t, 1, user => 'alice', namespace => 'other');
		queue_embeds(@u1, @u2, @ns2);
		run_once('erase');
		is(count_where("tenant_id = '$t' AND status = 'ready'"), 6, 'erase: six memories ready');
		my $e = psql("INSERT INTO memox_erasures (tenant_id, namespace, external_user_id) VALUES ('$t', 'notes', 'alice') RETURNING id");
		my ($later) = new_memories($t, 1, user => 'alice');    # made after the request: kept
		queue_embeds($later);
		run_once('erase');
		queue_jobs($json->encode({type => 'erase', id => $e}));
		is(run_once('erase'), 0, 'erase: runs');
		is(psql("SELECT status || ' ' || deleted || ' ' || (finished_at IS NOT NULL) FROM memox_erasures WHERE id = '$e'"),
			'done 3 true', 'erase: done, three deleted, finished_at set');
		is(count_where(ids_in(@u1)), 0, "erase: alice's memories in the namespace are gone");
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t' AND namespace = 'notes' AND external_user_id = 'alice'"),
			1, 'erase: and their vectors (the one left is the later memory)');
		is(count_where(ids_in(@u2, @ns2, $later)), 4, "erase: bob's, the other namespace's and the later memory stay");
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t'"), 4, 'erase: with their vectors');
		queue_jobs($json->encode({type => 'erase', id => $e}));
		is(run_once('erase'), 0, 'erase: the same job again');
		is(psql("SELECT status || ' ' || deleted FROM memox_erasures WHERE id = '$e'"), 'done 3', 'erase: again is harmless');
		is(count_where(ids_in(@u2, @ns2, $later)), 4, 'erase: and deletes nothing more');
	}

	# ------------------------------------------------------------ large scopes into the HNSW index
	# With MEMOX_EXACT_SCAN_MAX 20, a scope is large from 21 vectors: it is
	# listed, its older vectors are indexed by --once before it exits, its new
	# ones go in straight away; a small scope never enters the index; erasing
	# the end user, or the tenant, takes the scope's entry with it.
	{
		my %small = (MEMOX_EXACT_SCAN_MAX => 20);
		my $t = new_tenant();
		my @big = new_memories($t, 25, user => 'big');
		my @few = new_memories($t, 8, user => 'few');
		queue_embeds(@big, @few);
		is(run_once('index', %small), 0, 'index: runs');
		my $in_index = sub { psql_vector("SELECT count(*) FILTER (WHERE in_index) || '/' || count(*) FROM memory_vectors"
			. " WHERE tenant_id = '$t' AND external_user_id = '$_[0]'") };
		my $entry = sub { psql_vector("SELECT coalesce(string_agg(model || ' ' || complete, ','), 'none') FROM indexed_scopes"
			. " WHERE tenant_id = '$t' AND namespace = 'notes' AND external_user_id = '$_[0]'") };
		is($entry->('big'), "$model true", 'index: the large scope is listed, and complete');
		is($in_index->('big'), '25/25', 'index: all its vectors are in the index');
		is($entry->('few'), 'none', 'index: a small scope is not listed');
		is($in_index->('few'), '0/8', 'index: and none of its vectors is in the index');
		my @more = new_memories($t, 3, user => 'big');
		queue_embeds(@more);
		is(run_once('index', %small), 0, 'index: runs again');
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE in_index AND memory_id IN ("
			. join(',', map {"'$_'"} @more) . ")"), 3, 'index: new vectors of a listed scope go in straight away');
		is(run_once('index'), 0, 'index: with the default line (100,001)');
		is($entry->('few'), 'none', 'index: the small scope is still not listed');

		my $e = psql("INSERT INTO memox_erasures (tenant_id, namespace, external_user_id) VALUES ('$t', 'notes', 'big') RETURNING id");
		queue_jobs($json->encode({type => 'erase', id => $e}));
		is(run_once('index', %small), 0, 'index: the erasure runs');
		is($entry->('big'), 'none', "index: the erased end user's scope is no longer listed");

		queue_embeds(new_memories($t, 20, user => 'big2'));
		is(run_once('index', %small), 0, 'index: a scope of exactly MEMOX_EXACT_SCAN_MAX vectors');
		is($entry->('big2'), 'none', 'index: is not listed (the exact plan serves it, with no HNSW insert)');
		queue_embeds(new_memories($t, 1, user => 'big2'));
		is(run_once('index', %small), 0, 'index: another large scope');
		is($entry->('big2'), "$model true", 'index: listed');
		psql("UPDATE tenants SET status = 'deleted', deleted_at = now() WHERE id = '$t'");
		queue_jobs($json->encode({type => 'tenant.erase', tenantId => $t}));
		is(run_once('index'), 0, 'index: the tenant erasure runs');
		is(psql_vector("SELECT count(*) FROM indexed_scopes WHERE tenant_id = '$t'"), 0, "index: the tenant's entries are gone");
	}

	# ------------------------------------------------------------ tenant.erase
	{
		my $t = new_tenant();
		my $other = new_tenant();
		my @ids = new_memories($t, 5);
		my @keep = new_memories($other, 2);
		queue_embeds(@ids, @keep);
		run_once('tenant');
		queue_jobs($json->encode({type => 'tenant.erase', tenantId => $t}));
		is(run_once('tenant'), 0, 'tenant.erase of a live tenant: runs');
		is(count_where("tenant_id = '$t'"), 5, 'tenant.erase: a live tenant is never erased');
		like(redis_cli('LRANGE', '{memox}:dead', 0, -1), qr/is not deleted/, 'tenant.erase: the job is dead, saying why');
		redis_cli('DEL', '{memox}:dead');
		psql("UPDATE tenants SET status = 'deleted', deleted_at = now() WHERE id = '$t'");
		queue_jobs($json->encode({type => 'tenant.erase', tenantId => $t}));
		is(run_once('tenant'), 0, 'tenant.erase: runs');
		is(count_where("tenant_id = '$t'"), 0, "tenant.erase: the deleted tenant's memories are gone");
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$t'"), 0, 'tenant.erase: and its vectors');
		is(count_where("tenant_id = '$other' AND status = 'ready'"), 2, "tenant.erase: another tenant's memories stay");
		is(psql_vector("SELECT count(*) FROM memory_vectors WHERE tenant_id = '$other'"), 2, 'tenant.erase: with their vectors');
		is(llen('{memox}:dead'), 0, 'tenant.erase: nothing dead');
	}

	# ------------------------------------------------------------ the pending sweeper
	{
		my $t = new_tenant();
		my ($lost, $recent) = new_memories($t, 2);
		# $lost's job never reached the queue, long ago; $recent's may still come.
		psql("UPDATE memories SET updated_at = now() - interval '1 hour' WHERE id = '$lost'");
		redis_cli('DEL', '{memox}:sweep-lock');
		is(run_once('sweeper', MEMOX_PENDING_SWEEP_SECONDS => 5), 0, 'sweeper: runs');
		is(status_of($lost), 'ready', 'sweeper: a memory pending for long got its job again and is ready');
		is(status_of($recent), 'pending', 'sweeper: a recently pending memory is left to its own job');
		is(redis_cli('EXISTS', '{memox}:sweep-lock'), 1, 'sweeper: the lock keeps other workers from sweeping at once');
		queue_embeds($recent);
		run_once('sweeper');
	}

	is(llen('{memox}:jobs') + redis_cli('ZCARD', '{memox}:delayed') + llen('{memox}:dead'), 0, 'the queue is empty at the end');
});

done_testing();

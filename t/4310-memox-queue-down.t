#!/usr/bin/perl
# A write while Redis (the job queue) is down is accepted, not refused: the
# memory is committed in PostgreSQL before its job is queued, so the answer
# is the usual 202 and the memory is marked as not queued.  Once Redis is
# back, the worker's sweep queues it at once (not after the sweeper's
# MEMOX_PENDING_SWEEP_SECONDS for lost jobs), and it becomes ready and
# searchable within seconds.  Single writes, batches and changes alike;
# nothing is lost and nothing doubled.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();

my $owner = tenants_user('queue-down');
my $tenant = tenants_new($owner, 'queue down')->{id};
keys_limits($tenant);
my $key = keys_make($owner->{token}, $tenant)->{key};
my %scope = (namespace => 'outage', externalUserId => 'user-1');

sub mx { call($key, @_) }
sub memory { answer_is(mx(GET => "/api/v1/memox/memories/$_[0]"), 200, "get $_[0]") }
# The scope's memories by id, in one request.
sub statuses {
	my $page = answer_is(mx(GET => '/api/v1/memox/memories?namespace=outage&externalUserId=user-1&limit=100'), 200, 'list');
	return {map { $_->{id} => $_->{status} } @{ $page->{memories} // [] }};
}

# Something that is ready before the outage, to change during it.
my $before = answer_is(mx(POST => '/api/v1/memox/memories', {%scope, content => 'written before the outage'}), 202, 'a write before');
ok(wait_until(20, sub { memory($before->{id})->{status} eq 'ready' }), 'it is ready');

my (@single, @batch, $changed);
with_service_stopped(redis => sub {
	for my $i (1 .. 3) {
		my $res = mx(POST => '/api/v1/memox/memories', {%scope, content => "written while the queue is down, number $i",
			metadata => {i => $i}});
		my $b = answer_is($res, 202, "single write $i while Redis is down: accepted");
		is($b->{status}, 'pending', "single write $i: pending");
		push @single, $b->{id};
	}
	my $res = mx(POST => '/api/v1/memox/memories/batch', {memories => [map { {%scope, content => "batched in the outage $_"} } 1 .. 4]});
	my $b = answer_is($res, 202, 'a batch while Redis is down: accepted');
	@batch = map { $_->{id} } @{ $b->{memories} // [] };
	is(scalar @batch, 4, 'four memories');
	$res = mx(PATCH => "/api/v1/memox/memories/$before->{id}", {content => 'changed during the outage'});
	$changed = answer_is($res, 202, 'a change while Redis is down: accepted');
	is($changed->{status}, 'pending', 'the change is pending');
	is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$tenant' AND NOT queued"), 8,
		'the eight are kept in PostgreSQL, marked as not queued');
	# A duplicate of an accepted write is still one memory.
	$b = answer_is(mx(POST => '/api/v1/memox/memories', {%scope, content => 'written while the queue is down, number 1'}), 200, 'the same content again');
	is($b->{id}, $single[0], 'is the same memory');
});

my $back = time;
my @all = (@single, @batch, $before->{id});
ok(wait_until(20, sub { my $s = statuses(); !grep { ($s->{$_} // '') ne 'ready' } @all }), 'every accepted write is ready once Redis is back')
	or diag(explain(statuses()));
my $took = time - $back;
cmp_ok($took, '<', 20, "within ${took}s, not after the sweeper's 10 minutes");
note("ready ${took}s after Redis came back");
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$tenant' AND NOT queued"), 0, 'none is left marked');
is(psql("SELECT count(*) FROM memories WHERE tenant_id = '$tenant'"), 8, 'eight memories: nothing lost, nothing doubled');
is(memory($before->{id})->{content}, 'changed during the outage', 'the change stands');

my $found = answer_is(mx(POST => '/api/v1/memox/search', {%scope, query => 'queue down number 2', topK => 10}), 200, 'search');
ok((grep { $_->{id} eq $single[1] } @{ $found->{results} }), 'a write made while Redis was down is found by search');

done_testing();

#!/usr/bin/perl
# Per-tenant limits on key-authenticated requests (GET /api/v1/keys/self, the
# trivial one): RateLimit-* headers on every admitted or limited answer; with
# qps=5, burst=5 a burst of 50 gets the burst (plus what refills meanwhile)
# through and the rest 429 with Retry-After of 1..2 s and the contract's
# error body; a concurrency limit refuses requests beyond the slots in
# flight, and a slot left by a dead process frees itself; the monthly quota;
# limits changed at runtime take effect within a second.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use POSIX qw(ceil strftime);
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my (undef, undef, $reg) = register_user(tag => 'keys-rate');
my $tok = $reg->{accessToken};
my $tenant = tenants_new($tok, 'rate')->{id};
my $k = keys_make($tok, $tenant, name => 'busy');

sub limit_of { keys_self($_[0])->{headers}{'ratelimit-limit'} // '' }
sub redis_ms { my ($s, $us) = split /\n/, redis_cli('TIME'); return $s * 1000 + int($us / 1000) }

# Runs $n requests with the key from $procs processes at once (as close
# together as a fork allows); returns their results and the seconds taken.
sub burst {
	my ($key, $procs, $each) = @_;
	my @pipes;
	my $go = time + 0.3;    # every child starts at the same moment
	for my $p (1 .. $procs) {
		pipe(my $r, my $w) or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			close $r;
			sleep($go - time) if $go > time;
			my @out;
			for (1 .. $each) {
				my $res = keys_self($key);
				my $err = eval { JSON::PP::decode_json($res->{content})->{error} } || {};
				push @out, {status => $res->{status}, code => $err->{code}, message => $err->{message},
					requestId => $err->{requestId}, rid => $res->{headers}{'x-request-id'},
					map { $_ => $res->{headers}{$_} } qw(retry-after ratelimit-limit ratelimit-remaining ratelimit-reset)};
			}
			print $w JSON::PP->new->encode(\@out);
			close $w;
			POSIX::_exit(0);
		}
		close $w;
		push @pipes, [$pid, $r];
	}
	my @all;
	for (@pipes) {
		my ($pid, $r) = @$_;
		local $/;
		my $text = <$r>;
		waitpid($pid, 0);
		push @all, @{JSON::PP::decode_json($text)};
	}
	return (\@all, time - $go);
}

# ------------------------------------------------------------- the headers
my $res = keys_self($k->{key});
is($res->{status}, 200, 'default limits: 200');
is($res->{headers}{'ratelimit-limit'}, 40, 'RateLimit-Limit: the default burst (TENANT_DEFAULT_BURST)');
like($res->{headers}{'ratelimit-remaining'} // '', qr/^\d+$/, 'RateLimit-Remaining');
like($res->{headers}{'ratelimit-reset'} // '', qr/^\d+$/, 'RateLimit-Reset');

# ------------------------------------------------------------- a runtime change
keys_limits($tenant, qps => 5, burst => 5);
my $t0 = time;
my $took = wait_until(3, sub { limit_of($k->{key}) eq '5' ? time - $t0 : 0 });
ok($took && $took <= 1, sprintf('new limits take effect within a second (%.0f ms)', 1000 * ($took || 0)));
diag(sprintf('limits change to effect: %.0f ms', 1000 * ($took || 0)));

# ------------------------------------------------------------- qps 5, burst 5
sleep 1.2;    # the bucket refills to its burst
my ($all, $secs) = burst($k->{key}, 10, 5);
my @ok = grep { $_->{status} == 200 } @$all;
my @limited = grep { $_->{status} == 429 } @$all;
my $allowed = 5 + ceil(5 * $secs);
diag(sprintf('burst of %d requests in %.0f ms: %d passed, %d limited (allowed at most %d)',
	scalar @$all, 1000 * $secs, scalar @ok, scalar @limited, $allowed));
is(scalar @$all, 50, '50 requests answered');
is(@ok + @limited, 50, 'each 200 or 429');
ok(@ok >= 5, 'at least the burst passed');
ok(@ok <= $allowed, "at most the burst and the refill during it passed ($allowed)");
is(scalar(grep { ($_->{'ratelimit-limit'} // '') eq '5' && defined $_->{'ratelimit-remaining'}
	&& defined $_->{'ratelimit-reset'} } @$all), 50, 'RateLimit-* headers on every answer');
is(scalar(grep { ($_->{'retry-after'} // 0) >= 1 && $_->{'retry-after'} <= 2 } @limited), scalar @limited,
	'every 429 has Retry-After of 1..2 s');
is(scalar(grep { ($_->{code} // '') eq 'rate_limited' && ($_->{message} // '') =~ /rate limit/
	&& ($_->{requestId} // '') eq ($_->{rid} // '-') } @limited), scalar @limited,
	"every 429 has the contract's error body");
is(scalar(grep { $_->{'ratelimit-remaining'} eq '0' } @limited), scalar @limited, 'with RateLimit-Remaining 0');
my ($wait) = map { $_->{'retry-after'} } @limited;
sleep($wait // 1);
is(keys_self($k->{key})->{status}, 200, 'after Retry-After the key is admitted again');

# ------------------------------------------------------------- concurrency
keys_limits($tenant, concurrency => 1);
ok(wait_until(2, sub { keys_self($k->{key})->{status} == 200 }), 'concurrency 1, generous rate: admitted');
# A request in flight elsewhere holds the one slot (as the admission script
# records it): the next is refused, and once that slot's time is up (a
# process that died mid-request) it is free again.
my $slots = "rl:{$tenant}:slots";
redis_cli('ZADD', $slots, redis_ms() + 60000, 'in-flight-elsewhere');
$res = keys_self($k->{key});
my $body = error_is($res, 429, 'rate_limited', 'the only slot taken');
like($body->{error}{message}, qr/concurrency/, 'the message says concurrency');
like($res->{headers}{'retry-after'} // '', qr/^[12]$/, 'with Retry-After');
is($res->{headers}{'ratelimit-limit'}, 1, 'RateLimit-Limit: the concurrency limit');
redis_cli('ZADD', $slots, redis_ms() - 1, 'in-flight-elsewhere');
is(keys_self($k->{key})->{status}, 200, "a dead process's slot frees itself");
is(redis_cli('ZCARD', $slots), 0, 'and an answered request gives its slot back');

# Real requests in flight together, from 8 processes at once against the
# responder's children: some overlap, and those beyond the one slot are refused.
($all, $secs) = burst($k->{key}, 8, 25);
@ok = grep { $_->{status} == 200 } @$all;
@limited = grep { $_->{status} == 429 } @$all;
my @other = grep { $_->{status} != 200 && $_->{status} != 429 } @$all;
diag(sprintf('concurrency 1, %d requests from 8 processes in %.0f ms: %d refused for concurrency',
	scalar @$all, 1000 * $secs, scalar @limited));
is(scalar @other, 0, 'in parallel: each 200 or 429');
ok(@ok > 0, 'in parallel: some admitted');
ok(@limited > 0, 'in parallel: some refused, as they overlapped');
is(scalar(grep { ($_->{message} // '') =~ /concurrency/ } @limited), scalar @limited, 'every 429 for concurrency');
is(scalar(grep { defined $_->{'ratelimit-limit'} } @$all), scalar @$all, 'RateLimit-* headers on every answer');
is(redis_cli('ZCARD', $slots), 0, 'no slot left taken');

# ------------------------------------------------------------- monthly
my $month = strftime('%Y-%m', gmtime);
my $used = redis_cli('GET', "rl:{$tenant}:month:$month") || 0;
keys_limits($tenant, monthlyRequests => $used + 3);
my @st;
for (1 .. 6) {
	$res = keys_self($k->{key});
	push @st, $res->{status};
	last if $res->{status} == 429;
}
ok(scalar(grep { $_ == 200 } @st) <= 3 && $st[-1] == 429, 'the monthly quota stops the key (' . join(' ', @st) . ')');
$body = error_is($res, 429, 'rate_limited', 'monthly quota');
like($body->{error}{message}, qr/monthly/, 'the message says monthly');
my $next = POSIX::mktime(0, 0, 0, 1, (gmtime)[4] + 1, (gmtime)[5]) - POSIX::mktime(gmtime);
ok(abs(($res->{headers}{'retry-after'} // 0) - $next) <= 5, 'Retry-After: the start of next month (UTC)');
keys_limits($tenant);
ok(wait_until(2, sub { keys_self($k->{key})->{status} == 200 }), 'a raised quota takes effect at once');

# ------------------------------------------------------------- refusals carry no limits
$res = keys_self('agk_' . ('B' x 43));
is($res->{status}, 401, 'an unknown key: 401');
ok(!defined $res->{headers}{'ratelimit-limit'}, 'a key that was not admitted gets no RateLimit headers');

done_testing();

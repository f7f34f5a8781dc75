#!/usr/bin/perl
# The time of an answer tells nothing its body does not:
#  - an API key that does not exist, one that is disabled (the same 401),
#    and a valid one without the route's scope (403) take as long, whether
#    the key is seen for the first time or again (shared/api_key.c caches
#    a digest the database does not know as it caches a key it does);
#  - a login with an unknown email and one with a known email and a wrong
#    password (the same 401) take as long (both pay a scrypt verification,
#    fcgi-apps/auth/accounts.c).
#
# How it is measured: each class of request is sampled many times (200 for
# the repeated ones, 100 for first sights), the samples of the classes
# compared are interleaved in a random order (AIGET_SEED replays one), and
# each is the wall time of one whole request through nginx from this
# process, connection included.  Interleaving spreads the machine's own
# noise (another build on the two cores, the sanitizer, the garbage of a
# child) over every class alike.  For each pair the medians are compared
# with the spread of the samples, the interquartile range (IQR): the
# difference of the medians must be under half the larger IQR.  A leak of
# a database lookup (0.4-0.6 ms here, against an IQR of about 0.3 ms) or
# of a scrypt verification (tens of ms) fails that; the noise of two
# samples of one distribution, whose medians differ by a tenth of an IQR at
# these sizes, does not.  First sights are held to the whole IQR instead:
# each key gives one of them (then it is cached for 30 s), so one sample is
# all anyone gets, and the first lookup of a real key costs the database a
# join more than that of an unknown one (about 0.1 ms, a third of an IQR).
# A bootstrap interval of the difference (1,000 resamples) is printed
# beside each, for the reader.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use List::Util qw(shuffle max);
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();
my $seed = $ENV{AIGET_SEED} // int(rand(2**31));
note("seed $seed (AIGET_SEED=$seed replays this order)");
srand($seed);

sub quartiles {
	my @s = sort { $a <=> $b } @_;
	my $at = sub { my $p = shift; my $i = $p * $#s; my $lo = int $i; $lo == $#s ? $s[$lo] : $s[$lo] + ($s[$lo + 1] - $s[$lo]) * ($i - $lo) };
	return ($at->(0.25), $at->(0.5), $at->(0.75));
}
sub median { (quartiles(@_))[1] }

# The 2.5 and 97.5 percentiles of the difference of medians over resamples.
sub bootstrap {
	my ($x, $y) = @_;
	my @d;
	for (1 .. 1000) {
		my @a = map { $x->[rand @$x] } @$x;
		my @b = map { $y->[rand @$y] } @$y;
		push @d, median(@a) - median(@b);
	}
	@d = sort { $a <=> $b } @d;
	return ($d[25], $d[974]);
}

# Runs the classes' requests interleaved in a random order: {name => [n,
# code that makes one request and returns its answer, expected status]};
# returns {name => [seconds, ...]}.
sub measure {
	my (%classes) = @_;
	my @order = shuffle(map { ($_) x $classes{$_}[0] } sort keys %classes);
	my (%times, %wrong);
	for my $name (@order) {
		my $t0 = time;
		my $res = $classes{$name}[1]->();
		push @{$times{$name}}, time - $t0;
		$wrong{$name}++ if $res->{status} != $classes{$name}[2];
	}
	is($wrong{$_} // 0, 0, "$_: every answer $classes{$_}[2]") for sort keys %classes;
	return \%times;
}

my %figures;
sub same_time {
	my ($times, $a, $b, $fraction) = @_;
	$fraction //= 0.5;
	my ($qa1, $ma, $qa3) = quartiles(@{$times->{$a}});
	my ($qb1, $mb, $qb3) = quartiles(@{$times->{$b}});
	my $iqr = max($qa3 - $qa1, $qb3 - $qb1);
	my ($lo, $hi) = bootstrap($times->{$a}, $times->{$b});
	my $ms = sub { sprintf '%.3f', 1000 * shift };
	$figures{$_->[0]} //= sprintf('%-30s n=%d median %s ms, IQR %s ms (%s-%s)', $_->[0], scalar @{$times->{$_->[0]}},
		$ms->($_->[2]), $ms->($_->[3] - $_->[1]), $ms->($_->[1]), $ms->($_->[3])) for [$a, $qa1, $ma, $qa3], [$b, $qb1, $mb, $qb3];
	note($figures{$a});
	note($figures{$b});
	my $what = $fraction == 1 ? 'the IQR' : 'half the IQR';
	note(sprintf '  %s - %s: medians differ by %s ms (bootstrap 95%%: %s to %s); %s is %s ms', $a, $b,
		$ms->($ma - $mb), $ms->($lo), $ms->($hi), $what, $ms->($iqr * $fraction));
	cmp_ok(abs($ma - $mb), '<', $iqr * $fraction, "$a and $b: the medians differ by less than $what");
}

# ------------------------------------------------------------- API keys
my $t = memox_tenant(name => 'timing', limits => {qps => 100000, burst => 100000});
my $route = '/api/v1/memox/memories/00000000-0000-4000-8000-000000000000';    # memox:read
my @b64 = ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '-', '_');
sub random_key { 'agk_' . join('', map { $b64[rand @b64] } 1 .. 43) }
sub disabled_key {
	my ($token, $tenant) = @_;
	my $k = keys_make($token, $tenant, name => 'timing disabled');
	my $res = call($token, POST => "/api/v1/keys/$k->{id}/disable");
	die "disable: $res->{status}" unless $res->{status} == 200;
	return $k->{key};
}

# First sights: keys never asked for before, one request each.  The
# disabled ones were disabled more than the tombstone's 5 s before.
my @fresh_disabled;
for my $n (1 .. 2) {
	my $other = tenants_new($t->{token}, "timing fresh $n")->{id};
	push @fresh_disabled, disabled_key($t->{token}, $other) for 1 .. 50;
}
my @fresh_scope = map { keys_make($t->{token}, $t->{tenant}, name => 'timing write-only', scopes => ['memox:write'])->{key} } 1 .. 80;
sleep 6;
my $times = measure(
	'unknown key, first sight'   => [100, sub { call(random_key(), GET => $route) }, 401],
	'disabled key, first sight'  => [100, sub { call(shift(@fresh_disabled), GET => $route) }, 401],
	'wrong-scope key, first sight' => [80, sub { call(shift(@fresh_scope), GET => $route) }, 403],
);
same_time($times, 'unknown key, first sight', 'disabled key, first sight', 1);
same_time($times, 'unknown key, first sight', 'wrong-scope key, first sight', 1);

# Again and again: a few keys of each kind, each asked for many times.
my @unknown = map { random_key() } 1 .. 4;
my @disabled = map { disabled_key($t->{token}, $t->{tenant}) } 1 .. 4;
my @scope = map { keys_make($t->{token}, $t->{tenant}, name => 'timing write-only', scopes => ['memox:write'])->{key} } 1 .. 4;
$times = measure(
	'unknown key, again'     => [200, sub { call($unknown[rand @unknown], GET => $route) }, 401],
	'disabled key, again'    => [200, sub { call($disabled[rand @disabled], GET => $route) }, 401],
	'wrong-scope key, again' => [200, sub { call($scope[rand @scope], GET => $route) }, 403],
);
same_time($times, 'unknown key, again', 'disabled key, again');
same_time($times, 'unknown key, again', 'wrong-scope key, again');
same_time($times, 'disabled key, again', 'wrong-scope key, again');

# ------------------------------------------------------------- logins
# login-email allows 10 tries an address in 5 minutes: 25 known addresses
# take 8 wrong passwords each; every unknown address is new.
my @known = map { (register_user(tag => 'timing'))[0] } 1 .. 25;
my @tries = shuffle(map { ($_) x 8 } @known);
$times = measure(
	'login, known email' => [200, sub { call(undef, POST => '/api/v1/auth/login',
		{email => shift(@tries), password => 'not the password at all'}) }, 401],
	'login, unknown email' => [200, sub { call(undef, POST => '/api/v1/auth/login',
		{email => unique_email('timing-nobody'), password => 'not the password at all'}) }, 401],
);
same_time($times, 'login, known email', 'login, unknown email');

done_testing();

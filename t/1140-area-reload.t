#!/usr/bin/perl
# A reload of one area under steady load loses no request: four clients keep
# calling a key-authenticated route of the keys area while `aiget-dev service
# keys reload` (USR2 to its multiwatch, what systemd's ExecReload sends)
# replaces every child.  Every answer is a 200, every old child is gone, and
# the new children answered some of the load.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'reload', limits => {qps => 100000, burst => 100000, concurrency => 1000});
my $url = base_url() . '/api/v1/keys/self';
my %auth = (headers => {Authorization => "Bearer $t->{key}"});
is(api(GET => '/api/v1/keys/self', \%auth)->{status}, 200, 'the route answers before the reload');

open(my $fh, '<', var_dir() . '/run/keys.pid') or BAIL_OUT("no keys pid file: $!");
chomp(my $supervisor = <$fh>);
my @before = children_of($supervisor);
ok(@before >= 1, 'keys has children: ' . join(' ', @before));

# The load: each client writes "status milliseconds" per request to its file.
my $seconds = 4;
my $dir = var_dir() . "/reload-$$";
mkdir $dir or die "mkdir: $!";
my @clients;
for my $c (1 .. 4) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(my $out, '>', "$dir/$c") or exit 1;
		my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 20);
		my $end = time + $seconds;
		while (time < $end) {
			my $t0 = time;
			my $res = $http->get($url, \%auth);
			printf $out "%d %.1f\n", $res->{status}, (time - $t0) * 1000;
		}
		close $out;
		exit 0;
	}
	push @clients, $pid;
}

sleep 1;
my $reloaded_at = time;
ok(dev_service(keys => 'reload'), 'aiget-dev service keys reload');
my %old = map { $_ => 1 } @before;
ok(wait_until(10, sub { my @now = children_of($supervisor); @now == @before && !grep { $old{$_} } @now }),
	'every child was replaced');
my @after = children_of($supervisor);
diag(sprintf('children %s replaced by %s in %.2f s', "@before", "@after", time - $reloaded_at));
waitpid($_, 0) for @clients;

my ($total, $failed, $max, %statuses) = (0, 0, 0);
for my $c (1 .. 4) {
	open(my $in, '<', "$dir/$c") or die "client $c wrote nothing: $!";
	while (<$in>) {
		my ($status, $ms) = split;
		$total++;
		$statuses{$status}++;
		$failed++ if $status != 200;
		$max = $ms if $ms > $max;
	}
}
diag(sprintf('%d requests in %d s from 4 clients, %d not 200 (%s), slowest %.1f ms', $total, $seconds, $failed,
	join(', ', map { "$_: $statuses{$_}" } sort keys %statuses), $max));
ok($total > 100, "steady load: $total requests");
is($failed, 0, 'no request failed during the reload');

# The new children did answer part of the load (the responders log each request).
open(my $log, '<', var_dir() . '/log/keys.log') or die "keys.log: $!";
my %new = map { $_ => 0 } @after;
while (<$log>) {
	$new{$1}++ if m{ keys\[(\d+)\] .*GET /api/v1/keys/self 200 } && exists $new{$1};
}
ok((grep { $_ > 0 } values %new), 'the new children answered requests: ' . join(' ', map { "$_=$new{$_}" } sort keys %new));

done_testing();

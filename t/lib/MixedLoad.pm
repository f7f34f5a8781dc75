# MixedLoad.pm - a steady mixed load of API clients, and the checks of what
# they saw, for the scripts that break a dependency under it (t/7100's
# faults, t/8000's Redis failover, t/8010 and t/8015's PostgreSQL failovers,
# t/8020's replica lag).
#
# Each client is its own user with a session and a key of one shared tenant;
# it writes, batch-writes, searches, checks its key, logs in and refreshes,
# and logs every answer as a JSON line in DIR/client-N.log.
package MixedLoad;
use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);
use Aiget;

our @EXPORT = qw(load_clients load_start load_log load_check_answers load_check_recovery load_accepted
	load_check_accepted contract_ok);

# N clients of one new tenant: [{n, tenant, owner, email, password, refresh, key}].
sub load_clients {
	my ($n, $tag) = @_;
	my $owner = tenants_user($tag);
	my $tenant = tenants_new($owner, $tag)->{id};
	my @clients;
	for my $i (1 .. $n) {
		my ($email, $password, $reg) = register_user(tag => "$tag-$i");
		push @clients, {n => $i, tenant => $tenant, owner => $owner, email => $email, password => $password,
			refresh => $reg->{refreshToken}, key => keys_make($owner->{token}, $tenant, name => "client $i")->{key}};
	}
	return @clients;
}

# A contract error: JSON with the error object; 503 and 429 with Retry-After.
sub contract_ok {
	my ($res) = @_;
	return 1 if $res->{status} < 400;
	return 0 unless ($res->{headers}{'content-type'} // '') =~ m{^application/json};
	my $b = eval { decode_json($res->{content}) } // {};
	return 0 unless ref $b->{error} eq 'HASH' && $b->{error}{code};
	return 0 if ($res->{status} == 503 || $res->{status} == 429) && !defined $res->{headers}{'retry-after'};
	return 1;
}

# Forks one process per client, each sending its load for SECONDS; returns their pids.
sub load_start {
	my ($clients, $seconds, $dir) = @_;
	my @pids;
	for my $c (@$clients) {
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			load($c, time + $seconds, $dir);
			POSIX::_exit(0);
		}
		push @pids, $pid;
	}
	return @pids;
}

sub load {
	my ($c, $until, $dir) = @_;
	open(my $log, '>', "$dir/client-$c->{n}.log") or die;
	$log->autoflush(1);
	my $i = 0;
	my %scope = (namespace => 'faults', externalUserId => "user-$c->{n}");
	# A word of letters only (the stand-in's words are runs of letters and
	# of digits), unique to this client and request: qbzcd is client 1, 23.
	my $word = sub { 'q' . ("$c->{n}z$_[0]" =~ tr/0-9./a-jy/r) };
	while (time < $until) {
		$i++;
		my $roll = rand;
		my ($op, $res, @ids, $w, $content);
		my $t0 = time;
		if ($roll < 0.35) {
			$op = 'write';
			$w = $word->($i);
			$content = "client $c->{n} note $i about $w";
			$res = call($c->{key}, POST => '/api/v1/memox/memories', {%scope, content => $content});
			my $b = eval { decode_json($res->{content}) } // {};
			@ids = ($b->{id}) if $res->{status} == 202;
		} elsif ($roll < 0.5) {
			$op = 'batch';
			$res = call($c->{key}, POST => '/api/v1/memox/memories/batch',
				{memories => [map { {%scope, content => "client $c->{n} batch $i item $_ about " . $word->("$i.$_")} } 1 .. 3]});
			my $b = eval { decode_json($res->{content}) } // {};
			@ids = map { $_->{id} } @{ $b->{memories} // [] } if $res->{status} == 202;
		} elsif ($roll < 0.7) {
			$op = 'search';
			$res = call($c->{key}, POST => '/api/v1/memox/search', {%scope, query => 'note about ' . $word->(int rand $i), topK => 5});
		} elsif ($roll < 0.8) {
			$op = 'key';
			$res = call($c->{key}, GET => '/api/v1/keys/self');
		} elsif ($roll < 0.9) {
			$op = 'login';
			$res = call(undef, POST => '/api/v1/auth/login', {email => $c->{email}, password => $c->{password}});
		} else {
			$op = 'refresh';
			$res = call(undef, POST => '/api/v1/auth/refresh', {refreshToken => $c->{refresh}});
			my $b = eval { decode_json($res->{content}) } // {};
			$c->{refresh} = $b->{refreshToken} if $res->{status} == 200 && $b->{refreshToken};
		}
		print $log encode_json({client => $c->{n}, op => $op, status => $res->{status} + 0,
			at => $t0, ms => int((time - $t0) * 1000), ok => contract_ok($res) ? JSON::PP::true : JSON::PP::false,
			ids => \@ids, word => $w, content => $content,
			body => ($res->{status} >= 400 || (!@ids && $res->{status} == 202) ? substr($res->{content} // '', 0, 300) : undef)}), "\n";
	}
	# The family's latest token, for the check afterwards.
	open(my $fh, '>', "$dir/client-$c->{n}.refresh") or die;
	print $fh $c->{refresh};
}

# Every answer the clients logged, in the order they were sent.
sub load_log {
	my ($clients, $dir) = @_;
	my @log;
	for my $c (@$clients) {
		open(my $fh, '<', "$dir/client-$c->{n}.log") or next;
		push @log, map { decode_json($_) } <$fh>;
	}
	return sort { $a->{at} <=> $b->{at} } @log;
}

# Tests: a steady load was sent, each answer a success or a contract error,
# none hung.  Notes the answers by status and the longest request.
sub load_check_answers {
	my ($log, $min) = @_;
	my %status;
	$status{$_->{status}}++ for @$log;
	my ($longest) = sort { $b->{ms} <=> $a->{ms} } @$log;
	note(sprintf('%d requests; answers by status: %s; the longest took %d ms (%s)', scalar @$log,
		join(', ', map { "$_: $status{$_}" } sort keys %status), $longest->{ms}, $longest->{op}));
	cmp_ok(scalar @$log, '>', $min, 'a steady load was sent');
	my @bad = grep { !$_->{ok} } @$log;
	is(scalar @bad, 0, 'every answer was a success or a contract error (JSON, and 503 or 429 with Retry-After)')
		or diag(explain([@bad[0 .. ($#bad < 9 ? $#bad : 9)]]));
	my @hung = grep { $_->{status} == 599 } @$log;
	is(scalar @hung, 0, 'no request hung or had its connection reset');
}

# Tests that a dependency broken at SINCE cost the load no 5xx but 503
# (with Retry-After: load_check_answers), and that the load went on
# (AFTER names where) within a few seconds (OF names of what).  Returns
# the seconds from SINCE to the end of the last failed answer, and how
# many answers failed.
sub load_check_recovery {
	my ($log, $since, $after, $of) = @_;
	my @server = grep { $_->{status} >= 500 && $_->{status} != 503 } @$log;
	is(scalar @server, 0, 'no 5xx other than 503') or diag(explain([@server[0 .. ($#server < 4 ? $#server : 4)]]));
	my @failed = grep { $_->{status} >= 500 && $_->{at} >= $since } @$log;
	my $recovered = @failed ? $failed[-1]{at} + $failed[-1]{ms} / 1000 - $since : 0;
	my @later = grep { $_->{at} >= $since + $recovered } @$log;
	cmp_ok(scalar(grep { $_->{status} < 400 } @later), '>', 20, "the load goes on $after");
	cmp_ok($recovered, '<', 10, "within a few seconds of $of");
	return ($recovered, scalar @failed);
}

# The ids of every memory a 202 accepted; a test that each 202 names its
# memories and that no two name the same.
sub load_accepted {
	my ($log) = @_;
	my @nameless = grep { $_->{status} == 202 && (!@{ $_->{ids} } || grep { !defined || !length } @{ $_->{ids} }) } @$log;
	is(scalar @nameless, 0, 'every 202 names the memories it accepted') or diag(explain([@nameless[0 .. ($#nameless < 4 ? $#nameless : 4)]]));
	my @accepted = grep { defined } map { @{ $_->{ids} // [] } } grep { $_->{status} == 202 } @$log;
	my %seen;
	my @unique = grep { !$seen{$_}++ } @accepted;
	is(scalar @unique, scalar @accepted, 'every accepted write is its own memory');
	return @unique;
}

# Tests that every accepted memory becomes ready within WAIT seconds (none
# left pending, failed or missing), and that a sample of them is found by
# search.  STATES returns {id => status} of the tenant's memories.
sub load_check_accepted {
	my ($log, $clients, $unique, $states, $wait) = @_;
	my $not_ready = sub { my $st = $states->(); grep { ($st->{$_} // 'missing') ne 'ready' } @$unique };
	ok(wait_until($wait, sub { !$not_ready->() }),
		sprintf('all %d accepted writes are ready: none is left pending, failed or missing', scalar @$unique))
		or diag(explain({map { $_ => $states->()->{$_} // 'missing' } grep { defined } ($not_ready->())[0 .. 9]}));
	my @sample = grep { defined } (grep { $_->{status} == 202 && $_->{op} eq 'write' } @$log)[0 .. 19];
	my $found = 0;
	for my $w (@sample) {
		my $c = $clients->[$w->{client} - 1];
		# By its whole text: its own vector is the nearest (1.0), whatever
		# words of other memories share a dimension.
		my $res = call($c->{key}, POST => '/api/v1/memox/search', {namespace => 'faults', externalUserId => "user-$c->{n}",
			query => $w->{content}, topK => 10});
		my $b = eval { decode_json($res->{content}) } // {};
		if (grep { $_->{id} eq $w->{ids}[0] } @{ $b->{results} // [] }) { $found++ }
		else { diag("not found by $w->{word}: $res->{status} " . substr($res->{content}, 0, 300)) }
	}
	is($found, scalar @sample, "each of a sample of $found accepted writes is found by search");
	note(sprintf('%d writes accepted, %d of them ready and searchable', scalar @$unique, scalar(@$unique) - $not_ready->()));
	return scalar @sample;
}

1;

#!/usr/bin/perl
# SIGTERM to a responder child finishes the request in flight, then the child
# exits; idle children exit at once; the supervisor replaces them all.
#
# The request is spoken in FastCGI straight to the area's socket so that the
# test controls when its body arrives: the child has accepted it and waits
# for the body when the signal comes.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::UNIX;
use Test::More;
use Aiget;

Aiget::require_stack();

open(my $fh, '<', var_dir() . '/run/auth.pid') or BAIL_OUT("no auth pid file: $!");
chomp(my $supervisor = <$fh>);
my @before = children_of($supervisor);
ok(@before >= 1, 'auth has children');

# A login of an unknown account: it answers 401 after a full scrypt round.
my $body = '{"email":"graceful@example.com","password":"not the password"}';
my $sock = IO::Socket::UNIX->new(Peer => var_dir() . '/run/auth.sock') or BAIL_OUT("connect: $!");
print $sock fcgi_record(1, pack('nCx5', 1, 0));  # BEGIN_REQUEST, responder role
print $sock fcgi_record(4, fcgi_pairs(REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/auth/login',
	CONTENT_TYPE => 'application/json', CONTENT_LENGTH => length($body), REQUEST_ID => 'graceful-1'));
print $sock fcgi_record(4, '');                   # end of params: the child now waits for the body
$sock->flush;
select(undef, undef, undef, 0.5);

kill 'TERM', @before;
select(undef, undef, undef, 0.5);
print $sock fcgi_record(5, $body), fcgi_record(5, '');
$sock->flush;

my $out = fcgi_answer($sock);
like($out, qr/^Status: 401/m, 'the request in flight got its answer after SIGTERM');
like($out, qr/X-Request-Id: graceful-1/, 'it is the same request');

my $gone = wait_until(10, sub { !grep { kill(0, $_) && -e "/proc/$_" && !zombie($_) } @before });
ok($gone, 'every signalled child exited');
ok(wait_until(10, sub { children_of($supervisor) == @before }), 'the supervisor started new ones');
ok(wait_until(10, sub { api(GET => '/api/v1/auth/health')->{status} == 200 }), 'auth answers again');

sub zombie {
	open(my $f, '<', "/proc/$_[0]/stat") or return 1;
	return (<$f> // '') =~ /^\d+ \(.*\) Z/;
}

done_testing();

#!/usr/bin/perl
# How a responder child ends a FastCGI connection (shared/app.c,
# input_finished): once it has read the request's input to its end it closes
# at once, instead of libfcgi's shutdown-and-wait for nginx to close first
# (a round trip in every request); when input is left unread (a body refused
# before it was read) it keeps libfcgi's careful close, which reads the rest
# so that closing cannot reset the connection under the answer.
#
# Spoken in FastCGI straight to the areas' sockets.  Observable difference:
# after the answer, a child that closed makes our next write fail (EPIPE),
# one that is still draining the input accepts it.
use strict;
use warnings;
use lib 't/lib';
use IO::Socket::UNIX;
use Test::More;
use Aiget;

Aiget::require_stack();
$SIG{PIPE} = 'IGNORE';

# Sends a request (params, then the given stdin records), reads the answer
# and the end of the stream; returns the answer and whether the child still
# reads from the connection a moment later.
sub exchange {
	my ($area, $params, @stdin) = @_;
	my $sock = IO::Socket::UNIX->new(Peer => var_dir() . "/run/$area.sock") or BAIL_OUT("connect: $!");
	print $sock fcgi_record(1, pack('nCx5', 1, 0)), fcgi_record(4, fcgi_pairs(%$params)), fcgi_record(4, ''),
		map { fcgi_record(5, $_) } @stdin;
	$sock->flush;
	my $answer = fcgi_answer($sock);
	my $eof = sysread($sock, my $more, 1);
	select(undef, undef, undef, 0.2);
	my $open = defined syswrite($sock, fcgi_record(5, 'x'));
	close $sock;
	return ($answer, $eof, $open);
}

my ($answer, $eof, $open) = exchange('keys', {REQUEST_METHOD => 'GET', REQUEST_URI => '/api/v1/keys/health'}, '');
like($answer, qr/^Status: 200/m, 'a GET: answered');
is($eof, 0, 'a GET: then the end of the stream');
ok(!$open, 'a GET: the child has closed the connection, not waiting for us');

my $body = '{}';
($answer, $eof, $open) = exchange('auth', {REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/auth/login',
	CONTENT_TYPE => 'application/json', CONTENT_LENGTH => length($body)}, $body, '');
like($answer, qr/^Status: 400/m, 'a body read whole: answered');
ok(!$open, 'a body read whole: the child has closed the connection');

($answer, $eof, $open) = exchange('auth', {REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/auth/login',
	CONTENT_TYPE => 'application/json', CONTENT_LENGTH => 50_000_000});
like($answer, qr/^Status: 413/m, 'a body refused unread: answered');
is($eof, 0, 'a body refused unread: then the end of the stream');
ok($open, 'a body refused unread: the child still reads what comes, so closing cannot reset the answer');

ok(wait_until(5, sub { api(GET => '/api/v1/auth/health')->{status} == 200 }), 'auth answers afterwards');

done_testing();

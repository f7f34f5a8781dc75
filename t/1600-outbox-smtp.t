#!/usr/bin/perl
# The smtp transport of shared/outbox.c against a stand-in server: STARTTLS,
# AUTH, the message as received; a wrong password, an untrusted certificate,
# no STARTTLS, nothing listening and a server that never answers all fail
# within the timeout.  The C side is t/unit/outbox_smtp.c; this starts the
# servers, runs it, passes its TAP on, then reads what the servers received.
# No stack needed.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Encode qw(decode);
use MIME::QuotedPrint qw(decode_qp);
use POSIX qw(WNOHANG);

my $bin = ($ENV{BUILD_DIR} || 'build/asan') . '/t/outbox_smtp';
plan skip_all => "$bin not built (run make unit)" unless -x $bin;
plan skip_all => 'no openssl command' unless `openssl version 2>/dev/null` =~ /SSL/;
eval { require IO::Socket::SSL; 1 } or plan skip_all => 'IO::Socket::SSL missing (apt-get install libio-socket-ssl-perl)';

my $tmp = tempdir('aiget-smtp.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($user, $password) = ('mailer', 'S3cret-' . join('', map { int rand 10 } 1 .. 8));

# Runs a command with its output in a log file; true when it exits 0.
sub quietly {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDOUT, '>', "$tmp/quietly.log") && open(STDERR, '>&', \*STDOUT) && exec(@_);
		exit 127;
	}
	waitpid($pid, 0);
	return $? == 0;
}

quietly('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
       '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1',
       '-keyout', "$tmp/key.pem", '-out', "$tmp/cert.pem") or die 'openssl req failed: ' . slurp("$tmp/quietly.log");

# Free loopback ports, held together so that none repeats; the last stays unused.
my @holders = map { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
		    or die "no free port: $!" } 1 .. 4;
my ($port, $plain_port, $mute_port, $dead_port) = map { $_->sockport } @holders;
close $_ for @holders;

my %servers;
sub start_server {
	my ($name, @args) = @_;
	mkdir "$tmp/$name";
	my $pidfile = "$tmp/$name.pid";
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', "$tmp/$name.log") && exec('t/stand-ins/smtp-server', '--dir', "$tmp/$name",
							       '--pidfile', $pidfile, @args);
		exit 127;
	}
	$servers{$name} = $pid;
	for (1 .. 100) { last if -s $pidfile; select(undef, undef, undef, 0.05) }
	ok(-s $pidfile, "$name server started");
}

start_server('tls', '--port', $port, '--cert', "$tmp/cert.pem", '--key', "$tmp/key.pem",
	     '--user', $user, '--password', $password, '--require-tls', '--verbose');
start_server('plain', '--port', $plain_port, '--verbose');
start_server('mute', '--port', $mute_port, '--mute');

local $ENV{OUTBOX_SMTP_PORT} = $port;
local $ENV{OUTBOX_SMTP_CA_FILE} = "$tmp/cert.pem";
local $ENV{OUTBOX_SMTP_USER} = $user;
local $ENV{OUTBOX_SMTP_PASSWORD} = $password;
local $ENV{OUTBOX_SMTP_PLAIN_PORT} = $plain_port;
local $ENV{OUTBOX_SMTP_MUTE_PORT} = $mute_port;
local $ENV{OUTBOX_SMTP_DEAD_PORT} = $dead_port;

my @tap = `$bin 2>&1`;
my $status = $?;
my $seen = 0;
for (@tap) {
	if (/^(not )?ok \d+ - (.*)$/) { ok(!$1, "outbox_smtp: $2"); $seen++ }
	elsif (/^#/) { note($_) }
	elsif (!/^1\.\.\d+$/) { diag($_) }
}
is($status, 0, 'outbox_smtp exits 0');
ok($seen > 0 && grep(/^1\.\.$seen$/, @tap), 'outbox_smtp ran its whole plan');
unlike(join('', @tap), qr/\Q$password\E/, 'the password appears nowhere in its output');

sub received {
	my ($name) = @_;
	my @json = sort glob("$tmp/$name/*.json");
	return map { my ($eml) = $_ =~ /(.*)\.json$/; { env => decode_json(slurp($_)), eml => slurp("$eml.eml") } } @json;
}
sub slurp { my $f = shift; open(my $fh, '<:raw', $f) or return ''; local $/; <$fh> }

my @got = received('tls');
is(scalar @got, 1, 'the TLS server received exactly one message');
my $m = $got[0] || { env => {}, eml => '' };
ok($m->{env}{tls}, 'over STARTTLS');
is($m->{env}{user}, $user, 'after AUTH as the configured user');
is($m->{env}{from}, 'no-reply@aiget.dev', 'MAIL FROM is the bare sender address');
is_deeply($m->{env}{rcpt}, ['user@example.com'], 'RCPT TO is the recipient');
my ($head, $body) = split /\r\n\r\n/, $m->{eml}, 2;
$head //= '';
(my $unfolded = $head) =~ s/\r\n[ \t]+/ /g;
my ($subject) = $unfolded =~ /^Subject: ([^\r\n]*)/m;
is(decode('MIME-Header', $subject // ''), "Votre code de connexion \x{2713}", 'the subject decodes to what was sent');
like($head, qr/^To: user\@example\.com\r$/m, 'To header');
like($head, qr/^From: Aiget <no-reply\@aiget\.dev>\r$/m, 'From header');
is($body, "Votre code : 123456\r\n=2E\r\n=C3=80 bient=C3=B4t.\r\n", 'the body as sent: quoted-printable, CRLF');
# decode_qp() turns CRLF into LF.
is(decode('UTF-8', decode_qp($body // '')), "Votre code : 123456\n.\n\x{c0} bient\x{f4}t.\n",
   'which decodes to the text, its lone dot intact');

@got = received('plain');
is(scalar @got, 1, 'the server without STARTTLS received only the message sent without SMTP_REQUIRE_TLS');
ok($got[0] && !$got[0]{env}{tls}, 'and that one in the clear');
unlike(slurp("$tmp/plain.log"), qr/^smtp-server: C: AUTH/m, 'no AUTH was ever tried in the clear');
like(slurp("$tmp/tls.log"), qr/^smtp-server: C: STARTTLS/m, 'the TLS server saw STARTTLS');

for my $name (sort keys %servers) {
	kill TERM => $servers{$name};
	my $gone = 0;
	for (1 .. 50) { if (waitpid($servers{$name}, WNOHANG) == $servers{$name}) { $gone = 1; last } select(undef, undef, undef, 0.1) }
	ok($gone, "$name server exits on SIGTERM");
	ok(!-e "$tmp/$name.pid", "$name server removed its pidfile");
}

done_testing();

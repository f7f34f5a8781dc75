#!/usr/bin/perl
# The first admin comes from ADMIN_EMAIL/ADMIN_PASSWORD at migration time
# (idempotent; a changed password there updates it), and security events land
# in the audit table with time, user, IP and request id.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
my $env = var_dir() . '/aiget.env';
sub login { call(undef, POST => '/api/v1/auth/login', {email => $_[0], password => $_[1]}, client_ip(200)) }

my $res = login($ENV{ADMIN_EMAIL}, $ENV{ADMIN_PASSWORD});
is($res->{status}, 200, 'the admin from the configuration signs in');
is(decode_json_ok($res, 'admin')->{user}{role}, 'admin', 'with the admin role');

my $out = `$ctl --env-file $env migrate 2>&1`;
is($? >> 8, 0, 'migrating again succeeds');
like($out, qr/admin\s+\Q$ENV{ADMIN_EMAIL}\E unchanged/, 'and leaves the admin unchanged');
is(psql("SELECT count(*) FROM users WHERE lower(email) = lower('$ENV{ADMIN_EMAIL}')"), 1, 'one admin account');

my $new = "$ENV{ADMIN_PASSWORD}-rotated";
$out = `ADMIN_PASSWORD='$new' $ctl --env-file $env migrate 2>&1`;
is($? >> 8, 0, 'migrating with a new ADMIN_PASSWORD succeeds');
like($out, qr/admin\s+\Q$ENV{ADMIN_EMAIL}\E updated/, 'and updates the admin');
is(login($ENV{ADMIN_EMAIL}, $new)->{status}, 200, 'the new password works');
is(login($ENV{ADMIN_EMAIL}, $ENV{ADMIN_PASSWORD})->{status}, 401, 'the old one does not');
`ADMIN_PASSWORD='$ENV{ADMIN_PASSWORD}' $ctl --env-file $env migrate 2>&1`;
is(login($ENV{ADMIN_EMAIL}, $ENV{ADMIN_PASSWORD})->{status}, 200, 'and back again');

$out = `ADMIN_PASSWORD=password1 $ctl --env-file $env migrate 2>&1`;
isnt($? >> 8, 0, 'a common ADMIN_PASSWORD is refused');
like($out, qr/ADMIN_PASSWORD is too common/, 'saying why');

# Audit: a failed and a successful login, with their request ids and IP.
my ($email, $password, $reg) = register_user(tag => 'audit');
my $ip = {'X-Forwarded-For' => '198.51.100.201'};
call(undef, POST => '/api/v1/auth/login', {email => $email, password => 'wrong password here'}, {%$ip, 'X-Request-Id' => 'audit-fail-1'});
call(undef, POST => '/api/v1/auth/login', {email => $email, password => $password}, {%$ip, 'X-Request-Id' => 'audit-ok-1'});
is(psql("SELECT event || ' ' || user_id || ' ' || ip FROM auth_audit WHERE request_id = 'audit-fail-1'"),
	"login_failed $reg->{user}{id} 198.51.100.201", 'a failed login is audited with user and IP');
is(psql("SELECT event || ' ' || user_id FROM auth_audit WHERE request_id = 'audit-ok-1'"),
	"login $reg->{user}{id}", 'a login is audited');
is(psql("SELECT count(*) FROM auth_audit WHERE request_id = 'audit-ok-1' AND at > now() - interval '1 minute'"),
	1, 'with its time');
unlike(psql("SELECT coalesce(string_agg(coalesce(detail::text, ''), ' '), '') FROM auth_audit WHERE user_id = '$reg->{user}{id}'"),
	qr/\Q$password\E/, 'no password in the audit');

done_testing();

#!/usr/bin/perl
# With the main database down, tenant and admin routes answer 503 with
# Retry-After in the contract's error format (never a hang, never a 500), and
# once it is back they work again without a restart: no connection is left
# in a broken or half-done transaction.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $owner = tenants_user('dbdown-owner');
my $other = tenants_user('dbdown-other');
my $admin = site_admin();
my $t = tenants_new($owner, 'Weathering');
my $TP = "/api/v1/tenants/$t->{id}";
# Every child of the responder has a connection and checked a token.
call($owner, GET => $TP) for 1 .. 4;

my @calls = (
	[GET => '/api/v1/tenants'], [POST => '/api/v1/tenants', {name => 'x'}], [GET => $TP],
	[PATCH => $TP, {name => 'y'}], [DELETE => $TP], [GET => "$TP/members"],
	[POST => "$TP/members", {email => $other->{email}}], [PATCH => "$TP/members/$owner->{id}", {role => 'admin'}],
	[DELETE => "$TP/members/$owner->{id}"], [GET => "$TP/limits"], [PUT => "$TP/limits", {qps => 3}],
	[GET => "$TP/audit"], [GET => '/api/v1/tenants/invitations'],
);
my @admin_calls = ([GET => '/api/v1/admin/tenants'], [GET => '/api/v1/admin/users'],
	[POST => "/api/v1/admin/tenants/$t->{id}/suspend"], [PUT => "/api/v1/admin/tenants/$t->{id}/limits", {qps => 3}],
	[PUT => "/api/v1/admin/tenants/$t->{id}/ceilings", {qps => 3}]);

with_service_stopped('pg-main' => sub {
	for my $c (@calls, map { [@$_[0 .. 2], 1] } @admin_calls) {
		my ($m, $p, $b, $as_admin) = @$c;
		my $res = call($as_admin ? $admin : $owner, $m => $p, $b);
		my $name = "$m $p";
		my $body = error_is($res, 503, 'unavailable', $name);
		like($res->{headers}{'retry-after'} // '', qr/^\d+$/, "$name: Retry-After");
		unlike($body->{error}{message}, qr/postgres|connect|SQL|socket/i, "$name: nothing internal in the message");
	}
});

ok(wait_until(15, sub { call($owner, GET => $TP)->{status} == 200 }), 'reads work again');
# Every child of every area reconnects on its next use; the health routes
# make that use, so that the scripts after this one find a healthy stack.
for my $area (areas()) {
	ok(wait_until(15, sub { for (1 .. 8) { return 0 unless api(GET => "/api/v1/$area/health")->{status} == 200 } 1 }),
		"$area is healthy again");
}
for (1 .. 4) {    # each child, whatever its connection went through
	my $res = call($owner, PATCH => $TP, {name => "back $_"});
	is($res->{status}, 200, "a change works again ($_)") or diag($res->{content});
}
is(psql("SELECT name FROM tenants WHERE id = '$t->{id}'"), 'back 4', 'the last one is stored');
is(psql("SELECT count(*) FROM tenant_audit WHERE tenant_id = '$t->{id}' AND action = 'tenant.rename'"), 4,
	'each audited once');
is(psql("SELECT status FROM tenants WHERE id = '$t->{id}'"), 'active', 'nothing done while the database was down');
is(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'aiget' AND state LIKE 'idle in transaction%'"), 0,
	'no connection is left inside a transaction');

done_testing();

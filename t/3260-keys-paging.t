#!/usr/bin/perl
# GET /api/v1/keys is a keyset page like every list: never silently capped,
# nextCursor leads through every key exactly once, newest first.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my (undef, undef, $reg) = register_user(tag => 'keypages');
my $token = $reg->{accessToken};
my $tenant = tenants_new($token, 'paging')->{id};
my @made = map { keys_make($token, $tenant, name => "key $_")->{id} } 1 .. 5;

my (@seen, $cursor, $pages);
do {
	my $q = "/api/v1/keys?tenantId=$tenant&limit=2" . ($cursor ? "&cursor=$cursor" : '');
	my $body = decode_json_ok(api(GET => $q, {headers => bearer($token)}), "page " . ++$pages);
	ok(@{$body->{keys}} <= 2, "page $pages holds at most the limit");
	push @seen, map { $_->{id} } @{$body->{keys}};
	$cursor = $body->{nextCursor};
} while ($cursor && $pages < 10);
is($pages, 3, 'five keys make three pages of two');
is_deeply(\@seen, [reverse @made], 'every key once, newest first');

my $all = decode_json_ok(api(GET => "/api/v1/keys?tenantId=$tenant", {headers => bearer($token)}), 'one page');
is(scalar @{$all->{keys}}, 5, 'the default page holds them all');
ok(exists $all->{nextCursor} && !defined $all->{nextCursor}, 'and says it is the last');

error_is(api(GET => "/api/v1/keys?tenantId=$tenant&limit=0", {headers => bearer($token)}), 400, 'invalid_request', 'limit 0');
error_is(api(GET => "/api/v1/keys?tenantId=$tenant&limit=101", {headers => bearer($token)}), 400, 'invalid_request', 'limit 101');
error_is(api(GET => "/api/v1/keys?tenantId=$tenant&cursor=nonsense", {headers => bearer($token)}), 400, 'invalid_request',
	'a malformed cursor');

done_testing();

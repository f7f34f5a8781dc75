#!/usr/bin/perl
# The answers nginx makes itself carry Cache-Control: no-store, as the
# responders' do (docs/openapi.yaml promises it for every answer): the
# metrics guard's 403 (aiget-metrics.conf), and aiget-errors.conf's 404 for
# a path outside the API, 413 for an oversized body and 400 for a URI nginx
# cannot parse, through the stack's nginx.  The 503 of an area that is down
# is checked in t/1130, aiget-forwarded.conf's answers in t/1710.  nginx's
# 500 cannot be provoked from outside, so every location of the snippets
# that answers by itself is also read: each must add the header, always.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

sub no_store {
	my ($res, $status, $name) = @_;
	is($res->{status}, $status, "$name: status $status") or diag($res->{content});
	is($res->{headers}{'cache-control'}, 'no-store', "$name: Cache-Control: no-store");
}

no_store(api(GET => '/nowhere'), 404, 'a path outside the API (nginx)');
no_store(api(GET => '/api/v1/auth/sessions/%zz'), 400, 'a malformed escape (nginx)');
no_store(api(POST => '/api/v1/auth/login', {headers => {'Content-Type' => 'application/json'},
	content => '{"a":"' . ('x' x (1024 * 1024 + 10)) . '"}'}), 413, 'an oversized body (nginx)');
for my $area (areas()) {
	no_store(api(GET => "/api/v1/$area/metrics", {headers => {'X-Forwarded-For' => '203.0.113.77'}}), 403,
		"$area metrics for a client not on the allow list (nginx)");
}
# The responders' own, for comparison: the same header on the same kind of answer.
no_store(api(GET => '/api/v1/auth/no/such/thing'), 404, 'an unknown path of an area (responder)');

# Every location that answers with `return` adds the header with `always`
# (without it nginx adds headers to 2xx and 3xx answers only): a list of
# [location, 1 when it does].
sub answering_locations {
	my $text = shift;
	$text =~ s/#.*$//mg;
	my @found;
	while ($text =~ /location\s+([^{]*?)\s*\{([^}]*)\}/g) {
		my ($where, $body) = ($1, $2);
		push @found, [$where, $body =~ /^\s*add_header\s+Cache-Control\s+no-store\s+always\s*;/m ? 1 : 0]
			if $body =~ /^\s*return\s/m;
	}
	return @found;
}
sub slurp { open(my $fh, '<', $_[0]) or die "$_[0]: $!"; local $/; return <$fh> }
my $src = $ENV{AIGET_SRC} // '.';
my $answering = 0;
for my $file (glob "$src/nginx-snippets/*.conf") {
	my @found = answering_locations(slurp($file));
	$answering += @found;
	my @bad = map { $_->[0] } grep { !$_->[1] } @found;
	is_deeply(\@bad, [], "$file: every answer of nginx's own says no-store") or diag("without it: @bad");
}
# The 400, 494, 414, 405, 501, 505, 413, 500, 503 and 404 pages, the guard's
# 403, aiget-forwarded.conf's two, and aiget-console.conf's redirect.
is($answering, 14, "the check saw nginx's own answers");
# The check can fail: aiget-errors.conf without the header once.
(my $broken = slurp("$src/nginx-snippets/aiget-errors.conf")) =~ s/^\s*add_header Cache-Control no-store always;\n//m;
ok((grep { !$_->[1] } answering_locations($broken)) == 1, 'a location without the header is found');

done_testing();

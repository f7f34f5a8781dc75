# Aiget.pm - what the HTTP tests share: the stack's address, requests, JSON.
#
# Tests run against the stack t/harness started (AIGET_TEST_URL); without one
# they skip visibly rather than pass.
package Aiget;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;
use Test::More;

our @EXPORT = qw(base_url api decode_json_ok error_is var_dir dev_service wait_until areas);

sub base_url { $ENV{AIGET_TEST_URL} }
sub var_dir  { $ENV{VAR} }
sub areas    { qw(auth keys tenants memox) }

sub require_stack {
	plan skip_all => 'no test stack: run `make test`' unless $ENV{AIGET_TEST_URL} && $ENV{VAR};
}

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);

# api(METHOD, PATH, {headers => {...}, content => '...'}) -> HTTP::Tiny response
sub api {
	my ($method, $path, $opts) = @_;
	return $http->request($method, base_url() . $path, $opts || {});
}

sub decode_json_ok {
	my ($res, $name) = @_;
	my $data = eval { JSON::PP->new->decode($res->{content}) };
	ok(defined $data, "$name: body is JSON") or diag($res->{content});
	return $data || {};
}

# Checks a response is the contract's error object with the given status and code.
sub error_is {
	my ($res, $status, $code, $name) = @_;
	is($res->{status}, $status, "$name: status $status") or diag($res->{content});
	like($res->{headers}{'content-type'} // '', qr{^application/json}, "$name: JSON media type");
	my $body = decode_json_ok($res, $name);
	is($body->{error}{code}, $code, "$name: error code $code");
	ok(length($body->{error}{message} // '') > 0, "$name: has a message");
	my $rid = $res->{headers}{'x-request-id'} // '';
	ok($rid ne '', "$name: X-Request-Id header");
	is($body->{error}{requestId}, $rid, "$name: requestId matches the header");
	return $body;
}

sub dev_service {
	my ($name, $action) = @_;
	my $rc = system("$ENV{AIGET_SRC}/spawn/aiget-dev", 'service', $name, $action);
	return $rc == 0;
}

# Polls code until it returns true or seconds pass; returns its last value.
sub wait_until {
	my ($seconds, $code) = @_;
	my $deadline = time + $seconds;
	while (1) {
		my $v = $code->();
		return $v if $v || time > $deadline;
		select(undef, undef, undef, 0.1);
	}
}

1;

# Hostile.pm - what the hostile tests (t/70xx) share: the contract's
# operations from docs/openapi.yaml, and a judge of each answer that counts
# rather than emits a test per request (they send thousands).
package Hostile;
use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time);
use Aiget;

our @EXPORT = qw(operations code_of_status judge_answer judge_failures judge_counts state_snapshot
	nginx_connect read_answer raw_request raw_http);

# Every operation of the document: {method, path, op (the operation
# object), documented => {status => 1}}, in the document's order.
sub operations {
	my $doc = shift // openapi_document();
	my @ops;
	for my $path (sort keys %{$doc->{paths}}) {
		for my $m (qw(get post put patch delete)) {
			my $op = $doc->{paths}{$path}{$m} or next;
			# The path's own parameters, then the operation's.
			$op = {%$op, parameters => [@{$doc->{paths}{$path}{parameters} || []}, @{$op->{parameters} || []}]};
			push @ops, {method => uc $m, path => $path, op => $op,
				documented => {map { $_ => 1 } keys %{$op->{responses} || {}}}};
		}
	}
	return @ops;
}

# The error code the contract pairs with each status (schema Error); nginx's
# own 414, 501 and 505 say invalid_request.
my %code = (400 => 'invalid_request', 401 => 'unauthorized', 403 => 'forbidden', 404 => 'not_found',
	405 => 'method_not_allowed', 409 => 'conflict', 410 => 'gone', 413 => 'payload_too_large',
	414 => 'invalid_request', 415 => 'unsupported_media_type', 429 => 'rate_limited', 500 => 'internal',
	501 => 'invalid_request', 502 => 'bad_gateway', 503 => 'unavailable', 505 => 'invalid_request');
sub code_of_status { $code{$_[0]} }

my (@failures, %counts);

# Judges one answer of a hostile request: never a 5xx, never an HTML page,
# an error (>= 400) only as the contract's JSON error object with the code
# of its status and the request id of its header, and (with $documented, a
# {status => 1} of the operation) only a status the document lists for the
# operation.  $allowed, when given, is a list of the statuses this request
# may have.  Returns true when it is fine; else keeps a line for
# judge_failures().
sub judge_answer {
	my ($res, $name, %o) = @_;
	my $s = $res->{status};
	$counts{$s}++;
	my @why;
	push @why, 'a server error' if $s >= 500;
	push @why, 'HTML' if ($res->{content} // '') =~ /<html/i || ($res->{headers}{'content-type'} // '') =~ /html/;
	push @why, "status $s is not documented for the route"
		if $o{documented} && $s >= 400 && !$o{documented}{$s} && $s != 405;
	push @why, "status $s, not one of @{$o{allowed}}" if $o{allowed} && !grep { $_ == $s } @{$o{allowed}};
	if ($s >= 400) {
		my $body = eval { JSON::PP::decode_json($res->{content}) };
		my $rid = $res->{headers}{'x-request-id'} // '';
		if (!ref $body || ref $body->{error} ne 'HASH') {
			push @why, 'not the JSON error object';
		} else {
			my $e = $body->{error};
			push @why, "code $e->{code}, not " . ($code{$s} // '?') if ($e->{code} // '') ne ($code{$s} // '');
			push @why, 'no message' unless length($e->{message} // '');
			push @why, 'requestId is not the X-Request-Id header' if $rid eq '' || ($e->{requestId} // '') ne $rid;
		}
		push @why, 'not application/json' unless ($res->{headers}{'content-type'} // '') =~ m{^application/json};
	}
	return 1 unless @why;
	push @failures, sprintf('%s: %s (%s)', $name, join(', ', @why), substr($res->{content} // '', 0, 300));
	return 0;
}
sub judge_failures { my @f = @failures; @failures = (); return @f }
sub judge_counts { return {%counts} }

# ------------------------------------------------------------- raw HTTP
# For bytes HTTP::Tiny will not send (control bytes in a header, a broken
# request line): a connection to the stack's nginx, and its answer in
# HTTP::Tiny's shape ({status, headers, content}; status 0 when none came).
sub nginx_connect {
	my ($port) = base_url() =~ m{:(\d+)$} or die 'no port in ' . base_url();
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5);
}

# Reads one HTTP answer, to its Content-Length or to the close.
sub read_answer {
	my ($s, $seconds) = @_;
	my ($buf, $deadline) = ('', time + ($seconds // 5));
	my $sel = IO::Select->new($s);
	while (time < $deadline) {
		last unless $sel->can_read($deadline - time);
		my $n = sysread($s, my $chunk, 65536);
		last unless $n;
		$buf .= $chunk;
		my $end = index($buf, "\r\n\r\n");
		last if $end >= 0 && $buf =~ /^Content-Length:\s*(\d+)/mi && length($buf) >= $end + 4 + $1;
	}
	my ($head, $body) = split /\r\n\r\n/, $buf, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})};
	my %h;
	for (split /\r\n/, $head // '') { $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
	return {status => $status // 0, headers => \%h, content => $body // '', raw => $buf};
}

# Sends the bytes as they are and reads the answer.
sub raw_request {
	my ($bytes) = @_;
	my $s = nginx_connect() or return {status => 0, headers => {}, content => ''};
	print $s $bytes;
	my $res = read_answer($s);
	close $s;
	return $res;
}

# One request with header lines written as given (bytes), from a client
# address of its own, the body (bytes) with its Content-Length.
sub raw_http {
	my ($method, $path, $headers, $body) = @_;
	my $fwd = client_ip()->{'X-Forwarded-For'};
	my $text = "$method $path HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: $fwd\r\nConnection: close\r\n";
	$text .= "$_\r\n" for @$headers;
	$text .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
	return raw_request("$text\r\n" . ($body // ''));
}

# What the hostile requests must leave as it was: the rows of every table
# that holds state (the audit logs grow by design and are left out), and
# each row's own version where it has one, as one string per table.  Also
# by design, the worker deletes memories that expire: those that an earlier
# script left expiring within the hour are left out, both times (the first
# call's moment is the line); every memory written after it counts.
my $snapshot_since;
sub state_snapshot {
	$snapshot_since //= psql('SELECT now()');
	my $memories = "memories WHERE NOT (created_at < '$snapshot_since' AND expires_at IS NOT NULL"
		. " AND expires_at < timestamptz '$snapshot_since' + interval '1 hour')";
	my %q = (
		users => "count(*) || ' ' || count(*) FILTER (WHERE email_verified) || ' ' || md5(string_agg(id::text || coalesce(password_hash, '') || coalesce(name, ''), ',' ORDER BY id))",
		sessions => "count(*) || ' ' || count(*) FILTER (WHERE revoked_at IS NULL)",
		tenants => "count(*) || ' ' || md5(string_agg(id::text || name || status, ',' ORDER BY id))",
		tenant_members => "count(*) || ' ' || md5(string_agg(tenant_id::text || user_id::text || role, ',' ORDER BY tenant_id, user_id))",
		tenant_invitations => "count(*) || ' ' || count(*) FILTER (WHERE accepted_at IS NULL AND revoked_at IS NULL)",
		tenant_limits => "count(*) || ' ' || md5(string_agg(row_to_json(tenant_limits)::text, ',' ORDER BY tenant_id))",
		tenant_limit_ceilings => "count(*) || ' ' || md5(string_agg(row_to_json(tenant_limit_ceilings)::text, ',' ORDER BY tenant_id))",
		api_keys => "count(*) || ' ' || md5(string_agg(id::text || name || status || coalesce(revoke_at::text, '') || array_to_string(scopes, ','), ',' ORDER BY id))",
		memories => "count(*) || ' ' || md5(string_agg(id::text || content || metadata::text || version, ',' ORDER BY id))",
		memox_erasures => 'count(*)',
		refresh_tokens => "count(*) || ' ' || count(*) FILTER (WHERE rotated_at IS NULL)",
		identities => 'count(*)',
	);
	return {map { $_ => psql("SELECT $q{$_} FROM " . ($_ eq 'memories' ? $memories : $_)) } keys %q};
}

1;

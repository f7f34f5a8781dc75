#!/usr/bin/perl
# Hostile values in every field of every request the contract describes,
# generated from docs/openapi.yaml's request schemas and parameters (every
# $ref resolved), with the caller's own credentials and ids so that each
# request gets as far as it can:
#  - every string field of every JSON body: invalid UTF-8 (a bad byte, an
#    overlong form, an encoded surrogate, a code point past U+10FFFF, a
#    truncated sequence), a raw NUL and a raw control byte, the escapes
#    \u0000 and lone surrogates, a value one byte over its maxLength, and a
#    number, a boolean, an array or an object instead;
#  - every integer field: 2^63, 2^64, -2^63-1, 1e400, -1e400, 1e-400, 1.5,
#    one past its maximum and minimum, and a string, a boolean, an array or
#    an object instead; every number and boolean field alike;
#  - every free-form object (metadata, filter) and array: each string
#    variant as a value inside it, invalid UTF-8 and \u0000 as a key, a
#    nesting 1,000 levels deep, and the wrong type; and every body as a
#    whole nested 1,200 levels deep;
#  - every query parameter (paging limit and cursor, scope, status, search
#    text): integers past 64 bits, negative, zero, hex, signed, padded,
#    garbage cursors, escapes that decode to invalid UTF-8 or NUL, a value
#    past its maxLength;
#  - every path parameter: escapes of invalid UTF-8, an overlong UUID, 300
#    characters; and the Idempotency-Key, Origin, X-Request-Id and
#    Authorization headers with hostile bytes.
# Each answer must be the contract's: a status the document lists for the
# route (never a 5xx, never HTML), the JSON error object with the code of
# its status; a value that reaches a handler (the wrong type, out of range)
# is refused naming its field; and afterwards the database holds what it
# held before (every table of state but the audit logs).  The figures
# (requests, answers by status) are printed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;
use Hostile;

Aiget::require_stack();

my @ops = operations();
cmp_ok(scalar @ops, '>=', 60, scalar(@ops) . ' operations in docs/openapi.yaml');

# ------------------------------------------------------------- the caller's own world
my $owner = tenants_user('fields');
tenants_verify_email($owner);
my $tenant = tenants_new($owner, 'fields')->{id};
keys_limits($tenant);
my $key = keys_make($owner->{token}, $tenant, name => 'fields');
my $memory = JSON::PP::decode_json(call($key->{key}, POST => '/api/v1/memox/memories',
	{namespace => 'fields', externalUserId => 'u', content => 'the fields memory'})->{content})->{id};
my $erasure = JSON::PP::decode_json(call($key->{key}, DELETE => '/api/v1/memox/memories?namespace=gone&externalUserId=u')
	->{content})->{id};
my $invitation = JSON::PP::decode_json(call($owner, POST => "/api/v1/tenants/$tenant/members",
	{email => unique_email('fields-invitee'), role => 'member'})->{content})->{invitation}{id};
my $session = JSON::PP::decode_json(call($owner, GET => '/api/v1/auth/sessions')->{content})->{sessions}[0]{id};
my $admin = site_admin();
my $internal = stack_env('KEYS_INTERNAL_TOKEN');
ok($memory && $erasure && $invitation && $session, 'a memory, an erasure, an invitation and a session of the caller');

my %path_value = (tenantId => $tenant, keyId => $key->{id}, id => $memory, userId => $owner->{id},
	invitationId => $invitation, sessionId => $session);
my %route_flags;
for my $area (areas()) {
	$route_flags{"$_->{method} $_->{pattern}"} = $_->{flags} for route_table($area);
}
# The credentials of an operation: the internal token, the site admin, the
# owner or the key, as its route wants.
sub credential_of {
	my $op = shift;
	return $internal if $op->{path} eq '/api/v1/keys/verify';
	my $f = $route_flags{"$op->{method} $op->{path}"} || {};
	return $admin->{token} if $f->{ADMIN};
	return $owner->{token} if $f->{USER};
	return $key->{key} if $f->{APIKEY};
	return undef;
}
sub path_of {
	my ($op, %over) = @_;
	return $op->{path} =~ s/\{(\w+)\}/$over{$1} \/\/ $path_value{$1} \/\/ die "no value for {$1}"/ger;
}

# A body each JSON route would take but for the field under test: fresh
# addresses, the caller's own ids, values within every bound.
my %scope = (namespace => 'fields', externalUserId => 'u');
my %limits = (qps => 10, burst => 10, concurrency => 5, monthlyRequests => 1000, maxMemories => 1000);
my %baseline = (
	'POST /api/v1/auth/register' => sub { +{email => unique_email('fields-reg'), password => 'correct horse 7020 staple',
		name => 'Fields'} },
	'POST /api/v1/auth/login' => sub { +{email => unique_email('fields-login'), password => 'not the password 7020'} },
	'POST /api/v1/auth/password/change' => sub { +{currentPassword => $owner->{password},
		newPassword => 'another new password 7020'} },
	'POST /api/v1/auth/password/reset' => sub { +{email => $owner->{email}, code => '123456',
		newPassword => 'a brand new password 7020'} },
	'POST /api/v1/auth/otp/send' => sub { +{email => unique_email('fields-otp'), purpose => 'login'} },
	'POST /api/v1/auth/otp/verify' => sub { +{email => unique_email('fields-otp'), code => '123456', purpose => 'login'} },
	'POST /api/v1/auth/refresh' => sub { +{refreshToken => 'r' x 43} },
	'POST /api/v1/auth/logout' => sub { +{refreshToken => 'r' x 43} },
	'POST /api/v1/auth/google/token' => sub { +{idToken => 'a.b.c', nonce => 'n'} },
	'POST /api/v1/auth/apple/token' => sub { +{idToken => 'a.b.c', nonce => 'n'} },
	'POST /api/v1/keys/verify' => sub { +{key => 'agk_' . ('A' x 43), scope => 'memox:read'} },
	'POST /api/v1/keys' => sub { +{tenantId => $tenant, name => 'fields key', scopes => ['memox:read'],
		expiresAt => '2031-01-01T00:00:00Z'} },
	'POST /api/v1/keys/{keyId}/rotate' => sub { +{overlapSeconds => 10} },
	'POST /api/v1/tenants' => sub { +{name => 'fields tenant'} },
	'PATCH /api/v1/tenants/{tenantId}' => sub { +{name => 'fields renamed'} },
	'POST /api/v1/tenants/{tenantId}/members' => sub { +{email => unique_email('fields-member'), role => 'member'} },
	'PATCH /api/v1/tenants/{tenantId}/members/{userId}' => sub { +{role => 'owner'} },
	'PUT /api/v1/tenants/{tenantId}/limits' => sub { +{%limits} },
	'PUT /api/v1/admin/tenants/{tenantId}/limits' => sub { +{%limits} },
	'PUT /api/v1/admin/tenants/{tenantId}/ceilings' => sub { +{%limits} },
	'POST /api/v1/memox/memories' => sub { +{%scope, content => 'fields ' . rand(), metadata => {a => 1}} },
	'POST /api/v1/memox/memories/batch' => sub { +{memories => [{%scope, content => 'fields ' . rand(), metadata => {a => 1}}]} },
	'PATCH /api/v1/memox/memories/{id}' => sub { +{content => 'fields patched', metadata => {a => 2}} },
	'POST /api/v1/memox/search' => sub { +{%scope, query => 'fields', topK => 5, minScore => 0.1, filter => {a => 1},
		exact => JSON::PP::false} },
);

# ------------------------------------------------------------- schemas to variants
# The one non-null type of a schema (type lists, oneOf and anyOf of a
# type and null).
sub kind_of {
	my $s = shift;
	return ('object', $s) if $s->{properties} && !$s->{type};
	return kind_of({%$s, oneOf => undef, anyOf => undef}) if $s->{type} && ($s->{oneOf} || $s->{anyOf});
	for my $alt (@{$s->{oneOf} || $s->{anyOf} || []}) {
		my $k = kind_of($alt);
		return ($k, $alt) if $k ne 'null';
	}
	my @t = ref $s->{type} ? @{$s->{type}} : ($s->{type} // 'object');
	my ($t) = grep { $_ ne 'null' } @t;
	return ($t // 'null', $s);
}
# Every field of a body schema: [path (keys and indices), kind, schema].
sub fields_of {
	my ($schema, @path) = @_;
	my ($kind, $s) = kind_of($schema);
	my @f;
	if ($kind eq 'object' && $s->{properties}) {
		push @f, fields_of($s->{properties}{$_}, @path, $_) for sort keys %{$s->{properties}};
		return @f;
	}
	push @f, [\@path, $kind, $s] if @path;
	if ($kind eq 'array' && $s->{items}) {
		my ($ik) = kind_of($s->{items});
		push @f, fields_of($s->{items}, @path, 0) if $ik eq 'object' || $ik eq 'string';
	}
	return @f;
}
sub set_path {
	my ($h, $path, $v) = @_;
	my @p = @$path;
	my $last = pop @p;
	for my $k (@p) { $h = $k =~ /^\d+$/ ? ($h->[$k] //= {}) : ($h->{$k} //= ($p[0] // '') =~ /^\d+$/ ? [] : {}) }
	if ($last =~ /^\d+$/) { $h->[$last] = $v } else { $h->{$last} = $v }
}
sub field_name { my $p = shift; (grep { !/^\d+$/ } @$p)[-1] }

# Raw JSON fragments.  'bytes': refused by the body's check before any
# handler; 'value': parsed, then refused by the handler, naming the field.
my @string_bytes = (
	['a bad byte', qq("\xff\xfe")], ['an overlong /', qq("\xc0\xaf")], ['an encoded surrogate', qq("\xed\xa0\x80")],
	['past U+10FFFF', qq("\xf4\x90\x80\x80")], ['a truncated sequence', qq("ab\xe2\x82")], ['a raw NUL', qq("a\x00b")],
	['a raw control byte', qq("a\x01b")], ['\u0000', q("\u0000")], ['a\u0000b', q("a\u0000b")],
	['a lone high surrogate', q("\ud800")], ['a lone low surrogate', q("x\udc00")],
);
my @wrong_for_string = (['a number', '12345'], ['true', 'true'], ['an array', '[]'], ['an object', '{}']);
my @integer_bad = (['2^63', '9223372036854775808'], ['2^64', '18446744073709551616'], ['-2^63-1', '-9223372036854775809'],
	['1e400', '1e400'], ['-1e400', '-1e400'], ['1e-400', '1e-400'], ['1.5', '1.5'], ['a string', '"5"'], ['true', 'true'],
	['an array', '[]'], ['an object', '{}']);
sub variants_of {
	my ($kind, $s) = @_;
	my @v;
	if ($kind eq 'string') {
		push @v, map { [$_->[0], $_->[1], 'bytes'] } @string_bytes;
		push @v, map { [$_->[0], $_->[1], 'value'] } @wrong_for_string;
		push @v, ['one byte over maxLength', '"' . ('x' x ($s->{maxLength} + 1)) . '"', 'value'] if $s->{maxLength};
	} elsif ($kind eq 'integer') {
		push @v, map { [$_->[0], $_->[1], $_->[1] =~ /^-?\d{19,}$|e/ ? 'bytes' : 'value'] } @integer_bad;
		push @v, ['its maximum + 1', $s->{maximum} + 1, 'value'] if defined $s->{maximum};
		push @v, ['its minimum - 1', $s->{minimum} - 1, 'value'] if defined $s->{minimum};
	} elsif ($kind eq 'number') {
		push @v, ['1e400', '1e400', 'bytes'], ['NaN', 'NaN', 'bytes'], ['a string', '"0.5"', 'value'], ['true', 'true', 'value'];
		push @v, ['its maximum + 1', $s->{maximum} + 1, 'value'] if defined $s->{maximum};
		push @v, ['its minimum - 1', $s->{minimum} - 1, 'value'] if defined $s->{minimum};
	} elsif ($kind eq 'boolean') {
		push @v, map { [$_->[0], $_->[1], 'value'] } (['a string', '"true"'], ['1', '1'], ['an array', '[]']);
	} elsif ($kind eq 'object') {
		push @v, map { ["$_->[0] as a value inside", qq({"k":$_->[1]}), 'bytes'] } @string_bytes;
		push @v, ['a bad byte as a key', qq({"\xff":1}), 'bytes'], ['\u0000 as a key', q({"a\u0000":1}), 'bytes'],
			['1,000 levels deep', ('{"a":' x 1000) . '1' . ('}' x 1000), 'bytes'],
			['a string', '"x"', 'value'], ['an array', '[1]', 'value'];
	} elsif ($kind eq 'array') {
		push @v, ['1,000 levels deep', ('[' x 1000) . (']' x 1000), 'bytes'], ['a string', '"x"', 'value'],
			['an object', '{}', 'value'];
	}
	return @v;
}

# ------------------------------------------------------------- the requests
my $before = state_snapshot();
my ($sent, $named, %unnamed) = (0, 0);
sub send_checked {
	my ($op, $name, $res, %o) = @_;
	$sent++;
	print STDERR "# $res->{status} $name\n" if $ENV{HOSTILE_VERBOSE};
	judge_answer($res, $name, documented => $op->{documented}, %o);
}

for my $op (@ops) {
	my $id = "$op->{method} $op->{path}";
	# MCP's answers to a bad message are JSON-RPC errors, not the
	# contract's object: t/4500 sends it its hostile bodies.
	next if $op->{path} eq '/api/v1/memox/mcp';
	my $cred = credential_of($op);
	my $content = $op->{op}{requestBody}{content} || {};
	# --- JSON bodies
	if (my $js = $content->{'application/json'}) {
		my $make = $baseline{$id} or do { fail("$id: no baseline body in this test"); next };
		# The whole body nested 1,200 levels deep (within 8 KiB).
		my $deep = ('{"x":' x 1200) . '1' . ('}' x 1200);
		send_checked($op, "$id: a body 1,200 levels deep", call($cred, $op->{method} => path_of($op), $deep),
			allowed => [400]);
		for my $f (fields_of($js->{schema})) {
			my ($path, $kind, $s) = @$f;
			my $fname = field_name($path);
			for my $v (variants_of($kind, $s)) {
				my ($vname, $fragment, $level) = @$v;
				my $body = $make->();
				set_path($body, $path, '@@HOSTILE@@');
				my $text = JSON::PP->new->utf8->canonical->encode($body);
				$text =~ s/"\@\@HOSTILE\@\@"/$fragment/ or die "no placeholder in $text";
				my $name = "$id: " . join('.', @$path) . " $vname";
				my $res = call($cred, $op->{method} => path_of($op), $text);
				my $allowed = length($text) > 8192 ? [400, 413] : [400];
				send_checked($op, $name, $res, allowed => $allowed);
				if ($level eq 'value' && $res->{status} == 400) {
					my $msg = eval { JSON::PP::decode_json($res->{content})->{error}{message} } // '';
					$named++;
					push @{$unnamed{$id}}, "$name: \"$msg\"" unless $msg =~ /\Q$fname\E/;
				}
			}
		}
	}
	# --- the form body of Apple's callback: a bad escape is a 400; the
	# values go on to the console escaped again (303)
	if ($content->{'application/x-www-form-urlencoded'}) {
		for my $f (qw(code state error user)) {
			for my $v (['%00', 400], ['%ff%fe', 303], ['%c0%af', 303], ['%zz', 400], ['%', 400]) {
				my $res = call(undef, POST => $op->{path}, "code=c&state=s&$f=$v->[0]",
					{'Content-Type' => 'application/x-www-form-urlencoded'});
				send_checked($op, "$id: $f=$v->[0]", $res, allowed => [$v->[1]]);
			}
		}
	}
	# --- query parameters, each hostile in turn beside valid others
	my @params = @{$op->{op}{parameters} || []};
	my %valid_query = (namespace => 'fields', externalUserId => 'u', tenantId => $tenant);
	my @required = grep { $_->{in} eq 'query' && $valid_query{$_->{name}} } @params;
	for my $p (grep { $_->{in} eq 'query' } @params) {
		my ($kind, $s) = kind_of($p->{schema} || {});
		my @values = $kind eq 'integer'
			? ('18446744073709551616', '9223372036854775808', '-1', '0', ($s->{maximum} // 100) + 1, '1e3', '1.5', '0x10',
				'%2B5', '%205', '5%20', '05%00', '', '%ff')
			: ('%ff', '%c0%af', '%ed%a0%80', '%00', 'a%00b', '%zz', 'x' x (($s->{maxLength} // 256) + 1));
		push @values, ('x', '1.', '.00000000-0000-4000-8000-000000000000', '99999999999999999999.00000000-0000-4000-8000-000000000000',
			'-1.00000000-0000-4000-8000-000000000000', '1.00000000-0000-4000-8000-00000000000g', '1.' . ('0' x 40), '1e5')
			if $p->{name} eq 'cursor';
		push @values, ('nope', 'READY', 'pending%00') if $s->{enum};
		for my $v (@values) {
			my %q = map { $_->{name} => $valid_query{$_->{name}} } grep { $_->{name} ne $p->{name} } @required;
			my $qs = join '&', (map { "$_=$q{$_}" } sort keys %q), "$p->{name}=$v";
			my $shown = length $v > 40 ? substr($v, 0, 12) . '...' : $v;
			# An empty cursor is the first page; every other value here is a 400.
			my $allowed = $p->{name} eq 'cursor' && $v eq '' ? [200] : $p->{name} eq 'limit' && $v eq '' ? [400, 200] : [400];
			# The provider's callbacks hand code and state on to the console,
			# escaped again, unless an escape is malformed.
			$allowed = [303, 400] if $op->{path} =~ m{/callback$};
			my $res = call($cred, $op->{method} => path_of($op) . "?$qs");
			send_checked($op, "$id ?$p->{name}=$shown", $res, allowed => $allowed);
		}
	}
	# --- path parameters, each hostile in turn, with a body the route
	# would take
	for my $p (grep { $_->{in} eq 'path' } @params) {
		for my $v ('%ff%fe', '%c0%af', uc($path_value{$p->{name}}) . '0', 'x' x 300, '%2e%2e', '00000000-0000-4000-8000-00000000000%ff') {
			my $body = $baseline{$id} ? $baseline{$id}->() : undef;
			my $res = call($cred, $op->{method} => path_of($op, $p->{name} => $v), $body);
			send_checked($op, "$id {$p->{name}}=" . substr($v, 0, 20), $res, allowed => [400, 404]);
		}
	}
}

# --- headers with hostile bytes on the routes that read them, sent as
# raw bytes (HTTP::Tiny refuses control bytes in a header)
my @idempotency = ("a\x01b", "\xff\xfe", 'k' x 256, "tab\tin", "a\x7fb", '');
for my $op (grep { $_->{path} =~ m{^/api/v1/memox/memories(/batch)?$} && $_->{method} eq 'POST' } @ops) {
	for my $v (@idempotency) {
		my $body = JSON::PP->new->utf8->encode($baseline{"POST $op->{path}"}->());
		my $res = raw_http(POST => $op->{path}, ["Authorization: Bearer $key->{key}", 'Content-Type: application/json',
			"Idempotency-Key: $v"], $body);
		send_checked($op, "POST $op->{path} Idempotency-Key " . ($v =~ s/[^ -~]/?/gr), $res, allowed => [400]);
	}
}
my @authorization = ("Bearer \xff\xfe", "Bearer agk_\x01" . ('A' x 42), 'Bearer ' . ('A' x 4000), "Bearer \t", 'Bearer',
	"Bearer agk_" . ('A' x 42) . "\x7f", "bearer\x01");
for my $op (grep { $_->{method} eq 'GET' && $_->{path} =~ m{^/api/v1/(keys/self|auth/me|auth/sessions|tenants|memox/erasures/\{id\})$} } @ops) {
	for my $v (@authorization) {
		my $res = raw_http(GET => path_of($op), ["Authorization: $v"]);
		send_checked($op, "GET $op->{path} Authorization " . substr($v =~ s/[^ -~]/?/gr, 0, 16), $res, allowed => [400, 401]);
	}
}
my $login = (grep { $_->{path} eq '/api/v1/auth/login' } @ops)[0];
for my $origin ("https://\xff\xfe.example", 'null', "https://evil.example\x01", 'x' x 3000, '') {
	my $body = JSON::PP->new->encode({email => unique_email('fields-origin'), password => 'not the password'});
	my $res = raw_http(POST => '/api/v1/auth/login', ["Origin: $origin", 'Content-Type: application/json'], $body);
	# An empty Origin is none: the login is refused for its password.
	send_checked($login, 'login Origin ' . substr($origin =~ s/[^ -~]/?/gr, 0, 16), $res,
		allowed => $origin eq '' ? [401, 403] : [400, 403]);
}
for my $rid ("\xff\xfe", 'x' x 200, 'a b', "a\x01", '') {
	my $res = raw_http(GET => '/api/v1/auth/health', ["X-Request-Id: $rid"]);
	$sent++;
	like($res->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/, 'a hostile X-Request-Id is replaced by a fresh one: '
		. substr($rid =~ s/[^ -~]/?/gr, 0, 8));
}

# ------------------------------------------------------------- the verdict
my @failures = judge_failures();
is(scalar @failures, 0, "every one of $sent hostile requests was answered as the contract says");
diag($_) for @failures[0 .. ($#failures < 40 ? $#failures : 39)];
my @unnamed = map { @{$unnamed{$_}} } sort keys %unnamed;
is(scalar @unnamed, 0, "every value a handler refused ($named of them) was named in the message");
diag($_) for @unnamed[0 .. ($#unnamed < 40 ? $#unnamed : 39)];
my $after = state_snapshot();
is_deeply($after, $before, 'the database holds what it held before (users, sessions, tenants, members, invitations, '
	. 'limits, keys, memories, erasures)');
is(call($key->{key}, GET => "/api/v1/memox/memories/$memory")->{status}, 200, 'the memory is there');
is(keys_self($key->{key})->{status}, 200, 'the key works');
is(call($owner, GET => '/api/v1/auth/me')->{status}, 200, 'the owner\'s session works');
my $counts = judge_counts();
note(sprintf '%d requests; answers by status: %s', $sent, join(', ', map { "$_: $counts->{$_}" } sort keys %$counts));

done_testing();

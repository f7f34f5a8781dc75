#!/usr/bin/perl
# Bad input on every keys route is a 400 (or 404 for a malformed key id in
# the path, 413 for an oversized body, 415 for another media type, 405 for
# another method) in the contract's error format, and changes nothing.
use strict;
use warnings;
use utf8;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my (undef, undef, $reg) = register_user(tag => 'keys-bad');
my $tok = $reg->{accessToken};
my $tenant = tenants_new($tok, 'bad input')->{id};
my $k = keys_make($tok, $tenant, name => 'target');

sub raw {
	my ($method, $path, $content, $ct) = @_;
	my %h = %{bearer($tok)};
	$h{'Content-Type'} = $ct // 'application/json' if defined $content || defined $ct;
	return api($method => $path, {headers => \%h, defined $content ? (content => $content) : ()});
}
sub create { raw(POST => '/api/v1/keys', ref $_[0] ? JSON::PP->new->utf8->canonical->encode($_[0]) : $_[0]) }
my %ok = (tenantId => $tenant, name => 'fine');
sub keys_count { psql("SELECT count(*) FROM api_keys WHERE tenant_id = '$tenant'") }
my $before = keys_count();

# ------------------------------------------------------------- POST /keys: the body
error_is(create(''), 400, 'invalid_request', 'create: an empty body');
error_is(create('{"tenantId": '), 400, 'invalid_request', 'create: malformed JSON');
error_is(create('[]'), 400, 'invalid_request', 'create: an array');
error_is(create('"x"'), 400, 'invalid_request', 'create: a string');
error_is(create(qq({"tenantId":"$tenant","name":"\xff\xfe"})), 400, 'invalid_request', 'create: invalid UTF-8');
error_is(create(qq({"tenantId":"$tenant","name":"a"} trailing)), 400, 'invalid_request', 'create: trailing garbage');
error_is(create('{"a":' x 200 . '1' . '}' x 200), 400, 'invalid_request', 'create: nested too deep');
error_is(create(JSON::PP->new->encode({%ok, pad => 'x' x 1_100_000})), 413, 'payload_too_large', 'create: oversized body');
error_is(raw(POST => '/api/v1/keys', JSON::PP->new->encode(\%ok), 'text/plain'), 415, 'unsupported_media_type',
	'create: text/plain');
error_is(raw(POST => '/api/v1/keys', JSON::PP->new->encode(\%ok), 'application/json; charset=latin1'), 415,
	'unsupported_media_type', 'create: another charset');
error_is(api(POST => '/api/v1/keys', {headers => bearer($tok), content => JSON::PP->new->encode(\%ok)}), 415,
	'unsupported_media_type', 'create: no Content-Type');

# ------------------------------------------------------------- POST /keys: the fields
my @bad = (
	[{name => 'x'}, qr/tenantId is required/, 'no tenantId'],
	[{tenantId => undef, name => 'x'}, qr/tenantId is required/, 'tenantId null'],
	[{tenantId => 5, name => 'x'}, qr/tenantId must be a string/, 'tenantId a number'],
	[{tenantId => [$tenant], name => 'x'}, qr/tenantId must be a string/, 'tenantId an array'],
	[{tenantId => 'not-a-uuid', name => 'x'}, qr/tenantId must be a UUID/, 'tenantId not a UUID'],
	[{tenantId => "${tenant}0", name => 'x'}, qr/tenantId/, 'tenantId too long'],
	[{tenantId => $tenant}, qr/name is required/, 'no name'],
	[{%ok, name => ''}, qr/name must not be empty/, 'an empty name'],
	[{%ok, name => 7}, qr/name must be a string/, 'a number for name'],
	[{%ok, name => {}}, qr/name must be a string/, 'an object for name'],
	[{%ok, name => 'a' x 129}, qr/name must be at most 128 bytes/, 'a name of 129 bytes'],
	[{%ok, name => 'é' x 65}, qr/name must be at most 128 bytes/, 'a name of 130 bytes in 65 characters'],
	[{%ok, name => "two\nlines"}, qr/control characters/, 'a name with a newline'],
	[{%ok, name => "nul\x{0}"}, qr/u0000 is not allowed/, 'a name with NUL'],
	[{%ok, scopes => 'memox:read'}, qr/scopes must be an array/, 'scopes a string'],
	[{%ok, scopes => {}}, qr/scopes must be an array/, 'scopes an object'],
	[{%ok, scopes => []}, qr/scopes must name 1 to/, 'no scopes'],
	[{%ok, scopes => [1]}, qr/scopes must be an array of strings/, 'a number in scopes'],
	[{%ok, scopes => [undef]}, qr/scopes must be an array of strings/, 'null in scopes'],
	[{%ok, scopes => ['memox:admin']}, qr/unknown scope: memox:admin/, 'an unknown scope'],
	[{%ok, scopes => ['memox:read', 'x' x 100]}, qr/unknown scope in scopes/, 'a long unknown scope (not echoed)'],
	[{%ok, scopes => [('memox:read') x 17]}, qr/scopes must name 1 to 16/, 'too many scopes'],
	[{%ok, expiresAt => 1893456000}, qr/expiresAt must be a string/, 'expiresAt a number'],
	[{%ok, expiresAt => ''}, qr/expiresAt must not be empty/, 'expiresAt empty'],
	[{%ok, expiresAt => 'tomorrow'}, qr/RFC 3339/, 'expiresAt "tomorrow"'],
	[{%ok, expiresAt => '2030-01-01'}, qr/RFC 3339/, 'expiresAt a date only'],
	[{%ok, expiresAt => '2030-01-01T00:00:00'}, qr/RFC 3339/, 'expiresAt without a zone'],
	[{%ok, expiresAt => '2030-01-01 00:00:00Z'}, qr/RFC 3339/, 'expiresAt with a space'],
	[{%ok, expiresAt => '2030-02-29T00:00:00Z'}, qr/RFC 3339/, 'expiresAt on 29 February of a common year'],
	[{%ok, expiresAt => '2030-13-01T00:00:00Z'}, qr/RFC 3339/, 'expiresAt in month 13'],
	[{%ok, expiresAt => '2030-01-01T24:00:00Z'}, qr/RFC 3339/, 'expiresAt at hour 24'],
	[{%ok, expiresAt => '2030-01-01T00:00:00.Z'}, qr/RFC 3339/, 'expiresAt with an empty fraction'],
	[{%ok, expiresAt => '2030-01-01T00:00:00.1234567890Z'}, qr/RFC 3339/, 'expiresAt with 10 fraction digits'],
	[{%ok, expiresAt => '2030-01-01T00:00:00+2:00'}, qr/RFC 3339/, 'expiresAt with a short offset'],
	[{%ok, expiresAt => '2030-01-01T00:00:00Zjunk'}, qr/RFC 3339/, 'expiresAt with more after it'],
	[{%ok, expiresAt => '2020-01-01T00:00:00Z'}, qr/in the future/, 'expiresAt in the past'],
	[{%ok, expiresAt => 'x' x 65}, qr/expiresAt must be at most 64 bytes/, 'expiresAt oversized'],
	[{%ok, key => 'agk_' . 'A' x 43}, qr/unknown field: key/, 'choosing the secret'],
	[{%ok, status => 'active'}, qr/unknown field: status/, 'an unknown field'],
	[{%ok, tenantid => $tenant}, qr/unknown field: tenantid/, 'a misspelt field'],
);
for my $b (@bad) {
	my ($body, $msg, $name) = @$b;
	my $e = error_is(create($body), 400, 'invalid_request', "create: $name");
	like($e->{error}{message} // '', $msg, "create: $name: says why");
}
is(keys_count(), $before, 'none of them made a key');

# What is fine at the edges.
my $res = create({%ok, name => 'a' x 128});
is($res->{status}, 201, 'create: a name of 128 bytes');
$res = create({%ok, name => 'clé ✓ 鍵'});
is($res->{status}, 201, 'create: a UTF-8 name');
is(JSON::PP::decode_json($res->{content})->{name}, 'clé ✓ 鍵', 'create: kept as sent');
$res = create({%ok, scopes => ['memox:read', 'memox:read']});
is_deeply(decode_json_ok($res, 'repeated')->{scopes}, ['memox:read'], 'create: a repeated scope counts once');
$res = create({%ok, scopes => undef, expiresAt => undef});
is_deeply(decode_json_ok($res, 'nulls')->{scopes}, ['memox:read', 'memox:write'], 'create: null scopes are the default');
$res = create({%ok, expiresAt => '2030-01-01t02:30:00.75+02:30'});
is($res->{status}, 201, 'create: expiresAt with a fraction, an offset and lower-case t');
is(decode_json_ok($res, 'offset')->{expiresAt}, '2030-01-01T00:00:00Z', 'create: expiresAt in UTC, to the second');
$res = create({%ok, expiresAt => '2032-02-29T23:59:59z'});
is(decode_json_ok($res, 'leap')->{expiresAt}, '2032-02-29T23:59:59Z', 'create: 29 February of a leap year');

# At most 100 keys that can still work, per tenant.
my $full = tenants_new($tok, 'full')->{id};
my @made = map { keys_make($tok, $full, name => "key $_") } 1 .. 100;
error_is(create({tenantId => $full, name => 'one too many'}), 409, 'conflict', 'create: the 101st working key');
raw(DELETE => "/api/v1/keys/$made[0]{id}");
is(create({tenantId => $full, name => 'in its place'})->{status}, 201, 'create: a deleted key makes room');

# Issue: a rotation did not count, so day-long overlaps could stack without
# end.  At the cap, one with an overlap would be a 101st working key.
sub working { psql("SELECT count(*) FROM api_keys WHERE tenant_id = '$full' AND status <> 'deleted'"
	. " AND (revoke_at IS NULL OR revoke_at > now()) AND (expires_at IS NULL OR expires_at > now())") }
is(working(), 100, 'the tenant has 100 working keys');
my $e = error_is(raw(POST => "/api/v1/keys/$made[1]{id}/rotate", '{"overlapSeconds":86400}'), 409, 'conflict',
	'rotate with an overlap at the cap');
like($e->{error}{message}, qr/\b100\b.*overlap/, 'saying why and what to do');
is(psql("SELECT coalesce(revoke_at::text, 'none') || ' ' || coalesce(rotated_to::text, 'none') FROM api_keys"
	. " WHERE id = '$made[1]{id}'"), 'none none', 'the key is unchanged');
is(working(), 100, 'and no key was made');
my $r0 = raw(POST => "/api/v1/keys/$made[1]{id}/rotate", '{"overlapSeconds":0}');
is($r0->{status}, 200, 'rotate without overlap at the cap: 200 (a leaked key can always be replaced)')
	or diag($r0->{content});
is(working(), 100, 'still 100 working keys');
raw(DELETE => "/api/v1/keys/$made[2]{id}");
is(raw(POST => "/api/v1/keys/$made[3]{id}/rotate", '{"overlapSeconds":60}')->{status}, 200,
	'with room for one more, an overlap is fine');
is(working(), 100, 'which fills the cap again');
error_is(raw(POST => "/api/v1/keys/$made[4]{id}/rotate", '{"overlapSeconds":60}'), 409, 'conflict',
	'so the next overlap is refused');

# ------------------------------------------------------------- GET /keys?tenantId=
error_is(raw(GET => '/api/v1/keys'), 400, 'invalid_request', 'list: no tenantId');
error_is(raw(GET => '/api/v1/keys?tenantId='), 400, 'invalid_request', 'list: an empty tenantId');
error_is(raw(GET => '/api/v1/keys?tenantId=abc'), 400, 'invalid_request', 'list: tenantId not a UUID');
error_is(raw(GET => "/api/v1/keys?tenantId=$tenant%00"), 400, 'invalid_request', 'list: tenantId with NUL');
error_is(raw(GET => '/api/v1/keys?tenantId=%zz'), 400, 'invalid_request', 'list: a malformed query');
is(raw(GET => "/api/v1/keys?tenantId=$tenant&other=1")->{status}, 200, 'list: other query parameters are ignored');

# ------------------------------------------------------------- malformed key ids
# An encoded NUL or a malformed escape never reaches the responder: nginx
# refuses the URI (400).
my @ids = ('abc', '00000000-0000-0000-0000-00000000000g', "$k->{id}0", substr($k->{id}, 0, 35), '%00',
	"$k->{id}%00", 'x' x 2000, '..', '%20' . $k->{id}, '%zz');
for my $id (@ids) {
	my ($status, $code) = $id =~ /%(?:00|zz)/ ? (400, 'invalid_request') : (404, 'not_found');
	for my $r (['GET', ''], ['DELETE', ''], ['POST', '/disable'], ['POST', '/enable'], ['POST', '/rotate']) {
		my ($m, $suffix) = @$r;
		my $shown = length $id > 40 ? substr($id, 0, 12) . '...' : $id;
		error_is(raw($m => "/api/v1/keys/$id$suffix"), $status, $code, "$m /keys/$shown$suffix");
	}
}
is(raw(GET => '/api/v1/keys/' . uc $k->{id})->{status}, 200, 'an upper-case key id names the same key');
is(keys_self($k->{key})->{status}, 200, 'the key is untouched');

# ------------------------------------------------------------- rotate's body
my $rot = "/api/v1/keys/$k->{id}/rotate";
for my $b ([{overlapSeconds => -1}, qr/between 0 and 86400/, 'overlapSeconds -1'],
	[{overlapSeconds => 86401}, qr/between 0 and 86400/, 'overlapSeconds 86401'],
	[{overlapSeconds => 1e20}, qr/overlapSeconds/, 'overlapSeconds 1e20'],
	[{overlapSeconds => '5'}, qr/must be an integer/, 'overlapSeconds a string'],
	[{overlapSeconds => 1.5}, qr/must be an integer/, 'overlapSeconds 1.5'],
	[{overlapSeconds => JSON::PP::true}, qr/must be an integer/, 'overlapSeconds true'],
	[{overlap => 5}, qr/unknown field: overlap/, 'an unknown field']) {
	my ($body, $msg, $name) = @$b;
	my $e = error_is(raw(POST => $rot, JSON::PP->new->encode($body)), 400, 'invalid_request', "rotate: $name");
	like($e->{error}{message} // '', $msg, "rotate: $name: says why");
}
error_is(raw(POST => $rot, '[]'), 400, 'invalid_request', 'rotate: an array');
error_is(raw(POST => $rot, '{"overlapSeconds":'), 400, 'invalid_request', 'rotate: malformed JSON');
error_is(raw(POST => $rot, '{"overlapSeconds":5}', 'text/plain'), 415, 'unsupported_media_type', 'rotate: text/plain');
error_is(raw(POST => $rot, '{"pad":"' . 'x' x 1_100_000 . '"}'), 413, 'payload_too_large', 'rotate: oversized');
is(psql("SELECT rotated_to IS NULL FROM api_keys WHERE id = '$k->{id}'"), 't', 'none of them rotated the key');
$res = raw(POST => $rot, '{"overlapSeconds":86400}');
is($res->{status}, 200, 'rotate: overlapSeconds 86400 is the most');
my $r1 = decode_json_ok($res, 'rotate max');
my $old = decode_json_ok(raw(GET => "/api/v1/keys/$k->{id}"), 'old');
is($old->{status}, 'active', 'the old key works on for the day');
is(keys_self($k->{key})->{status}, 200, 'it does');
$res = raw(POST => "/api/v1/keys/$r1->{id}/rotate", '{"overlapSeconds":null}');
is($res->{status}, 200, 'rotate: overlapSeconds null is 0');
is(keys_self($r1->{key})->{status}, 401, 'and stops the old key at once');
$res = raw(POST => '/api/v1/keys/' . decode_json_ok($res, 'r2')->{id} . '/rotate', '', 'application/json');
is($res->{status}, 200, 'rotate: an empty JSON body is no body');

# ------------------------------------------------------------- methods
for my $r (['PUT', '/api/v1/keys', 'POST, GET'], ['PATCH', "/api/v1/keys/$k->{id}", 'GET, DELETE'],
	['GET', "/api/v1/keys/$k->{id}/rotate", 'POST'], ['DELETE', "/api/v1/keys/$k->{id}/disable", 'POST'],
	['POST', '/api/v1/keys/self', 'GET'], ['GET', '/api/v1/keys/verify/x', undef]) {
	my ($m, $p, $allow) = @$r;
	$res = raw($m => $p);
	if (defined $allow) {
		error_is($res, 405, 'method_not_allowed', "$m $p");
		is($res->{headers}{allow}, $allow, "$m $p: Allow");
	} else {
		error_is($res, 404, 'not_found', "$m $p");
	}
}

# ------------------------------------------------------------- /keys/self with bad keys
for my $h (['', 'no header'], ['Bearer ', 'an empty bearer'], ['Bearer agk_', 'the prefix alone'],
	["Bearer  $k->{key}", 'a space before the key'], ['Bearer ' . substr($k->{key}, 0, -1) . '!', 'a character changed'],
	['Basic ' . $k->{key}, 'not a bearer'], ['Bearer ' . ('agk_' . 'A' x 5000), 'an oversized key']) {
	my ($v, $name) = @$h;
	error_is(api(GET => '/api/v1/keys/self', {headers => $v ? {Authorization => $v} : {}}), 401, 'unauthorized',
		"self: $name");
}

done_testing();

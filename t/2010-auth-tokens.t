#!/usr/bin/perl
# Access tokens: verified by an independent JWT implementation (Crypt::JWT)
# against GET /jwks; forged, tampered and malformed ones refused; signing-key
# rotation; logout blacklisting the access token and ending the refresh token.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Aiget;

Aiget::require_stack();
eval { require Crypt::JWT; require Crypt::PK::ECC; 1 }
	or plan skip_all => 'Crypt::JWT not installed (Debian: libcrypt-jwt-perl)';
Crypt::JWT->import(qw(decode_jwt encode_jwt));

my $A = '/api/v1/auth';
my $ISSUER = stack_env('AUTH_JWT_ISSUER');
my $AUDIENCE = stack_env('AUTH_JWT_AUDIENCE') // 'aiget-api';
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

sub body { JSON::PP->new->decode($_[0]{content}) }
sub me { api(GET => "$A/me", {headers => bearer($_[0])}) }
sub jwks { body(api(GET => "$A/jwks")) }
sub b64url { my $s = MIME::Base64::encode_base64url($_[0]); $s =~ s/=+$//; $s }
sub refresh { call(undef, POST => "$A/refresh", {refreshToken => $_[0]}) }

# A token the stack must refuse on /me: 401, invalid_token.
sub refused {
	my ($token, $name) = @_;
	my $res = me($token);
	error_is($res, 401, 'unauthorized', $name);
	like($res->{headers}{'www-authenticate'} // '', qr/^Bearer error="invalid_token"/, "$name: invalid_token");
}

# The current signing key as the database holds it: forging with it is how
# this test makes tokens the stack itself would sign, with claims of our choice.
sub signing_key {
	my $kid = shift // psql('SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1');
	$kid =~ /^[0-9a-f]+$/ or die "unexpected kid '$kid'";
	my $pem = psql("SELECT private_pem FROM signing_keys WHERE kid = '$kid'");
	return ($kid, Crypt::PK::ECC->new(\$pem));
}

my ($email, $password, $reg) = register_user(tag => 'tokens');
my $uid = $reg->{user}{id};

subtest 'GET /jwks' => sub {
	my $res = api(GET => "$A/jwks");
	is($res->{status}, 200, 'status 200');
	like($res->{headers}{'cache-control'} // '', qr/\bmax-age=\d+/, 'cacheable');
	my $b = decode_json_ok($res, 'jwks');
	ok(ref $b->{keys} eq 'ARRAY' && @{$b->{keys}} >= 1, 'at least one key');
	for my $k (@{$b->{keys}}) {
		is($k->{kty}, 'EC', "$k->{kid}: kty EC");
		is($k->{crv}, 'P-256', "$k->{kid}: crv P-256");
		is($k->{alg}, 'ES256', "$k->{kid}: alg ES256");
		is($k->{use}, 'sig', "$k->{kid}: use sig");
		like($k->{kid} // '', qr/^\S{8,}$/, "$k->{kid}: has a kid");
		ok(!exists $k->{d}, "$k->{kid}: no private part");
		ok(eval { Crypt::PK::ECC->new($k) }, "$k->{kid}: a usable public key");
	}
	is(api(GET => "$A/jwks", {headers => {Authorization => 'Bearer garbage'}})->{status}, 200,
		'public: a bad Authorization header does not matter');
};

subtest 'verified by Crypt::JWT' => sub {
	my ($header, $c) = eval {
		decode_jwt(token => $reg->{accessToken}, kid_keys => jwks(), decode_header => 1,
			accepted_alg => 'ES256', verify_iss => $ISSUER, verify_aud => $AUDIENCE,
			verify_exp => 1, verify_iat => 1, verify_nbf => 0, leeway => 5)
	};
	ok($c, 'the signature and claims verify') or return diag($@);
	is($header->{alg}, 'ES256', 'alg ES256');
	ok(grep({ $_->{kid} eq $header->{kid} } @{jwks()->{keys}}), 'the kid is a published key');
	is($c->{iss}, $ISSUER, 'iss is AUTH_JWT_ISSUER');
	is($c->{sub}, $uid, 'sub is the user');
	is($c->{aud}, $AUDIENCE, 'aud');
	ok(abs($c->{iat} - time) < 30, 'iat is now');
	is($c->{exp} - $c->{iat}, 900, 'lives 15 minutes');
	like($c->{jti} // '', qr/^[0-9a-f]{32}$/, 'jti is 128 random bits');
	is($c->{role}, 'user', 'role');
	like($c->{sid} // '', $UUID, 'sid');
	is(psql("SELECT user_id FROM sessions WHERE id = '$c->{sid}'"), $uid, 'sid is a session of the user');

	my $again = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	my (undef, $c2) = decode_jwt(token => $again->{accessToken}, kid_keys => jwks(), decode_header => 1);
	isnt($c2->{jti}, $c->{jti}, 'every token its own jti');
	isnt($c2->{sid}, $c->{sid}, 'every sign-in its own session');
};

# Claims as the stack signs them; forged variants below change one thing.
sub claims {
	my %over = @_;
	my $now = time;
	my %c = (iss => $ISSUER, sub => $uid, aud => $AUDIENCE, iat => $now, exp => $now + 900,
	         jti => sprintf('%032x', int(rand(2**31))) . 'f', role => 'user',
	         sid => (jwt_decode_unverified($reg->{accessToken}))[1]{sid}, %over);
	delete $c{$_} for grep { !defined $c{$_} } keys %c;
	return \%c;
}

subtest 'tokens signed with the real key' => sub {
	my ($kid, $key) = signing_key();
	my $forge = sub { encode_jwt(payload => claims(@_), alg => 'ES256', key => $key, extra_headers => {kid => $kid}) };
	my $res = me($forge->());
	is($res->{status}, 200, 'control: well-formed claims are accepted') or diag($res->{content});
	my $now = time;
	refused($forge->(exp => $now - 120, iat => $now - 1020), 'expired two minutes ago');
	refused($forge->(iss => 'https://evil.example'), 'another issuer');
	refused($forge->(iss => undef), 'no issuer');
	refused($forge->(aud => 'someone-else'), 'another audience');
	refused($forge->(aud => undef), 'no audience');
	refused($forge->(iat => $now + 3600, exp => $now + 4500), 'issued an hour from now');
	refused($forge->(nbf => $now + 3600), 'not before an hour from now');
	refused($forge->(exp => undef), 'no exp');
	refused($forge->(exp => "$now"), 'exp a string');
	refused($forge->(sub => undef), 'no sub');
	refused($forge->(sid => undef), 'no sid');
	refused($forge->(jti => undef), 'no jti');
	refused($forge->(role => undef), 'no role');
	my $aud_list = me($forge->(aud => ['other', $AUDIENCE]));
	is($aud_list->{status}, 200, 'aud as a list that includes ours') or diag($aud_list->{content});
	refused(encode_jwt(payload => claims(), alg => 'ES256', key => $key, extra_headers => {kid => $kid, crit => ['x']}),
		'a critical header extension');
};

# A token with a kid a responder does not know makes it reload its keys, at
# most once per SIGNING_KEYS_MISS_S (5 s); the rotation below waits that out.
my $last_kid_miss = time;

subtest 'forged, tampered and malformed tokens' => sub {
	my $jwks = jwks();
	my $pub = $jwks->{keys}[0];
	my $pem = Crypt::PK::ECC->new($pub)->export_key_pem('public');
	my $json = JSON::PP->new->canonical;
	my ($h64, $p64, $s64) = split /\./, $reg->{accessToken};
	my $payload = $json->encode(claims());

	refused(b64url($json->encode({alg => 'none', typ => 'JWT', kid => $pub->{kid}})) . '.' . b64url($payload) . '.',
		'alg none');
	refused(b64url($json->encode({alg => 'none', kid => $pub->{kid}})) . '.' . b64url($payload) . ".$s64",
		'alg none with a signature kept');
	refused(encode_jwt(payload => claims(), alg => 'HS256', key => $pem, extra_headers => {kid => $pub->{kid}}),
		'HS256 keyed with the public key PEM');
	refused(encode_jwt(payload => claims(), alg => 'HS256', key => $pub->{x}, extra_headers => {kid => $pub->{kid}}),
		'HS256 keyed with the JWK x');
	refused(encode_jwt(payload => claims(), alg => 'HS256', key => $json->encode($pub),
		extra_headers => {kid => $pub->{kid}}), 'HS256 keyed with the JWK');

	my $stranger = Crypt::PK::ECC->new;
	$stranger->generate_key('secp256r1');
	refused(encode_jwt(payload => claims(), alg => 'ES256', key => $stranger, extra_headers => {kid => 'not-our-kid'}),
		'an unknown kid');
	refused(encode_jwt(payload => claims(), alg => 'ES256', key => $stranger, extra_headers => {kid => $pub->{kid}}),
		'our kid, another key');
	refused(encode_jwt(payload => claims(), alg => 'ES256', key => $stranger), 'no kid');

	my (undef, undef, $other) = register_user(tag => 'victim');
	my $c = (jwt_decode_unverified($reg->{accessToken}))[1];
	refused("$h64." . b64url($json->encode({%$c, sub => $other->{user}{id}})) . ".$s64",
		'payload tampered: sub changed to another user');
	refused("$h64." . b64url($json->encode({%$c, role => 'admin'})) . ".$s64", 'payload tampered: role admin');
	refused("$h64." . b64url($json->encode({%$c, exp => $c->{exp} + 86400})) . ".$s64", 'payload tampered: exp');
	my $h = (jwt_decode_unverified($reg->{accessToken}))[0];
	refused(b64url($json->encode({%$h, typ => 'at+jwt'})) . ".$p64.$s64", 'header tampered');
	refused(b64url($json->encode({%$h, alg => 'ES384'})) . ".$p64.$s64", 'header alg changed');
	refused("$h64.$p64." . b64url('x' x 64), 'signature replaced');
	refused("$h64.$p64", 'two parts');
	refused("$h64.$p64.$s64.$s64", 'four parts');
	refused(substr($reg->{accessToken}, 0, -10), 'truncated');
	refused("$h64.$p64.${s64}AA", 'signature too long');
	refused("$h64.$p64.$s64=", 'base64 padding');
	# A token with a - or _ somewhere: the header and claims, ASCII JSON,
	# rarely encode to one, and one signature in 16 has neither, so such a
	# token would come out of the translation unchanged, and valid.  A fresh
	# token has a fresh signature (ECDSA signatures are randomised).
	my $url = "$h64.$p64.$s64";
	for (1 .. 8) {
		last if $url =~ /[-_]/;
		$url = body(call(undef, POST => "$A/login", {email => $email, password => $password}))->{accessToken} // '';
	}
	my $std = $url =~ tr/-_/+\//r;
	isnt($std, $url, 'the standard alphabet changes the token');
	is(me($url)->{status}, 200, 'the token in the URL-safe alphabet works');
	refused($std, 'standard base64 alphabet');
	refused('garbage', 'garbage');
	refused('a.b.c', 'three garbage parts');
	refused('x' x 8000, 'a long garbage token');

	for my $case (['the token without "Bearer"', $reg->{accessToken}], ['"Bearer" alone', 'Bearer'],
	              ['"Bearer " and nothing', 'Bearer '], ['Basic', "Basic $reg->{accessToken}"],
	              ['Bearer with a comma', "Bearer $reg->{accessToken}, Bearer x"]) {
		my $res = api(GET => "$A/me", {headers => {Authorization => $case->[1]}});
		error_is($res, 401, 'unauthorized', $case->[0]);
		like($res->{headers}{'www-authenticate'} // '', qr/^Bearer/, "$case->[0]: WWW-Authenticate");
	}
	is(api(GET => "$A/me", {headers => {Authorization => "bearer $reg->{accessToken}"}})->{status}, 200,
		'the scheme is case-insensitive');
	is(me($reg->{accessToken})->{status}, 200, 'and the real token still works');
	$last_kid_miss = time;
};

subtest 'a deleted account' => sub {
	my (undef, undef, $gone) = register_user(tag => 'deleted');
	is(psql("DELETE FROM users WHERE id = '$gone->{user}{id}' RETURNING 1"), 1, 'deleted in the database');
	error_is(me($gone->{accessToken}), 401, 'unauthorized', 'its token no longer reaches /me');
	error_is(refresh($gone->{refreshToken}), 401, 'unauthorized', 'nor refreshes');
};

subtest 'logout' => sub {
	my $s = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	my $sid = (jwt_decode_unverified($s->{accessToken}))[1]{sid};
	my $jti = (jwt_decode_unverified($s->{accessToken}))[1]{jti};
	my $res = call(undef, POST => "$A/logout", {refreshToken => $s->{refreshToken}}, {%{bearer($s->{accessToken})}, %{client_ip()}});
	is($res->{status}, 204, 'logout: 204') or diag($res->{content});
	refused($s->{accessToken}, 'the access token after logout');
	error_is(refresh($s->{refreshToken}), 401, 'unauthorized', 'the refresh token after logout');
	my $ttl = redis_cli('TTL', "auth:bl:$jti");
	ok($ttl > 0 && $ttl <= 900 + 30, 'the jti is blacklisted until the token would expire') or diag("TTL $ttl");
	is(psql("SELECT revoked_reason FROM sessions WHERE id = '$sid'"), 'logout', 'the session is revoked');
	is(me($reg->{accessToken})->{status}, 200, 'other sessions go on');

	my $again = call(undef, POST => "$A/logout", {refreshToken => $s->{refreshToken}}, {%{bearer($s->{accessToken})}, %{client_ip()}});
	is($again->{status}, 204, 'a second logout is harmless');

	my $a_only = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	$res = api(POST => "$A/logout", {headers => {%{bearer($a_only->{accessToken})}, %{client_ip()}}});
	is($res->{status}, 204, 'logout with the access token alone') or diag($res->{content});
	refused($a_only->{accessToken}, 'that access token');
	error_is(refresh($a_only->{refreshToken}), 401, 'unauthorized', 'its session ended too');

	my $r_only = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	$res = call(undef, POST => "$A/logout", {refreshToken => $r_only->{refreshToken}});
	is($res->{status}, 204, 'logout with the refresh token alone') or diag($res->{content});
	error_is(refresh($r_only->{refreshToken}), 401, 'unauthorized', 'that refresh token');
	refused($r_only->{accessToken}, "its session's access token");

	error_is(api(POST => "$A/logout", {headers => client_ip()}), 401, 'unauthorized', 'logout with nothing');
	error_is(call(undef, POST => "$A/logout", {refreshToken => 5}), 400, 'invalid_request',
		'logout with a refresh token of the wrong type');
	error_is(call(undef, POST => "$A/logout", '{"refreshToken":'), 400, 'invalid_request', 'logout with broken JSON');
};

# The other areas verify the same tokens with their own copy of the public
# keys: the first route of theirs that needs a user (the USER flag of its
# binary's --routes) gets the same cases.  The tenants and keys areas have
# such routes; none found is a failure, not a reason to skip.
subtest "another area's user route" => sub {
	my @found = grep { $_->{flags}{USER} } map { route_table($_) } qw(tenants keys);
	ok(scalar @found, 'the tenants and keys areas have user routes (' . scalar(@found) . ')') or return;
	my ($method, $path) = @{$found[0]}{qw(method pattern)};
	$path =~ s/\{[^}]+\}/00000000-0000-4000-8000-000000000000/g;
	my $call = sub { api($method => $path, {headers => {%{bearer($_[0])}, 'Content-Type' => 'application/json'},
		content => '{}'}) };
	my ($kid, $key) = signing_key();
	isnt($call->($reg->{accessToken})->{status}, 401, "$method $path: a valid token passes");
	my $now = time;
	for my $case (['expired', encode_jwt(payload => claims(exp => $now - 120, iat => $now - 1020), alg => 'ES256',
	                key => $key, extra_headers => {kid => $kid})],
	              ['another issuer', encode_jwt(payload => claims(iss => 'https://evil.example'), alg => 'ES256',
	                key => $key, extra_headers => {kid => $kid})],
	              ['alg none', b64url('{"alg":"none","kid":"' . $kid . '"}') . '.' . b64url(JSON::PP::encode_json(claims())) . '.'],
	              ['tampered', join('.', (split /\./, $reg->{accessToken})[0], b64url(JSON::PP::encode_json(claims(role => 'admin'))),
	                (split /\./, $reg->{accessToken})[2])],
	              ['garbage', 'garbage']) {
		my $res = $call->($case->[1]);
		error_is($res, 401, 'unauthorized', "$method $path: $case->[0]");
	}
	my $s = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	is(call(undef, POST => "$A/logout", {refreshToken => $s->{refreshToken}}, {%{bearer($s->{accessToken})}, %{client_ip()}})->{status},
		204, 'a session logged out');
	error_is($call->($s->{accessToken}), 401, 'unauthorized', "$method $path: its access token");
};

# Last: until every responder child has reloaded its keys (SIGNING_KEYS_TTL_S,
# 60 s), children differ in which key they sign with.
subtest 'signing-key rotation' => sub {
	my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
	my $env = var_dir() . '/aiget.env';
	my ($old_kid) = signing_key();
	my $before = body(call(undef, POST => "$A/login", {email => $email, password => $password}));
	is((jwt_decode_unverified($before->{accessToken}))[0]{kid}, $old_kid, 'tokens carry the current kid');

	my $out = `$ctl --env-file $env auth rotate-signing-key 2>&1`;
	is($?, 0, 'aigetctl auth rotate-signing-key exits 0') or return diag($out);
	my ($new_kid) = $out =~ /\b([0-9a-f]{32})\b/;
	ok($new_kid && $new_kid ne $old_kid, 'names a new kid') or return diag($out);
	unlike($out, qr/PRIVATE KEY/, 'never prints the private key');
	is(psql('SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1'), $new_kid,
		'the new key is current in the database');
	is(psql("SELECT retired_at IS NULL FROM signing_keys WHERE kid = '$old_kid'"), 't', 'the old one is kept');
	is(me($before->{accessToken})->{status}, 200, 'a token of the old key still works');

	my $wait = 6 - (time - $last_kid_miss);
	sleep($wait) if $wait > 0;
	my (undef, $key) = signing_key($new_kid);
	my $res = me(encode_jwt(payload => claims(), alg => 'ES256', key => $key, extra_headers => {kid => $new_kid}));
	is($res->{status}, 200, 'a token of the new key works at once') or diag($res->{content});

	# Polled: each child switches when it next loads its keys.
	my $refresh = $before->{refreshToken};
	my $fresh = wait_until(75, sub {
		my $r = body(refresh($refresh));
		$refresh = $r->{refreshToken} // $refresh;
		return $r->{accessToken} if $r->{accessToken} && (jwt_decode_unverified($r->{accessToken}))[0]{kid} eq $new_kid;
		sleep(1);
		return;
	});
	ok($fresh, 'new tokens carry the new kid') or return;

	# A key signs only once it is SIGNING_KEYS_ACTIVATE_S old, and /jwks reloads
	# more often than that: no child publishes less than any child signs.
	my @lists = map { join ' ', sort map { $_->{kid} } @{jwks()->{keys}} } 1 .. 6;
	is(scalar(grep { index($_, $new_kid) >= 0 } @lists), 6,
		'every /jwks answer lists the kid of every token issued so far') or diag(join "\n", @lists);

	my $published = wait_until(75, sub {
		my $j = jwks();
		my %kids = map { $_->{kid} => 1 } @{$j->{keys}};
		return $j if $kids{$new_kid} && $kids{$old_kid};
		sleep(1);
		return;
	});
	ok($published, '/jwks lists the new key and the old one') or return;
	is(scalar @{$published->{keys}}, 2, 'and only those two');
	my (undef, $c) = eval { decode_jwt(token => $fresh, kid_keys => $published, decode_header => 1, accepted_alg => 'ES256') };
	is($c && $c->{sub}, $uid, 'Crypt::JWT verifies the new token against it') or diag($@);
	ok(eval { decode_jwt(token => $before->{accessToken}, kid_keys => $published); 1 }, 'and the old token too')
		or diag($@);
	is(me($before->{accessToken})->{status}, 200, 'the old token still works on /me');
	is(me($fresh)->{status}, 200, 'the new one too');
};

done_testing();

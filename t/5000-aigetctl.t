#!/usr/bin/perl
# aigetctl's operator commands against the real stack: admin create,
# reset-password (the password signs in over the API), promote and demote
# (only a verified address is made admin; a demoted admin's token is refused
# on the admin routes at once), migrate's ADMIN_EMAIL (an unverified account
# is claimed first: its password and sessions end), tenant create (for a
# verified owner), list,
# suspend (its keys are refused: 403), resume and limits (seen by the keys
# through the API), key create (the printed secret authenticates), list,
# disable, rotate (with and without overlap) and delete, each followed by
# the API's view of it; --json answers parse; bad arguments exit 64 and
# unknown ids 1; `check` passes on the stack and fails fast, naming the
# dependency, when a database is unreachable.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempfile);
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use Aiget;

Aiget::require_stack();

my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
my $env = var_dir() . '/aiget.env';
my $UUID = qr/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
ok(-x $ctl, "aigetctl is built ($ctl)");

# ctl({stdin => ..., env => {...}, env_file => ...}, ARGS): runs aigetctl;
# returns {rc, out, err, seconds}.
sub ctl {
	my $o = ref $_[0] eq 'HASH' ? shift : {};
	my ($inf, $in) = tempfile(UNLINK => 1);
	print $inf $o->{stdin} // '';
	close $inf;
	my (undef, $out) = tempfile(UNLINK => 1);
	my (undef, $err) = tempfile(UNLINK => 1);
	my $t0 = time;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open(STDIN, '<', $in) or die;
		open(STDOUT, '>', $out) or die;
		open(STDERR, '>', $err) or die;
		$ENV{$_} = $o->{env}{$_} for keys %{$o->{env} || {}};
		exec($ctl, '--env-file', $o->{env_file} // $env, @_) or exit 127;
	}
	waitpid($pid, 0);
	my %r = (rc => $? >> 8, seconds => time - $t0);
	for ([out => $out], [err => $err]) {
		open(my $f, '<', $_->[1]) or die;
		local $/;
		$r{$_->[0]} = <$f> // '';
	}
	return \%r;
}
# The JSON of a run that must succeed.
sub ctl_json {
	my $name = shift;
	my $r = ctl(@_);
	is($r->{rc}, 0, "$name: exit 0") or diag("stdout: $r->{out}\nstderr: $r->{err}");
	my $j = eval { JSON::PP->new->decode($r->{out}) };
	ok(ref $j eq 'HASH', "$name: one JSON object") or diag($r->{out});
	return $j || {};
}
sub login {
	my ($email, $password) = @_;
	return call(undef, POST => '/api/v1/auth/login', {email => $email, password => $password});
}
sub random_uuid { sprintf('%08x-%04x-4%03x-8%03x-%012x', map { int rand(16**$_) } 8, 4, 3, 3, 12) }

# ------------------------------------------------------------ usage: 64
for my $case (
	[['tenant'], 'tenant without a subcommand'],
	[['tenant', 'bogus'], 'an unknown tenant subcommand'],
	[['tenant', 'suspend', 'not-a-uuid'], 'a malformed tenant id'],
	[['tenant', 'create', 'x'], 'tenant create without --owner'],
	[['tenant', 'limits', random_uuid(), '--qps', '0'], 'a limit of 0'],
	[['tenant', 'limits', random_uuid(), '--qps'], 'an option without its value'],
	[['tenant', 'list', '--status', 'sleeping'], 'an unknown status'],
	[['key', 'create', random_uuid()], 'key create without --name'],
	[['key', 'create', random_uuid(), '--name', 'k', '--scope', 'memox:admin'], 'an unknown scope'],
	[['key', 'create', random_uuid(), '--name', 'k', '--expires-in-days', 'soon'], 'a bad --expires-in-days'],
	[['key', 'rotate', random_uuid(), '--overlap-seconds', '90000'], 'an overlap too long'],
	[['key', 'disable'], 'key disable without an id'],
	[['admin', 'create', 'not-an-email'], 'admin create with a bad email'],
	[['admin', 'create'], 'admin create without an email'],
	[['check', '--bogus'], 'check with an unknown option'],
	[['no-such-command'], 'an unknown command'],
) {
	my $r = ctl(@{$case->[0]});
	is($r->{rc}, 64, "usage: $case->[1]: exit 64") or diag("stdout: $r->{out}\nstderr: $r->{err}");
	like($r->{err}, qr/usage: aigetctl/, "usage: $case->[1]: the usage on stderr");
	is($r->{out}, '', "usage: $case->[1]: nothing on stdout");
}
for my $cmd (qw(admin tenant key check)) {
	my $r = ctl($cmd, '--help');
	is($r->{rc}, 0, "$cmd --help: exit 0");
	like($r->{out}, qr/^usage: aigetctl \Q$cmd\E.*Exit status: 0/s, "$cmd --help: synopsis, text and exit codes");
}

# ------------------------------------------------------------ check
my $r = ctl('check');
is($r->{rc}, 0, 'check on the stack: exit 0') or diag("$r->{out}\n$r->{err}");
for my $dep (qw(config postgres vector redis migrations embedding)) {
	like($r->{out}, qr/^\Q$dep\E\s+ok\b/m, "check: $dep ok");
}
like($r->{out}, qr/^postgres\s+ok\s+\d+\.\d\d ms/m, 'check: with a latency in ms');
like($r->{out}, qr/^vector\s+ok.*pgvector \d/m, 'check: names the pgvector version');
like($r->{out}, qr/^replicas\s+skipped\s+no read URL is set$/m, 'check: no read replica, none checked');
my $c = ctl_json('check --json', 'check', '--json');
is($c->{status}, 'ok', 'check --json: status ok');
for my $dep (qw(postgres vector redis)) {
	is($c->{checks}{$dep}{status}, 'ok', "check --json: $dep ok");
	like($c->{checks}{$dep}{latencyMs} // '', qr/^\d+(\.\d+)?$/, "check --json: $dep latencyMs is a number");
}

# An env file naming a port nothing listens on for the main database.
my $dead_port = do { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0); $s->sockport };
my ($bad_fh, $bad_env) = tempfile(UNLINK => 1);
open(my $good, '<', $env) or die;
while (my $line = <$good>) {
	$line =~ s{^(DATABASE_URL=postgres(?:ql)?://[^/]*?)(?::\d+)?/}{$1:$dead_port/} if $line =~ /^DATABASE_URL=/;
	print $bad_fh $line;
}
close $bad_fh;
$r = ctl({env_file => $bad_env}, 'check');
is($r->{rc}, 1, 'check, main database unreachable: exit 1') or diag("$r->{out}\n$r->{err}");
ok($r->{seconds} < 5, sprintf('check, main database unreachable: answers within 5 s (%.1f s)', $r->{seconds}));
like($r->{out}, qr/^postgres\s+FAILED\s+.*\S/m, 'check: postgres FAILED, with why');
like($r->{out}, qr/^redis\s+ok/m, 'check: redis still ok');
like($r->{out}, qr/^vector\s+ok/m, 'check: vector still ok');
like($r->{out}, qr/^migrations\s+skipped/m, 'check: migrations skipped');
like($r->{out}, qr/1 of 7 checks failed/, 'check: counts the failures');

# The vector database unreachable, through the environment (it wins over the file).
(my $vurl = stack_env('VECTOR_DATABASE_URL')) =~ s{^(postgres(?:ql)?://[^/]*?)(?::\d+)?/}{$1:$dead_port/};
my $t0 = time;
$c = do {
	my $run = ctl({env => {VECTOR_DATABASE_URL => $vurl}}, 'check', '--json');
	is($run->{rc}, 1, 'check --json, vector database unreachable: exit 1');
	ok($run->{seconds} < 5, sprintf('and within 5 s (%.1f s)', $run->{seconds}));
	eval { decode_json($run->{out}) } || {};
};
is($c->{status}, 'failed', 'check --json: status failed');
is($c->{checks}{vector}{status}, 'failed', 'check --json: vector failed');
like($c->{checks}{vector}{detail} // '', qr/\S/, 'check --json: with a detail');
is($c->{checks}{postgres}{status}, 'ok', 'check --json: postgres ok');

# ------------------------------------------------------------ admin
my $admin_email = unique_email('ctl-admin');
my $pw = "ctl admin pw $$ " . int(rand(1e9));
$r = ctl({stdin => "$pw\n"}, 'admin', 'create', $admin_email, '--password-stdin');
is($r->{rc}, 0, 'admin create --password-stdin: exit 0') or diag("$r->{out}\n$r->{err}");
like($r->{out}, qr/^role\s+admin$/m, 'admin create: role admin');
unlike($r->{out} . $r->{err}, qr/\Q$pw\E/, 'admin create: the given password is never printed');
my $res = login($admin_email, $pw);
is($res->{status}, 200, 'the new admin signs in with that password') or diag($res->{content});
my $admin = decode_json_ok($res, 'admin login');
is($admin->{user}{role}, 'admin', 'and is an admin');
is(api(GET => '/api/v1/admin/tenants', {headers => bearer($admin->{accessToken})})->{status}, 200,
	'the admin routes let them in');
is(psql("SELECT detail->>'by' FROM auth_audit WHERE email = '$admin_email' AND event = 'admin_create'"),
	'aigetctl', 'admin create: audited once, by aigetctl');

$r = ctl({stdin => "$pw\n"}, 'admin', 'create', $admin_email, '--password-stdin');
is($r->{rc}, 1, 'admin create of an existing account: exit 1');
like($r->{err}, qr/exists already/, 'saying so');
$r = ctl({stdin => "short\n"}, 'admin', 'create', unique_email('ctl-weak'), '--password-stdin');
is($r->{rc}, 64, 'admin create with a password against the policy: exit 64');
like($r->{err}, qr/at least 8 bytes/, 'saying why');

# A generated password, printed once.
my $gen_email = unique_email('ctl-gen');
$r = ctl('admin', 'create', $gen_email);
is($r->{rc}, 0, 'admin create, generated password: exit 0') or diag($r->{err});
my ($gen) = $r->{out} =~ /^password\s+(\S+)$/m;
ok(defined $gen && length $gen >= 32, 'admin create: a generated password of 32 characters');
like($r->{err}, qr/shown this once/, 'and a note that it is shown once');
is(login($gen_email, $gen // '')->{status}, 200, 'the generated password signs in');
is(psql("SELECT count(*) FROM users WHERE password_hash LIKE '%" . ($gen // 'x') . "%'"), 0,
	'only its hash is stored');

my $j = ctl_json('admin create --json', 'admin', 'create', unique_email('ctl-json'), '--json');
like($j->{id} // '', qr/^$UUID$/, 'admin create --json: id');
is($j->{role}, 'admin', 'admin create --json: role');
ok(length($j->{password} // '') >= 32, 'admin create --json: the generated password');

# reset-password: the old password and the old sessions stop.
my $old_token = $admin->{accessToken};
my $pw2 = "ctl new pw $$ " . int(rand(1e9));
$j = ctl_json('admin reset-password', {stdin => "$pw2\n"}, 'admin', 'reset-password', $admin_email,
	'--password-stdin', '--json');
ok(($j->{sessionsRevoked} // 0) >= 1, 'reset-password: the sessions were revoked');
is(login($admin_email, $pw)->{status}, 401, 'reset-password: the old password is refused');
is(login($admin_email, $pw2)->{status}, 200, 'reset-password: the new one signs in');
is(api(GET => '/api/v1/auth/me', {headers => bearer($old_token)})->{status}, 401,
	'reset-password: an access token of an old session stops at once');
$r = ctl({stdin => "$pw2\n"}, 'admin', 'reset-password', unique_email('ctl-nobody'), '--password-stdin');
is($r->{rc}, 1, 'reset-password of an unknown account: exit 1');
like($r->{err}, qr/no account/, 'saying so');

# ------------------------------------------------------------ admin promote, demote
my $pu = tenants_user('ctl-promote');
$r = ctl('admin', 'promote', $pu->{email});
is($r->{rc}, 1, 'admin promote of an unverified address: exit 1');
like($r->{err}, qr/not verified/, 'saying why');
is(psql("SELECT role FROM users WHERE id = '$pu->{id}'"), 'user', 'and the account is not promoted');
tenants_verify_email($pu);
$j = ctl_json('admin promote', 'admin', 'promote', $pu->{email}, '--json');
is($j->{role}, 'admin', 'admin promote of a verified address: role admin');
is(api(GET => '/api/v1/admin/tenants', {headers => bearer($pu->{token})})->{status}, 200,
	'its token, issued before, opens the admin routes at once');
$j = ctl_json('admin demote', 'admin', 'demote', $pu->{email}, '--json');
is($j->{role}, 'user', 'admin demote: role user');
is(api(GET => '/api/v1/admin/tenants', {headers => bearer($pu->{token})})->{status}, 403,
	'the same token is refused on the admin routes at once');
is(api(GET => '/api/v1/auth/me', {headers => bearer($pu->{token})})->{status}, 200, 'and still works as a user');
is(psql("SELECT string_agg(event, ' ' ORDER BY id) FROM auth_audit WHERE user_id = '$pu->{id}'"
	. " AND detail->>'by' = 'aigetctl'"), 'admin_promote admin_demote', 'both audited, by aigetctl');
$r = ctl('admin', 'promote', unique_email('ctl-nobody'));
is($r->{rc}, 1, 'admin promote of an unknown account: exit 1');
like($r->{err}, qr/no account/, 'saying so');

# ------------------------------------------------------------ migrate and ADMIN_EMAIL
# Issue: migrate promoted the account of ADMIN_EMAIL, keeping its sessions,
# even when its address was never proved: whoever registered it first
# became admin.  Now the operator's ADMIN_EMAIL claims such an account.
my $victim = tenants_user('ctl-claimed');
my $claim_pw = "claimed admin $$ " . int(rand(1e9));
$r = ctl({env => {ADMIN_EMAIL => $victim->{email}, ADMIN_PASSWORD => ''}}, 'migrate');
is($r->{rc}, 1, 'migrate, ADMIN_EMAIL unverified, no ADMIN_PASSWORD: exit 1') or diag("$r->{out}
$r->{err}");
like($r->{err}, qr/not verified.*ADMIN_PASSWORD/s, 'saying why and what to do');
is(psql("SELECT role FROM users WHERE id = '$victim->{id}'"), 'user', 'not promoted');
is(api(GET => '/api/v1/auth/me', {headers => bearer($victim->{token})})->{status}, 200, 'nothing else changed');
$r = ctl({env => {ADMIN_EMAIL => $victim->{email}, ADMIN_PASSWORD => $claim_pw}}, 'migrate');
is($r->{rc}, 0, 'migrate, ADMIN_EMAIL unverified, with ADMIN_PASSWORD: exit 0') or diag("$r->{out}
$r->{err}");
like($r->{out}, qr/claimed/, 'saying the account was claimed');
is(psql("SELECT role || ' ' || email_verified FROM users WHERE id = '$victim->{id}'"), 'admin true',
	'the account is admin, its address verified');
is(api(GET => '/api/v1/auth/me', {headers => bearer($victim->{token})})->{status}, 401,
	'the access token of its previous holder stops at once');
is(login($victim->{email}, $victim->{password})->{status}, 401, 'and so does their password');
$res = login($victim->{email}, $claim_pw);
is($res->{status}, 200, 'ADMIN_PASSWORD signs in');
is(api(GET => '/api/v1/admin/tenants', {headers => bearer(decode_json_ok($res, 'claimed')->{accessToken})})->{status},
	200, 'as an admin');
my $kept = tenants_user('ctl-kept');
tenants_verify_email($kept);
$r = ctl({env => {ADMIN_EMAIL => $kept->{email}, ADMIN_PASSWORD => ''}}, 'migrate');
is($r->{rc}, 0, 'migrate, ADMIN_EMAIL verified, no ADMIN_PASSWORD: exit 0') or diag("$r->{out}
$r->{err}");
is(psql("SELECT role FROM users WHERE id = '$kept->{id}'"), 'admin', 'promoted');
is(login($kept->{email}, $kept->{password})->{status}, 200, 'its password kept');
is(api(GET => '/api/v1/admin/tenants', {headers => bearer($kept->{token})})->{status}, 200, 'and its sessions');
$r = ctl({env => {ADMIN_EMAIL => unique_email('ctl-nobody'), ADMIN_PASSWORD => ''}}, 'migrate');
is($r->{rc}, 1, 'migrate, ADMIN_EMAIL of no account, no ADMIN_PASSWORD: exit 1');
like($r->{err}, qr/ADMIN_PASSWORD/, 'saying ADMIN_PASSWORD is needed to create it');
ctl('admin', 'demote', $_) for $victim->{email}, $kept->{email};

# ------------------------------------------------------------ tenant create, list
my $squat = tenants_user('ctl-squat');
$r = ctl('tenant', 'create', 'squatted', '--owner', $squat->{email});
is($r->{rc}, 1, 'tenant create for an unverified owner: exit 1');
like($r->{err}, qr/not verified/, 'saying why');
is(psql("SELECT count(*) FROM tenant_members WHERE user_id = '$squat->{id}'"), 0, 'no tenant for them');
my $owner = tenants_user('ctl-owner');
tenants_verify_email($owner);
my $tname = "ctl tenant $$";
$j = ctl_json('tenant create', 'tenant', 'create', $tname, '--owner', $owner->{email}, '--json');
my $tid = $j->{tenant}{id} // '';
like($tid, qr/^$UUID$/, 'tenant create: an id');
is($j->{tenant}{name}, $tname, 'tenant create: the name');
my ($mine) = grep { $_->{id} eq $tid } @{decode_json_ok(call($owner, GET => '/api/v1/tenants'), 'mine')->{tenants}};
is($mine->{role}, 'owner', 'the owner sees the tenant over the API, as its owner');
is(psql("SELECT (actor_id IS NULL) || ' ' || (detail->>'by') FROM tenant_audit WHERE tenant_id = '$tid'"
	. " AND action = 'tenant.create'"), 'true aigetctl', 'tenant create: audited, no actor, by aigetctl');
$r = ctl('tenant', 'create', 'orphan', '--owner', unique_email('ctl-nobody'));
is($r->{rc}, 1, 'tenant create for an unknown owner: exit 1');
like($r->{err}, qr/no account/, 'saying so');

$r = ctl('tenant', 'list');
is($r->{rc}, 0, 'tenant list: exit 0');
like($r->{out}, qr/^ID\s+NAME\s+STATUS/, 'tenant list: a header');
like($r->{out}, qr/^\Q$tid\E\s+\Q$tname\E\s+active\s+1\s+\Q$owner->{email}\E/m, 'tenant list: the tenant, aligned');
$j = ctl_json('tenant list --json', 'tenant', 'list', '--json');
my ($listed) = grep { $_->{id} eq $tid } @{$j->{tenants} || []};
is($listed->{owners}, $owner->{email}, 'tenant list --json: the tenant with its owner');

# ------------------------------------------------------------ key create
$j = ctl_json('key create', 'key', 'create', $tid, '--name', 'ci', '--json');
my ($key, $kid) = ($j->{key} // '', $j->{id} // '');
like($key, qr/^agk_[A-Za-z0-9_-]{43}$/, 'key create: the secret, in the API format');
is_deeply($j->{scopes}, ['memox:read', 'memox:write'], 'key create: both scopes by default');
$res = keys_self($key);
is($res->{status}, 200, 'the printed key authenticates (GET /keys/self)') or diag($res->{content});
my $self = decode_json_ok($res, 'self');
is($self->{keyId}, $kid, 'self: the key id');
is($self->{tenantId}, $tid, 'self: the tenant');
is(psql("SELECT encode(key_hash, 'hex') = encode(sha256('$key'), 'hex') FROM api_keys WHERE id = '$kid'"), 't',
	'only the SHA-256 is stored');
is(psql("SELECT count(*) FROM tenant_audit WHERE detail::text LIKE '%" . substr($key, 12) . "%'"), 0,
	'the secret is in no audit row');

$r = ctl('key', 'create', $tid, '--name', 'reader', '--scope', 'memox:read', '--expires-in-days', '30');
is($r->{rc}, 0, 'key create, text: exit 0') or diag($r->{err});
my ($key2) = $r->{out} =~ /^key\s+(agk_\S+)$/m;
my ($kid2) = $r->{out} =~ /^id\s+($UUID)$/m;
ok(defined $key2, 'key create, text: the secret on a line of its own');
like($r->{out}, qr/^scopes\s+memox:read$/m, 'key create: the scope asked for');
like($r->{out}, qr/^expiresAt\s+\d{4}-/m, 'key create: an expiry');
unlike($r->{err}, qr/agk_/, 'key create: no secret on stderr');
is(keys_self($key2 // '')->{status}, 200, 'the second key authenticates too');
$r = ctl('key', 'create', random_uuid(), '--name', 'x');
is($r->{rc}, 1, 'key create for an unknown tenant: exit 1');
like($r->{err}, qr/no tenant/, 'saying so');

# ------------------------------------------------------------ key list
$j = ctl_json('key list --json', 'key', 'list', $tid, '--json');
my %listed = map { $_->{id} => $_ } @{$j->{keys} || []};
ok($listed{$kid} && $listed{$kid2}, 'key list --json: both keys');
ok(!grep({ exists $_->{key} } values %listed), 'key list: never a secret');
$r = ctl('key', 'list', $tid);
like($r->{out}, qr/^ID\s+PREFIX\s+NAME\s+STATUS/, 'key list: a header');
like($r->{out}, qr/^\Q$kid\E\s+\Q@{[substr($key, 0, 12)]}\E\s+ci\s+active/m, 'key list: the key, aligned');

# ------------------------------------------------------------ tenant limits
$j = ctl_json('tenant limits (show)', 'tenant', 'limits', $tid, '--json');
ok(exists $j->{limits}{qps} && $j->{isDefault}{qps}, 'tenant limits: shows the defaults of a new tenant');
$r = ctl('tenant', 'limits', $tid);
like($r->{out}, qr/^qps\s+\d+\s+default$/m, 'tenant limits, text: one aligned line a limit');
$j = ctl_json('tenant limits --qps', 'tenant', 'limits', $tid, '--qps', '7', '--burst', '9', '--max-memories', '1234',
	'--json');
is($j->{limits}{qps}, 7, 'tenant limits --qps 7: set');
ok(!$j->{isDefault}{qps}, 'and the tenant\'s own');
my $seen = wait_until(3, sub { my $b = eval { decode_json(keys_self($key)->{content}) }; $b && ($b->{limits}{qps} // 0) == 7 && $b });
ok($seen, 'the new qps is what the key gets through the API');
is($seen && $seen->{limits}{maxMemories}, 1234, 'and the new maxMemories');
is(decode_json_ok(call($owner, GET => "/api/v1/tenants/$tid/limits"), 'limits')->{limits}{burst}, 9,
	'the owner sees the new burst');
$j = ctl_json('tenant limits --qps default', 'tenant', 'limits', $tid, '--qps', 'default', '--json');
ok($j->{isDefault}{qps} && !$j->{isDefault}{burst}, 'tenant limits --qps default: back to the default, burst kept');
like(psql("SELECT detail::text FROM tenant_audit WHERE tenant_id = '$tid' AND action = 'limits.set' ORDER BY id LIMIT 1"),
	qr/"by": "aigetctl".*"qps": 7|"qps": 7.*"by": "aigetctl"/s, 'tenant limits: audited with the changes');
$r = ctl('tenant', 'limits', random_uuid());
is($r->{rc}, 1, 'tenant limits of an unknown tenant: exit 1');

# ------------------------------------------------------------ suspend, resume
$r = ctl('tenant', 'suspend', $tid);
is($r->{rc}, 0, 'tenant suspend: exit 0') or diag($r->{err});
like($r->{out}, qr/^status\s+suspended$/m, 'tenant suspend: the tenant is suspended');
$t0 = time;
my $st = wait_until(2, sub { my $s = keys_self($key)->{status}; $s == 200 ? 0 : $s });
is($st, 403, 'a key of the suspended tenant is refused: 403');
ok(time - $t0 < 1.5, sprintf('within a second or so (%.2f s)', time - $t0));
is(decode_json_ok(keys_self($key), 'suspended')->{error}{code}, 'forbidden', 'with the error code forbidden');
$r = ctl('tenant', 'suspend', $tid);
is($r->{rc}, 0, 'suspending a suspended tenant: exit 0');
like($r->{out}, qr/^tenant unchanged/m, 'and says it is unchanged');
$j = ctl_json('tenant resume', 'tenant', 'resume', $tid, '--json');
is($j->{tenant}{status}, 'active', 'tenant resume --json: active');
ok(wait_until(2, sub { keys_self($key)->{status} == 200 }), 'the key works again after resume');
is(psql("SELECT string_agg(action || ':' || (actor_id IS NULL) || ':' || (detail->>'by'), ' ' ORDER BY id)"
	. " FROM tenant_audit WHERE tenant_id = '$tid' AND action LIKE 'tenant.%'"),
	'tenant.create:true:aigetctl tenant.suspend:true:aigetctl tenant.resume:true:aigetctl',
	'suspend and resume are audited once each, by aigetctl');
$r = ctl('tenant', 'suspend', random_uuid());
is($r->{rc}, 1, 'suspending an unknown tenant: exit 1');
like($r->{err}, qr/no tenant/, 'saying so');

# ------------------------------------------------------------ key disable, enable
$j = ctl_json('key disable', 'key', 'disable', $kid, '--json');
is($j->{status}, 'disabled', 'key disable: disabled');
$st = wait_until(2, sub { my $s = keys_self($key)->{status}; $s == 200 ? 0 : $s });
is($st, 401, 'a disabled key is refused: 401');
$j = ctl_json('key enable', 'key', 'enable', $kid, '--json');
is($j->{status}, 'active', 'key enable: active');
ok(wait_until(2, sub { keys_self($key)->{status} == 200 }), 'the key works again after enable');

# ------------------------------------------------------------ key rotate
$j = ctl_json('key rotate', 'key', 'rotate', $kid, '--json');
my ($key3, $kid3) = ($j->{key} // '', $j->{id} // '');
like($key3, qr/^agk_[A-Za-z0-9_-]{43}$/, 'key rotate: a new secret');
isnt($kid3, $kid, 'key rotate: under a new id');
$st = wait_until(2, sub { my $s = keys_self($key)->{status}; $s == 200 ? 0 : $s });
is($st, 401, 'key rotate without overlap: the old secret is refused at once');
is(keys_self($key3)->{status}, 200, 'key rotate: the new secret works');
$r = ctl('key', 'rotate', $kid);
is($r->{rc}, 1, 'rotating a rotated-away key: exit 1');
like($r->{err}, qr/already rotated/, 'saying so');

$j = ctl_json('key rotate --overlap-seconds 2', 'key', 'rotate', $kid3, '--overlap-seconds', '2', '--json');
my $key4 = $j->{key} // '';
my $rotated = time;
is(keys_self($key3)->{status}, 200, 'with an overlap of 2 s the old secret still works at once');
is(keys_self($key4)->{status}, 200, 'and so does the new one');
$st = wait_until(5, sub { my $s = keys_self($key3)->{status}; $s == 200 ? 0 : $s });
my $after = time - $rotated;
is($st, 401, 'after the overlap the old secret is refused');
ok($after >= 1.5 && $after < 4.5, sprintf('about 2 s after the rotation (%.2f s)', $after));
is(psql("SELECT detail->>'overlapSeconds' FROM tenant_audit WHERE action = 'key.rotate' AND target = '$kid3'"), '2',
	'key rotate: audited with the overlap');

# ------------------------------------------------------------ key delete
my $kid4 = $j->{id};
$r = ctl('key', 'delete', $kid4);
is($r->{rc}, 0, 'key delete: exit 0') or diag($r->{err});
$st = wait_until(2, sub { my $s = keys_self($key4)->{status}; $s == 200 ? 0 : $s });
is($st, 401, 'a deleted key is refused');
$j = ctl_json('key list after delete', 'key', 'list', $tid, '--json');
ok(!grep({ $_->{id} eq $kid4 } @{$j->{keys} || []}), 'a deleted key is no longer listed');
$r = ctl('key', 'disable', $kid4);
is($r->{rc}, 1, 'disabling a deleted key: exit 1');
like($r->{err}, qr/no key/, 'as no such key');
$r = ctl('key', 'rotate', random_uuid());
is($r->{rc}, 1, 'rotating an unknown key: exit 1');
is(psql("SELECT string_agg(DISTINCT action, ' ' ORDER BY action) FROM tenant_audit WHERE tenant_id = '$tid'"
	. " AND action LIKE 'key.%' AND detail->>'by' = 'aigetctl' AND actor_id IS NULL"),
	'key.create key.delete key.disable key.enable key.rotate', 'every key change is audited, by aigetctl');

done_testing();

# Aiget.pm - what the HTTP tests share: the stack's address, requests, JSON.
#
# Tests run against the stack t/harness started (AIGET_TEST_URL); without one
# they skip visibly rather than pass.
package Aiget;
use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use MIME::Base64 ();
use Test::More;

our @EXPORT = qw(base_url api call answer_is decode_json_ok error_is var_dir dev_service wait_until areas
	unique_email client_ip register_user bearer mails_to last_code
	stack_env psql redis_cli jwt_decode_unverified children_of route_table);

sub base_url { $ENV{AIGET_TEST_URL} }
sub var_dir  { $ENV{VAR} }
sub areas    { qw(auth keys tenants memox) }

sub require_stack {
	plan skip_all => 'no test stack: run `make test`' unless $ENV{AIGET_TEST_URL} && $ENV{VAR};
}

# Redirects are answers to check, never followed behind a test's back.
my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0, max_redirect => 0);

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

# call(WHO, METHOD => PATH, BODY, HEADERS): a request of the API as a
# client makes it; every area's tests use it.
#   WHO      undef (no credentials), an access token or API key (sent as a
#            bearer token), or a user hash with {token} (tenants_user(),
#            site_admin()).
#   BODY     undef for none; a reference is sent as JSON in UTF-8 (its
#            strings are characters: `use utf8` where a literal is not
#            ASCII), a string as it is.  With a body, Content-Type is
#            application/json unless HEADERS name one.
#   HEADERS  extra headers; they win over the ones above.  Unless they name
#            X-Forwarded-For, each call comes from a client address of its
#            own (client_ip()), so per-address limits trip only where a test
#            means them to.  (Metrics answer loopback only: read them with
#            api().)
sub call {
	my ($who, $method, $path, $body, $headers) = @_;
	my $credential = ref $who ? $who->{token} : $who;
	my %h = (defined $credential ? %{bearer($credential)} : (), %{$headers || {}});
	%h = (%{client_ip()}, %h) unless grep { lc eq 'x-forwarded-for' } keys %h;
	my %opts = (headers => \%h);
	if (defined $body) {
		$h{'Content-Type'} = 'application/json' unless grep { lc eq 'content-type' } keys %h;
		$opts{content} = ref $body ? JSON::PP->new->utf8->canonical->encode($body) : $body;
	}
	return api($method, $path, \%opts);
}

# The decoded body of an answer that must have $status ({} if not JSON).
sub answer_is {
	my ($res, $status, $name) = @_;
	is($res->{status}, $status, "$name: status $status") or diag($res->{content});
	return eval { JSON::PP::decode_json($res->{content} || '{}') } // {};
}

my $email_serial = 0;
sub unique_email { my $tag = shift // 'user'; sprintf('%s-%d-%d-%d@example.com', $tag, $$, time, ++$email_serial) }

# A client address of its own for each caller (never contacted): nginx
# takes it from X-Forwarded-For as it would from the 1panel proxy.
my $ip_serial = 0;
# IPv6's documentation prefix leaves room for a distinct address per test
# process and call, so per-IP limits of one test never trip another's.
sub client_ip {
	my $n = shift;
	return {'X-Forwarded-For' => defined $n ? sprintf('2001:db8::%x:ffff:%x', $$, $n)
	                                        : sprintf('2001:db8::%x:%x', $$, ++$ip_serial)};
}

# Registers a fresh user; returns (email, password, response body).
sub register_user {
	my (%o) = @_;
	my $email = $o{email} // unique_email($o{tag});
	my $password = $o{password} // "correct horse $$ " . ++$email_serial;
	my $res = call(undef, POST => '/api/v1/auth/register', {email => $email, password => $password});
	die "register failed: $res->{status} $res->{content}" unless $res->{status} == 201;
	return ($email, $password, JSON::PP::decode_json($res->{content}));
}

sub bearer { return {Authorization => "Bearer $_[0]"} }

# The .eml files the outbox wrote for an address, oldest first.
sub mails_to {
	my $to = shift;
	my @found;
	for my $f (sort glob(var_dir() . '/mail/*.eml')) {
		open(my $fh, '<', $f) or next;
		local $/;
		my $text = <$fh>;
		push @found, $text if $text =~ /^To: .*\Q$to\E/mi;
	}
	return @found;
}

# The code in the newest mail to an address (waits for the deferred send).
sub last_code {
	my $to = shift;
	my $code;
	wait_until(5, sub { my @m = mails_to($to); ($code) = @m ? $m[-1] =~ /code is (\d{6})/ : (); $code });
	return $code;
}

# A setting from the stack's environment file ($VAR/aiget.env).
sub stack_env {
	my $name = shift;
	open(my $fh, '<', var_dir() . '/aiget.env') or return undef;
	while (my $line = <$fh>) {    # not $_: callers may be inside a map or for
		return $1 if $line =~ /^\Q$name\E=(.*)$/;
	}
	return undef;
}

# Runs SQL on the main database (for checks the API does not show); returns
# its output without the trailing newline, columns separated by '|'.
# SQL on the main database (psql) or the vector one (psql_vector): the
# output of psql -qAt, without its last newline.
sub run_psql {
	my ($url_var, $sql) = @_;
	open(my $fh, '-|', 'psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', stack_env($url_var),
		'-c', $sql) or die "psql: $!";
	local $/;
	my $out = <$fh> // '';
	close($fh) or die "psql failed on: $sql";
	$out =~ s/\n\z//;
	return $out;
}
sub psql { run_psql('DATABASE_URL', @_) }

# Runs one Redis command on the stack's Redis; returns its raw output, chomped.
sub redis_cli {
	# redis-cli 7.0 sends an empty user name from "redis://:pw@", which
	# Redis refuses, so the URL's parts are passed one by one.
	my ($pw, $host, $port, $db) = stack_env('REDIS_URL') =~ m{^redis://(?:[^:@]*:([^@]*)@)?([^:/]+):(\d+)(?:/(\d+))?}
		or die 'REDIS_URL not understood';
	local $ENV{REDISCLI_AUTH} = $pw if defined $pw;
	open(my $fh, '-|', 'redis-cli', '-h', $host, '-p', $port, '-n', $db // 0, @_) or die "redis-cli: $!";
	local $/;
	my $out = <$fh> // '';
	close($fh) or die "redis-cli failed: @_";
	$out =~ s/\n\z//;
	return $out;
}

# The header and claims of a JWT, decoded but not verified (undef if not a JWT).
sub jwt_decode_unverified {
	my $jwt = shift // '';
	my @p = split /\./, $jwt;
	return unless @p == 3;
	my @json = map {
		(my $b = $_) =~ tr{-_}{+/};
		$b .= '=' x ((4 - length($b) % 4) % 4);
		eval { JSON::PP::decode_json(MIME::Base64::decode_base64($b)) };
	} @p[0, 1];
	return unless ref $json[0] && ref $json[1];
	return @json;
}

# The live (not zombie) children of a process, e.g. an area's multiwatch,
# sorted; in scalar context their number.
sub children_of {
	my $ppid = shift;
	my @kids;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open(my $fh, '<', $stat) or next;
		my $line = <$fh> // next;
		my ($pid, $state, $parent) = $line =~ /^(\d+) \(.*\) (\S) (\d+)/ or next;
		push @kids, $pid if $parent == $ppid && $state ne 'Z';
	}
	@kids = sort { $a <=> $b } @kids;
	return @kids;    # in scalar context, how many
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

# ------------------------------------------------------- users, admins, tenants
push @EXPORT, qw(site_admin tenants_user tenants_new tenants_join tenants_verify_email);

# A fresh user: {email, password, token, id}.
sub tenants_user {
	my ($email, $password, $reg) = register_user(tag => shift // 'tenants');
	return {email => $email, password => $password, token => $reg->{accessToken}, id => $reg->{user}{id}};
}

# A site admin of the script's own, made with `aigetctl admin create` and
# signed in once: {email, password, token, id}.  Not the stack's admin
# (ADMIN_EMAIL): every script that sets limits or reads the back office
# signs one in, and one account would soon meet the per-address login
# limit (login-email, 10 in 5 minutes).
my $site_admin;
sub site_admin {
	return $site_admin if $site_admin;
	my $email = unique_email('script-admin');
	my $out = `$ENV{BUILD_DIR}/bin/aigetctl --env-file @{[var_dir()]}/aiget.env admin create $email --json 2>/dev/null`;
	my $made = eval { JSON::PP::decode_json($out) } // {};
	die "aigetctl admin create: $out" unless $made->{password};
	my $res = call(undef, POST => '/api/v1/auth/login', {email => $email, password => $made->{password}});
	die "admin login: $res->{status} $res->{content}" unless $res->{status} == 200;
	my $b = JSON::PP::decode_json($res->{content});
	return $site_admin = {email => $email, password => $made->{password}, token => $b->{accessToken},
		id => $b->{user}{id}};
}

# A new tenant of WHO (a user hash or an access token); returns its JSON.
sub tenants_new {
	my ($who, $name) = @_;
	my $res = call($who, POST => '/api/v1/tenants', {name => $name // "tenant $$"});
	die "create tenant: $res->{status} $res->{content}" unless $res->{status} == 201;
	return JSON::PP::decode_json($res->{content})->{tenant};
}

# Marks a user's address verified (the OTP flow is tested in t/2040 and once in t/3020).
sub tenants_verify_email { psql("UPDATE users SET email_verified = true WHERE id = '$_[0]{id}'") }

# Makes $user (a hash with token, id and email: tenants_user()'s) a member
# of tenant $tenant_id with $role (default member) the only way there is:
# $inviter (a user or a token) invites the address, the address is marked
# verified, and the user accepts.  Returns the acceptance's body.
sub tenants_join {
	my ($inviter, $tenant_id, $user, $role) = @_;
	my $res = call($inviter, POST => "/api/v1/tenants/$tenant_id/members",
		{email => $user->{email}, role => $role // 'member'});
	die "invite: $res->{status} $res->{content}" unless $res->{status} == 202;
	my $inv = JSON::PP::decode_json($res->{content})->{invitation}{id};
	tenants_verify_email($user);
	$res = call($user, POST => "/api/v1/tenants/invitations/$inv/accept");
	die "accept: $res->{status} $res->{content}" unless $res->{status} == 200;
	return JSON::PP::decode_json($res->{content});
}

# ---------------------------------------------------------------- keys
push @EXPORT, qw(keys_limits keys_suspend keys_make keys_self);

# Sets a tenant's limits (the ones not given are generous), as the site
# admin: generous is more than owners may set themselves (TENANT_CEILING_*).
sub keys_limits {
	my ($tenant, %l) = @_;
	my %body = (qps => 1000, burst => 1000, concurrency => 100, monthlyRequests => 1_000_000_000,
		maxMemories => 100_000, %l);
	my $res = call(site_admin(), PUT => "/api/v1/admin/tenants/$tenant/limits", \%body);
	die "set limits: $res->{status} $res->{content}" unless $res->{status} == 200;
}

# Suspends ($on true) or resumes a tenant as the admin.
sub keys_suspend {
	my ($tenant, $on) = @_;
	my $res = call(site_admin(), POST => "/api/v1/admin/tenants/$tenant/" . ($on ? 'suspend' : 'resume'));
	die "suspend: $res->{status} $res->{content}" unless $res->{status} =~ /^20[04]$/;
}

# A new key of the tenant (extra fields as POST /api/v1/keys takes them); returns the answer's body.
sub keys_make {
	my ($token, $tenant, %o) = @_;
	my $res = call($token, POST => '/api/v1/keys', {tenantId => $tenant, name => 'test key', %o});
	die "create key: $res->{status} $res->{content}" unless $res->{status} == 201;
	return JSON::PP::decode_json($res->{content});
}

# GET /api/v1/keys/self with a key.
sub keys_self { call($_[0], GET => '/api/v1/keys/self') }

# ---------------------------------------------------------------- memox
# A tenant of a fresh owner with limits high enough for tests, and a key
# (scopes: both memox scopes unless given).
push @EXPORT, qw(memox_tenant memox_wait psql_vector);
sub memox_tenant {
	my (%o) = @_;
	my (undef, undef, $user) = register_user(tag => 'memox');
	my $tenant = tenants_new($user->{accessToken}, $o{name} // "memox $$")->{id};
	keys_limits($tenant, %{$o{limits} || {}});
	my $k = keys_make($user->{accessToken}, $tenant, scopes => $o{scopes} // ['memox:read', 'memox:write']);
	return {token => $user->{accessToken}, tenant => $tenant, key => $k->{key}, key_id => $k->{id}};
}
# Waits until every memory id is ready (or failed); returns how many are ready.
sub memox_wait {
	my ($key, $seconds, @ids) = @_;
	my %left = map { $_ => 1 } @ids;
	my $ready = 0;
	wait_until($seconds, sub {
		for my $id (keys %left) {
			my $res = call($key, GET => "/api/v1/memox/memories/$id");
			next unless $res->{status} == 200;
			my $st = JSON::PP::decode_json($res->{content})->{status};
			next if $st eq 'pending';
			$ready++ if $st eq 'ready';
			delete $left{$id};
		}
		return !%left;
	});
	return $ready;
}
sub psql_vector { run_psql('VECTOR_DATABASE_URL', @_) }

# ------------------------------------------------------------ services
push @EXPORT, qw(with_service_stopped areas_healthy);

# `aiget-dev service NAME start|stop|reload`; true when it succeeded.  Its
# chatter goes to stderr, not into the TAP stream.
sub dev_service {
	my ($name, $action) = @_;
	my $rc = system('sh', '-c', '"$0" service "$1" "$2" >&2', "$ENV{AIGET_SRC}/spawn/aiget-dev", $name, $action);
	return $rc == 0;
}

# with_service_stopped(NAME, CODE): stops NAME (a service of `aiget-dev
# service`: pg-main pg-vector redis nginx auth keys tenants memox worker),
# runs CODE, and starts NAME again however CODE ends, then waits until it
# answers and every area is healthy, so that one script's failure never
# becomes the next script's.  It covers CODE
#   - returning;
#   - dying: NAME is started again, then the error goes on;
#   - a stop signal (INT, TERM, HUP): turned into a die while CODE runs;
#   - exit (BAIL_OUT, plan skip_all, exit itself): the END block below.
# Only SIGKILL is beyond it.  Starting again is stop, then start: a no-op
# stop when CODE left NAME stopped, and the end of a variant of NAME that
# CODE started with an environment of its own (t/3220), which the start
# replaces with the stack's.  The stop, the start and the answers are tests.
# A process CODE forks never starts anything: its parent does.
#
# An area's request counters start at zero when it starts (spawn-area), so
# before stopping an area its counters are added to $VAR/routes-requested,
# which t/9800 reads with the live ones.
my %stopped;    # NAME => how many blocks of this process have it stopped
my $services_pid = $$;
sub with_service_stopped {
	my ($name, $code) = @_;
	$stopped{$name}++;
	my ($ok, $err) = (1, '');
	{
		local @SIG{qw(INT TERM HUP)} = (sub { die "killed by SIG$_[0]\n" }) x 3;
		keep_route_counts($name);
		if (ok(dev_service($name => 'stop'), "$name: stopped")) {
			$ok = eval { $code->(); 1 };
			$err = $@;
		}
	}
	if ($$ != $services_pid) {    # a child CODE forked, ending its way
		die $err unless $ok;
		return;
	}
	restore_service($name, 1) unless --$stopped{$name};
	die $err unless $ok;
	return;
}

END {
	if ($$ == $services_pid) {
		local ($?, $!, $@);    # the script's exit status is its own
		for my $name (sort grep { $stopped{$_} } keys %stopped) {
			print STDERR "# $name was left stopped by an exit inside with_service_stopped: starting it again\n";
			$stopped{$name} = 0;
			restore_service($name, 0);
		}
	}
}

# with_services_env(\%ENV, [NAMES], CODE): stops each service of NAMES,
# starts it again with the variables of ENV over the stack's (the process
# environment wins over the env file), runs CODE, and restores every one
# with the stack's configuration however CODE ends (with_service_stopped).
push @EXPORT, qw(with_services_env);
sub with_services_env {
	my ($env, $names, $code) = @_;
	my @names = @$names;
	my $run = sub {
		local @ENV{keys %$env} = values %$env;
		for my $name (@names) { ok(dev_service($name => 'start'), "$name: started with its own settings") }
		ok(wait_until(30, \&areas_healthy), 'every area is healthy');
		$code->();
	};
	for my $name (reverse @names) {
		my $inner = $run;
		$run = sub { with_service_stopped($name => $inner) };
	}
	$run->();
}

# Starts NAME again and waits for it and the areas; as tests, or from END
# (after the plan) as comments.
sub restore_service {
	my ($name, $as_tests) = @_;
	my $report = $as_tests ? sub { ok($_[0], $_[1]) }
	                       : sub { print STDERR '# ', ($_[0] ? '' : 'NOT '), "$_[1]\n"; $_[0] };
	# The counts of a variant CODE started, before it goes.
	keep_route_counts($name) if grep({ $_ eq $name } areas()) && service_answers($name);
	my $started = dev_service($name => 'stop') && dev_service($name => 'start');
	$report->($started, "$name: started again")
		and $report->(wait_until(30, sub { service_answers($name) }), "$name: answers again")
		and $report->(wait_until(30, \&areas_healthy), "every area is healthy again after $name");
}

# Whether a service answers as the stack needs it to.
sub service_answers {
	my $name = shift;
	return quietly(sub { redis_cli('PING') eq 'PONG' }) if $name eq 'redis';
	return quietly(sub { psql('SELECT 1') eq '1' }) if $name eq 'pg-main';
	return quietly(sub { psql_vector('SELECT 1') eq '1' }) if $name eq 'pg-vector';
	return api(GET => '/nginx-baseline')->{status} == 200 if $name eq 'nginx';
	return api(GET => "/api/v1/$name/health")->{status} == 200 if grep { $_ eq $name } areas();
	if ($name eq 'worker') {
		# Its heartbeat in Redis names the process the pid file names: it
		# runs, reached Redis, and is the one started last.
		open(my $fh, '<', var_dir() . '/run/worker.pid') or return 0;
		my $pid = <$fh> // return 0;
		chomp $pid;
		my $beat = quietly(sub { redis_cli('GET', '{memox}:heartbeat:dev-1') }) // '';
		return $beat =~ /\bpid \Q$pid\E$/ ? 1 : 0;
	}
	die "service_answers: unknown service $name";
}

# Each area answers health 200 several times in a row, so from each of its
# children (each has its own connections to reconnect after an outage).
sub areas_healthy {
	for my $area (areas()) {
		for (1 .. 6) { return 0 unless api(GET => "/api/v1/$area/health")->{status} == 200 }
	}
	return 1;
}

# Runs code with stderr closed to the probes' complaints (redis-cli, psql
# while their server is down); returns its value, undef if it died.
sub quietly {
	my $code = shift;
	open(my $saved, '>&', \*STDERR) or return scalar eval { $code->() };
	open(STDERR, '>', '/dev/null');
	my $v = eval { $code->() };
	open(STDERR, '>&', $saved);
	return $v;
}

# ------------------------------------------------------------ routes
push @EXPORT, qw(route_counts);

# An area's route table as its binary prints it (--routes): a list of
# {method, pattern, flags => {JSON => 1, ...}} in the table's order.  The
# flags are shared/router.h's names without ROUTE_.
sub route_table {
	my $area = shift;
	my $bin = ($ENV{BUILD_DIR} // 'build/asan') . "/bin/$area.fcgi";
	open(my $fh, '-|', $bin, '--routes') or die "$bin --routes: $!";
	my @routes;
	while (my $line = <$fh>) {
		chomp $line;
		my ($method, $pattern, $flags) = $line =~ m{^([A-Z]+) (/\S*) (-|[A-Z_]+(?:,[A-Z_]+)*)$}
			or die "$bin --routes: not METHOD PATH FLAGS: $line";
		push @routes, {method => $method, pattern => $pattern,
			flags => {map { $_ => 1 } grep { $_ ne '-' } split /,/, $flags}};
	}
	close($fh) or die "$bin --routes failed: " . ($! || "exit " . ($? >> 8));
	die "$bin --routes: no routes" unless @routes;
	return @routes;
}

# An area's request counters from its metrics (read from loopback, as the
# guard wants): {"METHOD PATTERN" => requests of any status}, route
# "unmatched" included.  Dies unless the metrics answer 200.
sub route_counts {
	my $area = shift;
	my $res = api(GET => "/api/v1/$area/metrics");
	die "metrics of $area: $res->{status}" unless $res->{status} == 200;
	my %n;
	for my $line (split /\n/, $res->{content}) {
		my ($labels, $value) = $line =~ /^aiget_http_requests_total\{(.*)\} (\S+)$/ or next;    # patterns hold braces
		my %l = $labels =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
		$n{"$l{method} $l{route}"} += $value;
	}
	return \%n;
}

# Adds an area's counters to $VAR/routes-requested ("AREA METHOD PATTERN
# COUNT" lines) before it stops; nothing for other services.
sub keep_route_counts {
	my $area = shift;
	return unless grep { $_ eq $area } areas();
	my $n = eval { route_counts($area) };
	return print STDERR "# $area: its request counts could not be kept: $@" unless $n;
	open(my $fh, '>>', var_dir() . '/routes-requested') or die "routes-requested: $!";
	print $fh "$area $_ $n->{$_}\n" for sort keys %$n;
	close $fh;
}

# ------------------------------------------------------------ the contract
push @EXPORT, qw(openapi_tools openapi_document);

# The directory of the OpenAPI tools (t/openapi), installed under the build
# with `npm ci` once per lock file: the validator lives under build/, not in
# git.  BAIL_OUT when npm cannot install them.
sub openapi_tools {
	require File::Copy;
	require File::Compare;
	require File::Path;
	my $src = $ENV{AIGET_SRC} // '.';
	my $tools = ($ENV{BUILD_DIR} // 'build/asan') . '/openapi-check';
	File::Path::make_path($tools);
	if (!-d "$tools/node_modules"
		|| File::Compare::compare("$src/t/openapi/package-lock.json", "$tools/package-lock.json") != 0) {
		File::Copy::copy("$src/t/openapi/$_", "$tools/$_") or die "copy $_: $!" for qw(package.json package-lock.json);
		system("cd '$tools' && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1") == 0
			or BAIL_OUT("npm ci of the OpenAPI tools failed: see $tools/npm.log");
	}
	File::Copy::copy("$src/t/openapi/$_", "$tools/$_") or die "copy $_: $!" for qw(check.js dump.js);
	return $tools;
}

# docs/openapi.yaml as a Perl structure, every $ref resolved.
sub openapi_document {
	my $tools = openapi_tools();
	my $src = $ENV{AIGET_SRC} // '.';
	my $json = `node '$tools/dump.js' '$src/docs/openapi.yaml'`;
	die "dump.js failed\n" if $? != 0;
	return JSON::PP::decode_json($json);
}

# ------------------------------------------------------------ FastCGI straight to an area's socket
# For tests that must control the bytes nginx would send: one record of
# request 1, name-value pairs (short names and values only), and the answer
# read up to END_REQUEST (its stdout text).
push @EXPORT, qw(fcgi_record fcgi_pairs fcgi_answer fcgi_call fcgi_spawn);
sub fcgi_record {
	my ($type, $content) = @_;
	return pack('CCnnCC', 1, $type, 1, length($content), 0, 0) . $content;
}
sub fcgi_pairs {
	my %p = @_;
	return join '', map { pack('CC', length($_), length($p{$_})) . $_ . $p{$_} } sort keys %p;
}
sub fcgi_answer {
	my ($sock) = @_;
	my $out = '';
	while (sysread($sock, my $hdr, 8) == 8) {
		my ($v, $type, $id, $len, $pad) = unpack('CCnnC', $hdr);
		my $content = '';
		sysread($sock, $content, $len + $pad) if $len + $pad;
		$out .= substr($content, 0, $len) if $type == 6;
		last if $type == 3;
	}
	return $out;
}

# One request over a new connection to a socket: params, then the body in
# records of at most 60,000 bytes; returns the answer's stdout text.
sub fcgi_call {
	my ($sock, $params, $body) = @_;
	$body //= '';
	my $s = IO::Socket::UNIX->new(Peer => $sock) or return '';
	my %p = (%$params, CONTENT_LENGTH => length $body);
	print $s fcgi_record(1, pack('nCx5', 1, 0)), fcgi_record(4, fcgi_pairs(%p)), fcgi_record(4, '');
	for (my $off = 0; $off < length $body; $off += 60_000) {
		print $s fcgi_record(5, substr($body, $off, 60_000));
	}
	print $s fcgi_record(5, '');
	$s->flush;
	my $answer = fcgi_answer($s);
	close $s;
	return $answer;
}
# A responder of the test's own on a socket of its own, spawned by
# spawn-fcgi -n (so the pid returned is the child's), with the stack's env
# file and %env over it (the environment wins over the file); its log goes
# to $VAR/log/<name>.log.  Waits until it listens; returns the pid.  It is
# stopped and its socket removed when the test ends (t/9900 checks that
# nothing is left behind).
my @spawned;
END {
	for my $s (@spawned) {
		kill 'TERM', $s->[0];
		waitpid($s->[0], 0);
		unlink $s->[1];
	}
}
sub fcgi_spawn {
	my ($binary, $sock, $name, %env) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>>', var_dir() . "/log/$name.log");
		@ENV{keys %env} = values %env;
		{ exec('spawn-fcgi', '-n', '-s', $sock, '--', $binary, '--env-file', var_dir() . '/aiget.env') }
		POSIX::_exit(127);
	}
	push @spawned, [$pid, $sock];
	wait_until(10, sub { -S $sock });
	return $pid;
}

1;

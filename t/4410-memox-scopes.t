#!/usr/bin/perl
# What a tenant holds: GET /namespaces (users and memories per namespace) and
# GET /users?namespace= (memories and last write per end user), counted by
# the triggers of sql/main/0009_memox_scopes.sql.  The counts follow writes,
# batches, duplicates, deletes, an erasure and PATCH (which moves the last
# write), and always equal a count(*) over memories; keyset pages of 250
# names at small limits hold each name once, in byte order; bad input is
# refused and changes nothing; another tenant sees none of it; and a page
# of a namespace of 100,000 end users is an index range of the primary key.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time sleep);
use MIME::Base64 ();
use Aiget;

Aiget::require_stack();

my $t = memox_tenant(name => 'scopes');
my $key = $t->{key};
my $tid = $t->{tenant};

sub namespaces { answer_is(call($_[0] // $key, GET => '/api/v1/memox/namespaces' . ($_[1] // '')), 200, 'namespaces' . ($_[1] // '')) }
sub users { answer_is(call($_[1] // $key, GET => "/api/v1/memox/users?namespace=$_[0]" . ($_[2] // '')), 200, "users of $_[0]") }
# {namespace => [users, memories]} as the API says, and as count(*) says.
sub listed {
	my $n = namespaces($_[0], '?limit=100');
	return {map { $_->{namespace} => [$_->{users}, $_->{memories}] } @{$n->{namespaces}}};
}
sub counted {
	my $rows = psql("SELECT namespace, count(DISTINCT external_user_id), count(*) FROM memories WHERE tenant_id = '$_[0]'"
		. " GROUP BY 1 ORDER BY 1");
	return {map { my ($ns, $u, $m) = split /\|/; $ns => [$u, $m] } grep { length } split /\n/, $rows};
}
sub user_counts {
	my $u = users($_[0], undef, '&limit=100');
	return {map { $_->{externalUserId} => $_->{memories} } @{$u->{users}}};
}
sub write_ok {
	my ($body, $status, $name) = @_;
	my $path = $body->{memories} ? '/api/v1/memox/memories/batch' : '/api/v1/memox/memories';
	return answer_is(call($key, POST => $path, $body), $status, $name);
}

# ------------------------------------------------------------- empty
my $e = namespaces();
is_deeply($e->{namespaces}, [], 'a new tenant holds no namespace');
is($e->{nextCursor}, undef, 'and no next page');
is_deeply(users('notes')->{users}, [], 'nor end users');

# ------------------------------------------------------------- writes
my $one = write_ok({namespace => 'notes', externalUserId => 'ada', content => 'first note'}, 202, 'a write');
is_deeply(listed(), {notes => [1, 1]}, 'one write: one namespace, one user, one memory');
my $u = users('notes');
is(scalar @{$u->{users}}, 1, 'one end user');
is($u->{users}[0]{externalUserId}, 'ada', 'named');
is($u->{users}[0]{memories}, 1, 'with one memory');
like($u->{users}[0]{lastWriteAt}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'lastWriteAt is RFC 3339 UTC');
like(namespaces()->{namespaces}[0]{lastWriteAt}, qr/Z$/, 'a namespace has its lastWriteAt');

my @batch = ((map { {namespace => 'notes', externalUserId => 'ada', content => "ada note $_"} } 1 .. 5),
	(map { {namespace => 'notes', externalUserId => 'bob', content => "bob note $_"} } 1 .. 3),
	(map { {namespace => 'work', externalUserId => 'ada', content => "ada work $_"} } 1 .. 2),
	{namespace => 'notes', externalUserId => 'bob', content => 'bob note 1'},    # a duplicate inside the batch
	{namespace => 'notes', externalUserId => 'ada', content => 'first note'});   # and of an earlier write
my $bw = write_ok({memories => \@batch}, 202, 'a batch over three scopes');
is_deeply(listed(), {notes => [2, 9], work => [1, 2]}, 'batch: counted per scope, duplicates once');
is_deeply(user_counts('notes'), {ada => 6, bob => 3}, 'batch: per end user');
is_deeply(user_counts('work'), {ada => 2}, 'batch: the other namespace');
write_ok({namespace => 'notes', externalUserId => 'bob', content => 'bob note 2'}, 200, 'a duplicate write');
is_deeply(listed(), {notes => [2, 9], work => [1, 2]}, 'a duplicate changes no count');
is_deeply(listed(), counted($tid), 'the counts are count(*) over memories');

# ------------------------------------------------------------- PATCH moves the last write
my %last = map { $_->{externalUserId} => $_->{lastWriteAt} } @{users('notes')->{users}};
my $ns_last = {map { $_->{namespace} => $_->{lastWriteAt} } @{namespaces()->{namespaces}}};
sleep 0.05;
my $bob1 = $bw->{memories}[5]{id};
answer_is(call($key, PATCH => "/api/v1/memox/memories/$bob1", {content => 'bob note one, changed'}), 202, 'PATCH');
my %after = map { $_->{externalUserId} => $_->{lastWriteAt} } @{users('notes')->{users}};
ok($after{bob} gt $last{bob}, "PATCH: the end user's last write moved ($last{bob} -> $after{bob})");
is($after{ada}, $last{ada}, 'PATCH: another end user\'s did not');
my $ns_after = {map { $_->{namespace} => $_->{lastWriteAt} } @{namespaces()->{namespaces}}};
ok($ns_after->{notes} gt $ns_last->{notes}, 'PATCH: the namespace\'s last write moved');
is($ns_after->{work}, $ns_last->{work}, 'PATCH: another namespace\'s did not');
is_deeply(listed(), {notes => [2, 9], work => [1, 2]}, 'PATCH: no count changed');
my $wm = memox_wait($key, 30, $bob1);
is(users('notes')->{users}[1]{lastWriteAt}, $after{bob}, 'embedding it is no write');

# ------------------------------------------------------------- deletes
is(call($key, DELETE => "/api/v1/memox/memories/$bob1")->{status}, 204, 'a delete');
is_deeply(user_counts('notes'), {ada => 6, bob => 2}, 'delete: one memory fewer');
is(call($key, DELETE => "/api/v1/memox/memories/$_->{id}")->{status}, 204, 'delete work memory')
	for @{$bw->{memories}}[8, 9];
is_deeply(listed(), {notes => [2, 8]}, 'a namespace whose memories are all deleted is gone');
is_deeply(users('work')->{users}, [], 'and lists no end user');
is(psql("SELECT count(*) FROM memox_scopes WHERE tenant_id = '$tid' AND namespace = 'work'"), 0, 'no empty scope row is kept');

# ------------------------------------------------------------- erasure
my $er = answer_is(call($key, DELETE => '/api/v1/memox/memories?namespace=notes&externalUserId=ada'), 202, 'erase ada');
ok(wait_until(30, sub { JSON::PP::decode_json(call($key, GET => "/api/v1/memox/erasures/$er->{id}")->{content})->{status} eq 'done' }),
	'erasure done');
is_deeply(user_counts('notes'), {bob => 2}, 'erasure: the end user is gone from the list');
is_deeply(listed(), {notes => [1, 2]}, 'erasure: the namespace lost a user and its memories');
is_deeply(listed(), counted($tid), 'still count(*) over memories');

# ------------------------------------------------------------- concurrency
# Six clients at once write batches over the same three scopes (each batch
# in another order of scopes) and delete some of what they wrote: every
# write and delete answers (a deadlock would be a 503), and the counts are
# still count(*) over memories.
my $cc = memox_tenant(name => 'scopes concurrent');
my @kids;
my $t0 = time;
for my $kid (1 .. 6) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		my $bad = 0;
		for my $round (1 .. 8) {
			my @users = $kid % 2 ? qw(u1 u2 u3) : qw(u3 u2 u1);
			my $res = call($cc->{key}, POST => '/api/v1/memox/memories/batch', {memories => [map { my $u = $_;
				map { {namespace => ($_ % 2 ? 'shared' : 'other'), externalUserId => $u, content => "k$kid r$round $u $_"} } 1 .. 10 } @users]});
			$bad++, next unless $res->{status} == 202;
			my $ids = JSON::PP::decode_json($res->{content})->{memories};
			for my $i (0, 10, 20) {
				$bad++ unless call($cc->{key}, DELETE => "/api/v1/memox/memories/$ids->[$i]{id}")->{status} == 204;
			}
		}
		exit($bad > 250 ? 250 : $bad);
	}
	push @kids, $pid;
}
my @failed = grep { waitpid($_, 0) == $_ && $? != 0 } @kids;
is(scalar @failed, 0, 'six clients writing and deleting in the same scopes at once: every request answered')
	or diag "clients with failed requests: " . scalar @failed;
note(sprintf('six concurrent clients, 48 batches of 30 and 144 deletes: %.1f s', time - $t0));
is_deeply(listed($cc->{key}), counted($cc->{tenant}), 'and the counts are count(*) over memories');
is_deeply(listed($cc->{key}), {shared => [3, 6 * 8 * 15 - 6 * 8 * 3], other => [3, 6 * 8 * 15]},
	'shared: 720 written, 144 deleted; other: 720') ;

# ------------------------------------------------------------- paging
# 250 namespaces and 250 end users of one namespace, in another tenant.
my $p = memox_tenant(name => 'scopes paging');
my @names = map { sprintf('p-%03d', $_) } reverse 1 .. 250;
push @names, 'A.upper', 'z/slash', 'm:colon@at', '_under';
for (my $i = 0; $i < @names; $i += 100) {
	my @chunk = @names[$i .. ($i + 99 > $#names ? $#names : $i + 99)];
	is(call($p->{key}, POST => '/api/v1/memox/memories/batch', {memories => [map { {namespace => $_, externalUserId => 'u',
		content => "in $_"} } @chunk]})->{status}, 202, "namespaces batch from $i");
	is(call($p->{key}, POST => '/api/v1/memox/memories/batch', {memories => [map { {namespace => 'crowd', externalUserId => $_,
		content => "of $_"} } @chunk]})->{status}, 202, "users batch from $i");
}
sub walk {
	my ($path, $field, $name_of, $limit) = @_;
	my (@got, $cursor);
	my $pages = 0;
	do {
		my $sep = $path =~ /\?/ ? '&' : '?';
		my $res = call($p->{key}, GET => "$path${sep}limit=$limit" . (defined $cursor ? "&cursor=$cursor" : ''));
		my $page = answer_is($res, 200, "$path page " . ($pages + 1));
		ok(@{$page->{$field}} <= $limit, "$path page " . ($pages + 1) . ": at most $limit");
		push @got, map { $name_of->($_) } @{$page->{$field}};
		$cursor = $page->{nextCursor};
		$pages++;
	} while (defined $cursor && $pages < 200);
	return (\@got, $pages);
}
my ($ns_got, $ns_pages) = walk('/api/v1/memox/namespaces', 'namespaces', sub { $_[0]{namespace} }, 7);
is_deeply($ns_got, [sort @names, 'crowd'], '255 namespaces in pages of 7: each once, in byte order, none missing');
is($ns_pages, 37, 'in 37 pages (the last of 3)') or diag "pages: $ns_pages";
my ($u_got, $u_pages) = walk('/api/v1/memox/users?namespace=crowd', 'users', sub { $_[0]{externalUserId} }, 13);
is_deeply($u_got, [sort @names], '254 end users in pages of 13: each once, in byte order');
is($u_pages, 20, 'in 20 pages');
my $crowd = answer_is(call($p->{key}, GET => '/api/v1/memox/namespaces?limit=100'), 200, 'a full page');
is(scalar @{$crowd->{namespaces}}, 100, 'limit=100: 100 namespaces');
my ($c) = grep { $_->{namespace} eq 'crowd' } @{walk_all()};
sub walk_all { my ($all) = walk('/api/v1/memox/namespaces', 'namespaces', sub { $_[0] }, 100); return $all }
is_deeply([$c->{users}, $c->{memories}], [254, 254], 'crowd: 254 users, 254 memories');
my $first = answer_is(call($p->{key}, GET => '/api/v1/memox/namespaces?limit=2'), 200, 'first page of 2');
my $mid = $first->{nextCursor};
# A name written after the cursor was made, before it in order, is not
# seen; one after it is: the page starts after the cursor's name.
is(call($p->{key}, POST => '/api/v1/memox/memories', {namespace => '0-early', externalUserId => 'u', content => 'early'})->{status},
	202, 'a namespace before the cursor');
my $next = answer_is(call($p->{key}, GET => "/api/v1/memox/namespaces?limit=2&cursor=$mid"), 200, 'the next page');
is($next->{namespaces}[0]{namespace}, (sort @names, 'crowd')[2], 'starts right after the cursor, whatever came before');
is(call($p->{key}, GET => '/api/v1/memox/namespaces?cursor=')->{status}, 200, 'an empty cursor is the first page');

# ------------------------------------------------------------- bad input
my $before = psql("SELECT count(*) || '/' || coalesce(sum(memories), 0) FROM memox_scopes WHERE tenant_id = '$p->{tenant}'");
my $b64 = sub { my $s = MIME::Base64::encode_base64url($_[0]); $s };
my @bad = (
	['/namespaces?colour=red',                      'an unknown parameter'],
	["/namespaces?tenantId=$t->{tenant}",           'tenantId'],
	['/namespaces?limit=0',                         'limit 0'],
	['/namespaces?limit=101',                       'limit over 100'],
	['/namespaces?limit=abc',                       'limit not a number'],
	['/namespaces?limit=-1',                        'a negative limit'],
	['/namespaces?limit=+5',                        'a signed limit'],
	['/namespaces?limit=5&limit=6',                 'limit twice'],
	['/namespaces?cursor=***',                      'a cursor that is not base64url'],
	['/namespaces?cursor=' . $b64->('has space'),   'a cursor of a name outside the alphabet'],
	['/namespaces?cursor=' . $b64->('x' x 129),     'a cursor of a name too long'],
	['/namespaces?cursor=' . ('A' x 400),           'a cursor too long'],
	['/namespaces?cursor=1700000000000000.00000000-0000-4000-8000-000000000000', 'a cursor of another list'],
	['/namespaces?cursor=%ff',                      'a cursor not UTF-8'],
	['/users',                                      'users without namespace'],
	['/users?namespace=',                           'users with an empty namespace'],
	['/users?namespace=bad%20ns',                   'users of a malformed namespace'],
	['/users?namespace=' . ('x' x 129),             'users of a namespace too long'],
	['/users?namespace=crowd&externalUserId=u',     'users with externalUserId'],
	["/users?namespace=crowd&tenantId=$t->{tenant}", 'users with tenantId'],
	['/users?namespace=crowd&limit=1000',           'users limit over 100'],
	['/users?namespace=crowd&cursor=!!',            'users with a bad cursor'],
	['/users?namespace=crowd&namespace=notes',      'namespace twice'],
);
for (@bad) {
	my ($path, $name) = @$_;
	my $body = error_is(call($p->{key}, GET => "/api/v1/memox$path"), 400, 'invalid_request', $name);
	like($body->{error}{message}, qr/tenantId is not accepted/, "$name: says the key names the tenant") if $name =~ /tenantId/;
}
error_is(call($p->{key}, POST => '/api/v1/memox/namespaces', {}), 405, 'method_not_allowed', 'POST /namespaces');
error_is(call(undef, GET => '/api/v1/memox/namespaces'), 401, 'unauthorized', 'namespaces without a key');
error_is(call(undef, GET => '/api/v1/memox/users?namespace=crowd'), 401, 'unauthorized', 'users without a key');
my $writer = keys_make($p->{token}, $p->{tenant}, scopes => ['memox:write'])->{key};
error_is(call($writer, GET => '/api/v1/memox/namespaces'), 403, 'forbidden', 'namespaces need memox:read');
error_is(call($writer, GET => '/api/v1/memox/users?namespace=crowd'), 403, 'forbidden', 'users need memox:read');
is(psql("SELECT count(*) || '/' || coalesce(sum(memories), 0) FROM memox_scopes WHERE tenant_id = '$p->{tenant}'"), $before,
	'bad input changed nothing');

# ------------------------------------------------------------- another tenant
my $o = memox_tenant(name => 'scopes outsider');
is_deeply(namespaces($o->{key})->{namespaces}, [], 'another tenant sees no namespace');
is_deeply(users('crowd', $o->{key})->{users}, [], 'nor the end users of a namespace of the same name');
my $cur = answer_is(call($p->{key}, GET => '/api/v1/memox/namespaces?limit=1'), 200, 'a cursor of the first tenant')->{nextCursor};
is_deeply(answer_is(call($o->{key}, GET => "/api/v1/memox/namespaces?cursor=$cur"), 200, 'used by another tenant')->{namespaces}, [],
	'a cursor of another tenant shows nothing of it');

# ------------------------------------------------------------- cost
# A namespace of 100,000 end users and 3,000 namespaces (rows put straight
# into the counted tables: what the triggers would hold for a tenant of
# millions of memories).  A page is a range of the primary key, deep pages
# as cheap as the first; the times go to the notes, not into asserts.
my $big = memox_tenant(name => 'scopes big');
psql("INSERT INTO memox_scopes (tenant_id, namespace, external_user_id, memories, last_write_at)"
	. " SELECT '$big->{tenant}', 'big', 'user-' || lpad(i::text, 6, '0'), 20, now() FROM generate_series(1, 100000) i");
psql("INSERT INTO memox_namespaces (tenant_id, namespace, users, memories, last_write_at)"
	. " SELECT '$big->{tenant}', 'ns-' || lpad(i::text, 4, '0'), 1000, 20000, now() FROM generate_series(1, 3000) i");
psql("ANALYZE memox_scopes; ANALYZE memox_namespaces");
my $plan = psql("EXPLAIN SELECT external_user_id, memories, last_write_at FROM memox_scopes WHERE tenant_id = '$big->{tenant}'"
	. " AND namespace = 'big' AND external_user_id > 'user-090000' ORDER BY external_user_id LIMIT 101");
like($plan, qr/Index Scan using memox_scopes_pkey/, 'users: an index range of the primary key') or diag $plan;
unlike($plan, qr/Seq Scan|Sort/, 'users: no scan of the table, no sort') or diag $plan;
$plan = psql("EXPLAIN SELECT namespace, users, memories FROM memox_namespaces WHERE tenant_id = '$big->{tenant}'"
	. " AND namespace > 'ns-2000' ORDER BY namespace LIMIT 101");
like($plan, qr/Index Scan using memox_namespaces_pkey/, 'namespaces: an index range of the primary key') or diag $plan;
unlike($plan, qr/Seq Scan|Sort/, 'namespaces: no scan of the table, no sort') or diag $plan;
my $deep = MIME::Base64::encode_base64url('user-099000');
for my $q (['/users?namespace=big&limit=100', 'users, first page'], ["/users?namespace=big&limit=100&cursor=$deep", 'users, page 991'],
	['/namespaces?limit=100', 'namespaces, first page'],
	['/namespaces?limit=100&cursor=' . MIME::Base64::encode_base64url('ns-2800'), 'namespaces, page 29']) {
	my ($path, $name) = @$q;
	my @ms;
	my $page;
	for (1 .. 5) {
		my $t0 = time;
		my $res = call($big->{key}, GET => "/api/v1/memox$path");
		push @ms, (time - $t0) * 1000;
		$page = $res;
	}
	my $body = answer_is($page, 200, $name);
	my $field = $path =~ /users/ ? 'users' : 'namespaces';
	is(scalar @{$body->{$field}}, 100, "$name: 100 rows");
	ok(defined $body->{nextCursor}, "$name: and a next page");
	my @s = sort { $a <=> $b } @ms;
	note(sprintf('%s of 100 (100k end users, 3k namespaces): median %.1f ms over HTTP (best %.1f)', $name, $s[2], $s[0]));
}
my $sql_ms = psql("EXPLAIN (ANALYZE, FORMAT JSON) SELECT external_user_id, memories, last_write_at FROM memox_scopes"
	. " WHERE tenant_id = '$big->{tenant}' AND namespace = 'big' AND external_user_id > 'user-099000'"
	. " ORDER BY external_user_id LIMIT 101");
note("the users statement itself, page 991: $1 ms execution") if $sql_ms =~ /"Execution Time": ([\d.]+)/;

done_testing();

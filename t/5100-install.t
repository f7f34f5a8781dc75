#!/usr/bin/perl
# make install: DESTDIR produces the documented tree under PREFIX (the
# console's pages included, with no file left over from an older one); an
# install into a real PREFIX gives systemd units that pass `systemd-analyze
# verify`, and nginx snippets that pass `nginx -t` inside the example server
# block, beside the console sites.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Aiget;

my $src = $ENV{AIGET_SRC} // '.';
my ($build) = ($ENV{BUILD_DIR} // 'build/asan') =~ m{([^/]+)/?$};
my $tmp = tempdir(CLEANUP => 1);

sub run { my $out = `@_ 2>&1`; return ($? >> 8, $out) }
sub install_into {
	my (%o) = @_;
	return run("make -s -C '$src' install BUILD=$build DESTDIR='" . ($o{destdir} // '') . "' PREFIX='$o{prefix}'");
}

# --- DESTDIR: the tree, and nothing outside PREFIX
my ($rc, $out) = install_into(destdir => "$tmp/dest", prefix => '/opt/aiget');
is($rc, 0, 'make install DESTDIR=... PREFIX=/opt/aiget') or diag($out);
my $root = "$tmp/dest/opt/aiget";
my @expected = (
	(map { "bin/$_" } qw(auth.fcgi keys.fcgi tenants.fcgi memox.fcgi memox-worker aigetctl)),
	(map { "spawn/$_" } qw(spawn-area aiget-auth aiget-keys aiget-tenants aiget-memox)),
	(map { "nginx-snippets/aiget-$_.conf" } qw(http upstreams auth keys tenants memox metrics errors console)),
	'nginx-snippets/aiget-server.conf.example', 'nginx-snippets/aiget-console-sites.conf.example',
	'console/index.html', 'console/config.json',
	(map { "systemd/$_" } qw(aiget@.service aiget-worker.service aiget.target)),
	'share/aiget.env.example', 'share/doc/operations.md', 'share/doc/openapi.yaml',
);
ok(-e "$root/$_", "installed: $_") for @expected;
ok(-x "$root/$_", "executable: $_") for grep { m{^(bin|spawn)/} } @expected;
my @sql = map { s{^\Q$src\E/sql/}{}r } glob("$src/sql/main/*.sql"), glob("$src/sql/vector/*.sql");
ok(@sql >= 2, 'there are migrations to install');
ok(-e "$root/share/sql/$_", "migration installed: $_") for @sql;
# The example env file names every variable the configuration knows.
my @vars = slurp("$src/shared/config.c") =~ /\{ "([A-Z][A-Z0-9_]+)",\s+VAR_/g;
ok(@vars > 40, 'the configuration\'s variables: ' . scalar @vars);
my $example = slurp("$root/share/aiget.env.example");
my @absent = grep { $example !~ /^#?\Q$_\E=/m } @vars;
is_deeply(\@absent, [], 'aiget.env.example has a line for every variable');
# The console: every file of the tree, as it is, and nothing else.
my @console = sort map { s{^\Q$src\E/console/}{}r } split /\n/, `find '$src/console' -type f`;
ok(@console >= 3, 'there is a console to install: ' . scalar @console);
is_deeply([sort map { s{^\Q$root\E/console/}{}r } split /\n/, `find '$root/console' -type f`], \@console,
	'installed: the console tree, file for file');
is(slurp("$root/console/$_"), slurp("$src/console/$_"), "console/$_ as it is") for @console;
write_file("$root/console/js/dropped.js", "// a file a later version no longer has\n");
($rc, $out) = install_into(destdir => "$tmp/dest", prefix => '/opt/aiget');
is($rc, 0, 'make install again') or diag($out);
ok(!-e "$root/console/js/dropped.js", 'a file the source no longer has is gone from the console');
opendir(my $d, "$tmp/dest") or die $!;
is_deeply([sort grep { !/^\.\.?$/ } readdir $d], ['opt'], 'nothing outside PREFIX');

# --- a real PREFIX, so that the units' and snippets' paths exist
my $prefix = "$tmp/prefix/opt/aiget";
($rc, $out) = install_into(prefix => $prefix);
is($rc, 0, 'make install PREFIX=<tmp>') or diag($out);
like(slurp("$prefix/systemd/aiget\@.service"), qr{^ExecStart=\Q$prefix\E/spawn/spawn-area %i$}m,
	'the units name PREFIX');

# systemd-analyze verifies instances, not templates: one per area.
mkdir "$tmp/units" or die $!;
for my $area (qw(auth keys tenants memox)) {
	write_file("$tmp/units/aiget\@$area.service", slurp("$prefix/systemd/aiget\@.service"));
}
write_file("$tmp/units/$_", slurp("$prefix/systemd/$_")) for qw(aiget-worker.service aiget.target);
my @units = map { "$tmp/units/$_" } ((map { "aiget\@$_.service" } qw(auth keys tenants memox)),
	'aiget-worker.service', 'aiget.target');
($rc, $out) = run('systemd-analyze', 'verify', @units);
is($rc, 0, 'systemd-analyze verify passes on every unit') or diag($out);
# ... and does fail on a broken one.
mkdir "$tmp/bad" or die $!;
write_file("$tmp/bad/aiget\@memox.service",
	slurp("$prefix/systemd/aiget\@.service") =~ s{^ExecStart=.*$}{ExecStart=/nonexistent/spawn-area %i}mr);
($rc, $out) = run('systemd-analyze', 'verify', "$tmp/bad/aiget\@memox.service");
isnt($rc, 0, 'systemd-analyze verify refuses a unit whose ExecStart is missing');

# nginx -t: the example server block with the two http-level includes
# uncommented, its logs in the temporary directory.
my $ngx = "$tmp/nginx";
mkdir $ngx or die $!;
write_file("$ngx/fastcgi_params", slurp('/etc/nginx/fastcgi_params'));
my $server = slurp("$prefix/nginx-snippets/aiget-server.conf.example");
$server =~ s{^#include }{include }mg;
$server =~ s{/var/log/nginx/}{$ngx/}g;
write_file("$ngx/server.conf", $server);
write_file("$ngx/nginx.conf", "pid $ngx/nginx.pid;\nerror_log $ngx/error.log;\nevents {}\nhttp {\n    include $ngx/server.conf;\n}\n");
($rc, $out) = run('nginx', '-t', '-q', '-c', "$ngx/nginx.conf", '-p', $ngx);
is($rc, 0, 'nginx -t passes with the installed snippets in the example server') or diag($out);
write_file("$ngx/server.conf", $server =~ s{aiget-memox\.conf}{aiget-missing.conf}r);
($rc, $out) = run('nginx', '-t', '-q', '-c', "$ngx/nginx.conf", '-p', $ngx);
isnt($rc, 0, 'nginx -t fails when a snippet is missing');

# The console sites, installed: they name the installed tree, and pass nginx -t beside the API's server.
my $sites = slurp("$prefix/nginx-snippets/aiget-console-sites.conf.example");
my @roots = $sites =~ /^\s*root (\S+);/mg;
is_deeply(\@roots, ["$prefix/console", "$prefix/console"], 'both console sites serve PREFIX/console');
ok(-f "$_/index.html", "$_ holds the console") for @roots;
$sites =~ s{/var/log/nginx/}{$ngx/}g;
write_file("$ngx/sites.conf", $sites);
write_file("$ngx/server.conf", $server);
write_file("$ngx/nginx.conf", "pid $ngx/nginx.pid;\nerror_log $ngx/error.log;\nevents {}\nhttp {\n"
	. "    include /etc/nginx/mime.types;\n    include $ngx/server.conf;\n    include $ngx/sites.conf;\n}\n");
($rc, $out) = run('nginx', '-t', '-q', '-c', "$ngx/nginx.conf", '-p', $ngx);
is($rc, 0, 'nginx -t passes with the installed console sites beside the API\'s server') or diag($out);

sub slurp { open(my $f, '<', $_[0]) or die "$_[0]: $!"; local $/; return <$f> }
sub write_file { open(my $f, '>', $_[0]) or die "$_[0]: $!"; print $f $_[1]; close $f or die $! }

done_testing();

#!/usr/bin/perl
# The console's static pages: served by the stack's nginx at /console/
# (aiget-console.conf) with the types ES modules need and the security
# headers on every answer, errors included, and nothing outside the tree;
# and the production sites (aiget-console-sites.conf.example) pass
# `nginx -t` and, run by an nginx of the test's own on free ports, each
# answer their own config.json with the same headers.
use strict;
use warnings;
use lib 't/lib';
use File::Find;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Test::More;
use Aiget;

Aiget::require_stack();
my $src = $ENV{AIGET_SRC} // '.';
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 10);

my $csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	. "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

# The headers every console answer carries, whatever its status.
sub console_headers {
	my ($res, $name, $policy) = @_;
	is($res->{headers}{'content-security-policy'}, $policy // $csp, "$name: Content-Security-Policy");
	is($res->{headers}{'x-content-type-options'}, 'nosniff', "$name: X-Content-Type-Options: nosniff");
	is($res->{headers}{'referrer-policy'}, 'no-referrer', "$name: Referrer-Policy: no-referrer");
	is($res->{headers}{'cache-control'}, 'no-cache', "$name: Cache-Control: no-cache");
}
sub get { $http->get(base_url() . $_[0]) }

# ------------------------------------------------------------- the stack
my $res = get('/console');
is($res->{status}, 301, '/console redirects');
is($res->{headers}{location}, '/console/', 'to /console/');
is($res->{headers}{'cache-control'}, 'no-store', 'a redirect no browser keeps');

$res = get('/console/');
is($res->{status}, 200, '/console/ answers') or diag($res->{content});
like($res->{headers}{'content-type'} // '', qr{^text/html; charset=utf-8$}i, '/console/: HTML in UTF-8');
like($res->{content}, qr{<title>Aiget Dev console</title>}, '/console/ is the console\'s index.html');
console_headers($res, '/console/');

$res = get('/console/js/main.js');
is($res->{status}, 200, '/console/js/main.js answers');
like($res->{headers}{'content-type'} // '', qr{^(?:text|application)/javascript\b}, 'main.js: a JavaScript type, as modules need');
console_headers($res, 'main.js');

$res = get('/console/config.json');
is($res->{status}, 200, '/console/config.json answers');
like($res->{headers}{'content-type'} // '', qr{^application/json\b}, 'config.json: JSON');
my $config = eval { decode_json($res->{content}) } // {};
is($config->{api}, '', 'config.json: the API is this origin');
is($config->{view}, 'console', 'config.json: the console view');
console_headers($res, 'config.json');

# Every file of the tree, with a type of its own kind.
my %type = (html => qr{^text/html}, css => qr{^text/css}, js => qr{^(?:text|application)/javascript},
	mjs => qr{^(?:text|application)/javascript}, json => qr{^application/json}, svg => qr{^image/svg\+xml},
	png => qr{^image/png}, ico => qr{^image/(?:x-icon|vnd\.microsoft\.icon)}, woff2 => qr{^font/woff2});
my @files;
find({no_chdir => 1, wanted => sub { push @files, $File::Find::name =~ s{^\Q$src\E/console/}{}r if -f }},
	"$src/console");
ok(@files >= 4, 'the console tree has files: ' . scalar @files);
for my $f (sort @files) {
	my ($ext) = $f =~ /\.([^.\/]+)$/;
	$res = get("/console/$f");
	is($res->{status}, 200, "$f: served");
	like($res->{headers}{'content-type'} // '', $type{lc($ext // '')} // qr{^(?!application/octet-stream)},
		"$f: its type ($res->{headers}{'content-type'})");
	is($res->{headers}{'content-security-policy'}, $csp, "$f: with the policy");
}

# Errors carry the headers too, and nothing outside the tree is served.
$res = get('/console/no-such-file.js');
is($res->{status}, 404, 'a missing file: 404');
console_headers($res, 'the 404');
$res = get('/console../aiget.env');
is($res->{status}, 404, '/console../ (the alias off-by-slash) reaches nothing');
unlike($res->{content}, qr/AUTH_SECRET|DATABASE_URL/, 'and shows no env file');
$res = get('/console/../GNUmakefile');
isnt($res->{status}, 200, '/console/../ reaches nothing');
# The API keeps its own headers: the console's are only the console's.
$res = get('/api/v1/auth/health');
is($res->{status}, 200, 'the API answers beside it');
ok(!exists $res->{headers}{'content-security-policy'}, 'without the console\'s policy');
is($res->{headers}{'cache-control'}, 'no-store', 'with its own Cache-Control');

# ------------------------------------------------------------- production
my $tmp = tempdir(CLEANUP => 1);
sub slurp { open(my $f, '<', $_[0]) or die "$_[0]: $!"; local $/; return <$f> }
sub write_file { open(my $f, '>', $_[0]) or die "$_[0]: $!"; print $f $_[1]; close $f or die $! }
sub run { my $out = `@_ 2>&1`; return ($? >> 8, $out) }

my $example = slurp("$src/nginx-snippets/aiget-console-sites.conf.example");
my $api = 'https://server.aiget.dev';
my @policies = $example =~ /add_header Content-Security-Policy "([^"]*)" always;/g;
is(scalar @policies, 2, 'the example has a policy per site');
(my $prod_csp = $csp) =~ s/connect-src 'self'/connect-src 'self' $api/;
is($_, $prod_csp, "a site's policy is the dev one with the API's origin") for @policies;

# The example as an operator installs it, its paths in the temporary
# directory: the tree, the logs, and two free ports for 3102 and 3101.
my @ports = map { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0) } 1 .. 2;
my ($console_port, $admin_port) = map { $_->sockport } @ports;
close $_ for @ports;
my $sites = $example;
$sites =~ s{/opt/aiget/console}{$src/console}g;
$sites =~ s{/var/log/nginx/}{$tmp/}g;
$sites =~ s{^(\s*)listen 3102;}{${1}listen 127.0.0.1:$console_port;}m;
$sites =~ s{^(\s*)listen 3101;}{${1}listen 127.0.0.1:$admin_port;}m;
write_file("$tmp/sites.conf", $sites);
mkdir "$tmp/tmp" or die $!;
sub nginx_conf {
	my $server = shift;
	return "pid $tmp/nginx.pid;\nerror_log $tmp/error.log;\nevents {}\nhttp {\n"
		. "    include /etc/nginx/mime.types;\n    client_body_temp_path $tmp/tmp/body;\n"
		. "    proxy_temp_path $tmp/tmp/proxy;\n    fastcgi_temp_path $tmp/tmp/fastcgi;\n"
		. "    scgi_temp_path $tmp/tmp/scgi;\n    uwsgi_temp_path $tmp/tmp/uwsgi;\n"
		. "    include $server;\n}\n";
}
write_file("$tmp/nginx.conf", nginx_conf("$tmp/sites.conf"));
my ($rc, $out) = run('nginx', '-t', '-q', '-c', "$tmp/nginx.conf", '-p', $tmp);
is($rc, 0, 'nginx -t passes on the console sites') or diag($out);
write_file("$tmp/broken.conf", $sites =~ s{root }{rooot }r);
write_file("$tmp/nginx-broken.conf", nginx_conf("$tmp/broken.conf"));
($rc, $out) = run('nginx', '-t', '-q', '-c', "$tmp/nginx-broken.conf", '-p', $tmp);
isnt($rc, 0, 'nginx -t fails on a broken copy');

# Running them: each site answers its own view, with the headers.
my $nginx = fork // die "fork: $!";
if ($nginx == 0) {
	open(STDERR, '>>', "$tmp/error.log");
	{ exec('nginx', '-c', "$tmp/nginx.conf", '-p', $tmp, '-g', 'daemon off;') }
	POSIX::_exit(127);
}
END { if ($nginx) { kill 'TERM', $nginx; waitpid($nginx, 0) } }
my %site = (console => $console_port, admin => $admin_port);
ok(wait_until(10, sub { !grep { $http->get("http://127.0.0.1:$_/")->{status} != 200 } values %site }),
	'the sites\' nginx answers on both ports')
	or diag(slurp("$tmp/error.log"));
for my $view (sort keys %site) {
	my $base = "http://127.0.0.1:$site{$view}";
	$res = $http->get("$base/config.json", {headers => {'X-Forwarded-For' => '192.0.2.7'}});
	is($res->{status}, 200, "$view site: config.json");
	like($res->{headers}{'content-type'} // '', qr{^application/json\b}, "$view site: config.json is JSON");
	is_deeply(eval { decode_json($res->{content}) }, {api => $api, view => $view},
		"$view site: the API's origin and the $view view");
	console_headers($res, "$view site config.json", $prod_csp);
	$res = $http->get("$base/");
	is($res->{status}, 200, "$view site: /");
	like($res->{content}, qr{<title>Aiget Dev console</title>}, "$view site: / is index.html");
	console_headers($res, "$view site /", $prod_csp);
	$res = $http->get("$base/js/main.js");
	like($res->{headers}{'content-type'} // '', qr{^(?:text|application)/javascript\b}, "$view site: main.js is JavaScript");
	console_headers($res, "$view site main.js", $prod_csp);
	$res = $http->get("$base/no-such-file");
	is($res->{status}, 404, "$view site: a missing file is 404");
	console_headers($res, "$view site 404", $prod_csp);
}
ok(wait_until(5, sub { slurp("$tmp/aiget-console-access.log") =~ /^192\.0\.2\.7 /m }),
	'the log names the client the edge forwarded');

done_testing();

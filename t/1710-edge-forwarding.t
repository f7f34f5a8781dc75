#!/usr/bin/perl
# The production server blocks (nginx-snippets/aiget-server.conf.example),
# run by a real nginx in front of the test stack's responders, as the edge
# would reach them:
#  - the public server (3100) answers what the edge forwards with
#    X-Forwarded-For, and refuses a request without it with a JSON 400:
#    otherwise every client would be the edge's address, one bucket of every
#    per-address limit, and "loopback only" would mean everyone;
#  - it never serves the metrics, whatever address X-Forwarded-For claims
#    (127.0.0.1 and ::1 included);
#  - the local server (127.0.0.1:3109) serves the API and the metrics to the
#    box's own clients, judged by the connection.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use Test::More;
use Aiget;

Aiget::require_stack();

my $src = $ENV{AIGET_SRC};
my $ngx = tempdir(CLEANUP => 1);
chmod 0755, $ngx;
sub slurp { open(my $f, '<', $_[0]) or die "$_[0]: $!"; local $/; return <$f> }
sub write_file { open(my $f, '>', $_[0]) or die "$_[0]: $!"; print $f $_[1]; close $f or die $! }
sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport }
my ($public, $local) = (free_port(), free_port());

my $server = slurp("$src/nginx-snippets/aiget-server.conf.example");
like($server, qr/^\s*listen 3100;/m, 'the example listens on 3100 for the edge');
like($server, qr/^\s*listen 127\.0\.0\.1:3109;/m, 'and on 127.0.0.1:3109 for the box');
$server =~ s{^#include /opt/aiget/nginx-snippets/aiget-http\.conf;}{include $src/nginx-snippets/aiget-http.conf;}m;
$server =~ s{^#include /opt/aiget/nginx-snippets/aiget-upstreams\.conf;}{include $ngx/upstreams.conf;}m;
$server =~ s{/opt/aiget/nginx-snippets/}{$src/nginx-snippets/}g;
$server =~ s{/var/log/nginx/}{$ngx/}g;
$server =~ s{^(\s*)listen 3100;}{${1}listen 127.0.0.1:$public;}m;
$server =~ s{^(\s*)listen 127\.0\.0\.1:3109;}{${1}listen 127.0.0.1:$local;}m;
write_file("$ngx/server.conf", $server);
write_file("$ngx/upstreams.conf", join '', map { "upstream aiget_$_ { server unix:" . var_dir() . "/run/$_.sock; }\n" }
	qw(auth keys tenants memox));
write_file("$ngx/fastcgi_params", slurp('/etc/nginx/fastcgi_params'));
my $user = $> == 0 ? "user www-data www-data;\n" : '';
write_file("$ngx/nginx.conf", "${user}pid $ngx/nginx.pid;\nerror_log $ngx/error.log;\nevents {}\nhttp {\n"
	. "    client_body_temp_path $ngx/body;\n    fastcgi_temp_path $ngx/fastcgi;\n    proxy_temp_path $ngx/proxy;\n"
	. "    scgi_temp_path $ngx/scgi;\n    uwsgi_temp_path $ngx/uwsgi;\n    include $ngx/server.conf;\n}\n");
is(system('nginx', '-q', '-c', "$ngx/nginx.conf", '-p', $ngx), 0, 'nginx runs the example server blocks')
	or diag(slurp("$ngx/error.log"));
END { system("nginx -q -c '$ngx/nginx.conf' -p '$ngx' -s stop 2>/dev/null") if $ngx && -s "$ngx/nginx.pid" }
ok(wait_until(5, sub { IO::Socket::INET->new("127.0.0.1:$public") && IO::Socket::INET->new("127.0.0.1:$local") }),
	'both servers listen');

my $http = HTTP::Tiny->new(timeout => 10);
sub get { my ($port, $path, %h) = @_; $http->get("http://127.0.0.1:$port$path", {headers => \%h}) }

# --- the public server, as the edge reaches it
my $res = get($public, '/api/v1/auth/health', 'X-Forwarded-For' => '198.51.100.7');
is($res->{status}, 200, 'forwarded by the edge: health answers');
my $err = error_is(get($public, '/api/v1/auth/health'), 400, 'invalid_request', 'not forwarded: refused');
like($err->{error}{message}, qr/X-Forwarded-For/, 'the message says what is missing');
is(get($public, '/api/v1/auth/health')->{headers}{'cache-control'}, 'no-store', 'not forwarded: no-store');
error_is(get($public, '/api/v1/auth/login'), 400, 'invalid_request', 'not forwarded: any route refused');
for my $claim ('198.51.100.7', '127.0.0.1', '::1', '10.0.0.1, 127.0.0.1') {
	for my $area (areas()) {
		error_is(get($public, "/api/v1/$area/metrics", 'X-Forwarded-For' => $claim), 404, 'not_found',
			"public server, $area metrics, forwarded for $claim");
	}
}
error_is(get($public, '/api/v1/memox/metrics/', 'X-Forwarded-For' => '127.0.0.1'), 404, 'not_found',
	'with a trailing slash too');
is(get($public, '/api/v1/keys/metrics', 'X-Forwarded-For' => '198.51.100.7')->{headers}{'cache-control'},
	'no-store', 'public server, metrics: no-store');
is(get($public, '/nowhere', 'X-Forwarded-For' => '198.51.100.7')->{headers}{'cache-control'}, 'no-store',
	'public server, a path outside the API: no-store');
is(get($local, '/nowhere')->{headers}{'cache-control'}, 'no-store', 'local server, a path outside the API: no-store');
error_is(get($public, '/api/v1/memox/metrics'), 400, 'invalid_request', 'metrics not forwarded: refused first');

# --- the local server, for the box's own clients
$res = get($local, '/api/v1/auth/metrics');
is($res->{status}, 200, 'local server: metrics for a loopback scraper');
like($res->{content}, qr/^# TYPE aiget_/m, 'in the Prometheus format');
is(get($local, '/api/v1/memox/health')->{status}, 200, 'local server: health');
# X-Forwarded-For means nothing there: no real-ip, the connection is judged.
is(get($local, '/api/v1/keys/metrics', 'X-Forwarded-For' => '198.51.100.7')->{status}, 200,
	'local server: a claimed address changes nothing');

done_testing();

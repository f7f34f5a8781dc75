#!/usr/bin/perl
# Invalid configuration stops a binary with exit status 78 and a message
# naming the variable; secrets are not echoed.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $bin = "$ENV{BUILD_DIR}/bin";
my $env = var_dir() . '/aiget.env';
sub run_env { my ($vars, $cmd) = @_; my $out = `env -u AIGET_ENV_FILE $vars $cmd 2>&1 </dev/null`; ($? >> 8, $out) }

my ($rc, $out) = run_env('', "$bin/auth.fcgi");
is($rc, 78, 'no configuration: exit 78');
like($out, qr/DATABASE_URL is required/, 'naming DATABASE_URL');

($rc, $out) = run_env("LOG_LEVEL=chatty AIGET_ENV_FILE=$env", "$bin/memox.fcgi");
is($rc, 78, 'bad LOG_LEVEL: exit 78');
like($out, qr/LOG_LEVEL/, 'naming LOG_LEVEL');

($rc, $out) = run_env("MAX_BODY_BYTES=lots AIGET_ENV_FILE=$env", "$bin/keys.fcgi");
like($out, qr/MAX_BODY_BYTES/, 'bad MAX_BODY_BYTES named');

($rc, $out) = run_env("REDIS_URL=redis://:topsecret\@nowhere:99999", "$bin/aigetctl --env-file $env migrate");
is($rc, 78, 'bad REDIS_URL: exit 78');
like($out, qr/REDIS_URL/, 'naming REDIS_URL');
unlike($out, qr/topsecret/, 'without echoing the password');

($rc, $out) = run_env("AIGET_ENV_FILE=/nonexistent", "$bin/tenants.fcgi");
is($rc, 78, 'missing env file: exit 78');
like($out, qr/nonexistent/, 'naming the file');

($rc, $out) = run_env("AIGET_ENV_FILE=$env", "$bin/auth.fcgi </dev/null");
isnt($rc, 0, 'a responder not started by spawn-fcgi refuses to run');
like($out, qr/spawn-fcgi/, 'and says how to start it');

done_testing();

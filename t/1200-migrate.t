#!/usr/bin/perl
# aigetctl migrate: applied files are recorded, a second run is a no-op, a new
# file is applied, a failing file changes nothing, a changed file is refused,
# two concurrent runs apply a file once, and a directory without any is
# nothing to do.
use strict;
use warnings;
use lib 't/lib';
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use Test::More;
use Aiget;

Aiget::require_stack();

my $ctl = "$ENV{BUILD_DIR}/bin/aigetctl";
my $env = var_dir() . '/aiget.env';
sub ctl { my $out = `$ctl --env-file $env @_ 2>&1`; return ($? >> 8, $out) }

my ($rc, $out) = ctl('migrate', '--status');
is($rc, 0, 'status exits 0');
like($out, qr/main\s+0001_init\.sql\s+applied/, 'main baseline applied by the stack');
like($out, qr/vector\s+0001_vector_extension\.sql\s+applied/, 'vector extension migration applied');
unlike($out, qr/\spending\b/, 'nothing pending');  # the status column, not a file's name

($rc, $out) = ctl('migrate');
is($rc, 0, 'a second run succeeds');
like($out, qr/main\s+0 applied/, 'and applies nothing');

# A scratch SQL_DIR: the real files plus test ones, numbered far ahead.
my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/main"; mkdir "$dir/vector";
copy($_, "$dir/main/") for glob "$ENV{AIGET_SRC}/sql/main/*.sql";
copy($_, "$dir/vector/") for glob "$ENV{AIGET_SRC}/sql/vector/*.sql";
sub write_file { my ($p, $t) = @_; open(my $f, '>', $p) or die $!; print $f $t; close $f }

my $table = "t_migrate_$$";
write_file("$dir/main/9001_test_$$.sql", "CREATE TABLE $table (id int);\nINSERT INTO $table VALUES (1);\n");
local $ENV{SQL_DIR} = $dir;
($rc, $out) = ctl('migrate', '--status');
like($out, qr/9001_test_$$\.sql\s+pending/, 'a new file shows as pending');
($rc, $out) = ctl('migrate');
is($rc, 0, 'a new file is applied') or diag($out);
like($out, qr/main\s+1 applied/, 'exactly one');

write_file("$dir/main/9002_broken_$$.sql", "CREATE TABLE ${table}_b (id int);\nSELECT no_such_function();\n");
($rc, $out) = ctl('migrate');
isnt($rc, 0, 'a failing file fails the run');
like($out, qr/9002_broken_$$\.sql failed/, 'naming the file');
($rc, $out) = ctl('migrate', '--status');
like($out, qr/9002_broken_$$\.sql\s+pending/, 'and is not recorded');
my $psql_url = `grep ^DATABASE_URL= $env | cut -d= -f2-`; chomp $psql_url;
is(`psql -XAtq "$psql_url" -c "SELECT to_regclass('${table}_b') IS NULL"`, "t\n",
	'its first statement was rolled back');
unlink "$dir/main/9002_broken_$$.sql";

write_file("$dir/main/9001_test_$$.sql", "CREATE TABLE $table (id bigint);\n");
($rc, $out) = ctl('migrate');
isnt($rc, 0, 'an applied file that changed is refused');
like($out, qr/changed after it was applied/, 'saying why');
unlink "$dir/main/9001_test_$$.sql";

# Two runs at once: the advisory lock makes the second wait, then skip.
write_file("$dir/main/9003_slow_$$.sql", "SELECT pg_sleep(1);\nCREATE TABLE ${table}_c (id int);\n");
my @pids = map { my $pid = fork // die; if (!$pid) { exec("$ctl --env-file $env migrate >/dev/null 2>&1") } $pid } 1 .. 2;
my @codes = map { waitpid($_, 0); $? >> 8 } @pids;
is_deeply(\@codes, [0, 0], 'two concurrent runs both succeed');
is(`psql -XAtq "$psql_url" -c "SELECT count(*) FROM schema_migrations WHERE filename = '9003_slow_$$.sql'"`, "1\n",
	'and the file is applied once');

# A directory without migrations is nothing to do, not a directory that
# cannot be read (qsort of no list let GCC drop that case; found by make lint).
my $empty = tempdir(CLEANUP => 1);
mkdir "$empty/main"; mkdir "$empty/vector";
$ENV{SQL_DIR} = $empty;
($rc, $out) = ctl('migrate');
is($rc, 0, 'directories without migrations: migrate succeeds') or diag($out);
like($out, qr/main\s+0 applied, 0 in all/, 'and applies nothing');

done_testing();

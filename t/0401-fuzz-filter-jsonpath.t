#!/usr/bin/perl
# The metadata filter compiler's output is jsonpath to PostgreSQL, the
# second implementation of its grammar (fuzz/filter.c checks a grammar of
# its own): the seeds of fuzz/corpus/filter and 200000 inputs the
# fuzzer makes from them are compiled (FUZZ_FILTER_PRINT), and every path
# with its vars is handed to the vector database's jsonb_path_match(), as
# search runs it (silent, on a few documents): it parses, finds all its
# variables and answers true or false, never an error or NULL.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Temp qw(tempdir);
use Aiget;

Aiget::require_stack();
my $src = $ENV{AIGET_SRC} // '.';
my $build = `make -s -C '$src' BUILD=fuzz fuzz-bin FUZZ_HARNESSES=filter 2>&1`;
is($?, 0, 'the filter harness builds') or diag($build);

my $dir = tempdir(CLEANUP => 1);
my @seeds = glob("$src/fuzz/corpus/filter/*");
cmp_ok(scalar @seeds, '>=', 5, 'the filter seeds');
{
	local $ENV{FUZZ_FILTER_PRINT} = "$dir/seeds.tsv";
	my $out = `'$src/build/fuzz/bin/fuzz-filter' @seeds 2>&1`;
	is($?, 0, 'the seeds compile and keep the harness\'s properties') or diag($out);
	$ENV{FUZZ_FILTER_PRINT} = "$dir/made.tsv";
	mkdir "$dir/corpus";
	$out = `'$src/build/fuzz/bin/fuzz-filter' -seed=1 -runs=200000 -dict='$src/fuzz/filter.dict' '$dir/corpus' '$src/fuzz/corpus/filter' 2>&1`;
	is($?, 0, 'and so do 200000 inputs made from them') or diag($out);
}

# One row a distinct path and its vars, as CSV for \copy.
my %seen;
my ($nseeds, $n) = (0, 0);
open(my $csv, '>', "$dir/paths.csv") or die $!;
for my $file ("$dir/seeds.tsv", "$dir/made.tsv") {
	open(my $in, '<', $file) or next;
	while (my $line = <$in>) {
		chomp $line;
		my ($path, $vars) = split /\t/, $line, 2;
		next if !defined $vars || $seen{$line}++;
		$nseeds++ if $file =~ /seeds/;
		$n++;
		print $csv join(',', map { '"' . s/"/""/gr . '"' } $path, $vars), "\n";
	}
}
close $csv;
cmp_ok($nseeds, '>=', 5, "the seeds' paths ($nseeds)");
cmp_ok($n, '>=', 500, "distinct paths in all ($n)");

open(my $sql, '>', "$dir/check.sql") or die $!;
print $sql <<"SQL";
CREATE TEMP TABLE filters (path text, vars text);
\\copy filters FROM '$dir/paths.csv' (FORMAT csv)
CREATE FUNCTION pg_temp.refusal(path text, vars text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE doc jsonb; r boolean;
BEGIN
	FOREACH doc IN ARRAY ARRAY['{}', '{"topic":"work","priority":3,"tags":["a",1,null,true]}',
			  '{"doc":{"lang":"en","c":{"d":[1.5,"x"]}},"a":{"b":{"c":{"d":false}}},"x":null}']::jsonb[] LOOP
		r := jsonb_path_match(doc, path::jsonpath, vars::jsonb, true);
		IF r IS NULL THEN
			RETURN 'no boolean on ' || doc::text;
		END IF;
	END LOOP;
	RETURN NULL;
EXCEPTION WHEN others THEN
	RETURN SQLERRM;
END \$\$;
SELECT count(*) FROM filters;
SELECT path || ' ' || vars || ': ' || e FROM (SELECT path, vars, pg_temp.refusal(path, vars) AS e FROM filters) t
 WHERE e IS NOT NULL LIMIT 20;
SQL
close $sql;
my $out = `psql -X -qAt -v ON_ERROR_STOP=1 -d '@{[stack_env('VECTOR_DATABASE_URL')]}' -f '$dir/check.sql' 2>&1`;
is($?, 0, 'psql ran the check') or diag($out);
my ($count, @refused) = split /\n/, $out;
is($count, $n, 'PostgreSQL read every path');
is(scalar @refused, 0, 'and took every one as a jsonpath predicate with its vars') or diag(join "\n", @refused);

done_testing();

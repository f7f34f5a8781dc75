#!/usr/bin/perl
# docs/openapi.yaml is a valid OpenAPI document (checked by a real validator,
# @apidevtools/swagger-parser from the npm registry, pinned in t/openapi), and
# its operations are exactly the responders' route tables (each binary's
# --routes), so that neither can drift from the other.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

my $src = $ENV{AIGET_SRC} // '.';
my $build = $ENV{BUILD_DIR} // 'build/asan';
my $tools = openapi_tools();

sub validate {
	my $file = shift;
	my @ops = `node '$tools/check.js' '$file' 2>&1`;
	return ($? >> 8, @ops);
}

my ($rc, @ops) = validate("$src/docs/openapi.yaml");
is($rc, 0, 'docs/openapi.yaml is a valid OpenAPI document') or diag(@ops);
chomp @ops;

# The validator does fail: the same document without its info object.
open(my $in, '<', "$src/docs/openapi.yaml") or die $!;
my $doc = do { local $/; <$in> };
(my $broken = $doc) =~ s/^info:\n(?:(?:[ \t]+.*)?\n)+//m or die 'no info block to remove';
my $tmp = "$tools/broken.yaml";
open(my $out, '>', $tmp) or die $!;
print $out $broken;
close $out;
isnt((validate($tmp))[0], 0, 'the validator rejects a document without info');

# Path parameters are compared by position, not by name.
sub shape { (my $op = shift) =~ s/\{[^}]*\}/{}/g; return $op }
my %documented = map { shape($_) => $_ } @ops;
my %served;
for my $area (qw(auth keys tenants memox)) {
	my @routes = `'$build/bin/$area.fcgi' --routes`;
	is($? >> 8, 0, "$area.fcgi --routes");
	ok(@routes > 1, "$area serves routes");
	chomp @routes;
	# METHOD PATH FLAGS: the flags are router.h's names (a number would be
	# a flag app.c cannot name), or - for none.
	is_deeply([grep { !m{^[A-Z]+ /\S* (?:-|[A-Z_]+(?:,[A-Z_]+)*)$} } @routes], [],
		"$area.fcgi --routes: each line is METHOD PATH FLAGS");
	s/^(\S+ \S+) .*/$1/ for @routes;
	$served{shape($_)} = $_ for @routes;
}
my @undocumented = sort grep { !$documented{$_} } keys %served;
my @unserved = sort grep { !$served{$_} } keys %documented;
is_deeply(\@undocumented, [], 'every route is in docs/openapi.yaml') or diag("undocumented: @served{@undocumented}");
is_deeply(\@unserved, [], 'every documented operation is served') or diag("not served: @documented{@unserved}");

done_testing();

#!/usr/bin/perl
# make lint can fail: the tree's own configuration (.clang-tidy,
# .cppcheck-suppressions) run over a scratch source with the bug make lint
# found in aigetctl's migrate.c (qsort of a list that may be NULL, then a
# check of the list that GCC drops) is refused by both linters, naming their
# checks, and the fixed source passes.  That the tree passes is `make test`'s
# own lint step.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use File::Path qw(make_path);
use File::Temp qw(tempdir);

my $src = $ENV{AIGET_SRC} // '.';
for my $tool (qw(clang-tidy cppcheck)) {
	plan skip_all => "$tool not installed (make deps)" unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}
# Under the tree, so that clang-tidy finds its .clang-tidy (it looks in the
# source's directories upwards).
make_path("$src/build");
my $dir = tempdir('lint-test-XXXXXX', DIR => "$src/build", CLEANUP => 1);
mkdir "$dir/src";

sub lint_of {
	my ($name, $code) = @_;
	open(my $f, '>', "$dir/src/$name") or die $!;
	print $f $code;
	close $f;
	my $out = `make -k -s -C '$src' lint OUT='$dir/out-$name' LINT_SRC='$dir/src/$name' LINT_DIRS='$dir/src/$name' 2>&1`;
	return ($? >> 8, $out);
}

my $head = "#include <stdlib.h>\nstatic int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }\n";
my ($rc, $out) = lint_of('bad.c', $head . <<'EOF2');
int *countdown(size_t n);
int *countdown(size_t n)
{
	int *list = NULL;
	size_t got = 0;
	while (got < n) {
		int *grown = realloc(list, (got + 1) * sizeof *list);
		if (grown == NULL)
			break;
		list = grown;
		list[got] = (int)(n - got);
		got++;
	}
	qsort(list, got, sizeof *list, by_value);
	return list ? list : calloc(1, sizeof *list);
}
EOF2
isnt($rc, 0, 'make lint fails on the bug');
like($out, qr/\[clang-analyzer-core\.NonNullParamChecker/, 'clang-tidy names it') or diag($out);
like($out, qr/\[nullPointerRedundantCheck\]/, 'cppcheck names it') or diag($out);

($rc, $out) = lint_of('good.c', $head . <<'EOF2');
int *countdown(size_t n);
int *countdown(size_t n)
{
	int *list = NULL;
	size_t got = 0;
	while (got < n) {
		int *grown = realloc(list, (got + 1) * sizeof *list);
		if (grown == NULL)
			break;
		list = grown;
		list[got] = (int)(n - got);
		got++;
	}
	if (got > 0)
		qsort(list, got, sizeof *list, by_value);
	return list ? list : calloc(1, sizeof *list);
}
EOF2
is($rc, 0, 'and passes the fixed source') or diag($out);

done_testing();

#!/usr/bin/perl
# Fails the run when any binary of the stack wrote an AddressSanitizer,
# LeakSanitizer or UndefinedBehaviorSanitizer report during the tests.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my @reports = glob(var_dir() . '/log/sanitizer-*');
is(scalar @reports, 0, 'no sanitizer report') or do {
	for my $r (@reports) {
		open(my $f, '<', $r) or next;
		diag("--- $r");
		diag($_) while <$f>;
	}
};

done_testing();

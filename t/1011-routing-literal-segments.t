#!/usr/bin/perl
# A literal path segment wins over a placeholder beside it, for every method:
# the path picks the most specific pattern first (at the first segment where
# two matching patterns differ, a literal beats a placeholder), and only then
# is the method looked up, among the routes of exactly that pattern.  So
# DELETE /api/v1/keys/self is a 405 that allows GET, not the DELETE of
# /keys/{keyId} looking for a key named "self", and the Allow of a 405 (and
# of a preflight) lists exactly the methods of the pattern that matched.
#
# The collisions are not listed by hand: they are derived from every area's
# route table (the binaries' --routes), so a route added beside a template
# later is checked too.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Aiget;

Aiget::require_stack();

my $build = $ENV{BUILD_DIR} // 'build/asan';

# With credentials that the placeholder routes accept, so that being taken
# for one shows as its handler's answer ("no such key"), not as a 401.
my (undef, undef, $user) = register_user(tag => 'literal');
my %credentials = (auth => bearer($user->{accessToken}), keys => bearer($user->{accessToken}),
	tenants => bearer($user->{accessToken}),
	memox => bearer(keys_make($user->{accessToken}, tenants_new($user->{accessToken}, 'literal')->{id})->{key}));

sub segments { my @s = split m{/}, shift, -1; shift @s; return @s }
sub is_param { $_[0] =~ /^\{.*\}$/ }

# Does the pattern match the path (both as segment lists)?
sub matches {
	my ($pat, $path) = @_;
	return 0 unless @$pat == @$path;
	for my $i (0 .. $#$pat) {
		next if is_param($pat->[$i]) && $path->[$i] ne '';
		return 0 unless $pat->[$i] eq $path->[$i];
	}
	return 1;
}

# <0 when pattern a is the more specific, >0 when b is, 0 when they are the
# same pattern (for two patterns that match one path).
sub specificity_cmp {
	my ($a, $b) = @_;
	for my $i (0 .. $#$a) {
		my ($pa, $pb) = (is_param($a->[$i]) ? 1 : 0, is_param($b->[$i]) ? 1 : 0);
		return $pa - $pb if $pa != $pb;
	}
	return 0;
}

my @checked;
for my $area (areas()) {
	my @routes = `'$build/bin/$area.fcgi' --routes`;
	is($? >> 8, 0, "$area.fcgi --routes");
	chomp @routes;
	# pattern (placeholders by position, names dropped) -> its methods
	my (%methods, %segs);
	for (@routes) {
		my ($method, $pattern) = split / /;
		(my $shape = $pattern) =~ s/\{[^}]*\}/{}/g;
		$methods{$shape}{$method} = 1;
		$segs{$shape} = [segments($shape)];
	}
	my @patterns = sort keys %methods;

	# Every pair of a pattern with a literal where another, that can match
	# the same path, has a placeholder: a path they both match.
	my %paths;
	for my $lit (@patterns) {
		for my $tpl (@patterns) {
			my ($l, $t) = ($segs{$lit}, $segs{$tpl});
			next if $lit eq $tpl || @$l != @$t || specificity_cmp($l, $t) >= 0;
			my @path;
			for my $i (0 .. $#$l) {
				push @path, !is_param($l->[$i]) ? $l->[$i] : !is_param($t->[$i]) ? $t->[$i] : 'x1';
			}
			$paths{join '/', '', @path} = 1 if matches($t, \@path) && matches($l, \@path);
		}
	}

	for my $path (sort keys %paths) {
		my @p = segments($path);
		my @all = grep { matches($segs{$_}, \@p) } @patterns;
		my ($best) = sort { specificity_cmp($segs{$a}, $segs{$b}) } @all;
		my %allowed = %{$methods{$best}};
		my $allow = join ', ', sort keys %allowed;
		# Every other method, those of the placeholder routes beside it included.
		for my $method (grep { !$allowed{$_} } qw(DELETE GET PATCH POST PUT)) {
			my $res = api($method => $path, {headers => $credentials{$area}});
			error_is($res, 405, 'method_not_allowed', "$method $path");
			is(join(', ', sort split /,\s*/, $res->{headers}{allow} // ''), $allow,
				"$method $path: Allow is $best\'s methods");
			push @checked, "$method $path";
		}
		# A preflight from an origin that is not allowed is refused with the
		# same Allow (cors_preflight).
		my $res = api(OPTIONS => $path, {headers => {Origin => 'https://not-allowed.example', %{$credentials{$area}}}});
		is(join(', ', sort split /,\s*/, $res->{headers}{allow} // ''), $allow, "OPTIONS $path: Allow is $best\'s methods");
		# The right method reaches the literal route: whatever it answers
		# without credentials, it is not the placeholder route's "no such".
		for my $method (sort keys %allowed) {
			next unless $method eq 'GET';    # safe to send; POSTs would act
			$res = api($method => $path, {headers => $credentials{$area}});
			ok($res->{status} != 404 && $res->{status} != 405, "$method $path reaches its own route")
				or diag("$res->{status} $res->{content}");
		}
	}
}

# The collisions the issue names are among those derived, so that the
# derivation cannot silently find nothing.
my %checked = map { $_ => 1 } @checked;
for ('DELETE /api/v1/keys/self', 'DELETE /api/v1/keys/health', 'PATCH /api/v1/tenants/health',
     'PATCH /api/v1/tenants/invitations', 'GET /api/v1/memox/memories/batch', 'POST /api/v1/tenants/health') {
	ok($checked{$_}, "derived: $_");
}

done_testing();

package MemoxCorpus;
# Synthetic memories and queries for the recall test and the search benchmark.
#
# One end user's memories are about a few hundred topics (their work, family,
# trips...): each memory takes most of its words from one topic's vocabulary,
# the rest from a shared general one, and a query asks about one topic.  That
# gives the neighbourhood structure real memories have, which an approximate
# index is built for.
#
# The uniform mode draws every word from one flat vocabulary instead: no
# topics, so a 3-word query ties with every memory that shares one of its words
# (about 1,100 of them in a 100k scope) and the top ten are decided by tiny
# score differences.  That is the worst case for any graph index; the
# benchmark reports it beside the realistic one.
use strict;
use warnings;
use List::Util qw(shuffle);

my @SYLLABLES = qw(ka lo mi ne ru sa te vo zi pa qu re ti ba do fe gu ha ji ko);

# new(seed => N, topics => 500, uniform => 0)
sub new {
	my ($class, %o) = @_;
	srand($o{seed} // 1);
	my %seen;
	my $word = sub {
		while (1) {
			my $w = join '', map { $SYLLABLES[rand @SYLLABLES] } 1 .. 2 + int(rand(3));
			return $w unless $seen{$w}++;
		}
	};
	my $self = bless {uniform => $o{uniform} ? 1 : 0}, $class;
	$self->{general} = [map { $word->() } 1 .. 3000];
	$self->{topics} = [map { [map { $word->() } 1 .. 40] } 1 .. ($o{topics} // 500)];
	return $self;
}

sub _pick { my $list = shift; return map { $list->[rand @$list] } 1 .. shift }

# One memory's text: 8 to 14 words.
sub memory {
	my $self = shift;
	my $n = 8 + int(rand(7));
	return join ' ', _pick($self->{general}, $n) if $self->{uniform};
	my $topic = $self->{topics}[rand @{$self->{topics}}];
	my $own = 5 + int(rand(4));
	return join ' ', shuffle(_pick($topic, $own), _pick($self->{general}, $n - $own));
}

# One query: 3 words.
sub query {
	my $self = shift;
	return join ' ', _pick($self->{general}, 3) if $self->{uniform};
	return join ' ', _pick($self->{topics}[rand @{$self->{topics}}], 3);
}

1;

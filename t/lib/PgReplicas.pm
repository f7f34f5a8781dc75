# PgReplicas.pm - streaming replicas of the stack's two databases, for the
# scripts that fail over to them (t/8010) or read from them (t/8020).
#
# pg_replicas_start() makes a replica of the main and of the vector
# database (spawn/dev/pg-main with AIGET_PG_PRIMARY_PORT: pg_basebackup,
# then streaming), each in a directory of its own under $VAR, and checks
# they stream.  However the script ends, the stack has its two databases
# back: pg_replicas_restore() (also run from END) stops the replicas and
# removes them, or, once pg_replicas_promote() has run, puts the
# promoted data directories in the places of the stack's stopped ones.
package PgReplicas;
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use IPC::Open2;
use Test::More;
use Aiget;

our @EXPORT = qw(pg_replicas_start pg_replica pg_replica_server pg_replicas_promote pg_replicas_restore
	pg_replica_url sql_at pg_session stack_db_service);

my ($password, %replica, $dir, $promoted);

sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)->sockport }

# {port, of (the primary's port), script, service} of 'main' or 'vector'.
sub pg_replica { $replica{$_[0]} }

# `pg-main|pg-vector start|stop DIR PORT` for a replica; true when it succeeded.
sub pg_replica_server {
	my ($which, $action) = @_;
	my $r = $replica{$which};
	local $ENV{AIGET_DB_PASSWORD} = $password;
	local $ENV{AIGET_PG_PRIMARY_PORT} = $r->{of};
	return system("$ENV{AIGET_SRC}/spawn/dev/$r->{script}", $action, "$dir/$which", $r->{port}) == 0;
}

# One value (rows joined by newlines) of SQL on the server at port; '' when it does not answer.
sub sql_at {
	my ($port, $sql) = @_;
	local $ENV{PGPASSWORD} = $password;
	my $out = `psql -X -qAt -h 127.0.0.1 -p $port -U aiget -d aiget -c "$sql" 2>/dev/null`;
	chomp $out;
	return $out;
}

# A psql session kept open on the server at port, for many quick queries
# (a psql per query costs tens of ms under load): a function that runs one
# statement of one value and returns it.
sub pg_session {
	my ($port) = @_;
	local $ENV{PGPASSWORD} = $password;
	open2(my $out, my $in, 'psql', '-X', '-qAt', '-h', '127.0.0.1', '-p', $port, '-U', 'aiget', '-d', 'aiget')
		or die "psql: $!";
	$in->autoflush(1);
	return sub {
		print $in "$_[0];\n";
		my $line = <$out> // '';
		chomp $line;
		return $line;
	};
}

# A URL of the stack's user for the given ports (several: libpq's multi-host form).
sub pg_replica_url {
	my ($query, @ports) = @_;
	return "postgresql://aiget:$password\@" . join(',', map { "127.0.0.1:$_" } @ports) . '/aiget'
		. ($query ? "?$query" : '');
}

# The stack's own database servers: aiget-dev leaves alone a vector
# database that VECTOR_DATABASE_URL names, and scripts may run services
# with other URLs in their environment.
sub stack_db_service {
	my ($name, $action) = @_;
	local %ENV = %ENV;
	delete @ENV{qw(DATABASE_URL VECTOR_DATABASE_URL DATABASE_READ_URL VECTOR_DATABASE_READ_URL)};
	return dev_service($name => $action);
}

# Starts both replicas (as tests) in $VAR/TAG-PID; false when the stack's
# databases are not its own.
sub pg_replicas_start {
	my ($tag) = @_;
	my $main_port;
	($password, $main_port) = stack_env('DATABASE_URL') =~ m{^postgresql://aiget:([^@]+)\@127\.0\.0\.1:(\d+)/aiget$}
		or BAIL_OUT('the stack\'s DATABASE_URL is not understood');
	my ($vector_port) = stack_env('VECTOR_DATABASE_URL') =~ m{^postgresql://aiget:[^@]+\@127\.0\.0\.1:(\d+)/aiget$}
		or return 0;
	$dir = var_dir() . "/$tag-$$";
	mkdir $dir or die "$dir: $!";
	chmod 0755, $dir;
	%replica = (main => {port => free_port(), of => $main_port, script => 'pg-main', service => 'pg-main'},
		vector => {port => free_port(), of => $vector_port, script => 'pg-vector', service => 'pg-vector'});
	for my $which (qw(main vector)) {
		ok(pg_replica_server($which, 'start'), "a streaming replica of the $which database starts");
		is(sql_at($replica{$which}{port}, 'SELECT pg_is_in_recovery()'), 't', "$which replica: in recovery");
	}
	ok(wait_until(20, sub { (grep { sql_at($replica{$_}{of},
		"SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") eq '1' } qw(main vector)) == 2 }),
		'both primaries stream to their replica');
	return 1;
}

# Promotes both replicas (as tests); from then on the restore keeps them.
sub pg_replicas_promote {
	for my $which (qw(main vector)) {
		is(sql_at($replica{$which}{port}, 'SELECT pg_promote()'), 't', "the $which replica is promoted");
	}
	$promoted = 1;
}

sub pg_replicas_restore {
	return unless $dir;
	for my $which (sort keys %replica) {
		my $r = $replica{$which};
		next unless -d "$dir/$which";
		pg_replica_server($which, 'stop');
		if ($promoted) {
			stack_db_service($r->{service} => 'stop');
			my $data = var_dir() . "/$r->{service}";
			# Named by this script: an earlier script's may be there already.
			rename($data, "$data.replaced-$$") or die "$data: $!";
			rename("$dir/$which", $data) or die "$dir/$which: $!";
		} else {
			system('rm', '-rf', "$dir/$which", "$dir/$which.log");
		}
		stack_db_service($r->{service} => 'start');
	}
}
END { local ($?, $!, $@); pg_replicas_restore() }

1;

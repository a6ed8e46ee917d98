#!/usr/bin/perl
# Debian's Authen::TacacsPlus (libauthen-tacacsplus-perl 0.28) against a TACACS+ server. The module does
# authentication only (ASCII, PAP and CHAP logins; it has no authorization or accounting calls). The key
# comes from the environment (TACACS_KEY), never argv. Prints one JSON object.
#
#   perl-client.pl PORT
use strict;
use warnings;
use Authen::TacacsPlus;

my $port = shift or die "usage: perl-client.pl PORT\n";
my %out;
my @cases = (
    [ 'ascii_good', 'net-viewer',   'labpass', &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_ASCII ],
    [ 'ascii_bad',  'net-viewer',   'wrong',   &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_ASCII ],
    [ 'pap_good',   'net-operator', 'labpass', &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP ],
    [ 'pap_bad',    'net-operator', 'wrong',   &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP ],
    [ 'chap',       'net-admin',    'labpass', &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_CHAP ],
);
for my $c (@cases) {
    my ( $name, $user, $password, $type ) = @$c;
    # One connection per login: the module sends one session per connection.
    my $tac = Authen::TacacsPlus->new( Host => '127.0.0.1', Port => $port, Key => $ENV{TACACS_KEY}, Timeout => 5 )
      or die 'connect: ' . Authen::TacacsPlus::errmsg() . "\n";
    $out{$name} = $tac->authen( $user, $password, $type ) ? 'true' : 'false';
    $tac->close();
}
print '{', join( ',', map { "\"$_\":$out{$_}" } sort keys %out ), "}\n";

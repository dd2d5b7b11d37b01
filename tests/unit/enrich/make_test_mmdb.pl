#!/usr/bin/perl
# Writes the tiny GeoIP City-shaped database the GeoIp tests read:
#   make_test_mmdb.pl OUT.mmdb [6|4]
# (an IPv6 tree with IPv4 aliased in it, the default, or an IPv4-only tree).
# Needs Debian's libmaxmind-db-writer-perl.
use strict;
use warnings;
use utf8;

my $out = shift or die "usage: $0 OUT.mmdb [6|4]\n";
my $ip_version = shift // 6;
die "usage: $0 OUT.mmdb [6|4]\n" unless $ip_version == 4 || $ip_version == 6;
eval { require MaxMind::DB::Writer::Tree; 1 }
  or die "MaxMind::DB::Writer::Tree is missing: install the Debian package libmaxmind-db-writer-perl\n";

my %types = (
    city         => 'map',
    country      => 'map',
    subdivisions => [ 'array', 'map' ],
    names        => 'map',
    en           => 'utf8_string',
    iso_code     => 'utf8_string',
    geoname_id   => 'uint32',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $ip_version,
    record_size              => 24,
    database_type            => 'Basalt-Test-City',
    languages                => ['en'],
    description              => { en => 'Basalt GeoIp test database' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,    # the test networks are documentation ranges
    alias_ipv6_to_ipv4       => $ip_version == 6 ? 1 : 0,
);

sub city {
    my ($country, $region, $region_iso, $city) = @_;
    return {
        country      => { iso_code => $country },
        subdivisions => [ { iso_code => $region_iso, names => { en => $region } } ],
        city         => { names => { en => $city } },
    };
}

$tree->insert_network('203.0.113.0/24', city('US', 'California', 'CA', 'San Francisco'));
$tree->insert_network('198.51.100.0/25', city('DE', 'Bavaria', 'BY', 'Munich'));
$tree->insert_network('198.51.100.128/25', { country => { iso_code => 'JP' } });
$tree->insert_network('2001:db8:1::/48', city('FR', 'Île-de-France', 'IDF', 'Paris'))
  if $ip_version == 6;
$tree->insert_network('192.0.2.0/24', { geoname_id => 42 });    # a record without place fields

open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";

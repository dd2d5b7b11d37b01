#pragma once
// IP address → country, region and city, from a MaxMind-format database (.mmdb: GeoLite2 /
// GeoIP2 City or any database with the same record shape) read with libmaxminddb.
//
// With no database configured a GeoIp is disabled and every lookup finds nothing, so callers
// need no special case.
//
// Thread safety: immutable after open(); lookup() may be called from any number of threads
// (libmaxminddb's memory-mapped lookups do not write).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace basalt::enrich {

// The record's fields in English; "" when the database does not have them.
struct GeoInfo {
  std::string country_iso;  // ISO 3166-1 alpha-2: "US"
  std::string region;       // the first (largest) subdivision's name: "California"
  std::string region_iso;   // its ISO 3166-2 code without the country: "CA"
  std::string city;         // "San Francisco"

  bool operator==(const GeoInfo&) const = default;
};

class GeoIp {
 public:
  // A disabled GeoIp: lookup() finds nothing.
  GeoIp();
  ~GeoIp();
  GeoIp(GeoIp&&) noexcept;
  GeoIp& operator=(GeoIp&&) noexcept;

  // Opens the database at `path` (memory-mapped); an empty path gives a disabled GeoIp.
  // Errors: kNotFound (no such file), kInvalidArgument (not a valid .mmdb, with libmaxminddb's
  // reason), kUnavailable (it could not be read).
  static Result<GeoIp> open(const std::string& path);

  bool enabled() const { return db_ != nullptr; }
  // "GeoLite2-City" or whatever the database calls itself; "" when disabled.
  std::string database_type() const;

  // The record for `ip` (IPv4 dotted quad or IPv6 text, IPv4 also found in an IPv6 database),
  // or nothing when disabled, not in the database, or the record has none of the fields.
  // Errors: kInvalidArgument when `ip` is not an IP address; kDataLoss when the database is
  // corrupt at that record.
  Result<std::optional<GeoInfo>> lookup(std::string_view ip) const;

 private:
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace basalt::enrich

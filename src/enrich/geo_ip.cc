#include "enrich/geo_ip.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace basalt::enrich {

struct GeoIp::Db {
  MMDB_s mmdb{};
  ~Db() { MMDB_close(&mmdb); }
};

namespace {

// The UTF-8 string at `path` in `entry`, or "" when it is absent or not a string.
Result<std::string> string_at(MMDB_entry_s& entry, const char* const* path) {
  MMDB_entry_data_s data{};
  const int status = MMDB_aget_value(&entry, &data, path);
  if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ||
      status == MMDB_INVALID_LOOKUP_PATH_ERROR) {
    return std::string();
  }
  if (status != MMDB_SUCCESS) {
    return data_loss(std::string("GeoIP database record unreadable: ") + MMDB_strerror(status));
  }
  if (!data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING) return std::string();
  return std::string(data.utf8_string, data.data_size);
}

}  // namespace

GeoIp::GeoIp() = default;
GeoIp::~GeoIp() = default;
GeoIp::GeoIp(GeoIp&&) noexcept = default;
GeoIp& GeoIp::operator=(GeoIp&&) noexcept = default;

Result<GeoIp> GeoIp::open(const std::string& path) {
  GeoIp geo;
  if (path.empty()) return geo;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return not_found("GeoIP database \"" + path + "\" not found");
  }
  auto db = std::make_unique<Db>();
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
  if (status != MMDB_SUCCESS) {
    // MMDB_open leaves nothing to close on failure.
    db->mmdb = MMDB_s{};
    std::string reason = MMDB_strerror(status);
    if (status == MMDB_IO_ERROR) {
      return unavailable("GeoIP database \"" + path + "\" could not be read: " + reason + ": " +
                         std::error_code(errno, std::generic_category()).message());
    }
    return invalid_argument("GeoIP database \"" + path + "\" is not a valid MaxMind DB: " + reason);
  }
  geo.db_ = std::move(db);
  return geo;
}

std::string GeoIp::database_type() const {
  if (!db_ || db_->mmdb.metadata.database_type == nullptr) return {};
  return db_->mmdb.metadata.database_type;
}

Result<std::optional<GeoInfo>> GeoIp::lookup(std::string_view ip) const {
  // Parsed here with inet_pton rather than by MMDB_lookup_string, which goes through
  // getaddrinfo: the same answer for numeric addresses, several times faster.
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof(text)) {
    return invalid_argument("\"" + std::string(ip.substr(0, 64)) + "\" is not an IP address");
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  sockaddr_storage address{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr) == 1) {
    address.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr) ==
             1) {
    address.ss_family = AF_INET6;
  } else {
    return invalid_argument("\"" + std::string(ip) + "\" is not an IP address");
  }
  if (!db_) return std::optional<GeoInfo>();
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets report IPv4 clients)
  // is looked up as the IPv4 address in an IPv4-only database.
  if (address.ss_family == AF_INET6 && db_->mmdb.metadata.ip_version == 4) {
    const in6_addr v6 = reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr;
    if (!IN6_IS_ADDR_V4MAPPED(&v6)) return std::optional<GeoInfo>();
    address = sockaddr_storage{};
    address.ss_family = AF_INET;
    std::memcpy(&reinterpret_cast<sockaddr_in*>(&address)->sin_addr, &v6.s6_addr[12], 4);
  }

  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s found =
      MMDB_lookup_sockaddr(&db_->mmdb, reinterpret_cast<const sockaddr*>(&address), &mmdb_error);
  if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return std::optional<GeoInfo>();
  if (mmdb_error != MMDB_SUCCESS) {
    return data_loss(std::string("GeoIP lookup of ") + text +
                     " failed: " + MMDB_strerror(mmdb_error));
  }
  if (!found.found_entry) return std::optional<GeoInfo>();

  static constexpr const char* kCountry[] = {"country", "iso_code", nullptr};
  static constexpr const char* kRegion[] = {"subdivisions", "0", "names", "en", nullptr};
  static constexpr const char* kRegionIso[] = {"subdivisions", "0", "iso_code", nullptr};
  static constexpr const char* kCity[] = {"city", "names", "en", nullptr};
  GeoInfo info;
  for (auto [path, out] : {std::pair{kCountry, &info.country_iso}, std::pair{kRegion, &info.region},
                           std::pair{kRegionIso, &info.region_iso}, std::pair{kCity, &info.city}}) {
    auto value = string_at(found.entry, path);
    if (!value.is_ok()) return value.status();
    *out = std::move(value).value();
  }
  if (info == GeoInfo{}) return std::optional<GeoInfo>();
  return std::optional<GeoInfo>(std::move(info));
}

}  // namespace basalt::enrich

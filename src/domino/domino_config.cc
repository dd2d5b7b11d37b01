#include "domino/domino_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "common/config.h"

namespace basalt::domino {

int DominoConfig::pool_slots(const std::string& pool) const {
  auto it = pools.find(pool);
  return it == pools.end() ? 0 : it->second;
}

namespace {

// Environment variables override basalt.yaml.
DominoConfig with_environment(DominoConfig c) {
  if (const char* env = std::getenv("BASALT_DOMINO_STORE"); env && *env) c.store = env;
  return c;
}

Result<DominoConfig> load_file(const std::filesystem::path& project_dir);

}  // namespace

Result<DominoConfig> load_domino_config(const std::filesystem::path& project_dir) {
  auto c = load_file(project_dir);
  if (!c) return c.status();
  return with_environment(std::move(*c));
}

namespace {

Result<DominoConfig> load_file(const std::filesystem::path& project_dir) {
  DominoConfig c;
  auto file = project_dir / "basalt.yaml";
  if (!std::filesystem::exists(file)) return c;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    return invalid_argument(fmt::format("{}:{}: {}", file.string(), e.mark.line + 1, e.msg));
  }
  const YAML::Node d = root["domino"];
  if (!d.IsDefined() || d.IsNull()) return c;
  auto err = [&](const YAML::Node& n, const std::string& m) {
    return invalid_argument(fmt::format("{}:{}: {}", file.string(), n.Mark().line + 1, m));
  };
  if (!d.IsMap()) return err(d, "domino must be a mapping");
  for (const auto& kv : d) {
    auto key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "parallelism") {
      c.parallelism = v.as<int>(0);
      if (c.parallelism < 1) return err(v, "domino.parallelism must be a whole number >= 1");
    } else if (key == "pools") {
      if (!v.IsMap()) return err(v, "domino.pools must map pool names to slot counts");
      for (const auto& p : v) {
        int slots = p.second.as<int>(0);
        if (slots < 1) return err(p.second, "a pool needs at least 1 slot");
        c.pools[p.first.as<std::string>()] = slots;
      }
    } else if (key == "log_max_bytes") {
      auto s = parse_size(v.as<std::string>(""));
      if (!s) return err(v, s.status().message());
      c.log_max_bytes = *s;
    } else if (key == "kill_grace" || key == "tick_interval") {
      auto s = parse_duration(v.as<std::string>(""));
      if (!s) return err(v, s.status().message());
      (key == "kill_grace" ? c.kill_grace : c.tick_interval) =
          std::chrono::duration_cast<std::chrono::milliseconds>(*s);
    } else if (key == "store" || key == "scheduler_id") {
      if (!v.IsScalar()) return err(v, fmt::format("domino.{} must be a string", key));
      (key == "store" ? c.store : c.scheduler_id) = v.Scalar();
    } else if (key == "connections") {
      if (!v.IsMap()) return err(v, "domino.connections must map names to connection strings");
      for (const auto& cn : v) {
        if (!cn.second.IsScalar()) return err(cn.second, "a connection is a string (postgres://…)");
        c.connections[cn.first.as<std::string>()] = cn.second.Scalar();
      }
    } else if (key == "tools") {
      if (!v.IsMap()) return err(v, "domino.tools must be a mapping");
      for (const auto& t : v) {
        auto name = t.first.as<std::string>();
        if (!c.tools.contains(name)) return err(t.first, fmt::format("unknown tool '{}'", name));
        c.tools[name] = t.second.as<std::string>("");
      }
    } else {
      return err(
          kv.first,
          fmt::format("unknown key '{}' in domino (known: parallelism, pools, "
                      "log_max_bytes, kill_grace, tick_interval, store, scheduler_id, connections, "
                      "tools)",
                      key));
    }
  }
  return c;
}

}  // namespace

}  // namespace basalt::domino

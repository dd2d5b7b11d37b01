// basalt keys create|list|revoke: API keys of the console and data APIs, in the console
// database of the project's data folder (the running server sees changes at once).

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "api/key_store.h"
#include "cli/commands.h"
#include "common/config.h"

namespace basalt::cli {

namespace {

struct KeysOptions {
  std::string project = kDefaultProject;
  std::string data;
  std::string name;
  std::string role;
  std::vector<std::string> apis;
  double rate = 0;
  std::string key;
};

Result<std::unique_ptr<api::SqliteApiStore>> open_store(const KeysOptions& o) {
  auto config = load_project_config(o.project);
  if (!config) return config.status();
  BASALT_RETURN_IF_ERROR(apply_environment(*config, [](const char* n) { return std::getenv(n); }));
  if (!o.data.empty()) config->data_dir = o.data;
  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  return api::SqliteApiStore::open(config->data_dir / "console.db");
}

std::string date_of(int64_t us) {
  std::time_t t = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min);
}

int fail(const Status& s) {
  std::cerr << "basalt keys: " << s.message() << "\n";
  return exit_code_of(s.code());
}

}  // namespace

void add_keys_command(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<KeysOptions>();
  CLI::App* keys = root.add_subcommand("keys", "API keys of the console and data APIs");
  keys->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--project", o->project, "Project folder holding basalt.yaml")
        ->capture_default_str();
    c->add_option("--data", o->data, "Data folder (overrides data_dir of basalt.yaml)");
  };
  CLI::App* create = keys->add_subcommand("create", "Create a key; its secret is printed once");
  create->add_option("name", o->name, "A unique name for the key")->required();
  create->add_option("--role", o->role, "admin, analyst, viewer or service")->required();
  create->add_option("--api", o->apis, "A data API a service key may call (repeatable)");
  create->add_option("--rate", o->rate, "Requests per minute allowed to this key (0: no limit)");
  common(create);
  create->callback([o, &exit_code] {
    auto role = api::parse_role(o->role);
    if (!role) {
      exit_code = fail(invalid_argument("--role must be admin, analyst, viewer or service"));
      return;
    }
    auto store = open_store(*o);
    if (!store) {
      exit_code = fail(store.status());
      return;
    }
    auto k = (*store)->create_key(o->name, *role, o->apis, o->rate);
    if (!k) {
      exit_code = fail(k.status());
      return;
    }
    std::cout << fmt::format(
        "created key {} ({}, {})\nsecret: {}\n(shown once: store it now; "
        "send it as 'Authorization: Bearer <secret>')\n",
        k->key.id, k->key.name, api::role_name(k->key.role), k->secret);
    exit_code = 0;
  });
  CLI::App* list = keys->add_subcommand("list", "List keys (never their secrets)");
  common(list);
  list->callback([o, &exit_code] {
    auto store = open_store(*o);
    if (!store) {
      exit_code = fail(store.status());
      return;
    }
    auto ks = (*store)->list_keys();
    if (!ks) {
      exit_code = fail(ks.status());
      return;
    }
    std::cout << fmt::format("{:<16} {:<24} {:<8} {:<10} {:<18} {}\n", "ID", "NAME", "ROLE",
                             "RATE/MIN", "CREATED", "STATE / APIS");
    for (const auto& k : *ks) {
      std::string state = k.revoked_us ? "revoked " + date_of(*k.revoked_us) : "live";
      if (!k.apis.empty()) state += fmt::format(" / {}", fmt::join(k.apis, ","));
      std::cout << fmt::format("{:<16} {:<24} {:<8} {:<10} {:<18} {}\n", k.id, k.name,
                               api::role_name(k.role), k.rate_per_minute, date_of(k.created_us),
                               state);
    }
    exit_code = 0;
  });
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke a key by id or name");
  revoke->add_option("key", o->key, "Key id or name")->required();
  common(revoke);
  revoke->callback([o, &exit_code] {
    auto store = open_store(*o);
    if (!store) {
      exit_code = fail(store.status());
      return;
    }
    Status s = (*store)->revoke_key(o->key);
    if (!s.is_ok()) {
      exit_code = fail(s);
      return;
    }
    std::cout << "revoked " << o->key << "\n";
    exit_code = 0;
  });
}

}  // namespace basalt::cli

// remoractl: the operator's command line for remora-cp's JSON API.
//
//   remoractl [--server URL] [--token-file F] [--ca-file F] [--timeout 5s]
//             apply -f FILE | get KIND [NAME] | delete KIND NAME | delete -f FILE | proxy-status
//             token create|list|delete | identity | ca status|rotate PHASE
//             proxy-config endpoints --admin HOST:PORT [--cluster NAME]
//             inject -f FILE [--control-plane H:P] [--image I] [--proxy-uid N] [-o yaml|json]
//             store export [-o FILE] | store import -f FILE|-
//
// CLI11 reports bad flags by throwing; this file is the one place in
// control-plane/ where that exception is caught (as in proxy/main/main.cc,
// docs/decisions/004-exception-boundaries.md). Everything below returns
// Status/Result; see commands.h for the exit codes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "control-plane/cli/api_client.h"
#include "control-plane/cli/commands.h"
#include "control-plane/cli/inject.h"
#include "control-plane/cli/kinds.h"
#include "control-plane/cli/manifest.h"
#include "control-plane/cli/proxy_config.h"
#include "control-plane/cli/security_commands.h"
#include "control-plane/cli/store_commands.h"

namespace {

using namespace remora::cli;

struct Flags {
  std::string server = "http://127.0.0.1:15080";
  std::string token_file;
  std::string ca_file;
  std::string timeout = "15s";  // beyond remora-cp's store deadline (api_client.h)
  std::string file;
  std::string kind;
  std::string name;
  std::string namespace_ = "default";
  bool all_namespaces = false;
  std::string output = "table";
  std::string service_account;
  std::string ttl;
  std::string token_id;
  std::string phase;
  std::string admin;
  std::string cluster;
  InjectOptions inject;
  std::string inject_output = "yaml";
  std::string export_file;
};

int finish(const CommandOutput& output, int code) {
  std::fputs(output.out.c_str(), stdout);
  std::fputs(output.err.c_str(), stderr);
  return code;
}

int usage(const std::string& message) {
  std::fprintf(stderr, "error: %s (see --help)\n", message.c_str());
  return kExitUsage;
}

// --token-file wins over $REMORA_TOKEN (the token itself); whitespace around
// the token (a trailing newline) is not part of it.
remora::base::Result<std::string> loadToken(const Flags& flags) {
  std::string token;
  if (!flags.token_file.empty()) {
    auto text = readManifestFile(flags.token_file);
    if (!text) return text.error();
    token = *text;
  } else if (const char* env = std::getenv("REMORA_TOKEN")) {
    token = env;
  }
  const size_t first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  return token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
}

int runManifest(ApiTransport& api, const std::string& file, bool remove) {
  CommandOutput output;
  auto text = readManifestFile(file);
  if (!text) return finish({"", text.error().message + "\n"}, kExitError);
  auto manifest = parseManifest(*text, file);
  if (!manifest) return finish({"", "error: " + manifest.error().message + "\n"}, kExitError);
  const int code = remove ? runDeleteManifest(api, *manifest, output) : runApply(api, *manifest, output);
  return finish(output, code);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remoractl: manage a Remora mesh through remora-cp's API"};
  app.set_version_flag("--version", "remoractl 0.1.0");
  app.require_subcommand(1);
  Flags flags;
  app.add_option("--server", flags.server, "the control plane's API URL")->envname("REMORA_SERVER");
  app.add_option("--token-file", flags.token_file, "file holding the API bearer token (else $REMORA_TOKEN)");
  app.add_option("--ca-file", flags.ca_file, "CA certificate(s) to verify an https server with");
  app.add_option("--timeout", flags.timeout, "connect and read timeout: 5s, 500ms, 1m")->capture_default_str();

  const std::string kinds = "KIND: " + kindArgumentsHelp();
  CLI::App* apply = app.add_subcommand("apply", "create or update the objects of a YAML or JSON file");
  apply->add_option("-f,--filename", flags.file, "file to apply, - for stdin")->required();

  CLI::App* get = app.add_subcommand("get", "list objects, or show one\n" + kinds);
  get->add_option("kind", flags.kind, "what to list")->required();
  get->add_option("name", flags.name, "one object's name");
  get->add_option("-n,--namespace", flags.namespace_, "namespace (default: default)");
  get->add_flag("-A,--all-namespaces", flags.all_namespaces, "list across every namespace");
  get->add_option("-o,--output", flags.output, "table, json or yaml")->check(CLI::IsMember({"table", "json", "yaml"}));

  CLI::App* remove = app.add_subcommand("delete", "delete one object, or the objects of a file\n" + kinds);
  remove->add_option("kind", flags.kind, "kind of the object");
  remove->add_option("name", flags.name, "its name");
  remove->add_option("-n,--namespace", flags.namespace_, "namespace (default: default)");
  remove->add_option("-f,--filename", flags.file, "delete the objects this file describes, - for stdin");

  CLI::App* status = app.add_subcommand("proxy-status", "each connected proxy: xDS versions, ACK/NACK, last seen");
  status->add_option("-o,--output", flags.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));

  CLI::App* token_command = app.add_subcommand("token", "join tokens: what a new sidecar presents for its first certificate");
  token_command->require_subcommand(1);
  CLI::App* token_create = token_command->add_subcommand("create", "mint a token for one identity; prints only the token");
  token_create->add_option("-n,--namespace", flags.namespace_, "the identity's namespace (default: default)");
  token_create->add_option("-s,--service-account", flags.service_account, "the identity's service account")
      ->required();
  token_create->add_option("--ttl", flags.ttl, "how long the token is valid: 90s, 30m, 24h (default), 7d");
  CLI::App* token_list = token_command->add_subcommand("list", "every token (never the secret), expired ones too");
  token_list->add_option("-o,--output", flags.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  CLI::App* token_delete = token_command->add_subcommand("delete", "revoke a token by its id");
  token_delete->add_option("id", flags.token_id, "the id `token list` shows")->required();

  CLI::App* identity = app.add_subcommand("identity", "workloads with certificates: serial, expiry, proxies");
  identity->add_option("-o,--output", flags.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));

  CLI::App* ca = app.add_subcommand("ca", "the mesh CA: trusted roots and rotation");
  ca->require_subcommand(1);
  CLI::App* ca_status = ca->add_subcommand("status", "trust domain, signer, trusted roots, rotation phase");
  ca_status->add_option("-o,--output", flags.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
  CLI::App* ca_rotate = ca->add_subcommand("rotate", "one CA rotation step: prepare, activate, then finish");
  ca_rotate->add_option("phase", flags.phase, "prepare, activate or finish")
      ->required()
      ->check(CLI::IsMember({"prepare", "activate", "finish"}));

  CLI::App* proxy_config = app.add_subcommand("proxy-config", "what one sidecar runs, read from its admin endpoint");
  proxy_config->require_subcommand(1);
  CLI::App* endpoints = proxy_config->add_subcommand(
      "endpoints", "each upstream host: priority, health (healthy, ejected, unhealthy), ejected until, why");
  endpoints->add_option("--admin", flags.admin, "the sidecar's admin address, HOST:PORT")->required();
  endpoints->add_option("--cluster", flags.cluster, "only this cluster");
  endpoints->add_option("-o,--output", flags.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));

  CLI::App* store = app.add_subcommand("store", "the whole store as one JSON document: backup, restore, migration");
  store->require_subcommand(1);
  CLI::App* store_export = store->add_subcommand("export", "every object (join tokens too) as a StoreExport document");
  store_export->add_option("-o,--output", flags.export_file, "write it to this file instead of stdout");
  CLI::App* store_import =
      store->add_subcommand("import", "load a `store export` document into an empty store (409 if not empty)");
  store_import->add_option("-f,--filename", flags.file, "the document, - for stdin")->required();

  CLI::App* inject = app.add_subcommand(
      "inject", "add the Remora sidecar to the workloads of a Kubernetes manifest (prints the result)");
  inject->add_option("-f,--filename", flags.file, "manifest to inject, - for stdin")->required();
  inject->add_option("--control-plane", flags.inject.control_plane, "remora-cp's xDS address, HOST:PORT")
      ->capture_default_str();
  inject->add_option("--image", flags.inject.image, "the image holding remora-proxy")->capture_default_str();
  inject->add_option("--proxy-uid", flags.inject.proxy_uid, "the uid the sidecar runs as, excluded from capture")
      ->capture_default_str();
  inject->add_option("-o,--output", flags.inject_output, "yaml or json")->check(CLI::IsMember({"yaml", "json"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the message and usage hint
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (inject->parsed()) {
    // Offline: no control plane is contacted, so the API flags do not matter.
    flags.inject.format = flags.inject_output == "json" ? OutputFormat::kJson : OutputFormat::kYaml;
    CommandOutput output;
    return finish(output, runInject(flags.file, flags.inject, output));
  }
  auto timeout = parseTimeout(flags.timeout);
  if (!timeout) return usage(timeout.error().message);
  auto token = loadToken(flags);
  if (!token) return finish({"", token.error().message + "\n"}, kExitError);
  const auto format = outputFormatFromName(flags.output).value_or(OutputFormat::kTable);
  if (endpoints->parsed()) {
    // The admin endpoint is plain HTTP on loopback, without a token.
    ApiClientOptions admin_options{"http://" + flags.admin, "", "", *timeout, true};
    auto admin = HttpApiClient::create(std::move(admin_options));
    if (!admin) return usage("--admin: " + admin.error().message);
    CommandOutput output;
    return finish(output, runProxyConfigEndpoints(**admin, flags.cluster, format, output));
  }
  auto client = HttpApiClient::create({flags.server, *token, flags.ca_file, *timeout});
  if (!client) return usage(client.error().message);
  ApiTransport& api = **client;
  const auto now = std::chrono::system_clock::now();

  CommandOutput output;
  if (apply->parsed()) return runManifest(api, flags.file, false);
  if (get->parsed()) {
    return finish(output, runGet(api, {flags.kind, flags.name, flags.namespace_, flags.all_namespaces, format}, now,
                                 output));
  }
  if (remove->parsed()) {
    if (!flags.file.empty()) {
      if (!flags.kind.empty()) return usage("delete takes either -f FILE or KIND NAME, not both");
      return runManifest(api, flags.file, true);
    }
    if (flags.kind.empty() || flags.name.empty()) return usage("delete needs KIND and NAME, or -f FILE");
    return finish(output, runDelete(api, flags.kind, flags.name, flags.namespace_, output));
  }
  if (status->parsed()) return finish(output, runProxyStatus(api, format, now, output));
  if (token_create->parsed()) {
    return finish(output, runTokenCreate(api, flags.namespace_, flags.service_account, flags.ttl, output));
  }
  if (token_list->parsed()) return finish(output, runTokenList(api, format, now, output));
  if (token_delete->parsed()) return finish(output, runTokenDelete(api, flags.token_id, output));
  if (identity->parsed()) return finish(output, runIdentity(api, format, now, output));
  if (store_export->parsed()) return finish(output, runStoreExport(api, flags.export_file, output));
  if (store_import->parsed()) {
    auto text = readManifestFile(flags.file);
    if (!text) return finish({"", text.error().message + "\n"}, kExitError);
    return finish(output, runStoreImport(api, *text, flags.file == "-" ? "stdin" : flags.file, output));
  }
  if (ca_status->parsed()) return finish(output, runCaStatus(api, format, now, output));
  if (ca_rotate->parsed()) return finish(output, runCaRotate(api, flags.phase, now, output));
  return usage("no command given");
}

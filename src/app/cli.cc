#include "tiermirror/app/cli.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "tiermirror/app/commands.h"
#include "tiermirror/app/version.h"
#include "tiermirror/common/log.h"

namespace tiermirror::app {
namespace {

constexpr int kUsageError = 2;

std::string level_names() { return "trace, debug, info, warn, error"; }

/// `words`: the command as given, "frobnicate" or "audit frobnicate".
int unknown_command(const std::string& words) {
  auto parent = words.find_last_of(' ');
  std::cerr << "tiermirror: unknown command '" << words << "'; 'tiermirror help"
            << (parent == std::string::npos ? "" : " " + words.substr(0, parent)) << "' lists the commands\n";
  return kUsageError;
}

/// The subcommand `name` of `parent`, or null (CLI11's get_subcommand throws instead).
const CLI::App* find_subcommand(const CLI::App& parent, const std::string& name) {
  for (const CLI::App* sub : parent.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"tiermirror: identity-preserving Kafka mirror maker and tier replicator.\n"
               "Moves each source partition's record batches to the same partition on the target, in order,\n"
               "with their records sections byte-identical.",
               "tiermirror"};
  app.require_subcommand(1, 1);
  app.fallthrough();  // global options (--log-level) may follow the command
  app.footer("Run 'tiermirror COMMAND --help' for a command's options.");

  std::string log_level = "info", log_format = "text";
  app.add_option("--log-level", log_level, "Log level on stderr: " + level_names())
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", log_format, "Log line format on stderr: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Mirror the route a config file describes (until SIGTERM/SIGINT)");
  run_cmd->add_option("--config,-c", run.config_path, "Route configuration (YAML)")->required();
  run_cmd->add_flag("--until-caught-up", run.until_caught_up,
                    "Exit 0 once every partition is mirrored and committed up to the source's last stable\n"
                    "offset (its read_committed end, below the high watermark while a transaction is open)\n"
                    "as listed when the partition started");
  run_cmd->add_flag("--force-repack", run.force_repack,
                    "Benchmarks only: decompress and recompress every batch instead of forwarding it");

  std::string validate_path;
  auto* validate_cmd = app.add_subcommand("validate", "Check a config file and report every problem at once");
  validate_cmd->add_option("--config,-c", validate_path, "Route configuration (YAML)")->required();

  SyncCommandOptions sync;
  auto* sync_cmd = app.add_subcommand(
      "sync", "One pass of the partition-count syncer: create or grow target topics, check their configs");
  sync_cmd->add_option("--config,-c", sync.config_path, "Route configuration (YAML)")->required();
  sync_cmd->add_flag("--dry-run", sync.dry_run, "Print what would be done and every identity verdict; change nothing");

  MembersOptions members;
  auto* members_cmd = app.add_subcommand(
      "members", "List the members of the route's consumer group and the partitions each owns (scale-out)");
  members_cmd->add_option("--config,-c", members.config_path, "Route configuration (YAML)")->required();
  members_cmd->add_option("--format", members.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  DemoOptions demo;
  auto* demo_cmd = app.add_subcommand("demo", "Run tiermirror against in-process Kafka clusters (no broker needed)");
  demo_cmd->add_flag("--serve", demo.serve,
                     "Keep the in-process clusters up until interrupted and print their bootstrap addresses");
  demo_cmd->add_option("--records", demo.records_per_codec, "Records produced per codec")
      ->check(CLI::Range(1, 10000000));

  ProbeOptions probe;
  auto* probe_cmd = app.add_subcommand(
      "probe", "Ask a broker directly: API versions, brokers, topics, leaders; with --topic/--partition, raw batch headers");
  probe_cmd->add_option("--bootstrap,-b", probe.bootstrap, "HOST:PORT[,HOST:PORT...]")->required();
  auto* topic_opt = probe_cmd->add_option("--topic,-t", probe.topic, "Topic whose batches to print");
  probe_cmd->add_option("--partition,-p", probe.partition, "Partition whose batches to print")->needs(topic_opt);
  topic_opt->needs("--partition");
  probe_cmd->add_option("--offset,-o", probe.offset, "First offset to fetch (default: earliest)")->needs(topic_opt);
  probe_cmd->add_option("--count,-n", probe.count, "How many batches to print (default 10)")
      ->check(CLI::Range(1, 1000000))
      ->needs(topic_opt);
  probe_cmd->add_option("--timeout-ms", probe.timeout_ms, "Deadline of each request (default 10000)")
      ->check(CLI::Range(100, 600000));

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand("audit", "Read the tier audit: completeness per topic and time bucket");
  audit_cmd->require_subcommand(1, 1);
  auto* audit_report = audit_cmd->add_subcommand(
      "report", "Per topic and bucket: counts per cluster and tier, completeness, latency, open buckets");
  auto* audit_check = audit_cmd->add_subcommand(
      "check", "Exit 0 when TOPIC is complete in WINDOW, 1 when not, 2 when it cannot tell (gate a batch job)");
  auto* audit_scan = audit_cmd->add_subcommand(
      "scan", "Count what a cluster holds per bucket from batch headers (--exact: per record)");
  for (auto* sub : {audit_report, audit_check, audit_scan}) {
    sub->add_option("--bootstrap,-b", audit.bootstrap, "HOST:PORT[,HOST:PORT...]")->required();
    sub->add_option("--timeout-ms", audit.timeout_ms, "Deadline of each request (default 10000)")
        ->check(CLI::Range(100, 600000));
  }
  for (auto* sub : {audit_report, audit_check})
    sub->add_option("--audit-topic", audit.audit_topic, "The audit topic (default __tiermirror_audit)");
  for (auto* sub : {audit_report, audit_check})
    sub->add_option("--grace", audit.grace, "How long a bucket stays open for late data (default 10m)");
  audit_report->add_option("--topic,-t", audit.topic, "Only this topic");
  audit_check->add_option("--topic,-t", audit.topic, "The topic to check")->required();
  audit_scan->add_option("--topic,-t", audit.topic, "The topic to count")->required();
  for (auto* sub : {audit_report, audit_scan}) {
    sub->add_option("--from", audit.from, "Buckets starting at or after this UTC time (2026-11-22T10:00Z)");
    sub->add_option("--to", audit.to, "Buckets starting before this UTC time");
    sub->add_option("--format", audit.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  }
  audit_check->add_option("--window", audit.window, "START/DURATION, e.g. 2026-11-22T10:00Z/1h")->required();
  audit_check->add_option("--min-completeness", audit.min_completeness, "Target / source ratio needed (default 0.999)")
      ->check(CLI::Range(0.0, 1.0));
  audit_check
      ->add_option("--recount-source", audit.recount_sources,
                   "NAME=HOST:PORT[,HOST:PORT...] (repeatable): also count the window on source cluster NAME\n"
                   "(the routes' source.name) from batch headers and compare with the audit's source tier;\n"
                   "more there than the routes counted exits 1. Reads the whole topic there on each check")
      ->allow_extra_args(false);  // one cluster per occurrence: commas belong to its bootstrap list
  audit_scan->add_option("--bucket", audit.bucket, "Bucket length (default 10m, as the audit's default)");
  audit_scan->add_flag("--exact", audit.exact, "Decompress and count each record by its own timestamp");

  app.add_subcommand("version", "Print the version");
  auto* help_cmd = app.add_subcommand("help", "Print this help, or a command's (help audit check)");
  std::vector<std::string> help_topic;
  help_cmd->add_option("command", help_topic, "Command to describe");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    // A word where a command belongs that names none: CLI11 only says a command is required,
    // and the whole usage would bury the one thing that is wrong.
    const CLI::App* inner = &app;  // the innermost command given: tiermirror, audit
    std::string words;
    while (!inner->get_subcommands().empty()) {
      inner = inner->get_subcommands().front();
      words += inner->get_name() + " ";
    }
    if (inner->get_require_subcommand_min() > 0) {
      auto rest = app.remaining(true);  // a word after `audit` may land in the top level's list
      auto word = std::find_if(rest.begin(), rest.end(), [](const std::string& a) { return !a.starts_with("-"); });
      if (word != rest.end()) return unknown_command(words + *word);
    }
    // Other usage errors (unknown flag, missing value): message, then the usage of the innermost
    // command given (help() follows the parsed commands and names them: "tiermirror audit check").
    std::cerr << "tiermirror: " << e.what() << "\n\n" << app.help();
    return kUsageError;
  }

  // The demo reports on stdout; its routes' info logs would drown that unless asked for.
  if (demo_cmd->parsed() && !app.count("--log-level")) log_level = "warn";
  log::init(*log::parse_level(log_level), *log::parse_format(log_format));

  if (run_cmd->parsed()) {
    if (app.count("--log-level")) run.log_level = log_level;
    return cmd_run(run);
  }
  if (validate_cmd->parsed()) return cmd_validate(validate_path);
  if (sync_cmd->parsed()) return cmd_sync(sync);
  if (demo_cmd->parsed()) return cmd_demo(demo);
  if (probe_cmd->parsed()) return cmd_probe(probe);
  if (members_cmd->parsed()) return cmd_members(members);
  if (audit_cmd->parsed()) {
    audit.action = audit_check->parsed()  ? AuditOptions::Action::check
                   : audit_scan->parsed() ? AuditOptions::Action::scan
                                          : AuditOptions::Action::report;
    return cmd_audit(audit);
  }
  if (app.got_subcommand("version")) {
    std::cout << "tiermirror " << kVersion << "\n";
    return 0;
  }
  if (help_cmd->parsed()) {
    // app.help() would describe the parsed command, `help` itself; the formatter takes the
    // command to describe and the words that lead to it, which head its usage line.
    const CLI::App* topic = &app;
    std::string words;  // "audit check"
    for (const auto& word : help_topic) {
      words += (words.empty() ? "" : " ") + word;
      topic = find_subcommand(*topic, word);
      if (!topic) return unknown_command(words);
    }
    std::string usage_name = app.get_name() + (words.empty() ? "" : " " + words);
    std::cout << app.get_formatter()->make_help(topic, usage_name, CLI::AppFormatMode::Normal);
    return 0;
  }
  std::cerr << app.help();
  return kUsageError;
}

}  // namespace tiermirror::app

// Agent: wires the stages of DESIGN.md together for one run — the store,
// the mappings compiled into it, a decoder, a source, the web server — and
// runs the pipeline on the calling thread.
//
// Threading: Run blocks the caller; RequestStop may be called from any
// thread (or a signal handler: it only sets an atomic flag).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/checkpoint/checkpoint_file.h"
#include "agent/config/agent_config.h"
#include "agent/decode/decoder.h"
#include "agent/live/live_board.h"
#include "agent/main/process_metrics.h"
#include "agent/map/row_mapper.h"
#include "agent/notify/notifier.h"
#include "agent/pipeline/pipeline.h"
#include "agent/pipeline/pipeline_metrics.h"
#include "agent/remote/remote_writer.h"
#include "agent/rules/rule_manager.h"
#include "agent/source/source.h"
#include "agent/store/metric_store.h"
#include "agent/web/web_server.h"

namespace txmon {

class BinlogColumnCatalog;

struct AgentOptions {
  AgentConfig config;
  // Replay this JSON-lines file ("-": stdin) instead of consuming Kafka.
  std::string source_file;
  // Prometheus-style listen address; ":0" picks a free port.
  std::string web_listen_address = ":9464";
  // Base of alerts' generatorURL; empty: SCHEME://HOSTNAME:PORT.
  std::string web_external_url;
  // TLS and basic auth for every endpoint (--web.config.file).
  WebSecurity web_security;
  // POST /-/reload works only with this set (--web.enable-lifecycle), as in
  // Prometheus; SIGHUP always reloads.
  bool web_enable_lifecycle = false;
  PipelineOptions pipeline;
  // What Reload reads. Unset: LoadConfigFile(config.file). The demo sets it
  // to its compiled-in config with the embedded Kafka filled in, since
  // there is no file to re-read.
  std::function<Status(AgentConfig*)> load_config;
};

class Agent {
 public:
  // Builds everything and starts the web server; the source is created (and
  // connects in the background) but nothing is consumed until Run.
  static Status Create(AgentOptions options, std::unique_ptr<Agent>* out);
  ~Agent();

  // Consumes until RequestStop or the end of a file source.
  Status Run();
  void RequestStop() { stop_.store(true); }

  // Re-reads the config file it was started with and its rule files, as
  // Prometheus does on SIGHUP or POST /-/reload: new mappings reach the
  // pipeline between two batches, metrics of the same name, type and
  // labels keep their series, rules are replaced keeping the state of
  // alerts whose rule is unchanged. A config that is refused changes
  // nothing; the error names file, line and reason. Changes to the source
  // and time zone need a restart. Any thread; reloads run one at a time.
  // Sets txmon_config_last_reload_successful and ..._timestamp_seconds.
  Status Reload();

  // Every metric in the text exposition format, as /metrics serves it.
  std::string MetricsText();

  int web_port() const;
  const char* web_scheme() const;
  const std::string& web_address() const;
  MetricStore& store() { return store_; }
  RuleManager& rules() { return *rules_; }
  const Pipeline& pipeline() const { return *pipeline_; }

 private:
  Agent() = default;
  Status CreateSource();
  // Loads the checkpoint named in the pipeline options, if any: the store
  // gets its values, the source and pipeline its positions.
  Status RestoreCheckpoint();
  // With a Kafka hand-over: picks PATH or PATH.prev by what the group was
  // told last, and names this agent in the group.
  Status ChooseHandoverCheckpoint(Checkpoint* chosen, bool* found, std::string* read_from);
  // The rule manager over the store and the notifier it sends alerts to.
  Status CreateRules();
  std::string ExternalUrl() const;
  // One RemoteWriter per remote_write entry over the rules' history; they
  // start once the web port (their `instance` label) is known.
  Status CreateRemoteWriters();
  void StartRemoteWriters();
  // The live screen (GET /) and the board behind it, counting from the
  // checkpoint's baseline if it is today's, else from now.
  void StartLiveBoard();
  // txmon_config_last_reload_* (in agent_reload.cc, like Reload).
  Status RegisterReloadMetrics();
  Status ApplyReload(const AgentConfig& config);
  // The running source.binlog, or null when the source is Kafka or a file.
  const BinlogConfig* binlog_config() const {
    return options_.source_file.empty() && options_.config.source.has_binlog
               ? &options_.config.source.binlog
               : nullptr;
  }
  // Sets the reload metrics; at start after the checkpoint is restored, so
  // the start's load replaces the reload state saved in it.
  void RecordReload(bool ok);

  AgentOptions options_;
  std::atomic<bool> stop_{false};
  MetricStore store_;
  PipelineMetrics pipeline_metrics_;
  ProcessMetrics process_metrics_;
  std::unique_ptr<RowMapper> mapper_;
  std::unique_ptr<Decoder> decoder_;
  // source.binlog's column names, shared by the decoders of every reload.
  std::shared_ptr<BinlogColumnCatalog> binlog_columns_;
  std::unique_ptr<Source> source_;
  std::unique_ptr<Pipeline> pipeline_;
  // Destroyed before the notifier they send to, after the web server.
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<RuleManager> rules_;
  // Reads the store and rules_; destroyed after the web server streaming it.
  std::unique_ptr<LiveBoard> live_board_;
  std::unique_ptr<WebServer> web_;
  // remote_write: read rules_'s history; stopped before it goes.
  std::vector<std::unique_ptr<RemoteWriter>> remote_writers_;

  // Alerts read from the checkpoint, handed to the rules once they exist.
  std::vector<AlertCheckpoint> restored_alerts_;
  // The live board's baseline read from the checkpoint, handed to the board
  // once it exists.
  std::optional<DayBaselineCheckpoint> restored_day_baseline_;

  // PATH.lock of a hand-over checkpoint, held while the agent runs.
  int checkpoint_lock_fd_ = -1;

  std::mutex reload_mutex_;  // one Reload at a time
  Series* reload_successful_ = nullptr;
  Series* reload_timestamp_ = nullptr;
};

// POST /-/reload: 200 after a successful Reload, 500 with the reason after a
// refused one, 405 for other methods; 403 unless `enabled`
// (--web.enable-lifecycle).
HttpHandler ReloadHandler(Agent* agent, bool enabled);

}  // namespace txmon

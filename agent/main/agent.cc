#include "agent/main/agent.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <random>

#include "agent/base/civil_time.h"
#include "agent/base/log.h"
#include "agent/base/wall_clock.h"
#include "agent/checkpoint/checkpoint_file.h"
#include "agent/decode/decoder_factory.h"
#include "agent/live/live_alerts.h"
#include "agent/main/alert_checkpoint.h"
#include "agent/main/binlog_wiring.h"
#include "agent/main/handover_checkpoint.h"
#include "agent/main/live_board_checkpoint.h"
#include "agent/main/start_check.h"
#include "agent/source/file_source.h"
#include "agent/source/kafka_source.h"
#include "agent/web/live_page.h"
#include "agent/web/metrics_text.h"
#include "agent/web/prometheus_api.h"

namespace txmon {

Status Agent::Create(AgentOptions options, std::unique_ptr<Agent>* out) {
  std::unique_ptr<Agent> agent(new Agent());
  agent->options_ = std::move(options);
  const AgentConfig& config = agent->options_.config;

  // `txmon check config`'s verdict first, so the two never disagree.
  StartCheck check;
  if (Status s = CheckStart(config, !agent->options_.source_file.empty(), &check); !s.ok()) {
    return s;
  }
  for (const std::string& warning : check.warnings) {
    Log(LogLevel::kWarn, "config", "a rule selects a metric nothing produces", {{"at", warning}});
  }
  if (Status s = LocalZone::Use(config.time_zone); !s.ok()) {
    return Status::Error(config.file + ": global.time_zone: " + s.message());
  }
  if (Status s = agent->pipeline_metrics_.Register(agent->store_); !s.ok()) return s;
  if (Status s = agent->process_metrics_.Register(agent->store_); !s.ok()) return s;
  if (agent->binlog_config() != nullptr) {
    if (Status s = agent->pipeline_metrics_.RegisterReplica(agent->store_); !s.ok()) return s;
  }
  if (Status s = agent->RegisterReloadMetrics(); !s.ok()) return s;
  if (Status s = RowMapper::Compile(config.metrics, agent->store_, &agent->mapper_); !s.ok()) {
    return s;
  }
  DecodeSchema schema = agent->mapper_->decode_schema();
  schema.max_message_bytes = config.source.max_message_bytes;
  if (Status s = MakeDecoder(config.source.format, schema, agent->binlog_config(),
                             &agent->binlog_columns_, &agent->decoder_);
      !s.ok()) {
    return s;
  }
  if (Status s = agent->CreateSource(); !s.ok()) return s;
  Agent* self = agent.get();  // the rules exist before the pipeline runs
  agent->options_.pipeline.save_alerts = [self] { return SaveAlertState(*self->rules_); };
  // The board exists before Run, which runs the pipeline on Create's thread.
  agent->options_.pipeline.save_day_baseline = [self]() -> std::optional<DayBaselineCheckpoint> {
    if (!self->live_board_) return std::nullopt;
    return SaveLiveBoardBaseline(*self->live_board_);
  };
  agent->options_.pipeline.include_tables = config.source.include;
  agent->options_.pipeline.exclude_tables = config.source.exclude;
  agent->pipeline_ =
      std::make_unique<Pipeline>(*agent->source_, *agent->decoder_, *agent->mapper_, agent->store_,
                                 agent->pipeline_metrics_, agent->options_.pipeline);

  if (Status s = agent->RestoreCheckpoint(); !s.ok()) return s;
  agent->RecordReload(true);
  if (Status s = agent->CreateRules(); !s.ok()) return s;
  RestoreAlertState(agent->restored_alerts_, *agent->rules_);
  if (Status s = agent->CreateRemoteWriters(); !s.ok()) return s;

  WebServerOptions web;
  web.listen_address = agent->options_.web_listen_address;
  web.security = agent->options_.web_security;
  Source* source = agent->source_.get();
  web.ready = [source] { return source->Connected(); };
  MetricStore* store = &agent->store_;
  ProcessMetrics* process = &agent->process_metrics_;
  RuleManager* rules = agent->rules_.get();
  Notifier* notifier = agent->notifier_.get();
  const auto* writers = &agent->remote_writers_;
  web.collect_metrics = [store, process, rules, notifier, writers] {
    process->Refresh();
    std::vector<prometheus::MetricFamily> families = store->Collect();
    for (auto& family : rules->CollectMetrics()) families.push_back(std::move(family));
    for (auto& family : notifier->CollectMetrics()) families.push_back(std::move(family));
    for (auto& family : RemoteWriter::CollectMetrics(*writers)) {
      families.push_back(std::move(family));
    }
    return families;
  };
  if (Status s = WebServer::Start(std::move(web), &agent->web_); !s.ok()) {
    return Status::Error("web server: " + s.message());
  }
  // PromQL is parsed, evaluated and printed recursively: never on CivetWeb's
  // small worker stacks (RegisterPrometheusApi wraps each handler).
  RegisterPrometheusApi(agent->web_.get(), PrometheusApi{rules, &agent->store_, {}});
  agent->StartLiveBoard();
  agent->web_->Handle(
      "/-/reload", OnLargeStack(ReloadHandler(agent.get(), agent->options_.web_enable_lifecycle)));
  agent->rules_->Start();
  agent->StartRemoteWriters();
  Log(LogLevel::kInfo, "web", "serving metrics",
      {{"address", agent->web_->address()},
       {"url", std::string(agent->web_->scheme()) +
                   "://127.0.0.1:" + std::to_string(agent->web_->port()) + "/metrics"}});
  *out = std::move(agent);
  return Status::Ok();
}

Status Agent::CreateSource() {
  if (!options_.source_file.empty()) {
    std::unique_ptr<FileSource> file;
    if (Status s = FileSource::Create(options_.source_file, &file); !s.ok()) {
      return Status::Error("source file: " + s.message());
    }
    source_ = std::move(file);
    Log(LogLevel::kInfo, "source", "replaying a file", {{"path", options_.source_file}});
    return Status::Ok();
  }
  if (binlog_config() != nullptr) return CreateBinlogSource(options_.config, &source_);
  const KafkaConfig& kafka = options_.config.source.kafka;
  if (Status s = CheckConfiguredSource(options_.config); !s.ok()) return s;
  if (!kafka.handover_topic.empty() && options_.pipeline.checkpoint_path.empty()) {
    return Status::Error(options_.config.file +
                         ": source.kafka.handover_topic needs --checkpoint.file: the hand-over "
                         "publishes what the checkpoint holds");
  }
  KafkaSourceOptions kafka_options{kafka.brokers,      kafka.topics,     kafka.group_id,
                                   kafka.start_offset, kafka.properties, kafka.handover_topic};
  std::unique_ptr<KafkaSource> consumer;
  if (Status s = KafkaSource::Create(kafka_options, &consumer); !s.ok()) {
    return Status::Error("kafka source: " + s.message());
  }
  source_ = std::move(consumer);
  std::string topics;
  for (const std::string& topic : kafka.topics) topics += (topics.empty() ? "" : ",") + topic;
  Log(LogLevel::kInfo, "source", "consuming from kafka",
      {{"brokers", kafka.brokers}, {"topics", topics}, {"group_id", kafka.group_id}});
  return Status::Ok();
}

Status Agent::RestoreCheckpoint() {
  const std::string& path = options_.pipeline.checkpoint_path;
  if (path.empty()) return Status::Ok();
  Checkpoint checkpoint;
  bool found = false;
  std::string read_from;
  if (source_->HandsOver()) {
    if (Status s = ChooseHandoverCheckpoint(&checkpoint, &found, &read_from); !s.ok()) {
      return Status::Error("checkpoint: " + s.message());
    }
  } else if (Status s = ReadCheckpointFile(path, &checkpoint, &found, &read_from); !s.ok()) {
    return Status::Error("checkpoint: " + s.message());
  }
  if (!found) {
    Log(LogLevel::kInfo, "checkpoint", "no checkpoint yet: starting empty", {{"path", path}});
    return Status::Ok();
  }
  std::vector<std::string> skipped, notes;
  store_.Restore(checkpoint.store, &skipped, &notes);
  // The config changed under a saved metric: say which and how, loudly.
  for (const std::string& note : notes) {
    Log(LogLevel::kWarn, "checkpoint", "a saved metric does not match the config",
        {{"path", read_from}, {"change", note}});
  }
  restored_alerts_ = std::move(checkpoint.alerts);
  restored_day_baseline_ = std::move(checkpoint.day_baseline);
  source_->ResumeFrom(checkpoint.offsets);
  pipeline_->positions().Seed(checkpoint.offsets);
  std::string positions;
  for (const SourceOffset& o : checkpoint.offsets) {
    positions += (positions.empty() ? "" : ",") + o.topic + "/" + std::to_string(o.partition) +
                 "@" + std::to_string(o.next_offset);
  }
  std::string skipped_names;
  for (const std::string& name : skipped)
    skipped_names += (skipped_names.empty() ? "" : ",") + name;
  Log(LogLevel::kInfo, "checkpoint", "restored state and positions",
      {{"path", read_from},
       {"metrics", std::to_string(checkpoint.store.metrics.size())},
       {"alerts", std::to_string(restored_alerts_.size())},
       {"positions", positions},
       {"skipped_metrics", skipped_names}});
  return Status::Ok();
}

namespace {

// A name no other agent of the group has: the host, the process and some
// randomness. Kept in the checkpoint, so it stays the agent's for good.
std::string NewMemberName() {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  std::random_device random;
  char suffix[32];
  snprintf(suffix, sizeof suffix, "-%d-%08x%08x", static_cast<int>(getpid()), random(), random());
  return std::string(host) + suffix;
}

}  // namespace

// Of PATH and PATH.prev, the one whose sequence the hand-over topic last
// heard from this agent: the positions the group continues from are that
// file's, so its state is the one that counts them (DESIGN in kafka_source.h).
Status Agent::ChooseHandoverCheckpoint(Checkpoint* chosen, bool* found, std::string* read_from) {
  const std::string& path = options_.pipeline.checkpoint_path;
  // One process per checkpoint: `txmon retire` must not hand on the state
  // of an agent that still runs.
  if (Status s = LockCheckpoint(path, &checkpoint_lock_fd_); !s.ok()) return s;
  PublishedCheckpoint picked;
  if (Status s = FindPublishedCheckpoint(path, *source_, &picked); !s.ok()) return s;
  std::string member = picked.member;
  if (!member.empty()) {
    std::vector<RetireRecord> retires;
    if (Status s = source_->ReadRetires(&retires); !s.ok()) return s;
    for (const RetireRecord& r : retires) {
      if (r.member != member) continue;
      return Status::Error(
          path + " belongs to agent " + member +
          ", which was retired (txmon retire): another agent of the group counts its state now, "
          "so starting from it would count it twice. Move " +
          path + " and " + path + ".prev aside to start a new agent");
    }
  }
  if (picked.pick >= 0 && !picked.exact) {
    Log(picked.has_published ? LogLevel::kError : LogLevel::kWarn, "checkpoint",
        picked.has_published
            ? "no checkpoint file holds the sequence this agent last published: the "
              "group's sums may be off by what it counted since"
            : "no hand-over record of this agent yet: the group starts from this file",
        {{"member", member},
         {"published_seq", std::to_string(picked.published_seq)},
         {"file_seq", std::to_string(picked.checkpoint.handover_seq)}});
  }
  if (member.empty()) member = NewMemberName();
  pipeline_->SetHandover(member, picked.last_seq, picked.checkpoint.adopted);
  Log(LogLevel::kInfo, "checkpoint", "exact hand-over member",
      {{"member", member},
       {"published_seq", std::to_string(picked.published_seq)},
       {"chosen", picked.pick < 0 ? "none" : picked.file},
       {"adopted", std::to_string(picked.checkpoint.adopted.size())}});
  if (picked.pick < 0) return Status::Ok();
  *chosen = std::move(picked.checkpoint);
  *found = true;
  *read_from = picked.file;
  // PATH must hold the chosen state before the next write rotates PATH into
  // PATH.prev: an unpublished PATH would otherwise push out the published one.
  if (picked.pick == 1) return WriteCheckpointFile(path, *chosen);
  return Status::Ok();
}

Status Agent::CreateRules() {
  const AgentConfig& config = options_.config;
  NotifierOptions notify;
  notify.alertmanager_urls = config.alertmanager_urls;
  if (Status s = Notifier::Create(notify, &notifier_); !s.ok()) return s;
  RuleManagerOptions rule_options;
  rule_options.rule_files = config.rule_files;
  rule_options.evaluation_interval_ms = config.evaluation_interval_ms;
  rule_options.external_url = ExternalUrl();
  rule_options.history_retention_ms = config.history.retention_ms;
  rule_options.history_resolution_ms = config.history.resolution_ms;
  rule_options.history_max_bytes = config.history.max_bytes;
  std::vector<Label> external;
  for (const auto& [name, value] : config.external_labels) external.push_back({name, value});
  rule_options.external_labels = Labels(std::move(external));
  Notifier* notifier = notifier_.get();
  rule_options.notify = [notifier](std::vector<AlertmanagerAlert> alerts) {
    notifier->Send(std::move(alerts));
  };
  if (Status s = RuleManager::Create(rule_options, &store_, &rules_); !s.ok()) {
    return Status::Error("rules: " + s.message());
  }
  size_t groups = rules_->groups().size();
  Log(LogLevel::kInfo, "rules", "loaded rule files",
      {{"groups", std::to_string(groups)},
       {"interval", std::to_string(config.evaluation_interval_ms) + "ms"},
       {"alertmanagers", std::to_string(config.alertmanager_urls.size())}});
  return Status::Ok();
}

Status Agent::CreateRemoteWriters() {
  const AgentConfig& config = options_.config;
  const int64_t start_ms = WallClockMs();
  for (const RemoteWriteConfig& rw : config.remote_write) {
    RemoteWriterOptions options;
    options.name = rw.name.empty() ? rw.url : rw.name;
    RemoteWriteEndpoint& e = options.endpoint;
    e.url = rw.url;
    e.timeout = std::chrono::milliseconds(rw.remote_timeout_ms);
    e.headers = rw.headers;
    e.basic_auth_username = rw.basic_auth_username;
    e.basic_auth_password = rw.basic_auth_password;
    e.authorization_type = rw.authorization_type;
    e.authorization_credentials = rw.authorization_credentials;
    e.tls_ca_file = rw.tls_ca_file;
    e.tls_cert_file = rw.tls_cert_file;
    e.tls_key_file = rw.tls_key_file;
    e.tls_server_name = rw.tls_server_name;
    e.tls_insecure_skip_verify = rw.tls_insecure_skip_verify;
    options.capacity = rw.capacity;
    options.max_samples_per_send = rw.max_samples_per_send;
    options.batch_send_deadline = std::chrono::milliseconds(rw.batch_send_deadline_ms);
    options.min_backoff = std::chrono::milliseconds(rw.min_backoff_ms);
    options.max_backoff = std::chrono::milliseconds(rw.max_backoff_ms);
    options.resolution_ms = config.history.resolution_ms;
    // The history starts empty at each start: nothing before it was read,
    // so nothing older than what the last run sent goes out again.
    options.min_timestamp_ms = start_ms;
    // ... and, beside the checkpoint, the newest timestamp it may have sent,
    // so that a clock that went back does not resend either.
    if (!options_.pipeline.checkpoint_path.empty()) {
      std::string file = options_.pipeline.checkpoint_path + ".remote_write.";
      for (char c : options.name) file += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      options.sent_file = file;
    }
    std::unique_ptr<RemoteWriter> writer;
    if (Status s = RemoteWriter::Create(std::move(options), &rules_->history(), &writer); !s.ok()) {
      return Status::Error("remote_write: " + s.message());
    }
    remote_writers_.push_back(std::move(writer));
  }
  return Status::Ok();
}

void Agent::StartRemoteWriters() {
  if (remote_writers_.empty()) return;
  // What a scrape would add: job and instance (this host and the port
  // served), then the external labels, so two agents never write the same
  // series. A label the series or the external labels set wins.
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  std::vector<Label> target;
  for (const auto& [name, value] : options_.config.external_labels) target.push_back({name, value});
  Labels external(std::move(target));
  LabelsBuilder builder(external);
  if (!external.Has("job")) builder.Set("job", "txmon");
  if (!external.Has("instance")) {
    builder.Set("instance", std::string(host) + ":" + std::to_string(web_->port()));
  }
  Labels labels = builder.Build();
  for (const auto& writer : remote_writers_) {
    writer->Start(labels);
    Log(LogLevel::kInfo, "remote_write", "writing every series to remote storage",
        {{"remote_name", writer->name()},
         {"url", writer->url()},
         {"instance", std::string(labels.Get("instance"))}});
  }
}

std::string Agent::ExternalUrl() const {
  if (!options_.web_external_url.empty()) return options_.web_external_url;
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  std::string address = options_.web_listen_address;
  const char* scheme = options_.web_security.tls ? "https" : "http";
  return std::string(scheme) + "://" + std::string(host) + ":" +
         address.substr(address.rfind(':') + 1);
}

void Agent::StartLiveBoard() {
  LiveBoardOptions options;
  options.time_zone = options_.config.time_zone;
  const LiveConfig& live = options_.config.live;
  options.names =
      LiveMetricNames{live.orders,        live.paid_orders,    live.gmv,     live.payment_time,
                      live.channel_label, live.province_label, live.currency};
  options.alerts = LiveAlertsFrom(rules_.get());
  Source* source = source_.get();
  options.scope = [source]() -> std::string {
    size_t owned = 0, total = 0;
    if (!source->CountPartitions(&owned, &total)) return "";
    const std::string of = total > 0 ? " of " + std::to_string(total) : "";
    return std::to_string(owned) + of + (total == 1 && owned == 1 ? " partition" : " partitions");
  };
  live_board_ = std::make_unique<LiveBoard>(&store_, std::move(options), WallClockMs());
  if (restored_day_baseline_) {
    const bool today = RestoreLiveBoardBaseline(*restored_day_baseline_, *live_board_);
    Log(LogLevel::kInfo, "live",
        today ? "today's figures continue from the checkpoint"
              : "the checkpoint's day is over: today counts from now");
  }
  RegisterLivePage(web_.get(), live_board_.get());
  live_board_->Start();
}

Agent::~Agent() {
  if (web_) web_->Stop();
  for (const auto& writer : remote_writers_) writer->Stop();
  if (live_board_) live_board_->Stop();
  if (rules_) rules_->Stop();
  if (notifier_) notifier_->Stop();
  if (source_) source_->Close();
  if (checkpoint_lock_fd_ >= 0) close(checkpoint_lock_fd_);
}

Status Agent::Run() {
  Status status = pipeline_->Run(stop_);
  source_->Close();
  Log(LogLevel::kInfo, "pipeline", "stopped",
      {{"messages", std::to_string(pipeline_->messages_processed())}});
  return status;
}

std::string Agent::MetricsText() {
  process_metrics_.Refresh();
  std::vector<prometheus::MetricFamily> families = store_.Collect();
  for (auto& family : rules_->CollectMetrics()) families.push_back(std::move(family));
  for (auto& family : notifier_->CollectMetrics()) families.push_back(std::move(family));
  return SerializeMetricsText(families);
}

int Agent::web_port() const { return web_->port(); }
const char* Agent::web_scheme() const { return web_->scheme(); }
const std::string& Agent::web_address() const { return web_->address(); }

}  // namespace txmon

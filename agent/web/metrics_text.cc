#include "agent/web/metrics_text.h"

#include <cmath>
#include <string_view>

#include "agent/base/float_text.h"

namespace txmon {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// HELP text escapes backslash and newline; label values also the quote.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Summary:
      return "summary";
    default:
      return "untyped";
  }
}

// name{labels[,extra="value"]} value[ timestamp]\n
class SampleWriter {
 public:
  SampleWriter(std::string& out, const MetricFamily& family, const ClientMetric& metric)
      : out_(out), family_(family), metric_(metric) {}

  void Write(std::string_view suffix, double value, std::string_view extra_name = {},
             std::string_view extra_value = {}) {
    out_ += family_.name;
    out_ += suffix;
    bool any = false;
    for (const ClientMetric::Label& label : metric_.label)
      AppendLabel(any, label.name, label.value);
    if (!extra_name.empty()) AppendLabel(any, extra_name, extra_value);
    if (any) out_ += '}';
    out_ += ' ';
    AppendFloatExact(out_, value);
    if (metric_.timestamp_ms != 0) {
      out_ += ' ';
      out_ += std::to_string(metric_.timestamp_ms);
    }
    out_ += '\n';
  }

 private:
  void AppendLabel(bool& any, std::string_view name, std::string_view value) {
    out_ += any ? ',' : '{';
    any = true;
    out_ += name;
    out_ += "=\"";
    AppendEscaped(out_, value, true);
    out_ += '"';
  }

  std::string& out_;
  const MetricFamily& family_;
  const ClientMetric& metric_;
};

void AppendHistogram(SampleWriter& writer, const ClientMetric::Histogram& histogram) {
  bool has_inf = false;
  for (const ClientMetric::Bucket& bucket : histogram.bucket) {
    has_inf = has_inf || std::isinf(bucket.upper_bound);
    writer.Write("_bucket", static_cast<double>(bucket.cumulative_count), "le",
                 FormatFloatExact(bucket.upper_bound));
  }
  if (!has_inf) writer.Write("_bucket", static_cast<double>(histogram.sample_count), "le", "+Inf");
  writer.Write("_sum", histogram.sample_sum);
  writer.Write("_count", static_cast<double>(histogram.sample_count));
}

void AppendSummary(SampleWriter& writer, const ClientMetric::Summary& summary) {
  for (const ClientMetric::Quantile& quantile : summary.quantile) {
    writer.Write("", quantile.value, "quantile", FormatFloatExact(quantile.quantile));
  }
  writer.Write("_sum", summary.sample_sum);
  writer.Write("_count", static_cast<double>(summary.sample_count));
}

void AppendMetric(std::string& out, const MetricFamily& family, const ClientMetric& metric) {
  SampleWriter writer(out, family, metric);
  switch (family.type) {
    case MetricType::Counter:
      writer.Write("", metric.counter.value);
      break;
    case MetricType::Gauge:
      writer.Write("", metric.gauge.value);
      break;
    case MetricType::Histogram:
      AppendHistogram(writer, metric.histogram);
      break;
    case MetricType::Summary:
      AppendSummary(writer, metric.summary);
      break;
    default:
      writer.Write("", metric.untyped.value);
      break;
  }
}

}  // namespace

std::string SerializeMetricsText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    if (family.metric.empty()) continue;
    out += "# HELP ";
    out += family.name;
    out += ' ';
    AppendEscaped(out, family.help, false);
    out += "\n# TYPE ";
    out += family.name;
    out += ' ';
    out += TypeName(family.type);
    out += '\n';
    for (const ClientMetric& metric : family.metric) AppendMetric(out, family, metric);
  }
  return out;
}

}  // namespace txmon

#pragma once
// What /metrics serves: a prometheus::Registry whose counters and histograms the data path
// updates as things happen, plus families computed at scrape time from a state snapshot
// (gauges such as lag). The metrics layer stays generic: it knows no route or pipeline types;
// the app layer turns route state into families (docs/architecture.md, layer table).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace tiermirror::metrics {

/// Prometheus text exposition format 0.0.4.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class Exposition {
 public:
  Exposition();

  /// Counters, gauges and histograms registered here are served with every scrape; other
  /// layers (audit) register their families on it. Thread-safe (prometheus-cpp locks).
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  /// The registry's families followed by `extra` (families computed for this scrape),
  /// serialized in the text format. Family names must not repeat across the two.
  std::string render(const std::vector<prometheus::MetricFamily>& extra = {}) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

/// Serializes families in the text format.
std::string serialize(const std::vector<prometheus::MetricFamily>& families);

/// A family to fill with add_sample (scrape-time gauges and counters).
prometheus::MetricFamily make_family(std::string name, std::string help, prometheus::MetricType type);
/// Appends one sample; `value` goes to the gauge or counter slot per the family's type.
void add_sample(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value);

/// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view s);

}  // namespace tiermirror::metrics

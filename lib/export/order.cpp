// Deployment order: a topological sort (Kahn) with a priority that puts global types,
// and whatever they need, first; ties broken by address then GUID so the order is
// the same on every run. Nodes left over sit on or behind a cycle; Tarjan's strongly
// connected components name each cycle. Pure.
#include <algorithm>
#include <array>
#include <compare>
#include <deque>
#include <queue>
#include <span>
#include <unordered_map>

#include "export/export_impl.h"

namespace ferry::exporter::detail {

namespace {

/// node -> the nodes it refers to (its dependencies), or the reverse: one array for
/// all nodes (100k small vectors were ~10 MB of an export's peak memory).
class Edges {
 public:
  size_t size() const { return begin_.size() - 1; }
  std::span<const uint32_t> operator[](size_t n) const {
    return std::span(to_).subspan(begin_[n], begin_[n + 1] - begin_[n]);
  }
  /// Node by node, in order: the next node's edges.
  void add(std::span<const uint32_t> to) {
    to_.insert(to_.end(), to.begin(), to.end());
    begin_.push_back(static_cast<uint32_t>(to_.size()));
  }
  /// Every edge turned around, each node's list in increasing order.
  Edges reversed() const;

 private:
  std::vector<uint32_t> begin_{0};
  std::vector<uint32_t> to_;
};

Edges Edges::reversed() const {
  Edges out;
  out.begin_.assign(size() + 1, 0);
  for (uint32_t d : to_) ++out.begin_[d + 1];
  for (size_t n = 0; n < size(); ++n) out.begin_[n + 1] += out.begin_[n];
  out.to_.resize(to_.size());
  std::vector<uint32_t> fill(out.begin_.begin(), out.begin_.end() - 1);
  for (size_t n = 0; n < size(); ++n) {
    for (uint32_t d : (*this)[n]) out.to_[fill[d]++] = static_cast<uint32_t>(n);
  }
  return out;
}

/// The tie-break of one node: its address "TYPE:/FOLDER/NAME", a newline and its
/// GUID, compared as that text but never built (100k such strings were ~13 MB).
struct Key {
  std::array<std::string_view, 7> parts;
  Key(const catalog::ObjectTable& t, size_t row)
      : parts{t.type(row), ":",         t.folder(row) == "/" ? std::string_view() : std::string_view(t.folder(row)),
              "/",         t.name(row), "\n",
              t.guid(row)} {}
  friend std::strong_ordering operator<=>(const Key& a, const Key& b) {
    size_t ia = 0, ib = 0, ca = 0, cb = 0;  // part and character positions
    for (;;) {
      while (ia < a.parts.size() && ca == a.parts[ia].size()) ++ia, ca = 0;
      while (ib < b.parts.size() && cb == b.parts[ib].size()) ++ib, cb = 0;
      bool a_end = ia == a.parts.size();
      bool b_end = ib == b.parts.size();
      if (a_end || b_end) return b_end <=> a_end;  // the shorter text first
      auto x = static_cast<unsigned char>(a.parts[ia][ca++]);
      auto y = static_cast<unsigned char>(b.parts[ib][cb++]);
      if (x != y) return x <=> y;
    }
  }
  friend bool operator==(const Key& a, const Key& b) { return (a <=> b) == 0; }
};

struct Graph {
  const catalog::ObjectTable& table;
  std::vector<size_t> objects;  ///< node -> row in the snapshot
  Edges deps;
  Edges dependents;

  /// Built when compared rather than kept: 112 bytes a node.
  Key key(size_t n) const { return Key(table, objects[n]); }
};

Graph build_graph(const Index& index, const std::vector<size_t>& chosen) {
  const auto& table = index.objects;
  Graph g{table, chosen, {}, {}};
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> node_of(table.size(), kNone);
  for (size_t n = 0; n < chosen.size(); ++n) node_of[chosen[n]] = static_cast<uint32_t>(n);
  std::vector<uint32_t> deps;
  for (size_t n = 0; n < chosen.size(); ++n) {
    deps.clear();
    for (const auto& ref : table.refs(chosen[n])) {
      if (table.resolved(ref) && node_of[ref.target] != kNone) deps.push_back(node_of[ref.target]);
    }
    std::sort(deps.begin(), deps.end());
    deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
    g.deps.add(deps);
  }
  g.dependents = g.deps.reversed();
  return g;
}

// Rank 0: global objects and everything they depend on (so "globals first" holds
// whenever the graph allows it); rank 1: the rest.
std::vector<int> ranks(const Graph& g, const Index& index, const types::TypeRegistry& types) {
  std::vector<int> rank(g.objects.size(), 1);
  std::vector<size_t> stack;
  for (size_t n = 0; n < g.objects.size(); ++n) {
    const types::TypeDef* t = types.find(index.objects.type(g.objects[n]));
    if (t && t->global) rank[n] = 0, stack.push_back(n);
  }
  while (!stack.empty()) {
    size_t n = stack.back();
    stack.pop_back();
    for (size_t d : g.deps[n]) {
      if (rank[d] == 1) rank[d] = 0, stack.push_back(d);
    }
  }
  return rank;
}

// Kahn's algorithm; returns the ordered nodes (fewer than all when there is a cycle).
std::vector<size_t> kahn(const Graph& g, const std::vector<int>& rank) {
  auto later = [&](size_t a, size_t b) {
    if (rank[a] != rank[b]) return rank[a] > rank[b];
    return g.key(a) > g.key(b);
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> ready(later);
  std::vector<size_t> waiting(g.objects.size());
  for (size_t n = 0; n < g.objects.size(); ++n) {
    waiting[n] = g.deps[n].size();
    if (waiting[n] == 0) ready.push(n);
  }
  std::vector<size_t> out;
  while (!ready.empty()) {
    size_t n = ready.top();
    ready.pop();
    out.push_back(n);
    for (size_t d : g.dependents[n]) {
      if (--waiting[d] == 0) ready.push(d);
    }
  }
  return out;
}

/// Tarjan's strongly connected components over the active nodes, iteratively (a long
/// chain must not exhaust the worker's stack).
class Components {
 public:
  Components(const Edges& edges, const std::vector<char>& active) : edges_(edges), active_(active) {}
  std::vector<std::vector<size_t>> run();

 private:
  void visit(size_t start);
  void enter(size_t n);
  void leave(size_t n);

  const Edges& edges_;
  const std::vector<char>& active_;
  std::vector<long> index_ = std::vector<long>(edges_.size(), -1);
  std::vector<long> low_ = std::vector<long>(edges_.size(), 0);
  std::vector<char> on_stack_ = std::vector<char>(edges_.size(), 0);
  std::vector<size_t> stack_;
  std::vector<std::pair<size_t, size_t>> calls_;  ///< node, next edge to look at
  long counter_ = 0;
  std::vector<std::vector<size_t>> out_;
};

std::vector<std::vector<size_t>> Components::run() {
  for (size_t n = 0; n < edges_.size(); ++n) {
    if (active_[n] && index_[n] < 0) visit(n);
  }
  return std::move(out_);
}

void Components::enter(size_t n) {
  index_[n] = low_[n] = counter_++;
  stack_.push_back(n);
  on_stack_[n] = 1;
  calls_.push_back({n, 0});
}

void Components::leave(size_t n) {
  if (low_[n] == index_[n]) {
    std::vector<size_t> component;
    size_t m = 0;
    do {
      m = stack_.back();
      stack_.pop_back();
      on_stack_[m] = 0;
      component.push_back(m);
    } while (m != n);
    out_.push_back(std::move(component));
  }
  calls_.pop_back();
  if (!calls_.empty()) low_[calls_.back().first] = std::min(low_[calls_.back().first], low_[n]);
}

void Components::visit(size_t start) {
  enter(start);
  while (!calls_.empty()) {
    auto [n, next] = calls_.back();
    if (next == edges_[n].size()) {
      leave(n);
      continue;
    }
    ++calls_.back().second;
    size_t m = edges_[n][next];
    if (!active_[m]) continue;
    if (index_[m] < 0)
      enter(m);
    else if (on_stack_[m])
      low_[n] = std::min(low_[n], index_[m]);
  }
}

// The shortest way from the component's first node (by address) back to itself.
std::vector<size_t> cycle_in(const Graph& g, std::vector<size_t> component) {
  std::sort(component.begin(), component.end(), [&](size_t a, size_t b) { return g.key(a) < g.key(b); });
  std::unordered_map<size_t, size_t> parent;  // node -> the node it was reached from
  std::vector<char> member(g.objects.size(), 0);
  for (size_t n : component) member[n] = 1;
  size_t start = component.front();
  std::deque<size_t> queue{start};
  while (!queue.empty() && !parent.contains(start)) {
    size_t n = queue.front();
    queue.pop_front();
    for (size_t d : g.deps[n]) {
      if (!member[d] || parent.contains(d)) continue;
      parent[d] = n;
      queue.push_back(d);
    }
  }
  std::vector<size_t> path{start};
  for (size_t n = parent.at(start); n != start; n = parent.at(n)) path.push_back(n);
  path.push_back(start);
  std::reverse(path.begin() + 1, path.end() - 1);
  return path;
}

void report_cycles(const Graph& g, const Index& index, const std::vector<size_t>& ordered, Problems& problems) {
  std::vector<char> left(g.objects.size(), 1);
  for (size_t n : ordered) left[n] = 0;
  auto components = Components(g.deps, left).run();
  std::vector<std::string> messages;
  for (auto& c : components) {
    bool self_loop = c.size() == 1 && std::binary_search(g.deps[c[0]].begin(), g.deps[c[0]].end(), c[0]);
    if (c.size() < 2 && !self_loop) continue;  // only behind a cycle, not on one
    std::string text = "dependency cycle: ";
    auto path = cycle_in(g, std::move(c));
    for (size_t k = 0; k < path.size(); ++k) text += (k ? " -> " : "") + describe(index.objects, g.objects[path[k]]);
    messages.push_back(std::move(text));
  }
  std::sort(messages.begin(), messages.end());
  for (auto& m : messages) problems.conflict(std::move(m));
}

}  // namespace

std::vector<size_t> deployment_order(const Index& index, const std::vector<size_t>& chosen,
                                     const types::TypeRegistry& types, Problems& problems) {
  Graph g = build_graph(index, chosen);
  auto ordered = kahn(g, ranks(g, index, types));
  if (ordered.size() < chosen.size()) report_cycles(g, index, ordered, problems);
  std::vector<size_t> out;
  out.reserve(ordered.size());
  for (size_t n : ordered) out.push_back(g.objects[n]);
  return out;
}

}  // namespace ferry::exporter::detail

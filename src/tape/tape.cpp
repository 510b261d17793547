#include "svertka/tape/tape.hpp"

#include <fmt/format.h>

#include "svertka/core/memory.hpp"

namespace svertka::tape {

namespace {
constexpr std::size_t chunk_bytes = 64 * 1024;
}

Arena::~Arena() {
  for (const Chunk& c : chunks_) memory::deallocate(c.data, c.size);
}

void* Arena::allocate(std::size_t bytes, std::size_t align) {
  while (current_ < chunks_.size()) {
    const Chunk& c = chunks_[current_];
    const std::size_t start = (used_ + align - 1) & ~(align - 1);
    if (start + bytes <= c.size) {
      used_ = start + bytes;
      return c.data + start;
    }
    ++current_;
    used_ = 0;
  }
  // chunks are 64-byte aligned (memory::alignment), enough for any node
  const std::size_t size = bytes > chunk_bytes ? bytes : chunk_bytes;
  chunks_.push_back({static_cast<char*>(memory::allocate(size)), size});
  current_ = chunks_.size() - 1;
  used_ = bytes;
  return chunks_.back().data;
}

void Arena::reset() noexcept {
  current_ = 0;
  used_ = 0;
}

std::size_t Arena::reserved_bytes() const {
  std::size_t n = 0;
  for (const Chunk& c : chunks_) n += c.size;
  return n;
}

Tape::Tape() { nodes_.reserve(1024); }

Tape::~Tape() { clear(); }

Tape& Tape::current() {
  thread_local Tape tape;
  return tape;
}

void Tape::clear() noexcept {
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) (*it)->~NodeBase();
  nodes_.clear();
  arena_.reset();
  ++generation_;
}

void Tape::reset_interior_grads(NodeBase* root) {
  for (std::uint32_t i = 0; i <= root->index; ++i)
    if (!nodes_[i]->leaf) nodes_[i]->reset_grad();
}

void Tape::run_backward(NodeBase* root, bool retain_graph) {
  for (std::int64_t i = root->index; i >= 0; --i) {
    NodeBase* n = nodes_[static_cast<std::size_t>(i)];
    if (n->leaf || !n->has_grad()) continue;
    if (n->freed)
      throw OptionError(fmt::format("backward: the graph through '{}' (node {}) was freed by an earlier backward(); "
                                    "record the computation again, or pass retain_graph = true to the first backward",
                                    n->op_name(), n->index));
    n->backward();
    if (!retain_graph) n->freed = true;
  }
}

}  // namespace svertka::tape

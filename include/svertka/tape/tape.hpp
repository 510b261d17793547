#ifndef SVERTKA_TAPE_TAPE_HPP
#define SVERTKA_TAPE_TAPE_HPP
//! @file
//! The dynamic engine's recording: one `Tape` per thread, nodes allocated from its arena.
//!
//! Ops append nodes as C++ runs; the order of the node list is a topological order, so backward is a
//! reverse walk from the root. `clear()` destroys every node and resets the arena, keeping its chunks
//! and the node list's capacity: a training step that records the same graph as the previous one
//! allocates nothing from the heap.

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "svertka/core/error.hpp"

namespace svertka::tape {

//! What the tape knows of every node, whatever its element type and op.
class NodeBase {
 public:
  virtual ~NodeBase() = default;
  //! Adds this node's gradient into its inputs' gradients (an op node), or nothing (a leaf).
  virtual void backward() = 0;
  //! Drops the gradient of an interior node before a new backward pass.
  virtual void reset_grad() = 0;
  virtual bool has_grad() const = 0;
  virtual std::string_view op_name() const = 0;

  std::uint32_t index = 0;     //!< position in the tape's node list
  bool requires_grad = false;  //!< some leaf below it is a parameter (and grad mode was on)
  bool leaf = true;            //!< a constant or a parameter, not the output of an op
  bool freed = false;          //!< consumed by a backward pass without retain_graph
};

//! Bump allocator over 64 KiB (or larger) chunks; `reset()` keeps the chunks for reuse.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena();
  void* allocate(std::size_t bytes, std::size_t align);
  void reset() noexcept;
  std::size_t reserved_bytes() const;

 private:
  struct Chunk {
    char* data;
    std::size_t size;
  };
  std::vector<Chunk> chunks_;
  std::size_t current_ = 0;  // chunk being filled
  std::size_t used_ = 0;     // bytes used in it
};

//! The recording of one thread. Obtain it with `Tape::current()`; users normally only call
//! `svertka::tape::clear()`.
class Tape {
 public:
  Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  ~Tape();

  //! The calling thread's tape.
  static Tape& current();

  //! Constructs a node in the arena and appends it.
  template <class Node, class... Args>
  Node* make(Args&&... args) {
    void* mem = arena_.allocate(sizeof(Node), alignof(Node));
    Node* n = ::new (mem) Node(std::forward<Args>(args)...);
    n->index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.push_back(n);
    return n;
  }

  //! Destroys all nodes; Vars recorded before become stale (their values stay readable).
  void clear() noexcept;
  //! Reverse pass from `root`, whose gradient the caller has already seeded.
  void run_backward(NodeBase* root, bool retain_graph);
  //! Drops the gradients of interior nodes up to `root` (before seeding a new backward pass).
  void reset_interior_grads(NodeBase* root);

  std::uint64_t generation() const { return generation_; }
  std::size_t size() const { return nodes_.size(); }
  bool grad_enabled() const { return grad_enabled_; }
  void set_grad_enabled(bool on) { grad_enabled_ = on; }

 private:
  Arena arena_;
  std::vector<NodeBase*> nodes_;
  std::uint64_t generation_ = 1;
  bool grad_enabled_ = true;
};

//! Drops the calling thread's recorded graph (call once per training step, after the update).
inline void clear() { Tape::current().clear(); }

//! While alive, ops on this thread record nothing and their results need no gradient.
class NoGrad {
 public:
  NoGrad() : previous_(Tape::current().grad_enabled()) { Tape::current().set_grad_enabled(false); }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;
  ~NoGrad() { Tape::current().set_grad_enabled(previous_); }

 private:
  bool previous_;
};

}  // namespace svertka::tape

#endif  // SVERTKA_TAPE_TAPE_HPP

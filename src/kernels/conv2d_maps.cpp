// Column blocks and panel maps of the GEMM path (see conv2d_maps.hpp).

#include "conv2d_maps.hpp"

#include <algorithm>

namespace svertka::kernels::conv {
namespace {

constexpr i64 group_cols = 512;  // small images are grouped into ≥ this many columns

struct BuildCtx {
  const Setup* s;
  ColumnMaps* cm;
  PanelMap* maps;
  i32* lanes;
  bool window;
};

// Classifies one panel from its offsets (and lane images); hw is the plane size.
void classify(PanelMap& m, const i32* img, i64 nr, bool window, i64 hw) {
  int valid = 0, first = -1;
  bool same = true, consecutive = true;
  m.image = img[0] >= 0 ? img[0] : 0;
  for (i64 i = 0; i < nr; ++i) {
    if (m.off[i] < 0) continue;
    if (first < 0) first = static_cast<int>(i);
    ++valid;
    same = same && img[i] == m.image;
    consecutive = consecutive && m.off[i] - m.off[first] == i - first;
  }
  m.base = first >= 0 ? m.off[first] - first : 0;
  m.lo[0] = m.lo[1] = 0;
  m.span[0] = m.span[1] = 0;
  m.inside[0] = m.inside[1] = 0;
  auto inside = [&](i64 at) { return at >= 0 && at + 8 <= hw; };
  if (valid == 0) m.kind = Kind::zero;
  else if (!same) m.kind = Kind::mixed;
  else if (consecutive) m.kind = valid == nr ? Kind::contiguous : Kind::masked;
  else m.kind = Kind::gather;
  if (m.kind == Kind::masked && nr == 16)
    for (int h = 0; h < 2; ++h) m.inside[h] = inside(m.base + 8 * h) ? 1 : 0;
  m.wone = false;
  if (m.kind != Kind::gather || !window) return;
  for (int h = 0; h < 2; ++h) {
    i32 lo = -1, hi = -1;
    for (i64 i = h * nr / 2; i < (h + 1) * nr / 2; ++i)
      if (m.off[i] >= 0) {
        lo = lo < 0 ? m.off[i] : std::min(lo, m.off[i]);
        hi = std::max(hi, m.off[i]);
      }
    m.lo[h] = lo < 0 ? 0 : lo;
    m.span[h] = lo < 0 ? 0 : hi - lo + 1;
    if (m.span[h] > 16) return;  // stays a gather
    m.inside[h] = static_cast<std::uint8_t>((inside(m.lo[h]) ? 1 : 0) | (inside(m.lo[h] + 8) ? 2 : 0));
    std::fill(&m.inv[h][0][0][0], &m.inv[h][0][0][0] + 48, std::int8_t{-1});
    m.levels[h] = 1;
    m.extra[h] = 0;
    for (i64 i = 0; i < nr / 2; ++i) {
      const i32 o = m.off[h * nr / 2 + i];
      if (o < 0) continue;
      std::int8_t(&slot)[3][8] = m.inv[h][(o - m.lo[h]) / 8];
      const int j = (o - m.lo[h]) % 8;
      int l = 0;
      while (l < 3 && slot[l][j] >= 0) ++l;
      if (l == 3) {
        m.extra[h] = static_cast<std::uint8_t>(m.extra[h] | (1u << i));
        continue;
      }
      slot[l][j] = static_cast<std::int8_t>(i);
      m.levels[h] = static_cast<std::uint8_t>(std::max<int>(m.levels[h], l + 1));
    }
  }
  m.kind = Kind::window;
  // one window of 32 for all 16 lanes, no offset twice: the AVX-512 scatter's inverse
  if (nr != 16) return;
  i32 lo = -1, hi = -1;
  for (i64 i = 0; i < nr; ++i)
    if (m.off[i] >= 0) {
      lo = lo < 0 ? m.off[i] : std::min(lo, m.off[i]);
      hi = std::max(hi, m.off[i]);
    }
  if (hi - lo >= 32) return;
  std::fill(m.winv, m.winv + 32, std::int8_t{-1});
  for (i64 i = 0; i < nr; ++i) {
    if (m.off[i] < 0) continue;
    std::int8_t& slot = m.winv[m.off[i] - lo];
    if (slot >= 0) return;  // an offset twice (padding folded onto one pixel)
    slot = static_cast<std::int8_t>(i);
  }
  m.wlo = lo;
  m.wone = true;
}

// Task: block `local` of the full (k = 0) or last (k = 1) image group.
void build_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const BuildCtx*>(vctx);
  const Setup& s = *c.s;
  const ColumnMaps& cm = *c.cm;
  const Blocks& bl = cm.bl;
  const auto& g = s.g;
  const i64 k = t / bl.per_group, local = t % bl.per_group, nr = cm.nr, np = cm.np_max;
  const i64 ig = k == 1 ? bl.groups - 1 : 0;
  if (k == 1 && local >= bl.last_count) return;
  i64 col0, len;
  bl.block(ig * bl.per_group + local, col0, len);
  col0 -= ig * bl.ipg * bl.P;  // group-relative
  i32* img = c.lanes + (k * bl.per_group + local) * np * nr;
  i32* coords = workspace().task_lanes.get<i32>(2 * np * nr);
  i32 *oh = coords, *ow = coords + np * nr;
  for (i64 j = 0; j < np * nr; ++j) {
    const i64 col = col0 + j, p = col % s.P;
    img[j] = j < len ? static_cast<i32>(col / s.P) : -1;
    oh[j] = static_cast<i32>(p / g.Wo);
    ow[j] = static_cast<i32>(p % g.Wo);
  }
  PanelMap* maps = c.maps + (k * bl.per_group + local) * s.RS * np;
  for (i64 r = 0; r < g.R; ++r)
    for (i64 sx = 0; sx < g.S; ++sx)
      for (i64 q = 0; q < np; ++q) {
        PanelMap& m = maps[(r * g.S + sx) * np + q];
        for (i64 i = 0; i < nr; ++i) {
          const i64 j = q * nr + i;
          const i32 rm = s.rowmap[oh[j] * g.R + r], cm_ = s.colmap[ow[j] * g.S + sx];
          m.off[i] = img[j] >= 0 && rm >= 0 && cm_ >= 0 ? static_cast<i32>(rm * g.W + cm_) : -1;
        }
        classify(m, img + q * nr, nr, c.window, s.HW);
      }
}

}  // namespace

Blocks::Blocks(i64 n_images, i64 pixels, i64 nc_max, i64 unit) : N(n_images), P(pixels) {
  ipg = std::clamp<i64>(group_cols / P, 1, N);
  groups = ceil_div(N, ipg);
  nc = balanced(ipg * P, std::max(nc_max, unit), unit);
  per_group = ceil_div(ipg * P, nc);
  last_count = ceil_div((N - (groups - 1) * ipg) * P, nc);
  count = (groups - 1) * per_group + last_count;
}

void Blocks::block(i64 b, i64& col0, i64& len) const {
  const i64 ig = group_of(b);
  col0 = ig * ipg * P + (b - ig * per_group) * nc;
  len = std::min(nc, std::min(N, (ig + 1) * ipg) * P - col0);
}

// The last few map sets a thread built, keyed by everything they depend on: a layer calls its
// forward and backward kernels with the same geometry at every step.
struct MapsKey {
  i64 N, H, W, R, S, Ho, Wo, nc, nr;
  Size2d stride, dilation;
  Padding2d padding;
  PadMode mode;
  bool window;
  friend bool operator==(const MapsKey&, const MapsKey&) = default;
};
struct CachedMaps {
  MapsKey key{};
  bool valid = false;
  std::uint64_t used = 0;
  Buffer panels, lanes;
  ColumnMaps cm;
};
constexpr int cache_slots = 8;

ColumnMaps build_column_maps(const Setup& s, const Blocks& bl, i64 nr, bool window) {
  const auto& g = s.g;
  const MapsKey key{g.N, g.H, g.W, g.R, g.S, g.Ho, g.Wo, bl.nc, nr, g.stride, g.dilation, g.padding, g.mode, window};
  thread_local CachedMaps cache[cache_slots];
  thread_local std::uint64_t clock = 0;
  CachedMaps* slot = &cache[0];
  for (CachedMaps& e : cache) {
    if (e.valid && e.key == key) {
      e.used = ++clock;
      return e.cm;
    }
    if (!e.valid || e.used < slot->used) slot = &e;  // an empty slot, else the least recently used
  }
  slot->valid = false;  // until built (an exception below leaves it empty)
  ColumnMaps& cm = slot->cm;
  cm = ColumnMaps{};
  cm.bl = bl;
  cm.nr = nr;
  cm.np_max = bl.nc / nr;
  cm.RS = s.RS;
  cm.last_differs = bl.N % bl.ipg != 0;
  const i64 kinds = cm.last_differs ? 2 : 1;
  PanelMap* maps = slot->panels.get<PanelMap>(kinds * bl.per_group * s.RS * cm.np_max);
  i32* lanes = slot->lanes.get<i32>(kinds * bl.per_group * cm.np_max * nr);
  cm.maps = maps;
  cm.lanes = lanes;
  const BuildCtx c{&s, &cm, maps, lanes, window};
  run_tasks(kinds * bl.per_group, 40.0 * static_cast<double>(kinds * bl.per_group * s.RS * bl.nc), &build_task, &c);
  slot->key = key;
  slot->valid = true;
  slot->used = ++clock;
  return cm;
}

}  // namespace svertka::kernels::conv

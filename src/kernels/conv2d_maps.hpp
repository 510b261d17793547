#pragma once
// Internal to the convolution kernels: how the GEMM path cuts the output pixels into column blocks,
// and the panel maps through which a block of the im2col matrix is read from the image (and its
// gradient scattered back).
//
// Columns are the output pixels of all images, column n·P + p. They are cut into image groups of
// `ipg` whole images (several small images together, one large image alone), and each image group
// into blocks of at most `nc` columns. A block is read in panels of NR columns; for each tap (r, s)
// and panel, a `PanelMap` holds the lanes' plane offsets and how to load them. Maps depend only on a
// block's place inside its image group, so one set serves every image group (a shorter last group
// has its own): they are built once per geometry and kept (see build_column_maps).

#include "conv2d_impl.hpp"

namespace svertka::kernels::conv {

enum class Kind : std::uint8_t {
  zero,        // every lane is 0
  contiguous,  // lane i reads base + i
  masked,      // lane i reads base + i or is 0
  window,      // per half of 8 lanes: offsets within [lo, lo + span), span ≤ 16 (float only)
  gather,      // any offsets of one image
  mixed,       // lanes of two images
};

struct PanelMap {
  i32 off[16];  // per lane: offset ih·W + iw in the image plane, −1 = zero
  i64 image;    // the image of every lane (all kinds but mixed), relative to the image group
  i32 base;     // contiguous, masked
  i32 lo[2], span[2];  // window
  // window, for the scatter: inv[h][v][l][j] = the (l+1)-th lane of half h whose offset is
  // lo[h] + 8v + j (−1: none), levels[h] levels used; a 4th lane with the same offset is marked in
  // extra[h] and added on its own
  std::int8_t inv[2][2][3][8];
  std::uint8_t levels[2], extra[2];
  // window: bit v of inside[h] = the 8 floats at lo[h] + 8v lie in the plane; masked: bit h = the 8
  // at base + 8h do. The scatter may then load, add (0 where no lane lands) and store them whole.
  std::uint8_t inside[2];
  // window whose 16 lanes lie within [wlo, wlo + 32) at distinct offsets (`wone`): winv[j] = the lane
  // whose offset is wlo + j (−1: none), for the AVX-512 scatter (two permutations, two masked adds)
  bool wone;
  std::int8_t winv[32];
  i32 wlo;
  Kind kind;
};

struct Blocks {
  i64 N = 0, P = 0, ipg = 1, nc = 0, per_group = 0, groups = 0, count = 0;
  i64 last_count = 0;  // blocks of the last image group
  Blocks() = default;
  Blocks(i64 n_images, i64 pixels, i64 nc_max, i64 unit);
  i64 group_of(i64 b) const { return b / per_group < groups ? b / per_group : groups - 1; }
  i64 first_of_group(i64 ig) const { return ig * per_group; }
  i64 end_of_group(i64 ig) const { return ig + 1 == groups ? count : (ig + 1) * per_group; }
  // columns [col0, col0 + len) of block b
  void block(i64 b, i64& col0, i64& len) const;
};

struct ColumnMaps {
  Blocks bl;
  i64 nr = 16, np_max = 0, RS = 0;
  bool last_differs = false;  // the last image group has fewer images: it has its own maps
  const PanelMap* maps = nullptr;  // [2][per_group][RS][np_max]
  const i32* lanes = nullptr;      // [2][per_group][np_max·nr]: group-relative image of each lane

  // The maps of block b: maps[(r·S + s)·np_max + q]; lane images; the group's first image.
  const PanelMap* of(i64 b, const i32*& lane_img, i64& first_image) const {
    const i64 ig = bl.group_of(b), local = b - ig * bl.per_group;
    const i64 k = (last_differs && ig + 1 == bl.groups) ? 1 : 0;
    first_image = ig * bl.ipg;
    lane_img = lanes + (k * bl.per_group + local) * np_max * nr;
    return maps + (k * bl.per_group + local) * RS * np_max;
  }
};

// The maps of every block shape: from the calling thread's cache of the last 8 map sets it built
// (keyed by geometry and blocking), else built there (in parallel when large). `window`: allow
// Kind::window (float's 8-lane halves). Valid until the thread's next call.
ColumnMaps build_column_maps(const Setup& s, const Blocks& bl, i64 nr, bool window);

}  // namespace svertka::kernels::conv

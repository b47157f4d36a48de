// Loads and stores of 16 x 16 subgroup matrices (include/sgmm_ops.wgsl with SN = 16) in workgroup memory,
// shared by m2_ssd_chunk_state_sgmm and m2_ssd_chunk_scan_sgmm: operands from the staging array `hs` (of Half),
// results to the f32 array `fs`; the includer declares both, and `lane` (the invocation's index in its
// subgroup of 32). Offsets and strides count elements. Rows: element (r, c) of the matrix at off + r · stride
// + c; columns: at off + c · stride + r (so a staged [k][m] tile is read as its transpose).
#ifdef EMULATE
fn leftRows(off: u32, stride: u32) -> Left {
  var a: Left;
  for (var m = 0u; m < 16u; m++) {
    for (var k = 0u; k < 16u; k++) {
      a[m * 16u + k] = hs[off + m * stride + k];
    }
  }
  return a;
}
fn leftCols(off: u32, stride: u32) -> Left {
  var a: Left;
  for (var m = 0u; m < 16u; m++) {
    for (var k = 0u; k < 16u; k++) {
      a[m * 16u + k] = hs[off + k * stride + m];
    }
  }
  return a;
}
fn rightRows(off: u32, stride: u32) -> Right {
  var b: Right;
  for (var k = 0u; k < 16u; k++) {
    for (var n = 0u; n < 16u; n++) {
      b[k * 16u + n] = hs[off + k * stride + n];
    }
  }
  return b;
}
fn rightCols(off: u32, stride: u32) -> Right {
  var b: Right;
  for (var k = 0u; k < 16u; k++) {
    for (var n = 0u; n < 16u; n++) {
      b[k * 16u + n] = hs[off + n * stride + k];
    }
  }
  return b;
}
// Every lane holds the same matrix, so one lane stores it.
fn storeF(c: Acc, off: u32, stride: u32) {
  if (lane == 0u) {
    for (var m = 0u; m < 16u; m++) {
      for (var n = 0u; n < 16u; n++) {
        fs[off + m * stride + n] = c[m * 16u + n];
      }
    }
  }
}
#else
fn leftRows(off: u32, stride: u32) -> Left {
  return subgroupMatrixLoad<Left, row_major>(&hs, off, stride);
}
fn leftCols(off: u32, stride: u32) -> Left {
  return subgroupMatrixLoad<Left, col_major>(&hs, off, stride);
}
fn rightRows(off: u32, stride: u32) -> Right {
  return subgroupMatrixLoad<Right, row_major>(&hs, off, stride);
}
fn rightCols(off: u32, stride: u32) -> Right {
  return subgroupMatrixLoad<Right, col_major>(&hs, off, stride);
}
fn storeF(c: Acc, off: u32, stride: u32) {
  subgroupMatrixStore<row_major>(&fs, off, c, stride);
}
#endif

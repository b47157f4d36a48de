// What every workgroup of Mamba-2's chunked SSD scan (m2_ssd_chunk_state*, m2_ssd_chunk_scan*) shares: the
// sizes, the chunk it works on and the columns of xbc its head reads. A workgroup's chunk c holds tokens
// c·Q .. c·Q + len − 1 of the T in Dims; head h reads B and C of group h / (H / G).
override H: u32;
override P: u32;
override G: u32;
override N: u32;
override Q: u32;

// Tokens of chunk c (0 past the end of the T tokens, so a workgroup with nothing to do returns at once).
fn chunkLen(c: u32) -> u32 {
  let t0 = c * Q;
  return select(0u, min(Q, dims.T - t0), t0 < dims.T);
}

// Row stride of xbc (x [H·P] | B [G·N] | C [G·N]) and the first columns of head h's B and C in a row.
fn xbcStride() -> u32 {
  return H * P + 2u * G * N;
}

fn bColOf(h: u32) -> u32 {
  return H * P + (h / (H / G)) * N;
}

fn cColOf(h: u32) -> u32 {
  return bColOf(h) + G * N;
}

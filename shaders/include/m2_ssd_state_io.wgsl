// The overrides and bindings of pass 1 of Mamba-2's chunked SSD scan, shared by its three forms
// (m2_ssd_chunk_state, m2_ssd_chunk_state_tiled, m2_ssd_chunk_state_sgmm), which the engine binds alike; the
// shapes are in their headers.
#include "dims.wgsl"
#include "m2_ssd_chunk.wgsl"
#include "m2_delta.wgsl"

override LDP: u32;
override DT_COL: u32;
override A_OFF: u32;

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> xbc: array<f32>;
@group(0) @binding(2) var<storage, read> proj: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> cum: array<f32>;
@group(0) @binding(5) var<storage, read_write> dl: array<f32>;
@group(0) @binding(6) var<storage, read_write> cs: array<f32>;

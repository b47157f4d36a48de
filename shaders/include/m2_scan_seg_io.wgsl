// The segmented Mamba-2 scans' slot offsets and bindings (m2_scan_seg.wgsl, m2_scan_seg_wg.wgsl), shapes as in
// their headers: segs u32 [2 + 2·S], xbc f32 [T, CD], proj f32 [T, LDP], params f32 (A_log at A_OFF, D at D_OFF),
// slots f32 [slots, STRIDE] (ssm [H, P, N] at SSM_OFF, dtSum [H] at DTS_OFF within a slot), y f32 [T, H·P].
// One declaration, so the batched plan (src/engine/mamba2/batch.ts) binds either kernel the same way.

override A_OFF: u32;
override D_OFF: u32;
override SSM_OFF: u32;
override DTS_OFF: u32;
override STRIDE: u32;

@group(0) @binding(0) var<storage, read> segs: array<u32>;
@group(0) @binding(1) var<storage, read> xbc: array<f32>;
@group(0) @binding(2) var<storage, read> proj: array<f32>;
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> slots: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

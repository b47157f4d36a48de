// The directives of every kernel on subgroup matrices (gemm_sgmm, m2_ssd_chunk_state_sgmm,
// m2_ssd_chunk_scan_sgmm), included first, before any declaration: f16 operands, subgroups and the matrices,
// none of them in an EMULATE build (include/sgmm_ops.wgsl).
#ifndef EMULATE
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
// Tile offsets derive from local_invocation_index / 32, which the (workgroup-scoped) uniformity analysis cannot
// prove subgroup-uniform; they are, because the kernels need subgroups of exactly 32.
diagnostic(off, chromium.subgroup_matrix_uniformity);
#endif

// The chunk being run, written by the engine before each chunk: T tokens from absolute position pos0.
struct Dims { T: u32, pos0: u32, pad0: u32, pad1: u32 }

/**
 * Bytes-per-second and time-left for progress bars. Speed is measured over the last few seconds (not since
 * the start), so it follows a connection that speeds up or stalls, and a resumed download does not count the
 * bytes it already had.
 */
export interface ByteRate {
  bytesPerSecond: number;
  /** undefined while the total or the speed is unknown. */
  secondsLeft: number | undefined;
}

export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 3000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records that `loaded` bytes have arrived in total; returns the current rate. */
  update(loaded: number, total: number | undefined): ByteRate {
    const t = this.now();
    this.samples.push({ t, bytes: loaded });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (loaded - first.bytes) / dt : 0;
    const secondsLeft =
      total !== undefined && bytesPerSecond > 0 ? Math.max(0, (total - loaded) / bytesPerSecond) : undefined;
    return { bytesPerSecond, secondsLeft };
  }
}

/** "1.2 GB", "517 MB", "12 KB": sizes as people read them (decimal units, as the hub shows them). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 0 : 1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(0)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} KB`;
  return `${n} B`;
}

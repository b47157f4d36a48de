/**
 * Errors a user can act on. Each message names the file or tensor at fault and says what to do; the UI and
 * the command line print `message` as it is, never a stack trace.
 */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

/** What went wrong fetching a file, so the UI can offer the right action (retry, pick another repo, sign in). */
export type DownloadFailure = 'not-found' | 'forbidden' | 'http' | 'network' | 'truncated';

/**
 * A download that failed after its retries. `url` and `file` name what was being fetched; `received` is how
 * many bytes had arrived (a retry resumes from there where the server allows ranges).
 */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly failure: DownloadFailure,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The checkpoint cannot fit the GPU (or the host) at the chosen precision; the message says what would. */
export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
}

/** The tokenizer file cannot be read or used. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** True for the error a cancelled AbortSignal produces (a DOMException named AbortError). */
export function isAbortError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

/**
 * Errors a user can act on. Each message names the file or tensor at fault and says what to do; the UI and
 * the command line print `message` as it is, never a stack trace.
 */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

/** An environment variable's trimmed value; set-but-empty counts as unset. */
export function envValue(name: string): string | undefined {
  return process.env[name]?.trim() || undefined;
}

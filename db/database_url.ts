import { InputError } from "../state/shared/errors.js";

const UNPARSEABLE = "<unparseable database URL>";

/**
 * The URL with its password (and any password query parameter, which pg also honours) replaced by
 * `***`, safe to print. Never throws: input that is not a URL becomes a placeholder, since it may
 * still hold a password somewhere we cannot locate.
 */
export function maskDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return UNPARSEABLE;
  }
  if (parsed.password) parsed.password = "***";
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass/i.test(key)) parsed.searchParams.set(key, "***");
  }
  const masked = parsed.toString();
  // An "@" anywhere but after the credentials means they were not parsed as credentials
  // ("user:secret@host" without the "//", say) and the secret is still in there.
  const afterCredentials = parsed.username || parsed.password ? masked.slice(masked.indexOf("@") + 1) : masked;
  return afterCredentials.includes("@") ? UNPARSEABLE : masked;
}

/** Throws InputError unless `url` is a postgres:// or postgresql:// URL; the message never holds the password. */
export function checkDatabaseUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new InputError("DATABASE_URL is not a valid URL; expected postgres://user:password@host:5432/database");
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new InputError(`DATABASE_URL must be a postgres:// or postgresql:// URL, got ${maskDatabaseUrl(url)}`);
  }
}

/** The moment, as every timeline, record and report stamps it. */
export const now = () => new Date().toISOString();

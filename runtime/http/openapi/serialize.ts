/** The committed form of the document: two-space JSON with a final newline, so diffs read well. */
export const serializeDocument = (document: unknown): string => `${JSON.stringify(document, null, 2)}\n`;

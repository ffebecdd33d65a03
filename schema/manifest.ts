/** Reading DistributedScaledObject manifests from YAML (one or several documents). */
import { type Document, parseAllDocuments } from "yaml";
import { type DistributedScaledObject, KIND, dsoSchema } from "./dso";
import { ValidationError, parseOrThrow } from "./validate";

/**
 * yaml's guard against alias expansion ("billion laughs"): a document whose aliases
 * would expand to more than this many nodes is refused. Far above what a manifest uses.
 */
const MAX_ALIAS_COUNT = 100;

export function readDsoManifests(text: string, source: string): DistributedScaledObject[] {
  const documents = parseAllDocuments(text);
  const found: DistributedScaledObject[] = [];
  documents.forEach((document, index) => {
    const where = documents.length > 1 ? `${source} (document ${index + 1})` : source;
    if (document.errors.length > 0) {
      throw new ValidationError(`YAML in ${where}`, document.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? "?"}`, message: e.message.split("\n")[0]! })));
    }
    const value = yamlValue(document, where);
    if (value === null || value === undefined) return;
    if (typeof value === "object" && (value as { kind?: unknown }).kind !== KIND) return;
    found.push(parseOrThrow(dsoSchema, value, `${KIND} in ${where}`));
  });
  return found;
}

/** A parsed YAML document's value. Turning it into values is where aliases expand, so where they are refused. */
export function yamlValue(document: Document.Parsed, where: string): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    throw new ValidationError(`YAML in ${where}`, [{ path: "aliases", message: (error as Error).message }]);
  }
}

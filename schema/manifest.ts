/** Reading DistributedScaledObject manifests from YAML (one or several documents). */
import { parseAllDocuments } from "yaml";
import { type DistributedScaledObject, KIND, dsoSchema } from "./dso";
import { ValidationError, parseOrThrow } from "./validate";

export function readDsoManifests(text: string, source: string): DistributedScaledObject[] {
  const documents = parseAllDocuments(text);
  const found: DistributedScaledObject[] = [];
  documents.forEach((document, index) => {
    const where = documents.length > 1 ? `${source} (document ${index + 1})` : source;
    if (document.errors.length > 0) {
      throw new ValidationError(`YAML in ${where}`, document.errors.map((e) => ({ path: `line ${e.linePos?.[0]?.line ?? "?"}`, message: e.message.split("\n")[0]! })));
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (typeof value === "object" && (value as { kind?: unknown }).kind !== KIND) return;
    found.push(parseOrThrow(dsoSchema, value, `${KIND} in ${where}`));
  });
  return found;
}

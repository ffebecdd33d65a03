/**
 * The DistributedScaledObject CRD, its OpenAPI schema derived from the zod definition
 * (schema/dso.ts) so the API server and our own validation agree on every field.
 */
import { z } from "zod";
import { dsoSpecSchema, dsoStatusSchema } from "./dso";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "./dso-names";

export const CRD_NAME = `${PLURAL}.${API_GROUP}`;

type JsonSchema = { [key: string]: unknown };

/**
 * Kubernetes accepts only "structural" schemas: no additionalProperties beside
 * properties, unknown-field preservation said explicitly, and no JSON Schema keywords
 * it does not know. This rewrites zod's OpenAPI 3.0 output into that form.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema" || key === "additionalProperties") continue;
    if (key === "maximum" && value === Number.MAX_SAFE_INTEGER) continue;
    if (key === "pattern" && schema.format === "date-time") continue;
    if (key === "properties") {
      const properties = value as Record<string, JsonSchema>;
      if (Object.keys(properties).length === 0) continue;
      out.properties = Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, toStructural(child)]));
    } else if (key === "items") {
      out.items = toStructural(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  const extra = schema.additionalProperties;
  const hasProperties = Object.keys((schema.properties as object | undefined) ?? {}).length > 0;
  if (extra !== undefined && extra !== false && !hasProperties) {
    // A record (map) keeps its value schema; an open object keeps whatever it is given.
    if (Object.keys(extra as object).length === 0) out["x-kubernetes-preserve-unknown-fields"] = true;
    else out.additionalProperties = toStructural(extra as JsonSchema);
  }
  return out;
}

export function openApiSchema(): JsonSchema {
  const options = { target: "openapi-3.0", io: "input", unrepresentable: "throw" } as const;
  return {
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      spec: toStructural(z.toJSONSchema(dsoSpecSchema, options) as JsonSchema),
      status: toStructural(z.toJSONSchema(dsoStatusSchema, { ...options, io: "output" }) as JsonSchema),
    },
  };
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;

/** The CustomResourceDefinition manifest, with status and scale subresources. */
export function dsoCrdManifest() {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: CRD_NAME },
    spec: {
      group: API_GROUP,
      scope: "Namespaced",
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ["dso"],
        categories: ["fleetscale"],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiSchema() },
          subresources: {
            status: {},
            // KEDA's HPA scales the DSO itself through this: spec.totalTargetReplicas is the fleet-wide total.
            scale: {
              specReplicasPath: ".spec.totalTargetReplicas",
              statusReplicasPath: ".status.totalCurrentReplicas",
              labelSelectorPath: ".status.selector",
            },
          },
          additionalPrinterColumns: [
            { name: "Ready", type: "string", jsonPath: condition("Ready") },
            { name: "Active", type: "string", jsonPath: condition("Active") },
            { name: "Current", type: "integer", jsonPath: ".status.totalCurrentReplicas" },
            { name: "Desired", type: "integer", jsonPath: ".spec.totalTargetReplicas" },
            { name: "Healthy", type: "integer", jsonPath: ".status.membersHealthyCount", description: "members healthy" },
            { name: "Members", type: "integer", jsonPath: ".status.membersTotalCount" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
        },
      ],
    },
  };
}

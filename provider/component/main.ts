/**
 * The fleetscale resource plugin: serves the components of this directory over gRPC, with the
 * package schema inferred from their TypeScript source. pulumi-resource-fleetscale runs it.
 */
import * as path from "node:path";
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import { Fleet } from "./fleet";

// Inference reads the .ts sources (and this directory's package.json and tsconfig.json), not the
// compiled files next to this one: dist/provider/component -> provider/component.
const sourceDir = path.resolve(__dirname, "..", "..", "..", "provider", "component");

void componentProviderHost({ name: "fleetscale", components: [Fleet], dirname: sourceDir });
